// Shared neural-network layers of every model family (internal, torch-side), written once:
// linear / norms / activations, ViT (timm and Hugging Face CLIP naming), 2D sin-cos tables, position-table
// fit, perceiver resampler with torch.nn.MultiheadAttention's packed names, RoIAlign, and the LLaMA-style
// decoder with rotary embedding, grouped-query attention and a KV cache.
//
// Conventions:
//  - Modules follow pytorch/examples: `FooImpl` + TORCH_MODULE(Foo); parameters are registered with the
//    checkpoint's own names (see each class) so `named_parameters()` is the loader's list.
//  - Parameters are created with torch::empty (memory not touched until the loader replaces the storage or
//    initRandom fills it). Nothing derived from a parameter is cached across calls unless keyed on the
//    parameter's storage and version, because the loader swaps storages in place (Tensor::set_).
//  - Every forward works under autograd (no in-place writes to tensors autograd saved), so the uhd-paper
//  family
//    can be trained, and under torch::InferenceMode for the engine. Compute happens in the weights' dtype;
//    softmax, norms' statistics and rotary run in float32 (as the references' fp16/bf16 paths do).
//  - Thread-safety: modules are read-only during forward; the small lookup caches are mutex-protected, so one
//    loaded model can serve several conversations on several threads.
#pragma once

#include "nn/types.h" // KVCache

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace uhdlens::quant {
struct QuantLinearImpl; // quant/quant_linear.h
struct QuantEmbedding;  // quant/quant_linear.h
} // namespace uhdlens::quant

namespace uhdlens::nn {

// ---------------------------------------------------------------------------------------------------------------
// Basic layers

enum class Activation
{
    Gelu,      // exact erf GELU (torch.nn.GELU(), timm's default)
    GeluTanh,  // tanh approximation ("gelu_pytorch_tanh", "gelu_new")
    QuickGelu, // x * sigmoid(1.702 x) (OpenAI CLIP, HF "quick_gelu")
    Silu,
};
// HF `hidden_act` spellings: gelu, gelu_pytorch_tanh / gelu_new / gelu_tanh, quick_gelu, silu / swish.
// Throws Error(ConfigInvalid) naming `key` for anything else.
Activation activationFromName(const std::string &name, const std::string &key);
torch::Tensor activate(const torch::Tensor &x, Activation act);

// y = x W^T + b. Checkpoint names: "weight" [out, in], "bias" [out].
// With a low-rank adapter (enableLora; LoRA, Hu et al. 2021, as PEFT's lora.Linear computes it):
// y = x W^T + b + (alpha / rank) * (x A^T) B^T, names "lora_a" [rank, in] and "lora_b" [out, rank]. The
// adapter lives beside a frozen base weight, quantized or not, and is never merged into it.
struct LinearImpl : torch::nn::Module
{
    LinearImpl(int64_t in, int64_t out, bool bias, const torch::TensorOptions &options);
    torch::Tensor forward(const torch::Tensor &x) const;
    void enableLora(int64_t rank, double alpha);
    torch::Tensor weight, bias;
    torch::Tensor loraA, loraB; // undefined without an adapter
    double loraScale = 0;
    // Set by a loader of quantized (GGUF) weights: forward is then quantized->forward(x), `weight` is unused.
    std::shared_ptr<const quant::QuantLinearImpl> quantized;
};
TORCH_MODULE(Linear);

// Whether a parameter name is a low-rank adapter's ("...q_proj.lora_a"): adapters are trained here and read
// from the model folder even under a prefix whose other parameters come from base weights.
bool isAdapterParameter(const std::string &name);

// Names: "weight", "bias".
struct LayerNormImpl : torch::nn::Module
{
    LayerNormImpl(int64_t dim, double eps, const torch::TensorOptions &options);
    torch::Tensor forward(const torch::Tensor &x) const;
    torch::Tensor weight, bias;
    int64_t dim;
    double eps;
};
TORCH_MODULE(LayerNorm);

// LLaMA / MiniCPM RMSNorm: statistics in float32, normalised value cast back to the input dtype, then scaled.
// Name: "weight".
struct RMSNormImpl : torch::nn::Module
{
    RMSNormImpl(int64_t dim, double eps, const torch::TensorOptions &options);
    torch::Tensor forward(const torch::Tensor &x) const;
    torch::Tensor weight;
    double eps;
};
TORCH_MODULE(RMSNorm);

// Two-layer MLP "fc1" -> act -> "fc2" (ViT blocks).
struct MlpImpl : torch::nn::Module
{
    MlpImpl(int64_t dim, int64_t hidden, Activation act, const torch::TensorOptions &options);
    torch::Tensor forward(const torch::Tensor &x) const;
    Linear fc1{nullptr}, fc2{nullptr};
    Activation act;
};
TORCH_MODULE(Mlp);

// LLaMA SwiGLU: "down_proj"(silu("gate_proj"(x)) * "up_proj"(x)), no biases.
struct SwiGluImpl : torch::nn::Module
{
    SwiGluImpl(int64_t dim, int64_t hidden, const torch::TensorOptions &options);
    torch::Tensor forward(const torch::Tensor &x) const;
    Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(SwiGlu);

// Plain attention core on already projected, head-split tensors: q [N, Tq, d] (NOT pre-scaled), k/v [N, S,
// d], optional additive mask broadcastable to [N, Tq, S]. Softmax in q's dtype. Returns [N, Tq, d] in q's
// dtype. Under no-grad with a key-only mask it runs the fused kernel instead (kernels/flash_attention.h: f32
// arithmetic, UHDLENS_ATTENTION=plain|fused).
torch::Tensor scaledDotAttention(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                                 double scale, const torch::Tensor &mask = {});

// ---------------------------------------------------------------------------------------------------------------
// Position tables

// 2D sin-cos table of spec §3 (MAE formula in float32): row y*w + x is
// [sin(x·ω) | cos(x·ω) | sin(y·ω) | cos(y·ω)], ω_k = 10000^(−k/(D/4)). Returns float32 [h*w, D] on the CPU,
// cached per (D, h, w) (tables are small and pure). D must be a multiple of 4.
torch::Tensor sincos2d(int64_t dim, int64_t h, int64_t w);

// Fits a square learned table [G*G, C] (rows y-major) to an h×w grid: bicubic, align_corners=False, in
// float32, result in `table`'s dtype, [h*w, C]. antialias=true mirrors timm's resample_abs_pos_embed
// (MiniCPM-V 2.0), false mirrors the CLIP/LLaVA-UHD path. Returns `table` itself when h == w == G (both
// references skip the resize then).
torch::Tensor fitPositionTable(const torch::Tensor &table, int64_t h, int64_t w, bool antialias);

// ---------------------------------------------------------------------------------------------------------------
// Vision transformer

enum class VitNaming
{
    Timm, // patch_embed.proj, pos_embed [1, G*G, C], blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp}, norm
    HfClip, // embeddings.{class_embedding, patch_embedding, position_embedding}, pre_layrnorm,
            // encoder.layers.i.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp}, post_layernorm
    // transformers' Dinov2Model (DINOv2, Oquab et al. 2023): embeddings.{cls_token [1, 1, C],
    // position_embeddings [1, 1+G*G, C], patch_embeddings.projection}, encoder.layer.i.{norm1,
    // attention.attention.{query,key,value}, attention.output.dense, layer_scale1.lambda1, norm2,
    // mlp.{fc1,fc2}, layer_scale2.lambda1}, layernorm. No pre-norm; the CLS row runs through the blocks and
    // is dropped after the final LayerNorm. (No mask_token: it is only used for masked-image training.)
    HfDinov2,
};

struct VitOptions
{
    int64_t dim = 1152;
    int64_t heads = 16;
    int64_t mlpDim = 4304;
    int64_t layers = 27;    // blocks constructed (and present in the checkpoint)
    int64_t runLayers = -1; // blocks run (-1: all); CLIP features of layer -2 run layers-1
    int64_t patch = 14;
    int64_t gridSize = 27; // side of the learned position table
    double eps = 1e-6;
    Activation act = Activation::Gelu;
    VitNaming naming = VitNaming::Timm;
    bool finalNorm = true; // timm forward_features applies `norm`; CLIP layer -2 features have no post-LN
    bool antialias = true; // position-table fit (see fitPositionTable)
    // Convolutional stem instead of the linear patchify (Timm naming only; UHD Lens's own models): empty =
    // the plain ViT. {c1, c2}: conv 3x3 stride 2 (3 -> c1), [norm], GELU, conv 3x3 (c1 -> c2), [norm], GELU,
    // max-pool (patch/2)^2, then patch_embed.proj as a 1x1 conv (c2 -> dim). Same patch grid; needs an even
    // patch.
    std::vector<int64_t> stemChannels;
    // With stemChannels: a GroupNorm after each stem convolution (8 groups, 1 where the channel count is not
    // a multiple of 8; tensors patch_embed.stem.{0,1}.norm.{weight,bias}). Per image, so batch-independent.
    bool stemNorm = false;
};

// One pre-norm block: x + attn(norm1(x)); x + mlp(norm2(x)).
struct VitBlockImpl : torch::nn::Module
{
    VitBlockImpl(const VitOptions &options, const torch::TensorOptions &tensorOptions);
    // mask: optional additive attention mask broadcastable to [B*heads, N, N] (navit SigLIP's padded keys).
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &mask = {}) const;
    torch::Tensor attention(const torch::Tensor &x, const torch::Tensor &mask = {}) const;
    VitOptions opt;
    LayerNorm norm1{nullptr}, norm2{nullptr};
    Linear qkv{nullptr}, q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};
    Mlp mlp{nullptr};
    torch::Tensor layerScale1,
        layerScale2; // HfDinov2: per-channel LayerScale of each branch (else undefined)
};
TORCH_MODULE(VitBlock);

struct VisionTransformerImpl : torch::nn::Module
{
    VisionTransformerImpl(const VitOptions &options, const torch::TensorOptions &tensorOptions);
    // pixels [B, 3, H, W] (H, W multiples of patch) -> patch features [B, (H/P)*(W/P), C] (no CLS row).
    torch::Tensor forward(const torch::Tensor &pixels) const;
    // The position rows for an h×w grid (cached per grid while the table's storage/version is unchanged and
    // grad mode is off).
    torch::Tensor positions(int64_t h, int64_t w) const;

    VitOptions opt;
    torch::Tensor patchWeight, patchBias, posTable, classEmbedding; // see naming
    torch::Tensor stemWeight[2], stemBias[2];         // patch_embed.stem.{0,1} (stemChannels only)
    torch::Tensor stemNormWeight[2], stemNormBias[2]; // patch_embed.stem.{0,1}.norm (stemNorm only)
    LayerNorm preNorm{nullptr}, finalNorm{nullptr};
    torch::nn::ModuleList blocks;
    std::vector<VitBlock> blockList;

private:
    mutable std::mutex m_mutex;
    mutable std::map<std::tuple<int64_t, int64_t, const void *, uint32_t, int>, torch::Tensor> m_posCache;
};
TORCH_MODULE(VisionTransformer);

// ---------------------------------------------------------------------------------------------------------------
// Resampler (spec §3)

// torch.nn.MultiheadAttention's parameters and math (batch-first here): "in_proj_weight" [3D, D] = [Wq; Wk;
// Wv], "in_proj_bias" [3D], "out_proj.weight" [D, D], "out_proj.bias" [D]; scale 1/sqrt(D/heads).
struct PackedMultiheadAttentionImpl : torch::nn::Module
{
    PackedMultiheadAttentionImpl(int64_t dim, int64_t heads, const torch::TensorOptions &options);
    // query [B, Tq, D], key/value [B, S, D] -> [B, Tq, D].
    torch::Tensor forward(const torch::Tensor &query, const torch::Tensor &key,
                          const torch::Tensor &value) const;
    // The input projections alone (rows `part` = 0 q, 1 k, 2 v of the packed weight).
    torch::Tensor project(const torch::Tensor &x, int part) const;
    // Heads attention over projected q [B, Tq, D], k/v [B, S, D] then out_proj. mask: optional additive mask
    // broadcastable to [B*heads, Tq, S] (key padding of a batch of different grids).
    torch::Tensor attendProjected(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                                  const torch::Tensor &mask = {}) const;
    torch::Tensor in_proj_weight, in_proj_bias;
    Linear out_proj{nullptr};
    int64_t dim, heads;
};
TORCH_MODULE(PackedMultiheadAttention);

enum class KeyPosition
{
    FreshSinCos,       // MiniCPM-V 2.0 / uhd-paper: sincos2d(D, h, w) computed for each grid
    InterpolatedSinCos // LLaVA-UHD ECCV: the stored 12×12 table bicubic-fitted to (h, w), no antialias
};

struct ResamplerOptions
{
    int64_t dim = 2304;   // D (LLM width)
    int64_t kvDim = 1152; // vision width; kv_proj exists only when different from dim
    int64_t heads = 18;
    int64_t gridSize = 8;       // queries = gridSize²
    bool storedQueryPos = true; // "pos_embed" [Q, D] parameter (frozen sincos) added to the queries
    bool fixedQueryPos = false; // without a stored table: add sincos2d(D, grid, grid) computed (uhd-paper)
    KeyPosition keyPos =
        KeyPosition::FreshSinCos; // InterpolatedSinCos without a stored table fits sincos2d(G, G)
    double eps = 1e-6;
};

// Perceiver resampler: names "query" [Q, D], "pos_embed" [Q, D] (if stored), "kv_proj.weight" [D, kvDim],
// "attn.*" (PackedMultiheadAttention), "ln_q", "ln_kv", "ln_post" (LayerNorm), "proj" [D, D]
// (right-multiplied).
struct ResamplerImpl : torch::nn::Module
{
    ResamplerImpl(const ResamplerOptions &options, const torch::TensorOptions &tensorOptions);
    // Global attention (MiniCPM-V 2.0, uhd-paper): x [B, h*w, kvDim] -> [B, Q, D].
    torch::Tensor forward(const torch::Tensor &x, int64_t h, int64_t w) const;
    // ln_kv(kv_proj(x)).
    torch::Tensor values(const torch::Tensor &x) const;
    // ln_q(query) (+ pos_embed when stored), [Q, D].
    torch::Tensor queries() const;
    // Key position rows for an h×w grid in dtype, [h*w, D].
    torch::Tensor keyPositions(int64_t h, int64_t w, torch::Dtype dtype) const;
    torch::Tensor finish(const torch::Tensor &attnOut) const; // ln_post(.) @ proj

    ResamplerOptions opt;
    torch::Tensor query, pos_embed, proj;
    Linear kv_proj{nullptr};
    PackedMultiheadAttention attn{nullptr};
    LayerNorm ln_q{nullptr}, ln_kv{nullptr}, ln_post{nullptr};
};
TORCH_MODULE(Resampler);

// torchvision.ops.roi_align(aligned=False, sampling_ratio=-1, spatial_scale=1) as a linear map: returns
// float32 weights [nBoxes, outH*outW, h*w] such that pooled = weights @ features[h*w, C]. Boxes are
// [x1, y1, x2, y2] in feature cells (float32). Bilinear sampling, border rules and the adaptive sample count
// ceil(box/bin) follow torchvision's CPU kernel exactly; bilinear weights are separable, so the map is built
// from per-axis weights.
torch::Tensor roiAlignWeights(int64_t h, int64_t w, const std::vector<std::array<float, 4>> &boxes,
                              int64_t outH, int64_t outW);
// features [C, h, w] -> [nBoxes, C, outH, outW] (float32 compute, result in the input dtype).
torch::Tensor roiAlign(const torch::Tensor &features, const std::vector<std::array<float, 4>> &boxes,
                       int64_t outH, int64_t outW);

// LLaVA-UHD ECCV's "spatially constrained" resampler (adapt_spatial_resampler.py, spec §3): the resampler's
// G×G queries are laid over the h×w feature map as a G×G grid of boxes and query (r, c) attends only to the
// RoIAlign samples of its own box, so every output token summarises one region from the first step on.
// features [B, h*w, kvDim] -> [B, G*G, D]. Keys are values + the resampler's keyPositions(h, w).
torch::Tensor spatialResample(const ResamplerImpl &resampler, const torch::Tensor &features, int64_t h,
                              int64_t w);
// The G×G boxes of slice_image_feature_minicpm for an h×w map: crop size from a float64 sqrt as the reference
// computes it, corners in float32, rounded through `dtype` (the reference casts boxes to the feature dtype).
std::vector<std::array<float, 4>> spatialBoxes(int64_t h, int64_t w, int64_t grid, torch::Dtype dtype);
// cal_best_pooling_size: the first (w, h) candidate closest in log aspect to the map; returns (outH, outW).
std::pair<int64_t, int64_t> spatialPoolingSize(int64_t h, int64_t w);

// ---------------------------------------------------------------------------------------------------------------
// LLaMA-style decoder (LLaMA / Vicuna / MiniCPM)

struct LlamaOptions
{
    int64_t hidden = 4096;
    int64_t layers = 32;
    int64_t heads = 32;
    int64_t kvHeads = 32;
    int64_t intermediate = 11008;
    int64_t vocab = 32000;
    int64_t maxPositions = 4096;
    double ropeTheta = 10000.0;
    double eps = 1e-6;
    // MiniCPM scalings (1 for LLaMA): text embeddings * embedScale (scale_emb); each residual branch *
    // residualScale (scale_depth / sqrt(num_hidden_layers)); logits = lm_head(h / logitDivisor)
    // (hidden_size / dim_model_base).
    double embedScale = 1.0;
    double residualScale = 1.0;
    double logitDivisor = 1.0;
    // Qwen2 / Qwen3 (models/qwen_lm.h; all off for LLaMA / MiniCPM): the per-head width when it is not
    // hidden/heads (Qwen3 `head_dim`; 0 = hidden/heads), biases on q/k/v_proj (Qwen2; Qwen3
    // `attention_bias`), a bias on o_proj (Qwen3 `attention_bias`), and RMSNorm over each head of q and k
    // before rope (Qwen3 "q_norm", "k_norm", [headDim]).
    int64_t headDim = 0;
    bool qkvBias = false;
    bool oBias = false;
    bool qkNorm = false;
    int64_t headSize() const { return headDim > 0 ? headDim : hidden / heads; }
};

// What a caller of the full-sequence forward (CausalLm::forwardAll, training's look loss) asks one decoder
// layer to keep: the attention probabilities of decoder layer `layer`, [B, heads, T, S], with autograd
// history (so a loss can say where a position should look). Passed explicitly down the forward; the cached
// inference path never passes one, and a layer index that does not exist keeps nothing.
struct AttentionCapture
{
    int layer = -1;
    torch::Tensor probs; // set by the forward; undefined until then
};

struct LlamaAttentionImpl : torch::nn::Module
{
    LlamaAttentionImpl(const LlamaOptions &options, const torch::TensorOptions &tensorOptions);
    // x [B, T, D]; cos/sin float32 [T, headDim] for positions past..past+T-1. With a cache (B must be 1) the
    // new keys/values are written at [past, past+T) of layer `layer`'s tensors and attention spans all of
    // them. With a capture for this layer, its probabilities are kept there.
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin,
                          KVCache *cache, int layer, int64_t past, AttentionCapture *capture = nullptr) const;
    Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
    RMSNorm q_norm{nullptr}, k_norm{nullptr}; // LlamaOptions::qkNorm only
    int64_t heads, kvHeads, headDim;
};
TORCH_MODULE(LlamaAttention);

struct LlamaLayerImpl : torch::nn::Module
{
    LlamaLayerImpl(const LlamaOptions &options, const torch::TensorOptions &tensorOptions);
    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin,
                          KVCache *cache, int layer, int64_t past, AttentionCapture *capture = nullptr) const;
    LlamaAttention self_attn{nullptr};
    SwiGlu mlp{nullptr};
    RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
    double residualScale;
};
TORCH_MODULE(LlamaLayer);

// The decoder body, names "embed_tokens.weight", "layers.i.*", "norm.weight" (HF LlamaModel / MiniCPMModel).
struct LlamaModelImpl : torch::nn::Module
{
    LlamaModelImpl(const LlamaOptions &options, const torch::TensorOptions &tensorOptions);
    // ids [T] or [B, T] (int64) -> embeddings * embedScale in the compute dtype (the table may be stored
    // narrower: bf16 in mixed mode).
    torch::Tensor embed(const torch::Tensor &ids) const;
    // x [B, T, D] -> final-normed hidden states [B, T, D]. With a cache (B = 1) positions continue after
    // cache->length, and cache->length is advanced by T. `capture`: see AttentionCapture.
    torch::Tensor forward(const torch::Tensor &x, KVCache *cache, AttentionCapture *capture = nullptr) const;
    // Rotary cos/sin float32 [count, headDim] for positions start..start+count-1 (HF rotate_half layout).
    std::pair<torch::Tensor, torch::Tensor> rotary(int64_t start, int64_t count,
                                                   const torch::Device &device) const;

    LlamaOptions opt;
    torch::Dtype computeDtype;  // the dtype the modules were created in (activations' dtype)
    torch::Tensor embed_tokens; // registered as embed_tokens.weight through a holder module
    // Set by a loader of quantized (GGUF) weights when the model has its own lm_head: embed() then looks rows
    // up in the file's type and `embed_tokens` is a zero-stride placeholder of the right shape.
    std::shared_ptr<const quant::QuantEmbedding> quantizedEmbed;
    torch::nn::ModuleList layers;
    std::vector<LlamaLayer> layerList;
    RMSNorm norm{nullptr};

private:
    mutable std::mutex m_mutex;
    mutable torch::Tensor m_cos, m_sin; // [capacity, headDim] float32 CPU/device, grown on demand
};
TORCH_MODULE(LlamaModel);

// A causal LM = body + "lm_head" (bias-free). The family registers the body and head under its own prefixes.
// Without an lm_head (tied word embeddings: HF tie_word_embeddings), the logits use embed_tokens.weight.
struct CausalLm
{
    LlamaModel model{nullptr};
    Linear lmHead{nullptr};
    // embeds [B, T, D] -> float32 logits [B, T, V] (no cache). `capture`: see AttentionCapture.
    torch::Tensor forwardAll(const torch::Tensor &embeds, AttentionCapture *capture = nullptr) const;
    // embeds [T, D] appended after the cache -> float32 logits of the last position [V].
    torch::Tensor forwardCached(const torch::Tensor &embeds, KVCache &cache) const;
    torch::Tensor logits(const torch::Tensor &hidden) const;
};

// A plain container module, used to reproduce dotted checkpoint paths ("llm" -> "model", "lm_head").
std::shared_ptr<torch::nn::Module> container(torch::nn::Module &parent, const std::string &name);

// Registers `t` (already allocated) as parameter `name` of `m` and returns the registered handle.
torch::Tensor param(torch::nn::Module &m, const std::string &name, torch::IntArrayRef shape,
                    const torch::TensorOptions &options, bool requiresGrad = true);

} // namespace uhdlens::nn
