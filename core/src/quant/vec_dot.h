// Dot products directly on quantized weight rows, ggml's scheme (ggml-cpu/quants.c, arch/x86/quants.c): each
// activation row is quantized once to the 8-bit format the weight type pairs with (ggml's vec_dot_type: Q8_0
// for Q4_0 / Q5_0 / Q8_0, Q8_1 for Q4_1 / Q5_1, Q8_K for the K-quants; f32 kept for F32 / F16 / BF16), then
// every block contributes an exact integer dot product times the product of the two scales.
//
// Two implementations with one result up to float rounding: a portable scalar one (the reference, any CPU)
// and AVX2/FMA/F16C ones for every supported type (_mm256_maddubs_epi16 on the int8 pairs), chosen at run
// time
// (__builtin_cpu_supports), so the binary runs on any x86-64. The integer part of each block is identical in
// both; only the order of the f32 accumulation differs (tests/parity/test_quant_kernels.cpp). Torch-free.
#pragma once

#include "quant/ggml_types.h"

#include <cstdint>

namespace uhdlens::quant {

// Bytes of one activation row of n elements prepared for weights of `weightType` (n * 4 for float weights).
// Throws as rowBytes(weightType, n) does.
int64_t activationRowBytes(GgmlType weightType, int64_t n);

// Prepares one f32 activation row (n elements) for dot products with weights of `weightType`: ggml's
// reference quantizer of its vec_dot_type (quantize.h), or a copy for float weights. Same result on every
// CPU.
void quantizeActivation(GgmlType weightType, const float *x, void *dst, int64_t n);

// Instruction sets of the quantized kernels, best last. Avx512Vnni: AVX-512 F/BW/VL + VNNI (256-bit
// vectors, 32 registers, vpdpbusd).
enum class KernelIsa
{
    Portable,
    Avx2,
    Avx512Vnni
};

// The best instruction set this CPU runs (read once; UHDLENS_QUANT_ISA=portable|avx2|avx512vnni caps it, for
// measurements).
KernelIsa bestKernelIsa();
// Whether this CPU runs `isa`'s kernels.
bool cpuRunsIsa(KernelIsa isa);
const char *kernelIsaName(KernelIsa isa);

// Whether this CPU runs the AVX2/FMA/F16C kernels (read once).
bool cpuHasAvx2Kernels();

// Whether `weightType` has an AVX2 kernel (else vecDot uses the portable one everywhere).
bool hasAvx2Kernel(GgmlType weightType);

// Dot product of one weight row (n elements of `weightType`, rowBytes(weightType, n) bytes) with one
// activation row prepared by quantizeActivation. portable: the scalar kernel even where AVX2 is available.
// The type and n are not re-validated here (callers validate once per matrix: rowBytes).
float vecDot(GgmlType weightType, const void *weightRow, const void *activation, int64_t n,
             bool portable = false);

// y[i * ldy + r] = dot(weight row r, activation row i) for r in [r0, r1), i in [0, m): the few-rows product
// over a block of weight rows, each weight row read once from memory and reused from cache for every
// activation row. weights: rows of wRowBytes bytes; activations: m rows of aRowBytes bytes.
void dotRows(GgmlType weightType, const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
             const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y, int64_t ldy,
             bool portable = false);
// dotRows with the kernels of `isa` (tests and benchmarks compare them): the tiled int8 kernels
// (tiled_dot.h) for the types that have them, else the per-row kernels of that set (AVX2 for
// Avx512Vnni). Error(Internal) if this CPU does not run `isa`.
void dotRowsIsa(GgmlType weightType, const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
                const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y, int64_t ldy,
                KernelIsa isa);

} // namespace uhdlens::quant
