// The three block operations of the fused attention (flash_attention.cpp drives them), one set per
// instruction set: flash_attention.cpp (portable C++) and flash_attention_x86.cpp (AVX2, AVX-512).
// Torch-free.
//
// Layouts (all float32, row-major, prepared by flash_attention.cpp; ld = the key block, a multiple of 16;
// `align` = the kernels' `lanes`: 8 for AVX2 and the portable code, 16 for AVX-512):
//  - q block: rows x dk, row stride dk, already multiplied by the scale;
//  - key panel: dk x ld (the block's keys transposed, zero past the last key);
//  - scores / probabilities: rows x ld;
//  - value block: keys x dvp (zero rows past the last key, zero columns past dv), dvp a multiple of align;
//  - output accumulator: rows x dvp.
#pragma once

#include <cstdint>

namespace uhdlens::kernels::detail {

struct FlashKernels
{
    int64_t lanes; // the alignment of cols and dvp below (one vector)
    // s[r][c] = sum_p q[r][p] * kt[p][c] for r < rows, c < cols (cols a multiple of lanes, <= ld).
    void (*scores)(const float *q, int64_t rows, int64_t dk, const float *kt, int64_t ld, int64_t cols,
                   float *s);
    // Online-softmax step over the first `valid` columns of each score row (mask: per-column additive values,
    // readable up to `valid` rounded up to lanes, or null): m[r] becomes max(m[r], row max); o[r][:dvp] and
    // l[r] are multiplied by exp(m_old - m_new); s[r][c] becomes exp(s[r][c] + mask[c] - m_new) (0 for every
    // c while m_new is -inf); l[r] += the row's sum. Columns from `valid` to the next multiple of 16 may be
    // overwritten.
    void (*softmax)(float *s, int64_t rows, int64_t ld, int64_t valid, const float *mask, float *m, float *l,
                    float *o, int64_t dvp);
    // o[r][c] += sum_j p[r][j] * v[j][c] for j < keys, c < dvp (p has row stride ld).
    void (*accumulate)(const float *p, int64_t rows, int64_t ld, int64_t keys, const float *v, int64_t dvp,
                       float *o);
};

const FlashKernels &portableKernels(); // flash_attention.cpp
// The vector kernels of flash_attention_x86.cpp (x86-64 only): simdKernels<8>() (AVX2/FMA) only after
// quant::cpuHasAvx2Kernels(), simdKernels<16>() (AVX-512F) only after an AVX-512F check as well.
template <int Lanes> const FlashKernels &simdKernels();

} // namespace uhdlens::kernels::detail
