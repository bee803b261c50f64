// Internal (torch-side) view of a loaded TextModel (uhdlens/text_model.h): the language model, its tokenizer
// and chat format. Only core .cpp files and tests include it.
#pragma once

#include "gguf/gguf_model.h" // ChatFormat
#include "nn/layers.h"       // CausalLm
#include "tokenizer.h"
#include "uhdlens/text_model.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace uhdlens {

struct TextModel::Impl
{
    TextModelInfo info;
    std::shared_ptr<torch::nn::Module> root; // "model.*" (+ "lm_head" unless tied): HF LlamaForCausalLM names
    nn::CausalLm lm;
    std::shared_ptr<Tokenizer> tokenizer;
    gguf::ChatFormat chat;
    bool addBos = false; // tokenizer.ggml.add_bos_token
    std::vector<int64_t> stopIds;

    // The chat template rendered for `history` + `question` (gguf_model.h ChatFormat), and its token ids as
    // the Hugging Face tokenizer encodes the rendered string (added tokens split out, BOS when
    // add_bos_token).
    std::string promptText(const std::vector<Turn> &history, const std::string &question) const;
    std::vector<int64_t> promptIds(const std::vector<Turn> &history, const std::string &question) const;
    // ids [T] appended after the cache -> float32 logits of the last position [V].
    torch::Tensor forward(const std::vector<int64_t> &ids, KVCache &cache) const;
};

} // namespace uhdlens
