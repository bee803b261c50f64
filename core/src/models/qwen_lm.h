// Internal: the Qwen2 and Qwen3 decoder language models (Hugging Face Qwen2ForCausalLM / Qwen3ForCausalLM) as
// shared blocks for the families whose LLM they are: MiniCPM-V 2.6 (`self.llm = Qwen2ForCausalLM(config)`,
// tensors "llm.model.*", "llm.lm_head.weight") and MiniCPM-V 4.5 (`self.llm = Qwen3ForCausalLM(config)`, same
// names). Their LLM hyper-parameters are the top-level keys of the family's config.json.
//
// Both are the LLaMA decoder of nn/layers.h with the options it gained for them:
//   Qwen2: grouped-query attention, q/k/v_proj WITH bias, o_proj without, rope theta and RMSNorm eps from the
//          config, head width hidden/heads (or `head_dim` when given, as Qwen2Attention's getattr does).
//   Qwen3: no q/k/v bias (unless `attention_bias`, which also gives o_proj one), per-head RMSNorm "q_norm" /
//          "k_norm" [head_dim] on q and k before rope, `head_dim` from the config (may differ from
//          hidden/heads).
// Tied word embeddings (`tie_word_embeddings`, e.g. Qwen2-0.5B, Qwen3-0.6B): no lm_head parameter; the logits
// use embed_tokens.weight (CausalLm::logits), and an lm_head.weight the checkpoint still carries is ignored
// with the loader's "unknown tensor" warning.
// The engine's cached decode and the full-sequence forward are nn::CausalLm's (forwardCached / forwardAll).
#pragma once

#include "nn/layers.h"

#include <nlohmann/json_fwd.hpp>
#include <torch/torch.h>

#include <string>

namespace uhdlens {
class Tokenizer;
}

namespace uhdlens::models {

enum class QwenVersion
{
    Qwen2,
    Qwen3,
    // LlamaForCausalLM (SmolLM2, a llama-architecture GGUF): Qwen2's decoder without the q/k/v bias
    // (LlamaAttention: bias=config.attention_bias on all four projections, default false).
    Llama
};

struct QwenConfig
{
    QwenVersion version = QwenVersion::Qwen2;
    nn::LlamaOptions options;
    bool tieEmbeddings = false;
};

// Reads the LLM keys of a Qwen2Config / Qwen3Config / LlamaConfig (the top level of `c`; `where` prefixes the
// key names in errors when they sit in a sub-object). Required: hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads (dividing num_attention_heads), intermediate_size, vocab_size,
// rope_theta, rms_norm_eps, and head_dim for Qwen3 (transformers' Qwen3Config would silently default it to
// 128). Optional: max_position_embeddings (32768), tie_word_embeddings (false), hidden_act (must be silu),
// attention_bias (Qwen3 / Llama, false). Refused: rope_scaling other than null / "default",
// use_sliding_window true (not implemented). Throws Error(ConfigInvalid) naming the key.
QwenConfig qwenConfig(const nlohmann::json &c, QwenVersion version, const std::string &where = "");

// Registers "model" (+ "lm_head" unless tied) under `parent` (e.g. the family's "llm" container) and returns
// them as a CausalLm.
nn::CausalLm buildQwenLm(torch::nn::Module &parent, const QwenConfig &config,
                         const torch::TensorOptions &options);

// ChatML terminators of the Qwen-based MiniCPM-V chats (MiniCPMV.terminators = ['<|im_end|>',
// '<|endoftext|>'], generate's eos_token_id): the ids of those the tokenizer has; Error(TokenizerInvalid)
// naming <|im_end|> when it has neither. `familyName` goes into the message.
std::vector<int64_t> qwenChatStopIds(const Tokenizer &tokenizer, const std::string &familyName);

} // namespace uhdlens::models
