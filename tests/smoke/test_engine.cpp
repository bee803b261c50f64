// End to end on make-tiny checkpoints of all three families: load, deterministic answers, streaming, cancel,
// the image-embedding cache and KV-cache prefix reuse, context overflow, encode dumps; loader bad input at the
// engine level (each a typed error naming the key, tensor or file).
#include "safetensors.h"
#include "uhdlens/devtools.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/plan_json.h"
#include "uhdlens/preprocess.h"
#include "uhdlens/resources.h"
#include "uhdlens/tokenizer.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include <atomic>
#include <fstream>
#include <set>

using namespace uhdlens;

namespace {

const std::vector<std::string> kFamilies = {"minicpmv", "llava-uhd", "uhd-paper"};

// One temp folder with a tiny model per family, made once per process.
struct TinyModels
{
    QTemporaryDir dir;
    std::map<std::string, TinyModel> models;
    TinyModels()
    {
        const std::string corpus = findResource("text/tiny-corpus.txt");
        if (corpus.empty())
            throw std::runtime_error("resources/text/tiny-corpus.txt not found");
        for (const auto &f : kFamilies)
            models[f] = writeTinyModel(parseName<Family>(f),
                                       dir.filePath(QString::fromStdString(f)).toStdString(), 11, corpus);
    }
};

TinyModels &tiny()
{
    static TinyModels models;
    return models;
}

std::shared_ptr<const Model> loadTiny(const std::string &family, const std::string &dtype = "auto")
{
    LoadOptions o;
    o.modelDir = tiny().models.at(family).modelDir;
    o.dtype = parseName<Dtype>(dtype);
    return Model::load(o);
}

// A wide test picture (so every family slices it): coloured bands and a few shapes.
QImage testImage(int w = 900, int h = 420, QColor accent = Qt::red)
{
    QImage img(w, h, QImage::Format_RGB888);
    img.fill(QColor(240, 240, 230));
    QPainter p(&img);
    p.fillRect(0, 0, w / 3, h, QColor(30, 90, 200));
    p.setBrush(accent);
    p.drawEllipse(w / 2, h / 4, w / 5, h / 2);
    p.fillRect(w - 120, 20, 100, 60, Qt::darkGreen);
    p.end();
    return img;
}

template <typename F>
Error expectError(F &&f)
{
    try {
        f();
    } catch (const Error &e) {
        return e;
    }
    ADD_FAILURE() << "expected uhdlens::Error";
    return Error(ErrorCode::Internal, "no error");
}

void writeFile(const QString &path, const std::string &text)
{
    std::ofstream out(path.toStdString(), std::ios::binary | std::ios::trunc);
    out << text;
}

// Copies a model folder (files only) so a test can break one piece of it.
QString copyModel(const std::string &from, QTemporaryDir &tmp, const QString &name)
{
    const QString to = tmp.filePath(name);
    QDir().mkpath(to);
    const QDir src(QString::fromStdString(from));
    for (const QString &f : src.entryList(QDir::Files))
        QFile::copy(src.filePath(f), QDir(to).filePath(f));
    return to;
}

nlohmann::json readJson(const QString &path)
{
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}

} // namespace

TEST(EngineSmoke, LoadsEveryFamily)
{
    for (const auto &family : kFamilies) {
        SCOPED_TRACE(family);
        std::vector<double> fractions;
        LoadOptions o;
        o.modelDir = tiny().models.at(family).modelDir;
        auto model = Model::load(o, [&](double f, const std::string &) { fractions.push_back(f); });
        const ModelInfo &info = model->info();
        EXPECT_EQ(nameOf(info.family), family);
        EXPECT_EQ(info.parameters, tiny().models.at(family).parameters);
        EXPECT_GT(info.weightBytes, 0);
        EXPECT_EQ(info.weightsHash.size(), 64u);
        EXPECT_GT(info.contextLength, 0);
        EXPECT_EQ(info.device, "cpu");
        EXPECT_TRUE(info.dtype == Dtype::Bf16 || info.dtype == Dtype::F32);
        EXPECT_EQ(info.suggestedQuestions.size(), 2u);
        EXPECT_NE(info.description.find("meaningless"), std::string::npos) << info.description;
        EXPECT_TRUE(info.warnings.empty()) << info.warnings.front();
        ASSERT_FALSE(fractions.empty());
        EXPECT_DOUBLE_EQ(fractions.back(), 1.0);
        EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
        // Same files, same hash.
        EXPECT_EQ(loadTiny(family)->info().weightsHash, info.weightsHash);
    }
    // LLaVA-UHD's vision tower from its own folder: those tensors in the model folder then go unused.
    LoadOptions o;
    o.modelDir = tiny().models.at("llava-uhd").modelDir;
    o.visionDir = tiny().models.at("llava-uhd").visionDir;
    ASSERT_FALSE(o.visionDir.empty());
    auto model = Model::load(o);
    ASSERT_FALSE(model->info().warnings.empty());
    EXPECT_NE(model->info().warnings.front().find("vision_model."), std::string::npos) << model->info().warnings.front();
    Conversation chat(model);
    chat.setImage(testImage());
    GenerationSettings s;
    s.maxNewTokens = 4;
    EXPECT_GT(chat.ask("What is shown?", s).generatedTokens, 0);
}

TEST(EngineSmoke, AnswersDeterministicallyAndStreams)
{
    for (const auto &family : kFamilies) {
        SCOPED_TRACE(family);
        auto model = loadTiny(family);
        // One conversation: the image is encoded once; clearHistory() empties the KV cache, so every question
        // starts from the same prompt.
        Conversation chat(model);
        chat.setImage(testImage());
        bool first = true;
        auto answer = [&](float temperature, std::uint64_t seed, std::string *streamed = nullptr) {
            chat.clearHistory();
            GenerationSettings s;
            s.maxNewTokens = 12;
            s.temperature = temperature;
            s.seed = seed;
            AskCallbacks cb;
            std::string text;
            cb.token = [&](const std::string &t) {
                EXPECT_FALSE(t.empty());
                text += t;
            };
            AskResult r = chat.ask("What colour is the circle?", s, cb);
            EXPECT_GT(r.generatedTokens, 0);
            EXPECT_EQ(text, r.answer); // streamed pieces concatenate to the answer
            EXPECT_EQ(r.imageFromCache, !first);
            EXPECT_EQ(r.reusedPromptTokens, 0);
            first = false;
            EXPECT_GT(r.promptTokens, r.imageTokens);
            // The image's positions come from the prompt the model built; the model answers the same for the
            // plan, and the tokenizer-free count (plan panel, `uhdlens-cli plan`) agrees with both.
            EXPECT_EQ(r.imageTokens, model->imagePositions(r.plan));
            EXPECT_EQ(r.imageTokens,
                      imagePositions(r.plan, model->info().layout, model->info().tokensPerImage));
            if (streamed)
                *streamed = text;
            return r.answer;
        };
        EXPECT_EQ(answer(0.0f, 0), answer(0.0f, 99)); // greedy ignores the seed
        EXPECT_EQ(answer(0.9f, 7), answer(0.9f, 7));
        std::set<std::string> distinct;
        for (std::uint64_t seed : {1, 2, 3, 4})
            distinct.insert(answer(1.5f, seed));
        EXPECT_GE(distinct.size(), 2u) << "sampling with different seeds never differed";
    }
}

TEST(EngineSmoke, CancelStopsWithinOneToken)
{
    for (const auto &family : kFamilies) {
        SCOPED_TRACE(family);
        auto model = loadTiny(family);
        Conversation chat(model);
        chat.setImage(testImage());
        std::atomic<bool> cancel{false};
        int calls = 0, afterCancel = 0;
        AskCallbacks cb;
        cb.cancel = &cancel;
        cb.token = [&](const std::string &) {
            if (cancel)
                ++afterCancel;
            ++calls;
            cancel = true;
        };
        GenerationSettings s;
        s.maxNewTokens = 64;
        s.temperature = 1.0f;
        s.seed = 3;
        AskResult r = chat.ask("Describe the picture.", s, cb);
        if (r.stopReason == StopReason::Eos && calls == 0)
            continue; // the random model ended at once; nothing to cancel
        EXPECT_TRUE(r.cancelled);
        EXPECT_EQ(r.stopReason, StopReason::Cancelled);
        EXPECT_LE(afterCancel, 1);

        // Cancelled before the encoder: no slice is encoded, nothing is generated.
        Conversation chat2(model);
        chat2.setImage(testImage(700, 500, Qt::blue));
        int slices = 0;
        AskCallbacks cb2;
        cb2.cancel = &cancel; // still set
        cb2.sliceEncoded = [&](int, int, double) { ++slices; };
        AskResult r2 = chat2.ask("Anything?", s, cb2);
        EXPECT_TRUE(r2.cancelled);
        EXPECT_EQ(slices, 0);
        EXPECT_EQ(r2.generatedTokens, 0);
    }
}

TEST(EngineSmoke, FollowUpSkipsEncoderAndReusesKvCache)
{
    for (const auto &family : kFamilies) {
        SCOPED_TRACE(family);
        auto model = loadTiny(family, "f32");
        GenerationSettings s;
        s.maxNewTokens = 6;
        Conversation chat(model);
        chat.setImage(testImage());
        std::vector<int> slices;
        AskCallbacks cb;
        cb.sliceEncoded = [&](int index, int total, double ms) {
            slices.push_back(index);
            EXPECT_EQ(total, static_cast<int>(chat.plan().encodedImages().size()));
            EXPECT_GE(ms, 0);
        };
        AskResult first = chat.ask("What is on the left?", s, cb);
        EXPECT_FALSE(first.imageFromCache);
        EXPECT_EQ(slices.size(), chat.plan().encodedImages().size());
        EXPECT_EQ(first.sliceMs.size(), slices.size());
        EXPECT_EQ(slices.front(), 1);
        slices.clear();
        AskResult second = chat.ask("And on the right?", s, cb);
        EXPECT_TRUE(second.imageFromCache);
        EXPECT_TRUE(slices.empty());
        EXPECT_TRUE(second.sliceMs.empty());
        EXPECT_GT(second.reusedPromptTokens, first.imageTokens); // the image's positions were not prefilled again
        EXPECT_EQ(chat.history().size(), 2u);
        EXPECT_EQ(chat.history()[0].answer, first.answer);

        // Same history with the KV cache dropped (another image in between): the same answer, and the image
        // embeddings still come from the cache.
        Conversation other(model);
        other.setImage(testImage());
        other.ask("What is on the left?", s);
        other.setImage(testImage(300, 300, Qt::yellow));
        other.setImage(testImage());
        AskResult again = other.ask("And on the right?", s);
        EXPECT_TRUE(again.imageFromCache);
        EXPECT_EQ(again.reusedPromptTokens, 0);
        EXPECT_EQ(again.answer, second.answer);
    }
}

// The caller names the image and hands over the plan it showed (mtmd_bitmap_set_id): the same id and plan
// reuse the image tokens without hashing any pixel, another id encodes again even for the same pixels, and
// the plan used is exactly the one given. Bad input: no id, a plan of another size, an invalid policy, an
// empty image.
TEST(EngineSmoke, CallerNamedImageKeysTheCache)
{
    auto model = loadTiny("uhd-paper", "f32");
    GenerationSettings s;
    s.maxNewTokens = 3;
    const QImage image = testImage();
    SlicePolicy policy = model->info().policy;
    policy.maxSlices = 3;
    const SlicePlan plan = planSlices({image.width(), image.height()}, policy);
    Conversation chat(model);
    chat.setImage(image, plan, "doc-1");
    EXPECT_EQ(planToJson(chat.plan()), planToJson(plan));
    int encoded = 0;
    AskCallbacks cb;
    cb.sliceEncoded = [&](int, int, double) { ++encoded; };
    const AskResult first = chat.ask("What is on the left?", s, cb);
    EXPECT_FALSE(first.imageFromCache);
    EXPECT_EQ(encoded, static_cast<int>(plan.encodedImages().size()));
    EXPECT_EQ(first.imageTokens, model->imagePositions(plan));
    encoded = 0;
    chat.setImage(image, plan, "doc-1");
    const AskResult second = chat.ask("And on the right?", s, cb);
    EXPECT_TRUE(second.imageFromCache);
    EXPECT_EQ(encoded, 0);
    EXPECT_GT(second.reusedPromptTokens, 0); // same id and plan: the KV cache was kept too
    // Another id is another image, whatever the pixels: encoded again, KV cache dropped.
    chat.setImage(image, plan, "doc-2");
    const AskResult third = chat.ask("And now?", s, cb);
    EXPECT_FALSE(third.imageFromCache);
    EXPECT_EQ(encoded, static_cast<int>(plan.encodedImages().size()));
    EXPECT_EQ(third.reusedPromptTokens, 0);

    EXPECT_EQ(expectError([&] { chat.setImage(image, plan, ""); }).code(), ErrorCode::InvalidArgument);
    const Error wrongSize = expectError([&] { chat.setImage(testImage(300, 300), plan, "doc-3"); });
    EXPECT_EQ(wrongSize.code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(wrongSize.subject(), "plan");
    SlicePlan badPolicy = plan;
    badPolicy.policy.patch = 0;
    EXPECT_EQ(expectError([&] { chat.setImage(image, badPolicy, "doc-3"); }).code(),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(expectError([&] { chat.setImage(QImage(), plan, "doc-3"); }).code(), ErrorCode::ImageEmpty);
}

TEST(EngineSmoke, ContextOverflowSaysWhatFits)
{
    QTemporaryDir tmp;
    const QString dir = copyModel(tiny().models.at("minicpmv").modelDir, tmp, QStringLiteral("small-context"));
    auto model = loadTiny("minicpmv");
    Conversation probe(model);
    probe.setImage(testImage());
    GenerationSettings s;
    s.maxNewTokens = 1;
    const AskResult full = probe.ask("Hi?", s);
    ASSERT_GT(full.plan.sliceCount(), 1);
    // A context that holds the overview and one slice but not the whole plan.
    nlohmann::json config = readJson(QDir(dir).filePath(QStringLiteral("config.json")));
    const int small = full.promptTokens - full.imageTokens + 2 * (64 + 2) + 6;
    ASSERT_LT(small, full.promptTokens);
    config["max_position_embeddings"] = small;
    writeFile(QDir(dir).filePath(QStringLiteral("config.json")), config.dump());
    LoadOptions o;
    o.modelDir = dir.toStdString();
    auto smallModel = Model::load(o);
    ASSERT_EQ(smallModel->info().contextLength, small);
    Conversation chat(smallModel);
    chat.setImage(testImage());
    const Error e = expectError([&] { chat.ask("Hi?", s); });
    EXPECT_EQ(e.code(), ErrorCode::ContextOverflow);
    EXPECT_EQ(e.subject(), "context");
    const std::string msg = e.what();
    EXPECT_NE(msg.find("context holds " + std::to_string(small)), std::string::npos) << msg;
    EXPECT_NE(msg.find("Only the overview (no slices) would fit: set max slices to 1."), std::string::npos) << msg;
    // Following the advice works.
    SlicePolicy p = smallModel->info().policy;
    p.maxSlices = 1;
    chat.setImage(testImage(), p);
    EXPECT_NO_THROW(chat.ask("Hi?", s));
}

// ask()'s imageText (the text layer's lines, issue 18) is opt-in: without it the prompt is the plain one;
// with it the first turn's user message is questionWithImageText(), later turns do not repeat it while the
// history holds it, and lines that would crowd the answer out of the context are dropped from the end.
TEST(EngineSmoke, ImageTextGoesBeforeTheFirstQuestionAndFitsTheContext)
{
    EXPECT_EQ(questionWithImageText("", "Q?"), "Q?");
    const std::string text = "[top-left] File Edit View\n[middle] Save changes?";
    EXPECT_EQ(questionWithImageText(text, "Q?"),
              "Text recognised in the image, line by line, each with its position:\n" + text + "\n\nQ?");
    for (const auto &family : kFamilies) {
        SCOPED_TRACE(family);
        auto model = loadTiny(family, "f32");
        GenerationSettings s;
        s.maxNewTokens = 4;
        Conversation plain(model), withText(model), emptyText(model);
        for (Conversation *c : {&plain, &withText, &emptyText})
            c->setImage(testImage());
        const AskResult a = plain.ask("What is on the left?", s);
        const AskResult e = emptyText.ask("What is on the left?", s, {}, "");
        EXPECT_EQ(e.promptTokens, a.promptTokens);
        EXPECT_EQ(e.answer, a.answer);
        EXPECT_EQ(e.imageTextLines, 0);

        const AskResult t = withText.ask("What is on the left?", s, {}, text);
        EXPECT_EQ(t.imageTextLines, 2);
        EXPECT_GT(t.promptTokens, a.promptTokens);
        EXPECT_EQ(withText.history()[0].question, questionWithImageText(text, "What is on the left?"));
        const AskResult t2 = withText.ask("And the right?", s, {}, text);
        EXPECT_EQ(t2.imageTextLines, 0);
        EXPECT_EQ(withText.history()[1].question, "And the right?");
        // The first turn (with the text) stayed in the KV cache.
        EXPECT_GT(t2.reusedPromptTokens, t.imageTokens);
        withText.clearHistory();
        EXPECT_EQ(withText.ask("Again?", s, {}, text).imageTextLines, 2);

        // Far more text than the context holds: the first lines that leave room for the answer (one family:
        // the fitting is the engine's, not the family's).
        if (family != "uhd-paper")
            continue;
        std::string lots;
        for (int i = 0; i < 400; ++i) {
            if (i > 0)
                lots += '\n';
            lots += "[middle] line " + std::to_string(i) + " of a long page";
        }
        Conversation big(model);
        big.setImage(testImage());
        const AskResult b = big.ask("What does it say?", s, {}, lots);
        EXPECT_GT(b.imageTextLines, 0);
        EXPECT_LT(b.imageTextLines, 400);
        EXPECT_LT(b.promptTokens + s.maxNewTokens, model->info().contextLength);
        EXPECT_NE(big.history()[0].question.find("line 0 of a long page"), std::string::npos);
    }
}

TEST(EngineSmoke, BadSettingsAndCalls)
{
    auto model = loadTiny("uhd-paper");
    Conversation chat(model);
    EXPECT_EQ(expectError([&] { chat.ask("no image yet"); }).code(), ErrorCode::InvalidArgument);
    chat.setImage(testImage());
    GenerationSettings s;
    s.temperature = -1;
    EXPECT_EQ(expectError([&] { chat.ask("q", s); }).code(), ErrorCode::InvalidArgument);
    s = {};
    s.maxNewTokens = 0;
    EXPECT_EQ(expectError([&] { chat.ask("q", s); }).code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(expectError([&] { chat.setImage(QImage()); }).code(), ErrorCode::ImageEmpty);
    SlicePolicy bad = SlicePolicy::minicpmv();
    bad.patch = 0;
    EXPECT_EQ(expectError([&] { chat.setImage(testImage(), bad); }).code(), ErrorCode::InvalidArgument);
}

TEST(EngineLoadErrors, TypedErrorsNamingTheCulprit)
{
    QTemporaryDir tmp;
    const std::string good = tiny().models.at("minicpmv").modelDir;
    auto load = [](const QString &dir, const std::string &device = "auto", const std::string &dtype = "auto") {
        LoadOptions o;
        o.modelDir = dir.toStdString();
        o.device = parseDevice(device); // the boundary: a bad name is refused here, typed
        o.dtype = parseName<Dtype>(dtype);
        return Model::load(o);
    };
    {
        const Error e = expectError([&] { load(tmp.filePath(QStringLiteral("nowhere"))); });
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
    }
    {
        const QString d = copyModel(good, tmp, QStringLiteral("no-config"));
        QFile::remove(QDir(d).filePath(QStringLiteral("config.json")));
        const Error e = expectError([&] { load(d); });
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
        EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
    }
    {
        const QString d = copyModel(good, tmp, QStringLiteral("bad-json"));
        writeFile(QDir(d).filePath(QStringLiteral("config.json")), "{\"model_type\": \"minicpmv\", ");
        const Error e = expectError([&] { load(d); });
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
        EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
    }
    {
        const QString d = copyModel(good, tmp, QStringLiteral("gpt2"));
        writeFile(QDir(d).filePath(QStringLiteral("config.json")), "{\"model_type\": \"gpt2\", \"n_layer\": 12}");
        const Error e = expectError([&] { load(d); });
        EXPECT_EQ(e.code(), ErrorCode::UnknownFamily);
        EXPECT_NE(std::string(e.what()).find("gpt2"), std::string::npos) << e.what();
    }
    {
        const QString d = copyModel(good, tmp, QStringLiteral("no-tokenizer"));
        QFile::remove(QDir(d).filePath(QStringLiteral("tokenizer.model")));
        const Error e = expectError([&] { load(d); });
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_NE(e.subject().find("tokenizer.model"), std::string::npos) << e.subject();
    }
    {
        const QString d = copyModel(good, tmp, QStringLiteral("garbage-tokenizer"));
        writeFile(QDir(d).filePath(QStringLiteral("tokenizer.model")), "this is not a sentencepiece model");
        EXPECT_EQ(expectError([&] { load(d); }).code(), ErrorCode::TokenizerInvalid);
    }
    {
        // One tensor with a wrong shape, one missing: each named.
        const QString d = copyModel(good, tmp, QStringLiteral("bad-shape"));
        const std::string file = QDir(d).filePath(QStringLiteral("model.safetensors")).toStdString();
        std::vector<std::pair<std::string, torch::Tensor>> tensors;
        std::string victim;
        {
            Checkpoint ck = Checkpoint::open(file);
            for (const auto &n : ck.names()) {
                torch::Tensor t = ck.get(n).clone();
                if (victim.empty() && t.dim() == 2 && n.find("resampler.") != std::string::npos) {
                    victim = n;
                    t = torch::zeros({t.size(0) + 1, t.size(1)}, t.options());
                }
                tensors.emplace_back(n, t);
            }
        }
        ASSERT_FALSE(victim.empty());
        saveSafeTensors(file, tensors);
        Error e = expectError([&] { load(d); });
        EXPECT_EQ(e.code(), ErrorCode::TensorShapeMismatch);
        EXPECT_NE(std::string(e.what()).find(victim), std::string::npos) << e.what();

        std::vector<std::pair<std::string, torch::Tensor>> fewer;
        std::string dropped;
        for (const auto &t : tensors) {
            if (dropped.empty() && t.first.find("llm.") != std::string::npos)
                dropped = t.first;
            else if (t.first != victim)
                fewer.push_back(t);
        }
        saveSafeTensors(file, fewer);
        e = expectError([&] { load(d); });
        EXPECT_TRUE(e.code() == ErrorCode::TensorMissing) << e.what();
        EXPECT_NE(std::string(e.what()).find("'"), std::string::npos) << e.what();
    }
    {
        // CUDA on a CPU-only libtorch, f16 on the CPU, unknown device names.
        const QString d = QString::fromStdString(good);
        if (!torch::cuda::is_available()) {
            EXPECT_EQ(expectError([&] { load(d, "cuda"); }).code(), ErrorCode::DeviceUnavailable);
        }
        EXPECT_EQ(expectError([&] { load(d, "cpu", "f16"); }).code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(expectError([&] { load(d, "tpu"); }).code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(expectError([&] { load(d, "cpu", "int3"); }).code(), ErrorCode::InvalidArgument);
    }
}

// A padded (llava15, pad-to-square) view is filled with one colour everywhere: what the engine encodes, the
// exact preview (renderModelView) and the quick preview (quickModelInput) all use the model's own pad colour,
// ModelInfo::padColour = int(mean*255) of its pixel normalisation. Before, the exact preview used CLIP's mean
// colour (122, 116, 104) and the quick one the image's average colour (white here), whatever the model.
TEST(EngineSmoke, PaddedViewsShareTheModelsPadColour)
{
    QTemporaryDir tmp;
    const QString dir = copyModel(tiny().models.at("uhd-paper").modelDir, tmp, QStringLiteral("mean"));
    nlohmann::json config = readJson(QDir(dir).filePath(QStringLiteral("config.json")));
    config["image_mean"] = {0.2, 0.4, 0.6}; // far from CLIP's mean and from the image's white
    writeFile(QDir(dir).filePath(QStringLiteral("config.json")), config.dump());
    LoadOptions o;
    o.modelDir = dir.toStdString();
    o.dtype = Dtype::F32;
    const auto model = Model::load(o);
    const ModelInfo &info = model->info();
    const RgbColour want{51, 102, 153};
    EXPECT_EQ(info.padColour, want);
    EXPECT_FLOAT_EQ(info.pixelNorm.mean[0], 0.2f);
    EXPECT_FLOAT_EQ(info.pixelNorm.std[0], 0.5f);

    QImage img(300, 100, QImage::Format_RGB888); // wide: the square gets bands above and below
    img.fill(Qt::white);
    const SlicePlan plan = model->plan({img.width(), img.height()}, SlicePolicy::llava15());
    ASSERT_TRUE(plan.padToSquare);
    auto rgbAt = [](const QImage &image, int x, int y) {
        const QRgb p = image.pixel(x, y);
        return RgbColour{static_cast<std::uint8_t>(qRed(p)), static_cast<std::uint8_t>(qGreen(p)),
                         static_cast<std::uint8_t>(qBlue(p))};
    };
    // Engine: the normalised encoder input it dumps, mapped back to 8 bits at the top-left corner (padding).
    const std::string out = tmp.filePath(QStringLiteral("dump.safetensors")).toStdString();
    dumpEncoding(*model, img, SlicePolicy::llava15(), "What is it?", out);
    const torch::Tensor px = Checkpoint::open(out).get("image0.pixels").to(torch::kFloat);
    ASSERT_EQ(px.size(2), plan.overview.height);
    int engine[3];
    for (int c = 0; c < 3; ++c)
        engine[c] = static_cast<int>(std::lround(
            (px[0][c][0][0].item<float>() * info.pixelNorm.std[c] + info.pixelNorm.mean[c]) * 255.0f));
    EXPECT_EQ(engine[0], want.r) << "engine's padded pixel, red";
    EXPECT_EQ(engine[1], want.g) << "engine's padded pixel, green";
    EXPECT_EQ(engine[2], want.b) << "engine's padded pixel, blue";
    // The exact and the quick preview, given the model's colour, show the same padding.
    const ModelView exact = renderModelView(img, plan, info.padColour);
    const QImage quick = quickModelInput(img, plan, -1, info.padColour);
    ASSERT_EQ(quick.size(), exact.overview.size());
    EXPECT_EQ(rgbAt(exact.overview, 0, 0), want) << "exact preview";
    EXPECT_EQ(rgbAt(quick, 0, 0), want) << "quick preview";
    EXPECT_EQ(rgbAt(quick, quick.width() - 1, quick.height() - 1), want) << "quick preview, bottom band";
    EXPECT_EQ(rgbAt(exact.overview, exact.overview.width() / 2, exact.overview.height() / 2),
              (RgbColour{255, 255, 255}))
        << "the image itself sits in the middle";
}

TEST(EngineSmoke, EncodeDumpNamesEveryStage)
{
    auto model = loadTiny("minicpmv");
    QTemporaryDir tmp;
    const std::string out = tmp.filePath(QStringLiteral("dump.safetensors")).toStdString();
    const QImage img = testImage();
    const auto written = dumpEncoding(*model, img, std::nullopt, "What is it?", out);
    const SlicePlan plan = model->plan({img.width(), img.height()});
    Checkpoint ck = Checkpoint::open(out);
    const auto names = ck.names();
    const std::set<std::string> have(names.begin(), names.end());
    ASSERT_EQ(have.size(), written.size());
    const auto images = plan.encodedImages();
    for (size_t k = 0; k < images.size(); ++k) {
        const std::string p = "image" + std::to_string(k) + ".";
        ASSERT_TRUE(have.count(p + "pixels")) << p;
        ASSERT_TRUE(have.count(p + "tokens")) << p;
        const auto px = ck.info(p + "pixels").shape;
        EXPECT_EQ(px, (std::vector<int64_t>{1, 3, images[k].size.height, images[k].size.width}));
        EXPECT_EQ(ck.info(p + "tokens").shape[0], 64);
        // At least one family stage between pixels and tokens (vision features, resampler output).
        int stages = 0;
        for (const auto &n : names)
            if (n.rfind(p, 0) == 0 && n != p + "pixels" && n != p + "tokens")
                ++stages;
        EXPECT_GE(stages, 1) << p;
    }
    ASSERT_TRUE(have.count("prompt.embeds"));
    EXPECT_EQ(ck.info("prompt.embeds").dtype, "F32");
    EXPECT_NE(ck.metadata().at("plan").find("\"visual_tokens\""), std::string::npos);
}

// --- the folder's other files: preprocessor_config.json, generation_config.json, tokenizer files ------------------

namespace {

std::shared_ptr<const Model> loadFolder(const QString &dir, const QString &vision = {})
{
    LoadOptions o;
    o.modelDir = dir.toStdString();
    o.visionDir = vision.toStdString();
    return Model::load(o);
}

const SettingSource *findSource(const ModelInfo &info, const std::string &key)
{
    for (const auto &s : info.settingSources)
        if (s.key == key)
            return &s;
    return nullptr;
}

} // namespace

TEST(ModelFolderFiles, ProcessorSettingsWinAndSayWhereTheyCameFrom)
{
    QTemporaryDir tmp;
    const std::string good = tiny().models.at("minicpmv").modelDir;
    {
        // Without extra files every setting is the config's or the family's default.
        const auto m = loadTiny("minicpmv");
        const SettingSource *max = findSource(m->info(), "slice.max");
        ASSERT_NE(max, nullptr);
        EXPECT_TRUE(max->source == "default" || max->source == "config.json") << max->source;
        ASSERT_NE(findSource(m->info(), "pixel.norm"), nullptr);
        ASSERT_NE(findSource(m->info(), "stop.ids"), nullptr);
    }
    const QString d = copyModel(good, tmp, QStringLiteral("processor"));
    auto config = readJson(QDir(d).filePath(QStringLiteral("config.json")));
    config["max_slice_nums"] = 9;
    writeFile(QDir(d).filePath(QStringLiteral("config.json")), config.dump());
    // MiniCPM-V 2.6 spells the normalisation norm_mean / norm_std.
    writeFile(QDir(d).filePath(QStringLiteral("preprocessor_config.json")),
              R"({"image_processor_type": "MiniCPMVImageProcessor", "max_slice_nums": 4,
                  "norm_mean": [0.25, 0.5, 0.75], "norm_std": [0.5, 0.5, 0.5]})");
    const auto m = loadFolder(d);
    const ModelInfo &info = m->info();
    EXPECT_EQ(info.policy.maxSlices, 4);
    const SettingSource *max = findSource(info, "slice.max");
    ASSERT_NE(max, nullptr);
    EXPECT_EQ(max->value, "4");
    EXPECT_EQ(max->source, "preprocessor_config.json");
    const SettingSource *norm = findSource(info, "pixel.norm");
    ASSERT_NE(norm, nullptr);
    EXPECT_NE(norm->value.find("0.25, 0.5, 0.75"), std::string::npos) << norm->value;
    EXPECT_EQ(norm->source, "preprocessor_config.json");
    // The disagreement with config.json is reported, not silent.
    bool warned = false;
    for (const auto &w : info.warnings)
        warned = warned || (w.find("max_slice_nums") != std::string::npos && w.find("config.json") != std::string::npos);
    EXPECT_TRUE(warned);
    // The plan of a big image follows the processor's limit.
    EXPECT_LE(m->plan({4000, 3000}).sliceCount(), 4);
}

TEST(ModelFolderFiles, VisionFolderProcessorGivesTheNormalisation)
{
    // The LLaVA-UHD release builds its CLIPImageProcessor from the vision tower's folder.
    QTemporaryDir tmp;
    const std::string good = tiny().models.at("llava-uhd").modelDir;
    const QString model = copyModel(good, tmp, QStringLiteral("model"));
    const QString vision = copyModel(good, tmp, QStringLiteral("vision"));
    writeFile(QDir(vision).filePath(QStringLiteral("preprocessor_config.json")),
              R"({"image_processor_type": "CLIPImageProcessor", "crop_size": 336,
                  "image_mean": [0.5, 0.25, 0.125], "image_std": [0.25, 0.25, 0.25]})");
    const auto m = loadFolder(model, vision);
    const SettingSource *norm = findSource(m->info(), "pixel.norm");
    ASSERT_NE(norm, nullptr);
    EXPECT_EQ(norm->source, "vision/preprocessor_config.json");
    EXPECT_NE(norm->value.find("0.5, 0.25, 0.125"), std::string::npos) << norm->value;
}

TEST(ModelFolderFiles, GenerationAndTokenizerFilesAreCheckedAgainstTheTokenizer)
{
    QTemporaryDir tmp;
    const std::string good = tiny().models.at("minicpmv").modelDir;
    const auto tok = Tokenizer::load(good + "/tokenizer.model");
    const int64_t image = tok->pieceToId("<image>");
    ASSERT_GT(image, 0);

    const QString d = copyModel(good, tmp, QStringLiteral("tokens"));
    writeFile(QDir(d).filePath(QStringLiteral("generation_config.json")), R"({"bos_token_id": 1, "eos_token_id": [2, 7]})");
    writeFile(QDir(d).filePath(QStringLiteral("special_tokens_map.json")),
              R"({"bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false}, "unk_token": "<unk>"})");
    writeFile(QDir(d).filePath(QStringLiteral("added_tokens.json")), "{\"<image>\": " + std::to_string(image) + "}");
    writeFile(QDir(d).filePath(QStringLiteral("tokenizer_config.json")),
              "{\"add_bos_token\": true, \"added_tokens_decoder\": {\"" + std::to_string(image) +
                  "\": {\"content\": \"<image>\", \"special\": true}}}");
    const auto m = loadFolder(d);
    const SettingSource *stops = findSource(m->info(), "stop.ids");
    ASSERT_NE(stops, nullptr);
    EXPECT_NE(stops->value.find("7"), std::string::npos) << stops->value;
    EXPECT_NE(stops->source.find("generation_config.json"), std::string::npos) << stops->source;
    const SettingSource *added = findSource(m->info(), "tokens.added");
    ASSERT_NE(added, nullptr);
    EXPECT_NE(added->source.find("added_tokens.json"), std::string::npos) << added->source;
    // The prompt is split on the tokens the files name (<s>, </s>, <unk>, <image>), as the slow HF tokenizer does.
    const SettingSource *split = findSource(m->info(), "tokens.split");
    ASSERT_NE(split, nullptr);
    EXPECT_EQ(split->value, "4");
    EXPECT_NE(split->source.find("special_tokens_map.json"), std::string::npos) << split->source;

    // An added token whose id tokenizer.model does not give: the files belong to another tokenizer.
    writeFile(QDir(d).filePath(QStringLiteral("added_tokens.json")), "{\"<image>\": " + std::to_string(image + 1) + "}");
    Error e = expectError([&] { loadFolder(d); });
    EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
    EXPECT_NE(std::string(e.what()).find("<image>"), std::string::npos) << e.what();
}

TEST(ModelFolderFiles, MalformedFilesAreRefusedNamingFileAndKey)
{
    QTemporaryDir tmp;
    const std::string good = tiny().models.at("minicpmv").modelDir;
    struct Case
    {
        const char *file;
        std::string text;
        ErrorCode code;
        const char *named; // in what() or subject()
    };
    const std::vector<Case> cases = {
        {"preprocessor_config.json", "{\"max_slice_nums\": ", ErrorCode::ConfigInvalid, "preprocessor_config.json"},
        {"preprocessor_config.json", "[1, 2]", ErrorCode::ConfigInvalid, "preprocessor_config.json"},
        {"preprocessor_config.json", R"({"max_slice_nums": "nine"})", ErrorCode::ConfigInvalid, "max_slice_nums"},
        {"preprocessor_config.json", R"({"max_slice_nums": 0})", ErrorCode::ConfigInvalid, "max_slice_nums"},
        {"preprocessor_config.json", R"({"image_mean": [0.5, 0.5]})", ErrorCode::ConfigInvalid, "image_mean"},
        {"preprocessor_config.json", R"({"norm_std": [0.5, "x", 0.5]})", ErrorCode::ConfigInvalid, "norm_std"},
        {"preprocessor_config.json", R"({"slice_mode": "yes"})", ErrorCode::ConfigInvalid, "slice_mode"},
        {"preprocessor_config.json", R"({"image_std": [0.5, 0.0, 0.5]})", ErrorCode::ConfigInvalid, "image_std"},
        {"generation_config.json", "not json", ErrorCode::ConfigInvalid, "generation_config.json"},
        {"generation_config.json", R"({"eos_token_id": -1})", ErrorCode::ConfigInvalid, "eos_token_id"},
        {"generation_config.json", R"({"eos_token_id": [2, "x"]})", ErrorCode::ConfigInvalid, "eos_token_id"},
        {"generation_config.json", R"({"eos_token_id": 99999999})", ErrorCode::TokenizerInvalid, "eos_token_id"},
        {"generation_config.json", R"({"bos_token_id": 2})", ErrorCode::TokenizerInvalid, "bos_token_id"},
        {"special_tokens_map.json", R"({"eos_token": 5})", ErrorCode::ConfigInvalid, "eos_token"},
        {"special_tokens_map.json", R"({"eos_token": "<|im_end|>"})", ErrorCode::TokenizerInvalid, "<|im_end|>"},
        {"tokenizer_config.json", R"({"added_tokens_decoder": {"abc": {"content": "<x>"}}})", ErrorCode::ConfigInvalid,
         "added_tokens_decoder"},
        {"tokenizer_config.json", R"({"added_tokens_decoder": [1]})", ErrorCode::ConfigInvalid, "added_tokens_decoder"},
        {"tokenizer_config.json", R"({"legacy": "no"})", ErrorCode::ConfigInvalid, "legacy"},
        {"special_tokens_map.json", R"({"additional_special_tokens": "<image>"})", ErrorCode::ConfigInvalid,
         "additional_special_tokens"},
        {"added_tokens.json", R"({"<image>": "101"})", ErrorCode::ConfigInvalid, "<image>"},
        {"added_tokens.json", R"({"<not-a-piece>": 5})", ErrorCode::TokenizerInvalid, "<not-a-piece>"},
    };
    int i = 0;
    for (const Case &c : cases) {
        const QString d = copyModel(good, tmp, QStringLiteral("case%1").arg(i++));
        writeFile(QDir(d).filePath(QString::fromLatin1(c.file)), c.text);
        const Error e = expectError([&] { loadFolder(d); });
        EXPECT_EQ(e.code(), c.code) << c.file << " " << c.text << ": " << e.what();
        const std::string all = std::string(e.what()) + " | " + e.subject();
        EXPECT_NE(all.find(c.named), std::string::npos) << c.file << " " << c.text << ": " << all;
    }
    // A folder where a file should be.
    const QString d = copyModel(good, tmp, QStringLiteral("dir"));
    QDir(d).mkdir(QStringLiteral("generation_config.json"));
    EXPECT_EQ(expectError([&] { loadFolder(d); }).code(), ErrorCode::ConfigInvalid);
}
