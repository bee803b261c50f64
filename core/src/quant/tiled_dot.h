// Register-tiled int8 dot products for the *_0 weight types (internal, torch-free): the kernel behind
// dotRows (vec_dot.h) for Q4_0, Q5_0 and Q8_0 weights against Q8_0 activations on CPUs with AVX2 or AVX-512
// VNNI. A tile of weight rows x activation rows keeps one accumulator per pair in registers, so every weight
// block is decoded once per tile instead of once per activation row (the per-row kernels' cost grows with M),
// and every activation block is loaded once for the tile's weight rows: the same products serve decode
// (one row) and prefill (hundreds of rows) without a dequantized f32 copy. The integer part of every block is
// exact, as in ggml; only the f32 accumulation order differs from the portable kernels.
#pragma once

#include "quant/ggml_types.h"
#include "quant/vec_dot.h"

#include <cstdint>
#include <vector>

namespace uhdlens::quant {

// Whether `weightType` has a tiled kernel for `isa`: Q4_0, Q5_0, Q8_0 (int8 products) and F16, BF16 (f32
// products, 4 weight rows at a time), under Avx2 and Avx512Vnni.
bool hasTiledKernel(GgmlType weightType, KernelIsa isa);

// y[i * ldy + r] = dot(weight row r, activation row i) for r in [r0, r1), i in [0, m), as dotRows; the
// activations are rows made by quantizeActivation (Q8_0 blocks; f32 for F16 / BF16). Requires
// hasTiledKernel(weightType, isa) and cpuRunsIsa(isa) (Error(Internal) otherwise).
void dotRowsTiled(GgmlType weightType, const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
                  const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y, int64_t ldy,
                  KernelIsa isa);

// ---- Interleaved ("x8") copies of Q4_0 / Q8_0 matrices, llama.cpp's CPU repack (block_q4_0x8 and
// block_q8_0x8 in ggml-cpu/repack.cpp): 8 rows at a time, each block's 8 f16 scales together, then the quants
// in 32-byte chunks, chunk c holding bytes 4c..4c+3 of each of the 8 rows. One int32 lane per weight row
// then takes a 4-byte product per instruction with the activation group broadcast, and the f32 work per
// block is shared by 8 rows: several times fewer instructions than one row at a time, same bytes.

// Rows of a group.
inline constexpr int64_t kInterleave = 8;

// Whether a [rows, cols] matrix of `type` can be interleaved for `isa`: Q4_0 / Q8_0, rows a multiple of 8,
// an x86 instruction set.
bool canInterleave(GgmlType type, int64_t rows, int64_t cols, KernelIsa isa);

// The interleaved copy of rows x cols of `type` at data (rowBytes(type, cols) * rows bytes, same size).
// Error(TensorShapeMismatch) unless canInterleave for some set.
std::vector<uint8_t> interleaveRows(GgmlType type, const uint8_t *data, int64_t rows, int64_t cols);

// dotRows on an interleaved copy: rows [r0, r1) (multiples of 8) x m Q8_0 activation rows. Requires
// canInterleave(type, r1, n, isa) and cpuRunsIsa(isa) (Error(Internal) otherwise).
void dotRowsInterleaved(GgmlType weightType, const uint8_t *packed, int64_t r0, int64_t r1,
                        const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y,
                        int64_t ldy, KernelIsa isa);

namespace detail {
// One instruction set's kernels (tiled_dot_x86.cpp): rows [r0, r1) x m activation rows of nb blocks, with
// the activations' block scales da and integer corrections corr (-off * sum of the block's quants; off is the
// weight type's unsigned offset: 8 for Q4_0, 16 for Q5_0, 128 for Q8_0), m rows of nb each.
using TiledRowsFn = void (*)(const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
                             const uint8_t *act, int64_t aRowBytes, int64_t m, int64_t nb, const float *da,
                             const int32_t *corr, float *y, int64_t ldy);
// Interleaved groups [g0, g1) of 8 rows each (interleaveRows' layout), same activations; y[i * ldy + 8g + k].
using TiledGroupsFn = void (*)(const uint8_t *packed, int64_t g0, int64_t g1, const uint8_t *act,
                               int64_t aRowBytes, int64_t m, int64_t nb, const float *da, const int32_t *corr,
                               float *y, int64_t ldy);
// Half-precision weight rows [r0, r1) x m f32 activation rows of n elements.
using HalfRowsFn = void (*)(const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
                            const uint8_t *act, int64_t aRowBytes, int64_t m, int64_t n, float *y,
                            int64_t ldy);
struct TiledKernels
{
    TiledRowsFn q4_0, q5_0, q8_0;
    TiledGroupsFn q4_0x8, q8_0x8;
    HalfRowsFn f16, bf16;
};
const TiledKernels &tiledKernelsAvx2();
const TiledKernels &tiledKernelsVnni();
} // namespace detail

} // namespace uhdlens::quant
