// Preprocessing against its references: the resize against Pillow's BICUBIC (fixtures from
// tests/tools/make_preprocess_fixtures.py: every pixel equal) and against a naive per-pixel double-precision
// re-derivation of Pillow's formulas on random sizes and contents (every pixel equal), crop geometry against
// direct indexing, normalisation against the (x/255 - mean)/std formula in double, batched against
// one-by-one, LLaVA-1.5's pad-to-square colour, and bad inputs.
#include "pillow_resample.h"
#include "preprocess.h"

#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/preprocess.h"
#include "uhdlens/slice_planner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <random>

namespace {

using namespace uhdlens;

const QString kDir = QStringLiteral(UHDLENS_TEST_DATA "/preprocess/");

const nlohmann::json &cases()
{
    static const nlohmann::json m = [] {
        std::ifstream in(UHDLENS_TEST_DATA "/preprocess/manifest.json");
        return nlohmann::json::parse(in).at("cases");
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

// Differing pixels between two same-shape 8-bit tensors, as "N of M differ, max |diff| D" for messages.
std::string diffSummary(const torch::Tensor &ours, const torch::Tensor &ref, double *maxDiff = nullptr)
{
    const auto diff = (ours.to(torch::kFloat64) - ref.to(torch::kFloat64)).abs();
    const double maxd = diff.numel() ? diff.max().item<double>() : 0.0;
    if (maxDiff)
        *maxDiff = maxd;
    return std::to_string((diff > 0).sum().item<int64_t>()) + " of " + std::to_string(diff.numel()) +
           " values differ, max |diff| " + std::to_string(static_cast<int>(maxd));
}

TEST_P(PillowCase, ResizeMatchesPillowBicubic)
{
    const auto &c = cases()[static_cast<size_t>(GetParam())];
    const std::string refName = c["reference"];
    const QImage src = loadImage(kDir + QString::fromStdString(c["source"]));
    const std::string kind = c["kind"];
    const Size size{c["size"][0], c["size"][1]};

    torch::Tensor ours;
    if (kind == "resize") {
        // A direct Image.resize(size, BICUBIC) of the source (stress cases; no planner involved).
        ours = preprocess::resizeImage(src, size);
    } else {
        // The fixture was made at the reference slicer's sizes; the C++ planner must agree, or the comparison
        // would be of the wrong images.
        const std::string policyName = c["policy"];
        const SlicePlan plan = planSlices({src.width(), src.height()}, *SlicePolicy::fromName(policyName));
        if (kind == "overview") {
            ASSERT_EQ(plan.overview, size);
            // The whole public path: pad-to-square when the policy asks for it, then the resize.
            RgbColour pad = kClipMeanColour;
            if (c.contains("pad_colour"))
                pad = {c["pad_colour"][0], c["pad_colour"][1], c["pad_colour"][2]};
            ours = preprocess::modelPixels(src, plan, pad).overview;
        } else {
            ASSERT_EQ(kind, "refine");
            ASSERT_TRUE(plan.refine.has_value());
            ASSERT_EQ(*plan.refine, size);
            ours = preprocess::resizeImage(src, size);
        }
    }
    const torch::Tensor ref = loadPixels(kDir + QString::fromStdString(refName));
    ASSERT_EQ(ours.sizes(), ref.sizes()) << refName;
    double maxd = 0;
    const std::string summary = diffSummary(ours, ref, &maxd);
    std::cout << "[pillow] " << refName << ": " << summary << "\n";
    RecordProperty("max_abs_diff", std::to_string(maxd));
    EXPECT_EQ(maxd, 0.0) << "resize " << std::string(c["source"]) << " -> " << size.width << "x"
                         << size.height << " (" << kind << ") vs Pillow's " << refName << ": " << summary;

    // The tensor form (float [B, C, H, W] of an 8-bit image) gives the same pixels, also without padding.
    if (!c.contains("pad_colour")) {
        const torch::Tensor viaTensor = preprocess::resizeBicubic(preprocess::imageToTensor(src), size);
        EXPECT_TRUE(torch::equal(viaTensor, ref))
            << "resizeBicubic(tensor) vs Pillow's " << refName << ": " << diffSummary(viaTensor, ref);
    }
}

INSTANTIATE_TEST_SUITE_P(PreprocessParity, PillowCase, ::testing::Range(0, static_cast<int>(cases().size())),
                         caseName);

TEST(PreprocessParity, FixturesCoverTheResamplerCases)
{
    bool strongDown = false, strongUp = false, pad = false, widthOnly = false, heightOnly = false,
         tiny = false, extremeAspect = false, opposite = false;
    for (const auto &c : cases()) {
        const QImage src = loadImage(kDir + QString::fromStdString(c["source"]));
        const int w = c["size"][0], h = c["size"][1];
        const double fx = double(src.width()) / w, fy = double(src.height()) / h;
        strongDown |= fx >= 3.0 && fy >= 3.0;
        strongUp |= fx <= 1.0 / 3.0;
        pad |= c["policy"] == "llava15";
        widthOnly |= w != src.width() && h == src.height();
        heightOnly |= w == src.width() && h != src.height();
        tiny |= src.width() * src.height() <= 4;
        extremeAspect |= std::max(w, h) >= 50 * std::min(w, h) ||
                         std::max(src.width(), src.height()) >= 50 * std::min(src.width(), src.height());
        opposite |= (fx > 1.0 && fy < 1.0) || (fx < 1.0 && fy > 1.0);
    }
    EXPECT_TRUE(strongDown && strongUp && pad && widthOnly && heightOnly && tiny && extremeAspect && opposite)
        << strongDown << strongUp << pad << widthOnly << heightOnly << tiny << extremeAspect << opposite;
}

// ---------------------------------------------------------------------------------------------------------------
// The resampler against a naive re-derivation of Pillow's formulas (Resample.c), written independently of
// pillow_resample.cpp: every output sample recomputes its own window and weights in double, weights are
// quantised to Q22 as normalize_coeffs_8bpc does, sums are accumulated in double (exact: integer products far
// below 2^53), each pass runs over the whole image (no row window), and both passes always run (an unchanged
// axis must come out unchanged). Any indexing, window, stride or channel mistake shows as a differing pixel.

namespace {

double naiveCubic(double x)
{
    x = std::fabs(x);
    if (x < 1.0)
        return (1.5 * x - 2.5) * x * x + 1; // ((a + 2) x - (a + 3)) x^2 + 1, a = -0.5
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * -0.5;
    return 0.0;
}

struct NaiveImage
{
    int w = 0, h = 0, c = 0;
    std::vector<uint8_t> px; // packed rows
    uint8_t at(int x, int y, int ch) const { return px[(static_cast<size_t>(y) * w + x) * c + ch]; }
};

// One pass along x (horizontal) or y to `outLen` samples.
NaiveImage naivePass(const NaiveImage &in, int outLen, bool horizontal)
{
    const int inLen = horizontal ? in.w : in.h;
    NaiveImage out{horizontal ? outLen : in.w, horizontal ? in.h : outLen, in.c, {}};
    out.px.resize(static_cast<size_t>(out.w) * out.h * out.c);
    const double scale = double(inLen) / outLen;
    const double filterScale = scale < 1.0 ? 1.0 : scale;
    const double support = 2.0 * filterScale;
    for (int o = 0; o < outLen; ++o) {
        const double centre = (o + 0.5) * scale;
        const int lo = std::max(0, int(centre - support + 0.5));
        const int hi = std::min(inLen, int(centre + support + 0.5));
        std::vector<double> wts;
        double sum = 0;
        for (int i = lo; i < hi; ++i) {
            wts.push_back(naiveCubic((i - centre + 0.5) * (1.0 / filterScale)));
            sum += wts.back();
        }
        std::vector<double> q;
        for (double wt : wts) {
            const double v = (sum != 0.0 ? wt / sum : wt) * 4194304.0; // 2^22
            q.push_back(double(v < 0 ? int(v - 0.5) : int(v + 0.5)));
        }
        const int across = horizontal ? in.h : in.w;
        for (int a = 0; a < across; ++a)
            for (int ch = 0; ch < in.c; ++ch) {
                double acc = 2097152.0; // one half in Q22
                for (int i = lo; i < hi; ++i)
                    acc += q[size_t(i - lo)] * (horizontal ? in.at(i, a, ch) : in.at(a, i, ch));
                const double v = std::clamp(std::floor(acc / 4194304.0), 0.0, 255.0);
                const int x = horizontal ? o : a, y = horizontal ? a : o;
                out.px[(static_cast<size_t>(y) * out.w + x) * out.c + ch] = static_cast<uint8_t>(v);
            }
    }
    return out;
}

NaiveImage naiveResize(const NaiveImage &in, int w, int h)
{
    return naivePass(naivePass(in, w, true), h, false);
}

} // namespace

TEST(PreprocessParity, ResamplerMatchesNaivePillowFormulasOnRandomSizes)
{
    std::mt19937 rng(20261206);
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int iter = 0; iter < 300; ++iter) {
        NaiveImage in{uni(1, 60), uni(1, 60), uni(1, 4), {}};
        if (iter % 10 == 0) // some strong downscales (wide filters) and long rows
            in.w = uni(100, 400);
        const int w = iter % 7 == 0 ? in.w : uni(1, 3 * in.w + 5);
        const int h = iter % 11 == 0 ? in.h : uni(1, 3 * in.h + 5);
        // Hard-edged content (0/255 runs) makes bicubic overshoot, so clipping between the passes matters.
        const int mode = iter % 3;
        in.px.resize(static_cast<size_t>(in.w) * in.h * in.c);
        for (size_t i = 0; i < in.px.size(); ++i)
            in.px[i] = mode == 0   ? uint8_t(uni(0, 255))
                       : mode == 1 ? uint8_t(uni(0, 1) * 255)
                                   : uint8_t(((i / 7) % 2) * 255);
        // The source with padded rows (stride > width * channels) and the target likewise.
        const std::ptrdiff_t srcStride = std::ptrdiff_t(in.w) * in.c + uni(0, 5);
        std::vector<uint8_t> src(size_t(srcStride) * in.h, 77);
        for (int y = 0; y < in.h; ++y)
            std::copy_n(&in.px[size_t(y) * in.w * in.c], size_t(in.w) * in.c, &src[size_t(y) * srcStride]);
        // Every other target is planar (channel planes, as resizeImage writes for a [3, H, W] tensor).
        const bool planar = iter % 2 == 1;
        const std::ptrdiff_t dstStride = (planar ? w : std::ptrdiff_t(w) * in.c) + uni(0, 5);
        const std::ptrdiff_t planeStride = planar ? dstStride * h + uni(0, 5) : 0;
        std::vector<uint8_t> dst(planar ? size_t(planeStride) * in.c : size_t(dstStride) * h, 0);
        pillow::resizeBicubic(pillow::ConstView8{src.data(), in.w, in.h, in.c, srcStride},
                              pillow::View8{dst.data(), w, h, in.c, dstStride, planeStride});
        const NaiveImage ref = naiveResize(in, w, h);
        int64_t differ = 0, maxd = 0;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                for (int ch = 0; ch < in.c; ++ch) {
                    const size_t at = planar ? size_t(ch * planeStride + y * dstStride + x)
                                             : size_t(y * dstStride + x * in.c + ch);
                    const int d = std::abs(int(dst[at]) - int(ref.at(x, y, ch)));
                    differ += d != 0;
                    maxd = std::max<int64_t>(maxd, d);
                }
        ASSERT_EQ(differ, 0) << "pillow::resizeBicubic vs naive formulas, " << in.w << "x" << in.h << "x"
                             << in.c << " -> " << w << "x" << h << (planar ? " planar" : "") << " (content "
                             << mode << "): " << differ << " values differ, max |diff| " << maxd;
    }
}

TEST(PreprocessParity, CoefficientTablesFollowPillow)
{
    // Downscale 3x: support 6, ksize = 2 * 6 + 1 = 13; every row's weights sum to ~1 in Q22.
    const pillow::AxisCoeffs c = pillow::bicubicCoeffs(300, 100);
    EXPECT_EQ(c.taps, 13);
    for (int i = 0; i < c.outSize; ++i) {
        int64_t sum = 0;
        for (int t = 0; t < c.taps; ++t) {
            sum += c.weights[size_t(i) * c.taps + t];
            if (t >= c.count[i]) {
                EXPECT_EQ(c.weights[size_t(i) * c.taps + t], 0) << "row " << i << " tap " << t;
            }
        }
        EXPECT_NEAR(double(sum), double(1 << pillow::kPrecisionBits), double(c.taps)) << "row " << i;
        EXPECT_GE(c.first[i], 0);
        EXPECT_LE(c.first[i] + c.count[i], 300);
    }
    // Same size: Q22 identity (so skipping an unchanged axis, as Pillow does, changes nothing).
    const pillow::AxisCoeffs same = pillow::bicubicCoeffs(17, 17);
    for (int i = 0; i < 17; ++i)
        for (int t = 0; t < same.count[i]; ++t)
            EXPECT_EQ(same.weights[size_t(i) * same.taps + t],
                      same.first[i] + t == i ? (1 << pillow::kPrecisionBits) : 0)
                << i << " " << t;
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
    const ModelView view = renderModelView(src, plan, kClipMeanColour);
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
        const ModelView view = renderModelView(src, plan, kClipMeanColour);
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

// The quick preview (quickModelInput) has the engine's geometry: every view at the encoder's size, a padded
// overview filled with the given colour around the centred image (expand2square's offset), slices cut where the
// plan's rectangles are. Only its resampling is approximate.
TEST(PreprocessGeometry, QuickPreviewUsesThePlansGeometry)
{
    QImage src(420, 140, QImage::Format_RGB888);
    src.fill(QColor(10, 200, 30));
    const RgbColour pad{1, 2, 3};
    const SlicePlan padded = planSlices({src.width(), src.height()}, SlicePolicy::llava15());
    ASSERT_TRUE(padded.padToSquare);
    const QImage quick = quickModelInput(src, padded, -1, pad);
    const QImage exact = renderModelView(src, padded, pad).overview;
    ASSERT_EQ(quick.size(), exact.size());
    // Rows well inside each band agree with the exact view (both padding and image), edges aside.
    for (const int y : {2, exact.height() / 2, exact.height() - 3}) {
        const QRgb q = quick.pixel(exact.width() / 2, y), e = exact.pixel(exact.width() / 2, y);
        EXPECT_EQ(q, e) << "row " << y;
    }
    EXPECT_EQ(quick.pixel(0, 0), qRgb(1, 2, 3));

    const SlicePlan sliced = planSlices({1400, 900}, SlicePolicy::minicpmv());
    QImage big(1400, 900, QImage::Format_RGB888);
    big.fill(Qt::black);
    ASSERT_TRUE(sliced.grid.has_value());
    for (int i = 0; i < sliced.sliceCount(); ++i) {
        const QImage s = quickModelInput(big, sliced, i, pad);
        EXPECT_EQ(s.size(), QSize(sliced.slice->width, sliced.slice->height)) << "slice " << i;
    }
    EXPECT_EQ(quickModelInput(big, sliced, -1, pad).size(),
              QSize(sliced.overview.width, sliced.overview.height));
    // Bad inputs give a null image, never an exception.
    EXPECT_TRUE(quickModelInput(big, sliced, sliced.sliceCount(), pad).isNull());
    EXPECT_TRUE(quickModelInput(QImage(), sliced, -1, pad).isNull());
    EXPECT_TRUE(quickModelInput(big, SlicePlan{}, -1, pad).isNull());
    const SlicePlan unsliced = planSlices({200, 150}, SlicePolicy::minicpmv());
    EXPECT_TRUE(quickModelInput(big, unsliced, 0, pad).isNull());
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
    EXPECT_TRUE(renderModelView(src, plan, kClipMeanColour).slices.empty());
}

// ---------------------------------------------------------------------------------------------------------------
// Bad inputs.

TEST(PreprocessErrors, PlanMustBelongToTheImage)
{
    const QImage src = loadImage(kDir + "tiny.png");
    const SlicePlan other = planSlices({97, 72}, SlicePolicy::minicpmv());
    try {
        renderModelView(src, other, kClipMeanColour);
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

TEST(PreprocessErrors, ResizeRejectsEmptyImagesAndSizes)
{
    auto expectInvalid = [](const auto &call, const char *what) {
        try {
            call();
            ADD_FAILURE() << what << ": expected Error(InvalidArgument)";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << what << ": " << e.what();
        } catch (...) {
            ADD_FAILURE() << what << ": threw something other than uhdlens::Error";
        }
    };
    const QImage src = loadImage(kDir + "tiny.png");
    expectInvalid([&] { preprocess::resizeImage(QImage(), {10, 10}); }, "resizeImage(null image)");
    expectInvalid([&] { preprocess::resizeImage(src, {0, 10}); }, "resizeImage(zero width)");
    expectInvalid([&] { preprocess::resizeImage(src, {10, -1}); }, "resizeImage(negative height)");
    expectInvalid(
        [&] {
            preprocess::resizeImage(src.convertToFormat(QImage::Format_RGB32), {10, 10});
        },
        "resizeImage(RGB32 image)");
    const auto x = preprocess::imageToTensor(src);
    expectInvalid([&] { preprocess::resizeBicubic(x, {0, 0}); }, "resizeBicubic(tensor, zero size)");
    expectInvalid(
        [&] {
            preprocess::resizeBicubic(torch::zeros({1, 3, 0, 5}), {4, 4});
        },
        "resizeBicubic(empty tensor)");
    expectInvalid(
        [&] {
            preprocess::resizeBicubic(torch::zeros({1, 5, 4, 4}), {2, 2});
        },
        "resizeBicubic(5 channels)");

    uint8_t in[12] = {}, out[12] = {};
    using pillow::ConstView8, pillow::View8;
    expectInvalid(
        [&] {
            pillow::resizeBicubic(ConstView8{nullptr, 2, 2, 3, 6}, View8{out, 2, 2, 3, 6});
        },
        "pillow null source");
    expectInvalid(
        [&] {
            pillow::resizeBicubic(ConstView8{in, 0, 2, 3, 6}, View8{out, 2, 2, 3, 6});
        },
        "pillow empty source");
    expectInvalid(
        [&] {
            pillow::resizeBicubic(ConstView8{in, 2, 2, 3, 6}, View8{out, 2, 0, 3, 6});
        },
        "pillow zero target height");
    expectInvalid(
        [&] {
            pillow::resizeBicubic(ConstView8{in, 2, 2, 3, 6}, View8{out, 1, 1, 1, 1});
        },
        "pillow channel mismatch");
    expectInvalid(
        [&] {
            pillow::resizeBicubic(ConstView8{in, 2, 2, 3, 5}, View8{out, 2, 2, 3, 6});
        },
        "pillow short stride");
    expectInvalid(
        [&] {
            pillow::resizeBicubic(ConstView8{in, 1, 1, 5, 5}, View8{out, 1, 1, 5, 5});
        },
        "pillow 5 channels");
    expectInvalid(
        [&] {
            pillow::resizeBicubic(ConstView8{in, 2, 2, 3, 6}, View8{out, 2, 2, 3, 2, 3});
        },
        "pillow overlapping target planes");
    expectInvalid([&] { pillow::bicubicCoeffs(0, 3); }, "pillow coefficients for an empty axis");
}

TEST(PreprocessErrors, AnyInputFormatIsConverted)
{
    // An ARGB image with transparency is composited on white first, like loadImage would.
    QImage argb(30, 20, QImage::Format_ARGB32);
    argb.fill(qRgba(0, 0, 0, 0));
    const SlicePlan plan = planSlices({30, 20}, SlicePolicy::minicpmv());
    const ModelView v = renderModelView(argb, plan, kClipMeanColour);
    EXPECT_EQ(v.overview.pixel(5, 5), qRgb(255, 255, 255));
}
