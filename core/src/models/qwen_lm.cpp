// Qwen2 / Qwen3 language models (see qwen_lm.h).
#include "models/qwen_lm.h"

#include "models/family_common.h" // cfgInt, cfgNum, cfgStr, cfgBool
#include "tokenizer.h"

namespace uhdlens::models {

namespace {

[[noreturn]] void invalid(const std::string &where, const std::string &key, const std::string &why)
{
    const std::string name = where.empty() ? key : where + "." + key;
    throw Error(ErrorCode::ConfigInvalid, "config.json: key '" + name + "' " + why, name);
}

} // namespace

QwenConfig qwenConfig(const json &c, QwenVersion version, const std::string &where)
{
    QwenConfig q;
    q.version = version;
    nn::LlamaOptions &o = q.options;
    o.hidden = cfgInt(c, "hidden_size", std::nullopt, where);
    o.layers = cfgInt(c, "num_hidden_layers", std::nullopt, where);
    o.heads = cfgInt(c, "num_attention_heads", std::nullopt, where);
    // Required although transformers has defaults: Qwen2Config's is 32 key/value heads, Qwen3Config's
    // head_dim 128; a config without them is not one of the real checkpoints, and guessing would load wrong
    // shapes.
    o.kvHeads = cfgInt(c, "num_key_value_heads", std::nullopt, where);
    if (o.heads % o.kvHeads != 0)
        invalid(where, "num_key_value_heads",
                "= " + std::to_string(o.kvHeads) +
                    " does not divide num_attention_heads = " + std::to_string(o.heads));
    o.intermediate = cfgInt(c, "intermediate_size", std::nullopt, where);
    o.vocab = cfgInt(c, "vocab_size", std::nullopt, where);
    o.maxPositions = cfgInt(c, "max_position_embeddings", 32768, where);
    if (version == QwenVersion::Qwen3) {
        o.headDim = cfgInt(c, "head_dim", std::nullopt, where);
    } else {
        // Qwen2Attention: getattr(config, "head_dim", hidden_size // num_attention_heads).
        if (findKey(c, "head_dim"))
            o.headDim = cfgInt(c, "head_dim", std::nullopt, where);
        else if (o.hidden % o.heads != 0)
            invalid(where, "num_attention_heads",
                    "= " + std::to_string(o.heads) +
                        " does not divide hidden_size = " + std::to_string(o.hidden));
    }
    if (o.headSize() % 2 != 0)
        invalid(where, version == QwenVersion::Qwen3 || o.headDim > 0 ? "head_dim" : "num_attention_heads",
                "gives an odd head width " + std::to_string(o.headSize()) + " (rotary needs an even one)");
    o.ropeTheta = cfgNum(c, "rope_theta", std::nullopt, where);
    if (!(o.ropeTheta > 0))
        invalid(where, "rope_theta", "must be positive");
    o.eps = cfgNum(c, "rms_norm_eps", std::nullopt, where);
    if (!(o.eps > 0) || o.eps >= 1)
        invalid(where, "rms_norm_eps", "must be in (0, 1)");
    const std::string act = cfgStr(c, "hidden_act", "silu", where);
    if (act != "silu" && act != "swish")
        invalid(where, "hidden_act", "= '" + act + "': Qwen's MLP is SwiGLU (silu)");
    if (const json *rs = findKey(c, "rope_scaling")) {
        // transformers' "default" rope type is the plain rotary; yarn / dynamic / linear are not implemented.
        std::string type;
        if (rs->is_object()) {
            const json *t = findKey(*rs, "rope_type") ? findKey(*rs, "rope_type") : findKey(*rs, "type");
            type = t && t->is_string() ? t->get<std::string>() : "";
        }
        if (type != "default")
            invalid(where, "rope_scaling", "is not supported (only null or rope_type \"default\")");
    }
    if (cfgBool(c, "use_sliding_window", false, where))
        invalid(where, "use_sliding_window",
                "= true is not supported (every layer attends to the whole context)");
    if (version == QwenVersion::Qwen2) {
        o.qkvBias = true; // Qwen2Attention: q/k/v_proj bias=True, o_proj bias=False
    } else if (version == QwenVersion::Llama) {
        const bool bias = cfgBool(c, "attention_bias", false, where); // LlamaAttention: all four projections
        o.qkvBias = bias;
        o.oBias = bias;
        if (cfgBool(c, "mlp_bias", false, where))
            invalid(where, "mlp_bias", "= true is not supported (the SwiGLU MLP has no biases)");
    } else {
        const bool bias = cfgBool(c, "attention_bias", false, where); // Qwen3Attention: all four projections
        o.qkvBias = bias;
        o.oBias = bias;
        o.qkNorm = true;
    }
    q.tieEmbeddings = cfgBool(c, "tie_word_embeddings", false, where);
    return q;
}

nn::CausalLm buildQwenLm(torch::nn::Module &parent, const QwenConfig &config,
                         const torch::TensorOptions &options)
{
    const nn::LlamaOptions &o = config.options;
    nn::CausalLm lm;
    lm.model = parent.register_module("model", nn::LlamaModel(o, options));
    if (!config.tieEmbeddings)
        lm.lmHead = parent.register_module("lm_head", nn::Linear(o.hidden, o.vocab, false, options));
    return lm;
}

std::vector<int64_t> qwenChatStopIds(const Tokenizer &tokenizer, const std::string &familyName)
{
    std::vector<int64_t> ids;
    for (const char *t : {"<|im_end|>", "<|endoftext|>"})
        if (tokenizer.hasPiece(t))
            ids.push_back(tokenizer.pieceToId(t));
    if (ids.empty())
        throw Error(ErrorCode::TokenizerInvalid,
                    "tokenizer has neither <|im_end|> nor <|endoftext|>: " + familyName + " stops on them",
                    "<|im_end|>");
    return ids;
}

} // namespace uhdlens::models
