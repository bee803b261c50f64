// INTERNAL HEADER (core/src): Pillow's 8-bit resampler, bit for bit, without torch or Qt.
//
//     pillow::ConstView8 src{rgb.constBits(), rgb.width(), rgb.height(), 3, rgb.bytesPerLine()};
//     std::vector<std::uint8_t> out(std::size_t(w) * h * 3);
//     pillow::resizeBicubic(src, pillow::View8{out.data(), w, h, 3, w * 3});
//
// What the official Python does with `Image.resize(size, Image.BICUBIC)` on an "L" or "RGB" image (Pillow's
// src/libImaging/Resample.c, identical in this respect from 9.4 to 11.x; checked against Pillow 9.4
// fixtures):
//   * per axis, precompute_coeffs(): scale = in/out, filterscale = max(scale, 1), support = 2 * filterscale;
//     output i is centred at (i + 0.5) * scale and reads inputs xmin = (int)(centre - support + 0.5) (clamped
//     to 0) up to (int)(centre + support + 0.5) (clamped to the size); tap j weighs bicubic((xmin + j -
//     centre + 0.5) / filterscale) with a = -0.5, and the weights are divided by their sum;
//   * normalize_coeffs_8bpc(): each weight becomes int(w * 2^22 +- 0.5), rounding away from zero
//     (PRECISION_BITS = 32 - 8 - 2: headroom for negative lobes and sums above 1);
//   * a horizontal pass over only the source rows the vertical pass reads (ybox_first..ybox_last), then a
//     vertical pass; each output accumulates in int32 from 2^21 (one half) and is clip8()ed: an arithmetic
//     shift by 22 clamped to 0..255. So the image is rounded and clamped to 8 bits BETWEEN the two passes,
//     which is why a float separable resize rounded once at the end differs from Pillow by up to ~20 levels
//     at hard edges;
//   * a pass whose size does not change is skipped (it would be the identity: bicubic(±1) = bicubic(±2) = 0).
// Channels are processed independently (1 to 4 interleaved). Unlike Image.resize, alpha is not premultiplied:
// callers pass opaque images ("L", "RGB"), as the references do.
//
// Thread-safety: pure functions; resizeBicubic() splits rows over torch's intra-op thread pool (the header
// and the arithmetic are torch-free; only the parallel loop comes from ATen).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace uhdlens::pillow {

// Fixed-point fraction bits of the 8-bit resampler's weights (Pillow's PRECISION_BITS).
inline constexpr int kPrecisionBits = 32 - 8 - 2;

// One axis' filter table: output i reads `count[i]` inputs from `first[i]` with weights
// weights[i * taps + 0 .. count[i]) (Q22 fixed point; the rest of each row is zero).
struct AxisCoeffs
{
    int inSize = 0;
    int outSize = 0;
    int taps = 0; // Pillow's ksize: (int)ceil(support) * 2 + 1
    std::vector<int> first;
    std::vector<int> count;
    std::vector<std::int32_t> weights;
};

// precompute_coeffs() + normalize_coeffs_8bpc() for BICUBIC over the whole axis (box 0..inSize).
// Throws Error(InvalidArgument) if either size is not positive.
AxisCoeffs bicubicCoeffs(int inSize, int outSize);

// An interleaved 8-bit image: `channels` bytes per pixel, rows `stride` bytes apart (stride >= width *
// channels).
struct ConstView8
{
    const std::uint8_t *data = nullptr;
    int width = 0;
    int height = 0;
    int channels = 0;
    std::ptrdiff_t stride = 0;
};
// A target may also be planar (planeStride != 0): channel c of pixel (x, y) at data + c * planeStride +
// y * stride + x, which is what a [C, H, W] tensor wants (no transposing copy afterwards).
struct View8
{
    std::uint8_t *data = nullptr;
    int width = 0;
    int height = 0;
    int channels = 0;
    std::ptrdiff_t stride = 0;
    std::ptrdiff_t planeStride = 0; // 0: interleaved like ConstView8
};

// Image.resize((dst.width, dst.height), Image.BICUBIC) of `src` into `dst` (same channel count, 1..4; the
// buffers must not overlap; `dst` interleaved or planar). Same size: a copy, as Pillow's. Throws
// Error(InvalidArgument) for a null or empty image, a zero or negative size, a stride shorter than a row, or
// a channel count mismatch or outside 1..4.
void resizeBicubic(const ConstView8 &src, const View8 &dst);

} // namespace uhdlens::pillow
