// Internal: GGUF tensors of the plain float types as torch tensors (the quantized types go through
// core/src/quant/, which dequantizes or computes on the blocks).
#pragma once

#include "gguf/gguf_file.h"

#include <torch/torch.h>

namespace uhdlens::gguf {

// Tensor `name` of an F32 / F16 / BF16 file tensor in torch order (GgufTensorInfo::shape(): ne reversed), as
// a read-only view on the mapping that keeps it alive (a copy when the bytes are not aligned for the dtype).
// Error(TensorMissing) for a missing tensor, Error(CheckpointInvalid) naming the tensor and its type for any
// other type.
torch::Tensor floatTensor(const GgufFile &file, const std::string &name);

// The Hugging Face tensor a GGUF tensor came from, for architecture `arch`: the inverse of the converter's
// LLaMA Q/K row permutation (mapTensorName's Transform; n_head / n_head_kv from the metadata) on the rows of
// a float tensor. Other transforms (the mmproj's transposition and in_proj split) are the loader's to apply.
torch::Tensor unpermutedFloatTensor(const GgufFile &file, const std::string &name, const std::string &arch);

} // namespace uhdlens::gguf
