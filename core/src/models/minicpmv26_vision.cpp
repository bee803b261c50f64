#include "models/minicpmv26_vision.h"

#include "models/family_common.h"

namespace uhdlens::models {

namespace {

// norm_mean / norm_std (image_processing_minicpmv.py's names; cfgPixelNorm reads CLIP's
// image_mean/image_std).
void readNorm(const json &c, const char *key, float (&out)[3], bool positive)
{
    const json *v = findKey(c, key);
    if (!v)
        return;
    const std::string what = std::string("config.json: key '") + key + "' must be 3 numbers";
    if (!v->is_array() || v->size() != 3)
        throw Error(ErrorCode::ConfigInvalid, what, key);
    for (int i = 0; i < 3; ++i) {
        if (!(*v)[i].is_number())
            throw Error(ErrorCode::ConfigInvalid, what, key);
        const float f = (*v)[i].get<float>();
        if (!std::isfinite(f) || (positive && !(f > 0)))
            throw Error(ErrorCode::ConfigInvalid,
                        std::string("config.json: '") + key + "' values must be " +
                            (positive ? "positive" : "finite"),
                        key);
        out[i] = f;
    }
}

} // namespace

MiniCpmV26Vision readMiniCpmV26Vision(const json &c)
{
    MiniCpmV26Vision out;
    const json empty = json::object();
    const json *vcp = findKey(c, "vision_config");
    if (vcp && !vcp->is_object())
        throw Error(ErrorCode::ConfigInvalid, "config.json: 'vision_config' must be an object",
                    "vision_config");
    const json &vc = vcp ? *vcp : empty;
    const std::string where = "vision_config";
    auto &v = out.vision;
    v.dim = cfgInt(vc, "hidden_size", 1152, where);
    v.heads = cfgInt(vc, "num_attention_heads", 16, where);
    v.mlpDim = cfgInt(vc, "intermediate_size", 4304, where);
    const int64_t depth = cfgInt(vc, "num_hidden_layers", 27, where);
    v.patch = cfgInt(vc, "patch_size", 14, where);
    v.imageSize = cfgInt(vc, "image_size", 980, where);
    v.eps = cfgNum(vc, "layer_norm_eps", 1e-6, where);
    if (!(v.eps > 0))
        throw Error(ErrorCode::ConfigInvalid, "config.json: 'vision_config.layer_norm_eps' must be positive",
                    "vision_config.layer_norm_eps");
    v.act = nn::activationFromName(cfgStr(vc, "hidden_act", "gelu_pytorch_tanh", where),
                                   "vision_config.hidden_act");
    if (v.dim % v.heads != 0)
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'vision_config.hidden_size' is not divisible by "
                    "'vision_config.num_attention_heads'",
                    "vision_config.num_attention_heads");
    if (v.imageSize < v.patch)
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'vision_config.image_size' is smaller than one patch",
                    "vision_config.image_size");
    // modeling_minicpmv.py init_vision_module: encoder.layers[:-1] when drop_vision_last_layer.
    v.layers = cfgBool(c, "drop_vision_last_layer", true) ? depth - 1 : depth;
    if (v.layers < 1)
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'vision_config.num_hidden_layers' leaves no vision layer "
                    "(after drop_vision_last_layer)",
                    "vision_config.num_hidden_layers");

    // init_resampler: Resampler(query_num, embed_dim = LLM hidden_size, heads = embed_dim // 128, kv_dim).
    auto &r = out.resampler;
    r.dim = cfgInt(c, "hidden_size", std::nullopt);
    r.kvDim = v.dim;
    r.heads = r.dim / 128;
    if (r.heads < 1 || r.dim % r.heads != 0)
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'hidden_size' must be a multiple of 128 (the resampler "
                    "has hidden_size // 128 heads)",
                    "hidden_size");
    if (r.dim % 4 != 0)
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'hidden_size' must be a multiple of 4 (2D sin-cos)", "hidden_size");
    const int64_t queries = cfgInt(c, "query_num", 64);
    r.gridSize = querySide(queries, "query_num");
    r.storedQueryPos = false;
    r.fixedQueryPos = false;
    r.keyPos = nn::KeyPosition::FreshSinCos;
    r.eps = 1e-6;
    out.tokensPerImage = static_cast<int>(queries);
    if (cfgInt(c, "image_feature_size", queries) != queries)
        throw Error(ErrorCode::ConfigInvalid, "config.json: 'image_feature_size' differs from 'query_num'",
                    "image_feature_size");

    // Slicing: preprocessor_config.json's top-level keys (overlaid), else config.json's slice_config.
    const json *scp = findKey(c, "slice_config");
    if (scp && !scp->is_object())
        throw Error(ErrorCode::ConfigInvalid, "config.json: 'slice_config' must be an object",
                    "slice_config");
    const json &sc = scp ? *scp : empty;
    const int64_t scale = cfgInt(sc, "scale_resolution", 448, "slice_config");
    const int64_t maxSlices = cfgInt(sc, "max_slice_nums", 9, "slice_config");
    const int64_t patch = cfgInt(sc, "patch_size", v.patch, "slice_config");
    try {
        out.policy = cfgSlicePolicy(c, SlicePolicy::minicpmv(), scale, maxSlices, patch);
    } catch (const Error &e) {
        // The shared reader's policy check names its key in subject() only; say it in the message too.
        if (std::string(e.what()).find(e.subject()) != std::string::npos)
            throw;
        throw Error(e.code(), std::string(e.what()) + " (key '" + e.subject() + "')", e.subject());
    }
    if (out.policy.patch != v.patch)
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'slice_config.patch_size' differs from the vision "
                    "tower's patch size",
                    "slice_config.patch_size");
    if (!cfgBool(c, "slice_mode", true))
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'slice_mode' false (the unresized image as one view) is "
                    "not supported",
                    "slice_mode");
    out.useImageId = cfgBool(c, "use_image_id", true);
    readNorm(c, "norm_mean", out.norm.mean, false);
    readNorm(c, "norm_std", out.norm.std, true);
    return out;
}

MiniCpmVVisionStack::MiniCpmVVisionStack(torch::nn::Module &root, const json &config, int64_t llmHidden,
                                         const torch::TensorOptions &options, const std::string &familyName)
{
    // model_folder.cpp overlays preprocessor_config.json's norm_mean/norm_std as image_mean/image_std, which
    // win here.
    m_settings = readMiniCpmV26Vision(config);
    m_settings.norm = cfgPixelNorm(config, m_settings.norm);
    if (!m_settings.useImageId)
        throw Error(ErrorCode::ConfigInvalid,
                    "config.json: 'use_image_id' false is not supported (" + familyName +
                        " writes <image_id>N</image_id> before each image)",
                    "use_image_id");
    if (llmHidden != m_settings.resampler.dim)
        throw Error(ErrorCode::ConfigInvalid, "config.json: 'hidden_size' differs from the resampler's width",
                    "hidden_size");
    m_vpm = root.register_module("vpm", nn::NavitSiglip(m_settings.vision, options));
    m_resampler = root.register_module("resampler", nn::Resampler(m_settings.resampler, options));
}

torch::Tensor MiniCpmVVisionStack::encode(const torch::Tensor &x, const TensorHook &hook) const
{
    const int64_t patch = m_vpm->opt.patch;
    if (x.dim() != 4 || x.size(2) % patch != 0 || x.size(3) % patch != 0)
        throw Error(ErrorCode::InvalidArgument, "encodeImages: image sides must be multiples of the patch size");
    const std::vector<nn::PatchGrid> grids(static_cast<size_t>(x.size(0)),
                                           nn::PatchGrid{x.size(2) / patch, x.size(3) / patch});
    auto features = m_vpm->forward(nn::reshapeByPatch(x, patch), grids);
    if (hook)
        hook("vision", features);
    auto tokens = nn::resampleSlices(*m_resampler, features, grids);
    if (hook)
        hook("resampler", tokens);
    return tokens;
}

json miniCpmVVisionConfig(bool real)
{
    return {{"hidden_size", real ? 1152 : 64},
            {"image_size", 980},
            {"intermediate_size", real ? 4304 : 128},
            {"model_type", "siglip"},
            {"num_attention_heads", real ? 16 : 4},
            {"num_hidden_layers", real ? 27 : 2},
            {"patch_size", 14}};
}

void miniCpmVChatTurns(PromptBuilder &b, TokenLayout layout, const SlicePlan &plan,
                       const std::vector<Turn> &history, const std::string &question,
                       const std::function<std::string(const std::string &)> &answerText)
{
    const bool hasImage = !plan.encodedImages().empty();
    auto user = [&](const std::string &q, bool first) {
        b.text("<|im_start|>user\n");
        if (first && hasImage) {
            b.imageSpan(layout, plan); // <image_id>0</image_id><image>...</image><slice>...</slice>
            b.text("\n");
        }
        b.text(q + "<|im_end|>\n<|im_start|>assistant\n");
    };
    bool first = true;
    for (const auto &t : history) {
        user(t.question, first);
        first = false;
        b.text(answerText(t.answer) + "<|im_end|>\n");
    }
    user(question, first);
}

} // namespace uhdlens::models
