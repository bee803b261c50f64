// Quantized dot-product kernels and matrix products (core/src/quant/vec_dot.h, quant_matmul.h):
//  - each kernel (AVX2 and portable) against a double-precision dot of the dequantized weight row with the
//    dequantized activation row: the kernels compute exactly ggml's function of the two quantized rows;
//  - AVX2 vs portable: bit-identical on integer-valued data (every block's integer sum is the same; the f32
//    accumulation is then exact), within 1e-5 of sum |terms| on random data (f32 summation order only);
//  - the few-rows product and the tiled-dequantization GEMM against dequantize-then-matmul with the f32
//  input,
//    with the bound the activation quantization implies (sum_j |w_j| |x_j - x^_j|), for M = 1..8, odd N, K of
//    one block and of many;
//  - the register-tiled int8 kernels (tiled_dot.h) of every instruction set this CPU runs, on every tile
//    remainder (weight rows and activation rows not multiples of the tile), against the dequantized dot and,
//    on integer data, bit-identical to the portable kernels;
//  - typed errors for bad input.
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/quant_matmul.h"
#include "quant/quantize.h"
#include "quant/tiled_dot.h"
#include "quant/vec_dot.h"
#include "quant_test_util.h"
#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace uhdlens;
using namespace uhdlens::quant;

namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::string nameOf(GgmlType t)
{
    return std::string(ggmlTypeInfo(t).name);
}

int64_t blockOf(GgmlType t)
{
    return std::max<int64_t>(32, ggmlTypeInfo(t).blockElements);
}

// Offsets of the f16 scale fields of each block layout (blocks.h).
std::vector<int> f16Fields(GgmlType t)
{
    switch (t) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0:
        return {0};
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
        return {0, 2};
    case GgmlType::Q6_K:
        return {208};
    default:
        return {};
    }
}

// rows x k weights of type t: random quant bytes with f16 scales of either sign, 1e-3 .. 1e-1 (float types:
// normal values). integerExact: scales 1.0 and small sub-block scales, so every product is a small integer.
std::vector<uint8_t> randomWeights(GgmlType t, int64_t rows, int64_t k, std::mt19937 &rng,
                                   bool integerExact = false)
{
    const GgmlTypeInfo &info = ggmlTypeInfo(t);
    const int64_t bytes = rowBytes(t, k) * rows;
    std::vector<uint8_t> w(bytes);
    std::uniform_int_distribution<int> byte(0, 255);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> expo(-3.0f, -1.0f);
    if (info.blockElements == 1) {
        std::vector<float> v(rows * k);
        for (auto &f : v)
            f = integerExact ? static_cast<float>(byte(rng) % 15 - 7) : normal(rng) * 0.05f;
        for (int64_t r = 0; r < rows; ++r)
            quantizeRow(t, v.data() + r * k, w.data() + r * rowBytes(t, k), k);
        return w;
    }
    for (auto &b : w)
        b = static_cast<uint8_t>(byte(rng));
    for (int64_t off = 0; off < bytes; off += info.blockBytes) {
        uint8_t *blk = w.data() + off;
        for (int field : f16Fields(t)) {
            const float s = integerExact ? 1.0f : (byte(rng) & 1 ? 1.0f : -1.0f) * std::pow(10.0f, expo(rng));
            const uint16_t h = f32ToFp16(s);
            std::memcpy(blk + field, &h, 2);
        }
        if (integerExact && (t == GgmlType::Q4_K || t == GgmlType::Q5_K))
            for (int j = 0; j < 12; ++j)
                blk[4 + j] &= 0x07; // 6-bit scales and mins 0..7
        if (integerExact && t == GgmlType::Q6_K)
            for (int j = 0; j < 16; ++j)
                blk[192 + j] = static_cast<uint8_t>(static_cast<int8_t>(byte(rng) % 8 - 4));
    }
    return w;
}

std::vector<float> randomInput(int64_t n, std::mt19937 &rng, bool integerExact = false)
{
    std::vector<float> x(n);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> q(-127, 127);
    for (auto &v : x)
        v = integerExact ? static_cast<float>(q(rng)) : normal(rng) * (q(rng) > 120 ? 8.0f : 1.0f);
    if (integerExact) // amax 127 in every block of 32: the activation scale is exactly 1 (Q8_K: -1 or 1)
        for (int64_t i = 0; i < n; i += 32)
            x[i] = -127.0f;
    return x;
}

// The activation row as the kernels see it, dequantized, plus the extra term the *_1 types add (m * s with s
// in f16 instead of m * d * sum(q)).
struct Activation
{
    std::vector<uint8_t> bytes;
    std::vector<double> values;
};

Activation prepare(GgmlType t, const std::vector<float> &x)
{
    const int64_t n = static_cast<int64_t>(x.size());
    Activation a;
    a.bytes.resize(activationRowBytes(t, n));
    quantizeActivation(t, x.data(), a.bytes.data(), n);
    a.values.resize(n);
    // Each activation block's quants times its scale (Q8_0 / Q8_1: f16 d; Q8_K: f32 d).
    const auto fill = [&](auto *blocks, int64_t per, auto scaleOf) {
        for (int64_t b = 0; b < n / per; ++b)
            for (int64_t j = 0; j < per; ++j)
                a.values[b * per + j] = double(blocks[b].qs[j]) * scaleOf(blocks[b]);
    };
    const auto f16Scale = [](const auto &blk) { return double(fp16ToF32(blk.d)); };
    switch (t) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0:
        fill(reinterpret_cast<const BlockQ8_0 *>(a.bytes.data()), 32, f16Scale);
        break;
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
        fill(reinterpret_cast<const BlockQ8_1 *>(a.bytes.data()), 32, f16Scale);
        break;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
        fill(reinterpret_cast<const BlockQ8_K *>(a.bytes.data()), 256,
             [](const BlockQ8_K &blk) { return double(blk.d); });
        break;
    default:
        for (int64_t j = 0; j < n; ++j)
            a.values[j] = x[j];
    }
    return a;
}

struct Reference
{
    double value = 0;     // what the kernel must compute, up to f32 rounding
    double magnitude = 0; // sum of |terms|: scale of the f32 rounding error
};

// The dot product of the dequantized rows in double; for the *_1 types the minimum's term uses the
// activation's f16 s, exactly as ggml's kernels do.
Reference reference(GgmlType t, const uint8_t *wRow, const Activation &a, int64_t n)
{
    std::vector<float> w(n);
    dequantizeRow(t, wRow, w.data(), n);
    Reference r;
    for (int64_t j = 0; j < n; ++j) {
        r.value += double(w[j]) * a.values[j];
        r.magnitude += std::abs(double(w[j]) * a.values[j]);
    }
    if (t == GgmlType::Q4_1 || t == GgmlType::Q5_1) {
        const int64_t wb = ggmlTypeInfo(t).blockBytes;
        for (int64_t b = 0; b < n / 32; ++b) {
            uint16_t mBits;
            std::memcpy(&mBits, wRow + b * wb + 2, 2);
            const auto &ab = reinterpret_cast<const BlockQ8_1 *>(a.bytes.data())[b];
            double sumQ = 0;
            for (int j = 0; j < 32; ++j)
                sumQ += a.values[b * 32 + j];
            const double correction = double(fp16ToF32(mBits)) * (double(fp16ToF32(ab.s)) - sumQ);
            r.value += correction;
            r.magnitude += std::abs(double(fp16ToF32(mBits)) * fp16ToF32(ab.s));
        }
    }
    return r;
}

bool avx2Runs(GgmlType t)
{
    return cpuHasAvx2Kernels() && hasAvx2Kernel(t);
}

} // namespace

TEST(QuantKernels, ReportsWhatRuns)
{
    std::string avx2;
    for (GgmlType t : kTypes)
        if (hasAvx2Kernel(t))
            avx2 += nameOf(t) + " ";
    std::printf("CPU runs the AVX2/FMA/F16C kernels: %s; types with one: %s\n",
                cpuHasAvx2Kernels() ? "yes" : "no", avx2.c_str());
    EXPECT_TRUE(hasAvx2Kernel(GgmlType::Q4_0) && hasAvx2Kernel(GgmlType::Q8_0) &&
                hasAvx2Kernel(GgmlType::Q4_K) && hasAvx2Kernel(GgmlType::Q6_K) &&
                hasAvx2Kernel(GgmlType::Q4_1))
        << "the decode types issue 17 names must have a vectorised kernel on x86-64";
}

// Both kernels compute ggml's function of the two quantized rows: the double dot of their dequantized values.
TEST(QuantKernels, EachKernelEqualsTheDequantizedDot)
{
    std::mt19937 rng(7);
    for (GgmlType t : kTypes)
        for (int64_t blocks : {1, 3, 14}) {
            const int64_t n = blocks * blockOf(t);
            const auto w = randomWeights(t, 4, n, rng);
            const auto a = prepare(t, randomInput(n, rng));
            for (int r = 0; r < 4; ++r) {
                const uint8_t *row = w.data() + r * rowBytes(t, n);
                const Reference ref = reference(t, row, a, n);
                const double tol = 2e-6 * ref.magnitude + 1e-30;
                for (bool portable : {true, false}) {
                    if (!portable && !avx2Runs(t))
                        continue;
                    const float got = vecDot(t, row, a.bytes.data(), n, portable);
                    EXPECT_NEAR(got, ref.value, tol)
                        << nameOf(t) << (portable ? " portable" : " AVX2") << " kernel, K=" << n << ", row "
                        << r << ": vs the dequantized dot";
                }
            }
        }
}

TEST(QuantKernels, Avx2AndPortableIdenticalOnIntegerData)
{
    if (!cpuHasAvx2Kernels())
        GTEST_SKIP() << "this CPU has no AVX2/FMA/F16C: only the portable kernels run";
    std::mt19937 rng(11);
    for (GgmlType t : kTypes) {
        if (!hasAvx2Kernel(t))
            continue;
        for (int64_t blocks : {1, 2, 4}) {
            const int64_t n = blocks * blockOf(t);
            const auto w = randomWeights(t, 6, n, rng, /*integerExact=*/true);
            const auto a = prepare(t, randomInput(n, rng, /*integerExact=*/true));
            for (int r = 0; r < 6; ++r) {
                const uint8_t *row = w.data() + r * rowBytes(t, n);
                const float p = vecDot(t, row, a.bytes.data(), n, true);
                const float v = vecDot(t, row, a.bytes.data(), n, false);
                EXPECT_EQ(floatToBits(p), floatToBits(v))
                    << nameOf(t) << " K=" << n << " row " << r << ": portable " << p << " vs AVX2 " << v;
                EXPECT_EQ(p, std::round(p))
                    << nameOf(t) << ": integer data gave a fraction (scales not exact?)";
            }
        }
    }
}

TEST(QuantKernels, Avx2AndPortableCloseOnRandomData)
{
    if (!cpuHasAvx2Kernels())
        GTEST_SKIP() << "this CPU has no AVX2/FMA/F16C: only the portable kernels run";
    std::mt19937 rng(13);
    double worst = 0;
    for (GgmlType t : kTypes) {
        if (!hasAvx2Kernel(t))
            continue;
        const int64_t n = 3584 / blockOf(t) * blockOf(t);
        const auto w = randomWeights(t, 16, n, rng);
        const auto a = prepare(t, randomInput(n, rng));
        for (int r = 0; r < 16; ++r) {
            const uint8_t *row = w.data() + r * rowBytes(t, n);
            const Reference ref = reference(t, row, a, n);
            const float p = vecDot(t, row, a.bytes.data(), n, true);
            const float v = vecDot(t, row, a.bytes.data(), n, false);
            EXPECT_LE(std::abs(double(p) - v), 1e-5 * ref.magnitude) << nameOf(t) << " row " << r;
            worst = std::max(worst, std::abs(double(p) - v) / ref.magnitude);
        }
    }
    std::printf("largest |AVX2 - portable| / sum|terms|: %.3g\n", worst);
}

// The tiled kernels compute the same function of the quantized rows as the per-row ones, for every tile shape
// and remainder: m activation rows x rows [r0, r1) of a matrix, written at y[i * ldy + r].
TEST(QuantKernels, TiledKernelsEqualTheDequantizedDot)
{
    std::mt19937 rng(19);
    int isasRun = 0;
    for (KernelIsa isa : {KernelIsa::Avx2, KernelIsa::Avx512Vnni}) {
        if (!cpuRunsIsa(isa)) {
            std::printf("%s: not on this CPU, skipped\n", kernelIsaName(isa));
            continue;
        }
        ++isasRun;
        for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::F16, GgmlType::BF16}) {
            ASSERT_TRUE(hasTiledKernel(t, isa)) << nameOf(t) << " " << kernelIsaName(isa);
            // Half types: also lengths that are not a multiple of the 16-element step (the scalar tail).
            const bool half = t == GgmlType::F16 || t == GgmlType::BF16;
            for (int64_t blocks : {1, 3, 14}) {
                const int64_t n = blocks * 32 + (half ? blocks * 3 : 0), rows = 11, wRow = rowBytes(t, n),
                              aRow = activationRowBytes(t, n);
                const auto w = randomWeights(t, rows, n, rng);
                for (int64_t m : {1, 2, 3, 4, 5, 9}) {
                    std::vector<Activation> acts;
                    std::vector<uint8_t> act;
                    for (int64_t i = 0; i < m; ++i) {
                        acts.push_back(prepare(t, randomInput(n, rng)));
                        act.insert(act.end(), acts.back().bytes.begin(), acts.back().bytes.end());
                    }
                    const int64_t r0 = 1, r1 = rows; // 10 rows: two tiles of 4 and a remainder of 2
                    std::vector<float> y(static_cast<size_t>(m * rows), -1.0f);
                    dotRowsIsa(t, w.data(), wRow, r0, r1, act.data(), aRow, m, n, y.data(), rows, isa);
                    for (int64_t i = 0; i < m; ++i) {
                        EXPECT_EQ(y[static_cast<size_t>(i * rows)], -1.0f) << "row 0 is outside [r0, r1)";
                        for (int64_t r = r0; r < r1; ++r) {
                            const Reference ref = reference(t, w.data() + r * wRow, acts[i], n);
                            EXPECT_NEAR(y[static_cast<size_t>(i * rows + r)], ref.value,
                                        2e-6 * ref.magnitude + 1e-30)
                                << nameOf(t) << " " << kernelIsaName(isa) << " K=" << n << " M=" << m
                                << " weight row " << r << " activation row " << i;
                        }
                    }
                }
            }
            // Integer data: the same bits as the portable kernel (exact integer sums, exact f32
            // accumulation).
            const int64_t n = 4 * 32, rows = 6, wRow = rowBytes(t, n), aRow = activationRowBytes(t, n);
            const auto w = randomWeights(t, rows, n, rng, /*integerExact=*/true);
            std::vector<uint8_t> act;
            for (int i = 0; i < 5; ++i) {
                const auto a = prepare(t, randomInput(n, rng, /*integerExact=*/true));
                act.insert(act.end(), a.bytes.begin(), a.bytes.end());
            }
            std::vector<float> yp(5 * rows), yt(5 * rows);
            dotRowsIsa(t, w.data(), wRow, 0, rows, act.data(), aRow, 5, n, yp.data(), rows,
                       KernelIsa::Portable);
            dotRowsIsa(t, w.data(), wRow, 0, rows, act.data(), aRow, 5, n, yt.data(), rows, isa);
            for (size_t k = 0; k < yp.size(); ++k)
                EXPECT_EQ(floatToBits(yp[k]), floatToBits(yt[k]))
                    << nameOf(t) << " " << kernelIsaName(isa) << " element " << k << ": portable " << yp[k]
                    << " vs tiled " << yt[k];
        }
    }
    std::printf("tiled kernels checked for %d instruction set(s); this CPU's best: %s\n", isasRun,
                kernelIsaName(bestKernelIsa()));
    if (isasRun == 0)
        GTEST_SKIP() << "this CPU runs neither AVX2 nor AVX-512 VNNI: only the portable kernels exist here";
}

// The interleaved copies (8 rows a group) give the same function of the quantized rows: against the
// dequantized dot on random data, bit-identical to the portable kernel on integer data, for group ranges that
// start past the first group and every activation-row remainder of the tile.
TEST(QuantKernels, InterleavedKernelsEqualTheDequantizedDot)
{
    std::mt19937 rng(23);
    int isasRun = 0;
    for (KernelIsa isa : {KernelIsa::Avx2, KernelIsa::Avx512Vnni}) {
        if (!cpuRunsIsa(isa))
            continue;
        ++isasRun;
        for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_0}) {
            const int64_t rows = 24;
            EXPECT_FALSE(canInterleave(t, rows - 4, 64, isa)) << "rows must be whole groups of 8";
            EXPECT_FALSE(canInterleave(GgmlType::Q4_1, rows, 64, isa)) << "Q4_1 has no interleaved kernel";
            for (bool integer : {false, true})
                for (int64_t blocks : {1, 3, 14}) {
                    const int64_t n = blocks * 32, wRow = rowBytes(t, n), aRow = activationRowBytes(t, n);
                    ASSERT_TRUE(canInterleave(t, rows, n, isa));
                    const auto w = randomWeights(t, rows, n, rng, integer);
                    const auto packed = interleaveRows(t, w.data(), rows, n);
                    ASSERT_EQ(packed.size(), w.size()) << "the interleaved copy has the same bytes";
                    for (int64_t m : {1, 3, 4, 5, 8, 9, 17}) {
                        std::vector<Activation> acts;
                        std::vector<uint8_t> act;
                        for (int64_t i = 0; i < m; ++i) {
                            acts.push_back(prepare(t, randomInput(n, rng, integer)));
                            act.insert(act.end(), acts.back().bytes.begin(), acts.back().bytes.end());
                        }
                        std::vector<float> y(static_cast<size_t>(m * rows), -1.0f), yp(y.size(), -1.0f);
                        dotRowsInterleaved(t, packed.data(), 8, rows, act.data(), aRow, m, n, y.data(), rows,
                                           isa);
                        dotRowsIsa(t, w.data(), wRow, 8, rows, act.data(), aRow, m, n, yp.data(), rows,
                                   KernelIsa::Portable);
                        for (int64_t i = 0; i < m; ++i) {
                            for (int64_t r = 0; r < 8; ++r)
                                EXPECT_EQ(y[static_cast<size_t>(i * rows + r)], -1.0f)
                                    << "group 0 not asked for";
                            for (int64_t r = 8; r < rows; ++r) {
                                const size_t k = static_cast<size_t>(i * rows + r);
                                if (integer) {
                                    EXPECT_EQ(floatToBits(y[k]), floatToBits(yp[k]))
                                        << nameOf(t) << " " << kernelIsaName(isa) << " K=" << n << " M=" << m
                                        << " row " << r << " act " << i << ": " << y[k] << " vs portable "
                                        << yp[k];
                                } else {
                                    const Reference ref = reference(t, w.data() + r * wRow, acts[i], n);
                                    EXPECT_NEAR(y[k], ref.value, 2e-6 * ref.magnitude + 1e-30)
                                        << nameOf(t) << " " << kernelIsaName(isa) << " K=" << n << " M=" << m
                                        << " row " << r << " act " << i;
                                }
                            }
                        }
                    }
                }
        }
    }
    EXPECT_THROW(interleaveRows(GgmlType::Q4_0, nullptr, 12, 64), Error) << "12 rows are not whole groups";
    EXPECT_THROW(interleaveRows(GgmlType::Q6_K, nullptr, 8, 256), Error) << "Q6_K is not interleaved";
    if (isasRun == 0)
        GTEST_SKIP() << "this CPU runs neither AVX2 nor AVX-512 VNNI";
}

TEST(QuantKernels, AnIsaTheCpuLacksIsATypedError)
{
    for (KernelIsa isa : {KernelIsa::Avx2, KernelIsa::Avx512Vnni})
        if (!cpuRunsIsa(isa)) {
            std::vector<uint8_t> w(rowBytes(GgmlType::Q4_0, 32)), a(activationRowBytes(GgmlType::Q4_0, 32));
            float y = 0;
            EXPECT_THROW(
                dotRowsIsa(GgmlType::Q4_0, w.data(), w.size(), 0, 1, a.data(), a.size(), 1, 32, &y, 1, isa),
                Error);
            return;
        }
    GTEST_SKIP() << "this CPU runs every instruction set the kernels have";
}

// The products as a layer sees them: f32 input, quantized weight, against at::matmul with the dequantized
// weight.
TEST(QuantMatmul, FewRowsAndTiledAgainstDequantizeThenMatmul)
{
    torch::NoGradGuard noGrad;
    std::mt19937 rng(17);
    double worstFew = 0, worstTiled = 0;
    for (GgmlType t : kTypes)
        for (auto [blocks, n] : {std::pair<int64_t, int64_t>{1, 37}, {9, 19}, {3, 1}}) {
            const int64_t k = blocks * blockOf(t);
            const auto wBytes = randomWeights(t, n, k, rng);
            const QuantMatrix w{t, wBytes.data(), n, k};
            const torch::Tensor wf = dequantizeTensor(t, wBytes.data(), n, k);
            const torch::Tensor bias = torch::randn({n});
            for (int64_t m = 1; m <= 8; ++m) {
                std::vector<float> xv = randomInput(m * k, rng);
                const torch::Tensor x = torch::from_blob(xv.data(), {m, k}, torch::kFloat32).clone();
                const torch::Tensor want =
                    at::addmm(bias.to(torch::kFloat64), x.to(torch::kFloat64), wf.to(torch::kFloat64).t());
                // Bound: sum_j |w_rj| |x_ij - x^_ij| (the activation quantization error) + f32 summation
                // slack.
                torch::Tensor bound = torch::zeros({m, n}, torch::kFloat64);
                for (int64_t i = 0; i < m; ++i) {
                    std::vector<float> row(xv.begin() + i * k, xv.begin() + (i + 1) * k);
                    const Activation a = prepare(t, row);
                    std::vector<double> errv(k);
                    for (int64_t j = 0; j < k; ++j)
                        errv[j] = std::abs(double(row[j]) - a.values[j]);
                    const torch::Tensor err = torch::from_blob(errv.data(), {k}, torch::kFloat64);
                    bound[i] = at::mv(wf.to(torch::kFloat64).abs(), err) +
                               1e-5 * at::mv(wf.to(torch::kFloat64).abs(), x[i].to(torch::kFloat64).abs()) +
                               1e-6;
                    // *_1 types: the kernel adds m * s, s = f16(d * sum(q)) with the unrounded d, where the
                    // dequantized activation gives m * f16(d) * sum(q): each differs from d * sum(q) by at
                    // most 2^-11 of itself, so |m| 2^-10 (|s| + |f16(d) sum(q)|) per block bounds the
                    // difference.
                    if (t == GgmlType::Q4_1 || t == GgmlType::Q5_1)
                        for (int64_t r = 0; r < n; ++r) {
                            double extra = 0;
                            for (int64_t b = 0; b < k / 32; ++b) {
                                const auto &ab = reinterpret_cast<const BlockQ8_1 *>(a.bytes.data())[b];
                                uint16_t mBits;
                                std::memcpy(&mBits,
                                            wBytes.data() + r * rowBytes(t, k) +
                                                b * ggmlTypeInfo(t).blockBytes + 2,
                                            2);
                                double sumQ = 0;
                                for (int j = 0; j < 32; ++j)
                                    sumQ += a.values[b * 32 + j];
                                extra += std::abs(fp16ToF32(mBits)) *
                                         (std::abs(fp16ToF32(ab.s)) + std::abs(sumQ)) / 1024;
                            }
                            bound[i][r] += extra;
                        }
                }
                for (bool portable : {true, false}) {
                    const torch::Tensor got = quantMatmulFewRows(x, w, bias, portable).to(torch::kFloat64);
                    const torch::Tensor excess = (got - want).abs() - bound;
                    EXPECT_LE(excess.max().item<double>(), 0.0)
                        << nameOf(t) << (portable ? " portable" : " AVX2") << " few-rows product M=" << m
                        << " N=" << n << " K=" << k << ": error beyond the activation-quantization bound";
                    worstFew = std::max(worstFew, ((got - want).abs() / bound).max().item<double>());
                }
                // Tiled: f32 GEMM on the exactly dequantized weight; a tiny buffer forces several chunks.
                const torch::Tensor tiled = quantMatmulTiled(x, w, bias, 3 * k * 4).to(torch::kFloat64);
                const torch::Tensor scale =
                    at::addmm(bias.abs().to(torch::kFloat64), x.abs().to(torch::kFloat64),
                              wf.abs().to(torch::kFloat64).t());
                const double rel = ((tiled - want).abs() / (scale + 1e-30)).max().item<double>();
                EXPECT_LE(rel, 1e-5) << nameOf(t) << " tiled M=" << m << " N=" << n << " K=" << k;
                worstTiled = std::max(worstTiled, rel);
            }
        }
    std::printf("few-rows error / activation-quantization bound: at most %.3f; tiled relative error: %.3g\n",
                worstFew, worstTiled);
}

// Many output rows split across threads give the same values as one row at a time.
TEST(QuantMatmul, ThreadSplitDoesNotChangeResults)
{
    torch::NoGradGuard noGrad;
    std::mt19937 rng(19);
    const int64_t k = 512, n = 301;
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q6_K, GgmlType::F16}) {
        const auto wBytes = randomWeights(t, n, k, rng);
        const QuantMatrix w{t, wBytes.data(), n, k};
        const auto xv = randomInput(2 * k, rng);
        const torch::Tensor x =
            torch::from_blob(const_cast<float *>(xv.data()), {2, k}, torch::kFloat32).clone();
        const torch::Tensor all = quantMatmulFewRows(x, w, {});
        for (int64_t r : {int64_t(0), int64_t(150), n - 1}) {
            const QuantMatrix one{t, wBytes.data() + r * rowBytes(t, k), 1, k};
            EXPECT_TRUE(torch::equal(quantMatmulFewRows(x, one, {}).squeeze(1), all.select(1, r)))
                << nameOf(t) << " row " << r;
        }
    }
}

TEST(QuantMatmul, BadInputIsATypedError)
{
    std::vector<uint8_t> bytes(1 << 16);
    const torch::Tensor x = torch::randn({2, 256});
    using quant_test::expectErrorCode;
    expectErrorCode(
        ErrorCode::CheckpointInvalid,
        [&] {
            quantMatmulFewRows(x, {GgmlType::Q2_K, bytes.data(), 4, 256}, {});
        },
        "Q2_K weight");
    expectErrorCode(
        ErrorCode::CheckpointInvalid,
        [&] {
            quantMatmulTiled(x, {GgmlType::IQ4_XS, bytes.data(), 4, 256}, {});
        },
        "IQ4_XS weight, tiled");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [&] {
            quantMatmulFewRows(torch::randn({2, 48}), {GgmlType::Q4_0, bytes.data(), 4, 48}, {});
        },
        "Q4_0 row of 48");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [&] {
            quantMatmulFewRows(torch::randn({2, 128}), {GgmlType::Q4_K, bytes.data(), 4, 128}, {});
        },
        "Q4_K row of 128");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [&] {
            quantMatmulFewRows(x, {GgmlType::Q8_0, bytes.data(), 4, 512}, {});
        },
        "input width != weight width");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [&] {
            quantMatmulTiled(x, {GgmlType::Q8_0, bytes.data(), 4, 256}, torch::zeros({5}));
        },
        "bias size");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [&] {
            quantMatmulFewRows(x.to(torch::kFloat64), {GgmlType::Q8_0, bytes.data(), 4, 256}, {});
        },
        "double input");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [&] {
            quantMatmulFewRows(torch::randn({256}), {GgmlType::Q8_0, bytes.data(), 4, 256}, {});
        },
        "1-D input");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch, [&] { dequantizeTensor(GgmlType::Q5_1, bytes.data(), 2, 33); },
        "Q5_1 row of 33");
    expectErrorCode(
        ErrorCode::CheckpointInvalid, [&] { activationRowBytes(GgmlType::Q3_K, 256); }, "Q3_K activation");
}
