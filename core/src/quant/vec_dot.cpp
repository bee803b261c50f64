// Portable dot-product kernels and the run-time dispatch (see vec_dot.h). Each portable kernel is ggml's
// generic ggml_vec_dot_*_q8_* (ggml-cpu/quants.c) restated: exact int32 sums per block (per sub-block scale
// for the K-quants), scaled once per block in f32.
#include "quant/vec_dot.h"

#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/quantize.h"

#include <cstring>

namespace uhdlens::quant {

namespace detail {
// vec_dot_avx2.cpp (built for x86-64 only): nullptr-free dispatch, defined for every type hasAvx2Kernel()
// names.
float vecDotAvx2(GgmlType weightType, const void *weightRow, const void *activation, int64_t n);
} // namespace detail

namespace {

enum class Act
{
    F32,
    Q8_0,
    Q8_1,
    Q8_K
};

Act activationFormat(GgmlType t)
{
    switch (t) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0:
        return Act::Q8_0;
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
        return Act::Q8_1;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
        return Act::Q8_K;
    default:
        return Act::F32;
    }
}

float dotF32(const float *w, const float *x, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += w[i] * x[i];
    return s;
}

float dotF16(const uint16_t *w, const float *x, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += fp16ToF32(w[i]) * x[i];
    return s;
}

float dotBf16(const uint16_t *w, const float *x, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += bf16ToF32(w[i]) * x[i];
    return s;
}

float dotQ4_0(const BlockQ4_0 *x, const BlockQ8_0 *y, int64_t nb)
{
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int sumi = 0;
        for (int j = 0; j < kQK / 2; ++j)
            sumi += ((x[i].qs[j] & 0x0F) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + kQK / 2];
        sumf += static_cast<float>(sumi) * (fp16ToF32(x[i].d) * fp16ToF32(y[i].d));
    }
    return sumf;
}

float dotQ4_1(const BlockQ4_1 *x, const BlockQ8_1 *y, int64_t nb)
{
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int sumi = 0;
        for (int j = 0; j < kQK / 2; ++j)
            sumi += (x[i].qs[j] & 0x0F) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + kQK / 2];
        sumf += (fp16ToF32(x[i].d) * fp16ToF32(y[i].d)) * static_cast<float>(sumi) +
                fp16ToF32(x[i].m) * fp16ToF32(y[i].s);
    }
    return sumf;
}

float dotQ5_0(const BlockQ5_0 *x, const BlockQ8_0 *y, int64_t nb)
{
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, sizeof qh);
        int sumi = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            sumi += (((x[i].qs[j] & 0x0F) | h0) - 16) * y[i].qs[j] +
                    (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + kQK / 2];
        }
        sumf += static_cast<float>(sumi) * (fp16ToF32(x[i].d) * fp16ToF32(y[i].d));
    }
    return sumf;
}

float dotQ5_1(const BlockQ5_1 *x, const BlockQ8_1 *y, int64_t nb)
{
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, sizeof qh);
        int sumi = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            sumi += ((x[i].qs[j] & 0x0F) | h0) * y[i].qs[j] + ((x[i].qs[j] >> 4) | h1) * y[i].qs[j + kQK / 2];
        }
        sumf += (fp16ToF32(x[i].d) * fp16ToF32(y[i].d)) * static_cast<float>(sumi) +
                fp16ToF32(x[i].m) * fp16ToF32(y[i].s);
    }
    return sumf;
}

float dotQ8_0(const BlockQ8_0 *x, const BlockQ8_0 *y, int64_t nb)
{
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int sumi = 0;
        for (int j = 0; j < kQK; ++j)
            sumi += x[i].qs[j] * y[i].qs[j];
        sumf += static_cast<float>(sumi) * (fp16ToF32(x[i].d) * fp16ToF32(y[i].d));
    }
    return sumf;
}

// Q4_K / Q5_K: value = d * sc * q - dmin * m per 32-element sub-block, so a super-block contributes
// d * sum_j(sc_j * <q, q8>_j) - dmin * sum_j(m_j * sum(q8)_j); the q8 sums come from the Q8_K block's bsums.
template <bool Five, typename Block> float dotQ45_K(const Block *x, const BlockQ8_K *y, int64_t nb)
{
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t *q = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            unpackScaleMinK4(j, x[i].scales, sc, m);
            const int shift =
                (j & 1) * 4; // even sub-blocks: low nibbles of 32 bytes, odd: their high nibbles
            const uint8_t *qj = q + (j / 2) * 32;
            int s = 0;
            for (int l = 0; l < 32; ++l) {
                int v = (qj[l] >> shift) & 0xF;
                if constexpr (Five)
                    v += (x[i].qh[l] >> j) & 1 ? 16 : 0;
                s += v * q8[j * 32 + l];
            }
            sumi += sc * s;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        const float d = y[i].d * fp16ToF32(x[i].d), dmin = y[i].d * fp16ToF32(x[i].dmin);
        sumf += d * static_cast<float>(sumi) - dmin * static_cast<float>(summ);
    }
    return sumf;
}

float dotQ6_K(const BlockQ6_K *x, const BlockQ8_K *y, int64_t nb)
{
    float sumf = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int8_t q[kQKK];
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        for (int n = 0; n < kQKK; n += 128, ql += 64, qh += 32)
            for (int l = 0; l < 32; ++l) {
                q[n + l + 0] = static_cast<int8_t>(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[n + l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[n + l + 64] = static_cast<int8_t>(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[n + l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        int sumi = 0;
        for (int g = 0; g < kQKK / 16; ++g) {
            int s = 0;
            for (int l = 0; l < 16; ++l)
                s += q[g * 16 + l] * y[i].qs[g * 16 + l];
            sumi += x[i].scales[g] * s;
        }
        sumf += (y[i].d * fp16ToF32(x[i].d)) * static_cast<float>(sumi);
    }
    return sumf;
}

float vecDotPortable(GgmlType t, const void *w, const void *a, int64_t n)
{
    const int64_t nb32 = n / kQK, nbK = n / kQKK;
    const auto *q8_0 = static_cast<const BlockQ8_0 *>(a);
    const auto *q8_1 = static_cast<const BlockQ8_1 *>(a);
    const auto *q8_K = static_cast<const BlockQ8_K *>(a);
    switch (t) {
    case GgmlType::F32:
        return dotF32(static_cast<const float *>(w), static_cast<const float *>(a), n);
    case GgmlType::F16:
        return dotF16(static_cast<const uint16_t *>(w), static_cast<const float *>(a), n);
    case GgmlType::BF16:
        return dotBf16(static_cast<const uint16_t *>(w), static_cast<const float *>(a), n);
    case GgmlType::Q4_0:
        return dotQ4_0(static_cast<const BlockQ4_0 *>(w), q8_0, nb32);
    case GgmlType::Q4_1:
        return dotQ4_1(static_cast<const BlockQ4_1 *>(w), q8_1, nb32);
    case GgmlType::Q5_0:
        return dotQ5_0(static_cast<const BlockQ5_0 *>(w), q8_0, nb32);
    case GgmlType::Q5_1:
        return dotQ5_1(static_cast<const BlockQ5_1 *>(w), q8_1, nb32);
    case GgmlType::Q8_0:
        return dotQ8_0(static_cast<const BlockQ8_0 *>(w), q8_0, nb32);
    case GgmlType::Q4_K:
        return dotQ45_K<false>(static_cast<const BlockQ4_K *>(w), q8_K, nbK);
    case GgmlType::Q5_K:
        return dotQ45_K<true>(static_cast<const BlockQ5_K *>(w), q8_K, nbK);
    case GgmlType::Q6_K:
        return dotQ6_K(static_cast<const BlockQ6_K *>(w), q8_K, nbK);
    default:
        requireSupported(t); // throws for the unsupported; a supported type without a kernel is a bug
        return 0;
    }
}

} // namespace

int64_t activationRowBytes(GgmlType weightType, int64_t n)
{
    rowBytes(weightType, n); // validates type and block multiple
    switch (activationFormat(weightType)) {
    case Act::Q8_0:
        return n / kQK * static_cast<int64_t>(sizeof(BlockQ8_0));
    case Act::Q8_1:
        return n / kQK * static_cast<int64_t>(sizeof(BlockQ8_1));
    case Act::Q8_K:
        return n / kQKK * static_cast<int64_t>(sizeof(BlockQ8_K));
    case Act::F32:
        break;
    }
    return n * static_cast<int64_t>(sizeof(float));
}

void quantizeActivation(GgmlType weightType, const float *x, void *dst, int64_t n)
{
    rowBytes(weightType, n);
    switch (activationFormat(weightType)) {
    case Act::Q8_0:
        return quantizeRowQ8_0(x, static_cast<BlockQ8_0 *>(dst), n);
    case Act::Q8_1:
        return quantizeRowQ8_1(x, static_cast<BlockQ8_1 *>(dst), n);
    case Act::Q8_K:
        return quantizeRowQ8_K(x, static_cast<BlockQ8_K *>(dst), n);
    case Act::F32:
        std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
        return;
    }
}

bool cpuHasAvx2Kernels()
{
#if defined(__x86_64__)
    static const bool has =
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    return has;
#else
    return false;
#endif
}

bool hasAvx2Kernel(GgmlType weightType)
{
#if defined(__x86_64__)
    switch (weightType) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q8_0:
    case GgmlType::Q4_K:
    case GgmlType::Q6_K:
        return true;
    default:
        return false;
    }
#else
    (void)weightType;
    return false;
#endif
}

float vecDot(GgmlType weightType, const void *weightRow, const void *activation, int64_t n, bool portable)
{
#if defined(__x86_64__)
    if (!portable && cpuHasAvx2Kernels() && hasAvx2Kernel(weightType))
        return detail::vecDotAvx2(weightType, weightRow, activation, n);
#else
    (void)portable;
#endif
    return vecDotPortable(weightType, weightRow, activation, n);
}

void dotRows(GgmlType weightType, const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
             const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y, int64_t ldy,
             bool portable)
{
    const bool avx2 = !portable && cpuHasAvx2Kernels() && hasAvx2Kernel(weightType);
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t *w = weights + r * wRowBytes;
        for (int64_t i = 0; i < m; ++i) {
            const uint8_t *a = activations + i * aRowBytes;
#if defined(__x86_64__)
            y[i * ldy + r] =
                avx2 ? detail::vecDotAvx2(weightType, w, a, n) : vecDotPortable(weightType, w, a, n);
#else
            (void)avx2;
            y[i * ldy + r] = vecDotPortable(weightType, w, a, n);
#endif
        }
    }
}

} // namespace uhdlens::quant
