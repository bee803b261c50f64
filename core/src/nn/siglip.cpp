#include "nn/siglip.h"

#include "nn/mixed_linear.h" // nn::linear
#include "uhdlens/errors.h"

#include <algorithm>
#include <limits>
#include <string>

namespace uhdlens::nn {

namespace {

void checkGrids(const std::vector<PatchGrid> &grids, int64_t batch, int64_t maxPatches)
{
    if (static_cast<int64_t>(grids.size()) != batch)
        throw Error(ErrorCode::InvalidArgument, "navit batch of " + std::to_string(batch) + " slices has " +
                                                    std::to_string(grids.size()) + " patch grids");
    for (const auto &g : grids)
        if (g.rows < 1 || g.cols < 1 || g.patches() > maxPatches)
            throw Error(ErrorCode::InvalidArgument, "patch grid " + std::to_string(g.rows) + "x" +
                                                        std::to_string(g.cols) + " does not fit a batch of " +
                                                        std::to_string(maxPatches) + " patches per slice");
}

} // namespace

torch::Tensor navitPositionIds(int64_t rows, int64_t cols, int64_t side)
{
    if (rows < 1 || cols < 1 || side < 1)
        throw Error(ErrorCode::InvalidArgument, "navit position ids need a non-empty grid and table");
    // torch.arange(1 / side, 1.0, 1 / side): Python doubles, default dtype float32.
    const double cell = 1.0 / static_cast<double>(side);
    const auto boundaries = torch::arange(cell, 1.0, cell, torch::kFloat32);
    // torch.arange(0, 1 - 1e-6, 1 / n) with n an int32 tensor element: 1 / n is a float32 0-dim tensor, read
    // back as a Scalar (the float32 value widened to double); start 0 and end 1 - 1e-6 as Python gives them.
    auto buckets = [&](int64_t n) {
        const double step = static_cast<double>(1.0f / static_cast<float>(n));
        const auto frac = torch::arange(0.0, 1.0 - 1e-6, step, torch::kFloat32);
        return torch::bucketize(frac, boundaries, /*out_int32=*/false, /*right=*/true);
    };
    const auto r = buckets(rows), c = buckets(cols);
    if (r.size(0) != rows ||
        c.size(0) != cols) // arange's length is ceil((end - start) / step): always n here
        throw Error(ErrorCode::Internal, "navit fractional coordinates have an unexpected length");
    return (r.unsqueeze(1) * side + c.unsqueeze(0)).flatten();
}

torch::Tensor reshapeByPatch(const torch::Tensor &image, int64_t patch)
{
    if (image.dim() == 4) {
        std::vector<torch::Tensor> out;
        for (int64_t i = 0; i < image.size(0); ++i)
            out.push_back(reshapeByPatch(image[i], patch));
        return torch::stack(out);
    }
    if (image.dim() != 3 || patch < 1 || image.size(1) < patch || image.size(2) < patch ||
        image.size(1) % patch || image.size(2) % patch)
        throw Error(ErrorCode::InvalidArgument,
                    "reshape_by_patch needs [C, H, W] with H and W positive multiples "
                    "of the patch size " +
                        std::to_string(patch));
    const int64_t c = image.size(0), ph = image.size(1) / patch, pw = image.size(2) / patch;
    // unfold -> [C, P, P, L] -> permute(0, 1, 3, 2) -> [C, P, L*P]
    return image.reshape({c, ph, patch, pw, patch})
        .permute({0, 2, 1, 3, 4})
        .reshape({c, patch, ph * pw * patch});
}

torch::Tensor padPatchBatch(const std::vector<torch::Tensor> &slices)
{
    if (slices.empty())
        throw Error(ErrorCode::InvalidArgument, "no slices to batch");
    int64_t longest = 0;
    for (const auto &s : slices) {
        if (s.dim() != 3 || s.size(0) != slices[0].size(0) || s.size(1) != slices[0].size(1) ||
            s.size(2) % s.size(1))
            throw Error(ErrorCode::InvalidArgument, "slices to batch must all be [3, patch, L*patch]");
        longest = std::max(longest, s.size(2));
    }
    auto out =
        torch::zeros({static_cast<int64_t>(slices.size()), slices[0].size(0), slices[0].size(1), longest},
                     slices[0].options());
    for (size_t i = 0; i < slices.size(); ++i)
        out[static_cast<int64_t>(i)].narrow(2, 0, slices[i].size(2)).copy_(slices[i]);
    return out;
}

torch::Tensor keyPaddingMask(const std::vector<PatchGrid> &grids, int64_t maxPatches, torch::Dtype dtype,
                             torch::Device device)
{
    auto mask = torch::zeros({static_cast<int64_t>(grids.size()), 1, maxPatches}, torch::kFloat32);
    for (size_t i = 0; i < grids.size(); ++i)
        mask[static_cast<int64_t>(i)]
            .narrow(1, grids[i].patches(), maxPatches - grids[i].patches())
            .fill_(-std::numeric_limits<float>::infinity());
    return mask.to(device, dtype);
}

NavitSiglipImpl::NavitSiglipImpl(const NavitSiglipOptions &o, const torch::TensorOptions &to) : opt(o)
{
    if (o.dim < 1 || o.heads < 1 || o.dim % o.heads != 0)
        throw Error(ErrorCode::ConfigInvalid,
                    "vision width " + std::to_string(o.dim) + " is not divisible by its head count " +
                        std::to_string(o.heads),
                    "vision_config.num_attention_heads");
    if (o.patch < 1 || o.side() < 1)
        throw Error(ErrorCode::ConfigInvalid, "vision image_size must be at least one patch",
                    "vision_config.image_size");
    auto embeddings = container(*this, "embeddings");
    auto pe = container(*embeddings, "patch_embedding");
    patchWeight = param(*pe, "weight", {o.dim, 3, o.patch, o.patch}, to);
    patchBias = param(*pe, "bias", {o.dim}, to);
    posTable =
        param(*container(*embeddings, "position_embedding"), "weight", {o.side() * o.side(), o.dim}, to);
    auto encoder = container(*this, "encoder");
    layers = encoder->register_module("layers", torch::nn::ModuleList());
    VitOptions vo;
    vo.dim = o.dim;
    vo.heads = o.heads;
    vo.mlpDim = o.mlpDim;
    vo.eps = o.eps;
    vo.act = o.act;
    vo.naming = VitNaming::HfClip; // layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1/fc2
    for (int64_t i = 0; i < o.layers; ++i) {
        layerList.push_back(VitBlock(vo, to));
        layers->push_back(layerList.back());
    }
    postNorm = register_module("post_layernorm", LayerNorm(o.dim, o.eps, to));
}

torch::Tensor NavitSiglipImpl::embed(const torch::Tensor &pixels, const std::vector<PatchGrid> &grids) const
{
    const int64_t p = opt.patch;
    if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != p || pixels.size(3) % p ||
        pixels.size(3) < p)
        throw Error(ErrorCode::InvalidArgument, "navit pixels must be [B, 3, " + std::to_string(p) + ", L*" +
                                                    std::to_string(p) + "] (reshape_by_patch layout)");
    const int64_t b = pixels.size(0), l = pixels.size(3) / p;
    checkGrids(grids, b, l);
    // Conv2d(P x P, stride P) over one row of patches == one matrix product per patch: [B, L, 3*P*P] x W^T.
    const auto patches = pixels.reshape({b, 3, p, l, p}).permute({0, 3, 1, 2, 4}).reshape({b, l, 3 * p * p});
    // The pixels are in the compute dtype; nn::linear also takes bf16 weights with f32 pixels (mixed mode).
    auto x = nn::linear(patches, patchWeight.reshape({opt.dim, 3 * p * p}), patchBias);
    auto ids = torch::zeros({b, l}, torch::kLong);
    for (int64_t i = 0; i < b; ++i)
        ids[i]
            .narrow(0, 0, grids[static_cast<size_t>(i)].patches())
            .copy_(navitPositionIds(grids[static_cast<size_t>(i)].rows, grids[static_cast<size_t>(i)].cols,
                                    opt.side()));
    return x + posTable.index_select(0, ids.flatten().to(posTable.device()))
                   .view({b, l, opt.dim})
                   .to(x.scalar_type());
}

torch::Tensor NavitSiglipImpl::forward(const torch::Tensor &pixels, const std::vector<PatchGrid> &grids) const
{
    auto x = embed(pixels, grids);
    const int64_t b = x.size(0), l = x.size(1);
    torch::Tensor mask;
    const bool padded =
        std::any_of(grids.begin(), grids.end(), [&](const PatchGrid &g) { return g.patches() < l; });
    if (padded) // [B, 1, L] -> [B*heads, 1, L], head-major within a slice as the blocks' reshape
        mask = keyPaddingMask(grids, l, x.scalar_type(), x.device())
                   .unsqueeze(1)
                   .expand({b, opt.heads, 1, l})
                   .reshape({b * opt.heads, 1, l});
    for (const auto &layer : layerList)
        x = layer->forward(x, mask);
    return postNorm->forward(x);
}

torch::Tensor resampleSlices(const ResamplerImpl &r, const torch::Tensor &x,
                             const std::vector<PatchGrid> &grids)
{
    if (x.dim() != 3 || x.size(2) != r.opt.kvDim)
        throw Error(ErrorCode::InvalidArgument,
                    "resampler input must be [B, L, " + std::to_string(r.opt.kvDim) + "]");
    if (r.pos_embed.defined() || r.opt.fixedQueryPos || r.opt.keyPos != KeyPosition::FreshSinCos)
        throw Error(ErrorCode::InvalidArgument,
                    "MiniCPM-V 2.6's resampler has no query positions and sin-cos keys");
    const int64_t b = x.size(0), l = x.size(1);
    checkGrids(grids, b, l);
    const auto v = r.values(x);
    // resampler.py: key = x + pos_embed, the slice's [:h, :w] rows, zero past them (pad_sequence).
    auto pos = torch::zeros({b, l, r.opt.dim}, v.options());
    for (int64_t i = 0; i < b; ++i) {
        const auto &g = grids[static_cast<size_t>(i)];
        pos[i].narrow(0, 0, g.patches()).copy_(r.keyPositions(g.rows, g.cols, v.scalar_type()));
    }
    const auto k = v + pos;
    const auto q = r.queries().unsqueeze(0).expand({b, -1, -1});
    const int64_t heads = r.opt.heads;
    // key_padding_mask [B, L] -> [B*heads, 1, L] as torch's multi_head_attention_forward merges it.
    const auto mask = keyPaddingMask(grids, l, v.scalar_type(), v.device())
                          .unsqueeze(1)
                          .expand({b, heads, 1, l})
                          .reshape({b * heads, 1, l});
    const auto out =
        r.attn->attendProjected(r.attn->project(q, 0), r.attn->project(k, 1), r.attn->project(v, 2), mask);
    return r.finish(out);
}

} // namespace uhdlens::nn
