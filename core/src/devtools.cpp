// make-tiny and encode --dump (devtools.h).
#include "uhdlens/devtools.h"

#include "engine_impl.h"
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/plan_json.h"

#include <QDir>
#include <QFile>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace uhdlens {

namespace {

std::string join(const std::string &dir, const std::string &name)
{
    return QDir(QString::fromStdString(dir)).filePath(QString::fromStdString(name)).toStdString();
}

} // namespace

TinyModel writeTinyModel(Family family, const std::string &outDir, std::uint64_t seed,
                         const std::string &corpusFile)
{
    const nlohmann::json config = tinyConfig(family);
    const std::string familyName = nameOf(family);
    std::ifstream corpus(corpusFile);
    if (!corpus)
        throw Error(ErrorCode::FileNotFound, "tokenizer corpus not found: " + corpusFile, corpusFile);
    // The tiny vocabularies (a few hundred pieces) have room for 256 byte pieces, the special tokens and the
    // ASCII characters, not for every character of a multilingual text: sentencepiece refuses a vocabulary
    // smaller than the characters it must cover. So the tokenizer learns from the ASCII sentences; any other
    // text still round-trips through byte fallback.
    std::vector<std::string> sentences, all;
    for (std::string line; std::getline(corpus, line);) {
        if (line.empty())
            continue;
        all.push_back(line);
        if (std::all_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
            sentences.push_back(line);
    }
    if (!QDir().mkpath(QString::fromStdString(outDir)))
        throw Error(ErrorCode::FileUnreadable, "cannot create folder " + outDir, outDir);

    TinyModel tiny;
    tiny.modelDir = outDir;
    torch::NoGradGuard noGrad;
    auto vlm = createFamilyModel(config, nullptr);
    initRandom(*vlm, seed);
    const auto params = vlm->namedParameters();
    for (const auto &p : params)
        tiny.parameters += p.second.numel();

    writeJsonFile(join(outDir, "config.json"), config);
    const std::map<std::string, std::string> meta = {
        {"format", "pt"}, {"uhdlens_family", familyName}, {"uhdlens_seed", std::to_string(seed)}};
    saveSafeTensors(join(outDir, "model.safetensors"), params, meta);

    std::vector<std::string> special;
    if (config.contains("uhdlens_special_tokens"))
        special = config["uhdlens_special_tokens"].get<std::vector<std::string>>();
    else
        special = familySpecialTokens(family);
    const int vocab = static_cast<int>(vlm->vocabSize()); // the tokenizer fills the model's vocabulary exactly
    Tokenizer::train(vocab >= 2000 ? all : sentences, join(outDir, "tokenizer.model"), vocab, special);

    nlohmann::json extra = {
        {"name", "UHD Lens tiny " + familyName + " (random weights, seed " + std::to_string(seed) + ")"},
        {"description", "Random weights for tests and demos: its answers are meaningless."},
        {"suggested_questions", {"What is in the image?", "What colour is the button?"}}};
    writeJsonFile(join(outDir, "uhdlens.json"), extra);
    tiny.files = {join(outDir, "config.json"), join(outDir, "model.safetensors"), join(outDir, "tokenizer.model"),
                  join(outDir, "uhdlens.json")};

    const auto prefixes = vlm->visionTowerPrefixes();
    if (!prefixes.empty()) {
        // The vision tower as its own folder (what LLaVA-UHD's mm_vision_tower points at).
        tiny.visionDir = join(outDir, "vision");
        QDir().mkpath(QString::fromStdString(tiny.visionDir));
        std::vector<std::pair<std::string, torch::Tensor>> vision;
        for (const auto &p : params)
            for (const auto &prefix : prefixes)
                if (p.first.rfind(prefix, 0) == 0) {
                    vision.push_back(p);
                    break;
                }
        const nlohmann::json visionConfig = config.contains("vision_config") ? config["vision_config"] : config;
        writeJsonFile(join(tiny.visionDir, "config.json"), visionConfig);
        saveSafeTensors(join(tiny.visionDir, "model.safetensors"), vision, meta);
        tiny.files.push_back(join(tiny.visionDir, "config.json"));
        tiny.files.push_back(join(tiny.visionDir, "model.safetensors"));
    }
    return tiny;
}

std::vector<DumpedTensor> dumpEncoding(const Model &model, const QImage &rgb, const std::optional<SlicePolicy> &policy,
                                       const std::string &question, const std::string &outFile)
{
    const Model::Impl &mi = model.impl();
    const VisionLanguageModel &vlm = *mi.vlm;
    torch::InferenceMode inference;
    if (rgb.isNull())
        throw Error(ErrorCode::ImageEmpty, "the image is empty");
    const SlicePlan plan = model.plan({rgb.width(), rgb.height()}, policy);

    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    auto keep = [&](const std::string &name, const torch::Tensor &t) {
        tensors.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat).contiguous().clone());
    };
    const std::vector<torch::Tensor> px = mi.pixels(rgb, plan);
    std::vector<torch::Tensor> encoded;
    for (size_t k = 0; k < px.size(); ++k) {
        const std::string prefix = "image" + std::to_string(k) + ".";
        keep(prefix + "pixels", px[k]);
        encoded.push_back(mi.encode(px[k], keep, prefix));
        keep(prefix + "tokens", encoded.back());
    }
    const Prompt prompt = vlm.buildPrompt(plan, {}, question, *mi.tokenizer);
    keep("prompt.embeds", embedPrompt(vlm, prompt, torch::stack(encoded, 0)));

    const std::map<std::string, std::string> meta = {{"plan", planToJson(plan, model.info().layout).dump()},
                                                     {"family", nameOf(model.info().family)},
                                                     {"dtype", nameOf(model.info().dtype)},
                                                     {"question", question}};
    saveSafeTensors(outFile, tensors, meta);
    std::vector<DumpedTensor> out;
    for (const auto &t : tensors)
        out.push_back({t.first, t.second.sizes().vec()});
    return out;
}

} // namespace uhdlens
