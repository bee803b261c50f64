// UHD Lens — slice planner (pure geometry; no pixels, no I/O, no torch).
//
// Usage:
//     auto policy = uhdlens::SlicePolicy::fromName("minicpmv");      // or SlicePolicy::minicpmv()
//     uhdlens::SlicePlan plan = uhdlens::planSlices({1920, 1080}, *policy);
//     // plan.grid -> 4 cols x 2 rows, plan.slices -> 8 rects of 420x476 in refined-image coordinates
//     int tokens = uhdlens::imagePositions(plan, uhdlens::TokenLayout::MiniCpmV2);   // uhdlens/model_facts.h
//
// The algorithm reproduces the official Python slicers bit for bit (spec §1): MiniCPM-V 2.0's `slice_image`
// (policy "minicpmv") and LLaVA-UHD ECCV's `slice_image_minicpm` (policy "llava-uhd"), plus the LLaVA-1.5
// baseline (pad to square, one 336x336 view). Every function here is pure, thread-safe and never throws on
// any size from 1x1 to 100000x100000; invalid policies/sizes are reported through `validate()`.
#pragma once

#include "uhdlens/geometry.h" // Size, Rect

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhdlens {

struct Grid
{
    int cols = 0; // slices along x
    int rows = 0; // slices along y
    int count() const { return cols * rows; }
    friend bool operator==(const Grid &, const Grid &) = default;
};

enum class PolicyKind { MiniCpmV, LlavaUhd, Llava15 };

// How a length is snapped to a multiple of the patch size (`ensure_divide` in the references).
enum class Rounding {
    HalfToEven, // MiniCPM-V: Python 3 round() — banker's rounding
    Floor,      // LLaVA-UHD ECCV: math.floor
};

// How visual tokens are laid out for the language model; decides the token count of a plan.
enum class TokenLayout {
    MiniCpmV2,       // <image> 64x<unk> </image> per image, <slice>...</slice> around the rows (spec §4.3)
    LlavaUhdRelease, // 144 per image, "," between slices of a row, "\n" after each row, overview last (§4.1)
    LlavaUhdPaper,   // 64 per image with the same "," / "\n" schema (§4.2, the paper's description)
    Llava15,         // 576 tokens for one 336x336 view
    // MiniCPM-V 2.6 (§4.4): <image_id>N</image_id> <image> 64x<unk> </image>, then rows joined by "\n", each
    // row cols x (<slice> 64x<unk> </slice>); no outer wrapper. Same slicing policy as MiniCpmV2.
    MiniCpmV26,
};

struct SlicePolicy
{
    PolicyKind kind = PolicyKind::MiniCpmV;
    int scale = 448;    // pre-training resolution S of the encoder: slices have area ~S^2
    int patch = 14;     // ViT patch size P: every encoded side is a multiple of it
    int maxSlices = 9;  // upper bound on the slice count M
    bool neverSplit = false;
    Rounding rounding = Rounding::HalfToEven;

    static SlicePolicy minicpmv();
    static SlicePolicy llavaUhd();
    static SlicePolicy llava15();
    // "minicpmv", "llava-uhd" (alias "llava_uhd"), "llava15" (alias "llava-1.5"); nullopt for anything else.
    static std::optional<SlicePolicy> fromName(std::string_view name);
    static std::vector<std::string> names();

    std::string name() const;
    TokenLayout defaultLayout() const;
    // Empty if the policy is usable, else a human-readable reason (e.g. "patch must be between 1 and 1024").
    std::string validate() const;
};

// One image the vision encoder receives (the overview or a slice), at model input resolution.
struct EncodedImage
{
    Size size;
    int patchCols = 0;
    int patchRows = 0;
    int patches() const { return patchCols * patchRows; }
};

struct SlicePlan
{
    Size input;                    // the original image (after EXIF orientation)
    SlicePolicy policy;
    std::optional<Grid> grid;      // nullopt: not sliced, the overview is the only encoded image
    Size overview;                 // overview ("source image") size at model input
    bool padToSquare = false;      // llava15: padded to a square first (LLaVA-1.5 pads with the encoder's mean colour)
    std::optional<Size> refine;    // the whole image is resized to this before being cut (sliced plans only)
    std::optional<Size> slice;     // the common size of every slice (sliced plans only)
    std::vector<Rect> slices;      // row-major (rows outer), in refined-image coordinates

    int sliceCount() const { return static_cast<int>(slices.size()); }
    // Overview first, then slices row-major — the order MiniCPM-V encodes them.
    std::vector<EncodedImage> encodedImages() const;
    EncodedImage overviewImage() const;
    std::optional<EncodedImage> sliceImage() const;
    int totalPatches() const;
    // The rectangle of slice `index` mapped back to original-image coordinates (for drawing over the image).
    // Uses the exact refine->original scale, then rounds outward-consistently so neighbours share edges.
    Rect sliceInOriginal(int index) const;
    // Linear downscale factor from the original to what the encoder sees (>= 1 means shrunk):
    // the worse of the two axes for sliced plans, of the overview otherwise.
    double downscaleFactor() const;
};

// Roughly the smallest text (font pixel size, as the encoder receives it) that a ViT with 14-px patches still
// reads: the app's plan panel warns below it, and `uhdlens-cli eval` counts the questions whose text the plan
// shrinks under it in every view. Text of original height h reaches the encoder at h /
// SlicePlan::downscaleFactor().
inline constexpr double kLegibleViewPixels = 6.0;

// Plans how an image of `size` is cut. Returns a plan with no encoded images (overview {0,0}) only when the size
// or the policy is invalid; callers should check `validate()`/`validateSize()` first to report why.
SlicePlan planSlices(Size size, const SlicePolicy &policy);

// Empty if the image size can be planned (1..100000 per side), else a reason.
std::string validateSize(Size size);

// What a plan costs in the language model's context is the prompt builder's answer, not the planner's:
// imagePositions() in uhdlens/model_facts.h, Model::imagePositions() in uhdlens/engine.h.
std::string layoutName(TokenLayout layout);
std::optional<TokenLayout> layoutFromName(std::string_view name);

// Exact helpers of the reference code, exposed for tests.
namespace detail {
int ensureDivide(double length, int patch, Rounding rounding);
Size bestResize(double width, double height, int scale, int patch, bool allowUpscale, Rounding rounding);
std::vector<Grid> candidateGrids(int multiple, int maxSlices);
} // namespace detail

} // namespace uhdlens
