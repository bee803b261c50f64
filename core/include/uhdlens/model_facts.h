// UHD Lens — typed model facts: the model families, devices, dtypes and stop reasons, each an enum with ONE name
// table, and the per-model pixel facts (normalisation, pad colour). No torch, no Qt.
//
//     uhdlens::Dtype t = uhdlens::parseName<uhdlens::Dtype>("bf16");      // throws Error naming the bad value
//     std::string s = uhdlens::nameOf(t);                                  // "bf16"
//     std::vector<std::string> valid = uhdlens::allNames<uhdlens::Dtype>(); // auto, f32, mixed, bf16, f16
//     uhdlens::DeviceChoice d = uhdlens::parseDevice("cuda:1");            // {Device::Cuda, 1}
//
// Strings are parsed once, where they enter (CLI arguments, settings, config.json); inside, only the enums
// travel. The names are the user-visible spellings (CLI JSON, stored settings, model panel) and never change.
// The family table (core/src/models/family_registry.cpp) is one row per family: name, token layout, special
// tokens, tiny config, constructor — adding a family is one row (as llama.cpp's PROJECTOR_TYPE_NAMES in
// tools/mtmd/clip-impl.h). All functions are pure and thread-safe.
#pragma once

#include "uhdlens/slice_planner.h" // TokenLayout, SlicePlan

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhdlens {

// "minicpmv", "llava-uhd", "uhd-paper", "minicpmv26", "minicpmv45"
enum class Family { MiniCpmV, LlavaUhd, UhdPaper, MiniCpmV26, MiniCpmV45 };
enum class Device { Auto, Cpu, Cuda };              // "auto", "cpu", "cuda"
// "auto", "f32", "mixed", "bf16", "f16". mixed: bf16 matrices, f32 arithmetic (CPU). A loaded model's
// ModelInfo::dtype is never Auto. Aliases accepted when parsing: fp32, float32, bfloat16, fp16, float16.
enum class Dtype { Auto, F32, Mixed, Bf16, F16 };
// "eos", "stop-string", "max-tokens", "cancelled"
enum class StopReason { Eos, StopString, MaxTokens, Cancelled };

// The canonical name of a value (one table per enum).
std::string nameOf(Family value);
std::string nameOf(Device value);
std::string nameOf(Dtype value);
std::string nameOf(StopReason value);

// The value a name (or alias) stands for; nullopt for anything else. Exact, case-sensitive match.
template <class E> std::optional<E> fromName(std::string_view name);
// As fromName, but throws Error naming the bad value and listing the valid names: ErrorCode::UnknownFamily for
// Family ("unknown model family 'x' (valid: minicpmv, llava-uhd, uhd-paper)"), InvalidArgument for the others.
// Error::subject() is the bad value.
template <class E> E parseName(std::string_view name);
// The canonical names in table order (for choosers and help texts).
template <class E> std::vector<std::string> allNames();
// "a, b or c": the canonical names for an error or help text.
template <class E> std::string validNamesText();

// A device as chosen by the user: auto, cpu, cuda or cuda:N.
struct DeviceChoice
{
    Device kind = Device::Auto;
    int index = 0; // GPU index for cuda:N (0 for plain "cuda")
    friend bool operator==(const DeviceChoice &, const DeviceChoice &) = default;
};
// "auto" | "cpu" | "cuda" | "cuda:N"; throws Error(InvalidArgument) naming the bad value and the valid names.
DeviceChoice parseDevice(std::string_view text);
// The spelling parseDevice reads back ("cuda" for index 0, "cuda:N" otherwise).
std::string deviceChoiceName(const DeviceChoice &choice);

// --- families -------------------------------------------------------------------------------------------

// How the family lays out visual tokens in the prompt (its spatial schema).
TokenLayout familyLayout(Family family);
// Pieces a tokenizer of the family must know (e.g. "<image>", "<slice>" for minicpmv; none for the Vicuna ones).
std::vector<std::string> familySpecialTokens(Family family);
// The question `uhdlens-cli batch --transcribe` (and the app's Transcribe) asks a model of the family: the text in
// reading order, tables as Markdown, in the phrasing the family answers best (uhd-paper: the one question it was
// trained with for reading). A family without one of its own gets kDefaultTranscriptionPrompt.
std::string transcriptionPrompt(Family family);
inline constexpr const char *kDefaultTranscriptionPrompt =
    "Transcribe all the text in this image in reading order. Write tables as Markdown tables. Reply with the "
    "transcription only.";

// --- what a plan costs in the language model's context --------------------------------------------------

// Positions the image span of `plan` takes in a prompt laid out as `layout` — the visual tokens plus the
// layout's separators and special tokens — counted by walking the same span description the families'
// buildPrompt lays out (core/src/image_span.h), with `tokensPerImage` positions per encoded image (<= 0: the
// layout's default, tokensPerImage(layout)). Without a tokenizer, a text separator is counted with its known
// cost under the reference tokenizers: MiniCPM-V's "\n" between slice rows is encoded as a chunk of its own,
// which Llama's dummy-prefix SentencePiece spells "▁" "<0x0A>" (2 positions). A loaded model answers exactly,
// from its own tokenizer: Model::imagePositions(). 0 for an empty plan.
int imagePositions(const SlicePlan &plan, TokenLayout layout, int tokensPerImage = 0);
// Tokens per encoded image (resampler queries) a layout's reference model uses: 64, 144 or 576.
int tokensPerImage(TokenLayout layout);

// --- pixels ---------------------------------------------------------------------------------------------

// Pixel normalisation of a vision encoder: (x/255 - mean) / std per channel.
struct PixelNorm
{
    float mean[3] = {0.5f, 0.5f, 0.5f};
    float std[3] = {0.5f, 0.5f, 0.5f};
};

struct RgbColour
{
    std::uint8_t r = 0;
    std::uint8_t g = 0;
    std::uint8_t b = 0;
    friend bool operator==(const RgbColour &, const RgbColour &) = default;
};

// LLaVA-1.5 pads to a square with its normalisation mean as a colour, `tuple(int(x*255) for x in
// image_processor.image_mean)` (CLIP's mean 0.48145466, 0.4578275, 0.40821073 -> 122, 116, 104), so the padding
// normalises to ~0. padColourForMean() makes the same colour from any mean (int(): truncation).
inline constexpr RgbColour kClipMeanColour{122, 116, 104};
RgbColour padColourForMean(const float mean[3]);

} // namespace uhdlens
