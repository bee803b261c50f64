#include "uhdlens/flops.h"

#include "uhdlens/model_facts.h"

namespace uhdlens {

Architecture Architecture::llavaUhdPaper13B()
{
    Architecture a;
    a.name = "LLaVA-UHD (paper, 13B)";
    a.vision = {23, 1024, 4096, 14, true}; // CLIP ViT-L/14-336, hidden state of layer -2 (mm_vision_select_layer)
    a.projector = {64, 5120, 1024, 0};     // one shared perceiver resampler, 64 queries per slice (§4.2)
    a.lm = {40, 5120, 13824, 5120, 32000}; // Vicuna-13B v1.5
    a.layout = TokenLayout::LlavaUhdPaper;
    return a;
}

Architecture Architecture::llava15_13B()
{
    Architecture a = llavaUhdPaper13B();
    a.name = "LLaVA-1.5 (13B)";
    a.projector = {0, 5120, 1024, 5120}; // mlp2x_gelu: 1024 -> 5120 -> 5120 on every patch token
    a.layout = TokenLayout::Llava15;
    return a;
}

Architecture Architecture::minicpmV2()
{
    Architecture a;
    a.name = "MiniCPM-V 2.0";
    a.vision = {26, 1152, 4304, 14, false}; // SigLIP so400m, last block dropped, no class token
    a.projector = {64, 2304, 1152, 0};
    a.lm = {40, 2304, 5760, 2304, 122753};
    a.layout = TokenLayout::MiniCpmV2;
    return a;
}

double visionTowerFlops(const VisionTowerShape &s, int patches)
{
    const double n = patches + (s.classToken ? 1 : 0);
    const double d = s.width;
    const double embed = 2.0 * patches * (3.0 * s.patch * s.patch) * d;
    const double perLayer = 2.0 * n * d * (3 * d) // q, k, v
                            + 2.0 * n * n * d * 2 // scores and weighted sum of values
                            + 2.0 * n * d * d     // output projection
                            + 2.0 * n * d * s.mlp * 2;
    return embed + s.layers * perLayer;
}

double languageModelPrefillFlops(const LanguageModelShape &s, int tokens, int past)
{
    const double t = tokens;
    const double d = s.width;
    // Causal attention: position i attends to past + i + 1 keys.
    const double keys = t * past + t * (t + 1) / 2.0;
    const double perLayer = 2.0 * t * d * (2 * d + 2.0 * s.kvWidth) // q, o and k, v projections
                            + 2.0 * keys * d * 2                     // scores and weighted sum of values
                            + 2.0 * t * d * s.mlp * 3;               // gate, up, down
    const double head = tokens > 0 ? 2.0 * d * s.vocab : 0.0;       // logits of the last position only
    return s.layers * perLayer + head;
}

namespace {

double projectorFlops(const ProjectorShape &p, int patches)
{
    const double n = patches;
    const double d = p.dim;
    if (p.queries == 0) // LLaVA-1.5 MLP on every patch token
        return 2.0 * n * (p.kvDim * double(p.mlpHidden) + double(p.mlpHidden) * d);
    const double q = p.queries;
    return 2.0 * n * p.kvDim * d        // kv_proj
           + 2.0 * n * d * d * 2        // key and value projections of the attention
           + 2.0 * q * d * d            // query projection
           + 2.0 * q * n * d * 2        // scores and weighted sum
           + 2.0 * q * d * d * 2;       // out_proj and proj
}

} // namespace

FlopEstimate estimateFlops(const Architecture &arch, const SlicePlan &plan, int textTokens)
{
    FlopEstimate e;
    for (const EncodedImage &img : plan.encodedImages()) {
        e.vision += visionTowerFlops(arch.vision, img.patches());
        e.projector += projectorFlops(arch.projector, img.patches());
        ++e.encodedImages;
    }
    e.visualTokens = imagePositions(plan, arch.layout);
    e.languageModel = languageModelPrefillFlops(arch.lm, e.visualTokens + textTokens);
    return e;
}

double paperComputeRatio(Size size, int textTokens)
{
    if (!validateSize(size).empty())
        return 0;
    SlicePolicy uhdPolicy = SlicePolicy::llavaUhd();
    uhdPolicy.maxSlices = 6; // "max 6 slices in the released model" (paper §3, spec §6)
    const SlicePlan uhd = planSlices(size, uhdPolicy);
    const SlicePlan base = planSlices({336, 336}, SlicePolicy::llava15());
    const double a = estimateFlops(Architecture::llavaUhdPaper13B(), uhd, textTokens).total();
    const double b = estimateFlops(Architecture::llava15_13B(), base, textTokens).total();
    return b > 0 ? a / b : 0;
}

} // namespace uhdlens
