// Byte-level BPE tokenizer: bad tokenizer files and bad calls, each a typed error naming the file and the
// entry. Every broken file is the fixture tests/data/tokenizer-bpe/tokenizer.json (or its legacy/ layout)
// with one thing changed, so each test proves that exactly that change is caught.
#include "bpe_tokenizer.h"
#include "tokenizer.h"

#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace uhdlens;
using nlohmann::json;

namespace {

const std::string kDir = std::string(UHDLENS_TEST_DATA) + "/tokenizer-bpe";

class BpeBadInput : public ::testing::Test
{
protected:
    void SetUp() override
    {
        m_dir = fs::temp_directory_path() / ("uhdlens-bpe-bad-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    static json original() { return json::parse(std::ifstream(kDir + "/tokenizer.json")); }
    std::string write(const std::string &name, const std::string &text)
    {
        std::ofstream(m_dir / name, std::ios::binary) << text;
        return (m_dir / name).string();
    }
    // Writes the fixture with `edit` applied and expects loading it to fail with `code`, the message
    // containing every one of `words`.
    void expectRefused(const std::function<void(json &)> &edit, ErrorCode code,
                       const std::vector<std::string> &words)
    {
        json doc = original();
        edit(doc);
        const std::string file = write("tokenizer.json", doc.dump());
        expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, code, words);
    }
    static void expectError(const std::function<void()> &fn, ErrorCode code,
                            const std::vector<std::string> &words)
    {
        try {
            fn();
            ADD_FAILURE() << "no error; expected " << errorCodeName(code);
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), code) << e.what();
            for (const std::string &w : words)
                EXPECT_NE(std::string(e.what()).find(w), std::string::npos)
                    << "message lacks '" << w << "': " << e.what();
        }
    }
    void copyLegacy()
    {
        for (const char *f : {"vocab.json", "merges.txt", "added_tokens.json", "tokenizer_config.json"})
            fs::copy_file(kDir + "/legacy/" + f, m_dir / f, fs::copy_options::overwrite_existing);
    }

    fs::path m_dir;
};

} // namespace

TEST_F(BpeBadInput, MissingFilesAreFileNotFound)
{
    expectError([&] { Tokenizer::loadBpe((m_dir / "nope").string()); }, ErrorCode::FileNotFound, {"nope"});
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::FileNotFound,
                {"tokenizer.json", "merges.txt"});
    copyLegacy();
    fs::remove(m_dir / "merges.txt");
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::FileNotFound, {"merges.txt"});
}

TEST_F(BpeBadInput, NotJsonNamesTheFile)
{
    write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::TokenizerInvalid, {"tokenizer.json"});
    write("tokenizer.json", "[1, 2]");
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::TokenizerInvalid, {"tokenizer.json"});
}

TEST_F(BpeBadInput, UnknownModelType)
{
    expectRefused([](json &d) { d["model"]["type"] = "WordPiece"; }, ErrorCode::TokenizerInvalid,
                  {"tokenizer.json", "WordPiece"});
    expectRefused([](json &d) { d["model"]["byte_fallback"] = true; }, ErrorCode::TokenizerInvalid,
                  {"byte_fallback"});
    expectRefused([](json &d) { d.erase("model"); }, ErrorCode::TokenizerInvalid, {"model"});
}

TEST_F(BpeBadInput, MergeNamingAnUnknownToken)
{
    expectRefused(
        [](json &d) {
            d["model"]["merges"][5] = json::array({"Zq", "x"});
        },
        ErrorCode::TokenizerInvalid, {"tokenizer.json", "merge 5", "'Zq'"});
    expectRefused([](json &d) { d["model"]["merges"][3] = "noSpace"; }, ErrorCode::TokenizerInvalid,
                  {"merge 3", "noSpace"});
    expectRefused([](json &d) { d["model"]["merges"][2] = 42; }, ErrorCode::TokenizerInvalid, {"merge 2"});
    // "a b" whose result "ab" is not a token: tokenizers refuses such a merge too.
    expectRefused([](json &d) { d["model"]["vocab"].erase("in"); }, ErrorCode::TokenizerInvalid, {"'in'"});
}

TEST_F(BpeBadInput, DuplicateIds)
{
    expectRefused([](json &d) { d["model"]["vocab"]["b"] = d["model"]["vocab"]["a"]; },
                  ErrorCode::TokenizerInvalid, {"tokenizer.json", "duplicate id", "'a'", "'b'"});
    expectRefused([](json &d) { d["added_tokens"][0]["id"] = 5; }, ErrorCode::TokenizerInvalid,
                  {"duplicate id 5", "<|endoftext|>"});
    expectRefused([](json &d) { d["added_tokens"][1]["content"] = "<|endoftext|>"; },
                  ErrorCode::TokenizerInvalid, {"duplicate token", "<|endoftext|>"});
    expectRefused([](json &d) { d["model"]["vocab"]["a"] = -3; }, ErrorCode::TokenizerInvalid,
                  {"negative id"});
    expectRefused([](json &d) { d["model"]["vocab"]["a"] = "one"; }, ErrorCode::TokenizerInvalid,
                  {"vocab entry 'a'", "id"});
}

// Found by fuzzing: the id tables are sized by the largest id, so one id of 324 million in a 4 KB file asked
// for 10 GB. Ids must be backed by the file's entries (at most twice their count, plus 1024); a small gap is
// fine.
TEST_F(BpeBadInput, TokenIdFarPastTheEntriesIsRefusedBeforeAllocating)
{
    expectRefused([](json &d) { d["added_tokens"][0]["id"] = 324000000; }, ErrorCode::TokenizerInvalid,
                  {"tokenizer.json", "token id 324000000 is far past", "nearly consecutive"});
    expectRefused([](json &d) { d["model"]["vocab"]["a"] = 5000; }, ErrorCode::TokenizerInvalid,
                  {"token id 5000 is far past"});
    BpeSpec spec;
    spec.source = "memory";
    spec.preName = "qwen2";
    spec.vocab = {{"a", 0}, {"b", 1}, {"ab", 2}};
    spec.added = {{"<|end|>", 1000, true}}; // a gap of ~1000 ids after 4 entries: still accepted
    EXPECT_EQ(BpeTokenizer(spec).vocabSize(), 1001);
    spec.added = {{"<|end|>", 2000, true}};
    expectError([&] { BpeTokenizer t(spec); }, ErrorCode::TokenizerInvalid, {"far past the 4 tokens"});
    spec.minVocabSize = 5000; // GGUF: a token list of 5000 backs ids below 11024
    EXPECT_EQ(BpeTokenizer(spec).vocabSize(), 5000);
}

TEST_F(BpeBadInput, BadRegexGivesPcre2MessageAndOffset)
{
    expectRefused(
        [](json &d) { d["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?i:'s|'t|\\p{L}+"; },
        ErrorCode::TokenizerInvalid, {"tokenizer.json", "regex", "offset 16", "missing closing parenthesis"});
    expectRefused([](json &d) { d["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{Nope}"; },
                  ErrorCode::TokenizerInvalid, {"regex", "offset"});
}

TEST_F(BpeBadInput, UnsupportedSettingsAreRefusedNotIgnored)
{
    expectRefused(
        [](json &d) {
            d["normalizer"] = {{"type", "Lowercase"}};
        },
        ErrorCode::TokenizerInvalid, {"normalizer", "Lowercase"});
    expectRefused([](json &d) { d["normalizer"] = "NFC"; }, ErrorCode::TokenizerInvalid, {"normalizer"});
    expectRefused(
        [](json &d) {
            d["pre_tokenizer"] = {{"type", "Whitespace"}};
        },
        ErrorCode::TokenizerInvalid, {"Whitespace"});
    expectRefused([](json &d) { d["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; },
                  ErrorCode::TokenizerInvalid, {"Removed"});
    expectRefused([](json &d) { d["added_tokens"][2]["lstrip"] = true; }, ErrorCode::TokenizerInvalid,
                  {"<|im_end|>", "lstrip"});
    expectRefused(
        [](json &d) {
            d["decoder"] = {{"type", "WordPiece"}};
        },
        ErrorCode::TokenizerInvalid, {"decoder"});
    expectRefused([](json &d) { d["added_tokens"] = "none"; }, ErrorCode::TokenizerInvalid, {"added_tokens"});
}

TEST_F(BpeBadInput, SpecialNameNotInVocabulary)
{
    json doc = original();
    write("tokenizer.json", doc.dump());
    write("tokenizer_config.json", R"({"eos_token": "<|no_such_token|>"})");
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::TokenizerInvalid,
                {"eos", "<|no_such_token|>"});
}

TEST_F(BpeBadInput, LegacyLayoutErrorsNameTheLine)
{
    copyLegacy();
    {
        std::ofstream f(m_dir / "merges.txt", std::ios::app);
        f << "one two three\n";
    }
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::TokenizerInvalid,
                {"merges.txt", "line", "one two three"});
    copyLegacy();
    write("added_tokens.json", R"({"<|im_end|>": 3})");
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::TokenizerInvalid,
                {"added_tokens.json", "<|im_end|>"});
    copyLegacy();
    write("vocab.json", "not json");
    expectError([&] { Tokenizer::loadBpe(m_dir.string()); }, ErrorCode::TokenizerInvalid, {"vocab.json"});
}

TEST_F(BpeBadInput, DecodeOutOfRangeAndInvalidText)
{
    const auto tok = Tokenizer::loadBpe(kDir);
    const int64_t n = tok->vocabSize();
    expectError([&] { tok->decode({1, n}); }, ErrorCode::InvalidArgument, {std::to_string(n), "outside"});
    expectError([&] { tok->decode({-1}); }, ErrorCode::InvalidArgument, {"-1"});
    expectError([&] { tok->idToPiece(n + 7); }, ErrorCode::InvalidArgument, {std::to_string(n + 7)});
    expectError([&] { tok->bpe()->tokenBytes(n); }, ErrorCode::InvalidArgument, {std::to_string(n)});
    expectError([&] { tok->encode("ok \xC3\x28 bad"); }, ErrorCode::InvalidArgument, {"UTF-8", "byte 3"});
    expectError([&] { tok->encode("\xED\xA0\x80"); }, ErrorCode::InvalidArgument, {"UTF-8"}); // a surrogate
}

TEST_F(BpeBadInput, SpecBuiltInCodeIsCheckedToo)
{
    // The GGUF path fills BpeSpec directly: the same checks apply.
    BpeSpec spec;
    spec.source = "memory";
    spec.vocab = {{"a", 0}, {"b", 1}, {"ab", 2}};
    spec.merges = {{"a", "b"}};
    spec.preName = "qwen2";
    EXPECT_EQ(BpeTokenizer(spec).encode("ab"), (std::vector<int64_t>{2}));
    spec.preName = "no-such-pre";
    expectError([&] { BpeTokenizer t(spec); }, ErrorCode::TokenizerInvalid, {"memory", "no-such-pre"});
    spec.preName = "qwen2";
    spec.merges = {{"a", "c"}};
    expectError([&] { BpeTokenizer t(spec); }, ErrorCode::TokenizerInvalid, {"merge 0", "'c'"});
    spec.merges = {};
    spec.added = {{"", 3, true}};
    expectError([&] { BpeTokenizer t(spec); }, ErrorCode::TokenizerInvalid, {"empty"});
    expectError([&] { Tokenizer::fromBpe(nullptr); }, ErrorCode::InvalidArgument, {"BPE"});
}

TEST_F(BpeBadInput, GgufStyleTokenListIsChecked)
{
    const std::vector<std::string> tokens = {"a", "b", "ab", "<|im_end|>"};
    expectError(
        [&] {
            bpeSpecFromTokenList(tokens, {1, 1, 1}, {}, "qwen2", "x.gguf");
        },
        ErrorCode::TokenizerInvalid, {"x.gguf", "4 tokens but 3 token types"});
    expectError(
        [&] {
            bpeSpecFromTokenList(tokens, {1, 1, 1, 9}, {}, "qwen2", "x.gguf");
        },
        ErrorCode::TokenizerInvalid, {"token 3", "unknown type 9"});
    expectError(
        [&] {
            bpeSpecFromTokenList(tokens, {1, 1, 1, 3}, {"a  b"}, "qwen2", "x.gguf");
        },
        ErrorCode::TokenizerInvalid, {"merge 0", "a  b"});
    const BpeSpec ok = bpeSpecFromTokenList(tokens, {1, 1, 1, 3}, {"a b"}, "qwen2", "x.gguf");
    const BpeTokenizer bpe(ok);
    EXPECT_EQ(bpe.encode("ab<|im_end|>"), (std::vector<int64_t>{2, 3}));
    EXPECT_TRUE(bpe.isSpecial(3));
    BpeSpec unknownPre = ok;
    unknownPre.preName = "llama-bpe";
    expectError([&] { BpeTokenizer t(unknownPre); }, ErrorCode::TokenizerInvalid, {"x.gguf", "llama-bpe"});
}
