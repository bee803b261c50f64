// Mixed mode (bf16 weight matrices, f32 arithmetic; core/src/nn/mixed_linear.h) against the all-f32 path.
// bf16 -> f32 widening is exact, so every comparison here is against at::linear / the f32 model with the same
// (bf16-representable) weights, and only summation order may differ: tolerances are f32 rounding, not bf16's.
#include "engine_impl.h"
#include "model_family.h"
#include "models/families.h"
#include "nn/layers.h"
#include "nn/mixed_linear.h"
#include "safetensors.h"
#include "uhdlens/devtools.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/runtime.h"

#include <QImage>
#include <QTemporaryDir>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

using namespace uhdlens;

namespace {

double relativeError(const torch::Tensor &got, const torch::Tensor &ref)
{
    const auto r = ref.to(torch::kDouble);
    return (got.to(torch::kDouble) - r).norm().item<double>() / std::max(1e-30, r.norm().item<double>());
}

// Reference: widen the weight, then libtorch's f32 linear.
torch::Tensor reference(const torch::Tensor &x, const torch::Tensor &w, const torch::Tensor &b)
{
    return at::linear(x, w.to(torch::kFloat32), b);
}

struct Shape
{
    int64_t m, k, n;
};

} // namespace

TEST(Mixed, SmallRowKernelsMatchWidenedLinear)
{
    // Rows 1..16 take the hand-written kernel; widths around the 8-lane vector and the 256-wide block, output
    // counts around the 4-row tile.
    const std::vector<Shape> shapes = {{1, 1, 1},    {1, 7, 3},    {1, 8, 4},     {1, 9, 5},    {2, 255, 7},
                                       {3, 256, 8},  {4, 257, 9},  {5, 600, 33},  {8, 1000, 64}, {16, 513, 17},
                                       {1, 2304, 130}, {16, 64, 1}};
    torch::manual_seed(1);
    for (const Shape &s : shapes) {
        for (bool withBias : {false, true}) {
            for (bool portable : {false, true}) {
                const auto x = torch::randn({s.m, s.k});
                const auto w = (torch::randn({s.n, s.k}) * 0.1).to(torch::kBFloat16);
                const auto b = withBias ? torch::randn({s.n}) : torch::Tensor();
                const auto got = nn::linearBf16Weight(x, w, b, portable);
                ASSERT_EQ(got.scalar_type(), torch::kFloat32);
                ASSERT_EQ(got.sizes(), (std::vector<int64_t>{s.m, s.n}));
                EXPECT_LE(relativeError(got, reference(x, w, b)), 1e-6)
                    << "m=" << s.m << " k=" << s.k << " n=" << s.n << " bias=" << withBias << " portable=" << portable;
            }
        }
    }
}

TEST(Mixed, LeadingDimsStridesAndManyRows)
{
    torch::manual_seed(2);
    // [B, T, K] input, a non-contiguous (transposed) input, and a weight that is a row slice of a packed matrix
    // (the resampler's in_proj_weight.narrow).
    const auto packed = (torch::randn({3 * 48, 40}) * 0.1).to(torch::kBFloat16);
    const auto w = packed.narrow(0, 48, 48);
    const auto b = torch::randn({48});
    for (int64_t rows : {1, 5, 16, 17, 100}) {
        const auto x3 = torch::randn({1, rows, 40});
        EXPECT_LE(relativeError(nn::linearBf16Weight(x3, w, b), reference(x3, w, b)), 1e-6) << rows;
        const auto xt = torch::randn({40, rows}).t();
        if (rows > 1) {
            ASSERT_FALSE(xt.is_contiguous());
        }
        EXPECT_LE(relativeError(nn::linearBf16Weight(xt, w, b), reference(xt, w, b)), 1e-6) << rows;
    }
    // Many rows and a weight above the 16M-element widening block: the blocked GEMM path concatenates blocks.
    const int64_t k = 2048, n = (int64_t(16) << 20) / k + 5;
    const auto big = (torch::randn({n, k}) * 0.02).to(torch::kBFloat16);
    const auto x = torch::randn({20, k});
    const auto bias = torch::randn({n});
    EXPECT_LE(relativeError(nn::linearBf16Weight(x, big, bias), reference(x, big, bias)), 1e-6);
    // Zero rows.
    EXPECT_EQ(nn::linearBf16Weight(torch::randn({0, k}), big, bias).sizes(), (std::vector<int64_t>{0, n}));
}

TEST(Mixed, AutogradFallbackGivesTheF32Gradient)
{
    torch::manual_seed(3);
    const auto w = (torch::randn({6, 10}) * 0.1).to(torch::kBFloat16);
    auto x = torch::randn({3, 10}, torch::requires_grad());
    nn::linearBf16Weight(x, w, {}).pow(2).sum().backward();
    auto x2 = x.detach().clone().requires_grad_(true);
    reference(x2, w, {}).pow(2).sum().backward();
    EXPECT_LE(relativeError(x.grad(), x2.grad()), 1e-6);
}

TEST(Mixed, DispatchingLinearAndEmbedding)
{
    torch::manual_seed(4);
    const auto x = torch::randn({2, 12});
    const auto w32 = torch::randn({5, 12});
    const auto w16 = w32.to(torch::kBFloat16);
    EXPECT_TRUE(torch::equal(nn::linear(x, w32, {}), at::linear(x, w32, {})));
    EXPECT_LE(relativeError(nn::linear(x, w16, {}), reference(x, w16, {})), 1e-6);
    // bf16 activations and weights: few rows take the few-rows kernel (f32 accumulation, rounded to bf16 once, as
    // oneDNN's bf16 GEMM), more rows at::linear; both agree with the f32 product to bf16 rounding. Bias in bf16.
    const auto b16 = torch::randn({5}).to(torch::kBFloat16);
    for (int64_t rows : {int64_t(1), int64_t(3), nn::kMixedSmallRows, nn::kMixedSmallRows + 1}) {
        const auto x16 = torch::randn({1, rows, 12}).to(torch::kBFloat16);
        const auto got = nn::linear(x16, w16, b16);
        ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
        ASSERT_EQ(got.sizes(), (std::vector<int64_t>{1, rows, 5}));
        const auto want = reference(x16.to(torch::kFloat32), w16, b16.to(torch::kFloat32));
        // bf16 roundings (of the output, and of the bias sum where oneDNN adds it in bf16): a bf16 ulp (2^-8) of
        // the sum of |terms|, which is what bounds them when the terms cancel.
        const auto scale = at::linear(x16.to(torch::kFloat32).abs(), w16.to(torch::kFloat32).abs(),
                                      b16.to(torch::kFloat32).abs());
        const auto err = (got.to(torch::kFloat32) - want).abs() - scale * (1.0 / 256);
        EXPECT_LE(err.max().item<float>(), 0.0f) << rows;
    }
    const auto table = torch::randn({9, 4}).to(torch::kBFloat16);
    const auto ids = torch::tensor({3, 0, 8}, torch::kLong);
    const auto e = nn::embeddingAs(table, ids, torch::kFloat32);
    EXPECT_EQ(e.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(e, table.to(torch::kFloat32).index_select(0, ids)));
}

TEST(Mixed, MatrixParameterNamesAreTwoDimensionalParameters)
{
    for (const std::string family : {"minicpmv", "llava-uhd", "uhd-paper"}) {
        auto model = createFamilyModel(tinyConfig(parseName<Family>(family)), nullptr);
        std::map<std::string, torch::Tensor> params;
        for (const auto &[name, t] : model->namedParameters())
            params[name] = t;
        const auto names = model->matrixParameterNames();
        ASSERT_FALSE(names.empty()) << family;
        bool hasEmbedding = false, hasHead = false;
        for (const std::string &name : names) {
            ASSERT_TRUE(params.count(name)) << family << ": " << name;
            EXPECT_EQ(params[name].dim(), 2) << family << ": " << name;
            hasEmbedding = hasEmbedding || name.ends_with("embed_tokens.weight");
            hasHead = hasHead || name.ends_with("lm_head.weight");
        }
        EXPECT_TRUE(hasEmbedding && hasHead) << family;
        // Most parameter bytes are in these matrices (norms, biases, position tables and convolutions are not).
        int64_t matrix = 0, all = 0;
        for (const auto &[name, t] : params) {
            all += t.numel();
            matrix += names.count(name) ? t.numel() : 0;
        }
        EXPECT_GT(double(matrix) / double(all), 0.5) << family;
    }
}

TEST(Mixed, FamiliesLoadedMixedMatchF32AndStayZeroCopy)
{
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    for (const std::string family : {"minicpmv", "llava-uhd", "uhd-paper"}) {
        // A bf16 checkpoint of a random model.
        auto source = createFamilyModel(tinyConfig(parseName<Family>(family)), nullptr);
        initRandom(*source, 21);
        std::vector<std::pair<std::string, torch::Tensor>> tensors;
        for (const auto &[name, t] : source->namedParameters())
            tensors.emplace_back(name, t.detach().to(torch::kBFloat16).contiguous());
        const std::string file = dir.path().toStdString() + "/" + family + ".safetensors";
        saveSafeTensors(file, tensors);
        const Checkpoint ck = Checkpoint::open(file);

        auto f32 = createFamilyModel(tinyConfig(parseName<Family>(family)), nullptr);
        loadParameters(f32->namedParameters(), ck, torch::kFloat32, torch::kCPU);
        auto mixed = createFamilyModel(tinyConfig(parseName<Family>(family)), nullptr);
        const auto names = mixed->matrixParameterNames();
        loadParameters(mixed->namedParameters(), ck, torch::kFloat32, torch::kCPU, {""}, names);
        EXPECT_EQ(mixed->dtype(), torch::kFloat32) << family;
        for (const auto &[name, t] : mixed->namedParameters()) {
            if (names.count(name)) {
                EXPECT_EQ(t.scalar_type(), torch::kBFloat16) << name;
                EXPECT_EQ(t.data_ptr(), ck.get(name).data_ptr()) << name << " should be a view of the mapping";
            } else {
                EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
            }
        }

        c10::InferenceMode inference;
        torch::manual_seed(5);
        const auto pixels = torch::randn({2, 3, 14 * 4, 14 * 6});
        EXPECT_LE(relativeError(mixed->encodeImages(pixels), f32->encodeImages(pixels)), 1e-5) << family;
        // Prefill (many rows: blocked GEMM) then single-token decode steps (the small-row kernel).
        const auto embeds = torch::randn({24, f32->hiddenSize()}) * 0.5;
        KVCache c1, c2;
        EXPECT_LE(relativeError(mixed->forward(embeds, c2), f32->forward(embeds, c1)), 1e-5) << family;
        for (int step = 0; step < 3; ++step) {
            const auto id = torch::tensor({int64_t(3 + step)}, torch::kLong);
            const auto l1 = f32->forward(f32->embedTokens(id), c1);
            const auto l2 = mixed->forward(mixed->embedTokens(id), c2);
            EXPECT_LE(relativeError(l2, l1), 1e-5) << family << " step " << step;
        }
    }
}

TEST(Mixed, EngineResolvesAndReportsMixed)
{
    EXPECT_TRUE(resolveDtype(Dtype::Mixed, torch::kCPU).bf16Weights);
    EXPECT_EQ(resolveDtype(Dtype::Mixed, torch::kCPU).compute, torch::kFloat32);
    EXPECT_FALSE(resolveDtype(Dtype::F32, torch::kCPU).bf16Weights);
    const auto autoCpu = resolveDtype(Dtype::Auto, torch::kCPU);
    EXPECT_EQ(autoCpu.bf16Weights, !cpuRunsBf16Fast());
    try {
        resolveDtype(Dtype::Mixed, torch::Device(torch::kCUDA, 0));
        ADD_FAILURE() << "mixed on CUDA must be refused";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("CPU"), std::string::npos);
    }
    try {
        parseName<Dtype>("f8"); // names are parsed where they come in; the error lists the choices
        ADD_FAILURE() << "unknown dtype must be refused";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("mixed"), std::string::npos);
    }

    // The bundled model is stored in bf16: mixed keeps its matrices and answers exactly as f32 does (greedy).
    const std::string bundled = std::string(UHDLENS_TEST_DATA) + "/../../resources/models/uhd-lens-tiny";
    LoadOptions o;
    o.modelDir = bundled;
    o.dtype = Dtype::Mixed;
    const auto mixed = Model::load(o);
    EXPECT_EQ(mixed->info().dtype, Dtype::Mixed);
    o.dtype = Dtype::F32;
    const auto f32 = Model::load(o);
    EXPECT_EQ(f32->info().dtype, Dtype::F32);
    QImage image(640, 360, QImage::Format_RGB888);
    image.fill(Qt::white);
    GenerationSettings g;
    g.maxNewTokens = 6;
    Conversation c1(mixed), c2(f32);
    c1.setImage(image);
    c2.setImage(image);
    const AskResult a = c1.ask("What is the window title?", g);
    const AskResult b = c2.ask("What is the window title?", g);
    EXPECT_EQ(a.answer, b.answer);
    EXPECT_EQ(a.stopReason, b.stopReason);
}

TEST(Attention, ChunkedInferencePathEqualsOneBatch)
{
    // Long sequences under no-grad take the head-chunked path of scaledDotAttention; with grad mode on the same
    // call takes the one-batch path. Both must agree (same arithmetic per head, f32 rounding only).
    torch::manual_seed(6);
    for (const auto &[n, t, d] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{16, 1024, 72}, {5, 1200, 16}}) {
        const auto q = torch::randn({n, t, d}), k = torch::randn({n, t, d}), v = torch::randn({n, t, d});
        torch::Tensor reference;
        {
            torch::AutoGradMode grad(true);
            reference = nn::scaledDotAttention(q, k, v, 0.125);
        }
        torch::Tensor chunked;
        {
            torch::NoGradGuard noGrad;
            chunked = nn::scaledDotAttention(q, k, v, 0.125);
        }
        ASSERT_EQ(chunked.sizes(), reference.sizes());
        EXPECT_LE(relativeError(chunked, reference), 1e-6) << n << "x" << t << "x" << d;
    }
}
