// UHD Lens — preprocessing: what the vision encoder sees of an image, without torch in the interface.
//
//     QImage rgb = uhdlens::loadImage("shot.png");                        // Format_RGB888
//     uhdlens::SlicePlan plan = uhdlens::planSlices({rgb.width(), rgb.height()}, uhdlens::SlicePolicy::minicpmv());
//     uhdlens::ModelView view = uhdlens::renderModelView(rgb, plan, model->info().padColour);
//     view.overview.save("overview.png");                                // 602x336 for a 1920x1080 image
//     for (const QImage &s : view.slices) ...                             // 8 slices of 420x476, row-major
//
// The pixels are exactly the 8-bit images the reference pipelines hand to the encoder (before the per-model
// mean/std normalisation): Pillow's Image.resize(size, BICUBIC) of the original to the plan's overview and
// refined sizes (its 8-bit fixed-point resampler re-implemented bit for bit, core/src/pillow_resample.h), the
// refined image cut into the plan's slices, and for llava15 the LLaVA-1.5 pad-to-square first. The tensor
// form for the engine (normalised, batched, in a dtype/device) is in core/src/preprocess.h. Functions are
// thread-safe (they share no state) and throw uhdlens::Error(InvalidArgument) when the plan does not belong
// to the image.
#pragma once

#include "uhdlens/model_facts.h"
#include "uhdlens/slice_planner.h"

#include <QImage>

#include <cstdint>
#include <vector>

namespace uhdlens {

// RgbColour, kClipMeanColour and padColourForMean() (the LLaVA-1.5 pad colour of a normalisation mean) are in
// uhdlens/model_facts.h: ModelInfo::padColour is the loaded model's.

// The images the encoder receives, in encoding order: the overview, then the slices row-major.
struct ModelView
{
    QImage overview;            // Format_RGB888 at plan.overview
    std::vector<QImage> slices; // Format_RGB888 at *plan.slice each; empty for an unsliced plan
};

// Renders the plan's encoder inputs from `rgb` (any QImage format; converted to RGB888 first, alpha on white).
// `padColour` is used only by pad-to-square plans (llava15): a loaded model's ModelInfo::padColour, which is what
// the engine pads with. Throws Error(InvalidArgument) if the image size is not plan.input or the plan is
// empty/invalid.
ModelView renderModelView(const QImage &rgb, const SlicePlan &plan, RgbColour padColour);

// A quick approximation of encoded image `index` (-1: the overview, 0..n-1: slice) of `plan`, from `rgb` (the
// planned image or region) at exactly the size the encoder receives, before normalisation — for a preview while
// renderModelView() runs. The geometry is the engine's (padToSquare with `padColour` for pad-to-square plans,
// SlicePlan::sliceInOriginal for slices); only the resampling is Qt's smooth scaling instead of Pillow's bicubic,
// and a slice is cropped from the original before resizing (a fraction of the cost for huge images). Returns a
// null image for a null `rgb`, an empty plan or an index the plan does not have; never throws.
QImage quickModelInput(const QImage &rgb, const SlicePlan &plan, int index, RgbColour padColour);

// LLaVA-1.5's expand2square: the image centred on a square of its longer side filled with `colour`
// (offset (long-short)//2, as PIL's paste in the reference). Returns the image unchanged if it is square.
QImage padToSquare(const QImage &rgb, RgbColour colour);

} // namespace uhdlens
