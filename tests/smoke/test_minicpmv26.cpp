// The minicpmv26 family on a make-tiny folder (config.json "version" 2.6, preprocessor_config.json,
// tokenizer.json + tokenizer_config.json, generation_config.json, model.safetensors): load, answer, stream
// whole UTF-8 characters through the byte-level BPE, follow-up turns, the image-token count the UI shows; and
// every bad folder a user may hold (missing or inconsistent tokenizer files, other MiniCPM-V versions, a
// missing shard, shapes that disagree with the config), each a typed error naming the file, key or tensor.
#include "bpe_tokenizer.h"
#include "minicpmv_tiny.h"
#include "safetensors.h"
#include "uhdlens/devtools.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"
#include "uhdlens/tokenizer.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QTemporaryDir>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace uhdlens;
using namespace minicpmv_tiny;

TEST(MiniCpmV26Smoke, MakeTinyWritesTheHuggingFaceLayout)
{
    const TinyModel &t = tinyFolder();
    for (const char *f :
         {"config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
          "generation_config.json", "model.safetensors", "uhdlens.json"})
        EXPECT_TRUE(QFile::exists(QDir(QString::fromStdString(t.modelDir)).filePath(QString::fromLatin1(f))))
            << f;
    const json config = jsonFile(t.modelDir + "/config.json");
    EXPECT_EQ(config["model_type"], "minicpmv");
    EXPECT_EQ(config["version"], 2.6);
    EXPECT_LT(config["num_key_value_heads"].get<int>(), config["num_attention_heads"].get<int>());
    // The tokenizer fills the model's vocabulary and has every special token of the family.
    const auto tok = Tokenizer::loadBpe(t.modelDir);
    EXPECT_EQ(tok->vocabSize(), config["vocab_size"].get<int64_t>());
    for (const std::string &s : familySpecialTokens(Family::MiniCpmV26))
        EXPECT_TRUE(tok->hasPiece(s)) << s;
    const Checkpoint ck = Checkpoint::open(t.modelDir);
    for (const char *name :
         {"vpm.embeddings.position_embedding.weight", "resampler.query", "resampler.kv_proj.weight",
          "llm.model.layers.1.self_attn.k_proj.bias", "llm.model.norm.weight", "llm.lm_head.weight"})
        EXPECT_NO_THROW(ck.get(name)) << name;
}

TEST(MiniCpmV26Smoke, AnswersStreamsAndFollowsUp)
{
    const auto model = load(tinyFolder().modelDir);
    const ModelInfo &info = model->info();
    EXPECT_EQ(info.family, Family::MiniCpmV26);
    EXPECT_EQ(info.tokensPerImage, 64);
    EXPECT_EQ(info.policy.scale, 448);
    EXPECT_EQ(info.policy.maxSlices, 9);
    Conversation chat(model);
    chat.setImage(picture());
    ASSERT_TRUE(chat.plan().grid.has_value()) << "the picture should be sliced";
    GenerationSettings settings;
    settings.maxNewTokens = 12;
    std::string streamed;
    AskCallbacks callbacks;
    callbacks.token = [&](const std::string &piece) {
        EXPECT_TRUE(validUtf8(piece)) << "a streamed piece is not whole UTF-8 characters";
        streamed += piece;
    };
    const AskResult r = chat.ask("What is in the image? 这是什么？", settings, callbacks);
    EXPECT_GT(r.generatedTokens, 0);
    EXPECT_EQ(streamed, r.answer);
    // The UI's budget: the image span the prompt holds, counted by the model and, before loading, by the
    // layout.
    EXPECT_EQ(r.imageTokens, model->imagePositions(chat.plan()));
    EXPECT_EQ(r.imageTokens, imagePositions(chat.plan(), TokenLayout::MiniCpmV26));
    EXPECT_EQ(r.imageTokens, (1 + chat.plan().sliceCount()) * (64 + 2) + 3 + (chat.plan().grid->rows - 1));
    // Same question again: same answer (greedy), the image from the cache.
    Conversation again(model);
    again.setImage(picture());
    EXPECT_EQ(again.ask("What is in the image? 这是什么？", settings).answer, r.answer);
    const AskResult follow = chat.ask("And the colours?", settings);
    EXPECT_TRUE(follow.imageFromCache);
    EXPECT_GT(follow.reusedPromptTokens, r.imageTokens);
    // mixed (bf16 matrices) loads and answers too.
    Conversation mixed(load(tinyFolder().modelDir, Dtype::Mixed));
    mixed.setImage(picture());
    EXPECT_GT(mixed.ask("Hi", settings).generatedTokens, 0);
}

TEST(MiniCpmV26BadInput, TokenizerFilesMissingOrInconsistent)
{
    QTemporaryDir tmp;
    {
        const std::string d = brokenCopy(tmp, "no-tokenizer");
        QFile::remove(QString::fromStdString(d + "/tokenizer.json"));
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_NE(e.subject().find("tokenizer.json"), std::string::npos) << e.subject();
        EXPECT_NE(std::string(e.what()).find("tokenizer.json not found"), std::string::npos) << e.what();
    }
    {
        // <image_id> dropped from both tokenizer files: another model's tokenizer.
        const std::string d = brokenCopy(tmp, "no-image-id");
        dropAddedToken(d, "<image_id>");
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_EQ(e.subject(), "<image_id>") << e.what();
    }
    {
        // tokenizer_config.json gives <image> another id than tokenizer.json.
        const std::string d = brokenCopy(tmp, "id-mismatch");
        json tc = jsonFile(d + "/tokenizer_config.json");
        std::string imageKey;
        for (auto it = tc["added_tokens_decoder"].begin(); it != tc["added_tokens_decoder"].end(); ++it)
            if (it.value()["content"] == "<image>")
                imageKey = it.key();
        ASSERT_FALSE(imageKey.empty());
        json entry = tc["added_tokens_decoder"][imageKey];
        tc["added_tokens_decoder"].erase(imageKey);
        tc["added_tokens_decoder"]["3"] = entry;
        putJson(d + "/tokenizer_config.json", tc);
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_EQ(e.subject(), "<image>") << e.what();
        EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
    }
    {
        // The eos token named by tokenizer_config.json is not a token.
        const std::string d = brokenCopy(tmp, "bad-eos");
        json tc = jsonFile(d + "/tokenizer_config.json");
        tc["eos_token"] = "<|eot|>";
        putJson(d + "/tokenizer_config.json", tc);
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_NE(std::string(e.what()).find("<|eot|>"), std::string::npos) << e.what();
    }
    {
        // Not JSON.
        const std::string d = brokenCopy(tmp, "garbled");
        std::ofstream(d + "/tokenizer.json", std::ios::trunc) << "{\"model\": {";
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
    }
    {
        // More tokens than the model's embedding rows.
        const std::string d = brokenCopy(tmp, "small-vocab");
        json c = jsonFile(d + "/config.json");
        c["vocab_size"] = c["vocab_size"].get<int>() - 8;
        putJson(d + "/config.json", c);
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_NE(std::string(e.what()).find("vocab_size"), std::string::npos) << e.what();
    }
}

TEST(MiniCpmV26BadInput, OtherMiniCpmVVersionsAreNamedNotGuessed)
{
    QTemporaryDir tmp;
    for (const json &version : {json(2.5), json("2.5"), json(3.0), json(4.0)}) {
        const Error e = loadError(versionCopy(tmp, version));
        EXPECT_EQ(e.code(), ErrorCode::UnknownFamily) << version;
        EXPECT_EQ(e.subject(), "version") << version;
        std::string needle = version.is_string() ? version.get<std::string>() : version.dump();
        needle.append("' is not supported");
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("-> minicpmv26"), std::string::npos) << e.what();
    }
}

TEST(MiniCpmV26BadInput, MissingShardAndShapeMismatchesNameTheFileOrTensor)
{
    QTemporaryDir tmp;
    {
        // A sharded folder whose second shard is missing.
        const std::string d = missingShardCopy(tmp, "shards");
        const Error e = loadError(d);
        EXPECT_TRUE(e.code() == ErrorCode::CheckpointInvalid || e.code() == ErrorCode::FileNotFound)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors"), std::string::npos)
            << e.what();
    }
    // Config sizes that disagree with the tensors: the loader names the first tensor of the wrong shape.
    const std::vector<std::pair<std::function<void(json &)>, std::string>> cases = {
        {[](json &c) { c["num_key_value_heads"] = 4; }, "llm.model.layers.0.self_attn.k_proj"},
        {[](json &c) { c["intermediate_size"] = 512; }, "llm.model.layers.0.mlp"},
        {[](json &c) { c["vision_config"]["intermediate_size"] = 96; }, "vpm.encoder.layers.0.mlp.fc1"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto &[edit, tensor] = cases[i];
        const std::string d = brokenCopy(tmp, "shape-" + std::to_string(i));
        json c = jsonFile(d + "/config.json");
        edit(c);
        putJson(d + "/config.json", c);
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::TensorShapeMismatch) << e.what();
        EXPECT_NE(e.subject().find(tensor), std::string::npos) << e.subject() << " / " << e.what();
    }
    {
        // Config keys the family needs, with their names in the error.
        const std::string d = brokenCopy(tmp, "no-rope");
        json c = jsonFile(d + "/config.json");
        c.erase("rope_theta");
        putJson(d + "/config.json", c);
        const Error e = loadError(d);
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
        EXPECT_EQ(e.subject(), "rope_theta");
    }
}
