// Dequantization to f32 (see dequant.h). Each block function is ggml's dequantize_row_*_ref loop body; the
// products and sums are written in ggml's order and the file is built with -ffp-contract=off, so no
// multiply-add is fused and every value is bit-identical to ggml's and gguf-py's.
#include "quant/dequant.h"

#include "quant/blocks.h"
#include "uhdlens/errors.h"

namespace uhdlens::quant {

namespace {

void rowQ4_0(const BlockQ4_0 *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i, y += kQK) {
        const float d = fp16ToF32(x[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + kQK / 2] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void rowQ4_1(const BlockQ4_1 *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i, y += kQK) {
        const float d = fp16ToF32(x[i].d), m = fp16ToF32(x[i].m);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>(x[i].qs[j] & 0x0F) * d + m;
            y[j + kQK / 2] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
        }
    }
}

void rowQ5_0(const BlockQ5_0 *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i, y += kQK) {
        const float d = fp16ToF32(x[i].d);
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, sizeof qh);
        for (int j = 0; j < kQK / 2; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            y[j] = static_cast<float>(((x[i].qs[j] & 0x0F) | h0) - 16) * d;
            y[j + kQK / 2] = static_cast<float>(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void rowQ5_1(const BlockQ5_1 *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i, y += kQK) {
        const float d = fp16ToF32(x[i].d), m = fp16ToF32(x[i].m);
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, sizeof qh);
        for (int j = 0; j < kQK / 2; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            y[j] = static_cast<float>((x[i].qs[j] & 0x0F) | h0) * d + m;
            y[j + kQK / 2] = static_cast<float>((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void rowQ8_0(const BlockQ8_0 *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i, y += kQK) {
        const float d = fp16ToF32(x[i].d);
        for (int j = 0; j < kQK; ++j)
            y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

void rowQ4_K(const BlockQ4_K *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i) {
        const float d = fp16ToF32(x[i].d), dmin = fp16ToF32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int j = 0, is = 0; j < kQKK; j += 64, is += 2, q += 32) {
            uint8_t sc, m;
            unpackScaleMinK4(is, x[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            unpackScaleMinK4(is + 1, x[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}

void rowQ5_K(const BlockQ5_K *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i) {
        const float d = fp16ToF32(x[i].d), dmin = fp16ToF32(x[i].dmin);
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < kQKK; j += 64, is += 2, ql += 32) {
            uint8_t sc, m;
            unpackScaleMinK4(is, x[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            unpackScaleMinK4(is + 1, x[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            u1 = static_cast<uint8_t>(u1 << 2);
            u2 = static_cast<uint8_t>(u2 << 2);
        }
    }
}

void rowQ6_K(const BlockQ6_K *x, float *y, int64_t blocks)
{
    for (int64_t i = 0; i < blocks; ++i) {
        const float d = fp16ToF32(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < kQKK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = static_cast<int8_t>((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = static_cast<int8_t>((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                // ggml: y = d * sc * q, evaluated left to right ((d * sc) * q), as gguf-py does.
                y[l + 0] = d * sc[is + 0] * static_cast<float>(q1);
                y[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
                y[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
                y[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
            }
        }
    }
}

} // namespace

const GgmlTypeInfo &requireSupported(GgmlType type)
{
    const GgmlTypeInfo &info = ggmlTypeInfo(type);
    if (info.supported && info.type == type)
        return info;
    // An id ggml_types.h has no row for is named by number ("#77"); built with append (GCC 12 warns falsely
    // about
    // "#" + std::string, bug 105329).
    std::string name(info.type == type ? info.name : "#");
    if (info.type != type)
        name.append(std::to_string(static_cast<uint32_t>(type)));
    throw Error(ErrorCode::CheckpointInvalid,
                "tensor type " + name + " is not supported (supported: " + supportedTypeNames() + ")", name);
}

std::string supportedTypeNames()
{
    std::string names;
    for (const auto &t : kGgmlTypes)
        if (t.supported)
            names += (names.empty() ? "" : ", ") + std::string(t.name);
    return names;
}

int64_t rowBytes(GgmlType type, int64_t n)
{
    const GgmlTypeInfo &info = requireSupported(type);
    const auto bytes = ggmlBytes(info, n);
    if (!bytes)
        throw Error(ErrorCode::TensorShapeMismatch,
                    "a " + std::string(info.name) + " row of " + std::to_string(n) +
                        " elements is not a whole number of its " + std::to_string(info.blockElements) +
                        "-element blocks",
                    std::string(info.name));
    return *bytes;
}

void dequantizeRow(GgmlType type, const void *src, float *dst, int64_t n)
{
    rowBytes(type, n); // validates type and length
    const int64_t blocks = n / ggmlTypeInfo(type).blockElements;
    switch (type) {
    case GgmlType::F32:
        std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
        return;
    case GgmlType::F16: {
        const auto *h = static_cast<const uint16_t *>(src);
        for (int64_t i = 0; i < n; ++i)
            dst[i] = fp16ToF32(h[i]);
        return;
    }
    case GgmlType::BF16: {
        const auto *b = static_cast<const uint16_t *>(src);
        for (int64_t i = 0; i < n; ++i)
            dst[i] = bf16ToF32(b[i]);
        return;
    }
    case GgmlType::Q4_0:
        return rowQ4_0(static_cast<const BlockQ4_0 *>(src), dst, blocks);
    case GgmlType::Q4_1:
        return rowQ4_1(static_cast<const BlockQ4_1 *>(src), dst, blocks);
    case GgmlType::Q5_0:
        return rowQ5_0(static_cast<const BlockQ5_0 *>(src), dst, blocks);
    case GgmlType::Q5_1:
        return rowQ5_1(static_cast<const BlockQ5_1 *>(src), dst, blocks);
    case GgmlType::Q8_0:
        return rowQ8_0(static_cast<const BlockQ8_0 *>(src), dst, blocks);
    case GgmlType::Q4_K:
        return rowQ4_K(static_cast<const BlockQ4_K *>(src), dst, blocks);
    case GgmlType::Q5_K:
        return rowQ5_K(static_cast<const BlockQ5_K *>(src), dst, blocks);
    case GgmlType::Q6_K:
        return rowQ6_K(static_cast<const BlockQ6_K *>(src), dst, blocks);
    default:
        break;
    }
    // A row marked supported in ggml_types.h without a case above: a programming error, reported by name.
    throw Error(ErrorCode::Internal, "no dequantizer for " + std::string(ggmlTypeInfo(type).name));
}

void dequantizeRows(GgmlType type, const void *src, int64_t rows, int64_t n, float *dst)
{
    const int64_t bytes = rowBytes(type, n);
    const auto *p = static_cast<const uint8_t *>(src);
    for (int64_t r = 0; r < rows; ++r)
        dequantizeRow(type, p + r * bytes, dst + r * n, n);
}

} // namespace uhdlens::quant
