// Byte-level BPE tokenizer (bpe_tokenizer.h): Hugging Face `tokenizers`' BPE model with Qwen2's settings.
#include "bpe_tokenizer.h"

#include "utf8_stream.h"

#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <QList>
#include <QString>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <queue>

namespace uhdlens {

namespace {

using nlohmann::json;

// Pre-tokenizer regexes by the names llama.cpp writes to tokenizer.ggml.pre. "qwen2": Qwen2's tokenizer.json
// Split pattern (Qwen2.5 and Qwen3 use the same one).
const std::pair<const char *, const char *> kPatterns[] = {
    {"qwen2",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
};

constexpr std::int64_t kMaxTokenizerBytes = std::int64_t(64) << 20; // Qwen3's tokenizer.json is ~11 MB
constexpr size_t kMaxCachedWord = 256;                              // bytes; longer words are not cached
constexpr size_t kMaxCacheEntries = 100000;

Error invalid(const std::string &source, const std::string &what, const std::string &subject = {})
{
    return Error(ErrorCode::TokenizerInvalid, "tokenizer '" + source + "': " + what,
                 subject.empty() ? source : subject);
}

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100 onwards
// in byte order, so every byte has a visible, non-space character.
const std::array<char32_t, 256> &byteToCodepoint()
{
    static const std::array<char32_t, 256> table = [] {
        std::array<char32_t, 256> t{};
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[b] = printable ? char32_t(b) : next++;
        }
        return t;
    }();
    return table;
}

void appendUtf8(std::string &out, char32_t c)
{
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

// The byte-level spelling of each byte, as UTF-8.
const std::array<std::string, 256> &byteSpelling()
{
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        for (int b = 0; b < 256; ++b)
            appendUtf8(t[b], byteToCodepoint()[b]);
        return t;
    }();
    return table;
}

// Length of the valid UTF-8 prefix of `s` (s.size() when all of it is valid); RFC 3629, no overlongs or
// surrogates.
size_t validUtf8Prefix(const std::string &s)
{
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80)
            len = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return i;
        if (i + len > n)
            return i;
        for (size_t j = 1; j < len; ++j) {
            const auto b = static_cast<unsigned char>(s[i + j]);
            if (j == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80)
                return i;
        }
        i += len;
    }
    return n;
}

// The bytes a token spelled in the byte-level alphabet stands for; as tokenizers' ByteLevel decoder, a token
// with a character outside the alphabet (an added token such as "<|im_end|>" maps fine, a CJK one does not)
// stands for its own UTF-8 bytes.
std::string tokenToBytes(const std::string &token)
{
    static const std::unordered_map<char32_t, unsigned char> reverse = [] {
        std::unordered_map<char32_t, unsigned char> r;
        for (int b = 0; b < 256; ++b)
            r.emplace(byteToCodepoint()[b], static_cast<unsigned char>(b));
        return r;
    }();
    std::string out;
    const QString q = QString::fromUtf8(token.data(), static_cast<qsizetype>(token.size()));
    for (const char32_t c : q.toUcs4()) {
        const auto it = reverse.find(c);
        if (it == reverse.end())
            return token;
        out.push_back(static_cast<char>(it->second));
    }
    return out;
}

uint64_t pairKey(int64_t a, int64_t b)
{
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}

} // namespace

// --- regex -------------------------------------------------------------------------------------------------

struct BpeTokenizer::Regex
{
    pcre2_code *code = nullptr;
    ~Regex()
    {
        if (code)
            pcre2_code_free(code);
    }
};

std::string byteLevelSpelling(const std::string &bytes)
{
    std::string out;
    for (const char c : bytes)
        out += byteSpelling()[static_cast<unsigned char>(c)];
    return out;
}

std::string bpePreTokenizerPattern(const std::string &name, const std::string &source)
{
    for (const auto &[n, p] : kPatterns)
        if (name == n)
            return p;
    throw invalid(source, "unknown pre-tokenizer '" + name + "' (known: qwen2)", name);
}

// --- construction ------------------------------------------------------------------------------------------

BpeTokenizer::BpeTokenizer(const BpeSpec &spec) : m_regex(std::make_unique<Regex>()), m_source(spec.source)
{
    m_nfc = spec.nfc;
    m_ignoreMerges = spec.ignoreMerges;
    const std::string pattern =
        spec.pattern.empty() ? bpePreTokenizerPattern(spec.preName, m_source) : spec.pattern;
    int err = 0;
    PCRE2_SIZE offset = 0;
    m_regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
    if (!m_regex->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        throw invalid(m_source,
                      "bad pre-tokenizer regex at offset " + std::to_string(offset) + ": " +
                          reinterpret_cast<const char *>(msg) + " (pattern: " + pattern + ")",
                      pattern);
    }
    // JIT when the library has one (Debian's does); pcre2_match then uses it, and the interpreter otherwise.
    pcre2_jit_compile(m_regex->code, PCRE2_JIT_COMPLETE);

    int64_t maxId = spec.minVocabSize - 1;
    for (const auto &t : spec.vocab)
        maxId = std::max(maxId, t.id);
    for (const auto &a : spec.added)
        maxId = std::max(maxId, a.id);
    if (maxId >= (int64_t(1) << 31))
        throw invalid(m_source, "token id " + std::to_string(maxId) + " is too large", std::to_string(maxId));
    // The id tables below are sized by the largest id, so the largest id must be backed by the file's own
    // entries: real vocabularies are dense (gaps of a few ids at most), and a 4 KB file naming id 300,000,000
    // must not make us allocate 10 GB (found by fuzzing). Twice the entries, plus a margin, is far beyond any
    // real file's gaps and keeps the tables within a small multiple of the file's size.
    const int64_t entries =
        std::max<int64_t>(spec.minVocabSize, static_cast<int64_t>(spec.vocab.size() + spec.added.size()));
    if (maxId >= 2 * entries + 1024)
        throw invalid(m_source,
                      "token id " + std::to_string(maxId) + " is far past the " + std::to_string(entries) +
                          " tokens the file defines (token ids must be nearly consecutive)",
                      std::to_string(maxId));
    m_idToToken.assign(static_cast<size_t>(maxId + 1), {});
    m_hasToken.assign(m_idToToken.size(), 0);
    m_special.assign(m_idToToken.size(), 0);
    m_added.assign(m_idToToken.size(), 0);

    for (const auto &t : spec.vocab) {
        if (t.id < 0)
            throw invalid(m_source, "token '" + t.text + "' has a negative id " + std::to_string(t.id),
                          t.text);
        if (m_hasToken[t.id])
            throw invalid(m_source,
                          "duplicate id " + std::to_string(t.id) + ": tokens '" + m_idToToken[t.id] +
                              "' and '" + t.text + "'",
                          t.text);
        if (!m_tokenToId.emplace(t.text, t.id).second)
            throw invalid(m_source, "duplicate token '" + t.text + "'", t.text);
        m_idToToken[t.id] = t.text;
        m_hasToken[t.id] = 1;
    }
    m_addedByByte.resize(256);
    for (const auto &a : spec.added) {
        if (a.id < 0)
            throw invalid(m_source, "added token '" + a.content + "' has a negative id", a.content);
        if (a.content.empty())
            throw invalid(m_source, "added token " + std::to_string(a.id) + " is empty",
                          std::to_string(a.id));
        if (validUtf8Prefix(a.content) != a.content.size())
            throw invalid(m_source, "added token " + std::to_string(a.id) + " is not valid UTF-8",
                          std::to_string(a.id));
        if (m_hasToken[a.id] && m_idToToken[a.id] != a.content)
            throw invalid(m_source,
                          "duplicate id " + std::to_string(a.id) + ": tokens '" + m_idToToken[a.id] +
                              "' and '" + a.content + "'",
                          a.content);
        if (const auto it = m_tokenToId.find(a.content); it != m_tokenToId.end() && it->second != a.id)
            throw invalid(m_source,
                          "duplicate token '" + a.content + "' (ids " + std::to_string(it->second) + " and " +
                              std::to_string(a.id) + ")",
                          a.content);
        m_tokenToId[a.content] = a.id;
        m_idToToken[a.id] = a.content;
        m_hasToken[a.id] = 1;
        m_added[a.id] = 1;
        m_special[a.id] = a.special ? 1 : 0;
        auto &bucket = m_addedByByte[static_cast<unsigned char>(a.content[0])];
        if (std::none_of(bucket.begin(), bucket.end(), [&](const auto &e) { return e.first == a.content; }))
            bucket.emplace_back(a.content, a.id);
    }
    m_bytes.resize(m_idToToken.size());
    for (size_t id = 0; id < m_idToToken.size(); ++id)
        if (m_hasToken[id])
            m_bytes[id] = tokenToBytes(m_idToToken[id]);
    for (auto &bucket : m_addedByByte)
        std::stable_sort(bucket.begin(), bucket.end(),
                         [](const auto &x, const auto &y) { return x.first.size() > y.first.size(); });

    m_merges.reserve(spec.merges.size());
    for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
        const auto &[left, right] = spec.merges[rank];
        const std::string label = "merge " + std::to_string(rank) + " '" + left + " " + right + "'";
        const auto l = m_tokenToId.find(left), r = m_tokenToId.find(right),
                   res = m_tokenToId.find(left + right);
        if (l == m_tokenToId.end())
            throw invalid(m_source, label + " names a token not in the vocabulary: '" + left + "'", left);
        if (r == m_tokenToId.end())
            throw invalid(m_source, label + " names a token not in the vocabulary: '" + right + "'", right);
        if (res == m_tokenToId.end())
            throw invalid(m_source, label + " makes a token not in the vocabulary: '" + left + right + "'",
                          left + right);
        // The first (lowest-rank) occurrence of a pair wins, as tokenizers builds its merge map.
        m_merges.emplace(pairKey(l->second, r->second),
                         std::make_pair(static_cast<int32_t>(rank), res->second));
    }

    auto specialId = [&](const std::string &name, const char *what) -> int64_t {
        if (name.empty())
            return -1;
        const auto it = m_tokenToId.find(name);
        if (it == m_tokenToId.end())
            throw invalid(m_source, std::string(what) + " token '" + name + "' is not in the vocabulary",
                          name);
        return it->second;
    };
    m_unk = specialId(spec.unkToken, "unk");
    m_bos = specialId(spec.bosToken, "bos");
    m_eos = specialId(spec.eosToken, "eos");
    m_pad = specialId(spec.padToken, "pad");
}

BpeTokenizer::~BpeTokenizer() = default;

// --- encoding ----------------------------------------------------------------------------------------------

std::vector<int64_t> BpeTokenizer::encode(const std::string &text) const
{
    if (const size_t bad = validUtf8Prefix(text); bad != text.size())
        throw Error(ErrorCode::InvalidArgument,
                    "cannot tokenize text: it is not valid UTF-8 (byte " + std::to_string(bad) + ")",
                    std::to_string(bad));
    std::vector<int64_t> out;
    size_t start = 0; // start of the text not yet encoded
    for (size_t pos = 0; pos < text.size(); ++pos) {
        // Leftmost match, longest at that position (tokenizers' AddedVocabulary: aho-corasick
        // LeftmostLongest).
        for (const auto &[content, id] : m_addedByByte[static_cast<unsigned char>(text[pos])]) {
            if (text.compare(pos, content.size(), content) != 0)
                continue;
            if (pos > start)
                encodeSpan(text.substr(start, pos - start), out);
            out.push_back(id);
            pos += content.size() - 1;
            start = pos + 1;
            break;
        }
    }
    if (start < text.size())
        encodeSpan(text.substr(start), out);
    return out;
}

void BpeTokenizer::encodeSpan(const std::string &raw, std::vector<int64_t> &out) const
{
    std::string span = raw;
    if (m_nfc &&
        std::any_of(raw.begin(), raw.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
        span = QString::fromUtf8(raw.data(), static_cast<qsizetype>(raw.size()))
                   .normalized(QString::NormalizationForm_C)
                   .toStdString();

    pcre2_match_data *md = pcre2_match_data_create_from_pattern(m_regex->code, nullptr);
    if (!md)
        throw Error(ErrorCode::Internal, "out of memory for a PCRE2 match");
    struct Free
    {
        pcre2_match_data *p;
        ~Free() { pcre2_match_data_free(p); }
    } owner{md};
    const auto *subject = reinterpret_cast<PCRE2_SPTR>(span.data());
    size_t at = 0;
    size_t done = 0; // end of the last piece emitted
    uint32_t options = 0;
    while (at <= span.size()) {
        // The text was checked as UTF-8 and NFC keeps it so: no per-call UTF check.
        int rc =
            pcre2_match(m_regex->code, subject, span.size(), at, options | PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) // a very long run on the JIT's default stack: interpret instead
            rc = pcre2_match(m_regex->code, subject, span.size(), at,
                             options | PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            throw Error(ErrorCode::Internal,
                        std::string("pre-tokenizer regex failed: ") + reinterpret_cast<const char *>(msg));
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        const size_t s = ov[0], e = ov[1];
        if (e == s) { // an empty match (not with Qwen2's pattern): no piece, move one character on
            options = 0;
            at = s + 1;
            while (at < span.size() && (static_cast<unsigned char>(span[at]) & 0xC0) == 0x80)
                ++at;
            continue;
        }
        // Split behaviour Isolated: the text between matches is a piece of its own too.
        if (s > done)
            encodeWord(span.substr(done, s - done), out);
        encodeWord(span.substr(s, e - s), out);
        done = at = e;
    }
    if (done < span.size())
        encodeWord(span.substr(done), out);
}

void BpeTokenizer::encodeWord(const std::string &word, std::vector<int64_t> &out) const
{
    const bool cacheable = word.size() <= kMaxCachedWord;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(m_cacheMutex);
        if (const auto it = m_cache.find(word); it != m_cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const auto &spelling = byteSpelling();
    std::vector<int64_t> ids;
    bool whole = false;
    if (m_ignoreMerges) {
        std::string mapped;
        for (const char c : word)
            mapped += spelling[static_cast<unsigned char>(c)];
        if (const auto it = m_tokenToId.find(mapped); it != m_tokenToId.end() && !m_added[it->second]) {
            ids.push_back(it->second);
            whole = true;
        }
    }
    if (!whole) {
        // One symbol per byte, in a doubly linked list; a min-heap of candidate merges (rank, left position).
        struct Symbol
        {
            int64_t id;
            int prev, next;
            bool alive;
        };
        std::vector<Symbol> sym;
        sym.reserve(word.size());
        for (const char c : word) {
            const auto it = m_tokenToId.find(spelling[static_cast<unsigned char>(c)]);
            if (it != m_tokenToId.end())
                sym.push_back({it->second, -1, -1, true});
            else if (m_unk >= 0) // a byte missing from the alphabet (not so in real byte-level vocabularies)
                sym.push_back({m_unk, -1, -1, true});
            // else: tokenizers drops a character it has no token for when the model has no unk token
        }
        const int n = static_cast<int>(sym.size());
        for (int i = 0; i < n; ++i) {
            sym[i].prev = i - 1;
            sym[i].next = i + 1 < n ? i + 1 : -1;
        }
        struct Candidate
        {
            int32_t rank;
            int pos;
            int64_t left, right, result;
            bool operator>(const Candidate &o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
        };
        std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
        auto consider = [&](int pos) {
            if (pos < 0 || sym[pos].next < 0)
                return;
            const auto it = m_merges.find(pairKey(sym[pos].id, sym[sym[pos].next].id));
            if (it != m_merges.end())
                heap.push({it->second.first, pos, sym[pos].id, sym[sym[pos].next].id, it->second.second});
        };
        for (int i = 0; i + 1 < n; ++i)
            consider(i);
        while (!heap.empty()) {
            const Candidate c = heap.top();
            heap.pop();
            // Stale entries (a side already merged into something else) are skipped.
            if (!sym[c.pos].alive || sym[c.pos].next < 0 || sym[c.pos].id != c.left ||
                sym[sym[c.pos].next].id != c.right)
                continue;
            const int right = sym[c.pos].next;
            sym[c.pos].id = c.result;
            sym[right].alive = false;
            sym[c.pos].next = sym[right].next;
            if (sym[right].next >= 0)
                sym[sym[right].next].prev = c.pos;
            consider(sym[c.pos].prev);
            consider(c.pos);
        }
        for (int i = n > 0 ? 0 : -1; i >= 0; i = sym[i].next)
            ids.push_back(sym[i].id);
    }
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::lock_guard<std::mutex> lock(m_cacheMutex);
        if (m_cache.size() >= kMaxCacheEntries)
            m_cache.clear();
        m_cache.emplace(word, std::move(ids));
    }
}

// --- decoding ----------------------------------------------------------------------------------------------

void BpeTokenizer::checkId(int64_t id) const
{
    if (id < 0 || id >= vocabSize() || !m_hasToken[id])
        throw Error(ErrorCode::InvalidArgument,
                    "token id " + std::to_string(id) +
                        (id < 0 || id >= vocabSize()
                             ? " is outside the vocabulary [0, " + std::to_string(vocabSize()) + ")"
                             : " has no token") +
                        " of '" + m_source + "'",
                    std::to_string(id));
}

std::string BpeTokenizer::tokenBytes(int64_t id) const
{
    checkId(id);
    return m_bytes[id];
}

std::string BpeTokenizer::decode(const std::vector<int64_t> &ids, bool skipSpecial) const
{
    std::string bytes;
    for (const int64_t id : ids) {
        checkId(id);
        if (skipSpecial && m_special[id])
            continue;
        bytes += m_bytes[id];
    }
    Utf8Streamer utf8; // invalid sequences -> U+FFFD, as from_utf8_lossy
    std::string text = utf8.push(bytes);
    return text + utf8.flush();
}

std::string BpeTokenizer::idToToken(int64_t id) const
{
    checkId(id);
    return m_idToToken[id];
}

int64_t BpeTokenizer::tokenToId(const std::string &token) const
{
    const auto it = m_tokenToId.find(token);
    return it == m_tokenToId.end() ? -1 : it->second;
}

bool BpeTokenizer::isSpecial(int64_t id) const
{
    checkId(id);
    return m_special[id] != 0;
}

// --- readers -----------------------------------------------------------------------------------------------

namespace {

JsonFileOptions tokenizerJsonOptions()
{
    JsonFileOptions o;
    o.invalid = ErrorCode::TokenizerInvalid;
    o.maxBytes = kMaxTokenizerBytes;
    return o;
}

// A special-token entry of tokenizer_config.json: a string, {"content": ...} or null.
std::string tokenName(const json &cfg, const char *key)
{
    const auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null())
        return {};
    if (it->is_string())
        return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return {};
}

void readSpecialNames(BpeSpec &spec, const std::filesystem::path &folder)
{
    const auto cfg =
        readOptionalJsonFile((folder / "tokenizer_config.json").string(), tokenizerJsonOptions());
    if (!cfg)
        return;
    spec.unkToken = tokenName(*cfg, "unk_token");
    spec.bosToken = tokenName(*cfg, "bos_token");
    spec.eosToken = tokenName(*cfg, "eos_token");
    spec.padToken = tokenName(*cfg, "pad_token");
}

int64_t idOf(const json &v, const std::string &source, const std::string &what)
{
    if (!v.is_number_integer())
        throw invalid(source, what + " has no integer id", what);
    return v.get<int64_t>();
}

std::pair<std::string, std::string> parseMerge(const std::string &line, const std::string &source,
                                               const std::string &where)
{
    // tokenizers splits a string merge at its spaces and wants exactly two parts.
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() ||
        line.find(' ', sp + 1) != std::string::npos)
        throw invalid(source, where + " '" + line + "' is not two tokens separated by one space", line);
    return {line.substr(0, sp), line.substr(sp + 1)};
}

// tokenizer.json's normalizer: null, NFC, or a Sequence of those.
void readNormalizer(const json &n, BpeSpec &spec)
{
    if (n.is_null())
        return;
    if (!n.is_object())
        throw invalid(spec.source, "normalizer is not an object: " + n.dump(), "normalizer");
    const std::string type = n.value("type", "");
    if (type == "NFC") {
        spec.nfc = true;
    } else if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
        for (const json &m : n["normalizers"])
            readNormalizer(m, spec);
    } else {
        throw invalid(spec.source, "normalizer '" + type + "' is not supported (only none or NFC)", type);
    }
}

void readByteLevel(const json &p, const std::string &source)
{
    if (p.value("add_prefix_space", false))
        throw invalid(source, "ByteLevel pre-tokenizer with add_prefix_space is not supported",
                      "add_prefix_space");
}

void readPreTokenizer(const json &p, BpeSpec &spec)
{
    const std::string type = p.is_object() ? p.value("type", "") : "";
    if (type == "ByteLevel") {
        readByteLevel(p, spec.source);
        if (p.value("use_regex", true))
            throw invalid(spec.source, "ByteLevel pre-tokenizer with its own (GPT-2) regex is not supported",
                          "use_regex");
        return;
    }
    if (type == "Split") {
        if (!spec.pattern.empty())
            throw invalid(spec.source, "more than one Split pre-tokenizer is not supported", "Split");
        const json &pat = p.value("pattern", json());
        if (!pat.is_object() || !pat.contains("Regex") || !pat["Regex"].is_string())
            throw invalid(spec.source, "Split pre-tokenizer without a \"Regex\" pattern", "pattern");
        if (p.value("behavior", "") != "Isolated" || p.value("invert", false))
            throw invalid(spec.source,
                          "Split pre-tokenizer behaviour '" + p.value("behavior", "") +
                              "' is not supported (only Isolated, not inverted)",
                          "behavior");
        spec.pattern = pat["Regex"].get<std::string>();
        if (spec.pattern.empty())
            throw invalid(spec.source, "Split pre-tokenizer with an empty regex", "pattern");
        return;
    }
    if (type == "Sequence" && p.contains("pretokenizers") && p["pretokenizers"].is_array()) {
        for (const json &q : p["pretokenizers"])
            readPreTokenizer(q, spec);
        return;
    }
    throw invalid(
        spec.source,
        "pre-tokenizer '" + type + "' is not supported (Split with a regex and ByteLevel, as Qwen2)", type);
}

std::string folderOf(const std::string &file)
{
    return std::filesystem::path(file).parent_path().string();
}

} // namespace

namespace {
BpeSpec readTokenizerJsonChecked(const std::string &file);
BpeSpec readVocabMergesChecked(const std::string &folder);
} // namespace

// nlohmann's type errors (a string where an object belongs, ...) become TokenizerInvalid naming the file.
BpeSpec readBpeTokenizerJson(const std::string &file)
{
    try {
        return readTokenizerJsonChecked(file);
    } catch (const json::exception &e) {
        throw invalid(file, std::string("unexpected structure: ") + e.what(), file);
    }
}

BpeSpec readBpeVocabMerges(const std::string &folder)
{
    try {
        return readVocabMergesChecked(folder);
    } catch (const json::exception &e) {
        throw invalid(folder, std::string("unexpected structure: ") + e.what(), folder);
    }
}

namespace {

BpeSpec readTokenizerJsonChecked(const std::string &file)
{
    const json doc = readJsonFile(file, tokenizerJsonOptions());
    BpeSpec spec;
    spec.source = file;
    spec.nfc = false;
    const json &model = doc.value("model", json());
    if (!model.is_object())
        throw invalid(file, "no \"model\" object", "model");
    const std::string type = model.value("type", model.contains("merges") ? "BPE" : "");
    if (type != "BPE")
        throw invalid(file, "model type '" + type + "' is not supported (only byte-level BPE)", type);
    if (model.value("byte_fallback", false))
        throw invalid(file, "BPE with byte_fallback (a SentencePiece-style model) is not supported",
                      "byte_fallback");
    for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
            throw invalid(file, std::string("BPE with a ") + key + " is not supported", key);
    if (model.contains("dropout") && model["dropout"].is_number() && model["dropout"].get<double>() > 0)
        throw invalid(file, "BPE dropout is not supported", "dropout");
    spec.ignoreMerges = model.value("ignore_merges", false);

    const json &vocab = model.value("vocab", json());
    if (!vocab.is_object())
        throw invalid(file, "model.vocab is not an object of token -> id", "vocab");
    spec.vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it)
        spec.vocab.push_back({it.key(), idOf(it.value(), file, "vocab entry '" + it.key() + "'")});

    const json &merges = model.value("merges", json::array());
    if (!merges.is_array())
        throw invalid(file, "model.merges is not an array", "merges");
    spec.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const json &m = merges[i];
        const std::string where = "merge " + std::to_string(i);
        if (m.is_string())
            spec.merges.push_back(parseMerge(m.get<std::string>(), file, where));
        else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
            spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        else
            throw invalid(file, where + " is neither \"a b\" nor [\"a\", \"b\"]: " + m.dump(), where);
    }

    const json &added = doc.value("added_tokens", json::array());
    if (!added.is_array())
        throw invalid(file, "added_tokens is not an array", "added_tokens");
    for (const json &a : added) {
        if (!a.is_object() || !a.contains("content") || !a["content"].is_string())
            throw invalid(file, "added token without a \"content\" string: " + a.dump(), "added_tokens");
        const std::string content = a["content"].get<std::string>();
        for (const char *flag : {"lstrip", "rstrip", "single_word"})
            if (a.value(flag, false))
                throw invalid(file, "added token '" + content + "' sets " + flag + ", which is not supported",
                              content);
        spec.added.push_back({content, idOf(a.value("id", json()), file, "added token '" + content + "'"),
                              a.value("special", false)});
    }

    readNormalizer(doc.value("normalizer", json()), spec);
    const json &pre = doc.value("pre_tokenizer", json());
    if (pre.is_null())
        throw invalid(file, "no pre_tokenizer (a byte-level BPE needs Split + ByteLevel)", "pre_tokenizer");
    readPreTokenizer(pre, spec);
    if (spec.pattern.empty())
        throw invalid(file, "the pre-tokenizer has no Split regex", "pre_tokenizer");
    const json &decoder = doc.value("decoder", json());
    if (!decoder.is_null() && (!decoder.is_object() || decoder.value("type", "") != "ByteLevel"))
        throw invalid(file, "decoder '" + decoder.value("type", "") + "' is not supported (only ByteLevel)",
                      "decoder");
    if (model.contains("unk_token") && model["unk_token"].is_string())
        spec.unkToken = model["unk_token"].get<std::string>();
    readSpecialNames(spec, folderOf(file));
    return spec;
}

BpeSpec readVocabMergesChecked(const std::string &folder)
{
    const std::filesystem::path dir(folder);
    const std::string vocabFile = (dir / "vocab.json").string(), mergesFile = (dir / "merges.txt").string();
    BpeSpec spec;
    spec.source = vocabFile;
    spec.nfc = true;        // transformers' Qwen2Tokenizer: unicodedata.normalize("NFC", text)
    spec.preName = "qwen2"; // and its hard-coded PRETOKENIZE_REGEX
    const json vocab = readJsonFile(vocabFile, tokenizerJsonOptions());
    for (auto it = vocab.begin(); it != vocab.end(); ++it)
        spec.vocab.push_back({it.key(), idOf(it.value(), vocabFile, "vocab entry '" + it.key() + "'")});

    JsonFileOptions textOptions = tokenizerJsonOptions();
    const std::string text = readSmallFile(mergesFile, textOptions);
    size_t lineNo = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || (lineNo == 1 && line.rfind("#version", 0) == 0))
            continue;
        spec.merges.push_back(parseMerge(line, mergesFile, "line " + std::to_string(lineNo)));
    }
    spec.source = vocabFile + " + merges.txt"; // the pair is the tokenizer: messages name both

    // Added tokens: tokenizer_config.json's added_tokens_decoder (id -> {content, special}) and
    // added_tokens.json (content -> id).
    const auto cfg = readOptionalJsonFile((dir / "tokenizer_config.json").string(), tokenizerJsonOptions());
    std::unordered_map<std::string, bool> specialOf;
    if (cfg && cfg->contains("added_tokens_decoder") && (*cfg)["added_tokens_decoder"].is_object()) {
        const json &dec = (*cfg)["added_tokens_decoder"];
        for (auto it = dec.begin(); it != dec.end(); ++it) {
            const json &a = it.value();
            int64_t id = -1;
            try {
                size_t used = 0;
                id = std::stoll(it.key(), &used);
                if (used != it.key().size())
                    id = -1;
            } catch (const std::exception &) {
            }
            if (id < 0 || !a.is_object() || !a.contains("content") || !a["content"].is_string())
                throw invalid((dir / "tokenizer_config.json").string(),
                              "added_tokens_decoder entry '" + it.key() + "' is not id -> {content, ...}",
                              it.key());
            const std::string content = a["content"].get<std::string>();
            specialOf[content] = a.value("special", false);
            spec.added.push_back({content, id, a.value("special", false)});
        }
    }
    const std::string addedFile = (dir / "added_tokens.json").string();
    if (const auto added = readOptionalJsonFile(addedFile, tokenizerJsonOptions())) {
        std::vector<std::string> named;
        if (cfg)
            for (const char *k : {"unk_token", "bos_token", "eos_token", "pad_token"})
                named.push_back(tokenName(*cfg, k));
        for (auto it = added->begin(); it != added->end(); ++it) {
            const int64_t id = idOf(it.value(), addedFile, "added token '" + it.key() + "'");
            if (const auto s = specialOf.find(it.key()); s != specialOf.end()) {
                const auto same =
                    std::find_if(spec.added.begin(), spec.added.end(),
                                 [&](const BpeSpec::Added &a) { return a.content == it.key(); });
                if (same->id != id)
                    throw invalid(addedFile,
                                  "added token '" + it.key() + "' has id " + std::to_string(id) +
                                      " but tokenizer_config.json gives " + std::to_string(same->id),
                                  it.key());
                continue;
            }
            const bool special = std::find(named.begin(), named.end(), it.key()) != named.end();
            spec.added.push_back({it.key(), id, special});
        }
    }
    readSpecialNames(spec, dir);
    return spec;
}

} // namespace

BpeSpec bpeSpecFromTokenList(const std::vector<std::string> &tokens, const std::vector<int32_t> &types,
                             const std::vector<std::string> &merges, const std::string &pre,
                             const std::string &source)
{
    if (types.size() != tokens.size())
        throw invalid(source,
                      std::to_string(tokens.size()) + " tokens but " + std::to_string(types.size()) +
                          " token types",
                      "token_type");
    BpeSpec spec;
    spec.source = source;
    spec.preName = pre;
    spec.nfc = true;
    spec.minVocabSize = static_cast<int64_t>(tokens.size());
    for (size_t id = 0; id < tokens.size(); ++id) {
        const auto i = static_cast<int64_t>(id);
        switch (types[id]) {
        case 1: // normal
        case 2: // unknown
        case 6: // byte
            spec.vocab.push_back({tokens[id], i});
            break;
        case 3: // control: tokenizer.json's special added tokens
            spec.added.push_back({tokens[id], i, true});
            break;
        case 4: // user-defined: non-special added tokens
            spec.added.push_back({tokens[id], i, false});
            break;
        case 5: // unused: padding rows, no token
            break;
        default:
            throw invalid(source,
                          "token " + std::to_string(id) + " has unknown type " + std::to_string(types[id]),
                          tokens[id]);
        }
    }
    spec.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i)
        spec.merges.push_back(parseMerge(merges[i], source, "merge " + std::to_string(i)));
    return spec;
}

BpeSpec readBpeFolder(const std::string &path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(path);
    if (!fs::exists(p, ec))
        throw Error(ErrorCode::FileNotFound, "tokenizer not found: '" + path + "'", path);
    if (fs::is_directory(p, ec)) {
        if (fs::exists(p / "tokenizer.json", ec))
            return readBpeTokenizerJson((p / "tokenizer.json").string());
        if (fs::exists(p / "vocab.json", ec) || fs::exists(p / "merges.txt", ec))
            return readBpeVocabMerges(path);
        throw Error(ErrorCode::FileNotFound,
                    "no BPE tokenizer in '" + path + "' (neither tokenizer.json nor vocab.json + merges.txt)",
                    path);
    }
    const std::string name = p.filename().string();
    if (name == "vocab.json" || name == "merges.txt")
        return readBpeVocabMerges(p.parent_path().string());
    return readBpeTokenizerJson(path);
}

} // namespace uhdlens
