// Training loop of the bundled model (see uhdlens/training.h). Same modules as inference: the model comes from
// createFamilyModel, pixels from preprocessPlan, prompts from the family's buildPrompt, logits from forwardAll.
#include "uhdlens/training.h"

#include "model_family.h"
#include "nn/layers.h"
#include "preprocess.h"
#include "safetensors.h"
#include "tokenizer.h"

#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/synthdata.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <thread>

namespace uhdlens {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
constexpr int64_t kIgnore = -100;
constexpr const char *kTrainOnlyPrefix = "train_only.";

// ---- configuration ------------------------------------------------------------------------------------------

// Sizes of the two presets. "tiny" is what ships: sized so 2 CPU cores train it from scratch in <= 2 h: a
// 4-layer 128-wide ViT at 224 px pre-training resolution (16x16 = 256 patches per view, which the shared
// 64-query resampler compresses 4:1, as the paper's resampler compresses CLIP's 576 patches), up to 9 slices,
// a 3-layer 192-wide LLaMA decoder, 1024-piece vocabulary; ~2.8 M parameters, ~5.6 MB in bf16. Measured on
// an idle 2-core machine (f32): 3.2 images/s. The first version used 112-px views (8x8 patches, 5.8 images/s):
// with at most 6 of them, only 69% of held-out reading questions about >= 10 px text kept >= 7 px after the
// planner's downscale, against 94% with 9 slices of 224 px, so small text was unreadable by construction.
// A 192/256-wide 6+4-layer variant trained at only 0.4 images/s. "micro" only has to show the loss falling
// within a minute for CI.
struct PresetSizes
{
    int scale;
    int maxSlices;
    int visionHidden, visionLayers, visionHeads, visionMlp;
    int hidden, layers, heads, kvHeads, mlp;
    int vocab;
    int context;
};

PresetSizes presetSizes(const std::string &preset)
{
    if (preset == "tiny")
        return {224, 9, 128, 4, 4, 512, 192, 3, 6, 3, 576, 1024, 1024};
    if (preset == "micro")
        return {56, 4, 48, 1, 2, 96, 64, 1, 2, 2, 128, 512, 512};
    throw Error(ErrorCode::InvalidArgument, "unknown training preset '" + preset + "' (tiny or micro)", "preset");
}

// Writes a key only where the family's tiny config has it, so a renamed key fails loudly instead of silently.
void setKey(json &cfg, const std::string &path, const json &value)
{
    json *node = &cfg;
    std::stringstream ss(path);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ss, part, '.'))
        parts.push_back(part);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        if (!node->contains(parts[i]))
            throw Error(ErrorCode::ConfigInvalid, "uhd-paper tiny config has no key '" + path + "'", path);
        node = &(*node)[parts[i]];
    }
    if (!node->contains(parts.back()))
        throw Error(ErrorCode::ConfigInvalid, "uhd-paper tiny config has no key '" + path + "'", path);
    (*node)[parts.back()] = value;
}

json buildConfig(const std::string &preset, const std::string &policy, int maxSlices,
                 const std::string &attention, const std::string &patchEmbed)
{
    if (attention != "global" && attention != "spatial")
        throw Error(ErrorCode::InvalidArgument, "resampler attention must be global or spatial, not '" + attention + "'",
                    "resampler");
    if (patchEmbed != "linear" && patchEmbed != "conv")
        throw Error(ErrorCode::InvalidArgument,
                    "patch embedding must be linear or conv, not '" + patchEmbed + "'", "patch_embed");
    const PresetSizes s = presetSizes(preset);
    if (policy != "llava-uhd" && policy != "minicpmv" && policy != "llava15")
        throw Error(ErrorCode::InvalidArgument,
                    "training policy must be llava-uhd, minicpmv or llava15, not '" + policy + "'", "policy");
    json cfg = tinyConfig(Family::UhdPaper);
    setKey(cfg, "vision_config.image_size", s.scale);
    setKey(cfg, "vision_config.hidden_size", s.visionHidden);
    setKey(cfg, "vision_config.num_hidden_layers", s.visionLayers);
    setKey(cfg, "vision_config.num_attention_heads", s.visionHeads);
    setKey(cfg, "vision_config.intermediate_size", s.visionMlp);
    setKey(cfg, "text_config.hidden_size", s.hidden);
    setKey(cfg, "text_config.num_hidden_layers", s.layers);
    setKey(cfg, "text_config.num_attention_heads", s.heads);
    setKey(cfg, "text_config.num_key_value_heads", s.kvHeads);
    setKey(cfg, "text_config.intermediate_size", s.mlp);
    setKey(cfg, "text_config.vocab_size", s.vocab);
    setKey(cfg, "text_config.max_position_embeddings", s.context);
    setKey(cfg, "resampler_num_heads", std::max(1, s.hidden / 64));
    setKey(cfg, "scale_resolution", s.scale);
    // "global": the arXiv paper's resampler (every query sees every patch; the shipped model). "spatial": the ECCV
    // version's box-local attention, which gives every token its own region from step one (with global attention
    // the 64 queries start as near-identical averages of the slice). Baseline and UHD model share the choice.
    setKey(cfg, "resampler_attention", attention);
    // "conv": a convolutional stem before the ViT (uhd_paper.cpp), written only when asked for, so the
    // shipped configs stay what they were. Always with GroupNorm: without it the stem's output starts ~30x
    // smaller than the patchify's (weights drawn at std 0.02) and letters are learned no faster than without
    // a stem (models README, runs H and I).
    if (patchEmbed != "linear") {
        cfg["vision_config"]["patch_embed"] = patchEmbed;
        cfg["vision_config"]["stem_norm"] = "group";
    }
    // The baseline (LLaVA-1.5 style, one low-resolution view): the same recipe with slicing off — the planner
    // then encodes only the overview, the whole image resized to ~scale^2 pixels (aspect kept), 64 tokens.
    if (policy == "llava15") {
        setKey(cfg, "slice_mode", "llava-uhd");
        setKey(cfg, "max_slice_nums", 1);
    } else {
        setKey(cfg, "slice_mode", policy);
        setKey(cfg, "max_slice_nums", maxSlices >= 1 ? maxSlices : s.maxSlices);
    }
    cfg.erase("uhdlens_tiny");
    cfg["torch_dtype"] = "bfloat16";
    cfg["_name_or_path"] = policy == "llava15" ? "uhd-lens-tiny-lowres" : "uhd-lens-tiny";
    return cfg;
}

// ---- data -----------------------------------------------------------------------------------------------------

struct Example
{
    torch::Tensor overview;          // [1, 3, H, W] normalised float32
    torch::Tensor slices;            // [N, 3, h, w] or undefined
    std::vector<int64_t> positions;  // prompt+answers, image slot j as -(1 + j) per visual position
    std::vector<int64_t> targets;    // next-token targets per position (kIgnore where unsupervised)
    std::vector<int64_t> regionTargets; // per position: what a visual token's box shows (kIgnore elsewhere)
    // Look loss: (position predicting an answer token, the visual positions whose boxes cover the place asked
    // about)
    std::vector<std::pair<int64_t, std::vector<int64_t>>> lookTargets;
    torch::Tensor glyphOverview; // [1, patches] glyph classes of the overview's patches (glyph loss only)
    torch::Tensor glyphSlices;   // [N, patches] the same for the slices, or undefined
    torch::Tensor glyphHeightsOverview,
        glyphHeightsSlices;          // labelled letters' size at model input (reporting)
    Prompt prompt;                   // the final prompt (for embedPrompt)
    std::vector<int64_t> answerIds;  // appended after the prompt
    int encodedImages = 0;
    int earlierTurns = 0;   // turns before the last one
    int supervisedEarlier = 0; // of those, found verbatim in the prompt and supervised
};

std::vector<int64_t> flatten(const Prompt &prompt, int tokensPerImage)
{
    std::vector<int64_t> out;
    for (const PromptSegment &s : prompt.segments) {
        if (s.imageIndex >= 0)
            out.insert(out.end(), tokensPerImage, -(1 + static_cast<int64_t>(s.imageIndex)));
        else
            out.insert(out.end(), s.ids.begin(), s.ids.end());
    }
    return out;
}

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
        throw Error(ErrorCode::InvalidArgument, "a warm-up crop needs a region inside the image and a side >= 1",
                    "region");
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
    // The point lands anywhere inside the square (not always its centre), then the square moves inside the image.
    const int x = std::clamp(static_cast<int>(std::lround(cx - uniform() * s)), 0, w - s);
    const int y = std::clamp(static_cast<int>(std::lround(cy - uniform() * s)), 0, h - s);
    return {x, y, s, s};
}

int64_t namingPiece(const Tokenizer &tok, const std::string &label)
{
    for (const int64_t id : tok.encode(label))
        if (tok.idToPiece(id) != "\u2581")
            return id;
    return kIgnore;
}

namespace {

// The side G of the resampler's G×G grid of query boxes (what region, token and look targets index), or 0 when
// the model's tokens per image are not a square (every preset's are).
int boxGrid(const VisionLanguageModel &model)
{
    const int tpi = model.tokensPerImage();
    const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(tpi))));
    return grid * grid == tpi ? grid : 0;
}

// Region/token targets of every box of every view (regionLabels), each label named by its namingPiece.
std::vector<std::vector<int64_t>> namingTargets(const Tokenizer &tok, const synth::Sample &sample,
                                                const SlicePlan &plan, int grid, double minPixels)
{
    std::vector<std::vector<int64_t>> out;
    std::map<std::string, int64_t> pieceOf{{"", kIgnore}}; // labels repeat across the views
    for (const auto &labels : regionLabels(sample, plan, grid, minPixels)) {
        auto &ids = out.emplace_back();
        for (const std::string &label : labels) {
            auto [it, fresh] = pieceOf.try_emplace(label, kIgnore);
            if (fresh)
                it->second = namingPiece(tok, label);
            ids.push_back(it->second);
        }
    }
    return out;
}

// Renders sample `index` of the stream and turns it into a training sequence of up to `turns` QA turns.
// Earlier turns are supervised only where the family's multi-turn prompt is an exact extension of the
// single-turn one followed by the answer tokens (checked, never assumed).
Example makeExample(const VisionLanguageModel &model, const Tokenizer &tok, const TrainOptions &o,
                    const synth::Options &dataOptions, std::uint64_t streamIndex, int64_t endId)
{
    // Sample seeds: a fixed bijection of (seed, index) into the Train split's range.
    const std::uint64_t seed = (o.seed * 0x9E3779B97F4A7C15ULL + streamIndex * 0xD1B54A32D192ED03ULL) % synth::kMaxSeed;
    auto render = [&](std::uint64_t s) {
        if (o.families.empty())
            return synth::generate(s, dataOptions);
        // A fixed subset: the family from the stream index, the pixels from the seed (validated names).
        const auto family = synth::familyFromName(o.families[streamIndex % o.families.size()]);
        return synth::generate(*family, s, dataOptions);
    };
    synth::Sample sample = render(seed);
    while (sample.qas.empty()) // a degenerate layout (everything clipped): take the next seed
        sample = render((seed + 1) % synth::kMaxSeed);

    const SlicePlan plan = planSlices({sample.image.width(), sample.image.height()}, model.policy());
    PreprocessOptions pre;
    pre.norm = model.pixelNorm();
    const PreparedImages px = prepareImages(sample.image, plan, pre); // float32: autocast picks bf16 per op
    Example ex;
    ex.encodedImages = static_cast<int>(px.count());
    ex.overview = px.overview;
    ex.slices = px.slices;

    // Shuffle the QAs deterministically and keep `turns` of them.
    std::vector<synth::QA> qas = sample.qas;
    std::uint64_t h = seed ^ 0x5bd1e995ULL;
    for (std::size_t i = qas.size(); i > 1; --i) {
        h = h * 6364136223846793005ULL + 1442695040888963407ULL;
        std::swap(qas[i - 1], qas[(h >> 33) % i]);
    }
    if (static_cast<int>(qas.size()) > o.turnsPerImage)
        qas.resize(o.turnsPerImage);
    // Dense reading turn first (an earlier turn: supervised where the prompt holds it verbatim, checked below).
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    if (o.readTextProbability > 0 && static_cast<double>(h >> 11) * 0x1.0p-53 < o.readTextProbability) {
        const std::string text = synth::readingOrderText(sample.texts, 1.0 / plan.downscaleFactor(),
                                                         o.readTextMinPixels, o.readTextWords);
        if (!text.empty()) {
            synth::QA read;
            read.question = synth::kReadTextQuestion;
            read.answer = text;
            qas.insert(qas.begin(), read);
        }
    }

    const int tpi = model.tokensPerImage();
    const int grid = boxGrid(model);
    std::vector<Turn> history;
    std::vector<std::pair<std::size_t, std::vector<int64_t>>> earlier; // (prompt length, answer ids)
    for (std::size_t k = 0; k + 1 < qas.size(); ++k) {
        const Prompt p = model.buildPrompt(plan, history, qas[k].question, tok);
        earlier.emplace_back(flatten(p, tpi).size(), tok.encode(qas[k].answer));
        history.push_back({qas[k].question, qas[k].answer});
    }
    ex.prompt = model.buildPrompt(plan, history, qas.back().question, tok);
    ex.answerIds = tok.encode(qas.back().answer);
    ex.positions = flatten(ex.prompt, tpi);
    const std::size_t promptLen = ex.positions.size();
    ex.positions.insert(ex.positions.end(), ex.answerIds.begin(), ex.answerIds.end());
    ex.targets.assign(ex.positions.size(), kIgnore);
    // Final turn: predict each answer token, then the end token at the last position.
    for (std::size_t t = 0; t < ex.answerIds.size(); ++t)
        ex.targets[promptLen + t - 1] = ex.answerIds[t];
    ex.targets[ex.positions.size() - 1] = endId;
    // Earlier turns, where the prompt really contains them verbatim.
    const auto &pos = ex.positions;
    // (where the answer's first token sits, its length, the question) of every supervised turn
    std::vector<std::tuple<std::size_t, std::size_t, const synth::QA *>> supervised{
        {promptLen, ex.answerIds.size(), &qas.back()}};
    for (std::size_t k = 0; k < earlier.size(); ++k) {
        const auto &[start, ids] = earlier[k];
        bool verbatim = start + ids.size() < promptLen;
        for (std::size_t t = 0; verbatim && t < ids.size(); ++t)
            verbatim = pos[start + t] == ids[t];
        ++ex.earlierTurns;
        if (!verbatim)
            continue;
        ++ex.supervisedEarlier;
        supervised.emplace_back(start, ids.size(), &qas[k]);
        for (std::size_t t = 0; t < ids.size(); ++t)
            ex.targets[start + t - 1] = ids[t];
        if (pos[start + ids.size()] == endId)
            ex.targets[start + ids.size() - 1] = endId;
    }
    if (o.lookLossWeight > 0 && grid > 0) {
        // Visual positions of each image, in order: box i of image j is the i-th position holding -(1 + j).
        std::vector<std::vector<int64_t>> at;
        for (std::size_t i = 0; i < promptLen; ++i)
            if (pos[i] < 0) {
                const auto image = static_cast<std::size_t>(-pos[i] - 1);
                if (at.size() <= image)
                    at.resize(image + 1);
                at[image].push_back(static_cast<int64_t>(i));
            }
        for (const auto &[start, length, qa] : supervised) {
            std::vector<int64_t> keys;
            const std::vector<std::vector<int>> boxes = answerBoxes(*qa, plan, grid);
            for (std::size_t image = 0; image < boxes.size() && image < at.size(); ++image)
                for (int box : boxes[image])
                    if (static_cast<std::size_t>(box) < at[image].size())
                        keys.push_back(at[image][static_cast<std::size_t>(box)]);
            if (keys.empty())
                continue;
            // Every position that predicts one of the answer's tokens looks there (the first one is predicted
            // from the prompt's last position).
            for (std::size_t t = 0; t < length; ++t)
                ex.lookTargets.emplace_back(static_cast<int64_t>(start + t) - 1, keys);
        }
    }
    if (o.glyphLossWeight > 0) {
        std::vector<std::vector<float>> heights;
        const std::vector<std::vector<int>> labels =
            glyphLabels(sample, plan, model.policy().patch, o.glyphMinPixels, &heights);
        auto rows = [](const auto &grids, std::size_t first, std::size_t count, torch::Dtype dtype) {
            using T = typename std::decay_t<decltype(grids)>::value_type::value_type;
            std::vector<T> flat;
            for (std::size_t i = first; i < first + count; ++i)
                flat.insert(flat.end(), grids[i].begin(), grids[i].end());
            return torch::tensor(flat).to(dtype).reshape({static_cast<int64_t>(count), -1});
        };
        if (static_cast<int64_t>(labels.size()) ==
            px.count()) { // one label grid per encoded image (a padded plan has none)
            ex.glyphOverview = rows(labels, 0, 1, torch::kLong);
            ex.glyphHeightsOverview = rows(heights, 0, 1, torch::kFloat32);
            if (labels.size() > 1) {
                ex.glyphSlices = rows(labels, 1, labels.size() - 1, torch::kLong);
                ex.glyphHeightsSlices = rows(heights, 1, labels.size() - 1, torch::kFloat32);
            }
        }
    }
    // Region targets need the resampler's queries to form a square grid of boxes (every preset's do).
    if ((o.regionLossWeight > 0 || o.tokenLossWeight > 0) && grid > 0) {
        const std::vector<std::vector<int64_t>> region = namingTargets(tok, sample, plan, grid, o.regionMinPixels);
        ex.regionTargets.assign(ex.positions.size(), kIgnore);
        std::vector<int64_t> seen(region.size(), 0); // visual positions of each image so far
        for (std::size_t i = 0; i < ex.positions.size(); ++i) {
            if (ex.positions[i] >= 0)
                continue;
            const auto image = static_cast<std::size_t>(-ex.positions[i] - 1);
            if (image < region.size())
                ex.regionTargets[i] = region[image][static_cast<std::size_t>(seen[image]++ % tpi)];
        }
    }
    return ex;
}

// Encoder warm-up example `index`: one crop (warmupRegion, warmupCrop) of a generated window or page, as
// pixels [1, 3, side, side] and glyph labels [1, patches] (Example's overview fields; no prompt). Each rendered
// image gives kWarmupCropsPerImage consecutive crops (rendering costs more than a crop's training step);
// `cache` keeps the last one.
constexpr std::uint64_t kWarmupCropsPerImage = 4;
Example makeWarmupExample(const VisionLanguageModel &model, const Tokenizer &tok, const TrainOptions &o,
                          const synth::Options &dataOptions, std::uint64_t streamIndex,
                          std::pair<std::uint64_t, synth::Sample> &cache)
{
    const std::uint64_t imageIndex = streamIndex / kWarmupCropsPerImage;
    // Another stream than the full recipe's (the same bijection, salted), so the two never share an image.
    const std::uint64_t seed =
        (o.seed * 0x9E3779B97F4A7C15ULL + imageIndex * 0xD1B54A32D192ED03ULL + 0x5EED0F3A11ULL) % synth::kMaxSeed;
    if (cache.second.image.isNull() || cache.first != imageIndex) {
        std::vector<synth::Family> families;
        for (const std::string &name : o.families)
            if (const auto f = synth::familyFromName(name); f && *f != synth::Family::Shapes)
                families.push_back(*f);
        if (families.empty())
            families = {synth::Family::Window, synth::Family::Document};
        cache = {imageIndex, synth::generate(families[imageIndex % families.size()], seed, dataOptions)};
    }
    const synth::Sample &sample = cache.second;
    const std::uint64_t pick = (seed ^ 0xC2B2AE3D27D4EB4FULL) * 0x9E3779B97F4A7C15ULL + streamIndex;
    // Zoom log-uniform in [1, 1.6]: letters at their drawn size and shrunk, as the planner shrinks large
    // images (never enlarged: the planner rarely does).
    const double zoom = std::exp(std::log(1.6) * static_cast<double>((pick * 0x2545F4914F6CDD1DULL) >> 11) *
                                 0x1.0p-53);
    const WarmupCrop crop = warmupCrop(sample, warmupRegion(sample, o.encoderWarmupCrop, zoom, o.glyphMinPixels, pick),
                                       o.encoderWarmupCrop, model.policy());
    PreprocessOptions pre;
    pre.norm = model.pixelNorm();
    Example ex;
    ex.overview = prepareImages(crop.sample.image, crop.plan, pre).overview;
    ex.encodedImages = 1;
    std::vector<std::vector<float>> heights;
    const std::vector<std::vector<int>> labels =
        glyphLabels(crop.sample, crop.plan, model.policy().patch, o.glyphMinPixels, &heights);
    if (labels.size() != 1)
        throw Error(ErrorCode::Internal, "a warm-up crop must be one view");
    ex.glyphOverview = torch::tensor(std::vector<int64_t>(labels[0].begin(), labels[0].end())).reshape({1, -1});
    ex.glyphHeightsOverview = torch::tensor(heights[0]).reshape({1, -1});
    // With the token naming loss on, the crop's visual tokens are also told what their boxes show.
    if (const int grid = boxGrid(model); o.tokenLossWeight > 0 && grid > 0) {
        std::vector<std::vector<int64_t>> region =
            namingTargets(tok, crop.sample, crop.plan, grid, o.regionMinPixels);
        if (region.size() != 1)
            throw Error(ErrorCode::Internal, "a warm-up crop must be one view");
        ex.regionTargets = std::move(region[0]);
    }
    return ex;
}

// Bounded queue filled by one worker thread, in stream order (so a run is reproducible and resumable).
class DataQueue
{
public:
    DataQueue(std::function<Example(std::uint64_t)> make, std::uint64_t first, std::size_t capacity)
        : m_make(std::move(make)), m_next(first), m_capacity(capacity)
    {
        m_thread = std::thread([this] { run(); });
    }
    ~DataQueue()
    {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    Example pop()
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_items.empty() || m_error; });
        if (m_items.empty())
            std::rethrow_exception(m_error);
        Example e = std::move(m_items.front());
        m_items.pop_front();
        m_cv.notify_all();
        return e;
    }

private:
    void run()
    {
        try {
            for (;;) {
                {
                    std::unique_lock<std::mutex> lock(m_mutex);
                    m_cv.wait(lock, [this] { return m_stop || m_items.size() < m_capacity; });
                    if (m_stop)
                        return;
                }
                Example e = m_make(m_next++);
                std::lock_guard<std::mutex> lock(m_mutex);
                m_items.push_back(std::move(e));
                m_cv.notify_all();
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_error = std::current_exception();
            m_cv.notify_all();
        }
    }

    std::function<Example(std::uint64_t)> m_make;
    std::uint64_t m_next;
    std::size_t m_capacity;
    std::deque<Example> m_items;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
    std::exception_ptr m_error;
    std::thread m_thread;
};

// ---- optimisation helpers -----------------------------------------------------------------------------------

double scheduleLr(const TrainOptions &o, int step, double timeFraction)
{
    if (step < o.warmupSteps)
        return o.lr * (step + 1) / o.warmupSteps;
    const double stepFraction = o.steps > o.warmupSteps
                                    ? static_cast<double>(step - o.warmupSteps) / (o.steps - o.warmupSteps)
                                    : 1.0;
    const double f = std::clamp(std::max(stepFraction, timeFraction), 0.0, 1.0);
    const double minLr = o.lr * o.minLrRatio;
    return minLr + 0.5 * (o.lr - minLr) * (1.0 + std::cos(M_PI * f));
}

// The glyph loss over patch logits [P, classes] and labels [P]: text and background patches weigh half each
// (most patches are background, and a plain mean first teaches the head to answer "none" everywhere).
torch::Tensor glyphObjective(const torch::Tensor &logits, const torch::Tensor &targets)
{
    const torch::Tensor perPatch = torch::nn::functional::cross_entropy(
        logits, targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    const torch::Tensor isText = (targets > 0).to(torch::kFloat32);
    return 0.5 * (perPatch * isText).sum() / isText.sum().clamp_min(1) +
           0.5 * (perPatch * (1 - isText)).sum() / (1 - isText).sum().clamp_min(1);
}

// The token naming loss: visual tokens [N, D] as the decoder receives them, read by its output head
// (readout), against targets [N] (kIgnore where a box names nothing): cross-entropy over the labelled ones.
// Adds to `tally` how many were labelled and how many the head names right. Undefined when none is labelled.
struct NamingTally
{
    double named = 0, right = 0;
    double accuracy() const { return named > 0 ? right / named : 0.0; }
};
torch::Tensor tokenNamingObjective(const VisionLanguageModel &model, const torch::Tensor &tokens,
                                   const torch::Tensor &targets, NamingTally &tally)
{
    const torch::Tensor at = (targets != kIgnore).nonzero().squeeze(1);
    if (at.numel() == 0)
        return {};
    const torch::Tensor read = model.readout(tokens.index_select(0, at)).to(torch::kFloat32);
    const torch::Tensor want = targets.index_select(0, at);
    tally.named += static_cast<double>(want.size(0));
    tally.right += (read.argmax(-1) == want).sum().item<double>();
    return torch::nn::functional::cross_entropy(read, want);
}

// The glyph head's accuracy on text patches, overall and on letters >= kGlyphLargePixels at model input.
struct GlyphTally
{
    double hits = 0, text = 0, hitsLarge = 0, large = 0;
    void add(const torch::Tensor &logits, const torch::Tensor &targets, const torch::Tensor &heights)
    {
        torch::NoGradGuard ng;
        const torch::Tensor isText = targets > 0, hit = logits.argmax(-1).eq(targets) & isText;
        const torch::Tensor isLarge = isText & (heights >= kGlyphLargePixels);
        text += isText.sum().item<double>();
        hits += hit.sum().item<double>();
        large += isLarge.sum().item<double>();
        hitsLarge += (hit & isLarge).sum().item<double>();
    }
    double accuracy() const { return text > 0 ? hits / text : 0.0; }
    double accuracyLarge() const { return large > 0 ? hitsLarge / large : 0.0; }
};

bool cpuHasBf16()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("flags", 0) == 0)
            return line.find("avx512_bf16") != std::string::npos;
    return false;
}

std::string paramKey(const torch::Tensor &t) { return c10::guts::to_string(t.unsafeGetTensorImpl()); }

// Checkpoint and log files through the one JSON/text file helper (uhdlens/json_file.h).
void writeText(const std::string &path, const std::string &text)
{
    writeTextFile(path, text);
}
json readJson(const std::string &path)
{
    return readJsonFile(path);
}

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The checkpoint holds the model's parameters and the training-only ones (the glyph head), with their
// moments.
void saveCheckpoint(const std::string &dir, const NamedTensors &params, torch::optim::AdamW &opt, int step,
                    const json &state)
{
    QDir().mkpath(QString::fromStdString(dir));
    saveSafeTensors(dir + "/model.safetensors", params);
    std::vector<std::pair<std::string, torch::Tensor>> moments;
    auto &st = opt.state();
    int64_t adamStep = 0;
    for (const auto &[name, t] : params) {
        auto it = st.find(paramKey(t));
        if (it == st.end())
            continue;
        auto &s = static_cast<torch::optim::AdamWParamState &>(*it->second);
        moments.emplace_back("exp_avg." + name, s.exp_avg());
        moments.emplace_back("exp_avg_sq." + name, s.exp_avg_sq());
        adamStep = s.step();
    }
    saveSafeTensors(dir + "/optimizer.safetensors", moments, {{"adam_step", std::to_string(adamStep)}});
    json s = state;
    s["step"] = step;
    writeText(dir + "/state.json", s.dump(2));
}

// Training-only tensors (prefix "train_only.") missing from an older checkpoint keep their fresh
// initialisation.
void loadCheckpoint(const std::string &dir, const NamedTensors &params, torch::optim::AdamW &opt)
{
    {
        torch::NoGradGuard ng;
        const Checkpoint ck = Checkpoint::open(dir + "/model.safetensors");
        for (const auto &[name, t] : params) {
            if (name.rfind(kTrainOnlyPrefix, 0) == 0 && !ck.contains(name))
                continue;
            const torch::Tensor src = ck.get(name);
            if (src.sizes() != t.sizes())
                throw Error(ErrorCode::TensorShapeMismatch,
                            "checkpoint tensor '" + name + "': expected " + shapeString(t.sizes().vec()) +
                                ", file has " + shapeString(src.sizes().vec()),
                            name);
            t.copy_(src); // copy, never adopt the read-only mapping: these weights are trained in place
        }
    }
    const Checkpoint ok = Checkpoint::open(dir + "/optimizer.safetensors");
    const auto meta = ok.metadata();
    const int64_t adamStep = meta.count("adam_step") ? std::stoll(meta.at("adam_step")) : 0;
    for (const auto &[name, t] : params) {
        if (!ok.contains("exp_avg." + name))
            continue;
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(adamStep);
        s->exp_avg(ok.get("exp_avg." + name).clone());
        s->exp_avg_sq(ok.get("exp_avg_sq." + name).clone());
        opt.state()[paramKey(t)] = std::move(s);
    }
}

// AdamW (beta 0.9/0.95) with weight decay on matrices only, as is usual for transformers: norms, biases,
// embeddings and position tables are excluded. add() sorts a tensor into its group by name and shape.
struct ParamGroups
{
    std::vector<torch::Tensor> decay, noDecay;
    void add(const std::string &name, const torch::Tensor &t)
    {
        (t.dim() >= 2 && name.find("embed") == std::string::npos && name.find("pos") == std::string::npos
             ? decay
             : noDecay)
            .push_back(t);
    }
    std::vector<torch::Tensor> all() const
    {
        std::vector<torch::Tensor> out = decay;
        out.insert(out.end(), noDecay.begin(), noDecay.end());
        return out;
    }
    torch::optim::AdamW optimizer(const TrainOptions &o) const
    {
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weightDecay)));
        groups.emplace_back(noDecay, std::make_unique<torch::optim::AdamWOptions>(
                                         torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0)));
        return torch::optim::AdamW(std::move(groups));
    }
};

// The encoder warm-up (TrainOptions::encoderWarmupSteps): the vision encoder and the glyph head alone, on
// batches of small crops, with their own AdamW (ramp then cosine to minLrRatio). With the token naming loss
// on, the resampler, the projector and the decoder's output head (readout) train too, so the visual tokens
// learn to name words from the same cheap crops. Returns the seconds it took.
double runEncoderWarmup(VisionLanguageModel &model, torch::nn::Linear &glyphHead, const Tokenizer &tok,
                        const TrainOptions &o, const synth::Options &fullData, bool bf16,
                        const TrainProgressCallback &progress)
{
    const bool naming = o.tokenLossWeight > 0;
    // The decoder's output head, as readout() uses it (every family names them so under its LM prefix).
    auto isReadout = [](const std::string &name) {
        auto ends = [&](const std::string &suffix) {
            return name.size() >= suffix.size() &&
                   name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        return ends("model.norm.weight") || ends("lm_head.weight");
    };
    ParamGroups groups;
    for (auto &[name, t] : model.namedParameters())
        if (name.rfind("vision.", 0) == 0 || (naming && (name.rfind("llm.", 0) != 0 || isReadout(name))))
            groups.add(name, t);
    if (groups.decay.empty())
        throw Error(ErrorCode::ConfigInvalid, "the encoder warm-up found no vision encoder parameters", "vision");
    for (const auto &item : glyphHead->named_parameters())
        groups.add("glyph_head." + item.key(), item.value());
    torch::optim::AdamW opt = groups.optimizer(o);
    const std::vector<torch::Tensor> params = groups.all();

    // Windows and pages up to 1024 px (a crop needs no more, and small canvases render fast), text 8-40 px
    // (within the run's range): the sizes the encoder sees in most views, and none too small to name.
    synth::Options data = fullData;
    data.maxSide = std::min(data.maxSide, std::max(data.minSide, 1024));
    data.minText = std::clamp(8, fullData.minText, fullData.maxText);
    data.maxText = std::clamp(40, data.minText, fullData.maxText);
    const VisionLanguageModel &m = model;
    std::pair<std::uint64_t, synth::Sample> cache; // used by the queue's worker thread only
    DataQueue queue([&](std::uint64_t i) { return makeWarmupExample(m, tok, o, data, i, cache); }, 0,
                    static_cast<std::size_t>(std::max(o.queueSize, 2 * o.encoderWarmupBatch)));
    const int steps = o.encoderWarmupSteps;
    const int ramp = std::clamp(steps / 10, 1, 50);
    const auto start = Clock::now();
    auto windowStart = start;
    GlyphTally tally;
    std::deque<double> window, tokenWindow;
    double windowImages = 0;
    NamingTally namingTally;
    TrainOptions schedule = o; // the full recipe's ramp + cosine, over the warm-up's steps
    schedule.warmupSteps = ramp;
    schedule.steps = steps;
    for (int step = 0; step < steps; ++step) {
        const double lr = scheduleLr(schedule, step, 0.0);
        for (auto &g : opt.param_groups())
            static_cast<torch::optim::AdamWOptions &>(g.options()).lr(lr);
        std::vector<torch::Tensor> pixels, labels, heights;
        std::vector<int64_t> boxTargets;
        for (int b = 0; b < o.encoderWarmupBatch; ++b) {
            Example ex = queue.pop();
            pixels.push_back(ex.overview);
            labels.push_back(ex.glyphOverview);
            heights.push_back(ex.glyphHeightsOverview);
            boxTargets.insert(boxTargets.end(), ex.regionTargets.begin(), ex.regionTargets.end());
        }
        opt.zero_grad();
        torch::Tensor logits, tokens;
        {
            at::autocast::set_cpu_enabled(bf16);
            at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
            // The hook takes the patch features on their way to the resampler; the visual tokens are used
            // only by the token naming loss.
            tokens = model.encodeImages(
                torch::cat(pixels, 0), [&](const std::string &name, const torch::Tensor &x) {
                    if (name == "vision")
                        logits = glyphHead->forward(x).reshape({-1, glyphHead->options.out_features()});
                });
            at::autocast::set_cpu_enabled(false);
        }
        if (!logits.defined())
            throw Error(ErrorCode::Internal, "the vision encoder reported no patch features");
        logits = logits.to(torch::kFloat32);
        const torch::Tensor targets = torch::cat(labels, 0).reshape({-1});
        if (logits.size(0) != targets.size(0))
            throw Error(ErrorCode::Internal, "glyph labels do not match the encoder's patch grid");
        const torch::Tensor glyph = glyphObjective(logits, targets);
        torch::Tensor loss = glyph;
        double tokenValue = 0;
        if (naming && static_cast<int64_t>(boxTargets.size()) == tokens.size(0) * tokens.size(1)) {
            const torch::Tensor t = tokenNamingObjective(model, tokens.reshape({-1, tokens.size(-1)}),
                                                         torch::tensor(boxTargets, torch::kLong), namingTally);
            if (t.defined()) {
                tokenValue = t.item<double>();
                loss = loss + o.tokenLossWeight * t;
            }
        }
        loss.backward();
        at::autocast::clear_cache();
        torch::nn::utils::clip_grad_norm_(params, o.clipNorm);
        opt.step();
        const double value = glyph.item<double>(); // reported: the glyph loss alone
        if (!std::isfinite(loss.item<double>()))
            throw Error(ErrorCode::Internal,
                        "the encoder warm-up diverged at step " + std::to_string(step + 1) + "; lower --lr", "lr");
        tally.add(logits, targets, torch::cat(heights, 0).reshape({-1}));
        window.push_back(value);
        tokenWindow.push_back(tokenValue);
        if (static_cast<int>(window.size()) > o.logEvery) {
            window.pop_front();
            tokenWindow.pop_front();
        }
        windowImages += o.encoderWarmupBatch;
        const int done = step + 1;
        if (progress && (done % o.logEvery == 0 || done == steps)) {
            const double dt = std::max(1e-9, std::chrono::duration<double>(Clock::now() - windowStart).count());
            TrainProgress p;
            p.encoderWarmup = true;
            p.step = done;
            p.steps = steps;
            p.glyphLoss = std::accumulate(window.begin(), window.end(), 0.0) / window.size();
            p.loss = p.lossAverage = p.glyphLoss;
            p.tokenLoss = std::accumulate(tokenWindow.begin(), tokenWindow.end(), 0.0) / tokenWindow.size();
            p.tokenAccuracy = namingTally.accuracy();
            p.glyphAccuracy = tally.accuracy();
            p.glyphAccuracyLarge = tally.accuracyLarge();
            p.lr = lr;
            p.imagesPerSecond = windowImages / dt;
            p.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
            p.etaSeconds = dt / std::max(1.0, windowImages / o.encoderWarmupBatch) * (steps - done);
            progress(p);
            tally = {};
            windowImages = 0;
            namingTally = {};
            windowStart = Clock::now();
        }
    }
    opt.zero_grad();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::string> suggestedQuestions()
{
    return {"What is the window title?",
            "What does the blue button say?",
            "Which word is highlighted?",
            "What is the number in row 2 of the table?",
            "What is the heading?",
            "How many red shapes are there?",
            "What colour is the shape in the top left corner?"};
}

} // namespace

std::vector<std::vector<std::string>> regionLabels(const synth::Sample &sample, const SlicePlan &plan, int grid,
                                                   double minPixels)
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
                                 t.x + t.width * (static_cast<double>(start + i) / 2.0) / chars, t.y + t.height / 2.0,
                                 t.pixelSize});
        }
    }
    for (const synth::TextItem &shape : sample.shapes)
        items.push_back({shape.text, shape.x + shape.width / 2.0, shape.y + shape.height / 2.0, shape.pixelSize});

    const auto cells = static_cast<std::size_t>(grid) * static_cast<std::size_t>(grid);
    std::vector<std::vector<std::string>> out(views.size(), std::vector<std::string>(cells));
    for (std::size_t v = 0; v < views.size(); ++v) {
        const View &view = views[v];
        std::vector<double> best(cells, 0.0);
        for (const Item &it : items) {
            if (it.size * view.scale < minPixels || it.cx < view.x || it.cy < view.y || it.cx >= view.x + view.w ||
                it.cy >= view.y + view.h)
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

std::string TrainOptions::validate() const
{
    if (outDir.empty())
        return "an output folder is required";
    if (preset != "tiny" && preset != "micro")
        return "preset must be tiny or micro";
    if (policy != "llava-uhd" && policy != "minicpmv" && policy != "llava15")
        return "policy must be llava-uhd, minicpmv or llava15";
    if (steps < 1 || steps > 10'000'000)
        return "steps must be between 1 and 10000000";
    for (const std::string &f : families)
        if (!synth::familyFromName(f))
            return "unknown family '" + f + "' (window, document or shapes)";
    if (resamplerAttention != "global" && resamplerAttention != "spatial")
        return "resampler attention must be global or spatial";
    if (patchEmbed != "linear" && patchEmbed != "conv")
        return "patch embedding must be linear or conv";
    if (!(regionLossWeight >= 0 && regionLossWeight <= 100))
        return "region loss weight must be between 0 and 100";
    if (!(tokenLossWeight >= 0 && tokenLossWeight <= 100))
        return "token loss weight must be between 0 and 100";
    if (!(lookLossWeight >= 0 && lookLossWeight <= 100))
        return "look loss weight must be between 0 and 100";
    if (lookHead < 0)
        return "look head must be >= 0";
    if (!(regionMinPixels >= 0 && regionMinPixels <= 1000))
        return "region minimum pixels must be between 0 and 1000";
    if (!(glyphLossWeight >= 0 && glyphLossWeight <= 100))
        return "glyph loss weight must be between 0 and 100";
    if (!(glyphMinPixels >= 0 && glyphMinPixels <= 1000))
        return "glyph minimum pixels must be between 0 and 1000";
    if (encoderWarmupSteps < 0 || encoderWarmupSteps > 10'000'000)
        return "encoder warm-up steps must be between 0 and 10000000";
    if (encoderWarmupCrop < 28 || encoderWarmupCrop > 1024)
        return "encoder warm-up crop must be between 28 and 1024 pixels";
    if (encoderWarmupBatch < 1 || encoderWarmupBatch > 1024)
        return "encoder warm-up batch must be between 1 and 1024 crops";
    if (encoderWarmupSteps > 0 && !families.empty() &&
        std::none_of(families.begin(), families.end(), [](const std::string &f) { return f != "shapes"; }))
        return "the encoder warm-up needs a family with text (window or document)";
    if (batchImages < 1 || batchImages > 1024)
        return "batch must be between 1 and 1024 images";
    if (turnsPerImage < 1 || turnsPerImage > 16)
        return "turns per image must be between 1 and 16";
    if (!(readTextProbability >= 0 && readTextProbability <= 1))
        return "read-text probability must be in [0, 1]";
    if (readTextWords < 1 || readTextWords > 256)
        return "read-text words must be between 1 and 256";
    if (!(readTextMinPixels >= 0 && readTextMinPixels <= 256))
        return "read-text minimum pixel size must be in [0, 256]";
    if (!(lr > 0 && lr < 1))
        return "learning rate must be in (0, 1)";
    if (!(minLrRatio >= 0 && minLrRatio <= 1))
        return "minimum learning-rate ratio must be in [0, 1]";
    if (warmupSteps < 1)
        return "warm-up steps must be >= 1";
    if (!(weightDecay >= 0 && weightDecay < 1))
        return "weight decay must be in [0, 1)";
    if (!(clipNorm > 0))
        return "gradient clip norm must be > 0";
    if (threads < 0 || threads > 1024)
        return "threads must be between 0 and 1024";
    if (dtype != "auto" && dtype != "bf16" && dtype != "f32")
        return "dtype must be auto, bf16 or f32";
    if (maxSlices < -1 || maxSlices > 64)
        return "max slices must be between 0 and 64";
    if (timeBudgetMinutes < 0)
        return "time budget must be >= 0";
    if (checkpointEvery < 1 || logEvery < 1 || queueSize < 1)
        return "checkpoint/log intervals and queue size must be >= 1";
    if (tokenizerVocab < 0)
        return "tokenizer vocab must be >= 0";
    synth::Options d;
    d.minSide = minSide;
    d.maxSide = maxSide;
    d.minText = minText;
    d.maxText = maxText;
    if (const std::string why = d.validate(); !why.empty())
        return why;
    return {};
}

std::string trainingConfigJson(const std::string &preset, const std::string &policy, int maxSlices,
                               const std::string &resamplerAttention, const std::string &patchEmbed)
{
    return buildConfig(preset, policy, maxSlices, resamplerAttention, patchEmbed).dump(2);
}

TrainResult train(const TrainOptions &o, const TrainProgressCallback &progress)
{
    if (const std::string why = o.validate(); !why.empty())
        throw Error(ErrorCode::InvalidArgument, "training options: " + why, "options");
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    torch::manual_seed(o.seed);

    const std::string out = o.outDir;
    const std::string ckDir = out + "/checkpoint";

    // Config: preset (or the checkpoint's when resuming, or a user file).
    json cfg;
    if (o.resume)
        cfg = readJson(ckDir + "/config.json");
    else if (!o.configFile.empty())
        cfg = readJson(o.configFile);
    else
        cfg = buildConfig(o.preset, o.policy, o.maxSlices, o.resamplerAttention, o.patchEmbed);
    const Family family = detectFamily(cfg);
    std::unique_ptr<VisionLanguageModel> model = createFamilyModel(cfg, nullptr, {});
    initRandom(*model, o.seed);
    if (o.encoderWarmupSteps > 0 && o.encoderWarmupCrop % model->policy().patch != 0)
        throw Error(ErrorCode::InvalidArgument,
                    "the encoder warm-up crop (" + std::to_string(o.encoderWarmupCrop) +
                        " px) must be a multiple of the patch (" + std::to_string(model->policy().patch) + " px)",
                    "encoder_warmup_crop");
    // The look loss trains one head of the decoder's last layer (LLaMA config keys, as every family's
    // text_config / top level names them).
    const json &text = cfg.contains("text_config") ? cfg["text_config"] : cfg;
    const int lookLayer = text.value("num_hidden_layers", 0) - 1;
    if (o.lookLossWeight > 0 && (lookLayer < 0 || o.lookHead >= text.value("num_attention_heads", 0)))
        throw Error(ErrorCode::InvalidArgument,
                    "the look head (" + std::to_string(o.lookHead) + ") must be one of the decoder's " +
                        std::to_string(text.value("num_attention_heads", 0)) + " attention heads",
                    "look_head");
    // Nothing is written before here: every refusal above leaves no folder behind.
    if (!QDir().mkpath(QString::fromStdString(out)))
        throw Error(ErrorCode::FileUnreadable, "cannot create output folder " + out, out);

    // Tokenizer: trained once on the generator's corpus, kept with the checkpoint for resume.
    const std::string tokPath = out + "/tokenizer.model";
    if (!(o.resume && QFileInfo::exists(QString::fromStdString(tokPath)))) {
        std::vector<std::string> symbols = familySpecialTokens(family);
        if (cfg.contains("uhdlens_special_tokens"))
            for (const auto &s : cfg["uhdlens_special_tokens"])
                if (std::find(symbols.begin(), symbols.end(), s.get<std::string>()) == symbols.end())
                    symbols.push_back(s.get<std::string>());
        std::vector<std::string> lines;
        std::stringstream corpus(synth::corpusText(20000));
        for (std::string line; std::getline(corpus, line);)
            lines.push_back(line);
        int vocab = o.tokenizerVocab > 0 ? o.tokenizerVocab : static_cast<int>(model->vocabSize());
        for (;;) {
            try {
                Tokenizer::train(lines, tokPath, vocab, symbols, "bpe");
                break;
            } catch (const Error &e) {
                // The corpus is small: sentencepiece refuses a vocabulary larger than the merges it can find.
                if (e.code() != ErrorCode::InvalidArgument || vocab <= 300)
                    throw;
                vocab = vocab * 7 / 8;
            }
        }
    }
    const std::shared_ptr<Tokenizer> tok = Tokenizer::load(tokPath);
    if (tok->vocabSize() > model->vocabSize())
        throw Error(ErrorCode::ConfigInvalid, "tokenizer has more pieces than the model's vocab_size", "vocab_size");
    const std::vector<int64_t> stops = model->stopTokenIds(*tok);
    if (stops.empty())
        throw Error(ErrorCode::ConfigInvalid, "the family defines no stop token to train", "eos");
    const int64_t endId = stops.front();

    // Optimiser: decay matrices (dim >= 2) only, as is usual for transformers; norms, biases, tables excluded.
    ParamGroups groups;
    int64_t nParams = 0;
    for (auto &[name, t] : model->namedParameters()) {
        t.set_requires_grad(true);
        nParams += t.numel();
        groups.add(name, t);
    }
    // The glyph head (training only): vision features -> "none" + one class per alphabet character.
    NamedTensors ckParams = model->namedParameters();
    int64_t nTrainOnly = 0; // not counted in nParams (not part of the model)
    torch::nn::Linear glyphHead{nullptr};
    const auto glyphClasses = static_cast<int64_t>(glyphAlphabet().size()) + 1;
    if (o.glyphLossWeight > 0 || o.encoderWarmupSteps > 0) {
        const json *vc = cfg.contains("vision_config") ? &cfg["vision_config"] : nullptr;
        if (!vc || !vc->contains("hidden_size") || !(*vc)["hidden_size"].is_number_integer())
            throw Error(ErrorCode::ConfigInvalid,
                        "the glyph loss needs vision_config.hidden_size in config.json",
                        "vision_config.hidden_size");
        glyphHead = torch::nn::Linear((*vc)["hidden_size"].get<int64_t>(), glyphClasses);
        for (const auto &item : glyphHead->named_parameters()) {
            ckParams.emplace_back(std::string(kTrainOnlyPrefix) + "glyph_head." + item.key(), item.value());
            groups.add("glyph_head." + item.key(), item.value());
            nTrainOnly += item.value().numel();
        }
    }
    torch::optim::AdamW opt = groups.optimizer(o);
    const std::vector<torch::Tensor> allParams = groups.all();

    int startStep = 0;
    json log;
    log["loss_curve"] = json::array();
    double priorSeconds = 0;
    json resumed; // the checkpoint's state.json when resuming
    if (o.resume) {
        loadCheckpoint(ckDir, ckParams, opt);
        resumed = readJson(ckDir + "/state.json");
        startStep = resumed.at("step").get<int>();
        if (resumed.contains("log"))
            log = resumed["log"];
        priorSeconds = resumed.value("seconds", 0.0);
    }

    const bool bf16 = o.dtype == "bf16" || (o.dtype == "auto" && cpuHasBf16());
    synth::Options dataOptions;
    dataOptions.split = synth::Split::Train;
    dataOptions.minSide = o.minSide;
    dataOptions.maxSide = o.maxSide;
    dataOptions.minText = o.minText;
    dataOptions.maxText = o.maxText;
    synth::ensureFonts(synth::Split::Train); // register fonts on this thread before the worker starts

    const VisionLanguageModel &m = *model;
    json state;
    state["options"] = {{"preset", o.preset},
                        {"policy", o.policy},
                        {"steps", o.steps},
                        {"batch_images", o.batchImages},
                        {"turns_per_image", o.turnsPerImage},
                        {"lr", o.lr},
                        {"min_lr_ratio", o.minLrRatio},
                        {"warmup_steps", o.warmupSteps},
                        {"weight_decay", o.weightDecay},
                        {"clip_norm", o.clipNorm},
                        {"seed", o.seed},
                        {"dtype", bf16 ? "bf16-autocast" : "f32"},
                        {"min_side", o.minSide},
                        {"max_side", o.maxSide},
                        {"min_text", o.minText},
                        {"max_text", o.maxText},
                        {"time_budget_minutes", o.timeBudgetMinutes},
                        {"read_text_probability", o.readTextProbability},
                        {"read_text_words", o.readTextWords},
                        {"read_text_min_pixels", o.readTextMinPixels},
                        {"region_loss_weight", o.regionLossWeight},
                        {"region_min_pixels", o.regionMinPixels},
                        {"token_loss_weight", o.tokenLossWeight},
                        {"look_loss_weight", o.lookLossWeight},
                        {"look_head", o.lookHead},
                        {"glyph_loss_weight", o.glyphLossWeight},
                        {"glyph_min_pixels", o.glyphMinPixels},
                        {"families", o.families},
                        {"resampler_attention", o.resamplerAttention},
                        {"patch_embed", o.patchEmbed},
                        {"encoder_warmup_steps", o.encoderWarmupSteps},
                        {"encoder_warmup_crop", o.encoderWarmupCrop},
                        {"encoder_warmup_batch", o.encoderWarmupBatch}};
    // A resume with other options (a second stage, uhdlens-train --then-steps) keeps what the earlier stages
    // ran with and the step each ended at, so the model folder records its whole recipe.
    state["earlier_stages"] = o.resume ? resumed.value("earlier_stages", json::array()) : json::array();
    if (o.resume && resumed.contains("options") && resumed["options"] != state["options"]) {
        json stage = resumed["options"];
        stage["until_step"] = startStep;
        state["earlier_stages"].push_back(stage);
    }
    QDir().mkpath(QString::fromStdString(ckDir));
    writeText(ckDir + "/config.json", cfg.dump(2));

    // Encoder warm-up, once: skipped when resuming a run that finished it (or had no warm-up).
    const bool warmupDone = o.resume && (resumed.value("encoder_warmup_done", false) || startStep > 0);
    if (o.encoderWarmupSteps > 0 && !warmupDone) {
        state["encoder_warmup_seconds"] =
            runEncoderWarmup(*model, glyphHead, *tok, o, dataOptions, bf16, progress);
        state["encoder_warmup_done"] = true;
        saveCheckpoint(ckDir, ckParams, opt, startStep, state);
    } else if (o.resume) {
        if (resumed.contains("encoder_warmup_seconds"))
            state["encoder_warmup_seconds"] = resumed["encoder_warmup_seconds"];
        state["encoder_warmup_done"] = resumed.value("encoder_warmup_done", false);
    }

    DataQueue queue(
        [&](std::uint64_t i) { return makeExample(m, *tok, o, dataOptions, i, endId); },
        static_cast<std::uint64_t>(startStep) * o.batchImages, static_cast<std::size_t>(o.queueSize));

    TrainResult result;
    result.parameters = nParams;
    result.outDir = out;
    std::deque<double> window, regionWindow, tokenWindow, lookWindow, lookMassWindow, glyphWindow;
    GlyphTally glyphTally;   // accuracy of the glyph head, this log window
    NamingTally namingTally; // the same for the token naming loss
    double windowImages = 0, windowTokens = 0;
    auto windowStart = Clock::now();
    const auto runStart = Clock::now();
    int step = startStep;
    int64_t earlierTurns = 0, supervisedEarlier = 0, visualTokens = 0, images = 0;
    for (; step < o.steps; ++step) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - runStart).count() + priorSeconds;
        const double timeFraction = o.timeBudgetMinutes > 0 ? elapsed / (o.timeBudgetMinutes * 60.0) : 0.0;
        if (o.timeBudgetMinutes > 0 && timeFraction >= 1.0)
            break;
        const double lr = scheduleLr(o, step, timeFraction);
        for (auto &g : opt.param_groups())
            static_cast<torch::optim::AdamWOptions &>(g.options()).lr(lr);

        std::vector<Example> batch;
        for (int b = 0; b < o.batchImages; ++b)
            batch.push_back(queue.pop());

        opt.zero_grad();
        torch::Tensor loss;
        double answerLoss = 0, regionLoss = 0, tokenLoss = 0, lookLoss = 0, lookMass = 0, glyphLoss = 0;
        int64_t positions = 0;
        {
            at::autocast::set_cpu_enabled(bf16);
            at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
            std::vector<torch::Tensor> seqs;
            std::vector<int64_t> lengths;
            int64_t maxLen = 0;
            std::vector<torch::Tensor> glyphLogits, glyphTargets, glyphHeights;
            // prepareImages runs under InferenceMode; a clone is an ordinary tensor autograd may save. With
            // the glyph loss on, the hook takes the vision encoder's patch features on their way to the
            // resampler.
            auto encode = [&](const torch::Tensor &pixels, const torch::Tensor &labels,
                              const torch::Tensor &heights) {
                TensorHook hook;
                if (glyphHead && labels.defined())
                    hook = [&](const std::string &name, const torch::Tensor &features) {
                        if (name != "vision")
                            return;
                        if (features.numel() / features.size(-1) != labels.numel())
                            throw Error(ErrorCode::Internal,
                                        "glyph labels do not match the encoder's patch grid");
                        glyphLogits.push_back(glyphHead->forward(features).reshape({-1, glyphClasses}));
                        glyphTargets.push_back(labels.reshape({-1}));
                        glyphHeights.push_back(heights.reshape({-1}));
                    };
                return model->encodeImages(pixels.clone(), hook);
            };
            for (const Example &ex : batch) {
                torch::Tensor tokens = encode(ex.overview, ex.glyphOverview, ex.glyphHeightsOverview);
                if (ex.slices.defined())
                    tokens =
                        torch::cat({tokens, encode(ex.slices, ex.glyphSlices, ex.glyphHeightsSlices)}, 0);
                torch::Tensor emb = embedPrompt(*model, ex.prompt, tokens);
                if (!ex.answerIds.empty())
                    emb = torch::cat({emb, model->embedTokens(torch::tensor(ex.answerIds, torch::kLong)).to(emb.dtype())}, 0);
                seqs.push_back(emb);
                lengths.push_back(emb.size(0));
                maxLen = std::max<int64_t>(maxLen, emb.size(0));
            }
            // Right padding: attention is causal, so padding never influences the real positions.
            std::vector<torch::Tensor> padded;
            torch::Tensor targets = torch::full({static_cast<int64_t>(batch.size()), maxLen}, kIgnore, torch::kLong);
            torch::Tensor regionTargets = torch::full_like(targets, kIgnore);
            for (std::size_t b = 0; b < batch.size(); ++b) {
                const int64_t len = lengths[b];
                padded.push_back(torch::constant_pad_nd(seqs[b], {0, 0, 0, maxLen - len}));
                targets[static_cast<int64_t>(b)].narrow(0, 0, len).copy_(torch::tensor(batch[b].targets, torch::kLong));
                if (!batch[b].regionTargets.empty())
                    regionTargets[static_cast<int64_t>(b)].narrow(0, 0, len).copy_(
                        torch::tensor(batch[b].regionTargets, torch::kLong));
                positions += len;
            }
            const torch::Tensor input = torch::stack(padded, 0);
            std::optional<nn::AttentionTap> tap;
            if (o.lookLossWeight > 0)
                tap.emplace(lookLayer);
            const torch::Tensor logits = model->forwardAll(input);
            const torch::Tensor flat = logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32);
            const auto ce = torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore);
            loss = torch::nn::functional::cross_entropy(flat, targets.reshape({-1}), ce);
            answerLoss = loss.item<double>();
            regionLoss = 0;
            if (o.regionLossWeight > 0 && (regionTargets != kIgnore).any().item<bool>()) {
                const torch::Tensor r = torch::nn::functional::cross_entropy(flat, regionTargets.reshape({-1}), ce);
                regionLoss = r.item<double>();
                loss = loss + o.regionLossWeight * r;
            }
            if (o.tokenLossWeight > 0) { // the visual tokens as the decoder receives them, read by its head
                const torch::Tensor t = tokenNamingObjective(*model, input.reshape({-1, input.size(-1)}),
                                                             regionTargets.reshape({-1}), namingTally);
                if (t.defined()) {
                    tokenLoss = t.item<double>();
                    loss = loss + o.tokenLossWeight * t;
                }
            }
            if (tap && tap->probs().defined()) {
                // Where the look head of the last layer looks while answering: its probability mass on the
                // boxes of the place asked about, one group per (sequence, answer position).
                std::vector<int64_t> pb, pq, pk, pg;
                int64_t groups = 0;
                for (std::size_t b = 0; b < batch.size(); ++b)
                    for (const auto &[query, keys] : batch[b].lookTargets) {
                        for (int64_t key : keys) {
                            pb.push_back(static_cast<int64_t>(b));
                            pq.push_back(query);
                            pk.push_back(key);
                            pg.push_back(groups);
                        }
                        ++groups;
                    }
                if (groups > 0) {
                    const torch::Tensor head = tap->probs().select(1, o.lookHead); // [B, T, S]
                    const torch::Tensor p =
                        head.index({torch::tensor(pb), torch::tensor(pq), torch::tensor(pk)})
                            .to(torch::kFloat32);
                    const torch::Tensor mass =
                        torch::zeros({groups}, p.options()).index_add(0, torch::tensor(pg), p);
                    const torch::Tensor look = -(mass + 1e-6).log().mean();
                    lookLoss = look.item<double>();
                    lookMass = mass.mean().item<double>();
                    loss = loss + o.lookLossWeight * look;
                }
            }
            if (!glyphLogits.empty()) {
                const torch::Tensor gl = torch::cat(glyphLogits, 0).to(torch::kFloat32);
                const torch::Tensor gt = torch::cat(glyphTargets, 0);
                const torch::Tensor g = glyphObjective(gl, gt);
                glyphLoss = g.item<double>();
                loss = loss + o.glyphLossWeight * g;
                glyphTally.add(gl, gt, torch::cat(glyphHeights, 0));
            }
            at::autocast::set_cpu_enabled(false);
        }
        loss.backward();
        at::autocast::clear_cache();
        torch::nn::utils::clip_grad_norm_(allParams, o.clipNorm);
        opt.step();

        const double l = answerLoss; // reported: the answer loss alone, comparable across recipes
        if (!std::isfinite(loss.item<double>()))
            throw Error(ErrorCode::Internal, "training diverged at step " + std::to_string(step + 1) + " (loss " +
                                                 std::to_string(l) + "); lower --lr", "lr");
        window.push_back(l);
        regionWindow.push_back(regionLoss);
        tokenWindow.push_back(tokenLoss);
        lookWindow.push_back(lookLoss);
        lookMassWindow.push_back(lookMass);
        glyphWindow.push_back(glyphLoss);
        if (static_cast<int>(window.size()) > o.logEvery) {
            window.pop_front();
            regionWindow.pop_front();
            tokenWindow.pop_front();
            lookWindow.pop_front();
            lookMassWindow.pop_front();
            glyphWindow.pop_front();
        }
        for (const Example &ex : batch) {
            earlierTurns += ex.earlierTurns;
            supervisedEarlier += ex.supervisedEarlier;
            visualTokens += static_cast<int64_t>(ex.encodedImages) * model->tokensPerImage();
            images += 1;
        }
        windowImages += static_cast<double>(batch.size());
        windowTokens += static_cast<double>(positions);
        const int done = step + 1;
        const bool saveNow = done % o.checkpointEvery == 0;
        if (done % o.logEvery == 0 || done == o.steps || saveNow) {
            const double mean = std::accumulate(window.begin(), window.end(), 0.0) / window.size();
            log["loss_curve"].push_back({done, mean});
            const double dt = std::max(1e-9, std::chrono::duration<double>(Clock::now() - windowStart).count());
            const double total = std::chrono::duration<double>(Clock::now() - runStart).count() + priorSeconds;
            TrainProgress p;
            p.step = done;
            p.steps = o.steps;
            p.loss = l;
            p.lossAverage = mean;
            p.regionLoss = std::accumulate(regionWindow.begin(), regionWindow.end(), 0.0) / regionWindow.size();
            p.tokenLoss = std::accumulate(tokenWindow.begin(), tokenWindow.end(), 0.0) / tokenWindow.size();
            p.tokenAccuracy = namingTally.accuracy();
            p.lookLoss = std::accumulate(lookWindow.begin(), lookWindow.end(), 0.0) / lookWindow.size();
            p.lookMass =
                std::accumulate(lookMassWindow.begin(), lookMassWindow.end(), 0.0) / lookMassWindow.size();
            p.glyphLoss = std::accumulate(glyphWindow.begin(), glyphWindow.end(), 0.0) / glyphWindow.size();
            p.glyphAccuracy = glyphTally.accuracy();
            p.glyphAccuracyLarge = glyphTally.accuracyLarge();
            p.lr = lr;
            p.imagesPerSecond = windowImages / dt;
            p.tokensPerSecond = windowTokens / dt;
            p.elapsedSeconds = total;
            const double perStep = dt / std::max(1.0, windowImages / o.batchImages);
            double eta = perStep * (o.steps - done);
            if (o.timeBudgetMinutes > 0)
                eta = std::min(eta, std::max(0.0, o.timeBudgetMinutes * 60.0 - total));
            p.etaSeconds = eta;
            if (saveNow) {
                state["log"] = log;
                state["seconds"] = total;
                saveCheckpoint(ckDir, ckParams, opt, done, state);
                p.checkpointSaved = true;
            }
            if (progress)
                progress(p);
            windowImages = windowTokens = 0;
            glyphTally = {};
            namingTally = {};
            windowStart = Clock::now();
        }
    }
    if (o.resume && step == startStep && resumed.contains("options")) {
        // Nothing ran: the checkpoint is already past this run's end (the first stage of a resumed two-stage
        // command). Its record stands as it is.
        state["options"] = resumed["options"];
        state["earlier_stages"] = resumed.value("earlier_stages", json::array());
    }
    result.steps = step;
    result.seconds = std::chrono::duration<double>(Clock::now() - runStart).count() + priorSeconds;
    result.lastLoss = window.empty() ? 0.0 : std::accumulate(window.begin(), window.end(), 0.0) / window.size();
    for (const auto &pt : log["loss_curve"])
        result.lossCurve.emplace_back(pt[0].get<int>(), pt[1].get<double>());
    if (!result.lossCurve.empty()) // the whole training's first window, before any resume or second stage
        result.firstLoss = result.lossCurve.front().second;

    // Final checkpoint (resumable) and the model folder.
    state["log"] = log;
    state["seconds"] = result.seconds;
    saveCheckpoint(ckDir, ckParams, opt, step, state);
    {
        torch::NoGradGuard ng;
        std::vector<std::pair<std::string, torch::Tensor>> weights;
        for (const auto &[name, t] : model->namedParameters())
            weights.emplace_back(name, t.detach().to(torch::kBFloat16));
        saveSafeTensors(out + "/model.safetensors", weights,
                        {{"format", "pt"}, {"uhdlens_training_steps", std::to_string(step)}});
    }
    writeText(out + "/config.json", cfg.dump(2));
    json meta;
    std::vector<std::string> questions = suggestedQuestions();
    if (o.readTextProbability > 0)
        questions.push_back(synth::kReadTextQuestion); // trained on, though not scored by uhdlens-cli eval
    meta["suggested_questions"] = questions;
    meta["description"] =
        "A small LLaVA-UHD model trained by UHD Lens itself, from scratch, on synthetic images only (see "
        "resources/models/README.md). It answers the kinds of questions listed in suggested_questions about "
        "screenshots, documents and shape scenes with one-word or number answers; it cannot describe photos, "
        "read free text outside its vocabulary, or hold a conversation.";
    meta["training"] = state["options"];
    meta["training"]["earlier_stages"] = state["earlier_stages"];
    meta["training"]["steps_done"] = step;
    meta["training"]["seconds"] = result.seconds;
    meta["training"]["first_loss"] = result.firstLoss;
    meta["training"]["last_loss"] = result.lastLoss;
    meta["training"]["parameters"] = nParams;
    writeText(out + "/uhdlens.json", meta.dump(2));
    json tl;
    tl["loss_curve"] = log["loss_curve"];
    tl["steps"] = step;
    tl["seconds"] = result.seconds;
    tl["first_loss"] = result.firstLoss;
    tl["last_loss"] = result.lastLoss;
    tl["parameters"] = nParams;
    if (state.contains("encoder_warmup_seconds"))
        tl["encoder_warmup_seconds"] = state["encoder_warmup_seconds"];
    tl["train_only_parameters"] = nTrainOnly; // the glyph head: in the checkpoint, not in model.safetensors
    tl["options"] = state["options"];
    tl["earlier_stages"] = state["earlier_stages"];
    // This run only (not counting steps before a resume).
    tl["images_seen"] = images;
    tl["visual_tokens_per_image"] = images ? static_cast<double>(visualTokens) / images : 0.0;
    tl["earlier_turns"] = earlierTurns;
    tl["earlier_turns_supervised"] = supervisedEarlier;
    writeText(out + "/training_log.json", tl.dump(2));
    return result;
}

} // namespace uhdlens
