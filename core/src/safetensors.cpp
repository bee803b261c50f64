// safetensors reader/writer. The header and index checks live in the torch-free safetensors_header.cpp (so the
// fuzz targets reach them without libtorch); this file maps the files and builds tensors on top of them.
#include "safetensors.h"

#include "file_map.h"

#include "uhdlens/convert.h"
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"

#ifdef UHDLENS_HAVE_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#else
#include <QCryptographicHash>
#endif
#include <QFile>
#include <QSaveFile>

#include <nlohmann/json.hpp>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include <sys/mman.h>

namespace fs = std::filesystem;

namespace uhdlens {

namespace {

struct DtypeEntry
{
    const char *name;
    torch::Dtype dtype;
    uint64_t size;
};

// Dtypes libtorch 1.13 can represent. Others the format knows (U16/U32/U64, F8_*) are rejected by name.
constexpr DtypeEntry kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeEntry *dtypeByName(const std::string &name)
{
    for (const auto &d : kDtypes)
        if (name == d.name)
            return &d;
    return nullptr;
}

const DtypeEntry *dtypeByTorch(torch::Dtype t)
{
    for (const auto &d : kDtypes)
        if (d.dtype == t)
            return &d;
    return nullptr;
}

bool isPickleName(const std::string &fileName)
{
    return isPickleWeightName(fileName);
}

} // namespace

struct Shard
{
    std::string path;
    std::shared_ptr<FileMap> map;
    uint64_t dataStart = 0; // 8 + header length
    uint64_t dataSize = 0;
    std::map<std::string, std::string> metadata;
    std::vector<TensorInfo> tensors;
};

struct Checkpoint::Impl
{
    std::vector<Shard> shards;
    std::map<std::string, TensorInfo> tensors;
    std::string origin; // what open() was given, for messages
    mutable std::once_flag shaOnce;
    mutable std::string sha;
};

namespace {

// Parses and validates one shard's header.
Shard readShard(const std::string &path, int shardIndex)
{
    Shard shard;
    shard.path = path;
    shard.map = mapWholeFile(path); // a short or empty file is reported by the header parser
    SafeTensorsHeader h = parseSafeTensorsHeader(shard.map->bytes(), shard.map->size, path, shardIndex);
    shard.dataStart = h.dataStart;
    shard.dataSize = h.dataSize;
    shard.metadata = std::move(h.metadata);
    shard.tensors = std::move(h.tensors);
    return shard;
}

std::string fileName(const std::string &path) { return fs::path(path).filename().string(); }

// Reads a sharded checkpoint's index (model.safetensors.index.json): {"metadata": {...}, "weight_map": {name: file}}.
void openIndex(Checkpoint::Impl &impl, const std::string &indexPath)
{
    JsonFileOptions o;
    o.label = "checkpoint index";
    o.missing = ErrorCode::FileUnreadable;
    o.invalid = ErrorCode::CheckpointInvalid;
    const std::string raw = readSmallFile(indexPath, o); // parsed and checked by the (fuzzed) index reader
    const SafeTensorsIndex index = parseSafeTensorsIndex(raw.data(), raw.size(), indexPath);
    const fs::path dir = fs::path(indexPath).parent_path();
    std::map<std::string, int> shardOf;
    for (const std::string &file : index.shardFiles) {
        const std::string p = (dir / file).string();
        if (!fs::exists(p))
            throw Error(ErrorCode::FileNotFound,
                        "checkpoint index '" + indexPath + "' names shard '" + file + "', which does not exist", p);
        if (isPickleName(file))
            throw Error(ErrorCode::PickleWeights,
                        "checkpoint index '" + indexPath + "' names the pickle file '" + file +
                            "': " + safeTensorsConvertHint(),
                        p);
        shardOf[file] = static_cast<int>(impl.shards.size());
        impl.shards.push_back(readShard(p, static_cast<int>(impl.shards.size())));
    }
    for (const auto &[name, file] : index.weightMap) {
        const Shard &s = impl.shards[shardOf.at(file)];
        const auto t = std::find_if(s.tensors.begin(), s.tensors.end(),
                                    [&](const TensorInfo &x) { return x.name == name; });
        if (t == s.tensors.end())
            throw Error(ErrorCode::CheckpointInvalid,
                        "checkpoint index '" + indexPath + "' puts tensor '" + name + "' in '" + fileName(s.path) +
                            "', which does not contain it",
                        name);
        impl.tensors.emplace(name, *t);
    }
}

void addShardTensors(Checkpoint::Impl &impl)
{
    for (const Shard &s : impl.shards)
        for (const TensorInfo &t : s.tensors) {
            const auto [it, fresh] = impl.tensors.emplace(t.name, t);
            if (!fresh)
                throw Error(ErrorCode::CheckpointInvalid,
                            "tensor '" + t.name + "' appears in both '" + impl.shards[it->second.shard].path +
                                "' and '" + s.path + "'", t.name);
        }
}

} // namespace

Checkpoint::Checkpoint() : m_impl(std::make_shared<Impl>()) {}
Checkpoint::~Checkpoint() = default;
Checkpoint::Checkpoint(const Checkpoint &) = default;
Checkpoint &Checkpoint::operator=(const Checkpoint &) = default;
Checkpoint::Checkpoint(Checkpoint &&) noexcept = default;
Checkpoint &Checkpoint::operator=(Checkpoint &&) noexcept = default;

Checkpoint Checkpoint::open(const std::string &path)
{
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
        throw Error(ErrorCode::FileNotFound, "checkpoint not found: '" + path + "'", path);
    Checkpoint ck;
    Impl &impl = *ck.m_impl;
    impl.origin = path;
    if (fs::is_directory(st)) {
        const fs::path dir(path);
        if (fs::exists(dir / "model.safetensors.index.json")) {
            openIndex(impl, (dir / "model.safetensors.index.json").string());
        } else if (fs::exists(dir / "model.safetensors")) {
            impl.shards.push_back(readShard((dir / "model.safetensors").string(), 0));
            addShardTensors(impl);
        } else {
            std::vector<std::string> indexes, files;
            for (const auto &e : fs::directory_iterator(dir, ec)) {
                const std::string name = e.path().filename().string();
                if (name.ends_with(".safetensors.index.json"))
                    indexes.push_back(e.path().string());
                else if (name.ends_with(".safetensors") && e.is_regular_file())
                    files.push_back(e.path().string());
            }
            if (ec)
                throw Error(ErrorCode::FileUnreadable, "cannot list folder '" + path + "': " + ec.message(), path);
            std::sort(files.begin(), files.end());
            if (indexes.size() == 1) {
                openIndex(impl, indexes.front());
            } else if (!files.empty()) {
                for (const std::string &f : files)
                    impl.shards.push_back(readShard(f, static_cast<int>(impl.shards.size())));
                addShardTensors(impl);
            } else if (const auto pickles = pickleWeightFiles(path); !pickles.empty()) {
                throw Error(ErrorCode::PickleWeights,
                            "folder '" + path + "' holds only PyTorch pickle weights (" + pickles.front() +
                                (pickles.size() > 1 ? ", ..." : "") + "): " + safeTensorsConvertHint(),
                            (dir / pickles.front()).string());
            } else {
                throw Error(ErrorCode::CheckpointInvalid, "folder '" + path + "' holds no .safetensors file", path);
            }
        }
    } else {
        if (path.ends_with(".index.json"))
            openIndex(impl, path);
        else if (isPickleName(path))
            throw Error(ErrorCode::PickleWeights, "'" + path + "' is a PyTorch pickle file: " + safeTensorsConvertHint(),
                        path);
        else {
            impl.shards.push_back(readShard(path, 0));
            addShardTensors(impl);
        }
    }
    return ck;
}

bool Checkpoint::contains(const std::string &name) const { return m_impl->tensors.count(name) != 0; }

const TensorInfo &Checkpoint::info(const std::string &name) const
{
    const auto it = m_impl->tensors.find(name);
    if (it == m_impl->tensors.end())
        throw Error(ErrorCode::TensorMissing,
                    "tensor '" + name + "' is missing from the checkpoint '" + m_impl->origin + "'", name);
    return it->second;
}

torch::Tensor Checkpoint::get(const std::string &name) const
{
    const TensorInfo &t = info(name);
    const Shard &s = m_impl->shards[t.shard];
    const DtypeEntry *entry = dtypeByName(t.dtype); // validated in readShard
    const uint8_t *p = s.map->bytes() + s.dataStart + t.begin;
    std::shared_ptr<FileMap> keep = s.map;
    // The mapping is PROT_READ: the const_cast only satisfies from_blob's signature; writing would fault.
    torch::Tensor view = torch::from_blob(
        const_cast<uint8_t *>(p), t.shape, [keep](void *) mutable { keep.reset(); },
        torch::TensorOptions().dtype(entry->dtype).device(torch::kCPU));
    // Writers that do not pad their header leave tensors misaligned; vectorised kernels expect natural
    // alignment, so such tensors (rare) are copied instead of viewed.
    if (reinterpret_cast<uintptr_t>(p) % entry->size != 0)
        return view.clone();
    return view;
}

void Checkpoint::release(const std::string &name) const
{
    const TensorInfo &t = info(name);
    const Shard &s = m_impl->shards[t.shard];
    // Only whole pages inside the tensor's bytes, so neighbouring tensors keep theirs.
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(s.map->bytes() + s.dataStart + t.begin);
    const uintptr_t end = reinterpret_cast<uintptr_t>(s.map->bytes() + s.dataStart + t.end);
    const uintptr_t first = (begin + page - 1) / page * page;
    const uintptr_t last = end / page * page;
    if (last > first)
        ::madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED); // advisory: failure is harmless
}

std::vector<std::string> Checkpoint::names() const
{
    std::vector<std::string> out;
    out.reserve(m_impl->tensors.size());
    for (const auto &[name, _] : m_impl->tensors)
        out.push_back(name); // std::map: already sorted
    return out;
}

int64_t Checkpoint::dataBytes() const
{
    int64_t total = 0;
    for (const auto &[_, t] : m_impl->tensors)
        total += static_cast<int64_t>(t.end - t.begin);
    return total;
}

std::string sha256Hex(const std::vector<const FileMap *> &maps)
{
    constexpr uint64_t chunk = 64ull << 20;
    std::string out;
#ifdef UHDLENS_HAVE_OPENSSL
    // OpenSSL uses the CPU's SHA extensions: ~10x QCryptographicHash here (1.4 GB/s vs 0.14 GB/s), which
    // matters for multi-GB checkpoints. libcrypto is already loaded by libtorch's dependencies.
    // OpenSSL 3 gives every thread that fetches an algorithm its own error queue (ERR_STATE, 904 bytes),
    // freed by a thread-exit hook that depends on the order of thread exit and OPENSSL_cleanup at process
    // exit: the sanitizer build reported one such block as leaked now and then. This hash is our only use
    // of OpenSSL and runs once per load, so the thread gives its OpenSSL state back at once
    // (OPENSSL_thread_stop: OpenSSL's call for a thread that is done with it; a later use re-creates it).
    struct ThreadStateRelease
    {
        ~ThreadStateRelease() { OPENSSL_thread_stop(); }
    } releaseThreadState;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
    for (const FileMap *m : maps)
        for (uint64_t off = 0; ok && off < m->size; off += chunk)
            ok = EVP_DigestUpdate(ctx.get(), m->bytes() + off, std::min(chunk, m->size - off)) == 1;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &len) == 1;
    if (!ok)
        throw Error(ErrorCode::Internal, "SHA-256 computation failed (OpenSSL)");
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 15]);
    }
#else
    QCryptographicHash h(QCryptographicHash::Sha256);
    for (const FileMap *m : maps)
        for (uint64_t off = 0; off < m->size; off += chunk)
            h.addData(QByteArrayView(reinterpret_cast<const char *>(m->bytes() + off),
                                     static_cast<qsizetype>(std::min(chunk, m->size - off))));
    out = h.result().toHex().toStdString();
#endif
    return out;
}

std::string Checkpoint::sha256() const
{
    std::call_once(m_impl->shaOnce, [this] {
        std::vector<const FileMap *> maps;
        for (const Shard &s : m_impl->shards)
            maps.push_back(s.map.get());
        m_impl->sha = sha256Hex(maps);
    });
    return m_impl->sha;
}

std::map<std::string, std::string> Checkpoint::metadata() const
{
    return m_impl->shards.empty() ? std::map<std::string, std::string>{} : m_impl->shards.front().metadata;
}

std::vector<std::string> Checkpoint::files() const
{
    std::vector<std::string> out;
    for (const Shard &s : m_impl->shards)
        out.push_back(s.path);
    return out;
}

void saveSafeTensors(const std::string &path, const std::vector<std::pair<std::string, torch::Tensor>> &tensors,
                     const std::map<std::string, std::string> &metadata)
{
    struct Item
    {
        const std::string *name;
        torch::Tensor data; // contiguous CPU
        const DtypeEntry *dtype;
    };
    std::vector<Item> items;
    std::set<std::string> seen;
    for (const auto &[name, t] : tensors) {
        if (name.empty() || name == "__metadata__")
            throw Error(ErrorCode::InvalidArgument, "saveSafeTensors: bad tensor name '" + name + "'", name);
        if (!seen.insert(name).second)
            throw Error(ErrorCode::InvalidArgument, "saveSafeTensors: duplicate tensor name '" + name + "'", name);
        if (!t.defined())
            throw Error(ErrorCode::InvalidArgument, "saveSafeTensors: tensor '" + name + "' is undefined", name);
        const DtypeEntry *d = dtypeByTorch(t.scalar_type());
        if (!d)
            throw Error(ErrorCode::InvalidArgument,
                        "saveSafeTensors: tensor '" + name + "' has unsupported dtype " +
                            std::string(c10::toString(t.scalar_type())), name);
        items.push_back({&name, t.detach().to(torch::kCPU).contiguous(), d});
    }
    // Largest elements first (stable, so equal sizes keep the caller's order): with a header padded to 8 bytes,
    // every tensor then starts at a multiple of its element size and there are no gaps, as the reference
    // writer does.
    std::stable_sort(items.begin(), items.end(),
                     [](const Item &a, const Item &b) { return a.dtype->size > b.dtype->size; });

    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const Item &it : items) {
        const uint64_t n = static_cast<uint64_t>(it.data.nbytes());
        header[*it.name] = {{"dtype", it.dtype->name}, {"shape", it.data.sizes().vec()},
                            {"data_offsets", {offset, offset + n}}};
        offset += n;
    }
    std::string json = header.dump();
    json.append((8 - json.size() % 8) % 8, ' ');
    const uint64_t len = json.size();

    QSaveFile out(QString::fromStdString(path));
    auto fail = [&](const std::string &why) {
        throw Error(ErrorCode::FileUnreadable, "cannot write '" + path + "': " + why, path);
    };
    if (!out.open(QIODevice::WriteOnly))
        fail(out.errorString().toStdString());
    char lenBytes[8];
    std::memcpy(lenBytes, &len, 8);
    if (out.write(lenBytes, 8) != 8 || out.write(json.data(), static_cast<qint64>(len)) != static_cast<qint64>(len))
        fail(out.errorString().toStdString());
    for (const Item &it : items) {
        const qint64 n = static_cast<qint64>(it.data.nbytes());
        if (n && out.write(static_cast<const char *>(it.data.data_ptr()), n) != n)
            fail(out.errorString().toStdString());
    }
    if (!out.commit())
        fail(out.errorString().toStdString());
}

std::vector<std::string> loadParameters(const std::vector<std::pair<std::string, torch::Tensor>> &params,
                                        const Checkpoint &ck, torch::Dtype dtype, torch::Device device,
                                        const std::vector<std::string> &ownedPrefixes,
                                        const std::set<std::string> &keepBf16)
{
    // Check everything before touching any parameter, so a failed load leaves the model unchanged.
    std::vector<std::string> missing;
    std::set<std::string> consumed;
    for (const auto &[name, p] : params) {
        if (!p.defined())
            throw Error(ErrorCode::Internal, "parameter '" + name + "' is undefined", name);
        if (!ck.contains(name)) {
            missing.push_back(name);
            continue;
        }
        const TensorInfo &info = ck.info(name);
        if (info.shape != p.sizes().vec())
            throw Error(ErrorCode::TensorShapeMismatch,
                        "tensor '" + name + "': expected " + shapeString(p.sizes().vec()) + ", file has " +
                            shapeString(info.shape),
                        name);
        consumed.insert(name);
    }
    if (!missing.empty()) {
        std::string msg = "tensor '" + missing.front() + "' is missing from the checkpoint";
        if (missing.size() > 1)
            msg += " (and " + std::to_string(missing.size() - 1) + " more, e.g. '" + missing[1] + "')";
        throw Error(ErrorCode::TensorMissing, msg, missing.front());
    }

    torch::NoGradGuard noGrad;
    for (const auto &[name, p] : params) {
        torch::Tensor src = ck.get(name);
        torch::Tensor param = p; // same TensorImpl as the module's parameter
        const bool keepAsStored = device.is_cpu() && src.scalar_type() == torch::kBFloat16 && keepBf16.count(name);
        if (!keepAsStored && !(device.is_cpu() && src.scalar_type() == dtype)) {
            src = src.to(torch::TensorOptions().dtype(dtype).device(device), /*non_blocking=*/false, /*copy=*/true);
            ck.release(name); // the file's pages are no longer needed: peak RSS = converted weights, not both
        }
        // set_data keeps the parameter object (and its requires_grad) and swaps in the new storage:
        // for a matching CPU dtype that storage is the memory map itself.
        param.set_data(src);
    }

    std::vector<std::string> warnings;
    for (const std::string &name : ck.names()) {
        if (consumed.count(name))
            continue;
        const bool owned = std::any_of(ownedPrefixes.begin(), ownedPrefixes.end(),
                                       [&](const std::string &prefix) { return name.starts_with(prefix); });
        if (owned)
            warnings.push_back("unknown tensor '" + name + "' in the checkpoint (ignored)");
    }
    return warnings;
}

} // namespace uhdlens
