// Internal: what the three family files share — config readers with typed errors, the common
// VisionLanguageModel plumbing (parameters, LM forward, dtype/device), and a prompt builder that encodes text
// runs between image slots the way the references' tokenizers do (each run separately).
#pragma once

#include "image_span.h"
#include "model_family.h"
#include "nn/layers.h"
#include "tokenizer.h"
#include "trainable_model.h"
#include "uhdlens/errors.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace uhdlens::models {

using json = nlohmann::json;

// --- config readers: Error(ConfigInvalid) naming the key ---------------------------------------------------------

inline const json *findKey(const json &c, const std::string &key)
{
    if (!c.is_object())
        return nullptr;
    auto it = c.find(key);
    return it == c.end() || it->is_null() ? nullptr : &*it;
}

inline int64_t cfgInt(const json &c, const std::string &key, std::optional<int64_t> fallback,
                      const std::string &where = "", int64_t minimum = 1)
{
    const std::string name = where.empty() ? key : where + "." + key;
    const json *v = findKey(c, key);
    if (!v) {
        if (!fallback)
            throw Error(ErrorCode::ConfigInvalid, "config.json: missing key '" + name + "'", name);
        return *fallback;
    }
    if (!v->is_number_integer() && !(v->is_number_float() && v->get<double>() == static_cast<int64_t>(v->get<double>())))
        throw Error(ErrorCode::ConfigInvalid, "config.json: key '" + name + "' must be an integer", name);
    const auto value = v->is_number_integer() ? v->get<int64_t>() : static_cast<int64_t>(v->get<double>());
    if (value < minimum || value > (int64_t(1) << 40))
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: key '" + name + "' = " + std::to_string(value) + " is out of range", name);
    return value;
}

inline double cfgNum(const json &c, const std::string &key, std::optional<double> fallback, const std::string &where = "")
{
    const std::string name = where.empty() ? key : where + "." + key;
    const json *v = findKey(c, key);
    if (!v) {
        if (!fallback)
            throw Error(ErrorCode::ConfigInvalid, "config.json: missing key '" + name + "'", name);
        return *fallback;
    }
    if (!v->is_number())
        throw Error(ErrorCode::ConfigInvalid, "config.json: key '" + name + "' must be a number", name);
    const double value = v->get<double>();
    if (!std::isfinite(value))
        throw Error(ErrorCode::ConfigInvalid, "config.json: key '" + name + "' must be finite", name);
    return value;
}

inline std::string cfgStr(const json &c, const std::string &key, std::optional<std::string> fallback,
                          const std::string &where = "")
{
    const std::string name = where.empty() ? key : where + "." + key;
    const json *v = findKey(c, key);
    if (!v) {
        if (!fallback)
            throw Error(ErrorCode::ConfigInvalid, "config.json: missing key '" + name + "'", name);
        return *fallback;
    }
    if (!v->is_string())
        throw Error(ErrorCode::ConfigInvalid, "config.json: key '" + name + "' must be a string", name);
    return v->get<std::string>();
}

inline bool cfgBool(const json &c, const std::string &key, bool fallback, const std::string &where = "")
{
    const std::string name = where.empty() ? key : where + "." + key;
    const json *v = findKey(c, key);
    if (!v)
        return fallback;
    if (!v->is_boolean())
        throw Error(ErrorCode::ConfigInvalid, "config.json: key '" + name + "' must be true or false", name);
    return v->get<bool>();
}

inline PixelNorm cfgPixelNorm(const json &c, const PixelNorm &fallback)
{
    PixelNorm n = fallback;
    for (const char *key : {"image_mean", "image_std"}) {
        const json *v = findKey(c, key);
        if (!v)
            continue;
        if (!v->is_array() || v->size() != 3)
            throw Error(ErrorCode::ConfigInvalid, std::string("config.json: key '") + key + "' must be 3 numbers", key);
        for (int i = 0; i < 3; ++i) {
            if (!(*v)[i].is_number())
                throw Error(ErrorCode::ConfigInvalid, std::string("config.json: key '") + key + "' must be 3 numbers", key);
            const float f = (*v)[i].get<float>();
            if (std::string(key) == "image_std" && !(f > 0))
                throw Error(ErrorCode::ConfigInvalid, "config.json: 'image_std' values must be positive", key);
            (std::string(key) == "image_mean" ? n.mean : n.std)[i] = f;
        }
    }
    return n;
}

// Reads a LLaMA-style language-model config (HF LlamaConfig / MiniCPMConfig keys) from `c`.
// Slicing settings of a family's config.json on top of `base` (the family's reference policy):
// scale_resolution, max_slice_nums and patch_size, which must equal the vision tower's patch.
// Throws ConfigInvalid naming the key.
inline SlicePolicy cfgSlicePolicy(const json &c, SlicePolicy base, int64_t defaultScale, int64_t defaultMaxSlices,
                                  int64_t visionPatch)
{
    base.scale = static_cast<int>(cfgInt(c, "scale_resolution", defaultScale));
    base.maxSlices = static_cast<int>(cfgInt(c, "max_slice_nums", defaultMaxSlices));
    base.patch = static_cast<int>(cfgInt(c, "patch_size", visionPatch));
    if (base.patch != visionPatch)
        throw Error(ErrorCode::ConfigInvalid, "config.json: 'patch_size' differs from the vision tower's patch size",
                    "patch_size");
    if (const auto why = base.validate(); !why.empty())
        throw Error(ErrorCode::ConfigInvalid, "config.json: slicing settings: " + why, "scale_resolution");
    return base;
}

// End of an answer: the tokenizer's </s> when it has one.
inline std::vector<int64_t> eosStopIds(const Tokenizer &tok)
{
    if (tok.eosId() >= 0)
        return {tok.eosId()};
    return {};
}

inline nn::LlamaOptions cfgLlama(const json &c, const std::string &where, double defaultEps)
{
    nn::LlamaOptions o;
    o.hidden = cfgInt(c, "hidden_size", std::nullopt, where);
    o.layers = cfgInt(c, "num_hidden_layers", std::nullopt, where);
    o.heads = cfgInt(c, "num_attention_heads", std::nullopt, where);
    o.kvHeads = cfgInt(c, "num_key_value_heads", o.heads, where);
    o.intermediate = cfgInt(c, "intermediate_size", std::nullopt, where);
    o.vocab = cfgInt(c, "vocab_size", std::nullopt, where);
    o.maxPositions = cfgInt(c, "max_position_embeddings", 2048, where);
    o.ropeTheta = cfgNum(c, "rope_theta", 10000.0, where);
    o.eps = cfgNum(c, "rms_norm_eps", defaultEps, where);
    if (o.hidden % o.heads != 0 || o.heads % o.kvHeads != 0 || (o.hidden / o.heads) % 2 != 0) {
        const std::string key = (where.empty() ? "" : where + ".") + "num_attention_heads";
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: hidden_size " + std::to_string(o.hidden) + ", num_attention_heads " +
                        std::to_string(o.heads) + " and num_key_value_heads " + std::to_string(o.kvHeads) +
                        " are inconsistent",
                    key);
    }
    if (!(o.eps > 0) || !(o.ropeTheta > 0))
        throw Error(ErrorCode::ConfigInvalid, "config.json: rms_norm_eps and rope_theta must be positive", where);
    return o;
}

// Perfect square side of a query count (8 for 64, 12 for 144), else Error(ConfigInvalid).
inline int64_t querySide(int64_t queries, const std::string &key)
{
    auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(queries))));
    if (side * side != queries)
        throw Error(ErrorCode::ConfigInvalid, "config.json: '" + key + "' must be a square number of queries", key);
    return side;
}

// --- shared plumbing --------------------------------------------------------------------------------------------

// Every family is trainable (trainable_model.h): the full-sequence forward and the readout are the shared LM's.
class FamilyBase : public VisionLanguageModel, public TrainableModel
{
public:
    FamilyBase(json config, const FamilyBuildOptions &options)
        : m_config(std::move(config)), m_root(std::make_shared<torch::nn::Module>()),
          m_tensorOptions(torch::TensorOptions().dtype(options.dtype).device(options.device))
    {
    }

    std::vector<std::pair<std::string, torch::Tensor>> namedParameters() const override
    {
        std::vector<std::pair<std::string, torch::Tensor>> out;
        for (const auto &p : m_root->named_parameters(true))
            out.emplace_back(p.key(), p.value());
        return out;
    }
    std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> namedModules() const override
    {
        std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> out;
        for (const auto &item : m_root->named_modules())
            out.emplace_back(item.key(), item.value());
        return out;
    }
    std::set<std::string> matrixParameterNames() const override
    {
        std::set<std::string> out;
        for (const auto &item : m_root->named_modules()) {
            const std::string prefix = item.key().empty() ? "" : item.key() + ".";
            const torch::nn::Module *m = item.value().get();
            if (dynamic_cast<const nn::LinearImpl *>(m))
                out.insert(prefix + "weight");
            else if (dynamic_cast<const nn::PackedMultiheadAttentionImpl *>(m))
                out.insert(prefix + "in_proj_weight");
            else if (dynamic_cast<const nn::LlamaModelImpl *>(m))
                out.insert(prefix + "embed_tokens.weight");
        }
        return out;
    }
    torch::Device device() const override { return m_lm.model->embed_tokens.device(); }
    // The compute dtype (matrices may be stored narrower: bf16 in mixed mode).
    torch::Dtype dtype() const override { return m_lm.model->computeDtype; }
    int contextLength() const override { return static_cast<int>(m_lm.model->opt.maxPositions); }
    int hiddenSize() const override { return static_cast<int>(m_lm.model->opt.hidden); }
    int64_t vocabSize() const override { return m_lm.model->opt.vocab; }
    const json &config() const override { return m_config; }
    TokenLayout layout() const override { return familyLayout(family()); } // the family table's row

    torch::Tensor embedTokens(const torch::Tensor &ids) const override
    {
        return m_lm.model->embed(ids.to(device(), torch::kLong));
    }
    torch::Tensor forward(const torch::Tensor &embeds, KVCache &cache) const override
    {
        return m_lm.forwardCached(embeds.to(dtype()), cache);
    }
    torch::Tensor forwardAll(const torch::Tensor &embeds, nn::AttentionCapture *capture) const override
    {
        return m_lm.forwardAll(embeds.to(dtype()), capture);
    }
    torch::Tensor forwardNormed(const torch::Tensor &embeds, nn::AttentionCapture *capture) const override
    {
        if (embeds.dim() != 3)
            throw Error(ErrorCode::InvalidArgument, "forwardNormed expects embeddings [B, T, D]");
        return m_lm.model->forward(embeds.to(dtype()), nullptr, capture);
    }
    torch::Tensor headLogits(const torch::Tensor &normed) const override
    {
        return m_lm.logits(normed.to(dtype()));
    }
    torch::Tensor readout(const torch::Tensor &hidden) const override
    {
        return m_lm.logits(m_lm.model->norm->forward(hidden.to(dtype())));
    }

protected:
    // Registers "model" + "lm_head" under `parent` (the family's prefix) and keeps them as the LM.
    // tiedEmbeddings (HF tie_word_embeddings): no lm_head; the logits use embed_tokens.weight (nn::CausalLm).
    void buildLm(torch::nn::Module &parent, const nn::LlamaOptions &o, bool tiedEmbeddings = false)
    {
        m_lm.model = parent.register_module("model", nn::LlamaModel(o, m_tensorOptions));
        if (!tiedEmbeddings)
            m_lm.lmHead =
                parent.register_module("lm_head", nn::Linear(o.hidden, o.vocab, false, m_tensorOptions));
    }
    torch::Tensor inputPixels(const torch::Tensor &pixels, const torch::Tensor &like) const
    {
        if (pixels.dim() != 4 || pixels.size(1) != 3)
            throw Error(ErrorCode::InvalidArgument, "encodeImages expects pixels [B, 3, H, W]");
        return pixels.to(like.device(), like.scalar_type());
    }
    // ViT over a batch of same-sized images, then `resample(features, patchRows, patchCols)`; both stages are
    // reported through the hook as "vision" and "resampler" (what uhdlens-cli encode --dump writes).
    template <class Vit, class Resample>
    torch::Tensor encodeThrough(const Vit &vit, const torch::Tensor &pixels, const TensorHook &hook,
                                Resample &&resample) const
    {
        const auto x = inputPixels(pixels, vit->patchWeight);
        const int64_t h = x.size(2) / vit->opt.patch, w = x.size(3) / vit->opt.patch;
        auto features = vit->forward(x);
        if (hook)
            hook("vision", features);
        auto tokens = resample(features, h, w);
        if (hook)
            hook("resampler", tokens);
        return tokens;
    }

    json m_config;
    std::shared_ptr<torch::nn::Module> m_root;
    torch::TensorOptions m_tensorOptions;
    nn::CausalLm m_lm;
};

// --- prompt building ----------------------------------------------------------------------------------------------

// Id of a piece the prompt layout needs; Error(TokenizerInvalid) naming it when the tokenizer lacks it.
inline int64_t requirePiece(const Tokenizer &tok, const std::vector<std::string> &spellings)
{
    for (const auto &s : spellings)
        if (tok.hasPiece(s))
            return tok.pieceToId(s);
    throw Error(ErrorCode::TokenizerInvalid,
                "tokenizer has no piece '" + spellings.front() + "' needed by the prompt layout",
                spellings.front());
}

// Collects a prompt as text runs and image slots. Text is buffered and encoded one run at a time (the text
// between two image slots), as Hugging Face's slow Llama tokenizer encodes the chunks between special tokens
// and LLaVA's tokenizer_image_token encodes the chunks between <image> placeholders. A literal "</s>" in text
// becomes the EOS id (it is a special token to the reference tokenizers). The text right after such a "</s>"
// gets SentencePiece's dummy-prefix space only with a legacy tokenizer (HF LlamaTokenizer legacy=True); with
// legacy=False (Vicuna v1.5, hence LLaVA-UHD) it is encoded without it ("</s>USER" -> "</s>", "U", "SER"...).
class PromptBuilder : private ImageSpanSink
{
public:
    explicit PromptBuilder(const Tokenizer &tok, bool legacyTokenizer = true)
        : m_tok(tok), m_legacy(legacyTokenizer)
    {
    }
    // Pieces that split text runs the way Hugging Face's slow tokenizer splits on its added tokens: each
    // occurrence in the text becomes that piece's id and the text around it is encoded separately (so
    // SentencePiece's dummy prefix starts every chunk). Pieces the tokenizer lacks are skipped. Without this
    // call only "</s>" is treated so (the LLaVA families' behaviour).
    void splitOn(const std::vector<std::string> &pieces)
    {
        m_specials.clear();
        for (const auto &p : pieces)
            if (m_tok.hasPiece(p))
                m_specials.push_back(p);
        m_splitOnSpecials = true;
    }
    void bos()
    {
        flush();
        if (m_tok.bosId() >= 0)
            push({m_tok.bosId()});
    }
    void text(const std::string &s) { m_pending += s; }
    void ids(const std::vector<int64_t> &ids)
    {
        flush();
        push(ids);
    }
    // The image span of `plan` in `layout` (image_span.h), marked in the prompt so its positions can be read
    // back (Prompt::imageSpanPositions): the one layout code that imagePositions() counts.
    void imageSpan(TokenLayout layout, const SlicePlan &plan)
    {
        flush();
        m_prompt.imageSpanBegin = m_mark;
        layImageSpan(layout, plan, *this);
        flush();
        m_prompt.imageSpanEnd = m_mark;
    }
    Prompt finish()
    {
        flush();
        return std::move(m_prompt);
    }

private:
    // ImageSpanSink: a piece is its id, text a chunk of its own (the references encode the text between special
    // pieces separately).
    void piece(const std::vector<std::string> &spellings) override { ids({requirePiece(m_tok, spellings)}); }
    void text(std::string_view s, int /*knownPositions*/) override
    {
        flush();
        m_pending = s;
        flush();
    }
    void image(int index) override
    {
        flush();
        PromptSegment seg;
        seg.imageIndex = index;
        m_prompt.segments.push_back(std::move(seg));
        ++m_mark.images;
    }

    void push(const std::vector<int64_t> &ids)
    {
        if (ids.empty())
            return;
        m_mark.textIds += static_cast<int64_t>(ids.size());
        if (m_prompt.segments.empty() || m_prompt.segments.back().imageIndex >= 0)
            m_prompt.segments.emplace_back();
        auto &dst = m_prompt.segments.back().ids;
        dst.insert(dst.end(), ids.begin(), ids.end());
    }
    void flush()
    {
        std::string run = std::move(m_pending);
        m_pending.clear();
        if (m_splitOnSpecials) {
            if (!run.empty())
                push(m_tok.encodeWithSpecials(run, m_specials));
            return;
        }
        static const std::string eos = "</s>";
        size_t pos = 0;
        while (!run.empty()) {
            const size_t hit = run.find(eos, pos);
            const std::string piece = run.substr(pos, hit == std::string::npos ? std::string::npos : hit - pos);
            if (!piece.empty())
                push(pos > 0 && !m_legacy ? m_tok.encodeNoDummyPrefix(piece) : m_tok.encode(piece));
            if (hit == std::string::npos)
                break;
            if (m_tok.eosId() >= 0)
                push({m_tok.eosId()});
            pos = hit + eos.size();
        }
    }

    const Tokenizer &m_tok;
    bool m_legacy = true;
    std::string m_pending;
    Prompt m_prompt;
    PromptMark m_mark; // positions pushed so far
    std::vector<std::string> m_specials;
    bool m_splitOnSpecials = false;
};

// Vicuna v1 (LLaVA conv_vicuna_v1, sep " ", sep2 "</s>"): "SYSTEM USER: <image>\nQ ASSISTANT: A</s>USER: ...".
// The image goes at the start of the first user message. `legacyTokenizer`: see PromptBuilder (it only changes
// the ids of follow-up turns, after "</s>").
inline Prompt vicunaPrompt(const Tokenizer &tok, const std::vector<Turn> &history, const std::string &question,
                           const std::function<void(PromptBuilder &)> &image, bool legacyTokenizer = true)
{
    PromptBuilder b(tok, legacyTokenizer);
    b.bos();
    b.text("A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
           "detailed, and polite answers to the user's questions. ");
    auto user = [&](const std::string &q, bool first) {
        b.text("USER: ");
        if (first) {
            image(b);
            b.text("\n");
        }
        b.text(q + " ASSISTANT:");
    };
    bool first = true;
    for (const auto &t : history) {
        user(t.question, first);
        first = false;
        b.text(" " + t.answer + "</s>");
    }
    user(question, first);
    return b.finish();
}

} // namespace uhdlens::models
