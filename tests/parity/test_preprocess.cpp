// Preprocessing against its references: the resize against Pillow's BICUBIC (fixtures from
// tests/tools/make_preprocess_fixtures.py, mean abs difference <= 1 grey level), crop geometry against direct
// indexing, normalisation against the (x/255 - mean)/std formula in double, batched against one-by-one, and
// LLaVA-1.5's pad-to-square colour.
#include "preprocess.h"

#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/preprocess.h"
#include "uhdlens/slice_planner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

namespace {

using namespace uhdlens;

const QString kDir = QStringLiteral(UHDLENS_TEST_DATA "/preprocess/");

const nlohmann::json &cases()
{
    static const nlohmann::json m = [] {
        std::ifstream in(UHDLENS_TEST_DATA "/preprocess/manifest.json");
        return nlohmann::json::parse(in)["cases"];
    }();
    return m;
}

PixelNorm clipNorm()
{
    PixelNorm n;
    const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    for (int c = 0; c < 3; ++c) {
        n.mean[c] = mean[c];
        n.std[c] = std[c];
    }
    return n;
}

torch::Tensor loadPixels(const QString &path) { return preprocess::imageToTensor(loadImage(path)); }

std::string caseName(const ::testing::TestParamInfo<int> &info)
{
    std::string s = cases()[static_cast<size_t>(info.param)]["reference"];
    s = s.substr(0, s.size() - 4);
    for (char &c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '_';
    return s;
}

class PillowCase : public ::testing::TestWithParam<int>
{
};

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// Resize parity with Pillow.

TEST_P(PillowCase, ResizeMatchesPillowBicubic)
{
    const auto &c = cases()[static_cast<size_t>(GetParam())];
    const QImage src = loadImage(kDir + QString::fromStdString(c["source"]));
    const std::string policyName = c["policy"];
    const Size size{c["size"][0], c["size"][1]};

    // The fixture was made at the reference slicer's sizes; the C++ planner must agree, or the comparison
    // would be of the wrong images.
    const SlicePlan plan = planSlices({src.width(), src.height()}, *SlicePolicy::fromName(policyName));
    torch::Tensor ours;
    if (c["kind"] == "overview") {
        ASSERT_EQ(plan.overview, size);
        // The whole public path: pad-to-square when the policy asks for it, then the resize.
        RgbColour pad = kClipMeanColour;
        if (c.contains("pad_colour"))
            pad = {c["pad_colour"][0], c["pad_colour"][1], c["pad_colour"][2]};
        ours = preprocess::modelPixels(src, plan, pad).overview;
    } else {
        ASSERT_TRUE(plan.refine.has_value());
        ASSERT_EQ(*plan.refine, size);
        ours = preprocess::resizeBicubic(preprocess::imageToTensor(src), size);
    }
    const torch::Tensor ref = loadPixels(kDir + QString::fromStdString(c["reference"]));
    ASSERT_EQ(ours.sizes(), ref.sizes());
    EXPECT_TRUE(torch::equal(ours, ours.round().clamp(0, 255))) << "resize output must be 8-bit values";

    const auto diff = (ours - ref).abs();
    const double mad = diff.mean().item<double>();
    const double maxd = diff.max().item<double>();
    const double within1 = (diff <= 1).to(torch::kFloat64).mean().item<double>();
    std::cout << "[pillow] " << std::string(c["reference"]) << ": mean abs diff " << mad << ", max " << maxd
              << ", " << 100.0 * within1 << "% within 1\n";
    RecordProperty("mean_abs_diff", std::to_string(mad));
    EXPECT_LE(mad, 1.0);
    // Pillow rounds and clips to 8 bits between its horizontal and vertical passes and PyTorch does not, so
    // pixels next to hard edges where bicubic overshoots (text) may differ by more (measured: up to 21 levels
    // on 6.5% of the pixels of the text refine); the large majority must agree to within one level.
    EXPECT_GE(within1, 0.90);
}

INSTANTIATE_TEST_SUITE_P(PreprocessParity, PillowCase,
                         ::testing::Range(0, static_cast<int>(cases().size())), caseName);

TEST(PreprocessParity, FixturesCoverDownscaleUpscaleAndPad)
{
    bool strongDown = false, strongUp = false, pad = false;
    for (const auto &c : cases()) {
        const QImage src = loadImage(kDir + QString::fromStdString(c["source"]));
        const double f = double(src.width()) / int(c["size"][0]);
        strongDown |= f >= 3.0;
        strongUp |= f <= 1.0 / 3.0;
        pad |= c["policy"] == "llava15";
    }
    EXPECT_TRUE(strongDown && strongUp && pad);
}

TEST(PreprocessParity, SameSizeResizeIsIdentity)
{
    const auto x = torch::randint(0, 256, {1, 3, 17, 23}).to(torch::kFloat32);
    EXPECT_TRUE(torch::equal(preprocess::resizeBicubic(x, {23, 17}), x));
}

TEST(PreprocessParity, RenderModelViewMatchesTensorPath)
{
    const QImage src = loadImage(kDir + "photo-wide.png");
    const SlicePlan plan = planSlices({src.width(), src.height()}, SlicePolicy::minicpmv());
    ASSERT_TRUE(plan.grid.has_value());
    const ModelView view = renderModelView(src, plan);
    const auto px = preprocess::modelPixels(src, plan, kClipMeanColour);
    ASSERT_EQ(view.overview.format(), QImage::Format_RGB888);
    EXPECT_EQ(view.overview.size(), QSize(plan.overview.width, plan.overview.height));
    EXPECT_TRUE(torch::equal(preprocess::imageToTensor(view.overview), px.overview));
    ASSERT_EQ(static_cast<int>(view.slices.size()), plan.sliceCount());
    for (int i = 0; i < plan.sliceCount(); ++i) {
        EXPECT_EQ(view.slices[i].size(), QSize(plan.slice->width, plan.slice->height));
        EXPECT_TRUE(torch::equal(preprocess::imageToTensor(view.slices[i]), px.slices.slice(0, i, i + 1))) << i;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Crop geometry.

TEST(PreprocessGeometry, SlicesAreThePlanRectanglesRowMajor)
{
    for (Size input : {Size{1920, 1080}, Size{2480, 3508}, Size{4988, 1247}, Size{1024, 1024}, Size{700, 3000}}) {
        const SlicePlan plan = planSlices(input, SlicePolicy::minicpmv());
        ASSERT_TRUE(plan.grid && plan.refine && plan.slice);
        // Pixel values that encode their own position, so any mix-up of slices, rows or channels shows.
        const int64_t H = plan.refine->height, W = plan.refine->width;
        const auto refined = torch::arange(3 * H * W, torch::kFloat64).reshape({1, 3, H, W});
        const auto slices = preprocess::cropSlices(refined, plan);
        ASSERT_EQ(slices.sizes(), (std::vector<int64_t>{plan.sliceCount(), 3, plan.slice->height, plan.slice->width}));
        EXPECT_TRUE(slices.is_contiguous());
        for (int i = 0; i < plan.sliceCount(); ++i) {
            const Rect &r = plan.slices[static_cast<size_t>(i)];
            EXPECT_EQ(r.x, (i % plan.grid->cols) * plan.slice->width);
            EXPECT_EQ(r.y, (i / plan.grid->cols) * plan.slice->height);
            const auto expected = refined[0].narrow(1, r.y, r.height).narrow(2, r.x, r.width);
            EXPECT_TRUE(torch::equal(slices[i], expected)) << input.width << "x" << input.height << " slice " << i;
        }
    }
}

TEST(PreprocessGeometry, GeneralRectanglesFallBackToPerSliceCrops)
{
    SlicePlan plan = planSlices({1920, 1080}, SlicePolicy::minicpmv());
    // A custom plan whose rectangles do not tile (overlapping, reversed): crops must still be exact.
    std::reverse(plan.slices.begin(), plan.slices.end());
    plan.slices[0].x = 3;
    const int64_t H = plan.refine->height, W = plan.refine->width;
    const auto refined = torch::arange(3 * H * W, torch::kFloat64).reshape({1, 3, H, W});
    const auto slices = preprocess::cropSlices(refined, plan);
    for (int i = 0; i < plan.sliceCount(); ++i) {
        const Rect &r = plan.slices[static_cast<size_t>(i)];
        EXPECT_TRUE(torch::equal(slices[i], refined[0].narrow(1, r.y, r.height).narrow(2, r.x, r.width))) << i;
    }
    plan.slices[1].x = static_cast<int>(W); // outside
    EXPECT_THROW(preprocess::cropSlices(refined, plan), c10::Error);
}

TEST(PreprocessGeometry, PadToSquareUsesTheNormMeanColour)
{
    EXPECT_EQ(padColourForMean(clipNorm().mean), kClipMeanColour);
    const PixelNorm half;
    EXPECT_EQ(padColourForMean(half.mean), (RgbColour{127, 127, 127})); // int(0.5*255) = int(127.5) = 127

    const QImage src = loadImage(kDir + "photo.png"); // 400x300: pad 50 rows above and below
    const QImage sq = padToSquare(src, kClipMeanColour);
    ASSERT_EQ(sq.size(), QSize(400, 400));
    EXPECT_EQ(sq.pixel(0, 0), qRgb(122, 116, 104));
    EXPECT_EQ(sq.pixel(399, 49), qRgb(122, 116, 104));
    EXPECT_EQ(sq.pixel(200, 50), src.pixel(200, 0));
    EXPECT_EQ(sq.pixel(7, 349), src.pixel(7, 299));
    EXPECT_EQ(sq.pixel(7, 350), qRgb(122, 116, 104));
    const QImage tall = padToSquare(src.transformed(QTransform().rotate(90)), kClipMeanColour);
    EXPECT_EQ(tall.pixel(49, 0), qRgb(122, 116, 104));
    EXPECT_EQ(tall.pixel(350, 0), qRgb(122, 116, 104));
    EXPECT_NE(tall.pixel(50, 0), qRgb(122, 116, 104));
    EXPECT_NE(tall.pixel(349, 0), qRgb(122, 116, 104));

    // The tensor path pads identically, and the llava15 overview keeps the pad colour far from the image.
    const auto padded = preprocess::padToSquare(preprocess::imageToTensor(src), kClipMeanColour);
    EXPECT_TRUE(torch::equal(padded, preprocess::imageToTensor(sq)));
    const SlicePlan plan = planSlices({400, 300}, SlicePolicy::llava15());
    const auto prepared = prepareImages(src, plan, PreprocessOptions{clipNorm()});
    ASSERT_EQ(prepared.overview.sizes(), (std::vector<int64_t>{1, 3, 336, 336}));
    EXPECT_FALSE(prepared.slices.defined());
    for (int c = 0; c < 3; ++c) {
        const double expected = (int(clipNorm().mean[c] * 255) / 255.0 - clipNorm().mean[c]) / clipNorm().std[c];
        EXPECT_NEAR(prepared.overview[0][c][0][0].item<double>(), expected, 1e-6) << c;
        EXPECT_LT(std::abs(expected), 0.02); // why LLaVA pads with the mean: it normalises to ~0
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation and batching.

TEST(PreprocessNormalize, MatchesFormulaInDouble)
{
    const auto x = torch::arange(0, 256, torch::kFloat32).repeat({3, 1}).reshape({1, 3, 16, 16});
    for (const PixelNorm &norm : {PixelNorm{}, clipNorm()}) {
        const auto y = preprocess::normalize(x, norm);
        ASSERT_EQ(y.scalar_type(), torch::kFloat32);
        for (int c = 0; c < 3; ++c) {
            const auto ref = (x[0][c].to(torch::kFloat64) / 255.0 - double(norm.mean[c])) / double(norm.std[c]);
            EXPECT_LE((y[0][c].to(torch::kFloat64) - ref).abs().max().item<double>(), 1e-6) << c;
        }
    }
    const auto y = preprocess::normalize(x, PixelNorm{});
    EXPECT_FLOAT_EQ(y.min().item<float>(), -1.0f); // MiniCPM-V's 0.5/0.5: 0 -> -1, 255 -> 1
    EXPECT_FLOAT_EQ(y.max().item<float>(), 1.0f);
    const auto bf = preprocess::normalize(x, clipNorm(), torch::kBFloat16);
    EXPECT_EQ(bf.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::equal(bf, preprocess::normalize(x, clipNorm()).to(torch::kBFloat16)));
}

TEST(PreprocessNormalize, BatchedEqualsOneByOne)
{
    const QImage src = loadImage(kDir + "photo-wide.png");
    for (const SlicePolicy &policy : {SlicePolicy::minicpmv(), SlicePolicy::llavaUhd()}) {
        const SlicePlan plan = planSlices({src.width(), src.height()}, policy);
        ASSERT_TRUE(plan.grid.has_value());
        const PixelNorm norm = policy.kind == PolicyKind::LlavaUhd ? clipNorm() : PixelNorm{};
        const auto batch = prepareImages(src, plan, PreprocessOptions{norm});
        ASSERT_TRUE(batch.slices.defined());
        EXPECT_EQ(batch.count(), 1 + plan.sliceCount());
        ASSERT_EQ(batch.slices.size(0), plan.sliceCount());
        EXPECT_EQ(batch.overview.size(0), 1);
        // One-by-one: each encoder input rendered to an 8-bit image (what a user is shown), then normalised alone.
        const ModelView view = renderModelView(src, plan);
        EXPECT_TRUE(torch::equal(batch.overview, preprocess::normalize(preprocess::imageToTensor(view.overview), norm)));
        for (int i = 0; i < plan.sliceCount(); ++i) {
            const auto one = preprocess::normalize(preprocess::imageToTensor(view.slices[i]), norm);
            EXPECT_TRUE(torch::equal(batch.slices.slice(0, i, i + 1), one)) << policy.name() << " slice " << i;
        }
        const auto bf = prepareImages(src, plan, PreprocessOptions{norm, torch::kBFloat16});
        EXPECT_EQ(bf.slices.scalar_type(), torch::kBFloat16);
        EXPECT_TRUE(torch::equal(bf.slices, batch.slices.to(torch::kBFloat16)));
    }
}

TEST(PreprocessNormalize, UnslicedPlanHasNoSliceBatch)
{
    const QImage src = loadImage(kDir + "tiny.png");
    const SlicePlan plan = planSlices({src.width(), src.height()}, SlicePolicy::minicpmv());
    ASSERT_FALSE(plan.grid.has_value());
    const auto p = prepareImages(src, plan, PreprocessOptions{});
    EXPECT_FALSE(p.slices.defined());
    EXPECT_EQ(p.count(), 1);
    EXPECT_EQ(p.overview.sizes(), (std::vector<int64_t>{1, 3, plan.overview.height, plan.overview.width}));
    EXPECT_TRUE(renderModelView(src, plan).slices.empty());
}

// ---------------------------------------------------------------------------------------------------------------
// Bad inputs.

TEST(PreprocessErrors, PlanMustBelongToTheImage)
{
    const QImage src = loadImage(kDir + "tiny.png");
    const SlicePlan other = planSlices({97, 72}, SlicePolicy::minicpmv());
    try {
        renderModelView(src, other);
        FAIL() << "expected an error";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("97x72"), std::string::npos) << e.what();
    }
    const SlicePlan empty = planSlices({0, 0}, SlicePolicy::minicpmv());
    EXPECT_THROW(prepareImages(QImage(), empty, PreprocessOptions{}), Error);
    SlicePlan broken = planSlices({96, 72}, SlicePolicy::minicpmv());
    broken.overview = {0, 0};
    EXPECT_THROW(prepareImages(src, broken, PreprocessOptions{}), Error);
    EXPECT_THROW(padToSquare(QImage(), kClipMeanColour), Error);
}

TEST(PreprocessErrors, AnyInputFormatIsConverted)
{
    // An ARGB image with transparency is composited on white first, like loadImage would.
    QImage argb(30, 20, QImage::Format_ARGB32);
    argb.fill(qRgba(0, 0, 0, 0));
    const SlicePlan plan = planSlices({30, 20}, SlicePolicy::minicpmv());
    const ModelView v = renderModelView(argb, plan);
    EXPECT_EQ(v.overview.pixel(5, 5), qRgb(255, 255, 255));
}
