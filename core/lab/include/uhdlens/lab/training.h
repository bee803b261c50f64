// UHD Lens — training the bundled `uhd-paper` model from scratch on synthetic data (no torch in this header).
//
//     uhdlens::TrainOptions opt;
//     opt.outDir = "resources/models/uhd-lens-tiny";
//     opt.steps = 100000;
//     opt.timeBudgetMinutes = 45;     // the defaults are the shipped model's recipe, its encoder warm-up included
//     uhdlens::TrainResult r = uhdlens::train(opt, [](const uhdlens::TrainProgress &p) { print(p); });
//     opt.resume = true; opt.timeBudgetMinutes = 0; // its last stage: on to step 1200 on larger images
//     opt.steps = 1200; opt.maxSide = 800;            // (uhdlens-train --then-steps 1200 --then-max-side 800)
//     r = uhdlens::train(opt, ...);
//
// It uses the very modules inference uses (createFamilyModel and the family's training interface, the slice
// planner and the engine's preprocessing), so a trained folder loads with Model::load as is. Recipe: AdamW
// (weight decay on matrices only), linear warm-up then cosine decay to minLrRatio*lr, global gradient-norm
// clipping, bf16 autocast where the CPU runs bf16 fast (cpuRunsBf16Fast() in runtime.h, the test inference's
// dtype "auto" uses; fp32 master weights and optimizer state), data rendered on the fly by a worker thread
// (synthdata.h) into a bounded queue. Each step takes `batchImages` images; each image contributes one
// sequence holding up to `turnsPerImage` question/answer turns (loss on answer tokens and end-of-turn only).
// Checkpoints (<out>/checkpoint/{model,optimizer}.safetensors + state.json) every checkpointEvery steps and at
// the end; resume continues the same data stream and schedule. The finished folder holds config.json,
// model.safetensors (bf16), tokenizer.model (trained on synthdata's corpus), uhdlens.json (suggested questions,
// what the model can and cannot do, the recipe) and training_log.json (loss curve, timings).
//
// Needs a QGuiApplication (the data generator renders text). Throws uhdlens::Error (InvalidArgument for bad
// options, ConfigInvalid for a bad config, FileUnreadable for an unwritable output folder).
#pragma once

#include "uhdlens/lab/labels.h"
#include "uhdlens/lab/synthdata.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace uhdlens {

struct TrainOptions
{
    std::string outDir;             // model folder to write (created)
    std::string preset = "tiny";    // "tiny" (the shipped model) or "micro" (seconds; CI smoke test)
    std::string configFile;         // optional config.json overriding the preset
    // "llava-uhd" (the paper's slicing, floor rounding; default), "minicpmv" (half-to-even rounding) or "llava15":
    // the baseline, one low-resolution view (the overview only: max_slice_nums 1), same 64 tokens per view.
    std::string policy = "llava-uhd";
    int maxSlices = -1;              // -1: the preset's (ignored for llava15)
    int steps = 2000;
    double timeBudgetMinutes = 0;    // > 0: also stop when this much wall time has passed; the cosine schedule
                                     // then follows whichever of steps/time is further along
    int batchImages = 16;
    int turnsPerImage = 6;         // all questions of most images (the decoder cost is mostly visual tokens)
    // Dense reading supervision: with this probability an image's sequence starts with an extra turn
    // "Read the text." answered by its text that stays legible at model input (>= readTextMinPixels high after
    // the plan's downscale) in reading order, at most readTextWords words (synth::readingOrderText). Gives tens
    // of supervised words per image instead of one or two (the shipped model trained with 1). 0 turns it off.
    double readTextProbability = 1;
    int readTextWords = 24;
    double readTextMinPixels = 7;
    // Region reading loss (auxiliary, training only): the language model's output at each visual token is
    // also trained to name what lies in that token's box of its view (the resampler's G×G grid over the slice
    // or the overview): the naming piece (namingPiece) of the word whose centre is there, or of the shape's
    // colour, when it is at least regionMinPixels high at model input. Dense, direct supervision of every
    // visual token, so the encoder learns to read without waiting for the decoder to learn where to look.
    // Added to the answer loss times regionLossWeight (0: off). Inference is unchanged.
    double regionLossWeight = 1; // the shipped model's setting (resources/models/README.md)
    double regionMinPixels = 6;
    // Token naming loss (auxiliary, training only): the same targets as the region loss, read from the visual
    // tokens themselves as they enter the decoder, through the decoder's own output head (final norm, LM
    // head; TrainableModel::readout). A token that already names its word at the decoder's input is
    // copied into an answer by a single attention head, as a text token of the prompt would be, instead of
    // waiting for the decoder to build that identity in its layers. The alignment LLaVA's first stage gives a
    // pretrained LLM, done with the generator's labels. Added times tokenLossWeight (0: off). Inference is
    // unchanged. The shipped model trained with 1.
    double tokenLossWeight = 1;
    // Look loss (auxiliary, training only): while the decoder writes the answer to a question about one place
    // (every task but counting), attention head lookHead of its last layer is trained to put its weight on
    // the visual tokens whose boxes cover that place (answerBoxes): -log of the probability mass there. It
    // teaches the one step no other signal gives directly, finding the asked-about token among hundreds,
    // and together with the token naming loss makes reading a copy. Added times lookLossWeight (0: off).
    // Inference is unchanged. The shipped model trained with 1.
    double lookLossWeight = 1;
    int lookHead = 0;
    // Glyph loss (auxiliary, training only): a linear head on the vision encoder's output names, for every
    // patch of every view, the character drawn at the patch's centre (or "none"), when that text is at least
    // glyphMinPixels high at model input (glyphLabels). The densest signal there is — every patch, every
    // view, straight into the ViT — for an encoder that must learn letter shapes from scratch. Added to the
    // loss times glyphLossWeight (0: off). The head is kept in the checkpoint (resume) but never in
    // model.safetensors: inference and the model format are unchanged. The shipped model trained with 1.
    double glyphLossWeight = 1;
    double glyphMinPixels = 6;
    // The resampler: "global" (the arXiv paper's, every query attends to every patch) or "spatial" (the ECCV
    // version's box-local attention; the shipped model). Written into config.json as resampler_attention.
    std::string resamplerAttention = "spatial";
    // The ViT's patch embedding: "linear" (the plain patchify) or "conv" (a convolutional stem before the
    // patch grid, vision_config.patch_embed in config.json: letters learned far faster from scratch, see
    // tests/tools/vit_glyph_probe.py; the shipped model). Baseline and UHD model share the choice.
    std::string patchEmbed = "conv";
    // Encoder warm-up (training only; 0: off): before the full recipe, this many steps train the vision
    // encoder alone, with the glyph loss, on small square crops of generated windows and pages
    // (encoderWarmupCrop px at model input, encoderWarmupBatch crops a step; each crop takes 1-1.6x its side
    // of the original around a legible text, so letters appear at their own size and shrunk as the planner
    // shrinks them). Many cheap steps teach letter shapes far faster than the full recipe's few large ones
    // (resources/models/README.md). Its own AdamW (peak lr, short ramp, cosine), then a checkpoint; the full
    // recipe then starts from step 0 with a fresh optimiser. Its time is not part of --time-budget. The
    // shipped model: 6000 steps (27 minutes on the 2-core CPU).
    int encoderWarmupSteps = 6000;
    int encoderWarmupCrop = 112;
    int encoderWarmupBatch = 16;
    double lr = 2e-3;
    double minLrRatio = 0.05;
    int warmupSteps = 100;
    double weightDecay = 0.05;
    double clipNorm = 1.0;
    std::uint64_t seed = 1;
    int threads = 0;                 // 0: all cores (setThreadCount, runtime.h)
    std::string dtype = "auto";      // auto (bf16 autocast where cpuRunsBf16Fast()) | bf16 | f32
    std::vector<std::string> families; // synthetic families to draw from (window, document, shapes); empty: all
    // Generated image sides. The shipped recipe trains on small images (a few views each: many steps per
    // CPU-hour), then, in its last stage, on sides up to 800 px; the planner is the same at any size, and
    // evaluation covers sides up to 2500 px.
    int minSide = 200;
    int maxSide = 260;
    int minText = 5;
    int maxText = 64;
    int tokenizerVocab = 0;          // 0: the config's vocab_size
    int checkpointEvery = 200;
    bool resume = false;             // continue from <outDir>/checkpoint
    int queueSize = 16;
    int logEvery = 10;
    // "Give the model the image's text" (issue 18): with this probability an image's first question carries
    // the image's text as the engine gives it (questionWithImageText() of engine.h, the lines of a text layer
    // with coarse positions, TextLayer::promptText()), built from the generator's own text boxes — the texts
    // at least imageTextMinPixels high, at most imageTextMaxLines lines — so the model learns to answer from
    // recognised text when the app gives it. 0: off (the from-scratch preset's recipe).
    double imageTextProbability = 0;
    double imageTextMinPixels = 7;
    int imageTextMaxLines = 30;
    // With this probability an image's last question is replaced by one its image cannot answer (another
    // family's question, a button colour it does not have: synth::unanswerableQa), answered
    // synth::kNotShownAnswer, so the model says so instead of inventing a word. 0: off.
    double notShownProbability = 0;
    // Empty if usable, else the reason.
    std::string validate() const;
};

struct TrainProgress
{
    int step = 0;            // steps done
    int steps = 0;           // planned
    double loss = 0;         // this step
    double lossAverage = 0;  // mean over the last logEvery steps
    double regionLoss = 0;   // region reading loss, mean over the last logEvery steps (0 when off)
    double tokenLoss = 0;    // token naming loss, the same window (0 when off)
    double tokenAccuracy = 0; // share of labelled boxes whose token the readout names right, same window
    double lookLoss = 0;      // look loss, the same window (0 when off)
    double lookMass = 0;      // mean attention mass the look head puts on the asked-about boxes, same window
    double glyphLoss = 0;    // glyph loss, mean over the last logEvery steps (0 when off)
    double glyphAccuracy =
        0; // share of text patches (label != none) whose character the head names, same window
    double glyphAccuracyLarge =
        0; // the same over letters at least one patch (kGlyphLargePixels) high at model input
    double lr = 0;
    double imagesPerSecond = 0;
    double tokensPerSecond = 0; // language-model positions per second
    bool encoderWarmup = false; // an encoder warm-up step: step/steps count warm-up steps, only glyph* is set
    double elapsedSeconds = 0;
    double etaSeconds = 0;
    bool checkpointSaved = false;
};

struct TrainResult
{
    int steps = 0;
    double seconds = 0;
    double firstLoss = 0;    // mean of the first logged window of the whole training (resumes included)
    double lastLoss = 0;     // mean of the last logEvery steps
    std::vector<std::pair<int, double>> lossCurve; // (step, mean loss of the window ending there)
    std::int64_t parameters = 0;
    std::string outDir;
};

using TrainProgressCallback = std::function<void(const TrainProgress &)>;

// Trains and writes the model folder. Throws uhdlens::Error.
TrainResult train(const TrainOptions &options, const TrainProgressCallback &progress = {});

// The config.json a preset/policy pair trains (for documentation and tests). Throws Error(InvalidArgument).
// A config with "base_weights" (pretrained parts, core/src/base_weights.h) trains only what the folder
// ships (the resampler): the base parts are frozen. The recipe's defaults for it: no glyph loss and no
// encoder warm-up (they train the vision encoder), no look and region loss (they train the decoder), no
// dense reading turn; the image's text and unanswerable questions on. uhdlens-train applies these to every
// option the command line leaves unset.
TrainOptions baseWeightsDefaults(TrainOptions o);

std::string trainingConfigJson(const std::string &preset, const std::string &policy, int maxSlices = -1,
                               const std::string &resamplerAttention = "global",
                               const std::string &patchEmbed = "linear");

} // namespace uhdlens
