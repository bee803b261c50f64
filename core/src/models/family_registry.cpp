// Family detection and creation from config.json, random initialisation, tiny/real configs, prompt embedding.
#include "models/families.h"
#include "name_table.h"

#include <set>

#include <ATen/CPUGeneratorImpl.h>

namespace uhdlens {

using models::json;

namespace {

using CreateFn = std::unique_ptr<VisionLanguageModel> (*)(const json &config, const json *visionConfig,
                                                          const FamilyBuildOptions &options);

// One row per family: everything that differs between families outside their model file. `modelTypes` are the
// config.json "model_type" values that name it; where several rows share a model_type (MiniCPM-V 2.0 and 2.6
// are both "minicpmv"), `covers` picks the row from the config (null: every config of the model_type) and
// `variant` says in words what it accepts, for the error when no row does; `check` refuses a sibling
// checkpoint the family does not cover (Error(UnknownFamily) naming the key); `realConfig` is null where
// there is no real-shapes preset.
struct FamilyRow
{
    Family value;
    std::string_view name;
    TokenLayout layout;
    std::vector<std::string> modelTypes;
    std::vector<std::string> specialTokens;
    json (*tinyConfig)();
    json (*realConfig)();
    CreateFn create;
    void (*check)(const json &config);
    TokenizerFormat tokenizer = TokenizerFormat::SentencePiece;
    bool (*covers)(const json &config) = nullptr;
    std::string_view variant = {};
    // transcriptionPrompt(): the question for "transcribe" (uhdlens/model_facts.h). Last, with a default, so a row
    // that does not name one compiles unchanged and gets the general instruction.
    std::string_view transcriptionPrompt = kDefaultTranscriptionPrompt;
};

// MiniCPM-V 2.0, 2.5 and 2.6 share model_type "minicpmv"; config.json "version" tells them apart (2.0's
// config has none; 2.5 and 2.6 also carry "slice_config").
bool coversMiniCpmV2(const json &config)
{
    const std::string v = models::miniCpmVersion(config);
    return (v.empty() || v == "2" || v == "2.0") && !config.contains("slice_config");
}
bool coversMiniCpmV26(const json &config)
{
    return models::miniCpmVersion(config) == "2.6";
}
bool coversMiniCpmV45(const json &config)
{
    return models::miniCpmVersion(config) == "4.5";
}

void checkLlavaUhd(const json &config)
{
    const auto *p = models::findKey(config, "mm_projector_type");
    const std::string projector = p && p->is_string() ? p->get<std::string>() : "";
    if (projector != "adapt_spatial_resampler")
        throw Error(ErrorCode::UnknownFamily,
                    "LLaVA checkpoint with mm_projector_type '" + projector +
                        "' is not LLaVA-UHD (expected 'adapt_spatial_resampler')",
                    "mm_projector_type");
}

const std::vector<FamilyRow> &familyTable()
{
    static const std::vector<FamilyRow> rows = {
        {Family::MiniCpmV,
         "minicpmv",
         TokenLayout::MiniCpmV2,
         {"minicpmv"},
         // MiniCPM-V 2.0 tokenizer_config special pieces (§5.2) plus the chat roles of its template.
         {"<image>", "</image>", "<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>", "<point>",
          "</point>", "<slice>", "</slice>", "<用户>", "<AI>"},
         models::tinyMiniCpmV,
         models::realMiniCpmV,
         [](const json &c, const json *, const FamilyBuildOptions &o) {
             return models::createMiniCpmV(c, o);
         },
         [](const json &) {},
         TokenizerFormat::SentencePiece,
         coversMiniCpmV2,
         "MiniCPM-V 2.0 (no \"version\" key, or 2.0)"},
        // Vicuna v1 is plain text: no special pieces ("," and "\n" come from the vocabulary, byte fallback at
        // worst).
        {Family::LlavaUhd,
         "llava-uhd",
         TokenLayout::LlavaUhdRelease,
         {"llava", "llava_llama", "llava-uhd"},
         {},
         models::tinyLlavaUhd,
         nullptr,
         models::createLlavaUhd,
         checkLlavaUhd},
        {Family::UhdPaper,
         "uhd-paper",
         TokenLayout::LlavaUhdPaper,
         {"uhd-paper", "uhd_paper"},
         {},
         models::tinyUhdPaper,
         nullptr,
         [](const json &c, const json *, const FamilyBuildOptions &o) {
             return models::createUhdPaper(c, o);
         },
         [](const json &) {},
         TokenizerFormat::SentencePiece,
         nullptr,
         {},
         // Our own model knows one reading question: lab's kReadTextQuestion (core/lab/.../synthdata.h), the one
         // it was trained to answer with the text in reading order; an instruction it never saw gets noise.
         "Read the text."},
        // MiniCPM-V 2.6 (openbmb/MiniCPM-V-2_6): Qwen2's byte-level BPE with the added tokens of its
        // tokenizer_config.json; the chat roles are ChatML's <|im_start|> / <|im_end|>.
        {Family::MiniCpmV26,
         "minicpmv26",
         TokenLayout::MiniCpmV26,
         {"minicpmv"},
         {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "</image>", "<ref>", "</ref>", "<box>",
          "</box>", "<quad>", "</quad>", "<slice>", "</slice>", "<image_id>", "</image_id>", "<unk>"},
         models::tinyMiniCpmV26,
         models::realMiniCpmV26,
         [](const json &c, const json *, const FamilyBuildOptions &o) {
             return models::createMiniCpmV26(c, o);
         },
         [](const json &) {},
         TokenizerFormat::ByteLevelBpe,
         coversMiniCpmV26,
         "MiniCPM-V 2.6 (\"version\": 2.6)"},
        // MiniCPM-V 4.5 (openbmb/MiniCPM-V-4_5): Qwen3's byte-level BPE with 2.6's added tokens plus Qwen3's
        // <think> / </think> (its chat template's thinking switch); same image-span layout as 2.6.
        {Family::MiniCpmV45,
         "minicpmv45",
         TokenLayout::MiniCpmV26,
         {"minicpmv"},
         {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "</image>", "<ref>", "</ref>", "<box>",
          "</box>", "<quad>", "</quad>", "<slice>", "</slice>", "<image_id>", "</image_id>", "<unk>", "<think>",
          "</think>"},
         models::tinyMiniCpmV45,
         models::realMiniCpmV45,
         [](const json &c, const json *, const FamilyBuildOptions &o) {
             return models::createMiniCpmV45(c, o);
         },
         [](const json &) {},
         TokenizerFormat::ByteLevelBpe,
         coversMiniCpmV45,
         "MiniCPM-V 4.5 (\"version\": 4.5)"},
    };
    return rows;
}

const FamilyRow &rowOf(Family family)
{
    for (const auto &r : familyTable())
        if (r.value == family)
            return r;
    throw Error(ErrorCode::UnknownFamily, "unknown model family", "family"); // unreachable for a valid enum
}

} // namespace

std::string nameOf(Family value)
{
    return std::string(rowOf(value).name);
}
template <> std::optional<Family> fromName<Family>(std::string_view name)
{
    return names::fromName<Family>(familyTable(), name);
}
template <> Family parseName<Family>(std::string_view name)
{
    return names::parse<Family>(familyTable(), name, "model family", ErrorCode::UnknownFamily);
}
template <> std::vector<std::string> allNames<Family>()
{
    return names::canonical(familyTable());
}
template <> std::string validNamesText<Family>()
{
    return names::joinChoices(allNames<Family>());
}

TokenLayout familyLayout(Family family)
{
    return rowOf(family).layout;
}
std::vector<std::string> familySpecialTokens(Family family)
{
    return rowOf(family).specialTokens;
}
std::string transcriptionPrompt(Family family)
{
    return std::string(rowOf(family).transcriptionPrompt);
}
TokenizerFormat familyTokenizer(Family family)
{
    return rowOf(family).tokenizer;
}

Family detectFamily(const json &config)
{
    if (!config.is_object())
        throw Error(ErrorCode::UnknownFamily, "config.json is not a JSON object", "model_type");
    const auto *mt = models::findKey(config, "model_type");
    if (!mt || !mt->is_string())
        throw Error(ErrorCode::UnknownFamily, "config.json has no 'model_type': cannot tell the model family",
                    "model_type");
    const std::string type = mt->get<std::string>();
    std::string known, variants;
    std::set<std::string> listed;
    for (const auto &r : familyTable()) {
        for (const auto &t : r.modelTypes) {
            if (listed.insert(t).second)
                known += (known.empty() ? "" : ", ") + t;
            if (t != type)
                continue;
            if (!r.covers || r.covers(config)) {
                r.check(config);
                return r.value;
            }
            variants +=
                (variants.empty() ? "" : "; ") + std::string(r.variant) + " -> " + std::string(r.name);
        }
    }
    if (!variants.empty()) {
        // The model_type is ours but no row covers this checkpoint: today only MiniCPM-V versions differ so.
        const std::string version = models::miniCpmVersion(config);
        throw Error(
            ErrorCode::UnknownFamily,
            "config.json: model_type '" + type + "' with \"version\" " +
                (version.empty() ? std::string("absent but a \"slice_config\"") : "'" + version + "'") +
                " is not supported (supported: " + variants + ")",
            "version");
    }
    throw Error(ErrorCode::UnknownFamily,
                "unknown model family '" + type + "' (supported model_type values: " + known +
                    "; llava needs mm_projector_type adapt_spatial_resampler)",
                "model_type");
}

std::unique_ptr<VisionLanguageModel> createFamilyModel(const json &config, const json *visionConfig,
                                                       const FamilyBuildOptions &options)
{
    return rowOf(detectFamily(config)).create(config, visionConfig, options);
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
        } else if (endsWith(name, "bias") || endsWith(name, "lora_b")) {
            // A low-rank adapter starts as no change (B = 0), as LoRA initialises it.
            value = torch::zeros(p.sizes(), torch::kFloat32);
        } else if (endsWith(name, "lora_a")) {
            value = torch::empty(p.sizes(), torch::kFloat32)
                        .normal_(0.0, 1.0 / std::sqrt(double(p.size(1))), gen);
        } else if (endsWith(name, "resampler.pos_embed") || endsWith(name, "mm_projector.pos_embed")) {
            // Frozen 2D sin-cos of the query grid, exactly what the references store.
            const int64_t side = models::querySide(p.size(0), name);
            value = nn::sincos2d(p.size(1), side, side);
        } else if ((endsWith(name, "resampler.proj") || endsWith(name, "mm_projector.proj")) &&
                   p.dim() == 2) {
            // Resampler.__init__: proj = D^-0.5 * randn(D, D).
            value = torch::empty(p.sizes(), torch::kFloat32).normal_(0.0, 1.0 / std::sqrt(double(p.size(0))), gen);
        } else {
            value = torch::empty(p.sizes(), torch::kFloat32).normal_(0.0, 0.02, gen);
        }
        p.copy_(value);
    }
}

json tinyConfig(Family family)
{
    return rowOf(family).tinyConfig();
}

json realConfig(Family family)
{
    const FamilyRow &r = rowOf(family);
    if (!r.realConfig)
        throw Error(ErrorCode::UnknownFamily,
                    "no real-shapes config for family '" + std::string(r.name) +
                        "' (only minicpmv, minicpmv26 and minicpmv45)",
                    std::string(r.name));
    return r.realConfig();
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
