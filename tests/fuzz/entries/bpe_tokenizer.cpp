// Fuzz entry: a Hugging Face tokenizer.json through the byte-level BPE reader (readBpeTokenizerJson: the JSON
// structure, the table checks, the PCRE2 compile of the file's pre-tokenizer regex; Tokenizer::loadBpe does
// the same for a file), and, when it builds, an encode/decode round of a fixed text with added-token
// look-alikes, whitespace runs and multi-byte characters.
#include "fuzz_entries.h"

#include "bpe_tokenizer.h"
#include "uhdlens/errors.h"

namespace {
const char kText[] = "<|im_start|>user\n<image>Describe  it in 3 words:\t\xc3\xa9, \xe6\xbc\xa2\xe5\xad\x97, "
                     "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9  \r\n\r\n<|im_end|><|im_";
}

bool fuzz_bpe_tokenizer(const uint8_t *data, size_t size)
{
    const std::string file = uhdlens::fuzz::scratchDir() + "/tokenizer.json";
    uhdlens::fuzz::writeFile(file, data, size);
    try {
        const uhdlens::BpeTokenizer bpe(uhdlens::readBpeTokenizerJson(file));
        const std::vector<int64_t> ids = bpe.encode(kText);
        for (const int64_t id : ids) {
            FUZZ_CHECK(id >= 0 && id < bpe.vocabSize());
            bpe.tokenBytes(id);
        }
        for (const int64_t special : {bpe.bosId(), bpe.eosId(), bpe.unkId(), bpe.padId()})
            FUZZ_CHECK(special >= -1 && special < bpe.vocabSize());
        bpe.decode(ids, /*skipSpecial=*/true);
        bpe.decode(ids, /*skipSpecial=*/false);
        return true;
    } catch (const uhdlens::Error &) {
        return false;
    }
}
