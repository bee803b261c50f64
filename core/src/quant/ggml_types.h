// ggml tensor types as GGUF files store them: the on-disk id, the name llama.cpp prints, and the block
// geometry (elements per block, bytes per block). Mirrors ggml's `type_traits` table (ggml/src/ggml.c) and
// gguf-py's `GGML_QUANT_SIZES`; ids that ggml has retired (4, 5, 31-33) are simply absent. This is the one
// table of ggml type facts: the GGUF reader validates tensor sizes with it, the quantized kernels dispatch on
// `GgmlType`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace uhdlens::quant {

enum class GgmlType : uint32_t
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39, // gguf-py 0.19.0 GGML_QUANT_SIZES (the pinned version, tests/tools/reference/gguf_requirements.txt)
    NVFP4 = 40,
    Q1_0 = 41,
};

struct GgmlTypeInfo
{
    GgmlType type;
    std::string_view name; // as llama.cpp / gguf-py print it ("Q4_K", "BF16")
    int64_t blockElements; // values per block (1 for plain types)
    int64_t blockBytes;    // bytes per block
    bool supported;        // UHD Lens can compute with it (issue 17's list); others are refused by name
};

// Every type ggml knows, in id order.
inline constexpr GgmlTypeInfo kGgmlTypes[] = {
    {GgmlType::F32, "F32", 1, 4, true},
    {GgmlType::F16, "F16", 1, 2, true},
    {GgmlType::Q4_0, "Q4_0", 32, 18, true},  // f16 d; 16 B of nibbles
    {GgmlType::Q4_1, "Q4_1", 32, 20, true},  // f16 d, m; 16 B of nibbles
    {GgmlType::Q5_0, "Q5_0", 32, 22, true},  // f16 d; 4 B high bits; 16 B nibbles
    {GgmlType::Q5_1, "Q5_1", 32, 24, true},  // f16 d, m; 4 B high bits; 16 B nibbles
    {GgmlType::Q8_0, "Q8_0", 32, 34, true},  // f16 d; 32 int8
    {GgmlType::Q8_1, "Q8_1", 32, 36, false}, // f16 d, s; 32 int8 (activations only)
    {GgmlType::Q2_K, "Q2_K", 256, 84, false},
    {GgmlType::Q3_K, "Q3_K", 256, 110, false},
    {GgmlType::Q4_K, "Q4_K", 256, 144, true},  // f16 d, dmin; 12 B scales; 128 B nibbles
    {GgmlType::Q5_K, "Q5_K", 256, 176, true},  // f16 d, dmin; 12 B scales; 32 B high bits; 128 B nibbles
    {GgmlType::Q6_K, "Q6_K", 256, 210, true},  // 128 B low 4 bits; 64 B high 2 bits; 16 int8 scales; f16 d
    {GgmlType::Q8_K, "Q8_K", 256, 292, false}, // f32 d; 256 int8; 16 int16 sums (activations only)
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, false},
    {GgmlType::IQ2_XS, "IQ2_XS", 256, 74, false},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, false},
    {GgmlType::IQ1_S, "IQ1_S", 256, 50, false},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, false},
    {GgmlType::IQ3_S, "IQ3_S", 256, 110, false},
    {GgmlType::IQ2_S, "IQ2_S", 256, 82, false},
    {GgmlType::IQ4_XS, "IQ4_XS", 256, 136, false},
    {GgmlType::I8, "I8", 1, 1, false},
    {GgmlType::I16, "I16", 1, 2, false},
    {GgmlType::I32, "I32", 1, 4, false},
    {GgmlType::I64, "I64", 1, 8, false},
    {GgmlType::F64, "F64", 1, 8, false},
    {GgmlType::IQ1_M, "IQ1_M", 256, 56, false},
    {GgmlType::BF16, "BF16", 1, 2, true},
    {GgmlType::TQ1_0, "TQ1_0", 256, 54, false},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66, false},
    {GgmlType::MXFP4, "MXFP4", 32, 17, false}, // e8m0 scale; 16 B of e2m1 nibbles (gpt-oss)
    {GgmlType::NVFP4, "NVFP4", 64, 36, false},
    {GgmlType::Q1_0, "Q1_0", 128, 18, false},
};

// The row for an on-disk type id; nullopt for an id ggml does not define (a corrupt or future file).
inline std::optional<GgmlTypeInfo> ggmlTypeInfo(uint32_t id)
{
    for (const auto &t : kGgmlTypes)
        if (static_cast<uint32_t>(t.type) == id)
            return t;
    return std::nullopt;
}

inline const GgmlTypeInfo &ggmlTypeInfo(GgmlType type)
{
    for (const auto &t : kGgmlTypes)
        if (t.type == type)
            return t;
    return kGgmlTypes[0]; // unreachable: every enumerator has a row
}

// Bytes of `elements` values of this type; nullopt when `elements` is negative or not a whole number of
// blocks (ggml requires each row, i.e. ne[0], to be one), or the byte count would overflow int64.
inline std::optional<int64_t> ggmlBytes(const GgmlTypeInfo &info, int64_t elements)
{
    if (elements < 0 || elements % info.blockElements != 0)
        return std::nullopt;
    const int64_t blocks = elements / info.blockElements;
    if (blocks > INT64_MAX / info.blockBytes)
        return std::nullopt;
    return blocks * info.blockBytes;
}

} // namespace uhdlens::quant
