// Byte-level BPE tokenizer (Qwen2 / Qwen3) against Hugging Face `tokenizers`: ids, token spellings and
// decoded text of every string in tests/data/tokenizer-bpe/cases.json (tools/reference/bpe_fixture.py writes
// it with tokenizers 0.20.3), through tokenizer.json (merges as pairs and as strings) and the vocab.json +
// merges.txt layout of the same model; streaming decode through Utf8Streamer.
#include "bpe_tokenizer.h"
#include "tokenizer.h"
#include "utf8_stream.h"

#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <QString>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace fs = std::filesystem;
using namespace uhdlens;
using nlohmann::json;

namespace {

const std::string kDir = std::string(UHDLENS_TEST_DATA) + "/tokenizer-bpe";

struct Case
{
    std::string text;
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
    std::string decode, decodeWithSpecials;
};

const json &fixture()
{
    static const json doc = [] {
        std::ifstream f(kDir + "/cases.json", std::ios::binary);
        return json::parse(f);
    }();
    return doc;
}

const std::vector<Case> &cases()
{
    static const std::vector<Case> all = [] {
        std::vector<Case> out;
        for (const json &c : fixture()["cases"])
            out.push_back({c["text"].get<std::string>(), c["ids"].get<std::vector<int64_t>>(),
                           c["tokens"].get<std::vector<std::string>>(), c["decode"].get<std::string>(),
                           c["decode_with_specials"].get<std::string>()});
        return out;
    }();
    return all;
}

std::string idList(const std::vector<int64_t> &ids)
{
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i)
        s += (i ? ", " : "") + std::to_string(ids[i]);
    return s + "]";
}

std::string quoted(const std::string &text)
{
    return json(text).dump();
}

// Counts the strings whose ids differ and reports the first few (stage: encode, tensor: ids of string #i).
void expectSameIds(const Tokenizer &tok, const std::string &label)
{
    int mismatches = 0;
    for (size_t i = 0; i < cases().size(); ++i) {
        const Case &c = cases()[i];
        const auto ids = tok.encode(c.text);
        if (ids != c.ids && ++mismatches <= 5) {
            std::string pieces;
            for (const int64_t id : ids)
                pieces += quoted(tok.idToPiece(id)) + " ";
            ADD_FAILURE() << label << ": encode of string #" << i << " " << quoted(c.text)
                          << "\n  ours:       " << idList(ids) << " " << pieces
                          << "\n  tokenizers: " << idList(c.ids);
        }
    }
    EXPECT_EQ(mismatches, 0) << label << ": strings whose ids differ from tokenizers', of " << cases().size();
}

fs::path tempDir(const std::string &name)
{
    const fs::path d = fs::temp_directory_path() / ("uhdlens-bpe-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

bool validUtf8(const std::string &s)
{
    const QString q = QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
    return q.toStdString() == s && !q.contains(QChar(0xFFFD));
}

} // namespace

TEST(BpeParity, FixtureIsLargeAndCoversEveryAddedToken)
{
    ASSERT_GE(cases().size(), 200u) << "cases.json should hold at least 200 strings";
    const auto tok = Tokenizer::loadBpe(kDir);
    const json added = json::parse(std::ifstream(kDir + "/tokenizer.json"))["added_tokens"];
    for (const json &a : added) {
        const int64_t id = a["id"].get<int64_t>();
        const bool used = std::any_of(cases().begin(), cases().end(), [&](const Case &c) {
            return std::find(c.ids.begin(), c.ids.end(), id) != c.ids.end();
        });
        EXPECT_TRUE(used) << "no fixture string encodes to added token " << a["content"];
    }
}

TEST(BpeParity, TokenizerJsonIdsEqualTokenizers)
{
    const auto tok = Tokenizer::loadBpe(kDir + "/tokenizer.json");
    ASSERT_NE(tok->bpe(), nullptr);
    EXPECT_EQ(tok->vocabSize(), fixture()["vocab_size"].get<int64_t>());
    expectSameIds(*tok, "tokenizer.json");
}

TEST(BpeParity, TokenSpellingsEqualTokenizers)
{
    const auto tok = Tokenizer::loadBpe(kDir);
    for (size_t i = 0; i < cases().size(); ++i) {
        const Case &c = cases()[i];
        ASSERT_EQ(c.ids.size(), c.tokens.size());
        for (size_t k = 0; k < c.ids.size(); ++k)
            ASSERT_EQ(tok->idToPiece(c.ids[k]), c.tokens[k])
                << "id_to_token of id " << c.ids[k] << " in string #" << i;
        for (size_t k = 0; k < c.ids.size(); ++k)
            ASSERT_EQ(tok->pieceToId(c.tokens[k]), c.ids[k]) << "token_to_id of " << quoted(c.tokens[k]);
    }
}

TEST(BpeParity, DecodeEqualsTokenizers)
{
    const auto tok = Tokenizer::loadBpe(kDir);
    int mismatches = 0;
    for (size_t i = 0; i < cases().size(); ++i) {
        const Case &c = cases()[i];
        const std::string skip = tok->decode(c.ids);
        const std::string all = tok->bpe()->decode(c.ids, /*skipSpecial=*/false);
        if (skip != c.decode && ++mismatches <= 5)
            ADD_FAILURE() << "decode(skip_special_tokens=True) of string #" << i << ": ours " << quoted(skip)
                          << ", tokenizers " << quoted(c.decode);
        if (all != c.decodeWithSpecials && ++mismatches <= 5)
            ADD_FAILURE() << "decode(skip_special_tokens=False) of string #" << i << ": ours " << quoted(all)
                          << ", tokenizers " << quoted(c.decodeWithSpecials);
    }
    // Cut id sequences: invalid UTF-8 tails become U+FFFD exactly where from_utf8_lossy puts them.
    for (const json &p : fixture()["partial_decodes"]) {
        const auto ids = p["ids"].get<std::vector<int64_t>>();
        const std::string ours = tok->decode(ids);
        if (ours != p["decode"].get<std::string>() && ++mismatches <= 5)
            ADD_FAILURE() << "decode of the cut sequence " << idList(ids) << ": ours " << quoted(ours)
                          << ", tokenizers " << p["decode"].dump();
    }
    EXPECT_EQ(mismatches, 0);
}

TEST(BpeParity, VocabJsonMergesTxtEqualTokenizers)
{
    const auto tok = Tokenizer::loadBpe(kDir + "/legacy");
    EXPECT_EQ(tok->vocabSize(), fixture()["vocab_size"].get<int64_t>());
    expectSameIds(*tok, "vocab.json + merges.txt");
    // Special flags come from tokenizer_config.json's added_tokens_decoder.
    EXPECT_TRUE(tok->isControl(tok->pieceToId("<|im_end|>")));
    EXPECT_FALSE(tok->isControl(tok->pieceToId("<think>")));
}

TEST(BpeParity, StringMergesEqualPairMerges)
{
    // tokenizers >= 0.20 writes merges as ["a", "b"] pairs, older files (Qwen2's own) as "a b" strings.
    json doc = json::parse(std::ifstream(kDir + "/tokenizer.json"));
    json &merges = doc["model"]["merges"];
    ASSERT_TRUE(merges.is_array() && !merges.empty());
    const bool pairs = merges[0].is_array();
    for (json &m : merges)
        m = pairs ? json(m[0].get<std::string>() + " " + m[1].get<std::string>())
                  : json::array({m.get<std::string>().substr(0, m.get<std::string>().find(' ')),
                                 m.get<std::string>().substr(m.get<std::string>().find(' ') + 1)});
    const fs::path dir = tempDir("merges");
    std::ofstream(dir / "tokenizer.json") << doc.dump();
    const auto tok = Tokenizer::loadBpe(dir.string());
    expectSameIds(*tok, pairs ? "tokenizer.json with string merges" : "tokenizer.json with pair merges");
    fs::remove_all(dir);
}

TEST(BpeParity, SpecialIdsAndFlags)
{
    const auto tok = Tokenizer::loadBpe(kDir);
    const json added = json::parse(std::ifstream(kDir + "/tokenizer.json"))["added_tokens"];
    for (const json &a : added) {
        const int64_t id = a["id"].get<int64_t>();
        EXPECT_EQ(tok->pieceToId(a["content"].get<std::string>()), id) << a["content"];
        EXPECT_EQ(tok->isControl(id), a["special"].get<bool>()) << a["content"];
        EXPECT_EQ(tok->encode(a["content"].get<std::string>()), std::vector<int64_t>{id}) << a["content"];
    }
    EXPECT_EQ(tok->bosId(), -1);                           // Qwen2 has no BOS
    EXPECT_EQ(tok->eosId(), tok->pieceToId("<|im_end|>")); // tokenizer_config.json beside tokenizer.json
    EXPECT_EQ(tok->padId(), tok->pieceToId("<|endoftext|>"));
    EXPECT_EQ(tok->unkId(), tok->pieceToId("<unk>"));
    EXPECT_FALSE(tok->hasPiece("<nonexistent>"));
    EXPECT_EQ(tok->encodeNoDummyPrefix(" hello"), tok->encode(" hello"));
    // The Tokenizer API's explicit-specials split agrees with the built-in added-token split.
    for (const Case &c : cases())
        ASSERT_EQ(tok->encodeWithSpecials(c.text, {"<|im_start|>", "<|im_end|>", "<image>"}), c.ids)
            << quoted(c.text);
}

TEST(BpeParity, StreamingDecodeEmitsWholeCharacters)
{
    const auto tok = Tokenizer::loadBpe(kDir);
    const BpeTokenizer &bpe = *tok->bpe();
    size_t heldBack = 0;
    for (const Case &c : cases()) {
        Utf8Streamer stream;
        std::string text;
        for (const int64_t id : c.ids) {
            const std::string bytes = bpe.tokenBytes(id);
            const std::string chunk = stream.push(bytes);
            ASSERT_TRUE(validUtf8(chunk)) << "streamed chunk " << quoted(chunk) << " of " << quoted(c.text);
            heldBack += chunk.size() != bytes.size();
            text += chunk;
        }
        text += stream.flush();
        EXPECT_EQ(text, c.decodeWithSpecials) << "streamed decode of " << quoted(c.text);
    }
    EXPECT_GT(heldBack, 0u) << "no token split a UTF-8 character: the fixture does not exercise the streamer";
}

TEST(BpeParity, RandomTextRoundTrips)
{
    // decode(encode(s)) == NFC(s) for random strings over ASCII, CJK, combining marks, emoji and specials.
    const auto tok = Tokenizer::loadBpe(kDir);
    std::mt19937 rng(7);
    const std::vector<std::string> parts = {"a",
                                            "Z",
                                            " ",
                                            "  ",
                                            "\t",
                                            "\n",
                                            "\r\n",
                                            "7",
                                            "'s",
                                            "中",
                                            "ß",
                                            "e\xCC\x81",
                                            "\xF0\x9F\x98\x80",
                                            "\xE2\x80\x8D",
                                            "<|im_end|>",
                                            "<think>",
                                            "!",
                                            "\xC2\xA0"};
    for (int n = 0; n < 300; ++n) {
        std::string s;
        const int k = 1 + static_cast<int>(rng() % 20);
        for (int i = 0; i < k; ++i)
            s += parts[rng() % parts.size()];
        const std::string nfc =
            QString::fromStdString(s).normalized(QString::NormalizationForm_C).toStdString();
        ASSERT_EQ(tok->bpe()->decode(tok->encode(s), false), nfc) << quoted(s);
    }
    // A long whitespace run and a long word (the regex's backtracking, the merge heap): still exact.
    const std::string spaces(200000, ' ');
    EXPECT_EQ(tok->decode(tok->encode(spaces + "x")), spaces + "x");
    std::string word;
    for (int i = 0; i < 20000; ++i)
        word += "ab";
    EXPECT_EQ(tok->decode(tok->encode(word)), word);
}

TEST(BpeParity, ThreadsGiveTheSameIds)
{
    const auto tok = Tokenizer::loadBpe(kDir);
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (size_t i = t; i < cases().size(); i += 2)
                failures[t] += tok->encode(cases()[i].text) != cases()[i].ids;
        });
    for (auto &th : threads)
        th.join();
    for (int t = 0; t < 4; ++t)
        EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(BpeParity, GgufStyleTokenListGivesTheSameIds)
{
    // The tokenizer as llama.cpp's convert_hf_to_gguf.py stores it (tokenizer.ggml.tokens / token_type /
    // merges / pre = "qwen2"): one list indexed by id, padded with unused "[PADn]" rows up to the embedding
    // size, added tokens typed control (special) or user-defined, merges as "a b" strings.
    const json doc = json::parse(std::ifstream(kDir + "/tokenizer.json"));
    const int64_t padded = fixture()["vocab_size"].get<int64_t>() + 8;
    std::vector<std::string> tokens(static_cast<size_t>(padded));
    std::vector<int32_t> types(static_cast<size_t>(padded), 5);
    for (int64_t i = 0; i < padded; ++i)
        tokens[i] = "[PAD" + std::to_string(i) + "]";
    for (auto it = doc["model"]["vocab"].begin(); it != doc["model"]["vocab"].end(); ++it) {
        tokens[it.value().get<size_t>()] = it.key();
        types[it.value().get<size_t>()] = 1;
    }
    for (const json &a : doc["added_tokens"]) {
        tokens[a["id"].get<size_t>()] = a["content"].get<std::string>();
        types[a["id"].get<size_t>()] = a["special"].get<bool>() ? 3 : 4;
    }
    std::vector<std::string> merges;
    for (const json &m : doc["model"]["merges"])
        merges.push_back(m.is_string() ? m.get<std::string>()
                                       : m[0].get<std::string>() + " " + m[1].get<std::string>());
    BpeSpec spec = bpeSpecFromTokenList(tokens, types, merges, "qwen2", "memory.gguf");
    spec.eosToken = tokens[1028];
    const auto tok = Tokenizer::fromBpe(std::make_shared<const BpeTokenizer>(spec));
    EXPECT_EQ(tok->vocabSize(), padded);
    EXPECT_EQ(tok->eosId(), 1028);
    expectSameIds(*tok, "GGUF-style token list");
    // A padding row has no token: decoding it is an error, not text.
    EXPECT_THROW(tok->decode({padded - 1}), Error);
}
