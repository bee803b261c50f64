// Pillow's 8-bit BICUBIC resampler (src/libImaging/Resample.c: precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc, ImagingResampleInner), rewritten with the
// same arithmetic so the pixels are identical. See pillow_resample.h for the algorithm.
//
// This file is compiled with -ffp-contract=off (core/CMakeLists.txt): the weights are computed in double
// exactly as Pillow's C does, and a fused multiply-add would change the last bit of a weight, which can move
// its Q22 rounding and so a pixel.
#include "pillow_resample.h"

#include "uhdlens/errors.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

namespace uhdlens::pillow {

namespace {

// Resample.c bicubic_filter(), a = -0.5 (the Keys kernel Pillow uses; PyTorch's plain bicubic uses -0.75).
// The expressions keep Pillow's operation order so the doubles are the same.
double bicubicFilter(double x)
{
    constexpr double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

constexpr double kBicubicSupport = 2.0;

// clip8(): Pillow's lookup table maps acc >> 22 (an arithmetic shift: floor division) to 0..255, saturating.
inline std::uint8_t clip8(std::int32_t acc)
{
    return static_cast<std::uint8_t>(std::clamp(acc >> kPrecisionBits, 0, 255));
}

// Where channel c of pixel x sits in an output row: interleaved or planar (View8::planeStride).
inline std::ptrdiff_t sampleOffset(const View8 &v, int x, int c)
{
    return v.planeStride ? c * v.planeStride + x : static_cast<std::ptrdiff_t>(x) * v.channels + c;
}

// Every accumulator starts at one half in Q22, so clip8's floor rounds half up.
constexpr std::int32_t kHalf = std::int32_t{1} << (kPrecisionBits - 1);

void checkView(const char *what, const void *data, int width, int height, int channels, std::ptrdiff_t stride)
{
    const std::string name = std::string("resizeBicubic: ") + what;
    if (!data || width <= 0 || height <= 0)
        throw Error(ErrorCode::InvalidArgument,
                    name + " image is empty (" + std::to_string(width) + "x" + std::to_string(height) + ")");
    if (channels < 1 || channels > 4)
        throw Error(ErrorCode::InvalidArgument,
                    name + " has " + std::to_string(channels) + " channels (1..4)");
    if (stride < static_cast<std::ptrdiff_t>(width) * channels)
        throw Error(ErrorCode::InvalidArgument, name + " row stride is shorter than a row");
}

// Rows (or blocks) per parallel chunk so that a chunk is worth a task (~64k multiply-adds), at least one.
std::int64_t grainRows(std::int64_t workPerRow)
{
    return std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(1, workPerRow));
}

// The kernels are compiled twice, for the x86-64 baseline and for AVX2 (chosen at run time): the
// multiply-adds are 32-bit integer products (u8 x Q22 weight) and only AVX2 has an 8-lane 32-bit multiply;
// SSE2 emulates it. Integer arithmetic, so both give the same pixels.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define UHDLENS_PILLOW_AVX2 1
#define UHDLENS_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define UHDLENS_PILLOW_AVX2 0
#define UHDLENS_TARGET_AVX2
#endif
#if defined(__GNUC__) || defined(__clang__)
#define UHDLENS_INLINE inline __attribute__((always_inline))
#else
#define UHDLENS_INLINE inline
#endif

// Rows per block of the horizontal pass: the block is transposed so that one tap is one contiguous run of
// kBlockRows * C bytes, multiplied by one weight (vectorised like the vertical pass).
constexpr int kBlockRows = 16;

// ImagingResampleHorizontal_8bpc for the kBlockRows-row block starting at dst row y (source row y +
// rowOffset); rows past dst.height are computed from zero rows and not written. `t` holds src.width *
// kBlockRows * C bytes. Per output pixel and channel this is Pillow's sum: kHalf + sum over taps of pixel *
// weight, in int32.
template <int C>
UHDLENS_INLINE void horizontalBlock(const ConstView8 &src, int rowOffset, const View8 &dst,
                                    const AxisCoeffs &h, std::int64_t y, std::uint8_t *t)
{
    constexpr int L = kBlockRows * C; // bytes per transposed source column
    const int rows = static_cast<int>(std::min<std::int64_t>(kBlockRows, dst.height - y));
    for (int r = 0; r < kBlockRows; ++r) {
        if (r < rows) {
            const std::uint8_t *in = src.data + (y + r + rowOffset) * src.stride;
            for (int x = 0; x < src.width; ++x)
                for (int c = 0; c < C; ++c)
                    t[x * L + r * C + c] = in[x * C + c];
        } else {
            for (int x = 0; x < src.width; ++x)
                for (int c = 0; c < C; ++c)
                    t[x * L + r * C + c] = 0;
        }
    }
    for (int xx = 0; xx < h.outSize; ++xx) {
        const std::int32_t *k = &h.weights[static_cast<std::size_t>(xx) * h.taps];
        const std::uint8_t *col = t + static_cast<std::ptrdiff_t>(h.first[xx]) * L;
        std::int32_t acc[L];
        for (int i = 0; i < L; ++i)
            acc[i] = kHalf;
        const int n = h.count[xx];
        for (int x = 0; x < n; ++x, col += L) {
            const std::int32_t w = k[x];
            for (int i = 0; i < L; ++i)
                acc[i] += col[i] * w;
        }
        for (int r = 0; r < rows; ++r) {
            std::uint8_t *out = dst.data + (y + r) * dst.stride;
            for (int c = 0; c < C; ++c)
                out[sampleOffset(dst, xx, c)] = clip8(acc[r * C + c]);
        }
    }
}

// Blocks [b0, b1) of the horizontal pass.
template <int C>
UHDLENS_INLINE void horizontalBlocks(const ConstView8 &src, int rowOffset, const View8 &dst,
                                     const AxisCoeffs &h, std::int64_t b0, std::int64_t b1)
{
    std::vector<std::uint8_t> t(static_cast<std::size_t>(src.width) * kBlockRows * C);
    for (std::int64_t b = b0; b < b1; ++b)
        horizontalBlock<C>(src, rowOffset, dst, h, b * kBlockRows, t.data());
}

// ImagingResampleVertical_8bpc for output rows [y0, y1); source row r holds coefficient row r + rowOffset.
// Accumulates a whole row at a time (tap-major) so the inner loop is a contiguous, vectorisable multiply-add;
// the sums are the same integers as Pillow's pixel-major loop (int32 addition is exact and cannot overflow:
// Pillow's PRECISION_BITS leaves two bits of headroom).
UHDLENS_INLINE void verticalRows(const ConstView8 &src, int rowOffset, const View8 &dst, const AxisCoeffs &v,
                                 std::int64_t y0, std::int64_t y1)
{
    const int n = dst.width * dst.channels;
    std::vector<std::int32_t> accBuf(static_cast<std::size_t>(n));
    std::int32_t *acc = accBuf.data();
    for (std::int64_t yy = y0; yy < y1; ++yy) {
        for (int i = 0; i < n; ++i)
            acc[i] = kHalf;
        const std::int32_t *k = &v.weights[static_cast<std::size_t>(yy) * v.taps];
        const int first = v.first[yy] - rowOffset;
        for (int y = 0; y < v.count[yy]; ++y) {
            const std::uint8_t *in = src.data + static_cast<std::ptrdiff_t>(first + y) * src.stride;
            const std::int32_t w = k[y];
            for (int i = 0; i < n; ++i)
                acc[i] += in[i] * w;
        }
        std::uint8_t *out = dst.data + yy * dst.stride;
        if (dst.planeStride == 0) {
            for (int i = 0; i < n; ++i)
                out[i] = clip8(acc[i]);
        } else {
            for (int c = 0; c < dst.channels; ++c)
                for (int x = 0; x < dst.width; ++x)
                    out[c * dst.planeStride + x] = clip8(acc[x * dst.channels + c]);
        }
    }
}

#define UHDLENS_PILLOW_KERNELS(ATTR, SUFFIX)                                                                 \
    ATTR void horizontal##SUFFIX(const ConstView8 &src, int rowOffset, const View8 &dst,                     \
                                 const AxisCoeffs &h, std::int64_t b0, std::int64_t b1)                      \
    {                                                                                                        \
        switch (src.channels) {                                                                              \
        case 1:                                                                                              \
            horizontalBlocks<1>(src, rowOffset, dst, h, b0, b1);                                             \
            break;                                                                                           \
        case 2:                                                                                              \
            horizontalBlocks<2>(src, rowOffset, dst, h, b0, b1);                                             \
            break;                                                                                           \
        case 3:                                                                                              \
            horizontalBlocks<3>(src, rowOffset, dst, h, b0, b1);                                             \
            break;                                                                                           \
        default:                                                                                             \
            horizontalBlocks<4>(src, rowOffset, dst, h, b0, b1);                                             \
            break;                                                                                           \
        }                                                                                                    \
    }                                                                                                        \
    ATTR void vertical##SUFFIX(const ConstView8 &src, int rowOffset, const View8 &dst, const AxisCoeffs &v,  \
                               std::int64_t y0, std::int64_t y1)                                             \
    {                                                                                                        \
        verticalRows(src, rowOffset, dst, v, y0, y1);                                                        \
    }

UHDLENS_PILLOW_KERNELS(, Generic)
#if UHDLENS_PILLOW_AVX2
UHDLENS_PILLOW_KERNELS(UHDLENS_TARGET_AVX2, Avx2)
#endif

bool useAvx2()
{
#if UHDLENS_PILLOW_AVX2
    static const bool avx2 = __builtin_cpu_supports("avx2");
    return avx2;
#else
    return false;
#endif
}

void horizontalPass(const ConstView8 &src, int rowOffset, const View8 &dst, const AxisCoeffs &h)
{
    const std::int64_t blocks = (dst.height + kBlockRows - 1) / kBlockRows;
    const std::int64_t work = static_cast<std::int64_t>(h.outSize) * h.taps * src.channels * kBlockRows;
    at::parallel_for(0, blocks, grainRows(work), [&](std::int64_t b0, std::int64_t b1) {
#if UHDLENS_PILLOW_AVX2
        if (useAvx2())
            return horizontalAvx2(src, rowOffset, dst, h, b0, b1);
#endif
        horizontalGeneric(src, rowOffset, dst, h, b0, b1);
    });
}

void verticalPass(const ConstView8 &src, int rowOffset, const View8 &dst, const AxisCoeffs &v)
{
    const std::int64_t work = static_cast<std::int64_t>(dst.width) * dst.channels * v.taps;
    at::parallel_for(0, dst.height, grainRows(work), [&](std::int64_t y0, std::int64_t y1) {
#if UHDLENS_PILLOW_AVX2
        if (useAvx2())
            return verticalAvx2(src, rowOffset, dst, v, y0, y1);
#endif
        verticalGeneric(src, rowOffset, dst, v, y0, y1);
    });
}

} // namespace

AxisCoeffs bicubicCoeffs(int inSize, int outSize)
{
    if (inSize <= 0 || outSize <= 0)
        throw Error(ErrorCode::InvalidArgument, "resizeBicubic: sizes must be positive (from " +
                                                    std::to_string(inSize) + " to " +
                                                    std::to_string(outSize) + ")");
    AxisCoeffs c;
    c.inSize = inSize;
    c.outSize = outSize;
    // precompute_coeffs(inSize, in0 = 0, in1 = inSize, outSize): Image.resize's default box is (0, 0) + size,
    // passed as C floats; in1 - in0 is exact for any image size below 2^24.
    const double scale = static_cast<double>(static_cast<float>(inSize) - 0.0f) / outSize;
    const double filterscale = std::max(scale, 1.0);
    const double support = kBicubicSupport * filterscale;
    c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(static_cast<std::size_t>(outSize));
    c.count.resize(static_cast<std::size_t>(outSize));
    c.weights.assign(static_cast<std::size_t>(outSize) * c.taps, 0);
    std::vector<double> w(static_cast<std::size_t>(c.taps));
    const double ss = 1.0 / filterscale;
    for (int xx = 0; xx < outSize; ++xx) {
        const double center = 0.0 + (xx + 0.5) * scale;
        // (int) truncates toward zero, as in the C source ("Round the value").
        int xmin = static_cast<int>(center - support + 0.5);
        xmin = std::max(xmin, 0);
        int xmax = static_cast<int>(center + support + 0.5);
        xmax = std::min(xmax, inSize) - xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            w[x] = bicubicFilter((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        std::int32_t *k = &c.weights[static_cast<std::size_t>(xx) * c.taps];
        for (int x = 0; x < xmax; ++x) {
            const double kx = ww != 0.0 ? w[x] / ww : w[x];
            // normalize_coeffs_8bpc: to Q22, rounding half away from zero.
            k[x] = kx < 0 ? static_cast<std::int32_t>(-0.5 + kx * (1 << kPrecisionBits))
                          : static_cast<std::int32_t>(0.5 + kx * (1 << kPrecisionBits));
        }
        c.first[xx] = xmin;
        c.count[xx] = xmax;
    }
    return c;
}

void resizeBicubic(const ConstView8 &src, const View8 &dst)
{
    checkView("source", src.data, src.width, src.height, src.channels, src.stride);
    // A planar row holds `width` bytes per plane: checked as stride * channels >= width * channels.
    checkView("target", dst.data, dst.width, dst.height, dst.channels,
              dst.planeStride ? dst.stride * dst.channels : dst.stride);
    if (dst.planeStride != 0 && dst.planeStride < dst.stride * dst.height)
        throw Error(ErrorCode::InvalidArgument, "resizeBicubic: target planes overlap");
    if (src.channels != dst.channels)
        throw Error(ErrorCode::InvalidArgument, "resizeBicubic: source and target channel counts differ");
    const std::size_t rowBytes = static_cast<std::size_t>(src.width) * src.channels;

    const bool needHorizontal = dst.width != src.width;
    const bool needVertical = dst.height != src.height;
    if (!needHorizontal && !needVertical) {
        // Image.resize returns a copy.
        for (int y = 0; y < src.height; ++y) {
            std::uint8_t *out = dst.data + y * dst.stride;
            const std::uint8_t *in = src.data + y * src.stride;
            if (dst.planeStride == 0)
                std::memcpy(out, in, rowBytes);
            else
                for (int x = 0; x < src.width; ++x)
                    for (int c = 0; c < src.channels; ++c)
                        out[sampleOffset(dst, x, c)] = in[x * src.channels + c];
        }
        return;
    }
    if (!needVertical) {
        horizontalPass(src, 0, dst, bicubicCoeffs(src.width, dst.width));
        return;
    }
    const AxisCoeffs v = bicubicCoeffs(src.height, dst.height);
    if (!needHorizontal) {
        verticalPass(src, 0, dst, v);
        return;
    }
    // ImagingResampleInner: the horizontal pass covers only the source rows the vertical pass reads,
    // [ybox_first, ybox_last), into a temporary 8-bit image (this is where Pillow rounds between the passes).
    const int yFirst = v.first.front();
    const int yLast = v.first.back() + v.count.back();
    const std::ptrdiff_t tmpStride = static_cast<std::ptrdiff_t>(dst.width) * dst.channels;
    // (With the default box every source row is read; the window only matters for Image.resize's box
    // argument, kept so the code reads like Pillow's.) Not zero-filled: the horizontal pass writes every
    // byte.
    const std::unique_ptr<std::uint8_t[]> tmp(
        new std::uint8_t[static_cast<std::size_t>(tmpStride) * (yLast - yFirst)]);
    const View8 tmpView{tmp.get(), dst.width, yLast - yFirst, dst.channels, tmpStride};
    horizontalPass(src, yFirst, tmpView, bicubicCoeffs(src.width, dst.width));
    verticalPass(ConstView8{tmp.get(), tmpView.width, tmpView.height, tmpView.channels, tmpStride}, yFirst,
                 dst, v);
}

} // namespace uhdlens::pillow
