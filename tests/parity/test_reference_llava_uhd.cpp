// The llava-uhd family against the OFFICIAL LLaVA-UHD ECCV code (thunlp/LLaVA-UHD, branch LLaVA-UHD-v1,
// commit dd7f6cc2), stage by stage, on the tiny random checkpoint of tests/data/reference/llava-uhd (real
// tensor names and config keys; written and run through the release's own modules by
// tests/tools/reference/llava_uhd_fixture.py, whose manifest.json records the commit, packages and patches).
//
// The checkpoint is loaded through the real engine (Model::load with visionDir, as `--vision`). Stages:
//   pixels      our resize + normalisation vs the reference's (PIL BICUBIC + CLIPImageProcessor)
//   vision      CLIP hidden state -2, CLS dropped, for every encoded image        (from the REFERENCE pixels,
//   resampler   the spatially constrained resampler's 144 tokens per image        so a resize difference does
//   embeds      the final LLM input (template, separators, overview last)          not hide the later stages)
//   ids         the prompt's token ids (image placeholder = -200) and the separator ids
//   logits      the first generated position; then 16 greedy tokens with the KV cache.
// Errors are reported as max |ours - ref| / max |ref| over the tensor ("rel") and printed per stage and mode.
#include "engine_impl.h"
#include "generation.h"
#include "model_family.h"
#include "safetensors.h"
#include "uhdlens/convert.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <QDir>
#include <QFile>
#include <QString>
#include <QTemporaryDir>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace uhdlens;
using json = nlohmann::json;

namespace {

const std::string kDir = std::string(UHDLENS_TEST_DATA) + "/reference/llava-uhd";
constexpr int64_t kImageToken = -200; // llava/constants.py IMAGE_TOKEN_INDEX

json readJson(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    return json::parse(in);
}

const json &manifest()
{
    static const json m = readJson(kDir + "/manifest.json");
    return m;
}

torch::Tensor refTensor(const std::string &name)
{
    static const Checkpoint ck = Checkpoint::open(kDir + "/reference.safetensors");
    return ck.get(name).clone();
}

// Stage error: max |got - want| / max |want| (the tensor's scale), in double.
struct Err
{
    double maxAbs = 0, scale = 0;
    double rel() const { return maxAbs / std::max(scale, 1e-30); }
};

Err compare(const torch::Tensor &got, const torch::Tensor &want)
{
    const auto g = got.detach().to(torch::kCPU, torch::kDouble), w = want.to(torch::kDouble);
    if (g.sizes() != w.sizes())
        return {std::numeric_limits<double>::infinity(), 1};
    return {(g - w).abs().max().item<double>(), w.abs().max().item<double>()};
}

#define EXPECT_STAGE(mode, stage, tensor, got, want, tol)                                                    \
    do {                                                                                                     \
        const Err e_ = compare(got, want);                                                                   \
        std::printf("[%s] %-10s %-22s max|d| %.3g  rel %.3g  (tol %.1g)\n", mode, stage,                     \
                    std::string(tensor).c_str(), e_.maxAbs, e_.rel(), double(tol));                          \
        EXPECT_TRUE((got).sizes() == (want).sizes())                                                         \
            << "stage " << stage << ", tensor " << tensor << ": shape " << (got).sizes() << " vs reference " \
            << (want).sizes();                                                                               \
        EXPECT_LE(e_.rel(), tol) << "stage " << stage << ", tensor " << tensor << " (" << mode               \
                                 << "): max |ours - reference| " << e_.maxAbs << " of max |reference| "      \
                                 << e_.scale;                                                                \
    } while (0)

std::shared_ptr<const Model> loadModel(const std::string &dtype)
{
    LoadOptions o;
    o.modelDir = kDir;
    o.visionDir = kDir + "/vision";
    o.device = {Device::Cpu};
    o.dtype = parseName<Dtype>(dtype);
    return Model::load(o);
}

int encodedCount()
{
    return static_cast<int>(manifest()["run"]["encoded_images"].size());
}

// The reference's encoding order is slices row-major then the overview (concat_src_patch_images); ours is the
// overview first, then the slices.
int ourIndex(int refIndex)
{
    return refIndex == encodedCount() - 1 ? 0 : refIndex + 1;
}

// The reference pixel tensor of encoded image k, rebuilt from its 8-bit PNG exactly as CLIPImageProcessor
// (transformers 4.37) computes it: rescale u8 * (1/255) in float64 then to float32, normalise (x - mean) /
// std in float32. The fixture script asserts this rebuild equals the processor's pixel_values bit for bit.
torch::Tensor referencePixels(int k)
{
    const json &img = manifest()["run"]["encoded_images"][k];
    const QImage rgb = loadImage(QString::fromStdString(kDir + "/" + img["file"].get<std::string>()));
    const json pre = readJson(kDir + "/vision/preprocessor_config.json");
    float mean[3], stdv[3];
    for (int c = 0; c < 3; ++c) {
        mean[c] = pre["image_mean"][c].get<float>();
        stdv[c] = pre["image_std"][c].get<float>();
    }
    const int h = rgb.height(), w = rgb.width();
    auto out = torch::empty({1, 3, h, w}, torch::kFloat32);
    auto a = out.accessor<float, 4>();
    for (int y = 0; y < h; ++y) {
        const uchar *row = rgb.constScanLine(y);
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c) {
                const float v = static_cast<float>(static_cast<double>(row[3 * x + c]) * (1.0 / 255.0));
                a[0][c][y][x] = (v - mean[c]) / stdv[c];
            }
    }
    return out;
}

// Our prompt as the reference's input_ids: the run of image slots (and the separators between them) becomes
// one -200, as tokenizer_image_token leaves it; `separators` gets the ids between the image slots.
std::vector<int64_t> flattenPrompt(const Prompt &p, std::vector<int64_t> &separators)
{
    int first = -1, last = -1;
    for (int i = 0; i < static_cast<int>(p.segments.size()); ++i)
        if (p.segments[i].imageIndex >= 0) {
            if (first < 0)
                first = i;
            last = i;
        }
    std::vector<int64_t> out;
    for (int i = 0; i < static_cast<int>(p.segments.size()); ++i) {
        const auto &s = p.segments[i];
        if (i == first)
            out.push_back(kImageToken);
        if (first >= 0 && i >= first && i <= last) {
            if (s.imageIndex < 0)
                separators.insert(separators.end(), s.ids.begin(), s.ids.end());
            continue;
        }
        out.insert(out.end(), s.ids.begin(), s.ids.end());
    }
    return out;
}

std::vector<int64_t> toVector(const torch::Tensor &t)
{
    const auto c = t.to(torch::kLong).contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

QImage testImage()
{
    return loadImage(QString::fromStdString(kDir + "/image.png"));
}

struct Mode
{
    const char *dtype; // LoadOptions::dtype
    const char *info;  // expected ModelInfo::dtype
    double stageTol;   // vision / resampler / embeds
    double logitTol;   // first-position logits
    bool exactTokens;  // 16 greedy ids identical
};

// f32: the reference's own arithmetic; mixed: bf16-stored matrices (the checkpoint is bf16, as the release's
// fp16/bf16 files) widened inside the kernels, so the same numbers up to summation order; bf16: bf16 weights
// and activations (softmax / norm statistics in f32), about 3 significant digits per op through 2+2 layers:
// measured 0.042 at worst (resampler/embeds), so 0.08; the greedy tokens must then agree on the first one.
const Mode kModes[] = {
    {"f32", "f32", 1e-4, 1e-4, true},
    {"mixed", "mixed", 1e-4, 1e-4, true},
    {"bf16", "bf16", 8e-2, 8e-2, false},
};

} // namespace

TEST(ReferenceLlavaUhd, FixtureIsTheOfficialRelease)
{
    const json &m = manifest();
    EXPECT_EQ(m["reference"]["repo"], "https://github.com/thunlp/LLaVA-UHD");
    EXPECT_EQ(m["reference"]["commit"], "dd7f6cc22614a1df1b6f4510f83273dcf20ae565");
    EXPECT_EQ(m["packages"]["transformers"], "4.37.2");
    EXPECT_EQ(m["run"]["greedy_ids"].size(), 16u);
    // A sliced plan with both separators (",", "\n") and an overview of another grid than the slices.
    EXPECT_EQ(m["run"]["grid"], json::array({2, 1}));
}

TEST(ReferenceLlavaUhd, PlanMatchesReferenceGeometry)
{
    const auto model = loadModel("f32");
    EXPECT_EQ(model->info().family, Family::LlavaUhd);
    const QImage rgb = testImage();
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    ASSERT_TRUE(plan.grid.has_value()) << "stage plan: the reference slices this image";
    const json &run = manifest()["run"];
    EXPECT_EQ(plan.grid->cols, run["grid"][0].get<int>()) << "stage plan, grid columns";
    EXPECT_EQ(plan.grid->rows, run["grid"][1].get<int>()) << "stage plan, grid rows";
    const auto enc = plan.encodedImages();
    ASSERT_EQ(static_cast<int>(enc.size()), encodedCount()) << "stage plan: number of encoded images";
    for (int k = 0; k < encodedCount(); ++k) {
        const json &img = run["encoded_images"][k];
        const Size s = enc[static_cast<size_t>(ourIndex(k))].size;
        EXPECT_EQ(s.width, img["size"][0].get<int>()) << "stage plan, " << img["file"] << " width";
        EXPECT_EQ(s.height, img["size"][1].get<int>()) << "stage plan, " << img["file"] << " height";
    }
}

// Our Pillow-style resize against PIL's: within one 8-bit level everywhere. On 2026-12-06 this FAILS (up to 24
// levels, ~4.5% of values off): PIL's BICUBIC rounds and clamps to 8 bits between its horizontal and vertical
// passes, libtorch's antialiased interpolate keeps the overshoot at sharp edges in float (emulating the 8-bit
// intermediate gives max 1 level). The Pillow-exact resize of branch `pillow` is the fix. Later stages are
// compared on the reference pixels, independently of this one.
TEST(ReferenceLlavaUhdPixels, EqualToPil)
{
    const auto model = loadModel("f32");
    const QImage rgb = testImage();
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const auto px = model->impl().pixels(rgb, plan);
    ASSERT_EQ(static_cast<int>(px.size()), encodedCount());
    const json pre = readJson(kDir + "/vision/preprocessor_config.json");
    for (int k = 0; k < encodedCount(); ++k) {
        const std::string name = manifest()["run"]["encoded_images"][k]["file"];
        const auto want = referencePixels(k);
        const auto got = px[static_cast<size_t>(ourIndex(k))].to(torch::kFloat32);
        ASSERT_EQ(got.sizes(), want.sizes()) << "stage pixels, tensor " << name;
        // Back to 8-bit levels per channel: |d| * std * 255.
        auto stdv = torch::tensor({pre["image_std"][0].get<float>(), pre["image_std"][1].get<float>(),
                                   pre["image_std"][2].get<float>()})
                        .view({1, 3, 1, 1});
        const auto levels = ((got - want).abs() * stdv * 255.0);
        const double maxLevels = levels.max().item<double>();
        const double exact = (levels < 0.01).to(torch::kDouble).mean().item<double>();
        std::printf("[f32] pixels     %-22s max %.3f levels, %.2f%% of values exact\n", name.c_str(),
                    maxLevels, 100 * exact);
        // Pillow-exact resizing (pillow_resample.cpp): the same 8-bit pixels, so only the float rounding of the
        // normalisation remains (~1e-5 of a level).
        EXPECT_LE(maxLevels, 0.01)
            << "stage pixels, tensor " << name << ": " << maxLevels << " 8-bit levels from the reference";
        EXPECT_EQ(exact, 1.0) << "stage pixels, tensor " << name;
    }
}

TEST(ReferenceLlavaUhd, PromptIdsAndSeparators)
{
    const auto model = loadModel("f32");
    const auto &mi = model->impl();
    const QImage rgb = testImage();
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const std::string question = manifest()["run"]["question"];
    const Prompt prompt = mi.vlm->buildPrompt(plan, {}, question, *mi.tokenizer);
    std::vector<int64_t> separators;
    const auto ids = flattenPrompt(prompt, separators);
    EXPECT_EQ(ids, toVector(refTensor("prompt_ids"))) << "stage ids, tensor prompt_ids (Vicuna v1 template)";
    EXPECT_EQ(separators, toVector(refTensor("ind_tokens")))
        << "stage ids, tensor ind_tokens (',' / '\\n' after slices)";
    EXPECT_EQ(prompt.positions(mi.vlm->tokensPerImage()), manifest()["run"]["positions"].get<int64_t>())
        << "stage ids: prompt positions";
    // The image slots in the reference's order: slices row-major, then the overview (our index 0) last.
    std::vector<int> slots;
    for (const auto &s : prompt.segments)
        if (s.imageIndex >= 0)
            slots.push_back(s.imageIndex);
    std::vector<int> want;
    for (int k = 0; k < encodedCount(); ++k)
        want.push_back(ourIndex(k));
    EXPECT_EQ(slots, want) << "stage ids: image slot order";
}

// A follow-up turn: "... ASSISTANT: answer</s>USER: q2 ASSISTANT:". The release's tokenizer (Vicuna v1.5's
// slow LlamaTokenizer, legacy=False, as llava/train/train.py's `not tokenizer.legacy` branch expects) encodes
// the text right after the special "</s>" without SentencePiece's dummy-prefix space.
TEST(ReferenceLlavaUhd, FollowUpTurnIds)
{
    const auto model = loadModel("f32");
    const auto &mi = model->impl();
    const QImage rgb = testImage();
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const json &run = manifest()["run"];
    ASSERT_FALSE(run["tokenizer_legacy"].get<bool>());
    const std::vector<Turn> history = {{run["question"], run["answer1"]}};
    const Prompt prompt = mi.vlm->buildPrompt(plan, history, run["question2"], *mi.tokenizer);
    std::vector<int64_t> separators;
    const auto ids = flattenPrompt(prompt, separators);
    const auto want = toVector(refTensor("prompt_ids_turn2"));
    EXPECT_EQ(ids, want) << "stage ids, tensor prompt_ids_turn2 (second turn after '</s>')";
    EXPECT_EQ(separators, toVector(refTensor("ind_tokens"))) << "stage ids, tensor ind_tokens (second turn)";
}

// The release's layout: the model folder holds no vision tower (it comes from mm_vision_tower), so loading it
// without the vision folder must name the first missing CLIP tensor, not run with garbage.
TEST(ReferenceLlavaUhd, ReleaseLayoutNeedsTheVisionFolder)
{
    LoadOptions o;
    o.modelDir = kDir;
    o.device = {Device::Cpu};
    o.dtype = Dtype::F32;
    try {
        Model::load(o);
        ADD_FAILURE() << "loading the release layout without --vision must fail";
    } catch (const Error &e) {
        // Without a vision config the tower is taken as CLIP ViT-L (1024 wide), which the tiny mm_hidden_size
        // contradicts; the message must say how to load it.
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid) << e.what();
        EXPECT_NE(std::string(e.what()).find("--vision"), std::string::npos) << e.what();
    }
    o.visionDir = kDir + "/no-such-folder";
    EXPECT_THROW(Model::load(o), Error);
}

class ReferenceLlavaUhdStages : public ::testing::TestWithParam<Mode>
{
};

TEST_P(ReferenceLlavaUhdStages, EncoderPromptLogitsAndGreedyTokens)
{
    const Mode mode = GetParam();
    const auto model = loadModel(mode.dtype);
    ASSERT_EQ(nameOf(model->info().dtype), mode.info);
    const auto &mi = model->impl();
    const VisionLanguageModel &vlm = *mi.vlm;
    torch::InferenceMode inference;

    // Encoder and resampler on the reference pixels, one encoded image at a time as the reference does.
    const int n = encodedCount();
    std::vector<torch::Tensor> tokens(static_cast<size_t>(n));
    for (int k = 0; k < n; ++k) {
        torch::Tensor vision, resampled;
        const auto px = referencePixels(k).to(vlm.dtype());
        const auto out = mi.encode(px, [&](const std::string &name, const torch::Tensor &t) {
            if (name == "vision")
                vision = t.squeeze(0).to(torch::kFloat32);
            if (name == "resampler")
                resampled = t.squeeze(0).to(torch::kFloat32);
        });
        const std::string tag = "image" + std::to_string(k);
        ASSERT_TRUE(vision.defined() && resampled.defined())
            << "the family reports no vision/resampler stage";
        EXPECT_STAGE(mode.dtype, "vision", tag + ".vision", vision, refTensor(tag + ".vision"),
                     mode.stageTol);
        EXPECT_STAGE(mode.dtype, "resampler", tag + ".resampler", resampled, refTensor(tag + ".resampler"),
                     mode.stageTol);
        tokens[static_cast<size_t>(ourIndex(k))] = out;
    }

    // The language model's input.
    const QImage rgb = testImage();
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const Prompt prompt = vlm.buildPrompt(plan, {}, manifest()["run"]["question"], *mi.tokenizer);
    const auto embeds = embedPrompt(vlm, prompt, torch::stack(tokens, 0));
    EXPECT_STAGE(mode.dtype, "embeds", "embeds", embeds.to(torch::kFloat32), refTensor("embeds"),
                 mode.stageTol);

    // First position, then greedy decoding through the engine's sampler and KV cache.
    KVCache cache;
    torch::Tensor logits = vlm.forward(embeds, cache).to(torch::kCPU, torch::kFloat32);
    EXPECT_STAGE(mode.dtype, "logits", "logits", logits, refTensor("logits"), mode.logitTol);
    const auto want = toVector(refTensor("greedy_ids"));
    GenerationSettings greedy;
    greedy.temperature = 0;
    Sampler sampler(greedy);
    std::vector<int64_t> got;
    for (size_t i = 0; i < want.size(); ++i) {
        got.push_back(sampler.next(logits, got));
        logits = vlm.forward(vlm.embedTokens(torch::tensor({got.back()}, torch::kLong)), cache)
                     .to(torch::kCPU, torch::kFloat32);
    }
    size_t same = 0;
    while (same < got.size() && got[same] == want[same])
        ++same;
    std::printf("[%s] greedy     %zu of %zu tokens identical\n", mode.dtype, same, want.size());
    if (mode.exactTokens)
        EXPECT_EQ(got, want) << "stage greedy, tensor greedy_ids (" << mode.dtype << ")";
    else
        EXPECT_EQ(got.front(), want.front()) << "stage greedy, tensor greedy_ids[0] (" << mode.dtype << ")";
}

INSTANTIATE_TEST_SUITE_P(Modes, ReferenceLlavaUhdStages, ::testing::ValuesIn(kModes),
                         [](const ::testing::TestParamInfo<Mode> &p) { return std::string(p.param.dtype); });

// End to end on our own pixels through Conversation::ask (greedy, 16 tokens): the answer is the reference's
// 16 tokens, decoded.
TEST(ReferenceLlavaUhd, ConversationAnswersAsTheReference)
{
    const auto model = loadModel("f32");
    Conversation chat(model);
    chat.setImage(testImage());
    GenerationSettings s;
    s.maxNewTokens = 16;
    s.temperature = 0;
    const AskResult r = chat.ask(manifest()["run"]["question"], s);
    // The reference's ids through the engine's own detokeniser (pieces -> bytes -> whole UTF-8 characters, an
    // invalid byte run as U+FFFD, the answer's leading dummy-prefix space dropped), as ask() renders its ids.
    const auto tok = model->impl().tokenizer;
    PieceDecoder decoder([&](int64_t id) { return tok->isControl(id) ? std::string() : tok->idToPiece(id); },
                         {});
    Utf8Streamer utf8;
    std::string want;
    bool atStart = true;
    for (const int64_t id : toVector(refTensor("greedy_ids"))) {
        std::string bytes = decoder.bytes(id);
        if (atStart && !bytes.empty()) {
            if (bytes.front() == ' ')
                bytes.erase(0, 1);
            atStart = false;
        }
        want += utf8.push(bytes);
    }
    want += utf8.flush();
    EXPECT_EQ(r.generatedTokens, 16);
    EXPECT_EQ(r.promptTokens, manifest()["run"]["positions"].get<int>());
    EXPECT_EQ(r.answer, want) << "stage end-to-end (our pixels), greedy answer";
}

// The release's own layout: the projector only in the pickled mm_projector.bin that the official code wrote with
// torch.save, the LLM in safetensors. The engine refuses the pickle (Error PickleWeights, naming the file), the
// restricted reader converts it, and the converted folder answers exactly as the reference.
TEST(ReferenceLlavaUhd, PickledProjectorConvertsAndAnswersAsTheReference)
{
    QTemporaryDir tmp;
    ASSERT_TRUE(tmp.isValid());
    const std::string release = tmp.filePath(QStringLiteral("release")).toStdString();
    QDir().mkpath(QString::fromStdString(release));
    for (const char *f : {"config.json", "tokenizer.model", "tokenizer_config.json", "mm_projector.bin"})
        ASSERT_TRUE(QFile::copy(QString::fromStdString(kDir + "/" + f), QString::fromStdString(release + "/" + f)))
            << f;
    {
        std::vector<std::pair<std::string, torch::Tensor>> llm;
        const Checkpoint ck = Checkpoint::open(kDir + "/model.safetensors");
        for (const auto &name : ck.names())
            if (name.rfind("model.mm_projector.", 0) != 0)
                llm.emplace_back(name, ck.get(name).clone());
        ASSERT_LT(llm.size(), ck.names().size()) << "the fixture's model.safetensors has no projector to move";
        saveSafeTensors(release + "/model.safetensors", llm);
    }
    LoadOptions o;
    o.modelDir = release;
    o.visionDir = kDir + "/vision";
    o.dtype = Dtype::F32;
    try {
        Model::load(o);
        ADD_FAILURE() << "a folder whose projector is only in mm_projector.bin must not load";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::PickleWeights) << e.what();
        EXPECT_NE(std::string(e.what()).find("mm_projector.bin"), std::string::npos) << e.what();
    }

    const std::string converted = tmp.filePath(QStringLiteral("converted")).toStdString();
    const ConvertReport report = convertModelFolder(release, converted);
    ASSERT_EQ(report.converted.size(), 1u);
    EXPECT_EQ(report.converted[0].source, "mm_projector.bin");
    o.modelDir = converted;
    const auto model = Model::load(o);
    Conversation chat(model);
    chat.setImage(testImage());
    GenerationSettings s;
    s.maxNewTokens = 16;
    s.temperature = 0;
    const AskResult fromPickle = chat.ask(manifest()["run"]["question"], s);
    Conversation direct(loadModel("f32"));
    direct.setImage(testImage());
    const AskResult fromFixture = direct.ask(manifest()["run"]["question"], s);
    EXPECT_EQ(fromPickle.answer, fromFixture.answer);
    EXPECT_EQ(fromPickle.generatedTokens, fromFixture.generatedTokens);
    // The converted projector tensors are the fixture's, bit for bit.
    const Checkpoint fixture = Checkpoint::open(kDir + "/model.safetensors");
    const Checkpoint ours = Checkpoint::open(converted);
    int compared = 0;
    for (const auto &name : fixture.names())
        if (name.rfind("model.mm_projector.", 0) == 0) {
            EXPECT_TRUE(torch::equal(ours.get(name), fixture.get(name))) << "tensor '" << name << "'";
            ++compared;
        }
    EXPECT_GT(compared, 5);
}
