// uhdlens-bench ocr [--images N] [--upscale K] [--native-height PX] [--segmentation sparse|page] [--tile PX]
//                  [--heights 8,10,...] [--misses] [--save DIR] [--engine tesseract|ppocr|layer]
//
// Word accuracy of the text layer (uhdlens/text_layer.h) by text height, on screenshot-like images rendered
// here: 1280x800 "windows" with a title bar, a menu bar and rows of 2-6 words of one pixel size each, dark on
// light and light on dark, in DejaVu Sans, Liberation Sans and DejaVu Sans Mono, at random positions (seeded,
// so every run draws the same images). A third of the rows are low-contrast grey, white on a blue band or on
// a highlight band, and some rows start with an icon-like square. A rendered word counts as read when a
// recognised word with exactly its spelling has its box centre inside the rendered word's box. Prints, per
// height, words read / words rendered, the words recognised that match no rendered word ("extra"), and the
// median time per image. A benchmark: it reports and exits 0; only errors exit non-zero. The figures in
// DECISIONS.md ("The text layer") come from this command.
//
// --save DIR writes the rendered images (image_NN.png) and words.json: per image the rendered words (text,
// box [x, y, w, h], pixel height, font family, row style, icon, dark theme) and the text layer's recognised
// words with boxes, so that another OCR can be scored on exactly these images by exactly this rule
// (tests/tools/ppocr_compare.py does so for rapidocr's PP-OCR).
//
// --engine ppocr reads the images with the C++ PP-OCR pipeline (core/src/ppocr.h, the base weights' PP-OCRv6
// small det + rec) instead of the text layer, on one libtorch thread; each line's words are scored as the
// text layer's are. The text-layer options do not apply to it. --engine tesseract is the text layer with
// Tesseract; --engine layer the text layer with its default engine (Auto: PP-OCR, tiled, when the base
// weights are installed), on one libtorch thread as well.
#include "bench_ocr.h"

#include "benchcommon.h"

#include "ppocr.h"
#include "uhdlens/errors.h"
#include "uhdlens/text_layer.h"

#include <ATen/Parallel.h>

#include <QColor>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFont>
#include <QFontMetrics>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPainter>
#include <QSaveFile>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace bench {

namespace {

// Words of screens and documents, mixed case, with digits and a few file names.
const char *const kWords[] = {
    "File",     "Edit",    "View",     "Help",     "Settings", "Open",    "Save",    "Cancel",   "Apply",
    "Window",   "Search",  "Delete",   "Rename",   "Export",   "Import",  "Options", "Terminal", "Project",
    "Build",    "Debug",   "Release",  "Network",  "Display",  "Printer", "Account", "Profile",  "Update",
    "Install",  "Remove",  "Archive",  "Download", "Upload",   "Preview", "History", "Bookmark", "Library",
    "document", "report",  "invoice",  "meeting",  "schedule", "summary", "quarter", "revenue",  "budget",
    "total",    "balance", "customer", "address",  "number",   "status",  "pending", "approved", "shipped",
    "monday",   "friday",  "january",  "october",  "server",   "client",  "version", "warning",  "error",
    "2024",     "1080",    "42",       "3.14",     "97%",      "12:45",   "v2.6",    "main.cpp", "config",
    "README",   "index",   "table",    "column",   "row",      "value",   "amount",  "price",    "quantity",
    "green",    "yellow",  "purple",   "orange",   "silver",   "window",  "button",  "label",    "field",
};

// A row's look; the names are what --save writes.
enum class RowStyle
{
    Normal,
    Grey,
    BlueBand,
    Highlight
};

const char *rowStyleName(RowStyle s)
{
    switch (s) {
    case RowStyle::Grey:
        return "grey";
    case RowStyle::BlueBand:
        return "blue_band";
    case RowStyle::Highlight:
        return "highlight";
    case RowStyle::Normal:
        break;
    }
    return "normal";
}

struct RenderedWord
{
    std::string text;
    QRect box;
    int height = 0;
    QString family;
    RowStyle style = RowStyle::Normal;
    bool icon = false; // the row starts with an icon-like square
};

struct Scene
{
    QImage image;
    bool dark = false;
    std::vector<RenderedWord> words;
};

QJsonArray boxJson(int x, int y, int w, int h)
{
    return QJsonArray{x, y, w, h};
}

Scene renderScene(std::mt19937 &rng, const std::vector<int> &heights, int index)
{
    const bool dark = index % 2 == 1;
    const QStringList families = {QStringLiteral("DejaVu Sans"), QStringLiteral("Liberation Sans"),
                                  QStringLiteral("DejaVu Sans Mono")};
    Scene s;
    s.dark = dark;
    s.image = QImage(1280, 800, QImage::Format_RGB888);
    const QColor bg = dark ? QColor(0x1e, 0x1e, 0x2a) : QColor(0xf4, 0xf4, 0xf0);
    const QColor fg = dark ? QColor(0xd8, 0xd8, 0xd0) : QColor(0x20, 0x20, 0x28);
    s.image.fill(bg);
    QPainter p(&s.image);
    p.setRenderHint(QPainter::TextAntialiasing);
    // Window chrome: a title bar and a menu bar band, as on a screenshot (their words are rendered below
    // too).
    p.fillRect(0, 0, 1280, 28, dark ? QColor(0x30, 0x30, 0x3c) : QColor(0xdc, 0xdc, 0xe4));
    p.fillRect(0, 28, 1280, 24, dark ? QColor(0x26, 0x26, 0x30) : QColor(0xea, 0xea, 0xee));
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    constexpr int kWordCount = sizeof(kWords) / sizeof(kWords[0]);

    int y = 60;
    int row = 0;
    while (true) {
        const int h = heights[size_t(row % int(heights.size()))];
        ++row;
        const QString family = families[pick(int(families.size()))];
        QFont font(family);
        font.setPixelSize(h);
        const QFontMetrics fm(font);
        if (y + fm.height() > 790)
            break;
        p.setFont(font);
        // Most rows in the window's colours; some as a low-contrast hint, a coloured button or a selection
        // band.
        const int style = pick(6);
        const RowStyle rowStyle = style == 3   ? RowStyle::Grey
                                  : style == 4 ? RowStyle::BlueBand
                                  : style == 5 ? RowStyle::Highlight
                                               : RowStyle::Normal;
        if (style == 3) {
            p.setPen(dark ? QColor(0x80, 0x80, 0x88) : QColor(0x80, 0x80, 0x80));
        } else if (style == 4) {
            p.fillRect(0, y - 3, 1280, fm.height() + 6, QColor(0x2a, 0x6f, 0xd6));
            p.setPen(Qt::white);
        } else if (style == 5) {
            p.fillRect(0, y - 3, 1280, fm.height() + 6,
                       dark ? QColor(0x44, 0x44, 0x10) : QColor(0xff, 0xe8, 0x80));
            p.setPen(fg);
        } else {
            p.setPen(fg);
        }
        // An icon-like square before some rows, as in lists and toolbars (not text; must not be read as a
        // word).
        const bool icon = pick(3) == 0;
        if (icon)
            p.fillRect(2, y + 1, std::max(6, h - 2), std::max(6, h - 2), QColor(0xd0, 0x60, 0x30));
        int x = 12 + pick(300);
        const int n = 2 + pick(5);
        for (int k = 0; k < n; ++k) {
            const QString word = QString::fromLatin1(kWords[pick(kWordCount)]);
            const int w = fm.horizontalAdvance(word);
            if (x + w > 1268)
                break;
            p.drawText(x, y + fm.ascent(), word);
            s.words.push_back({word.toStdString(), QRect(x, y, w, fm.height()), h, family, rowStyle, icon});
            x += w + fm.horizontalAdvance(QLatin1Char(' ')) * (pick(4) == 0 ? 6 : 1);
        }
        y += fm.height() + 6 + pick(3 * h);
    }
    return s;
}

// Lower-case tokens of recognised or expected text: split at white space, punctuation trimmed from both ends
// ("5." -> "5", "(report.pdf)" -> "report.pdf").
std::vector<std::string> answerTokens(const std::string &text)
{
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        size_t a = 0, b = cur.size();
        while (a < b && std::ispunct(static_cast<unsigned char>(cur[a])))
            ++a;
        while (b > a && std::ispunct(static_cast<unsigned char>(cur[b - 1])))
            --b;
        if (b > a)
            out.push_back(cur.substr(a, b - a));
        cur.clear();
    };
    for (const char ch : text) {
        if (std::isspace(static_cast<unsigned char>(ch)))
            flush();
        else
            cur += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    flush();
    return out;
}

bool containsRun(const std::vector<std::string> &hay, const std::vector<std::string> &needle)
{
    if (needle.empty() || needle.size() > hay.size())
        return false;
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// --answers DIR: for every reading question of a folder set (questions.json in the real-screenshot set's
// form, tests/data/real-screenshots/README.md), whether its answer appears as a run of whole tokens in the
// text each engine recognises in the image: an upper bound on what "Give the model the image's text" can make
// a model answer, per text-height bucket, both engines side by side in one run (PP-OCR when the base weights
// are installed), and the text layer as the app runs it (its default engine, Auto).
int runAnswersMode(const QString &command, const QString &dir, const uhdlens::TextLayerOptions &options)
{
    QFile f(QDir(dir).filePath(QStringLiteral("questions.json")));
    if (!f.open(QIODevice::ReadOnly)) {
        std::fprintf(stderr, "uhdlens-bench %s: --answers: cannot read '%s'\n", qPrintable(command),
                     qPrintable(f.fileName()));
        return 1;
    }
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &perr);
    if (doc.isNull() || !doc.object().value(QStringLiteral("images")).isArray()) {
        std::fprintf(stderr, "uhdlens-bench %s: --answers: '%s' is not a question set (%s)\n",
                     qPrintable(command), qPrintable(f.fileName()), qPrintable(perr.errorString()));
        return 1;
    }
    std::optional<uhdlens::ppocr::Recogniser> ppocr;
    try {
        ppocr.emplace(uhdlens::ppocr::Recogniser::loadBaseWeights());
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-bench %s: PP-OCR not measured: %s\n", qPrintable(command), e.what());
    }
    const std::vector<std::pair<int, const char *>> buckets = {
        {10, "<10px"}, {14, "10-14px"}, {20, "14-20px"}, {1 << 30, ">=20px"}};
    auto bucketOf = [&](double h) {
        size_t i = 0;
        while (i + 1 < buckets.size() && h >= buckets[i].first)
            ++i;
        return i;
    };
    // questions, tesseract (the text layer with Tesseract), ppocr (the bare pipeline), the text layer (Auto)
    std::vector<std::array<int, 4>> counts(buckets.size(), {0, 0, 0, 0});
    std::vector<double> cpuTess, cpuPp, cpuLayer, wallLayer;
    uhdlens::TextLayerOptions tessOptions = options, layerOptions = options;
    tessOptions.engine = uhdlens::TextEngine::Tesseract;
    layerOptions.engine = uhdlens::TextEngine::Auto;
    const std::string layerEngine = uhdlens::displayNameOf(uhdlens::resolveTextEngine(layerOptions.engine));
    int images = 0;
    for (const QJsonValue &iv : doc.object().value(QStringLiteral("images")).toArray()) {
        const QJsonObject im = iv.toObject();
        const QString file = QDir(dir).filePath(im.value(QStringLiteral("file")).toString());
        QImage img(file);
        if (img.isNull()) {
            std::fprintf(stderr, "uhdlens-bench %s: --answers: skipped '%s' (not a readable image)\n",
                         qPrintable(command), qPrintable(file));
            continue;
        }
        img = img.convertToFormat(QImage::Format_RGB888);
        ++images;
        std::clock_t c0 = std::clock();
        std::string tessText = uhdlens::recognizeText(img, tessOptions).plainText();
        cpuTess.push_back(1000.0 * double(std::clock() - c0) / CLOCKS_PER_SEC);
        std::string ppText;
        if (ppocr) {
            c0 = std::clock();
            for (const uhdlens::ppocr::Line &line : ppocr->recognise(img))
                ppText += line.text + "\n";
            cpuPp.push_back(1000.0 * double(std::clock() - c0) / CLOCKS_PER_SEC);
        }
        c0 = std::clock();
        const auto t0 = Clock::now();
        const std::string layerText = uhdlens::recognizeText(img, layerOptions).plainText();
        cpuLayer.push_back(1000.0 * double(std::clock() - c0) / CLOCKS_PER_SEC);
        wallLayer.push_back(msSince(t0));
        const auto tess = answerTokens(tessText), pp = answerTokens(ppText), layer = answerTokens(layerText);
        for (const QJsonValue &qv : im.value(QStringLiteral("questions")).toArray()) {
            const QJsonObject q = qv.toObject();
            if (q.value(QStringLiteral("task")).toString() != QLatin1String("reading"))
                continue;
            const auto want = answerTokens(q.value(QStringLiteral("answer")).toString().toStdString());
            auto &c = counts[bucketOf(q.value(QStringLiteral("text_height")).toDouble())];
            ++c[0];
            c[1] += containsRun(tess, want) ? 1 : 0;
            c[2] += containsRun(pp, want) ? 1 : 0;
            c[3] += containsRun(layer, want) ? 1 : 0;
        }
    }
    std::printf("reading answers found in the recognised text, %d images of %s\n", images, qPrintable(dir));
    const std::string layerColumn = "layer (" + layerEngine + ")";
    std::printf("%-10s %9s %12s %12s %18s\n", "height", "questions", "tesseract",
                ppocr ? "ppocr" : "ppocr (n/a)", layerColumn.c_str());
    int all[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < buckets.size(); ++i) {
        const auto &c = counts[i];
        for (int k = 0; k < 4; ++k)
            all[k] += c[static_cast<size_t>(k)];
        auto pct = [&](int n) { return c[0] ? 100.0 * n / c[0] : 0.0; };
        std::printf("%-10s %9d %11.1f%% %11.1f%% %17.1f%%\n", buckets[i].second, c[0], pct(c[1]), pct(c[2]),
                    pct(c[3]));
    }
    auto pctAll = [&](int n) { return all[0] ? 100.0 * n / all[0] : 0.0; };
    std::printf("%-10s %9d %11.1f%% %11.1f%% %17.1f%%\n", "all", all[0], pctAll(all[1]), pctAll(all[2]),
                pctAll(all[3]));
    std::printf(
        "CPU per image: tesseract %.0f ms, ppocr %.0f ms, layer %.0f ms (medians; layer wall %.0f ms)\n",
        median(cpuTess), cpuPp.empty() ? 0.0 : median(cpuPp), median(cpuLayer), median(wallLayer));
    return 0;
}

} // namespace

int runOcrBench(const QStringList &args)
{
    const QString command = QStringLiteral("ocr");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Word accuracy of the text layer by text height."));
    parser.addHelpOption();
    QCommandLineOption imagesOpt(QStringLiteral("images"), QStringLiteral("Images to render (default 4)."),
                                 QStringLiteral("N"), QStringLiteral("4"));
    QCommandLineOption upscaleOpt(QStringLiteral("upscale"),
                                  QStringLiteral("Upscale factor (default: the library's)."),
                                  QStringLiteral("K"));
    QCommandLineOption segOpt(QStringLiteral("segmentation"),
                              QStringLiteral("sparse | page (default: sparse)."), QStringLiteral("MODE"),
                              QStringLiteral("sparse"));
    QCommandLineOption tileOpt(QStringLiteral("tile"),
                               QStringLiteral("Tile edge in pixels (default: the library's)."),
                               QStringLiteral("PX"));
    QCommandLineOption heightsOpt(QStringLiteral("heights"),
                                  QStringLiteral("Text pixel sizes (default 8,10,12,16,24)."),
                                  QStringLiteral("LIST"), QStringLiteral("8,10,12,16,24"));
    QCommandLineOption nativeOpt(
        QStringLiteral("native-height"),
        QStringLiteral("Words this tall are read at native size (default: the library's; 0: off)."),
        QStringLiteral("PX"));
    QCommandLineOption missesOpt(QStringLiteral("misses"),
                                 QStringLiteral("List each word not read and what was read there."));
    QCommandLineOption saveOpt(QStringLiteral("save"),
                               QStringLiteral("Write the rendered images (PNG) and words.json (rendered and "
                                              "recognised words with boxes) into DIR."),
                               QStringLiteral("DIR"));
    QCommandLineOption engineOpt(
        QStringLiteral("engine"),
        QStringLiteral("tesseract (the text layer with Tesseract, default) | ppocr (the "
                       "C++ PP-OCR pipeline on the base weights, one thread) | layer (the "
                       "text layer with its default engine)."),
        QStringLiteral("NAME"), QStringLiteral("tesseract"));
    QCommandLineOption answersOpt(
        QStringLiteral("answers"),
        QStringLiteral(
            "Instead of rendered images: for each reading question of a folder set (questions.json, "
            "e.g. tests/data/real-screenshots), whether its answer is in the text Tesseract, "
            "PP-OCR and the text layer with its default engine recognise, by text height."),
        QStringLiteral("DIR"));
    parser.addOptions({imagesOpt, upscaleOpt, segOpt, tileOpt, heightsOpt, nativeOpt, missesOpt, saveOpt,
                       engineOpt, answersOpt});
    if (auto rc = parseArguments(parser, args, command))
        return *rc;

    uhdlens::TextLayerOptions options;
    if (parser.isSet(upscaleOpt)) {
        bool ok = false;
        options.upscale = parser.value(upscaleOpt).toInt(&ok);
        if (!ok || options.upscale < 1 || options.upscale > 4)
            return usageError(command, QStringLiteral("--upscale: 1 to 4"));
    }
    if (parser.isSet(nativeOpt)) {
        bool ok = false;
        options.nativeTextHeight = parser.value(nativeOpt).toInt(&ok);
        if (!ok || options.nativeTextHeight < 0)
            return usageError(command, QStringLiteral("--native-height: 0 (off) or a height in pixels"));
    }
    if (parser.isSet(tileOpt)) {
        bool ok = false;
        options.tileSize = parser.value(tileOpt).toInt(&ok);
        if (!ok || options.tileSize < 2 * options.tileOverlap || options.tileSize < 64)
            return usageError(
                command, QStringLiteral("--tile: at least %1 px").arg(std::max(64, 2 * options.tileOverlap)));
    }
    const QString seg = parser.value(segOpt);
    if (seg == QLatin1String("page"))
        options.segmentation = uhdlens::TextSegmentation::Page;
    else if (seg != QLatin1String("sparse"))
        return usageError(command, QStringLiteral("--segmentation: sparse or page"));
    std::vector<int> heights;
    for (const QString &h : parser.value(heightsOpt).split(QLatin1Char(','))) {
        bool ok = false;
        const int v = h.toInt(&ok);
        if (!ok || v < 4 || v > 200)
            return usageError(command, QStringLiteral("--heights: pixel sizes between 4 and 200"));
        heights.push_back(v);
    }
    const QString engine = parser.value(engineOpt);
    if (engine != QLatin1String("tesseract") && engine != QLatin1String("ppocr") &&
        engine != QLatin1String("layer"))
        return usageError(command, QStringLiteral("--engine: tesseract, ppocr or layer"));
    options.engine =
        engine == QLatin1String("layer") ? uhdlens::TextEngine::Auto : uhdlens::TextEngine::Tesseract;
    if (parser.isSet(answersOpt)) {
        if (parser.isSet(saveOpt))
            return usageError(command,
                              QStringLiteral("--answers reads a folder set; --save is for rendered images"));
        try {
            return runAnswersMode(command, parser.value(answersOpt), options);
        } catch (const uhdlens::Error &e) {
            std::fprintf(stderr, "uhdlens-bench %s: %s\n", qPrintable(command), e.what());
            return 1;
        }
    }
    bool imagesOk = false;
    const int images = parser.value(imagesOpt).toInt(&imagesOk);
    if (!imagesOk || images < 1)
        return usageError(command, QStringLiteral("--images: at least 1"));
    // Checked before any recognition, so a bad folder costs nothing; every write below is checked as well.
    QString saveDir;
    if (parser.isSet(saveOpt)) {
        saveDir = parser.value(saveOpt);
        if (saveDir.isEmpty())
            return usageError(command, QStringLiteral("--save: a folder"));
        const QFileInfo info(saveDir);
        if (info.exists() && !info.isDir()) {
            std::fprintf(stderr, "uhdlens-bench ocr: --save: '%s' exists and is not a folder\n",
                         qPrintable(saveDir));
            return 1;
        }
        if (!QDir().mkpath(saveDir)) {
            std::fprintf(stderr, "uhdlens-bench ocr: --save: cannot create the folder '%s'\n",
                         qPrintable(saveDir));
            return 1;
        }
        if (!QFileInfo(saveDir).isWritable()) {
            std::fprintf(stderr, "uhdlens-bench ocr: --save: the folder '%s' is not writable\n",
                         qPrintable(saveDir));
            return 1;
        }
    }
    QJsonArray savedImages;

    std::mt19937 rng(1234);
    std::map<int, std::pair<int, int>> perHeight; // height -> (read, rendered)
    int extra = 0, recognised = 0;
    std::vector<double> times, cpu;
    try {
        std::optional<uhdlens::ppocr::Recogniser> ppocr;
        if (engine != QLatin1String("tesseract"))
            at::set_num_threads(1); // as --engine ppocr always has, so that ppocr and layer compare
        if (engine == QLatin1String("ppocr"))
            ppocr.emplace(uhdlens::ppocr::Recogniser::loadBaseWeights());
        for (int i = 0; i < images; ++i) {
            const Scene scene = renderScene(rng, heights, i);
            const QString imageName = QStringLiteral("image_%1.png").arg(i, 2, 10, QLatin1Char('0'));
            if (!saveDir.isEmpty() && !scene.image.save(QDir(saveDir).filePath(imageName), "PNG")) {
                std::fprintf(stderr, "uhdlens-bench ocr: --save: cannot write '%s'\n",
                             qPrintable(QDir(saveDir).filePath(imageName)));
                return 1;
            }
            const auto t0 = Clock::now();
            const std::clock_t c0 = std::clock();
            uhdlens::TextLayer layer;
            if (ppocr) {
                for (const uhdlens::ppocr::Line &line : ppocr->recognise(scene.image))
                    for (const uhdlens::ppocr::Word &w : line.words)
                        layer.words.push_back({w.text,
                                               {w.box.x(), w.box.y(), w.box.width(), w.box.height()},
                                               100.0f * w.confidence});
            } else {
                layer = uhdlens::recognizeText(scene.image, options);
            }
            times.push_back(msSince(t0));
            cpu.push_back(1000.0 * double(std::clock() - c0) / CLOCKS_PER_SEC);
            std::vector<bool> matched(layer.words.size(), false);
            for (const RenderedWord &rw : scene.words) {
                auto &[read, rendered] = perHeight[rw.height];
                ++rendered;
                std::string there;
                bool found = false;
                for (size_t k = 0; k < layer.words.size(); ++k) {
                    const uhdlens::Rect &b = layer.words[k].box;
                    const QPoint centre(b.x + b.width / 2, b.y + b.height / 2);
                    if (!rw.box.contains(centre))
                        continue;
                    there += (there.empty() ? "" : " ") + layer.words[k].text;
                    if (layer.words[k].text == rw.text) {
                        ++read;
                        matched[k] = true;
                        found = true;
                        break;
                    }
                }
                if (!found && parser.isSet(missesOpt))
                    std::printf("image %d, %d px at %d,%d: '%s' read as '%s'\n", i, rw.height, rw.box.x(),
                                rw.box.y(), rw.text.c_str(), there.c_str());
            }
            recognised += static_cast<int>(layer.words.size());
            for (bool m : matched)
                extra += m ? 0 : 1;
            if (!saveDir.isEmpty()) {
                QJsonArray rendered, read;
                for (const RenderedWord &rw : scene.words)
                    rendered.append(QJsonObject{
                        {QStringLiteral("text"), QString::fromStdString(rw.text)},
                        {QStringLiteral("box"),
                         boxJson(rw.box.x(), rw.box.y(), rw.box.width(), rw.box.height())},
                        {QStringLiteral("height"), rw.height},
                        {QStringLiteral("family"), rw.family},
                        {QStringLiteral("style"), QString::fromLatin1(rowStyleName(rw.style))},
                        {QStringLiteral("icon"), rw.icon},
                    });
                for (const uhdlens::TextWord &w : layer.words)
                    read.append(QJsonObject{
                        {QStringLiteral("text"), QString::fromStdString(w.text)},
                        {QStringLiteral("box"), boxJson(w.box.x, w.box.y, w.box.width, w.box.height)},
                        {QStringLiteral("confidence"), double(w.confidence)},
                    });
                savedImages.append(QJsonObject{
                    {QStringLiteral("file"), imageName},
                    {QStringLiteral("width"), scene.image.width()},
                    {QStringLiteral("height"), scene.image.height()},
                    {QStringLiteral("dark"), scene.dark},
                    {QStringLiteral("cpu_ms"), cpu.back()},
                    {QStringLiteral("wall_ms"), times.back()},
                    {QStringLiteral("rendered"), rendered},
                    {QStringLiteral("recognised"), read},
                });
            }
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-bench ocr: %s\n", e.what());
        return 1;
    }
    if (engine == QLatin1String("ppocr"))
        std::printf("PP-OCR pipeline (C++, PP-OCRv6 small det + rec, 1 thread); %d images of 1280x800\n",
                    images);
    else if (engine == QLatin1String("layer"))
        std::printf("text layer, %s engine; %d images of 1280x800\n",
                    uhdlens::displayNameOf(uhdlens::resolveTextEngine(options.engine)).c_str(), images);
    else
        std::printf(
            "text layer: upscale %d (words from %d px read at native size), %s segmentation, tiles of %d px; "
            "%d images of 1280x800\n",
            options.upscale, options.nativeTextHeight, qPrintable(seg), options.tileSize, images);
    std::printf("%8s %8s %8s %9s\n", "height", "read", "words", "accuracy");
    for (const auto &[h, counts] : perHeight)
        std::printf("%6d px %8d %8d %8.1f%%\n", h, counts.first, counts.second,
                    counts.second ? 100.0 * counts.first / counts.second : 0.0);
    std::printf("extra words (no rendered word there or misread): %d of %d recognised\n", extra, recognised);
    std::printf("median time per image: %.0f ms wall, %.0f ms CPU\n", median(times), median(cpu));
    if (!saveDir.isEmpty()) {
        QJsonArray heightList;
        for (int h : heights)
            heightList.append(h);
        const QJsonObject doc{
            {QStringLiteral("generator"), QStringLiteral("uhdlens-bench ocr")},
            {QStringLiteral("arguments"), QJsonArray::fromStringList(args)},
            {QStringLiteral("seed"), 1234},
            {QStringLiteral("heights"), heightList},
            {QStringLiteral("rule"),
             QStringLiteral(
                 "a rendered word is read when a recognised word with exactly its spelling has its box "
                 "centre (x + w / 2, y + h / 2, integer division) inside the rendered box [x, x + w) x "
                 "[y, y + h); a recognised word that reads no rendered word is extra")},
            {QStringLiteral("text_layer"),
             QJsonObject{{QStringLiteral("upscale"), options.upscale},
                         {QStringLiteral("native_height"), options.nativeTextHeight},
                         {QStringLiteral("segmentation"), seg},
                         {QStringLiteral("tile"), options.tileSize},
                         {QStringLiteral("engine"), engine}}},
            {QStringLiteral("images"), savedImages},
        };
        const QString path = QDir(saveDir).filePath(QStringLiteral("words.json"));
        QSaveFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(doc).toJson()) < 0 ||
            !file.commit()) {
            std::fprintf(stderr, "uhdlens-bench ocr: --save: cannot write '%s': %s\n", qPrintable(path),
                         qPrintable(file.errorString()));
            return 1;
        }
        std::fprintf(stderr, "saved %d images and %s\n", images, qPrintable(path));
    }
    return 0;
}

} // namespace bench
