// "Mixed" precision for CPUs without native bf16 arithmetic (no AVX-512 BF16): weight matrices stay in bf16
// (zero-copy views of the memory-mapped checkpoint, half the bytes of f32), activations and arithmetic are f32.
// bf16 -> f32 is exact (the bf16 bits are the high half of the f32), so this computes the same function as
// the all-f32 path, up to summation order, with half the weight memory and half the bytes streamed per token.
//
//  - Few rows (decode, short follow-up prompts: M <= kMixedSmallRows): the quantized kernels' BF16 rows
//    (quant/tiled_dot.h, AVX2 or AVX-512 chosen at run time, portable elsewhere) read each weight row once as
//    bf16 and widen it in registers (the matrix-vector product is memory-bound, so reading 2 bytes per weight
//    instead of 4 is what makes it faster). nn::linear sends bf16-activation decode here too.
//  - Many rows (prefill, vision slices): the weight is widened to f32 (blocks of <= 64 MB) and multiplied by
//    libtorch's f32 GEMM (compute-bound; widening a matrix costs ~10% of its 1024-row GEMM).
//  - Under autograd (training never uses bf16 storage, but a caller might) the weight is widened and at::linear
//    is used, so gradients stay correct.
#pragma once

#include <torch/torch.h>

namespace uhdlens::nn {

// Rows handled by the small-M kernel; above it the widen-then-GEMM path is faster on the CPUs measured.
inline constexpr int64_t kMixedSmallRows = 16;

// y = x W^T + b with x float32 [..., K], W bfloat16 [N, K] (any strides: made contiguous if needed),
// b float32 [N] or undefined. Returns float32 [..., N]. portableKernel: use the scalar small-M kernel even where
// AVX2/FMA is available (tests compare both).
torch::Tensor linearBf16Weight(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias,
                               bool portableKernel = false);

// Rows of a bf16 (or any dtype) table looked up and returned in `dtype` (embedding lookup for mixed mode).
torch::Tensor embeddingAs(const torch::Tensor &table, const torch::Tensor &ids, torch::Dtype dtype);

// The dispatching linear every layer uses: at::linear when x and W share a dtype (except bf16 x and W with few
// rows: the few-rows kernel, result rounded to bf16), the mixed path for f32 x with bf16 W, and a widened copy of
// W otherwise.
torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias);

} // namespace uhdlens::nn
