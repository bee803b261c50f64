// Internal: the PP-OCR text recogniser (issue 18) — rapidocr 3.10.0's pipeline around the PP-OCRv6 small
// detector and recogniser of the base weights, in C++ over the ONNX runner (onnx/onnx_runner.h). The text
// layer's engine when the base weights are installed (text_layer.cpp: tiling, merging, reading order).
//
//     const ppocr::Recogniser ocr = ppocr::Recogniser::loadBaseWeights();
//     for (const ppocr::Line &line : ocr.recognise(image))        // any QImage, converted to RGB
//         for (const ppocr::Word &w : line.words) use(w.text, w.box, w.confidence);
//
// The rules are rapidocr's, read from its source (Global / Det / Rec of its config.yaml, angle classifier
// off): the image is scaled into 30..2000 px sides, padded above and below when flatter than 8:1 or under 31
// px tall, scaled so its short side is >= 736 with both sides rounded to multiples of 32 (bilinear), and
// normalised to [-1, 1] in BGR order; the probability map is thresholded at 0.3 and dilated 2x2; each
// 8-connected component is a candidate line (rapidocr: cv2.findContours + minAreaRect; here axis-aligned
// boxes, since screenshots are upright, and holes are not candidates), kept when its short side is >= 3, its
// mean probability over its box ("fast" score) >= 0.5, and after unclipping (each side moved out by
// area * 1.6 / perimeter) its short side is >= 5; boxes are scaled back and sorted in rapidocr's reading
// order. Line crops are rotated when at least 1.5 times taller than wide, scaled to height 48 (width
// ceil(48 * w / h), bilinear), batched by six in order of aspect, zero-padded to the batch's widest (at least
// 320), and decoded greedily (CTC blank 0, repeats merged; the dictionary is the graph's "character" metadata
// with blank first and " " last). Lines whose text is blank or whose mean character probability is < 0.5 are
// dropped. Words: the line's text split at spaces, each word's box the union of its characters' boxes, each
// placed from the CTC column where it was emitted (rapidocr's return_single_char_box rule, with its
// adjust_box_overlap).
//
// Errors: Error(ImageEmpty) for an empty image; Error(Cancelled) when Options::cancel was set;
// Error(InvalidArgument) for an image rapidocr cannot scale (wider than ~117:1) or whose detector input would
// exceed kMaxDetectorPixels (taller than ~1:31); OnnxRunner::load's errors for a missing (FileNotFound) or
// malformed (CheckpointInvalid) graph; Error(CheckpointInvalid) for a recogniser without a dictionary or
// whose class count disagrees with it. Thread-safety: a loaded Recogniser is immutable; recognise() may be
// called from several threads.
#pragma once

#include "onnx/onnx_runner.h"

#include <QImage>
#include <QRect>

#include <atomic>
#include <string>
#include <vector>

namespace uhdlens::ppocr {

// The detector's input is refused above this many pixels (4096 x 4096; a 2000-px square goes in as 2016 x
// 2016).
inline constexpr int64_t kMaxDetectorPixels = int64_t(4096) * 4096;

struct Word
{
    std::string text;     // UTF-8
    QRect box;            // image pixels, [x, x + width) x [y, y + height)
    float confidence = 0; // mean probability of its characters
};

struct Line
{
    std::string text;   // UTF-8, as decoded (spaces kept)
    QRect box;          // the detector's box, image pixels
    float score = 0;    // mean probability of the line's characters (rapidocr's rec score)
    float boxScore = 0; // the detector's mean probability inside the box
    std::vector<Word> words;
};

struct Options
{
    float threshold = 0.3f;    // Det.thresh
    float boxThreshold = 0.5f; // Det.box_thresh
    float unclipRatio = 1.6f;  // Det.unclip_ratio
    float textScore = 0.5f;    // Global.text_score
    int recBatch = 6;          // Rec.rec_batch_num
    // Not rapidocr's: when set, checked after detection and between recognition batches; Error(Cancelled).
    const std::atomic<bool> *cancel = nullptr;
};

// A detected line before recognition, in the detector input's (scaled, padded) coordinates: the integer
// corners rapidocr keeps (x0, y0, x1, y1; the crop is [x0, x1) x [y0, y1)).
struct DetBox
{
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    float score = 0;
};

// DB post-processing of a probability map `prob` ([H, W] float) for an image of destW x destH: the boxes,
// unsorted. Pure; exposed for tests.
std::vector<DetBox> dbBoxes(const at::Tensor &prob, int destW, int destH, const Options &options = {});
// rapidocr's sorted_boxes: by top, rows where tops differ by < 10 px, left to right within a row.
void sortBoxes(std::vector<DetBox> &boxes);

// One character of a greedy CTC decoding: the class's text and the column that emitted it.
struct CtcChar
{
    int classIndex = 0;
    int column = 0;
    float probability = 0;
};
// Greedy CTC decoding of [T, C] class probabilities: argmax per column, repeats merged, blank (0) dropped.
std::vector<CtcChar> ctcGreedy(const at::Tensor &probs);
// The recogniser's classes from its "character" metadata: blank, the lines, " ".
std::vector<std::string> dictionaryClasses(const std::string &metadata);

class Recogniser
{
public:
    static Recogniser load(const std::string &detPath, const std::string &recPath);
    // The base weights' files (kPpocrDetOnnxFile / kPpocrRecOnnxFile); Error(FileNotFound) naming
    // installer/fetch-base-weights.sh when absent.
    static Recogniser loadBaseWeights();

    // The image's text lines in rapidocr's reading order. Errors as above.
    std::vector<Line> recognise(const QImage &image, const Options &options = {}) const;

    const std::vector<std::string> &classes() const { return m_classes; }

private:
    Recogniser(onnx::OnnxRunner det, onnx::OnnxRunner rec, std::vector<std::string> classes)
        : m_det(std::move(det)), m_rec(std::move(rec)), m_classes(std::move(classes))
    {
    }
    onnx::OnnxRunner m_det;
    onnx::OnnxRunner m_rec;
    std::vector<std::string> m_classes;
};

} // namespace uhdlens::ppocr
