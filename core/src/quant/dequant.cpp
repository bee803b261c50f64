// Dequantization to f32 (see dequant.h). Each block function is ggml's dequantize_row_*_ref loop body; the
// products and sums are written in ggml's order and the file is built with -ffp-contract=off, so no
// multiply-add is fused and every value is bit-identical to ggml's and gguf-py's.
#include "quant/dequant.h"

#include "quant/blocks.h"
#include "uhdlens/errors.h"

namespace uhdlens::quant {

namespace {

// Legacy blocks: float(q) * d, plus m for the *_1 types (ggml: x0 * d + m, rounded after each operation).
template <typename Block> void rowLegacy(const void *src, float *y, int64_t blocks)
{
    const auto *x = static_cast<const Block *>(src);
    int q[kQK];
    for (int64_t i = 0; i < blocks; ++i, y += kQK) {
        unpackQuants(x[i], q);
        const float d = fp16ToF32(x[i].d);
        if constexpr (kHasMin<Block>) {
            const float m = fp16ToF32(x[i].m);
            for (int j = 0; j < kQK; ++j)
                y[j] = static_cast<float>(q[j]) * d + m;
        } else {
            for (int j = 0; j < kQK; ++j)
                y[j] = static_cast<float>(q[j]) * d;
        }
    }
}

// Q4_K / Q5_K: ggml's d1 = d * sc, m1 = dmin * m per sub-block, then d1 * q - m1.
template <typename Block> void rowK45(const void *src, float *y, int64_t blocks)
{
    const auto *x = static_cast<const Block *>(src);
    for (int64_t i = 0; i < blocks; ++i) {
        const float d = fp16ToF32(x[i].k.d), dmin = fp16ToF32(x[i].k.dmin);
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            unpackScaleMinK4(j, x[i].k.scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>(kQuant(x[i], j, l)) - m1;
        }
    }
}

// Q6_K: ggml's d * sc * q, evaluated left to right ((d * sc) * q), as gguf-py does too.
void rowQ6_K(const void *src, float *y, int64_t blocks)
{
    const auto *x = static_cast<const BlockQ6_K *>(src);
    int q[kQKK];
    for (int64_t i = 0; i < blocks; ++i, y += kQKK) {
        unpackQ6_K(x[i], q);
        const float d = fp16ToF32(x[i].d);
        for (int e = 0; e < kQKK; ++e)
            y[e] = d * x[i].scales[e / 16] * static_cast<float>(q[e]);
    }
}

void rowF16(const void *src, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        y[i] = fp16ToF32(static_cast<const uint16_t *>(src)[i]);
}

void rowBf16(const void *src, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        y[i] = bf16ToF32(static_cast<const uint16_t *>(src)[i]);
}

void rowF32(const void *src, float *y, int64_t n)
{
    std::memcpy(y, src, static_cast<size_t>(n) * sizeof(float));
}

// One row per supported type; `row` takes the count of blocks (elements for the plain types).
struct Dequantizer
{
    GgmlType type;
    void (*row)(const void *, float *, int64_t);
};
constexpr Dequantizer kDequantizers[] = {
    {GgmlType::F32, rowF32},
    {GgmlType::F16, rowF16},
    {GgmlType::BF16, rowBf16},
    {GgmlType::Q4_0, rowLegacy<BlockQ4_0>},
    {GgmlType::Q4_1, rowLegacy<BlockQ4_1>},
    {GgmlType::Q5_0, rowLegacy<BlockQ5_0>},
    {GgmlType::Q5_1, rowLegacy<BlockQ5_1>},
    {GgmlType::Q8_0, rowLegacy<BlockQ8_0>},
    {GgmlType::Q4_K, rowK45<BlockQ4_K>},
    {GgmlType::Q5_K, rowK45<BlockQ5_K>},
    {GgmlType::Q6_K, rowQ6_K},
};

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
    for (const auto &d : kDequantizers)
        if (d.type == type)
            return d.row(src, dst, n / ggmlTypeInfo(type).blockElements);
    // A type marked supported in ggml_types.h without a dequantizer: a programming error, reported by name.
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
