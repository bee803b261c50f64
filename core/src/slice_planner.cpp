#include "uhdlens/slice_planner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace uhdlens {

namespace {

constexpr int kMaxSide = 100000;

int clampToInt(double v)
{
    if (!(v >= 0.0)) // also catches NaN
        return 0;
    if (v > static_cast<double>(std::numeric_limits<int>::max() / 2))
        return std::numeric_limits<int>::max() / 2;
    return static_cast<int>(v); // trunc toward zero, as Python's int()
}

} // namespace

// ---------------------------------------------------------------------------------------------- policies

SlicePolicy SlicePolicy::minicpmv()
{
    // MiniCPM-V 2.0 config.json: scale_resolution 448, patch_size 14, max_slice_nums 9; ensure_divide uses round().
    return SlicePolicy{PolicyKind::MiniCpmV, 448, 14, 9, false, Rounding::HalfToEven};
}

SlicePolicy SlicePolicy::llavaUhd()
{
    // LLaVA-UHD ECCV release: every call site passes max_slice_nums=7, scale_resolution=336, patch_size=14,
    // and its ensure_divide floors.
    return SlicePolicy{PolicyKind::LlavaUhd, 336, 14, 7, false, Rounding::Floor};
}

SlicePolicy SlicePolicy::llava15()
{
    // LLaVA-1.5: pad to a square with the encoder's mean colour (expand2square), resize to 336x336, 24x24 patches.
    return SlicePolicy{PolicyKind::Llava15, 336, 14, 1, true, Rounding::HalfToEven};
}

std::optional<SlicePolicy> SlicePolicy::fromName(std::string_view name)
{
    if (name == "minicpmv" || name == "minicpm-v")
        return minicpmv();
    if (name == "llava-uhd" || name == "llava_uhd")
        return llavaUhd();
    if (name == "llava15" || name == "llava-1.5")
        return llava15();
    return std::nullopt;
}

std::vector<std::string> SlicePolicy::names() { return {"minicpmv", "llava-uhd", "llava15"}; }

std::string SlicePolicy::name() const
{
    switch (kind) {
    case PolicyKind::MiniCpmV: return "minicpmv";
    case PolicyKind::LlavaUhd: return "llava-uhd";
    case PolicyKind::Llava15: return "llava15";
    }
    return "minicpmv";
}

TokenLayout SlicePolicy::defaultLayout() const
{
    switch (kind) {
    case PolicyKind::MiniCpmV: return TokenLayout::MiniCpmV2;
    case PolicyKind::LlavaUhd: return TokenLayout::LlavaUhdRelease;
    case PolicyKind::Llava15: return TokenLayout::Llava15;
    }
    return TokenLayout::MiniCpmV2;
}

std::string SlicePolicy::validate() const
{
    if (patch < 1 || patch > 1024)
        return "patch size must be between 1 and 1024 (got " + std::to_string(patch) + ")";
    if (scale < patch || scale > 8192)
        return "scale must be between the patch size and 8192 (got " + std::to_string(scale) + ")";
    if (maxSlices < 1 || maxSlices > 64)
        return "max slices must be between 1 and 64 (got " + std::to_string(maxSlices) + ")";
    return {};
}

std::string validateSize(Size size)
{
    if (size.width < 1 || size.height < 1)
        return "image size " + std::to_string(size.width) + "x" + std::to_string(size.height) + " is empty";
    if (size.width > kMaxSide || size.height > kMaxSide)
        return "image size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
               " exceeds the supported " + std::to_string(kMaxSide) + " pixels per side";
    return {};
}

// ---------------------------------------------------------------------------------------------- helpers

namespace detail {

int ensureDivide(double length, int patch, Rounding rounding)
{
    // ensure_divide(L, p) = max(round(L / p) * p, p). MiniCPM-V rounds half to even (Python 3 round(), so
    // std::nearbyint under the default FE_TONEAREST mode — not std::round, which rounds half away from zero);
    // LLaVA-UHD ECCV floors.
    const double q = length / static_cast<double>(patch);
    const double snapped = rounding == Rounding::HalfToEven ? std::nearbyint(q) : std::floor(q);
    const int units = clampToInt(snapped);
    const std::int64_t value = static_cast<std::int64_t>(units) * patch;
    return static_cast<int>(std::max<std::int64_t>(value, patch));
}

Size bestResize(double width, double height, int scale, int patch, bool allowUpscale, Rounding rounding)
{
    // find_best_resize: keep the aspect ratio, make the area ~scale^2. The reference truncates the height first
    // and multiplies the *truncated* height by the ratio; both through Python int() (toward zero).
    const double s = static_cast<double>(scale);
    if (width * height > s * s || allowUpscale) {
        const double r = width / height;
        const int h = clampToInt(s / std::sqrt(r));
        const int w = clampToInt(static_cast<double>(h) * r);
        width = w;
        height = h;
    }
    return {ensureDivide(width, patch, rounding), ensureDivide(height, patch, rounding)};
}

std::vector<Grid> candidateGrids(int multiple, int maxSlices)
{
    // Slice counts multiple-1, multiple, multiple+1 in this order, skipping 1 and anything above the cap;
    // within a count, cols ascending. 0 may appear and contributes no grid, exactly like the reference loop.
    std::vector<Grid> grids;
    for (int k : {multiple - 1, multiple, multiple + 1}) {
        if (k == 1 || k > maxSlices)
            continue;
        for (int m = 1; m <= k; ++m)
            if (k % m == 0)
                grids.push_back({m, k / m});
    }
    return grids;
}

} // namespace detail

// ---------------------------------------------------------------------------------------------- plan

namespace {

EncodedImage encoded(Size s, int patch) { return {s, s.width / patch, s.height / patch}; }

} // namespace

SlicePlan planSlices(Size size, const SlicePolicy &policy)
{
    SlicePlan plan;
    plan.input = size;
    plan.policy = policy;
    if (!validateSize(size).empty() || !policy.validate().empty())
        return plan;

    const int S = policy.scale;
    const int P = policy.patch;

    if (policy.kind == PolicyKind::Llava15) {
        plan.padToSquare = true;
        const int side = std::max(P, (S / P) * P);
        plan.overview = {side, side};
        return plan;
    }

    const double W = size.width;
    const double H = size.height;
    // All float64, as CPython: W*H is exact (< 2^53), the divisions correctly rounded, log from the same libm.
    const double logRatio = std::log(W / H);
    const double ratio = (W * H) / (static_cast<double>(S) * static_cast<double>(S));
    const int multiple = std::min(clampToInt(std::ceil(ratio)), policy.maxSlices);

    if (multiple <= 1 || policy.neverSplit) {
        // Not sliced: the whole image is resized, small images *up*-scaled, to area ~S^2.
        plan.overview = detail::bestResize(W, H, S, P, /*allowUpscale=*/true, policy.rounding);
        return plan;
    }

    Grid best{1, 1};
    double minError = std::numeric_limits<double>::infinity();
    for (const Grid &g : detail::candidateGrids(multiple, policy.maxSlices)) {
        const double error = std::fabs(logRatio - std::log(static_cast<double>(g.cols) / g.rows));
        if (error < minError) { // strict: the first candidate wins exact float64 ties (spec §1.5)
            best = g;
            minError = error;
        }
    }

    plan.grid = best;
    plan.overview = detail::bestResize(W, H, S, P, /*allowUpscale=*/false, policy.rounding);

    // get_refine_size: snap the image to a multiple of the grid, size one cell like a small image, tile it.
    const int refineW = detail::ensureDivide(W, best.cols, policy.rounding);
    const int refineH = detail::ensureDivide(H, best.rows, policy.rounding);
    const double cellW = static_cast<double>(refineW) / best.cols;
    const double cellH = static_cast<double>(refineH) / best.rows;
    const Size cell = detail::bestResize(cellW, cellH, S, P, /*allowUpscale=*/true, policy.rounding);
    plan.slice = cell;
    plan.refine = Size{cell.width * best.cols, cell.height * best.rows};
    plan.slices.reserve(static_cast<size_t>(best.count()));
    for (int r = 0; r < best.rows; ++r)
        for (int c = 0; c < best.cols; ++c)
            plan.slices.push_back({c * cell.width, r * cell.height, cell.width, cell.height});
    return plan;
}

std::vector<EncodedImage> SlicePlan::encodedImages() const
{
    std::vector<EncodedImage> out;
    if (overview.width == 0)
        return out;
    out.push_back(overviewImage());
    if (auto s = sliceImage())
        out.insert(out.end(), slices.size(), *s);
    return out;
}

EncodedImage SlicePlan::overviewImage() const { return encoded(overview, policy.patch); }

std::optional<EncodedImage> SlicePlan::sliceImage() const
{
    if (!slice)
        return std::nullopt;
    return encoded(*slice, policy.patch);
}

int SlicePlan::totalPatches() const
{
    int total = 0;
    for (const auto &e : encodedImages())
        total += e.patches();
    return total;
}

Rect SlicePlan::sliceInOriginal(int index) const
{
    if (!refine || index < 0 || index >= sliceCount())
        return {0, 0, input.width, input.height};
    const Rect &r = slices[static_cast<size_t>(index)];
    const double sx = static_cast<double>(input.width) / refine->width;
    const double sy = static_cast<double>(input.height) / refine->height;
    // Map both edges with the same rounding so that neighbouring slices share an edge exactly.
    const int x0 = static_cast<int>(std::lround(r.x * sx));
    const int x1 = static_cast<int>(std::lround((r.x + r.width) * sx));
    const int y0 = static_cast<int>(std::lround(r.y * sy));
    const int y1 = static_cast<int>(std::lround((r.y + r.height) * sy));
    return {x0, y0, x1 - x0, y1 - y0};
}

double SlicePlan::downscaleFactor() const
{
    if (overview.width == 0)
        return 1.0;
    if (padToSquare) {
        const double side = std::max(input.width, input.height);
        return side / overview.width;
    }
    const Size target = refine ? *refine : overview;
    return std::max(static_cast<double>(input.width) / target.width,
                    static_cast<double>(input.height) / target.height);
}

// ---------------------------------------------------------------------------------------------- layouts

std::string layoutName(TokenLayout layout)
{
    switch (layout) {
    case TokenLayout::MiniCpmV2: return "minicpmv2";
    case TokenLayout::LlavaUhdRelease: return "llava-uhd-release";
    case TokenLayout::LlavaUhdPaper: return "llava-uhd-paper";
    case TokenLayout::Llava15: return "llava15";
    case TokenLayout::MiniCpmV26: return "minicpmv26";
    }
    return "minicpmv2";
}

std::optional<TokenLayout> layoutFromName(std::string_view name)
{
    for (TokenLayout l : {TokenLayout::MiniCpmV2, TokenLayout::LlavaUhdRelease, TokenLayout::LlavaUhdPaper,
                          TokenLayout::Llava15, TokenLayout::MiniCpmV26})
        if (layoutName(l) == name)
            return l;
    return std::nullopt;
}

} // namespace uhdlens
