// UHD Lens — a description of a GGUF file (llama.cpp's model format) for people and scripts: what
// `uhdlens-cli gguf-info` prints and what the open-model dialog can show. Torch-free.
//
//     uhdlens::GgufSummary s = uhdlens::describeGguf("/models/MiniCPM-V-2_6/ggml-model-Q4_K_M.gguf");
//     s.kind == "llm"; s.architecture == "qwen2"; s.types[0] == {"Q4_K", 169, 2.3e9 bytes} ...
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace uhdlens {

struct GgufTypeCount
{
    std::string type; // "F16", "Q4_K" ...
    int64_t tensors = 0;
    uint64_t bytes = 0;
    bool supported = true; // UHD Lens computes with it
};

struct GgufSummary
{
    std::string path;
    uint32_t version = 0;
    uint64_t fileBytes = 0;
    std::string architecture; // general.architecture ("qwen2", "llama", "clip" ...)
    std::string name;         // general.name (may be empty)
    std::string kind;         // "llm", "mmproj" or "other"
    // Key hyper-parameters as (HF-style name, value text), in a fixed order: for an LLM the config keys of
    // its architecture (hidden_size, num_hidden_layers, ...), for a MiniCPM-V mmproj its vision settings.
    std::vector<std::pair<std::string, std::string>> hparams;
    int64_t tensorCount = 0;
    std::vector<GgufTypeCount> types;         // histogram, in ggml type id order
    std::string tokenizerModel, tokenizerPre; // tokenizer.ggml.model / pre (empty when absent)
    int64_t vocabSize = 0;                    // tokenizer.ggml.tokens entries
    // Why UHD Lens cannot use the file as it is (an architecture, projector, tensor type or tokenizer it does
    // not support, or a missing key), one line each; empty when nothing is known to be wrong.
    std::vector<std::string> problems;
};

// Maps and validates the file (Error(FileNotFound / NotAFile / FileUnreadable / CheckpointInvalid) as the
// GGUF reader raises them); what it cannot use is reported in `problems`, not thrown.
GgufSummary describeGguf(const std::string &path);

// The two files Model::load opens for LoadOptions{.modelDir = path, .mmproj = second} (a folder of GGUF
// files, one .gguf file and its partner beside it, or an explicit pair in either order), checked as the load
// checks them (the projector and the widths agree), from the headers only: the app checks a choice this way
// before it lets go of the model it has. Throws the load's typed errors (FileNotFound: no LLM / no mmproj
// file; InvalidArgument: several candidates or two files of one kind; ConfigInvalid: files that do not belong
// together; CheckpointInvalid: a malformed file).
struct GgufPairFiles
{
    std::string llm, mmproj;
};
GgufPairFiles resolveGgufPair(const std::string &path, const std::string &second = {});

} // namespace uhdlens
