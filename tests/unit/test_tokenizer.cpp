// Tokenizer (SentencePiece through the dlopen'ed shim): parity with the reference spm_encode tool on a fixture,
// training, UTF-8 round trips, user-defined symbols, and bad files. This executable links libtorch, so every
// test here also proves that sentencepiece and libtorch's protobuf coexist in one process.
#include "tokenizer.h"

#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace uhdlens;

namespace {

const std::string kFixtureDir = std::string(UHDLENS_TEST_DATA) + "/tokenizer";
const std::string kCorpus = std::string(UHDLENS_TEST_DATA) + "/../../resources/text/tiny-corpus.txt";
const std::vector<std::string> kSymbols = {"<image>", "</image>", "<slice>", "</slice>"};

std::vector<std::string> readLines(const std::string &path)
{
    std::ifstream f(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(f, line);)
        lines.push_back(line);
    return lines;
}

std::string readAll(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

void writeText(const std::string &path, const std::string &text)
{
    std::ofstream f(path, std::ios::binary);
    f << text;
}

template <typename Fn>
void expectError(Fn &&fn, ErrorCode code, std::initializer_list<std::string> needles)
{
    try {
        fn();
        FAIL() << "expected error " << errorCodeName(code);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), code) << e.what();
        for (const auto &n : needles)
            EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
    }
}

const std::vector<std::string> kRoundTrip = {
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "这张图片里有一只猫躺在窗台上晒太阳。",
    "Emoji: 🙂👍🏽🇩🇪 and a family 👨‍👩‍👧 in one string",
    "mixed 中文 and English, numbers 3.14159 and 2026-11-24",
    "int main(int argc, char **argv) {\n\treturn 0;\n}\n",
    "  leading spaces, trailing spaces   ",
    "line one\nline two\r\nline three",
    "Ω≈ç√∫˜µ≤≥÷ 𝔘𝔥𝔡 ﬁ ½ ①",
    "never seen: ʤ ʬ ꙮ 𓀀 ",
    "",
    " ",
    "<image> and <slice>x</slice> inside text",
};

class TrainedTokenizer : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        s_dir = fs::temp_directory_path() / ("uhdlens-tok-" + std::to_string(::getpid()));
        fs::create_directories(s_dir);
        const auto corpus = readLines(kCorpus);
        ASSERT_GT(corpus.size(), 200u) << kCorpus;
        Tokenizer::train(corpus, (s_dir / "bpe.model").string(), 1000, kSymbols, "bpe");
        Tokenizer::train(corpus, (s_dir / "unigram.model").string(), 1000, kSymbols, "unigram");
    }
    static void TearDownTestSuite() { fs::remove_all(s_dir); }
    static std::string model(const std::string &name) { return (s_dir / name).string(); }
    static fs::path s_dir;
};
fs::path TrainedTokenizer::s_dir;

} // namespace

TEST(Tokenizer, MatchesReferenceSpmEncodeOnFixture)
{
    // golden-ids.txt was produced by Debian's spm_encode (tests/tools/make_tokenizer_fixture.sh).
    const auto tok = Tokenizer::load(kFixtureDir + "/tokenizer.model");
    const auto inputs = readLines(kFixtureDir + "/golden-input.txt");
    const auto golden = readLines(kFixtureDir + "/golden-ids.txt");
    ASSERT_EQ(inputs.size(), golden.size());
    ASSERT_GT(inputs.size(), 10u);
    for (size_t i = 0; i < inputs.size(); ++i) {
        std::vector<int64_t> want;
        std::istringstream in(golden[i]);
        for (int64_t id; in >> id;)
            want.push_back(id);
        EXPECT_EQ(tok->encode(inputs[i]), want) << inputs[i];
        EXPECT_EQ(tok->decode(want), inputs[i]);
    }
    EXPECT_EQ(tok->vocabSize(), 1000);
    EXPECT_EQ(tok->unkId(), 0);
    EXPECT_EQ(tok->bosId(), 1);
    EXPECT_EQ(tok->eosId(), 2);
    EXPECT_EQ(tok->padId(), -1);
    EXPECT_EQ(tok->pieceToId("<image>"), 3);
    EXPECT_EQ(tok->idToPiece(2), "</s>");
    EXPECT_EQ(tok->modelFile(), kFixtureDir + "/tokenizer.model");
}

TEST(Tokenizer, EncodeWithSpecialsSplitsOnControlAndUserPieces)
{
    const auto tok = Tokenizer::load(kFixtureDir + "/tokenizer.model");
    auto cat = [](std::initializer_list<std::vector<int64_t>> parts) {
        std::vector<int64_t> v;
        for (const auto &p : parts)
            v.insert(v.end(), p.begin(), p.end());
        return v;
    };
    // Control pieces (<s>, </s>) never come out of plain encode(), but do here.
    EXPECT_EQ(tok->encodeWithSpecials("<s>hello</s>", {"<s>", "</s>"}), cat({{1}, tok->encode("hello"), {2}}));
    EXPECT_EQ(tok->encodeWithSpecials("a<image>b</image>", {"<image>", "</image>"}),
              cat({tok->encode("a"), {3}, tok->encode("b"), {4}}));
    // Adjacent specials, specials at both ends, and no specials at all.
    EXPECT_EQ(tok->encodeWithSpecials("<slice></slice><slice>", {"<slice>", "</slice>"}),
              (std::vector<int64_t>{5, 6, 5}));
    EXPECT_EQ(tok->encodeWithSpecials("plain text", {"<s>"}), tok->encode("plain text"));
    EXPECT_TRUE(tok->encodeWithSpecials("", {"<s>"}).empty());
    // Specials are matched whole and in text order, whichever of the list comes first there.
    EXPECT_EQ(tok->encodeWithSpecials("</s><s>", {"<s>", "</s>"}), (std::vector<int64_t>{2, 1}));
    try {
        tok->encodeWithSpecials("x<|im_end|>", {"<|im_end|>"});
        FAIL() << "unknown special accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid);
        EXPECT_EQ(e.subject(), "<|im_end|>");
    }
}

// encodeNoDummyPrefix is sentencepiece with normalizer_spec.add_dummy_prefix off (what HF's non-legacy
// LlamaTokenizer uses after a special token); its parity with HF itself is in test_reference_llava_uhd.cpp.
TEST(Tokenizer, EncodeNoDummyPrefixDropsOnlyTheDummySpace)
{
    const auto tok = Tokenizer::load(kFixtureDir + "/tokenizer.model");
    const auto inputs = readLines(kFixtureDir + "/golden-input.txt");
    ASSERT_GT(inputs.size(), 10u);
    int differing = 0;
    for (const auto &s : inputs) {
        // An explicit leading space is what the dummy prefix adds: same ids. Round trip without it (decode()
        // drops one leading space, the dummy prefix it assumes, so only texts without one come back whole).
        EXPECT_EQ(tok->encodeNoDummyPrefix(" " + s), tok->encode(s)) << s;
        const auto ids = tok->encodeNoDummyPrefix(s);
        if (!s.empty() && s.front() != ' ') {
            EXPECT_EQ(tok->decode(ids), s) << s;
            ASSERT_FALSE(ids.empty()) << s;
            EXPECT_NE(tok->idToPiece(ids.front()).rfind("\xe2\x96\x81", 0), 0u) << "leading '▁' in: " << s;
            differing += ids != tok->encode(s);
        }
    }
    EXPECT_GT(differing, 0);
    EXPECT_TRUE(tok->encodeNoDummyPrefix("").empty());
    // The plain encoder is unaffected by the variant living beside it.
    EXPECT_EQ(tok->idToPiece(tok->encode("hello").front()).rfind("\xe2\x96\x81", 0), 0u);
}

TEST(Tokenizer, CoexistsWithLibtorch)
{
    // The reason for the shim: both libraries live in this process. Use them together.
    const auto tok = Tokenizer::load(kFixtureDir + "/tokenizer.model");
    const auto ids = tok->encode("<image>What is written on the sign?</image>");
    const torch::Tensor t = torch::tensor(ids, torch::kInt64);
    EXPECT_EQ(t.numel(), static_cast<int64_t>(ids.size()));
    EXPECT_EQ(torch::nn::functional::one_hot(t, tok->vocabSize()).sum().item<int64_t>(),
              static_cast<int64_t>(ids.size()));
}

TEST(Tokenizer, ConcurrentEncodeIsConsistent)
{
    const auto tok = Tokenizer::load(kFixtureDir + "/tokenizer.model");
    const std::string text = "图中的公交车是红色的 and the quick brown fox <slice> 12345";
    const auto want = tok->encode(text);
    std::vector<std::thread> threads;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i)
                if (tok->encode(text) != want || tok->decode(want) != text)
                    ++bad;
        });
    for (auto &th : threads)
        th.join();
    EXPECT_EQ(bad.load(), 0);
}

TEST_F(TrainedTokenizer, RoundTripsEveryUtf8String)
{
    for (const std::string name : {"bpe.model", "unigram.model"}) {
        const auto tok = Tokenizer::load(model(name));
        for (const std::string &s : kRoundTrip)
            EXPECT_EQ(tok->decode(tok->encode(s)), s) << name << ": " << s;
    }
}

TEST_F(TrainedTokenizer, UnseenCharactersUseByteFallback)
{
    const auto tok = Tokenizer::load(model("bpe.model"));
    const auto ids = tok->encode("𓀀");
    // U+13000 is four UTF-8 bytes, none of them in the corpus as a character: expect byte pieces <0xF0>....
    int bytePieces = 0;
    for (const int64_t id : ids)
        bytePieces += tok->idToPiece(id).rfind("<0x", 0) == 0;
    EXPECT_EQ(bytePieces, 4);
    for (const int64_t id : ids)
        EXPECT_NE(id, tok->unkId());
    EXPECT_TRUE(tok->hasPiece("<0x0A>")); // newline, as Llama's id 13
}

TEST_F(TrainedTokenizer, UserSymbolsAreSingleIds)
{
    const auto tok = Tokenizer::load(model("bpe.model"));
    for (size_t i = 0; i < kSymbols.size(); ++i) {
        const std::string &sym = kSymbols[i];
        ASSERT_TRUE(tok->hasPiece(sym)) << sym;
        const int64_t id = tok->pieceToId(sym);
        EXPECT_EQ(id, 3 + static_cast<int64_t>(i)) << sym; // right after <unk> <s> </s>
        EXPECT_EQ(tok->idToPiece(id), sym);
        EXPECT_FALSE(tok->isControl(id));
        // Inside text, glued to neighbours, the symbol is still exactly one id.
        const auto ids = tok->encode("abc" + sym + "def");
        EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 1) << sym;
        EXPECT_EQ(tok->decode(ids), "abc" + sym + "def");
    }
    // A near miss is not the symbol.
    const auto near = tok->encode("<imag>");
    EXPECT_EQ(std::count(near.begin(), near.end(), tok->pieceToId("<image>")), 0);
}

TEST_F(TrainedTokenizer, SpecialIdsAndControlPieces)
{
    const auto tok = Tokenizer::load(model("unigram.model"));
    EXPECT_EQ(tok->unkId(), 0);
    EXPECT_EQ(tok->bosId(), 1);
    EXPECT_EQ(tok->eosId(), 2);
    EXPECT_EQ(tok->vocabSize(), 1000);
    EXPECT_TRUE(tok->isControl(1));
    EXPECT_TRUE(tok->isControl(2));
    EXPECT_FALSE(tok->isControl(10));
    EXPECT_EQ(tok->idToPiece(1), "<s>");
    // Control tokens never come from text and decode to nothing.
    const auto ids = tok->encode("<s>hi</s>");
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 0);
    EXPECT_EQ(tok->decode({1, tok->encode("hi")[0], 2}), tok->decode({tok->encode("hi")[0]}));
    EXPECT_EQ(tok->pieceToId("no-such-piece-xyz"), tok->unkId());
    EXPECT_FALSE(tok->hasPiece("no-such-piece-xyz"));
    EXPECT_TRUE(tok->hasPiece("<unk>"));
}

TEST_F(TrainedTokenizer, TrainingIsDeterministic)
{
    const auto corpus = readLines(kCorpus);
    const std::string again = model("again.model");
    Tokenizer::train(corpus, again, 1000, kSymbols, "bpe");
    EXPECT_EQ(readAll(again), readAll(model("bpe.model")));
}

TEST_F(TrainedTokenizer, OutOfRangeIds)
{
    const auto tok = Tokenizer::load(model("bpe.model"));
    expectError([&] { tok->decode({5, 1000}); }, ErrorCode::InvalidArgument, {"token id 1000", "[0, 1000)"});
    expectError([&] { tok->decode({-1}); }, ErrorCode::InvalidArgument, {"token id -1"});
    expectError([&] { tok->idToPiece(123456); }, ErrorCode::InvalidArgument, {"123456"});
    expectError([&] { tok->isControl(-5); }, ErrorCode::InvalidArgument, {"-5"});
}

TEST(TokenizerTrain, RejectsBadArguments)
{
    const std::string out = (fs::temp_directory_path() / ("uhdlens-tok-bad-" + std::to_string(::getpid()))).string();
    const std::vector<std::string> text = {"a small text", "another line of text", "third line"};
    expectError([&] { Tokenizer::train(text, out, 300, {}, "wordpiece"); }, ErrorCode::InvalidArgument,
                {"'wordpiece'"});
    expectError([&] { Tokenizer::train({}, out, 300, {}); }, ErrorCode::InvalidArgument, {"no text"});
    expectError([&] { Tokenizer::train(text, out, 300, {"<a,b>"}); }, ErrorCode::InvalidArgument, {"'<a,b>'"});
    expectError([&] { Tokenizer::train(text, out, 300, {""}); }, ErrorCode::InvalidArgument, {"symbol"});
    expectError([&] { Tokenizer::train(text, out, 8, {}); }, ErrorCode::InvalidArgument, {"too small"});
    // sentencepiece's own refusal comes back as a typed error with its reason.
    expectError([&] { Tokenizer::train(text, out, 100000, {}); }, ErrorCode::InvalidArgument,
                {"tokenizer training failed"});
    EXPECT_FALSE(fs::exists(out));
}

TEST(TokenizerBadInput, Files)
{
    const fs::path dir = fs::temp_directory_path() / ("uhdlens-tok-files-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    expectError([&] { Tokenizer::load((dir / "missing.model").string()); }, ErrorCode::FileNotFound,
                {"missing.model"});
    writeText((dir / "tokenizer.model").string(), "This is a plain text file renamed to tokenizer.model.\n");
    expectError([&] { Tokenizer::load((dir / "tokenizer.model").string()); }, ErrorCode::TokenizerInvalid,
                {"tokenizer.model", "not a SentencePiece model"});
    writeText((dir / "empty.model").string(), "");
    expectError([&] { Tokenizer::load((dir / "empty.model").string()); }, ErrorCode::TokenizerInvalid,
                {"empty.model", "empty"});
    writeText((dir / "json.model").string(), R"({"model": {"type": "BPE"}})");
    expectError([&] { Tokenizer::load((dir / "json.model").string()); }, ErrorCode::TokenizerInvalid,
                {"JSON tokenizer"});
    // A real model cut in half.
    const std::string good = readAll(kFixtureDir + "/tokenizer.model");
    writeText((dir / "half.model").string(), good.substr(0, good.size() / 2));
    expectError([&] { Tokenizer::load((dir / "half.model").string()); }, ErrorCode::TokenizerInvalid,
                {"half.model"});
    expectError([&] { Tokenizer::load(dir.string()); }, ErrorCode::NotAFile, {"not a file"});
    fs::remove_all(dir);
}
