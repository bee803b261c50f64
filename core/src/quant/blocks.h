// ggml's quantized block layouts (ggml/src/ggml-common.h: block_q4_0 ... block_q8_K) and the exact half-float
// conversions every quantized type needs. Torch-free: the GGUF reader, the dequantizer and the dot-product
// kernels all read blocks through these structs. Each struct's size is checked against ggml_types.h, the one
// table of block geometry, so a layout that drifts from the file format fails to compile.
//
// All multi-byte fields are little-endian as GGUF stores them (x86-64 and AArch64 hosts only).
#pragma once

#include "quant/ggml_types.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace uhdlens::quant {

inline constexpr int kQK = 32;   // elements per block of the *_0 / *_1 types (ggml QK4_0 = QK8_0 = ... = 32)
inline constexpr int kQKK = 256; // elements per K-quant super-block (ggml QK_K)

// The *_0 / *_1 ("legacy") blocks of 32: f16 scale d, for *_1 also an f16 minimum m; 4-bit quants in qs
// (element j is the low nibble of qs[j], element j + 16 the high one), for Q5_* a fifth bit per element in qh
// (bit j of a little-endian uint32). value = (q - 8) * d (Q4_0), (q - 16) * d (Q5_0), q * d + m (Q4_1, Q5_1),
// qs[j] * d (Q8_0).
struct BlockQ4_0
{
    uint16_t d;
    uint8_t qs[kQK / 2];
};
struct BlockQ4_1
{
    uint16_t d, m;
    uint8_t qs[kQK / 2];
};
struct BlockQ5_0
{
    uint16_t d;
    uint8_t qh[4], qs[kQK / 2];
};
struct BlockQ5_1
{
    uint16_t d, m;
    uint8_t qh[4], qs[kQK / 2];
};
struct BlockQ8_0
{
    uint16_t d;
    int8_t qs[kQK];
};
// Activation block of the *_1 weight types (ggml block_q8_1): s = d * sum(qs), so the weight's minimum m
// contributes m * s to a dot product without touching the quants.
struct BlockQ8_1
{
    uint16_t d, s;
    int8_t qs[kQK];
};
// The first 16 bytes of Q4_K and Q5_K: f16 super-block scale and minimum scale, then 8 sub-blocks of 32 with
// a 6-bit scale and min each, packed into 12 bytes (see unpackScaleMinK4). value = d * sc * q - dmin * m.
struct KScaleHeader
{
    uint16_t d, dmin;
    uint8_t scales[12];
};
// Sub-block j's 32 nibbles are the low (j even) or high (j odd) halves of qs[32 * (j / 2) ...]; Q5_K's fifth
// bit of element l of sub-block j is bit j of qh[l].
struct BlockQ4_K
{
    KScaleHeader k;
    uint8_t qs[kQKK / 2];
};
struct BlockQ5_K
{
    KScaleHeader k;
    uint8_t qh[kQKK / 8];
    uint8_t qs[kQKK / 2];
};
// 16 sub-blocks of 16 with int8 scales; 6-bit quants = low 4 bits in ql, high 2 bits in qh; value = d * sc *
// (q - 32).
struct BlockQ6_K
{
    uint8_t ql[kQKK / 2];
    uint8_t qh[kQKK / 4];
    int8_t scales[kQKK / 16];
    uint16_t d;
};
// Activation block of the K-quant dot products (ggml block_q8_K): f32 scale, int8 quants, sums of each 16.
struct BlockQ8_K
{
    float d;
    int8_t qs[kQKK];
    int16_t bsums[kQKK / 16];
};

template <typename Block> constexpr bool blockMatches(GgmlType type, int64_t elements)
{
    for (const auto &t : kGgmlTypes)
        if (t.type == type)
            return t.blockBytes == static_cast<int64_t>(sizeof(Block)) && t.blockElements == elements;
    return false;
}
static_assert(blockMatches<BlockQ4_0>(GgmlType::Q4_0, kQK));
static_assert(blockMatches<BlockQ4_1>(GgmlType::Q4_1, kQK));
static_assert(blockMatches<BlockQ5_0>(GgmlType::Q5_0, kQK));
static_assert(blockMatches<BlockQ5_1>(GgmlType::Q5_1, kQK));
static_assert(blockMatches<BlockQ8_0>(GgmlType::Q8_0, kQK));
static_assert(blockMatches<BlockQ8_1>(GgmlType::Q8_1, kQK));
static_assert(blockMatches<BlockQ4_K>(GgmlType::Q4_K, kQKK));
static_assert(blockMatches<BlockQ5_K>(GgmlType::Q5_K, kQKK));
static_assert(blockMatches<BlockQ6_K>(GgmlType::Q6_K, kQKK));
static_assert(blockMatches<BlockQ8_K>(GgmlType::Q8_K, kQKK));

// ---------------------------------------------------------------------------------------------------------------
// Half floats. Exact in both directions as numpy (and so gguf-py) converts: f16 -> f32 keeps subnormals,
// infinities and NaN payloads; f32 -> f16 rounds to nearest even, overflows to infinity, keeps subnormals
// (numpy's npy_floatbits_to_halfbits, ggml's GGML_FP32_TO_FP16). Portable bit arithmetic: the kernels convert
// vectors with F16C where they can (vcvtph2ps is exact too).

inline float bitsToFloat(uint32_t bits)
{
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

inline uint32_t floatToBits(float f)
{
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return bits;
}

inline float fp16ToF32(uint16_t h)
{
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) // infinity or NaN (payload kept, as numpy does)
        return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
    if (exponent != 0)
        return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    if (mantissa == 0)
        return bitsToFloat(sign);
    // Subnormal half: mantissa * 2^-24, renormalised into an f32 exponent.
    uint32_t e = 113;
    while (!(mantissa & 0x400u)) {
        mantissa <<= 1;
        --e;
    }
    return bitsToFloat(sign | (e << 23) | ((mantissa & 0x3ffu) << 13));
}

inline uint16_t f32ToFp16(float f)
{
    const uint32_t x = floatToBits(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) { // NaN: payload's top bits, never turned into infinity (numpy's rule)
        uint16_t h = static_cast<uint16_t>(0x7c00u | (ax >> 13));
        if (h == 0x7c00u)
            ++h;
        return sign | h;
    }
    if (ax >= 0x477ff000u) // >= 65520 rounds (ties to even) past the largest half, 65504
        return sign | 0x7c00u;
    if (ax >= 0x38800000u) { // a normal half (>= 2^-14): round the 13 dropped bits to nearest even
        const uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u);
        return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
    }
    const uint32_t e = ax >> 23;
    if (e < 102) // below 2^-25 (half the smallest subnormal, which ties to even zero)
        return sign;
    // Subnormal half: round mantissa * 2^(e - 126) to an integer, ties to even (may carry into the smallest
    // normal).
    const uint32_t mantissa = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e; // 14..24
    uint32_t q = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1u)))
        ++q;
    return sign | static_cast<uint16_t>(q);
}

// bf16 is the high half of an f32: exact.
inline float bf16ToF32(uint16_t b)
{
    return bitsToFloat(static_cast<uint32_t>(b) << 16);
}

// ggml's nearest_int: round to nearest, ties to even, through the 1.5 * 2^23 trick (valid for |f| <= 2^22).
// Used where ggml's reference quantizers use it (Q8_K), so our integers are ggml's.
inline int nearestInt(float f)
{
    const float shifted = f + 12582912.0f;
    int32_t i;
    std::memcpy(&i, &shifted, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

// ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block.
inline void unpackScaleMinK4(int j, const uint8_t *q, uint8_t &scale, uint8_t &min)
{
    if (j < 4) {
        scale = q[j] & 63;
        min = q[j + 4] & 63;
    } else {
        scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Integer quants of one block in element order, shared by the dequantizer and the portable dot products (so
// both read a layout the same way). Legacy blocks: the *_0 offsets (8, 16) already subtracted.

template <typename Block> constexpr bool kHasMin = false; // *_1 blocks: value = q * d + m
template <> inline constexpr bool kHasMin<BlockQ4_1> = true;
template <> inline constexpr bool kHasMin<BlockQ5_1> = true;

inline void unpackQuants(const BlockQ8_0 &b, int *q)
{
    for (int j = 0; j < kQK; ++j)
        q[j] = b.qs[j];
}

template <typename Block> void unpackQuants(const Block &b, int *q)
{
    uint32_t qh = 0;
    constexpr bool five = !std::is_same_v<Block, BlockQ4_0> && !std::is_same_v<Block, BlockQ4_1>;
    if constexpr (five)
        std::memcpy(&qh, b.qh, sizeof qh);
    const int offset = kHasMin<Block> ? 0 : (five ? 16 : 8);
    for (int j = 0; j < kQK / 2; ++j) {
        // ggml: xh_0 = ((qh >> j) << 4) & 0x10, xh_1 = (qh >> (j + 12)) & 0x10
        q[j] = ((b.qs[j] & 0x0F) | static_cast<int>(((qh >> j) << 4) & 0x10)) - offset;
        q[j + kQK / 2] = ((b.qs[j] >> 4) | static_cast<int>((qh >> (j + 12)) & 0x10)) - offset;
    }
}

// Element l (0..31) of sub-block j (0..7) of a Q4_K / Q5_K block: 0..15 or 0..31.
template <typename Block> int kQuant(const Block &b, int j, int l)
{
    int v = (b.qs[32 * (j / 2) + l] >> (4 * (j & 1))) & 0xF;
    if constexpr (std::is_same_v<Block, BlockQ5_K>)
        v += (b.qh[l] >> j) & 1 ? 16 : 0;
    return v;
}

// The 256 quants of a Q6_K block, -32..31, in element order (ggml's dequantize_row_q6_K loop).
inline void unpackQ6_K(const BlockQ6_K &b, int *q)
{
    const uint8_t *ql = b.ql, *qh = b.qh;
    for (int n = 0; n < kQKK; n += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; ++l) {
            q[n + l + 0] = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            q[n + l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            q[n + l + 64] = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            q[n + l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        }
}

} // namespace uhdlens::quant
