// LLaVA-UHD, ECCV release (thunlp/LLaVA-UHD branch LLaVA-UHD-v1, spec §2, §3, §4.1, §5.1).
//
// Checkpoint names:
//   vision_model.*          HF CLIPVisionModel (openai/clip-vit-large-patch14-336), usually from a second
//                           folder (--vision); features of hidden state -2, CLS dropped, no post-LayerNorm,
//                           position table bicubic-fitted to each image's grid without antialias (in float32;
//                           the release interpolates in the parameter dtype, fp16 — ours is the more exact of
//                           the two and equal in fp32)
//   model.mm_projector.*    the spatially constrained resampler ("adapt_spatial_resampler"): 144 queries, each
//                           attending only to RoIAlign samples of its own box of a 12x12 partition of the
//                           feature map; names as torch.nn.MultiheadAttention (attn.in_proj_weight, ...)
//   model.* + lm_head.weight  LLaMA / Vicuna
// Prompt: Vicuna v1 template; the <image> placeholder becomes slices row by row with "," (id of ",") between
// the slices of a row and "\n" (<0x0A>) after every row, then the overview (§4.1). Tokenized as the release's
// slow LlamaTokenizer with legacy=False. All of it is checked against the release itself by
// tests/parity/test_reference_llava_uhd.cpp.
#include "model_folder.h"
#include "models/families.h"

#include <cmath>
#include <limits>

namespace uhdlens::models {

namespace {

constexpr int64_t kGrid = 12; // 12x12 = 144 queries and boxes, whatever the feature grid

class LlavaUhd final : public FamilyBase
{
public:
    LlavaUhd(const json &config, const json *visionConfig, const FamilyBuildOptions &options)
        : FamilyBase(config, options)
    {
        const json &c = m_config;
        const std::string projector = cfgStr(c, "mm_projector_type", "adapt_spatial_resampler");
        if (projector != "adapt_spatial_resampler")
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: mm_projector_type '" + projector + "' is not the LLaVA-UHD spatial resampler",
                        "mm_projector_type");
        // CLIP vision config: the vision folder's config.json (CLIPVisionConfig, or a CLIPConfig with a nested
        // "vision_config"), else a "vision_config" in the model's own config, else CLIP ViT-L/14-336.
        json vc = json::object();
        std::string where = "vision_config";
        if (visionConfig) {
            vc = findKey(*visionConfig, "vision_config") ? (*visionConfig)["vision_config"] : *visionConfig;
            where = "vision config.json";
        } else if (const json *v = findKey(c, "vision_config")) {
            vc = *v;
        }
        nn::VitOptions vo;
        vo.naming = nn::VitNaming::HfClip;
        vo.dim = cfgInt(vc, "hidden_size", 1024, where);
        vo.heads = cfgInt(vc, "num_attention_heads", 16, where);
        vo.mlpDim = cfgInt(vc, "intermediate_size", 4096, where);
        vo.layers = cfgInt(vc, "num_hidden_layers", 24, where);
        vo.patch = cfgInt(vc, "patch_size", 14, where);
        vo.gridSize = cfgInt(vc, "image_size", 336, where) / vo.patch;
        vo.eps = cfgNum(vc, "layer_norm_eps", 1e-5, where);
        vo.act = nn::activationFromName(cfgStr(vc, "hidden_act", "quick_gelu", where), where + ".hidden_act");
        // mm_vision_select_layer indexes HF's hidden_states tuple (embeddings + one entry per layer): -2 is the
        // output of layer L-1.
        const int64_t select = c.contains("mm_vision_select_layer") && c["mm_vision_select_layer"].is_number_integer()
                                   ? c["mm_vision_select_layer"].get<int64_t>()
                                   : -2;
        vo.runLayers = select < 0 ? vo.layers + 1 + select : select;
        if (vo.runLayers < 1 || vo.runLayers > vo.layers || vo.gridSize < 1)
            throw Error(ErrorCode::ConfigInvalid, "config.json: mm_vision_select_layer out of range",
                        "mm_vision_select_layer");
        if (cfgStr(c, "mm_vision_select_feature", "patch") != "patch")
            throw Error(ErrorCode::ConfigInvalid, "config.json: only mm_vision_select_feature 'patch' is supported",
                        "mm_vision_select_feature");
        vo.finalNorm = false;
        vo.antialias = false;
        m_vision = m_root->register_module("vision_model", nn::VisionTransformer(vo, m_tensorOptions));

        nn::LlamaOptions lo = cfgLlama(c, "", 1e-6);
        buildLm(*m_root, lo);
        const int64_t mmHidden = cfgInt(c, "mm_hidden_size", vo.dim);
        if (mmHidden != vo.dim)
            throw Error(ErrorCode::ConfigInvalid,
                        "config.json: mm_hidden_size " + std::to_string(mmHidden) +
                            " differs from the vision tower width " + std::to_string(vo.dim) +
                            (visionConfig || findKey(c, "vision_config")
                                 ? std::string()
                                 : " (CLIP ViT-L/14-336 assumed: no vision folder was given; the release keeps "
                                   "its tower in mm_vision_tower '" +
                                       cfgStr(c, "mm_vision_tower", "") + "', load it with --vision)"),
                        "mm_hidden_size");
        nn::ResamplerOptions ro;
        ro.dim = lo.hidden;
        ro.kvDim = vo.dim;
        ro.gridSize = kGrid;
        ro.heads = cfgInt(c, "uhdlens_resampler_heads", std::max<int64_t>(1, lo.hidden / 128));
        ro.storedQueryPos = true;
        ro.keyPos = nn::KeyPosition::InterpolatedSinCos;
        m_projector = m_lm.model->register_module("mm_projector", nn::Resampler(ro, m_tensorOptions));

        m_policy = cfgSlicePolicy(c, SlicePolicy::llavaUhd(), 336, 7, vo.patch);
        // OpenAI CLIP normalisation (CLIPImageProcessor).
        PixelNorm clip;
        const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
        for (int i = 0; i < 3; ++i) {
            clip.mean[i] = mean[i];
            clip.std[i] = std[i];
        }
        m_norm = cfgPixelNorm(c, clip);
        m_legacyTokenizer = cfgBool(c, kLegacyTokenizerKey, false);
    }

    Family family() const override { return Family::LlavaUhd; }
    SlicePolicy policy() const override { return m_policy; }
    PixelNorm pixelNorm() const override { return m_norm; }
    int tokensPerImage() const override { return static_cast<int>(kGrid * kGrid); }
    std::vector<std::string> visionTowerPrefixes() const override { return {"vision_model."}; }

    torch::Tensor encodeImages(const torch::Tensor &pixels, const TensorHook &hook) const override
    {
        return encodeThrough(m_vision, pixels, hook,
                             [&](const torch::Tensor &f, int64_t h, int64_t w) {
                                 // AdaptSpatialResampler: the 12x12 query grid, local attention per box.
                                 return nn::spatialResample(*m_projector, f, h, w);
                             });
    }

    Prompt buildPrompt(const SlicePlan &plan, const std::vector<Turn> &history, const std::string &question,
                       const Tokenizer &tokenizer) const override
    {
        // Vicuna v1.5's tokenizer_config.json has legacy=False (llava/train/train.py's preprocess_v1 corrects
        // round lengths for exactly that case): follow-up turns encode "USER" after "</s>" without the "▁".
        // A folder whose tokenizer_config.json says otherwise is followed (model_folder.cpp, kLegacyTokenizerKey).
        return vicunaPrompt(
            tokenizer, history, question,
            [&](PromptBuilder &b) { b.imageSpan(layout(), plan); }, // spatial schema, overview last
            m_legacyTokenizer);
    }

    std::vector<int64_t> stopTokenIds(const Tokenizer &tokenizer) const override { return eosStopIds(tokenizer); }

private:
    bool m_legacyTokenizer = false; // HF LlamaTokenizer "legacy" (tokenizer_config.json; Vicuna v1.5: false)
    nn::VisionTransformer m_vision{nullptr};
    nn::Resampler m_projector{nullptr};
    SlicePolicy m_policy;
    PixelNorm m_norm;
};

} // namespace

std::unique_ptr<VisionLanguageModel> createLlavaUhd(const json &config, const json *visionConfig,
                                                    const FamilyBuildOptions &options)
{
    return std::make_unique<LlavaUhd>(config, visionConfig, options);
}

std::vector<std::array<float, 4>> llavaUhdBoxes(int64_t h, int64_t w, torch::Dtype dtype)
{
    return nn::spatialBoxes(h, w, kGrid, dtype);
}

std::pair<int64_t, int64_t> llavaUhdPoolingSize(int64_t h, int64_t w) { return nn::spatialPoolingSize(h, w); }

json tinyLlavaUhd()
{
    return json{
        {"model_type", "llava"},
        {"architectures", {"LlavaLlamaForCausalLM"}},
        {"_name_or_path", "uhdlens-tiny-llava-uhd"},
        {"hidden_size", 128},
        {"num_hidden_layers", 2},
        {"num_attention_heads", 4},
        {"num_key_value_heads", 4},
        {"intermediate_size", 256},
        {"vocab_size", kTinyVocab},
        {"rms_norm_eps", 1e-5},
        {"max_position_embeddings", 4096},
        {"tie_word_embeddings", false},
        {"mm_projector_type", "adapt_spatial_resampler"},
        {"mm_hidden_size", 64},
        {"mm_vision_select_layer", -2},
        {"mm_vision_select_feature", "patch"},
        {"mm_use_im_start_end", false},
        {"mm_use_im_patch_token", false},
        {"mm_vision_tower", "openai/clip-vit-large-patch14-336"},
        {"tokenizer_model_max_length", 2048},
        {"vision_config",
         {{"model_type", "clip_vision_model"},
          {"hidden_size", 64},
          {"intermediate_size", 128},
          {"num_attention_heads", 4},
          {"num_hidden_layers", 3},
          {"image_size", 336},
          {"patch_size", 14},
          {"hidden_act", "quick_gelu"},
          {"layer_norm_eps", 1e-5}}},
        {"torch_dtype", "float32"},
        {"uhdlens_tiny", true},
        {"uhdlens_special_tokens", familySpecialTokens(Family::LlavaUhd)},
    };
}

} // namespace uhdlens::models
