// GGUF reader (core/src/gguf/): every metadata value type of a gguf-py GGUFWriter file against the values the
// fixture script recorded, malformed files built byte by byte (each a CheckpointInvalid naming the key or
// tensor, never a crash), typed metadata lookups, the LLaMA Q/K row permutation against the converter's
// formula, the llama.cpp -> HF tensor-name table, the mmproj vision config, and tokenizer metadata errors.
// Fixtures: tests/data/reference/gguf (tools/reference/gguf_fixture.py).
#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
#include "gguf/gguf_pair.h"
#include "gguf/gguf_torch.h"
#include "models/minicpmv26_vision.h"

#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace uhdlens;
using namespace uhdlens::gguf;
using nlohmann::json;

namespace {

const std::string kDir = std::string(UHDLENS_TEST_DATA) + "/reference/gguf";

// --- a GGUF writer for hand-made files
// -------------------------------------------------------------------------

struct Bytes
{
    std::vector<uint8_t> b;
    template <class T> Bytes &put(T v)
    {
        const auto *p = reinterpret_cast<const uint8_t *>(&v);
        b.insert(b.end(), p, p + sizeof(T));
        return *this;
    }
    Bytes &str(const std::string &s)
    {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes &raw(const Bytes &o)
    {
        b.insert(b.end(), o.b.begin(), o.b.end());
        return *this;
    }
};

struct TensorSpec
{
    std::string name;
    uint32_t type;
    std::vector<int64_t> ne;
    uint64_t offset;
};

struct FileSpec
{
    uint32_t version = 3;
    std::vector<std::pair<std::string, Bytes>> kv; // key -> (type + value bytes)
    std::vector<TensorSpec> tensors;
    uint64_t alignment = 32;
    uint64_t dataBytes = 0;
    std::optional<uint64_t> tensorCount, kvCount; // override the counts
};

Bytes u32Value(uint32_t v)
{
    return Bytes().put<uint32_t>(4).put<uint32_t>(v);
}
Bytes stringValue(const std::string &s)
{
    Bytes b;
    b.put<uint32_t>(8).str(s);
    return b;
}

// A valid file: two KV pairs and two tensors, F32 [4,2] at 0 and F16 [8] at 32, data filled with a pattern.
FileSpec goodSpec()
{
    FileSpec f;
    f.kv = {{"general.architecture", stringValue("test")}, {"general.alignment", u32Value(32)}};
    f.tensors = {{"a", 0, {4, 2}, 0}, {"b", 1, {8}, 32}};
    f.dataBytes = 48;
    return f;
}

std::vector<uint8_t> build(const FileSpec &f)
{
    Bytes b;
    b.b = {'G', 'G', 'U', 'F'};
    b.put<uint32_t>(f.version);
    b.put<uint64_t>(f.tensorCount.value_or(f.tensors.size()));
    b.put<uint64_t>(f.kvCount.value_or(f.kv.size()));
    for (const auto &[k, v] : f.kv)
        b.str(k).raw(v);
    for (const auto &t : f.tensors) {
        b.str(t.name).put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne)
            b.put<int64_t>(d);
        b.put<uint32_t>(t.type).put<uint64_t>(t.offset);
    }
    while (b.b.size() % f.alignment)
        b.b.push_back(0);
    for (uint64_t i = 0; i < f.dataBytes; ++i)
        b.b.push_back(static_cast<uint8_t>(i * 7 + 1));
    return b.b;
}

GgufHeader parse(const std::vector<uint8_t> &bytes)
{
    // An exact-size heap copy, so AddressSanitizer builds see any read past the end.
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() ? bytes.size() : 1]);
    if (!bytes.empty())
        std::memcpy(copy.get(), bytes.data(), bytes.size());
    return parseGgufHeader(copy.get(), bytes.size(), "t.gguf");
}

// Expects CheckpointInvalid whose message contains each of `parts`, and subject() == subject when given.
void expectInvalid(const std::vector<uint8_t> &bytes, std::vector<std::string> parts,
                   const std::string &subject = {})
{
    try {
        parse(bytes);
        FAIL() << "accepted; expected an error containing '" << parts.front() << "'";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid) << e.what();
        for (const auto &p : parts)
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
                << "message: " << e.what() << "\nlacks: " << p;
        if (!subject.empty()) {
            EXPECT_EQ(e.subject(), subject) << e.what();
        }
    }
}

} // namespace

// --- valid files
// ------------------------------------------------------------------------------------------------

TEST(GgufHeader, HandMadeFileParses)
{
    const auto bytes = build(goodSpec());
    const GgufHeader h = parse(bytes);
    EXPECT_EQ(h.version, 3u);
    EXPECT_EQ(h.alignment, 32u);
    EXPECT_EQ(h.dataStart % 32, 0u);
    EXPECT_EQ(h.dataStart + 48, bytes.size());
    ASSERT_EQ(h.tensors.size(), 2u);
    EXPECT_EQ(h.tensors[0].bytes, 32u);
    EXPECT_EQ(h.tensors[0].shape(), (std::vector<int64_t>{2, 4}));
    EXPECT_EQ(h.tensors[1].type, quant::GgmlType::F16);
    EXPECT_EQ(h.meta.getString("general.architecture"), "test");
    FileSpec v2 = goodSpec();
    v2.version = 2;
    EXPECT_EQ(parse(build(v2)).version, 2u);
}

TEST(GgufHeader, MetadataOfEveryValueTypeMatchesTheWriter)
{
    std::ifstream mf(kDir + "/manifest.json");
    const json manifest = json::parse(mf);
    const GgufFile f = GgufFile::open(kDir + "/metadata-all.gguf");
    const Metadata &m = f.meta();
    EXPECT_EQ(f.header().alignment, 64u);
    EXPECT_EQ(f.header().dataStart % 64, 0u);
    int checked = 0;
    for (const auto &[key, e] : manifest["metadata_all"]["metadata"].items()) {
        SCOPED_TRACE(key);
        const Value *v = m.find(key);
        ASSERT_NE(v, nullptr);
        const std::string type = e["type"];
        const json &val = e["value"];
        if (type == "string") {
            EXPECT_EQ(m.getString(key), val.get<std::string>());
        } else if (type == "bool") {
            EXPECT_EQ(m.getBool(key), val.get<bool>());
        } else if (type == "float32") {
            EXPECT_EQ(m.getF32(key), val.get<float>());
        } else if (type == "float64") {
            EXPECT_EQ(v->f, val.get<double>());
        } else if (type == "array") {
            const std::string et = e["element_type"];
            EXPECT_EQ(v->count, val.size());
            if (et == "string") {
                EXPECT_EQ(m.getStringArray(key), val.get<std::vector<std::string>>());
            } else if (et == "float32" || et == "float64") {
                const auto got = m.getF32Array(key);
                ASSERT_EQ(got.size(), val.size());
                for (size_t i = 0; i < got.size(); ++i)
                    EXPECT_EQ(got[i], static_cast<float>(val[i].get<double>())) << i;
            } else if (et == "bool") {
                ASSERT_EQ(v->raw.size(), val.size());
                for (size_t i = 0; i < val.size(); ++i)
                    EXPECT_EQ(v->raw[i] != 0, val[i].get<bool>()) << i;
            } else if (et == "uint64" || et == "int64") {
                ASSERT_EQ(v->raw.size(), 8 * val.size());
                for (size_t i = 0; i < val.size(); ++i) {
                    uint64_t x;
                    std::memcpy(&x, v->raw.data() + 8 * i, 8);
                    if (et == "uint64") {
                        EXPECT_EQ(x, val[i].get<uint64_t>()) << i;
                    } else {
                        EXPECT_EQ(static_cast<int64_t>(x), val[i].get<int64_t>()) << i;
                    }
                }
            } else if (et == "uint32") {
                EXPECT_THROW(m.getI32Array(key), Error); // 4294967295 does not fit i32
            } else {
                const auto got = m.getI32Array(key);
                EXPECT_EQ(std::vector<int64_t>(got.begin(), got.end()), val.get<std::vector<int64_t>>());
            }
        } else if (type.rfind("uint", 0) == 0) {
            EXPECT_EQ(m.getU64(key), val.get<uint64_t>());
        } else {
            EXPECT_EQ(v->i, val.get<int64_t>());
        }
        ++checked;
    }
    EXPECT_GE(checked, 26);
    // tensors: F32 / F16 / BF16 values and I32 raw
    for (const auto &[name, t] : manifest["metadata_all"]["tensors"].items()) {
        SCOPED_TRACE(name);
        const GgufTensorInfo *info = f.header().findTensor(name);
        ASSERT_NE(info, nullptr);
        EXPECT_EQ(info->shape(), t["shape"].get<std::vector<int64_t>>());
        EXPECT_EQ(std::string(quant::ggmlTypeInfo(info->type).name), t["type"].get<std::string>());
        const auto want = t["values"].get<std::vector<double>>();
        if (t["type"] == "I32") {
            EXPECT_THROW(f.tensor(name), Error); // I32 is not a type UHD Lens computes with
            continue;
        }
        const torch::Tensor got = floatTensor(f, name).to(torch::kFloat64).reshape({-1});
        ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
        for (size_t i = 0; i < want.size(); ++i)
            EXPECT_EQ(got[i].item<double>(), static_cast<double>(static_cast<float>(want[i]))) << i;
    }
}

TEST(GgufMetadata, TypedLookupsNameTheKey)
{
    const GgufFile f = GgufFile::open(kDir + "/metadata-all.gguf");
    const Metadata &m = f.meta();
    EXPECT_EQ(m.getU32("test.u8"), 200u);
    EXPECT_EQ(m.getI32("test.i16"), -30000);
    EXPECT_EQ(m.getU32("test.u32"), 4000000000u);
    auto expectConfigError = [](auto fn, const std::string &key, const std::string &part) {
        try {
            fn();
            FAIL() << "no error for " << key;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
            EXPECT_EQ(e.subject(), key);
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    };
    expectConfigError([&] { m.getString("no.such.key"); }, "no.such.key", "no metadata key 'no.such.key'");
    expectConfigError([&] { m.getU32("test.string"); }, "test.string", "is string, expected");
    expectConfigError([&] { m.getU32("test.i8"); }, "test.i8", "is i8"); // negative: no unsigned fits
    expectConfigError([&] { m.getI32("test.u32"); }, "test.u32", "is u32");
    expectConfigError([&] { m.getBool("test.u8"); }, "test.u8", "expected a bool");
    expectConfigError([&] { m.getF32("test.i32"); }, "test.i32", "expected a float");
    expectConfigError([&] { m.getStringArray("test.arr.i32"); }, "test.arr.i32", "array of i32");
    expectConfigError([&] { m.getI32Array("test.arr.string"); }, "test.arr.string", "array of string");
    EXPECT_FALSE(m.optU32("absent").has_value());
    EXPECT_EQ(m.optU32("test.u16").value(), 60000u);
}

// --- malformed files
// --------------------------------------------------------------------------------------------

TEST(GgufMalformed, EveryTruncationIsRefused)
{
    const auto bytes = build(goodSpec());
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        std::vector<uint8_t> part(bytes.begin(), bytes.begin() + cut);
        EXPECT_THROW(
            {
                try {
                    parse(part);
                } catch (const Error &e) {
                    EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid);
                    EXPECT_NE(std::string(e.what()).find("t.gguf"), std::string::npos);
                    throw;
                }
            },
            Error);
    }
    // And the real converter's files, cut at many points.
    std::ifstream in(kDir + "/qwen3-f16.gguf", std::ios::binary);
    const std::vector<uint8_t> real((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GT(real.size(), 100000u);
    for (size_t cut = 0; cut < real.size(); cut += cut < 4096 ? 1 : 997) {
        std::vector<uint8_t> part(real.begin(), real.begin() + cut);
        EXPECT_THROW(parse(part), Error) << "cut at " << cut;
    }
}

TEST(GgufMalformed, MagicAndVersion)
{
    auto b = build(goodSpec());
    b[0] = 'X';
    expectInvalid(b, {"not a GGUF file"});
    expectInvalid({}, {"not a GGUF file"});
    FileSpec f = goodSpec();
    f.version = 1;
    expectInvalid(build(f), {"version 1", "not supported"});
    f.version = 4;
    expectInvalid(build(f), {"unsupported GGUF version 4"});
}

TEST(GgufMalformed, HugeCountsAndLengths)
{
    FileSpec f = goodSpec();
    f.tensorCount = ~0ull;
    expectInvalid(build(f), {"tensor count 18446744073709551615 cannot fit"});
    f = goodSpec();
    f.kvCount = uint64_t(1) << 60;
    expectInvalid(build(f), {"metadata count", "cannot fit"});
    // a key length past the end
    f = goodSpec();
    auto b = build(f);
    const uint64_t huge = ~0ull - 3;
    std::memcpy(b.data() + 24, &huge, 8); // first key's length
    expectInvalid(b, {"metadata key #0 has length 18446744073709551612"});
    // a string value longer than the file
    f = goodSpec();
    f.kv.push_back({"big.string", Bytes().put<uint32_t>(8).put<uint64_t>(uint64_t(1) << 62)});
    expectInvalid(build(f), {"'big.string' has length"}, "big.string");
    // array lengths: numeric and of strings
    f = goodSpec();
    f.kv.push_back({"big.array", Bytes().put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(uint64_t(1) << 61)});
    expectInvalid(build(f), {"array 'big.array' has length 2305843009213693952"}, "big.array");
    f = goodSpec();
    f.kv.push_back({"big.strings", Bytes().put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(~0ull)});
    expectInvalid(build(f), {"array 'big.strings' has length"}, "big.strings");
    // a tensor name length past the end
    f = goodSpec();
    f.tensors[0].name = std::string(10, 'x');
    b = build(f);
    const auto at =
        std::search(b.begin(), b.end(), f.tensors[0].name.begin(), f.tensors[0].name.end()) - b.begin();
    std::memcpy(b.data() + at - 8, &huge, 8);
    expectInvalid(b, {"the name of tensor #0 has length"});
}

TEST(GgufMalformed, ValueTypes)
{
    FileSpec f = goodSpec();
    f.kv.push_back({"odd.type", Bytes().put<uint32_t>(13).put<uint32_t>(0)});
    expectInvalid(build(f), {"'odd.type' has unknown value type 13"}, "odd.type");
    f = goodSpec();
    f.kv.push_back({"nested", Bytes().put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1)});
    expectInvalid(build(f), {"nested arrays are not supported"}, "nested");
    f = goodSpec();
    f.kv.push_back({"arr.odd", Bytes().put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(1)});
    expectInvalid(build(f), {"unknown element type 77"}, "arr.odd");
    f = goodSpec();
    f.kv.push_back({"flag", Bytes().put<uint32_t>(7).put<uint8_t>(2)});
    expectInvalid(build(f), {"bool value of 'flag' is 2"}, "flag");
    f = goodSpec();
    f.kv.push_back({"general.architecture", stringValue("again")});
    expectInvalid(build(f), {"duplicate metadata key 'general.architecture'", "at byte"},
                  "general.architecture");
    // an empty array is valid (gguf-py refuses to write one; the format allows it)
    f = goodSpec();
    f.kv.push_back({"empty", Bytes().put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(0)});
    EXPECT_EQ(parse(build(f)).meta.find("empty")->count, 0u);
}

TEST(GgufMalformed, Alignment)
{
    FileSpec f = goodSpec();
    f.kv[1].second = u32Value(48);
    expectInvalid(build(f), {"general.alignment 48 is not a power of two"}, "general.alignment");
    f.kv[1].second = u32Value(0);
    expectInvalid(build(f), {"general.alignment 0 is not a power of two"});
    f.kv[1].second = Bytes().put<uint32_t>(10).put<uint64_t>(32);
    expectInvalid(build(f), {"general.alignment is u64, expected u32"});
    f = goodSpec();
    f.tensors[1].offset = 40;
    f.dataBytes = 64;
    expectInvalid(build(f), {"tensor 'b' has offset 40, not a multiple of the alignment 32"}, "b");
    // alignment 64: offset 32 is now misaligned
    f = goodSpec();
    f.kv[1].second = u32Value(64);
    f.alignment = 64;
    expectInvalid(build(f), {"offset 32, not a multiple of the alignment 64"}, "b");
}

TEST(GgufMalformed, TensorInfos)
{
    FileSpec f = goodSpec();
    f.tensors[1].offset = 64; // past the 48-byte data section
    expectInvalid(build(f), {"tensor 'b'", "runs past the end of the file"}, "b");
    f = goodSpec();
    f.tensors[1].offset = ~0ull & ~uint64_t(31);
    expectInvalid(build(f), {"runs past the end"}, "b");
    f = goodSpec();
    f.tensors[1].type = 99;
    expectInvalid(build(f), {"tensor 'b' has unknown ggml type id 99"}, "b");
    f.tensors[1].type = 4; // Q4_2, retired from ggml
    expectInvalid(build(f), {"unknown ggml type id 4"}, "b");
    f = goodSpec();
    f.tensors[0].ne = {};
    expectInvalid(build(f), {"tensor 'a' has n_dims 0"}, "a");
    f.tensors[0].ne = {1, 1, 1, 1, 8};
    expectInvalid(build(f), {"tensor 'a' has n_dims 5"}, "a");
    f = goodSpec();
    f.tensors[0].ne = {int64_t(1) << 40, int64_t(1) << 40};
    expectInvalid(build(f), {"tensor 'a': the element count overflows"}, "a");
    f.tensors[0].ne = {int64_t(1) << 31, int64_t(1) << 31}; // 2^62 elements x 4 bytes overflows
    expectInvalid(build(f), {"tensor 'a': the byte count of F32 overflows"}, "a");
    f.tensors[0].ne = {-4, 2};
    expectInvalid(build(f), {"negative dim -4"}, "a");
    f = goodSpec();
    f.tensors[0].type = 2; // Q4_0 with a 4-value row
    expectInvalid(build(f), {"row length ne[0] = 4 is not a multiple of Q4_0's block of 32"}, "a");
    f = goodSpec();
    f.tensors[1].name = "a";
    expectInvalid(build(f), {"duplicate tensor name 'a'"}, "a");
    f = goodSpec();
    f.tensors[1].offset = 0; // overlaps 'a'
    expectInvalid(build(f), {"overlap"});
    // Found by fuzzing: an empty tensor between two overlapping ones (in offset order) hid the overlap,
    // because only neighbours were compared. 'a' [0, 32), empty 'e' at 8, 'b' [16, 32).
    f = goodSpec();
    f.kv[1].second = u32Value(8);
    f.alignment = 8;
    f.tensors = {{"a", 0, {4, 2}, 0}, {"e", 0, {0, 4}, 8}, {"b", 1, {8}, 16}};
    expectInvalid(build(f), {"tensors 'a' and 'b' overlap"}, "b");
    f.tensors[2].offset = 32; // no overlap: the empty tensor is fine anywhere in the data section
    EXPECT_NO_THROW(parse(build(f)));
}

TEST(GgufMalformed, UnsupportedTypeIsRefusedByName)
{
    FileSpec f = goodSpec();
    f.tensors[0] = {"q", 10, {256}, 0}; // Q2_K: 84 bytes
    f.tensors[1].offset = 96;
    f.dataBytes = 112;
    const auto bytes = build(f);
    const fs::path p =
        fs::temp_directory_path() / ("uhdlens-gguf-q2k-" + std::to_string(::getpid()) + ".gguf");
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    const GgufFile file = GgufFile::open(p.string());
    EXPECT_EQ(file.header().findTensor("q")->bytes, 84u); // described, not refused
    try {
        file.tensor("q");
        FAIL() << "Q2_K accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid);
        EXPECT_EQ(e.subject(), "q");
        EXPECT_NE(std::string(e.what()).find("type Q2_K"), std::string::npos) << e.what();
    }
    EXPECT_EQ(file.tensor("b").size, 16u);
    EXPECT_EQ(quant::ggmlTypeInfo(39)->name, "MXFP4"); // a newer type is described by name, not "unknown id"
    try {
        file.tensor("zz");
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::TensorMissing);
    }
    fs::remove(p);
    EXPECT_THROW(GgufFile::open(p.string()), Error);
}

// --- LLaMA row permutation
// --------------------------------------------------------------------------------------

namespace {
// convert_hf_to_gguf.py's LlamaModel.permute, written with torch the way the converter writes it.
torch::Tensor converterPermute(const torch::Tensor &w, int64_t nHead, int64_t nHeadKv)
{
    const int64_t n = nHeadKv != nHead ? nHeadKv : nHead;
    std::vector<int64_t> shape{n, 2, w.size(0) / n / 2};
    for (int64_t d = 1; d < w.dim(); ++d)
        shape.push_back(w.size(d));
    return w.reshape(shape).transpose(1, 2).reshape(w.sizes());
}
} // namespace

TEST(GgufPermute, MatchesTheConverterAndInvertsIt)
{
    torch::manual_seed(0);
    for (const auto &[rows, cols, heads, kv] : std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{
             {32, 8, 4, 4}, {16, 8, 4, 2}, {24, 5, 3, 3}, {12, 1, 6, 6}}) {
        SCOPED_TRACE("rows " + std::to_string(rows) + " heads " + std::to_string(kv));
        const torch::Tensor w = torch::randn({rows, cols});
        const torch::Tensor want = converterPermute(w, heads, kv).contiguous();
        const uint64_t rowBytes = cols * 4;
        const auto fwd =
            permuteLlamaRows(static_cast<const uint8_t *>(w.data_ptr()), rows, rowBytes, kv, "w");
        ASSERT_EQ(std::memcmp(fwd.data(), want.data_ptr(), fwd.size()), 0);
        const auto back = unpermuteLlamaRows(fwd.data(), rows, rowBytes, kv, "w");
        EXPECT_EQ(std::memcmp(back.data(), w.data_ptr(), back.size()), 0);
    }
    // Whole rows of any byte width (a Q4_0 row of 32 values is 18 bytes) move intact.
    std::vector<uint8_t> q(8 * 18);
    std::mt19937 rng(1);
    for (auto &x : q)
        x = static_cast<uint8_t>(rng());
    const auto p = permuteLlamaRows(q.data(), 8, 18, 2, "q");
    EXPECT_NE(p, q);
    EXPECT_EQ(unpermuteLlamaRows(p.data(), 8, 18, 2, "q"), q);
    EXPECT_THROW(unpermuteLlamaRows(q.data(), 8, 18, 3, "q"), Error); // 8 rows are not 3 heads
    EXPECT_THROW(unpermuteLlamaRows(q.data(), 6, 18, 2, "q"), Error); // 3 rows a head: odd
}

// --- tensor names
// -----------------------------------------------------------------------------------------------

TEST(GgufNames, LlmTable)
{
    auto hf = [](std::string_view n, std::string_view arch = "qwen2") {
        const auto m = mapTensorName(FileKind::Llm, n, arch);
        return m ? m->hf : std::string("<none>");
    };
    EXPECT_EQ(hf("token_embd.weight"), "model.embed_tokens.weight");
    EXPECT_EQ(hf("output.weight"), "lm_head.weight");
    EXPECT_EQ(hf("output_norm.weight"), "model.norm.weight");
    EXPECT_EQ(hf("blk.0.attn_q.bias"), "model.layers.0.self_attn.q_proj.bias");
    EXPECT_EQ(hf("blk.27.attn_output.weight"), "model.layers.27.self_attn.o_proj.weight");
    EXPECT_EQ(hf("blk.3.ffn_norm.weight"), "model.layers.3.post_attention_layernorm.weight");
    EXPECT_EQ(hf("blk.3.attn_k_norm.weight"), "model.layers.3.self_attn.k_norm.weight");
    EXPECT_EQ(hf("blk.10.ffn_down.weight"), "model.layers.10.mlp.down_proj.weight");
    EXPECT_EQ(hf("blk.x.ffn_down.weight"), "<none>");
    EXPECT_EQ(hf("blk.01.ffn_down.weight"), "<none>");
    EXPECT_EQ(hf("blk.1"), "<none>");
    EXPECT_EQ(hf("v.blk.0.attn_q.weight"), "<none>"); // an mmproj name in an LLM file
    EXPECT_EQ(mapTensorName(FileKind::Llm, "blk.0.attn_q.weight", "qwen2")->transform, Transform::None);
    EXPECT_EQ(mapTensorName(FileKind::Llm, "blk.0.attn_q.weight", "llama")->transform,
              Transform::LlamaPermuteQ);
    EXPECT_EQ(mapTensorName(FileKind::Llm, "blk.0.attn_k.weight", "llama")->transform,
              Transform::LlamaPermuteK);
    EXPECT_EQ(mapTensorName(FileKind::Llm, "blk.0.attn_v.weight", "llama")->transform, Transform::None);
}

TEST(GgufNames, EveryMmprojTensorOfTheConverterLayoutMaps)
{
    const GgufFile f = GgufFile::open(kDir + "/mmproj-minicpmv.gguf");
    int derived = 0, split = 0;
    for (const GgufTensorInfo &t : f.tensors()) {
        const auto m = mapTensorName(FileKind::Mmproj, t.name);
        ASSERT_TRUE(m.has_value()) << t.name;
        derived += m->transform == Transform::Derived;
        split += m->transform == Transform::InProjQ || m->transform == Transform::InProjK ||
                 m->transform == Transform::InProjV;
        if (m->transform != Transform::Derived) {
            EXPECT_TRUE(m->hf.rfind("vpm.", 0) == 0 || m->hf.rfind("resampler.", 0) == 0) << m->hf;
        }
    }
    EXPECT_EQ(derived, 0); // the fixture script drops resampler.pos_embed_k (2.5 MB)
    EXPECT_EQ(split, 6);
    EXPECT_EQ(mapTensorName(FileKind::Mmproj, "resampler.pos_embed_k")->transform, Transform::Derived);
    EXPECT_EQ(mapTensorName(FileKind::Mmproj, "v.blk.1.ffn_down.weight")->hf,
              "vpm.encoder.layers.1.mlp.fc1.weight");
    EXPECT_EQ(mapTensorName(FileKind::Mmproj, "resampler.proj.weight")->transform, Transform::Transpose);
    EXPECT_FALSE(mapTensorName(FileKind::Mmproj, "token_embd.weight").has_value());
}

// --- model facts
// ------------------------------------------------------------------------------------------------

TEST(GgufModel, MmprojVisionConfigFeedsTheMiniCpmV26Reader)
{
    const GgufFile f = GgufFile::open(kDir + "/mmproj-minicpmv.gguf");
    const json c = mmprojVisionConfigJson(f.header());
    EXPECT_EQ(c["hidden_size"], 128);
    EXPECT_EQ(c["query_num"], 16);
    EXPECT_EQ(c["vision_config"]["image_size"], 70); // 5x5 positions of 14 px
    EXPECT_EQ(c["vision_config"]["num_hidden_layers"], 2);
    EXPECT_EQ(c["scale_resolution"], 448);
    const models::MiniCpmV26Vision v = models::readMiniCpmV26Vision(c);
    EXPECT_EQ(v.vision.dim, 32);
    EXPECT_EQ(v.vision.heads, 4);
    EXPECT_EQ(v.vision.mlpDim, 48);
    EXPECT_EQ(v.vision.layers, 2); // the file holds the layers used: nothing dropped
    EXPECT_EQ(v.tokensPerImage, 16);
    EXPECT_EQ(v.resampler.dim, 128);
    // An LLM file is not an mmproj file and vice versa.
    const GgufFile llm = GgufFile::open(kDir + "/qwen2-bf16.gguf");
    try {
        mmprojVisionConfigJson(llm.header());
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::UnknownFamily);
        EXPECT_NE(std::string(e.what()).find("not an mmproj file"), std::string::npos);
    }
    try {
        llmConfigJson(f.header());
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::UnknownFamily);
        EXPECT_NE(std::string(e.what()).find("architecture 'clip'"), std::string::npos) << e.what();
    }
}

namespace {
// `h` with the value of `key` replaced (or removed when v is null).
GgufHeader withValue(GgufHeader h, const std::string &key, const Value *v)
{
    Metadata m;
    m.setSource(h.meta.source());
    for (const auto &[k, old] : h.meta.entries())
        if (k != key)
            m.add(k, old, 0);
    if (v)
        m.add(key, *v, 0);
    h.meta = m;
    return h;
}
Value stringV(const std::string &s)
{
    Value v;
    v.type = ValueType::String;
    v.str = s;
    return v;
}
Value i32V(int32_t x)
{
    Value v;
    v.type = ValueType::I32;
    v.i = x;
    return v;
}
} // namespace

TEST(GgufModel, MmprojRefusals)
{
    const GgufHeader h = GgufFile::open(kDir + "/mmproj-minicpmv.gguf").header();
    auto expectCode = [](const GgufHeader &x, ErrorCode code, const std::string &subject,
                         const std::string &part) {
        try {
            mmprojVisionConfigJson(x);
            FAIL() << "accepted; expected " << part;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), code) << e.what();
            EXPECT_EQ(e.subject(), subject) << e.what();
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    };
    const Value mlp = stringV("mlp");
    expectCode(withValue(h, "clip.projector_type", &mlp), ErrorCode::UnknownFamily, "clip.projector_type",
               "projector type 'mlp' is not supported");
    const Value v2 = i32V(2);
    expectCode(withValue(h, "clip.minicpmv_version", &v2), ErrorCode::UnknownFamily, "clip.minicpmv_version",
               "version 2 is not supported");
    expectCode(withValue(h, "clip.vision.patch_size", nullptr), ErrorCode::ConfigInvalid,
               "clip.vision.patch_size", "no metadata key 'clip.vision.patch_size'");
    expectCode(withValue(h, "clip.vision.image_mean", nullptr), ErrorCode::ConfigInvalid,
               "clip.vision.image_mean", "no metadata key");
    const Value three = [] {
        Value v;
        v.type = ValueType::U32;
        v.u = 3;
        return v;
    }();
    expectCode(withValue(h, "clip.vision.block_count", &three), ErrorCode::ConfigInvalid,
               "v.blk.2.attn_q.weight", "no tensor 'v.blk.2.attn_q.weight'");
}

TEST(GgufModel, LlmConfigRefusals)
{
    const GgufHeader h = GgufFile::open(kDir + "/qwen2-bf16.gguf").header();
    const Value gemma = stringV("gemma");
    try {
        llmConfigJson(withValue(h, "general.architecture", &gemma));
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::UnknownFamily);
        EXPECT_NE(std::string(e.what()).find("'gemma' is not supported"), std::string::npos) << e.what();
    }
    try {
        llmConfigJson(withValue(h, "qwen2.block_count", nullptr));
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
        EXPECT_EQ(e.subject(), "qwen2.block_count");
    }
    const Value yarn = stringV("yarn");
    try {
        llmConfigJson(withValue(h, "qwen2.rope.scaling.type", &yarn));
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.subject(), "qwen2.rope.scaling.type");
    }
}

// --- tokenizer metadata
// ------------------------------------------------------------------------------------------

TEST(GgufTokenizer, Refusals)
{
    const GgufHeader h = GgufFile::open(kDir + "/vocab-qwen2.gguf").header();
    auto expectTok = [](const Metadata &m, const std::string &subject, const std::string &part) {
        try {
            ggufBpeSpec(m);
            FAIL() << "accepted; expected " << part;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::TokenizerInvalid) << e.what();
            EXPECT_EQ(e.subject(), subject) << e.what();
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    };
    expectTok(withValue(h, "tokenizer.ggml.model", nullptr).meta, "tokenizer.ggml.model",
              "no tokenizer metadata");
    expectTok(GgufFile::open(kDir + "/metadata-all.gguf").meta(), "tokenizer.ggml.model",
              "no tokenizer metadata");
    const Value llama = stringV("llama");
    expectTok(withValue(h, "tokenizer.ggml.model", &llama).meta, "tokenizer.ggml.model", "not supported yet");
    const Value bert = stringV("bert");
    expectTok(withValue(h, "tokenizer.ggml.model", &bert).meta, "tokenizer.ggml.model",
              "'bert' is not supported");
    const Value pre = stringV("deepseek-coder");
    expectTok(withValue(h, "tokenizer.ggml.pre", &pre).meta, "tokenizer.ggml.pre",
              "pre-tokenizer 'deepseek-coder' is not supported");
    expectTok(withValue(h, "tokenizer.ggml.tokens", nullptr).meta, "tokenizer.ggml.tokens",
              "no metadata key");
    expectTok(withValue(h, "tokenizer.ggml.merges", nullptr).meta, "tokenizer.ggml.merges",
              "no metadata key");
    Value badId;
    badId.type = ValueType::U32;
    badId.u = 99999;
    expectTok(withValue(h, "tokenizer.ggml.eos_token_id", &badId).meta, "tokenizer.ggml.eos_token_id",
              "is not a token id");
}

TEST(GgufTokenizer, NamedPreTokenizersCompile)
{
    const GgufHeader h = GgufFile::open(kDir + "/vocab-qwen2.gguf").header();
    for (const char *name : {"qwen2", "llama-bpe", "llama3", "gpt2", "gpt-2", "smollm"}) {
        SCOPED_TRACE(name);
        const Value pre = stringV(name);
        const BpeSpec spec = ggufBpeSpec(withValue(h, "tokenizer.ggml.pre", &pre).meta);
        const BpeTokenizer tok(spec);
        EXPECT_FALSE(tok.encode("Hello world 123 <|im_end|>").empty());
    }
    // smollm isolates every digit, and whitespace before a digit stays one piece (llama.cpp's two-step
    // split).
    const Value smollm = stringV("smollm");
    const BpeTokenizer tok(ggufBpeSpec(withValue(h, "tokenizer.ggml.pre", &smollm).meta));
    const Value qwen = stringV("gpt2");
    const BpeTokenizer gpt2(ggufBpeSpec(withValue(h, "tokenizer.ggml.pre", &qwen).meta));
    const auto a = tok.encode("x  12");
    EXPECT_EQ(tok.decode(a), "x  12");
    EXPECT_EQ(a.back(), tok.tokenToId("2"));
    EXPECT_EQ(a[a.size() - 2], tok.tokenToId("1"));
}

// --- LLM + mmproj pairs
// -----------------------------------------------------------------------------------------

namespace {
class PairDir
{
public:
    PairDir()
    {
        static int n = 0;
        m_path = fs::temp_directory_path() /
                 ("uhdlens-gguf-pair-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~PairDir() { fs::remove_all(m_path); }
    std::string add(const std::string &fixture, const std::string &as)
    {
        fs::copy_file(kDir + "/" + fixture, m_path / as);
        return (m_path / as).string();
    }
    std::string path() const { return m_path.string(); }

private:
    fs::path m_path;
};

template <class F> void expectError(F fn, ErrorCode code, const std::vector<std::string> &parts)
{
    try {
        fn();
        FAIL() << "accepted; expected " << parts.front();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), code) << e.what();
        for (const auto &p : parts)
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\nlacks: " << p;
    }
}
} // namespace

TEST(GgufPair, FolderFileAndExplicitPair)
{
    PairDir d;
    const std::string llm = d.add("qwen2-bf16.gguf", "model-Q8_0.gguf");
    expectError([&] { findGgufPair(d.path()); }, ErrorCode::FileNotFound, {"no mmproj", d.path()});
    expectError([&] { findGgufPair(llm); }, ErrorCode::FileNotFound, {"no mmproj"});
    const std::string mm = d.add("mmproj-minicpmv.gguf", "mmproj-model-f16.gguf");
    GgufPair p = findGgufPair(d.path());
    EXPECT_EQ(p.llm, llm);
    EXPECT_EQ(p.mmproj, mm);
    p = findGgufPair(mm); // the mmproj finds its language model
    EXPECT_EQ(p.llm, llm);
    // Two language models in one folder: the folder is ambiguous, each file is not.
    const std::string llm2 = d.add("qwen3-f16.gguf", "model-F16.gguf");
    expectError([&] { findGgufPair(d.path()); }, ErrorCode::InvalidArgument,
                {"several language-model", "model-F16.gguf"});
    EXPECT_EQ(findGgufPair(llm2).llm, llm2);
    EXPECT_EQ(findGgufPair(llm2).mmproj, mm);
    expectError([&] { findGgufPair(mm); }, ErrorCode::InvalidArgument, {"several language-model"});
    // Ollama-style blobs without an extension, in either order; two LLMs are refused.
    const std::string blobA = d.add("qwen2-bf16.gguf", "sha256-aaaa"),
                      blobB = d.add("mmproj-minicpmv.gguf", "sha256-bbbb");
    EXPECT_EQ(findGgufPair(blobB, blobA).llm, blobA);
    EXPECT_EQ(findGgufPair(blobA, blobB).mmproj, blobB);
    expectError([&] { findGgufPair(blobA, llm); }, ErrorCode::InvalidArgument, {"both language-model files"});
    expectError([&] { findGgufPair(d.path() + "/nope.gguf"); }, ErrorCode::FileNotFound, {"nope.gguf"});
    const std::string junk = d.add("manifest.json", "junk.gguf");
    expectError([&] { findGgufPair(d.path() + "/model-F16.gguf", junk); }, ErrorCode::CheckpointInvalid,
                {"not a GGUF file", "junk.gguf"});
}

TEST(GgufPair, WidthsMustAgree)
{
    const GgufHeader mm = GgufFile::open(kDir + "/mmproj-minicpmv.gguf").header();
    GgufHeader llm = GgufFile::open(kDir + "/qwen2-bf16.gguf").header();
    const GgufPair files{"llm.gguf", "mmproj.gguf"};
    expectError([&] { checkGgufPair(llm, mm, files); }, ErrorCode::ConfigInvalid,
                {"width 128", "has width 64", "mmproj.gguf", "llm.gguf"});
    expectError([&] { checkGgufPair(mm, mm, files); }, ErrorCode::UnknownFamily, {"architecture 'clip'"});
    // The same LLM declared 128 wide (token_embd rows included) pairs.
    Value w;
    w.type = ValueType::U32;
    w.u = 128;
    llm = withValue(llm, "qwen2.embedding_length", &w);
    llm.tensors[llm.tensorIndex.at("token_embd.weight")].ne[0] = 128;
    EXPECT_NO_THROW(checkGgufPair(llm, mm, files));
}
