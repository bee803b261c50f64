// The MiniCPM-V 2.6 / 4.5 end-to-end parity suite, shared by test_reference_minicpmv26_e2e.cpp and
// test_reference_minicpmv45_e2e.cpp (each instantiates it on its fixture folder). Both families' official
// chat paths take the same stages (MiniCPMVProcessor pixels and tgt_sizes, vpm, resampler, chat template +
// processor ids, the Qwen LLM's logits and greedy tokens, chat()'s decoded answers), so one suite checks
// both:
//   plan and tgt_sizes -> pixels (ours, within one 8-bit level) -> vision features and resampler output (on
//   the reference pixels) -> prompt ids (turn 1 and a follow-up turn) -> first logits (max abs <= 1e-4) -> 16
//   greedy tokens -> Conversation::ask's streamed answer text for both turns.
// f32 and mixed (bf16 matrices, f32 arithmetic: the weights are bf16 numbers) are both compared with the
// official float32 run. Each failure names the stage and tensor. Include from one .cpp per test executable.
#pragma once

#include "engine_impl.h"
#include "generation.h"
#include "model_family.h"
#include "nn/siglip.h"
#include "safetensors.h"
#include "uhdlens/engine.h"
#include "uhdlens/image_io.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

using namespace uhdlens;

namespace minicpmv_e2e {

// One instantiation: the fixture folder under tests/data/reference, the family it must load as, and the
// dtype.
struct Case
{
    std::string folder; // "minicpmv26-e2e"
    Family family;
    std::string dtype;  // "f32" | "mixed"
    std::string script; // the fixture script that writes the folder
};

inline void PrintTo(const Case &c, std::ostream *os)
{
    *os << c.folder << " " << c.dtype;
}

inline const Case *g_case = nullptr; // set by the test fixture for the free helpers below
inline std::string dir()
{
    return std::string(UHDLENS_TEST_DATA "/reference/") + g_case->folder;
}

constexpr double kLogitTolerance = 1e-4;   // max abs, f32
constexpr double kFeatureTolerance = 1e-5; // relative (norm), vision and resampler

inline nlohmann::json referenceJson()
{
    std::ifstream in(dir() + "/reference.json");
    if (!in)
        throw std::runtime_error("missing " + dir() + "/reference.json (tests/tools/reference/" +
                                 g_case->script + ")");
    return nlohmann::json::parse(in);
}

inline torch::Tensor fixture(const std::string &name)
{
    return Checkpoint::open(dir() + "/reference.safetensors").get(name).clone();
}

inline std::vector<int64_t> idsOf(const torch::Tensor &t)
{
    const auto c = t.to(torch::kLong).contiguous();
    return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

inline double relativeError(const torch::Tensor &got, const torch::Tensor &want)
{
    const auto w = want.to(torch::kDouble);
    return (got.to(torch::kDouble) - w).norm().item<double>() / std::max(1e-30, w.norm().item<double>());
}

inline double maxAbs(const torch::Tensor &got, const torch::Tensor &want)
{
    return (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
}

inline std::string idList(const std::vector<int64_t> &ids, size_t from, size_t count)
{
    std::ostringstream s;
    for (size_t i = from; i < std::min(ids.size(), from + count); ++i)
        s << (i > from ? " " : "") << ids[i];
    return s.str();
}

inline std::string firstDifference(const std::vector<int64_t> &ours, const std::vector<int64_t> &official)
{
    size_t first = 0;
    while (first < std::min(ours.size(), official.size()) && ours[first] == official[first])
        ++first;
    std::ostringstream s;
    s << ours.size() << " ids vs " << official.size() << "; first difference at " << first << ": ours ["
      << idList(ours, first, 6) << "], official [" << idList(official, first, 6) << "]";
    return s.str();
}

// The prompt as the reference spells it: each image slot is image_feature_size x <unk>.
inline std::vector<int64_t> flatIds(const Prompt &prompt, int tokensPerImage, int64_t unk)
{
    const std::vector<int64_t> slot(static_cast<size_t>(tokensPerImage), unk);
    std::vector<int64_t> ids;
    for (const auto &s : prompt.segments) {
        const std::vector<int64_t> &part = s.imageIndex >= 0 ? slot : s.ids;
        ids.insert(ids.end(), part.begin(), part.end());
    }
    return ids;
}

// The official processor's pixels of encoded image k ([3, 14, L*14], reshape_by_patch) back in image layout
// [1, 3, rows*14, cols*14]: out[c, y, l*P + x] = in[c, (l / cols)*P + y, (l % cols)*P + x].
inline torch::Tensor referenceImage(int k)
{
    const auto tgt = fixture("input.tgt_sizes");
    const int64_t rows = tgt[k][0].item<int64_t>(), cols = tgt[k][1].item<int64_t>(), p = 14;
    return fixture("image" + std::to_string(k) + ".pixels")
        .view({3, p, rows, cols, p})
        .permute({0, 2, 1, 3, 4})
        .reshape({1, 3, rows * p, cols * p});
}

class MiniCpmVEndToEnd : public ::testing::TestWithParam<Case>
{
protected:
    void SetUp() override
    {
        g_case = &GetParam();
        LoadOptions o;
        o.modelDir = dir();
        o.dtype = parseName<Dtype>(GetParam().dtype);
        o.device = {Device::Cpu};
        model = Model::load(o);
        ref = referenceJson();
        rgb = loadImage(QString::fromStdString(dir() + "/image.png"));
        plan = model->plan({rgb.width(), rgb.height()});
    }
    const Model::Impl &impl() const { return model->impl(); }
    const VisionLanguageModel &vlm() const { return *model->impl().vlm; }
    int images() const { return static_cast<int>(fixture("input.tgt_sizes").size(0)); }

    // Runs `prompt` (encoded from the reference pixels) and compares its first logits and greedy tokens with
    // the fixture's "<stem>.first_logits" / "<stem>.generated_ids".
    void logitsAndGreedyTokens(const Prompt &prompt, const std::string &stem) const
    {
        torch::InferenceMode inference;
        std::vector<torch::Tensor> encoded;
        for (int k = 0; k < images(); ++k)
            encoded.push_back(impl().encode(referenceImage(k).to(vlm().dtype())));
        KVCache cache;
        const auto logits = vlm().forward(embedPrompt(vlm(), prompt, torch::stack(encoded, 0)), cache);
        const auto want = fixture(stem + ".first_logits");
        const double mx = maxAbs(logits, want);
        std::cout << "[logits] " << GetParam().dtype << " " << stem << ": max abs " << mx << ", rel "
                  << relativeError(logits, want) << "\n";
        EXPECT_LE(mx, kLogitTolerance)
            << "stage logits, tensor '" << stem << ".first_logits': max abs " << mx;

        const auto expected = idsOf(fixture(stem + ".generated_ids"));
        GenerationSettings settings;
        settings.maxNewTokens = static_cast<int>(expected.size());
        settings.temperature = 0.0f;
        settings.repetitionPenalty = 1.0f;
        GenerationIO io;
        io.step = [&](int64_t id) {
            return vlm().forward(vlm().embedTokens(torch::tensor({id}, torch::kLong)), cache);
        };
        io.stopIds = impl().stopIds;
        io.maxTokens = settings.maxNewTokens;
        const GenerationOutput out = generate(logits, settings, io, {}, nullptr);
        EXPECT_EQ(out.ids, expected) << "stage generation, tensor '" << stem
                                     << ".generated_ids': " << firstDifference(out.ids, expected);
    }

    std::shared_ptr<const Model> model;
    nlohmann::json ref;
    QImage rgb;
    SlicePlan plan;
};

TEST_P(MiniCpmVEndToEnd, LoadsTheFolderAsItsFamilyWithItsProcessorAndTokenizer)
{
    const ModelInfo &info = model->info();
    EXPECT_EQ(info.family, GetParam().family);
    EXPECT_EQ(info.layout, TokenLayout::MiniCpmV26);
    EXPECT_TRUE(info.warnings.empty()) << info.warnings.front();
    // preprocessor_config.json's 112 wins over config.json's slice_config 448.
    EXPECT_EQ(info.policy.scale, 112);
    EXPECT_EQ(info.policy.maxSlices, 9);
    ASSERT_NE(impl().tokenizer->bpe(), nullptr) << "the family must load tokenizer.json as byte-level BPE";
    // Stops: <|im_end|> and <|endoftext|> (MiniCPMV.terminators), generation_config's eos among them.
    const auto &special = ref["special_token_ids"];
    for (const char *t : {"<|im_end|>", "<|endoftext|>"})
        EXPECT_NE(std::find(impl().stopIds.begin(), impl().stopIds.end(), special[t].get<int64_t>()),
                  impl().stopIds.end())
            << "stop id of " << t;
}

TEST_P(MiniCpmVEndToEnd, PlanAndPatchGridsMatchTheOfficialProcessor)
{
    ASSERT_TRUE(plan.grid.has_value()) << "stage plan: the reference slices this image";
    EXPECT_EQ(plan.grid->cols, ref["grid"][0].get<int>()) << "stage plan: grid columns";
    EXPECT_EQ(plan.grid->rows, ref["grid"][1].get<int>()) << "stage plan: grid rows";
    const auto ours = impl().pixels(rgb, plan);
    ASSERT_EQ(static_cast<int>(ours.size()), images()) << "stage plan: encoded images";
    const auto tgt = fixture("input.tgt_sizes");
    for (int k = 0; k < images(); ++k) {
        EXPECT_EQ(ours[k].size(2) / 14, tgt[k][0].item<int64_t>()) << "stage plan, tgt_sizes row " << k;
        EXPECT_EQ(ours[k].size(3) / 14, tgt[k][1].item<int64_t>()) << "stage plan, tgt_sizes col " << k;
    }
    // The count the UI shows before asking is the prompt's own.
    const Prompt prompt = vlm().buildPrompt(plan, {}, "q", *impl().tokenizer);
    EXPECT_EQ(model->imagePositions(plan), prompt.imageSpanPositions(vlm().tokensPerImage()));
    EXPECT_EQ(model->imagePositions(plan), imagePositions(plan, TokenLayout::MiniCpmV26));
}

// Our resize/crop/normalise against the official processor's pixels: within one 8-bit level (2/255 after the
// 0.5/0.5 normalisation).
TEST_P(MiniCpmVEndToEnd, PixelsWithinOneLevelOfTheOfficialProcessor)
{
    const auto ours = impl().pixels(rgb, plan);
    ASSERT_EQ(static_cast<int>(ours.size()), images());
    for (int k = 0; k < images(); ++k) {
        const std::string name = "image" + std::to_string(k) + ".pixels";
        const auto want = referenceImage(k);
        ASSERT_EQ(ours[k].sizes(), want.sizes()) << "stage pixels, tensor '" << name << "'";
        const double mx = maxAbs(ours[k].to(torch::kFloat32), want);
        std::cout << "[pixels] " << GetParam().dtype << " " << name << ": max abs " << mx << "\n";
        EXPECT_LE(mx, 2.0 / 255.0 + 1e-6) << "stage pixels, tensor '" << name << "': max abs " << mx;
    }
}

TEST_P(MiniCpmVEndToEnd, VisionFeaturesAndResamplerOnReferencePixels)
{
    torch::InferenceMode inference;
    for (int k = 0; k < images(); ++k) {
        std::map<std::string, torch::Tensor> stages;
        impl().encode(referenceImage(k).to(vlm().dtype()), [&](const std::string &n, const torch::Tensor &t) {
            stages[n] = t.to(torch::kFloat32);
        });
        for (const char *stage : {"vision", "resampler"}) {
            const std::string name = "image" + std::to_string(k) + "." + stage;
            ASSERT_TRUE(stages.count(stage)) << "the family reports no stage '" << stage << "'";
            const auto want = fixture(name);
            const auto got = stages[stage].squeeze(0);
            ASSERT_EQ(got.sizes(), want.sizes()) << "stage " << stage << ", tensor '" << name << "'";
            const double rel = relativeError(got, want), mx = maxAbs(got, want);
            std::cout << "[" << stage << "] " << GetParam().dtype << " " << name << ": rel " << rel
                      << ", max abs " << mx << "\n";
            EXPECT_LE(rel, kFeatureTolerance) << "stage " << stage << ", tensor '" << name
                                              << "': relative error " << rel << ", max abs " << mx;
        }
    }
}

TEST_P(MiniCpmVEndToEnd, PromptIdsMatchTheOfficialChatTemplateAndProcessor)
{
    const Tokenizer &tok = *impl().tokenizer;
    const int tpi = vlm().tokensPerImage();
    const std::string question = ref["question"].get<std::string>();
    const auto turn1 = flatIds(vlm().buildPrompt(plan, {}, question, tok), tpi, tok.unkId());
    const auto want1 = idsOf(fixture("turn1.prompt_ids"));
    EXPECT_EQ(turn1, want1) << "stage prompt, tensor 'turn1.prompt_ids': " << firstDifference(turn1, want1);
    // The follow-up: chat() with msgs [user: image + question, assistant: answer 1, user: follow-up].
    const std::vector<Turn> history = {{question, ref["answers"][0].get<std::string>()}};
    const auto turn2 =
        flatIds(vlm().buildPrompt(plan, history, ref["followup"].get<std::string>(), tok), tpi, tok.unkId());
    const auto want2 = idsOf(fixture("turn2.prompt_ids"));
    EXPECT_EQ(turn2, want2) << "stage prompt, tensor 'turn2.prompt_ids': " << firstDifference(turn2, want2);
}

TEST_P(MiniCpmVEndToEnd, FirstLogitsAndGreedyTokens)
{
    logitsAndGreedyTokens(vlm().buildPrompt(plan, {}, ref["question"].get<std::string>(), *impl().tokenizer),
                          "turn1");
}

// Through the public API with our own preprocessing: two turns of Conversation::ask stream the official
// chat()'s answers (its tokenizer.decode of the greedy ids, stripped), the second reusing the first's KV
// cache.
TEST_P(MiniCpmVEndToEnd, ConversationAnswersAsTheOfficialChat)
{
    GenerationSettings settings;
    settings.maxNewTokens = ref["max_new_tokens"].get<int>();
    settings.temperature = 0.0f;
    settings.repetitionPenalty = 1.0f;
    Conversation chat(model);
    chat.setImage(rgb);
    std::string streamed;
    AskCallbacks callbacks;
    callbacks.token = [&](const std::string &text) { streamed += text; };
    const AskResult r1 = chat.ask(ref["question"].get<std::string>(), settings, callbacks);
    EXPECT_EQ(r1.answer, ref["answers"][0].get<std::string>())
        << "stage generation (end to end), turn 1 text";
    EXPECT_EQ(streamed, r1.answer) << "the streamed pieces must join to the answer";
    EXPECT_EQ(r1.generatedTokens, static_cast<int>(ref["generated_ids"][0].size()));
    const AskResult r2 = chat.ask(ref["followup"].get<std::string>(), settings);
    EXPECT_GT(r2.reusedPromptTokens, 0) << "the follow-up should reuse the first turn's cache";
    EXPECT_EQ(r2.answer, ref["answers"][1].get<std::string>())
        << "stage generation (end to end), turn 2 text";
}

} // namespace minicpmv_e2e
