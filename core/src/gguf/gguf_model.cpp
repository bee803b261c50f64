// Model facts from GGUF metadata (torch-free). Key names are gguf-py's constants.py (Keys.LLM /
// Keys.Attention / Keys.Rope / Keys.Tokenizer and the clip.* keys of tools/mtmd/clip-impl.h); tensor names
// are constants.py's TENSOR_NAMES for the LLM and clip-impl.h's TN_* / the minicpmv converter's
// get_tensor_name() for the mmproj.
#include "gguf/gguf_model.h"

#include "uhdlens/errors.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace uhdlens::gguf {

namespace {

[[noreturn]] void configError(const GgufHeader &h, const std::string &reason, const std::string &subject)
{
    throw Error(ErrorCode::ConfigInvalid, "GGUF file '" + h.meta.source() + "': " + reason, subject);
}

const GgufTensorInfo &requireTensor(const GgufHeader &h, const std::string &name, size_t dims)
{
    const GgufTensorInfo *t = h.findTensor(name);
    if (!t)
        configError(h, "no tensor '" + name + "'", name);
    if (t->ne.size() != dims)
        configError(h,
                    "tensor '" + name + "' has " + std::to_string(t->ne.size()) + " dims, expected " +
                        std::to_string(dims),
                    name);
    return *t;
}

// The shortest decimal that reads back as `f` (1e-06, not 9.99999997e-07): GGUF stores f32 where config.json
// has the decimal the float came from.
double shortestDouble(float f)
{
    char buf[32];
    for (int precision = 6; precision < 10; ++precision) {
        std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(f));
        if (std::strtof(buf, nullptr) == f)
            break;
    }
    return std::strtod(buf, nullptr);
}

} // namespace

bool isSupportedLlmArchitecture(std::string_view arch)
{
    return arch == "qwen2" || arch == "qwen3" || arch == "llama";
}

nlohmann::json llmConfigJson(const GgufHeader &h)
{
    const Metadata &m = h.meta;
    const std::string arch = m.getString("general.architecture");
    if (!isSupportedLlmArchitecture(arch))
        throw Error(ErrorCode::UnknownFamily,
                    "GGUF file '" + m.source() + "': language-model architecture '" + arch +
                        "' is not supported (supported: qwen2, qwen3, llama)",
                    "general.architecture");
    const std::string p = arch + ".";
    const uint32_t hidden = m.getU32(p + "embedding_length");
    const uint32_t layers = m.getU32(p + "block_count");
    const uint32_t heads = m.getU32(p + "attention.head_count");
    // llama.cpp defaults head_count_kv to head_count (llama-model.cpp: hparams.n_head_kv_arr = n_head_arr).
    const uint32_t kvHeads = m.optU32(p + "attention.head_count_kv").value_or(heads);
    const uint32_t ffn = m.getU32(p + "feed_forward_length");
    const float eps = m.getF32(p + "attention.layer_norm_rms_epsilon");
    // llama.cpp's default rope base when the file names none (llama-model.cpp: rope_freq_base_train = 10000).
    const float ropeTheta = m.optF32(p + "rope.freq_base").value_or(10000.0f);
    if (heads == 0)
        configError(h, "'" + p + "attention.head_count' is 0", p + "attention.head_count");
    const uint32_t headDim = m.optU32(p + "attention.key_length").value_or(hidden / heads);
    if (const auto vl = m.optU32(p + "attention.value_length"); vl && *vl != headDim)
        configError(
            h, "value_length " + std::to_string(*vl) + " differs from key_length " + std::to_string(headDim),
            p + "attention.value_length");
    if (const auto st = m.optString(p + "rope.scaling.type"); st && *st != "none")
        configError(h, "rope scaling '" + *st + "' is not supported", p + "rope.scaling.type");
    const GgufTensorInfo &embd = requireTensor(h, "token_embd.weight", 2);
    if (embd.ne[0] != hidden)
        configError(h,
                    "token_embd.weight has rows of " + std::to_string(embd.ne[0]) + ", embedding_length is " +
                        std::to_string(hidden),
                    "token_embd.weight");

    nlohmann::json c;
    c["model_type"] = arch;
    c["hidden_size"] = hidden;
    c["num_hidden_layers"] = layers;
    c["num_attention_heads"] = heads;
    c["num_key_value_heads"] = kvHeads;
    c["intermediate_size"] = ffn;
    c["vocab_size"] = embd.ne[1];
    c["rope_theta"] = shortestDouble(ropeTheta);
    c["rms_norm_eps"] = shortestDouble(eps);
    c["head_dim"] = headDim;
    c["max_position_embeddings"] = m.optU32(p + "context_length").value_or(32768);
    c["tie_word_embeddings"] = h.findTensor("output.weight") == nullptr;
    c["attention_bias"] = h.findTensor("blk.0.attn_q.bias") != nullptr;
    c["hidden_act"] = "silu";
    c["rope_scaling"] = nullptr;
    if (arch == "qwen2")
        c["use_sliding_window"] = false;
    return c;
}

nlohmann::json mmprojVisionConfigJson(const GgufHeader &h)
{
    const Metadata &m = h.meta;
    const std::string arch = m.getString("general.architecture");
    if (arch != "clip")
        throw Error(ErrorCode::UnknownFamily,
                    "GGUF file '" + m.source() + "' is not an mmproj file (general.architecture is '" + arch +
                        "', expected 'clip')",
                    "general.architecture");
    const std::string projector = m.getString("clip.projector_type");
    if (projector != "resampler")
        throw Error(ErrorCode::UnknownFamily,
                    "GGUF file '" + m.source() + "': projector type '" + projector +
                        "' is not supported (MiniCPM-V's 'resampler' is)",
                    "clip.projector_type");
    const int32_t version = m.getI32("clip.minicpmv_version");
    // minicpmv-convert-image-encoder-to-gguf.py: 1 MiniCPM-V 2.0, 2 2.5 (Idefics2 tower), 3 2.6, 4
    // MiniCPM-o 2.6, 5 4.0, 6 4.5. 2.6 and 4.5 share the SigLIP tower + resampler of readMiniCpmV26Vision.
    if (version != 3 && version != 6)
        throw Error(ErrorCode::UnknownFamily,
                    "GGUF file '" + m.source() + "': MiniCPM-V projector version " + std::to_string(version) +
                        " is not supported (3 = MiniCPM-V 2.6 and 6 = MiniCPM-V 4.5 are)",
                    "clip.minicpmv_version");
    const uint32_t patch = m.getU32("clip.vision.patch_size");
    const uint32_t layers = m.getU32("clip.vision.block_count");
    const GgufTensorInfo &query = requireTensor(h, "resampler.query", 2); // [Q, E] in torch order
    const GgufTensorInfo &pos = requireTensor(h, "v.position_embd.weight", 2);
    const int64_t cells = pos.ne[1];
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(cells))));
    if (side * side != cells || patch == 0)
        configError(h, "v.position_embd.weight has " + std::to_string(cells) + " rows, not a square grid",
                    "v.position_embd.weight");
    if (layers == 0)
        configError(h, "'clip.vision.block_count' is 0", "clip.vision.block_count");
    requireTensor(h, "v.blk." + std::to_string(layers - 1) + ".attn_q.weight", 2);
    if (h.findTensor("v.blk." + std::to_string(layers) + ".attn_q.weight"))
        configError(
            h, "the file has more vision blocks than clip.vision.block_count = " + std::to_string(layers),
            "clip.vision.block_count");
    const uint32_t queries = m.optU32("clip.minicpmv_query_num").value_or(0) > 0
                                 ? m.getU32("clip.minicpmv_query_num")
                                 : static_cast<uint32_t>(query.ne[1]);
    if (queries != query.ne[1])
        configError(h,
                    "clip.minicpmv_query_num " + std::to_string(queries) + " but resampler.query has " +
                        std::to_string(query.ne[1]) + " rows",
                    "clip.minicpmv_query_num");

    nlohmann::json vc;
    vc["hidden_size"] = m.getU32("clip.vision.embedding_length");
    vc["num_attention_heads"] = m.getU32("clip.vision.attention.head_count");
    vc["intermediate_size"] = m.getU32("clip.vision.feed_forward_length");
    vc["num_hidden_layers"] = layers;
    vc["patch_size"] = patch;
    vc["image_size"] = side * patch;
    vc["layer_norm_eps"] = shortestDouble(m.getF32("clip.vision.attention.layer_norm_epsilon"));
    // clip.use_gelu (the converter always writes true): ggml_gelu is the tanh approximation.
    if (!m.optBool("clip.use_gelu").value_or(true))
        configError(h, "clip.use_gelu false (quick-gelu towers) is not supported", "clip.use_gelu");
    vc["hidden_act"] = "gelu_pytorch_tanh";
    vc["model_type"] = "siglip_vision_model";

    nlohmann::json c;
    c["hidden_size"] = query.ne[0];
    c["query_num"] = queries;
    c["image_feature_size"] = queries;
    c["drop_vision_last_layer"] = false;
    c["vision_config"] = vc;
    c["patch_size"] = patch;
    c["scale_resolution"] = m.getU32("clip.vision.image_size");
    c["max_slice_nums"] = 9; // clip.cpp / mtmd: MiniCPM-V slicing with max_slice_nums 9
    const std::vector<float> mean = m.getF32Array("clip.vision.image_mean");
    const std::vector<float> stdv = m.getF32Array("clip.vision.image_std");
    if (mean.size() != 3 || stdv.size() != 3)
        configError(h, "clip.vision.image_mean / image_std must have 3 values", "clip.vision.image_mean");
    c["norm_mean"] = mean;
    c["norm_std"] = stdv;
    c["use_image_id"] = true;
    c["slice_mode"] = true;
    c["minicpmv_version"] = version;
    return c;
}

// --- tensor names
// ---------------------------------------------------------------------------------------------

namespace {

struct NameRow
{
    std::string_view gguf; // "{bid}" stands for the block number
    std::string_view hf;
    Transform transform;
};

// LLM: gguf-py constants.py MODEL_TENSOR names -> transformers' Qwen2/Qwen3/LlamaForCausalLM state dict.
constexpr NameRow kLlmNames[] = {
    {"token_embd.weight", "model.embed_tokens.weight", Transform::None},
    {"output_norm.weight", "model.norm.weight", Transform::None},
    {"output.weight", "lm_head.weight", Transform::None},
    {"blk.{bid}.attn_norm.weight", "model.layers.{bid}.input_layernorm.weight", Transform::None},
    {"blk.{bid}.attn_q.weight", "model.layers.{bid}.self_attn.q_proj.weight", Transform::LlamaPermuteQ},
    {"blk.{bid}.attn_q.bias", "model.layers.{bid}.self_attn.q_proj.bias", Transform::LlamaPermuteQ},
    {"blk.{bid}.attn_k.weight", "model.layers.{bid}.self_attn.k_proj.weight", Transform::LlamaPermuteK},
    {"blk.{bid}.attn_k.bias", "model.layers.{bid}.self_attn.k_proj.bias", Transform::LlamaPermuteK},
    {"blk.{bid}.attn_v.weight", "model.layers.{bid}.self_attn.v_proj.weight", Transform::None},
    {"blk.{bid}.attn_v.bias", "model.layers.{bid}.self_attn.v_proj.bias", Transform::None},
    {"blk.{bid}.attn_output.weight", "model.layers.{bid}.self_attn.o_proj.weight", Transform::None},
    {"blk.{bid}.attn_output.bias", "model.layers.{bid}.self_attn.o_proj.bias", Transform::None},
    {"blk.{bid}.attn_q_norm.weight", "model.layers.{bid}.self_attn.q_norm.weight", Transform::None},
    {"blk.{bid}.attn_k_norm.weight", "model.layers.{bid}.self_attn.k_norm.weight", Transform::None},
    {"blk.{bid}.ffn_norm.weight", "model.layers.{bid}.post_attention_layernorm.weight", Transform::None},
    {"blk.{bid}.ffn_gate.weight", "model.layers.{bid}.mlp.gate_proj.weight", Transform::None},
    {"blk.{bid}.ffn_up.weight", "model.layers.{bid}.mlp.up_proj.weight", Transform::None},
    {"blk.{bid}.ffn_down.weight", "model.layers.{bid}.mlp.down_proj.weight", Transform::None},
};

// mmproj of MiniCPM-V (tools/mtmd/legacy-models/minicpmv-convert-image-encoder-to-gguf.py's get_tensor_name
// and _replace_name_resampler; clip-impl.h's TN_* as clip.cpp loads them) -> the HF checkpoint (vpm.*,
// resampler.*). Note the converter's swapped MLP names: mlp.fc1 becomes ffn_down, mlp.fc2 ffn_up.
constexpr NameRow kMmprojNames[] = {
    {"v.patch_embd.weight", "vpm.embeddings.patch_embedding.weight", Transform::None},
    {"v.patch_embd.bias", "vpm.embeddings.patch_embedding.bias", Transform::None},
    {"v.position_embd.weight", "vpm.embeddings.position_embedding.weight", Transform::None},
    {"v.blk.{bid}.ln1.weight", "vpm.encoder.layers.{bid}.layer_norm1.weight", Transform::None},
    {"v.blk.{bid}.ln1.bias", "vpm.encoder.layers.{bid}.layer_norm1.bias", Transform::None},
    {"v.blk.{bid}.attn_q.weight", "vpm.encoder.layers.{bid}.self_attn.q_proj.weight", Transform::None},
    {"v.blk.{bid}.attn_q.bias", "vpm.encoder.layers.{bid}.self_attn.q_proj.bias", Transform::None},
    {"v.blk.{bid}.attn_k.weight", "vpm.encoder.layers.{bid}.self_attn.k_proj.weight", Transform::None},
    {"v.blk.{bid}.attn_k.bias", "vpm.encoder.layers.{bid}.self_attn.k_proj.bias", Transform::None},
    {"v.blk.{bid}.attn_v.weight", "vpm.encoder.layers.{bid}.self_attn.v_proj.weight", Transform::None},
    {"v.blk.{bid}.attn_v.bias", "vpm.encoder.layers.{bid}.self_attn.v_proj.bias", Transform::None},
    {"v.blk.{bid}.attn_out.weight", "vpm.encoder.layers.{bid}.self_attn.out_proj.weight", Transform::None},
    {"v.blk.{bid}.attn_out.bias", "vpm.encoder.layers.{bid}.self_attn.out_proj.bias", Transform::None},
    {"v.blk.{bid}.ln2.weight", "vpm.encoder.layers.{bid}.layer_norm2.weight", Transform::None},
    {"v.blk.{bid}.ln2.bias", "vpm.encoder.layers.{bid}.layer_norm2.bias", Transform::None},
    {"v.blk.{bid}.ffn_down.weight", "vpm.encoder.layers.{bid}.mlp.fc1.weight", Transform::None},
    {"v.blk.{bid}.ffn_down.bias", "vpm.encoder.layers.{bid}.mlp.fc1.bias", Transform::None},
    {"v.blk.{bid}.ffn_up.weight", "vpm.encoder.layers.{bid}.mlp.fc2.weight", Transform::None},
    {"v.blk.{bid}.ffn_up.bias", "vpm.encoder.layers.{bid}.mlp.fc2.bias", Transform::None},
    {"v.post_ln.weight", "vpm.post_layernorm.weight", Transform::None},
    {"v.post_ln.bias", "vpm.post_layernorm.bias", Transform::None},
    {"resampler.query", "resampler.query", Transform::None},
    {"resampler.kv.weight", "resampler.kv_proj.weight", Transform::None},
    {"resampler.attn.q.weight", "resampler.attn.in_proj_weight", Transform::InProjQ},
    {"resampler.attn.k.weight", "resampler.attn.in_proj_weight", Transform::InProjK},
    {"resampler.attn.v.weight", "resampler.attn.in_proj_weight", Transform::InProjV},
    {"resampler.attn.q.bias", "resampler.attn.in_proj_bias", Transform::InProjQ},
    {"resampler.attn.k.bias", "resampler.attn.in_proj_bias", Transform::InProjK},
    {"resampler.attn.v.bias", "resampler.attn.in_proj_bias", Transform::InProjV},
    {"resampler.attn.out.weight", "resampler.attn.out_proj.weight", Transform::None},
    {"resampler.attn.out.bias", "resampler.attn.out_proj.bias", Transform::None},
    {"resampler.ln_q.weight", "resampler.ln_q.weight", Transform::None},
    {"resampler.ln_q.bias", "resampler.ln_q.bias", Transform::None},
    {"resampler.ln_kv.weight", "resampler.ln_kv.weight", Transform::None},
    {"resampler.ln_kv.bias", "resampler.ln_kv.bias", Transform::None},
    {"resampler.ln_post.weight", "resampler.ln_post.weight", Transform::None},
    {"resampler.ln_post.bias", "resampler.ln_post.bias", Transform::None},
    {"resampler.proj.weight", "resampler.proj", Transform::Transpose},
    {"resampler.pos_embed_k", "", Transform::Derived},
};

// "blk.12.attn_q.weight" -> ("blk.{bid}.attn_q.weight", "12") for prefix "blk." / "v.blk.".
std::pair<std::string, std::string> splitBlock(std::string_view name)
{
    for (std::string_view prefix : {std::string_view("blk."), std::string_view("v.blk.")}) {
        if (name.substr(0, prefix.size()) != prefix)
            continue;
        size_t i = prefix.size();
        while (i < name.size() && name[i] >= '0' && name[i] <= '9')
            ++i;
        if (i == prefix.size() || i >= name.size() || name[i] != '.' || i - prefix.size() > 6 ||
            (name[prefix.size()] == '0' && i - prefix.size() > 1))
            break;
        return {std::string(prefix) + "{bid}" + std::string(name.substr(i)),
                std::string(name.substr(prefix.size(), i - prefix.size()))};
    }
    return {std::string(name), {}};
}

} // namespace

std::optional<MappedName> mapTensorName(FileKind kind, std::string_view ggufName, std::string_view arch)
{
    // (not a structured binding: clang 14, the fuzz build's compiler, cannot capture those in a lambda)
    const std::pair<std::string, std::string> split = splitBlock(ggufName);
    const std::string &pattern = split.first, &bid = split.second;
    auto lookup = [&](const auto &rows) -> std::optional<MappedName> {
        for (const NameRow &r : rows) {
            if (r.gguf != pattern)
                continue;
            MappedName m;
            m.transform = r.transform;
            if ((m.transform == Transform::LlamaPermuteQ || m.transform == Transform::LlamaPermuteK) &&
                arch != "llama")
                m.transform = Transform::None;
            std::string hf(r.hf);
            if (const size_t at = hf.find("{bid}"); at != std::string::npos)
                hf.replace(at, 5, bid);
            m.hf = std::move(hf);
            return m;
        }
        return std::nullopt;
    };
    return kind == FileKind::Llm ? lookup(kLlmNames) : lookup(kMmprojNames);
}

// --- tokenizer
// ------------------------------------------------------------------------------------------------

namespace {

[[noreturn]] void tokError(const Metadata &m, const std::string &reason, const std::string &key)
{
    throw Error(ErrorCode::TokenizerInvalid, "GGUF file '" + m.source() + "': " + reason, key);
}

struct PreTokenizer
{
    std::string_view name;
    std::string_view pattern; // empty: bpe_tokenizer.cpp's own pattern of that name
    bool nfc;
    bool ignoreMerges;
};

// llama.cpp src/llama-vocab.cpp (llm_tokenizer_bpe's regex_exprs and the tokenizer_pre -> pre_type table).
// llama.cpp runs smollm's two expressions one after the other ("\p{N}" isolating single digits, then the
// GPT-2 one on each piece); here that is one expression with the same pieces: digits alone first, and
// whitespace before a digit taken whole (the GPT-2 "\s+(?!\S)" would see the digit that the first split
// had already cut off).
constexpr PreTokenizer kPreTokenizers[] = {
    {"qwen2", "", true, false},
    {"deepseek-r1-qwen", "", true, false},
    {"llama-bpe",
     "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     false, true},
    {"llama3", "", false, true}, // alias of llama-bpe (resolved below)
    {"gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", false, false},
    {"gpt-2", "", false, false}, // alias of gpt2
    {"smollm", "\\p{N}|'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?=\\p{N})|\\s+(?!\\S)",
     false, false},
};

const PreTokenizer *findPre(std::string_view name)
{
    if (name == "llama3")
        name = "llama-bpe";
    if (name == "gpt-2")
        name = "gpt2";
    for (const auto &p : kPreTokenizers)
        if (p.name == name)
            return &p;
    return nullptr;
}

} // namespace

BpeSpec ggufBpeSpec(const Metadata &m)
{
    const std::string kModel = "tokenizer.ggml.model";
    if (!m.has(kModel))
        tokError(
            m,
            "no tokenizer metadata (tokenizer.ggml.model is missing); this file cannot be used without a "
            "tokenizer",
            kModel);
    const Value &model = *m.find(kModel);
    if (model.type != ValueType::String)
        tokError(m, "tokenizer.ggml.model is " + valueTypeName(model.type) + ", expected a string", kModel);
    if (model.str == "llama")
        tokError(
            m,
            "tokenizer model 'llama' (SentencePiece scores) is not supported yet; byte-level BPE ('gpt2') "
            "is",
            kModel);
    if (model.str != "gpt2")
        tokError(m, "tokenizer model '" + model.str + "' is not supported (byte-level BPE 'gpt2' is)",
                 kModel);
    const std::string pre = m.optString("tokenizer.ggml.pre").value_or("default");
    const PreTokenizer *p = findPre(pre);
    if (!p) {
        std::string known;
        for (const auto &k : kPreTokenizers)
            known += (known.empty() ? "" : ", ") + std::string(k.name);
        tokError(m, "pre-tokenizer '" + pre + "' is not supported (known: " + known + ")",
                 "tokenizer.ggml.pre");
    }
    // Type errors of the lists come back as ConfigInvalid from Metadata; a tokenizer problem is
    // TokenizerInvalid.
    std::vector<std::string> tokens, merges;
    std::vector<int32_t> types;
    try {
        tokens = m.getStringArray("tokenizer.ggml.tokens");
        types = m.has("tokenizer.ggml.token_type") ? m.getI32Array("tokenizer.ggml.token_type")
                                                   : std::vector<int32_t>(tokens.size(), 1);
        merges = m.getStringArray("tokenizer.ggml.merges");
    } catch (const Error &e) {
        tokError(m, e.what(), e.subject());
    }
    if (tokens.empty())
        tokError(m, "tokenizer.ggml.tokens is empty", "tokenizer.ggml.tokens");
    // The qwen2 rows (empty pattern) use bpe_tokenizer.cpp's own Qwen2 pattern by name.
    BpeSpec spec = bpeSpecFromTokenList(tokens, types, merges, "qwen2", m.source());
    spec.pattern = std::string(p->pattern);
    spec.nfc = p->nfc;
    spec.ignoreMerges = p->ignoreMerges;
    auto special = [&](const char *key, std::string &out) {
        if (!m.has(key))
            return;
        uint32_t id = 0;
        try {
            id = m.getU32(key);
        } catch (const Error &e) {
            tokError(m, e.what(), key);
        }
        if (id >= tokens.size())
            tokError(m,
                     std::string(key) + " " + std::to_string(id) + " is not a token id (the vocabulary has " +
                         std::to_string(tokens.size()) + ")",
                     key);
        if (id < types.size() && types[id] == 5)
            return; // an unused padding row ("[PAD151643]") has no token to name
        out = tokens[id];
    };
    special("tokenizer.ggml.bos_token_id", spec.bosToken);
    special("tokenizer.ggml.eos_token_id", spec.eosToken);
    special("tokenizer.ggml.padding_token_id", spec.padToken);
    special("tokenizer.ggml.unknown_token_id", spec.unkToken);
    return spec;
}

ChatFormat ggufChatFormat(const Metadata &m, const std::vector<std::string> &tokens)
{
    const std::string key = "tokenizer.chat_template";
    const auto has = [&](const char *t) {
        return std::find(tokens.begin(), tokens.end(), t) != tokens.end();
    };
    const bool chatmlTokens = has("<|im_start|>") && has("<|im_end|>");
    ChatFormat f;
    const std::optional<std::string> tpl = m.optString(key);
    if (!tpl) {
        if (!chatmlTokens)
            tokError(m,
                     "no tokenizer.chat_template and no <|im_start|> / <|im_end|> tokens: the chat format of "
                     "this model is unknown",
                     key);
        f.source = "ChatML (no tokenizer.chat_template)";
        return f;
    }
    // The message and generation-prompt pieces of ChatML, as the templates spell them (whitespace inside the
    // Jinja expressions varies; the literals do not).
    auto squeeze = [](std::string s) {
        s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == ' '; }), s.end());
        return s;
    };
    const std::string t = squeeze(*tpl);
    auto contains = [&](const std::string &needle) { return t.find(squeeze(needle)) != std::string::npos; };
    const bool message =
        (contains("'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'") ||
         contains("'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'") ||
         contains("'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\\n'") ||
         contains("'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'"));
    const bool generation = contains("'<|im_start|>assistant\n'") || contains("'<|im_start|>assistant\\n'");
    // Anything that could add text per message (tools, images, thinking) is another template.
    const bool extra =
        contains("tool") || contains("image") || contains("think") || contains("raise_exception");
    if (!message || !generation || extra)
        tokError(m,
                 "tokenizer.chat_template is not a plain ChatML template (only ChatML is rendered without a "
                 "Jinja engine)",
                 key);
    // The default system message: the literal the template writes when messages[0] is not a system message.
    const std::string open = "'<|im_start|>system";
    const size_t at = tpl->find(open);
    if (at != std::string::npos && tpl->find("messages[0]['role'] != 'system'") != std::string::npos) {
        size_t i = at + open.size();
        std::string text;
        // The Jinja string literal: a real newline, or the escape \n.
        for (; i < tpl->size() && (*tpl)[i] != '\''; ++i) {
            if ((*tpl)[i] == '\\' && i + 1 < tpl->size()) {
                const char e = (*tpl)[++i];
                text += e == 'n' ? '\n' : e;
            } else {
                text += (*tpl)[i];
            }
        }
        const std::string head = "\n", tail = "<|im_end|>\n";
        if (text.size() < head.size() + tail.size() || text.compare(0, head.size(), head) != 0 ||
            text.compare(text.size() - tail.size(), tail.size(), tail) != 0)
            tokError(m, "tokenizer.chat_template's default system message is not one ChatML turn", key);
        f.defaultSystem = text.substr(head.size(), text.size() - head.size() - tail.size());
    }
    f.source = key;
    return f;
}

} // namespace uhdlens::gguf
