// Fuzz entry: a tokenizer.model file through Tokenizer::load (size checks, then the SentencePiece shim's
// ModelProto parse), and, when it loads, an encode/decode round of a fixed text plus lookups of every special
// id.
#include "fuzz_entries.h"

#include "tokenizer.h"
#include "uhdlens/errors.h"

bool fuzz_tokenizer(const uint8_t *data, size_t size)
{
    const std::string path = uhdlens::fuzz::scratchDir() + "/tokenizer.model";
    uhdlens::fuzz::writeFile(path, data, size);
    try {
        const auto tok = uhdlens::Tokenizer::load(path);
        const int64_t vocab = tok->vocabSize();
        FUZZ_CHECK(vocab >= 0);
        for (int64_t id : {tok->bosId(), tok->eosId(), tok->unkId(), tok->padId()}) {
            FUZZ_CHECK(id >= -1 && id < vocab);
            if (id >= 0)
                tok->idToPiece(id);
        }
        const std::vector<int64_t> ids =
            tok->encode("Describe the <image> in 3 words: é, 漢字, \xf0\x9f\x99\x82.\n");
        for (int64_t id : ids)
            FUZZ_CHECK(id >= 0 && id < vocab);
        tok->decode(ids);
        return true;
    } catch (const uhdlens::Error &) {
        return false;
    }
}
