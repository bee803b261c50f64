// UHD Lens — analytic compute cost of answering about an image (no torch; pure arithmetic, thread-safe).
//
//     uhdlens::SlicePlan plan = uhdlens::planSlices({672, 1088}, uhdlens::SlicePolicy::llavaUhd());
//     auto uhd = uhdlens::estimateFlops(uhdlens::Architecture::llavaUhdPaper13B(), plan);
//     double r = uhdlens::paperComputeRatio({672, 1088});   // ~0.94: LLaVA-UHD vs LLaVA-1.5 at 336x336
//
// Counts multiply-adds as 2 FLOPs for every matrix product of the vision encoder (patch embedding, attention
// projections, attention scores and weighted sums, MLP), the projector (perceiver resampler or LLaVA-1.5's MLP)
// and the language-model prefill over the visual tokens plus `textTokens` (projections, causal attention, MLP,
// and the LM head for the last position). Norms, activations and softmax are ignored (< 1% at these sizes).
#pragma once

#include "uhdlens/slice_planner.h"

#include <string>

namespace uhdlens {

struct VisionTowerShape
{
    int layers = 24;     // blocks actually run (LLaVA takes layer -2 of CLIP-L: 23 of 24)
    int width = 1024;
    int mlp = 4096;
    int patch = 14;
    bool classToken = true;
};

struct ProjectorShape
{
    int queries = 64;         // perceiver resampler queries per encoded image; 0: LLaVA-1.5 MLP projector
    int dim = 5120;           // output width (the LLM's hidden size)
    int kvDim = 1024;         // vision width
    int mlpHidden = 5120;     // LLaVA-1.5 two-layer MLP hidden width (queries == 0 only)
};

struct LanguageModelShape
{
    int layers = 40;
    int width = 5120;
    int mlp = 13824;          // gated (SwiGLU) MLP: three matrices
    int kvWidth = 5120;       // heads_kv * head_dim
    int vocab = 32000;
};

struct Architecture
{
    std::string name;
    VisionTowerShape vision;
    ProjectorShape projector;
    LanguageModelShape lm;
    TokenLayout layout = TokenLayout::LlavaUhdPaper;

    // The paper's LLaVA-UHD: CLIP ViT-L/14-336 (layer -2), shared 64-query resampler, Vicuna-13B.
    static Architecture llavaUhdPaper13B();
    // LLaVA-1.5-13B: same CLIP and LLM, 2-layer MLP projector, 576 tokens for one 336x336 view.
    static Architecture llava15_13B();
    // MiniCPM-V 2.0: SigLIP-400M (26 of 27 blocks), 64-query resampler, MiniCPM-2.4B.
    static Architecture minicpmV2();
};

struct FlopEstimate
{
    double vision = 0;        // all encoded images (overview + slices)
    double projector = 0;
    double languageModel = 0; // prefill of visual + text tokens
    int encodedImages = 0;
    int visualTokens = 0;     // LLM positions taken by the image (incl. separators of the layout)
    double total() const { return vision + projector + languageModel; }
};

// FLOPs of one ViT forward over an image of `patches` patches (the class token added when the shape has one).
double visionTowerFlops(const VisionTowerShape &shape, int patches);
// FLOPs of a causal prefill of `tokens` positions appended after `past` cached ones.
double languageModelPrefillFlops(const LanguageModelShape &shape, int tokens, int past = 0);
// Vision + projector + prefill for `plan` under `arch` (the plan's encoded images, the arch's token layout).
FlopEstimate estimateFlops(const Architecture &arch, const SlicePlan &plan, int textTokens = 0);

// LLaVA-UHD (paper architecture, llava-uhd slicing with at most 6 slices) on an image of `size`, divided by
// LLaVA-1.5-13B on its single 336x336 view — the paper's "94% of the inference computation" at 672x1088.
// Returns 0 for an invalid size.
double paperComputeRatio(Size size, int textTokens = 0);

} // namespace uhdlens
