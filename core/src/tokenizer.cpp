// Tokenizer: SentencePiece through the dlopen'ed shim (core/spm/spm_shim.h explains why).
#include "tokenizer.h"

#include "bpe_tokenizer.h"
#include "uhdlens/errors.h"

#include "../spm/spm_shim.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace uhdlens {

namespace {

constexpr qint64 kMaxModelBytes = 512ll << 20; // real tokenizer.model files are < 5 MB

// Function table of the shim, resolved once per process.
struct Shim
{
    decltype(&uhdlens_spm_abi_version) abiVersion = nullptr;
    decltype(&uhdlens_spm_load) load = nullptr;
    decltype(&uhdlens_spm_release) release = nullptr;
    decltype(&uhdlens_spm_free_buffer) freeBuffer = nullptr;
    decltype(&uhdlens_spm_encode) encode = nullptr;
    decltype(&uhdlens_spm_decode) decode = nullptr;
    decltype(&uhdlens_spm_id_to_piece) idToPiece = nullptr;
    decltype(&uhdlens_spm_piece_to_id) pieceToId = nullptr;
    decltype(&uhdlens_spm_vocab_size) vocabSize = nullptr;
    decltype(&uhdlens_spm_special_id) specialId = nullptr;
    decltype(&uhdlens_spm_is) is = nullptr;
    decltype(&uhdlens_spm_train) train = nullptr;
};

std::string executableDir()
{
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return {};
    buf[n] = '\0';
    return std::filesystem::path(buf).parent_path().string();
}

std::vector<std::string> shimCandidates()
{
    const std::string name = "libuhdlens_spm.so";
    std::vector<std::string> out;
    if (const char *env = std::getenv("UHDLENS_SPM_LIBRARY"); env && *env)
        out.emplace_back(env);
    if (const std::string dir = executableDir(); !dir.empty()) {
        const std::filesystem::path d(dir);
        for (const char *rel : {".", "../lib/uhdlens", "../lib"})
            out.push_back((d / rel / name).lexically_normal().string());
    }
#ifdef UHDLENS_SPM_BUILD_PATH
    out.emplace_back(UHDLENS_SPM_BUILD_PATH);
#endif
#ifdef UHDLENS_SPM_INSTALL_PATH
    out.emplace_back(UHDLENS_SPM_INSTALL_PATH);
#endif
    return out;
}

#ifdef UHDLENS_SPM_NO_DEEPBIND
// Set by the fuzz build (tests/fuzz), whose processes hold no libtorch to clash with: AddressSanitizer refuses
// dlopen(RTLD_DEEPBIND).
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

// AddressSanitizer's dlopen interceptor refuses RTLD_DEEPBIND outright (google/sanitizers#611: a deep-bound library
// would take malloc from libc instead of the sanitizer's). In the sanitizer build (installer/build-and-test.sh
// --sanitize) the shim is instrumented too, so libasan is its first dependency and its deep-bound scope resolves
// malloc and operator new to the sanitizer's all the same: there glibc's own dlopen is called, past the interceptor.
// Without a protobuf-free process there is no other way to keep the tokenizer under the sanitizers.
void *openShim(const std::string &path, int flags)
{
#if defined(__SANITIZE_ADDRESS__) && !defined(UHDLENS_SPM_NO_DEEPBIND)
    using DlopenFn = void *(*)(const char *, int);
    static const DlopenFn libcDlopen = [] {
        void *libc = ::dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        return libc ? reinterpret_cast<DlopenFn>(::dlsym(libc, "dlopen")) : nullptr;
    }();
    if (libcDlopen)
        return libcDlopen(path.c_str(), flags);
#endif
    return ::dlopen(path.c_str(), flags);
}

const Shim &shim()
{
    static std::once_flag once;
    static Shim table;
    static std::string failure;
    std::call_once(once, [] {
        std::string tried;
        void *handle = nullptr;
        for (const std::string &path : shimCandidates()) {
            if (!std::filesystem::exists(path))
                continue;
            // RTLD_LOCAL keeps sentencepiece's embedded protobuf symbols out of the global scope; RTLD_DEEPBIND
            // makes sentencepiece bind to its own copy rather than libtorch's libprotobuf already loaded.
            handle = openShim(path, RTLD_NOW | RTLD_LOCAL | kDeepBind);
            if (handle)
                break;
            tried += "\n  " + path + ": " + ::dlerror();
        }
        if (!handle) {
            failure = "cannot load the SentencePiece shim libuhdlens_spm.so (set UHDLENS_SPM_LIBRARY to its path)";
            if (tried.empty()) {
                failure += "; looked in:";
                for (const std::string &p : shimCandidates())
                    failure += "\n  " + p;
            } else {
                failure += ":" + tried;
            }
            return;
        }
        auto sym = [&](auto &fn, const char *name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle, name));
            if (!fn && failure.empty())
                failure = std::string("SentencePiece shim lacks symbol ") + name;
        };
        sym(table.abiVersion, "uhdlens_spm_abi_version");
        sym(table.load, "uhdlens_spm_load");
        sym(table.release, "uhdlens_spm_release");
        sym(table.freeBuffer, "uhdlens_spm_free_buffer");
        sym(table.encode, "uhdlens_spm_encode");
        sym(table.decode, "uhdlens_spm_decode");
        sym(table.idToPiece, "uhdlens_spm_id_to_piece");
        sym(table.pieceToId, "uhdlens_spm_piece_to_id");
        sym(table.vocabSize, "uhdlens_spm_vocab_size");
        sym(table.specialId, "uhdlens_spm_special_id");
        sym(table.is, "uhdlens_spm_is");
        sym(table.train, "uhdlens_spm_train");
        if (failure.empty() && table.abiVersion() != UHDLENS_SPM_ABI_VERSION)
            failure = "SentencePiece shim has ABI version " + std::to_string(table.abiVersion()) + ", expected " +
                      std::to_string(UHDLENS_SPM_ABI_VERSION);
        // The handle is never closed: the library stays for the life of the process.
    });
    if (!failure.empty())
        throw Error(ErrorCode::Internal, failure, "libuhdlens_spm.so");
    return table;
}

// Owns a malloc'd buffer handed out by the shim.
struct ShimBuffer
{
    void *p = nullptr;
    ~ShimBuffer()
    {
        if (p)
            shim().freeBuffer(p);
    }
};


// Protobuf wire helpers for withoutDummyPrefix().
bool readVarint(const QByteArray &s, qsizetype &p, quint64 &v)
{
    v = 0;
    for (int shift = 0; shift < 64 && p < s.size(); shift += 7) {
        const auto byte = static_cast<unsigned char>(s[p++]);
        v |= quint64(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

void writeVarint(QByteArray &out, quint64 v)
{
    do {
        const auto byte = static_cast<char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        out.append(byte);
        v >>= 7;
    } while (v);
}

// The serialized ModelProto with normalizer_spec.add_dummy_prefix = false, as Hugging Face's non-legacy
// LlamaTokenizer.get_spm_processor() makes it (ModelProto.normalizer_spec.MergeFrom(NormalizerSpec(
// add_dummy_prefix=False))): the NormalizerSpec (ModelProto field 3) gets a trailing field 3 = 0, which
// protobuf's last-value-wins rule makes the value. Empty when the bytes are not a well-formed message.
QByteArray withoutDummyPrefix(const QByteArray &proto)
{
    static const QByteArray kNoPrefix("\x18\x00", 2); // NormalizerSpec.add_dummy_prefix (field 3, varint) = 0
    QByteArray out;
    bool found = false;
    qsizetype p = 0;
    while (p < proto.size()) {
        const qsizetype start = p;
        quint64 key = 0, len = 0;
        if (!readVarint(proto, p, key))
            return {};
        switch (key & 7) {
        case 0:
            if (!readVarint(proto, p, len))
                return {};
            break;
        case 1:
            p += 8;
            break;
        case 5:
            p += 4;
            break;
        case 2:
            if (!readVarint(proto, p, len) || len > quint64(proto.size() - p))
                return {};
            if ((key >> 3) == 3) {
                const QByteArray spec = proto.mid(p, static_cast<qsizetype>(len)) + kNoPrefix;
                writeVarint(out, key);
                writeVarint(out, static_cast<quint64>(spec.size()));
                out += spec;
                p += static_cast<qsizetype>(len);
                found = true;
                continue;
            }
            p += static_cast<qsizetype>(len);
            break;
        default:
            return {};
        }
        if (p > proto.size())
            return {};
        out += proto.mid(start, p - start);
    }
    if (!found) {
        writeVarint(out, (3 << 3) | 2);
        writeVarint(out, static_cast<quint64>(kNoPrefix.size()));
        out += kNoPrefix;
    }
    return out;
}

} // namespace

struct Tokenizer::Impl
{
    std::shared_ptr<const BpeTokenizer> bpe; // set for a byte-level BPE model; the shim is not used then
    uhdlens_spm *model = nullptr;
    uhdlens_spm *noPrefix = nullptr; // the same model without the dummy prefix (encodeNoDummyPrefix)
    std::string file;
    int64_t vocab = 0, bos = -1, eos = -1, unk = -1, pad = -1;
    ~Impl()
    {
        if (model)
            shim().release(model);
        if (noPrefix)
            shim().release(noPrefix);
    }
    void checkId(int64_t id) const
    {
        if (id < 0 || id >= vocab)
            throw Error(ErrorCode::InvalidArgument,
                        "token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) +
                            ") of '" + file + "'",
                        std::to_string(id));
    }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<Tokenizer> Tokenizer::loadBpe(const std::string &path)
{
    return fromBpe(std::make_shared<const BpeTokenizer>(readBpeFolder(path)));
}

std::shared_ptr<Tokenizer> Tokenizer::fromBpe(std::shared_ptr<const BpeTokenizer> bpe)
{
    if (!bpe)
        throw Error(ErrorCode::InvalidArgument, "no BPE tokenizer given");
    auto impl = std::make_unique<Impl>();
    impl->file = bpe->source();
    impl->vocab = bpe->vocabSize();
    impl->bos = bpe->bosId();
    impl->eos = bpe->eosId();
    impl->unk = bpe->unkId();
    impl->pad = bpe->padId();
    impl->bpe = std::move(bpe);
    return std::shared_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

const BpeTokenizer *Tokenizer::bpe() const { return m_impl->bpe.get(); }

std::shared_ptr<Tokenizer> Tokenizer::load(const std::string &modelFile)
{
    const QString path = QString::fromStdString(modelFile);
    const QFileInfo fi(path);
    if (!fi.exists())
        throw Error(ErrorCode::FileNotFound, "tokenizer not found: '" + modelFile + "'", modelFile);
    if (!fi.isFile())
        throw Error(ErrorCode::NotAFile, "tokenizer '" + modelFile + "' is not a file", modelFile);
    if (fi.size() == 0)
        throw Error(ErrorCode::TokenizerInvalid, "tokenizer '" + modelFile + "' is empty", modelFile);
    if (fi.size() > kMaxModelBytes)
        throw Error(ErrorCode::TokenizerInvalid,
                    "tokenizer '" + modelFile + "' is " + std::to_string(fi.size()) +
                        " bytes, too large for a SentencePiece model",
                    modelFile);
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error(ErrorCode::FileUnreadable,
                    "cannot read tokenizer '" + modelFile + "': " + f.errorString().toStdString(), modelFile);
    const QByteArray bytes = f.readAll();

    const Shim &s = shim();
    char err[1024] = {0};
    uhdlens_spm *model = s.load(bytes.constData(), static_cast<size_t>(bytes.size()), err, sizeof(err));
    if (!model) {
        std::string hint;
        if (bytes.startsWith("{"))
            hint = " (this looks like a JSON tokenizer; only SentencePiece tokenizer.model files are supported)";
        throw Error(ErrorCode::TokenizerInvalid,
                    "'" + modelFile + "' is not a SentencePiece model: " + err + hint, modelFile);
    }
    auto impl = std::make_unique<Impl>();
    impl->model = model;
    impl->file = modelFile;
    impl->vocab = s.vocabSize(model);
    impl->unk = s.specialId(model, 0);
    impl->bos = s.specialId(model, 1);
    impl->eos = s.specialId(model, 2);
    impl->pad = s.specialId(model, 3);
    // The no-dummy-prefix variant is only needed by encodeNoDummyPrefix(): a model it cannot be made from still
    // loads, and that call reports the problem.
    if (const QByteArray variant = withoutDummyPrefix(bytes); !variant.isEmpty())
        impl->noPrefix = s.load(variant.constData(), static_cast<size_t>(variant.size()), err, sizeof(err));
    return std::shared_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

namespace {
std::vector<int64_t> encodeWith(const uhdlens_spm *model, const std::string &text)
{
    const Shim &s = shim();
    char err[1024] = {0};
    int32_t *ids = nullptr;
    size_t n = 0;
    if (s.encode(model, text.data(), text.size(), &ids, &n, err, sizeof(err)) != 0)
        throw Error(ErrorCode::InvalidArgument, std::string("cannot tokenize text: ") + err);
    ShimBuffer owner{ids};
    return std::vector<int64_t>(ids, ids + n);
}
} // namespace

std::vector<int64_t> Tokenizer::encode(const std::string &text) const
{
    if (m_impl->bpe)
        return m_impl->bpe->encode(text);
    return encodeWith(m_impl->model, text);
}

std::vector<int64_t> Tokenizer::encodeNoDummyPrefix(const std::string &text) const
{
    if (m_impl->bpe)
        return m_impl->bpe->encode(text);
    if (!m_impl->noPrefix)
        throw Error(ErrorCode::TokenizerInvalid,
                    "'" + m_impl->file + "': cannot load it without the dummy prefix (unreadable normalizer_spec)",
                    m_impl->file);
    return encodeWith(m_impl->noPrefix, text);
}

std::vector<int64_t> Tokenizer::encodeWithSpecials(const std::string &text,
                                                  const std::vector<std::string> &specials) const
{
    std::vector<std::pair<std::string, int64_t>> table;
    for (const std::string &s : specials) {
        if (s.empty())
            continue;
        if (!hasPiece(s))
            throw Error(ErrorCode::TokenizerInvalid,
                        "tokenizer '" + m_impl->file + "' has no piece '" + s + "'", s);
        table.emplace_back(s, pieceToId(s));
    }
    std::vector<int64_t> out;
    size_t pos = 0;
    while (pos <= text.size()) {
        // Earliest special occurrence at or after pos; the longest one on a tie.
        size_t best = std::string::npos;
        const std::pair<std::string, int64_t> *hit = nullptr;
        for (const auto &entry : table) {
            const size_t at = text.find(entry.first, pos);
            if (at == std::string::npos)
                continue;
            if (at < best || (at == best && entry.first.size() > hit->first.size())) {
                best = at;
                hit = &entry;
            }
        }
        const size_t end = hit ? best : text.size();
        if (end > pos) {
            const auto ids = encode(text.substr(pos, end - pos));
            out.insert(out.end(), ids.begin(), ids.end());
        }
        if (!hit)
            break;
        out.push_back(hit->second);
        pos = best + hit->first.size();
    }
    return out;
}

std::string Tokenizer::decode(const std::vector<int64_t> &ids) const
{
    if (m_impl->bpe)
        return m_impl->bpe->decode(ids, /*skipSpecial=*/true);
    std::vector<int32_t> narrow;
    narrow.reserve(ids.size());
    for (const int64_t id : ids) {
        m_impl->checkId(id);
        narrow.push_back(static_cast<int32_t>(id));
    }
    const Shim &s = shim();
    char err[1024] = {0};
    char *text = nullptr;
    size_t len = 0;
    if (s.decode(m_impl->model, narrow.data(), narrow.size(), &text, &len, err, sizeof(err)) != 0)
        throw Error(ErrorCode::InvalidArgument, std::string("cannot decode token ids: ") + err);
    ShimBuffer owner{text};
    return std::string(text, len);
}

std::string Tokenizer::idToPiece(int64_t id) const
{
    if (m_impl->bpe)
        return m_impl->bpe->idToToken(id);
    m_impl->checkId(id);
    char *piece = nullptr;
    size_t len = 0;
    if (shim().idToPiece(m_impl->model, static_cast<int32_t>(id), &piece, &len) != 0)
        throw Error(ErrorCode::Internal, "sentencepiece failed to return piece " + std::to_string(id));
    ShimBuffer owner{piece};
    return std::string(piece, len);
}

int64_t Tokenizer::pieceToId(const std::string &piece) const
{
    if (m_impl->bpe) {
        const int64_t id = m_impl->bpe->tokenToId(piece);
        return id >= 0 ? id : m_impl->unk;
    }
    return shim().pieceToId(m_impl->model, piece.data(), piece.size());
}

bool Tokenizer::hasPiece(const std::string &piece) const
{
    if (m_impl->bpe)
        return m_impl->bpe->tokenToId(piece) >= 0;
    const int64_t id = pieceToId(piece);
    // PieceToId answers the unk id for unknown pieces; the unk piece itself is the only one mapping there.
    return id != m_impl->unk || idToPiece(id) == piece;
}

int64_t Tokenizer::bosId() const { return m_impl->bos; }
int64_t Tokenizer::eosId() const { return m_impl->eos; }
int64_t Tokenizer::unkId() const { return m_impl->unk; }
int64_t Tokenizer::padId() const { return m_impl->pad; }
int64_t Tokenizer::vocabSize() const { return m_impl->vocab; }
const std::string &Tokenizer::modelFile() const { return m_impl->file; }

bool Tokenizer::isControl(int64_t id) const
{
    if (m_impl->bpe)
        return m_impl->bpe->isSpecial(id);
    m_impl->checkId(id);
    return shim().is(m_impl->model, static_cast<int32_t>(id), 0) != 0;
}

void Tokenizer::train(const std::vector<std::string> &sentences, const std::string &outModelFile, int vocabSize,
                      const std::vector<std::string> &userDefinedSymbols, const std::string &modelType)
{
    if (modelType != "bpe" && modelType != "unigram")
        throw Error(ErrorCode::InvalidArgument, "tokenizer model type must be 'bpe' or 'unigram', not '" + modelType + "'",
                    modelType);
    if (sentences.empty())
        throw Error(ErrorCode::InvalidArgument, "cannot train a tokenizer on no text");
    if (vocabSize < 16)
        throw Error(ErrorCode::InvalidArgument, "tokenizer vocabulary size " + std::to_string(vocabSize) + " is too small");
    std::string symbols;
    for (const std::string &sym : userDefinedSymbols) {
        // sentencepiece takes the list comma-separated, so a symbol cannot contain one.
        if (sym.empty() || sym.find(',') != std::string::npos || sym.find('\0') != std::string::npos)
            throw Error(ErrorCode::InvalidArgument, "bad user-defined tokenizer symbol '" + sym + "'", sym);
        symbols += (symbols.empty() ? "" : ",") + sym;
    }
    // Settings mirror Llama's tokenizer.model (which MiniCPM and Vicuna reuse): identity normalisation, kept
    // whitespace, a dummy prefix, digits split, byte fallback, <unk>=0 <s>=1 </s>=2 and no pad piece.
    const std::vector<std::pair<std::string, std::string>> options = {
        {"model_type", modelType},
        {"vocab_size", std::to_string(vocabSize)},
        {"byte_fallback", "true"},
        {"split_digits", "true"},
        {"normalization_rule_name", "identity"},
        {"remove_extra_whitespaces", "false"},
        {"add_dummy_prefix", "true"},
        {"allow_whitespace_only_pieces", "true"},
        {"character_coverage", "0.9995"},
        {"unk_id", "0"},
        {"bos_id", "1"},
        {"eos_id", "2"},
        {"pad_id", "-1"},
        {"user_defined_symbols", symbols},
        {"num_threads", "2"},
        {"minloglevel", "2"}, // trainer progress goes to stderr otherwise
    };
    std::string packed;
    for (const auto &[k, v] : options) {
        if (k == "user_defined_symbols" && v.empty())
            continue;
        packed += k;
        packed.push_back('\0');
        packed += v;
        packed.push_back('\0');
    }
    std::vector<const char *> ptrs;
    std::vector<size_t> lens;
    for (const std::string &s : sentences) {
        ptrs.push_back(s.data());
        lens.push_back(s.size());
    }
    const Shim &s = shim();
    char err[2048] = {0};
    char *proto = nullptr;
    size_t protoLen = 0;
    if (s.train(ptrs.data(), lens.data(), ptrs.size(), packed.data(), packed.size(), &proto, &protoLen, err,
                sizeof(err)) != 0)
        throw Error(ErrorCode::InvalidArgument, std::string("tokenizer training failed: ") + err);
    ShimBuffer owner{proto};

    QSaveFile out(QString::fromStdString(outModelFile));
    if (!out.open(QIODevice::WriteOnly) ||
        out.write(proto, static_cast<qint64>(protoLen)) != static_cast<qint64>(protoLen) || !out.commit())
        throw Error(ErrorCode::FileUnreadable,
                    "cannot write tokenizer '" + outModelFile + "': " + out.errorString().toStdString(), outModelFile);
}

} // namespace uhdlens
