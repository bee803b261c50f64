// Internal (torch-side) view of a loaded Model: the family modules, the tokenizer and the helpers the engine,
// `uhdlens-cli encode --dump` and `uhdlens-bench engine` share. Only core .cpp files, tests and the bench include it.
#pragma once

#include "model_family.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "uhdlens/engine.h"

#include <QImage>

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace uhdlens {

struct Model::Impl
{
    ModelInfo info;
    std::unique_ptr<VisionLanguageModel> vlm;
    std::shared_ptr<Tokenizer> tokenizer;
    std::vector<Checkpoint> checkpoints; // keep the weight mappings open for the model's lifetime
    std::vector<int64_t> stopIds;
    std::vector<std::string> stopStrings;

    // Normalised pixels of every encoded image of `plan` (overview first, then slices row-major), each
    // [1, 3, H, W] in the compute dtype on the model's device.
    std::vector<torch::Tensor> pixels(const QImage &rgb, const SlicePlan &plan) const;
    // Vision encoder + resampler of one encoded image -> [tokensPerImage, D]. Hook names get `prefix`.
    torch::Tensor encode(const torch::Tensor &pixels, const TensorHook &hook = {}, const std::string &prefix = {}) const;
};

// Resolves LoadOptions::device / dtype ("auto" rules: CUDA when available; on the CPU bf16 where it has
// avx512_bf16, else mixed; f16 on CUDA). Throws Error(DeviceUnavailable) / Error(InvalidArgument) for a choice
// this machine or device cannot run (the names were parsed where they came in).
torch::Device resolveDevice(const DeviceChoice &device);
struct ResolvedDtype
{
    torch::Dtype compute = torch::kFloat;
    bool bf16Weights = false; // mixed: matrices the checkpoint stores in bf16 stay bf16 (nn/mixed_linear.h)
};
ResolvedDtype resolveDtype(Dtype dtype, const torch::Device &device);
// The compute dtype as a model fact (f32 for anything but bf16/f16).
Dtype dtypeOf(torch::Dtype dtype);

// The ModelInfo facts every loader fills the same way once `impl.vlm` exists: family, name (config
// "_name_or_path" when set), parameter count, dtype (mixed where a matrix stayed bf16), device, context,
// policy, layout, image tokens, pixel norm and pad colour.
void describeLoadedModel(Model::Impl &impl, const nlohmann::json &config, torch::Dtype dtype,
                         const torch::Device &device);

// Truncates every layer of `cache` to its first `length` positions (prefix reuse across turns).
void truncateCache(KVCache &cache, int64_t length);

} // namespace uhdlens
