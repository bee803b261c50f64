// The quantized linear layer (core/src/quant/quant_linear.h): decode vs tiled path by row count, against
// at::linear with the dequantized weight; batch shapes, bf16 input, autograd, nn::Linear's hand-over, the
// weight owner kept alive, bad input.
#include "nn/layers.h"
#include "quant/dequant.h"
#include "quant/quant_linear.h"
#include "quant/quant_matmul.h"
#include "quant/vec_dot.h"
#include "quant_test_util.h"
#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>

using namespace uhdlens;
using namespace uhdlens::quant;

namespace {

// |y - x W^T| allowed for the dot-product path: each activation value moves by at most ~half a quantization
// step (amax of its block / 127, f16 scale rounding included: 0.6 steps), weighted by |W|; plus f32 summation
// slack.
torch::Tensor decodeBound(const torch::Tensor &x2, const torch::Tensor &w, int64_t block)
{
    const int64_t m = x2.size(0), k = x2.size(1);
    const torch::Tensor step =
        x2.abs().view({m, k / block, block}).amax(-1, true).expand({m, k / block, block}).reshape({m, k}) /
        127;
    return at::mm(0.6 * step, w.abs().t()) + 1e-5 * at::mm(x2.abs(), w.abs().t()) + 1e-6;
}

// |y - x W^T| allowed for the tiled path (f32 GEMM on the exactly dequantized weight): f32 rounding of the
// sum.
bool closeToF32Gemm(const torch::Tensor &y, const torch::Tensor &x2, const torch::Tensor &w,
                    const torch::Tensor &want)
{
    const torch::Tensor scale = at::mm(x2.abs().to(torch::kFloat64), w.abs().to(torch::kFloat64).t());
    return ((y.to(torch::kFloat64) - want).abs() <= 1e-5 * scale + 1e-6).all().item<bool>();
}

} // namespace

TEST(QuantLinear, DecodeAndTiledPathsAgainstDequantizedLinear)
{
    torch::NoGradGuard noGrad;
    torch::manual_seed(3);
    const int64_t in = 512;
    // Q4_0 / Q8_0 get an interleaved copy of their whole groups of 8 (and every M takes the dot products) where
    // the CPU has those kernels: 80 rows are 10 groups; 77 are 9 groups and 5 rows read row-major, as an output
    // head of 151666 rows; 5 rows have no group at all.
    for (int64_t out : {int64_t(77), int64_t(80), int64_t(5)})
        for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                           GgmlType::F16, GgmlType::BF16, GgmlType::F32}) {
            const torch::Tensor w = torch::randn({out, in}) * 0.05;
            const torch::Tensor b = torch::randn({out});
            const auto layer = QuantLinearImpl::fromFloat(w, t, b);
            const bool interleaved = (t == GgmlType::Q4_0 || t == GgmlType::Q8_0) && out >= 8 &&
                                     bestKernelIsa() != KernelIsa::Portable;
            EXPECT_EQ(layer->hasInterleavedCopy(), interleaved)
                << ggmlTypeInfo(t).name << " [" << out << ", " << in << "]";
            EXPECT_EQ(layer->matrix().interleavedRows, interleaved ? out / 8 * 8 : 0);
            EXPECT_EQ(layer->decodeMaxRows, interleaved ? kQuantInterleavedMaxRows : kQuantDecodeMaxRows);
            const torch::Tensor wq = layer->dequantizedWeight();
            for (int64_t m :
                 {int64_t(1), int64_t(3), kQuantDecodeMaxRows, kQuantDecodeMaxRows + 1, int64_t(40)}) {
                const torch::Tensor x = torch::randn({m, in});
                const torch::Tensor y = layer->forward(x);
                const torch::Tensor want =
                    at::linear(x.to(torch::kFloat64), wq.to(torch::kFloat64), b.to(torch::kFloat64));
                ASSERT_EQ(y.sizes(), (std::vector<int64_t>{m, out}));
                if (m <= layer->decodeMaxRows) {
                    const torch::Tensor excess =
                        (y.to(torch::kFloat64) - want).abs() -
                        decodeBound(x.to(torch::kFloat64), wq.to(torch::kFloat64), 32);
                    EXPECT_LE(excess.max().item<double>(), 0.0)
                        << ggmlTypeInfo(t).name << " decode path, M=" << m;
                    EXPECT_TRUE(torch::equal(y, quantMatmulFewRows(x, layer->matrix(), b)))
                        << ggmlTypeInfo(t).name << ": M=" << m << " must take the dot-product path";
                } else {
                    EXPECT_TRUE(closeToF32Gemm(y, x, wq, want))
                        << ggmlTypeInfo(t).name << " tiled path, M=" << m;
                    EXPECT_TRUE(torch::equal(y, quantMatmulTiled(x, layer->matrix(), b)))
                        << ggmlTypeInfo(t).name << ": M=" << m << " must take the tiled path";
                }
            }
        }
}

TEST(QuantLinear, KQuantWeightsFromBytes)
{
    torch::NoGradGuard noGrad;
    torch::manual_seed(4);
    const int64_t in = 768, out = 33;
    for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
        // Random blocks with sane scales: random bytes, f16 fields overwritten (as the fixture script does).
        const int64_t bytes = rowBytes(t, in) * out;
        torch::Tensor raw = torch::randint(0, 256, {bytes}, torch::kUInt8);
        const int64_t bb = ggmlTypeInfo(t).blockBytes;
        auto *p = raw.data_ptr<uint8_t>();
        for (int64_t off = 0; off < bytes; off += bb)
            for (int field : t == GgmlType::Q6_K ? std::vector<int>{208} : std::vector<int>{0, 2}) {
                const uint16_t h = field == 0 || t == GgmlType::Q6_K ? 0x1C00 /* 2^-8 */ : 0x2000; // 2^-7
                std::memcpy(p + off + field, &h, 2);
            }
        QuantLinear layer(t, in, out, std::vector<uint8_t>(p, p + bytes));
        const torch::Tensor wq = layer->dequantizedWeight().to(torch::kFloat64);
        const torch::Tensor x = torch::randn({2, in});
        const torch::Tensor excess =
            (layer->forward(x).to(torch::kFloat64) - at::linear(x.to(torch::kFloat64), wq)).abs() -
            decodeBound(x.to(torch::kFloat64), wq, 256);
        EXPECT_LE(excess.max().item<double>(), 0.0) << ggmlTypeInfo(t).name;
        const torch::Tensor x2 = torch::randn({20, in});
        EXPECT_TRUE(closeToF32Gemm(layer->forward(x2), x2, wq, at::linear(x2.to(torch::kFloat64), wq)))
            << ggmlTypeInfo(t).name << " tiled";
    }
}

TEST(QuantLinear, ShapesDtypesAndAutograd)
{
    torch::manual_seed(5);
    const auto layer = QuantLinearImpl::fromFloat(torch::randn({24, 64}), GgmlType::Q8_0, torch::randn({24}));
    {
        torch::NoGradGuard noGrad;
        const torch::Tensor x = torch::randn({2, 3, 64});
        const torch::Tensor y = layer->forward(x);
        EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 24}));
        EXPECT_TRUE(torch::equal(y.reshape({6, 24}), layer->forward(x.reshape({6, 64}))));
        const torch::Tensor yb = layer->forward(x.to(torch::kBFloat16));
        EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
        EXPECT_EQ(layer->forward(torch::randn({0, 64})).sizes(), (std::vector<int64_t>{0, 24}));
    }
    // Gradients reach the input through the dequantized weight.
    const torch::Tensor x = torch::randn({2, 64}, torch::requires_grad());
    layer->forward(x).sum().backward();
    const torch::Tensor xr = x.detach().clone().requires_grad_(true);
    at::linear(xr, layer->dequantizedWeight(), layer->bias).sum().backward();
    EXPECT_TRUE(torch::allclose(x.grad(), xr.grad(), 1e-6, 1e-6));
    EXPECT_EQ(layer->named_parameters().size(), 1u); // "bias"; the weight is raw bytes, not a parameter
}

// A loader sets nn::Linear's `quantized`: the module answers as the quantized layer does.
TEST(QuantLinear, NnLinearHandsOver)
{
    torch::NoGradGuard noGrad;
    torch::manual_seed(6);
    nn::Linear linear(64, 16, true, torch::TensorOptions(torch::kFloat32));
    const auto q = QuantLinearImpl::fromFloat(torch::randn({16, 64}), GgmlType::Q4_0, torch::randn({16}));
    linear->quantized = q;
    for (int64_t m : {1, 30}) {
        const torch::Tensor x = torch::randn({m, 64});
        EXPECT_TRUE(torch::equal(linear->forward(x), q->forward(x))) << "M=" << m;
    }
}

// Bytes owned by someone else (a file mapping) stay alive with the layer.
TEST(QuantLinear, KeepsTheOwnerAlive)
{
    torch::NoGradGuard noGrad;
    const auto ref = QuantLinearImpl::fromFloat(torch::randn({8, 32}), GgmlType::Q4_1);
    const auto *bytes = ref->matrix().data;
    auto mapping = std::make_shared<std::vector<uint8_t>>(bytes, bytes + matrixBytes(ref->matrix()));
    QuantLinear layer(GgmlType::Q4_1, 32, 8, mapping->data(), mapping);
    EXPECT_EQ(mapping.use_count(), 2);
    mapping.reset();
    const torch::Tensor x = torch::randn({1, 32});
    EXPECT_TRUE(torch::equal(layer->forward(x), ref->forward(x)));
}

TEST(QuantLinear, BadInputIsATypedError)
{
    using quant_test::expectErrorCode;
    expectErrorCode(
        ErrorCode::TensorShapeMismatch, [] { QuantLinear(GgmlType::Q4_0, 64, 2, std::vector<uint8_t>(71)); },
        "71 bytes for a [2, 64] Q4_0 weight");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch, [] { QuantLinear(GgmlType::Q4_0, 40, 2, std::vector<uint8_t>(72)); },
        "row of 40");
    expectErrorCode(
        ErrorCode::CheckpointInvalid, [] { QuantLinear(GgmlType::Q3_K, 256, 1, std::vector<uint8_t>(110)); },
        "Q3_K weight");
    expectErrorCode(
        ErrorCode::InvalidArgument,
        [] {
            QuantLinearImpl::fromFloat(torch::randn({2, 256}), GgmlType::Q4_K);
        },
        "no reference quantizer for Q4_K");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [] {
            QuantLinearImpl::fromFloat(torch::randn({2, 64}), GgmlType::Q8_0, torch::randn({3}));
        },
        "bias [3]");
    const auto layer = QuantLinearImpl::fromFloat(torch::randn({2, 64}), GgmlType::Q8_0);
    expectErrorCode(
        ErrorCode::TensorShapeMismatch,
        [&] {
            layer->forward(torch::randn({1, 65}));
        },
        "input width 65");
    expectErrorCode(
        ErrorCode::TensorShapeMismatch, [&] { layer->forward(torch::tensor(1.0f)); }, "0-D input");
}
