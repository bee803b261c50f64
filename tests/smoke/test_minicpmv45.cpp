// The minicpmv45 family on a make-tiny folder (config.json "version" 4.5 with Qwen3 keys,
// preprocessor_config.json, tokenizer.json + tokenizer_config.json with <think> / </think> and the
// enable_thinking template, generation_config.json, model.safetensors): load, answer with thinking off and
// on, follow-up turns, the image-token count the UI shows; and the bad folders (unknown versions, missing
// tokenizer files or pieces, a missing shard, shapes or tensors that disagree with the config), each a typed
// error naming the file, key or tensor.
#include "minicpmv_tiny.h"
#include "uhdlens/tokenizer.h"

using namespace uhdlens;
using namespace minicpmv_tiny;

namespace {

const TinyModel &tiny45()
{
    return tinyFolder(Family::MiniCpmV45);
}

GenerationSettings shortAnswers(bool thinking = false)
{
    GenerationSettings s;
    s.maxNewTokens = 10;
    s.thinking = thinking;
    return s;
}

} // namespace

TEST(MiniCpmV45Smoke, MakeTinyWritesTheHuggingFaceLayout)
{
    const TinyModel &t = tiny45();
    const json config = jsonFile(t.modelDir + "/config.json");
    EXPECT_EQ(config["version"], 4.5);
    EXPECT_EQ(config["attention_bias"], false);
    EXPECT_LT(config["num_key_value_heads"].get<int>(), config["num_attention_heads"].get<int>());
    EXPECT_GT(config["num_attention_heads"].get<int>(), 1);
    EXPECT_TRUE(config.contains("head_dim"));
    const auto tok = Tokenizer::loadBpe(t.modelDir);
    EXPECT_EQ(tok->vocabSize(), config["vocab_size"].get<int64_t>());
    for (const std::string &s : familySpecialTokens(Family::MiniCpmV45))
        EXPECT_TRUE(tok->hasPiece(s)) << s;
    // Qwen3: <think> / </think> are added but not special (decoded into the answer).
    EXPECT_FALSE(tok->isControl(tok->pieceToId("</think>")));
    EXPECT_TRUE(tok->isControl(tok->pieceToId("<|im_end|>")));
    const json tc = jsonFile(t.modelDir + "/tokenizer_config.json");
    EXPECT_NE(tc["chat_template"].get<std::string>().find("enable_thinking"), std::string::npos);
    EXPECT_EQ(jsonFile(t.modelDir + "/generation_config.json")["eos_token_id"].size(), 2u);
    const Checkpoint ck = Checkpoint::open(t.modelDir);
    for (const char *name : {"vpm.embeddings.patch_embedding.weight", "resampler.attn.in_proj_weight",
                             "llm.model.layers.1.self_attn.q_norm.weight",
                             "llm.model.layers.1.self_attn.k_norm.weight", "llm.lm_head.weight"})
        EXPECT_NO_THROW(ck.get(name)) << name;
    const auto names = ck.names();
    EXPECT_EQ(std::find(names.begin(), names.end(), "llm.model.layers.0.self_attn.q_proj.bias"), names.end())
        << "Qwen3 has no q/k/v bias";
}

TEST(MiniCpmV45Smoke, AnswersWithThinkingOffAndOnAndFollowsUp)
{
    const auto model = load(tiny45().modelDir);
    const ModelInfo &info = model->info();
    EXPECT_EQ(info.family, Family::MiniCpmV45);
    EXPECT_EQ(info.layout, TokenLayout::MiniCpmV26);
    EXPECT_TRUE(info.thinkingMode);
    EXPECT_EQ(info.tokensPerImage, 64);
    EXPECT_EQ(info.policy.scale, 448);
    Conversation chat(model);
    chat.setImage(picture());
    ASSERT_TRUE(chat.plan().grid.has_value()) << "the picture should be sliced";
    std::string streamed;
    AskCallbacks callbacks;
    callbacks.token = [&](const std::string &piece) {
        EXPECT_TRUE(validUtf8(piece)) << "a streamed piece is not whole UTF-8 characters";
        streamed += piece;
    };
    const AskResult off = chat.ask("What is in the image? 这是什么？", shortAnswers(), callbacks);
    EXPECT_GT(off.generatedTokens, 0);
    EXPECT_EQ(streamed, off.answer);
    // The UI's budget is the prompt's own image span, the same as 2.6's layout.
    EXPECT_EQ(off.imageTokens, model->imagePositions(chat.plan()));
    EXPECT_EQ(off.imageTokens, imagePositions(chat.plan(), TokenLayout::MiniCpmV26));
    const AskResult follow = chat.ask("And the colours?", shortAnswers());
    EXPECT_TRUE(follow.imageFromCache);
    EXPECT_GT(follow.reusedPromptTokens, off.imageTokens);

    // Thinking on: the generation prompt ends "<think>\n" instead of "<think>\n\n</think>\n\n", so the prompt
    // is shorter by the tokens of "\n</think>\n\n" and the first answer token is predicted from another
    // context.
    Conversation thinking(model);
    thinking.setImage(picture());
    const AskResult on = thinking.ask("What is in the image? 这是什么？", shortAnswers(true));
    EXPECT_GT(on.generatedTokens, 0);
    EXPECT_LT(on.promptTokens, off.promptTokens);
    EXPECT_EQ(on.imageTokens, off.imageTokens);
}

TEST(MiniCpmV45BadInput, ThinkingOnAModelWithoutItIsRefused)
{
    Conversation chat(load(tinyFolder(Family::MiniCpmV26).modelDir));
    chat.setImage(picture());
    try {
        chat.ask("Hi", shortAnswers(true));
        ADD_FAILURE() << "thinking was accepted by a MiniCPM-V 2.6 model";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(e.subject(), "thinking") << e.what();
        EXPECT_NE(std::string(e.what()).find("minicpmv26"), std::string::npos) << e.what();
    }
}

TEST(MiniCpmV45BadInput, UnknownVersionsNameTheSupportedOnes)
{
    QTemporaryDir tmp;
    for (const json &version : {json(4.6), json("4.0"), json(5)}) {
        const Error e = loadError(versionCopy(tmp, version, Family::MiniCpmV45));
        EXPECT_EQ(e.code(), ErrorCode::UnknownFamily) << version;
        EXPECT_EQ(e.subject(), "version") << version;
        EXPECT_NE(std::string(e.what()).find("-> minicpmv45"), std::string::npos) << e.what();
    }
    // "4.5" as a string is the same version (configs written by hand).
    EXPECT_EQ(load(versionCopy(tmp, "4.5", Family::MiniCpmV45))->info().family, Family::MiniCpmV45);
}

TEST(MiniCpmV45BadInput, TokenizerFilesOrThinkPiecesMissing)
{
    QTemporaryDir tmp;
    {
        const std::string d = brokenCopy(tmp, "no-tokenizer", Family::MiniCpmV45);
        QFile::remove(QString::fromStdString(d + "/tokenizer.json"));
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_NE(e.subject().find("tokenizer.json"), std::string::npos) << e.subject();
    }
    {
        // A Qwen2 tokenizer (MiniCPM-V 2.6's) has no </think>: not 4.5's tokenizer.
        const std::string d = brokenCopy(tmp, "no-think", Family::MiniCpmV45);
        dropAddedToken(d, "</think>");
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid) << e.what();
        EXPECT_EQ(e.subject(), "</think>") << e.what();
    }
}

TEST(MiniCpmV45BadInput, MissingShardTensorsAndShapesNameTheFileOrTensor)
{
    QTemporaryDir tmp;
    {
        const Error e = loadError(missingShardCopy(tmp, "shards", Family::MiniCpmV45));
        EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors"), std::string::npos)
            << e.what();
    }
    // Qwen3 keys that disagree with the tensors: head_dim (q/k/v width and the q/k norms), kv heads.
    const std::vector<std::pair<json, std::string>> cases = {
        {{{"head_dim", 32}}, "llm.model.layers.0.self_attn.q_proj"},
        {{{"num_key_value_heads", 4}}, "llm.model.layers.0.self_attn.k_proj"},
        {{{"attention_bias", true}}, "llm.model.layers.0.self_attn.q_proj.bias"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const std::string d = brokenCopy(tmp, "shape-" + std::to_string(i), Family::MiniCpmV45);
        json c = jsonFile(d + "/config.json");
        c.update(cases[i].first);
        putJson(d + "/config.json", c);
        const Error e = loadError(d);
        EXPECT_TRUE(e.code() == ErrorCode::TensorShapeMismatch || e.code() == ErrorCode::TensorMissing)
            << e.what();
        EXPECT_NE(e.subject().find(cases[i].second), std::string::npos) << e.subject() << " / " << e.what();
    }
    {
        // Qwen3Config's head_dim is required here (transformers would default it to 128).
        const std::string d = brokenCopy(tmp, "no-head-dim", Family::MiniCpmV45);
        json c = jsonFile(d + "/config.json");
        c.erase("head_dim");
        putJson(d + "/config.json", c);
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
        EXPECT_EQ(e.subject(), "head_dim");
    }
}
