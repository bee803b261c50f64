// Reference quantizers (see quantize.h). Built with -ffp-contract=off: ggml's reference code computes x * id
// and the + 8.5 / + 0.5 offsets as separate roundings, and a fused multiply-add would move values across the
// truncation boundary.
#include "quant/quantize.h"

#include "quant/dequant.h"
#include "uhdlens/errors.h"

#include <cfloat>
#include <cmath>
#include <string>

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

} // namespace

void quantizeRowQ4_0(const float *x, BlockQ4_0 *y, int64_t n)
{
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const float max = signedAbsMax(x, kQK);
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        for (int j = 0; j < kQK / 2; ++j) {
            const float x0 = x[j] * id, x1 = x[kQK / 2 + j] * id;
            const int q0 = minInt(15, static_cast<int8_t>(x0 + 8.5f));
            const int q1 = minInt(15, static_cast<int8_t>(x1 + 8.5f));
            y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void quantizeRowQ4_1(const float *x, BlockQ4_1 *y, int64_t n)
{
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float min, max;
        minMax(x, kQK, min, max);
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        y[i].m = f32ToFp16(min);
        for (int j = 0; j < kQK / 2; ++j) {
            const float x0 = (x[j] - min) * id, x1 = (x[kQK / 2 + j] - min) * id;
            const int q0 = minInt(15, static_cast<int8_t>(x0 + 0.5f));
            const int q1 = minInt(15, static_cast<int8_t>(x1 + 0.5f));
            y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void quantizeRowQ5_0(const float *x, BlockQ5_0 *y, int64_t n)
{
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const float max = signedAbsMax(x, kQK);
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const float x0 = x[j] * id, x1 = x[kQK / 2 + j] * id;
            const int q0 = minInt(31, static_cast<int8_t>(x0 + 16.5f));
            const int q1 = minInt(31, static_cast<int8_t>(x1 + 16.5f));
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((static_cast<uint32_t>(q0) & 0x10u) >> 4) << j;
            qh |= ((static_cast<uint32_t>(q1) & 0x10u) >> 4) << (j + kQK / 2);
        }
        std::memcpy(y[i].qh, &qh, sizeof qh);
    }
}

void quantizeRowQ5_1(const float *x, BlockQ5_1 *y, int64_t n)
{
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float min, max;
        minMax(x, kQK, min, max);
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        y[i].m = f32ToFp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            const float x0 = (x[j] - min) * id, x1 = (x[kQK / 2 + j] - min) * id;
            const uint32_t q0 = static_cast<uint8_t>(x0 + 0.5f), q1 = static_cast<uint8_t>(x1 + 0.5f);
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + kQK / 2);
        }
        std::memcpy(y[i].qh, &qh, sizeof qh);
    }
}

void quantizeRowQ8_0(const float *x, BlockQ8_0 *y, int64_t n)
{
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j)
            amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        for (int j = 0; j < kQK; ++j)
            y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id)); // roundf: ties away from zero, as ggml
    }
}

void quantizeRowQ8_1(const float *x, BlockQ8_1 *y, int64_t n)
{
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j)
            amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32ToFp16(d);
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].s = f32ToFp16(static_cast<float>(sum) * d);
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

bool canQuantize(GgmlType type)
{
    switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0:
        return true;
    default:
        return false;
    }
}

void quantizeRow(GgmlType type, const float *x, void *dst, int64_t n)
{
    if (!canQuantize(type))
        throw Error(ErrorCode::InvalidArgument,
                    "no quantizer for tensor type " + std::string(ggmlTypeInfo(type).name) +
                        " (UHD Lens writes F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)",
                    std::string(ggmlTypeInfo(type).name));
    rowBytes(type, n); // whole blocks
    switch (type) {
    case GgmlType::F32:
        std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
        return;
    case GgmlType::F16: {
        auto *h = static_cast<uint16_t *>(dst);
        for (int64_t i = 0; i < n; ++i)
            h[i] = f32ToFp16(x[i]);
        return;
    }
    case GgmlType::BF16: {
        // ggml_compute_fp32_to_bf16: NaN made quiet, otherwise round to nearest even.
        auto *b = static_cast<uint16_t *>(dst);
        for (int64_t i = 0; i < n; ++i) {
            const uint32_t u = floatToBits(x[i]);
            b[i] = (u & 0x7fffffffu) > 0x7f800000u
                       ? static_cast<uint16_t>((u >> 16) | 64)
                       : static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
        }
        return;
    }
    case GgmlType::Q4_0:
        return quantizeRowQ4_0(x, static_cast<BlockQ4_0 *>(dst), n);
    case GgmlType::Q4_1:
        return quantizeRowQ4_1(x, static_cast<BlockQ4_1 *>(dst), n);
    case GgmlType::Q5_0:
        return quantizeRowQ5_0(x, static_cast<BlockQ5_0 *>(dst), n);
    case GgmlType::Q5_1:
        return quantizeRowQ5_1(x, static_cast<BlockQ5_1 *>(dst), n);
    case GgmlType::Q8_0:
        return quantizeRowQ8_0(x, static_cast<BlockQ8_0 *>(dst), n);
    default:
        return;
    }
}

} // namespace uhdlens::quant
