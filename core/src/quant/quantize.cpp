// Reference quantizers (see quantize.h). Built with -ffp-contract=off: ggml's reference code computes x * id
// and the + 8.5 / + 0.5 offsets as separate roundings, and a fused multiply-add would move values across the
// truncation boundary.
#include "quant/quantize.h"

#include "quant/dequant.h"
#include "uhdlens/errors.h"

#include <cfloat>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>

namespace uhdlens::quant {

namespace {

// The value of largest magnitude (its sign kept), first one on ties: ggml's `if (amax < fabsf(v))` loop.
float signedAbsMax(const float *x, int n)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; ++j)
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    return max;
}

void minMax(const float *x, int n, float &min, float &max)
{
    min = FLT_MAX;
    max = -FLT_MAX;
    for (int j = 0; j < n; ++j) {
        if (x[j] < min)
            min = x[j];
        if (x[j] > max)
            max = x[j];
    }
}

inline int minInt(int a, int b)
{
    return a < b ? a : b;
}

// Packs 32 quants (0..31) into a legacy block: low nibbles into qs, for the 5-bit types the fifth bits into
// qh.
template <typename Block> void pack(const int *q, Block &y)
{
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
        y.qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + kQK / 2] & 0x0F) << 4));
        qh |= ((static_cast<uint32_t>(q[j]) & 0x10u) >> 4) << j;
        qh |= ((static_cast<uint32_t>(q[j + kQK / 2]) & 0x10u) >> 4) << (j + kQK / 2);
    }
    if constexpr (!std::is_same_v<Block, BlockQ4_0> && !std::is_same_v<Block, BlockQ4_1>)
        std::memcpy(y.qh, &qh, sizeof qh);
}

// Q4_0 / Q5_0 (ggml quantize_row_q4_0_ref / q5_0_ref): d = max / -2^(bits-1) with max the signed value of
// largest magnitude, q = min(2^bits - 1, (int8_t)(x / d + 2^(bits-1) + 0.5)).
template <typename Block, int Bits> void quantizeSymmetric(const float *x, Block *y, int64_t n)
{
    constexpr int half = 1 << (Bits - 1);
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const float d = signedAbsMax(x, kQK) / -half;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        for (int j = 0; j < kQK; ++j)
            q[j] = minInt(2 * half - 1, static_cast<int8_t>(x[j] * id + (half + 0.5f)));
        pack(q, y[i]);
    }
}

// Q4_1 / Q5_1 (ggml quantize_row_q4_1_ref / q5_1_ref): d = (max - min) / (2^bits - 1), m = min,
// q = min(2^bits - 1, (int)((x - min) / d + 0.5)).
template <typename Block, int Bits> void quantizeWithMin(const float *x, Block *y, int64_t n)
{
    constexpr int top = (1 << Bits) - 1;
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float min, max;
        minMax(x, kQK, min, max);
        const float d = (max - min) / top;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        y[i].m = f32ToFp16(min);
        for (int j = 0; j < kQK; ++j)
            q[j] = minInt(top, static_cast<uint8_t>((x[j] - min) * id + 0.5f));
        pack(q, y[i]);
    }
}

// One block of 8-bit quants (ggml quantize_row_q8_0_ref): d = amax / 127, q = roundf(x / d) (ties away from
// zero). Returns the f32 d; sum: the sum of the quants.
float quantize8(const float *x, int8_t *qs, int &sum)
{
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j)
        amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    sum = 0;
    for (int j = 0; j < kQK; ++j) {
        qs[j] = static_cast<int8_t>(std::round(x[j] * id));
        sum += qs[j];
    }
    return d;
}

} // namespace

void quantizeRowQ4_0(const float *x, BlockQ4_0 *y, int64_t n)
{
    quantizeSymmetric<BlockQ4_0, 4>(x, y, n);
}
void quantizeRowQ5_0(const float *x, BlockQ5_0 *y, int64_t n)
{
    quantizeSymmetric<BlockQ5_0, 5>(x, y, n);
}
void quantizeRowQ4_1(const float *x, BlockQ4_1 *y, int64_t n)
{
    quantizeWithMin<BlockQ4_1, 4>(x, y, n);
}
void quantizeRowQ5_1(const float *x, BlockQ5_1 *y, int64_t n)
{
    quantizeWithMin<BlockQ5_1, 5>(x, y, n);
}

void quantizeRowQ8_0(const float *x, BlockQ8_0 *y, int64_t n)
{
    int sum;
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK)
        y[i].d = f32ToFp16(quantize8(x, y[i].qs, sum));
}

void quantizeRowQ8_1(const float *x, BlockQ8_1 *y, int64_t n)
{
    int sum;
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const float d = quantize8(x, y[i].qs, sum);
        y[i].d = f32ToFp16(d);
        y[i].s = f32ToFp16(static_cast<float>(sum) * d); // ggml: sum * d with the f32 d
    }
}

void quantizeRowQ8_K(const float *x, BlockQ8_K *y, int64_t n)
{
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        const float max = signedAbsMax(x, kQKK);
        if (max == 0.0f) {
            y[i].d = 0.0f;
            std::memset(y[i].qs, 0, sizeof y[i].qs);
            std::memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        // ggml uses -127 (not -128) so that |q| <= 127: the sign trick of the int8 x int8 products needs it.
        const float iscale = -127.0f / max;
        for (int j = 0; j < kQKK; ++j)
            y[i].qs[j] = static_cast<int8_t>(minInt(127, nearestInt(iscale * x[j])));
        for (int j = 0; j < kQKK / 16; ++j) {
            int sum = 0;
            for (int l = 0; l < 16; ++l)
                sum += y[i].qs[j * 16 + l];
            y[i].bsums[j] = static_cast<int16_t>(sum);
        }
        y[i].d = 1.0f / iscale;
    }
}

namespace {

void writeF32(const float *x, void *dst, int64_t n)
{
    std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
}

void writeF16(const float *x, void *dst, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        static_cast<uint16_t *>(dst)[i] = f32ToFp16(x[i]);
}

// ggml_compute_fp32_to_bf16: NaN made quiet, otherwise round to nearest even.
void writeBf16(const float *x, void *dst, int64_t n)
{
    for (int64_t i = 0; i < n; ++i) {
        const uint32_t u = floatToBits(x[i]);
        static_cast<uint16_t *>(dst)[i] =
            (u & 0x7fffffffu) > 0x7f800000u ? static_cast<uint16_t>((u >> 16) | 64)
                                            : static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
    }
}

template <typename Block, void (*Quantize)(const float *, Block *, int64_t)>
void writeBlocks(const float *x, void *dst, int64_t n)
{
    Quantize(x, static_cast<Block *>(dst), n);
}

// The types quantizeRow writes, each with its writer.
using WriteFn = void (*)(const float *, void *, int64_t);
constexpr std::pair<GgmlType, WriteFn> kWriters[] = {
    {GgmlType::Q4_0, writeBlocks<BlockQ4_0, quantizeRowQ4_0>},
    {GgmlType::Q4_1, writeBlocks<BlockQ4_1, quantizeRowQ4_1>},
    {GgmlType::Q5_0, writeBlocks<BlockQ5_0, quantizeRowQ5_0>},
    {GgmlType::Q5_1, writeBlocks<BlockQ5_1, quantizeRowQ5_1>},
    {GgmlType::Q8_0, writeBlocks<BlockQ8_0, quantizeRowQ8_0>},
    {GgmlType::F32, writeF32},
    {GgmlType::F16, writeF16},
    {GgmlType::BF16, writeBf16},
};

} // namespace

bool canQuantize(GgmlType type)
{
    for (const auto &[t, write] : kWriters)
        if (t == type)
            return true;
    return false;
}

void quantizeRow(GgmlType type, const float *x, void *dst, int64_t n)
{
    for (const auto &[t, write] : kWriters)
        if (t == type) {
            rowBytes(type, n); // whole blocks
            return write(x, dst, n);
        }
    throw Error(ErrorCode::InvalidArgument,
                "no quantizer for tensor type " + std::string(ggmlTypeInfo(type).name) +
                    " (UHD Lens writes F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)",
                std::string(ggmlTypeInfo(type).name));
}

} // namespace uhdlens::quant
