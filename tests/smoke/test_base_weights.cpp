// A model folder that takes its vision tower from base weights (config.json "base_weights",
// core/src/base_weights.h): a tiny uhd-paper model whose DINOv2 tower is the committed tiny ONNX export
// (tests/data/reference/dinov2-onnx) and whose folder holds only the resampler and language model. It loads
// through Model::load, its tower's weights are the export's, it answers, and every way the base weights can
// be wrong is a clear error.
#include "base_weights.h"
#include "engine_impl.h"
#include "model_family.h"
#include "onnx/onnx_vit.h"
#include "safetensors.h"
#include "uhdlens/devtools.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <QColor>
#include <QImage>
#include <QTemporaryDir>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace uhdlens;
using json = nlohmann::json;

namespace {

const std::string kTinyOnnx = UHDLENS_TEST_DATA "/reference/dinov2-onnx/tiny-dinov2.onnx";

// A uhd-paper folder (tokenizer and uhdlens.json of the make-tiny folder) whose config names `base` and whose
// model.safetensors holds every parameter except the vision tower's.
struct Folder
{
    QTemporaryDir tmp;
    std::string dir;
    json config;

    explicit Folder(const json &base = json{{"vision.", kTinyOnnx}})
    {
        const std::string corpus = findResource("text/tiny-corpus.txt");
        if (corpus.empty())
            throw std::runtime_error("resources/text/tiny-corpus.txt not found");
        dir = writeTinyModel(Family::UhdPaper, tmp.filePath("m").toStdString(), 5, corpus).modelDir;
        config = json::parse(std::ifstream(dir + "/config.json"));
        config["vision_config"] = {
            {"model_type", "dinov2"},   {"hidden_size", 128},       {"num_hidden_layers", 2},
            {"num_attention_heads", 2}, {"intermediate_size", 128}, {"image_size", 70},
            {"patch_size", 14},         {"layer_norm_eps", 1e-6},   {"hidden_act", "gelu"}};
        config["scale_resolution"] = 112;
        config["base_weights"] = base;
        auto vlm = createFamilyModel(config, nullptr, FamilyBuildOptions{torch::kFloat32, torch::kCPU});
        initRandom(*vlm, 9);
        std::vector<std::pair<std::string, torch::Tensor>> own;
        for (const auto &[name, p] : vlm->namedParameters())
            if (name.rfind("vision.", 0) != 0)
                own.emplace_back(name, p);
        std::filesystem::remove(dir + "/model.safetensors");
        saveSafeTensors(dir + "/model.safetensors", own);
        writeConfig();
    }
    void writeConfig() const { std::ofstream(dir + "/config.json") << config.dump(1); }
};

std::shared_ptr<const Model> load(const std::string &dir)
{
    LoadOptions o;
    o.modelDir = dir;
    o.dtype = Dtype::F32;
    return Model::load(o);
}

void expectError(const std::string &dir, ErrorCode code, const std::string &needle)
{
    try {
        (void)load(dir);
        ADD_FAILURE() << "loaded; expected " << errorCodeName(code) << " mentioning '" << needle << "'";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

} // namespace

TEST(BaseWeights, VisionTowerComesFromTheOnnxFileAndTheModelAnswers)
{
    Folder f;
    const auto model = load(f.dir);
    bool listed = false;
    for (const auto &s : model->info().settingSources)
        listed = listed || (s.key == "weights.base" && s.value.find("tiny-dinov2.onnx") != std::string::npos);
    EXPECT_TRUE(listed) << "the model panel does not say where the vision tower came from";
    EXPECT_NE(model->info().weightsHash.find('+'), std::string::npos); // folder + base file
    QImage img(200, 120, QImage::Format_RGB888);
    img.fill(QColor(30, 120, 200));
    for (int y = 40; y < 80; ++y)
        for (int x = 20; x < 180; ++x)
            img.setPixelColor(x, y, QColor(250, (x * 3) % 256, y * 2));
    // The vision features of every encoded image equal the export's tower run on the same pixels.
    const std::string dump = f.tmp.filePath("dump.safetensors").toStdString();
    (void)dumpEncoding(*model, img, std::nullopt, "What is it?", dump);
    const Checkpoint d = Checkpoint::open(dump);
    const auto tower = onnx::loadDinov2Onnx(kTinyOnnx, torch::kFloat32);
    int images = 0;
    for (; d.contains("image" + std::to_string(images) + ".vision"); ++images) {
        const std::string k = "image" + std::to_string(images);
        const auto want = tower.vit->forward(d.get(k + ".pixels").clone());
        EXPECT_LT((d.get(k + ".vision").clone() - want).abs().max().item<double>(), 1e-5) << k;
    }
    EXPECT_GE(images, 2) << "expected slices and an overview";
    Conversation chat(model);
    chat.setImage(img);
    GenerationSettings g;
    g.maxNewTokens = 4;
    const AskResult r = chat.ask("What colour is it?", g);
    EXPECT_GE(r.generatedTokens, 1);
}

TEST(BaseWeights, MissingOrWrongBaseFilesAreClearErrors)
{
    {
        Folder f(json{{"vision.", "no-such-wheel-1.0/vit.onnx"}});
        expectError(f.dir, ErrorCode::FileNotFound, kBaseWeightsCommand);
    }
    {
        Folder f;
        f.config["base_weights"] = json{{"vision", kTinyOnnx}};
        f.writeConfig();
        expectError(f.dir, ErrorCode::ConfigInvalid, "must end in '.'");
        f.config["base_weights"] = json{{"vision.", 3}};
        f.writeConfig();
        expectError(f.dir, ErrorCode::ConfigInvalid, "non-empty string");
        f.config["base_weights"] = json::array({kTinyOnnx});
        f.writeConfig();
        expectError(f.dir, ErrorCode::ConfigInvalid, "object");
        f.config["base_weights"] = json{{"vision.", UHDLENS_TEST_DATA "/images/vga.png"}};
        f.writeConfig();
        expectError(f.dir, ErrorCode::ConfigInvalid, "neither an .onnx nor a .gguf");
        f.config["base_weights"] = json{{"vision.", kTinyOnnx}, {"vision.encoder.", kTinyOnnx}};
        f.writeConfig();
        expectError(f.dir, ErrorCode::ConfigInvalid, "overlap");
        f.config["base_weights"] = json{{"vision.", kTinyOnnx}, {"projector.", kTinyOnnx}};
        f.writeConfig();
        expectError(f.dir, ErrorCode::CheckpointInvalid, "no parameters under it");
        // An ONNX graph without a backbone, and a tower of other shapes.
        std::filesystem::copy_file(UHDLENS_TEST_DATA "/../fuzz/onnx_model/corpus/minimal",
                                   f.dir + "/minimal.onnx");
        f.config["base_weights"] = json{{"vision.", f.dir + "/minimal.onnx"}};
        f.writeConfig();
        expectError(f.dir, ErrorCode::CheckpointInvalid, "no usable DINOv2 backbone");
        f.config["base_weights"] = json{{"vision.", kTinyOnnx}};
        f.config["vision_config"]["intermediate_size"] = 256;
        f.writeConfig();
        expectError(f.dir, ErrorCode::TensorShapeMismatch, "tiny-dinov2.onnx");
    }
}

TEST(BaseWeights, LanguageModelAndTokenizerComeFromTheGgufFile)
{
    // The folder holds config.json and the resampler only: the tower from the tiny DINOv2 export, the
    // language model (SmolLM2's structure: 6 / 2 heads, tied embeddings) and its tokenizer from the
    // SmolLM2-shaped GGUF fixture, ChatML turns as that model's template writes them.
    const std::string gguf = UHDLENS_TEST_DATA "/reference/smollm-gguf/smollm-f32.gguf";
    Folder f;
    f.config["text_config"] = {
        {"hidden_size", 96},          {"num_hidden_layers", 2},   {"num_attention_heads", 6},
        {"num_key_value_heads", 2},   {"intermediate_size", 128}, {"vocab_size", 1024},
        {"rms_norm_eps", 1e-5},       {"rope_theta", 100000.0},   {"max_position_embeddings", 512},
        {"tie_word_embeddings", true}};
    f.config["max_slice_nums"] = 2;
    f.config["chat_template"] = "chatml";
    f.config["system_message"] = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
    f.config["base_weights"] = {{"vision.", kTinyOnnx}, {"llm.", gguf}};
    f.writeConfig();
    auto vlm = createFamilyModel(f.config, nullptr, FamilyBuildOptions{torch::kFloat32, torch::kCPU});
    initRandom(*vlm, 4);
    std::vector<std::pair<std::string, torch::Tensor>> own;
    for (const auto &[name, p] : vlm->namedParameters()) {
        EXPECT_NE(name, "llm.lm_head.weight") << "tied embeddings have no lm_head";
        if (name.rfind("resampler.", 0) == 0)
            own.emplace_back(name, p);
    }
    std::filesystem::remove(f.dir + "/model.safetensors");
    std::filesystem::rename(f.dir + "/tokenizer.model", f.tmp.filePath("spm.model").toStdString());
    saveSafeTensors(f.dir + "/model.safetensors", own);

    const auto model = load(f.dir);
    int baseSources = 0;
    for (const auto &s : model->info().settingSources)
        baseSources += s.key == "weights.base";
    EXPECT_EQ(baseSources, 2);
    // The GGUF's tokenizer (the SmolLM2 vocabulary cut to 1024 ids) with its ChatML tokens: <|im_end|> stops.
    const Tokenizer &tok = *model->impl().tokenizer;
    ASSERT_TRUE(tok.hasPiece("<|im_end|>"));
    const std::vector<int64_t> &stops = model->impl().stopIds;
    EXPECT_NE(std::find(stops.begin(), stops.end(), tok.pieceToId("<|im_end|>")), stops.end());
    QImage img(160, 100, QImage::Format_RGB888);
    img.fill(QColor(200, 40, 40));
    Conversation chat(model);
    chat.setImage(img);
    GenerationSettings g;
    g.maxNewTokens = 6;
    const AskResult r = chat.ask("What colour is it?", g);
    EXPECT_GE(r.generatedTokens, 1);
    EXPECT_NE(chat.history().back().question.find("What colour"), std::string::npos);

    // A tokenizer file in the folder is used instead of the GGUF's; one without <|im_start|> / <|im_end|>
    // cannot write the ChatML template: a clear error at load.
    std::filesystem::copy_file(f.tmp.filePath("spm.model").toStdString(), f.dir + "/tokenizer.model");
    expectError(f.dir, ErrorCode::TokenizerInvalid, "ChatML template");
}

TEST(BaseWeights, TheBundledDefaultsBaseFilesAreFoundInTheCache)
{
    // baseWeightsDir() + a relative name: the form a shipped config.json uses.
    if (findBaseWeight(kDinov2SmallOnnxFile).empty())
        GTEST_SKIP() << "base weights not installed: run " << kBaseWeightsCommand;
    const json cfg = {{"base_weights", {{"vision.", kDinov2SmallOnnxFile}}}};
    const auto sources = baseWeightSources(cfg);
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources[0].path, baseWeightsDir() + "/" + kDinov2SmallOnnxFile);
}
