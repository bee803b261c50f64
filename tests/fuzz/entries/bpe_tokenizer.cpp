// Fuzz entry: a Hugging Face tokenizer.json through Tokenizer::loadBpe (the byte-level BPE reader, the table
// checks and the PCRE2 compile of the file's pre-tokenizer regex), and, when it loads, an encode/decode round of
// a fixed text with added-token look-alikes, whitespace runs and multi-byte characters, plus every special id.
#include "fuzz_entries.h"

#include "bpe_tokenizer.h"
#include "tokenizer.h"
#include "uhdlens/errors.h"

bool fuzz_bpe_tokenizer(const uint8_t *data, size_t size)
{
    const std::string path = uhdlens::fuzz::scratchDir() + "/tokenizer.json";
    uhdlens::fuzz::writeFile(path, data, size);
    try {
        const auto tok = uhdlens::Tokenizer::loadBpe(path);
        const int64_t vocab = tok->vocabSize();
        FUZZ_CHECK(vocab >= 0 && tok->bpe() != nullptr);
        for (int64_t id : {tok->bosId(), tok->eosId(), tok->unkId(), tok->padId()}) {
            FUZZ_CHECK(id >= -1 && id < vocab);
            if (id >= 0)
                tok->idToPiece(id);
        }
        const std::vector<int64_t> ids = tok->encode(
            "<|im_start|>user\n<image>Describe  it in 3 words:\t\xc3\xa9, \xe6\xbc\xa2\xe5\xad\x97, "
            "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9  \r\n\r\n<|im_end|><|im_");
        for (int64_t id : ids) {
            FUZZ_CHECK(id >= 0 && id < vocab);
            tok->bpe()->tokenBytes(id);
        }
        tok->decode(ids);
        tok->bpe()->decode(ids, /*skipSpecial=*/false);
        return true;
    } catch (const uhdlens::Error &) {
        return false;
    }
}
