// The text layer (uhdlens/text_layer.h) with PP-OCR, its default engine where the base weights are installed
// (installer/fetch-base-weights.sh; skipped with the reason when absent): a 3200x1400 image, over
// kPpocrMaxSide, is read in three native-resolution tiles, with lines across the tiles' inner edges and in
// their overlaps read once and small text that a whole-image reading would shrink below legibility; progress
// and cancel between tiles; English and Chinese in one image with the default options; the process-wide
// recogniser shared by concurrent calls. Small images are kept near square: PP-OCR scales an image's short
// side up to 736 px, so a flat strip costs as much as a large screenshot.
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"
#include "uhdlens/text_layer.h"

#include "lab/gui_app.h"

#include <QFont>
#include <QFontMetrics>
#include <QImage>
#include <QPainter>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace uhdlens;

namespace {

#define SKIP_WITHOUT_PPOCR()                                                                                 \
    if (!ppocrInstalled())                                                                                   \
    GTEST_SKIP() << "base weights not installed (" << baseWeightsDir() << "/" << kPpocrDetOnnxFile << ", "   \
                 << kPpocrRecOnnxFile << "): run " << kBaseWeightsCommand

struct Placed
{
    QString text;
    int x = 0;
    int y = 0; // top of the line
    int pixelSize = 16;
    QString family = QStringLiteral("DejaVu Sans");
};

QImage render(QSize size, const std::vector<Placed> &lines)
{
    ensureGuiApplication();
    QImage img(size, QImage::Format_RGB888);
    img.fill(QColor(0xf6, 0xf6, 0xf2));
    QPainter p(&img);
    p.setPen(QColor(0x18, 0x18, 0x20));
    for (const Placed &l : lines) {
        QFont f(l.family);
        f.setPixelSize(l.pixelSize);
        p.setFont(f);
        p.drawText(l.x, l.y + QFontMetrics(f).ascent(), l.text);
    }
    return img;
}

// 3200x1400: tiles of 1600 overlapping by 128 start at x = 0, 800 and 1600 (textTiles spreads them evenly),
// so their inner edges are at x = 800, 1600 and 2400.
const QImage &largeImage()
{
    static const QImage img =
        render({3200, 1400},
               {
                   {QStringLiteral("Save changes before closing"), 100, 100, 24},
                   {QStringLiteral("Quarterly revenue exceeded the budget"), 1430, 300, 20}, // x = 1600
                   {QStringLiteral("Printer offline since Monday"), 2250, 500, 18},          // x = 2400
                   {QStringLiteral("Discard draft"), 1100, 800, 16},                  // in tiles 0 and 1
                   {QStringLiteral("status: 97 files in /home/user"), 300, 1200, 11}, // 6.9 px if shrunk
                   {QStringLiteral("Cancel"), 2900, 1300, 14},
               });
    return img;
}

std::vector<std::string> lineTexts(const TextLayer &layer)
{
    std::vector<std::string> out;
    for (int i = 0; i < int(layer.lines.size()); ++i)
        out.push_back(layer.lineText(i));
    return out;
}

int countWord(const TextLayer &layer, const std::string &text)
{
    return int(std::count_if(layer.words.begin(), layer.words.end(),
                             [&](const TextWord &w) { return w.text == text; }));
}

} // namespace

TEST(TextLayerPpocr, LargeImageIsTiledAtNativeResolutionAndMergedAcrossTileEdges)
{
    SKIP_WITHOUT_PPOCR();
    const QImage &img = largeImage();
    ASSERT_EQ(ppocrTiles({3200, 1400}, 1600, 128),
              (std::vector<Rect>{{0, 0, 1600, 1400}, {800, 0, 1600, 1400}, {1600, 0, 1600, 1400}}));
    std::vector<std::pair<int, int>> calls;
    TextLayerCallbacks cb;
    cb.progress = [&](int done, int total) { calls.emplace_back(done, total); };
    const TextLayer layer = recognizeText(img, {}, cb); // Auto: PP-OCR, installed
    EXPECT_EQ(layer.engine, TextEngine::PpOcr);
    EXPECT_EQ(layer.tiles, 3);
    EXPECT_EQ(calls, (std::vector<std::pair<int, int>>{{0, 3}, {1, 3}, {2, 3}, {3, 3}}));
    const std::vector<std::string> lines = lineTexts(layer);
    std::string all;
    for (const auto &l : lines)
        all += l + "\n";
    auto has = [&](const std::string &l) { return std::count(lines.begin(), lines.end(), l) == 1; };
    for (const char *l : {"Save changes before closing", "Quarterly revenue exceeded the budget",
                          "Printer offline since Monday", "Discard draft", "Cancel"})
        EXPECT_TRUE(has(l)) << "'" << l << "' not read exactly once in:\n" << all;
    // Words across an edge or in an overlap: once each (the whole reading kept, the cut one dropped).
    for (const char *w : {"budget", "revenue", "Quarterly", "Monday", "since", "Discard", "draft"})
        EXPECT_EQ(countWord(layer, w), 1) << w << " in:\n" << all;
    // 11 px text, read at native size: at most one of its words wrong.
    int right = 0;
    for (const char *w : {"status:", "97", "files", "in", "/home/user"})
        right += all.find(w) != std::string::npos ? 1 : 0;
    EXPECT_GE(right, 4) << all;
    // Boxes in image pixels; confidence on the 0..100 scale.
    for (const TextWord &w : layer.words) {
        EXPECT_GE(w.confidence, 50.0f) << w.text;
        EXPECT_LE(w.confidence, 100.0f) << w.text;
        if (w.text == "Monday") {
            EXPECT_GT(w.box.x, 2400); // in image pixels: tile 2's offset (1600) added
            EXPECT_NEAR(w.box.y + w.box.height / 2, 500 + 10, 8);
            // Trimmed to the ink ("M" to the tail of "y", ~17 px), not the detector's box (~27 px).
            EXPECT_LE(w.box.height, 20);
            EXPECT_GE(w.box.height, 14);
        }
    }
    // Reading order: top to bottom.
    EXPECT_LT(all.find("Save changes"), all.find("Quarterly"));
    EXPECT_LT(all.find("Quarterly"), all.find("Printer"));
    EXPECT_LT(all.find("Printer"), all.find("Discard"));
    EXPECT_LT(all.find("Discard"), all.find("Cancel"));
}

TEST(TextLayerPpocr, CancelBeforeAndBetweenTiles)
{
    SKIP_WITHOUT_PPOCR();
    const QImage &img = largeImage();
    std::atomic<bool> stop{true};
    TextLayerCallbacks cb;
    cb.cancel = &stop;
    try {
        recognizeText(img, {}, cb);
        FAIL() << "not cancelled";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::Cancelled);
    }
    stop = false;
    int last = -1;
    cb.progress = [&](int done, int) {
        last = done;
        if (done == 1)
            stop = true; // as the UI's Cancel button, between tiles
    };
    try {
        recognizeText(img, {}, cb);
        FAIL() << "not cancelled";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::Cancelled);
    }
    EXPECT_EQ(last, 1); // the second tile never finished
}

TEST(TextLayerPpocr, ReadsChineseAndEnglishWithTheDefaultOptionsInOneTile)
{
    SKIP_WITHOUT_PPOCR();
    const QImage img =
        render({420, 160}, {{QStringLiteral("打开文件"), 12, 12, 28, QStringLiteral("Noto Sans CJK SC")},
                            {QStringLiteral("Open the file"), 12, 70, 24}});
    const TextLayer layer = recognizeText(img); // languages: English, which PP-OCR does not need
    EXPECT_EQ(layer.engine, TextEngine::PpOcr);
    EXPECT_EQ(layer.tiles, 1);
    ASSERT_EQ(layer.lines.size(), 2u) << layer.plainText();
    EXPECT_EQ(layer.lineText(0), "打开文件");
    EXPECT_EQ(layer.lineText(1), "Open the file");
}

TEST(TextLayerPpocr, ConcurrentCallsShareTheRecogniserAndAgree)
{
    SKIP_WITHOUT_PPOCR();
    const QImage img = render({420, 160}, {{QStringLiteral("Build finished in 12 seconds"), 10, 60, 20}});
    const std::string want = recognizeText(img).plainText();
    ASSERT_EQ(want, "Build finished in 12 seconds");
    std::string got[2];
    std::thread a([&] { got[0] = recognizeText(img).plainText(); });
    std::thread b([&] { got[1] = recognizeText(img).plainText(); });
    a.join();
    b.join();
    EXPECT_EQ(got[0], want);
    EXPECT_EQ(got[1], want);
}
