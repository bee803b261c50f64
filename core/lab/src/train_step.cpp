// One optimisation step of training and its objectives (train_step.h).
#include "train_step.h"

#include "uhdlens/errors.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cmath>

namespace uhdlens::lab {

double scheduleLr(const TrainOptions &o, int step, double timeFraction)
{
    if (step < o.warmupSteps)
        return o.lr * (step + 1) / o.warmupSteps;
    const double stepFraction =
        o.steps > o.warmupSteps ? static_cast<double>(step - o.warmupSteps) / (o.steps - o.warmupSteps) : 1.0;
    const double f = std::clamp(std::max(stepFraction, timeFraction), 0.0, 1.0);
    const double minLr = o.lr * o.minLrRatio;
    return minLr + 0.5 * (o.lr - minLr) * (1.0 + std::cos(M_PI * f));
}

void ParamGroups::add(const std::string &name, const torch::Tensor &t)
{
    (t.dim() >= 2 && name.find("embed") == std::string::npos && name.find("pos") == std::string::npos
         ? decay
         : noDecay)
        .push_back(t);
}

std::vector<torch::Tensor> ParamGroups::all() const
{
    std::vector<torch::Tensor> out = decay;
    out.insert(out.end(), noDecay.begin(), noDecay.end());
    return out;
}

torch::optim::AdamW ParamGroups::optimizer(const TrainOptions &o) const
{
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay,
                        std::make_unique<torch::optim::AdamWOptions>(
                            torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weightDecay)));
    groups.emplace_back(noDecay, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0)));
    return torch::optim::AdamW(std::move(groups));
}

torch::Tensor glyphObjective(const torch::Tensor &logits, const torch::Tensor &targets)
{
    const torch::Tensor perPatch = torch::nn::functional::cross_entropy(
        logits, targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    const torch::Tensor isText = (targets > 0).to(torch::kFloat32);
    return 0.5 * (perPatch * isText).sum() / isText.sum().clamp_min(1) +
           0.5 * (perPatch * (1 - isText)).sum() / (1 - isText).sum().clamp_min(1);
}

torch::Tensor tokenNamingObjective(const TrainableModel &model, const torch::Tensor &tokens,
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

void GlyphTally::add(const torch::Tensor &logits, const torch::Tensor &targets, const torch::Tensor &heights)
{
    torch::NoGradGuard ng;
    const torch::Tensor isText = targets > 0, hit = logits.argmax(-1).eq(targets) & isText;
    const torch::Tensor isLarge = isText & (heights >= kGlyphLargePixels);
    text += isText.sum().item<double>();
    hits += hit.sum().item<double>();
    large += isLarge.sum().item<double>();
    hitsLarge += (hit & isLarge).sum().item<double>();
}

LookResult lookObjective(const torch::Tensor &probs, int head, const std::vector<Example> &batch)
{
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
    if (groups == 0)
        return {};
    const torch::Tensor attention = probs.select(1, head); // [B, T, S]
    const torch::Tensor p =
        attention.index({torch::tensor(pb), torch::tensor(pq), torch::tensor(pk)}).to(torch::kFloat32);
    const torch::Tensor mass = torch::zeros({groups}, p.options()).index_add(0, torch::tensor(pg), p);
    return {-(mass + 1e-6).log().mean(), mass.mean().item<double>()};
}

StepLosses trainStep(const StepModel &m, const TrainOptions &o, const std::vector<Example> &batch, double lr,
                     GlyphTally &glyphTally, NamingTally &namingTally)
{
    for (auto &g : m.optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions &>(g.options()).lr(lr);
    m.optimizer.zero_grad();
    torch::nn::Linear glyphHead = m.glyphHead; // a holder: the same module, callable (forward is not const)
    StepLosses out;
    torch::Tensor loss;
    {
        at::autocast::set_cpu_enabled(m.bf16);
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        std::vector<torch::Tensor> seqs;
        std::vector<int64_t> lengths;
        int64_t maxLen = 0;
        std::vector<torch::Tensor> glyphLogits, glyphTargets, glyphHeights;
        // prepareImages runs under InferenceMode; a clone is an ordinary tensor autograd may save. With the
        // glyph loss on, the hook takes the vision encoder's patch features on their way to the resampler.
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
                    glyphLogits.push_back(glyphHead->forward(features).reshape({-1, m.glyphClasses}));
                    glyphTargets.push_back(labels.reshape({-1}));
                    glyphHeights.push_back(heights.reshape({-1}));
                };
            return m.model.encodeImages(pixels.clone(), hook);
        };
        for (const Example &ex : batch) {
            torch::Tensor tokens = encode(ex.overview, ex.glyphOverview, ex.glyphHeightsOverview);
            if (ex.slices.defined())
                tokens = torch::cat({tokens, encode(ex.slices, ex.glyphSlices, ex.glyphHeightsSlices)}, 0);
            torch::Tensor emb = embedPrompt(m.model, ex.prompt, tokens);
            if (!ex.answerIds.empty())
                emb = torch::cat(
                    {emb, m.model.embedTokens(torch::tensor(ex.answerIds, torch::kLong)).to(emb.dtype())}, 0);
            seqs.push_back(emb);
            lengths.push_back(emb.size(0));
            maxLen = std::max<int64_t>(maxLen, emb.size(0));
        }
        // Right padding: attention is causal, so padding never influences the real positions.
        std::vector<torch::Tensor> padded;
        torch::Tensor targets =
            torch::full({static_cast<int64_t>(batch.size()), maxLen}, kIgnore, torch::kLong);
        torch::Tensor regionTargets = torch::full_like(targets, kIgnore);
        for (std::size_t b = 0; b < batch.size(); ++b) {
            const int64_t len = lengths[b];
            padded.push_back(torch::constant_pad_nd(seqs[b], {0, 0, 0, maxLen - len}));
            targets[static_cast<int64_t>(b)].narrow(0, 0, len).copy_(
                torch::tensor(batch[b].targets, torch::kLong));
            if (!batch[b].regionTargets.empty())
                regionTargets[static_cast<int64_t>(b)].narrow(0, 0, len).copy_(
                    torch::tensor(batch[b].regionTargets, torch::kLong));
            out.positions += len;
        }
        const torch::Tensor input = torch::stack(padded, 0);
        // The look loss reads the attention of the decoder's last layer (lookLayer), captured on this
        // forward.
        nn::AttentionCapture capture{m.lookLayer, {}};
        const torch::Tensor normed =
            m.trainable.forwardNormed(input, o.lookLossWeight > 0 ? &capture : nullptr);
        // The output head only at the positions a loss reads (answers, and visual tokens with region
        // targets): with a 49,152-piece vocabulary the head over every position costs as much as the decoder.
        const torch::Tensor flatTargets = targets.reshape({-1}), flatRegion = regionTargets.reshape({-1});
        const bool region = o.regionLossWeight > 0 && (flatRegion != kIgnore).any().item<bool>();
        const torch::Tensor rows =
            (region ? (flatTargets != kIgnore) | (flatRegion != kIgnore) : flatTargets != kIgnore)
                .nonzero()
                .squeeze(1);
        const torch::Tensor flat =
            m.trainable.headLogits(normed.reshape({-1, normed.size(-1)}).index_select(0, rows))
                .to(torch::kFloat32);
        const auto ce = torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore);
        loss = torch::nn::functional::cross_entropy(flat, flatTargets.index_select(0, rows), ce);
        out.answer = loss.item<double>();
        if (region) {
            const torch::Tensor r =
                torch::nn::functional::cross_entropy(flat, flatRegion.index_select(0, rows), ce);
            out.region = r.item<double>();
            loss = loss + o.regionLossWeight * r;
        }
        if (o.tokenLossWeight > 0) { // the visual tokens as the decoder receives them, read by its head
            const torch::Tensor t = tokenNamingObjective(m.trainable, input.reshape({-1, input.size(-1)}),
                                                         regionTargets.reshape({-1}), namingTally);
            if (t.defined()) {
                out.token = t.item<double>();
                loss = loss + o.tokenLossWeight * t;
            }
        }
        if (capture.probs.defined()) {
            const LookResult look = lookObjective(capture.probs, o.lookHead, batch);
            if (look.loss.defined()) {
                out.look = look.loss.item<double>();
                out.lookMass = look.mass;
                loss = loss + o.lookLossWeight * look.loss;
            }
        }
        if (!glyphLogits.empty()) {
            const torch::Tensor gl = torch::cat(glyphLogits, 0).to(torch::kFloat32);
            const torch::Tensor gt = torch::cat(glyphTargets, 0);
            const torch::Tensor g = glyphObjective(gl, gt);
            out.glyph = g.item<double>();
            loss = loss + o.glyphLossWeight * g;
            glyphTally.add(gl, gt, torch::cat(glyphHeights, 0));
        }
        at::autocast::set_cpu_enabled(false);
    }
    loss.backward();
    at::autocast::clear_cache();
    torch::nn::utils::clip_grad_norm_(m.parameters, o.clipNorm);
    m.optimizer.step();
    out.total = loss.item<double>();
    return out;
}

} // namespace uhdlens::lab
