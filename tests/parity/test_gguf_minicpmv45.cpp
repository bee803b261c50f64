// MiniCPM-V 4.5 from a GGUF pair: the minicpmv45-e2e checkpoint converted by llama.cpp's own converters
// (convert_hf_to_gguf.py, arch qwen3 with its q/k norms, F16; minicpmv-convert-image-encoder-to-gguf.py
// --minicpmv_version 6), fixture tests/data/reference/minicpmv45-gguf
// (tools/reference/minicpmv26_gguf_fixture.py
// --family minicpmv45). Loaded through Model::load as a user opens it, the pair must be the minicpmv45 family
// with the tokenizer read from the GGUF metadata giving the official prompt ids (thinking off and on), and it
// must answer as the official MiniCPMV.chat did on the Hugging Face folder
// (tests/data/reference/minicpmv45-e2e): the F16 file holds the bf16 weights exactly.
#include "engine_impl.h"
#include "model_family.h"
#include "safetensors.h"
#include "uhdlens/engine.h"
#include "uhdlens/image_io.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

using namespace uhdlens;

namespace {

const std::string kPair = UHDLENS_TEST_DATA "/reference/minicpmv45-gguf";
const std::string kE2e = UHDLENS_TEST_DATA "/reference/minicpmv45-e2e";

nlohmann::json reference()
{
    std::ifstream in(kE2e + "/reference.json");
    return nlohmann::json::parse(in);
}

std::shared_ptr<const Model> loadPair()
{
    LoadOptions o;
    o.modelDir = kPair + "/llm-f16.gguf";
    o.mmproj = kPair + "/mmproj-f16.gguf";
    o.dtype = Dtype::F32;
    o.device = {Device::Cpu};
    return Model::load(o);
}

// The prompt as the official processor spells it: each image slot is 64 x <unk>.
std::vector<int64_t> officialSpelling(const Prompt &p, int tokensPerImage, int64_t unk)
{
    std::vector<int64_t> ids;
    for (const auto &s : p.segments)
        if (s.imageIndex >= 0)
            ids.insert(ids.end(), static_cast<size_t>(tokensPerImage), unk);
        else
            ids.insert(ids.end(), s.ids.begin(), s.ids.end());
    return ids;
}

std::vector<int64_t> fixtureIds(const std::string &name)
{
    const auto t = Checkpoint::open(kE2e + "/reference.safetensors").get(name).to(torch::kLong).contiguous();
    return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}

} // namespace

TEST(GgufMiniCpmV45, LoadsAsTheFamilyWithTheOfficialPromptIds)
{
    const auto model = loadPair();
    EXPECT_EQ(model->info().family, Family::MiniCpmV45);
    EXPECT_TRUE(model->info().thinkingMode);
    const Model::Impl &mi = model->impl();
    const nlohmann::json ref = reference();
    const QImage rgb = loadImage(QString::fromStdString(kE2e + "/image.png"));
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const std::string q = ref["question"].get<std::string>();
    const int tpi = mi.vlm->tokensPerImage();
    PromptOptions thinking;
    thinking.thinking = true;
    EXPECT_EQ(officialSpelling(mi.vlm->buildPrompt(plan, {}, q, *mi.tokenizer), tpi, mi.tokenizer->unkId()),
              fixtureIds("turn1.prompt_ids"))
        << "stage prompt (GGUF tokenizer), tensor 'turn1.prompt_ids'";
    EXPECT_EQ(officialSpelling(mi.vlm->buildPromptWith(plan, {}, q, *mi.tokenizer, thinking), tpi,
                               mi.tokenizer->unkId()),
              fixtureIds("think.prompt_ids"))
        << "stage prompt (GGUF tokenizer), tensor 'think.prompt_ids'";
}

TEST(GgufMiniCpmV45, AnswersAsTheOfficialChatWithThinkingOffAndOn)
{
    const auto model = loadPair();
    const nlohmann::json ref = reference();
    GenerationSettings settings;
    settings.maxNewTokens = ref["max_new_tokens"].get<int>();
    settings.temperature = 0.0f;
    for (const bool thinking : {false, true}) {
        settings.thinking = thinking;
        Conversation chat(model);
        chat.setImage(loadImage(QString::fromStdString(kE2e + "/image.png")));
        const AskResult r = chat.ask(ref["question"].get<std::string>(), settings);
        // chat(enable_thinking=True) puts its "<think>\n" prefill in front of the decoded text.
        const std::string official = thinking ? ref["answer_thinking"].get<std::string>().substr(8)
                                              : ref["answers"][0].get<std::string>();
        EXPECT_EQ(r.answer, official) << "stage generation (GGUF pair), thinking " << thinking;
    }
}
