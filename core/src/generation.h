// Internal (torch-side) text generation: logits processing and sampling, the incremental UTF-8 detokeniser,
// stop-string matching and the token loop the engine drives. Only core .cpp files and tests include it.
//
//     uhdlens::Sampler sampler(settings);                      // seeded: same settings + seed -> same tokens
//     int64_t id = sampler.next(logits, contextIds);           // logits: float32 [vocab]
//
// The pieces are separate so each can be tested against a naive reference (tests/unit/test_generation.cpp).
#pragma once

#include "uhdlens/engine.h"
#include "utf8_stream.h" // Utf8Streamer

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace uhdlens {

// --- logits processors (each returns a new tensor; input float32 [V]) ------------------------------------------

// CTRL / Hugging Face `RepetitionPenaltyLogitsProcessor`: for every distinct id in `previous`, a positive logit
// is divided by `penalty`, a negative one multiplied by it. penalty == 1 is the identity.
torch::Tensor applyRepetitionPenalty(const torch::Tensor &logits, const std::vector<int64_t> &previous,
                                     float penalty);
// Keeps the k largest logits (ties at the k-th value are all kept, as HF's `TopKLogitsWarper`), -inf elsewhere.
// k <= 0 or k >= V: identity.
torch::Tensor applyTopK(const torch::Tensor &logits, int k);
// Nucleus filtering as HF's `TopPLogitsWarper`: keeps the smallest set of most probable tokens whose probability
// mass reaches p (always at least the most probable one), -inf elsewhere. p >= 1: identity.
torch::Tensor applyTopP(const torch::Tensor &logits, float p);

// Chooses the next token: greedy argmax when temperature == 0 (after the repetition penalty), else
// penalty -> /temperature -> top-k -> top-p -> softmax -> one draw from a 64-bit Mersenne twister seeded with
// settings.seed. The draw uses its own RNG (not torch's global generator), so a fixed seed gives the same
// tokens run after run and conversations do not disturb each other.
class Sampler
{
public:
    explicit Sampler(const GenerationSettings &settings);
    int64_t next(const torch::Tensor &logits, const std::vector<int64_t> &previous);
    // A uniform double in [0,1) with 53 random bits (portable: std::uniform_real_distribution is not).
    double uniform();

private:
    GenerationSettings m_settings;
    std::mt19937_64 m_rng;
};

// --- detokenising -----------------------------------------------------------------------------------------------

// The bytes a SentencePiece piece stands for: "▁" (U+2581) -> ' ', byte-fallback "<0xNN>" -> that single byte,
// control pieces (given by the caller) -> nothing; everything else verbatim.
std::string pieceToBytes(const std::string &piece);

// Holds back text that might be the beginning of a stop string, so the stop string itself is never streamed.
class StopStringMatcher
{
public:
    explicit StopStringMatcher(std::vector<std::string> stops);
    struct Result
    {
        std::string emit;     // text safe to show now
        bool stopped = false; // a stop string appeared; `emit` ends right before it
    };
    Result push(const std::string &text);
    std::string flush(); // held-back text once generation ends for another reason

private:
    std::vector<std::string> m_stops;
    std::string m_held;
};

// Maps token ids to text bytes through the tokenizer's pieces, caching each id's bytes.
class PieceDecoder
{
public:
    using PieceLookup = std::function<std::string(int64_t id)>;
    // `controlIds` (BOS, EOS, ...) decode to nothing. `rawBytes`: the lookup already answers the token's
    // bytes (byte-level BPE's tokenBytes), taken verbatim instead of through pieceToBytes.
    PieceDecoder(PieceLookup lookup, std::vector<int64_t> controlIds, bool rawBytes = false);
    const std::string &bytes(int64_t id);

private:
    PieceLookup m_lookup;
    std::vector<int64_t> m_control;
    bool m_rawBytes = false;
    std::unordered_map<int64_t, std::string> m_cache;
};

// --- the token loop ---------------------------------------------------------------------------------------------

struct GenerationIO
{
    // Feeds one generated token to the language model and returns the float32 logits [V] of the next position.
    std::function<torch::Tensor(int64_t id)> step;
    PieceDecoder *decoder = nullptr;
    std::vector<int64_t> stopIds;
    std::vector<std::string> stopStrings;
    std::vector<int64_t> context; // ids seen so far (prompt text), for the repetition penalty
    int maxTokens = 0;            // also bounded by the context left in the model
    bool stripLeadingSpace = true; // SentencePiece's dummy prefix: the answer's first "▁" is not text
};

struct GenerationOutput
{
    std::string text;             // exactly the concatenation of what was streamed
    std::vector<int64_t> ids;     // generated ids, stop token included
    StopReason stopReason = StopReason::MaxTokens;
    int fedTokens = 0;            // ids that went through `step` (the KV cache holds them)
};

// Runs generation from the prompt's last logits. Calls `onText` with whole UTF-8 characters; checks `cancel`
// before every token (so a cancel set inside onText stops before the next callback).
GenerationOutput generate(const torch::Tensor &firstLogits, const GenerationSettings &settings, GenerationIO &io,
                          const std::function<void(const std::string &)> &onText,
                          const std::atomic<bool> *cancel);

// The answer fields of an AskResult from a finished generation that took `decodeMs`: answer, generatedTokens,
// stopReason, cancelled, decodeMs, decodeTokensPerSecond (Conversation::ask and TextChat::ask report the
// same).
void setAnswer(AskResult &result, const GenerationOutput &gen, double decodeMs);

} // namespace uhdlens
