#include "generation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <unordered_set>

namespace uhdlens {

std::string GenerationSettings::validate() const
{
    if (maxNewTokens < 1 || maxNewTokens > 65536)
        return "max new tokens must be between 1 and 65536";
    if (!std::isfinite(temperature) || temperature < 0.0f || temperature > 5.0f)
        return "temperature must be between 0 and 5";
    if (topK < 0)
        return "top-k must be 0 (off) or positive";
    if (!std::isfinite(topP) || topP <= 0.0f || topP > 1.0f)
        return "top-p must be greater than 0 and at most 1";
    if (!std::isfinite(repetitionPenalty) || repetitionPenalty <= 0.0f || repetitionPenalty > 10.0f)
        return "repetition penalty must be greater than 0 and at most 10";
    for (const auto &s : stopStrings)
        if (s.empty())
            return "stop strings must not be empty";
    return {};
}

torch::Tensor applyRepetitionPenalty(const torch::Tensor &logits, const std::vector<int64_t> &previous,
                                     float penalty)
{
    if (penalty == 1.0f || previous.empty())
        return logits;
    torch::Tensor out = logits.clone();
    const int64_t vocab = out.size(0);
    auto acc = out.accessor<float, 1>();
    std::unordered_set<int64_t> seen;
    for (int64_t id : previous) {
        if (id < 0 || id >= vocab || !seen.insert(id).second)
            continue;
        const float v = acc[id];
        acc[id] = v < 0 ? v * penalty : v / penalty;
    }
    return out;
}

torch::Tensor applyTopK(const torch::Tensor &logits, int k)
{
    if (k <= 0 || k >= logits.size(0))
        return logits;
    // Threshold at the k-th largest value: everything strictly below goes, so ties at the boundary stay (HF).
    const torch::Tensor kth = std::get<0>(torch::topk(logits, k)).index({k - 1});
    return logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
}

torch::Tensor applyTopP(const torch::Tensor &logits, float p)
{
    if (p >= 1.0f)
        return logits;
    // HF sorts ascending and removes the head whose cumulative mass is <= 1 - p; equivalently (descending) a token
    // stays while the mass of the tokens strictly more probable than it is < p.
    auto [sorted, order] = torch::sort(logits, /*dim=*/0, /*descending=*/true);
    const torch::Tensor probs = torch::softmax(sorted.to(torch::kDouble), 0);
    const torch::Tensor before = torch::cumsum(probs, 0) - probs;
    torch::Tensor removeSorted = before >= static_cast<double>(p);
    removeSorted.index_put_({0}, false); // always keep the most probable token
    torch::Tensor remove = torch::zeros_like(removeSorted).scatter(0, order, removeSorted);
    return logits.masked_fill(remove, -std::numeric_limits<float>::infinity());
}

Sampler::Sampler(const GenerationSettings &settings) : m_settings(settings), m_rng(settings.seed) {}

double Sampler::uniform() { return static_cast<double>(m_rng() >> 11) * 0x1.0p-53; }

int64_t Sampler::next(const torch::Tensor &logitsIn, const std::vector<int64_t> &previous)
{
    torch::Tensor logits = logitsIn.to(torch::kCPU, torch::kFloat).contiguous();
    logits = applyRepetitionPenalty(logits, previous, m_settings.repetitionPenalty);
    if (m_settings.temperature <= 0.0f)
        return logits.argmax().item<int64_t>();
    logits = logits / m_settings.temperature;
    logits = applyTopK(logits, m_settings.topK);
    logits = applyTopP(logits, m_settings.topP);
    const torch::Tensor probs = torch::softmax(logits.to(torch::kDouble), 0).contiguous();
    const double *pr = probs.data_ptr<double>();
    const int64_t n = probs.size(0);
    // Inverse-CDF draw in double; the last token with non-zero mass absorbs rounding at the top end.
    const double u = uniform();
    double acc = 0;
    int64_t last = -1;
    for (int64_t i = 0; i < n; ++i) {
        if (pr[i] <= 0)
            continue;
        last = i;
        acc += pr[i];
        if (u < acc)
            return i;
    }
    return last >= 0 ? last : logits.argmax().item<int64_t>();
}

std::string pieceToBytes(const std::string &piece)
{
    // Byte fallback: exactly "<0xNN>" with two hex digits.
    if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            return -1;
        };
        const int hi = hex(piece[3]), lo = hex(piece[4]);
        if (hi >= 0 && lo >= 0)
            return std::string(1, static_cast<char>(hi * 16 + lo));
    }
    static const std::string kSpace = "\xE2\x96\x81"; // U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space
    std::string out;
    out.reserve(piece.size());
    for (size_t i = 0; i < piece.size();) {
        if (piece.compare(i, kSpace.size(), kSpace) == 0) {
            out += ' ';
            i += kSpace.size();
        } else {
            out += piece[i++];
        }
    }
    return out;
}

namespace {

bool isContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

} // namespace

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) : m_stops(std::move(stops))
{
    m_stops.erase(std::remove_if(m_stops.begin(), m_stops.end(), [](const std::string &s) { return s.empty(); }),
                  m_stops.end());
}

StopStringMatcher::Result StopStringMatcher::push(const std::string &text)
{
    m_held += text;
    Result r;
    // Earliest complete stop string wins.
    size_t cut = std::string::npos;
    for (const auto &s : m_stops) {
        const size_t at = m_held.find(s);
        if (at != std::string::npos && at < cut)
            cut = at;
    }
    if (cut != std::string::npos) {
        r.emit = m_held.substr(0, cut);
        r.stopped = true;
        m_held.clear();
        return r;
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const auto &s : m_stops) {
        const size_t maxLen = std::min(s.size() - 1, m_held.size());
        for (size_t len = maxLen; len > hold; --len) {
            if (m_held.compare(m_held.size() - len, len, s, 0, len) == 0) {
                hold = len;
                break;
            }
        }
    }
    // Never split a UTF-8 character: move the boundary back to a character start.
    size_t emitLen = m_held.size() - hold;
    while (emitLen > 0 && emitLen < m_held.size() && isContinuation(static_cast<unsigned char>(m_held[emitLen])))
        --emitLen;
    r.emit = m_held.substr(0, emitLen);
    m_held.erase(0, emitLen);
    return r;
}

std::string StopStringMatcher::flush()
{
    std::string out;
    out.swap(m_held);
    return out;
}

PieceDecoder::PieceDecoder(PieceLookup lookup, std::vector<int64_t> controlIds, bool rawBytes)
    : m_lookup(std::move(lookup)), m_control(std::move(controlIds)), m_rawBytes(rawBytes)
{
}

const std::string &PieceDecoder::bytes(int64_t id)
{
    auto it = m_cache.find(id);
    if (it != m_cache.end())
        return it->second;
    std::string b;
    if (std::find(m_control.begin(), m_control.end(), id) == m_control.end())
        b = m_rawBytes ? m_lookup(id) : pieceToBytes(m_lookup(id));
    return m_cache.emplace(id, std::move(b)).first->second;
}

GenerationOutput generate(const torch::Tensor &firstLogits, const GenerationSettings &settings, GenerationIO &io,
                          const std::function<void(const std::string &)> &onText,
                          const std::atomic<bool> *cancel)
{
    GenerationOutput out;
    Sampler sampler(settings);
    Utf8Streamer utf8;
    std::vector<std::string> stops = io.stopStrings;
    stops.insert(stops.end(), settings.stopStrings.begin(), settings.stopStrings.end());
    StopStringMatcher matcher(std::move(stops));
    std::vector<int64_t> seen = io.context;
    bool atStart = io.stripLeadingSpace;
    auto emit = [&](const std::string &text) {
        if (text.empty())
            return;
        out.text += text;
        if (onText)
            onText(text);
    };
    auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };

    torch::Tensor logits = firstLogits;
    const int maxTokens = std::max(0, io.maxTokens);
    out.stopReason = StopReason::MaxTokens;
    for (int n = 0; n < maxTokens; ++n) {
        if (cancelled()) {
            out.stopReason = StopReason::Cancelled;
            break;
        }
        const int64_t id = sampler.next(logits, seen);
        out.ids.push_back(id);
        seen.push_back(id);
        if (std::find(io.stopIds.begin(), io.stopIds.end(), id) != io.stopIds.end()) {
            out.stopReason = StopReason::Eos;
            break;
        }
        std::string bytes = io.decoder ? io.decoder->bytes(id) : std::string();
        if (atStart && !bytes.empty()) {
            if (bytes[0] == ' ')
                bytes.erase(0, 1);
            atStart = false;
        }
        const auto r = matcher.push(utf8.push(bytes));
        emit(r.emit);
        if (r.stopped) {
            out.stopReason = StopReason::StopString;
            return out; // held-back text is (part of) the stop string: never shown
        }
        if (n + 1 == maxTokens)
            break;
        if (cancelled()) {
            out.stopReason = StopReason::Cancelled;
            break;
        }
        logits = io.step(id);
        ++out.fedTokens;
    }
    const auto r = matcher.push(utf8.flush());
    emit(r.emit);
    if (r.stopped) {
        out.stopReason = StopReason::StopString;
        return out;
    }
    emit(matcher.flush());
    return out;
}

void setAnswer(AskResult &result, const GenerationOutput &gen, double decodeMs)
{
    result.decodeMs = decodeMs;
    result.answer = gen.text;
    result.generatedTokens = static_cast<int>(gen.ids.size());
    result.stopReason = gen.stopReason;
    result.cancelled = gen.stopReason == StopReason::Cancelled;
    result.decodeTokensPerSecond = decodeMs > 0 ? double(result.generatedTokens) * 1000.0 / decodeMs : 0;
}

} // namespace uhdlens
