// The fused attention (core/src/kernels/flash_attention.h) against plain softmax(q k^T * scale + mask) v
// computed in float64 by libtorch, on random inputs of every shape the families' vision towers and resamplers
// use, with every instruction set this CPU has forced in turn; the scaledDotAttention switch; bad inputs.
//
// Tolerance (f32 inputs): max |fused - reference| <= 2e-5 * max |reference| per tensor. The f32 errors are a
// few 1e-7 of the output scale (summation order and the vector exp's ~1 ulp); a wrong mask, block edge or
// rescale gives errors of the output's own size. bf16 / f16 inputs: the same plus one rounding of the result
// to the input type (2^-8 / 2^-11 of the output scale), since all arithmetic is f32.
#include "kernels/flash_attention.h"
#include "nn/layers.h"
#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace uhdlens;
using kernels::AttentionIsa;

namespace {

constexpr double kF32Tolerance = 2e-5;

torch::Tensor reference(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, double scale,
                        const torch::Tensor &mask = {})
{
    auto s = at::bmm(q.to(torch::kFloat64) * scale, k.to(torch::kFloat64).transpose(1, 2));
    if (mask.defined())
        s = s + mask.to(torch::kFloat64);
    return at::bmm(at::softmax(s, -1), v.to(torch::kFloat64));
}

std::vector<AttentionIsa> availableIsas()
{
    std::vector<AttentionIsa> out;
    for (auto isa : {AttentionIsa::Portable, AttentionIsa::Avx2, AttentionIsa::Avx512})
        if (kernels::attentionIsaAvailable(isa))
            out.push_back(isa);
    return out;
}

torch::Tensor fused(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, double scale,
                    const torch::Tensor &mask, AttentionIsa isa, int64_t queryBlock = 0, int64_t keyBlock = 0)
{
    kernels::FlashAttentionOptions o;
    o.scale = scale;
    o.isa = isa;
    o.queryBlock = queryBlock;
    o.keyBlock = keyBlock;
    return kernels::flashAttention(q, k, v, mask, o);
}

// Max |a - b| over the entries finite in `expected`, divided by max |expected| (at least 1e-30); NaN where
// the two disagree on which entries are NaN (so the comparison fails).
double scaledError(const torch::Tensor &actual, const torch::Tensor &expected)
{
    const auto a = actual.to(torch::kFloat64), e = expected.to(torch::kFloat64);
    if (!at::equal(a.isnan(), e.isnan()))
        return std::numeric_limits<double>::quiet_NaN();
    const auto finite = e.isfinite();
    if (!finite.any().item<bool>())
        return 0.0;
    const double scale = std::max(1e-30, e.masked_select(finite).abs().max().item<double>());
    return (a - e).masked_select(finite).abs().max().item<double>() / scale;
}

// Key-padding mask of navit SigLIP / the MiniCPM-V 2.6 resampler: [B*heads, 1, L], 0 for the first lengths[b]
// keys of slice b, -inf after them.
torch::Tensor paddingMask(const std::vector<int64_t> &lengths, int64_t heads, int64_t l)
{
    const auto b = static_cast<int64_t>(lengths.size());
    auto mask = torch::zeros({b, 1, l});
    for (int64_t i = 0; i < b; ++i)
        mask[i]
            .narrow(1, lengths[static_cast<size_t>(i)], l - lengths[static_cast<size_t>(i)])
            .fill_(-std::numeric_limits<float>::infinity());
    return mask.unsqueeze(1).expand({b, heads, 1, l}).reshape({b * heads, 1, l});
}

struct Shape
{
    const char *what;
    int64_t n, tq, s, dk, dv;
};

// Heads are trimmed where the family has many (every head runs the same code); lengths and head dims are
// theirs.
const std::vector<Shape> &familyShapes()
{
    static const std::vector<Shape> shapes = {
        {"SigLIP-400M slice (MiniCPM-V 2.0/2.6): 1024 patches, d 72", 3, 1024, 1024, 72, 72},
        {"SigLIP-400M small slice: 14x31 patches", 2, 434, 434, 72, 72},
        {"CLIP ViT-L/14-336 (llava-uhd): 577 tokens, d 64", 3, 577, 577, 64, 64},
        {"ViT d 80", 2, 300, 300, 80, 80},
        {"ViT d 88", 2, 257, 257, 88, 88},
        {"resampler 2.0/2.6: 64 queries over 1024 keys, d 128", 4, 64, 1024, 128, 128},
        {"resampler 96 queries, odd keys", 3, 96, 333, 128, 128},
        {"tiny minicpmv26 fixture: d 8", 4, 70, 70, 8, 8},
        {"tiny minicpmv2 / llava-uhd / uhd-paper: d 16", 4, 17, 17, 16, 16},
        {"tiny bundled model: d 32", 4, 256, 256, 32, 32},
        {"one query", 3, 1, 200, 72, 72},
        {"one key", 3, 5, 1, 72, 72},
        {"one query, one key", 1, 1, 1, 1, 1},
        {"keys one past a block", 2, 129, 129, 24, 40},
        {"head dim not a multiple of 8", 2, 65, 143, 13, 100},
    };
    return shapes;
}

// The fused output on every available instruction set against the float64 reference, within the f32
// tolerance.
void expectFusedMatches(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, double scale,
                        const torch::Tensor &mask, const std::string &what)
{
    const auto expected = reference(q, k, v, scale, mask);
    for (auto isa : availableIsas())
        EXPECT_LE(scaledError(fused(q, k, v, scale, mask, isa), expected), kF32Tolerance)
            << what << ", " << kernels::attentionIsaName(isa);
}

} // namespace

TEST(FlashAttention, MatchesPlainAttentionOnEveryFamilyShapeAndIsa)
{
    torch::manual_seed(21);
    std::map<AttentionIsa, double> worst;
    for (const auto &sh : familyShapes()) {
        const auto q = torch::randn({sh.n, sh.tq, sh.dk}), k = torch::randn({sh.n, sh.s, sh.dk}),
                   v = torch::randn({sh.n, sh.s, sh.dv});
        const double scale = 1.0 / std::sqrt(static_cast<double>(sh.dk));
        const auto expected = reference(q, k, v, scale);
        for (auto isa : availableIsas()) {
            const auto out = fused(q, k, v, scale, {}, isa);
            ASSERT_EQ(out.sizes(), expected.sizes()) << sh.what;
            EXPECT_EQ(out.scalar_type(), torch::kFloat32);
            const double err = scaledError(out, expected);
            worst[isa] = std::max(worst[isa], err);
            EXPECT_LE(err, kF32Tolerance)
                << "attention output, " << sh.what << ", " << kernels::attentionIsaName(isa);
        }
    }
    for (const auto &[isa, err] : worst) // the figure the tolerance is stated against
        std::printf("max |fused - float64 plain| / max |plain| over the family shapes, %s: %.2e\n",
                    kernels::attentionIsaName(isa), err);
}

TEST(FlashAttention, NavitPaddingMaskBatchEqualsEachSliceAlone)
{
    // Nine slices of different sizes batched as MiniCPM-V 2.6 does (padded to the longest, -inf on the padded
    // keys), two heads each: every slice's rows equal the attention over that slice alone, padded query rows
    // included (they attend to the slice's real keys, as in the reference).
    torch::manual_seed(7);
    const std::vector<int64_t> lengths = {1024, 1024, 990, 713, 1024, 450, 77, 1, 640};
    const int64_t heads = 2, l = 1024, d = 72;
    const auto nb = static_cast<int64_t>(lengths.size()) * heads;
    const auto q = torch::randn({nb, l, d}), k = torch::randn({nb, l, d}), v = torch::randn({nb, l, d});
    const auto mask = paddingMask(lengths, heads, l);
    const auto expected = reference(q, k, v, 0.125, mask);
    for (auto isa : availableIsas()) {
        const auto out = fused(q, k, v, 0.125, mask, isa);
        EXPECT_LE(scaledError(out, expected), kF32Tolerance)
            << "batched navit output, " << kernels::attentionIsaName(isa);
        for (size_t i = 0; i < lengths.size(); ++i) {
            const auto first = static_cast<int64_t>(i) * heads;
            const auto rows = torch::indexing::Slice(first, first + heads);
            const auto keys = torch::indexing::Slice(0, lengths[i]);
            const auto alone =
                reference(q.index({rows}), k.index({rows, keys}), v.index({rows, keys}), 0.125);
            EXPECT_LE(scaledError(out.index({rows}), alone), kF32Tolerance)
                << "slice " << i << " (" << lengths[i] << " patches) batched vs alone, "
                << kernels::attentionIsaName(isa);
        }
    }
}

TEST(FlashAttention, KeyMaskShapesValuesAndFullyMaskedRows)
{
    torch::manual_seed(3);
    const int64_t n = 4, tq = 37, s = 300, d = 24;
    const auto q = torch::randn({n, tq, d}), k = torch::randn({n, s, d}), v = torch::randn({n, s, d});
    const float inf = std::numeric_limits<float>::infinity();
    // -inf in the middle and at the start of rows, finite additive values, one row with every key masked
    // (the plain softmax gives NaN there: so must the fused path), a [1, 1, S] and a [S] mask shared by all
    // rows.
    auto holes = torch::randn({n, 1, s});
    holes.index_put_({0, 0, torch::indexing::Slice(100, 230)}, -inf);
    holes.index_put_({1, 0, torch::indexing::Slice(0, 299)}, -inf);
    holes.index_put_({2}, -inf);
    const std::vector<std::pair<std::string, torch::Tensor>> masks = {
        {"[N,1,S] holes, finite values, a fully masked row", holes},
        {"[1,1,S] padding", paddingMask({150}, 1, s)},
        {"[S] finite", torch::randn({s}) * 3},
        {"[1,S] every key masked", torch::full({1, s}, -inf)},
        {"[N,1,1] per row constant", torch::randn({n, 1, 1})},
    };
    for (const auto &[what, mask] : masks)
        expectFusedMatches(q, k, v, 0.2, mask, "masked output, mask " + what);
    // The fully masked row is NaN in both, and only that row.
    const auto out = fused(q, k, v, 0.2, holes, kernels::bestAttentionIsa());
    EXPECT_TRUE(out[2].isnan().all().item<bool>());
    EXPECT_FALSE(out.narrow(0, 0, 2).isnan().any().item<bool>());
}

TEST(FlashAttention, RunningMaximumRescalesAcrossBlocks)
{
    // Scores that grow block after block (and one early spike) force the running maximum up many times, the
    // rescale of the accumulator with it; large magnitudes make any missed rescale visible.
    torch::manual_seed(11);
    const int64_t n = 2, tq = 50, s = 700, d = 16;
    const auto q = torch::randn({n, tq, d}).abs();
    auto k = torch::randn({n, s, d}).abs() * torch::linspace(0.1, 3.0, s).view({1, s, 1});
    k.index_put_({torch::indexing::Slice(), 5}, 4.0);
    const auto v = torch::randn({n, s, d});
    expectFusedMatches(q, k, v, 1.0, {}, "peaky attention output");
}

TEST(FlashAttention, BlockSizesDoNotChangeTheResult)
{
    torch::manual_seed(5);
    const auto q = torch::randn({3, 201, 72}), k = torch::randn({3, 333, 72}), v = torch::randn({3, 333, 72});
    const auto mask = paddingMask({333, 290, 17}, 1, 333);
    const auto expected = reference(q, k, v, 0.1, mask);
    for (auto isa : availableIsas())
        for (const auto &[qb, kb] :
             std::vector<std::pair<int64_t, int64_t>>{{1, 16}, {7, 48}, {64, 128}, {500, 1000}})
            EXPECT_LE(scaledError(fused(q, k, v, 0.1, mask, isa, qb, kb), expected), kF32Tolerance)
                << "output with query block " << qb << ", key block " << kb << ", "
                << kernels::attentionIsaName(isa);
}

TEST(FlashAttention, NonContiguousInputs)
{
    // Strided q/k/v (transposed storage) and an expanded (stride 0) batch of values.
    torch::manual_seed(9);
    const auto q = torch::randn({4, 16, 130}).transpose(1, 2), k = torch::randn({4, 16, 150}).transpose(1, 2);
    const auto v = torch::randn({1, 150, 16}).expand({4, 150, 16});
    ASSERT_FALSE(q.is_contiguous());
    expectFusedMatches(q, k, v, 0.25, {}, "output of strided inputs");
}

TEST(FlashAttention, HalfPrecisionInputsAreWidenedExactly)
{
    torch::manual_seed(13);
    const auto mask = paddingMask({256, 100}, 2, 256);
    for (const auto &[dtype, rounding] : std::vector<std::pair<torch::Dtype, double>>{
             {torch::kBFloat16, std::ldexp(1.0, -8)}, {torch::kFloat16, std::ldexp(1.0, -11)}}) {
        const auto q = torch::randn({4, 256, 72}).to(dtype), k = torch::randn({4, 256, 72}).to(dtype),
                   v = torch::randn({4, 256, 72}).to(dtype);
        // The reference sees the same half-precision values, widened.
        const auto expected = reference(q, k, v, 1.0 / std::sqrt(72.0), mask);
        for (auto isa : availableIsas()) {
            const auto out = fused(q, k, v, 1.0 / std::sqrt(72.0), mask, isa);
            EXPECT_EQ(out.scalar_type(), dtype);
            EXPECT_LE(scaledError(out, expected), rounding + kF32Tolerance)
                << c10::toString(dtype) << " output, " << kernels::attentionIsaName(isa);
        }
    }
}

TEST(FlashAttention, ScaledDotAttentionSwitch)
{
    torch::manual_seed(17);
    const auto q = torch::randn({4, 300, 72}), k = torch::randn({4, 300, 72}), v = torch::randn({4, 300, 72});
    const auto mask = paddingMask({300, 211}, 2, 300);
    kernels::FlashAttentionOptions o;
    o.scale = 0.1;
    const auto direct = kernels::flashAttention(q, k, v, mask, o);
    torch::Tensor viaFused, viaPlain, underGrad, causal;
    {
        torch::NoGradGuard noGrad;
        kernels::setAttentionPath(kernels::AttentionPath::Fused);
        viaFused = nn::scaledDotAttention(q, k, v, 0.1, mask);
        // A mask that varies along the queries (causal) is not the fused kernel's: the plain path runs.
        const auto tri = torch::full({300, 300}, -std::numeric_limits<float>::infinity()).triu(1);
        EXPECT_FALSE(kernels::fusedAttentionFor(q, k, v, tri));
        causal = nn::scaledDotAttention(q, k, v, 0.1, tri);
        kernels::setAttentionPath(kernels::AttentionPath::Plain);
        EXPECT_FALSE(kernels::fusedAttentionFor(q, k, v, mask));
        viaPlain = nn::scaledDotAttention(q, k, v, 0.1, mask);
    }
    kernels::setAttentionPath(kernels::AttentionPath::Fused);
    {
        torch::AutoGradMode grad(true);
        const auto qg = q.clone().requires_grad_(true);
        EXPECT_FALSE(kernels::fusedAttentionFor(qg, k, v, mask)); // autograd needs the plain ops
        underGrad = nn::scaledDotAttention(qg, k, v, 0.1, mask);
        EXPECT_TRUE(underGrad.requires_grad());
    }
    kernels::setAttentionPath(std::nullopt);
    EXPECT_TRUE(at::equal(viaFused, direct)) << "scaledDotAttention with the fused path on is flashAttention";
    const auto expected = reference(q, k, v, 0.1, mask);
    EXPECT_LE(scaledError(viaPlain, expected), kF32Tolerance) << "plain scaledDotAttention output";
    EXPECT_LE(scaledError(underGrad.detach(), expected), kF32Tolerance)
        << "autograd scaledDotAttention output";
    const auto tri = torch::full({300, 300}, -std::numeric_limits<float>::infinity()).triu(1);
    EXPECT_LE(scaledError(causal, reference(q, k, v, 0.1, tri)), kF32Tolerance) << "causal output";
}

TEST(FlashAttention, PathSwitchParsing)
{
    EXPECT_EQ(kernels::parseAttentionPath("plain", "X"), kernels::AttentionPath::Plain);
    EXPECT_EQ(kernels::parseAttentionPath("fused", "X"), kernels::AttentionPath::Fused);
    for (const char *bad : {"", "Fused", "flash", "plain "}) {
        try {
            kernels::parseAttentionPath(bad, "UHDLENS_ATTENTION");
            ADD_FAILURE() << "'" << bad << "' accepted";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
            EXPECT_NE(std::string(e.what()).find("UHDLENS_ATTENTION"), std::string::npos) << e.what();
        }
    }
    kernels::setAttentionPath(kernels::AttentionPath::Plain);
    EXPECT_EQ(kernels::attentionPath(), kernels::AttentionPath::Plain);
    kernels::setAttentionPath(std::nullopt);
}

TEST(FlashAttention, BadInputsAreRefusedWithTypedErrors)
{
    const auto q = torch::randn({2, 10, 8}), k = torch::randn({2, 12, 8}), v = torch::randn({2, 12, 8});
    struct Case
    {
        const char *what;
        torch::Tensor q, k, v, mask;
    };
    const std::vector<Case> cases = {
        {"2-D q", q[0], k, v, {}},
        {"head dims differ", q, torch::randn({2, 12, 9}), v, {}},
        {"batch differs", q, k, torch::randn({3, 12, 8}), {}},
        {"key and value lengths differ", q, k, torch::randn({2, 11, 8}), {}},
        {"integer inputs", q.to(torch::kInt32), k.to(torch::kInt32), v.to(torch::kInt32), {}},
        {"float64 inputs", q.to(torch::kFloat64), k.to(torch::kFloat64), v.to(torch::kFloat64), {}},
        {"mixed dtypes", q, k.to(torch::kBFloat16), v, {}},
        {"empty queries", torch::randn({2, 0, 8}), k, v, {}},
        {"empty keys", q, torch::randn({2, 0, 8}), torch::randn({2, 0, 8}), {}},
        {"query-varying mask", q, k, v, torch::zeros({2, 10, 12})},
        {"mask of the wrong length", q, k, v, torch::zeros({2, 1, 11})},
        {"mask of the wrong batch", q, k, v, torch::zeros({3, 1, 12})},
        {"integer mask", q, k, v, torch::zeros({2, 1, 12}, torch::kInt64)},
        {"4-D mask", q, k, v, torch::zeros({1, 2, 1, 12})},
    };
    for (const auto &c : cases) {
        std::string why;
        EXPECT_FALSE(kernels::flashAttentionSupports(c.q, c.k, c.v, c.mask, &why)) << c.what;
        EXPECT_FALSE(why.empty()) << c.what;
        try {
            kernels::flashAttention(c.q, c.k, c.v, c.mask, {});
            ADD_FAILURE() << c.what << " accepted";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << c.what;
        }
    }
    kernels::FlashAttentionOptions o;
    o.queryBlock = -1;
    EXPECT_THROW(kernels::flashAttention(q, k, v, {}, o), Error);
    o.queryBlock = 0;
    o.scale = std::numeric_limits<double>::infinity();
    EXPECT_THROW(kernels::flashAttention(q, k, v, {}, o), Error);
    for (auto isa : {AttentionIsa::Avx2, AttentionIsa::Avx512})
        if (!kernels::attentionIsaAvailable(isa)) {
            o.scale = 1.0;
            o.isa = isa;
            EXPECT_THROW(kernels::flashAttention(q, k, v, {}, o), Error) << kernels::attentionIsaName(isa);
        }
}
