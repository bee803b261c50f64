// Family detection and creation from config.json, random initialisation, tiny/real configs, prompt embedding.
#include "models/families.h"

#include <ATen/CPUGeneratorImpl.h>

namespace uhdlens {

using models::json;

std::string detectFamily(const json &config)
{
    if (!config.is_object())
        throw Error(ErrorCode::UnknownFamily, "config.json is not a JSON object", "model_type");
    const auto *mt = models::findKey(config, "model_type");
    if (!mt || !mt->is_string())
        throw Error(ErrorCode::UnknownFamily, "config.json has no 'model_type': cannot tell the model family",
                    "model_type");
    const std::string type = mt->get<std::string>();
    if (type == "uhd-paper" || type == "uhd_paper")
        return "uhd-paper";
    if (type == "minicpmv") {
        // MiniCPM-V 2.5/2.6 share the model_type but use a NaViT SigLIP and Llama-3/Qwen2 (spec §5.3).
        std::string version;
        if (const auto *v = models::findKey(config, "version"))
            version = v->is_string() ? v->get<std::string>() : v->is_number() ? std::to_string(v->get<double>()) : "";
        if (version.rfind("2.5", 0) == 0 || version.rfind("2.6", 0) == 0 || config.contains("slice_config"))
            throw Error(ErrorCode::UnknownFamily,
                        "MiniCPM-V 2.5/2.6 checkpoints are not supported (only MiniCPM-V 2.0)", "version");
        return "minicpmv";
    }
    if (type == "llava" || type == "llava_llama" || type == "llava-uhd") {
        const auto *p = models::findKey(config, "mm_projector_type");
        const std::string projector = p && p->is_string() ? p->get<std::string>() : "";
        if (projector == "adapt_spatial_resampler")
            return "llava-uhd";
        throw Error(ErrorCode::UnknownFamily,
                    "LLaVA checkpoint with mm_projector_type '" + projector +
                        "' is not LLaVA-UHD (expected 'adapt_spatial_resampler')",
                    "mm_projector_type");
    }
    throw Error(ErrorCode::UnknownFamily,
                "unknown model family '" + type + "' (supported: minicpmv, llava with adapt_spatial_resampler, uhd-paper)",
                "model_type");
}

std::unique_ptr<VisionLanguageModel> createFamilyModel(const json &config, const json *visionConfig,
                                                       const FamilyBuildOptions &options)
{
    const std::string family = detectFamily(config);
    if (family == "minicpmv")
        return models::createMiniCpmV(config, options);
    if (family == "llava-uhd")
        return models::createLlavaUhd(config, visionConfig, options);
    return models::createUhdPaper(config, options);
}

namespace {
bool endsWith(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool isNormWeight(const std::string &name)
{
    for (const char *k : {"norm", "ln_", "layrnorm"})
        if (name.find(k) != std::string::npos)
            return endsWith(name, ".weight");
    return false;
}
} // namespace

void initRandom(VisionLanguageModel &model, uint64_t seed)
{
    torch::NoGradGuard noGrad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (auto &[name, p] : model.namedParameters()) {
        torch::Tensor value;
        if (p.dim() == 1 && isNormWeight(name)) {
            value = torch::ones(p.sizes(), torch::kFloat32);
        } else if (endsWith(name, "bias")) {
            value = torch::zeros(p.sizes(), torch::kFloat32);
        } else if (endsWith(name, "resampler.pos_embed") || endsWith(name, "mm_projector.pos_embed")) {
            // Frozen 2D sin-cos of the query grid, exactly what the references store.
            const int64_t side = models::querySide(p.size(0), name);
            value = nn::sincos2d(p.size(1), side, side);
        } else if ((endsWith(name, "resampler.proj") || endsWith(name, "mm_projector.proj")) && p.dim() == 2) {
            // Resampler.__init__: proj = D^-0.5 * randn(D, D).
            value = torch::empty(p.sizes(), torch::kFloat32).normal_(0.0, 1.0 / std::sqrt(double(p.size(0))), gen);
        } else {
            value = torch::empty(p.sizes(), torch::kFloat32).normal_(0.0, 0.02, gen);
        }
        p.copy_(value);
    }
}

json tinyConfig(const std::string &family)
{
    if (family == "minicpmv")
        return models::tinyMiniCpmV();
    if (family == "llava-uhd")
        return models::tinyLlavaUhd();
    if (family == "uhd-paper")
        return models::tinyUhdPaper();
    throw Error(ErrorCode::UnknownFamily, "unknown model family '" + family + "'", family);
}

json realConfig(const std::string &family)
{
    if (family == "minicpmv")
        return models::realMiniCpmV();
    throw Error(ErrorCode::UnknownFamily, "no real-shapes config for family '" + family + "' (only minicpmv)", family);
}

std::vector<std::string> familySpecialTokens(const std::string &family)
{
    if (family == "minicpmv")
        // MiniCPM-V 2.0 tokenizer_config special pieces (§5.2) plus the chat roles of its template.
        return {"<image>", "</image>", "<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>",
                "<point>", "</point>", "<slice>", "</slice>", "<用户>", "<AI>"};
    if (family == "llava-uhd" || family == "uhd-paper")
        return {}; // Vicuna v1 is plain text; "," and "\n" come from the vocabulary (byte fallback at worst)
    throw Error(ErrorCode::UnknownFamily, "unknown model family '" + family + "'", family);
}

torch::Tensor embedPrompt(const VisionLanguageModel &model, const Prompt &prompt, const torch::Tensor &imageTokens)
{
    std::vector<torch::Tensor> parts;
    parts.reserve(prompt.segments.size());
    for (const auto &s : prompt.segments) {
        if (s.imageIndex >= 0) {
            if (!imageTokens.defined() || imageTokens.dim() != 3 || s.imageIndex >= imageTokens.size(0))
                throw Error(ErrorCode::InvalidArgument,
                            "prompt refers to image " + std::to_string(s.imageIndex) + " but only " +
                                std::to_string(imageTokens.defined() && imageTokens.dim() == 3 ? imageTokens.size(0) : 0) +
                                " are encoded");
            parts.push_back(imageTokens[s.imageIndex].to(model.device(), model.dtype()));
        } else if (!s.ids.empty()) {
            parts.push_back(model.embedTokens(torch::tensor(s.ids, torch::kLong)));
        }
    }
    if (parts.empty())
        throw Error(ErrorCode::InvalidArgument, "empty prompt");
    return torch::cat(parts, 0);
}

} // namespace uhdlens
