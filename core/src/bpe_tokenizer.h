// Byte-level BPE tokenizer (GPT-2 style, as Qwen2 / Qwen3 and so MiniCPM-V 2.6 / 4.5 use it), torch-free.
//
//     BpeSpec spec = readBpeFolder("/models/MiniCPM-V-2_6"); // tokenizer.json, or vocab.json + merges.txt
//     auto bpe = std::make_shared<const BpeTokenizer>(spec);   // or: a GGUF reader fills BpeSpec itself
//     std::vector<int64_t> ids = bpe->encode("<|im_start|>user\nhello<|im_end|>");
//
// The pipeline mirrors Hugging Face `tokenizers` (tokenizer.json with model BPE, Qwen2's settings):
//   1. added tokens (special or not) are split out of the raw text first, leftmost then longest match;
//   2. each remaining span is NFC-normalised when the file asks for it (Qwen2: normalizer NFC);
//   3. the pre-tokenizer regex (Split, behaviour Isolated) cuts it into words, through PCRE2 with PCRE2_UTF |
//      PCRE2_UCP (\p{L}, \p{N}, \s are Unicode properties, as Oniguruma gives them to `tokenizers`),
//      JIT-compiled when the library has a JIT;
//   4. each word's bytes are mapped to GPT-2's printable alphabet (bytes_to_unicode) and merged by rank,
//      lowest rank first and leftmost on a tie (tokenizers' Word::merge_all), with a heap over a linked list
//      of symbols.
// Decoding maps tokens back to bytes and makes UTF-8 of them, each invalid sequence becoming U+FFFD as Rust's
// String::from_utf8_lossy does (Utf8Streamer, core/src/utf8_stream.h, the engine's streaming decoder).
//
// Thread-safety: a built BpeTokenizer is immutable apart from its word cache, which a mutex guards; encode
// and decode may run on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace uhdlens {

// Everything a byte-level BPE tokenizer is made of, independent of the file it came from. The JSON readers
// below fill it; the GGUF reader fills it from tokenizer.ggml.tokens / merges / token_type / pre.
struct BpeSpec
{
    struct Token
    {
        std::string text; // in the byte-level alphabet ("Ġthe"), or an added token's literal content
        int64_t id = -1;
    };
    struct Added
    {
        std::string content; // literal text ("<|im_end|>"), matched in the raw input before pre-tokenization
        int64_t id = -1;
        bool special = true; // special tokens are control tokens: decode() skips them
    };
    std::vector<Token> vocab;                                // the model's vocabulary
    std::vector<std::pair<std::string, std::string>> merges; // in rank order (rank 0 merges first)
    std::vector<Added> added;                                // added tokens; an id may also be in vocab
    // The pre-tokenizer: an explicit regex (tokenizer.json's Split pattern) or, when empty, the pattern of a
    // named pre-tokenizer (`preName`: "qwen2", as llama.cpp's tokenizer.ggml.pre names it).
    std::string pattern;
    std::string preName = "qwen2";
    bool nfc = true;           // normalizer NFC (Qwen2); false: none
    bool ignoreMerges = false; // BPE ignore_merges: a word that is a vocab entry is taken whole
    // Names of the special tokens (empty: none); they must be vocab or added entries.
    std::string unkToken, bosToken, eosToken, padToken;
    std::string source; // the file (or folder) this came from, for messages
    // vocabSize() is at least this (GGUF's token list counts padding rows that have no token).
    int64_t minVocabSize = 0;
};

// `bytes` in GPT-2's byte-level alphabet (bytes_to_unicode: "\n" -> "Ċ", " the" -> "Ġthe"), as vocab entries are
// spelled (e.g. for writing a tokenizer.json).
std::string byteLevelSpelling(const std::string &bytes);

// The regex of a named pre-tokenizer; Error(TokenizerInvalid) for a name we do not know.
std::string bpePreTokenizerPattern(const std::string &name, const std::string &source);

// Hugging Face tokenizer.json (model.type "BPE"). Reads unk/bos/eos/pad names from a tokenizer_config.json
// beside it when there is one. Errors: Error(FileNotFound) missing, Error(TokenizerInvalid) naming the file
// and the entry for anything else (not JSON, model type not BPE, a pre-tokenizer or normalizer we do not
// implement, bad entries).
BpeSpec readBpeTokenizerJson(const std::string &file);
// The older slow-tokenizer layout: vocab.json + merges.txt in `folder`, added tokens from added_tokens.json
// and tokenizer_config.json's added_tokens_decoder (both optional); the Qwen2 pre-tokenizer and NFC, as
// transformers' Qwen2Tokenizer hard-codes them.
BpeSpec readBpeVocabMerges(const std::string &folder);
// A model folder (tokenizer.json preferred, else vocab.json + merges.txt) or one of those files.
BpeSpec readBpeFolder(const std::string &path);

// The spec from a token list in llama.cpp's GGUF form: tokenizer.ggml.tokens (index = id), token_type
// (llama.cpp's llama_token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), merges
// ("a b" strings, rank order) and pre (the pre-tokenizer name). Control tokens become special added tokens,
// user-defined ones non-special added tokens (convert_hf_to_gguf.py's mapping of tokenizer.json's
// added_tokens), unused ones
// ("[PAD151665]" padding up to the embedding rows) no token at all; normalizer NFC as for Qwen2. Special
// token names are left to the caller (GGUF gives ids: tokens[id]). Error(TokenizerInvalid) naming `source`
// and the entry for a type list of another length, an unknown type or a malformed merge.
BpeSpec bpeSpecFromTokenList(const std::vector<std::string> &tokens, const std::vector<int32_t> &types,
                             const std::vector<std::string> &merges, const std::string &pre,
                             const std::string &source);

class BpeTokenizer
{
public:
    // Builds the tables and compiles the regex. Error(TokenizerInvalid) naming spec.source and the entry for:
    // a duplicate id or token, a negative id, a merge naming a token not in the vocab (or whose result is not
    // in it), a bad regex (PCRE2's message and offset), a named special token that does not exist.
    explicit BpeTokenizer(const BpeSpec &spec);
    ~BpeTokenizer();
    BpeTokenizer(const BpeTokenizer &) = delete;
    BpeTokenizer &operator=(const BpeTokenizer &) = delete;

    // Ids of `text` (UTF-8), as tokenizers' encode(text, add_special_tokens=False): no BOS/EOS added (Qwen2's
    // post-processor adds none). Error(InvalidArgument) if `text` is not valid UTF-8.
    std::vector<int64_t> encode(const std::string &text) const;
    // Text of `ids` as tokenizers' decode(ids, skip_special_tokens=skipSpecial). Error(InvalidArgument)
    // naming the id for an id without a token.
    std::string decode(const std::vector<int64_t> &ids, bool skipSpecial = true) const;
    // The raw bytes token `id` stands for (may be part of a UTF-8 character; an added token's content). Feed
    // them to a Utf8Streamer to stream whole characters.
    std::string tokenBytes(int64_t id) const;
    // Token spelling as tokenizers' id_to_token ("Ġthe", "<|im_end|>"). Error(InvalidArgument) if no token.
    std::string idToToken(int64_t id) const;
    int64_t tokenToId(const std::string &token) const;                             // -1 if absent
    bool isSpecial(int64_t id) const;                                              // a special added token
    int64_t vocabSize() const { return static_cast<int64_t>(m_idToToken.size()); } // largest id + 1
    int64_t unkId() const { return m_unk; }
    int64_t bosId() const { return m_bos; }
    int64_t eosId() const { return m_eos; }
    int64_t padId() const { return m_pad; }
    const std::string &source() const { return m_source; }

private:
    void encodeSpan(const std::string &span, std::vector<int64_t> &out) const; // no added tokens inside
    void encodeWord(const std::string &word, std::vector<int64_t> &out) const; // one pre-tokenized word
    void checkId(int64_t id) const;

    struct Regex;
    std::unique_ptr<Regex> m_regex;
    std::string m_source;
    std::vector<std::string> m_idToToken;                 // "" where an id has no token
    std::vector<std::string> m_bytes;                     // what each token decodes to (tokenBytes)
    std::vector<char> m_hasToken;                         // 1 where an id has a token
    std::vector<char> m_special;                          // 1 for special added tokens
    std::vector<char> m_added;                            // 1 for added tokens (decoded as their content)
    std::unordered_map<std::string, int64_t> m_tokenToId; // vocab and added tokens
    std::unordered_map<uint64_t, std::pair<int32_t, int64_t>>
        m_merges; // (left id, right id) -> (rank, result)
    // Added tokens by first byte, longest first (the leftmost-longest split).
    std::vector<std::vector<std::pair<std::string, int64_t>>> m_addedByByte;
    bool m_nfc = true;
    bool m_ignoreMerges = false;
    int64_t m_unk = -1, m_bos = -1, m_eos = -1, m_pad = -1;

    mutable std::mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<int64_t>> m_cache; // word -> ids
};

} // namespace uhdlens
