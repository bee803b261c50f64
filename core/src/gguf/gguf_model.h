// Internal (torch-free): what a GGUF file says about the model in it, in the forms our Hugging Face folder
// readers already take, so a family loader reads a GGUF pair through the same config readers and name tables:
//   - llmConfigJson: an LLM file's hparams as an HF config.json (the keys models/qwen_lm.h's qwenConfig
//   reads);
//   - mmprojVisionConfigJson: a MiniCPM-V mmproj file's keys as MiniCPM-V 2.6's config.json vision part (what
//     models/minicpmv26_vision.h's readMiniCpmV26Vision reads);
//   - mapTensorName: the one table from llama.cpp's tensor names to the Hugging Face checkpoint's, with the
//     transformation the converter applied (Q/K row permutation, transposition, in_proj split);
//   - ggufBpeSpec: tokenizer.ggml.* metadata as a byte-level BPE spec (bpe_tokenizer.h).
// Errors name the file and the key or tensor: Error(ConfigInvalid) for hparams, Error(UnknownFamily) for an
// architecture / projector we do not run, Error(TokenizerInvalid) for tokenizer metadata.
#pragma once

#include "bpe_tokenizer.h"
#include "gguf/gguf_file.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace uhdlens::gguf {

// general.architecture values whose LLM we can read.
bool isSupportedLlmArchitecture(std::string_view arch); // "qwen2", "qwen3", "llama"

// An HF-style config.json for an LLM file of architecture qwen2 / qwen3 / llama: model_type, hidden_size,
// num_hidden_layers, num_attention_heads, num_key_value_heads, intermediate_size, vocab_size (rows of
// token_embd.weight), rope_theta ({arch}.rope.freq_base, llama.cpp's default 10000 when absent),
// rms_norm_eps, head_dim ({arch}.attention.key_length, else hidden / heads), max_position_embeddings
// ({arch}.context_length), tie_word_embeddings (no output.weight), attention_bias (qwen2: true; llama /
// qwen3: whether blk.0.attn_q.bias exists), hidden_act "silu", rope_scaling null. Refused: another
// architecture (UnknownFamily), rope scaling other than none, a missing required key (ConfigInvalid naming
// it).
nlohmann::json llmConfigJson(const GgufHeader &h);

// For an mmproj file (general.architecture "clip", clip.projector_type "resampler", clip.minicpmv_version 3
// = MiniCPM-V 2.6 or 6 = MiniCPM-V 4.5, as llama.cpp's minicpmv converter numbers them): {hidden_size (the
// resampler / LLM width, from resampler.query), query_num, image_feature_size, drop_vision_last_layer false
// (the file holds the layers used), vision_config {hidden_size, num_attention_heads, intermediate_size,
// num_hidden_layers, patch_size, image_size (from v.position_embd's rows), layer_norm_eps, hidden_act,
// model_type}, patch_size, scale_resolution (clip.vision.image_size), max_slice_nums 9 (llama.cpp's fixed
// value), norm_mean / norm_std (clip.vision.image_mean / image_std), use_image_id true, slice_mode true,
// minicpmv_version}. Refused: not "clip", another projector type or version (UnknownFamily), missing keys or
// tensors (ConfigInvalid).
nlohmann::json mmprojVisionConfigJson(const GgufHeader &h);

// How the converter changed a tensor on its way into the file; its inverse gives the HF tensor.
enum class Transform
{
    None,
    LlamaPermuteQ, // rows permuted by LlamaModel.permute(w, n_head, n_head) (architecture llama only)
    LlamaPermuteK, // ... permute(w, n_head, n_head_kv)
    Transpose,     // resampler.proj.weight = proj^T (minicpmv converter)
    InProjQ,       // rows [0, E) of resampler.attn.in_proj_weight / in_proj_bias
    InProjK,       // rows [E, 2E)
    InProjV,       // rows [2E, 3E)
    Derived, // computed by the converter (resampler.pos_embed_k, a fixed 70x70 sin-cos table); no HF tensor
};

struct MappedName
{
    std::string hf; // the Hugging Face name ("model.layers.3.self_attn.q_proj.weight"); empty when Derived
    Transform transform = Transform::None;
};

enum class FileKind
{
    Llm,    // token_embd, blk.N.*, output_norm, output
    Mmproj, // v.*, resampler.* of a MiniCPM-V projector file
};

// The HF name of a llama.cpp tensor name; nullopt when the table has no row for it. The permutations are
// reported for `arch` "llama" only (qwen2 / qwen3 files are not permuted).
std::optional<MappedName> mapTensorName(FileKind kind, std::string_view ggufName, std::string_view arch = {});

// The tokenizer of a file: tokenizer.ggml.model "gpt2" with tokens, token_type, merges and a pre-tokenizer
// named by tokenizer.ggml.pre ("qwen2", "llama-bpe" / "llama3", "smollm", "gpt2" / "gpt-2"; the regexes are
// llama.cpp's llama-vocab.cpp ones), bos / eos / padding / unknown ids as special-token names. NFC only for
// "qwen2" (as Qwen2's tokenizer.json; llama.cpp itself normalises nothing), ignore_merges for llama-bpe (as
// llama.cpp). Error(TokenizerInvalid) naming the file and key for: no tokenizer metadata, model "llama"
// (sentencepiece, not supported yet) or another model, an unknown pre, bad lists or ids.
BpeSpec ggufBpeSpec(const Metadata &meta);

// The chat format of an LLM file, read from tokenizer.chat_template without a Jinja engine: the templates we
// render are ChatML's (SmolLM2, Qwen2: `'<|im_start|>' + message['role'] + '\n' + message['content'] +
// '<|im_end|>' + '\n'` per message, `'<|im_start|>assistant\n'` for add_generation_prompt), optionally with
// a default system message the template writes when the conversation has none
// (`{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n...<|im_end|>\n' }}`).
//   prompt = [<|im_start|>system\n{defaultSystem}<|im_end|>\n]
//            (<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n{a}<|im_end|>\n)*
//            <|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n
struct ChatFormat
{
    std::string defaultSystem; // empty: no system turn
    std::string source;        // "tokenizer.chat_template" or "ChatML (no tokenizer.chat_template)"
};
// Without a chat_template, a vocabulary with <|im_start|> and <|im_end|> gets plain ChatML without a system
// turn. Error(TokenizerInvalid) naming tokenizer.chat_template for a template that is not ChatML (another
// format we would render wrongly), or no template and no ChatML tokens.
ChatFormat ggufChatFormat(const Metadata &meta, const std::vector<std::string> &tokens);

} // namespace uhdlens::gguf
