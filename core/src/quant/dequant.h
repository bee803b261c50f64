// Dequantization of ggml tensor types to f32, torch-free (the GGUF reader and the kernels use it; the
// torch-side helper is dequantizeTensor in quant/quant_matmul.h). Every formula is ggml's dequantize_row_*
// reference (ggml/src/ggml-quants.c) with the same float operations in the same order, so the result is
// bit-identical to ggml's and to gguf-py's `gguf.quants.dequantize` (checked by
// tests/parity/test_quant_dequant.cpp on fixtures from tests/tools/reference/quant_fixture.py).
#pragma once

#include "quant/ggml_types.h"

#include <cstdint>
#include <string>

namespace uhdlens::quant {

// The table row of `type` if UHD Lens computes with it; otherwise throws Error(CheckpointInvalid) whose
// message names the type and lists the supported ones (subject: the type's name).
const GgmlTypeInfo &requireSupported(GgmlType type);

// Comma-separated names of the supported types, in table order ("F32, F16, Q4_0, ...").
std::string supportedTypeNames();

// Bytes of one row of `n` elements of a supported type. Throws Error(TensorShapeMismatch) when n is negative
// or not a whole number of blocks, Error(CheckpointInvalid) for an unsupported type.
int64_t rowBytes(GgmlType type, int64_t n);

// dst[0, n) = the n values stored at src (rowBytes(type, n) bytes). Same errors as rowBytes.
void dequantizeRow(GgmlType type, const void *src, float *dst, int64_t n);

// `rows` consecutive rows of `n` elements each (rows * rowBytes(type, n) bytes) into dst[rows * n].
void dequantizeRows(GgmlType type, const void *src, int64_t rows, int64_t n, float *dst);

} // namespace uhdlens::quant
