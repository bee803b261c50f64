// Internal (torch-side) contract between the engine (engine.cpp, generation) and the model families
// (models/minicpmv.cpp, models/llava_uhd.cpp, models/uhd_paper.cpp). Only core .cpp files and tests include it.
//
// A family owns three modules — vision encoder, resampler/projector, language model — registered with the
// checkpoint's own tensor names, plus the family's prompt layout and chat template. Weights are read-only after
// load; all per-conversation state lives in KVCache (and the engine's image-embedding cache).
#pragma once

#include "nn/types.h" // TensorHook, KVCache, PixelNorm
#include "uhdlens/engine.h"
#include "uhdlens/model_facts.h"
#include "uhdlens/slice_planner.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace uhdlens {

class Checkpoint; // safetensors.h
class Tokenizer;  // tokenizer.h

// One piece of a prompt: either text token ids, or the visual tokens of encoded image `imageIndex`
// (index into SlicePlan::encodedImages(): 0 = overview, then slices row-major).
struct PromptSegment
{
    std::vector<int64_t> ids; // used when imageIndex < 0
    int imageIndex = -1;
};

// A point in a prompt, counted without knowing tokensPerImage: text ids and image slots before it.
struct PromptMark
{
    int64_t textIds = 0;
    int64_t images = 0;
    int64_t positions(int tokensPerImage) const { return textIds + images * tokensPerImage; }
};

struct Prompt
{
    std::vector<PromptSegment> segments;
    // Where the image span (image_span.h: the slots with their separators and special tokens) starts and ends;
    // equal when the prompt has no image.
    PromptMark imageSpanBegin, imageSpanEnd;
    int64_t positions(int tokensPerImage) const
    {
        int64_t n = 0;
        for (const auto &s : segments)
            n += s.imageIndex >= 0 ? tokensPerImage : static_cast<int64_t>(s.ids.size());
        return n;
    }
    // Positions of the image span: what Model::imagePositions() answers and imagePositions() must equal.
    int64_t imageSpanPositions(int tokensPerImage) const
    {
        return imageSpanEnd.positions(tokensPerImage) - imageSpanBegin.positions(tokensPerImage);
    }
};

// Per-question prompt switches (from GenerationSettings).
struct PromptOptions
{
    bool thinking = false; // the chat template's enable_thinking (families with hasThinkingMode())
};

class VisionLanguageModel
{
public:
    virtual ~VisionLanguageModel() = default;

    virtual Family family() const = 0;
    virtual SlicePolicy policy() const = 0;
    virtual TokenLayout layout() const = 0;
    virtual PixelNorm pixelNorm() const = 0;
    virtual int tokensPerImage() const = 0; // resampler queries per encoded image
    virtual int contextLength() const = 0;
    virtual int hiddenSize() const = 0;     // language-model width D
    virtual int64_t vocabSize() const = 0;

    // Vision encoder + resampler for a batch of same-sized encoded images.
    // pixels: [B, 3, H, W] normalised, in the compute dtype, on the model's device; H, W multiples of 14.
    // Returns [B, tokensPerImage, D] in the compute dtype. Calls hook("vision", [B, h*w, C]) etc. when given.
    virtual torch::Tensor encodeImages(const torch::Tensor &pixels, const TensorHook &hook = {}) const = 0;

    // Text embeddings for token ids [T] -> [T, D], including any family scaling (MiniCPM's scale_emb).
    virtual torch::Tensor embedTokens(const torch::Tensor &ids) const = 0;

    // Runs the language model over embeds [T, D] appended after the cache's positions; updates the cache and
    // returns float32 logits of the *last* position, shape [vocab].
    virtual torch::Tensor forward(const torch::Tensor &embeds, KVCache &cache) const = 0;

    // Builds the full prompt for one turn (chat template, BOS, history, image slots in the family's layout
    // §4.1/§4.3, the question) — the image goes into the first user turn of the conversation.
    virtual Prompt buildPrompt(const SlicePlan &plan, const std::vector<Turn> &history,
                               const std::string &question, const Tokenizer &tokenizer) const = 0;

    // The same with the per-question switches of GenerationSettings (engine.h). Families without such a
    // switch build the plain prompt; only those with hasThinkingMode() read `thinking`.
    virtual Prompt buildPromptWith(const SlicePlan &plan, const std::vector<Turn> &history,
                                   const std::string &question, const Tokenizer &tokenizer,
                                   const PromptOptions & /*options*/) const
    {
        return buildPrompt(plan, history, question, tokenizer);
    }
    // Whether the chat template has a thinking switch (MiniCPM-V 4.5's enable_thinking).
    virtual bool hasThinkingMode() const { return false; }

    // Token ids that end generation (e.g. </s>, <|im_end|>) and text stop strings of the chat template.
    virtual std::vector<int64_t> stopTokenIds(const Tokenizer &tokenizer) const = 0;
    virtual std::vector<std::string> stopStrings() const { return {}; }

    // All parameters, named exactly as in the checkpoint (for loading, make-tiny and training).
    virtual std::vector<std::pair<std::string, torch::Tensor>> namedParameters() const = 0;
    virtual torch::Device device() const = 0;
    virtual torch::Dtype dtype() const = 0;

    // --- additions (models helper; all additive) -------------------------------------------------------------
    // (Training's full-sequence forward and readout are not here: trainable_model.h.)

    // Parameter-name prefixes that live in the separate vision-tower folder when one is given (LoadOptions::
    // visionDir), e.g. {"vision_model."} for the LLaVA-UHD release; empty when everything is in the model folder.
    virtual std::vector<std::string> visionTowerPrefixes() const { return {}; }

    // The config.json the model was created from (defaults filled in).
    virtual const nlohmann::json &config() const = 0;
    // Names of the parameters that are only ever used as matrix operands through nn::linear or an embedding
    // lookup, so they may stay stored in bf16 while activations are f32 (mixed mode, nn/mixed_linear.h):
    // every Linear weight, the resampler's packed in_proj_weight and the token-embedding table.
    virtual std::set<std::string> matrixParameterNames() const { return {}; }
    // The named modules of the parameter tree (names as namedParameters' prefixes), for a loader that hands a
    // layer's forward elsewhere (GGUF quantized matrices: nn::Linear's `quantized`); empty when not exposed.
    virtual std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> namedModules() const
    {
        return {};
    }
};

// How createFamilyModel allocates parameters. Parameters are created with torch::empty (untouched memory, so a
// 2.4B model costs nothing before the loader replaces the storage) unless initRandom() is called.
struct FamilyBuildOptions
{
    torch::Dtype dtype = torch::kFloat32;
    torch::Device device = torch::kCPU;
};

// Creates the family's modules from config.json with uninitialised weights (torch::empty, lazily committed
// memory), in options.dtype on options.device (default: CPU float32). visionConfig: the vision folder's
// config.json (LLaVA-UHD release), or nullptr. Throws Error(UnknownFamily) / Error(ConfigInvalid) naming the key.
std::unique_ptr<VisionLanguageModel> createFamilyModel(const nlohmann::json &config, const nlohmann::json *visionConfig,
                                                       const FamilyBuildOptions &options = {});

// Fills every parameter with the family's random initialisation (normal(0, 0.02) for linear/embedding weights,
// zero biases, unit norm weights, exact sin-cos tables for stored position tables), deterministically from seed.
// For make-tiny and training.
void initRandom(VisionLanguageModel &model, uint64_t seed);

// A small config.json for a family: hidden 64-128, 2 layers, a vocab for a small sentencepiece model; its
// "uhdlens_special_tokens" lists the user-defined pieces the tokenizer must contain (make-tiny trains
// sentencepiece with them; familySpecialTokens() in uhdlens/model_facts.h). llava-uhd's tiny config embeds its
// CLIP "vision_config" and its vision tensors (vision_model.*) live in the same checkpoint.
nlohmann::json tinyConfig(Family family);
// The real-size config of a family for benchmarks: minicpmv = MiniCPM-V 2.0 (spec §5.2). Throws
// Error(UnknownFamily) for families without one.
nlohmann::json realConfig(Family family);

// Assembles the input embeddings of a prompt: text segments through embedTokens (with the family's scaling),
// image segments from imageTokens[imageIndex] ([N, tokensPerImage, D], raw resampler outputs as the references
// do). Returns [positions, D] in the model's dtype. Throws Error(InvalidArgument) for an out-of-range index.
torch::Tensor embedPrompt(const VisionLanguageModel &model, const Prompt &prompt, const torch::Tensor &imageTokens);

// The tokenizer files a family reads: tokenizer.model (SentencePiece) or a Hugging Face byte-level BPE
// (tokenizer.json, or vocab.json + merges.txt; Tokenizer::loadBpe).
enum class TokenizerFormat
{
    SentencePiece,
    ByteLevelBpe
};
TokenizerFormat familyTokenizer(Family family);

// Which family a config.json describes (its model_type, through the family table). Throws Error(UnknownFamily)
// naming the key.
Family detectFamily(const nlohmann::json &config);

} // namespace uhdlens
