// A linear layer whose weight stays in a ggml quantized type (internal, torch side): the drop-in for
// nn::Linear when a GGUF loader maps a quantized tensor. nn::LinearImpl::forward hands over to it when its
// `quantized` member is set (nn/layers.h), the way a bf16 weight takes the mixed path (nn/mixed_linear.h):
// the module tree, the parameter names and the callers stay the same.
//
// forward(x[..., in]) -> [..., out]:
//  - M = rows of x <= decodeMaxRows: quantMatmulFewRows, int8 dot products on the quantized blocks (decode,
//    short prompts; and every M for a layer with an interleaved copy, see below);
//  - more rows: quantMatmulTiled, blocks of weight rows dequantized into a bounded f32 buffer and multiplied
//    by libtorch's sgemm (prefill, vision slices);
//  - under autograd (gradients wanted for x): the dequantized weight and at::linear, so gradients are
//  correct.
// Arithmetic in f32; the result has x's dtype (bf16 input: computed in f32, rounded once at the end).
#pragma once

#include "quant/ggml_types.h"
#include "quant/quant_matmul.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace uhdlens::quant {

// Rows up to which the dot-product path is used (as nn/mixed_linear.h's kMixedSmallRows for bf16 weights).
// Measured with `uhdlens-bench quant` on the 3584 x 3584 Q4_0 matrix (2 threads, AVX-512 EPYC running the
// AVX2 kernels), few-rows vs tiled ms: M = 8: 4.9 vs 12.7; 16: 9.9 vs 13.3; 32: 19.4 vs 17.1; 128: 76.6
// vs 41.1. The dot products cost ~M times one GEMV (the quantized row is re-decoded per input row), the tiled
// path one dequantization plus an sgemm, so they cross between 16 and 32 rows.
inline constexpr int64_t kQuantDecodeMaxRows = 16;

// Q4_0 / Q8_0 layers of 8 rows or more keep an interleaved copy of their whole groups of 8 (tiled_dot.h; the last
// rows of an output head of 151666 stay row-major: before, such a head was read 4 rows at a time, four
// streams, at about half the interleaved speed per byte in a Q8_0 decode profile) on CPUs with
// AVX2 or AVX-512 VNNI, and take the dot products for every M: `uhdlens-bench quant` (2 threads, AVX-512 EPYC
// with other builds running) gave 134 ms vs 240 ms (dequantize + sgemm) for 512 rows of the 3584 x 3584 Q4_0
// matrix with the VNNI kernels, 155 vs 219 ms with the AVX2 ones, and the dot products ahead at every M
// from 1 to 512; the f32 GEMM alone took 205 ms.
inline constexpr int64_t kQuantInterleavedMaxRows = INT64_MAX;

struct QuantLinearImpl : torch::nn::Module
{
    // Weight bytes owned elsewhere (a span of a memory-mapped file): `owner` keeps them alive as long as the
    // layer. Throws as matrixBytes() for an unsupported type or a row that is not whole blocks; bias: f32
    // [out] or undefined.
    QuantLinearImpl(GgmlType type, int64_t in, int64_t out, const uint8_t *data,
                    std::shared_ptr<const void> owner, const torch::Tensor &bias = {});
    // Its own copy of the bytes (bytes.size() must be out * rowBytes(type, in): Error(TensorShapeMismatch)
    // otherwise).
    QuantLinearImpl(GgmlType type, int64_t in, int64_t out, std::vector<uint8_t> bytes,
                    const torch::Tensor &bias = {});

    // Quantizes an f32 weight [out, in] with ggml's reference quantizers (quantize.h: F32, F16, BF16, Q4_0,
    // Q4_1, Q5_0, Q5_1, Q8_0): test and benchmark weights.
    static std::shared_ptr<QuantLinearImpl> fromFloat(const torch::Tensor &weight, GgmlType type,
                                                      const torch::Tensor &bias = {});

    torch::Tensor forward(const torch::Tensor &x) const;
    // The f32 weight [out, in] (dequantized on request; never cached).
    torch::Tensor dequantizedWeight() const;
    const QuantMatrix &matrix() const { return m_weight; }
    GgmlType type() const { return m_weight.type; }

    torch::Tensor bias; // "bias" [out] f32, or undefined
    // Rows up to which forward takes the dot products: kQuantDecodeMaxRows, or kQuantInterleavedMaxRows with
    // an interleaved copy. Tests and the benchmark move it.
    int64_t decodeMaxRows = kQuantDecodeMaxRows;
    bool portableKernels = false; // scalar kernels even where AVX2 runs (tests)

    // Whether the rows also live in the interleaved layout (tiled_dot.h), which the dot products read: the
    // original bytes are then only read by dequantizedWeight().
    bool hasInterleavedCopy() const { return m_weight.interleaved != nullptr; }

private:
    void interleave();

    QuantMatrix m_weight;
    std::vector<uint8_t> m_interleaved;
    std::shared_ptr<const void> m_owner;
};
TORCH_MODULE(QuantLinear);

// A token-embedding table kept in its file type (a GGUF token_embd of a model with its own output head):
// lookup dequantizes only the rows asked for, so a 151666 x 3584 Q4_0 table stays 0.3 GB of mapped bytes
// instead of a 2.2 GB f32 copy (llama.cpp reads its get_rows from the quantized tensor the same way).
struct QuantEmbedding
{
    // Bytes owned elsewhere (a memory-mapped file), kept alive by `owner`. Throws as matrixBytes().
    QuantEmbedding(GgmlType type, int64_t rows, int64_t cols, const uint8_t *data,
                   std::shared_ptr<const void> owner);
    // ids (int64, any shape, each in [0, rows)) -> f32 [ids..., cols]. Error(InvalidArgument) for an id out
    // of range.
    torch::Tensor lookup(const torch::Tensor &ids) const;
    const QuantMatrix &matrix() const { return m_table; }

private:
    QuantMatrix m_table; // outFeatures = rows (vocabulary), inFeatures = cols (width)
    std::shared_ptr<const void> m_owner;
};

} // namespace uhdlens::quant
