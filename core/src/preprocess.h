// Internal (torch-side) preprocessing: a decoded image + its SlicePlan -> normalised, batched encoder input.
// Public, torch-free counterpart (8-bit images for display and `uhdlens-cli preprocess`): uhdlens/preprocess.h.
//
//     uhdlens::PreprocessOptions opt{model.pixelNorm(), torch::kBFloat16, model.device()};
//     uhdlens::PreparedImages in = uhdlens::prepareImages(rgb, plan, opt);
//     auto ov = model.encodeImages(in.overview);            // [1, 3, h, w]
//     if (in.slices.defined()) model.encodeImages(in.slices); // [N, 3, h', w'], row-major
//
// Steps, each mirroring the reference Python (spec §1.2 step 6-7, §1.3):
//   PIL Image.resize(size, BICUBIC)         -> Pillow's 8-bit resampler re-implemented bit for bit
//       (pillow_resample.h: Q22 integer weights, rounded and clamped to 8 bits between the horizontal and the
//       vertical pass), reading the RGB888 image directly; identical pixels to Pillow's (fixtures in
//       tests/data/preprocess);
//   crop (j*cw, i*ch, ...) row-major          -> views of the refined tensor, gathered into one batch;
//   ToTensor + Normalize(mean, std)           -> (x/255 - mean)/std per channel in float32, then the dtype;
//   llava15: expand2square(mean colour) + CLIPImageProcessor resize to 336x336.
// Thread-safety: pure functions; they use torch's intra-op thread pool (set its size once, at start-up).
#pragma once

#include "nn/types.h" // PixelNorm
#include "uhdlens/preprocess.h"
#include "uhdlens/slice_planner.h"

#include <QImage>
#include <torch/torch.h>

namespace uhdlens {

struct PreprocessOptions
{
    PixelNorm norm;                        // (x/255 - mean)/std; mean also gives llava15's pad colour
    torch::Dtype dtype = torch::kFloat32;  // of the returned tensors
    torch::Device device = torch::kCPU;
};

struct PreparedImages
{
    torch::Tensor overview; // [1, 3, plan.overview.height, plan.overview.width]
    torch::Tensor slices;   // [N, 3, slice.height, slice.width], row-major; undefined for an unsliced plan
    int64_t count() const { return 1 + (slices.defined() ? slices.size(0) : 0); }
};

// Full pipeline. Throws Error(InvalidArgument) if the image size is not plan.input or the plan is empty.
PreparedImages prepareImages(const QImage &rgb, const SlicePlan &plan, const PreprocessOptions &options);

namespace preprocess {

// An RGB888 QImage as float32 [1, 3, H, W] with values 0..255 (one conversion; the image is not kept).
torch::Tensor imageToTensor(const QImage &rgb888);
// A [3, H, W] or [1, 3, H, W] tensor of 0..255 values (any dtype) as an RGB888 QImage (rounded, clamped).
QImage tensorToImage(const torch::Tensor &pixels);

// Pillow's Image.resize(size, Image.BICUBIC) of an RGB888 image, exactly: float [1, 3, size.height,
// size.width] (contiguous) holding integers 0..255. What prepareImages/modelPixels use. Throws
// Error(InvalidArgument) for a null or non-RGB888 image or an empty target size.
torch::Tensor resizeImage(const QImage &rgb888, Size size);

// The same resize for 8-bit images held as float tensors: [B, C, H, W] (C = 1..4; values rounded and clamped
// to 0..255 first) -> float [B, C, size.height, size.width] holding integers 0..255, identical to Pillow's.
// Returns the input itself when the size is unchanged (Pillow returns a copy). Throws Error(InvalidArgument)
// for an empty image or target size or an unsupported channel count.
torch::Tensor resizeBicubic(const torch::Tensor &pixels, Size size);

// expand2square on a [1, 3, H, W] tensor: centred on a square of the longer side filled with `colour`.
torch::Tensor padToSquare(const torch::Tensor &pixels, RgbColour colour);

// The plan's slices of the refined image [1, 3, refine.h, refine.w] as one batch [N, 3, slice.h, slice.w],
// row-major (one copy; a reshape of views when the slices tile the image as the planner's always do).
torch::Tensor cropSlices(const torch::Tensor &refined, const SlicePlan &plan);

// (x/255 - mean)/std per channel for [B, 3, H, W] 0..255 values, computed in float32, returned as `dtype`.
torch::Tensor normalize(const torch::Tensor &pixels, const PixelNorm &norm, torch::Dtype dtype = torch::kFloat32);

// The 8-bit encoder inputs as tensors: overview [1,3,h,w] and slices [N,3,h',w'] (float, integral 0..255).
// prepareImages() is normalize() of these; renderModelView() is tensorToImage() of them.
struct Pixels
{
    torch::Tensor overview;
    torch::Tensor slices;
};
Pixels modelPixels(const QImage &rgb, const SlicePlan &plan, RgbColour padColour);

} // namespace preprocess

} // namespace uhdlens
