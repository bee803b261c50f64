// Internal (lab): the encoder warm-up that runs before the full training recipe (TrainOptions::
// encoderWarmupSteps).
#pragma once

#include "model_family.h"
#include "tokenizer.h"

#include "uhdlens/lab/synthdata.h"
#include "uhdlens/lab/training.h"

#include <torch/torch.h>

namespace uhdlens::lab {

// The encoder warm-up (TrainOptions::encoderWarmupSteps): the vision encoder and the glyph head alone, on
// batches of small crops, with their own AdamW (ramp then cosine to minLrRatio). With the token naming loss
// on, the resampler, the projector and the decoder's output head (readout) train too, so the visual tokens
// learn to name words from the same cheap crops. Returns the seconds it took.
double runEncoderWarmup(VisionLanguageModel &model, torch::nn::Linear &glyphHead, const Tokenizer &tok,
                        const TrainOptions &o, const synth::Options &fullData, bool bf16,
                        const TrainProgressCallback &progress);

} // namespace uhdlens::lab
