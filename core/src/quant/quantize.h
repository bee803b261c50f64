// Reference quantizers, ggml's quantize_row_*_ref (ggml/src/ggml-quants.c) operation for operation: they
// write the bytes llama.cpp's own conversion writes (checked bit for bit against gguf-py's
// `gguf.quants.quantize`, which reproduces ggml's reference, in tests/parity/test_quant_dequant.cpp). Used to
// make quantized test and benchmark weights, and by the dot-product kernels to quantize each activation row
// once (Q8_0 / Q8_1 / Q8_K, as ggml's vec_dot_type pairs them). Torch-free.
#pragma once

#include "quant/blocks.h"
#include "quant/ggml_types.h"

#include <cstdint>

namespace uhdlens::quant {

// n: elements, a multiple of the block (32 or 256; callers check). y: n / block blocks.
void quantizeRowQ4_0(const float *x, BlockQ4_0 *y, int64_t n);
void quantizeRowQ4_1(const float *x, BlockQ4_1 *y, int64_t n);
void quantizeRowQ5_0(const float *x, BlockQ5_0 *y, int64_t n);
void quantizeRowQ5_1(const float *x, BlockQ5_1 *y, int64_t n);
void quantizeRowQ8_0(const float *x, BlockQ8_0 *y, int64_t n);
// Activations of the *_1 weight types: Q8_0's quants plus s = d * sum(qs) in f16.
void quantizeRowQ8_1(const float *x, BlockQ8_1 *y, int64_t n);
// Activations of the K-quant weight types: scale -max/127 per 256 (|q| <= 127, ties to even), sums of
// each 16.
void quantizeRowQ8_K(const float *x, BlockQ8_K *y, int64_t n);

// Whether quantizeRow can write `type`: F32, F16, BF16 (ggml's round-to-nearest-even, NaN quieted), Q4_0,
// Q4_1, Q5_0, Q5_1, Q8_0. (K-quant weights come from llama.cpp's importance-matrix quantizers; we only read
// them.)
bool canQuantize(GgmlType type);

// rowBytes(type, n) bytes of `type` at dst. Throws Error(InvalidArgument) naming the type when
// !canQuantize(type), Error(TensorShapeMismatch) when n is not a whole number of blocks.
void quantizeRow(GgmlType type, const float *x, void *dst, int64_t n);

} // namespace uhdlens::quant
