// libuhdlens_spm: C wrapper around sentencepiece (see spm_shim.h for why it exists).
// No C++ object crosses the boundary; every exception is caught here.
#include "spm_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct uhdlens_spm
{
    sentencepiece::SentencePieceProcessor sp;
};

namespace {

void setError(char *err, size_t errlen, const std::string &msg)
{
    if (!err || errlen == 0)
        return;
    const size_t n = msg.size() < errlen - 1 ? msg.size() : errlen - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

char *copyOut(const std::string &s)
{
    char *p = static_cast<char *>(std::malloc(s.size() + 1));
    if (p) {
        std::memcpy(p, s.data(), s.size());
        p[s.size()] = '\0';
    }
    return p;
}

// Feeds sentences from memory (no temporary corpus file).
class VectorIterator : public sentencepiece::SentenceIterator
{
public:
    VectorIterator(const char *const *s, const size_t *l, size_t n) : m_s(s), m_l(l), m_n(n) { load(); }
    bool done() const override { return m_i >= m_n; }
    void Next() override
    {
        ++m_i;
        load();
    }
    const std::string &value() const override { return m_value; }
    sentencepiece::util::Status status() const override { return {}; }

private:
    void load()
    {
        if (m_i < m_n)
            m_value.assign(m_s[m_i], m_l[m_i]);
    }
    const char *const *m_s;
    const size_t *m_l;
    size_t m_n;
    size_t m_i = 0;
    std::string m_value;
};

} // namespace

extern "C" {

int uhdlens_spm_abi_version(void) { return UHDLENS_SPM_ABI_VERSION; }

uhdlens_spm *uhdlens_spm_load(const char *modelBytes, size_t len, char *err, size_t errlen)
{
    try {
        // Owned until returned: LoadFromSerializedProto can throw on a damaged model, and the model leaked then
        // (found by fuzzing: tests/fuzz/tokenizer/regressions/leak-load-throws).
        auto m = std::make_unique<uhdlens_spm>();
        const auto st = m->sp.LoadFromSerializedProto(std::string_view(modelBytes, len));
        if (!st.ok() || m->sp.GetPieceSize() <= 0) {
            setError(err, errlen, st.ok() ? std::string("model has an empty vocabulary") : st.ToString());
            return nullptr;
        }
        return m.release();
    } catch (const std::exception &e) {
        setError(err, errlen, e.what());
    } catch (...) {
        setError(err, errlen, "unknown exception in sentencepiece");
    }
    return nullptr;
}

void uhdlens_spm_release(uhdlens_spm *model) { delete model; }

void uhdlens_spm_free_buffer(void *buffer) { std::free(buffer); }

int uhdlens_spm_encode(const uhdlens_spm *model, const char *text, size_t len, int32_t **ids, size_t *count,
                       char *err, size_t errlen)
{
    try {
        std::vector<int> out;
        const auto st = model->sp.Encode(std::string_view(text, len), &out);
        if (!st.ok()) {
            setError(err, errlen, st.ToString());
            return 1;
        }
        *count = out.size();
        *ids = static_cast<int32_t *>(std::malloc(sizeof(int32_t) * (out.empty() ? 1 : out.size())));
        if (!*ids) {
            setError(err, errlen, "out of memory");
            return 1;
        }
        for (size_t i = 0; i < out.size(); ++i)
            (*ids)[i] = out[i];
        return 0;
    } catch (const std::exception &e) {
        setError(err, errlen, e.what());
    }
    return 1;
}

int uhdlens_spm_decode(const uhdlens_spm *model, const int32_t *ids, size_t count, char **text, size_t *len,
                       char *err, size_t errlen)
{
    try {
        const std::vector<int> in(ids, ids + count);
        std::string out;
        const auto st = model->sp.Decode(in, &out);
        if (!st.ok()) {
            setError(err, errlen, st.ToString());
            return 1;
        }
        *len = out.size();
        *text = copyOut(out);
        if (!*text) {
            setError(err, errlen, "out of memory");
            return 1;
        }
        return 0;
    } catch (const std::exception &e) {
        setError(err, errlen, e.what());
    }
    return 1;
}

int uhdlens_spm_id_to_piece(const uhdlens_spm *model, int32_t id, char **piece, size_t *len)
{
    try {
        const std::string p = model->sp.IdToPiece(id);
        *len = p.size();
        *piece = copyOut(p);
        return *piece ? 0 : 1;
    } catch (...) {
        return 1;
    }
}

int32_t uhdlens_spm_piece_to_id(const uhdlens_spm *model, const char *piece, size_t len)
{
    try {
        return model->sp.PieceToId(std::string_view(piece, len));
    } catch (...) {
        return model->sp.unk_id();
    }
}

int32_t uhdlens_spm_vocab_size(const uhdlens_spm *model) { return model->sp.GetPieceSize(); }

int32_t uhdlens_spm_special_id(const uhdlens_spm *model, int which)
{
    switch (which) {
    case 0: return model->sp.unk_id();
    case 1: return model->sp.bos_id();
    case 2: return model->sp.eos_id();
    case 3: return model->sp.pad_id();
    default: return -1;
    }
}

int uhdlens_spm_is(const uhdlens_spm *model, int32_t id, int kind)
{
    switch (kind) {
    case 0: return model->sp.IsControl(id) ? 1 : 0;
    case 1: return model->sp.IsUnknown(id) ? 1 : 0;
    case 2: return model->sp.IsUnused(id) ? 1 : 0;
    case 3: return model->sp.IsByte(id) ? 1 : 0;
    default: return 0;
    }
}

int uhdlens_spm_train(const char *const *sentences, const size_t *lengths, size_t count, const char *options,
                      size_t optionsLen, char **model, size_t *modelLen, char *err, size_t errlen)
{
    try {
        std::unordered_map<std::string, std::string> kwargs;
        std::vector<std::string> parts;
        size_t start = 0;
        for (size_t i = 0; i < optionsLen; ++i)
            if (options[i] == '\0') {
                parts.emplace_back(options + start, i - start);
                start = i + 1;
            }
        if (parts.size() % 2 != 0) {
            setError(err, errlen, "trainer options must be key/value pairs");
            return 1;
        }
        for (size_t i = 0; i < parts.size(); i += 2)
            kwargs[parts[i]] = parts[i + 1];
        VectorIterator it(sentences, lengths, count);
        std::string proto;
        const auto st = sentencepiece::SentencePieceTrainer::Train(kwargs, &it, &proto);
        if (!st.ok()) {
            setError(err, errlen, st.ToString());
            return 1;
        }
        *modelLen = proto.size();
        *model = copyOut(proto);
        if (!*model) {
            setError(err, errlen, "out of memory");
            return 1;
        }
        return 0;
    } catch (const std::exception &e) {
        setError(err, errlen, e.what());
    } catch (...) {
        setError(err, errlen, "unknown exception in sentencepiece trainer");
    }
    return 1;
}

} // extern "C"
