// Training setup of the bundled model: the preset configs build real uhd-paper models with the intended slicing,
// and bad options are refused before anything is written. (The loss actually falling is the smoke test
// smoke.train, tests/smoke/train_smoke.cmake.)
#include "model_family.h"

#include "uhdlens/errors.h"
#include "uhdlens/training.h"

#include <gtest/gtest.h>

#include <QDir>
#include "gui_app.h"
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <QTemporaryDir>

using namespace uhdlens;

TEST(TrainingConfig, PresetsBuildUhdPaperModelsWithTheirPolicy)
{
    for (const char *preset : {"tiny", "micro"}) {
        const auto uhd = nlohmann::json::parse(trainingConfigJson(preset, "llava-uhd"));
        const auto low = nlohmann::json::parse(trainingConfigJson(preset, "llava15"));
        EXPECT_EQ(detectFamily(uhd), "uhd-paper");
        // The resampler: the paper's global attention unless asked for the ECCV box-local one.
        EXPECT_EQ(uhd.at("resampler_attention"), "global");
        const auto spatial = nlohmann::json::parse(trainingConfigJson(preset, "llava-uhd", -1, "spatial"));
        EXPECT_EQ(spatial.at("resampler_attention"), "spatial");
        EXPECT_EQ(createFamilyModel(spatial, nullptr)->namedParameters().size(),
                  createFamilyModel(uhd, nullptr)->namedParameters().size()); // same tensors, other wiring
        auto m = createFamilyModel(uhd, nullptr);
        auto b = createFamilyModel(low, nullptr);
        EXPECT_EQ(m->policy().kind, PolicyKind::LlavaUhd) << preset;
        EXPECT_GT(m->policy().maxSlices, 1) << preset;
        // The baseline: same modules and sizes, slicing off (overview only), the same 64 tokens per view.
        EXPECT_EQ(b->policy().maxSlices, 1) << preset;
        EXPECT_EQ(b->tokensPerImage(), 64);
        EXPECT_EQ(m->tokensPerImage(), 64);
        EXPECT_EQ(m->namedParameters().size(), b->namedParameters().size());
        const SlicePlan big = planSlices({1600, 1000}, b->policy());
        EXPECT_FALSE(big.grid.has_value());
        EXPECT_EQ(big.encodedImages().size(), 1u);
        const SlicePlan sliced = planSlices({1600, 1000}, m->policy());
        EXPECT_GT(sliced.encodedImages().size(), 2u);
        // Every encoded side is a multiple of the ViT patch.
        for (const auto &e : sliced.encodedImages()) {
            EXPECT_EQ(e.size.width % 14, 0);
            EXPECT_EQ(e.size.height % 14, 0);
        }
    }
    // The shipped preset stays within the 25 MB weight budget in bf16.
    auto tiny = createFamilyModel(nlohmann::json::parse(trainingConfigJson("tiny", "llava-uhd")), nullptr);
    int64_t params = 0;
    for (const auto &p : tiny->namedParameters())
        params += p.second.numel();
    EXPECT_LT(params * 2, 25'000'000);
    EXPECT_GT(params, 1'000'000);
}

TEST(TrainingConfig, BadOptionsRefusedBeforeWriting)
{
    QTemporaryDir tmp;
    ASSERT_TRUE(tmp.isValid());
    const std::string out = (tmp.path() + QStringLiteral("/model")).toStdString();
    auto refused = [&](TrainOptions o, const char *what) {
        o.outDir = o.outDir.empty() ? std::string() : out;
        EXPECT_FALSE(o.validate().empty()) << what;
        try {
            train(o);
            ADD_FAILURE() << what << ": trained anyway";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << what;
        }
        EXPECT_FALSE(QDir(QString::fromStdString(out)).exists()) << what;
    };
    TrainOptions base;
    base.outDir = "x";
    EXPECT_TRUE(base.validate().empty()) << base.validate();
    TrainOptions o = base;
    o.outDir.clear();
    refused(o, "no output folder");
    o = base;
    o.steps = 0;
    refused(o, "zero steps");
    o = base;
    o.policy = "squeeze";
    refused(o, "unknown policy");
    o = base;
    o.preset = "huge";
    refused(o, "unknown preset");
    o = base;
    o.lr = 0;
    refused(o, "zero learning rate");
    o = base;
    o.clipNorm = -1;
    refused(o, "negative clip");
    o = base;
    o.maxSide = 50;
    refused(o, "image sides out of range");
    o = base;
    o.dtype = "f16";
    refused(o, "unsupported dtype");
    o = base;
    o.readTextProbability = 1.5;
    refused(o, "read-text probability above 1");
    o = base;
    o.readTextWords = 0;
    refused(o, "no words to read");
    o = base;
    o.regionLossWeight = -1;
    refused(o, "negative region loss weight");
    o = base;
    o.regionLossWeight = std::nan("");
    refused(o, "NaN region loss weight");
    o = base;
    o.glyphLossWeight = -0.5;
    refused(o, "negative glyph loss weight");
    o = base;
    o.glyphLossWeight = std::nan("");
    refused(o, "NaN glyph loss weight");
    o = base;
    o.glyphMinPixels = std::numeric_limits<double>::infinity();
    refused(o, "infinite glyph minimum height");
    o = base;
    o.regionMinPixels = -2;
    refused(o, "negative region minimum");
    o = base;
    o.families = {"window", "spreadsheet"};
    refused(o, "unknown family");
    o = base;
    o.resamplerAttention = "local";
    refused(o, "unknown resampler attention");
    EXPECT_THROW(trainingConfigJson("tiny", "squeeze"), Error);
    EXPECT_THROW(trainingConfigJson("tiny", "llava-uhd", -1, "local"), Error);
    EXPECT_THROW(trainingConfigJson("huge", "llava-uhd"), Error);
}

// ---------------------------------------------------------------------------------------------------------------
// Region reading labels: which word or shape colour each visual token's box holds.

namespace {

// The box (row-major index into grid x grid) of point (x, y) in a view rectangle.
int boxOf(double x, double y, const Rect &view, int grid)
{
    const int c = std::min(grid - 1, static_cast<int>((x - view.x) * grid / view.width));
    const int r = std::min(grid - 1, static_cast<int>((y - view.y) * grid / view.height));
    return r * grid + c;
}
} // namespace

TEST(TrainingConfig, RegionLabelsNameTheShapeInEachBox)
{
    ensureGuiApplication();
    const auto model = createFamilyModel(nlohmann::json::parse(trainingConfigJson("tiny", "llava-uhd")), nullptr);
    synth::Options so;
    so.maxSide = 260; // about 224² pixels: one view, the overview alone
    int checked = 0;
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
        const synth::Sample s = synth::generate(synth::Family::Shapes, seed, so);
        ASSERT_FALSE(s.shapes.empty()) << seed;
        EXPECT_TRUE(s.texts.empty()) << seed;
        const SlicePlan plan = planSlices({s.image.width(), s.image.height()}, model->policy());
        ASSERT_FALSE(plan.grid.has_value());
        const auto labels = regionLabels(s, plan, 8, 0.0);
        ASSERT_EQ(labels.size(), 1u);
        ASSERT_EQ(labels[0].size(), 64u);
        // The largest shape lands in the box of its centre, named by its colour (nothing larger shares it).
        const auto largest = std::max_element(s.shapes.begin(), s.shapes.end(), [](const auto &a, const auto &b) {
            return a.pixelSize < b.pixelSize;
        });
        const Rect whole{0, 0, s.image.width(), s.image.height()};
        EXPECT_EQ(labels[0][boxOf(largest->x + largest->width / 2.0, largest->y + largest->height / 2.0, whole, 8)],
                  largest->text)
            << seed;
        // Every label is a colour of a shape whose centre is in that box; boxes without a centre stay empty.
        for (int q = 0; q < 64; ++q) {
            std::set<std::string> here;
            for (const auto &shape : s.shapes)
                if (boxOf(shape.x + shape.width / 2.0, shape.y + shape.height / 2.0, whole, 8) == q)
                    here.insert(shape.text);
            if (here.empty())
                EXPECT_EQ(labels[0][q], "") << seed << " box " << q;
            else
                EXPECT_TRUE(here.count(labels[0][q])) << seed << " box " << q;
        }
        // A size floor drops what the encoder cannot see: nothing survives one above every shape.
        const auto none = regionLabels(s, plan, 8, 1e6);
        ASSERT_EQ(none.size(), 1u);
        for (const auto &l : none[0])
            EXPECT_EQ(l, "");
        ++checked;
    }
    EXPECT_EQ(checked, 6);
}

TEST(TrainingConfig, RegionLabelsFollowTheSlices)
{
    ensureGuiApplication();
    const auto model = createFamilyModel(nlohmann::json::parse(trainingConfigJson("tiny", "llava-uhd")), nullptr);
    synth::Options so;
    so.minSide = 1200;
    so.maxSide = 2000;
    const synth::Sample s = synth::generate(synth::Family::Document, 3, so);
    const SlicePlan plan = planSlices({s.image.width(), s.image.height()}, model->policy());
    ASSERT_TRUE(plan.grid.has_value());
    const auto labels = regionLabels(s, plan, 8, 6.0);
    ASSERT_EQ(labels.size(), static_cast<std::size_t>(1 + plan.sliceCount()));
    std::multiset<std::string> words; // every word of every legible run
    for (const auto &t : s.texts)
        if (t.pixelSize * plan.slice->width / plan.sliceInOriginal(0).width >= 6.0) {
            std::istringstream in(t.text);
            for (std::string w; in >> w;)
                words.insert(w);
        }
    std::size_t inSlices = 0, inOverview = 0;
    for (std::size_t v = 0; v < labels.size(); ++v)
        for (const auto &l : labels[v])
            if (!l.empty()) {
                EXPECT_TRUE(words.count(l)) << "'" << l << "' is not a word of the page";
                (v == 0 ? inOverview : inSlices) += 1;
            }
    // The slices see the page at native resolution, the overview shrunk: far more is legible in the slices.
    EXPECT_GT(inSlices, 10u);
    EXPECT_GT(inSlices, inOverview);
    // A padded plan (LLaVA-1.5) has no box geometry to label; a zero grid has no boxes.
    EXPECT_TRUE(regionLabels(s, planSlices({s.image.width(), s.image.height()}, SlicePolicy::llava15()), 8, 6.0).empty());
    EXPECT_TRUE(regionLabels(s, plan, 0, 6.0).empty());
}

// The glyph loss's labels: each character's centre lands in the patch of every view that shows it, scaled by
// the view's resize, and nothing else is labelled. Hand-placed text, so the expected patches are exact.
TEST(TrainingConfig, GlyphLabelsPlaceEachCharacterInItsPatch)
{
    const std::string &alphabet = glyphAlphabet();
    ASSERT_EQ(alphabet.size(), 94u); // '!'..'~'
    auto cls = [&](char c) { return static_cast<int>(alphabet.find(c)) + 1; };
    synth::Sample s;
    synth::TextItem t; // "Ab 7" at (28, 14), a 14-px line box: centres at x 33, 43, 63 (the space has none)
    t.text = "Ab 7";
    t.pixelSize = 12;
    t.x = 28;
    t.y = 14;
    t.width = 40;
    t.height = 14;
    t.charEnds = {10, 20, 30, 40};
    s.texts.push_back(t);
    synth::TextItem tiny = t; // too small at model input for any view: never labelled
    tiny.text = "zz";
    tiny.pixelSize = 3;
    tiny.y = 100;
    tiny.charEnds = {4, 8};
    s.texts.push_back(tiny);
    synth::TextItem broken = t; // advances that do not match the text (a bad log): skipped, not misread
    broken.text = "Q";
    broken.y = 150;
    broken.charEnds = {};
    s.texts.push_back(broken);

    struct Case
    {
        int side;      // square image side; the overview is 224 px (scale 224 / side)
        int row;       // the patch row of the line's centre (y 14 + 0.55 * 14 = 21.7, scaled)
        int cols[3];   // patch columns of 'A', 'b', '7'
        double minPx;
    };
    const Case cases[] = {
        {224, 1, {2, 3, 4}, 6.0},  // scale 1: x 33 -> 2, 43 -> 3, 63 -> 4
        {448, 0, {1, 1, 2}, 6.0},  // scale 1/2: x 16.5 -> 1, 21.5 -> 1 (the larger wins; equal: the first), 31.5 -> 2
    };
    for (const Case &c : cases) {
        SlicePlan plan;
        plan.input = {c.side, c.side};
        plan.overview = {224, 224};
        const auto labels = glyphLabels(s, plan, 14, c.minPx);
        ASSERT_EQ(labels.size(), 1u) << c.side;
        ASSERT_EQ(labels[0].size(), 256u) << c.side;
        std::map<int, int> expected; // patch -> class
        expected[c.row * 16 + c.cols[2]] = cls('7');
        expected[c.row * 16 + c.cols[1]] = cls('b');
        expected[c.row * 16 + c.cols[0]] = cls('A');
        for (int q = 0; q < 256; ++q)
            EXPECT_EQ(labels[0][static_cast<std::size_t>(q)], expected.count(q) ? expected[q] : 0)
                << "side " << c.side << " patch " << q;
    }
    // Minimum height at model input: 12 px * 1/2 = 6 passes at 6, fails at 6.5.
    SlicePlan half;
    half.input = {448, 448};
    half.overview = {224, 224};
    const auto none = glyphLabels(s, half, 14, 6.5);
    ASSERT_EQ(none.size(), 1u);
    EXPECT_EQ(std::count(none[0].begin(), none[0].end(), 0), 256);
    EXPECT_TRUE(glyphLabels(s, half, 0, 6.0).empty());
    EXPECT_TRUE(glyphLabels(s, SlicePlan{}, 14, 6.0).empty());
}

// On generated pages: one grid per encoded image with that image's patch count, every label a character of
// the page's legible text, and the slices label far more than the shrunk overview.
TEST(TrainingConfig, GlyphLabelsFollowTheSlices)
{
    ensureGuiApplication();
    const auto model = createFamilyModel(nlohmann::json::parse(trainingConfigJson("tiny", "llava-uhd")), nullptr);
    synth::Options so;
    so.minSide = 1200;
    so.maxSide = 2000;
    const synth::Sample s = synth::generate(synth::Family::Document, 3, so);
    const SlicePlan plan = planSlices({s.image.width(), s.image.height()}, model->policy());
    ASSERT_TRUE(plan.grid.has_value());
    const auto labels = glyphLabels(s, plan, 14, 6.0);
    ASSERT_EQ(labels.size(), static_cast<std::size_t>(1 + plan.sliceCount()));
    EXPECT_EQ(labels[0].size(), static_cast<std::size_t>(plan.overview.width / 14 * (plan.overview.height / 14)));
    for (std::size_t v = 1; v < labels.size(); ++v)
        EXPECT_EQ(labels[v].size(), static_cast<std::size_t>(plan.slice->width / 14 * (plan.slice->height / 14)));
    std::set<char> legible;
    for (const auto &t : s.texts)
        if (t.pixelSize * plan.slice->width / plan.sliceInOriginal(0).width >= 6.0)
            legible.insert(t.text.begin(), t.text.end());
    std::size_t inSlices = 0, inOverview = 0;
    for (std::size_t v = 0; v < labels.size(); ++v)
        for (int l : labels[v])
            if (l != 0) {
                ASSERT_GT(l, 0);
                ASSERT_LE(l, 94);
                EXPECT_TRUE(legible.count(glyphAlphabet()[static_cast<std::size_t>(l - 1)]));
                (v == 0 ? inOverview : inSlices) += 1;
            }
    EXPECT_GT(inSlices, 50u);
    EXPECT_GT(inSlices, inOverview);
    EXPECT_TRUE(glyphLabels(s, planSlices({s.image.width(), s.image.height()}, SlicePolicy::llava15()), 14, 6.0).empty());
}
