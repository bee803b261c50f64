// Mixed-precision linear (see mixed_linear.h): bf16 weights, f32 activations and arithmetic.
#include "mixed_linear.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define UHDLENS_X86 1
#endif

namespace uhdlens::nn {

namespace {

// Weight rows per tile and the K block widened into a stack buffer before it is used by every input row.
constexpr int64_t kTileRows = 4;
constexpr int64_t kBlock = 256;

inline float bf16ToFloat(std::uint16_t v)
{
    const std::uint32_t bits = static_cast<std::uint32_t>(v) << 16; // bf16 is the high half of an f32: exact
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

struct SmallGemm
{
    const float *x;        // [M, K]
    const std::uint16_t *w; // [N, K] bf16 bits
    const float *bias;     // [N] or nullptr
    float *y;              // [M, N]
    int64_t m, n, k;
};

// Rows [r0, r1) of W against every input row. Portable version (also the reference in the unit test's sense:
// the same blocking, scalar arithmetic).
void rowsPortable(const SmallGemm &g, int64_t r0, int64_t r1)
{
    float wide[kTileRows * kBlock];
    float acc[kMixedSmallRows * kTileRows];
    for (int64_t n = r0; n < r1; n += kTileRows) {
        const int64_t rows = std::min(kTileRows, r1 - n);
        std::fill(acc, acc + g.m * kTileRows, 0.0f);
        for (int64_t k0 = 0; k0 < g.k; k0 += kBlock) {
            const int64_t len = std::min(kBlock, g.k - k0);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t j = 0; j < len; ++j)
                    wide[r * kBlock + j] = bf16ToFloat(g.w[(n + r) * g.k + k0 + j]);
            for (int64_t i = 0; i < g.m; ++i) {
                const float *xi = g.x + i * g.k + k0;
                for (int64_t r = 0; r < rows; ++r) {
                    float s = 0;
                    for (int64_t j = 0; j < len; ++j)
                        s += xi[j] * wide[r * kBlock + j];
                    acc[i * kTileRows + r] += s;
                }
            }
        }
        for (int64_t i = 0; i < g.m; ++i)
            for (int64_t r = 0; r < rows; ++r)
                g.y[i * g.n + n + r] = acc[i * kTileRows + r] + (g.bias ? g.bias[n + r] : 0.0f);
    }
}

#ifdef UHDLENS_X86
__attribute__((target("avx2,fma"))) inline float horizontalSum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// Same blocking as rowsPortable with 8-wide FMA: a tile of 4 weight rows is widened block by block
// (zero-extend the 16-bit lanes to 32 bits, shift left by 16) into L1, then each input row accumulates four dot
// products in registers. For M = 1 this streams the weights once at memory speed, half the bytes of f32.
__attribute__((target("avx2,fma"))) void rowsAvx2(const SmallGemm &g, int64_t r0, int64_t r1)
{
    alignas(32) float wide[kTileRows * kBlock];
    alignas(32) float tail[kTileRows * kBlock];
    __m256 acc[kMixedSmallRows * kTileRows];
    for (int64_t n = r0; n < r1; n += kTileRows) {
        const int64_t rows = std::min(kTileRows, r1 - n);
        for (int64_t i = 0; i < g.m * kTileRows; ++i)
            acc[i] = _mm256_setzero_ps();
        float scalarAcc[kMixedSmallRows * kTileRows] = {};
        for (int64_t k0 = 0; k0 < g.k; k0 += kBlock) {
            const int64_t len = std::min(kBlock, g.k - k0);
            const int64_t len8 = len & ~int64_t(7);
            for (int64_t r = 0; r < kTileRows; ++r) {
                // Rows past the end of a short tile widen row 0 again (results discarded) to keep the loop simple.
                const std::uint16_t *src = g.w + (n + (r < rows ? r : 0)) * g.k + k0;
                for (int64_t j = 0; j < len8; j += 8) {
                    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + j));
                    _mm256_store_ps(wide + r * kBlock + j, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
                }
                for (int64_t j = len8; j < len; ++j)
                    tail[r * kBlock + j] = bf16ToFloat(src[j]);
            }
            for (int64_t i = 0; i < g.m; ++i) {
                const float *xi = g.x + i * g.k + k0;
                __m256 a0 = acc[i * kTileRows + 0], a1 = acc[i * kTileRows + 1];
                __m256 a2 = acc[i * kTileRows + 2], a3 = acc[i * kTileRows + 3];
                for (int64_t j = 0; j < len8; j += 8) {
                    const __m256 xv = _mm256_loadu_ps(xi + j);
                    a0 = _mm256_fmadd_ps(_mm256_load_ps(wide + 0 * kBlock + j), xv, a0);
                    a1 = _mm256_fmadd_ps(_mm256_load_ps(wide + 1 * kBlock + j), xv, a1);
                    a2 = _mm256_fmadd_ps(_mm256_load_ps(wide + 2 * kBlock + j), xv, a2);
                    a3 = _mm256_fmadd_ps(_mm256_load_ps(wide + 3 * kBlock + j), xv, a3);
                }
                acc[i * kTileRows + 0] = a0;
                acc[i * kTileRows + 1] = a1;
                acc[i * kTileRows + 2] = a2;
                acc[i * kTileRows + 3] = a3;
                for (int64_t j = len8; j < len; ++j)
                    for (int64_t r = 0; r < kTileRows; ++r)
                        scalarAcc[i * kTileRows + r] += xi[j] * tail[r * kBlock + j];
            }
        }
        for (int64_t i = 0; i < g.m; ++i)
            for (int64_t r = 0; r < rows; ++r)
                g.y[i * g.n + n + r] = horizontalSum(acc[i * kTileRows + r]) + scalarAcc[i * kTileRows + r] +
                                       (g.bias ? g.bias[n + r] : 0.0f);
    }
}

bool cpuHasAvx2Fma()
{
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}
#endif

torch::Tensor smallRows(const torch::Tensor &x2d, const torch::Tensor &weight, const torch::Tensor &bias, bool portable)
{
    const torch::Tensor x = x2d.contiguous();
    const torch::Tensor w = weight.contiguous();
    const torch::Tensor b = bias.defined() ? bias.to(torch::kFloat32).contiguous() : bias;
    const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
    torch::Tensor y = torch::empty({m, n}, x.options());
    SmallGemm g{x.data_ptr<float>(), reinterpret_cast<const std::uint16_t *>(w.data_ptr<at::BFloat16>()),
                b.defined() ? b.data_ptr<float>() : nullptr, y.data_ptr<float>(), m, n, k};
    void (*rows)(const SmallGemm &, int64_t, int64_t) = rowsPortable;
#ifdef UHDLENS_X86
    if (!portable && cpuHasAvx2Fma())
        rows = rowsAvx2;
#else
    (void)portable;
#endif
    // Tiles of 4 weight rows split across the intra-op threads; ~64 KB of weights per task at least.
    const int64_t tiles = (n + kTileRows - 1) / kTileRows;
    const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, k));
    at::parallel_for(0, tiles, grain, [&](int64_t t0, int64_t t1) {
        rows(g, t0 * kTileRows, std::min(n, t1 * kTileRows));
    });
    return y;
}

} // namespace

torch::Tensor linearBf16Weight(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias,
                               bool portableKernel)
{
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kBFloat16 && weight.dim() == 2,
                "linearBf16Weight: expects float32 input and a 2-D bfloat16 weight");
    const int64_t k = weight.size(1), n = weight.size(0);
    TORCH_CHECK(x.size(-1) == k, "linearBf16Weight: input width ", x.size(-1), " != weight width ", k);
    const bool autograd = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() ||
                                                         (bias.defined() && bias.requires_grad()));
    if (autograd || !x.device().is_cpu())
        return at::linear(x, weight.to(x.scalar_type()), bias.defined() ? bias.to(x.scalar_type()) : bias);

    const int64_t m = k > 0 ? x.numel() / k : 0;
    std::vector<int64_t> outShape = x.sizes().vec();
    outShape.back() = n;
    if (m == 0 || k == 0)
        return at::linear(x, weight.to(torch::kFloat32), bias.defined() ? bias.to(torch::kFloat32) : bias);
    if (m <= kMixedSmallRows)
        return smallRows(x.reshape({m, k}), weight, bias, portableKernel).view(outShape);

    // Many rows: widen the weight (in blocks of <= 16M elements = 64 MB of f32, so only a vocabulary-sized matrix
    // is split) and use libtorch's f32 GEMM at full size. Measured on real MiniCPM-V shapes: widening ~4 MB
    // blocks instead (to keep them in cache) made the GEMMs so much less efficient that a slice took 15.2 s
    // against 9.5 s in f32; widening a whole 5M-element matrix costs ~6 ms against ~63 ms for its 1024-row GEMM.
    const torch::Tensor b = bias.defined() ? bias.to(torch::kFloat32) : bias;
    const int64_t rowsPerBlock = std::max<int64_t>(16, (int64_t(16) << 20) / k);
    if (n <= rowsPerBlock)
        return at::linear(x, weight.to(torch::kFloat32), b);
    std::vector<torch::Tensor> parts;
    for (int64_t r = 0; r < n; r += rowsPerBlock) {
        const int64_t len = std::min(rowsPerBlock, n - r);
        parts.push_back(at::linear(x, weight.narrow(0, r, len).to(torch::kFloat32), b.defined() ? b.narrow(0, r, len) : b));
    }
    return torch::cat(parts, -1);
}

torch::Tensor embeddingAs(const torch::Tensor &table, const torch::Tensor &ids, torch::Dtype dtype)
{
    auto e = at::embedding(table, ids);
    return e.scalar_type() == dtype ? e : e.to(dtype);
}

torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias)
{
    if (weight.scalar_type() == x.scalar_type())
        return at::linear(x, weight, bias);
    if (weight.scalar_type() == torch::kBFloat16 && x.scalar_type() == torch::kFloat32)
        return linearBf16Weight(x, weight, bias);
    return at::linear(x, weight.to(x.scalar_type()), bias.defined() ? bias.to(x.scalar_type()) : bias);
}

} // namespace uhdlens::nn
