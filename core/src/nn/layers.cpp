#include "nn/layers.h"
#include "kernels/flash_attention.h"
#include "nn/mixed_linear.h"
#include "quant/quant_linear.h"

#include "uhdlens/errors.h"

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <limits>

namespace uhdlens::nn {

namespace {

// Tables built lazily inside a forward must be ordinary tensors even when the first caller runs under
// InferenceMode (an inference tensor could not be used by a later autograd forward), and never record grads.
struct PlainTensorScope
{
    c10::InferenceMode notInference{false};
    torch::NoGradGuard noGrad;
};

} // namespace

// ---------------------------------------------------------------------------------------------------------------

Activation activationFromName(const std::string &name, const std::string &key)
{
    if (name == "gelu")
        return Activation::Gelu;
    if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_tanh")
        return Activation::GeluTanh;
    if (name == "quick_gelu")
        return Activation::QuickGelu;
    if (name == "silu" || name == "swish")
        return Activation::Silu;
    throw Error(ErrorCode::ConfigInvalid, "config key '" + key + "': unsupported activation '" + name + "'",
                key);
}

torch::Tensor activate(const torch::Tensor &x, Activation act)
{
    switch (act) {
    case Activation::Gelu:
        return at::gelu(x);
    case Activation::GeluTanh:
        return at::gelu(x, "tanh");
    case Activation::QuickGelu:
        return x * at::sigmoid(x * 1.702);
    case Activation::Silu:
        return at::silu(x);
    }
    return x;
}

torch::Tensor param(torch::nn::Module &m, const std::string &name, torch::IntArrayRef shape,
                    const torch::TensorOptions &options, bool requiresGrad)
{
    return m.register_parameter(name, torch::empty(shape, options), requiresGrad);
}

std::shared_ptr<torch::nn::Module> container(torch::nn::Module &parent, const std::string &name)
{
    return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

LinearImpl::LinearImpl(int64_t in, int64_t out, bool withBias, const torch::TensorOptions &options)
{
    weight = param(*this, "weight", {out, in}, options);
    if (withBias)
        bias = param(*this, "bias", {out}, options);
}

torch::Tensor LinearImpl::forward(const torch::Tensor &x) const
{
    // at::linear folds [B, T, in] into one addmm/mm (oneDNN bf16 GEMM on CPUs with avx512_bf16); a bf16
    // weight under f32 activations takes the mixed path (mixed_linear.h), a quantized one quant_linear.h's.
    torch::Tensor y = quantized ? quantized->forward(x) : nn::linear(x, weight, bias);
    if (loraA.defined()) {
        const torch::Tensor low = at::linear(x.to(loraA.scalar_type()), loraA);
        y = y + (at::linear(low, loraB) * loraScale).to(y.scalar_type());
    }
    return y;
}

void LinearImpl::enableLora(int64_t rank, double alpha)
{
    if (rank < 1 || !(alpha > 0))
        throw Error(ErrorCode::InvalidArgument, "a low-rank adapter needs rank >= 1 and alpha > 0", "lora");
    const auto options = weight.options();
    loraA = param(*this, "lora_a", {rank, weight.size(1)}, options);
    loraB = param(*this, "lora_b", {weight.size(0), rank}, options);
    loraScale = alpha / static_cast<double>(rank);
}

bool isAdapterParameter(const std::string &name)
{
    const size_t dot = name.rfind('.');
    return name.compare(dot == std::string::npos ? 0 : dot + 1, 5, "lora_") == 0;
}

LayerNormImpl::LayerNormImpl(int64_t d, double e, const torch::TensorOptions &options) : dim(d), eps(e)
{
    weight = param(*this, "weight", {d}, options);
    bias = param(*this, "bias", {d}, options);
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor &x) const
{
    // Under CPU bf16 autocast (training on avx512_bf16 machines) a Linear feeding the norm returns bf16 while
    // the norm's parameters stay f32, and libtorch 1.13's CPU layer_norm refuses mixed dtypes: normalise in
    // the parameters' dtype, as autocast does for layer_norm on CUDA. Inference never mixes them (a no-op
    // there).
    if (x.scalar_type() != weight.scalar_type())
        return at::layer_norm(x.to(weight.scalar_type()), {dim}, weight, bias, eps);
    return at::layer_norm(x, {dim}, weight, bias, eps);
}

RMSNormImpl::RMSNormImpl(int64_t d, double e, const torch::TensorOptions &options) : eps(e)
{
    weight = param(*this, "weight", {d}, options);
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor &x) const
{
    // HF LlamaRMSNorm / MiniCPM rms_layernorm: variance in float32, normalised value back in the input dtype.
    const auto xf = x.to(torch::kFloat32);
    const auto var = xf.pow(2).mean(-1, true);
    return weight * (xf * at::rsqrt(var + eps)).to(x.scalar_type());
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden, Activation a, const torch::TensorOptions &options) : act(a)
{
    fc1 = register_module("fc1", Linear(dim, hidden, true, options));
    fc2 = register_module("fc2", Linear(hidden, dim, true, options));
}

torch::Tensor MlpImpl::forward(const torch::Tensor &x) const
{
    return fc2->forward(activate(fc1->forward(x), act));
}

SwiGluImpl::SwiGluImpl(int64_t dim, int64_t hidden, const torch::TensorOptions &options)
{
    gate_proj = register_module("gate_proj", Linear(dim, hidden, false, options));
    up_proj = register_module("up_proj", Linear(dim, hidden, false, options));
    down_proj = register_module("down_proj", Linear(hidden, dim, false, options));
}

torch::Tensor SwiGluImpl::forward(const torch::Tensor &x) const
{
    return down_proj->forward(at::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

torch::Tensor scaledDotAttention(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                                 double scale, const torch::Tensor &mask)
{
    // Inference on CPU tensors with a key-only mask: the fused online-softmax kernel (UHDLENS_ATTENTION=plain
    // turns it off); the plain ops below stay the reference and the autograd path.
    if (kernels::fusedAttentionFor(q, k, v, mask)) {
        kernels::FlashAttentionOptions options;
        options.scale = scale;
        return kernels::flashAttention(q, k, v, mask, options);
    }
    // Scale q (N·Tq·d multiplies) rather than the scores (N·Tq·S), as timm and HF CLIP do.
    const auto qs = q * scale;
    const int64_t n = q.size(0), tq = q.size(1), s = k.size(1);
    const int64_t scoreBytes = tq * s * static_cast<int64_t>(q.element_size());
    // Inference on long sequences (a 1024-patch slice: 16 heads x 4 MB of scores per layer): a few heads at a
    // time, into two reused buffers, so scores and probabilities stay in the last-level cache instead of
    // streaming 2 x 64 MB through DRAM per layer. Same arithmetic per head as the one-batch path below.
    constexpr int64_t kChunkBytes = int64_t(8) << 20;
    if (!at::GradMode::is_enabled() && !mask.defined() && n > 1 && n * scoreBytes > 2 * kChunkBytes) {
        const int64_t chunk = std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(1, scoreBytes));
        auto out = torch::empty({n, tq, v.size(2)}, v.options());
        auto scores = torch::empty({std::min(chunk, n), tq, s}, q.options());
        auto probs = torch::empty_like(scores);
        for (int64_t i = 0; i < n; i += chunk) {
            const int64_t c = std::min(chunk, n - i);
            auto sc = scores.narrow(0, 0, c), pr = probs.narrow(0, 0, c), o = out.narrow(0, i, c);
            at::bmm_out(sc, qs.narrow(0, i, c), k.narrow(0, i, c).transpose(1, 2));
            at::softmax_out(pr, sc, -1);
            at::bmm_out(o, pr, v.narrow(0, i, c));
        }
        return out;
    }
    auto scores = at::bmm(qs, k.transpose(1, 2));
    if (mask.defined())
        scores = scores + mask;
    // Softmax in the compute dtype, as timm, HF CLIP and torch.nn.MultiheadAttention do (the CPU kernel
    // accumulates bf16 rows in float32 internally).
    return at::bmm(at::softmax(scores, -1), v);
}

// ---------------------------------------------------------------------------------------------------------------
// Position tables

namespace {
std::mutex g_sincosMutex;
std::map<std::tuple<int64_t, int64_t, int64_t>, torch::Tensor> g_sincos;

// MAE get_1d_sincos_pos_embed_from_grid in float32: [sin(pos·ω) | cos(pos·ω)], ω = 1 / 10000^(k / (dim/2)).
torch::Tensor sincos1d(int64_t dim, const torch::Tensor &pos)
{
    auto omega = torch::arange(dim / 2, torch::kFloat32) / static_cast<float>(dim / 2.0);
    omega = 1.0f / torch::pow(10000.0f, omega);
    const auto out = pos.reshape({-1, 1}) * omega.reshape({1, -1});
    return torch::cat({out.sin(), out.cos()}, 1);
}
} // namespace

torch::Tensor sincos2d(int64_t dim, int64_t h, int64_t w)
{
    if (dim <= 0 || dim % 4 != 0 || h <= 0 || w <= 0)
        throw Error(ErrorCode::InvalidArgument,
                    "sin-cos table needs a width divisible by 4 and a non-empty grid (got D=" +
                        std::to_string(dim) + ", " + std::to_string(h) + "x" + std::to_string(w) + ")");
    std::lock_guard<std::mutex> lock(g_sincosMutex);
    auto key = std::make_tuple(dim, h, w);
    auto it = g_sincos.find(key);
    if (it != g_sincos.end())
        return it->second;
    PlainTensorScope scope;
    // np.meshgrid(grid_w, grid_h): grid[0] holds x (column), grid[1] holds y; the x half comes first.
    const auto ys = torch::arange(h, torch::kFloat32).reshape({h, 1}).expand({h, w});
    const auto xs = torch::arange(w, torch::kFloat32).reshape({1, w}).expand({h, w});
    auto table = torch::cat({sincos1d(dim / 2, xs), sincos1d(dim / 2, ys)}, 1).contiguous();
    if (g_sincos.size() > 256) // grids are bounded by the planner, but never grow without limit
        g_sincos.clear();
    g_sincos.emplace(key, table);
    return table;
}

torch::Tensor fitPositionTable(const torch::Tensor &table, int64_t h, int64_t w, bool antialias)
{
    const int64_t rows = table.size(0);
    const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(rows))));
    if (g * g != rows)
        throw Error(ErrorCode::InvalidArgument,
                    "position table with " + std::to_string(rows) + " rows is not square");
    if (h == g && w == g)
        return table;
    namespace F = torch::nn::functional;
    const int64_t c = table.size(1);
    auto grid = table.to(torch::kFloat32).reshape({1, g, g, c}).permute({0, 3, 1, 2});
    auto fitted = F::interpolate(grid, F::InterpolateFuncOptions()
                                           .size(std::vector<int64_t>{h, w})
                                           .mode(torch::kBicubic)
                                           .align_corners(false)
                                           .antialias(antialias));
    return fitted.permute({0, 2, 3, 1}).reshape({h * w, c}).to(table.scalar_type());
}

// ---------------------------------------------------------------------------------------------------------------
// Vision transformer

VitBlockImpl::VitBlockImpl(const VitOptions &o, const torch::TensorOptions &to) : opt(o)
{
    if (o.naming == VitNaming::HfDinov2) {
        norm1 = register_module("norm1", LayerNorm(o.dim, o.eps, to));
        auto outer = container(*this, "attention");
        auto self = container(*outer, "attention");
        q = self->register_module("query", Linear(o.dim, o.dim, true, to));
        k = self->register_module("key", Linear(o.dim, o.dim, true, to));
        v = self->register_module("value", Linear(o.dim, o.dim, true, to));
        out = container(*outer, "output")->register_module("dense", Linear(o.dim, o.dim, true, to));
        layerScale1 = param(*container(*this, "layer_scale1"), "lambda1", {o.dim}, to);
        norm2 = register_module("norm2", LayerNorm(o.dim, o.eps, to));
        mlp = register_module("mlp", Mlp(o.dim, o.mlpDim, o.act, to));
        layerScale2 = param(*container(*this, "layer_scale2"), "lambda1", {o.dim}, to);
        return;
    }
    const bool timm = o.naming == VitNaming::Timm;
    norm1 = register_module(timm ? "norm1" : "layer_norm1", LayerNorm(o.dim, o.eps, to));
    auto attn = container(*this, timm ? "attn" : "self_attn");
    if (timm) {
        qkv = attn->register_module("qkv", Linear(o.dim, 3 * o.dim, true, to));
        out = attn->register_module("proj", Linear(o.dim, o.dim, true, to));
    } else {
        q = attn->register_module("q_proj", Linear(o.dim, o.dim, true, to));
        k = attn->register_module("k_proj", Linear(o.dim, o.dim, true, to));
        v = attn->register_module("v_proj", Linear(o.dim, o.dim, true, to));
        out = attn->register_module("out_proj", Linear(o.dim, o.dim, true, to));
    }
    norm2 = register_module(timm ? "norm2" : "layer_norm2", LayerNorm(o.dim, o.eps, to));
    mlp = register_module("mlp", Mlp(o.dim, o.mlpDim, o.act, to));
}

torch::Tensor VitBlockImpl::attention(const torch::Tensor &x, const torch::Tensor &mask) const
{
    const int64_t b = x.size(0), n = x.size(1), c = x.size(2), h = opt.heads, d = c / h;
    torch::Tensor qh, kh, vh;
    if (qkv) {
        // [B, N, 3C] -> [3, B, H, N, d] (timm's reshape/permute)
        const auto parts = qkv->forward(x).view({b, n, 3, h, d}).permute({2, 0, 3, 1, 4});
        qh = parts[0].reshape({b * h, n, d});
        kh = parts[1].reshape({b * h, n, d});
        vh = parts[2].reshape({b * h, n, d});
    } else {
        auto split = [&](const Linear &l) {
            return l->forward(x).view({b, n, h, d}).transpose(1, 2).reshape({b * h, n, d});
        };
        qh = split(q);
        kh = split(k);
        vh = split(v);
    }
    const auto o = scaledDotAttention(qh, kh, vh, 1.0 / std::sqrt(static_cast<double>(d)), mask);
    return out->forward(o.view({b, h, n, d}).transpose(1, 2).reshape({b, n, c}));
}

torch::Tensor VitBlockImpl::forward(const torch::Tensor &x, const torch::Tensor &mask) const
{
    if (layerScale1.defined()) { // Dinov2Layer: x + lambda1 * attn(norm1(x)); y + lambda2 * mlp(norm2(y))
        auto y = x + attention(norm1->forward(x), mask) * layerScale1;
        return y + mlp->forward(norm2->forward(y)) * layerScale2;
    }
    auto y = x + attention(norm1->forward(x), mask);
    return y + mlp->forward(norm2->forward(y));
}

VisionTransformerImpl::VisionTransformerImpl(const VitOptions &o, const torch::TensorOptions &to) : opt(o)
{
    if (o.dim % o.heads != 0)
        throw Error(ErrorCode::ConfigInvalid, "vision width " + std::to_string(o.dim) +
                                                  " is not divisible by its head count " +
                                                  std::to_string(o.heads));
    const int64_t cells = o.gridSize * o.gridSize;
    if (o.naming == VitNaming::Timm) {
        auto pe = container(*this, "patch_embed");
        auto proj = container(*pe, "proj");
        if (!o.stemChannels.empty()) {
            if (o.stemChannels.size() != 2 || o.stemChannels[0] < 1 || o.stemChannels[1] < 1 || o.patch % 2)
                throw Error(ErrorCode::ConfigInvalid,
                            "a convolutional stem needs two channel counts >= 1 and an even patch");
            auto stem = container(*pe, "stem");
            const int64_t in[2] = {3, o.stemChannels[0]};
            for (int i = 0; i < 2; ++i) {
                auto conv = container(*stem, std::to_string(i));
                stemWeight[i] =
                    param(*conv, "weight", {o.stemChannels[static_cast<std::size_t>(i)], in[i], 3, 3}, to);
                stemBias[i] = param(*conv, "bias", {o.stemChannels[static_cast<std::size_t>(i)]}, to);
                if (o.stemNorm) {
                    auto norm = container(*conv, "norm");
                    stemNormWeight[i] =
                        param(*norm, "weight", {o.stemChannels[static_cast<std::size_t>(i)]}, to);
                    stemNormBias[i] = param(*norm, "bias", {o.stemChannels[static_cast<std::size_t>(i)]}, to);
                }
            }
        }
        patchWeight = o.stemChannels.empty() ? param(*proj, "weight", {o.dim, 3, o.patch, o.patch}, to)
                                             : param(*proj, "weight", {o.dim, o.stemChannels[1], 1, 1}, to);
        patchBias = param(*proj, "bias", {o.dim}, to);
        posTable = param(*this, "pos_embed", {1, cells, o.dim}, to);
        blocks = register_module("blocks", torch::nn::ModuleList());
    } else if (o.naming == VitNaming::HfDinov2) {
        auto emb = container(*this, "embeddings");
        classEmbedding = param(*emb, "cls_token", {1, 1, o.dim}, to);
        posTable = param(*emb, "position_embeddings", {1, 1 + cells, o.dim}, to);
        auto proj = container(*container(*emb, "patch_embeddings"), "projection");
        patchWeight = param(*proj, "weight", {o.dim, 3, o.patch, o.patch}, to);
        patchBias = param(*proj, "bias", {o.dim}, to);
        blocks = container(*this, "encoder")->register_module("layer", torch::nn::ModuleList());
    } else {
        auto emb = container(*this, "embeddings");
        classEmbedding = param(*emb, "class_embedding", {o.dim}, to);
        patchWeight = param(*container(*emb, "patch_embedding"), "weight", {o.dim, 3, o.patch, o.patch}, to);
        posTable = param(*container(*emb, "position_embedding"), "weight", {1 + cells, o.dim}, to);
        preNorm = register_module("pre_layrnorm", LayerNorm(o.dim, o.eps, to));
        blocks = container(*this, "encoder")->register_module("layers", torch::nn::ModuleList());
    }
    for (int64_t i = 0; i < o.layers; ++i) {
        blockList.emplace_back(o, to);
        blocks->push_back(blockList.back());
    }
    if (o.naming == VitNaming::Timm)
        finalNorm = register_module("norm", LayerNorm(o.dim, o.eps, to));
    else if (o.naming == VitNaming::HfDinov2)
        finalNorm = register_module("layernorm", LayerNorm(o.dim, o.eps, to));
    else
        finalNorm = register_module("post_layernorm", LayerNorm(o.dim, o.eps, to));
}

torch::Tensor VisionTransformerImpl::positions(int64_t h, int64_t w) const
{
    const auto cells = opt.gridSize * opt.gridSize;
    auto table = opt.naming == VitNaming::Timm       ? posTable.view({cells, opt.dim})
                 : opt.naming == VitNaming::HfDinov2 ? posTable.view({1 + cells, opt.dim}).narrow(0, 1, cells)
                                                     : posTable.narrow(0, 1, cells);
    if (torch::GradMode::is_enabled())
        return fitPositionTable(table, h, w, opt.antialias);
    std::lock_guard<std::mutex> lock(m_mutex);
    // Inference tensors (parameters created under InferenceMode) have no version counter; they cannot be
    // modified outside InferenceMode, and a storage swap by the loader changes data_ptr.
    const uint32_t version = posTable.is_inference() ? 0u : posTable._version();
    auto key = std::make_tuple(h, w, static_cast<const void *>(posTable.data_ptr()), version,
                               static_cast<int>(posTable.scalar_type()));
    auto it = m_posCache.find(key);
    if (it != m_posCache.end())
        return it->second;
    torch::Tensor fitted;
    {
        PlainTensorScope scope;
        fitted = fitPositionTable(table, h, w, opt.antialias).clone();
    }
    if (m_posCache.size() > 64)
        m_posCache.clear();
    m_posCache.emplace(key, fitted);
    return fitted;
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor &pixels) const
{
    if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) % opt.patch || pixels.size(3) % opt.patch)
        throw Error(ErrorCode::InvalidArgument,
                    "vision encoder input must be [B, 3, H, W] with H, W multiples of " +
                        std::to_string(opt.patch));
    const int64_t h = pixels.size(2) / opt.patch, w = pixels.size(3) / opt.patch;
    torch::Tensor x;
    if (opt.stemChannels.empty()) {
        x = at::conv2d(pixels, patchWeight, patchBias, {opt.patch, opt.patch});
    } else {
        // Early convolutions (Xiao et al. 2021, "Early Convolutions Help Transformers See Better") with a
        // max-pool over each patch's half-resolution cells: shifting a letter inside its patch no longer
        // changes the token, which the linear patchify has to learn position by position.
        // GroupNorm after each convolution (stemNorm): letters are learned 2-3x faster per image than without
        // (tests/tools/vit_glyph_probe.py), and it is per image, so a slice's features never depend on the
        // other slices of the batch (BatchNorm's would).
        auto stage = [&](const torch::Tensor &in, int i, int64_t stride) {
            torch::Tensor y = at::conv2d(in, stemWeight[i], stemBias[i], {stride, stride}, {1, 1});
            if (opt.stemNorm) {
                const int64_t channels = y.size(1);
                // In the norm's own dtype: under CPU bf16 autocast (training on avx512_bf16 machines) the
                // convolution returns bf16 while the norm's parameters stay f32, and libtorch 1.13's CPU
                // group_norm refuses mixed dtypes ("expected scalar type BFloat16 but found Float").
                const torch::Tensor &w = stemNormWeight[i];
                y = at::group_norm(y.scalar_type() == w.scalar_type() ? y : y.to(w.scalar_type()),
                                   channels % 8 == 0 ? 8 : 1, w, stemNormBias[i], 1e-5);
            }
            return at::gelu(y);
        };
        x = stage(pixels, 0, 2);
        x = stage(x, 1, 1);
        x = at::max_pool2d(x, {opt.patch / 2, opt.patch / 2}, {opt.patch / 2, opt.patch / 2});
        x = at::conv2d(x, patchWeight, patchBias);
    }
    x = x.flatten(2).transpose(1, 2); // [B, h*w, C], rows y-major as the references flatten
    const auto pos = positions(h, w);
    if (opt.naming == VitNaming::Timm) {
        x = x + pos;
    } else if (opt.naming == VitNaming::HfDinov2) {
        // Dinov2Embeddings: cat(cls_token, patches) + position_embeddings, the patch rows bicubic-fitted to
        // the grid (interpolate_pos_encoding; antialias per opt, off for DINOv2 as its ONNX exports compute
        // it).
        const int64_t b = x.size(0);
        auto cls =
            (classEmbedding.view({1, 1, opt.dim}) +
             posTable.view({1 + opt.gridSize * opt.gridSize, opt.dim}).narrow(0, 0, 1).view({1, 1, opt.dim}))
                .expand({b, 1, opt.dim});
        x = torch::cat({cls, x + pos}, 1);
    } else {
        const int64_t b = x.size(0);
        auto cls = (classEmbedding + posTable[0]).view({1, 1, opt.dim}).expand({b, 1, opt.dim});
        x = preNorm->forward(torch::cat({cls, x + pos}, 1));
    }
    const int64_t run = opt.runLayers < 0 ? opt.layers : opt.runLayers;
    for (int64_t i = 0; i < run; ++i)
        x = blockList[static_cast<size_t>(i)]->forward(x);
    if (opt.naming != VitNaming::Timm)
        x = x.narrow(1, 1, h * w); // drop CLS ("patch" features)
    if (opt.finalNorm)
        x = finalNorm->forward(x);
    return x;
}

// ---------------------------------------------------------------------------------------------------------------
// Resampler

PackedMultiheadAttentionImpl::PackedMultiheadAttentionImpl(int64_t d, int64_t h,
                                                           const torch::TensorOptions &to)
    : dim(d), heads(h)
{
    if (d % h != 0)
        throw Error(ErrorCode::ConfigInvalid, "resampler width " + std::to_string(d) +
                                                  " is not divisible by its head count " + std::to_string(h));
    in_proj_weight = param(*this, "in_proj_weight", {3 * d, d}, to);
    in_proj_bias = param(*this, "in_proj_bias", {3 * d}, to);
    out_proj = register_module("out_proj", Linear(d, d, true, to));
}

torch::Tensor PackedMultiheadAttentionImpl::project(const torch::Tensor &x, int part) const
{
    return nn::linear(x, in_proj_weight.narrow(0, part * dim, dim), in_proj_bias.narrow(0, part * dim, dim));
}

torch::Tensor PackedMultiheadAttentionImpl::attendProjected(const torch::Tensor &q, const torch::Tensor &k,
                                                            const torch::Tensor &v,
                                                            const torch::Tensor &mask) const
{
    const int64_t b = q.size(0), tq = q.size(1), s = k.size(1), d = dim / heads;
    auto split = [&](const torch::Tensor &t, int64_t len) {
        return t.view({b, len, heads, d}).transpose(1, 2).reshape({b * heads, len, d});
    };
    const auto o = scaledDotAttention(split(q, tq), split(k, s), split(v, s),
                                      1.0 / std::sqrt(static_cast<double>(d)), mask);
    return out_proj->forward(o.view({b, heads, tq, d}).transpose(1, 2).reshape({b, tq, dim}));
}

torch::Tensor PackedMultiheadAttentionImpl::forward(const torch::Tensor &query, const torch::Tensor &key,
                                                    const torch::Tensor &value) const
{
    return attendProjected(project(query, 0), project(key, 1), project(value, 2));
}

ResamplerImpl::ResamplerImpl(const ResamplerOptions &o, const torch::TensorOptions &to) : opt(o)
{
    const int64_t q = o.gridSize * o.gridSize;
    query = param(*this, "query", {q, o.dim}, to);
    if (o.storedQueryPos)
        pos_embed = param(*this, "pos_embed", {q, o.dim}, to, /*requiresGrad=*/false); // frozen sin-cos
    if (o.kvDim != o.dim)
        kv_proj = register_module("kv_proj", Linear(o.kvDim, o.dim, false, to));
    attn = register_module("attn", PackedMultiheadAttention(o.dim, o.heads, to));
    ln_q = register_module("ln_q", LayerNorm(o.dim, o.eps, to));
    ln_kv = register_module("ln_kv", LayerNorm(o.dim, o.eps, to));
    ln_post = register_module("ln_post", LayerNorm(o.dim, o.eps, to));
    proj = param(*this, "proj", {o.dim, o.dim}, to);
}

torch::Tensor ResamplerImpl::values(const torch::Tensor &x) const
{
    return ln_kv->forward(kv_proj ? kv_proj->forward(x) : x);
}

torch::Tensor ResamplerImpl::queries() const
{
    auto q = ln_q->forward(query);
    if (pos_embed.defined())
        return q + pos_embed.to(q.scalar_type());
    if (opt.fixedQueryPos)
        return q + sincos2d(opt.dim, opt.gridSize, opt.gridSize).to(q.device(), q.scalar_type());
    return q;
}

torch::Tensor ResamplerImpl::keyPositions(int64_t h, int64_t w, torch::Dtype dtype) const
{
    if (opt.keyPos == KeyPosition::FreshSinCos)
        return sincos2d(opt.dim, h, w).to(query.device(), dtype);
    // LLaVA-UHD get_abs_pos: the stored table bicubic-resized in float32 (no antialias), then cast. Without a
    // stored table (uhd-paper) the same fit of the query grid's fixed sin-cos table, so keys and queries
    // share one coordinate frame whatever the slice's shape.
    const torch::Tensor table =
        pos_embed.defined() ? pos_embed : sincos2d(opt.dim, opt.gridSize, opt.gridSize).to(query.device());
    return fitPositionTable(table, h, w, false).to(dtype);
}

torch::Tensor ResamplerImpl::finish(const torch::Tensor &attnOut) const
{
    return at::matmul(ln_post->forward(attnOut), proj);
}

torch::Tensor ResamplerImpl::forward(const torch::Tensor &x, int64_t h, int64_t w) const
{
    if (x.dim() != 3 || x.size(1) != h * w)
        throw Error(ErrorCode::InvalidArgument, "resampler input must be [B, h*w, C] for the given grid");
    const auto v = values(x);
    const auto k = v + keyPositions(h, w, v.scalar_type()).unsqueeze(0);
    const auto q = queries().unsqueeze(0).expand({x.size(0), -1, -1});
    return finish(attn->forward(q, k, v));
}

std::vector<std::array<float, 4>> spatialBoxes(int64_t h, int64_t w, int64_t grid, torch::Dtype dtype)
{
    const double ratio = static_cast<double>(h) * static_cast<double>(w) / static_cast<double>(grid * grid);
    const double cropH = std::sqrt(ratio / (static_cast<double>(w) / static_cast<double>(h)));
    const double cropW = cropH * (static_cast<double>(w) / static_cast<double>(h));
    auto t = torch::empty({grid * grid, 4}, torch::kFloat32);
    auto *p = t.data_ptr<float>();
    for (int64_t i = 0; i < grid; ++i)
        for (int64_t j = 0; j < grid; ++j) {
            const double x1 = static_cast<double>(j) * cropW, y1 = static_cast<double>(i) * cropH;
            float *row = p + (i * grid + j) * 4;
            row[0] = static_cast<float>(x1);
            row[1] = static_cast<float>(y1);
            row[2] = static_cast<float>(x1 + cropW);
            row[3] = static_cast<float>(y1 + cropH);
        }
    t = t.to(dtype).to(torch::kFloat32).contiguous();
    std::vector<std::array<float, 4>> out(static_cast<size_t>(grid * grid));
    const float *q = t.data_ptr<float>();
    for (size_t b = 0; b < out.size(); ++b)
        for (size_t k = 0; k < 4; ++k)
            out[b][k] = q[b * 4 + k];
    return out;
}

std::pair<int64_t, int64_t> spatialPoolingSize(int64_t h, int64_t w)
{
    static const int64_t candidates[7][2] = {{4, 2}, {3, 2}, {4, 3}, {3, 3},
                                             {2, 4}, {2, 3}, {3, 4}}; // (w, h)
    const double logRatio = std::log(static_cast<double>(w) / static_cast<double>(h));
    std::pair<int64_t, int64_t> best{3, 3};
    double minError = std::numeric_limits<double>::infinity();
    for (const auto &cand : candidates) {
        const double error =
            std::abs(logRatio - std::log(static_cast<double>(cand[0]) / static_cast<double>(cand[1])));
        if (error < minError) { // strict: the first minimum wins, as the reference's loop does
            best = {cand[1], cand[0]};
            minError = error;
        }
    }
    return best;
}

torch::Tensor spatialResample(const ResamplerImpl &r, const torch::Tensor &features, int64_t h, int64_t w)
{
    if (features.dim() != 3 || features.size(1) != h * w)
        throw Error(ErrorCode::InvalidArgument, "resampler input must be [B, h*w, C] for the given grid");
    const int64_t b = features.size(0), d = r.opt.dim, grid = r.opt.gridSize, q = grid * grid;
    const auto dtype = features.scalar_type();
    const auto v = r.values(features);                           // ln_kv(kv_proj(x)) [B, N, D]
    const auto k = v + r.keyPositions(h, w, dtype).unsqueeze(0); // + the fitted sin-cos table
    const auto [oh, ow] = spatialPoolingSize(h, w);
    const int64_t samples = oh * ow;
    // RoIAlign in float32 on both maps at once: [Q*S, N] @ [B, N, 2D].
    const auto weights = roiAlignWeights(h, w, spatialBoxes(h, w, grid, dtype), oh, ow)
                             .reshape({q * samples, h * w})
                             .to(features.device());
    const auto pooled = at::matmul(weights, torch::cat({k, v}, -1).to(torch::kFloat32)).to(dtype);
    const auto pk = pooled.narrow(-1, 0, d).reshape({b * q, samples, d});
    const auto pv = pooled.narrow(-1, d, d).reshape({b * q, samples, d});
    // Each of the B*Q queries is its own attention batch of target length 1.
    const auto query = r.attn->project(r.queries(), 0); // [Q, D]
    const auto qp = query.unsqueeze(0).expand({b, q, d}).reshape({b * q, 1, d});
    const auto out = r.attn->attendProjected(qp, r.attn->project(pk, 1), r.attn->project(pv, 2));
    return r.finish(out.reshape({b, q, d}));
}

// ---------------------------------------------------------------------------------------------------------------
// RoIAlign

namespace {
// Per-axis sampling weights of torchvision's roi_align CPU kernel (aligned=False, sampling_ratio=-1), divided
// by the axis sample count. out [bins, size].
void axisWeights(float start, float extent, int64_t bins, int64_t size, float *out)
{
    const float length = std::max(extent, 1.0f); // aligned=False forces boxes at least one cell wide
    const float bin = length / static_cast<float>(bins);
    const auto grid = static_cast<int64_t>(std::ceil(length / static_cast<float>(bins)));
    const float count = static_cast<float>(std::max<int64_t>(grid, 1));
    for (int64_t p = 0; p < bins; ++p) {
        float *row = out + p * size;
        for (int64_t i = 0; i < grid; ++i) {
            float c = start + static_cast<float>(p) * bin +
                      static_cast<float>(static_cast<float>(i) + .5f) * bin / static_cast<float>(grid);
            if (c < -1.0f || c > static_cast<float>(size))
                continue; // torchvision returns 0 for samples outside [-1, size]
            if (c <= 0)
                c = 0;
            auto low = static_cast<int64_t>(c);
            int64_t high;
            if (low >= size - 1) {
                high = low = size - 1;
                c = static_cast<float>(low);
            } else {
                high = low + 1;
            }
            const float l = c - static_cast<float>(low);
            row[low] += (1.0f - l) / count;
            row[high] += l / count;
        }
    }
}
} // namespace

torch::Tensor roiAlignWeights(int64_t h, int64_t w, const std::vector<std::array<float, 4>> &boxes,
                              int64_t outH, int64_t outW)
{
    if (h <= 0 || w <= 0 || outH <= 0 || outW <= 0)
        throw Error(ErrorCode::InvalidArgument, "RoIAlign needs a non-empty feature map and output size");
    const auto n = static_cast<int64_t>(boxes.size());
    auto ay = torch::zeros({n, outH, h}, torch::kFloat32);
    auto ax = torch::zeros({n, outW, w}, torch::kFloat32);
    for (int64_t b = 0; b < n; ++b) {
        const auto &bx = boxes[static_cast<size_t>(b)];
        axisWeights(bx[1], bx[3] - bx[1], outH, h, ay[b].data_ptr<float>());
        axisWeights(bx[0], bx[2] - bx[0], outW, w, ax[b].data_ptr<float>());
    }
    // Bilinear sampling is a tensor product of the two axes, and a sample is dropped when either coordinate
    // is out of range, so the 2D weights are the outer product of the per-axis sums.
    return (ay.view({n, outH, 1, h, 1}) * ax.view({n, 1, outW, 1, w})).reshape({n, outH * outW, h * w});
}

torch::Tensor roiAlign(const torch::Tensor &features, const std::vector<std::array<float, 4>> &boxes,
                       int64_t outH, int64_t outW)
{
    const int64_t c = features.size(0), h = features.size(1), w = features.size(2);
    const auto weights = roiAlignWeights(h, w, boxes, outH, outW).to(features.device());
    const auto flat = features.to(torch::kFloat32).reshape({c, h * w}).t(); // [h*w, C]
    const auto pooled = at::matmul(weights, flat);                          // [n, outH*outW, C]
    return pooled.transpose(1, 2).reshape({-1, c, outH, outW}).to(features.scalar_type());
}

// ---------------------------------------------------------------------------------------------------------------
// LLaMA decoder

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaOptions &o, const torch::TensorOptions &to)
    : heads(o.heads), kvHeads(o.kvHeads), headDim(o.headSize())
{
    if ((o.headDim <= 0 && o.hidden % o.heads != 0) || o.heads % o.kvHeads != 0 || headDim % 2 != 0)
        throw Error(ErrorCode::ConfigInvalid, "language model: hidden " + std::to_string(o.hidden) +
                                                  ", heads " + std::to_string(o.heads) + ", kv heads " +
                                                  std::to_string(o.kvHeads) + " are inconsistent");
    q_proj = register_module("q_proj", Linear(o.hidden, o.heads * headDim, o.qkvBias, to));
    k_proj = register_module("k_proj", Linear(o.hidden, o.kvHeads * headDim, o.qkvBias, to));
    v_proj = register_module("v_proj", Linear(o.hidden, o.kvHeads * headDim, o.qkvBias, to));
    o_proj = register_module("o_proj", Linear(o.heads * headDim, o.hidden, o.oBias, to));
    if (o.qkNorm) { // Qwen3Attention: q_norm / k_norm = Qwen3RMSNorm(head_dim, eps=rms_norm_eps)
        q_norm = register_module("q_norm", RMSNorm(headDim, o.eps, to));
        k_norm = register_module("k_norm", RMSNorm(headDim, o.eps, to));
    }
}

namespace {
// HF apply_rotary_pos_emb with rotate_half, in float32 (MiniCPM does this in float32; for LLaMA in fp32 it
// is the same computation). t [B, T, H, d]; cos/sin [T, d].
torch::Tensor applyRotary(const torch::Tensor &t, const torch::Tensor &cos, const torch::Tensor &sin)
{
    const int64_t T = t.size(1), d = t.size(3);
    const auto tf = t.to(torch::kFloat32);
    const auto halves = tf.chunk(2, -1);
    const auto rotated = torch::cat({-halves[1], halves[0]}, -1);
    return tf * cos.view({1, T, 1, d}) + rotated * sin.view({1, T, 1, d});
}

// Makes room for positions [0, needed) in one layer's cache tensor, keeping the first `keep` positions.
void reserve(torch::Tensor &slot, int64_t needed, int64_t keep, const torch::Tensor &like, int64_t kvHeads,
             int64_t headDim)
{
    if (slot.defined() && slot.size(2) >= needed && slot.scalar_type() == like.scalar_type() &&
        slot.device() == like.device())
        return;
    const int64_t old = slot.defined() ? slot.size(2) : 0;
    const int64_t capacity = std::max<int64_t>({needed, 2 * old, 256});
    auto grown = torch::empty({1, kvHeads, capacity, headDim}, like.options());
    if (slot.defined() && keep > 0)
        grown.narrow(2, 0, keep).copy_(slot.narrow(2, 0, keep));
    slot = grown;
}
} // namespace

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor &x, const torch::Tensor &cos,
                                          const torch::Tensor &sin, KVCache *cache, int layer, int64_t past,
                                          AttentionCapture *capture) const
{
    const int64_t b = x.size(0), t = x.size(1), g = heads / kvHeads;
    const auto dtype = x.scalar_type();
    const double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
    // Scaling q by 1/sqrt(d) before q·k (instead of the scores) is the same product, cheaper.
    auto qh = q_proj->forward(x).view({b, t, heads, headDim});
    auto kh = k_proj->forward(x).view({b, t, kvHeads, headDim});
    if (q_norm) { // Qwen3: per-head RMSNorm of q and k, before rope
        qh = q_norm->forward(qh);
        kh = k_norm->forward(kh);
    }
    const auto q = (applyRotary(qh, cos, sin) * scale).to(dtype);
    const auto k = applyRotary(kh, cos, sin).to(dtype).transpose(1, 2);
    const auto v = v_proj->forward(x).view({b, t, kvHeads, headDim}).transpose(1, 2);

    torch::Tensor keys = k, values = v;
    int64_t s = t;
    if (cache) {
        auto &kc = cache->keys[static_cast<size_t>(layer)];
        auto &vc = cache->values[static_cast<size_t>(layer)];
        reserve(kc, past + t, past, k, kvHeads, headDim);
        reserve(vc, past + t, past, v, kvHeads, headDim);
        kc.narrow(2, past, t).copy_(k);
        vc.narrow(2, past, t).copy_(v);
        s = past + t;
        keys = kc.narrow(2, 0, s);
        values = vc.narrow(2, 0, s);
    }
    // Grouped-query attention without repeating k/v: the g query heads sharing one kv head are stacked along
    // the row axis, rows (group, position).
    const auto qg =
        q.view({b, t, kvHeads, g, headDim}).permute({0, 2, 3, 1, 4}).reshape({b * kvHeads, g * t, headDim});
    const auto kb = keys.reshape({b * kvHeads, s, headDim});
    const auto vb = values.reshape({b * kvHeads, s, headDim});
    auto scores = at::bmm(qg, kb.transpose(1, 2));
    if (t > 1) {
        // Causal: query i (absolute past + i) sees keys j <= past + i.
        auto mask = torch::full({t, s}, -std::numeric_limits<float>::infinity(),
                                torch::TensorOptions().dtype(dtype).device(x.device()))
                        .triu(past + 1);
        scores = scores + mask.repeat({g, 1});
    }
    const auto probs = at::softmax(scores, -1, torch::kFloat32).to(dtype); // HF LLaMA: softmax in float32
    if (capture && capture->layer == layer)                                // rows are (group, position)
        capture->probs = probs.view({b, kvHeads, g, t, s}).reshape({b, heads, t, s});
    const auto o = at::bmm(probs, vb); // [b*kv, g*t, d]
    return o_proj->forward(
        o.view({b, kvHeads, g, t, headDim}).permute({0, 3, 1, 2, 4}).reshape({b, t, heads * headDim}));
}

LlamaLayerImpl::LlamaLayerImpl(const LlamaOptions &o, const torch::TensorOptions &to)
    : residualScale(o.residualScale)
{
    self_attn = register_module("self_attn", LlamaAttention(o, to));
    mlp = register_module("mlp", SwiGlu(o.hidden, o.intermediate, to));
    input_layernorm = register_module("input_layernorm", RMSNorm(o.hidden, o.eps, to));
    post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(o.hidden, o.eps, to));
}

torch::Tensor LlamaLayerImpl::forward(const torch::Tensor &x, const torch::Tensor &cos,
                                      const torch::Tensor &sin, KVCache *cache, int layer, int64_t past,
                                      AttentionCapture *capture) const
{
    auto a = self_attn->forward(input_layernorm->forward(x), cos, sin, cache, layer, past, capture);
    auto h =
        residualScale == 1.0 ? x + a : x + a * residualScale; // MiniCPM: residual + out * scale_depth/sqrt(L)
    auto m = mlp->forward(post_attention_layernorm->forward(h));
    return residualScale == 1.0 ? h + m : h + m * residualScale;
}

LlamaModelImpl::LlamaModelImpl(const LlamaOptions &o, const torch::TensorOptions &to)
    : opt(o), computeDtype(c10::typeMetaToScalarType(to.dtype()))
{
    embed_tokens = param(*container(*this, "embed_tokens"), "weight", {o.vocab, o.hidden}, to);
    layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < o.layers; ++i) {
        layerList.emplace_back(o, to);
        layers->push_back(layerList.back());
    }
    norm = register_module("norm", RMSNorm(o.hidden, o.eps, to));
}

torch::Tensor LlamaModelImpl::embed(const torch::Tensor &ids) const
{
    auto e = quantizedEmbed ? quantizedEmbed->lookup(ids).to(computeDtype)
                            : embeddingAs(embed_tokens, ids, computeDtype);
    return opt.embedScale == 1.0 ? e : e * opt.embedScale;
}

std::pair<torch::Tensor, torch::Tensor> LlamaModelImpl::rotary(int64_t start, int64_t count,
                                                               const torch::Device &device) const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    const int64_t needed = start + count;
    if (!m_cos.defined() || m_cos.size(0) < needed || m_cos.device() != device) {
        PlainTensorScope scope;
        const int64_t d = opt.headSize();
        const int64_t capacity = std::max(needed, opt.maxPositions);
        // HF LlamaRotaryEmbedding: inv_freq = 1 / base^(arange(0, d, 2)/d), t = arange(len) (float32),
        // emb = cat(freqs, freqs).
        const auto invFreq =
            1.0f / torch::pow(static_cast<float>(opt.ropeTheta),
                              torch::arange(0, d, 2, torch::kFloat32) / static_cast<float>(d));
        const auto t = torch::arange(capacity, torch::kFloat32);
        const auto freqs = t.reshape({-1, 1}) * invFreq.reshape({1, -1});
        const auto emb = torch::cat({freqs, freqs}, 1);
        m_cos = emb.cos().to(device);
        m_sin = emb.sin().to(device);
    }
    return {m_cos.narrow(0, start, count), m_sin.narrow(0, start, count)};
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor &x, KVCache *cache, AttentionCapture *capture) const
{
    const int64_t t = x.size(1);
    int64_t past = 0;
    if (cache) {
        if (x.size(0) != 1)
            throw Error(ErrorCode::InvalidArgument, "the KV-cache path runs one sequence at a time");
        past = cache->length;
        if (cache->keys.size() != layerList.size()) {
            cache->keys.resize(layerList.size());
            cache->values.resize(layerList.size());
        }
    }
    const auto [cos, sin] = rotary(past, t, x.device());
    auto h = x;
    for (size_t i = 0; i < layerList.size(); ++i)
        h = layerList[i]->forward(h, cos, sin, cache, static_cast<int>(i), past, capture);
    if (cache)
        cache->length = past + t;
    return norm->forward(h);
}

torch::Tensor CausalLm::logits(const torch::Tensor &hidden) const
{
    const double div = model->opt.logitDivisor;
    const auto h = div == 1.0 ? hidden : hidden / div;
    // Tied word embeddings (no lm_head): logits = h · embed_tokens^T, as HF's tied lm_head computes them.
    return (lmHead ? lmHead->forward(h) : nn::linear(h, model->embed_tokens, {})).to(torch::kFloat32);
}

torch::Tensor CausalLm::forwardAll(const torch::Tensor &embeds, AttentionCapture *capture) const
{
    if (embeds.dim() != 3)
        throw Error(ErrorCode::InvalidArgument, "forwardAll expects embeddings [B, T, D]");
    return logits(model->forward(embeds, nullptr, capture));
}

torch::Tensor CausalLm::forwardCached(const torch::Tensor &embeds, KVCache &cache) const
{
    if (embeds.dim() != 2 || embeds.size(0) == 0)
        throw Error(ErrorCode::InvalidArgument, "forward expects embeddings [T, D] with T >= 1");
    const auto h = model->forward(embeds.unsqueeze(0), &cache);
    return logits(h.select(1, h.size(1) - 1)).squeeze(0);
}

} // namespace uhdlens::nn
