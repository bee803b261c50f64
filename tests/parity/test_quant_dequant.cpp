// Dequantization and reference quantization of every supported ggml type against gguf-py (the `gguf` package
// pinned in tests/tools/reference/quant_requirements.txt): bit-identical f32 values and bytes on the fixture
// that tests/tools/reference/quant_fixture.py writes to tests/data/quant. Plus exhaustive half-float checks
// and the typed errors of every input path.
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/quantize.h"
#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace uhdlens;
using namespace uhdlens::quant;

namespace {

const std::string kDir = std::string(UHDLENS_TEST_DATA) + "/quant/";

std::vector<uint8_t> readBytes(const std::string &name)
{
    std::ifstream in(kDir + name, std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture file " << kDir + name
                           << " (regenerate: /usr/bin/python3 tests/tools/reference/quant_fixture.py)";
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> readF32(const std::string &name)
{
    const auto bytes = readBytes(name);
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), v.size() * 4);
    return v;
}

nlohmann::json manifest()
{
    std::ifstream in(kDir + "manifest.json");
    EXPECT_TRUE(in.good()) << "missing " << kDir << "manifest.json";
    return nlohmann::json::parse(in);
}

GgmlType typeNamed(const std::string &name)
{
    for (const auto &t : kGgmlTypes)
        if (t.name == name)
            return t.type;
    ADD_FAILURE() << "fixture names unknown type " << name;
    return GgmlType::F32;
}

// Number of elements whose f32 bits differ (NaN payloads included); the first few are reported.
int countBitMismatches(const std::string &what, const float *got, const float *want, size_t n, int64_t cols)
{
    int bad = 0;
    for (size_t i = 0; i < n; ++i)
        if (floatToBits(got[i]) != floatToBits(want[i]) && bad++ < 5)
            ADD_FAILURE() << what << ": element [" << i / cols << ", " << i % cols << "] is " << got[i]
                          << " (bits 0x" << std::hex << floatToBits(got[i]) << "), gguf-py gives " << want[i]
                          << " (0x" << floatToBits(want[i]) << std::dec << ")";
    return bad;
}

} // namespace

TEST(QuantFixture, CoversEveryTypeTheTableSupports)
{
    const auto m = manifest();
    EXPECT_EQ(m["gguf_version"], "0.19.0")
        << "fixture made by another gguf-py than quant_requirements.txt pins";
    std::set<std::string> dequantized;
    for (const auto &c : m["cases"])
        if (c["kind"] == "dequantize")
            dequantized.insert(c["type"]);
    for (const auto &t : kGgmlTypes) {
        if (!t.supported)
            continue;
        EXPECT_TRUE(dequantized.count(std::string(t.name)))
            << "no gguf-py dequantization case for " << t.name;
        // gguf-py's GGML_QUANT_SIZES agree with ggml_types.h.
        const auto sizes = m["block_sizes"][std::string(t.name)];
        EXPECT_EQ(sizes[0].get<int64_t>(), t.blockElements) << t.name;
        EXPECT_EQ(sizes[1].get<int64_t>(), t.blockBytes) << t.name;
    }
}

// Every case: our dequantization of gguf-py's bytes equals gguf-py's f32, bit for bit (also the edge rows:
// zero, negative, subnormal and largest f16 scales, min and max quants; NaN and infinity for the plain
// types).
TEST(QuantDequantize, BitIdenticalToGgufPy)
{
    int cases = 0;
    const auto m = manifest(); // kept alive for the loop (a temporary's ["cases"] would dangle)
    for (const auto &c : m["cases"]) {
        const std::string name = c["name"];
        const GgmlType type = typeNamed(c["type"]);
        const int64_t rows = c["rows"], cols = c["cols"];
        const auto raw = readBytes(c["bytes"]);
        const auto want = readF32(c["f32"]);
        ASSERT_EQ(static_cast<int64_t>(raw.size()), rows * rowBytes(type, cols)) << name << ": byte count";
        ASSERT_EQ(static_cast<int64_t>(want.size()), rows * cols) << name << ": value count";
        std::vector<float> got(want.size(), -1.0f);
        dequantizeRows(type, raw.data(), rows, cols, got.data());
        EXPECT_EQ(countBitMismatches("dequantize " + name + " (" + std::string(c["type"]) + ")", got.data(),
                                     want.data(), got.size(), cols),
                  0);
        // Row by row gives the same values as the whole span.
        std::vector<float> row(cols);
        dequantizeRow(type, raw.data() + (rows - 1) * rowBytes(type, cols), row.data(), cols);
        EXPECT_EQ(std::memcmp(row.data(), got.data() + (rows - 1) * cols, cols * 4), 0)
            << name << ": last row alone";
        ++cases;
    }
    EXPECT_GE(cases, 18);
}

// ggml's reference quantizers: the bytes gguf-py's quantize writes for the same f32 rows (incl. all-zero
// blocks, constant blocks, exact rounding ties and outliers; f16/bf16 across subnormals and overflow).
TEST(QuantQuantize, BytesIdenticalToGgufPy)
{
    int cases = 0;
    const auto m = manifest(); // kept alive for the loop (a temporary's ["cases"] would dangle)
    for (const auto &c : m["cases"]) {
        if (c["kind"] != "quantize")
            continue;
        const std::string name = c["name"];
        const GgmlType type = typeNamed(c["type"]);
        const int64_t rows = c["rows"], cols = c["cols"];
        const auto x = readF32(c["input"]);
        const auto want = readBytes(c["bytes"]);
        const int64_t bytes = rowBytes(type, cols);
        ASSERT_EQ(static_cast<int64_t>(want.size()), rows * bytes) << name;
        ASSERT_TRUE(canQuantize(type)) << name;
        std::vector<uint8_t> got(want.size(), 0xAB);
        for (int64_t r = 0; r < rows; ++r)
            quantizeRow(type, x.data() + r * cols, got.data() + r * bytes, cols);
        int bad = 0;
        for (size_t i = 0; i < got.size(); ++i)
            if (got[i] != want[i] && bad++ < 5)
                ADD_FAILURE() << "quantize " << name << ": row " << i / bytes << " byte " << i % bytes
                              << " is " << int(got[i]) << ", gguf-py writes " << int(want[i]);
        EXPECT_EQ(bad, 0) << name;
        // And gguf-py's dequantization of its own output is ours too.
        std::vector<float> back(rows * cols);
        dequantizeRows(type, got.data(), rows, cols, back.data());
        const auto wantBack = readF32(c["f32"]);
        EXPECT_EQ(countBitMismatches("round trip " + name, back.data(), wantBack.data(), back.size(), cols),
                  0);
        ++cases;
    }
    EXPECT_EQ(cases, 7); // F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0
}

// f16 -> f32 -> f16 is the identity on all 65536 halves but NaNs (which stay NaN), and, where the CPU has
// F16C, fp16ToF32 / f32ToFp16 agree with vcvtph2ps / vcvtps2ph (round to nearest even) bit for bit.
TEST(QuantHalf, ExhaustiveRoundTripAndF16C)
{
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16ToF32(static_cast<uint16_t>(h));
        if (std::isnan(f)) {
            EXPECT_TRUE((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) << std::hex << h;
            EXPECT_TRUE(std::isnan(fp16ToF32(f32ToFp16(f)))) << std::hex << h;
            continue;
        }
        ASSERT_EQ(f32ToFp16(f), h) << "half 0x" << std::hex << h << " -> " << f;
    }
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("f16c"))
        GTEST_SKIP() << "no F16C on this CPU: the hardware comparison is skipped (round trip checked above)";
    struct Hw
    {
        __attribute__((target("f16c"))) static float toF32(uint16_t h) { return _cvtsh_ss(h); }
        __attribute__((target("f16c"))) static uint16_t toF16(float f) { return _cvtss_sh(f, 0); }
    };
    for (uint32_t h = 0; h < 65536; ++h) {
        if ((h & 0x7c00) != 0x7c00 || !(h & 0x3ff)) { // NaNs: F16C quiets signalling ones
            ASSERT_EQ(floatToBits(fp16ToF32(h)), floatToBits(Hw::toF32(h))) << std::hex << h;
        }
    }
    // f32 -> f16 on every exponent, near every rounding tie and at the overflow and subnormal boundaries.
    uint32_t seed = 12345;
    for (int i = 0; i < 2000000; ++i) {
        seed = seed * 1664525u + 1013904223u;
        const uint32_t exponent = 90 + (seed >> 8) % 60; // 2^-37 .. 2^22
        const uint32_t mantissa = (seed * 2654435761u) & 0x7fffffu;
        uint32_t bits = (seed & 0x80000000u) | (exponent << 23) |
                        (i % 3 == 0 ? (mantissa & ~0x1fffu) | 0x1000u : mantissa);
        const float f = bitsToFloat(bits);
        ASSERT_EQ(f32ToFp16(f), Hw::toF16(f)) << "f32 bits 0x" << std::hex << bits;
    }
    for (float f : {65504.0f, 65519.99f, 65520.0f, 1e30f, -65520.0f, 2.98023224e-8f, 2.98023259e-8f, 5.96e-8f,
                    6.1035156e-5f, 6.1e-5f, 0.0f, -0.0f, INFINITY, -INFINITY})
        EXPECT_EQ(f32ToFp16(f), Hw::toF16(f)) << f;
#endif
}

TEST(QuantHalf, Bf16IsTheHighHalf)
{
    EXPECT_EQ(bf16ToF32(0x3F80), 1.0f);
    EXPECT_EQ(bf16ToF32(0xC000), -2.0f);
    EXPECT_EQ(floatToBits(bf16ToF32(0x0001)), 0x00010000u); // subnormal kept
    EXPECT_TRUE(std::isinf(bf16ToF32(0xFF80)) && bf16ToF32(0xFF80) < 0);
    EXPECT_TRUE(std::isnan(bf16ToF32(0x7FC1)));
}

// Bad input on every entry point: each a typed error naming the type.
TEST(QuantErrors, UnsupportedTypesAndPartialBlocks)
{
    std::vector<uint8_t> raw(4096);
    std::vector<float> out(1024);
    for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_NL, GgmlType::Q8_K, GgmlType::TQ1_0,
                       GgmlType::I8, GgmlType::F64}) {
        const std::string name(ggmlTypeInfo(t).name);
        try {
            dequantizeRow(t, raw.data(), out.data(), 256);
            ADD_FAILURE() << "dequantizeRow accepted " << name;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid) << name;
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("Q4_K"), std::string::npos)
                << "lists the supported: " << e.what();
            EXPECT_EQ(e.subject(), name);
        }
        EXPECT_THROW(rowBytes(t, 256), Error) << name;
    }
    try {
        requireSupported(static_cast<GgmlType>(77));
        ADD_FAILURE() << "an undefined type id was accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("#77"), std::string::npos) << e.what();
    }
    for (auto [t, n] : {std::pair{GgmlType::Q4_0, int64_t(48)},
                        {GgmlType::Q8_0, 31},
                        {GgmlType::Q4_K, 128},
                        {GgmlType::Q6_K, 257},
                        {GgmlType::Q5_1, -32}}) {
        try {
            dequantizeRow(t, raw.data(), out.data(), n);
            ADD_FAILURE() << ggmlTypeInfo(t).name << " row of " << n;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::TensorShapeMismatch);
            EXPECT_NE(std::string(e.what()).find(std::string(ggmlTypeInfo(t).name)), std::string::npos)
                << e.what();
        }
    }
    for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q2_K}) {
        try {
            quantizeRow(t, out.data(), raw.data(), 256);
            ADD_FAILURE() << "quantizeRow wrote " << ggmlTypeInfo(t).name;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
            EXPECT_EQ(e.subject(), std::string(ggmlTypeInfo(t).name));
        }
    }
    EXPECT_THROW(quantizeRow(GgmlType::Q4_0, out.data(), raw.data(), 40), Error);
}

// The activation quantizers the kernels use: ggml's Q8_1 sum and Q8_K's per-16 sums and |q| <= 127.
TEST(QuantActivation, Q8_1AndQ8_KInvariants)
{
    std::vector<float> x(512);
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = std::sin(0.37f * i) * (i % 7 == 0 ? 30.0f : 1.0f);
    std::vector<BlockQ8_1> a(512 / 32);
    quantizeRowQ8_1(x.data(), a.data(), 512);
    std::vector<BlockQ8_0> b(512 / 32);
    quantizeRowQ8_0(x.data(), b.data(), 512);
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].d, b[i].d);
        EXPECT_EQ(std::memcmp(a[i].qs, b[i].qs, 32), 0);
        int sum = 0;
        float amax = 0;
        for (int j = 0; j < 32; ++j) {
            sum += a[i].qs[j];
            amax = std::max(amax, std::abs(x[i * 32 + j]));
        }
        EXPECT_EQ(a[i].s, f32ToFp16(sum * (amax / 127))) << "s = sum * d with the f32 d, as ggml";
    }
    std::vector<BlockQ8_K> k(2);
    quantizeRowQ8_K(x.data(), k.data(), 512);
    for (int i = 0; i < 2; ++i) {
        float maxErr = 0, amax = 0;
        for (int j = 0; j < 256; ++j) {
            EXPECT_LE(std::abs(int(k[i].qs[j])), 127);
            maxErr = std::max(maxErr, std::abs(k[i].d * k[i].qs[j] - x[i * 256 + j]));
            amax = std::max(amax, std::abs(x[i * 256 + j]));
        }
        EXPECT_LE(maxErr, amax / 127 * 0.5001f) << "Q8_K error above half a step in block " << i;
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int l = 0; l < 16; ++l)
                sum += k[i].qs[g * 16 + l];
            EXPECT_EQ(k[i].bsums[g], sum);
        }
    }
    std::vector<float> zeros(256, 0.0f);
    quantizeRowQ8_K(zeros.data(), k.data(), 256);
    EXPECT_EQ(k[0].d, 0.0f);
}
