// MiniCPM-V 2.6's vision side as modules (internal, torch-side): the navit SigLIP tower of
// modeling_navit_siglip.py (HF openbmb/MiniCPM-V-2_6, "HuggingFaceM4/siglip-so400m-14-980-flash-attn2-navit
// and add tgt_sizes") and the resampler of its resampler.py, both over a padded batch of slices whose patch
// grids differ, plus the "reshape_by_patch" pixel layout of image_processing_minicpmv.py that feeds them.
//
//     nn::NavitSiglip vpm(nn::NavitSiglipOptions{}, torch::kFloat32);     // names: see NavitSiglipImpl
//     std::vector<nn::PatchGrid> grids = {{24, 43}, {34, 30}};            // (rows, cols) = tgt_sizes
//     auto pixels = nn::padPatchBatch({nn::reshapeByPatch(ov, 14), nn::reshapeByPatch(s0, 14)});
//     auto features = vpm->forward(pixels, grids);                          // [B, Lmax, C]
//     auto tokens = nn::resampleSlices(*resampler, features, grids);      // [B, 64, D]
//
// Rows of `features` past a slice's rows*cols patches are padding: their values are whatever the reference
// also computes there (its attention masks keys only) and nothing downstream reads them. Thread-safety:
// forward is read-only; the position-id table is computed per call (small).
#pragma once

#include "nn/layers.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace uhdlens::nn {

// A slice's patch grid as the reference's tgt_sizes row: (rows = H/patch, cols = W/patch).
struct PatchGrid
{
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t patches() const { return rows * cols; }
};

// SiglipVisionConfig of MiniCPM-V 2.6 (config.json "vision_config"; defaults are the real model's).
struct NavitSiglipOptions
{
    int64_t dim = 1152;    // hidden_size
    int64_t heads = 16;    // num_attention_heads
    int64_t mlpDim = 4304; // intermediate_size
    int64_t layers = 27;   // encoder layers present (num_hidden_layers, minus one if drop_vision_last_layer)
    int64_t patch = 14;    // patch_size
    int64_t imageSize = 980; // image_size: the position table has (imageSize/patch)^2 rows (70x70 = 4900)
    double eps = 1e-6;       // layer_norm_eps
    Activation act = Activation::GeluTanh; // hidden_act gelu_pytorch_tanh
    int64_t side() const { return imageSize / patch; }
};

// SiglipVisionEmbeddings' position ids for one rows x cols grid: [rows*cols] int64, row-major, each
// bucket(row)*side + bucket(col) with bucket(i) = torch.bucketize(torch.arange(0, 1 - 1e-6, 1/n)[i],
// torch.arange(1/side, 1.0, 1/side), right=True). Computed with the same libtorch calls and the same float32
// step (1/n of an int32 tensor), so the exact-multiple cases that float32 arange decides (rows = 25: row 15
// -> 41, not floor(15*70/25) = 42) come out as the reference's on the same CPU.
torch::Tensor navitPositionIds(int64_t rows, int64_t cols, int64_t side);

// image_processing_minicpmv.py reshape_by_patch: [3, H, W] (H, W multiples of patch) -> [3, patch, L*patch]
// with L = (H/patch)*(W/patch) patches laid out row-major (unfold order): out[c, y, l*patch + x] =
// in[c, (l / (W/patch))*patch + y, (l % (W/patch))*patch + x]. Also [N, 3, H, W] -> [N, 3, patch, L*patch].
// Throws Error(InvalidArgument) if a side is not a positive multiple of patch.
torch::Tensor reshapeByPatch(const torch::Tensor &image, int64_t patch);

// modeling_minicpmv.py get_vllm_embedding's batching: per-slice [3, patch, L_i*patch] arrays zero-padded to
// the longest and stacked, [B, 3, patch, Lmax*patch]. Throws Error(InvalidArgument) for an empty list or a
// mismatched shape.
torch::Tensor padPatchBatch(const std::vector<torch::Tensor> &slices);

// Additive key-padding mask [B, 1, Lmax] in `dtype`: 0 for each slice's first rows*cols keys, -inf after.
torch::Tensor keyPaddingMask(const std::vector<PatchGrid> &grids, int64_t maxPatches, torch::Dtype dtype,
                             torch::Device device);

// SiglipVisionTransformer (navit). Checkpoint names under the family's "vpm." prefix:
//   embeddings.patch_embedding.{weight [C,3,P,P], bias [C]}   Conv2d P x P, stride P
//   embeddings.position_embedding.weight [side^2, C]
//   encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2}.{weight,bias}
//   post_layernorm.{weight,bias}
struct NavitSiglipImpl : torch::nn::Module
{
    NavitSiglipImpl(const NavitSiglipOptions &options, const torch::TensorOptions &tensorOptions);
    // pixels [B, 3, P, Lmax*P] (padPatchBatch layout), grids: B patch grids with rows*cols <= Lmax ->
    // post_layernorm(encoder(embeddings)) [B, Lmax, C]. Keys past each grid's patch count are masked in every
    // layer (the reference's _prepare_4d_attention_mask; no mask when no slice is padded, as the reference).
    // Throws Error(InvalidArgument) for a shape or grid that does not fit.
    torch::Tensor forward(const torch::Tensor &pixels, const std::vector<PatchGrid> &grids) const;
    // The embeddings alone: patch projection + position rows (padded positions get row 0, as the reference's
    // zero-filled position_ids).
    torch::Tensor embed(const torch::Tensor &pixels, const std::vector<PatchGrid> &grids) const;

    NavitSiglipOptions opt;
    torch::Tensor patchWeight, patchBias, posTable;
    torch::nn::ModuleList layers;
    std::vector<VitBlock> layerList;
    LayerNorm postNorm{nullptr};
};
TORCH_MODULE(NavitSiglip);

// MiniCPM-V 2.6 resampler (resampler.py, adaptive=True) over a padded batch: x [B, Lmax, kvDim] ->
// [B, Q, D]. The resampler must be built with storedQueryPos = false, fixedQueryPos = false (2.6 queries
// carry no position) and KeyPosition::FreshSinCos: the reference slices its cached sincos(D, 70, 70) table
// (regrown to the largest grid when one exceeds it) as [:rows, :cols], whose rows equal sincos2d(D, rows,
// cols) exactly. Keys past each grid's patch count are masked (key_padding_mask). Throws
// Error(InvalidArgument) for a misfit.
torch::Tensor resampleSlices(const ResamplerImpl &resampler, const torch::Tensor &x,
                             const std::vector<PatchGrid> &grids);

} // namespace uhdlens::nn
