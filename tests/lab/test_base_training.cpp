// Training on pretrained parts (issue 18): a uhd-paper config whose vision tower and language model come from
// base weights (config.json "base_weights") trains only its resampler and low-rank adapters, with the base
// parts frozen; the folder it writes holds only those, takes the tokenizer from the GGUF file, loads with
// Model::load and answers. The fixtures stand in for the real files: the tiny DINOv2 ONNX export and the
// SmolLM2-shaped GGUF file of tests/data/reference. Also the adapter layer itself
// (nn::LinearImpl::enableLora) and the config's "lora" key.
#include "base_weights.h"
#include "model_family.h"
#include "nn/layers.h"
#include "safetensors.h"
#include "trainable_model.h"

#include "uhdlens/devtools.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/lab/training.h"
#include "uhdlens/resources.h"

#include <gtest/gtest.h>

#include "gui_app.h"
#include <QColor>
#include <QFileInfo>
#include <QImage>
#include <QTemporaryDir>

#include <filesystem>
#include <fstream>

using namespace uhdlens;
using json = nlohmann::json;

namespace {

const std::string kTinyOnnx = UHDLENS_TEST_DATA "/reference/dinov2-onnx/tiny-dinov2.onnx";
const std::string kTinyGguf = UHDLENS_TEST_DATA "/reference/smollm-gguf/smollm-f32.gguf";

// The tiny uhd-paper config turned into the bundled default's shape: DINOv2 tower and SmolLM2-shaped decoder
// from the fixtures, ChatML, adapters on q_proj / v_proj.
json baseConfig(const std::string &dir)
{
    const std::string corpus = findResource("text/tiny-corpus.txt");
    if (corpus.empty())
        throw std::runtime_error("resources/text/tiny-corpus.txt not found");
    json c =
        readJsonFile(writeTinyModel(Family::UhdPaper, dir + "/tiny", 5, corpus).modelDir + "/config.json");
    c["vision_config"] = {{"model_type", "dinov2"},   {"hidden_size", 128},       {"num_hidden_layers", 2},
                          {"num_attention_heads", 2}, {"intermediate_size", 128}, {"image_size", 70},
                          {"patch_size", 14},         {"layer_norm_eps", 1e-6},   {"hidden_act", "gelu"}};
    c["text_config"] = {
        {"hidden_size", 96},          {"num_hidden_layers", 2},   {"num_attention_heads", 6},
        {"num_key_value_heads", 2},   {"intermediate_size", 128}, {"vocab_size", 1024},
        {"rms_norm_eps", 1e-5},       {"rope_theta", 100000.0},   {"max_position_embeddings", 2048},
        {"tie_word_embeddings", true}};
    c["scale_resolution"] = 112;
    c["max_slice_nums"] = 4;
    c["resampler_num_heads"] = 2;
    c["chat_template"] = "chatml";
    c["system_message"] = "Answer with the exact word.";
    c["lora"] = {{"rank", 4}, {"alpha", 8}};
    c["base_weights"] = {{"vision.", kTinyOnnx}, {"llm.", kTinyGguf}};
    c.erase("uhdlens_special_tokens");
    return c;
}

TrainOptions baseOptions(const std::string &config, const std::string &out)
{
    TrainOptions o;
    o.configFile = config;
    o.outDir = out;
    o = baseWeightsDefaults(o);
    o.steps = 3;
    o.batchImages = 2;
    o.turnsPerImage = 2;
    o.minSide = 150;
    o.maxSide = 260;
    o.imageTextMaxLines = 4;
    o.logEvery = 1;
    o.checkpointEvery = 100;
    o.dtype = "f32";
    return o;
}

std::vector<std::string> tensorNames(const std::string &file)
{
    return Checkpoint::open(file).names();
}

} // namespace

TEST(LowRankAdapter, AddsTheScaledLowRankProductToTheFrozenLayer)
{
    torch::manual_seed(3);
    nn::Linear linear(6, 5, true, torch::TensorOptions().dtype(torch::kFloat32));
    {
        torch::NoGradGuard ng;
        linear->weight.normal_();
        linear->bias.normal_();
    }
    const torch::Tensor x = torch::randn({2, 3, 6});
    const torch::Tensor plain = linear->forward(x);
    linear->enableLora(2, 6.0); // scale alpha / rank = 3
    ASSERT_TRUE(linear->loraA.defined());
    EXPECT_EQ(linear->loraA.sizes(), torch::IntArrayRef({2, 6}));
    EXPECT_EQ(linear->loraB.sizes(), torch::IntArrayRef({5, 2}));
    {
        torch::NoGradGuard ng;
        linear->loraA.normal_();
        linear->loraB.normal_();
    }
    const torch::Tensor want = plain + 3.0 * x.matmul(linear->loraA.t()).matmul(linear->loraB.t());
    EXPECT_TRUE(torch::allclose(linear->forward(x), want, 1e-5, 1e-5));
    // Names: beside weight and bias, recognised as adapters (never from base weights).
    std::vector<std::string> names;
    for (const auto &p : linear->named_parameters())
        names.push_back(p.key());
    EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "lora_a", "lora_b"}));
    EXPECT_TRUE(nn::isAdapterParameter("llm.model.layers.0.self_attn.q_proj.lora_a"));
    EXPECT_TRUE(nn::isAdapterParameter("lora_b"));
    EXPECT_FALSE(nn::isAdapterParameter("llm.model.layers.0.self_attn.q_proj.weight"));
    EXPECT_FALSE(nn::isAdapterParameter("llm.lora.weight"));
    const std::vector<BaseWeightSource> base{{"llm.", "x.gguf", "x.gguf", BaseWeightSource::Kind::GgufLlm}};
    EXPECT_FALSE(fromBaseWeights(base, "llm.model.layers.0.self_attn.q_proj.lora_a"));
    EXPECT_TRUE(fromBaseWeights(base, "llm.model.layers.0.self_attn.q_proj.weight"));
    // Bad sizes are refused.
    nn::Linear other(6, 5, false, torch::TensorOptions().dtype(torch::kFloat32));
    EXPECT_THROW(other->enableLora(0, 1.0), Error);
    EXPECT_THROW(other->enableLora(2, 0.0), Error);
}

TEST(LowRankAdapter, ConfigKeyAddsAdaptersToTheNamedLayersOnly)
{
    QTemporaryDir tmp;
    json c = baseConfig(tmp.path().toStdString());
    c.erase("base_weights");
    c["lora"] = {{"rank", 4}, {"modules", {"q_proj", "down_proj"}}};
    int adapters = 0;
    for (const auto &[name, p] : createFamilyModel(c, nullptr)->namedParameters())
        if (nn::isAdapterParameter(name)) {
            ++adapters;
            EXPECT_TRUE(name.find(".q_proj.lora_") != std::string::npos ||
                        name.find(".down_proj.lora_") != std::string::npos)
                << name;
            EXPECT_EQ(name.rfind("llm.model.layers.", 0), 0u) << name;
        }
    EXPECT_EQ(adapters, 2 /*layers*/ * 2 /*modules*/ * 2 /*a, b*/);
    // Bad "lora" values: clear ConfigInvalid errors naming the key.
    for (const json &bad : {json(3), json{{"alpha", 2}}, json{{"rank", 0}}, json{{"rank", 4}, {"alpha", -1}},
                            json{{"rank", 4}, {"modules", json::array()}},
                            json{{"rank", 4}, {"modules", {"attn"}}}, json{{"rank", "8"}}}) {
        SCOPED_TRACE(bad.dump());
        c["lora"] = bad;
        try {
            (void)createFamilyModel(c, nullptr);
            ADD_FAILURE() << "accepted";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid) << e.what();
            EXPECT_NE(std::string(e.what()).find("lora"), std::string::npos) << e.what();
        }
    }
}

TEST(BaseWeightsTraining, TrainsOnlyTheResamplerAndAdaptersAndTheFolderAnswers)
{
    ensureGuiApplication();
    QTemporaryDir tmp;
    const std::string root = tmp.path().toStdString();
    const json cfg = baseConfig(root);
    writeJsonFile(root + "/config.json", cfg);
    const std::string out = root + "/out";
    const TrainOptions o = baseOptions(root + "/config.json", out);
    const TrainResult r = train(o, {});
    EXPECT_EQ(r.steps, 3);
    EXPECT_TRUE(std::isfinite(r.lastLoss));

    // Only what was trained here ships: the resampler and the adapters; the tokenizer is the GGUF file's.
    const std::vector<std::string> names = tensorNames(out + "/model.safetensors");
    int resampler = 0, adapters = 0;
    for (const std::string &n : names) {
        resampler += n.rfind("resampler.", 0) == 0;
        adapters += nn::isAdapterParameter(n);
        EXPECT_TRUE(n.rfind("resampler.", 0) == 0 || nn::isAdapterParameter(n)) << n;
    }
    EXPECT_GT(resampler, 0);
    EXPECT_EQ(adapters, 2 * 2 * 2);
    EXPECT_FALSE(QFileInfo::exists(QString::fromStdString(out + "/tokenizer.model")));
    EXPECT_EQ(readJsonFile(out + "/config.json").at("base_weights"), cfg.at("base_weights"));
    // The adapters trained (B starts at zero), the base weights did not move (they are not in the file).
    bool moved = false;
    const Checkpoint ck = Checkpoint::open(out + "/model.safetensors");
    for (const std::string &name : names)
        if (name.size() > 6 && name.compare(name.size() - 6, 6, "lora_b") == 0)
            moved = moved || ck.get(name).abs().max().item<float>() > 0;
    EXPECT_TRUE(moved);
    const std::string meta = readJsonFile(out + "/uhdlens.json").at("description").get<std::string>();
    EXPECT_NE(meta.find("pretrained"), std::string::npos);

    LoadOptions lo;
    lo.modelDir = out;
    lo.dtype = Dtype::F32;
    const auto model = Model::load(lo);
    QImage img(240, 160, QImage::Format_RGB888);
    img.fill(QColor(40, 90, 200));
    Conversation chat(model);
    chat.setImage(img);
    GenerationSettings g;
    g.maxNewTokens = 4;
    EXPECT_GE(chat.ask("What colour is it?", g).generatedTokens, 1);

    // Resume continues the same run to a later step.
    TrainOptions more = o;
    more.resume = true;
    more.steps = 4;
    EXPECT_EQ(train(more, {}).steps, 4);
}

TEST(BaseWeightsTraining, OptionsThatTrainFrozenPartsAndMissingFilesAreRefused)
{
    ensureGuiApplication();
    QTemporaryDir tmp;
    const std::string root = tmp.path().toStdString();
    json cfg = baseConfig(root);
    writeJsonFile(root + "/config.json", cfg);
    for (const auto &set :
         std::vector<std::function<void(TrainOptions &)>>{[](TrainOptions &t) { t.glyphLossWeight = 1; },
                                                          [](TrainOptions &t) { t.encoderWarmupSteps = 10; },
                                                          [](TrainOptions &t) { t.lookLossWeight = 1; }}) {
        TrainOptions o = baseOptions(root + "/config.json", root + "/refused");
        set(o);
        try {
            (void)train(o, {});
            ADD_FAILURE() << "trained";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
            EXPECT_NE(std::string(e.what()).find("frozen"), std::string::npos) << e.what();
        }
        EXPECT_FALSE(QFileInfo::exists(QString::fromStdString(root + "/refused")));
    }
    // A base file that is not installed: FileNotFound naming the command that installs it; nothing written.
    cfg["base_weights"]["llm."] = root + "/absent.gguf";
    writeJsonFile(root + "/config.json", cfg);
    try {
        (void)train(baseOptions(root + "/config.json", root + "/absent"), {});
        ADD_FAILURE() << "trained";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound) << e.what();
        EXPECT_NE(std::string(e.what()).find(kBaseWeightsCommand), std::string::npos) << e.what();
    }
    EXPECT_FALSE(QFileInfo::exists(QString::fromStdString(root + "/absent")));
}

// Training computes the output head only at the rows a loss reads: the normed forward plus the head on those
// rows is the full forward's logits there.
TEST(BaseWeightsTraining, HeadOnChosenRowsEqualsTheFullForward)
{
    QTemporaryDir tmp;
    json c = baseConfig(tmp.path().toStdString());
    c.erase("base_weights");
    const auto model = createFamilyModel(c, nullptr);
    initRandom(*model, 2);
    torch::NoGradGuard ng;
    const torch::Tensor embeds = torch::randn({2, 7, 96});
    const TrainableModel &t = trainableModel(*model);
    const torch::Tensor full = t.forwardAll(embeds);
    const torch::Tensor normed = t.forwardNormed(embeds);
    ASSERT_EQ(normed.sizes(), torch::IntArrayRef({2, 7, 96}));
    const torch::Tensor rows = torch::tensor({1, 6, 9, 13}, torch::kLong);
    const torch::Tensor some = t.headLogits(normed.reshape({-1, 96}).index_select(0, rows));
    EXPECT_TRUE(torch::allclose(some, full.reshape({-1, full.size(-1)}).index_select(0, rows), 1e-5, 1e-5));
    EXPECT_THROW(t.forwardNormed(torch::randn({7, 96})), Error);
}
