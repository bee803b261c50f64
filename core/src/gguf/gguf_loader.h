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
#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
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

// One GGUF file's share of a model: its tensors go, through mapTensorName's table for `kind`, to the
// parameters named `prefix` + the Hugging Face name (MiniCPM-V's LLM under "llm.", a text-only LLM under "").
struct GgufPart
{
    const GgufFile *file = nullptr;
    FileKind kind = FileKind::Llm;
    std::string prefix;
};

// Fills every parameter of `params` (a module tree's names; `modules` the same tree's named modules) from the
// parts' tensors, as described above: F32 views, F16/BF16 converted, quantized Linear weights as QuantLinear
// on the mapping (LLaMA Q/K rows un-permuted), other quantized tensors dequantized once. `modelName` names
// the model in errors. Errors as loadGgufModel's (TensorMissing naming the parameter and the file that should
// hold it, CheckpointInvalid for an unmapped or surplus tensor, TensorShapeMismatch). Returns the names of
// the file tensors that were dequantized to f32 (sorted), for the model panel. The parameters keep the files'
// mappings alive (F32 views and QuantLinear hold them).
std::vector<std::string>
fillGgufParameters(const std::vector<GgufPart> &parts,
                   const std::vector<std::pair<std::string, torch::Tensor>> &params,
                   const std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> &modules,
                   const std::string &modelName);

// "Q4_0 x15, Q6_K x1, F32 x11": the tensor types of a file, for the model panel.
std::string typeCounts(const GgufFile &f);
// SHA-256 over a file's header (metadata and tensor table) and its size: the weights' identity for caches,
// without reading the tensor data.
std::string headerHash(const GgufFile &f);

} // namespace uhdlens::gguf
