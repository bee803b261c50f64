// Internal (lab): one optimisation step of training and what it is made of: the learning-rate schedule, the
// optimiser's parameter groups, the auxiliary objectives and their accuracy tallies.
#pragma once

#include "train_data.h"
#include "trainable_model.h"

#include "uhdlens/lab/training.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace uhdlens::lab {

// Linear warm-up over o.warmupSteps, then cosine decay to o.minLrRatio * o.lr, following whichever of the
// step count and the time budget (timeFraction, 0..1) is further along.
double scheduleLr(const TrainOptions &o, int step, double timeFraction);

// AdamW (beta 0.9/0.95) with weight decay on matrices only, as is usual for transformers: norms, biases,
// embeddings and position tables are excluded. add() sorts a tensor into its group by name and shape.
struct ParamGroups
{
    std::vector<torch::Tensor> decay, noDecay;
    void add(const std::string &name, const torch::Tensor &t);
    std::vector<torch::Tensor> all() const;
    torch::optim::AdamW optimizer(const TrainOptions &o) const;
};

// The glyph loss over patch logits [P, classes] and labels [P]: text and background patches weigh half each
// (most patches are background, and a plain mean first teaches the head to answer "none" everywhere).
torch::Tensor glyphObjective(const torch::Tensor &logits, const torch::Tensor &targets);

// The token naming loss: visual tokens [N, D] as the decoder receives them, read by its output head
// (TrainableModel::readout), against targets [N] (kIgnore where a box names nothing): cross-entropy over the
// labelled ones. Adds to `tally` how many were labelled and how many the head names right. Undefined when
// none is labelled.
struct NamingTally
{
    double named = 0, right = 0;
    double accuracy() const { return named > 0 ? right / named : 0.0; }
};
torch::Tensor tokenNamingObjective(const TrainableModel &model, const torch::Tensor &tokens,
                                   const torch::Tensor &targets, NamingTally &tally);

// The look loss: where attention head `head` of the captured decoder layer (probs [B, heads, T, S]) looks
// while answering: -log of its probability mass on the boxes of the place asked about, one group per
// (sequence, answer position) of batch[b].lookTargets, averaged. Also returns that mean mass. Undefined loss
// when the batch has no look targets.
struct LookResult
{
    torch::Tensor loss;
    double mass = 0;
};
LookResult lookObjective(const torch::Tensor &probs, int head, const std::vector<Example> &batch);

// The glyph head's accuracy on text patches, overall and on letters >= kGlyphLargePixels at model input.
struct GlyphTally
{
    double hits = 0, text = 0, hitsLarge = 0, large = 0;
    void add(const torch::Tensor &logits, const torch::Tensor &targets, const torch::Tensor &heights);
    double accuracy() const { return text > 0 ? hits / text : 0.0; }
    double accuracyLarge() const { return large > 0 ? hitsLarge / large : 0.0; }
};

// What every step of the full recipe shares: the model (and its training interface), the glyph head (empty
// when off), the decoder layer the look loss reads, whether bf16 autocast is on, the optimiser and the
// parameters it clips.
struct StepModel
{
    VisionLanguageModel &model;
    const TrainableModel &trainable;
    torch::nn::Linear glyphHead{nullptr};
    int64_t glyphClasses = 0;
    int lookLayer = -1;
    bool bf16 = false;
    torch::optim::AdamW &optimizer;
    const std::vector<torch::Tensor> &parameters;
};

// What one step measured. `answer` is the reported loss (comparable across recipes); `total` the optimised
// sum.
struct StepLosses
{
    double total = 0, answer = 0, region = 0, token = 0, look = 0, lookMass = 0, glyph = 0;
    int64_t positions = 0; // language-model positions of the batch
};

// One step of the full recipe on `batch` at learning rate `lr`: forward (bf16 autocast when on), every loss
// the options ask for, backward, gradient clipping, AdamW. Adds the glyph head's and the token readout's hits
// to the tallies.
StepLosses trainStep(const StepModel &m, const TrainOptions &o, const std::vector<Example> &batch, double lr,
                     GlyphTally &glyphTally, NamingTally &namingTally);

} // namespace uhdlens::lab
