// GGUF reader (torch-free). The checks follow ggml/src/gguf.cpp's gguf_init_from_file_impl (magic, version,
// per-type reads, n_dims <= GGML_MAX_DIMS, ne[0] % block size, overflow of the element count, alignment a
// power of two, offsets aligned and inside the data section); unlike it we accept gaps between tensors (it
// requires them packed in file order), never overlaps, and we bound every count by the bytes left before
// reserving anything.
#include "gguf/gguf_file.h"

#include "file_map.h"
#include "uhdlens/errors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

static_assert(std::endian::native == std::endian::little, "GGUF stores little-endian data; port the reader");

namespace uhdlens::gguf {

namespace {

constexpr uint32_t kMaxDims = 4; // GGML_MAX_DIMS

[[noreturn]] void invalid(const std::string &file, const std::string &reason, const std::string &subject = {})
{
    throw Error(ErrorCode::CheckpointInvalid, "invalid GGUF file '" + file + "': " + reason,
                subject.empty() ? file : subject);
}

std::string at(uint64_t offset)
{
    return " (at byte " + std::to_string(offset) + ")";
}

// Bytes of one element of a fixed-size value type; 0 for String / Array / unknown.
uint64_t scalarSize(uint32_t t)
{
    switch (static_cast<ValueType>(t)) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::Bool:
        return 1;
    case ValueType::U16:
    case ValueType::I16:
        return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
        return 4;
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
        return 8;
    default:
        return 0;
    }
}

bool knownType(uint32_t t)
{
    return t <= static_cast<uint32_t>(ValueType::F64);
}

// A cursor over the file's bytes; every read checks the bytes left and names what it was reading.
class Reader
{
public:
    Reader(const uint8_t *bytes, uint64_t size, const std::string &path)
        : m_p(bytes), m_size(size), m_path(path)
    {
    }
    uint64_t pos() const { return m_pos; }
    uint64_t left() const { return m_size - m_pos; }

    void need(uint64_t n, const std::string &what, const std::string &subject) const
    {
        if (n > left())
            invalid(m_path,
                    what + " needs " + std::to_string(n) + " bytes but the file has " +
                        std::to_string(left()) + " left" + at(m_pos) + " (truncated file?)",
                    subject);
    }
    template <class T> T read(const std::string &what, const std::string &subject = {})
    {
        need(sizeof(T), what, subject);
        T v;
        std::memcpy(&v, m_p + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    std::string readString(const std::string &what, const std::string &subject = {})
    {
        const uint64_t start = m_pos;
        const uint64_t n = read<uint64_t>(what + "'s length", subject);
        if (n > left())
            invalid(m_path,
                    what + " has length " + std::to_string(n) + " but the file has " +
                        std::to_string(left()) + " bytes left" + at(start),
                    subject);
        std::string s(reinterpret_cast<const char *>(m_p + m_pos), static_cast<size_t>(n));
        m_pos += n;
        return s;
    }
    const uint8_t *here() const { return m_p + m_pos; }
    void skip(uint64_t n) { m_pos += n; } // after need()

private:
    const uint8_t *m_p;
    uint64_t m_size;
    uint64_t m_pos = 0;
    const std::string &m_path;
};

void readScalar(Reader &r, ValueType t, Value &v, const std::string &what, const std::string &key,
                const std::string &path)
{
    switch (t) {
    case ValueType::U8:
        v.u = r.read<uint8_t>(what, key);
        break;
    case ValueType::I8:
        v.i = r.read<int8_t>(what, key);
        break;
    case ValueType::U16:
        v.u = r.read<uint16_t>(what, key);
        break;
    case ValueType::I16:
        v.i = r.read<int16_t>(what, key);
        break;
    case ValueType::U32:
        v.u = r.read<uint32_t>(what, key);
        break;
    case ValueType::I32:
        v.i = r.read<int32_t>(what, key);
        break;
    case ValueType::U64:
        v.u = r.read<uint64_t>(what, key);
        break;
    case ValueType::I64:
        v.i = r.read<int64_t>(what, key);
        break;
    case ValueType::F32:
        v.f = r.read<float>(what, key);
        break;
    case ValueType::F64:
        v.f = r.read<double>(what, key);
        break;
    case ValueType::Bool: {
        const uint64_t off = r.pos();
        const uint8_t b = r.read<uint8_t>(what, key);
        if (b > 1)
            invalid(path, "bool value of '" + key + "' is " + std::to_string(b) + ", not 0 or 1" + at(off),
                    key);
        v.b = b != 0;
        break;
    }
    default:
        break; // String / Array handled by the caller
    }
}

bool isInteger(ValueType t)
{
    switch (t) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::U16:
    case ValueType::I16:
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::U64:
    case ValueType::I64:
        return true;
    default:
        return false;
    }
}
bool isSigned(ValueType t)
{
    return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

// Element `k` of a numeric array as signed / unsigned / floating.
template <class T> T elem(const Value &v, uint64_t k)
{
    T x;
    std::memcpy(&x, v.raw.data() + k * sizeof(T), sizeof(T));
    return x;
}

} // namespace

std::string valueTypeName(ValueType t)
{
    static const char *const kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                         "bool", "string", "array", "u64", "i64", "f64"};
    const auto i = static_cast<uint32_t>(t);
    return i < std::size(kNames) ? kNames[i] : "type " + std::to_string(i);
}

int64_t GgufTensorInfo::elements() const
{
    int64_t n = 1;
    for (int64_t d : ne)
        n *= d; // checked against overflow by the parser
    return n;
}

// --- Metadata
// -------------------------------------------------------------------------------------------------

const Value *Metadata::find(const std::string &key) const
{
    const auto it = m_index.find(key);
    return it == m_index.end() ? nullptr : &m_entries[it->second].second;
}

void Metadata::add(std::string key, Value v, uint64_t keyOffset)
{
    if (m_index.count(key))
        invalid(m_source, "duplicate metadata key '" + key + "'" + at(keyOffset), key);
    m_index.emplace(key, m_entries.size());
    m_entries.emplace_back(std::move(key), std::move(v));
}

const Value &Metadata::require(const std::string &key) const
{
    const Value *v = find(key);
    if (!v)
        throw Error(ErrorCode::ConfigInvalid,
                    "GGUF file '" + m_source + "' has no metadata key '" + key + "'", key);
    return *v;
}

void Metadata::wrongType(const std::string &key, const Value &v, const char *wanted) const
{
    std::string type = valueTypeName(v.type);
    if (v.type == ValueType::Array)
        type += " of " + valueTypeName(v.elemType);
    throw Error(ErrorCode::ConfigInvalid,
                "GGUF file '" + m_source + "': metadata key '" + key + "' is " + type + ", expected " +
                    wanted + at(v.fileOffset),
                key);
}

std::string Metadata::getString(const std::string &key) const
{
    const Value &v = require(key);
    if (v.type != ValueType::String)
        wrongType(key, v, "a string");
    return v.str;
}

namespace {
// An integer value checked into [lo, hi].
template <class T> std::optional<T> fitInteger(const Value &v)
{
    if (v.type == ValueType::Array || !isInteger(v.type))
        return std::nullopt;
    if (isSigned(v.type)) {
        if (v.i < 0
                ? (std::numeric_limits<T>::is_signed ? v.i < int64_t(std::numeric_limits<T>::min()) : true)
                : uint64_t(v.i) > uint64_t(std::numeric_limits<T>::max()))
            return std::nullopt;
        return static_cast<T>(v.i);
    }
    if (v.u > uint64_t(std::numeric_limits<T>::max()))
        return std::nullopt;
    return static_cast<T>(v.u);
}
} // namespace

uint32_t Metadata::getU32(const std::string &key) const
{
    const Value &v = require(key);
    if (auto x = fitInteger<uint32_t>(v))
        return *x;
    wrongType(key, v, "an unsigned 32-bit integer");
}

uint64_t Metadata::getU64(const std::string &key) const
{
    const Value &v = require(key);
    if (auto x = fitInteger<uint64_t>(v))
        return *x;
    wrongType(key, v, "an unsigned integer");
}

int32_t Metadata::getI32(const std::string &key) const
{
    const Value &v = require(key);
    if (auto x = fitInteger<int32_t>(v))
        return *x;
    wrongType(key, v, "a 32-bit integer");
}

float Metadata::getF32(const std::string &key) const
{
    const Value &v = require(key);
    if (v.type == ValueType::F32 || v.type == ValueType::F64)
        return static_cast<float>(v.f);
    wrongType(key, v, "a float");
}

bool Metadata::getBool(const std::string &key) const
{
    const Value &v = require(key);
    if (v.type != ValueType::Bool)
        wrongType(key, v, "a bool");
    return v.b;
}

std::optional<std::string> Metadata::optString(const std::string &key) const
{
    return has(key) ? std::optional(getString(key)) : std::nullopt;
}
std::optional<uint32_t> Metadata::optU32(const std::string &key) const
{
    return has(key) ? std::optional(getU32(key)) : std::nullopt;
}
std::optional<float> Metadata::optF32(const std::string &key) const
{
    return has(key) ? std::optional(getF32(key)) : std::nullopt;
}
std::optional<bool> Metadata::optBool(const std::string &key) const
{
    return has(key) ? std::optional(getBool(key)) : std::nullopt;
}

std::vector<std::string> Metadata::getStringArray(const std::string &key) const
{
    const Value &v = require(key);
    if (v.type != ValueType::Array || v.elemType != ValueType::String)
        wrongType(key, v, "an array of strings");
    return v.strings;
}

std::vector<int32_t> Metadata::getI32Array(const std::string &key) const
{
    const Value &v = require(key);
    if (v.type != ValueType::Array || !isInteger(v.elemType))
        wrongType(key, v, "an array of integers");
    std::vector<int32_t> out;
    out.reserve(v.count);
    for (uint64_t k = 0; k < v.count; ++k) {
        Value e;
        e.type = v.elemType;
        switch (v.elemType) {
        case ValueType::U8:
            e.u = elem<uint8_t>(v, k);
            break;
        case ValueType::I8:
            e.i = elem<int8_t>(v, k);
            break;
        case ValueType::U16:
            e.u = elem<uint16_t>(v, k);
            break;
        case ValueType::I16:
            e.i = elem<int16_t>(v, k);
            break;
        case ValueType::U32:
            e.u = elem<uint32_t>(v, k);
            break;
        case ValueType::I32:
            e.i = elem<int32_t>(v, k);
            break;
        case ValueType::U64:
            e.u = elem<uint64_t>(v, k);
            break;
        default:
            e.i = elem<int64_t>(v, k);
            break;
        }
        const auto x = fitInteger<int32_t>(e);
        if (!x)
            throw Error(ErrorCode::ConfigInvalid,
                        "GGUF file '" + m_source + "': element " + std::to_string(k) + " of '" + key +
                            "' does not fit a 32-bit integer",
                        key);
        out.push_back(*x);
    }
    return out;
}

std::vector<float> Metadata::getF32Array(const std::string &key) const
{
    const Value &v = require(key);
    if (v.type != ValueType::Array || (v.elemType != ValueType::F32 && v.elemType != ValueType::F64))
        wrongType(key, v, "an array of floats");
    std::vector<float> out;
    out.reserve(v.count);
    for (uint64_t k = 0; k < v.count; ++k)
        out.push_back(v.elemType == ValueType::F32 ? elem<float>(v, k)
                                                   : static_cast<float>(elem<double>(v, k)));
    return out;
}

const GgufTensorInfo *GgufHeader::findTensor(const std::string &name) const
{
    const auto it = tensorIndex.find(name);
    return it == tensorIndex.end() ? nullptr : &tensors[it->second];
}

// --- parser
// ---------------------------------------------------------------------------------------------------

GgufHeader parseGgufHeader(const uint8_t *bytes, uint64_t size, const std::string &path)
{
    GgufHeader h;
    h.fileSize = size;
    h.meta.setSource(path);
    Reader r(bytes, size, path);

    if (size < 4 || std::memcmp(bytes, "GGUF", 4) != 0)
        invalid(path, "not a GGUF file (the first 4 bytes are not \"GGUF\")");
    r.skip(4);
    h.version = r.read<uint32_t>("the version");
    if (h.version == 1)
        invalid(path,
                "GGUF version 1 (an early 2023 format with 32-bit counts) is not supported; convert the "
                "model again with a current llama.cpp");
    if (h.version != 2 && h.version != 3)
        invalid(path, "unsupported GGUF version " + std::to_string(h.version) + " (2 and 3 are read)");
    const uint64_t nTensors = r.read<uint64_t>("the tensor count");
    const uint64_t nKv = r.read<uint64_t>("the metadata count");
    // Each KV pair takes at least 8 (key length) + 4 (type) + 1 bytes, each tensor info at least 8 + 4 + 8 +
    // 4
    // + 8: larger counts cannot fit, so they are refused before anything is reserved.
    if (nKv > r.left() / 13)
        invalid(path, "metadata count " + std::to_string(nKv) + " cannot fit in the " +
                          std::to_string(r.left()) + " bytes left" + at(16));
    if (nTensors > r.left() / 32)
        invalid(path, "tensor count " + std::to_string(nTensors) + " cannot fit in the " +
                          std::to_string(r.left()) + " bytes left" + at(8));

    for (uint64_t k = 0; k < nKv; ++k) {
        const uint64_t keyOffset = r.pos();
        const std::string idx = "metadata key #" + std::to_string(k);
        std::string key = r.readString(idx);
        Value v;
        const uint32_t type = r.read<uint32_t>("the value type of '" + key + "'", key);
        if (!knownType(type))
            invalid(path,
                    "metadata key '" + key + "' has unknown value type " + std::to_string(type) +
                        at(r.pos() - 4),
                    key);
        v.type = static_cast<ValueType>(type);
        v.fileOffset = r.pos();
        const std::string what = "the value of '" + key + "'";
        if (v.type == ValueType::String) {
            v.str = r.readString(what, key);
        } else if (v.type == ValueType::Array) {
            const uint32_t et = r.read<uint32_t>("the element type of '" + key + "'", key);
            if (!knownType(et))
                invalid(path,
                        "array '" + key + "' has unknown element type " + std::to_string(et) +
                            at(r.pos() - 4),
                        key);
            if (static_cast<ValueType>(et) == ValueType::Array)
                invalid(path,
                        "array '" + key + "' holds arrays; nested arrays are not supported" + at(r.pos() - 4),
                        key);
            v.elemType = static_cast<ValueType>(et);
            const uint64_t countOffset = r.pos();
            v.count = r.read<uint64_t>("the length of '" + key + "'", key);
            const uint64_t minElem = v.elemType == ValueType::String ? 8 : scalarSize(et);
            if (v.count > r.left() / minElem)
                invalid(path,
                        "array '" + key + "' has length " + std::to_string(v.count) +
                            " but the file has only " + std::to_string(r.left()) + " bytes left" +
                            at(countOffset),
                        key);
            if (v.elemType == ValueType::String) {
                v.strings.reserve(v.count);
                for (uint64_t e = 0; e < v.count; ++e)
                    v.strings.push_back(
                        r.readString("element " + std::to_string(e) + " of '" + key + "'", key));
            } else {
                const uint64_t n = v.count * minElem;
                v.raw.assign(r.here(), r.here() + n);
                if (v.elemType == ValueType::Bool)
                    for (uint64_t e = 0; e < v.count; ++e)
                        if (v.raw[e] > 1)
                            invalid(path,
                                    "element " + std::to_string(e) + " of bool array '" + key + "' is " +
                                        std::to_string(v.raw[e]) + at(r.pos() + e),
                                    key);
                r.skip(n);
            }
        } else {
            readScalar(r, v.type, v, what, key, path);
        }
        h.meta.add(std::move(key), std::move(v), keyOffset);
    }

    // general.alignment: a u32 power of two (gguf.cpp: GGUF_KEY_GENERAL_ALIGNMENT, type u32, != 0, pow2).
    if (const Value *a = h.meta.find("general.alignment")) {
        if (a->type != ValueType::U32)
            invalid(path,
                    "general.alignment is " + valueTypeName(a->type) + ", expected u32" + at(a->fileOffset),
                    "general.alignment");
        if (a->u == 0 || (a->u & (a->u - 1)) != 0)
            invalid(path,
                    "general.alignment " + std::to_string(a->u) + " is not a power of two" +
                        at(a->fileOffset),
                    "general.alignment");
        h.alignment = a->u;
    }

    h.tensors.reserve(nTensors);
    for (uint64_t k = 0; k < nTensors; ++k) {
        GgufTensorInfo t;
        t.infoOffset = r.pos();
        t.name = r.readString("the name of tensor #" + std::to_string(k));
        const std::string &n = t.name;
        const uint64_t dimsOffset = r.pos();
        const uint32_t nDims = r.read<uint32_t>("n_dims of tensor '" + n + "'", n);
        if (nDims < 1 || nDims > kMaxDims)
            invalid(path,
                    "tensor '" + n + "' has n_dims " + std::to_string(nDims) + " (1 to 4 are valid)" +
                        at(dimsOffset),
                    n);
        r.need(8ull * nDims, "the dims of tensor '" + n + "'", n);
        int64_t elements = 1;
        for (uint32_t d = 0; d < nDims; ++d) {
            const uint64_t dimOffset = r.pos();
            const int64_t ne = r.read<int64_t>("a dim", n);
            if (ne < 0)
                invalid(path, "tensor '" + n + "' has a negative dim " + std::to_string(ne) + at(dimOffset),
                        n);
            if (__builtin_mul_overflow(elements, ne, &elements))
                invalid(path, "tensor '" + n + "': the element count overflows" + at(dimOffset), n);
            t.ne.push_back(ne);
        }
        const uint64_t typeOffset = r.pos();
        const uint32_t typeId = r.read<uint32_t>("the type of tensor '" + n + "'", n);
        const auto info = quant::ggmlTypeInfo(typeId);
        if (!info)
            invalid(path,
                    "tensor '" + n + "' has unknown ggml type id " + std::to_string(typeId) + at(typeOffset),
                    n);
        t.type = info->type;
        if (t.ne[0] % info->blockElements != 0)
            invalid(path,
                    "tensor '" + n + "': row length ne[0] = " + std::to_string(t.ne[0]) +
                        " is not a multiple of " + std::string(info->name) + "'s block of " +
                        std::to_string(info->blockElements) + at(dimsOffset),
                    n);
        const auto bytes = quant::ggmlBytes(*info, elements);
        if (!bytes)
            invalid(path,
                    "tensor '" + n + "': the byte count of " + std::string(info->name) + " overflows" +
                        at(dimsOffset),
                    n);
        t.bytes = static_cast<uint64_t>(*bytes);
        const uint64_t offOffset = r.pos();
        t.offset = r.read<uint64_t>("the offset of tensor '" + n + "'", n);
        if (t.offset % h.alignment != 0)
            invalid(path,
                    "tensor '" + n + "' has offset " + std::to_string(t.offset) +
                        ", not a multiple of the alignment " + std::to_string(h.alignment) + at(offOffset),
                    n);
        if (h.tensorIndex.count(n))
            invalid(path, "duplicate tensor name '" + n + "'" + at(t.infoOffset), n);
        h.tensorIndex.emplace(n, h.tensors.size());
        h.tensors.push_back(std::move(t));
    }

    // The data section starts at the next multiple of the alignment (the writer pads with zeros).
    const uint64_t end = r.pos();
    const uint64_t pad = (h.alignment - end % h.alignment) % h.alignment;
    h.dataStart = end + pad;
    if (h.dataStart > size) {
        if (!h.tensors.empty())
            invalid(path, "the data section would start at byte " + std::to_string(h.dataStart) +
                              ", past the end of the file (" + std::to_string(size) + " bytes)");
        h.dataStart = size; // no tensors: a writer may omit the final padding
    }
    const uint64_t dataSize = size - h.dataStart;
    std::vector<size_t>
        order; // the tensors that own bytes (an empty one, e.g. a 0-row matrix, overlaps nothing)
    order.reserve(h.tensors.size());
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const GgufTensorInfo &t = h.tensors[i];
        if (t.offset > dataSize || t.bytes > dataSize - t.offset)
            invalid(path,
                    "tensor '" + t.name + "' (" + std::to_string(t.bytes) + " bytes at data offset " +
                        std::to_string(t.offset) + ") runs past the end of the file (data section of " +
                        std::to_string(dataSize) + " bytes at byte " + std::to_string(h.dataStart) + ")" +
                        at(t.infoOffset),
                    t.name);
        if (t.bytes != 0)
            order.push_back(i);
    }
    // Sorted by offset, two non-empty ranges overlap exactly when some neighbours do. (Empty tensors are left
    // out above: kept in the order, one between two overlapping neighbours hid the overlap; found by
    // fuzzing.)
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return h.tensors[a].offset < h.tensors[b].offset; });
    for (size_t i = 1; i < order.size(); ++i) {
        const GgufTensorInfo &a = h.tensors[order[i - 1]], &b = h.tensors[order[i]];
        if (a.offset + a.bytes > b.offset)
            invalid(path,
                    "tensors '" + a.name + "' and '" + b.name + "' overlap in the data section" +
                        at(b.infoOffset),
                    b.name);
    }
    return h;
}

// --- GgufFile
// -------------------------------------------------------------------------------------------------

GgufFile GgufFile::open(const std::string &path)
{
    GgufFile f;
    f.m_path = path;
    f.m_map = mapWholeFile(path);
    f.m_header = parseGgufHeader(f.m_map->bytes(), f.m_map->size, path);
    return f;
}

GgufTensorView GgufFile::tensor(const std::string &name) const
{
    const GgufTensorInfo *t = m_header.findTensor(name);
    if (!t)
        throw Error(ErrorCode::TensorMissing, "GGUF file '" + m_path + "' has no tensor '" + name + "'",
                    name);
    const quant::GgmlTypeInfo &info = quant::ggmlTypeInfo(t->type);
    if (!info.supported)
        throw Error(
            ErrorCode::CheckpointInvalid,
            "GGUF file '" + m_path + "': tensor '" + name + "' is of type " + std::string(info.name) +
                ", which UHD Lens does not support (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
                "Q5_1, Q4_K, Q5_K, Q6_K); re-quantize the model with one of those",
            name);
    return {t, m_map->bytes() + m_header.dataStart + t->offset, t->bytes};
}

// --- LLaMA Q/K row permutation
// --------------------------------------------------------------------------------

namespace {
std::vector<uint8_t> movedRows(const uint8_t *data, int64_t rows, uint64_t rowBytes, int64_t heads,
                               const std::string &tensor, bool forward)
{
    if (heads <= 0 || rows <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
        throw Error(ErrorCode::CheckpointInvalid,
                    "tensor '" + tensor + "': " + std::to_string(rows) + " rows are not " +
                        std::to_string(heads) +
                        " heads of an even number of rows (the LLaMA rope permutation)",
                    tensor);
    std::vector<uint8_t> out(static_cast<size_t>(rows) * rowBytes);
    const int64_t perHead = rows / heads, half = perHead / 2;
    // LlamaModel.permute: w.reshape(n_head, 2, half, ...).swapaxes(1, 2): HF row h*perHead + j*half + i lands
    // at ggml row h*perHead + 2*i + j.
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < 2; ++j)
            for (int64_t i = 0; i < half; ++i) {
                const int64_t hf = h * perHead + j * half + i, gg = h * perHead + 2 * i + j;
                const int64_t src = forward ? hf : gg, dst = forward ? gg : hf;
                std::memcpy(out.data() + dst * rowBytes, data + src * rowBytes, rowBytes);
            }
    return out;
}
} // namespace

std::vector<uint8_t> unpermuteLlamaRows(const uint8_t *data, int64_t rows, uint64_t rowBytes, int64_t heads,
                                        const std::string &tensor)
{
    return movedRows(data, rows, rowBytes, heads, tensor, false);
}

std::vector<uint8_t> permuteLlamaRows(const uint8_t *data, int64_t rows, uint64_t rowBytes, int64_t heads,
                                      const std::string &tensor)
{
    return movedRows(data, rows, rowBytes, heads, tensor, true);
}

} // namespace uhdlens::gguf
