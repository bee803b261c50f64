// Internal: what training (core/lab) and the module tests reach in a family beyond inference. The inference
// interface (VisionLanguageModel, model_family.h) has only what the engine calls; a family that can be
// trained also implements TrainableModel (every family does, through FamilyBase in models/family_common.h),
// and the lab gets it with trainableModel(), one checked cast. Nothing here is called on the inference path.
#pragma once

#include "model_family.h"
#include "nn/layers.h"

#include "uhdlens/errors.h"

#include <torch/torch.h>

namespace uhdlens {

class TrainableModel
{
public:
    virtual ~TrainableModel() = default;

    // Full-sequence language-model forward without a cache: embeds [B, T, D] (right-padded batches are fine:
    // attention is causal, so padding after a sequence never affects it). Returns float32 logits of every
    // position, [B, T, vocab]. Runs under autograd when grad mode is on. With `capture`, the decoder layer it
    // names keeps its attention probabilities there (the look loss); Error(InvalidArgument) unless embeds is
    // 3-D.
    virtual torch::Tensor forwardAll(const torch::Tensor &embeds,
                                     nn::AttentionCapture *capture = nullptr) const = 0;

    // The same forward without the output head: the final norm's output [B, T, D]. headLogits() turns chosen
    // rows of it into float32 logits, so training with a large vocabulary (SmolLM2's 49,152) computes the
    // LM head only where a loss reads it: headLogits(forwardNormed(e)) == forwardAll(e).
    virtual torch::Tensor forwardNormed(const torch::Tensor &embeds,
                                        nn::AttentionCapture *capture = nullptr) const = 0;
    virtual torch::Tensor headLogits(const torch::Tensor &normed) const = 0;

    // The decoder's output head (final norm, then LM head) applied straight to `hidden` [..., D], skipping
    // the decoder layers: float32 logits [..., vocab]. Training's token-naming loss reads visual tokens with
    // it, so a token that names its word this way can be copied into an answer by one attention head.
    virtual torch::Tensor readout(const torch::Tensor &hidden) const = 0;
};

// The training interface of `model`. Throws Error(InvalidArgument) naming the family when it has none.
inline const TrainableModel &trainableModel(const VisionLanguageModel &model)
{
    if (const auto *t = dynamic_cast<const TrainableModel *>(&model))
        return *t;
    const std::string family = nameOf(model.family());
    throw Error(ErrorCode::InvalidArgument, "the " + family + " family does not support training", family);
}

} // namespace uhdlens
