// Internal (torch side): a vision model from GGUF files as the engine's normal model (Model::load hands over
// here when LoadOptions name GGUF files). The files' metadata become the config.json the family table already
// reads, the family is created through that table, and every parameter is filled from the mapped tensors
// through gguf_model.h's one name table:
//
//     if (gguf::isGgufModel(options)) {
//         gguf::GgufLoad g = gguf::loadGgufModel(options, dtype, device, progress);
//         ... g.impl (vlm, tokenizer, stop ids, weight bytes, hash), g.files (setting sources) ...
//     }
//
// Weights: F32 tensors under an f32 compute dtype stay views on the mapping (no copy); F16 / BF16 ones are
// converted to the compute dtype (a copy). Quantized matrices of nn::Linear layers stay in the mapping as
// quant::QuantLinear (their nn::Linear `weight` becomes a zero-stride placeholder of the right shape, no
// memory); a quantized tensor that is not a Linear weight (the token embedding table) is dequantized once to
// f32, then to the compute dtype. The resampler's in_proj (three tensors in the file) and the transposed proj
// are assembled as copies.
#pragma once

#include "engine_impl.h"
#include "model_folder.h"

#include <memory>
#include <string>
#include <vector>

namespace uhdlens::gguf {

// Whether `options` name a GGUF model: an explicit pair (`mmproj` set), a file as the model (a GGUF file is
// then required: GgufFile's errors say what else it is), or a folder without config.json that holds *.gguf
// files.
bool isGgufModel(const LoadOptions &options);

struct GgufLoad
{
    std::unique_ptr<Model::Impl> impl; // vlm, tokenizer, stopIds, stopStrings, info.{modelDir, name,
                                       // weightBytes, weightsHash, warnings}
    FolderFiles files;                // config (as built from the metadata) and which file each key came from
    std::string tokenizerFile;        // the LLM file, for describeSources
    std::vector<SettingSource> extra; // "weights.llm" / "weights.mmproj": the tensor types of each file
};

// Opens the pair (gguf_pair.h: folder, file + partner, explicit pair), checks it (checkGgufPair), builds the
// config from llmConfigJson + mmprojVisionConfigJson (+ "version" from clip.minicpmv_version: 3 -> 2.6, 6 ->
// 4.5, so the family table picks the family or names what it supports), creates the family, the tokenizer
// (ggufBpeSpec; the family's special tokens must be tokens of it) and fills every parameter. Errors, each
// naming the file and the tensor or key: Error(TensorMissing) for a parameter neither file holds,
// Error(CheckpointInvalid) for a tensor the name table has no row for (another model's tensor) or a type
// the loader cannot place, Error(TensorShapeMismatch) for a shape that differs from the config's,
// Error(ConfigInvalid) / Error(UnknownFamily) from the metadata readers and the pair check,
// Error(TokenizerInvalid) for the tokenizer.
GgufLoad loadGgufModel(const LoadOptions &options, torch::Dtype dtype, const torch::Device &device,
                       const LoadProgress &progress);

} // namespace uhdlens::gguf
