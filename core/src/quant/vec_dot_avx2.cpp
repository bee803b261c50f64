// AVX2/FMA/F16C dot-product kernels (see vec_dot.h), after ggml's x86 kernels (ggml-cpu/arch/x86/quants.c:
// ggml_vec_dot_q4_0_q8_0, _q4_1_q8_1, _q8_0_q8_0, _q4_K_q8_K, _q6_K_q8_K): int8 x int8 products with
// _mm256_maddubs_epi16 (unsigned x signed bytes -> int16 pair sums; the sign of one operand is moved onto the
// other with _mm256_sign_epi8 where both are signed), _mm256_madd_epi16 to int32, one f32 multiply-add per
// block. No int16 pair sum can saturate: |q8| <= 127 by construction of the activation quantizers, weights
// are 4 to 8 bits.
//
// Compiled for every x86-64 target: the functions carry the "avx2,fma,f16c" target through the pragma below
// and are only called after vec_dot.cpp's cpuHasAvx2Kernels() said yes. Nothing before the pragma is inline
// code of this file, and no template or inline function is defined after it, so no AVX2 instruction can leak
// into code that runs on an older CPU through the linker's choice of one inline copy.
#include "quant/blocks.h"

#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace uhdlens::quant::detail {

namespace {

float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

float loadHalf(uint16_t h)
{
    return _cvtsh_ss(h);
}

// 32 nibbles of 16 bytes as 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31 (ggml's block
// order).
__m256i nibbles32(const uint8_t *p)
{
    const __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    const __m256i bytes = _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp);
    return _mm256_and_si256(bytes, _mm256_set1_epi8(0x0F));
}

// Sum of pairs of int16 lanes as 8 int32.
__m256i pairSums(__m256i x)
{
    return _mm256_madd_epi16(_mm256_set1_epi16(1), x);
}

// Per-32-bit-lane sums of u8 * s8 products (ax unsigned, sy signed).
__m256i dotUs8(__m256i ax, __m256i sy)
{
    return pairSums(_mm256_maddubs_epi16(ax, sy));
}

// Per-32-bit-lane sums of s8 * s8 products: |x| times (y with x's sign).
__m256i dotS8(__m256i x, __m256i y)
{
    return dotUs8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// Q4_0, Q4_1, Q8_0 against Q8_0 / Q8_1 activations (ggml_vec_dot_q4_0_q8_0, _q4_1_q8_1, _q8_0_q8_0): per
// block, the exact integer dot of the 32 quants, then one f32 multiply-add with d_x * d_y; Q4_1 adds m_x *
// s_y.
// Q4_0, Q4_1, Q8_0 against Q8_0 / Q8_1 activations (ggml_vec_dot_q4_0_q8_0, _q4_1_q8_1, _q8_0_q8_0): per
// block, the exact integer dot of the 32 quants (8 int32 lanes), then one f32 multiply-add with d_x * d_y;
// Q4_1 adds m_x * s_y.
template <typename Block, typename ActBlock> __m256i blockDot(const Block &x, const ActBlock &y, float &summs)
{
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(y.qs));
    if constexpr (std::is_same_v<Block, BlockQ8_0>) {
        return dotS8(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(x.qs)), qy);
    } else if constexpr (std::is_same_v<Block, BlockQ4_0>) {
        return dotS8(_mm256_sub_epi8(nibbles32(x.qs), _mm256_set1_epi8(8)), qy);
    } else { // Q4_1: unsigned nibbles, the minimum through the activation's s = d * sum(q)
        summs += loadHalf(x.m) * loadHalf(y.s);
        return dotUs8(nibbles32(x.qs), qy);
    }
}

template <typename Block, typename ActBlock> float dotLegacy(const void *w, const void *a, int64_t n)
{
    const auto *x = static_cast<const Block *>(w);
    const auto *y = static_cast<const ActBlock *>(a);
    const int64_t nb = n / kQK;
    // Two independent accumulators (two blocks per step) so consecutive multiply-adds do not wait on each
    // other.
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float summs = 0;
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m256i p0 = blockDot(x[i], y[i], summs), p1 = blockDot(x[i + 1], y[i + 1], summs);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(loadHalf(x[i].d) * loadHalf(y[i].d)), _mm256_cvtepi32_ps(p0),
                               acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(loadHalf(x[i + 1].d) * loadHalf(y[i + 1].d)),
                               _mm256_cvtepi32_ps(p1), acc1);
    }
    if (i < nb)
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(loadHalf(x[i].d) * loadHalf(y[i].d)),
                               _mm256_cvtepi32_ps(blockDot(x[i], y[i], summs)), acc0);
    return hsum(_mm256_add_ps(acc0, acc1)) + summs;
}

} // namespace

// The kernels vec_dot.cpp's table names (DotFn: weight row, prepared activation row, elements).
float dotQ4_0Avx2(const void *w, const void *a, int64_t n)
{
    return dotLegacy<BlockQ4_0, BlockQ8_0>(w, a, n);
}
float dotQ4_1Avx2(const void *w, const void *a, int64_t n)
{
    return dotLegacy<BlockQ4_1, BlockQ8_1>(w, a, n);
}
float dotQ8_0Avx2(const void *w, const void *a, int64_t n)
{
    return dotLegacy<BlockQ8_0, BlockQ8_0>(w, a, n);
}

float dotQ4_KAvx2(const void *w, const void *a, int64_t n)
{
    const auto *x = static_cast<const BlockQ4_K *>(w);
    const auto *y = static_cast<const BlockQ8_K *>(a);
    const int64_t nb = n / kQKK;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    float accMin = 0;
    for (int64_t i = 0; i < nb; ++i) {
        uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; ++j)
            unpackScaleMinK4(j, x[i].k.scales, sc[j], mn[j]);
        // Minimums: sum_j m_j * (bsums[2j] + bsums[2j+1]) with one 16-bit multiply-add.
        const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(y[i].bsums));
        const __m128i q8s = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(mn)));
        __m128i prod = _mm_madd_epi16(mins, q8s);
        prod = _mm_add_epi32(prod, _mm_unpackhi_epi64(prod, prod));
        prod = _mm_add_epi32(prod, _mm_shuffle_epi32(prod, 1));
        accMin += (y[i].d * loadHalf(x[i].k.dmin)) * static_cast<float>(_mm_cvtsi128_si32(prod));

        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j, q4 += 32, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(q4));
            const __m256i lo = _mm256_and_si256(bits, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(q8));
            const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(q8 + 32));
            const __m256i p0 = _mm256_madd_epi16(_mm256_set1_epi16(sc[2 * j]), _mm256_maddubs_epi16(lo, y0));
            const __m256i p1 =
                _mm256_madd_epi16(_mm256_set1_epi16(sc[2 * j + 1]), _mm256_maddubs_epi16(hi, y1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * loadHalf(x[i].k.d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc) - accMin;
}

float dotQ6_KAvx2(const void *w, const void *a, int64_t n)
{
    const auto *x = static_cast<const BlockQ6_K *>(w);
    const auto *y = static_cast<const BlockQ8_K *>(a);
    const int64_t nb = n / kQKK;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3), m32 = _mm256_set1_epi8(32);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs, *sc = x[i].scales;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 2; ++j, ql += 64, qh += 32, q8 += 128, sc += 8) {
            const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(ql));
            const __m256i b2 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(ql + 32));
            const __m256i bh = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(qh));
            // The four 32-element groups of this half: low 4 bits | 2 high bits << 4, unsigned 0..63.
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_slli_epi16(_mm256_and_si256(bh, m2), 4)),
                _mm256_or_si256(_mm256_and_si256(b2, m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 2), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 4), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 6), m2), 4)),
            };
            for (int g = 0; g < 4; ++g) {
                const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(q8 + 32 * g));
                // (q - 32) * y = q * y - 32 * y, both as unsigned x signed pair sums.
                const __m256i p =
                    _mm256_sub_epi16(_mm256_maddubs_epi16(q[g], yv), _mm256_maddubs_epi16(m32, yv));
                // int16 lanes 0..7 hold elements 0..15 of the group (scale sc[2g]), lanes 8..15 the rest.
                const __m256i scale =
                    _mm256_set_m128i(_mm_set1_epi16(sc[2 * g + 1]), _mm_set1_epi16(sc[2 * g]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scale, p));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * loadHalf(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc);
}

namespace {

// 8 f32 / f16 / bf16 values as f32.
__m256 loadF32(const float *p)
{
    return _mm256_loadu_ps(p);
}
__m256 widenF16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}
__m256 widenBf16(const uint16_t *p)
{
    const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
}
float scalarF32(float f)
{
    return f;
}
float scalarF16(uint16_t h)
{
    return loadHalf(h);
}
float scalarBf16(uint16_t h)
{
    return bitsToFloat(static_cast<uint32_t>(h) << 16);
}

// Internal linkage (anonymous namespace): the AVX2 instantiations cannot be merged with any other copy.
template <typename T, __m256 (*Widen)(const T *), float (*Scalar)(T)>
float dotWide(const void *wv, const void *xv, int64_t n)
{
    const auto *w = static_cast<const T *>(wv);
    const auto *x = static_cast<const float *>(xv);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(Widen(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(Widen(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum(_mm256_add_ps(a0, a1));
    for (; i < n; ++i)
        s += Scalar(w[i]) * x[i];
    return s;
}

} // namespace

float dotF32Avx2(const void *w, const void *a, int64_t n)
{
    return dotWide<float, loadF32, scalarF32>(w, a, n);
}
float dotF16Avx2(const void *w, const void *a, int64_t n)
{
    return dotWide<uint16_t, widenF16, scalarF16>(w, a, n);
}
float dotBf16Avx2(const void *w, const void *a, int64_t n)
{
    return dotWide<uint16_t, widenBf16, scalarBf16>(w, a, n);
}

} // namespace uhdlens::quant::detail

#pragma GCC pop_options

#endif // __x86_64__
