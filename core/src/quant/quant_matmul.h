// Matrix products with quantized weights (torch side, internal): y = x W^T (+ b) for x f32 [M, K] and W a
// row-major [N, K] matrix of ggml blocks that stays quantized (e.g. a span of a memory-mapped GGUF file).
//
//  - Few rows (decode, short prompts): quantMatmulFewRows. Each x row is quantized once (vec_dot.h), then the
//    output rows are split across libtorch's intra-op threads (at::parallel_for: the pool setThreadCount
//    sizes, as mixed_linear's bf16 kernel does), every weight row is read once and dotted with all M
//    activation rows.
//  - Many rows (prefill, vision slices): quantMatmulTiled. Blocks of weight rows are dequantized (in
//  parallel) into
//    one bounded f32 buffer and multiplied by libtorch's f32 GEMM (MKL / OpenBLAS sgemm); the whole f32
//    weight is never materialised.
#pragma once

#include "quant/ggml_types.h"

#include <torch/torch.h>

#include <cstdint>

namespace uhdlens::quant {

// A quantized weight matrix [outFeatures, inFeatures] as ggml stores it (ne0 = inFeatures): outFeatures rows
// of rowBytes(type, inFeatures) bytes each, contiguous. Non-owning.
struct QuantMatrix
{
    GgmlType type = GgmlType::F32;
    const uint8_t *data = nullptr;
    int64_t outFeatures = 0;
    int64_t inFeatures = 0;
    // Optional: the first interleavedRows rows (whole groups of 8) in tiled_dot.h's interleaved layout
    // (interleaveRows), which the few-rows product then reads instead of `data` on CPUs with those kernels; the
    // last outFeatures - interleavedRows rows (fewer than 8: an output head of 151666 rows) still come from `data`.
    const uint8_t *interleaved = nullptr;
    int64_t interleavedRows = 0;
};

// Bytes of the matrix; throws (as rowBytes) for an unsupported type or a row that is not whole blocks, and
// Error(TensorShapeMismatch) for negative sizes or a size that overflows.
int64_t matrixBytes(const QuantMatrix &w);

// f32 [rows, cols] tensor of `rows` rows of `cols` elements of `type` at data (rows * rowBytes(type, cols)
// bytes).
torch::Tensor dequantizeTensor(GgmlType type, const void *data, int64_t rows, int64_t cols);

// Default bound of the tiled path's f32 buffer: 16 MiB (a 1024 x 4096 block; see quant_linear.h for the
// measurement).
inline constexpr int64_t kTiledBufferBytes = int64_t(16) << 20;

// y [M, N] f32 for x f32 [M, K] (any strides; made contiguous), bias f32 [N] or undefined. portable: the
// scalar kernels even where AVX2 is available. Throws Error(TensorShapeMismatch) when K != inFeatures or x is
// not 2-D f32.
torch::Tensor quantMatmulFewRows(const torch::Tensor &x, const QuantMatrix &w, const torch::Tensor &bias,
                                 bool portable = false);
torch::Tensor quantMatmulTiled(const torch::Tensor &x, const QuantMatrix &w, const torch::Tensor &bias,
                               int64_t bufferBytes = kTiledBufferBytes);

} // namespace uhdlens::quant
