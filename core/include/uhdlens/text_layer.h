// UHD Lens — the image's text layer: the words an OCR engine recognises, with their boxes, in reading order.
//
//     std::atomic<bool> stop{false};
//     uhdlens::TextLayerCallbacks cb;
//     cb.progress = [](int done, int total) { std::printf("%d/%d tiles\n", done, total); };
//     cb.cancel = &stop;                                    // checked between tiles and inside engines
//     uhdlens::TextLayer layer = uhdlens::recognizeText(rgb, {}, cb);   // throws uhdlens::Error
//     layer.plainText();    // the lines in reading order, one a line
//     layer.promptText();   // "[top-left] File Edit View\n[middle] Save changes?" — what a model is given
//     displayNameOf(layer.engine);   // "PP-OCR" or "Tesseract": which engine read it
//
// Engines (TextLayerOptions::engine): PP-OCR (PP-OCRv6 small det + rec of the base weights, core/src/ppocr.h)
// whenever its files are installed under baseWeightsDir(), else Tesseract (Debian's libtesseract). PP-OCR
// finds the answers of more reading questions in real screenshots (90.9% against 81.0%, DECISIONS.md); its
// dictionary holds Simplified Chinese as well as English, so it reads both whatever `languages` says.
//
// PP-OCR: an image up to kPpocrMaxSide px on each side is read whole (PP-OCR scales larger ones down, which
// loses small text); a larger one is cut into overlapping ppocrTileSize tiles read at native resolution.
// Lone icon glyphs PP-OCR reads as symbols ("■", "•", "→") are dropped (isIconGlyph).
//
// Tesseract: the image is cut into overlapping tiles at native resolution; each tile is recognised upscaled
// (small screen text is below what Tesseract's LSTM reads at native size) and, for large text, at native size
// too, with sparse-text segmentation, which finds isolated labels that page segmentation drops.
//
// Both: words cut by a tile's inner edge are taken from the neighbour that holds them whole, duplicates from
// the overlaps are dropped, and lines and reading order are rebuilt from the word boxes (sparse segmentation
// reports every word as its own line; PP-OCR's lines break at wide gaps differently).
//
// Thread-safety: recognizeText() is reentrant (each call runs its own Tesseract instance; the PP-OCR
// recogniser is loaded once per process and shared, immutable); a TextLayer is a plain value. Errors:
// Error(ImageEmpty) for a null or zero-size image, Error(OcrDataMissing) when a Tesseract language's
// traineddata file is missing (the message names the Debian package that installs it), Error(FileNotFound)
// when PP-OCR is asked for explicitly and its base weights are missing (the message names the file and
// installer/fetch-base-weights.sh), Error(Cancelled) when *cancel was set, Error(InvalidArgument) for options
// out of range.
#pragma once

#include "uhdlens/geometry.h"

#include <QImage>

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace uhdlens {

// Which OCR engine reads the image.
enum class TextEngine
{
    Auto,      // "auto": PP-OCR when its base weights are installed (ppocrInstalled()), else Tesseract
    PpOcr,     // "ppocr": PP-OCR; Error(FileNotFound) when its base weights are missing
    Tesseract, // "tesseract"
};
std::string nameOf(TextEngine engine);             // "auto" | "ppocr" | "tesseract" (CLI, settings)
std::string displayNameOf(TextEngine engine);      // "Automatic" | "PP-OCR" | "Tesseract" (UI)
TextEngine parseTextEngine(std::string_view name); // Error(InvalidArgument) for another name
// Whether PP-OCR's two base-weight files (kPpocrDetOnnxFile, kPpocrRecOnnxFile) are under baseWeightsDir().
bool ppocrInstalled();
// The engine `engine` runs now: Auto resolved by ppocrInstalled(); the others as they are.
TextEngine resolveTextEngine(TextEngine engine);

// PP-OCR scales an image whose longer side exceeds this down to it (rapidocr's rule); the text layer tiles
// such images instead.
inline constexpr int kPpocrMaxSide = 2000;

// Whether a recognised word is a lone icon glyph rather than text: exactly one code point, not ASCII, not a
// letter or digit, and a symbol (Unicode categories Sm, So, Sk), a private-use character (icon fonts) or a
// bullet (U+00B7, U+2022, U+2027, U+2043, U+25E6). PP-OCR reads icons as "■", "□", "•", "→", "✓"; ASCII
// ("+", "-", "|", "$") and CJK punctuation are kept, as text. The PP-OCR path drops such words.
bool isIconGlyph(std::string_view word);

// Which Tesseract models read the image (PP-OCR's one dictionary reads both).
enum class TextLanguages
{
    English,        // "eng"
    EnglishChinese, // "eng+chi_sim": Simplified Chinese as well (slower: both models run)
};
// How Tesseract finds text in a tile.
enum class TextSegmentation
{
    Sparse, // as much text as possible in no particular order (PSM 11): screens' scattered labels
    Page,   // automatic page segmentation (PSM 3): columns and paragraphs of a document page
};

std::string nameOf(TextLanguages languages);             // "eng" | "eng+chi_sim"
TextLanguages parseTextLanguages(std::string_view name); // Error(InvalidArgument) for another name
// The Debian package that installs one Tesseract language's data ("eng" -> "tesseract-ocr-eng").
std::string debianPackageForLanguage(std::string_view tesseractLanguage);

struct TextLayerOptions
{
    TextEngine engine = TextEngine::Auto;
    // PP-OCR only: tile edge for images with a side over kPpocrMaxSide (64..kPpocrMaxSide, so no tile is
    // scaled down, and >= 2 * tileOverlap).
    int ppocrTileSize = 1600;
    // The rest are Tesseract's, but for tileOverlap, which both engines use.
    TextLanguages languages = TextLanguages::English;
    // Folder holding <lang>.traineddata; empty: $TESSDATA_PREFIX, else Debian's
    // /usr/share/tesseract-ocr/5/tessdata.
    std::string dataPath;
    int tileSize = 1024;   // tile edge in image pixels (native resolution), >= 2 * tileOverlap
    int tileOverlap = 128; // overlap of neighbouring tiles; a word narrower than this is whole in one of them
    int upscale = 3;       // each tile is enlarged this many times before recognition (1..4)
    // With upscale > 1, a tile where the upscaled reading found words at least this tall (image pixels) is
    // read at native size too, and those words are taken from that reading: upscaling helps small text and
    // hurts large text. 0: no native reading.
    int nativeTextHeight = 24;
    TextSegmentation segmentation = TextSegmentation::Sparse;
    // Words Tesseract is less sure of (0..100) are dropped (icons, rules, noise). PP-OCR keeps its own rule
    // (lines whose mean character probability is under 0.5 are dropped).
    float minConfidence = 30.0f;
};

struct TextWord
{
    std::string text;     // UTF-8
    Rect box;             // in image pixels
    float confidence = 0; // the engine's word confidence, 0..100 (PP-OCR's mean character probability x 100)
    int line = -1;        // index into TextLayer::lines
};

struct TextLine
{
    Rect box;               // union of its words' boxes
    std::vector<int> words; // indices into TextLayer::words, left to right
    int block = -1;         // lines close together and overlapping horizontally share a block (a paragraph)
};

struct TextLayer
{
    Size imageSize;
    std::vector<TextWord> words; // in reading order (line by line, left to right)
    std::vector<TextLine> lines; // in reading order: top to bottom, left to right where they share a row
    int tiles = 0;               // how many tiles were recognised
    TextEngine engine = TextEngine::Tesseract; // the engine that read it (never Auto)

    bool empty() const { return words.empty(); }
    // The words of line `index` joined by spaces (no space between two CJK characters).
    std::string lineText(int index) const;
    // Every line in reading order, "\n" between lines, and a blank line before the first line of each block
    // (paragraph, panel) that starts below the line before it.
    std::string plainText() const;
    // The lines in reading order, each prefixed with its coarse position in the image ("[top-left] File
    // Edit"), one a line: what the model is given before the question (Conversation::ask's imageText).
    // `maxLines` > 0 keeps only the first lines.
    std::string promptText(int maxLines = 0) const;
    // The coarse position of `box` in this image: "top-left", "top", "top-right", "left", "middle", ...
    std::string positionName(const Rect &box) const;
    // Index of the word whose box contains (x, y), or -1.
    int wordAt(int x, int y) const;
};

struct TextLayerCallbacks
{
    std::function<void(int done, int total)>
        progress;                              // after each tile (and once with done = 0 before the first)
    const std::atomic<bool> *cancel = nullptr; // set: Error(Cancelled) at the next check
};

// Recognises the text of `image` (any QImage format; recognition is on its grey values). Throws
// uhdlens::Error as described above.
TextLayer recognizeText(const QImage &image, const TextLayerOptions &options = {},
                        const TextLayerCallbacks &callbacks = {});

// The tiles recognizeText() cuts an image of `size` into (row by row), for tests and the UI's progress.
std::vector<Rect> textTiles(Size size, int tileSize, int tileOverlap);
// PP-OCR's tiles: the whole image when neither side exceeds kPpocrMaxSide, else textTiles().
std::vector<Rect> ppocrTiles(Size size, int tileSize, int tileOverlap);

// Rebuilds lines, blocks and reading order from words with boxes (TextWord::line is ignored and set): the
// second half of recognizeText(), public so it can be tested on its own.
TextLayer layoutWords(std::vector<TextWord> words, Size imageSize);

// The words of `layer` whose box centre lies in `area`, with boxes relative to the area's corner, laid out
// again (layoutWords) for an image of the area's size: the text of a selected region, positions named within
// it.
TextLayer textLayerIn(const TextLayer &layer, const Rect &area);

} // namespace uhdlens
