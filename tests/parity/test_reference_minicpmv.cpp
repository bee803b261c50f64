// The minicpmv family against the OFFICIAL MiniCPM-V 2.0 code (openbmb/MiniCPM-V-2 as mirrored by GitHub
// HwwwwwwwH/MiniCPM-V-2 @ 3d0e971): tests/data/reference/minicpmv2/ holds a tiny random checkpoint with the
// real tensor names and config keys, the test image, and every stage of the official code's run on it
// (tests/tools/reference/minicpmv2_fixture.py, which records how it was made in manifest.json).
//
// The checkpoint is loaded through the real engine (uhdlens::Model::load) in each dtype, and compared stage
// by stage, each failure naming the stage and tensor:
//   plan -> pixels (our preprocessing) -> vision features -> resampler output -> prompt ids -> input
//   embeddings -> logits of the first generated position -> 16 greedy tokens.
// The encoder runs on the REFERENCE pixels, so every later stage is compared independently of our resize.
// Modes and their reference run: f32 and mixed (bf16 matrices, f32 arithmetic; the weights are bf16 numbers,
// so the same values as f32) against the official code in float32; bf16 against the official code in
// bfloat16. Tolerances (relative, norm-wise): f32 and mixed 1e-5 (measured <= 1e-6: summation order only),
// bf16 3e-2 (measured <= 8e-3). What 1e-5 catches, measured by rerunning the official code with one change:
// MiniCPM RMSNorm eps 1e-6 instead of 1e-5 moves the logits by 4e-4; ViT LayerNorm eps 1e-5 instead of 1e-6
// the vision features by 1.6e-3; GELU tanh instead of erf by 1.1e-4; a position-table fit without antialias
// by 0.15; scale_emb 12.5 instead of 12 the logits by 2.3e-2 (and the greedy tokens).
#include "engine_impl.h"
#include "generation.h"
#include "model_family.h"
#include "preprocess.h"
#include "safetensors.h"
#include "uhdlens/engine.h"
#include "uhdlens/image_io.h"
#include "uhdlens/preprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

using namespace uhdlens;

namespace {

const std::string kDir = UHDLENS_TEST_DATA "/reference/minicpmv2";

nlohmann::json manifest()
{
    std::ifstream in(kDir + "/manifest.json");
    if (!in)
        throw std::runtime_error("missing " + kDir +
                                 "/manifest.json (tests/tools/reference/minicpmv2_fixture.py)");
    return nlohmann::json::parse(in);
}

const Checkpoint &reference()
{
    static const Checkpoint ck = Checkpoint::open(kDir + "/reference.safetensors");
    return ck;
}

torch::Tensor fixtureTensor(const std::string &name)
{
    return reference().get(name).clone();
}

// ||got - want|| / ||want|| in double.
double relativeError(const torch::Tensor &got, const torch::Tensor &want)
{
    const auto w = want.to(torch::kDouble);
    return (got.to(torch::kDouble) - w).norm().item<double>() / std::max(1e-30, w.norm().item<double>());
}

double maxAbsError(const torch::Tensor &got, const torch::Tensor &want)
{
    return (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
}

// What a mode is compared against, and how closely.
struct Mode
{
    std::string dtype;     // LoadOptions::dtype
    std::string reference; // "f32" | "bf16": which official run
    double tolerance;      // relative (norm) error allowed for vision, resampler, embeddings and logits
};

// gtest prints the mode by name in failure lines.
void PrintTo(const Mode &mode, std::ostream *os)
{
    *os << mode.dtype << " (vs official " << mode.reference << ", tolerance " << mode.tolerance << ")";
}

std::string describe(const std::string &stage, const std::string &tensor, double rel, double maxAbs)
{
    std::ostringstream s;
    s << "stage " << stage << ", tensor '" << tensor << "': relative error " << rel << ", max abs " << maxAbs;
    return s.str();
}

// Normalised reference pixels, [1,3,H,W] float32: ((x/255) - 0.5)/0.5 in float32, as torchvision's ToTensor +
// Normalize(IMAGENET_INCEPTION_MEAN/STD) compute them (the fixture script checks this bit for bit).
torch::Tensor referencePixels(int k)
{
    const auto u8 = fixtureTensor("image" + std::to_string(k) + ".pixels_u8").to(torch::kFloat32);
    return (((u8 / 255.0f) - 0.5f) / 0.5f).unsqueeze(0);
}

// Prompt ids as the reference spells them: image slots are query_num × <unk>.
std::vector<int64_t> flatIds(const Prompt &prompt, int tokensPerImage, int64_t unk)
{
    std::vector<int64_t> ids;
    for (const auto &s : prompt.segments) {
        if (s.imageIndex >= 0)
            ids.insert(ids.end(), static_cast<size_t>(tokensPerImage), unk);
        else
            ids.insert(ids.end(), s.ids.begin(), s.ids.end());
    }
    return ids;
}

std::string idList(const std::vector<int64_t> &ids, size_t from, size_t count)
{
    std::ostringstream s;
    for (size_t i = from; i < std::min(ids.size(), from + count); ++i)
        s << (i > from ? " " : "") << ids[i];
    return s.str();
}

class MiniCpmV2Stages : public ::testing::TestWithParam<Mode>
{
  protected:
    void SetUp() override
    {
        LoadOptions o;
        o.modelDir = kDir;
        o.dtype = parseName<Dtype>(GetParam().dtype);
        o.device = {Device::Cpu};
        model = Model::load(o);
        m = manifest();
        tag = GetParam().reference + ".";
    }
    const Model::Impl &impl() const { return model->impl(); }
    const VisionLanguageModel &vlm() const { return *model->impl().vlm; }
    int images() const { return m["plan"]["encoded_images"].get<int>(); }

    std::shared_ptr<const Model> model;
    nlohmann::json m;
    std::string tag;
};

TEST_P(MiniCpmV2Stages, LoadsAsTheRealFamily)
{
    EXPECT_EQ(model->info().family, Family::MiniCpmV);
    EXPECT_EQ(nameOf(model->info().dtype), GetParam().dtype);
    EXPECT_TRUE(model->info().warnings.empty())
        << "checkpoint tensors the engine does not use: " << model->info().warnings.front();
    EXPECT_EQ(vlm().tokensPerImage(), 64);
}

TEST_P(MiniCpmV2Stages, PlanMatchesOfficialSlicing)
{
    const QImage rgb = loadImage(QString::fromStdString(kDir + "/image.png"));
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const auto &p = m["plan"];
    ASSERT_TRUE(plan.grid.has_value()) << "stage plan: the reference slices this image";
    EXPECT_EQ(plan.grid->cols, p["grid"][0].get<int>()) << "stage plan: grid columns";
    EXPECT_EQ(plan.grid->rows, p["grid"][1].get<int>()) << "stage plan: grid rows";
    EXPECT_EQ(plan.overview.width, p["overview"][0].get<int>()) << "stage plan: overview width";
    EXPECT_EQ(plan.overview.height, p["overview"][1].get<int>()) << "stage plan: overview height";
    ASSERT_TRUE(plan.slice.has_value());
    EXPECT_EQ(plan.slice->width, p["slice"][0].get<int>()) << "stage plan: slice width";
    EXPECT_EQ(plan.slice->height, p["slice"][1].get<int>()) << "stage plan: slice height";
    EXPECT_EQ(static_cast<int>(plan.encodedImages().size()), images());
}

// Our preprocessing (QImage -> plan -> resize/crop -> normalise) against the official PIL slicing. The 8-bit
// pixels of every encoded image must equal the official ones exactly (Pillow's BICUBIC, reimplemented bit for
// bit in pillow_resample.cpp); the normalisation is checked exactly on the reference bytes, and our encoder
// input (normalised, in the compute dtype) within that dtype's rounding.
TEST_P(MiniCpmV2Stages, PreprocessingMatchesOfficialPixels)
{
    const QImage rgb = loadImage(QString::fromStdString(kDir + "/image.png"));
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const PixelNorm norm = vlm().pixelNorm();
    const preprocess::Pixels px8 = preprocess::modelPixels(rgb, plan, padColourForMean(norm.mean));
    const auto ours = impl().pixels(rgb, plan);
    ASSERT_EQ(static_cast<int>(ours.size()), images());
    const auto mean = torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({1, 3, 1, 1});
    const auto stdv = torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({1, 3, 1, 1});
    // bf16 keeps 8 bits of mantissa: |x| <= 1 rounds by at most 2^-9.
    const double inputTol = GetParam().dtype == "bf16" ? 1.0 / 512 : 1e-6;
    for (int k = 0; k < images(); ++k) {
        const std::string name = "image" + std::to_string(k) + ".pixels_u8";
        const auto bytes = fixtureTensor(name).to(torch::kFloat32).unsqueeze(0);
        const torch::Tensor ours8 = k == 0 ? px8.overview : px8.slices.narrow(0, k - 1, 1);
        ASSERT_EQ(ours8.sizes(), bytes.sizes()) << "stage pixels, tensor '" << name << "'";
        const auto diff = (ours8 - bytes).abs();
        EXPECT_EQ(diff.max().item<double>(), 0.0)
            << "stage pixels (resize/crop), tensor '" << name << "': " << diff.gt(0).sum().item<int64_t>()
            << " values differ from Pillow's";
        // Normalisation: exactly torchvision's values.
        const auto normalised = ((bytes / 255.0f) - mean) / stdv;
        EXPECT_TRUE(torch::equal(normalised, referencePixels(k)))
            << "stage pixels (normalisation), tensor '" << name << "'";
        ASSERT_EQ(ours[static_cast<size_t>(k)].sizes(), bytes.sizes())
            << "stage pixels, tensor '" << name << "'";
        const double inputErr = (ours[static_cast<size_t>(k)].to(torch::kFloat32) - referencePixels(k))
                                    .abs()
                                    .max()
                                    .item<double>();
        EXPECT_LE(inputErr, inputTol) << "stage pixels (encoder input), tensor '" << name << "'";
    }
}

TEST_P(MiniCpmV2Stages, EncoderOnReferencePixels)
{
    torch::InferenceMode inference;
    const double tol = GetParam().tolerance;
    for (int k = 0; k < images(); ++k) {
        std::map<std::string, torch::Tensor> stages;
        const std::string prefix = "image" + std::to_string(k) + ".";
        const auto px = referencePixels(k).to(vlm().dtype());
        impl().encode(
            px, [&](const std::string &n, const torch::Tensor &t) { stages[n] = t.to(torch::kFloat32); },
            prefix);
        for (const char *stage : {"vision", "resampler"}) {
            const std::string name = prefix + stage;
            ASSERT_TRUE(stages.count(name)) << "the family reports no stage '" << name << "'";
            const auto want = fixtureTensor(tag + name).to(torch::kFloat32);
            const auto got = stages[name].squeeze(0);
            ASSERT_EQ(got.sizes(), want.sizes()) << "stage " << stage << ", tensor '" << tag + name << "'";
            const double rel = relativeError(got, want), mx = maxAbsError(got, want);
            std::cout << "[" << stage << "] " << GetParam().dtype << " " << name << ": rel " << rel
                      << ", max abs " << mx << "\n";
            EXPECT_LE(rel, tol) << describe(stage, tag + name, rel, mx);
        }
    }
}

// Encodes the reference pixels and builds the prompt; shared by the language-model stages.
struct Prepared
{
    Prompt prompt;
    torch::Tensor embeds; // [T, D]
};

Prepared prepare(const Model &model, const std::string &question)
{
    const auto &mi = model.impl();
    const QImage rgb = loadImage(QString::fromStdString(kDir + "/image.png"));
    const SlicePlan plan = model.plan({rgb.width(), rgb.height()});
    std::vector<torch::Tensor> encoded;
    for (int k = 0; k < static_cast<int>(plan.encodedImages().size()); ++k)
        encoded.push_back(mi.encode(referencePixels(k).to(mi.vlm->dtype())));
    Prepared p;
    p.prompt = mi.vlm->buildPrompt(plan, {}, question, *mi.tokenizer);
    p.embeds = embedPrompt(*mi.vlm, p.prompt, torch::stack(encoded, 0));
    return p;
}

TEST_P(MiniCpmV2Stages, PromptIdsMatchOfficialTemplate)
{
    torch::InferenceMode inference;
    const auto &mi = impl();
    const QImage rgb = loadImage(QString::fromStdString(kDir + "/image.png"));
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const Prompt prompt = vlm().buildPrompt(plan, {}, m["run"]["question"].get<std::string>(), *mi.tokenizer);
    const auto ids = flatIds(prompt, vlm().tokensPerImage(), mi.tokenizer->unkId());
    const auto want = fixtureTensor("prompt.ids");
    const std::vector<int64_t> expected(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + want.numel());
    size_t first = 0;
    while (first < std::min(ids.size(), expected.size()) && ids[first] == expected[first])
        ++first;
    EXPECT_EQ(ids, expected) << "stage prompt, tensor 'prompt.ids': " << ids.size() << " ids vs "
                             << expected.size() << "; first difference at " << first << ": ours ["
                             << idList(ids, first, 6) << "], official [" << idList(expected, first, 6) << "]";
    // Image slots sit exactly at the official image_bound spans, in encoding order.
    const auto bounds = fixtureTensor("prompt.image_bound");
    int64_t pos = 0;
    int slot = 0;
    for (const auto &s : prompt.segments) {
        if (s.imageIndex >= 0) {
            ASSERT_LT(slot, bounds.size(0)) << "stage prompt: more image slots than the official image_bound";
            EXPECT_EQ(s.imageIndex, slot) << "stage prompt: image slots out of order";
            EXPECT_EQ(pos, bounds[slot][0].item<int64_t>())
                << "stage prompt, tensor 'prompt.image_bound' slot " << slot;
            EXPECT_EQ(pos + vlm().tokensPerImage(), bounds[slot][1].item<int64_t>())
                << "stage prompt, tensor 'prompt.image_bound' slot " << slot;
            ++slot;
            pos += vlm().tokensPerImage();
        } else {
            pos += static_cast<int64_t>(s.ids.size());
        }
    }
    EXPECT_EQ(slot, bounds.size(0)) << "stage prompt: image slot count";
}

// A second turn: MiniCPMV.chat() joins the turns as "<用户>" ... "<AI>" answer "<用户>" ... "<AI>", the image
// in the first; grounding tags typed in the texts (<ref>, <box>) are added tokens, split out as in the
// reference.
TEST_P(MiniCpmV2Stages, HistoryPromptMatchesOfficialChat)
{
    torch::InferenceMode inference;
    const auto &mi = impl();
    const QImage rgb = loadImage(QString::fromStdString(kDir + "/image.png"));
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const auto &run = m["run"];
    const std::vector<Turn> history = {
        {run["question"].get<std::string>(), run["history"]["answer"].get<std::string>()}};
    const Prompt prompt =
        vlm().buildPrompt(plan, history, run["history"]["follow_up"].get<std::string>(), *mi.tokenizer);
    const auto ids = flatIds(prompt, vlm().tokensPerImage(), mi.tokenizer->unkId());
    const auto want = fixtureTensor("prompt.history_ids");
    const std::vector<int64_t> expected(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + want.numel());
    size_t first = 0;
    while (first < std::min(ids.size(), expected.size()) && ids[first] == expected[first])
        ++first;
    EXPECT_EQ(ids, expected) << "stage prompt (two turns), tensor 'prompt.history_ids': " << ids.size()
                             << " ids vs " << expected.size() << "; first difference at " << first
                             << ": ours [" << idList(ids, first, 6) << "], official ["
                             << idList(expected, first, 6) << "]";
}

TEST_P(MiniCpmV2Stages, InputEmbeddingsLogitsAndGreedyTokens)
{
    torch::InferenceMode inference;
    const double tol = GetParam().tolerance;
    const auto &mi = impl();
    const Prepared p = prepare(*model, m["run"]["question"].get<std::string>());
    const auto textPos = fixtureTensor("prompt.text_positions");
    const auto bounds = fixtureTensor("prompt.image_bound");
    const auto embeds = p.embeds.to(torch::kFloat32);
    ASSERT_EQ(embeds.size(0), fixtureTensor("prompt.ids").size(0))
        << "stage embeddings: prompt length differs from the official";

    // Text rows: embed_tokens * scale_emb.
    {
        const auto want = fixtureTensor(tag + "embeds.text_rows").to(torch::kFloat32);
        const auto got = embeds.index_select(0, textPos);
        const double rel = relativeError(got, want), mx = maxAbsError(got, want);
        std::cout << "[embeds.text] " << GetParam().dtype << ": rel " << rel << ", max abs " << mx << "\n";
        EXPECT_LE(rel, tol) << describe("input embeddings", tag + "embeds.text_rows", rel, mx);
    }
    // Image rows: the resampler outputs, scattered verbatim into the official image_bound spans.
    for (int64_t k = 0; k < bounds.size(0); ++k) {
        const std::string name = tag + "image" + std::to_string(k) + ".resampler";
        const auto want = fixtureTensor(name).to(torch::kFloat32);
        const auto got = embeds.narrow(0, bounds[k][0].item<int64_t>(), want.size(0));
        const double rel = relativeError(got, want), mx = maxAbsError(got, want);
        EXPECT_LE(rel, tol) << describe("input embeddings (image rows)", name, rel, mx);
    }

    // Logits of the first generated position, through the KV-cache path the engine decodes with.
    KVCache cache;
    const auto logits = vlm().forward(p.embeds, cache);
    const auto wantLogits = fixtureTensor(tag + "logits.first");
    const double rel = relativeError(logits, wantLogits), mx = maxAbsError(logits, wantLogits);
    std::cout << "[logits] " << GetParam().dtype << ": rel " << rel << ", max abs " << mx << "\n";
    EXPECT_LE(rel, tol) << describe("logits", tag + "logits.first", rel, mx);

    // 16 greedy tokens with the engine's token loop and stop ids.
    const auto gen = fixtureTensor(tag + "generated");
    const std::vector<int64_t> expected(gen.data_ptr<int64_t>(), gen.data_ptr<int64_t>() + gen.numel());
    GenerationSettings settings;
    settings.maxNewTokens = static_cast<int>(expected.size());
    settings.temperature = 0.0f;
    GenerationIO io;
    io.step = [&](int64_t id) {
        return vlm().forward(vlm().embedTokens(torch::tensor({id}, torch::kLong)), cache);
    };
    io.stopIds = vlm().stopTokenIds(*mi.tokenizer);
    io.maxTokens = settings.maxNewTokens;
    const GenerationOutput out = generate(logits, settings, io, {}, nullptr);
    size_t first = 0;
    while (first < std::min(out.ids.size(), expected.size()) && out.ids[first] == expected[first])
        ++first;
    EXPECT_EQ(out.ids, expected) << "stage generation, tensor '" << tag
                                 << "generated': first difference at token " << first << ": ours ["
                                 << idList(out.ids, first, 4) << "], official [" << idList(expected, first, 4)
                                 << "]";
}

// End to end through the public API (our preprocessing included): Conversation::ask answers with the official
// greedy tokens and streams the text the official chat() returns (its tokenizer.decode of them, stripped).
TEST_P(MiniCpmV2Stages, ConversationAnswersAsOfficialChat)
{
    GenerationSettings settings;
    settings.maxNewTokens = static_cast<int>(fixtureTensor(tag + "generated").numel());
    Conversation chat(model);
    chat.setImage(loadImage(QString::fromStdString(kDir + "/image.png")));
    const AskResult r = chat.ask(m["run"]["question"].get<std::string>(), settings);
    EXPECT_EQ(r.generatedTokens, settings.maxNewTokens) << "stage generation (end to end): stopped early";
    EXPECT_EQ(r.answer, m["run"]["answer_" + GetParam().reference].get<std::string>())
        << "stage generation (end to end): answer text of Conversation::ask vs the official chat()";
}

// f32 and mixed reproduce the float32 run to float32 rounding (different summation order only). bf16 is
// compared with the official bfloat16 run: both round every op to 8 mantissa bits, in different orders.
INSTANTIATE_TEST_SUITE_P(ReferenceMiniCpmV2, MiniCpmV2Stages,
                         ::testing::Values(Mode{"f32", "f32", 1e-5}, Mode{"mixed", "f32", 1e-5},
                                           Mode{"bf16", "bf16", 3e-2}),
                         [](const ::testing::TestParamInfo<Mode> &info) { return info.param.dtype; });

} // namespace
