// Restricted reader of torch.save's zip format; see torch_checkpoint.h for the format and the safety
// argument. The pickle opcodes and their argument encodings follow CPython's Lib/pickle.py (protocol 2, plus
// the few protocol 3-5 opcodes torch.save emits with a higher pickle_protocol: FRAME, MEMOIZE,
// SHORT_BINUNICODE, STACK_GLOBAL, BINBYTES); what torch puts in them follows torch/serialization.py `_save` /
// `persistent_id` and torch/_tensor.py `_reduce_ex_internal` (torch 1.13 and 2.x write the same shapes).
#include "torch_checkpoint.h"

#include "file_map.h"

#include "uhdlens/errors.h"

#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>


static_assert(std::endian::native == std::endian::little,
              "storages are read as little-endian bytes; port the reader");

namespace uhdlens {

namespace {

// ----------------------------------------------------------------------------------------------- file access

// libtorch's reader reads through this adapter from our mapping, so both see the very same bytes.
class MapAdapter final : public caffe2::serialize::ReadAdapterInterface
{
  public:
    explicit MapAdapter(std::shared_ptr<FileMap> map) : m_map(std::move(map)) {}
    size_t size() const override { return m_map->size; }
    size_t read(uint64_t pos, void *buf, size_t n, const char *) const override
    {
        if (pos >= m_map->size)
            return 0;
        const size_t k = static_cast<size_t>(std::min<uint64_t>(n, m_map->size - pos));
        std::memcpy(buf, m_map->data + pos, k);
        return k;
    }

  private:
    std::shared_ptr<FileMap> m_map;
};

[[noreturn]] void malformed(const std::string &file, const std::string &reason,
                            const std::string &subject = {})
{
    throw Error(ErrorCode::CheckpointInvalid, "PyTorch checkpoint '" + file + "': " + reason,
                subject.empty() ? file : subject);
}

[[noreturn]] void refused(const std::string &file, const std::string &reason)
{
    throw Error(ErrorCode::PickleRefused, "PyTorch checkpoint '" + file + "' refused: " + reason, file);
}

uint16_t le16(const uint8_t *p)
{
    return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t le32(const uint8_t *p)
{
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
           (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const uint8_t *p)
{
    return le32(p) | (static_cast<uint64_t>(le32(p + 4)) << 32);
}

// ---------------------------------------------------------------------------------------- zip directory scan

struct ZipEntry
{
    std::string name;
    uint16_t flags = 0, method = 0;
    uint64_t compSize = 0, size = 0, localHeader = 0;
    uint64_t dataOffset = 0; // from the local header
};

// Only what PyTorchStreamReader does not tell: each entry's method, flags, sizes and data range (PKWARE
// APPNOTE 4.3.12 central directory header, 4.3.14-16 zip64 records, 4.5.3 zip64 extra field).
std::map<std::string, ZipEntry> scanZipDirectory(const FileMap &m, const std::string &path)
{
    const uint8_t *d = m.data;
    const uint64_t n = m.size;
    if (n < 22)
        malformed(path, "file is " + std::to_string(n) + " bytes, too short for a zip archive (truncated?)");
    // The end-of-central-directory record is within the last 22 + 65535 (comment) bytes.
    uint64_t eocd = UINT64_MAX;
    const uint64_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
    for (uint64_t p = n - 22 + 1; p-- > lowest;)
        if (le32(d + p) == 0x06054b50 && p + 22 + le16(d + p + 20) == n) {
            eocd = p;
            break;
        }
    if (eocd == UINT64_MAX)
        malformed(path,
                  "no zip end-of-central-directory record (the file is truncated or not a zip archive)");
    uint64_t count = le16(d + eocd + 10), cdSize = le32(d + eocd + 12), cdOffset = le32(d + eocd + 16);
    if (eocd >= 20 && le32(d + eocd - 20) == 0x07064b50) { // zip64 locator
        const uint64_t rec = le64(d + eocd - 20 + 8);
        if (rec > n || n - rec < 56 || le32(d + rec) != 0x06064b50)
            malformed(path, "zip64 end-of-central-directory record is out of the file");
        count = le64(d + rec + 32);
        cdSize = le64(d + rec + 40);
        cdOffset = le64(d + rec + 48);
    }
    if (cdOffset > n || cdSize > n - cdOffset)
        malformed(path, "zip central directory [" + std::to_string(cdOffset) + ", +" +
                            std::to_string(cdSize) + ") lies outside the file (" + std::to_string(n) +
                            " bytes; truncated?)");
    if (count > cdSize / 46)
        malformed(path, "zip central directory claims " + std::to_string(count) + " entries in " +
                            std::to_string(cdSize) + " bytes");
    std::map<std::string, ZipEntry> entries;
    uint64_t p = cdOffset;
    const uint64_t end = cdOffset + cdSize;
    for (uint64_t i = 0; i < count; ++i) {
        if (end - p < 46 || le32(d + p) != 0x02014b50)
            malformed(path, "zip central directory entry " + std::to_string(i) + " is damaged");
        ZipEntry e;
        e.flags = le16(d + p + 8);
        e.method = le16(d + p + 10);
        e.compSize = le32(d + p + 20);
        e.size = le32(d + p + 24);
        const uint64_t nameLen = le16(d + p + 28), extraLen = le16(d + p + 30), commentLen = le16(d + p + 32);
        e.localHeader = le32(d + p + 42);
        if (end - p - 46 < nameLen + extraLen + commentLen)
            malformed(path, "zip central directory entry " + std::to_string(i) + " runs past the directory");
        e.name.assign(reinterpret_cast<const char *>(d + p + 46), nameLen);
        // zip64 extended information: 8-byte fields, present only for the 32-bit fields set to 0xFFFFFFFF.
        for (uint64_t x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
            const uint16_t id = le16(d + x), len = le16(d + x + 2);
            if (x + 4 + len > p + 46 + nameLen + extraLen)
                malformed(path, "zip entry '" + e.name + "' has a damaged extra field");
            if (id == 0x0001) {
                uint64_t q = x + 4;
                const uint64_t qEnd = q + len;
                for (uint64_t *field : {&e.size, &e.compSize, &e.localHeader})
                    if (*field == 0xFFFFFFFFu) {
                        if (qEnd - q < 8)
                            malformed(path, "zip entry '" + e.name + "' has a short zip64 field");
                        *field = le64(d + q);
                        q += 8;
                    }
            }
            x += 4 + len;
        }
        if (e.localHeader > n || n - e.localHeader < 30 || le32(d + e.localHeader) != 0x04034b50)
            malformed(path,
                      "zip entry '" + e.name + "': local header out of the file or damaged (truncated?)");
        e.dataOffset = e.localHeader + 30 + le16(d + e.localHeader + 26) + le16(d + e.localHeader + 28);
        if (e.dataOffset > n || e.compSize > n - e.dataOffset)
            malformed(path, "zip entry '" + e.name + "' (" + std::to_string(e.compSize) +
                                " bytes) runs past the end of the file (" + std::to_string(n) +
                                " bytes; truncated?)");
        if (!entries.emplace(e.name, e).second)
            malformed(path, "zip entry '" + e.name + "' appears twice");
        p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
}

// --------------------------------------------------------------------------------------------- pickle values

struct Storage
{
    std::string key;
    torch::Dtype dtype;
    uint64_t numel = 0;
    const ZipEntry *record = nullptr;
};

enum class Callable
{
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    StorageType
};

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value
{
    enum Kind
    {
        None,
        Bool,
        Int,
        Float,
        Str,
        Bytes,
        Tuple,
        List,
        Dict,
        Global,
        StorageRef,
        Tensor
    } kind = None;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;                            // Str / Bytes; Global: the qualified name
    std::vector<Ref> items;                   // Tuple / List
    std::vector<std::pair<Ref, Ref>> entries; // Dict, insertion-ordered
    Callable callable = Callable::OrderedDict;
    torch::Dtype storageDtype = torch::kFloat32; // Global StorageType
    std::shared_ptr<Storage> storage;
    torch::Tensor tensor;
    int depth = 1; // nesting depth, capped so freeing the value tree cannot exhaust the stack
};

const char *kindName(Value::Kind k)
{
    static const char *names[] = {"None",  "bool", "int",  "float",  "str",     "bytes",
                                  "tuple", "list", "dict", "global", "storage", "tensor"};
    return names[k];
}

struct StorageTypeEntry
{
    const char *name;
    torch::Dtype dtype;
};

// The storage classes whose dtypes safetensors (and core/src/safetensors.cpp) can hold.
constexpr StorageTypeEntry kStorageTypes[] = {
    {"DoubleStorage", torch::kFloat64}, {"FloatStorage", torch::kFloat32},
    {"HalfStorage", torch::kFloat16},   {"BFloat16Storage", torch::kBFloat16},
    {"LongStorage", torch::kInt64},     {"IntStorage", torch::kInt32},
    {"ShortStorage", torch::kInt16},    {"CharStorage", torch::kInt8},
    {"ByteStorage", torch::kUInt8},     {"BoolStorage", torch::kBool},
};

constexpr int kMaxDepth = 64;

class Unpickler
{
  public:
    Unpickler(const std::string &path, const uint8_t *data, size_t size, const FileMap &file,
              const std::map<std::string, ZipEntry> &records, std::string prefix)
        : m_path(path), m_data(data), m_size(size), m_file(file), m_records(records),
          m_prefix(std::move(prefix))
    {
    }

    Ref run()
    {
        while (true) {
            if (m_pos >= m_size)
                malformed(m_path, "data.pkl ends without a STOP opcode (truncated pickle)");
            const size_t at = m_pos;
            const uint8_t op = m_data[m_pos++];
            switch (op) {
            case 0x80: { // PROTO
                const uint8_t proto = byte();
                if (proto < 2 || proto > 5)
                    refuse(at, "pickle protocol " + std::to_string(proto) + " (torch.save writes 2)");
                break;
            }
            case 0x95: // FRAME (protocol 4): an 8-byte length hint, nothing to do
                take(8);
                break;
            case '.': // STOP
                if (m_stack.size() != 1 || !m_marks.empty())
                    malformed(m_path, "data.pkl stops with " + std::to_string(m_stack.size()) +
                                          " values on the stack (damaged pickle)");
                return m_stack.back();
            case '(': // MARK
                m_marks.push_back(m_stack.size());
                break;
            case '0': // POP
                pop(at);
                break;
            case '1': // POP_MARK
                popMark(at);
                break;
            case '2': // DUP
                push(top(at));
                break;
            case '}': { // EMPTY_DICT
                auto v = make(Value::Dict);
                push(v);
                break;
            }
            case ']':
                push(make(Value::List));
                break;
            case ')':
                push(make(Value::Tuple));
                break;
            case 't': { // TUPLE
                auto v = make(Value::Tuple);
                v->items = popMark(at);
                push(finish(v, at));
                break;
            }
            case 0x85:
            case 0x86:
            case 0x87: { // TUPLE1..3
                const size_t k = op - 0x84u;
                if (m_stack.size() < k + base())
                    malformed(m_path, "data.pkl: TUPLE" + std::to_string(k) + " at byte " +
                                          std::to_string(at) + " with too few values on the stack");
                auto v = make(Value::Tuple);
                v->items.assign(m_stack.end() - static_cast<long>(k), m_stack.end());
                m_stack.resize(m_stack.size() - k);
                push(finish(v, at));
                break;
            }
            case 'a': { // APPEND
                Ref x = pop(at);
                Ref list = top(at);
                expect(list, Value::List, "APPEND", at);
                list->items.push_back(x);
                finish(list, at);
                break;
            }
            case 'e': { // APPENDS
                auto xs = popMark(at);
                Ref list = top(at);
                expect(list, Value::List, "APPENDS", at);
                list->items.insert(list->items.end(), xs.begin(), xs.end());
                finish(list, at);
                break;
            }
            case 's': { // SETITEM
                Ref v = pop(at);
                Ref k = pop(at);
                setItem(top(at), k, v, at);
                break;
            }
            case 'u': { // SETITEMS
                auto kv = popMark(at);
                if (kv.size() % 2)
                    malformed(m_path,
                              "data.pkl: SETITEMS at byte " + std::to_string(at) + " with an odd count");
                Ref dict = top(at);
                for (size_t j = 0; j < kv.size(); j += 2)
                    setItem(dict, kv[j], kv[j + 1], at);
                break;
            }
            case 'q': // BINPUT
                m_memo[byte()] = top(at);
                break;
            case 'r': // LONG_BINPUT
                m_memo[le32(take(4))] = top(at);
                break;
            case 0x94: // MEMOIZE
                m_memo[static_cast<uint32_t>(m_memo.size())] = top(at);
                break;
            case 'h': // BINGET
                push(memo(byte(), at));
                break;
            case 'j': // LONG_BINGET
                push(memo(le32(take(4)), at));
                break;
            case 'N':
                push(make(Value::None));
                break;
            case 0x88:
            case 0x89: { // NEWTRUE / NEWFALSE
                auto v = make(Value::Bool);
                v->b = op == 0x88;
                push(v);
                break;
            }
            case 'J': { // BININT: signed 32-bit
                auto v = make(Value::Int);
                v->i = static_cast<int32_t>(le32(take(4)));
                push(v);
                break;
            }
            case 'K': { // BININT1
                auto v = make(Value::Int);
                v->i = byte();
                push(v);
                break;
            }
            case 'M': { // BININT2
                auto v = make(Value::Int);
                v->i = le16(take(2));
                push(v);
                break;
            }
            case 0x8a: { // LONG1: n-byte little-endian two's complement; we hold up to 64 bits
                const uint8_t k = byte();
                if (k > 8)
                    malformed(m_path, "data.pkl: integer of " + std::to_string(k) + " bytes at byte " +
                                          std::to_string(at) + " does not fit 64 bits");
                const uint8_t *p = take(k);
                uint64_t u = 0;
                for (int j = 0; j < k; ++j)
                    u |= static_cast<uint64_t>(p[j]) << (8 * j);
                if (k && k < 8 && (p[k - 1] & 0x80))
                    u |= ~uint64_t{0} << (8 * k); // sign-extend
                auto v = make(Value::Int);
                v->i = static_cast<int64_t>(u);
                push(v);
                break;
            }
            case 'G': { // BINFLOAT: big-endian double
                const uint8_t *p = take(8);
                uint64_t u = 0;
                for (int j = 0; j < 8; ++j)
                    u = (u << 8) | p[j];
                auto v = make(Value::Float);
                std::memcpy(&v->f, &u, 8);
                push(v);
                break;
            }
            case 'X': // BINUNICODE
                pushString(Value::Str, le32(take(4)));
                break;
            case 0x8c: // SHORT_BINUNICODE
                pushString(Value::Str, byte());
                break;
            case 0x8d: // BINUNICODE8
                pushString(Value::Str, le64(take(8)));
                break;
            case 'T': // BINSTRING (Python 2 str; torch writes none, kept for old dict keys)
                pushString(Value::Str, le32(take(4)));
                break;
            case 'U': // SHORT_BINSTRING
                pushString(Value::Str, byte());
                break;
            case 'B': // BINBYTES
                pushString(Value::Bytes, le32(take(4)));
                break;
            case 'C': // SHORT_BINBYTES
                pushString(Value::Bytes, byte());
                break;
            case 'c': { // GLOBAL "module\nname\n"
                const std::string module = line(at);
                const std::string name = line(at);
                push(global(module, name, at));
                break;
            }
            case 0x93: { // STACK_GLOBAL (protocol 4): module and name strings on the stack
                Ref name = pop(at);
                Ref module = pop(at);
                if (module->kind != Value::Str || name->kind != Value::Str)
                    malformed(m_path,
                              "data.pkl: STACK_GLOBAL at byte " + std::to_string(at) + " without strings");
                push(global(module->s, name->s, at));
                break;
            }
            case 'Q': { // BINPERSID
                Ref pid = pop(at);
                push(persistentLoad(pid, at));
                break;
            }
            case 'R': { // REDUCE
                Ref args = pop(at);
                Ref fn = pop(at);
                push(reduce(fn, args, at));
                break;
            }
            case 'b': { // BUILD: only OrderedDict state (state_dict()'s `_metadata` attribute), which we drop
                Ref state = pop(at);
                Ref obj = top(at);
                if (obj->kind != Value::Dict || (state->kind != Value::Dict && state->kind != Value::None))
                    refuse(at, std::string("BUILD of a ") + kindName(obj->kind) + " with a " +
                                   kindName(state->kind) +
                                   " state (only an OrderedDict's attributes are allowed)");
                break;
            }
            default:
                refuse(at, "pickle opcode 0x" + hex(op) + describe(op) +
                               " is not one torch.save writes for tensors (only a dict of tensors is read)");
            }
        }
    }

    std::vector<std::shared_ptr<Storage>> storages() const
    {
        std::vector<std::shared_ptr<Storage>> out;
        for (const auto &[k, s] : m_storages)
            out.push_back(s);
        return out;
    }
    void setMap(std::shared_ptr<FileMap> keep) { m_keep = std::move(keep); }

  private:
    static std::string hex(uint8_t op)
    {
        const char *digits = "0123456789abcdef";
        return {digits[op >> 4], digits[op & 15]};
    }
    static std::string describe(uint8_t op)
    {
        switch (op) {
        case 'i':
            return " (INST: instantiates a class)";
        case 'o':
            return " (OBJ: instantiates a class)";
        case 0x81:
            return " (NEWOBJ: instantiates a class)";
        case 0x92:
            return " (NEWOBJ_EX: instantiates a class)";
        case 'P':
            return " (PERSID)";
        case 'I':
            return " (INT, text protocol)";
        case 'S':
            return " (STRING, text protocol)";
        default:
            return "";
        }
    }

    [[noreturn]] void refuse(size_t at, const std::string &what)
    {
        refused(m_path, "data.pkl byte " + std::to_string(at) + ": " + what);
    }

    uint8_t byte() { return *take(1); }
    const uint8_t *take(uint64_t n)
    {
        if (n > m_size - m_pos)
            malformed(m_path, "data.pkl is truncated (an argument at byte " + std::to_string(m_pos) +
                                  " needs " + std::to_string(n) + " bytes past the end)");
        const uint8_t *p = m_data + m_pos;
        m_pos += static_cast<size_t>(n);
        return p;
    }
    std::string line(size_t at)
    {
        const uint8_t *start = m_data + m_pos;
        const void *nl = std::memchr(start, '\n', std::min<size_t>(m_size - m_pos, 256));
        if (!nl)
            malformed(m_path, "data.pkl: GLOBAL at byte " + std::to_string(at) + " has no name line");
        const size_t len = static_cast<const uint8_t *>(nl) - start;
        m_pos += len + 1;
        return {reinterpret_cast<const char *>(start), len};
    }
    void pushString(Value::Kind kind, uint64_t len)
    {
        auto v = make(kind);
        const uint8_t *p = take(len);
        v->s.assign(reinterpret_cast<const char *>(p), static_cast<size_t>(len));
        push(v);
    }

    Ref make(Value::Kind k)
    {
        auto v = std::make_shared<Value>();
        v->kind = k;
        return v;
    }
    // Updates the depth of a container after its children changed; refuses absurd nesting.
    Ref finish(const Ref &v, size_t at)
    {
        int d = 0;
        for (const auto &x : v->items)
            d = std::max(d, x->depth);
        for (const auto &[k, x] : v->entries)
            d = std::max({d, k->depth, x->depth});
        v->depth = std::max(v->depth, d + 1);
        if (v->depth > kMaxDepth)
            malformed(m_path, "data.pkl: values nested more than " + std::to_string(kMaxDepth) +
                                  " deep at byte " + std::to_string(at));
        return v;
    }
    size_t base() const { return m_marks.empty() ? 0 : m_marks.back(); }
    void push(Ref v) { m_stack.push_back(std::move(v)); }
    Ref pop(size_t at)
    {
        if (m_stack.size() <= base())
            malformed(m_path,
                      "data.pkl: stack underflow at byte " + std::to_string(at) + " (damaged pickle)");
        Ref v = std::move(m_stack.back());
        m_stack.pop_back();
        return v;
    }
    Ref top(size_t at)
    {
        if (m_stack.size() <= base())
            malformed(m_path,
                      "data.pkl: stack underflow at byte " + std::to_string(at) + " (damaged pickle)");
        return m_stack.back();
    }
    std::vector<Ref> popMark(size_t at)
    {
        if (m_marks.empty())
            malformed(m_path, "data.pkl: no MARK for the opcode at byte " + std::to_string(at));
        const size_t m = m_marks.back();
        m_marks.pop_back();
        std::vector<Ref> out(m_stack.begin() + static_cast<long>(m), m_stack.end());
        m_stack.resize(m);
        return out;
    }
    Ref memo(uint32_t key, size_t at)
    {
        const auto it = m_memo.find(key);
        if (it == m_memo.end())
            malformed(m_path, "data.pkl: memo " + std::to_string(key) + " read at byte " +
                                  std::to_string(at) + " before it was written");
        return it->second;
    }
    void expect(const Ref &v, Value::Kind k, const char *op, size_t at)
    {
        if (v->kind != k)
            refuse(at, std::string(op) + " on a " + kindName(v->kind));
    }
    void setItem(const Ref &dict, const Ref &k, const Ref &v, size_t at)
    {
        expect(dict, Value::Dict, "SETITEM", at);
        if (k->kind != Value::Str && k->kind != Value::Int && k->kind != Value::Bool &&
            k->kind != Value::None)
            refuse(at, std::string("dict key of type ") + kindName(k->kind));
        for (auto &[ek, ev] : dict->entries)
            if (ek->kind == k->kind && ek->s == k->s && ek->i == k->i && ek->b == k->b) {
                ev = v; // Python semantics: a repeated key replaces the value in place
                finish(dict, at);
                return;
            }
        dict->entries.emplace_back(k, v);
        finish(dict, at);
    }

    // The whole whitelist of names data.pkl may refer to.
    Ref global(const std::string &module, const std::string &name, size_t at)
    {
        auto v = make(Value::Global);
        v->s = module + "." + name;
        if (module == "collections" && name == "OrderedDict") {
            v->callable = Callable::OrderedDict;
        } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
            v->callable = Callable::RebuildTensorV2;
        } else if (module == "torch._utils" && name == "_rebuild_parameter") {
            v->callable = Callable::RebuildParameter;
        } else if (module == "torch") {
            const auto it = std::find_if(std::begin(kStorageTypes), std::end(kStorageTypes),
                                         [&](const StorageTypeEntry &e) { return name == e.name; });
            if (it == std::end(kStorageTypes))
                refuse(at,
                       "GLOBAL 'torch." + name + "' is not allowed" +
                           (name.ends_with("Storage") ? " (a storage type safetensors cannot hold)" : ""));
            v->callable = Callable::StorageType;
            v->storageDtype = it->dtype;
        } else {
            std::string shown = module + "." + name;
            if (shown.size() > 80)
                shown = shown.substr(0, 80) + "...";
            for (char &c : shown)
                if (static_cast<unsigned char>(c) < 32)
                    c = '?';
            refuse(at, "GLOBAL '" + shown +
                           "' is not allowed (only collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                           "torch._utils._rebuild_parameter and torch.<X>Storage; loading this file with "
                           "torch.load would run code it names)");
        }
        return v;
    }

    // ('storage', torch.<X>Storage, key, location, numel) -> the storage, one object per key.
    Ref persistentLoad(const Ref &pid, size_t at)
    {
        if (pid->kind != Value::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Value::Str ||
            pid->items[0]->s != "storage")
            refuse(at, "persistent id is not ('storage', type, key, location, numel)");
        const Ref &type = pid->items[1];
        const Ref &key = pid->items[2];
        const Ref &location = pid->items[3];
        const Ref &numel = pid->items[4];
        if (type->kind != Value::Global || type->callable != Callable::StorageType ||
            key->kind != Value::Str || location->kind != Value::Str || numel->kind != Value::Int)
            refuse(at, "persistent id is not ('storage', torch.<X>Storage, str, str, int)");
        if (numel->i < 0)
            malformed(m_path, "storage '" + key->s + "' has a negative size " + std::to_string(numel->i));
        auto v = make(Value::StorageRef);
        const auto known = m_storages.find(key->s);
        if (known != m_storages.end()) {
            if (known->second->dtype != type->storageDtype ||
                known->second->numel != static_cast<uint64_t>(numel->i))
                malformed(m_path, "storage '" + key->s + "' is declared twice with different types or sizes");
            v->storage = known->second;
            return v;
        }
        auto s = std::make_shared<Storage>();
        s->key = key->s;
        s->dtype = type->storageDtype;
        s->numel = static_cast<uint64_t>(numel->i);
        const auto rec = m_records.find(m_prefix + "data/" + key->s);
        if (rec == m_records.end())
            malformed(m_path, "storage '" + key->s + "' has no record data/" + key->s + " in the archive");
        s->record = &rec->second;
        const uint64_t elem = c10::elementSize(s->dtype);
        uint64_t bytes = 0;
        if (__builtin_mul_overflow(s->numel, elem, &bytes) || bytes != rec->second.size)
            malformed(m_path, "storage '" + key->s + "' declares " + std::to_string(s->numel) +
                                  " elements of " + std::to_string(elem) + " bytes but its record holds " +
                                  std::to_string(rec->second.size) + " bytes");
        m_storages.emplace(s->key, s);
        v->storage = s;
        return v;
    }

    static bool intTuple(const Ref &v, std::vector<int64_t> &out)
    {
        if (v->kind != Value::Tuple)
            return false;
        out.clear();
        for (const auto &x : v->items) {
            if (x->kind != Value::Int)
                return false;
            out.push_back(x->i);
        }
        return true;
    }

    Ref reduce(const Ref &fn, const Ref &args, size_t at)
    {
        if (fn->kind != Value::Global)
            refuse(at, std::string("REDUCE of a ") + kindName(fn->kind) + " (only whitelisted callables)");
        if (args->kind != Value::Tuple)
            refuse(at, "REDUCE of '" + fn->s + "' with non-tuple arguments");
        const auto &a = args->items;
        switch (fn->callable) {
        case Callable::OrderedDict:
            if (!a.empty())
                refuse(at, "OrderedDict(...) with arguments (torch.save writes OrderedDict() then SETITEMS)");
            return make(Value::Dict);
        case Callable::StorageType:
            refuse(at, "REDUCE of '" + fn->s + "' (storages come only from persistent ids)");
        case Callable::RebuildParameter:
            // _rebuild_parameter(data, requires_grad, backward_hooks): an nn.Parameter around a tensor.
            if (a.size() != 3 || a[0]->kind != Value::Tensor || a[1]->kind != Value::Bool ||
                a[2]->kind != Value::Dict)
                refuse(at, "torch._utils._rebuild_parameter with unexpected arguments");
            return a[0];
        case Callable::RebuildTensorV2:
            break;
        }
        // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
        std::vector<int64_t> size, stride;
        if ((a.size() != 6 && a.size() != 7) || a[0]->kind != Value::StorageRef || a[1]->kind != Value::Int ||
            !intTuple(a[2], size) || !intTuple(a[3], stride) || a[4]->kind != Value::Bool ||
            a[5]->kind != Value::Dict ||
            (a.size() == 7 && a[6]->kind != Value::None && a[6]->kind != Value::Dict))
            refuse(at, "torch._utils._rebuild_tensor_v2 with unexpected arguments");
        if (!a[5]->entries.empty())
            refuse(at, "a tensor with backward hooks");
        auto v = make(Value::Tensor);
        v->tensor = materialise(*a[0]->storage, a[1]->i, size, stride, at);
        return v;
    }

    // The tensor torch.load would build: storage[offset + sum(i_k * stride_k)], every index checked.
    torch::Tensor materialise(const Storage &s, int64_t offset, const std::vector<int64_t> &size,
                              const std::vector<int64_t> &stride, size_t at)
    {
        const std::string what =
            "tensor at data.pkl byte " + std::to_string(at) + " (storage '" + s.key + "')";
        if (size.size() != stride.size())
            malformed(m_path, what + ": " + std::to_string(size.size()) + " sizes but " +
                                  std::to_string(stride.size()) + " strides");
        if (offset < 0)
            malformed(m_path, what + ": negative storage offset " + std::to_string(offset));
        uint64_t numel = 1, last = static_cast<uint64_t>(offset);
        bool overflow = false;
        for (size_t k = 0; k < size.size(); ++k) {
            if (size[k] < 0)
                malformed(m_path, what + ": negative size " + std::to_string(size[k]));
            if (stride[k] < 0)
                malformed(m_path, what + ": negative stride " + std::to_string(stride[k]) +
                                      " (not written by torch)");
            overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(size[k]), &numel);
        }
        if (overflow || numel > static_cast<uint64_t>(INT64_MAX))
            malformed(m_path, what + ": its size overflows");
        if (numel > 0) {
            for (size_t k = 0; k < size.size(); ++k) {
                uint64_t span = 0;
                overflow = overflow ||
                           __builtin_mul_overflow(static_cast<uint64_t>(size[k] - 1),
                                                  static_cast<uint64_t>(stride[k]), &span) ||
                           __builtin_add_overflow(last, span, &last);
            }
            if (overflow || last >= s.numel)
                malformed(m_path, what + ": offset " + std::to_string(offset) + ", size " + list(size) +
                                      " and stride " + list(stride) + " reach past the storage's " +
                                      std::to_string(s.numel) + " elements");
        } else if (static_cast<uint64_t>(offset) > s.numel) {
            malformed(m_path, what + ": offset " + std::to_string(offset) + " is past the storage's " +
                                  std::to_string(s.numel) + " elements");
        }
        const auto dtype = torch::TensorOptions().dtype(s.dtype).device(torch::kCPU);
        if (numel == 0)
            return torch::empty(size, dtype);
        const uint8_t *p = m_file.data + s.record->dataOffset;
        std::shared_ptr<FileMap> keep = m_keep;
        // The mapping is PROT_READ: the const_cast only satisfies from_blob; callers never write into views.
        torch::Tensor base = torch::from_blob(
            const_cast<uint8_t *>(p), {static_cast<int64_t>(s.numel)},
            [keep](void *) mutable { keep.reset(); }, dtype);
        torch::Tensor t = base.as_strided(size, stride, offset);
        // Views that are a contiguous, naturally aligned run stay zero-copy; everything else is materialised.
        const bool aligned = reinterpret_cast<uintptr_t>(p) % c10::elementSize(s.dtype) == 0;
        return t.is_contiguous() && aligned
                   ? t
                   : (aligned ? t.contiguous() : t.clone(torch::MemoryFormat::Contiguous));
    }
    static std::string list(const std::vector<int64_t> &v)
    {
        std::string s = "[";
        for (size_t k = 0; k < v.size(); ++k) {
            if (k)
                s += ',';
            s += std::to_string(v[k]);
        }
        s += ']';
        return s;
    }

    std::string m_path;
    const uint8_t *m_data;
    size_t m_size;
    size_t m_pos = 0;
    const FileMap &m_file;
    std::shared_ptr<FileMap> m_keep;
    const std::map<std::string, ZipEntry> &m_records;
    std::string m_prefix;
    std::vector<Ref> m_stack;
    std::vector<size_t> m_marks;
    std::unordered_map<uint32_t, Ref> m_memo;
    std::map<std::string, std::shared_ptr<Storage>> m_storages;
};

void collectTensors(const Value &dict, TorchCheckpoint &out, const std::string &path)
{
    for (const auto &[k, v] : dict.entries) {
        const std::string key = k->kind == Value::Str   ? k->s
                                : k->kind == Value::Int ? std::to_string(k->i)
                                                        : "?";
        if (v->kind == Value::Tensor) {
            if (k->kind != Value::Str || key.empty())
                malformed(path, "a tensor is stored under a non-string or empty key");
            out.tensors.emplace_back(key, v->tensor);
        } else {
            out.skipped.push_back(key + " (" + kindName(v->kind) + ")");
        }
    }
}

} // namespace

TorchCheckpoint readTorchZipCheckpoint(const std::string &path)
{
    std::shared_ptr<FileMap> file = mapWholeFile(path);
    const uint8_t *d = file->data;
    const uint64_t n = file->size;
    if (n >= 2 && d[0] == 0x80 && d[1] >= 2 && d[1] <= 5)
        refused(
            path,
            "this is the legacy (before PyTorch 1.6) torch.save format, a bare pickle stream, which UHD Lens "
            "does not read; re-save it with PyTorch >= 1.6 (torch.save(torch.load(f), f2)) or save it as "
            "safetensors");
    if (n < 4 || !(d[0] == 'P' && d[1] == 'K' && d[2] == 3 && d[3] == 4))
        malformed(path,
                  "not a PyTorch zip checkpoint (no zip header; legacy tar checkpoints are not read either)");

    const std::map<std::string, ZipEntry> entries = scanZipDirectory(*file, path);
    for (const auto &[name, e] : entries) {
        if (e.flags & 1u)
            malformed(path, "zip entry '" + name + "' is encrypted");
        if (e.method != 0 || e.compSize != e.size)
            malformed(path, "zip entry '" + name + "' is compressed (method " + std::to_string(e.method) +
                                "); torch.save stores every entry uncompressed");
    }

    // libtorch's reader: validates the archive (miniz), the single archive folder and the version record.
    std::string prefix;
    std::vector<char> pickle;
    try {
        caffe2::serialize::PyTorchStreamReader reader(std::make_shared<MapAdapter>(file));
        // Every entry sits in one folder, named after the saved file (libtorch takes the first entry's folder and
        // lists records relative to it).
        if (entries.empty())
            malformed(path, "the archive is empty");
        const std::string &first = entries.begin()->first;
        prefix = first.substr(0, first.find('/') + 1);
        for (const auto &[name, e] : entries)
            if (prefix.empty() || !name.starts_with(prefix))
                malformed(path, "entry '" + name + "' is outside the archive folder '" + prefix + "'");
        for (const std::string &r : reader.getAllRecords())
            if (!entries.count(r.starts_with(prefix) ? r : prefix + r))
                malformed(path, "zip directories disagree about entry '" + r + "'");
        if (!reader.hasRecord("data.pkl"))
            malformed(path, "no data.pkl in the archive (a TorchScript archive or not a torch.save file?)");
        if (reader.hasRecord("byteorder")) {
            const ZipEntry &bo = entries.at(prefix + "byteorder");
            const std::string order(reinterpret_cast<const char *>(d + bo.dataOffset), bo.size);
            if (order != "little")
                malformed(path,
                          "storages are stored in '" + order + "' byte order; only little-endian is read");
        }
        for (const char *name : {"data.pkl"}) {
            const ZipEntry &e = entries.at(prefix + name);
            if (reader.getRecordOffset(name) != e.dataOffset)
                malformed(path, std::string("zip directories disagree about where '") + name + "' starts");
        }
        auto [ptr, size] = reader.getRecord("data.pkl");
        const char *bytes = static_cast<const char *>(ptr.get());
        pickle.assign(bytes, bytes + size);
    } catch (const Error &) {
        throw;
    } catch (const c10::Error &e) {
        // The first line of libtorch's message; the rest is a C++ backtrace.
        std::string what = e.what_without_backtrace();
        what = what.substr(0, what.find('\n'));
        malformed(path, "not a readable PyTorch zip archive: " + what);
    } catch (const std::exception &e) { // e.g. std::stoull on a non-numeric version record
        malformed(path, std::string("not a readable PyTorch zip archive: ") + e.what());
    }

    Unpickler unpickler(path, reinterpret_cast<const uint8_t *>(pickle.data()), pickle.size(), *file, entries,
                        prefix);
    unpickler.setMap(file);
    Ref root = unpickler.run();
    if (root->kind != Value::Dict)
        refused(path, std::string("the saved object is a ") + kindName(root->kind) +
                          ", not a dict of tensors (a state dict)");
    TorchCheckpoint out;
    collectTensors(*root, out, path);
    if (out.tensors.empty()) {
        // {"state_dict": {...}} / {"model": {...}}: take the one nested dict that holds tensors.
        const Value *nested = nullptr;
        for (const auto &[k, v] : root->entries) {
            if (k->kind != Value::Str || v->kind != Value::Dict)
                continue;
            const bool hasTensor = std::any_of(v->entries.begin(), v->entries.end(),
                                               [](const auto &e) { return e.second->kind == Value::Tensor; });
            if (!hasTensor)
                continue;
            if (nested)
                malformed(path, "several nested dicts hold tensors ('" + out.nestedKey + "', '" + k->s +
                                    "'); save the state dict you want on its own");
            nested = v.get();
            out.nestedKey = k->s;
        }
        if (nested) {
            out.skipped.clear();
            for (const auto &[k, v] : root->entries)
                if (v.get() != nested)
                    out.skipped.push_back((k->kind == Value::Str ? k->s : std::string("?")) + " (" +
                                          kindName(v->kind) + ")");
            collectTensors(*nested, out, path);
        }
    }
    if (out.tensors.empty())
        malformed(path, "the saved dict holds no tensors");
    return out;
}

} // namespace uhdlens
