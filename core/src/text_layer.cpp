// The text layer (uhdlens/text_layer.h): PP-OCR over native-resolution tiles, or Tesseract over overlapping
// upscaled tiles, then lines and reading order rebuilt from the word boxes.
#include "uhdlens/text_layer.h"

#include "name_table.h"
#include "ppocr.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <allheaders.h> // Leptonica (pkg-config lept puts its folder on the include path)
#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>
#include <tesseract/resultiterator.h>

#include <QFileInfo>
#include <QString>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <mutex>
#include <numeric>

namespace uhdlens {

namespace {

// One row per choice: the Tesseract language string it runs.
struct LanguagesRow
{
    TextLanguages value;
    const char *name;
};
constexpr std::array<LanguagesRow, 2> kLanguages{{
    {TextLanguages::English, "eng"},
    {TextLanguages::EnglishChinese, "eng+chi_sim"},
}};

// One row per engine: its name for settings and the command line, and for people.
struct EngineRow
{
    TextEngine value;
    const char *name;
    const char *display;
};
constexpr std::array<EngineRow, 3> kEngines{{
    {TextEngine::Auto, "auto", "Automatic"},
    {TextEngine::PpOcr, "ppocr", "PP-OCR"},
    {TextEngine::Tesseract, "tesseract", "Tesseract"},
}};

// Tesseract language -> the Debian package holding its traineddata (Debian spells '_' as '-').
struct LanguagePackageRow
{
    const char *language;
    const char *package;
};
constexpr std::array<LanguagePackageRow, 2> kLanguagePackages{{
    {"eng", "tesseract-ocr-eng"},
    {"chi_sim", "tesseract-ocr-chi-sim"},
}};

// Where Debian's tesseract-ocr-* packages put the data (libtesseract5 5.3).
constexpr const char *kDebianTessdata = "/usr/share/tesseract-ocr/5/tessdata";

std::string dataFolder(const std::string &option)
{
    if (!option.empty())
        return option;
    if (const char *env = std::getenv("TESSDATA_PREFIX"); env && *env)
        return env;
    return kDebianTessdata;
}

std::vector<std::string> splitLanguages(const std::string &spec)
{
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= spec.size()) {
        const size_t plus = spec.find('+', start);
        const size_t end = plus == std::string::npos ? spec.size() : plus;
        out.push_back(spec.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

bool isCjk(char32_t c)
{
    return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x3000 && c <= 0x303F) ||
           (c >= 0xFF00 && c <= 0xFFEF);
}

// First / last code point of a UTF-8 string (0 when empty or malformed).
char32_t decodeAt(const std::string &s, size_t i)
{
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80)
        return b;
    const int n = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : -1;
    if (n < 0 || i + static_cast<size_t>(n) >= s.size())
        return 0;
    char32_t c = b & (0x3F >> n);
    for (int k = 1; k <= n; ++k)
        c = (c << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
    return c;
}
char32_t firstChar(const std::string &s)
{
    return s.empty() ? 0 : decodeAt(s, 0);
}
char32_t lastChar(const std::string &s)
{
    if (s.empty())
        return 0;
    size_t i = s.size() - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
        --i;
    return decodeAt(s, i);
}

int right(const Rect &r)
{
    return r.x + r.width;
}
int bottom(const Rect &r)
{
    return r.y + r.height;
}

Rect unite(const Rect &a, const Rect &b)
{
    const int x = std::min(a.x, b.x), y = std::min(a.y, b.y);
    return {x, y, std::max(right(a), right(b)) - x, std::max(bottom(a), bottom(b)) - y};
}

int64_t intersectionArea(const Rect &a, const Rect &b)
{
    const int w = std::min(right(a), right(b)) - std::max(a.x, b.x);
    const int h = std::min(bottom(a), bottom(b)) - std::max(a.y, b.y);
    return w > 0 && h > 0 ? int64_t(w) * h : 0;
}

int verticalOverlap(const Rect &a, const Rect &b)
{
    return std::min(bottom(a), bottom(b)) - std::max(a.y, b.y);
}

// A word read in one tile; `clipped`: its box touches an edge the tile shares with a neighbour, so it may be
// cut.
struct Candidate
{
    TextWord word;
    bool clipped = false;
};

struct CancelState
{
    const std::atomic<bool> *flag;
};

bool cancelRequested(const std::atomic<bool> *flag)
{
    return flag && flag->load(std::memory_order_relaxed);
}

// Reads one tile enlarged `scale` times; words in image coordinates.
std::vector<Candidate> readTile(tesseract::TessBaseAPI &api, const QImage &grey, const Rect &tile, int scale,
                                float minConfidence, const std::atomic<bool> *cancel)
{
    QImage part = grey.copy(tile.x, tile.y, tile.width, tile.height);
    if (scale > 1)
        part = part.scaled(tile.width * scale, tile.height * scale, Qt::IgnoreAspectRatio,
                           Qt::SmoothTransformation);
    api.SetImage(part.constBits(), part.width(), part.height(), 1, static_cast<int>(part.bytesPerLine()));
    // Screens are ~96 dpi; saying so keeps Tesseract from guessing (and printing that it did).
    api.SetSourceResolution(96 * scale);

    tesseract::ETEXT_DESC monitor;
    CancelState state{cancel};
    monitor.cancel = [](void *self, int) { return cancelRequested(static_cast<CancelState *>(self)->flag); };
    monitor.cancel_this = &state;
    const int rc = api.Recognize(&monitor);
    if (cancelRequested(cancel))
        throw Error(ErrorCode::Cancelled, "text recognition was cancelled");
    if (rc != 0)
        throw Error(ErrorCode::Internal, "Tesseract failed to recognise a tile of the image");

    std::vector<Candidate> out;
    const Size full{grey.width(), grey.height()};
    std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
    if (!it)
        return out;
    do {
        if (it->Empty(tesseract::RIL_WORD))
            continue;
        const std::unique_ptr<char[]> utf8(it->GetUTF8Text(tesseract::RIL_WORD));
        std::string text = utf8 ? utf8.get() : "";
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
            text.pop_back();
        const float confidence = it->Confidence(tesseract::RIL_WORD);
        if (text.empty() || confidence < minConfidence)
            continue;
        int l = 0, t = 0, r = 0, b = 0;
        if (!it->BoundingBox(tesseract::RIL_WORD, &l, &t, &r, &b))
            continue;
        // Back to native pixels: floor the near edge, ceil the far one, so the box still covers the ink.
        const int x0 = tile.x + l / scale, y0 = tile.y + t / scale;
        const int x1 = tile.x + (r + scale - 1) / scale, y1 = tile.y + (b + scale - 1) / scale;
        Candidate c;
        c.word.text = std::move(text);
        c.word.box = {x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0)};
        c.word.confidence = confidence;
        constexpr int kEdge = 2;
        c.clipped = (tile.x > 0 && x0 - tile.x <= kEdge) ||
                    (right(tile) < full.width && right(tile) - x1 <= kEdge) ||
                    (tile.y > 0 && y0 - tile.y <= kEdge) ||
                    (bottom(tile) < full.height && bottom(tile) - y1 <= kEdge);
        out.push_back(std::move(c));
    } while (it->Next(tesseract::RIL_WORD));
    return out;
}

bool sameWord(const Rect &a, const Rect &b)
{
    const int64_t smaller = std::min(int64_t(a.width) * a.height, int64_t(b.width) * b.height);
    return intersectionArea(a, b) * 2 >= smaller;
}

// Recognises one tile: small text upscaled, large text at native size (upscaling 35 px menu text to 105 px
// made Tesseract read "Tools Help" as "ToOoLs He"; DECISIONS.md). The upscaled reading decides what is large
// (the native reading of small text gives unreliable boxes), and the native pass runs only for tiles that
// have large text.
void recognizeTile(tesseract::TessBaseAPI &api, const QImage &grey, const Rect &tile,
                   const TextLayerOptions &o, const std::atomic<bool> *cancel, std::vector<Candidate> &out)
{
    std::vector<Candidate> up = readTile(api, grey, tile, o.upscale, o.minConfidence, cancel);
    const int large = o.nativeTextHeight;
    const bool anyLarge =
        o.upscale > 1 && large > 0 &&
        std::any_of(up.begin(), up.end(), [&](const Candidate &c) { return c.word.box.height >= large; });
    if (!anyLarge) {
        std::move(up.begin(), up.end(), std::back_inserter(out));
        return;
    }
    std::vector<Candidate> native = readTile(api, grey, tile, 1, o.minConfidence, cancel);
    std::vector<bool> used(native.size(), false);
    for (Candidate &u : up) {
        bool replaced = false;
        if (u.word.box.height >= large) {
            for (size_t k = 0; k < native.size(); ++k) {
                const Rect &n = native[k].word.box;
                if (4 * n.height >= 3 * large && sameWord(n, u.word.box)) {
                    if (!used[k])
                        out.push_back(native[k]);
                    used[k] = true;
                    replaced = true;
                }
            }
        }
        if (!replaced)
            out.push_back(std::move(u));
    }
}

// Keeps one reading of each word the overlaps saw twice: whole words before cut ones, then the surer reading.
std::vector<TextWord> dropDuplicates(std::vector<Candidate> candidates)
{
    std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate &a, const Candidate &b) {
        if (a.clipped != b.clipped)
            return !a.clipped;
        return a.word.confidence > b.word.confidence;
    });
    std::vector<TextWord> kept;
    for (auto &c : candidates) {
        const bool seen = std::any_of(kept.begin(), kept.end(),
                                      [&](const TextWord &k) { return sameWord(k.box, c.word.box); });
        if (!seen)
            kept.push_back(std::move(c.word));
    }
    return kept;
}

// The process's PP-OCR recogniser: loaded on first use (~0.2 s) and kept, since a loaded Recogniser is
// immutable and recognise() reentrant. Reloaded only if the files it came from change (a test pointing
// baseWeightsDir() elsewhere). Error(FileNotFound) naming the missing file and the installer when absent.
std::shared_ptr<const ppocr::Recogniser> sharedRecogniser()
{
    static std::mutex mutex;
    static std::shared_ptr<const ppocr::Recogniser> loaded;
    static std::string loadedFrom;
    const std::string det = findBaseWeight(kPpocrDetOnnxFile), rec = findBaseWeight(kPpocrRecOnnxFile);
    if (det.empty() || rec.empty()) {
        const char *missing = det.empty() ? kPpocrDetOnnxFile : kPpocrRecOnnxFile;
        throw Error(ErrorCode::FileNotFound,
                    std::string("PP-OCR's base weights are not installed (") + baseWeightsDir() + "/" +
                        missing + " is missing): run " + kBaseWeightsCommand +
                        " to install them, or choose the Tesseract text engine",
                    missing);
    }
    const std::string key = det + '\n' + rec;
    const std::lock_guard<std::mutex> lock(mutex);
    if (!loaded || loadedFrom != key) {
        loaded = std::make_shared<const ppocr::Recogniser>(ppocr::Recogniser::load(det, rec));
        loadedFrom = key;
    }
    return loaded;
}

// `box` shrunk to the rows and columns of `grey` that hold ink: pixels at least half as far from the
// background (the median of the box's border) as the box's farthest pixel. PP-OCR's boxes are the detector's
// unclipped line boxes, about 1.5 times the height of the ink (48 px around Tesseract's 30 px on the sample
// screenshot's menu); layoutWords' rules (rows, line gaps, paragraph spacing) are in text heights measured on
// ink. Unchanged when the box is nearly uniform (contrast under 24 grey levels).
Rect inkBounds(const QImage &grey, const Rect &box)
{
    const int x0 = std::max(0, box.x), y0 = std::max(0, box.y);
    const int x1 = std::min(grey.width(), right(box)), y1 = std::min(grey.height(), bottom(box));
    if (x1 - x0 < 2 || y1 - y0 < 2)
        return box;
    auto at = [&](int x, int y) { return int(grey.constScanLine(y)[x]); };
    std::vector<int> border;
    for (int x = x0; x < x1; ++x)
        border.push_back(at(x, y0)), border.push_back(at(x, y1 - 1));
    for (int y = y0 + 1; y < y1 - 1; ++y)
        border.push_back(at(x0, y)), border.push_back(at(x1 - 1, y));
    std::nth_element(border.begin(), border.begin() + std::ptrdiff_t(border.size() / 2), border.end());
    const int background = border[border.size() / 2];
    int contrast = 0;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
            contrast = std::max(contrast, std::abs(at(x, y) - background));
    if (contrast < 24)
        return box;
    const int ink = (contrast + 1) / 2;
    int top = y1, bot = y0 - 1, lft = x1, rgt = x0 - 1;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
            if (std::abs(at(x, y) - background) >= ink) {
                top = std::min(top, y), bot = std::max(bot, y);
                lft = std::min(lft, x), rgt = std::max(rgt, x);
            }
    if (bot < top)
        return box;
    return {lft, top, rgt - lft + 1, bot - top + 1};
}

// The words PP-OCR reads in one tile, in image coordinates, lone icon glyphs dropped, boxes trimmed to their
// ink (inkBounds). A word is `clipped`
// when its box, or its line's box on its side (the line's first word for the left edge, its last for the
// right, every word for the top and bottom), comes within a few pixels of an edge the tile shares with a
// neighbour: PP-OCR's boxes are the detector's line boxes, expanded, and its word boxes are estimated from
// the recogniser's columns, so a word cut by the edge need not end exactly on it.
std::vector<Candidate> readPpocrTile(const ppocr::Recogniser &ocr, const QImage &rgb, const QImage &grey,
                                     const Rect &tile, const std::atomic<bool> *cancel)
{
    const QImage part = tile.x == 0 && tile.y == 0 && tile.width == rgb.width() && tile.height == rgb.height()
                            ? rgb
                            : rgb.copy(tile.x, tile.y, tile.width, tile.height);
    ppocr::Options po;
    po.cancel = cancel;
    const std::vector<ppocr::Line> lines = ocr.recognise(part, po);
    const Size full{rgb.width(), rgb.height()};
    constexpr int kEdge = 3;
    const bool innerLeft = tile.x > 0, innerRight = right(tile) < full.width;
    const bool innerTop = tile.y > 0, innerBottom = bottom(tile) < full.height;
    auto nearLeft = [&](int x0) { return innerLeft && x0 <= kEdge; };
    auto nearRight = [&](int x1) { return innerRight && tile.width - x1 <= kEdge; };
    auto nearTop = [&](int y0) { return innerTop && y0 <= kEdge; };
    auto nearBottom = [&](int y1) { return innerBottom && tile.height - y1 <= kEdge; };
    std::vector<Candidate> out;
    for (const ppocr::Line &line : lines) {
        const QRect &lb = line.box;
        const bool lineLeft = nearLeft(lb.left()), lineRight = nearRight(lb.right() + 1);
        const bool lineVertical = nearTop(lb.top()) || nearBottom(lb.bottom() + 1);
        for (size_t k = 0; k < line.words.size(); ++k) {
            const ppocr::Word &w = line.words[k];
            if (w.text.empty() || w.box.width() <= 0 || w.box.height() <= 0 || isIconGlyph(w.text))
                continue;
            const int x0 = w.box.left(), y0 = w.box.top(), x1 = w.box.right() + 1, y1 = w.box.bottom() + 1;
            Candidate c;
            c.word.text = w.text;
            c.word.box = inkBounds(grey, {tile.x + x0, tile.y + y0, x1 - x0, y1 - y0});
            c.word.confidence = std::clamp(w.confidence, 0.0f, 1.0f) * 100.0f;
            c.clipped = lineVertical || (k == 0 && lineLeft) || (k + 1 == line.words.size() && lineRight) ||
                        nearLeft(x0) || nearRight(x1) || nearTop(y0) || nearBottom(y1);
            out.push_back(std::move(c));
        }
    }
    return out;
}

} // namespace

std::string nameOf(TextLanguages languages)
{
    const std::string_view name = names::nameOf(kLanguages, languages);
    return name.empty() ? "eng" : std::string(name);
}

TextLanguages parseTextLanguages(std::string_view name)
{
    return names::parse<TextLanguages>(kLanguages, name, "text languages", ErrorCode::InvalidArgument);
}

std::string debianPackageForLanguage(std::string_view tesseractLanguage)
{
    for (const auto &r : kLanguagePackages)
        if (tesseractLanguage == r.language)
            return r.package;
    std::string guess = "tesseract-ocr-" + std::string(tesseractLanguage);
    std::replace(guess.begin(), guess.end(), '_', '-');
    return guess;
}

std::string nameOf(TextEngine engine)
{
    const std::string_view name = names::nameOf(kEngines, engine);
    return name.empty() ? "auto" : std::string(name);
}

std::string displayNameOf(TextEngine engine)
{
    for (const auto &r : kEngines)
        if (r.value == engine)
            return r.display;
    return "Automatic";
}

TextEngine parseTextEngine(std::string_view name)
{
    return names::parse<TextEngine>(kEngines, name, "text engine", ErrorCode::InvalidArgument);
}

bool ppocrInstalled()
{
    return !findBaseWeight(kPpocrDetOnnxFile).empty() && !findBaseWeight(kPpocrRecOnnxFile).empty();
}

TextEngine resolveTextEngine(TextEngine engine)
{
    if (engine != TextEngine::Auto)
        return engine;
    return ppocrInstalled() ? TextEngine::PpOcr : TextEngine::Tesseract;
}

bool isIconGlyph(std::string_view word)
{
    const QList<uint> points = QString::fromUtf8(word.data(), qsizetype(word.size())).toUcs4();
    if (points.size() != 1)
        return false;
    const uint c = points.front();
    // Symbols that are text: copyright, registered, trade mark, degree, numero, sound recording copyright.
    constexpr std::array<uint, 6> kTextSymbols{0x00A9, 0x00AE, 0x2122, 0x00B0, 0x2116, 0x2117};
    if (c < 0x80 || QChar::isLetterOrNumber(c) ||
        std::find(kTextSymbols.begin(), kTextSymbols.end(), c) != kTextSymbols.end())
        return false;
    switch (QChar::category(c)) {
    case QChar::Symbol_Math:
    case QChar::Symbol_Other:
    case QChar::Symbol_Modifier:
    case QChar::Other_PrivateUse:
        return true;
    default:
        return c == 0x00B7 || c == 0x2022 || c == 0x2027 || c == 0x2043 || c == 0x25E6;
    }
}

std::vector<Rect> ppocrTiles(Size size, int tileSize, int tileOverlap)
{
    if (size.width > 0 && size.height > 0 && size.width <= kPpocrMaxSide && size.height <= kPpocrMaxSide)
        return {{0, 0, size.width, size.height}};
    return textTiles(size, tileSize, tileOverlap);
}

std::vector<Rect> textTiles(Size size, int tileSize, int tileOverlap)
{
    std::vector<Rect> tiles;
    if (size.width <= 0 || size.height <= 0 || tileSize <= 0 || tileOverlap < 0 || tileSize <= tileOverlap)
        return tiles;
    // Along one axis: n equal tiles (the last one flush with the edge), each overlapping the next by at least
    // `tileOverlap`.
    auto spans = [&](int length) {
        std::vector<std::pair<int, int>> out;
        if (length <= tileSize) {
            out.emplace_back(0, length);
            return out;
        }
        const int step = tileSize - tileOverlap;
        const int n = 1 + (length - tileSize + step - 1) / step;
        for (int i = 0; i < n; ++i) {
            // Spread the tiles evenly: start i of n over [0, length - tileSize].
            const int start = static_cast<int>(int64_t(length - tileSize) * i / (n - 1));
            out.emplace_back(start, tileSize);
        }
        return out;
    };
    for (const auto &[y, h] : spans(size.height))
        for (const auto &[x, w] : spans(size.width))
            tiles.push_back({x, y, w, h});
    return tiles;
}

TextLayer layoutWords(std::vector<TextWord> words, Size imageSize)
{
    TextLayer layer;
    layer.imageSize = imageSize;
    words.erase(std::remove_if(words.begin(), words.end(),
                               [](const TextWord &w) {
                                   return w.text.empty() || w.box.width <= 0 || w.box.height <= 0;
                               }),
                words.end());
    if (words.empty())
        return layer;

    // 1. Rows: words whose boxes overlap vertically by half the shorter one, taken top to bottom.
    std::vector<int> order(words.size());
    std::iota(order.begin(), order.end(), 0);
    auto centreY = [&](int i) { return 2 * words[size_t(i)].box.y + words[size_t(i)].box.height; };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return centreY(a) < centreY(b); });
    struct Row
    {
        Rect box;
        std::vector<int> words;
    };
    std::vector<Row> rows;
    for (int i : order) {
        const Rect &b = words[size_t(i)].box;
        Row *best = nullptr;
        int bestOverlap = 0;
        for (auto &row : rows) {
            // Compare with the row's words of similar height so a tall heading does not swallow a small
            // label.
            for (int j : row.words) {
                const Rect &o = words[size_t(j)].box;
                const int ov = verticalOverlap(o, b);
                if (ov * 2 >= std::min(o.height, b.height) &&
                    std::max(o.height, b.height) <= 2 * std::min(o.height, b.height) && ov > bestOverlap) {
                    best = &row;
                    bestOverlap = ov;
                }
            }
        }
        if (best) {
            best->words.push_back(i);
            best->box = unite(best->box, b);
        } else {
            rows.push_back({b, {i}});
        }
    }

    // 2. Lines: a row split where the gap between neighbouring words is wider than ~2.5 text heights
    // (columns,
    //    a menu bar's left and right ends, a label and its far-away value).
    std::vector<TextLine> lines;
    for (auto &row : rows) {
        std::sort(row.words.begin(), row.words.end(),
                  [&](int a, int b) { return words[size_t(a)].box.x < words[size_t(b)].box.x; });
        TextLine line;
        int lineRight = 0;
        for (int i : row.words) {
            const Rect &b = words[size_t(i)].box;
            const int height = line.words.empty() ? b.height : std::max(line.box.height, b.height);
            if (!line.words.empty() && b.x - lineRight > (5 * height) / 2) {
                lines.push_back(std::move(line));
                line = TextLine{};
            }
            line.box = line.words.empty() ? b : unite(line.box, b);
            line.words.push_back(i);
            lineRight = std::max(line.words.size() == 1 ? 0 : lineRight, right(b));
        }
        lines.push_back(std::move(line));
    }

    // 3. Reading order: top to bottom; lines sharing a row band (overlapping vertically by half) left to
    // right.
    std::stable_sort(lines.begin(), lines.end(), [](const TextLine &a, const TextLine &b) {
        const int ov = verticalOverlap(a.box, b.box);
        if (ov * 2 >= std::min(a.box.height, b.box.height))
            return a.box.x < b.box.x;
        return 2 * a.box.y + a.box.height < 2 * b.box.y + b.box.height;
    });

    // 4. Blocks: a line continues the block of the nearest earlier line just above it (a gap under 0.8 text
    //    heights: a paragraph's or a list's line spacing) that it overlaps horizontally, with a similar
    //    height.
    int blocks = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        TextLine &l = lines[i];
        for (size_t k = i; k-- > 0;) {
            const TextLine &p = lines[k];
            const bool horizontal = std::min(right(p.box), right(l.box)) > std::max(p.box.x, l.box.x);
            const int gap = l.box.y - bottom(p.box);
            const int h = std::max(p.box.height, l.box.height);
            if (horizontal && gap >= -h / 2 && 5 * gap <= 4 * h &&
                2 * std::min(p.box.height, l.box.height) >= h) {
                l.block = p.block;
                break;
            }
        }
        if (l.block < 0)
            l.block = blocks++;
    }

    // 5. Words in reading order, and each line's indices into them.
    for (size_t li = 0; li < lines.size(); ++li) {
        for (int &w : lines[li].words) {
            TextWord word = std::move(words[size_t(w)]);
            word.line = static_cast<int>(li);
            layer.words.push_back(std::move(word));
            w = static_cast<int>(layer.words.size()) - 1;
        }
    }
    layer.lines = std::move(lines);
    return layer;
}

std::string TextLayer::lineText(int index) const
{
    std::string out;
    if (index < 0 || index >= static_cast<int>(lines.size()))
        return out;
    for (int w : lines[size_t(index)].words) {
        const std::string &t = words[size_t(w)].text;
        if (!out.empty() && !(isCjk(lastChar(out)) && isCjk(firstChar(t))))
            out += ' ';
        out += t;
    }
    return out;
}

std::string TextLayer::plainText() const
{
    std::string out;
    std::vector<bool> blockSeen;
    for (size_t i = 0; i < lines.size(); ++i) {
        const int block = lines[i].block;
        const bool first = block >= 0 && (size_t(block) >= blockSeen.size() || !blockSeen[size_t(block)]);
        if (block >= 0) {
            if (size_t(block) >= blockSeen.size())
                blockSeen.resize(size_t(block) + 1, false);
            blockSeen[size_t(block)] = true;
        }
        if (i > 0) {
            out += '\n';
            // A new block below the previous line (not beside it in the same row) starts a paragraph.
            const Rect &a = lines[i - 1].box, &b = lines[i].box;
            if (first && 2 * verticalOverlap(a, b) < std::min(a.height, b.height) && b.y > a.y)
                out += '\n';
        }
        out += lineText(static_cast<int>(i));
    }
    return out;
}

std::string TextLayer::positionName(const Rect &box) const
{
    if (imageSize.width <= 0 || imageSize.height <= 0)
        return "middle";
    const double cx = (box.x + box.width / 2.0) / imageSize.width;
    const double cy = (box.y + box.height / 2.0) / imageSize.height;
    const int col = cx < 1.0 / 3 ? 0 : cx < 2.0 / 3 ? 1 : 2;
    const int row = cy < 1.0 / 3 ? 0 : cy < 2.0 / 3 ? 1 : 2;
    static const char *const kNames[3][3] = {{"top-left", "top", "top-right"},
                                             {"left", "middle", "right"},
                                             {"bottom-left", "bottom", "bottom-right"}};
    return kNames[row][col];
}

std::string TextLayer::promptText(int maxLines) const
{
    std::string out;
    const int n = maxLines > 0 ? std::min<int>(maxLines, static_cast<int>(lines.size()))
                               : static_cast<int>(lines.size());
    for (int i = 0; i < n; ++i) {
        out += '[' + positionName(lines[size_t(i)].box) + "] " + lineText(i);
        if (i + 1 < n)
            out += '\n';
    }
    return out;
}

int TextLayer::wordAt(int x, int y) const
{
    for (size_t i = 0; i < words.size(); ++i) {
        const Rect &b = words[i].box;
        if (x >= b.x && x < right(b) && y >= b.y && y < bottom(b))
            return static_cast<int>(i);
    }
    return -1;
}

TextLayer textLayerIn(const TextLayer &layer, const Rect &area)
{
    std::vector<TextWord> inside;
    for (const TextWord &w : layer.words) {
        const int cx = w.box.x + w.box.width / 2, cy = w.box.y + w.box.height / 2;
        if (cx < area.x || cx >= right(area) || cy < area.y || cy >= bottom(area))
            continue;
        TextWord moved = w;
        moved.box.x -= area.x;
        moved.box.y -= area.y;
        inside.push_back(std::move(moved));
    }
    TextLayer out = layoutWords(std::move(inside), {area.width, area.height});
    out.tiles = layer.tiles;
    out.engine = layer.engine;
    return out;
}

namespace {

// The PP-OCR path of recognizeText(), options already checked.
TextLayer recognizeWithPpocr(const QImage &image, const TextLayerOptions &o,
                             const TextLayerCallbacks &callbacks)
{
    const std::atomic<bool> *cancel = callbacks.cancel;
    const std::shared_ptr<const ppocr::Recogniser> ocr = sharedRecogniser();
    if (cancelRequested(cancel))
        throw Error(ErrorCode::Cancelled, "text recognition was cancelled");
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    const QImage grey = rgb.convertToFormat(QImage::Format_Grayscale8);
    const Size size{rgb.width(), rgb.height()};
    const std::vector<Rect> tiles = ppocrTiles(size, o.ppocrTileSize, o.tileOverlap);
    const int total = static_cast<int>(tiles.size());
    if (callbacks.progress)
        callbacks.progress(0, total);
    std::vector<Candidate> candidates;
    for (int i = 0; i < total; ++i) {
        if (cancelRequested(cancel))
            throw Error(ErrorCode::Cancelled, "text recognition was cancelled");
        std::vector<Candidate> read = readPpocrTile(*ocr, rgb, grey, tiles[size_t(i)], cancel);
        std::move(read.begin(), read.end(), std::back_inserter(candidates));
        if (callbacks.progress)
            callbacks.progress(i + 1, total);
    }
    TextLayer layer = layoutWords(dropDuplicates(std::move(candidates)), size);
    layer.tiles = total;
    layer.engine = TextEngine::PpOcr;
    return layer;
}

} // namespace

TextLayer recognizeText(const QImage &image, const TextLayerOptions &o, const TextLayerCallbacks &callbacks)
{
    if (image.isNull() || image.width() <= 0 || image.height() <= 0)
        throw Error(ErrorCode::ImageEmpty, "the image has no pixels (" + std::to_string(image.width()) + "x" +
                                               std::to_string(image.height()) + ")");
    if (o.upscale < 1 || o.upscale > 4)
        throw Error(ErrorCode::InvalidArgument, "text upscale must be between 1 and 4", "upscale");
    if (o.nativeTextHeight < 0)
        throw Error(ErrorCode::InvalidArgument, "the native text height must be 0 (off) or more pixels",
                    "nativeTextHeight");
    if (o.tileOverlap < 0 || o.tileSize < 64 || o.tileSize < 2 * o.tileOverlap)
        throw Error(ErrorCode::InvalidArgument,
                    "text tiles must be at least 64 px and at least twice their overlap (" +
                        std::to_string(o.tileSize) + " px, overlap " + std::to_string(o.tileOverlap) + ")",
                    "tileSize");
    if (o.ppocrTileSize < 64 || o.ppocrTileSize > kPpocrMaxSide || o.ppocrTileSize < 2 * o.tileOverlap)
        throw Error(ErrorCode::InvalidArgument,
                    "PP-OCR's text tiles must be 64 to " + std::to_string(kPpocrMaxSide) +
                        " px and at least twice their overlap (" + std::to_string(o.ppocrTileSize) +
                        " px, overlap " + std::to_string(o.tileOverlap) + ")",
                    "ppocrTileSize");
    if (o.engine != TextEngine::Auto && o.engine != TextEngine::PpOcr && o.engine != TextEngine::Tesseract)
        throw Error(ErrorCode::InvalidArgument, "unknown text engine", "engine");
    const std::atomic<bool> *cancel = callbacks.cancel;
    if (resolveTextEngine(o.engine) == TextEngine::PpOcr)
        return recognizeWithPpocr(image, o, callbacks);

    const std::string folder = dataFolder(o.dataPath);
    const std::string languages = nameOf(o.languages);
    for (const std::string &lang : splitLanguages(languages)) {
        const std::string file = folder + "/" + lang + ".traineddata";
        const QFileInfo info(QString::fromStdString(file));
        if (!info.isFile() || !info.isReadable()) {
            const std::string package = debianPackageForLanguage(lang);
            throw Error(ErrorCode::OcrDataMissing,
                        "Tesseract's data for the language '" + lang + "' is missing (" + file +
                            "); install the Debian package " + package + " (sudo apt-get install " + package +
                            ")",
                        file);
        }
    }

    if (cancelRequested(cancel))
        throw Error(ErrorCode::Cancelled, "text recognition was cancelled");

    tesseract::TessBaseAPI api;
    // LSTM only: the legacy engine's data is not in Debian's eng/chi_sim packages' fast models anyway.
    if (api.Init(folder.c_str(), languages.c_str(), tesseract::OEM_LSTM_ONLY) != 0)
        throw Error(ErrorCode::OcrDataMissing,
                    "Tesseract could not load its data for '" + languages + "' from " + folder +
                        " (damaged file?); reinstall " + debianPackageForLanguage("eng") +
                        (o.languages == TextLanguages::EnglishChinese
                             ? " and " + debianPackageForLanguage("chi_sim")
                             : ""),
                    folder);
    // Sparse by default: screens are labels, menus and panels, not page columns, and page segmentation drops
    // lone words (DECISIONS.md).
    api.SetPageSegMode(o.segmentation == TextSegmentation::Sparse ? tesseract::PSM_SPARSE_TEXT
                                                                  : tesseract::PSM_AUTO);
    api.SetVariable("debug_file", "/dev/null"); // Tesseract's diagnostics are not the user's business
    // Nor Leptonica's ("Error in boxClipToRectangle" for boxes Tesseract probes past a tile's edge,
    // harmless). Process-wide, and UHD Lens uses Leptonica only through Tesseract.
    setMsgSeverity(L_SEVERITY_NONE);

    const QImage grey = image.convertToFormat(QImage::Format_Grayscale8);
    const Size size{grey.width(), grey.height()};
    const std::vector<Rect> tiles = textTiles(size, o.tileSize, o.tileOverlap);
    const int total = static_cast<int>(tiles.size());
    if (callbacks.progress)
        callbacks.progress(0, total);
    std::vector<Candidate> candidates;
    for (int i = 0; i < total; ++i) {
        if (cancelRequested(cancel))
            throw Error(ErrorCode::Cancelled, "text recognition was cancelled");
        recognizeTile(api, grey, tiles[size_t(i)], o, cancel, candidates);
        if (callbacks.progress)
            callbacks.progress(i + 1, total);
    }
    TextLayer layer = layoutWords(dropDuplicates(std::move(candidates)), size);
    layer.tiles = total;
    layer.engine = TextEngine::Tesseract;
    return layer;
}

} // namespace uhdlens
