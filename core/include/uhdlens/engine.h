// UHD Lens — inference engine public API (no torch types here).
//
//     auto model = uhdlens::Model::load({.modelDir = "/models/MiniCPM-V-2"});      // weights: shared, read-only
//     uhdlens::Conversation chat(model);                                           // per-conversation state
//     chat.setImage(uhdlens::loadImage("shot.png"));                              // plan uses the model's policy
//     uhdlens::AskCallbacks cb;
//     cb.token = [](const std::string &utf8) { std::cout << utf8 << std::flush; }; // whole UTF-8 characters
//     uhdlens::AskResult r = chat.ask("What does the dialog say?", {}, cb);
//     chat.ask("And the button?", {}, cb);       // follow-up: image tokens come from the cache, no re-encode
//
// Thread-safety: a loaded Model is immutable and may be shared by any number of Conversations on any threads.
// A Conversation is not thread-safe: use it from one thread at a time (the UI's engine worker thread).
// Cancellation: set *AskCallbacks::cancel; it is checked between encoded slices and between generated tokens,
// and ask() then returns with `cancelled = true` (never throws for a cancel).
// Errors: every failure throws uhdlens::Error (errors.h) — ConfigInvalid, UnknownFamily, CheckpointInvalid,
// TensorMissing, TensorShapeMismatch, TokenizerInvalid, ContextOverflow, DeviceUnavailable, InvalidArgument.
#pragma once

#include "uhdlens/model_facts.h"
#include "uhdlens/slice_planner.h"

#include <QImage>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace uhdlens {

struct LoadOptions
{
    std::string modelDir;        // folder with config.json, *.safetensors, tokenizer.model
    std::string visionDir;       // optional second folder for the vision tower (LLaVA-UHD release)
    // GGUF: modelDir may also be a .gguf file (its partner is found in the same folder) or a folder of GGUF
    // files (an LLM file + an mmproj file); `mmproj` names the second file of an explicit pair (any file
    // names, e.g. Ollama's digest blobs).
    std::string mmproj;
    DeviceChoice device;         // auto | cpu | cuda[:N] (parseDevice() reads the user's spelling)
    // auto | f32 | mixed | bf16 | f16 (parseName<Dtype>()). mixed (CPU): matrices stay in the checkpoint's bf16
    // (zero-copy, half the memory of f32), arithmetic in f32 — the same results as f32. auto: bf16 on CPUs with
    // avx512_bf16, else mixed (plain f32 when the checkpoint is not bf16); f16 on CUDA.
    Dtype dtype = Dtype::Auto;
    int threads = 0;             // 0: all cores
};

// Where one setting of a loaded model came from, for the model panel ("which values came from where").
struct SettingSource
{
    std::string key;    // stable id: slice.scale | slice.max | slice.patch | slice.mode | pixel.norm | stop.ids |
                        // tokens.added | weights.llm | weights.mmproj (GGUF) | weights.base (a part taken from
                        // the installed base weights, config.json "base_weights")
    std::string value;  // the value in effect, as text ("448 px", "0.5, 0.5, 0.5 / 0.5, 0.5, 0.5", "2, 7")
    std::string source; // a file of the model folder ("preprocessor_config.json"), "vision/<file>" for the vision
                        // folder, "tokenizer.model", several joined by " + ", or "default" (the family's own value)
};

struct ModelInfo
{
    Family family = Family::MiniCpmV; // nameOf(): "minicpmv" | "llava-uhd" | "uhd-paper"
    std::string name;        // human-readable, from config (or the folder name)
    std::string modelDir;
    std::int64_t parameters = 0;
    std::int64_t weightBytes = 0; // bytes of tensor data in the checkpoint files
    Dtype dtype = Dtype::F32; // dtype actually used: f32, bf16, f16 or mixed (bf16 matrices, f32 arithmetic)
    std::string device;           // device actually used, e.g. "cpu", "cuda:0"
    std::string weightsHash;      // SHA-256 over the safetensors files' bytes (hex), for reproducibility records
    int contextLength = 0;        // max positions of the language model
    SlicePolicy policy;           // the slicing the model was trained with
    TokenLayout layout = TokenLayout::MiniCpmV2;
    int tokensPerImage = 64; // resampler queries per encoded image
    PixelNorm pixelNorm;     // the vision encoder's (x/255 - mean)/std
    RgbColour padColour;     // what a pad-to-square view (llava15) is filled with: padColourForMean(mean)
    std::vector<std::string> warnings;           // e.g. unknown tensors in the checkpoint
    std::vector<std::string> suggestedQuestions; // from the model folder's uhdlens.json, if any
    std::string description;                     // what the model can and cannot do (uhdlens.json), if given
    std::vector<SettingSource> settingSources;   // slicing, pixel normalisation, stop ids: value and file
    bool thinkingMode = false;                   // GenerationSettings::thinking is available (MiniCPM-V 4.5)
};

// fraction in [0,1]; stage is a short English description ("reading weights", "tokenizer", ...).
using LoadProgress = std::function<void(double fraction, const std::string &stage)>;

class Model
{
public:
    // Loads and validates a checkpoint folder. Throws uhdlens::Error.
    static std::shared_ptr<const Model> load(const LoadOptions &options, const LoadProgress &progress = {});
    ~Model();
    const ModelInfo &info() const;
    // Plans an image of `size` with the model's policy, or with `policy` when given.
    SlicePlan plan(Size size, const std::optional<SlicePolicy> &policy = std::nullopt) const;
    // Positions the image span of `plan` takes in this model's prompt (visual tokens, separators, special tokens),
    // read from the prompt the model builds with its own tokenizer — the exact figure imagePositions()
    // (model_facts.h) estimates without a model. Throws Error(TokenizerInvalid) if a layout piece is missing.
    int imagePositions(const SlicePlan &plan) const;

    struct Impl; // defined in core/src (torch-side); not part of the public API
    const Impl &impl() const { return *m_impl; }

private:
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

struct GenerationSettings
{
    int maxNewTokens = 256;
    float temperature = 0.0f; // 0: greedy
    int topK = 0;             // 0: off
    float topP = 1.0f;        // 1: off
    float repetitionPenalty = 1.0f;
    std::uint64_t seed = 0;
    std::vector<std::string> stopStrings;
    // The chat template's thinking mode (MiniCPM-V 4.5's enable_thinking: the answer starts with its
    // reasoning and "</think>"). Off: the template's enable_thinking=false form. Asking with it on a model
    // whose ModelInfo::thinkingMode is false throws Error(InvalidArgument).
    bool thinking = false;
    // Empty if usable, else a reason ("temperature must be between 0 and 5").
    std::string validate() const;
};

struct AskCallbacks
{
    // Called after each encoded image (overview and slices), index 1-based, with its wall time.
    std::function<void(int index, int total, double ms)> sliceEncoded;
    // Called with each new piece of answer text; always whole UTF-8 characters.
    std::function<void(const std::string &utf8)> token;
    const std::atomic<bool> *cancel = nullptr;
};

struct AskResult
{
    std::string answer;
    bool cancelled = false;
    bool imageFromCache = false;   // the image's tokens were reused from an earlier question
    // nameOf(): "eos" | "stop-string" | "max-tokens" | "cancelled"
    StopReason stopReason = StopReason::MaxTokens;
    SlicePlan plan;
    int promptTokens = 0;          // all positions of this turn's prompt (text + image)
    int reusedPromptTokens = 0;    // leading prompt positions whose KV entries were reused from earlier turns
    int imageTokens = 0;           // visual-token positions of the image
    int generatedTokens = 0;
    int imageTextLines = 0; // lines of ask()'s imageText given in this turn (0: none, or given earlier)
    std::vector<double> sliceMs;   // vision encoder + resampler per encoded image (empty when cached)
    double encodeMs = 0;
    double prefillMs = 0;
    double decodeMs = 0;
    double prefillTokensPerSecond = 0;
    double decodeTokensPerSecond = 0;
};

// The user message ask() builds when it gives the model the image's text: a header line, the text's lines, a
// blank line, then the question. `imageText` empty: the question alone.
std::string questionWithImageText(const std::string &imageText, const std::string &question);

struct Turn
{
    std::string question; // the user message as the model saw it (with the image's text, when given)
    std::string answer;
};

class Conversation
{
public:
    explicit Conversation(std::shared_ptr<const Model> model);
    ~Conversation();
    Conversation(const Conversation &) = delete;
    Conversation &operator=(const Conversation &) = delete;

    // Sets the image the following questions are about (Format_RGB888, e.g. from loadImage()). Planning is
    // immediate; encoding happens in the next ask(). Passing the same pixels and plan again keeps the cache.
    void setImage(const QImage &rgb, const std::optional<SlicePolicy> &policy = std::nullopt);
    // The same with a plan the caller already made for `rgb` (the one it showed) and the caller's name for
    // the pixels (as mtmd_bitmap_set_id): the cache is kept while id and plan stay the same, and no pixel is
    // hashed. `imageId` must change whenever the pixels do. Throws Error(InvalidArgument) for an empty id, a
    // plan of another size or an invalid policy, Error(ImageEmpty) for an empty image.
    void setImage(const QImage &rgb, const SlicePlan &plan, const std::string &imageId);
    bool hasImage() const;
    const SlicePlan &plan() const;

    // Answers `question` about the current image, streaming through callbacks. Throws uhdlens::Error.
    // `imageText` (opt-in, empty by default): text recognised in the image, one line each, e.g.
    // TextLayer::promptText() (uhdlens/text_layer.h). The model gets it before the question in the form
    // questionWithImageText() spells, for any family, in the first turn that has it: while the history holds
    // a turn that carried the same text, later turns do not repeat it (the model still sees it there). Lines
    // that would not leave room in the context for the answer (min(maxNewTokens, 128) positions) are dropped
    // from the end; AskResult::imageTextLines says how many were given.
    AskResult ask(const std::string &question, const GenerationSettings &settings = {},
                  const AskCallbacks &callbacks = {}, const std::string &imageText = {});

    const std::vector<Turn> &history() const;
    void clearHistory(); // keeps cached image embeddings
    const Model &model() const;

    struct Impl;

private:
    std::unique_ptr<Impl> m_impl;
};

} // namespace uhdlens
