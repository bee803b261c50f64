// Internal (torch-side) small types shared by the lowest layers (nn/layers.h, preprocess.h) and everything above
// them (model_family.h, the engine): the tensor hook, the KV cache, and PixelNorm (public, uhdlens/model_facts.h).
// It includes nothing of the engine or conversation API, so the layers do not depend on it.
// Only core .cpp files and tests include it.
#pragma once

#include "uhdlens/model_facts.h" // PixelNorm, RgbColour

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace uhdlens {

// Called with every named intermediate tensor ("image0.pixels", "image0.vision", "image0.resampler",
// "prompt.embeds", ...) so any stage can be dumped (uhdlens-cli encode --dump) and compared with a reference.
using TensorHook = std::function<void(const std::string &name, const torch::Tensor &value)>;

// Per-layer key/value cache of the language model. Tensors are [1, kv_heads, positions, head_dim] and grow
// by concatenation along dim 2 (or are preallocated by the family; `length` is the number of valid positions).
struct KVCache
{
    std::vector<torch::Tensor> keys;
    std::vector<torch::Tensor> values;
    int64_t length = 0;
    void clear()
    {
        keys.clear();
        values.clear();
        length = 0;
    }
};

} // namespace uhdlens
