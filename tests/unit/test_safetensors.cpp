// safetensors reader/writer and loadParameters: round trips, sharding, zero-copy views, hashing, and every kind
// of malformed input giving a typed error that names the file/tensor/key (never a crash).
#include "safetensors.h"

#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace uhdlens;

namespace {

class TempDir
{
public:
    TempDir()
    {
        static int counter = 0;
        m_path = fs::temp_directory_path() /
                 ("uhdlens-st-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    std::string file(const std::string &name) const { return (m_path / name).string(); }
    std::string path() const { return m_path.string(); }

private:
    fs::path m_path;
};

// A safetensors file written byte by byte, for malformed inputs the writer would never produce.
void writeRaw(const std::string &path, const std::string &header, const std::string &data,
              std::optional<uint64_t> declaredLength = std::nullopt)
{
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = declaredLength.value_or(header.size());
    f.write(reinterpret_cast<const char *>(&n), 8);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

void writeText(const std::string &path, const std::string &text)
{
    std::ofstream f(path, std::ios::binary);
    f << text;
}

std::string readAll(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs `fn`, expects an uhdlens::Error with `code` whose message contains every one of `needles`.
template <typename Fn>
void expectError(Fn &&fn, ErrorCode code, std::initializer_list<std::string> needles,
                 const std::string &subject = {})
{
    try {
        fn();
        FAIL() << "expected error " << errorCodeName(code);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), code) << e.what();
        for (const auto &n : needles)
            EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
        if (!subject.empty()) {
            EXPECT_EQ(e.subject(), subject) << e.what();
        }
    }
}

std::vector<std::pair<std::string, torch::Tensor>> sampleTensors()
{
    torch::manual_seed(7);
    return {
        {"f32", torch::randn({3, 5})},
        {"f16", torch::randn({7}).to(torch::kFloat16)},
        {"bf16", torch::randn({2, 3, 4}).to(torch::kBFloat16)},
        {"f64", torch::randn({4, 1}, torch::kFloat64)},
        {"i64", torch::arange(-5, 6, torch::kInt64)},
        {"i32", torch::randint(-1000, 1000, {9}, torch::kInt32)},
        {"i16", torch::randint(-1000, 1000, {3}, torch::kInt16)},
        {"i8", torch::randint(-128, 127, {5}, torch::kInt8)},
        {"u8", torch::randint(0, 255, {11}, torch::kUInt8)},
        {"bool", torch::rand({6}) > 0.5},
        {"scalar", torch::tensor(3.5f)},
        {"empty", torch::zeros({0, 4})},
        {"strided", torch::randn({4, 6}).t()}, // non-contiguous input must be written contiguously
    };
}

std::string sha256sumOf(const std::string &path)
{
    // Independent reference: coreutils' sha256sum.
    std::string cmd = "sha256sum '" + path + "'";
    FILE *p = ::popen(cmd.c_str(), "r");
    if (!p)
        return {};
    char buf[128] = {0};
    const size_t n = std::fread(buf, 1, 64, p);
    ::pclose(p);
    return std::string(buf, n);
}

} // namespace

TEST(SafeTensors, RoundTripAllDtypes)
{
    TempDir dir;
    const auto tensors = sampleTensors();
    saveSafeTensors(dir.file("model.safetensors"), tensors, {{"format", "pt"}, {"note", "ünïcode ✓"}});
    const Checkpoint ck = Checkpoint::open(dir.path());
    const std::vector<std::string> names = ck.names();
    ASSERT_EQ(names.size(), tensors.size());
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    int64_t bytes = 0;
    for (const auto &[name, t] : tensors) {
        ASSERT_TRUE(ck.contains(name)) << name;
        const torch::Tensor got = ck.get(name);
        EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
        EXPECT_EQ(got.sizes(), t.sizes()) << name;
        EXPECT_TRUE(torch::equal(got, t.contiguous())) << name;
        EXPECT_EQ(ck.info(name).shape, t.sizes().vec()) << name;
        bytes += static_cast<int64_t>(t.nbytes());
    }
    EXPECT_EQ(ck.info("bf16").dtype, "BF16");
    EXPECT_EQ(ck.info("f16").dtype, "F16");
    EXPECT_EQ(ck.info("f32").dtype, "F32");
    EXPECT_EQ(ck.info("bool").dtype, "BOOL");
    EXPECT_EQ(ck.info("u8").dtype, "U8");
    EXPECT_EQ(ck.dataBytes(), bytes);
    EXPECT_EQ(ck.metadata().at("format"), "pt");
    EXPECT_EQ(ck.metadata().at("note"), "ünïcode ✓");
    ASSERT_EQ(ck.files().size(), 1u);
    EXPECT_EQ(fs::path(ck.files()[0]).filename(), "model.safetensors");
    EXPECT_FALSE(ck.contains("nope"));
}

TEST(SafeTensors, HeaderIsPaddedAndTensorsAligned)
{
    TempDir dir;
    saveSafeTensors(dir.file("a.safetensors"), sampleTensors());
    const std::string raw = readAll(dir.file("a.safetensors"));
    uint64_t n = 0;
    std::memcpy(&n, raw.data(), 8);
    EXPECT_EQ(n % 8, 0u);
    const Checkpoint ck = Checkpoint::open(dir.file("a.safetensors"));
    for (const auto &name : ck.names()) {
        const torch::Tensor t = ck.get(name);
        if (t.numel()) {
            EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % t.element_size(), 0u) << name;
        }
    }
    // The writer leaves no gaps between tensors (the reference reader rejects gaps).
    const auto header = nlohmann::json::parse(raw.substr(8, n));
    uint64_t total = 0;
    for (auto it = header.begin(); it != header.end(); ++it)
        if (it.key() != "__metadata__")
            total += it.value()["data_offsets"][1].get<uint64_t>() - it.value()["data_offsets"][0].get<uint64_t>();
    EXPECT_EQ(raw.size(), 8 + n + total);
}

TEST(SafeTensors, ViewsAreZeroCopyAndOutliveTheCheckpoint)
{
    TempDir dir;
    const auto a = torch::arange(0, 64, torch::kFloat32);
    const auto b = torch::arange(100, 132, torch::kFloat32);
    saveSafeTensors(dir.file("m.safetensors"), {{"a", a}, {"b", b}});
    torch::Tensor va, vb;
    {
        const Checkpoint ck = Checkpoint::open(dir.file("m.safetensors"));
        va = ck.get("a");
        vb = ck.get("b");
        // Two reads of one tensor share memory, and the distance between two tensors equals their file offsets:
        // both are views on one mapping, not copies.
        EXPECT_EQ(ck.get("a").data_ptr(), va.data_ptr());
        const auto &ia = ck.info("a");
        const auto &ib = ck.info("b");
        EXPECT_EQ(static_cast<const char *>(vb.data_ptr()) - static_cast<const char *>(va.data_ptr()),
                  static_cast<ptrdiff_t>(ib.begin) - static_cast<ptrdiff_t>(ia.begin));
    }
    // The checkpoint object is gone; the views still keep the mapping alive.
    EXPECT_TRUE(torch::equal(va, a));
    EXPECT_TRUE(torch::equal(vb, b));
}

TEST(SafeTensors, Sha256MatchesSha256sumAndIsStable)
{
    TempDir dir;
    saveSafeTensors(dir.file("model.safetensors"), sampleTensors());
    const Checkpoint ck = Checkpoint::open(dir.path());
    const std::string h = ck.sha256();
    EXPECT_EQ(h.size(), 64u);
    EXPECT_EQ(h, ck.sha256()); // cached
    EXPECT_EQ(h, Checkpoint::open(dir.file("model.safetensors")).sha256());
    const std::string ref = sha256sumOf(dir.file("model.safetensors"));
    ASSERT_EQ(ref.size(), 64u) << "sha256sum (coreutils) unavailable";
    EXPECT_EQ(h, ref);
    // One changed value changes the hash.
    auto tensors = sampleTensors();
    tensors[0].second[0][0] += 1;
    saveSafeTensors(dir.file("model.safetensors"), tensors);
    EXPECT_NE(Checkpoint::open(dir.path()).sha256(), h);
    // Larger than the 64 MB hashing chunk: chunk boundaries must not change the digest.
    saveSafeTensors(dir.file("big.safetensors"), {{"big", torch::rand({70 * 1024 * 1024 / 4})}});
    EXPECT_EQ(Checkpoint::open(dir.file("big.safetensors")).sha256(), sha256sumOf(dir.file("big.safetensors")));
}

TEST(SafeTensors, ShardedIndex)
{
    TempDir dir;
    const auto t = sampleTensors();
    saveSafeTensors(dir.file("model-00001-of-00002.safetensors"), {t[0], t[1], t[2]}, {{"format", "pt"}});
    saveSafeTensors(dir.file("model-00002-of-00002.safetensors"), {t[3], t[4]});
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
    for (int i = 0; i < 3; ++i)
        index["weight_map"][t[i].first] = "model-00001-of-00002.safetensors";
    for (int i = 3; i < 5; ++i)
        index["weight_map"][t[i].first] = "model-00002-of-00002.safetensors";
    writeText(dir.file("model.safetensors.index.json"), index.dump(2));

    for (const std::string &path : {dir.path(), dir.file("model.safetensors.index.json")}) {
        const Checkpoint ck = Checkpoint::open(path);
        EXPECT_EQ(ck.names().size(), 5u);
        ASSERT_EQ(ck.files().size(), 2u);
        EXPECT_EQ(ck.info(t[0].first).shard, 0);
        EXPECT_EQ(ck.info(t[4].first).shard, 1);
        for (int i = 0; i < 5; ++i)
            EXPECT_TRUE(torch::equal(ck.get(t[i].first), t[i].second)) << t[i].first;
        EXPECT_EQ(ck.metadata().at("format"), "pt");
    }
    // sha256 covers both shards in order: differs from either shard alone.
    const Checkpoint ck = Checkpoint::open(dir.path());
    EXPECT_NE(ck.sha256(), Checkpoint::open(dir.file("model-00001-of-00002.safetensors")).sha256());
}

TEST(SafeTensors, FolderOfUnindexedFiles)
{
    TempDir dir;
    saveSafeTensors(dir.file("b.safetensors"), {{"y", torch::ones({2})}});
    saveSafeTensors(dir.file("a.safetensors"), {{"x", torch::zeros({3})}});
    writeText(dir.file("config.json"), "{}");
    const Checkpoint ck = Checkpoint::open(dir.path());
    EXPECT_EQ(ck.names(), (std::vector<std::string>{"x", "y"}));
    ASSERT_EQ(ck.files().size(), 2u);
    EXPECT_EQ(fs::path(ck.files()[0]).filename(), "a.safetensors"); // sorted by name
    // The same tensor in two files is ambiguous.
    saveSafeTensors(dir.file("c.safetensors"), {{"x", torch::zeros({3})}});
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"'x'", "both"}, "x");
}

TEST(SafeTensors, SaveRejectsBadInput)
{
    TempDir dir;
    expectError([&] { saveSafeTensors(dir.file("x.safetensors"), {{"a", torch::ones({1})}, {"a", torch::ones({1})}}); },
                ErrorCode::InvalidArgument, {"duplicate", "'a'"});
    expectError([&] { saveSafeTensors(dir.file("x.safetensors"), {{"", torch::ones({1})}}); },
                ErrorCode::InvalidArgument, {"bad tensor name"});
    expectError([&] { saveSafeTensors(dir.file("x.safetensors"), {{"c", torch::ones({1}, torch::kComplexFloat)}}); },
                ErrorCode::InvalidArgument, {"unsupported dtype", "'c'"});
    expectError([&] { saveSafeTensors(dir.file("no/such/dir/x.safetensors"), {{"a", torch::ones({1})}}); },
                ErrorCode::FileUnreadable, {"cannot write"});
}

// ---- loadParameters -------------------------------------------------------------------------------------------

TEST(LoadParameters, ZeroCopyWhenDtypeMatches)
{
    TempDir dir;
    torch::manual_seed(1);
    const auto w = torch::randn({4, 3});
    const auto b = torch::randn({4});
    saveSafeTensors(dir.file("model.safetensors"), {{"fc.weight", w}, {"fc.bias", b}});
    const Checkpoint ck = Checkpoint::open(dir.path());
    torch::nn::Linear fc(3, 4);
    const auto warnings = loadParameters({{"fc.weight", fc->weight}, {"fc.bias", fc->bias}}, ck, torch::kFloat32,
                                         torch::kCPU);
    EXPECT_TRUE(warnings.empty());
    EXPECT_TRUE(torch::equal(fc->weight, w));
    EXPECT_TRUE(torch::equal(fc->bias, b));
    // The module's parameter now lives in the memory map.
    EXPECT_EQ(fc->weight.data_ptr(), ck.get("fc.weight").data_ptr());
    EXPECT_TRUE(fc->weight.requires_grad()); // still a trainable parameter object
    const auto x = torch::randn({2, 3});
    EXPECT_TRUE(torch::allclose(fc(x), torch::nn::functional::linear(x, w, b)));
}

TEST(LoadParameters, ConvertsDtype)
{
    TempDir dir;
    const auto w = torch::randn({8, 8});
    saveSafeTensors(dir.file("m.safetensors"), {{"w", w}});
    const Checkpoint ck = Checkpoint::open(dir.file("m.safetensors"));
    torch::Tensor p = torch::empty({8, 8});
    loadParameters({{"w", p}}, ck, torch::kBFloat16, torch::kCPU);
    EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::equal(p, w.to(torch::kBFloat16)));
    EXPECT_NE(p.data_ptr(), ck.get("w").data_ptr()); // a converted copy
    // The converted tensor's file pages were released; the mapping still reads back the same values.
    EXPECT_TRUE(torch::equal(ck.get("w"), w));
    ck.release("w");
    EXPECT_TRUE(torch::equal(ck.get("w"), w));
    EXPECT_THROW(ck.release("nope"), Error);
    // A tensor spanning many pages: views taken before release() read the file's values again afterwards.
    const auto big = torch::randn({1 << 20});
    saveSafeTensors(dir.file("big.safetensors"), {{"a", torch::ones({3})}, {"big", big}});
    const Checkpoint bk = Checkpoint::open(dir.file("big.safetensors"));
    const torch::Tensor view = bk.get("big");
    torch::Tensor converted = torch::empty({1 << 20});
    loadParameters({{"big", converted}}, bk, torch::kBFloat16, torch::kCPU); // converts, then releases
    EXPECT_TRUE(torch::equal(view, big));
    EXPECT_TRUE(torch::equal(bk.get("a"), torch::ones({3})));
    EXPECT_TRUE(torch::equal(converted, big.to(torch::kBFloat16)));
    // bf16 file into fp32 parameters.
    saveSafeTensors(dir.file("h.safetensors"), {{"w", w.to(torch::kBFloat16)}});
    torch::Tensor q = torch::empty({8, 8});
    loadParameters({{"w", q}}, Checkpoint::open(dir.file("h.safetensors")), torch::kFloat32, torch::kCPU);
    EXPECT_EQ(q.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(q, w.to(torch::kBFloat16).to(torch::kFloat32)));
}

TEST(LoadParameters, WarnsAboutUnknownTensorsUnderOwnedPrefixes)
{
    TempDir dir;
    saveSafeTensors(dir.file("m.safetensors"), {{"llm.a", torch::ones({1})},
                                                {"llm.extra", torch::ones({1})},
                                                {"vpm.extra", torch::ones({1})},
                                                {"other.thing", torch::ones({1})}});
    const Checkpoint ck = Checkpoint::open(dir.file("m.safetensors"));
    torch::Tensor a = torch::empty({1});
    auto w = loadParameters({{"llm.a", a}}, ck, torch::kFloat32, torch::kCPU, {"llm.", "vpm."});
    ASSERT_EQ(w.size(), 2u);
    EXPECT_NE(w[0].find("unknown tensor 'llm.extra'"), std::string::npos) << w[0];
    EXPECT_NE(w[1].find("unknown tensor 'vpm.extra'"), std::string::npos) << w[1];
    w = loadParameters({{"llm.a", a}}, ck, torch::kFloat32, torch::kCPU); // default: everything is owned
    EXPECT_EQ(w.size(), 3u);
}

TEST(LoadParameters, MissingTensorAndWrongShapeLeaveTheModelUnchanged)
{
    TempDir dir;
    saveSafeTensors(dir.file("m.safetensors"), {{"vpm.pos_embed", torch::zeros({1, 576, 8})},
                                                {"vpm.norm.weight", torch::zeros({8})}});
    const Checkpoint ck = Checkpoint::open(dir.file("m.safetensors"));
    torch::Tensor pos = torch::ones({1, 729, 8});
    torch::Tensor norm = torch::ones({8});
    expectError([&] { loadParameters({{"vpm.norm.weight", norm}, {"vpm.pos_embed", pos}}, ck, torch::kFloat32,
                                     torch::kCPU); },
                ErrorCode::TensorShapeMismatch, {"tensor 'vpm.pos_embed': expected [1,729,8], file has [1,576,8]"},
                "vpm.pos_embed");
    EXPECT_TRUE(torch::equal(norm, torch::ones({8}))); // validated before anything was assigned
    torch::Tensor q = torch::ones({2});
    torch::Tensor r = torch::ones({2});
    expectError([&] { loadParameters({{"vpm.norm.weight", norm}, {"resampler.query", q}, {"resampler.proj", r}},
                                     ck, torch::kFloat32, torch::kCPU); },
                ErrorCode::TensorMissing, {"'resampler.query'", "missing", "1 more"}, "resampler.query");
    EXPECT_TRUE(torch::equal(norm, torch::ones({8})));
}

// ---- malformed files ------------------------------------------------------------------------------------------

TEST(SafeTensorsBadInput, MissingPathAndEmptyFolder)
{
    TempDir dir;
    expectError([&] { Checkpoint::open(dir.file("nothing-here")); }, ErrorCode::FileNotFound, {"nothing-here"});
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"no .safetensors"});
}

TEST(SafeTensorsBadInput, FolderWithOnlyPickleWeights)
{
    TempDir dir;
    writeText(dir.file("pytorch_model.bin"), "PK\x03\x04 pretend zip");
    writeText(dir.file("config.json"), "{}");
    // Typed PickleWeights naming the file and the conversion, so the app can offer it.
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::PickleWeights,
                {"pytorch_model.bin", "only safetensors are read", "uhdlens-cli convert"},
                dir.file("pytorch_model.bin"));
    expectError([&] { Checkpoint::open(dir.file("pytorch_model.bin")); }, ErrorCode::PickleWeights,
                {"only safetensors are read"});
    // Training state is not weights: a folder with only training_args.bin has no weights at all.
    TempDir state;
    writeText(state.file("training_args.bin"), "PK\x03\x04 pretend zip");
    expectError([&] { Checkpoint::open(state.path()); }, ErrorCode::CheckpointInvalid, {"no .safetensors"});
    // A pickle renamed to .safetensors is recognised as such (malformed safetensors, not convertible as
    // named).
    writeText(dir.file("model.safetensors"), std::string("PK\x03\x04", 4) + std::string(64, 'z'));
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid,
                {"pickle", "uhdlens-cli convert"});
}

TEST(SafeTensorsBadInput, TooShortForTheLengthField)
{
    TempDir dir;
    writeText(dir.file("a.safetensors"), "abc");
    expectError([&] { Checkpoint::open(dir.file("a.safetensors")); }, ErrorCode::CheckpointInvalid,
                {"a.safetensors", "shorter than the 8-byte"});
    writeText(dir.file("b.safetensors"), "");
    expectError([&] { Checkpoint::open(dir.file("b.safetensors")); }, ErrorCode::CheckpointInvalid, {"0 bytes"});
}

TEST(SafeTensorsBadInput, HeaderLengthPastTheEnd)
{
    TempDir dir;
    writeRaw(dir.file("a.safetensors"), "{}", "", 1000);
    expectError([&] { Checkpoint::open(dir.file("a.safetensors")); }, ErrorCode::CheckpointInvalid,
                {"header length 1000", "past the end", "10 bytes"});
    writeRaw(dir.file("b.safetensors"), "{}", "", 0xFFFFFFFFFFFFFFF0ull); // would overflow 8 + N
    expectError([&] { Checkpoint::open(dir.file("b.safetensors")); }, ErrorCode::CheckpointInvalid,
                {"exceeds the 100 MB limit"});
}

TEST(SafeTensorsBadInput, HeaderNotJsonOrNotObject)
{
    TempDir dir;
    writeRaw(dir.file("a.safetensors"), "{\"a\": [1, 2", "");
    expectError([&] { Checkpoint::open(dir.file("a.safetensors")); }, ErrorCode::CheckpointInvalid,
                {"a.safetensors", "not valid JSON"});
    writeRaw(dir.file("b.safetensors"), "[1, 2, 3]", "");
    expectError([&] { Checkpoint::open(dir.file("b.safetensors")); }, ErrorCode::CheckpointInvalid,
                {"not an object", "array"});
    writeRaw(dir.file("c.safetensors"), "", "");
    expectError([&] { Checkpoint::open(dir.file("c.safetensors")); }, ErrorCode::CheckpointInvalid,
                {"not valid JSON"});
}

TEST(SafeTensorsBadInput, EntryFields)
{
    TempDir dir;
    const std::string data(64, '\0');
    struct Case
    {
        std::string header;
        ErrorCode code;
        std::vector<std::string> needles;
        std::string subject;
    };
    const std::vector<Case> cases = {
        {R"({"w": {"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 8]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "unknown or unsupported dtype 'Q4_K'"}, "w"},
        {R"({"w": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "'U16'"}, "w"},
        {R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", ErrorCode::CheckpointInvalid, {"tensor 'w'", "'dtype'"}, "w"},
        {R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", ErrorCode::CheckpointInvalid, {"tensor 'w'", "'shape'"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "negative"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "non-integer"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 8]}})",
         ErrorCode::CheckpointInvalid, {"tensor 'w'", "overflows"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [2]}})", ErrorCode::CheckpointInvalid, {"tensor 'w'", "data_offsets"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "data_offsets"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "end before they begin"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [60, 68]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "outside the data section", "64 bytes"}, "w"},
        {R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "F32 [3] needs 12 bytes but data_offsets span 8"}, "w"},
        {R"({"w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 16]}})", ErrorCode::CheckpointInvalid,
         {"tensor 'w'", "BF16 [2,2] needs 8 bytes"}, "w"},
        {R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
             "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
         ErrorCode::CheckpointInvalid, {"'a' and 'b' overlap"}, "b"},
        {R"({"w": 5})", ErrorCode::CheckpointInvalid, {"tensor 'w'", "not an object"}, "w"},
        {R"({"__metadata__": {"format": 1}})", ErrorCode::CheckpointInvalid, {"__metadata__ entry 'format'"}, "format"},
        {R"({"__metadata__": [1]})", ErrorCode::CheckpointInvalid, {"__metadata__"}, "__metadata__"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].header);
        const std::string path = dir.file("case" + std::to_string(i) + ".safetensors");
        writeRaw(path, cases[i].header, data);
        try {
            Checkpoint::open(path);
            ADD_FAILURE() << "opened";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), cases[i].code) << e.what();
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what(); // names the file
            for (const auto &n : cases[i].needles)
                EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
            EXPECT_EQ(e.subject(), cases[i].subject);
        }
    }
    // Zero-sized tensors may share an offset with anything; gaps are tolerated.
    writeRaw(dir.file("ok.safetensors"),
             R"({"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]},
                 "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                 "v": {"dtype": "I8", "shape": [4], "data_offsets": [16, 20]}})",
             data);
    const Checkpoint ck = Checkpoint::open(dir.file("ok.safetensors"));
    EXPECT_EQ(ck.get("e").sizes(), torch::IntArrayRef({0, 3}));
    EXPECT_EQ(ck.get("v").numel(), 4);
}

TEST(SafeTensorsBadInput, TruncatedFile)
{
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    saveSafeTensors(path, {{"a", torch::ones({64})}, {"b", torch::ones({64})}});
    const std::string raw = readAll(path);
    writeText(path, raw.substr(0, raw.size() - 10));
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid,
                {"model.safetensors", "outside the data section", "truncated"}, "b");
    writeText(path, raw.substr(0, 20)); // cut inside the header
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"past the end"});
}

TEST(SafeTensorsBadInput, MisalignedDataIsCopiedNotViewed)
{
    TempDir dir;
    // A writer that did not pad its header: the F32 data starts at an odd address.
    std::string data(1, '\0');
    const float v[2] = {1.5f, -2.0f};
    data.append(reinterpret_cast<const char *>(v), 8);
    writeRaw(dir.file("m.safetensors"),
             R"({"pad": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
                 "w": {"dtype": "F32", "shape": [2], "data_offsets": [1, 9]}})",
             data);
    const Checkpoint ck = Checkpoint::open(dir.file("m.safetensors"));
    const torch::Tensor w = ck.get("w");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data_ptr()) % 4, 0u);
    EXPECT_FLOAT_EQ(w[0].item<float>(), 1.5f);
    EXPECT_FLOAT_EQ(w[1].item<float>(), -2.0f);
}

TEST(SafeTensorsBadInput, ShardIndexProblems)
{
    TempDir dir;
    saveSafeTensors(dir.file("s1.safetensors"), {{"a", torch::ones({2})}});
    const std::string idx = dir.file("model.safetensors.index.json");
    writeText(idx, R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::FileNotFound, {"'s2.safetensors'", "does not exist"});
    writeText(idx, R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors"}})");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid,
                {"tensor 'b'", "'s1.safetensors'", "does not contain it"}, "b");
    writeText(idx, R"({"weight_map": {"a": "../s1.safetensors"}})");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"bad file name"}, "a");
    writeText(idx, R"({"weight_map": {"a": 3}})");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"'a'", "not a file name"}, "a");
    writeText(idx, R"({"metadata": {}})");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"weight_map"}, "weight_map");
    writeText(idx, "{ not json");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"index", "not valid JSON"});
    writeText(idx, R"({"weight_map": {}})");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::CheckpointInvalid, {"lists no tensors"});
    writeText(dir.file("pytorch_model-00001.bin"), "x");
    writeText(idx, R"({"weight_map": {"a": "pytorch_model-00001.bin"}})");
    expectError([&] { Checkpoint::open(dir.path()); }, ErrorCode::PickleWeights, {"only safetensors"});
}

TEST(SafeTensorsBadInput, MissingTensorLookup)
{
    TempDir dir;
    saveSafeTensors(dir.file("m.safetensors"), {{"a", torch::ones({2})}});
    const Checkpoint ck = Checkpoint::open(dir.file("m.safetensors"));
    expectError([&] { ck.info("llm.lm_head.weight"); }, ErrorCode::TensorMissing, {"'llm.lm_head.weight'"},
                "llm.lm_head.weight");
    expectError([&] { ck.get("zzz"); }, ErrorCode::TensorMissing, {"'zzz'"}, "zzz");
}

TEST(SafeTensorsBadInput, RandomCorruptionNeverCrashes)
{
    // Flip random bytes of a valid file's header region (and sometimes its length): every outcome is either
    // a successful open whose tensors are readable, or an uhdlens::Error.
    TempDir dir;
    const std::string good = dir.file("good.safetensors");
    saveSafeTensors(good, {{"a", torch::randn({3, 4})}, {"b", torch::randn({5}).to(torch::kBFloat16)},
                           {"c", torch::arange(0, 7)}}, {{"k", "v"}});
    const std::string raw = readAll(good);
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, raw.data(), 8);
    std::mt19937 rng(123);
    int opened = 0, rejected = 0;
    const std::string path = dir.file("fuzz.safetensors");
    for (int iter = 0; iter < 400; ++iter) {
        std::string m = raw;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            const size_t pos = rng() % (8 + headerLen);
            const char pool[] = "0123456789[]{}\",:-.eE \x00\xff";
            m[pos] = pool[rng() % (sizeof(pool) - 1)];
        }
        if (rng() % 5 == 0)
            m.resize(rng() % m.size());
        writeText(path, m);
        try {
            const Checkpoint ck = Checkpoint::open(path);
            for (const auto &n : ck.names())
                (void)ck.get(n).sum().item<double>();
            ++opened;
        } catch (const Error &) {
            ++rejected;
        }
    }
    EXPECT_GT(rejected, 0);
    EXPECT_EQ(opened + rejected, 400);
}
