// The minicpmv45 family end to end against the OFFICIAL MiniCPM-V 4.5 chat path (MiniCPMV.chat with its
// processor, tokenizer, 3D resampler and Qwen3ForCausalLM.generate; openbmb/MiniCPM-V-4_5's files as
// committed in GitHub PcOffeeP/FineTune_MLLM @ 67778f2, Model/MiniCPM-VL-4.5/).
// tests/data/reference/minicpmv45-e2e/ is a complete Hugging Face model folder with tiny random weights under
// the real tensor names (q_norm / k_norm, no attention bias), the real chat template, plus what the official
// code computed on it (tests/tools/reference/minicpmv45_e2e_fixture.py; manifest.json says how).
//
// The shared suite (parity/minicpmv_e2e_suite.h) runs every stage with thinking off (chat()'s default
// enable_thinking=False: the prompt ends "<think>\n\n</think>\n\n"); the tests here add the thinking-on
// prompt
// ("<think>\n"), its first logits and greedy tokens, Conversation::ask with GenerationSettings::thinking, and
// check that the official image path gave every slice temporal id -1 (what minicpmv45.cpp's resampler relies
// on).
#include "minicpmv_e2e_suite.h"

namespace minicpmv_e2e {

INSTANTIATE_TEST_SUITE_P(
    ReferenceMiniCpmV45, MiniCpmVEndToEnd,
    ::testing::Values(Case{"minicpmv45-e2e", Family::MiniCpmV45, "f32", "minicpmv45_e2e_fixture.py"},
                      Case{"minicpmv45-e2e", Family::MiniCpmV45, "mixed", "minicpmv45_e2e_fixture.py"}),
    [](const ::testing::TestParamInfo<Case> &info) { return info.param.dtype; });

class MiniCpmV45Thinking : public MiniCpmVEndToEnd
{
protected:
    Prompt thinkingPrompt() const
    {
        PromptOptions options;
        options.thinking = true;
        return vlm().buildPromptWith(plan, {}, ref["question"].get<std::string>(), *impl().tokenizer,
                                     options);
    }
};

TEST_P(MiniCpmV45Thinking, ModelReportsAThinkingMode)
{
    EXPECT_TRUE(model->info().thinkingMode);
    EXPECT_TRUE(vlm().hasThinkingMode());
}

// MiniCPMVImageProcessor.preprocess without temporal_ids gives each slice [-1]; Resampler.forward then adds a
// zero temporal embedding and batch_attn_forward keeps one slice per row: 2.6's per-slice attention. If the
// official code ever grouped an image's slices, the resampler stage of the suite would fail too; this names
// the cause.
TEST_P(MiniCpmV45Thinking, OfficialImagePathGivesEverySliceTemporalIdMinusOne)
{
    const auto &t = ref["temporal_ids"];
    ASSERT_TRUE(t.is_array() && t.size() == 1) << "reference.json temporal_ids: one batch entry expected";
    ASSERT_EQ(static_cast<int>(t[0].size()), images()) << "temporal_ids: one group per encoded image";
    for (const auto &group : t[0])
        EXPECT_EQ(group, nlohmann::json::array({-1})) << "temporal_ids group " << group.dump();
}

TEST_P(MiniCpmV45Thinking, PromptIdsWithThinkingOnMatchTheOfficialTemplate)
{
    const Tokenizer &tok = *impl().tokenizer;
    const auto ours = flatIds(thinkingPrompt(), vlm().tokensPerImage(), tok.unkId());
    const auto want = idsOf(fixture("think.prompt_ids"));
    EXPECT_EQ(ours, want) << "stage prompt, tensor 'think.prompt_ids': " << firstDifference(ours, want);
    // The two forms differ only in the generation prompt's tail: "<think>\n" vs "<think>\n\n</think>\n\n".
    const auto off = idsOf(fixture("turn1.prompt_ids"));
    EXPECT_LT(want.size(), off.size()) << "fixture: the thinking-on prompt should be the shorter one";
}

TEST_P(MiniCpmV45Thinking, FirstLogitsAndGreedyTokensWithThinkingOn)
{
    logitsAndGreedyTokens(thinkingPrompt(), "think");
}

// chat(enable_thinking=True) returns its prefill "<think>\n" + the decoded tokens; UHD Lens streams only what
// the model generates, so the answer is the official text without that prefill.
TEST_P(MiniCpmV45Thinking, ConversationWithThinkingAnswersAsTheOfficialChat)
{
    GenerationSettings settings;
    settings.maxNewTokens = ref["max_new_tokens"].get<int>();
    settings.temperature = 0.0f;
    settings.repetitionPenalty = 1.0f;
    settings.thinking = true;
    Conversation chat(model);
    chat.setImage(rgb);
    const AskResult r = chat.ask(ref["question"].get<std::string>(), settings);
    const std::string official = ref["answer_thinking"].get<std::string>();
    const std::string prefill = "<think>\n";
    ASSERT_EQ(official.rfind(prefill, 0), 0u) << "fixture: the official answer starts with the prefill";
    EXPECT_EQ(r.answer, official.substr(prefill.size())) << "stage generation (end to end), thinking on";
}

INSTANTIATE_TEST_SUITE_P(ReferenceMiniCpmV45, MiniCpmV45Thinking,
                         ::testing::Values(Case{"minicpmv45-e2e", Family::MiniCpmV45, "f32",
                                                "minicpmv45_e2e_fixture.py"}),
                         [](const ::testing::TestParamInfo<Case> &info) { return info.param.dtype; });

} // namespace minicpmv_e2e
