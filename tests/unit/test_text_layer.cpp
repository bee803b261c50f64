// The text layer (uhdlens/text_layer.h): Tesseract on text rendered here with QPainter (Debian's DejaVu
// fonts), tiling and the seams between tiles, reading order rebuilt from word boxes, progress, cancel and the
// typed errors (missing language data, empty images, bad options); the engine table, the Auto choice and the
// explicit-PP-OCR error without the base weights, and the icon-glyph rule. The recognition tests ask for
// Tesseract explicitly (the default, Auto, is PP-OCR where its base weights are installed; PP-OCR's own
// recognition tests are in tests/smoke/test_text_layer_ppocr.cpp).
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"
#include "uhdlens/text_layer.h"

#include "lab/gui_app.h"

#include <QDir>
#include <QFile>
#include <QFont>
#include <QFontMetrics>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

using namespace uhdlens;

namespace {

struct Placed
{
    QString text;
    int x = 0;
    int y = 0; // top of the line
    int pixelSize = 16;
    bool mono = false;
};

// Dark text on a light background (or the reverse), as a screenshot.
QImage render(QSize size, const std::vector<Placed> &lines, bool dark = false)
{
    ensureGuiApplication();
    QImage img(size, QImage::Format_RGB888);
    img.fill(dark ? QColor(0x1e, 0x1e, 0x28) : QColor(0xf6, 0xf6, 0xf2));
    QPainter p(&img);
    p.setPen(dark ? QColor(0xe0, 0xe0, 0xd8) : QColor(0x18, 0x18, 0x20));
    for (const Placed &l : lines) {
        QFont f(l.mono ? QStringLiteral("DejaVu Sans Mono") : QStringLiteral("DejaVu Sans"));
        f.setPixelSize(l.pixelSize);
        p.setFont(f);
        p.drawText(l.x, l.y + QFontMetrics(f).ascent(), l.text);
    }
    return img;
}

std::vector<std::string> wordTexts(const TextLayer &layer)
{
    std::vector<std::string> out;
    for (const auto &w : layer.words)
        out.push_back(w.text);
    return out;
}

template <class F> ErrorCode codeOf(F &&f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.code();
    }
    ADD_FAILURE() << "no uhdlens::Error thrown";
    return ErrorCode::Internal;
}

// Tesseract, whatever is installed: these tests are about its path.
TextLayerOptions tess()
{
    TextLayerOptions o;
    o.engine = TextEngine::Tesseract;
    return o;
}

// Points baseWeightsDir() at `dir` (UHDLENS_BASE_WEIGHTS) for the scope, as
// tests/parity/test_smollm_gguf.cpp.
class BaseWeightsAt
{
public:
    explicit BaseWeightsAt(const QString &dir)
    {
        const char *old = std::getenv("UHDLENS_BASE_WEIGHTS");
        m_had = old != nullptr;
        if (old)
            m_saved = old;
        setenv("UHDLENS_BASE_WEIGHTS", dir.toLocal8Bit().constData(), 1);
    }
    ~BaseWeightsAt()
    {
        if (m_had)
            setenv("UHDLENS_BASE_WEIGHTS", m_saved.c_str(), 1);
        else
            unsetenv("UHDLENS_BASE_WEIGHTS");
    }
    BaseWeightsAt(const BaseWeightsAt &) = delete;
    BaseWeightsAt &operator=(const BaseWeightsAt &) = delete;

private:
    bool m_had = false;
    std::string m_saved;
};

TextWord word(const char *text, int x, int y, int w, int h)
{
    TextWord t;
    t.text = text;
    t.box = {x, y, w, h};
    t.confidence = 90;
    return t;
}

} // namespace

// ---- recognition on rendered text

TEST(TextLayerRecognition, ReadsScreenTextFrom10To24PixelsInReadingOrder)
{
    const QImage img =
        render({760, 260}, {
                               {QStringLiteral("File Edit View Help"), 10, 8, 12},
                               {QStringLiteral("Save changes to the report?"), 40, 50, 24},
                               {QStringLiteral("The printer is offline since Monday"), 40, 110, 16},
                               {QStringLiteral("Cancel"), 40, 200, 14},
                               {QStringLiteral("Discard"), 400, 200, 14},
                               {QStringLiteral("status: 97 files in /home/user"), 40, 236, 10},
                           });
    const TextLayer layer = recognizeText(img, tess());
    EXPECT_EQ(layer.imageSize, (Size{760, 260}));
    EXPECT_EQ(layer.tiles, 1);
    // 12 px and up: every word, lines in order; "Cancel" and "Discard" share a row but not a line.
    ASSERT_GE(layer.lines.size(), 6u);
    const std::vector<std::string> expected = {"File Edit View Help", "Save changes to the report?",
                                               "The printer is offline since Monday", "Cancel", "Discard"};
    for (size_t i = 0; i < expected.size(); ++i)
        EXPECT_EQ(layer.lineText(int(i)), expected[i]);
    EXPECT_EQ(layer.plainText().find("File Edit View Help\n\nSave changes to the report?\n\n"), 0u)
        << layer.plainText();
    // 10 px: the small status line is read too (with upscaling), at most one word wrong.
    const std::string status = layer.lineText(static_cast<int>(layer.lines.size()) - 1);
    int right = 0;
    for (const char *w : {"status:", "97", "files", "in", "/home/user"})
        right += status.find(w) != std::string::npos ? 1 : 0;
    EXPECT_GE(right, 4) << status;
    // Boxes are in image pixels: "Discard" is drawn at x = 400, y = 200 with 14 px text.
    for (const auto &w : layer.words)
        if (w.text == "Discard") {
            EXPECT_NEAR(w.box.x, 400, 3);
            EXPECT_NEAR(w.box.y + w.box.height / 2, 200 + 8, 5);
            EXPECT_GT(w.confidence, 60);
        }
    EXPECT_EQ(layer.words[size_t(layer.wordAt(layer.words[2].box.x + 1, layer.words[2].box.y + 1))].text,
              "View");
}

TEST(TextLayerRecognition, LargeMenuTextIsReadAtNativeSizeOnTheSampleScreenshot)
{
    // resources/samples/screenshot.png (1973x962): a 35 px monospace menu bar, which 3x upscaling alone read
    // as "File Edit View ToOoLs He Format Insert", above 7 px text that only the upscaled reading finds.
    ensureGuiApplication(); // findResource looks beside the executable
    const std::string path = findResource("samples/screenshot.png");
    ASSERT_FALSE(path.empty()) << "resources/samples/screenshot.png not found";
    const TextLayer layer = recognizeText(QImage(QString::fromStdString(path)), tess());
    EXPECT_EQ(layer.tiles, 3);
    std::vector<std::string> lines;
    for (int i = 0; i < int(layer.lines.size()); ++i)
        lines.push_back(layer.lineText(i));
    auto has = [&](const std::string &l) { return std::find(lines.begin(), lines.end(), l) != lines.end(); };
    EXPECT_TRUE(has("Redo Clear"));
    EXPECT_TRUE(has("File Edit View Tools Help Format Insert"));
    EXPECT_TRUE(has("Banana"));
    EXPECT_TRUE(has("Rename"));
    EXPECT_TRUE(has("Report Paste Clear Back Editor")); // 7 px
    // Reading order: the title, the menu, the small text, then the dialog.
    const std::string text = layer.plainText();
    EXPECT_LT(text.find("Redo Clear"), text.find("File Edit"));
    EXPECT_LT(text.find("File Edit"), text.find("Report Paste"));
    EXPECT_LT(text.find("Report Paste"), text.find("Banana"));
    EXPECT_LT(text.find("Banana"), text.rfind("Rename")); // the dialog's, not the small text's
}

TEST(TextLayerRecognition, ReadsLightTextOnDark)
{
    const QImage img = render({600, 120},
                              {{QStringLiteral("user@host:~$ make install"), 10, 10, 14, true},
                               {QStringLiteral("Build finished in 12 seconds"), 10, 60, 14, true}},
                              /*dark=*/true);
    const TextLayer layer = recognizeText(img, tess());
    EXPECT_EQ(layer.plainText(), "user@host:~$ make install\n\nBuild finished in 12 seconds");
}

TEST(TextLayerRecognition, TextAcrossATileSeamIsReadOnce)
{
    // Tiles of 512 px overlapping by 128: the sentence runs over the seams between three tiles.
    TextLayerOptions o = tess();
    o.tileSize = 512;
    o.tileOverlap = 128;
    const QImage img =
        render({1200, 300},
               {{QStringLiteral("Quarterly revenue exceeded the budget forecast again"), 180, 120, 20}});
    ASSERT_EQ(textTiles({1200, 300}, 512, 128).size(), 3u);
    const TextLayer layer = recognizeText(img, o);
    EXPECT_EQ(layer.tiles, 3);
    EXPECT_EQ(layer.plainText(), "Quarterly revenue exceeded the budget forecast again");
    EXPECT_EQ(layer.lines.size(), 1u);
    // The same image as one tile gives the same words and boxes within a pixel or two.
    TextLayerOptions whole = tess();
    whole.tileSize = 1200;
    const TextLayer one = recognizeText(img, whole);
    ASSERT_EQ(wordTexts(one), wordTexts(layer));
    for (size_t i = 0; i < one.words.size(); ++i) {
        EXPECT_NEAR(one.words[i].box.x, layer.words[i].box.x, 2) << one.words[i].text;
        EXPECT_NEAR(one.words[i].box.width, layer.words[i].box.width, 3) << one.words[i].text;
    }
}

TEST(TextLayerRecognition, ReadsSimplifiedChineseWithTheChineseData)
{
    ensureGuiApplication();
    QImage img(420, 90, QImage::Format_RGB888);
    img.fill(Qt::white);
    {
        QPainter p(&img);
        p.setPen(Qt::black);
        QFont f(QStringLiteral("Noto Sans CJK SC"));
        f.setPixelSize(28);
        p.setFont(f);
        p.drawText(12, 50, QStringLiteral("打开文件 Open"));
    }
    TextLayerOptions o = tess();
    o.languages = TextLanguages::EnglishChinese;
    const TextLayer layer = recognizeText(img, o);
    EXPECT_EQ(layer.plainText(), "打开文件 Open");
}

TEST(TextLayerRecognition, BlankImageHasNoText)
{
    QImage img(300, 200, QImage::Format_RGB888);
    img.fill(Qt::white);
    const TextLayer layer = recognizeText(img, tess());
    EXPECT_TRUE(layer.empty());
    EXPECT_EQ(layer.plainText(), "");
    EXPECT_EQ(layer.promptText(), "");
    EXPECT_EQ(layer.wordAt(10, 10), -1);
}

// ---- progress, cancel, errors

TEST(TextLayerControl, ProgressCountsTiles)
{
    TextLayerOptions o = tess();
    o.tileSize = 256;
    o.tileOverlap = 32;
    QImage img(600, 300, QImage::Format_Grayscale8);
    img.fill(255);
    std::vector<std::pair<int, int>> calls;
    TextLayerCallbacks cb;
    cb.progress = [&](int done, int total) { calls.emplace_back(done, total); };
    const TextLayer layer = recognizeText(img, o, cb);
    const int n = static_cast<int>(textTiles({600, 300}, 256, 32).size());
    EXPECT_EQ(n, 6); // 3 across, 2 down
    ASSERT_EQ(calls.size(), size_t(n + 1));
    for (int i = 0; i <= n; ++i)
        EXPECT_EQ(calls[size_t(i)], std::make_pair(i, n));
    EXPECT_EQ(layer.tiles, n);
}

TEST(TextLayerControl, CancelBeforeAndBetweenTiles)
{
    TextLayerOptions o = tess();
    o.tileSize = 256;
    o.tileOverlap = 32;
    QImage img(600, 300, QImage::Format_Grayscale8);
    img.fill(255);
    std::atomic<bool> stop{true};
    TextLayerCallbacks cb;
    cb.cancel = &stop;
    EXPECT_EQ(codeOf([&] { recognizeText(img, o, cb); }), ErrorCode::Cancelled);

    stop = false;
    int last = -1;
    cb.progress = [&](int done, int) {
        last = done;
        if (done == 2)
            stop = true; // as the UI's Cancel button, between tiles
    };
    EXPECT_EQ(codeOf([&] { recognizeText(img, o, cb); }), ErrorCode::Cancelled);
    EXPECT_EQ(last, 2); // the third tile never finished
}

TEST(TextLayerControl, MissingLanguageDataNamesTheDebianPackage)
{
    QTemporaryDir empty;
    ASSERT_TRUE(empty.isValid());
    QImage img(100, 50, QImage::Format_RGB888);
    img.fill(Qt::white);
    TextLayerOptions o = tess();
    o.dataPath = empty.path().toStdString();
    try {
        recognizeText(img, o);
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::OcrDataMissing);
        EXPECT_NE(std::string(e.what()).find("tesseract-ocr-eng"), std::string::npos) << e.what();
        EXPECT_EQ(e.subject(), o.dataPath + "/eng.traineddata");
    }
    // English there, Chinese not: the Chinese package is named.
    ASSERT_TRUE(QFile::link(QStringLiteral("/usr/share/tesseract-ocr/5/tessdata/eng.traineddata"),
                            empty.filePath(QStringLiteral("eng.traineddata"))));
    o.languages = TextLanguages::EnglishChinese;
    try {
        recognizeText(img, o);
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::OcrDataMissing);
        EXPECT_NE(std::string(e.what()).find("tesseract-ocr-chi-sim"), std::string::npos) << e.what();
    }
    // A damaged file (not a traineddata archive) is refused the same way, without a crash.
    QTemporaryDir bad;
    QFile f(bad.filePath(QStringLiteral("eng.traineddata")));
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("not a traineddata file");
    f.close();
    o.languages = TextLanguages::English;
    o.dataPath = bad.path().toStdString();
    EXPECT_EQ(codeOf([&] { recognizeText(img, o); }), ErrorCode::OcrDataMissing);
}

TEST(TextLayerControl, EmptyImagesAndBadOptionsAreTypedErrors)
{
    EXPECT_EQ(codeOf([] { recognizeText(QImage()); }), ErrorCode::ImageEmpty);
    EXPECT_EQ(codeOf([] { recognizeText(QImage(0, 10, QImage::Format_RGB888)); }), ErrorCode::ImageEmpty);
    QImage img(100, 50, QImage::Format_RGB888);
    img.fill(Qt::white);
    for (auto set : std::vector<void (*)(TextLayerOptions &)>{
             [](TextLayerOptions &o) { o.upscale = 0; }, [](TextLayerOptions &o) { o.upscale = 9; },
             [](TextLayerOptions &o) { o.tileSize = 10; }, [](TextLayerOptions &o) { o.tileOverlap = -1; },
             [](TextLayerOptions &o) { o.nativeTextHeight = -1; },
             [](TextLayerOptions &o) { o.tileOverlap = 600; },
             [](TextLayerOptions &o) { o.ppocrTileSize = 2001; },
             [](TextLayerOptions &o) { o.ppocrTileSize = 32; },
             [](TextLayerOptions &o) { o.engine = static_cast<TextEngine>(7); }}) {
        TextLayerOptions o = tess();
        set(o);
        EXPECT_EQ(codeOf([&] { recognizeText(img, o); }), ErrorCode::InvalidArgument);
    }
    EXPECT_EQ(codeOf([] { parseTextLanguages("klingon"); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(parseTextLanguages("eng+chi_sim"), TextLanguages::EnglishChinese);
    EXPECT_EQ(nameOf(TextLanguages::English), "eng");
    EXPECT_EQ(debianPackageForLanguage("chi_sim"), "tesseract-ocr-chi-sim");
    EXPECT_EQ(std::string(errorCodeName(ErrorCode::OcrDataMissing)), "ocr-data-missing");
}

// ---- engines

TEST(TextLayerEngine, NamesParseAndAutoFollowsTheBaseWeights)
{
    for (TextEngine e : {TextEngine::Auto, TextEngine::PpOcr, TextEngine::Tesseract})
        EXPECT_EQ(parseTextEngine(nameOf(e)), e);
    EXPECT_EQ(nameOf(TextEngine::Auto), "auto");
    EXPECT_EQ(nameOf(TextEngine::PpOcr), "ppocr");
    EXPECT_EQ(nameOf(TextEngine::Tesseract), "tesseract");
    EXPECT_EQ(displayNameOf(TextEngine::PpOcr), "PP-OCR");
    EXPECT_EQ(displayNameOf(TextEngine::Tesseract), "Tesseract");
    EXPECT_EQ(codeOf([] { parseTextEngine("PP-OCR"); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(codeOf([] { parseTextEngine(""); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(TextLayerOptions{}.engine, TextEngine::Auto);
    EXPECT_EQ(resolveTextEngine(TextEngine::Tesseract), TextEngine::Tesseract);
    EXPECT_EQ(resolveTextEngine(TextEngine::PpOcr), TextEngine::PpOcr);
    EXPECT_EQ(resolveTextEngine(TextEngine::Auto),
              ppocrInstalled() ? TextEngine::PpOcr : TextEngine::Tesseract);

    QTemporaryDir empty;
    ASSERT_TRUE(empty.isValid());
    const BaseWeightsAt at(empty.path());
    EXPECT_FALSE(ppocrInstalled());
    EXPECT_EQ(resolveTextEngine(TextEngine::Auto), TextEngine::Tesseract);
    // Auto without the base weights: Tesseract, and the layer says so.
    const QImage img = render({300, 60}, {{QStringLiteral("Open file"), 10, 10, 16}});
    const TextLayer layer = recognizeText(img);
    EXPECT_EQ(layer.engine, TextEngine::Tesseract);
    EXPECT_EQ(layer.plainText(), "Open file");
    EXPECT_EQ(textLayerIn(layer, {0, 0, 300, 60}).engine, TextEngine::Tesseract);
}

TEST(TextLayerEngine, ExplicitPpOcrWithoutItsBaseWeightsNamesTheFileAndTheInstaller)
{
    QTemporaryDir empty;
    ASSERT_TRUE(empty.isValid());
    const BaseWeightsAt at(empty.path());
    QImage img(100, 50, QImage::Format_RGB888);
    img.fill(Qt::white);
    TextLayerOptions o;
    o.engine = TextEngine::PpOcr;
    try {
        recognizeText(img, o);
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
        const std::string what = e.what();
        EXPECT_NE(what.find(kPpocrDetOnnxFile), std::string::npos) << what;
        EXPECT_NE(what.find(empty.path().toStdString()), std::string::npos) << what;
        EXPECT_NE(what.find(kBaseWeightsCommand), std::string::npos) << what;
        EXPECT_EQ(e.subject(), kPpocrDetOnnxFile);
    }
    // The detector there, the recogniser not: the recogniser is named.
    ASSERT_TRUE(QDir(empty.path()).mkpath(QStringLiteral("rapidocr-3.10.0")));
    QFile det(empty.filePath(QString::fromLatin1(kPpocrDetOnnxFile)));
    ASSERT_TRUE(det.open(QIODevice::WriteOnly));
    det.close();
    try {
        recognizeText(img, o);
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
        EXPECT_NE(std::string(e.what()).find(kPpocrRecOnnxFile), std::string::npos) << e.what();
    }
    // Both there but not graphs: Auto now picks PP-OCR and reports the damaged file, without a crash.
    QFile rec(empty.filePath(QString::fromLatin1(kPpocrRecOnnxFile)));
    ASSERT_TRUE(rec.open(QIODevice::WriteOnly));
    rec.write("not an onnx file");
    rec.close();
    EXPECT_TRUE(ppocrInstalled());
    EXPECT_THROW(recognizeText(img), Error);
}

TEST(TextLayerEngine, LoneIconGlyphsAreNotText)
{
    // Icons PP-OCR reads as symbols: squares, bullets, arrows, check marks, icon-font private use.
    for (const char *glyph : {"■", "□", "•", "·", "●", "◦", "→", "←", "✓", "✔", "★", "☰", "⚙", "\uE5CD", "×"})
        EXPECT_TRUE(isIconGlyph(glyph)) << glyph;
    // Text: letters, digits, ASCII punctuation and symbols, CJK (a lone character is a word), words that only
    // contain a symbol, symbols that belong to text, several glyphs, currency.
    for (const char *text :
         {"a", "7", "+", "-", "|", "$", ">", "文", "。", "■Open", "→x", "©", "°", "™", "■■", "€", "", "Ⅳ"})
        EXPECT_FALSE(isIconGlyph(text)) << text;
}

// ---- tiles and layout (no Tesseract)

TEST(TextLayerTiles, PpocrReadsUpTo2000PxWholeAndTilesLargerImagesWithoutScaling)
{
    EXPECT_EQ(ppocrTiles({2000, 1500}, 1600, 128), (std::vector<Rect>{{0, 0, 2000, 1500}}));
    EXPECT_EQ(ppocrTiles({1973, 962}, 1600, 128), (std::vector<Rect>{{0, 0, 1973, 962}}));
    EXPECT_TRUE(ppocrTiles({0, 10}, 1600, 128).empty());
    EXPECT_EQ(ppocrTiles({3840, 2160}, 1600, 128), textTiles({3840, 2160}, 1600, 128));
    for (const Rect &t : ppocrTiles({2001, 900}, 1600, 128)) {
        EXPECT_LE(t.width, kPpocrMaxSide);
        EXPECT_LE(t.height, kPpocrMaxSide);
    }
    EXPECT_EQ(ppocrTiles({2001, 900}, 1600, 128).size(), 2u);
}

TEST(TextLayerTiles, CoverTheImageWithTheOverlapAsked)
{
    EXPECT_EQ(textTiles({800, 600}, 1024, 128), (std::vector<Rect>{{0, 0, 800, 600}}));
    EXPECT_TRUE(textTiles({0, 600}, 1024, 128).empty());
    EXPECT_TRUE(textTiles({800, 600}, 100, 100).empty());
    for (Size s : {Size{3000, 1000}, Size{1025, 5000}, Size{4096, 4096}}) {
        const auto tiles = textTiles(s, 1024, 128);
        std::vector<int> xs;
        for (const Rect &t : tiles) {
            EXPECT_LE(t.x + t.width, s.width);
            EXPECT_LE(t.y + t.height, s.height);
            EXPECT_EQ(t.width, std::min(1024, s.width));
            if (t.y == 0)
                xs.push_back(t.x);
        }
        EXPECT_EQ(xs.front(), 0);
        EXPECT_EQ(xs.back() + std::min(1024, s.width), s.width);
        for (size_t i = 1; i < xs.size(); ++i)
            EXPECT_GE(xs[i - 1] + 1024 - xs[i], 128) << "overlap between tiles " << i - 1 << " and " << i;
    }
}

TEST(TextLayerLayout, RebuildsLinesAndReadingOrderFromBoxes)
{
    // Given one word a "line" (as sparse segmentation reports them), in scrambled order.
    std::vector<TextWord> words = {
        word("Help", 300, 10, 40, 14),  word("File", 10, 11, 30, 14),    word("Edit", 50, 10, 30, 14),
        word("second", 10, 62, 60, 14), word("first", 10, 40, 50, 14),   word("line", 66, 41, 30, 14),
        word("far", 900, 40, 30, 14),   word("Footer", 10, 500, 60, 14),
    };
    const TextLayer layer = layoutWords(words, {1000, 520});
    ASSERT_EQ(layer.words.size(), 8u);
    // "Help" is 220 px from "Edit" (over 2.5 text heights): its own line, read after the row's left part.
    // A blank line before each new block that starts below the line before it: "first line" (15 px under the
    // menu, a text height) and "Footer"; "far" starts a block beside "first line", "second" continues one.
    EXPECT_EQ(layer.plainText(), "File Edit\nHelp\n\nfirst line\nfar\nsecond\n\nFooter");
    for (size_t i = 0; i < layer.lines.size(); ++i)
        for (int w : layer.lines[i].words)
            EXPECT_EQ(layer.words[size_t(w)].line, int(i));
    // "first line" and "second" are one block (a paragraph); the menu and the footer are others.
    EXPECT_EQ(layer.lines[2].block, layer.lines[4].block);
    EXPECT_NE(layer.lines[0].block, layer.lines[2].block);
    EXPECT_NE(layer.lines[5].block, layer.lines[4].block);
    EXPECT_EQ(layer.promptText(),
              "[top-left] File Edit\n[top-left] Help\n[top-left] first line\n[top-right] far\n"
              "[top-left] second\n[bottom-left] Footer");
    EXPECT_EQ(layer.promptText(2), "[top-left] File Edit\n[top-left] Help");
    EXPECT_EQ(layer.positionName({480, 250, 40, 20}), "middle");
    EXPECT_EQ(layer.positionName({900, 480, 40, 20}), "bottom-right");
}

TEST(TextLayerLayout, JoinsChineseWithoutSpacesAndSkipsEmptyWords)
{
    std::vector<TextWord> words = {word("打开", 10, 10, 28, 14), word("文件", 40, 10, 28, 14),
                                   word("Open", 74, 10, 40, 14), word("", 200, 10, 10, 14),
                                   word("x", 300, 10, 0, 14)};
    const TextLayer layer = layoutWords(words, {400, 40});
    EXPECT_EQ(layer.plainText(), "打开文件 Open");
    EXPECT_TRUE(layoutWords({}, {10, 10}).empty());
}

TEST(TextLayerLayout, TallHeadingDoesNotSwallowTheSmallTextBesideIt)
{
    std::vector<TextWord> words = {word("Heading", 10, 10, 200, 40), word("small", 300, 12, 40, 10),
                                   word("note", 345, 12, 30, 10), word("body", 10, 60, 40, 14)};
    const TextLayer layer = layoutWords(words, {400, 100});
    // The body under the 40 px heading is a block of its own (a different text height).
    EXPECT_EQ(layer.plainText(), "Heading\nsmall note\n\nbody");
}

TEST(TextLayerLayout, RegionKeepsItsWordsWithPositionsWithinIt)
{
    std::vector<TextWord> words = {word("outside", 10, 10, 60, 14), word("Save", 410, 310, 40, 14),
                                   word("Cancel", 470, 310, 50, 14), word("edge", 590, 390, 40, 14)};
    const TextLayer layer = layoutWords(words, {1000, 800});
    const TextLayer region = textLayerIn(layer, {400, 300, 200, 100});
    EXPECT_EQ(region.imageSize, (Size{200, 100}));
    EXPECT_EQ(region.plainText(), "Save Cancel"); // "edge" has its centre outside the region
    EXPECT_EQ(region.words[0].box, (Rect{10, 10, 40, 14}));
    EXPECT_EQ(region.promptText(), "[top-left] Save Cancel"); // centre (55, 17) of 200x100
}
