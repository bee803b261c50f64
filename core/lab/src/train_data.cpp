// The data pipeline of training (train_data.h): samples -> pixels, prompt, answers and loss targets.
#include "train_data.h"

#include "preprocess.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/text_layer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

namespace uhdlens::lab {

namespace {

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

// The side G of the resampler's G×G grid of query boxes (what region, token and look targets index), or 0
// when the model's tokens per image are not a square (every preset's are).
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

// The image's text as the engine gives it to the model (Conversation::ask's imageText): a text layer built
// from the generator's text boxes at least `minPixels` high (what OCR reads), its first `maxLines` lines with
// coarse positions (TextLayer::promptText). Empty when no text qualifies.
std::string imageTextOf(const synth::Sample &sample, double minPixels, int maxLines)
{
    std::vector<TextWord> words;
    for (const synth::TextItem &t : sample.texts) {
        if (t.pixelSize < minPixels || t.text.empty())
            continue;
        TextWord w;
        w.text = t.text;
        w.box = {t.x, t.y, std::max(1, t.width), std::max(1, t.height)};
        w.confidence = 100;
        words.push_back(std::move(w));
    }
    if (words.empty())
        return {};
    return layoutWords(std::move(words), {sample.image.width(), sample.image.height()}).promptText(maxLines);
}

} // namespace

synth::Options trainingData(const TrainOptions &o)
{
    synth::Options dataOptions;
    dataOptions.split = synth::Split::Train;
    dataOptions.minSide = o.minSide;
    dataOptions.maxSide = o.maxSide;
    dataOptions.minText = o.minText;
    dataOptions.maxText = o.maxText;
    return dataOptions;
}

Example makeExample(const VisionLanguageModel &model, const Tokenizer &tok, const TrainOptions &o,
                    const synth::Options &dataOptions, std::uint64_t streamIndex, int64_t endId)
{
    // Sample seeds: a fixed bijection of (seed, index) into the Train split's range.
    const std::uint64_t seed =
        (o.seed * 0x9E3779B97F4A7C15ULL + streamIndex * 0xD1B54A32D192ED03ULL) % synth::kMaxSeed;
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
    // Dense reading turn first (an earlier turn: supervised where the prompt holds it verbatim, checked
    // below).
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

    // An unanswerable last question (answered "not shown"), then the image's text before the first one.
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    if (o.notShownProbability > 0 && static_cast<double>(h >> 11) * 0x1.0p-53 < o.notShownProbability)
        qas.back() = synth::unanswerableQa(sample, h * 0x9E3779B97F4A7C15ULL);
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    if (o.imageTextProbability > 0 && static_cast<double>(h >> 11) * 0x1.0p-53 < o.imageTextProbability)
        qas.front().question = questionWithImageText(
            imageTextOf(sample, o.imageTextMinPixels, o.imageTextMaxLines), qas.front().question);

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
        const std::vector<std::vector<int64_t>> region =
            namingTargets(tok, sample, plan, grid, o.regionMinPixels);
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

constexpr std::uint64_t kWarmupCropsPerImage = 4;
Example makeWarmupExample(const VisionLanguageModel &model, const Tokenizer &tok, const TrainOptions &o,
                          const synth::Options &dataOptions, std::uint64_t streamIndex,
                          std::pair<std::uint64_t, synth::Sample> &cache)
{
    const std::uint64_t imageIndex = streamIndex / kWarmupCropsPerImage;
    // Another stream than the full recipe's (the same bijection, salted), so the two never share an image.
    const std::uint64_t seed =
        (o.seed * 0x9E3779B97F4A7C15ULL + imageIndex * 0xD1B54A32D192ED03ULL + 0x5EED0F3A11ULL) %
        synth::kMaxSeed;
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
    const double zoom =
        std::exp(std::log(1.6) * static_cast<double>((pick * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53);
    const WarmupCrop crop =
        warmupCrop(sample, warmupRegion(sample, o.encoderWarmupCrop, zoom, o.glyphMinPixels, pick),
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
    ex.glyphOverview =
        torch::tensor(std::vector<int64_t>(labels[0].begin(), labels[0].end())).reshape({1, -1});
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

} // namespace uhdlens::lab
