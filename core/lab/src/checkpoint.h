// Internal (lab): what training writes and reads: the resumable checkpoint (<out>/checkpoint: parameters,
// AdamW moments, state.json) and the finished model folder Model::load reads.
#pragma once

#include "model_family.h"

#include "uhdlens/lab/training.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace uhdlens::lab {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Checkpoint names of tensors that exist only for training (the glyph head): kept in the checkpoint for
// resume, never in model.safetensors.
inline constexpr const char *kTrainOnlyPrefix = "train_only.";

// The checkpoint in `dir`: model.safetensors (`params`: the model's parameters and the training-only ones,
// the glyph head), optimizer.safetensors (their AdamW moments) and state.json (`state` plus "step").
void saveCheckpoint(const std::string &dir, const NamedTensors &params, torch::optim::AdamW &opt, int step,
                    const nlohmann::json &state);
// Loads what saveCheckpoint wrote into `params` (in place) and `opt`. Training-only tensors (prefix
// kTrainOnlyPrefix) missing from an older checkpoint keep their fresh initialisation.
// Error(TensorShapeMismatch) naming the tensor when a shape differs.
void loadCheckpoint(const std::string &dir, const NamedTensors &params, torch::optim::AdamW &opt);

// What this run saw (not counting steps before a resume), for training_log.json.
struct RunCounts
{
    int64_t images = 0, visualTokens = 0, earlierTurns = 0, supervisedEarlier = 0;
};

// Writes the finished model folder `out`: model.safetensors (the model's parameters in bf16, never the
// training-only ones), config.json (`cfg`), uhdlens.json (suggested questions, what the model can and cannot
// do, the recipe) and training_log.json (loss curve, timings, this run's counts). `state` is the run's
// state.json record (options, earlier_stages, log, encoder_warmup_seconds); `result` its outcome.
void writeModelFolder(const std::string &out, const VisionLanguageModel &model, const nlohmann::json &cfg,
                      const TrainOptions &o, const nlohmann::json &state, const TrainResult &result,
                      int64_t trainOnlyParameters, const RunCounts &counts);

} // namespace uhdlens::lab
