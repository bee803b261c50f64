// Synthetic data generator: determinism, size/aspect bounds, answers consistent with the pixels drawn, and
// rejection of bad inputs.
#include "uhdlens/errors.h"
#include "uhdlens/lab/synthdata.h"

#include <gtest/gtest.h>

#include <QColor>
#include "gui_app.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

using namespace uhdlens;
using namespace uhdlens::synth;

namespace {

bool sameSample(const Sample &a, const Sample &b)
{
    if (a.image != b.image || a.qas.size() != b.qas.size() || a.family != b.family)
        return false;
    for (std::size_t i = 0; i < a.qas.size(); ++i)
        if (a.qas[i].question != b.qas[i].question || a.qas[i].answer != b.qas[i].answer ||
            a.qas[i].detailHeight != b.qas[i].detailHeight)
            return false;
    return true;
}

// Palette RGB of a colour name, as drawn (mirrors paletteColours() in synthdata.cpp).
QColor paletteRgb(const std::string &name)
{
    static const std::map<std::string, QColor> m = {
        {"red", QColor(220, 40, 40)},    {"green", QColor(40, 170, 60)},   {"blue", QColor(40, 80, 220)},
        {"yellow", QColor(240, 210, 30)}, {"purple", QColor(140, 60, 180)}, {"orange", QColor(245, 130, 20)},
    };
    return m.at(name);
}

bool near(QColor a, QColor b, int tol)
{
    return std::abs(a.red() - b.red()) <= tol && std::abs(a.green() - b.green()) <= tol &&
           std::abs(a.blue() - b.blue()) <= tol;
}

// Connected components (4-neighbour) of pixels within `tol` of colour c, ignoring specks under minArea pixels.
int countBlobs(const QImage &img, QColor c, int tol, int minArea)
{
    const int w = img.width(), h = img.height();
    std::vector<uint8_t> seen(static_cast<std::size_t>(w) * h, 0);
    int blobs = 0;
    std::vector<std::pair<int, int>> stack;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            if (seen[y * w + x] || !near(img.pixelColor(x, y), c, tol))
                continue;
            int area = 0;
            stack.assign(1, {x, y});
            seen[y * w + x] = 1;
            while (!stack.empty()) {
                auto [px, py] = stack.back();
                stack.pop_back();
                ++area;
                const int nx[4] = {px + 1, px - 1, px, px};
                const int ny[4] = {py, py, py + 1, py - 1};
                for (int k = 0; k < 4; ++k) {
                    if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h || seen[ny[k] * w + nx[k]])
                        continue;
                    if (near(img.pixelColor(nx[k], ny[k]), c, tol)) {
                        seen[ny[k] * w + nx[k]] = 1;
                        stack.emplace_back(nx[k], ny[k]);
                    }
                }
            }
            blobs += area >= minArea;
        }
    return blobs;
}

} // namespace

TEST(SynthData, SameSeedSamePixelsAndQuestions)
{
    ensureGuiApplication();
    for (Family f : allFamilies())
        for (std::uint64_t seed : {0ULL, 7ULL, 123456789ULL}) {
            const Sample a = generate(f, seed);
            const Sample b = generate(f, seed);
            EXPECT_TRUE(sameSample(a, b)) << familyName(f) << " seed " << seed;
        }
    // Different seeds and splits give different images.
    EXPECT_FALSE(sameSample(generate(Family::Window, 1), generate(Family::Window, 2)));
    Options held;
    held.split = Split::HeldOut;
    EXPECT_FALSE(sameSample(generate(Family::Document, 5), generate(Family::Document, 5, held)));
    // Family chosen from the seed is itself deterministic.
    EXPECT_TRUE(sameSample(generate(99), generate(99)));
}

TEST(SynthData, SizesAndAspectWithinBounds)
{
    ensureGuiApplication();
    Options o;
    std::set<Family> families;
    bool sawTall = false, sawWide = false, sawBig = false;
    for (std::uint64_t seed = 0; seed < 90; ++seed) {
        const Sample s = generate(seed, o);
        families.insert(s.family);
        const int w = s.image.width(), h = s.image.height();
        ASSERT_GE(w, o.minSide);
        ASSERT_GE(h, o.minSide);
        ASSERT_LE(w, o.maxSide);
        ASSERT_LE(h, o.maxSide);
        const double aspect = static_cast<double>(std::max(w, h)) / std::min(w, h);
        ASSERT_LE(aspect, o.maxAspect + 0.02) << w << "x" << h;
        EXPECT_EQ(s.image.format(), QImage::Format_RGB888);
        sawTall = sawTall || h > 2 * w;
        sawWide = sawWide || w > 2 * h;
        sawBig = sawBig || std::max(w, h) > 1500;
        for (const QA &qa : s.qas) {
            EXPECT_FALSE(qa.question.empty());
            EXPECT_FALSE(qa.answer.empty());
            EXPECT_GT(qa.detailHeight, 0);
            // The detail lies inside the image (allowing the half-pixel of antialiasing).
            EXPECT_GE(qa.x, -1);
            EXPECT_GE(qa.y, -1);
            EXPECT_LE(qa.x + qa.width, w + 2);
            EXPECT_LE(qa.y + qa.height, h + 2);
            if (isReadingTask(qa.task)) {
                EXPECT_GE(qa.detailHeight, o.minText);
                EXPECT_LE(qa.detailHeight, o.maxText);
            }
        }
    }
    EXPECT_EQ(families.size(), 3u);
    EXPECT_TRUE(sawTall && sawWide && sawBig);

    // A narrower range is respected too.
    Options small;
    small.minSide = 224;
    small.maxSide = 448;
    small.maxAspect = 2.0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const Sample s = generate(seed, small);
        EXPECT_GE(std::min(s.image.width(), s.image.height()), 224);
        EXPECT_LE(std::max(s.image.width(), s.image.height()), 448);
    }
}

TEST(SynthData, TextSizesSpanEveryBucket)
{
    ensureGuiApplication();
    std::map<std::string, int> perBucket;
    for (std::uint64_t seed = 0; seed < 60; ++seed)
        for (const QA &qa : generate(seed).qas)
            if (isReadingTask(qa.task))
                ++perBucket[sizeBucket(qa.detailHeight)];
    for (const std::string &b : sizeBuckets())
        EXPECT_GT(perBucket[b], 0) << "no reading question with text in bucket " << b;
}

TEST(SynthData, AnswersComeFromTheClosedVocabulary)
{
    ensureGuiApplication();
    const std::set<std::string> vocab(words().begin(), words().end());
    const std::set<std::string> colours(colourNames().begin(), colourNames().end());
    std::set<Task> tasks;
    for (std::uint64_t seed = 0; seed < 60; ++seed)
        for (const QA &qa : generate(seed).qas) {
            tasks.insert(qa.task);
            switch (qa.task) {
            case Task::WindowTitle:
            case Task::Heading: {
                // One or two vocabulary words.
                const auto space = qa.answer.find(' ');
                EXPECT_TRUE(vocab.count(qa.answer.substr(0, space))) << qa.answer;
                if (space != std::string::npos) {
                    EXPECT_TRUE(vocab.count(qa.answer.substr(space + 1))) << qa.answer;
                }
                break;
            }
            case Task::ButtonLabel:
            case Task::Highlighted:
                EXPECT_TRUE(vocab.count(qa.answer)) << qa.answer;
                break;
            case Task::TableNumber: {
                const int n = std::stoi(qa.answer);
                EXPECT_GE(n, 1);
                EXPECT_LE(n, 999);
                EXPECT_EQ(std::to_string(n), qa.answer);
                break;
            }
            case Task::CountShapes: {
                const int n = std::stoi(qa.answer);
                EXPECT_GE(n, 0);
                EXPECT_LE(n, 9);
                break;
            }
            case Task::ShapeColour:
                EXPECT_TRUE(colours.count(qa.answer)) << qa.answer;
                break;
            }
        }
    EXPECT_EQ(tasks.size(), 7u) << "every task appears in 60 samples";
}

// The count answers match the pixels: count connected blobs of each palette colour. Only images whose shapes
// are all >= 10 px are checked, so antialiasing of tiny shapes cannot merge or drop blobs.
TEST(SynthData, CountAnswerMatchesDrawnShapes)
{
    ensureGuiApplication();
    Options o;
    o.maxSide = 700;
    int checked = 0;
    for (std::uint64_t seed = 0; seed < 400 && checked < 8; ++seed) {
        const Sample s = generate(Family::Shapes, seed, o);
        for (const QA &qa : s.qas) {
            if (qa.task != Task::CountShapes || qa.detailHeight < 12)
                continue;
            const std::string colour = qa.question.substr(9, qa.question.find(' ', 9) - 9);
            // Fill colour exactly (the outline is darker), blobs of at least 16 interior pixels.
            const int blobs = countBlobs(s.image, paletteRgb(colour), 6, 16);
            EXPECT_EQ(std::to_string(blobs), qa.answer) << "seed " << seed << ": " << qa.question;
            ++checked;
        }
    }
    EXPECT_GE(checked, 4);
}

TEST(SynthData, ColourAnswerMatchesPixelAtTheShape)
{
    ensureGuiApplication();
    int checked = 0;
    for (std::uint64_t seed = 0; seed < 60; ++seed) {
        const Sample s = generate(Family::Shapes, seed);
        for (const QA &qa : s.qas) {
            if (qa.task != Task::ShapeColour || qa.detailHeight < 10)
                continue;
            // Centre of the bounding box lies inside circles, squares and triangles alike (well inside the outline).
            const QColor c = s.image.pixelColor(qa.x + qa.width / 2, qa.y + qa.height * 2 / 3);
            EXPECT_TRUE(near(c, paletteRgb(qa.answer), 6)) << "seed " << seed << " " << qa.question;
            ++checked;
        }
    }
    EXPECT_GE(checked, 10);
}

// The shape log (region labels of training) names each shape's colour where it is drawn.
TEST(SynthData, ShapeLogMatchesThePixels)
{
    ensureGuiApplication();
    int checked = 0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const Sample s = generate(Family::Shapes, seed);
        EXPECT_FALSE(s.shapes.empty()) << seed;
        for (const TextItem &shape : s.shapes) {
            EXPECT_NEAR(shape.pixelSize, shape.height, 1.0);
            if (shape.height < 10)
                continue;
            const QColor c = s.image.pixelColor(shape.x + shape.width / 2, shape.y + shape.height * 2 / 3);
            EXPECT_TRUE(near(c, paletteRgb(shape.text), 6)) << "seed " << seed << " " << shape.text;
            ++checked;
        }
        // Counting answers agree with the log.
        for (const QA &qa : s.qas)
            if (qa.task == Task::CountShapes) {
                const std::string colour = qa.question.substr(9, qa.question.find(' ', 9) - 9);
                const auto n = std::count_if(s.shapes.begin(), s.shapes.end(),
                                             [&](const TextItem &t) { return t.text == colour; });
                EXPECT_EQ(std::to_string(n), qa.answer) << seed;
            }
    }
    EXPECT_GE(checked, 20);
    for (Family f : {Family::Window, Family::Document})
        EXPECT_TRUE(generate(f, 1).shapes.empty());
}

// Highlighted words sit on the highlight colour.
TEST(SynthData, HighlightBoxIsDrawnWhereRecorded)
{
    ensureGuiApplication();
    int checked = 0;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
        const Sample s = generate(Family::Document, seed);
        for (const QA &qa : s.qas)
            if (qa.task == Task::Highlighted) {
                const QColor corner = s.image.pixelColor(qa.x + 1, qa.y + 1);
                EXPECT_TRUE(near(corner, QColor(255, 235, 59), 40)) << "seed " << seed;
                ++checked;
            }
    }
    EXPECT_GE(checked, 5);
}

TEST(SynthData, HeldOutUsesAFontNeverUsedInTraining)
{
    ensureGuiApplication();
    const auto train = ensureFonts(Split::Train);
    const auto held = ensureFonts(Split::HeldOut);
    ASSERT_FALSE(train.empty());
    ASSERT_FALSE(held.empty());
    for (const std::string &h : held)
        for (const std::string &t : train)
            EXPECT_NE(h, t);
    EXPECT_EQ(ensureFonts(Split::Validation), train);
}

TEST(SynthData, BadInputsRejected)
{
    ensureGuiApplication();
    auto expectInvalid = [](auto &&fn, const char *what) {
        try {
            fn();
            ADD_FAILURE() << what << ": no error";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << what;
        }
    };
    expectInvalid([] { generate(Family::Window, kMaxSeed); }, "seed at bound");
    expectInvalid([] { generate(~0ULL); }, "huge seed");
    expectInvalid([] { generate(static_cast<Family>(17), 1); }, "unknown family");
    Options o;
    o.minSide = 10;
    expectInvalid([&] { generate(Family::Shapes, 1, o); }, "minSide too small");
    o = {};
    o.maxSide = 100;
    expectInvalid([&] { generate(Family::Shapes, 1, o); }, "maxSide < minSide");
    o = {};
    o.maxAspect = 0.5;
    expectInvalid([&] { generate(Family::Shapes, 1, o); }, "aspect < 1");
    o = {};
    o.minText = 40;
    o.maxText = 20;
    expectInvalid([&] { generate(Family::Shapes, 1, o); }, "text range inverted");

    EXPECT_FALSE(familyFromName("windows").has_value());
    EXPECT_FALSE(familyFromName("").has_value());
    EXPECT_EQ(familyFromName("document"), Family::Document);
    EXPECT_FALSE(splitFromName("test").has_value());
    EXPECT_EQ(splitFromName("heldout"), Split::HeldOut);
}

TEST(SynthData, HelpersBehave)
{
    EXPECT_TRUE(answersMatch("  Open\n", "open"));
    EXPECT_FALSE(answersMatch("Open it", "Open"));
    EXPECT_FALSE(answersMatch("", "3"));
    EXPECT_EQ(sizeBucket(5), "<8px");
    EXPECT_EQ(sizeBucket(9.9), "8-10px");
    EXPECT_EQ(sizeBucket(10), "10-16px");
    EXPECT_EQ(sizeBucket(31), "16-32px");
    EXPECT_EQ(sizeBucket(32), ">=32px");
    const std::string corpus = corpusText(500);
    for (const std::string &w : words())
        EXPECT_NE(corpus.find(w), std::string::npos) << w;
    EXPECT_EQ(corpus, corpusText(500));
}

TEST(SynthData, TextLogRecordsTheDrawnTextInReadingOrder)
{
    // Windows and documents log every text they draw; shapes draw none. Boxes lie inside the image, sizes are the
    // font sizes, every question's answer that is read from the image appears among the logged texts.
    for (std::uint64_t seed = 0; seed < 12; ++seed) {
        for (Family f : {Family::Window, Family::Document}) {
            Options o;
            o.maxSide = 1200;
            const Sample s = generate(f, seed, o);
            ASSERT_FALSE(s.texts.empty()) << familyName(f) << " " << seed;
            for (const TextItem &t : s.texts) {
                EXPECT_FALSE(t.text.empty());
                EXPECT_GE(t.pixelSize, o.minText);
                EXPECT_LE(t.pixelSize, o.maxText);
                EXPECT_GE(t.x + t.width, 0);
                EXPECT_LE(t.x, s.image.width());
                EXPECT_LE(t.y, s.image.height());
            }
            for (const QA &qa : s.qas) {
                if (!isReadingTask(qa.task))
                    continue;
                bool found = false;
                for (const TextItem &t : s.texts)
                    found = found || t.text == qa.answer;
                EXPECT_TRUE(found) << familyName(f) << " " << seed << ": '" << qa.answer << "' not logged";
            }
            // Logging does not change the pixels or questions of a seed.
            const Sample again = generate(f, seed, o);
            EXPECT_EQ(again.texts.size(), s.texts.size());
        }
        EXPECT_TRUE(generate(Family::Shapes, seed).texts.empty());
    }
}

TEST(SynthData, ReadingOrderTextTable)
{
    auto item = [](std::string text, double px, int x, int y) {
        TextItem t;
        t.text = std::move(text);
        t.pixelSize = px;
        t.x = x;
        t.y = y;
        t.width = static_cast<int>(px) * 3;
        t.height = static_cast<int>(px * 1.2);
        return t;
    };
    // Two lines given out of order; the second line's items out of order and slightly misaligned vertically.
    const std::vector<TextItem> texts = {item("Amount", 10, 200, 52), item("Total Tax", 10, 20, 50),
                                         item("Report", 20, 20, 5), item("tiny", 4, 300, 5)};
    struct Case
    {
        double scale, minPx;
        int maxWords;
        std::string expected;
    } cases[] = {
        {1.0, 7, 24, "Report Total Tax Amount"},   // reading order; the 4 px word is dropped
        {1.0, 3, 24, "Report tiny Total Tax Amount"},
        {1.0, 7, 2, "Report Total"},               // word cap (multi-word items split)
        {0.5, 7, 24, "Report"},                    // downscaled by 2: 10 px text becomes 5 px
        {0.2, 7, 24, ""},                          // nothing legible
    };
    for (const Case &c : cases)
        EXPECT_EQ(readingOrderText(texts, c.scale, c.minPx, c.maxWords), c.expected) << c.scale << " " << c.minPx;
    EXPECT_EQ(readingOrderText({}, 1.0, 7, 24), "");
}

// Per-character advances of every logged text: one per byte, increasing, ending at the run's width, and the
// drawn ink of a character lies within its advance (checked on the pixels of single-word runs).
TEST(SynthData, CharacterAdvancesMatchTheText)
{
    ensureGuiApplication();
    int runs = 0, letters = 0;
    for (Family f : {Family::Window, Family::Document})
        for (std::uint64_t seed = 0; seed < 4; ++seed) {
            const Sample s = generate(f, seed);
            for (const TextItem &t : s.texts) {
                ASSERT_EQ(t.charEnds.size(), t.text.size()) << t.text;
                for (std::size_t i = 1; i < t.charEnds.size(); ++i)
                    EXPECT_GE(t.charEnds[i], t.charEnds[i - 1]) << t.text;
                ASSERT_FALSE(t.charEnds.empty());
                EXPECT_NEAR(t.charEnds.back(), t.width, 1.0) << t.text; // width is the ceiled advance
                ++runs;
            }
            for (const TextItem &shape : s.shapes)
                EXPECT_TRUE(shape.charEnds.empty());
            if (f != Family::Document)
                continue;
            // Pages are dark ink on light paper: every letter of a large single-word run has ink in its own
            // column band (the advance from the previous cursor position to its own), and no band is empty.
            for (const TextItem &t : s.texts) {
                if (t.pixelSize < 16 || t.text.find(' ') != std::string::npos)
                    continue;
                for (std::size_t i = 0; i < t.text.size(); ++i) {
                    const int x0 = t.x + static_cast<int>(std::ceil(i ? t.charEnds[i - 1] : 0.0f));
                    const int x1 = t.x + static_cast<int>(std::floor(t.charEnds[i]));
                    int ink = 0;
                    for (int y = std::max(0, t.y); y < std::min(s.image.height(), t.y + t.height); ++y)
                        for (int x = std::max(0, x0); x < std::min(s.image.width(), x1); ++x)
                            ink += qGray(s.image.pixel(x, y)) < 128;
                    EXPECT_GT(ink, 0) << "'" << t.text[i] << "' of " << t.text << " seed " << seed;
                    ++letters;
                }
            }
        }
    EXPECT_GT(runs, 40);
    EXPECT_GT(letters, 20);
}
