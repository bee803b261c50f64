// The training recipe's configuration (recipe.h) and the checks of TrainOptions (training.h).
#include "recipe.h"

#include "model_family.h" // tinyConfig: the family's own config keys, so a renamed key fails loudly

#include "uhdlens/errors.h"
#include "uhdlens/lab/synthdata.h"
#include "uhdlens/lab/training.h"

#include <algorithm>
#include <sstream>

namespace uhdlens {

namespace lab {

using json = nlohmann::json;

namespace {

// Sizes of the two presets. "tiny" is what ships: sized so 2 CPU cores train it from scratch in <= 2 h: a
// 4-layer 128-wide ViT at 224 px pre-training resolution (16x16 = 256 patches per view, which the shared
// 64-query resampler compresses 4:1, as the paper's resampler compresses CLIP's 576 patches), up to 9 slices,
// a 3-layer 192-wide LLaMA decoder, 1024-piece vocabulary; ~2.8 M parameters, ~5.6 MB in bf16. Measured on
// an idle 2-core machine (f32): 3.2 images/s. The first version used 112-px views (8x8 patches, 5.8
// images/s): with at most 6 of them, only 69% of held-out reading questions about >= 10 px text kept >= 7 px
// after the planner's downscale, against 94% with 9 slices of 224 px, so small text was unreadable by
// construction. A 192/256-wide 6+4-layer variant trained at only 0.4 images/s. "micro" only has to show the
// loss falling within a minute for CI.
struct PresetSizes
{
    int scale;
    int maxSlices;
    int visionHidden, visionLayers, visionHeads, visionMlp;
    int hidden, layers, heads, kvHeads, mlp;
    int vocab;
    int context;
};

PresetSizes presetSizes(const std::string &preset)
{
    if (preset == "tiny")
        return {224, 9, 128, 4, 4, 512, 192, 3, 6, 3, 576, 1024, 1024};
    if (preset == "micro")
        return {56, 4, 48, 1, 2, 96, 64, 1, 2, 2, 128, 512, 512};
    throw Error(ErrorCode::InvalidArgument, "unknown training preset '" + preset + "' (tiny or micro)",
                "preset");
}

// Writes a key only where the family's tiny config has it, so a renamed key fails loudly instead of silently.
void setKey(json &cfg, const std::string &path, const json &value)
{
    json *node = &cfg;
    std::stringstream ss(path);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ss, part, '.'))
        parts.push_back(part);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        if (!node->contains(parts[i]))
            throw Error(ErrorCode::ConfigInvalid, "uhd-paper tiny config has no key '" + path + "'", path);
        node = &(*node)[parts[i]];
    }
    if (!node->contains(parts.back()))
        throw Error(ErrorCode::ConfigInvalid, "uhd-paper tiny config has no key '" + path + "'", path);
    (*node)[parts.back()] = value;
}

} // namespace

json buildConfig(const std::string &preset, const std::string &policy, int maxSlices,
                 const std::string &attention, const std::string &patchEmbed)
{
    if (attention != "global" && attention != "spatial")
        throw Error(ErrorCode::InvalidArgument,
                    "resampler attention must be global or spatial, not '" + attention + "'", "resampler");
    if (patchEmbed != "linear" && patchEmbed != "conv")
        throw Error(ErrorCode::InvalidArgument,
                    "patch embedding must be linear or conv, not '" + patchEmbed + "'", "patch_embed");
    const PresetSizes s = presetSizes(preset);
    if (policy != "llava-uhd" && policy != "minicpmv" && policy != "llava15")
        throw Error(ErrorCode::InvalidArgument,
                    "training policy must be llava-uhd, minicpmv or llava15, not '" + policy + "'", "policy");
    json cfg = tinyConfig(Family::UhdPaper);
    setKey(cfg, "vision_config.image_size", s.scale);
    setKey(cfg, "vision_config.hidden_size", s.visionHidden);
    setKey(cfg, "vision_config.num_hidden_layers", s.visionLayers);
    setKey(cfg, "vision_config.num_attention_heads", s.visionHeads);
    setKey(cfg, "vision_config.intermediate_size", s.visionMlp);
    setKey(cfg, "text_config.hidden_size", s.hidden);
    setKey(cfg, "text_config.num_hidden_layers", s.layers);
    setKey(cfg, "text_config.num_attention_heads", s.heads);
    setKey(cfg, "text_config.num_key_value_heads", s.kvHeads);
    setKey(cfg, "text_config.intermediate_size", s.mlp);
    setKey(cfg, "text_config.vocab_size", s.vocab);
    setKey(cfg, "text_config.max_position_embeddings", s.context);
    setKey(cfg, "resampler_num_heads", std::max(1, s.hidden / 64));
    setKey(cfg, "scale_resolution", s.scale);
    // "global": the arXiv paper's resampler (every query sees every patch; the shipped model). "spatial": the
    // ECCV version's box-local attention, which gives every token its own region from step one (with global
    // attention the 64 queries start as near-identical averages of the slice). Baseline and UHD model share
    // the choice.
    setKey(cfg, "resampler_attention", attention);
    // "conv": a convolutional stem before the ViT (uhd_paper.cpp), written only when asked for, so the
    // shipped configs stay what they were. Always with GroupNorm: without it the stem's output starts ~30x
    // smaller than the patchify's (weights drawn at std 0.02) and letters are learned no faster than without
    // a stem (models README, runs H and I).
    if (patchEmbed != "linear") {
        cfg["vision_config"]["patch_embed"] = patchEmbed;
        cfg["vision_config"]["stem_norm"] = "group";
    }
    // The baseline (LLaVA-1.5 style, one low-resolution view): the same recipe with slicing off — the planner
    // then encodes only the overview, the whole image resized to ~scale^2 pixels (aspect kept), 64 tokens.
    if (policy == "llava15") {
        setKey(cfg, "slice_mode", "llava-uhd");
        setKey(cfg, "max_slice_nums", 1);
    } else {
        setKey(cfg, "slice_mode", policy);
        setKey(cfg, "max_slice_nums", maxSlices >= 1 ? maxSlices : s.maxSlices);
    }
    cfg.erase("uhdlens_tiny");
    cfg["torch_dtype"] = "bfloat16";
    cfg["_name_or_path"] = policy == "llava15" ? "uhd-lens-tiny-lowres" : "uhd-lens-tiny";
    return cfg;
}

std::vector<std::string> suggestedQuestions()
{
    return {"What is the window title?",
            "What does the blue button say?",
            "Which word is highlighted?",
            "What is the number in row 2 of the table?",
            "What is the heading?",
            "How many red shapes are there?",
            "What colour is the shape in the top left corner?"};
}

} // namespace lab

std::string TrainOptions::validate() const
{
    if (outDir.empty())
        return "an output folder is required";
    if (preset != "tiny" && preset != "micro")
        return "preset must be tiny or micro";
    if (policy != "llava-uhd" && policy != "minicpmv" && policy != "llava15")
        return "policy must be llava-uhd, minicpmv or llava15";
    if (steps < 1 || steps > 10'000'000)
        return "steps must be between 1 and 10000000";
    for (const std::string &f : families)
        if (!synth::familyFromName(f))
            return "unknown family '" + f + "' (window, document or shapes)";
    if (resamplerAttention != "global" && resamplerAttention != "spatial")
        return "resampler attention must be global or spatial";
    if (patchEmbed != "linear" && patchEmbed != "conv")
        return "patch embedding must be linear or conv";
    if (!(regionLossWeight >= 0 && regionLossWeight <= 100))
        return "region loss weight must be between 0 and 100";
    if (!(tokenLossWeight >= 0 && tokenLossWeight <= 100))
        return "token loss weight must be between 0 and 100";
    if (!(lookLossWeight >= 0 && lookLossWeight <= 100))
        return "look loss weight must be between 0 and 100";
    if (lookHead < 0)
        return "look head must be >= 0";
    if (!(regionMinPixels >= 0 && regionMinPixels <= 1000))
        return "region minimum pixels must be between 0 and 1000";
    if (!(glyphLossWeight >= 0 && glyphLossWeight <= 100))
        return "glyph loss weight must be between 0 and 100";
    if (!(glyphMinPixels >= 0 && glyphMinPixels <= 1000))
        return "glyph minimum pixels must be between 0 and 1000";
    if (encoderWarmupSteps < 0 || encoderWarmupSteps > 10'000'000)
        return "encoder warm-up steps must be between 0 and 10000000";
    if (encoderWarmupCrop < 28 || encoderWarmupCrop > 1024)
        return "encoder warm-up crop must be between 28 and 1024 pixels";
    if (encoderWarmupBatch < 1 || encoderWarmupBatch > 1024)
        return "encoder warm-up batch must be between 1 and 1024 crops";
    if (encoderWarmupSteps > 0 && !families.empty() &&
        std::none_of(families.begin(), families.end(), [](const std::string &f) { return f != "shapes"; }))
        return "the encoder warm-up needs a family with text (window or document)";
    if (batchImages < 1 || batchImages > 1024)
        return "batch must be between 1 and 1024 images";
    if (turnsPerImage < 1 || turnsPerImage > 16)
        return "turns per image must be between 1 and 16";
    if (!(readTextProbability >= 0 && readTextProbability <= 1))
        return "read-text probability must be in [0, 1]";
    if (readTextWords < 1 || readTextWords > 256)
        return "read-text words must be between 1 and 256";
    if (!(readTextMinPixels >= 0 && readTextMinPixels <= 256))
        return "read-text minimum pixel size must be in [0, 256]";
    if (!(imageTextProbability >= 0 && imageTextProbability <= 1))
        return "image-text probability must be in [0, 1]";
    if (!(imageTextMinPixels >= 0 && imageTextMinPixels <= 256))
        return "image-text minimum pixel size must be in [0, 256]";
    if (imageTextMaxLines < 1 || imageTextMaxLines > 1000)
        return "image-text lines must be between 1 and 1000";
    if (!(notShownProbability >= 0 && notShownProbability <= 1))
        return "not-shown probability must be in [0, 1]";
    if (!(lr > 0 && lr < 1))
        return "learning rate must be in (0, 1)";
    if (!(minLrRatio >= 0 && minLrRatio <= 1))
        return "minimum learning-rate ratio must be in [0, 1]";
    if (warmupSteps < 1)
        return "warm-up steps must be >= 1";
    if (!(weightDecay >= 0 && weightDecay < 1))
        return "weight decay must be in [0, 1)";
    if (!(clipNorm > 0))
        return "gradient clip norm must be > 0";
    if (threads < 0 || threads > 1024)
        return "threads must be between 0 and 1024";
    if (dtype != "auto" && dtype != "bf16" && dtype != "f32")
        return "dtype must be auto, bf16 or f32";
    if (maxSlices < -1 || maxSlices > 64)
        return "max slices must be between 0 and 64";
    if (timeBudgetMinutes < 0)
        return "time budget must be >= 0";
    if (checkpointEvery < 1 || logEvery < 1 || queueSize < 1)
        return "checkpoint/log intervals and queue size must be >= 1";
    if (tokenizerVocab < 0)
        return "tokenizer vocab must be >= 0";
    synth::Options d;
    d.minSide = minSide;
    d.maxSide = maxSide;
    d.minText = minText;
    d.maxText = maxText;
    if (const std::string why = d.validate(); !why.empty())
        return why;
    return {};
}

std::string trainingConfigJson(const std::string &preset, const std::string &policy, int maxSlices,
                               const std::string &resamplerAttention, const std::string &patchEmbed)
{
    return lab::buildConfig(preset, policy, maxSlices, resamplerAttention, patchEmbed).dump(2);
}

TrainOptions baseWeightsDefaults(TrainOptions o)
{
    o.glyphLossWeight = 0;    // the encoder is frozen
    o.encoderWarmupSteps = 0; // the same
    o.lookLossWeight = 0;     // the decoder is frozen: its heads cannot be taught where to look
    o.regionLossWeight = 0;
    o.tokenLossWeight = 0;
    o.readTextProbability = 0; // a pretrained decoder already reads out text it is given
    o.imageTextProbability = 0.5;
    o.notShownProbability = 0.1;
    o.lr = 1e-3; // LLaVA's projector-alignment rate
    o.warmupSteps = 30;
    o.batchImages = 4;
    o.turnsPerImage = 3;
    o.minSide = 200;
    o.maxSide = 700;
    o.checkpointEvery = 50;
    return o;
}

} // namespace uhdlens
