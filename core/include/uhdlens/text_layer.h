// UHD Lens — the image's text layer: the words Tesseract recognises, with their boxes, in reading order.
//
//     std::atomic<bool> stop{false};
//     uhdlens::TextLayerCallbacks cb;
//     cb.progress = [](int done, int total) { std::printf("%d/%d tiles\n", done, total); };
//     cb.cancel = &stop;                                        // checked between tiles and inside Tesseract
//     uhdlens::TextLayer layer = uhdlens::recognizeText(rgb, {}, cb);   // English; throws uhdlens::Error
//     layer.plainText();    // the lines in reading order, one a line
//     layer.promptText();   // "[top-left] File Edit View\n[middle] Save changes?" — what a model is given
//
// How: the image is cut into overlapping tiles at native resolution; each tile is recognised upscaled (small
// screen text is below what Tesseract's LSTM reads at native size) and, for large text, at native size too,
// with sparse-text segmentation, which finds isolated labels that page segmentation drops. Words cut by a
// tile's inner edge are taken from the neighbour that holds them whole, duplicates from the overlaps are
// dropped, and lines and reading order are rebuilt from the word boxes (sparse segmentation reports every
// word as its own line). DECISIONS.md has the measurements.
//
// Thread-safety: recognizeText() is reentrant (each call runs its own Tesseract instance); a TextLayer is a
// plain value. Errors: Error(ImageEmpty) for a null or zero-size image, Error(OcrDataMissing) when a
// language's traineddata file is missing (the message names the Debian package that installs it),
// Error(Cancelled) when *cancel was set, Error(InvalidArgument) for options out of range.
#pragma once

#include "uhdlens/geometry.h"

#include <QImage>

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace uhdlens {

// Which Tesseract models read the image.
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
    float minConfidence = 30.0f; // words Tesseract is less sure of (0..100) are dropped (icons, rules, noise)
};

struct TextWord
{
    std::string text;     // UTF-8
    Rect box;             // in image pixels
    float confidence = 0; // Tesseract's word confidence, 0..100
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

// Rebuilds lines, blocks and reading order from words with boxes (TextWord::line is ignored and set): the
// second half of recognizeText(), public so it can be tested on its own.
TextLayer layoutWords(std::vector<TextWord> words, Size imageSize);

// The words of `layer` whose box centre lies in `area`, with boxes relative to the area's corner, laid out
// again (layoutWords) for an image of the area's size: the text of a selected region, positions named within
// it.
TextLayer textLayerIn(const TextLayer &layer, const Rect &area);

} // namespace uhdlens
