// Generation pieces against naive references: logits processors, seeded sampling, the UTF-8 streamer, SentencePiece
// piece bytes, stop strings, the token loop (streaming, stop tokens, cancel), settings validation; analytic FLOPs.
#include "generation.h"
#include "uhdlens/flops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

using namespace uhdlens;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

torch::Tensor vec(std::vector<float> v) { return torch::tensor(v, torch::kFloat); }

std::vector<float> toVec(const torch::Tensor &t)
{
    auto c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

} // namespace

TEST(Sampler, RepetitionPenaltyMatchesNaiveRule)
{
    torch::manual_seed(1);
    const torch::Tensor logits = torch::randn({50});
    const std::vector<int64_t> prev = {3, 7, 7, 49, 0};
    const auto out = toVec(applyRepetitionPenalty(logits, prev, 1.3f));
    const auto in = toVec(logits);
    for (int i = 0; i < 50; ++i) {
        const bool seen = i == 3 || i == 7 || i == 49 || i == 0;
        const float expect = !seen ? in[i] : (in[i] < 0 ? in[i] * 1.3f : in[i] / 1.3f);
        EXPECT_FLOAT_EQ(out[i], expect) << i; // 7 appears twice but is penalised once
    }
    EXPECT_TRUE(torch::equal(applyRepetitionPenalty(logits, prev, 1.0f), logits));
}

TEST(Sampler, TopKKeepsKLargestAndTies)
{
    const auto out = toVec(applyTopK(vec({1, 5, 3, 5, 2, 4}), 3));
    // 5, 5, 4 kept; everything below the 3rd largest (4) masked.
    EXPECT_EQ(out, (std::vector<float>{-kInf, 5, -kInf, 5, -kInf, 4}));
    const auto ties = toVec(applyTopK(vec({2, 2, 2, 1}), 1));
    EXPECT_EQ(ties, (std::vector<float>{2, 2, 2, -kInf})); // HF keeps every value equal to the k-th
    EXPECT_EQ(toVec(applyTopK(vec({1, 2}), 0)), (std::vector<float>{1, 2}));
}

TEST(Sampler, TopPMatchesNaiveNucleus)
{
    torch::manual_seed(7);
    for (float p : {0.05f, 0.3f, 0.5f, 0.9f, 0.999f}) {
        const torch::Tensor logits = torch::randn({40}) * 2;
        const auto out = toVec(applyTopP(logits, p));
        // Naive: sort by probability, keep tokens while the mass before them is < p.
        const auto probs = toVec(torch::softmax(logits, 0));
        std::vector<int> order(40);
        for (int i = 0; i < 40; ++i)
            order[i] = i;
        std::sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
        double mass = 0;
        std::vector<bool> keep(40, false);
        for (int i : order) {
            keep[i] = mass < p || i == order[0];
            mass += probs[i];
        }
        const auto in = toVec(logits);
        for (int i = 0; i < 40; ++i)
            EXPECT_EQ(out[i], keep[i] ? in[i] : -kInf) << "p=" << p << " i=" << i;
    }
}

TEST(Sampler, GreedyIsArgmaxAndSeedsAreDeterministic)
{
    GenerationSettings greedy;
    Sampler g(greedy);
    EXPECT_EQ(g.next(vec({0.1f, 3.0f, 2.9f}), {}), 1);
    // With a penalty the repeated best token loses to the runner-up.
    greedy.repetitionPenalty = 2.0f;
    Sampler gp(greedy);
    EXPECT_EQ(gp.next(vec({0.1f, 3.0f, 2.9f}), {1}), 2);

    GenerationSettings s;
    s.temperature = 1.0f;
    s.seed = 1234;
    torch::manual_seed(3);
    const torch::Tensor logits = torch::randn({100});
    auto draw = [&](std::uint64_t seed) {
        GenerationSettings t = s;
        t.seed = seed;
        Sampler sampler(t);
        std::vector<int64_t> ids;
        for (int i = 0; i < 64; ++i)
            ids.push_back(sampler.next(logits, {}));
        return ids;
    };
    EXPECT_EQ(draw(1234), draw(1234));
    EXPECT_NE(draw(1234), draw(99));
    // torch's global RNG does not influence the draw.
    torch::manual_seed(999);
    EXPECT_EQ(draw(1234), draw(1234));
}

TEST(Sampler, DrawsFollowTheDistribution)
{
    GenerationSettings s;
    s.temperature = 1.0f;
    s.seed = 5;
    Sampler sampler(s);
    const std::vector<float> p = {0.5f, 0.3f, 0.15f, 0.05f};
    torch::Tensor logits = torch::log(vec(p));
    std::map<int64_t, int> counts;
    const int n = 20000;
    for (int i = 0; i < n; ++i)
        ++counts[sampler.next(logits, {})];
    for (int i = 0; i < 4; ++i) {
        const double expected = p[i] * n;
        EXPECT_NEAR(counts[i], expected, 5 * std::sqrt(expected)) << i; // 5 sigma
    }
    // top-k 1 is greedy; temperature scales (very low temperature is nearly greedy).
    s.topK = 1;
    Sampler k1(s);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(k1.next(logits, {}), 0);
}

TEST(Utf8Streamer, SplitCharactersAreHeldBackUntilComplete)
{
    const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"; // a é € 😀 z
    Utf8Streamer s;
    std::string all;
    std::vector<std::string> chunks;
    for (char c : text) {
        const std::string out = s.push(std::string(1, c));
        if (!out.empty())
            chunks.push_back(out);
        all += out;
    }
    all += s.flush();
    EXPECT_EQ(all, text);
    EXPECT_EQ(chunks, (std::vector<std::string>{"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "z"}));
}

TEST(Utf8Streamer, InvalidBytesBecomeReplacementCharacters)
{
    Utf8Streamer s;
    EXPECT_EQ(s.push("\xFF" "a"), "\xEF\xBF\xBD" "a");
    EXPECT_EQ(s.push("\xE2\x82"), "");
    EXPECT_EQ(s.push("b"), "\xEF\xBF\xBD" "b"); // broken sequence, then decoding resumes
    EXPECT_EQ(s.push("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // UTF-16 surrogate is not UTF-8
    EXPECT_EQ(s.push("\xF0\x9F"), "");
    EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");
    EXPECT_EQ(s.flush(), "");
}

TEST(Utf8Streamer, SentencePiecePieces)
{
    EXPECT_EQ(pieceToBytes("\xE2\x96\x81hello"), " hello");
    EXPECT_EQ(pieceToBytes("a\xE2\x96\x81\xE2\x96\x81" "b"), "a  b");
    EXPECT_EQ(pieceToBytes("<0x0A>"), "\n");
    EXPECT_EQ(pieceToBytes("<0xE2>"), "\xE2");
    EXPECT_EQ(pieceToBytes("<0xzz>"), "<0xzz>");
    EXPECT_EQ(pieceToBytes("<image>"), "<image>");
    // Byte-fallback pieces of "€" streamed one by one come out as one character.
    Utf8Streamer s;
    std::string out;
    for (const char *p : {"<0xE2>", "<0x82>", "<0xAC>"})
        out += s.push(pieceToBytes(p));
    EXPECT_EQ(out, "\xE2\x82\xAC");
}

TEST(StopStrings, HeldBackAndNeverStreamed)
{
    StopStringMatcher m({"</s>", "<|im_end|>"});
    auto r = m.push("Hello <");
    EXPECT_EQ(r.emit, "Hello "); // "<" might start a stop string
    EXPECT_FALSE(r.stopped);
    r = m.push("b>");
    EXPECT_EQ(r.emit, "<b>"); // it did not
    r = m.push(" done</");
    EXPECT_EQ(r.emit, " done");
    r = m.push("s> trailing");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.emit, "");
    StopStringMatcher m2({"END"});
    r = m2.push("abcEN");
    EXPECT_EQ(r.emit, "abc");
    EXPECT_EQ(m2.flush(), "EN"); // generation ended for another reason: the held text is real text
    StopStringMatcher m3({"x"});
    r = m3.push("\xC3\xA9x");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.emit, "\xC3\xA9");
}

namespace {

// A fake language model that emits a scripted token sequence: the logits of step i peak at script[i].
struct Scripted
{
    std::vector<int64_t> script;
    int vocab = 8;
    int pos = 0;
    torch::Tensor logits()
    {
        torch::Tensor l = torch::zeros({vocab});
        l[script[std::min<size_t>(pos, script.size() - 1)]] = 10;
        return l;
    }
};

const std::vector<std::string> kPieces = {"<unk>", "<s>", "</s>", "\xE2\x96\x81Hi", "<0xE2>", "<0x82>", "<0xAC>", "STOP"};

} // namespace

TEST(GenerationLoop, StreamsWholeCharactersAndStopsOnEos)
{
    Scripted lm{{3, 4, 5, 6, 3, 2, 3}};
    PieceDecoder dec([](int64_t id) { return kPieces[id]; }, {1, 2});
    GenerationIO io;
    io.decoder = &dec;
    io.stopIds = {2};
    io.maxTokens = 50;
    io.step = [&](int64_t) {
        ++lm.pos;
        return lm.logits();
    };
    std::vector<std::string> chunks;
    std::string streamed;
    GenerationSettings s;
    auto out = generate(lm.logits(), s, io, [&](const std::string &t) {
        chunks.push_back(t);
        streamed += t;
    }, nullptr);
    EXPECT_EQ(out.stopReason, StopReason::Eos);
    EXPECT_EQ(out.text, "Hi\xE2\x82\xAC Hi"); // leading "▁" of the answer dropped, € assembled from 3 bytes
    EXPECT_EQ(streamed, out.text);
    EXPECT_EQ(chunks, (std::vector<std::string>{"Hi", "\xE2\x82\xAC", " Hi"}));
    EXPECT_EQ(out.ids, (std::vector<int64_t>{3, 4, 5, 6, 3, 2}));
    EXPECT_EQ(out.fedTokens, 5); // the stop token is not fed
}

TEST(GenerationLoop, MaxTokensStopStringsAndCancel)
{
    PieceDecoder dec([](int64_t id) { return kPieces[id]; }, {1, 2});
    GenerationSettings s;
    {
        Scripted lm{{3}};
        GenerationIO io;
        io.decoder = &dec;
        io.maxTokens = 4;
        int steps = 0;
        io.step = [&](int64_t) { ++steps; return lm.logits(); };
        auto out = generate(lm.logits(), s, io, {}, nullptr);
        EXPECT_EQ(out.stopReason, StopReason::MaxTokens);
        EXPECT_EQ(out.ids.size(), 4u);
        EXPECT_EQ(steps, 3); // the last token needs no forward pass
        EXPECT_EQ(out.text, "Hi Hi Hi Hi");
    }
    {
        Scripted lm{{3, 3, 7, 3}};
        GenerationIO io;
        io.decoder = &dec;
        io.maxTokens = 10;
        io.stopStrings = {"STOP"};
        io.step = [&](int64_t) { ++lm.pos; return lm.logits(); };
        std::string streamed;
        auto out = generate(lm.logits(), s, io, [&](const std::string &t) { streamed += t; }, nullptr);
        EXPECT_EQ(out.stopReason, StopReason::StopString);
        EXPECT_EQ(out.text, "Hi Hi");
        EXPECT_EQ(streamed, "Hi Hi");
    }
    {
        // Cancel set inside the token callback: no further token callbacks (at most the flush of held text).
        Scripted lm{{3}};
        GenerationIO io;
        io.decoder = &dec;
        io.maxTokens = 100;
        int steps = 0;
        io.step = [&](int64_t) { ++steps; return lm.logits(); };
        std::atomic<bool> cancel{false};
        int calls = 0, callsAfterCancel = 0;
        auto out = generate(lm.logits(), s, io, [&](const std::string &) {
            if (cancel)
                ++callsAfterCancel;
            if (++calls == 2)
                cancel = true;
        }, &cancel);
        EXPECT_EQ(out.stopReason, StopReason::Cancelled);
        EXPECT_LE(callsAfterCancel, 1);
        EXPECT_EQ(out.ids.size(), 2u);
        EXPECT_EQ(steps, 1);
    }
}

TEST(GenerationSettings, ValidateRejectsBadValues)
{
    EXPECT_EQ(GenerationSettings{}.validate(), "");
    auto bad = [](auto mutate) {
        GenerationSettings s;
        mutate(s);
        return s.validate();
    };
    EXPECT_NE(bad([](GenerationSettings &s) { s.maxNewTokens = 0; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.maxNewTokens = -5; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.temperature = -0.1f; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.temperature = 6.0f; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.temperature = std::nanf(""); }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.topK = -1; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.topP = 0.0f; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.topP = 1.5f; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.repetitionPenalty = 0.0f; }), "");
    EXPECT_NE(bad([](GenerationSettings &s) { s.stopStrings = {""}; }), "");
    EXPECT_EQ(bad([](GenerationSettings &s) { s.temperature = 0.7f; s.topK = 40; s.topP = 0.9f; }), "");
}

TEST(Flops, PaperRatioAndFormulas)
{
    // The paper: LLaVA-UHD at 672x1088 needs 94% of LLaVA-1.5's computation at 336x336.
    const double r = paperComputeRatio({672, 1088});
    EXPECT_GT(r, 0.88);
    EXPECT_LT(r, 1.0);
    EXPECT_EQ(paperComputeRatio({0, 10}), 0.0);
    // The ViT count by hand for a 2x2-patch image with a class token, 1 layer, d=2, mlp=4, patch 1.
    VisionTowerShape v{1, 2, 4, 1, true};
    const double n = 5, d = 2;
    EXPECT_DOUBLE_EQ(visionTowerFlops(v, 4), 2 * 4 * 3 * d + 2 * n * d * 3 * d + 4 * n * n * d + 2 * n * d * d + 4 * n * d * 4);
    // Prefill: twice the tokens, a bit more than twice the work (causal attention is quadratic).
    const LanguageModelShape lm;
    EXPECT_GT(languageModelPrefillFlops(lm, 200), 2 * languageModelPrefillFlops(lm, 100) - 2.0 * lm.width * lm.vocab);
    // Bigger images cost more.
    EXPECT_LT(paperComputeRatio({336, 336}), paperComputeRatio({1344, 1344}));
}
