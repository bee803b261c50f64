// UHD Lens — the labels of training's auxiliary losses, computed from what the synthetic data generator drew
// (synthdata.h) and the slice plan alone (no torch here; training.h uses them).
//
//     const SlicePlan plan = planSlices({s.image.width(), s.image.height()}, policy);
//     auto words = uhdlens::regionLabels(s, plan, 8, 6);       // per view, 8x8 box labels ("" = nothing)
//     auto glyphs = uhdlens::glyphLabels(s, plan, 14, 6);      // per view, one class per 14-px patch
//     auto look = uhdlens::answerBoxes(s.qas[0], plan, 8);     // per view, the boxes a question is about
//
// Views are indexed as the prompt indexes them: 0 = the overview, then the slices row-major. Every function
// is pure (same inputs, same labels) and may run on any thread.
#pragma once

#include "uhdlens/lab/synthdata.h"
#include "uhdlens/slice_planner.h"

#include <cstdint>
#include <string>
#include <vector>

namespace uhdlens {

class Tokenizer;

// The target value the losses ignore (torch's cross_entropy ignore_index default).
inline constexpr std::int64_t kIgnoredLabel = -100;

// Labels of the region reading loss for one sample: for each image the plan encodes (0 = the overview, then
// the slices row-major: the prompt's image indices), grid*grid labels row-major over the boxes the spatial
// resampler pools (the view split evenly into grid x grid): the word, or the shape's colour, whose centre
// lies in the box and which is at least minPixels high at model input (the largest where several qualify); ""
// where nothing does. Empty for a padded (llava15) plan or grid < 1.
std::vector<std::vector<std::string>> regionLabels(const synth::Sample &sample, const SlicePlan &plan,
                                                   int grid, double minPixels);

// The piece the region and token losses name a label by: the first piece of tok.encode(label) that is not a
// bare word boundary "▁" (a small vocabulary spells many words, and every number, as "▁" then letters or
// digits, and "▁" tells no label from another). kIgnoredLabel when there is none, e.g. for "".
std::int64_t namingPiece(const Tokenizer &tok, const std::string &label);

// Boxes of the look loss for one question: for each image the plan encodes (0 = the overview, then the slices
// row-major), the indices (row-major, 0..grid*grid-1) of the resampler's grid x grid boxes of that view that
// overlap the question's place (qa.x, y, width, height in original pixels) with positive area. Empty
// lists where a view does not see the place. All empty for counting questions (no single place), a place of
// zero size, a padded (llava15) plan or grid < 1.
std::vector<std::vector<int>> answerBoxes(const synth::QA &qa, const SlicePlan &plan, int grid);

// The characters the glyph loss names: printable ASCII '!'..'~' (every character the generator draws but
// space). Class 0 is "no character"; character c is class 1 + glyphAlphabet().find(c).
const std::string &glyphAlphabet();
inline constexpr double kGlyphLargePixels = 14; // "large" letters of the progress line: one ViT patch or more

// Labels of the glyph loss for one sample: for each image the plan encodes (0 = the overview, then the slices
// row-major), one class per patch of that view's patch grid (rows x cols of the resized view / patch,
// row-major): the character drawn at the patch's centre — the centre lies on the text's line box, within that
// character's advance — for text at least minPixels high at model input (the largest text where several
// qualify); 0 where there is none, or a space. Empty for a padded (llava15) plan or patch < 1. With
// `heights`, also the labelled text's pixel size at model input for every patch (0 where the label is
// "none"), in the same layout, for reporting accuracy by letter size.
std::vector<std::vector<int>> glyphLabels(const synth::Sample &sample, const SlicePlan &plan, int patch,
                                          double minPixels,
                                          std::vector<std::vector<float>> *heights = nullptr);

// One crop of the encoder warm-up: `region` of `sample` (clipped to the image), resized to side x side at
// model input. The result's sample holds the region's pixels and the texts that overlap it, moved into the
// region's coordinates (questions and shapes dropped); its plan encodes one view (the overview, no slices)
// of exactly side x side pixels, so glyphLabels(crop.sample, crop.plan, ...) labels its patches. Throws
// Error(InvalidArgument) for an empty region or side < 1.
struct WarmupCrop
{
    synth::Sample sample;
    SlicePlan plan;
};
WarmupCrop warmupCrop(const synth::Sample &sample, const Rect &region, int side, const SlicePolicy &policy);

// The region an encoder warm-up crop takes: a square of round(side * zoom) original pixels (at most the
// image's shorter side) around a point of a text at least minPixels / zoom high in the original (so at least
// minPixels at model input), chosen by `pick` (any integer: the same pick, the same region). Falls back to a
// region chosen by `pick` alone when no text qualifies.
Rect warmupRegion(const synth::Sample &sample, int side, double zoom, double minPixels, std::uint64_t pick);

} // namespace uhdlens
