// "uhd-paper": LLaVA-UHD as the paper describes it (arXiv 2403.11703, spec §4.2), in sizes from config — the
// family UHD Lens trains its own default model in (issue 5), so everything here also runs under autograd.
//
// config.json (our own format; every key documented in tinyUhdPaper() below):
//   model_type "uhd-paper"; vision_config {hidden_size, num_hidden_layers, num_attention_heads,
//   intermediate_size, image_size, patch_size, layer_norm_eps, hidden_act}; text_config {LlamaConfig keys};
//   query_num (a square, 64 = 8x8 in the paper), resampler_num_heads, scale_resolution, patch_size,
//   max_slice_nums, slice_mode ("llava-uhd" floor rounding | "minicpmv" half-to-even), image_mean, image_std,
//   resampler_attention: "global" (default; the arXiv paper: every query attends to every patch) or "spatial"
//   (the authors' ECCV refinement, spec §3 UHD-ECCV: query (r, c) attends only to RoIAlign samples of its
//   own box of the slice, key positions the query grid's sin-cos table fitted to the slice). Same tensors.
//   vision_config.patch_embed: "linear" (default; the ViT's plain patchify) or "conv" (UHD Lens's own option
//   for models trained from scratch: a convolutional stem, vision_config.stem_channels [c1, c2], default
//   [32, 64]; tensors vision.patch_embed.stem.{0,1}.{weight,bias}, and patch_embed.proj becomes a 1x1 conv;
//   vision_config.stem_norm "none" (default) or "group": a GroupNorm after each stem convolution, tensors
//   vision.patch_embed.stem.{0,1}.norm.{weight,bias}).
//   vision_config.model_type: "vit" (default; the timm names below) or "dinov2" (a pretrained DINOv2 tower
//   under transformers' Dinov2Model names: vision.embeddings.{cls_token, position_embeddings,
//   patch_embeddings.projection}, vision.encoder.layer.i.{norm1, attention.attention.{query,key,value},
//   attention.output.dense, layer_scale1.lambda1, norm2, mlp.fc1, mlp.fc2, layer_scale2.lambda1},
//   vision.layernorm; image_size is the size its position table was trained at (518 for DINOv2: 37x37), the
//   slices' size is scale_resolution; the CLS row is dropped after the final LayerNorm, the table
//   bicubic-fitted without antialiasing — nn::VitNaming::HfDinov2, the weights of the base encoder come from
//   core/src/onnx/).
// Checkpoint names:
//   vision.*     timm-style ViT: patch_embed.proj, pos_embed [1, G*G, C] (bicubic fit, no antialias, as the
//                CLIP encoder the paper uses), blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1,
//                mlp.fc2}, norm (applied: all blocks + final LayerNorm)
//   resampler.*  ONE shared perceiver resampler for every slice and the overview: query, kv_proj (when the
//                widths differ), attn.{in_proj_weight, in_proj_bias, out_proj}, ln_q, ln_kv, ln_post, proj.
//                Query positions: fixed sincos(D, 8, 8) computed, not stored; key positions: fresh
//                sincos(D, h, w) per image (MiniCPM-V's "adaptive" rule, so any slice shape works), or with
//                spatial attention sincos(D, 8, 8) bicubic-fitted to (h, w)
//   llm.model.*, llm.lm_head.weight   LLaMA
// chat_template: "vicuna" (default) or "chatml" (an instruct LLM's ChatML turns, system_message as the system
// turn; the tokenizer must have <|im_start|> / <|im_end|>); text_config.tie_word_embeddings: no llm.lm_head
// (the logits use the token embedding), as SmolLM2. lora {rank, alpha, modules}: low-rank adapters on the
// decoder's linear layers (addAdapters below). base_weights (core/src/base_weights.h): parts read from
// the installed pretrained files instead of the folder. Prompt: Vicuna v1 template; the image is the spatial
// schema of §4.1/§4.2 — slices row by row, "," between slices of a row, "\n" after every row — with the
// overview LAST, as the LLaVA-UHD release orders it: the final "\n" then separates the slice grid from the
// overview, and the position count is 64·(N+1) + N, the count imagePositions() gives for
// TokenLayout::LlavaUhdPaper (the same span code, image_span.cpp).
#include "models/families.h"

#include <set>

namespace uhdlens::models {

namespace {

class UhdPaper final : public FamilyBase
{
public:
    UhdPaper(const json &config, const FamilyBuildOptions &options) : FamilyBase(config, options)
    {
        const json &c = m_config;
        const json *vcp = findKey(c, "vision_config");
        const json *tcp = findKey(c, "text_config");
        if (!vcp || !vcp->is_object())
            throw Error(ErrorCode::ConfigInvalid, "config.json: missing object 'vision_config'", "vision_config");
        if (!tcp || !tcp->is_object())
            throw Error(ErrorCode::ConfigInvalid, "config.json: missing object 'text_config'", "text_config");
        const json &vc = *vcp;
        nn::VitOptions vo;
        const std::string visionType = cfgStr(vc, "model_type", "vit", "vision_config");
        if (visionType != "vit" && visionType != "dinov2")
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: vision_config.model_type must be 'vit' or 'dinov2' (got '" + visionType + "')",
                        "vision_config.model_type");
        const bool dinov2 = visionType == "dinov2";
        vo.naming = dinov2 ? nn::VitNaming::HfDinov2 : nn::VitNaming::Timm;
        vo.dim = cfgInt(vc, "hidden_size", std::nullopt, "vision_config");
        vo.layers = cfgInt(vc, "num_hidden_layers", std::nullopt, "vision_config");
        vo.heads = cfgInt(vc, "num_attention_heads", std::nullopt, "vision_config");
        vo.mlpDim = cfgInt(vc, "intermediate_size", std::nullopt, "vision_config");
        vo.patch = cfgInt(vc, "patch_size", 14, "vision_config");
        const int64_t imageSize = cfgInt(vc, "image_size", std::nullopt, "vision_config");
        vo.gridSize = imageSize / vo.patch;
        vo.eps = cfgNum(vc, "layer_norm_eps", 1e-6, "vision_config");
        vo.act = nn::activationFromName(cfgStr(vc, "hidden_act", "gelu", "vision_config"), "vision_config.hidden_act");
        vo.finalNorm = true;
        vo.antialias = false;
        const std::string patchEmbed = cfgStr(vc, "patch_embed", "linear", "vision_config");
        if (patchEmbed != "linear" && patchEmbed != "conv")
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: vision_config.patch_embed must be 'linear' or 'conv'",
                        "vision_config.patch_embed");
        if (patchEmbed == "conv" && dinov2)
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: a 'dinov2' vision tower has DINOv2's linear patch embedding, not 'conv'",
                        "vision_config.patch_embed");
        if (patchEmbed == "conv") {
            vo.stemChannels = {32, 64};
            if (const json *sc = findKey(vc, "stem_channels")) {
                if (!sc->is_array() || sc->size() != 2 || !(*sc)[0].is_number_integer() ||
                    !(*sc)[1].is_number_integer() || (*sc)[0].get<int64_t>() < 1 ||
                    (*sc)[1].get<int64_t>() < 1 || (*sc)[0].get<int64_t>() > 1024 ||
                    (*sc)[1].get<int64_t>() > 1024)
                    throw Error(ErrorCode::ConfigInvalid,
                                "config.json: vision_config.stem_channels must be two integers in 1..1024",
                                "vision_config.stem_channels");
                vo.stemChannels = {(*sc)[0].get<int64_t>(), (*sc)[1].get<int64_t>()};
            }
            if (vo.patch % 2 != 0)
                throw Error(ErrorCode::ConfigInvalid,
                            "config.json: a 'conv' patch_embed needs an even patch_size",
                            "vision_config.patch_size");
            const std::string stemNorm = cfgStr(vc, "stem_norm", "none", "vision_config");
            if (stemNorm != "none" && stemNorm != "group")
                throw Error(ErrorCode::ConfigInvalid,
                            "config.json: vision_config.stem_norm must be 'none' or 'group'",
                            "vision_config.stem_norm");
            vo.stemNorm = stemNorm == "group";
        }
        if (vo.gridSize < 1)
            throw Error(ErrorCode::ConfigInvalid, "config.json: vision_config.image_size is smaller than a patch",
                        "vision_config.image_size");
        if (vo.dim % vo.heads != 0)
            throw Error(ErrorCode::ConfigInvalid, "config.json: vision_config.hidden_size is not divisible by its heads",
                        "vision_config.num_attention_heads");
        m_vision = m_root->register_module("vision", nn::VisionTransformer(vo, m_tensorOptions));

        const nn::LlamaOptions lo = cfgLlama(*tcp, "text_config", 1e-6);
        m_queries = cfgInt(c, "query_num", 64);
        nn::ResamplerOptions ro;
        ro.dim = lo.hidden;
        ro.kvDim = vo.dim;
        ro.gridSize = querySide(m_queries, "query_num");
        ro.heads = cfgInt(c, "resampler_num_heads", std::max<int64_t>(1, lo.hidden / 128));
        if (ro.dim % 4 != 0 || ro.dim % ro.heads != 0)
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: text_config.hidden_size must be divisible by 4 and by resampler_num_heads",
                        "resampler_num_heads");
        ro.storedQueryPos = false;
        ro.fixedQueryPos = true;
        const std::string attention = cfgStr(c, "resampler_attention", "global");
        if (attention != "global" && attention != "spatial")
            throw Error(ErrorCode::ConfigInvalid, "config.json: resampler_attention must be 'global' or 'spatial'",
                        "resampler_attention");
        m_spatial = attention == "spatial";
        ro.keyPos = m_spatial ? nn::KeyPosition::InterpolatedSinCos : nn::KeyPosition::FreshSinCos;
        m_resampler = m_root->register_module("resampler", nn::Resampler(ro, m_tensorOptions));

        auto llm = nn::container(*m_root, "llm");
        buildLm(*llm, lo, cfgBool(*tcp, "tie_word_embeddings", false, "text_config"));
        if (const json *lora = findKey(c, "lora"))
            addAdapters(*lora);
        m_chatml = cfgStr(c, "chat_template", "vicuna") == "chatml";
        if (!m_chatml && cfgStr(c, "chat_template", "vicuna") != "vicuna")
            throw Error(ErrorCode::ConfigInvalid, "config.json: chat_template must be 'vicuna' or 'chatml'",
                        "chat_template");
        m_system = cfgStr(c, "system_message", "");

        const std::string mode = cfgStr(c, "slice_mode", "llava-uhd");
        if (mode != "llava-uhd" && mode != "minicpmv")
            throw Error(ErrorCode::ConfigInvalid, "config.json: slice_mode must be 'llava-uhd' or 'minicpmv'",
                        "slice_mode");
        m_policy = cfgSlicePolicy(c, mode == "llava-uhd" ? SlicePolicy::llavaUhd() : SlicePolicy::minicpmv(),
                                  imageSize, /*defaultMaxSlices=*/6, vo.patch);
        m_norm = cfgPixelNorm(c, PixelNorm{});
    }

    Family family() const override { return Family::UhdPaper; }
    SlicePolicy policy() const override { return m_policy; }
    PixelNorm pixelNorm() const override { return m_norm; }
    int tokensPerImage() const override { return static_cast<int>(m_queries); }

    torch::Tensor encodeImages(const torch::Tensor &pixels, const TensorHook &hook) const override
    {
        return encodeThrough(m_vision, pixels, hook, [&](const torch::Tensor &f, int64_t h, int64_t w) {
            return m_spatial ? nn::spatialResample(*m_resampler, f, h, w) : m_resampler->forward(f, h, w);
        });
    }

    Prompt buildPrompt(const SlicePlan &plan, const std::vector<Turn> &history, const std::string &question,
                       const Tokenizer &tokenizer) const override
    {
        if (!m_chatml)
            return vicunaPrompt(tokenizer, history, question,
                                [&](PromptBuilder &b) { b.imageSpan(layout(), plan); });
        // ChatML as an instruct model's template writes it (SmolLM2-Instruct: tokenizer.chat_template), the
        // image span first in the first user message, then "\n" and the question:
        //   <|im_start|>system\nS<|im_end|>\n<|im_start|>user\n[image]\nQ<|im_end|>\n<|im_start|>assistant\nA
        //   <|im_end|>\n ... <|im_start|>assistant\n
        // No BOS (the template writes none). Byte-level BPE splits the added tokens itself.
        PromptBuilder b(tokenizer);
        b.splitOn({});
        if (!m_system.empty())
            b.text("<|im_start|>system\n" + m_system + "<|im_end|>\n");
        auto user = [&](const std::string &q, bool first) {
            b.text("<|im_start|>user\n");
            if (first) {
                b.imageSpan(layout(), plan);
                b.text("\n");
            }
            b.text(q + "<|im_end|>\n<|im_start|>assistant\n");
        };
        for (size_t i = 0; i < history.size(); ++i) {
            user(history[i].question, i == 0);
            b.text(history[i].answer + "<|im_end|>\n");
        }
        user(question, history.empty());
        return b.finish();
    }

    // Vicuna: the tokenizer's EOS; ChatML: <|im_end|> (the end of the assistant's turn) and EOS.
    std::vector<int64_t> stopTokenIds(const Tokenizer &tokenizer) const override
    {
        std::vector<int64_t> ids;
        if (m_chatml) {
            if (!tokenizer.hasPiece("<|im_end|>") || !tokenizer.hasPiece("<|im_start|>"))
                throw Error(
                    ErrorCode::TokenizerInvalid,
                    "config.json asks for the ChatML template, but the tokenizer has no <|im_start|> / "
                    "<|im_end|> tokens",
                    "<|im_end|>");
            ids.push_back(tokenizer.pieceToId("<|im_end|>"));
        }
        for (const int64_t id : eosStopIds(tokenizer))
            if (std::find(ids.begin(), ids.end(), id) == ids.end())
                ids.push_back(id);
        return ids;
    }

private:
    // "lora": {"rank": r, "alpha": a (default 2r), "modules": [...] (default ["q_proj", "v_proj"])}: a
    // low-rank adapter (nn::LinearImpl::enableLora) on those linear layers of every decoder layer, trained
    // here beside a frozen pretrained language model (issue 18); names llm.model.layers.i.<path>.lora_{a,b}.
    void addAdapters(const json &lora)
    {
        if (!lora.is_object())
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: lora must be an object {\"rank\", \"alpha\", \"modules\"}", "lora");
        const int64_t rank = cfgInt(lora, "rank", std::nullopt, "lora");
        if (rank < 1 || rank > 256)
            throw Error(ErrorCode::ConfigInvalid, "config.json: lora.rank must be between 1 and 256",
                        "lora.rank");
        const double alpha = cfgNum(lora, "alpha", 2.0 * static_cast<double>(rank), "lora");
        if (!(alpha > 0 && alpha <= 4096))
            throw Error(ErrorCode::ConfigInvalid, "config.json: lora.alpha must be in (0, 4096]",
                        "lora.alpha");
        static const std::set<std::string> known = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                    "gate_proj", "up_proj", "down_proj"};
        std::set<std::string> wanted = {"q_proj", "v_proj"};
        if (const json *m = findKey(lora, "modules")) {
            wanted.clear();
            if (!m->is_array() || m->empty())
                throw Error(ErrorCode::ConfigInvalid,
                            "config.json: lora.modules must be a non-empty list of layer names",
                            "lora.modules");
            for (const json &name : *m) {
                if (!name.is_string() || !known.count(name.get<std::string>()))
                    throw Error(
                        ErrorCode::ConfigInvalid,
                        "config.json: lora.modules: each entry must be one of q_proj, k_proj, v_proj, "
                        "o_proj, gate_proj, up_proj, down_proj",
                        "lora.modules");
                wanted.insert(name.get<std::string>());
            }
        }
        for (const auto &item : m_root->named_modules()) {
            const std::string &name = item.key();
            const size_t dot = name.rfind('.');
            if (name.rfind("llm.", 0) != 0 || dot == std::string::npos || !wanted.count(name.substr(dot + 1)))
                continue;
            if (const auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(item.value()))
                linear->enableLora(rank, alpha);
        }
    }

    nn::VisionTransformer m_vision{nullptr};
    nn::Resampler m_resampler{nullptr};
    SlicePolicy m_policy;
    PixelNorm m_norm;
    int64_t m_queries = 64;
    bool m_spatial = false;
    bool m_chatml = false;
    std::string m_system; // ChatML's system message ("" = no system turn)
};

} // namespace

std::unique_ptr<VisionLanguageModel> createUhdPaper(const json &config, const FamilyBuildOptions &options)
{
    return std::make_unique<UhdPaper>(config, options);
}

json tinyUhdPaper()
{
    return json{
        {"model_type", "uhd-paper"},
        {"_name_or_path", "uhdlens-tiny-uhd-paper"},
        {"query_num", 64},
        {"resampler_num_heads", 2},
        {"scale_resolution", 224},
        {"patch_size", 14},
        {"max_slice_nums", 6},
        {"slice_mode", "llava-uhd"},
        {"resampler_attention", "global"},
        {"image_mean", {0.5, 0.5, 0.5}},
        {"image_std", {0.5, 0.5, 0.5}},
        {"vision_config",
         {{"hidden_size", 64},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"intermediate_size", 128},
          {"image_size", 224},
          {"patch_size", 14},
          {"layer_norm_eps", 1e-6},
          {"hidden_act", "gelu"}}},
        {"text_config",
         {{"hidden_size", 128},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"intermediate_size", 256},
          {"vocab_size", kTinyVocab},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000.0},
          {"max_position_embeddings", 2048}}},
        {"torch_dtype", "float32"},
        {"uhdlens_tiny", true},
        {"uhdlens_special_tokens", familySpecialTokens(Family::UhdPaper)},
    };
}

} // namespace uhdlens::models
