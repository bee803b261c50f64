// Fuzz entry: a whole GGUF file (core/src/gguf/gguf_file.h) as GgufFile::open sees a mapped file, then what
// is read from its metadata: the LLM config, the mmproj config, the tensor-name table and the BPE tokenizer.
#include "fuzz_entries.h"

#include "bpe_tokenizer.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
#include "uhdlens/errors.h"

#include <algorithm>
#include <vector>

// The file is copied into a buffer of exactly its size, so AddressSanitizer sees any read past its end.
bool fuzz_gguf_header(const uint8_t *data, size_t size)
{
    using namespace uhdlens;
    using namespace uhdlens::gguf;
    const std::vector<uint8_t> file(data, data + size);
    GgufHeader h;
    try {
        h = parseGgufHeader(file.data(), file.size(), "fuzz.gguf");
    } catch (const Error &e) {
        FUZZ_CHECK(e.code() == ErrorCode::CheckpointInvalid);
        return false;
    }
    // What GgufFile::tensor and the quantized kernels rely on: the data section is aligned and inside the
    // file, every tensor's bytes are type x shape, aligned, inside the data section, and no two overlap.
    FUZZ_CHECK(h.alignment != 0 && (h.alignment & (h.alignment - 1)) == 0);
    FUZZ_CHECK(h.dataStart <= file.size());
    FUZZ_CHECK(h.tensors.empty() || h.dataStart % h.alignment == 0);
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const GgufTensorInfo &t : h.tensors) {
        FUZZ_CHECK(!t.ne.empty() && t.ne.size() <= 4);
        const auto &info = quant::ggmlTypeInfo(t.type);
        FUZZ_CHECK(t.ne[0] % info.blockElements == 0);
        const auto bytes = quant::ggmlBytes(info, t.elements());
        FUZZ_CHECK(bytes && static_cast<uint64_t>(*bytes) == t.bytes);
        FUZZ_CHECK(t.offset % h.alignment == 0);
        FUZZ_CHECK(t.offset <= file.size() - h.dataStart && t.bytes <= file.size() - h.dataStart - t.offset);
        FUZZ_CHECK(h.findTensor(t.name) == &t);
        if (t.bytes)
            ranges.emplace_back(t.offset, t.offset + t.bytes);
        (void)mapTensorName(FileKind::Llm, t.name, "llama");
        (void)mapTensorName(FileKind::Mmproj, t.name);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
        FUZZ_CHECK(ranges[i - 1].second <= ranges[i].first);
    // The readers of the metadata refuse with typed errors only.
    try {
        (void)llmConfigJson(h);
    } catch (const Error &) {
    }
    try {
        (void)mmprojVisionConfigJson(h);
    } catch (const Error &) {
    }
    try {
        const BpeTokenizer tok(ggufBpeSpec(h.meta));
        const auto ids = tok.encode("Hello, world 123 <|im_end|>");
        (void)tok.decode(ids, false);
    } catch (const Error &) {
    }
    return true;
}
