// Labels of training's auxiliary losses (labels.h): what each box, patch and crop of a plan's views shows,
// from the generator's log of what it drew. No torch: plain geometry over the slice plan.
#include "uhdlens/lab/labels.h"

#include "uhdlens/errors.h"
#include "uhdlens/tokenizer.h"

#include <QRect>

#include <algorithm>
#include <cmath>

namespace uhdlens {

namespace {

// What each encoded image of a plan shows: its rectangle in the original image, its size at model input and
// the original -> model-input scale (0 = the overview, then the slices row-major, as the prompt indexes
// them).
struct View
{
    double x, y, w, h, scale;
    int inputWidth, inputHeight;
};

std::vector<View> planViews(const SlicePlan &plan)
{
    std::vector<View> views;
    const double W = plan.input.width, H = plan.input.height;
    views.push_back({0, 0, W, H, plan.overview.width / W, plan.overview.width, plan.overview.height});
    for (int i = 0; i < plan.sliceCount(); ++i) {
        const Rect r = plan.sliceInOriginal(i);
        views.push_back({double(r.x), double(r.y), double(r.width), double(r.height),
                         plan.slice->width / std::max(1.0, double(r.width)), plan.slice->width,
                         plan.slice->height});
    }
    return views;
}

} // namespace

const std::string &glyphAlphabet()
{
    static const std::string alphabet = [] {
        std::string a;
        for (char c = '!'; c <= '~'; ++c)
            a.push_back(c);
        return a;
    }();
    return alphabet;
}

std::vector<std::vector<int>> glyphLabels(const synth::Sample &sample, const SlicePlan &plan, int patch,
                                          double minPixels, std::vector<std::vector<float>> *heights)
{
    if (heights)
        heights->clear();
    if (patch < 1 || plan.encodedImages().empty() || plan.padToSquare)
        return {};
    const std::string &alphabet = glyphAlphabet();
    const std::vector<View> views = planViews(plan);
    std::vector<std::vector<int>> out;
    for (const View &view : views) {
        const int cols = view.inputWidth / patch, rows = view.inputHeight / patch;
        std::vector<int> labels(static_cast<std::size_t>(std::max(0, rows * cols)), 0);
        std::vector<double> best(labels.size(), 0.0);
        for (const synth::TextItem &t : sample.texts) {
            if (t.pixelSize * view.scale < minPixels || t.charEnds.size() != t.text.size() || t.text.empty())
                continue;
            // Every patch whose centre lies on the text's line box gets the character drawn there: a large
            // letter labels all the patches it covers, and where small letters share a patch, the one at its
            // centre names it — the same question for every patch, so neighbouring labels never contradict.
            const double x0 = (t.x - view.x) * view.scale,
                         x1 = (t.x + t.charEnds.back() - view.x) * view.scale;
            const double y0 = (t.y - view.y) * view.scale, y1 = (t.y + t.height - view.y) * view.scale;
            const int r0 = std::max(0, static_cast<int>(std::ceil(y0 / patch - 0.5)));
            const int r1 = std::min(rows - 1, static_cast<int>(std::ceil(y1 / patch - 0.5)) - 1);
            const int c0 = std::max(0, static_cast<int>(std::ceil(x0 / patch - 0.5)));
            const int c1 = std::min(cols - 1, static_cast<int>(std::ceil(x1 / patch - 0.5)) - 1);
            for (int c = c0; c <= c1; ++c) {
                // The patch centre, back in the text's own coordinates: which character's advance holds it.
                const double u = ((c + 0.5) * patch) / view.scale + view.x - t.x;
                const auto it = std::upper_bound(t.charEnds.begin(), t.charEnds.end(), static_cast<float>(u));
                if (it == t.charEnds.end())
                    continue;
                const std::size_t k =
                    alphabet.find(t.text[static_cast<std::size_t>(it - t.charEnds.begin())]);
                for (int r = r0; r <= r1; ++r) {
                    const auto q = static_cast<std::size_t>(r * cols + c);
                    if (t.pixelSize <= best[q])
                        continue;
                    best[q] = t.pixelSize;
                    labels[q] = k == std::string::npos ? 0 : static_cast<int>(k) + 1; // a space: "none"
                }
            }
        }
        if (heights) {
            auto &h = heights->emplace_back(labels.size(), 0.0f);
            for (std::size_t q = 0; q < labels.size(); ++q)
                h[q] = labels[q] ? static_cast<float>(best[q] * view.scale) : 0.0f;
        }
        out.push_back(std::move(labels));
    }
    return out;
}

WarmupCrop warmupCrop(const synth::Sample &sample, const Rect &region, int side, const SlicePolicy &policy)
{
    QRect r = QRect(region.x, region.y, region.width, region.height).intersected(sample.image.rect());
    if (side < 1 || r.isEmpty())
        throw Error(ErrorCode::InvalidArgument,
                    "a warm-up crop needs a region inside the image and a side >= 1", "region");
    if (r.width() != r.height()) { // one scale for both axes: keep the centred square
        const int s = std::min(r.width(), r.height());
        r = QRect(r.x() + (r.width() - s) / 2, r.y() + (r.height() - s) / 2, s, s);
    }
    WarmupCrop c;
    c.sample.family = sample.family;
    c.sample.split = sample.split;
    c.sample.seed = sample.seed;
    c.sample.image = sample.image.copy(r);
    for (const synth::TextItem &t : sample.texts) {
        if (!QRect(t.x, t.y, t.width, t.height).intersects(r))
            continue;
        synth::TextItem moved = t; // charEnds are relative to x: they move with it
        moved.x -= r.x();
        moved.y -= r.y();
        c.sample.texts.push_back(std::move(moved));
    }
    c.plan.input = {r.width(), r.height()};
    c.plan.policy = policy;
    c.plan.overview = {side, side};
    return c;
}

Rect warmupRegion(const synth::Sample &sample, int side, double zoom, double minPixels, std::uint64_t pick)
{
    const int w = sample.image.width(), h = sample.image.height();
    if (w < 1 || h < 1 || side < 1 || !(zoom > 0))
        return {};
    const int s = std::clamp(static_cast<int>(std::lround(side * zoom)), 1, std::min(w, h));
    std::uint64_t state = pick;
    auto uniform = [&state] { // SplitMix64 -> [0, 1)
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
    };
    // The region shrinks by s / side: text must be minPixels high after that.
    const double scale = static_cast<double>(side) / s;
    std::vector<const synth::TextItem *> legible;
    for (const synth::TextItem &t : sample.texts)
        if (t.pixelSize * scale >= minPixels && t.width > 0 && t.height > 0)
            legible.push_back(&t);
    double cx = uniform() * w, cy = uniform() * h;
    if (!legible.empty()) {
        const synth::TextItem &t =
            *legible[std::min(legible.size() - 1, static_cast<std::size_t>(uniform() * legible.size()))];
        cx = t.x + uniform() * t.width;
        cy = t.y + 0.5 * t.height;
    }
    // The point lands anywhere inside the square (not always its centre), then the square moves inside the
    // image.
    const int x = std::clamp(static_cast<int>(std::lround(cx - uniform() * s)), 0, w - s);
    const int y = std::clamp(static_cast<int>(std::lround(cy - uniform() * s)), 0, h - s);
    return {x, y, s, s};
}

int64_t namingPiece(const Tokenizer &tok, const std::string &label)
{
    for (const int64_t id : tok.encode(label))
        if (tok.idToPiece(id) != "\u2581")
            return id;
    return kIgnoredLabel;
}

std::vector<std::vector<std::string>> regionLabels(const synth::Sample &sample, const SlicePlan &plan,
                                                   int grid, double minPixels)
{
    if (grid < 1 || plan.encodedImages().empty())
        return {};
    if (plan.padToSquare) // the padded square is not a crop of the image: its boxes have no plain geometry
        return {};
    const std::vector<View> views = planViews(plan);
    struct Item
    {
        std::string label;
        double cx, cy, size;
    };
    std::vector<Item> items;
    for (const synth::TextItem &t : sample.texts) {
        // Runs hold several words ("File Edit"); each word is placed at the centre of its share of the run's
        // width, in proportion to characters (the run's box is logged, single words' are not).
        const double chars = static_cast<double>(std::max<std::size_t>(1, t.text.size()));
        for (std::size_t i = 0; i < t.text.size();) {
            while (i < t.text.size() && t.text[i] == ' ')
                ++i;
            const std::size_t start = i;
            while (i < t.text.size() && t.text[i] != ' ')
                ++i;
            if (i > start)
                items.push_back({t.text.substr(start, i - start),
                                 t.x + t.width * (static_cast<double>(start + i) / 2.0) / chars,
                                 t.y + t.height / 2.0, t.pixelSize});
        }
    }
    for (const synth::TextItem &shape : sample.shapes)
        items.push_back(
            {shape.text, shape.x + shape.width / 2.0, shape.y + shape.height / 2.0, shape.pixelSize});

    const auto cells = static_cast<std::size_t>(grid) * static_cast<std::size_t>(grid);
    std::vector<std::vector<std::string>> out(views.size(), std::vector<std::string>(cells));
    for (std::size_t v = 0; v < views.size(); ++v) {
        const View &view = views[v];
        std::vector<double> best(cells, 0.0);
        for (const Item &it : items) {
            if (it.size * view.scale < minPixels || it.cx < view.x || it.cy < view.y ||
                it.cx >= view.x + view.w || it.cy >= view.y + view.h)
                continue;
            // The G×G boxes split the view evenly (spatialBoxes: feature-cell boxes of size h/G × w/G).
            const int c = std::min(grid - 1, static_cast<int>((it.cx - view.x) * grid / view.w));
            const int r = std::min(grid - 1, static_cast<int>((it.cy - view.y) * grid / view.h));
            const auto q = static_cast<std::size_t>(r * grid + c);
            if (it.size > best[q]) {
                best[q] = it.size;
                out[v][q] = it.label;
            }
        }
    }
    return out;
}

std::vector<std::vector<int>> answerBoxes(const synth::QA &qa, const SlicePlan &plan, int grid)
{
    if (grid < 1 || plan.encodedImages().empty() || plan.padToSquare)
        return {};
    const std::vector<View> views = planViews(plan);
    std::vector<std::vector<int>> out(views.size());
    if (qa.task == synth::Task::CountShapes || qa.width <= 0 || qa.height <= 0)
        return out;
    const double x0 = qa.x, y0 = qa.y, x1 = qa.x + qa.width, y1 = qa.y + qa.height;
    for (std::size_t v = 0; v < views.size(); ++v) {
        const View &view = views[v];
        // The G×G boxes split the view evenly, as regionLabels counts them: box (r, c) spans
        // [view.x + c·w/G, view.x + (c+1)·w/G) across. Any overlap of positive area counts.
        for (int r = 0; r < grid; ++r) {
            const double by0 = view.y + r * view.h / grid, by1 = view.y + (r + 1) * view.h / grid;
            if (std::min(y1, by1) - std::max(y0, by0) <= 0)
                continue;
            for (int c = 0; c < grid; ++c) {
                const double bx0 = view.x + c * view.w / grid, bx1 = view.x + (c + 1) * view.w / grid;
                if (std::min(x1, bx1) - std::max(x0, bx0) > 0)
                    out[v].push_back(r * grid + c);
            }
        }
    }
    return out;
}

} // namespace uhdlens
