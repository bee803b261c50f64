// Training setup of the bundled model: the preset configs build real uhd-paper models with the intended slicing,
// and bad options are refused before anything is written. (The loss actually falling is the smoke test
// smoke.train, tests/smoke/train_smoke.cmake.)
#include "model_family.h"
#include "train_data.h"

#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/lab/training.h"
#include "uhdlens/tokenizer.h"

#include <gtest/gtest.h>

#include "gui_app.h"
#include <QDir>
#include <QTemporaryDir>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

using namespace uhdlens;

TEST(TrainingConfig, PresetsBuildUhdPaperModelsWithTheirPolicy)
{
    for (const char *preset : {"tiny", "micro"}) {
        const auto uhd = nlohmann::json::parse(trainingConfigJson(preset, "llava-uhd"));
        const auto low = nlohmann::json::parse(trainingConfigJson(preset, "llava15"));
        EXPECT_EQ(detectFamily(uhd), Family::UhdPaper);
        // The resampler: the paper's global attention unless asked for the ECCV box-local one.
        EXPECT_EQ(uhd.at("resampler_attention"), "global");
        const auto spatial = nlohmann::json::parse(trainingConfigJson(preset, "llava-uhd", -1, "spatial"));
        EXPECT_EQ(spatial.at("resampler_attention"), "spatial");
        EXPECT_EQ(createFamilyModel(spatial, nullptr)->namedParameters().size(),
                  createFamilyModel(uhd, nullptr)->namedParameters().size()); // same tensors, other wiring
        // The patch embedding: the plain ViT's unless asked for the convolutional stem (2 convolutions and
        // their GroupNorms: 8 more tensors).
        EXPECT_FALSE(uhd.at("vision_config").contains("patch_embed"));
        const auto stem =
            nlohmann::json::parse(trainingConfigJson(preset, "llava-uhd", -1, "spatial", "conv"));
        EXPECT_EQ(stem.at("vision_config").at("patch_embed"), "conv");
        EXPECT_EQ(stem.at("vision_config").at("stem_norm"), "group");
        EXPECT_EQ(createFamilyModel(stem, nullptr)->namedParameters().size(),
                  createFamilyModel(uhd, nullptr)->namedParameters().size() + 8);
        EXPECT_THROW(trainingConfigJson(preset, "llava-uhd", -1, "global", "pixels"), Error);
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
        // The patch grid and the decoder's head count come from the config: a crop off the grid or a look
        // head past the last passes validate() and is refused by train().
        if (o.encoderWarmupCrop % 14 == 0 && o.lookHead < 6) {
            EXPECT_FALSE(o.validate().empty()) << what;
        }
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
    // Each case: one setting made bad on top of valid defaults.
    const std::pair<const char *, std::function<void(TrainOptions &)>> cases[] = {
        {"no output folder", [](TrainOptions &o) { o.outDir.clear(); }},
        {"zero steps", [](TrainOptions &o) { o.steps = 0; }},
        {"unknown policy", [](TrainOptions &o) { o.policy = "squeeze"; }},
        {"unknown preset", [](TrainOptions &o) { o.preset = "huge"; }},
        {"zero learning rate", [](TrainOptions &o) { o.lr = 0; }},
        {"negative clip", [](TrainOptions &o) { o.clipNorm = -1; }},
        {"image sides out of range", [](TrainOptions &o) { o.maxSide = 50; }},
        {"unsupported dtype", [](TrainOptions &o) { o.dtype = "f16"; }},
        {"read-text probability above 1", [](TrainOptions &o) { o.readTextProbability = 1.5; }},
        {"no words to read", [](TrainOptions &o) { o.readTextWords = 0; }},
        {"negative region loss weight", [](TrainOptions &o) { o.regionLossWeight = -1; }},
        {"NaN region loss weight", [](TrainOptions &o) { o.regionLossWeight = std::nan(""); }},
        {"negative token loss weight", [](TrainOptions &o) { o.tokenLossWeight = -1; }},
        {"NaN token loss weight", [](TrainOptions &o) { o.tokenLossWeight = std::nan(""); }},
        {"huge token loss weight", [](TrainOptions &o) { o.tokenLossWeight = 1e6; }},
        {"negative look loss weight", [](TrainOptions &o) { o.lookLossWeight = -1; }},
        {"NaN look loss weight", [](TrainOptions &o) { o.lookLossWeight = std::nan(""); }},
        {"negative look head", [](TrainOptions &o) { o.lookHead = -1; }},
        {"look head past the decoder's heads",
         [](TrainOptions &o) {
             o.lookLossWeight = 1;
             o.lookHead = 99;
         }},
        {"unknown patch embedding", [](TrainOptions &o) { o.patchEmbed = "pixels"; }},
        {"negative glyph loss weight", [](TrainOptions &o) { o.glyphLossWeight = -0.5; }},
        {"NaN glyph loss weight", [](TrainOptions &o) { o.glyphLossWeight = std::nan(""); }},
        {"infinite glyph minimum height",
         [](TrainOptions &o) { o.glyphMinPixels = std::numeric_limits<double>::infinity(); }},
        {"negative region minimum", [](TrainOptions &o) { o.regionMinPixels = -2; }},
        {"unknown family",
         [](TrainOptions &o) {
             o.families = {"window", "spreadsheet"};
         }},
        {"unknown resampler attention", [](TrainOptions &o) { o.resamplerAttention = "local"; }},
        {"negative encoder warm-up", [](TrainOptions &o) { o.encoderWarmupSteps = -1; }},
        {"encoder warm-up crop too small", [](TrainOptions &o) { o.encoderWarmupCrop = 14; }},
        {"encoder warm-up crop off the patch grid",
         [](TrainOptions &o) {
             o.encoderWarmupSteps = 5;
             o.encoderWarmupCrop = 100;
         }},
        {"empty encoder warm-up batch", [](TrainOptions &o) { o.encoderWarmupBatch = 0; }},
        {"encoder warm-up without text",
         [](TrainOptions &o) {
             o.encoderWarmupSteps = 5;
             o.families = {"shapes"};
         }},
    };
    for (const auto &[what, breakIt] : cases) {
        TrainOptions o = base;
        breakIt(o);
        refused(o, what);
    }
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

namespace {

// A large generated document page and the tiny preset's slice plan for it (sliced: up to 9 slices + overview),
// the shared subject of the region- and glyph-label tests.
std::pair<synth::Sample, SlicePlan> slicedPage()
{
    ensureGuiApplication();
    const auto model = createFamilyModel(nlohmann::json::parse(trainingConfigJson("tiny", "llava-uhd")), nullptr);
    synth::Options so;
    so.minSide = 1200;
    so.maxSide = 2000;
    synth::Sample s = synth::generate(synth::Family::Document, 3, so);
    const SlicePlan plan = planSlices({s.image.width(), s.image.height()}, model->policy());
    return {std::move(s), plan};
}

} // namespace

TEST(TrainingConfig, RegionLabelsFollowTheSlices)
{
    const auto [s, plan] = slicedPage();
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

// The piece a region/token target names a label by, with the bundled model's own tokenizer (trained on the
// generator's text), which spells every number and many words as a bare "▁" and then the rest.
TEST(TrainingConfig, NamingPieceSkipsTheBareWordBoundary)
{
    const auto tok = Tokenizer::load(std::string(UHDLENS_TEST_DATA) +
                                     "/../../resources/models/uhd-lens-tiny/tokenizer.model");
    const std::string boundary = "\u2581";
    int startsBare = 0;
    struct Case
    {
        std::string label, first; // `first`: what the naming piece decodes to
    };
    const Case cases[] = {{"288", "2"},   {"7", "7"},   {"999", "9"}, {"viewer", ""}, {"report", ""},
                          {"submit", ""}, {"Save", ""}, {"red", ""},  {"Item", ""}};
    for (const Case &c : cases) {
        SCOPED_TRACE(c.label);
        const std::vector<int64_t> ids = tok->encode(c.label);
        ASSERT_FALSE(ids.empty());
        startsBare += tok->idToPiece(ids.front()) == boundary ? 1 : 0;
        const int64_t id = namingPiece(*tok, c.label);
        ASSERT_NE(id, -100);
        EXPECT_NE(tok->idToPiece(id), boundary);
        // It is the first piece of the label that is not the bare boundary.
        const auto at = std::find(ids.begin(), ids.end(), id);
        ASSERT_NE(at, ids.end());
        for (auto it = ids.begin(); it != at; ++it)
            EXPECT_EQ(tok->idToPiece(*it), boundary);
        if (!c.first.empty()) {
            EXPECT_EQ(tok->decode({id}), c.first);
        }
        // The label's text begins with what the piece spells (the boundary aside).
        const std::string spelled = tok->decode({id});
        EXPECT_EQ(c.label.rfind(spelled, 0), 0u) << spelled;
    }
    EXPECT_GE(startsBare, 3); // the numbers at least: the case this function exists for
    // Nothing to name: no piece.
    EXPECT_EQ(namingPiece(*tok, ""), -100);
    EXPECT_EQ(namingPiece(*tok, " "), -100);
}

// The look loss's boxes: for every view, exactly the G x G boxes its place overlaps, checked against boxes
// computed independently from the plan's slice rectangles; counting has no place; bad input gives nothing.
TEST(TrainingConfig, AnswerBoxesCoverThePlaceInEveryViewThatSeesIt)
{
    const auto [s, plan] = slicedPage();
    ASSERT_TRUE(plan.grid.has_value());
    const int grid = 8;
    // The view rectangles in original pixels: the whole image, then the slices row-major.
    std::vector<Rect> views{{0, 0, s.image.width(), s.image.height()}};
    for (int i = 0; i < plan.sliceCount(); ++i)
        views.push_back(plan.sliceInOriginal(i));
    auto expected = [&](const synth::QA &qa) {
        std::vector<std::vector<int>> out(views.size());
        for (std::size_t v = 0; v < views.size(); ++v)
            for (int q = 0; q < grid * grid; ++q) {
                const double bw = views[v].width / double(grid), bh = views[v].height / double(grid);
                const double bx = views[v].x + (q % grid) * bw, by = views[v].y + (q / grid) * bh;
                const double ox = std::min<double>(qa.x + qa.width, bx + bw) - std::max<double>(qa.x, bx);
                const double oy = std::min<double>(qa.y + qa.height, by + bh) - std::max<double>(qa.y, by);
                if (ox > 0 && oy > 0)
                    out[v].push_back(q);
            }
        return out;
    };
    synth::QA qa;
    qa.task = synth::Task::Heading;
    const int W = s.image.width(), H = s.image.height();
    struct Case
    {
        const char *what;
        int x, y, w, h;
    };
    const Case cases[] = {{"top-left word", 5, 5, 60, 20},
                          {"a word across a slice border", plan.sliceInOriginal(0).width - 30, 40, 60, 18},
                          {"the whole image", 0, 0, W, H},
                          {"one pixel square in the middle", W / 2, H / 2, 1, 1},
                          {"bottom-right corner", W - 10, H - 10, 10, 10}};
    for (const Case &c : cases) {
        SCOPED_TRACE(c.what);
        qa.x = c.x, qa.y = c.y, qa.width = c.w, qa.height = c.h;
        const auto boxes = answerBoxes(qa, plan, grid);
        ASSERT_EQ(boxes.size(), views.size());
        EXPECT_EQ(boxes, expected(qa));
        EXPECT_FALSE(boxes[0].empty()); // the overview sees everything
        std::size_t slicesSeeing = 0;
        for (std::size_t v = 1; v < boxes.size(); ++v)
            slicesSeeing += boxes[v].empty() ? 0 : 1;
        EXPECT_GE(slicesSeeing, 1u);
    }
    // The whole image covers every box of every view; a word across a slice border is seen by two slices.
    qa.x = 0, qa.y = 0, qa.width = W, qa.height = H;
    for (const auto &b : answerBoxes(qa, plan, grid))
        EXPECT_EQ(b.size(), 64u);
    // The page's own questions: each place is covered in the overview, and the box of its centre is one.
    for (const synth::QA &real : s.qas) {
        const auto boxes = answerBoxes(real, plan, grid);
        ASSERT_EQ(boxes.size(), views.size()) << real.question;
        EXPECT_EQ(boxes, expected(real)) << real.question;
        const int centre = std::min(grid - 1, int((real.y + real.height / 2.0) * grid / H)) * grid +
                           std::min(grid - 1, int((real.x + real.width / 2.0) * grid / W));
        EXPECT_TRUE(std::count(boxes[0].begin(), boxes[0].end(), centre)) << real.question;
    }
    // Counting has no single place; a place of zero size, a padded plan and no grid give nothing.
    qa.task = synth::Task::CountShapes;
    for (const auto &b : answerBoxes(qa, plan, grid))
        EXPECT_TRUE(b.empty());
    qa.task = synth::Task::Heading;
    qa.width = 0;
    for (const auto &b : answerBoxes(qa, plan, grid))
        EXPECT_TRUE(b.empty());
    qa.width = 10;
    qa.x = W + 50; // outside the image: no view sees it
    for (const auto &b : answerBoxes(qa, plan, grid))
        EXPECT_TRUE(b.empty());
    EXPECT_TRUE(answerBoxes(qa, planSlices({W, H}, SlicePolicy::llava15()), grid).empty());
    EXPECT_TRUE(answerBoxes(qa, plan, 0).empty());
}

// The glyph loss's labels: each patch whose centre lies on a text's line box gets the character drawn at that
// centre (a space or a gap: none), scaled by the view's resize; nothing else is labelled. Hand-placed text,
// so the expected patches are exact.
TEST(TrainingConfig, GlyphLabelsNameTheCharacterAtEachPatchCentre)
{
    const std::string &alphabet = glyphAlphabet();
    ASSERT_EQ(alphabet.size(), 94u); // '!'..'~'
    auto cls = [&](char c) { return static_cast<int>(alphabet.find(c)) + 1; };
    auto text = [](std::string s, double px, int x, int y, int h, std::vector<float> ends) {
        synth::TextItem t;
        t.text = std::move(s);
        t.pixelSize = px;
        t.x = x;
        t.y = y;
        t.height = h;
        t.width = ends.empty() ? 0 : static_cast<int>(std::ceil(ends.back()));
        t.charEnds = std::move(ends);
        return t;
    };
    synth::Sample s;
    // "Ab 7": line box y [14, 28), x [28, 68); characters A [28, 38), b [38, 48), space [48, 58), 7 [58, 68).
    s.texts.push_back(text("Ab 7", 12, 28, 14, 14, {10, 20, 30, 40}));
    // A 40-px "W" covering x [140, 178), y [112, 154): every patch whose centre it covers.
    s.texts.push_back(text("W", 40, 140, 112, 42, {38}));
    s.texts.push_back(text("zz", 3, 28, 180, 4, {4, 8})); // too small at model input for any view
    s.texts.push_back(text("Q", 20, 100, 60, 20, {}));    // advances missing (a bad log): skipped

    struct Case
    {
        int side;                     // square image side; the overview is 224 px, so the scale is 224 / side
        std::map<int, char> expected; // patch (row * 16 + col) -> character
    };
    const Case cases[] = {
        // Scale 1: row 1 (centre y 21); columns 2 (x 35: 'A'), 3 (x 49: the space), 4 (x 63: '7'). 'b' holds
        // no patch centre. The W: rows 8..10 (centres 119, 133, 147), columns 10..12 (147, 161, 175).
        {224,
         {{1 * 16 + 2, 'A'},
          {1 * 16 + 4, '7'},
          {8 * 16 + 10, 'W'},
          {8 * 16 + 11, 'W'},
          {8 * 16 + 12, 'W'},
          {9 * 16 + 10, 'W'},
          {9 * 16 + 11, 'W'},
          {9 * 16 + 12, 'W'},
          {10 * 16 + 10, 'W'},
          {10 * 16 + 11, 'W'},
          {10 * 16 + 12, 'W'}}},
        // Scale 1/2: the line box is y [7, 14), x [14, 34): row 0, column 1 (x 21 -> 42 in the image: 'b').
        // The W: y [56, 77), x [70, 89): rows 4 (63) and 5 (77 is outside), columns 5 (77) only.
        {448, {{0 * 16 + 1, 'b'}, {4 * 16 + 5, 'W'}}},
    };
    for (const Case &c : cases) {
        SlicePlan plan;
        plan.input = {c.side, c.side};
        plan.overview = {224, 224};
        const auto labels = glyphLabels(s, plan, 14, 6.0);
        ASSERT_EQ(labels.size(), 1u) << c.side;
        ASSERT_EQ(labels[0].size(), 256u) << c.side;
        for (int q = 0; q < 256; ++q) {
            const auto it = c.expected.find(q);
            EXPECT_EQ(labels[0][static_cast<std::size_t>(q)], it == c.expected.end() ? 0 : cls(it->second))
                << "side " << c.side << " patch row " << q / 16 << " col " << q % 16;
        }
    }
    // Minimum height at model input: the 12-px line at scale 1/2 is 6 px: labelled at 6, not at 6.5.
    SlicePlan half;
    half.input = {448, 448};
    half.overview = {224, 224};
    const auto strict = glyphLabels(s, half, 14, 6.5);
    ASSERT_EQ(strict.size(), 1u);
    EXPECT_EQ(strict[0][1], 0);
    EXPECT_EQ(strict[0][4 * 16 + 5], cls('W'));
    // Heights: the labelled letters' size at model input, 0 where nothing is labelled.
    std::vector<std::vector<float>> heights;
    const auto withHeights = glyphLabels(s, half, 14, 6.0, &heights);
    ASSERT_EQ(heights.size(), 1u);
    ASSERT_EQ(heights[0].size(), 256u);
    for (std::size_t q = 0; q < 256; ++q) {
        const float expected = q == 1 ? 6.0f : q == 4 * 16 + 5 ? 20.0f : 0.0f; // 12 and 40 px, halved
        EXPECT_FLOAT_EQ(heights[0][q], expected) << q;
        EXPECT_EQ(withHeights[0][q] != 0, expected > 0) << q;
    }
    EXPECT_TRUE(glyphLabels(s, half, 0, 6.0, &heights).empty());
    EXPECT_TRUE(heights.empty());
    EXPECT_TRUE(glyphLabels(s, SlicePlan{}, 14, 6.0).empty());
}

// On generated pages: one grid per encoded image with that image's patch count, every label a character of
// the page's legible text, and the slices label far more than the shrunk overview.
TEST(TrainingConfig, GlyphLabelsFollowTheSlices)
{
    const auto [s, plan] = slicedPage();
    ASSERT_TRUE(plan.grid.has_value());
    const auto labels = glyphLabels(s, plan, 14, 6.0);
    ASSERT_EQ(labels.size(), static_cast<std::size_t>(1 + plan.sliceCount()));
    EXPECT_EQ(labels[0].size(),
              static_cast<std::size_t>(plan.overview.width / 14 * (plan.overview.height / 14)));
    for (std::size_t v = 1; v < labels.size(); ++v)
        EXPECT_EQ(labels[v].size(),
                  static_cast<std::size_t>(plan.slice->width / 14 * (plan.slice->height / 14)));
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
    EXPECT_TRUE(
        glyphLabels(s, planSlices({s.image.width(), s.image.height()}, SlicePolicy::llava15()), 14, 6.0)
            .empty());
}

// ---------------------------------------------------------------------------------------------------------------
// Encoder warm-up crops: a square of the page around legible text, resized to the crop side, labelled as the
// full recipe labels a view.

TEST(TrainingConfig, WarmupCropsLabelWhatTheyShow)
{
    const auto [s, plan] = slicedPage();
    const auto model = createFamilyModel(nlohmann::json::parse(trainingConfigJson("tiny", "llava-uhd")), nullptr);
    const SlicePolicy &policy = model->policy();
    const int w = s.image.width(), h = s.image.height();
    // The whole page at scale 1: one view whose patch (r, c) covers original pixels [14c, 14c + 14) x [14r, ...).
    SlicePlan full;
    full.input = {w, h};
    full.policy = policy;
    full.overview = {w, h};
    const auto page = glyphLabels(s, full, 14, 6.0);
    ASSERT_EQ(page.size(), 1u);
    const int pageCols = w / 14;

    int withText = 0;
    for (std::uint64_t pick = 0; pick < 20; ++pick) {
        SCOPED_TRACE(pick);
        const Rect r = warmupRegion(s, 112, 1.0, 6.0, pick);
        EXPECT_EQ(r, warmupRegion(s, 112, 1.0, 6.0, pick)); // the same pick, the same region
        ASSERT_EQ(r.width, 112);
        ASSERT_EQ(r.height, 112);
        ASSERT_GE(r.x, 0);
        ASSERT_GE(r.y, 0);
        ASSERT_LE(r.x + r.width, w);
        ASSERT_LE(r.y + r.height, h);
        const WarmupCrop crop = warmupCrop(s, r, 112, policy);
        ASSERT_EQ(crop.sample.image.size(), QSize(112, 112));
        EXPECT_EQ(crop.sample.image.pixel(5, 7), s.image.pixel(r.x + 5, r.y + 7));
        EXPECT_EQ(crop.plan.encodedImages().size(), 1u);
        const auto labels = glyphLabels(crop.sample, crop.plan, 14, 6.0);
        ASSERT_EQ(labels.size(), 1u);
        ASSERT_EQ(labels[0].size(), 64u); // 8 x 8 patches
        withText += std::count_if(labels[0].begin(), labels[0].end(), [](int l) { return l > 0; }) > 0;
        // On the page's own patch grid (a region at multiples of 14), every crop patch is labelled as the same
        // patch of the whole page.
        const Rect snapped{r.x / 14 * 14, r.y / 14 * 14, 112, 112};
        const auto same = glyphLabels(warmupCrop(s, snapped, 112, policy).sample,
                                      warmupCrop(s, snapped, 112, policy).plan, 14, 6.0);
        for (int row = 0; row < 8; ++row)
            for (int col = 0; col < 8; ++col)
                ASSERT_EQ(same[0][static_cast<std::size_t>(row * 8 + col)],
                          page[0][static_cast<std::size_t>((snapped.y / 14 + row) * pageCols + snapped.x / 14 + col)])
                    << row << "," << col;
    }
    // Regions are centred near legible text: nearly every crop names some letter.
    EXPECT_GE(withText, 18);

    // Zoom 2: 224 original pixels become 112, so only text >= 12 px stays >= 6 px, at half its size.
    const Rect zoomed = warmupRegion(s, 112, 2.0, 6.0, 3);
    EXPECT_EQ(zoomed.width, 224);
    const WarmupCrop half = warmupCrop(s, zoomed, 112, policy);
    EXPECT_EQ(half.sample.image.width(), 224);
    std::vector<std::vector<float>> heights;
    const auto halfLabels = glyphLabels(half.sample, half.plan, 14, 6.0, &heights);
    ASSERT_EQ(halfLabels[0].size(), 64u);
    std::set<float> halved;
    for (const auto &t : s.texts)
        halved.insert(static_cast<float>(t.pixelSize * 0.5));
    for (std::size_t q = 0; q < 64; ++q)
        if (halfLabels[0][q] > 0) {
            EXPECT_GE(heights[0][q], 6.0f);
            EXPECT_TRUE(halved.count(heights[0][q])) << heights[0][q];
        }
    // A region larger than the page's short side is that side; a non-square region keeps its centred square.
    EXPECT_EQ(warmupRegion(s, 112, 100.0, 6.0, 1).width, std::min(w, h));
    const WarmupCrop wide = warmupCrop(s, Rect{0, 0, 300, 100}, 112, policy);
    EXPECT_EQ(wide.sample.image.size(), QSize(100, 100));
    EXPECT_EQ(wide.sample.image.pixel(0, 0), s.image.pixel(100, 0));

    // Bad input: typed errors or an empty region, never a crash.
    EXPECT_THROW(warmupCrop(s, Rect{w + 10, 0, 50, 50}, 112, policy), Error); // outside the image
    EXPECT_THROW(warmupCrop(s, Rect{0, 0, 0, 0}, 112, policy), Error);
    EXPECT_THROW(warmupCrop(s, Rect{0, 0, 50, 50}, 0, policy), Error);
    EXPECT_EQ(warmupRegion(synth::Sample{}, 112, 1.0, 6.0, 0), Rect{});
    EXPECT_EQ(warmupRegion(s, 0, 1.0, 6.0, 0), Rect{});
    EXPECT_EQ(warmupRegion(s, 112, std::nan(""), 6.0, 0), Rect{});
    // No legible text (a minimum no text reaches): still a region inside the page.
    const Rect blind = warmupRegion(s, 112, 1.0, 1e6, 5);
    EXPECT_EQ(blind.width, 112);
    EXPECT_LE(blind.x + blind.width, w);
}

// Unanswerable questions (TrainOptions::notShownProbability): answered "not shown", never a question the
// sample answers, and only what its family never draws (a window is never asked for its title or a button,
// a document never for its heading or table).
TEST(TrainingData, UnanswerableQuestionsAskWhatTheImageCannotShow)
{
    ensureGuiApplication();
    synth::Options so;
    so.minSide = 200;
    so.maxSide = 500;
    std::set<std::string> asked;
    for (const synth::Family family : {synth::Family::Window, synth::Family::Document, synth::Family::Shapes})
        for (std::uint64_t seed = 0; seed < 12; ++seed) {
            const synth::Sample s = synth::generate(family, seed, so);
            for (std::uint64_t pick = 0; pick < 6; ++pick) {
                const synth::QA qa = synth::unanswerableQa(s, pick * 0x9E3779B97F4A7C15ULL + seed);
                SCOPED_TRACE(qa.question);
                asked.insert(qa.question);
                EXPECT_EQ(qa.answer, synth::kNotShownAnswer);
                for (const synth::QA &real : s.qas)
                    EXPECT_NE(real.question, qa.question);
                if (family == synth::Family::Window) {
                    EXPECT_NE(qa.question, "What is the window title?");
                    EXPECT_EQ(qa.question.find("button"), std::string::npos);
                }
                if (family == synth::Family::Document) {
                    EXPECT_NE(qa.question, "What is the heading?");
                    EXPECT_EQ(qa.question.find("table"), std::string::npos);
                }
            }
        }
    EXPECT_GE(asked.size(), 6u); // several kinds, colours and rows
}

// The recipe of a config with base weights: the options that would train a frozen part are off, the image's
// text and unanswerable questions on; bad values of the new options are refused.
TEST(TrainingConfig, BaseWeightsRecipeAndItsOptions)
{
    TrainOptions o;
    o.outDir = "/tmp/unused";
    const TrainOptions b = baseWeightsDefaults(o);
    EXPECT_EQ(b.glyphLossWeight, 0);
    EXPECT_EQ(b.encoderWarmupSteps, 0);
    EXPECT_EQ(b.lookLossWeight, 0);
    EXPECT_GT(b.imageTextProbability, 0);
    EXPECT_GT(b.notShownProbability, 0);
    EXPECT_EQ(b.validate(), "");
    for (auto bad : std::vector<std::function<void(TrainOptions &)>>{
             [](TrainOptions &t) { t.imageTextProbability = 1.5; },
             [](TrainOptions &t) { t.imageTextProbability = std::nan(""); },
             [](TrainOptions &t) { t.imageTextMaxLines = 0; },
             [](TrainOptions &t) { t.imageTextMinPixels = -1; },
             [](TrainOptions &t) { t.notShownProbability = -0.1; }}) {
        TrainOptions t = b;
        bad(t);
        EXPECT_NE(t.validate(), "");
    }
}

// The training sequence of the base-weights recipe: with imageTextProbability 1 the first question carries
// the image's text in the engine's own words (questionWithImageText) with coarse positions; with
// notShownProbability 1 the supervised last answer is "not shown" followed by the stop token.
TEST(TrainingData, ExamplesCarryTheImageTextAndUnanswerableTurns)
{
    ensureGuiApplication();
    const std::string dir = std::string(UHDLENS_TEST_DATA) + "/../../resources/models/uhd-lens-tiny";
    const auto tok = Tokenizer::load(dir + "/tokenizer.model");
    const auto model = createFamilyModel(readJsonFile(dir + "/config.json"), nullptr);
    const int64_t endId = model->stopTokenIds(*tok).front();
    TrainOptions o;
    o.outDir = "/tmp/unused";
    o.families = {"document"};
    o.readTextProbability = 0;
    o.turnsPerImage = 2;
    o.imageTextProbability = 1;
    o.notShownProbability = 1;
    o.minSide = 300;
    o.maxSide = 400;
    o.minText = 12; // legible: every document has text for the layer
    const synth::Options data = lab::trainingData(o);
    for (std::uint64_t i = 0; i < 4; ++i) {
        const lab::Example ex = lab::makeExample(*model, *tok, o, data, i, endId);
        std::string text;
        for (const PromptSegment &s : ex.prompt.segments)
            if (s.imageIndex < 0)
                text += tok->decode(s.ids);
        EXPECT_NE(text.find("Text recognised in the image"), std::string::npos) << text;
        EXPECT_NE(text.find("[top"), std::string::npos) << text; // coarse positions, as TextLayer names them
        EXPECT_EQ(tok->decode(ex.answerIds), synth::kNotShownAnswer);
        // Supervised: each answer token, then the stop token at the last position.
        EXPECT_EQ(ex.targets.back(), endId);
        EXPECT_EQ(ex.targets[ex.targets.size() - 1 - ex.answerIds.size()], ex.answerIds.front());
    }
    // Off: the question alone.
    o.imageTextProbability = 0;
    o.notShownProbability = 0;
    const lab::Example plain = lab::makeExample(*model, *tok, o, data, 0, endId);
    std::string text;
    for (const PromptSegment &s : plain.prompt.segments)
        if (s.imageIndex < 0)
            text += tok->decode(s.ids);
    EXPECT_EQ(text.find("Text recognised in the image"), std::string::npos);
    EXPECT_NE(tok->decode(plain.answerIds), synth::kNotShownAnswer);
}
