// UHD Lens — SentencePiece tokenizer (tokenizer.model) or byte-level BPE (tokenizer.json, Qwen2 / Qwen3), torch-free.
//
//     auto tok = uhdlens::Tokenizer::load("/models/MiniCPM-V-2/tokenizer.model");
//     std::vector<int64_t> ids = tok->encode("<image>What is this?");   // no BOS; <image> is one id if the
//     std::string text = tok->decode(ids);                               // model defines it as a user symbol
//
// The sentencepiece library is never linked into a process that loads libtorch: libsentencepiece.so.0 exports
// its embedded protobuf-lite, which clashes with libtorch's libprotobuf at start-up. It is reached through a
// small shim library (libuhdlens_spm.so, C ABI) opened at run time with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
// The shim is looked for in: $UHDLENS_SPM_LIBRARY (a file path), the executable's folder, <exe>/../lib,
// <exe>/../lib/uhdlens, the build tree (compile-time path), and the install prefix's lib folder.
//
// Thread-safety: a loaded Tokenizer is immutable; encode/decode may be called from any thread.
// Errors: load() throws Error(FileNotFound) for a missing file, Error(TokenizerInvalid) for anything that is not
// a sentencepiece model (naming the file), Error(Internal) if the shim cannot be found or opened.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace uhdlens {

class BpeTokenizer; // core/src/bpe_tokenizer.h

class Tokenizer
{
public:
    // Loads a serialized sentencepiece ModelProto (tokenizer.model).
    static std::shared_ptr<Tokenizer> load(const std::string &modelFile);
    // Opens a Hugging Face byte-level BPE tokenizer (Qwen2 / Qwen3, MiniCPM-V 2.6 / 4.5): `path` is a model folder
    // (its tokenizer.json, else vocab.json + merges.txt with added_tokens.json / tokenizer_config.json) or one of
    // those files. Token ids equal Hugging Face `tokenizers`' encode(text, add_special_tokens=False); added
    // tokens are split out of the text before pre-tokenization; bos/eos/unk/pad come from tokenizer_config.json.
    // Throws Error(FileNotFound) for missing files, Error(TokenizerInvalid) naming the file and the bad entry.
    static std::shared_ptr<Tokenizer> loadBpe(const std::string &path);
    // Wraps a BPE tokenizer built elsewhere (e.g. from GGUF tokenizer.ggml.* metadata through BpeSpec).
    static std::shared_ptr<Tokenizer> fromBpe(std::shared_ptr<const BpeTokenizer> bpe);
    ~Tokenizer();
    Tokenizer(const Tokenizer &) = delete;
    Tokenizer &operator=(const Tokenizer &) = delete;

    // Token ids of `text` (no BOS/EOS added). User-defined symbols (e.g. <image>, <slice>) appearing in the text
    // become their single id.
    std::vector<int64_t> encode(const std::string &text) const;
    // Like encode(), but without SentencePiece's dummy-prefix space (the model's add_dummy_prefix turned off, as
    // Hugging Face's non-legacy LlamaTokenizer loads it): how the slow LlamaTokenizer with legacy=False (Vicuna
    // v1.5, LLaVA) encodes text that directly follows a special token such as "</s>".
    // Throws Error(TokenizerInvalid) if the model's normalizer settings could not be rewritten.
    std::vector<int64_t> encodeNoDummyPrefix(const std::string &text) const;
    // Like encode(), but every occurrence of one of `specials` (e.g. "<s>", "<image>", "<|im_end|>", which may be
    // control pieces that sentencepiece never produces from text) becomes that piece's single id; the text
    // between them is encoded chunk by chunk, as Hugging Face's slow (legacy) LlamaTokenizer does with added
    // tokens. Longest special wins where several match at one position. Throws Error(TokenizerInvalid) naming
    // the piece if a special is not in the vocabulary.
    std::vector<int64_t> encodeWithSpecials(const std::string &text, const std::vector<std::string> &specials) const;
    // Text of `ids`; control tokens (<s>, </s>) decode to nothing, byte-fallback pieces to their bytes.
    // Throws Error(InvalidArgument) for an id outside [0, vocabSize()).
    std::string decode(const std::vector<int64_t> &ids) const;
    // Piece spelling of one id ("▁the", "<0x0A>", "<image>"). Throws Error(InvalidArgument) if out of range.
    std::string idToPiece(int64_t id) const;
    // Id of an exact piece; unkId() if the vocabulary does not have it.
    int64_t pieceToId(const std::string &piece) const;
    bool hasPiece(const std::string &piece) const;
    // Special ids; -1 when the model has none (e.g. a model trained with bos_id=-1).
    int64_t bosId() const;
    int64_t eosId() const;
    int64_t unkId() const;
    int64_t padId() const;
    int64_t vocabSize() const;
    // True for control pieces (<s>, </s>, ...) — text never encodes to them.
    bool isControl(int64_t id) const;
    const std::string &modelFile() const;
    // The BPE backend (its tokenBytes() is what a streaming decoder feeds to a Utf8Streamer); nullptr for a
    // SentencePiece model. For a BPE model: encodeNoDummyPrefix() equals encode() (there is no dummy prefix),
    // isControl() is true for special added tokens (decode() skips them), idToPiece() is the byte-level spelling
    // ("Ġthe"), pieceToId() answers unkId() (-1 when the model has none) for an unknown piece.
    const BpeTokenizer *bpe() const;

    // Trains a sentencepiece model (modelType "bpe" or "unigram") on `sentences` and writes it to outModelFile.
    // Ids 0..2 are <unk>, <s>, </s> (no pad piece, as Llama's tokenizer); userDefinedSymbols follow and are
    // always kept as single pieces;
    // byte_fallback is on, so every UTF-8 string round-trips through encode/decode. vocabSize must leave room
    // for 256 byte pieces + the symbols + at least a few learned pieces. Throws Error(InvalidArgument) with
    // sentencepiece's reason when training fails (e.g. vocabSize too large for the text).
    static void train(const std::vector<std::string> &sentences, const std::string &outModelFile, int vocabSize,
                      const std::vector<std::string> &userDefinedSymbols, const std::string &modelType = "bpe");

    struct Impl;

private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace uhdlens
