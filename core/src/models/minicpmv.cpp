// MiniCPM-V 2.0 (openbmb/MiniCPM-V-2, spec §2, §3, §4.3, §5.2).
//
// Checkpoint names (model.safetensors[.index.json]):
//   vpm.*        timm SigLIP ViT (`vit_so400m_patch14_siglip_384`): patch_embed.proj, pos_embed [1,729,1152],
//                blocks.{0..25} (the 27th block is dropped: drop_vision_last_layer), norm
//   resampler.*  query [64,D], pos_embed [64,D] (frozen 8x8 sin-cos), kv_proj, attn.{in_proj_*,out_proj},
//                ln_q, ln_kv, ln_post, proj
//   llm.model.*  MiniCPM (LLaMA layout) + llm.lm_head.weight
// Scalings of MiniCPM: text embeddings * scale_emb; residual branches * scale_depth/sqrt(num_hidden_layers);
// logits = lm_head(h / (hidden_size / dim_model_base)). Image slots get raw resampler outputs (not scaled).
#include "model_folder.h"
#include "models/families.h"

namespace uhdlens::models {

namespace {

class MiniCpmV final : public FamilyBase
{
public:
    MiniCpmV(const json &config, const FamilyBuildOptions &options) : FamilyBase(config, options)
    {
        const json &c = m_config;
        // Vision tower: the config names a timm model; its hyper-parameters are timm's, not in config.json.
        // A "vision_config" object (our tiny checkpoints) overrides them.
        const std::string encoder = cfgStr(c, "vision_encoder", "vit_so400m_patch14_siglip_384.webli");
        json vc = json::object();
        if (const json *v = findKey(c, "vision_config"))
            vc = *v;
        else if (encoder.rfind("vit_so400m_patch14_siglip_384", 0) != 0)
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: unsupported vision_encoder '" + encoder + "' (only vit_so400m_patch14_siglip_384)",
                        "vision_encoder");
        nn::VitOptions vo;
        vo.naming = nn::VitNaming::Timm;
        vo.dim = cfgInt(vc, "hidden_size", 1152, "vision_config");
        vo.heads = cfgInt(vc, "num_attention_heads", 16, "vision_config");
        vo.mlpDim = cfgInt(vc, "intermediate_size", 4304, "vision_config");
        const int64_t depth = cfgInt(vc, "num_hidden_layers", 27, "vision_config");
        vo.patch = cfgInt(vc, "patch_size", 14, "vision_config");
        const int64_t imageSize = cfgInt(vc, "image_size", 384, "vision_config");
        vo.gridSize = imageSize / vo.patch;
        vo.eps = cfgNum(vc, "layer_norm_eps", 1e-6, "vision_config");
        vo.act = nn::activationFromName(cfgStr(vc, "hidden_act", "gelu", "vision_config"), "vision_config.hidden_act");
        const bool drop = cfgBool(c, "drop_vision_last_layer", true);
        vo.layers = drop ? depth - 1 : depth;
        if (vo.layers < 1 || vo.gridSize < 1)
            throw Error(ErrorCode::ConfigInvalid, "config.json: vision tower has no blocks or no patches", "vision_config");
        vo.finalNorm = true; // timm forward_features ends with `norm`
        vo.antialias = true; // timm resample_abs_pos_embed
        m_vpm = m_root->register_module("vpm", nn::VisionTransformer(vo, m_tensorOptions));

        nn::LlamaOptions lo = cfgLlama(c, "", 1e-6);
        lo.embedScale = cfgNum(c, "scale_emb", 1.0);
        lo.residualScale = cfgNum(c, "scale_depth", 1.0) / std::sqrt(static_cast<double>(lo.layers));
        lo.logitDivisor = static_cast<double>(lo.hidden) / cfgNum(c, "dim_model_base", static_cast<double>(lo.hidden));
        if (!(lo.logitDivisor > 0))
            throw Error(ErrorCode::ConfigInvalid, "config.json: 'dim_model_base' must be positive", "dim_model_base");

        m_queries = cfgInt(c, "query_num", 64);
        nn::ResamplerOptions ro;
        ro.dim = lo.hidden;
        ro.kvDim = vo.dim;
        ro.gridSize = querySide(m_queries, "query_num");
        // MiniCPM-V 2.0 builds Resampler(num_heads = embed_dim // 128); tiny widths get at least one head.
        ro.heads = cfgInt(c, "uhdlens_resampler_heads", std::max<int64_t>(1, lo.hidden / 128));
        ro.storedQueryPos = true;
        ro.keyPos = nn::KeyPosition::FreshSinCos; // "adaptive": fresh sincos(D, h, w) for every image
        m_resampler = m_root->register_module("resampler", nn::Resampler(ro, m_tensorOptions));

        auto llm = nn::container(*m_root, "llm");
        buildLm(*llm, lo);

        m_policy = cfgSlicePolicy(c, SlicePolicy::minicpmv(), 448, 9, vo.patch);
        m_policy.neverSplit = !cfgBool(c, "slice_mode", true);
        // IMAGENET_INCEPTION_MEAN / STD (0.5) in MiniCPM-V 2.0's transform.
        m_norm = cfgPixelNorm(c, PixelNorm{});
        // The tokens LlamaTokenizerWrapper splits the prompt on: the folder's tokenizer files when it has them
        // (model_folder.cpp lists them under kSplitTokensKey), else MiniCPM-V 2.0's (<unk> <s> </s> and the
        // twelve additional_special_tokens of its tokenizer_config.json).
        m_splitTokens = {"<unk>", "<s>", "</s>", "<image>", "</image>", "<ref>", "</ref>", "<box>", "</box>",
                         "<quad>", "</quad>", "<point>", "</point>", "<slice>", "</slice>"};
        if (const json *v = findKey(c, kSplitTokensKey)) {
            const auto isString = [](const json &t) { return t.is_string(); };
            if (!v->is_array() || !std::all_of(v->begin(), v->end(), isString))
                throw Error(ErrorCode::ConfigInvalid,
                            std::string("config.json: '") + kSplitTokensKey + "' must be a list of strings",
                            kSplitTokensKey);
            m_splitTokens = v->get<std::vector<std::string>>();
        }
    }

    Family family() const override { return Family::MiniCpmV; }
    SlicePolicy policy() const override { return m_policy; }
    PixelNorm pixelNorm() const override { return m_norm; }
    int tokensPerImage() const override { return static_cast<int>(m_queries); }

    torch::Tensor encodeImages(const torch::Tensor &pixels, const TensorHook &hook) const override
    {
        return encodeThrough(m_vpm, pixels, hook,
                             [&](const torch::Tensor &f, int64_t h, int64_t w) { return m_resampler->forward(f, h, w); });
    }

    // MiniCPMV.chat(): "<用户>" + placeholder + "\n" + question + "<AI>" (+ answer, "<用户>" + question +
    // "<AI>" for later turns), BOS first, tokenised by LlamaTokenizerWrapper (transformers' slow
    // LlamaTokenizer, legacy=True). The placeholder is <image>[64 <unk>]</image> for the overview and, when
    // sliced, <slice> + rows joined by "\n" (each row m × <image>[64 <unk>]</image>) + </slice> (§4.3). That
    // tokenizer splits the string on its added tokens (<unk> <s> </s> and the twelve
    // additional_special_tokens) and SentencePiece-encodes every chunk between them on its own, so each chunk
    // gets the model's dummy prefix: "<用户>" before <image> becomes "▁" "<用户>" and a row separator "▁"
    // "<0x0A>" with a Llama-style tokenizer.model. The text is therefore passed as text, split on the same
    // pieces (PromptBuilder::splitOn), and the structural special tokens as ids, so the image spans are
    // always the planner's slots while every text chunk is tokenised as the reference does
    // (tests/parity/test_reference_minicpmv.cpp checks the ids against the official code).
    Prompt buildPrompt(const SlicePlan &plan, const std::vector<Turn> &history, const std::string &question,
                       const Tokenizer &tokenizer) const override
    {
        const bool hasImage = !plan.encodedImages().empty();
        PromptBuilder b(tokenizer);
        b.splitOn(m_splitTokens);
        auto user = [&](const std::string &q, bool first) {
            b.text("<用户>");
            if (first && hasImage) {
                b.imageSpan(layout(), plan); // <image>...</image><slice>...</slice>, image_span.cpp
                b.text("\n");
            }
            b.text(q);
            b.text("<AI>");
        };
        b.bos();
        bool first = true;
        for (const auto &t : history) {
            user(t.question, first);
            first = false;
            b.text(t.answer);
        }
        user(question, first);
        return b.finish();
    }

    std::vector<int64_t> stopTokenIds(const Tokenizer &tokenizer) const override
    {
        std::vector<int64_t> ids = eosStopIds(tokenizer);
        // A model that starts a new user turn has finished its answer.
        if (tokenizer.hasPiece("<用户>"))
            ids.push_back(tokenizer.pieceToId("<用户>"));
        return ids;
    }
    std::vector<std::string> stopStrings() const override { return {"<用户>"}; }

private:
    nn::VisionTransformer m_vpm{nullptr};
    nn::Resampler m_resampler{nullptr};
    SlicePolicy m_policy;
    PixelNorm m_norm;
    std::vector<std::string> m_splitTokens;
    int64_t m_queries = 64;
};

} // namespace

std::unique_ptr<VisionLanguageModel> createMiniCpmV(const json &config, const FamilyBuildOptions &options)
{
    return std::make_unique<MiniCpmV>(config, options);
}

json tinyMiniCpmV()
{
    return json{
        {"model_type", "minicpmv"},
        {"architectures", {"MiniCPMV"}},
        {"_name_or_path", "uhdlens-tiny-minicpmv"},
        {"hidden_size", 128},
        {"num_hidden_layers", 2},
        {"num_attention_heads", 4},
        {"num_key_value_heads", 4},
        {"intermediate_size", 256},
        {"vocab_size", kTinyVocab},
        {"scale_emb", 12},
        {"scale_depth", 1.4},
        {"dim_model_base", 64},
        {"rms_norm_eps", 1e-5},
        {"max_position_embeddings", 4096},
        {"tie_word_embeddings", false},
        {"query_num", 64},
        {"image_size", 448},
        {"patch_size", 14},
        {"max_slice_nums", 9},
        {"scale_resolution", 448},
        {"slice_mode", true},
        {"mm_use_im_start_end", true},
        {"drop_vision_last_layer", true},
        {"vision_encoder", "vit_so400m_patch14_siglip_384.webli"},
        {"vision_config",
         {{"hidden_size", 64},
          {"num_hidden_layers", 3},
          {"num_attention_heads", 4},
          {"intermediate_size", 128},
          {"image_size", 384},
          {"patch_size", 14},
          {"layer_norm_eps", 1e-6},
          {"hidden_act", "gelu"}}},
        {"torch_dtype", "float32"},
        {"uhdlens_tiny", true},
        {"uhdlens_special_tokens", familySpecialTokens(Family::MiniCpmV)},
    };
}

json realMiniCpmV()
{
    // openbmb/MiniCPM-V-2 config.json values (spec §5.2).
    return json{
        {"model_type", "minicpmv"},
        {"architectures", {"MiniCPMV"}},
        {"_name_or_path", "openbmb/MiniCPM-V-2 (random weights, real shapes)"},
        {"hidden_size", 2304},
        {"num_hidden_layers", 40},
        {"num_attention_heads", 36},
        {"num_key_value_heads", 36},
        {"intermediate_size", 5760},
        {"vocab_size", 122753},
        {"scale_emb", 12},
        {"scale_depth", 1.4},
        {"dim_model_base", 256},
        {"rms_norm_eps", 1e-5},
        {"max_position_embeddings", 4096},
        {"tie_word_embeddings", false},
        {"query_num", 64},
        {"image_size", 448},
        {"patch_size", 14},
        {"max_slice_nums", 9},
        {"scale_resolution", 448},
        {"slice_mode", true},
        {"mm_use_im_start_end", true},
        {"drop_vision_last_layer", true},
        {"vision_encoder", "vit_so400m_patch14_siglip_384.webli"},
        {"torch_dtype", "bfloat16"},
    };
}

} // namespace uhdlens::models
