// The encoder warm-up of training (encoder_warmup.h).
#include "encoder_warmup.h"

#include "train_data.h"
#include "train_step.h"
#include "trainable_model.h"

#include "uhdlens/errors.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <numeric>

namespace uhdlens::lab {

namespace {
using Clock = std::chrono::steady_clock;
} // namespace

double runEncoderWarmup(VisionLanguageModel &model, torch::nn::Linear &glyphHead, const Tokenizer &tok,
                        const TrainOptions &o, const synth::Options &fullData, bool bf16,
                        const TrainProgressCallback &progress)
{
    const bool naming = o.tokenLossWeight > 0;
    const TrainableModel &trainable = trainableModel(model); // the readout of the token naming loss
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
        throw Error(ErrorCode::ConfigInvalid, "the encoder warm-up found no vision encoder parameters",
                    "vision");
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
            const torch::Tensor t =
                tokenNamingObjective(trainable, tokens.reshape({-1, tokens.size(-1)}),
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
                        "the encoder warm-up diverged at step " + std::to_string(step + 1) + "; lower --lr",
                        "lr");
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
            const double dt =
                std::max(1e-9, std::chrono::duration<double>(Clock::now() - windowStart).count());
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

} // namespace uhdlens::lab
