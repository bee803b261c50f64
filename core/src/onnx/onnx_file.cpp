// ONNX ModelProto reader: protobuf wire format over a byte span (see onnx_file.h for the fields read).
#include "onnx/onnx_file.h"

#include "file_map.h"
#include "uhdlens/errors.h"

#include <cstring>
#include <iterator>
#include <limits>
#include <set>
#include <string_view>

namespace uhdlens::onnx {

namespace {

enum WireType : uint32_t
{
    Varint = 0,
    Fixed64 = 1,
    Length = 2,
    GroupStart = 3,
    GroupEnd = 4,
    Fixed32 = 5,
};

constexpr size_t kMaxDims = 16; // ONNX has no limit; no weight UHD Lens reads has more than 5

// A cursor over one message's bytes [p, end); `base` is the start of the file, for offsets in messages.
class Reader
{
public:
    Reader(const uint8_t *base, const uint8_t *begin, const uint8_t *end, const std::string &path,
           const char *message)
        : m_base(base), m_p(begin), m_end(end), m_path(path), m_message(message)
    {
    }

    bool atEnd() const { return m_p >= m_end; }
    uint64_t offset() const { return static_cast<uint64_t>(m_p - m_base); }

    [[noreturn]] void fail(const std::string &what, const std::string &subject = {}) const
    {
        throw Error(ErrorCode::CheckpointInvalid,
                    m_path + ": not a valid ONNX file: " + what + " in " + m_message + " at byte " +
                        std::to_string(offset()),
                    subject.empty() ? m_path : subject);
    }

    uint64_t varint()
    {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_p >= m_end)
                fail("a number runs past the end of the message");
            const uint8_t b = *m_p++;
            if (shift == 63 && (b & 0x7e))
                fail("a number does not fit 64 bits");
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80))
                return v;
        }
        fail("a number is longer than 10 bytes");
    }

    // The next field's key; false at the end of the message.
    bool key(uint32_t &field, uint32_t &wire)
    {
        if (atEnd())
            return false;
        const uint64_t k = varint();
        field = static_cast<uint32_t>(std::min<uint64_t>(k >> 3, std::numeric_limits<uint32_t>::max()));
        wire = static_cast<uint32_t>(k & 7);
        if (field == 0)
            fail("field number 0");
        return true;
    }

    // A length-delimited field's bytes, checked against the message's end.
    std::pair<const uint8_t *, uint64_t> bytes()
    {
        const uint64_t n = varint();
        if (n > static_cast<uint64_t>(m_end - m_p))
            fail("a field of " + std::to_string(n) + " bytes runs past the end of the message");
        const uint8_t *at = m_p;
        m_p += n;
        return {at, n};
    }

    std::string string()
    {
        const auto [at, n] = bytes();
        return std::string(reinterpret_cast<const char *>(at), static_cast<size_t>(n));
    }

    Reader sub(const char *message)
    {
        const auto [at, n] = bytes();
        return Reader(m_base, at, at + n, m_path, message);
    }

    void skip(uint32_t wire)
    {
        switch (wire) {
        case Varint:
            (void)varint();
            return;
        case Fixed64:
            advance(8);
            return;
        case Length:
            (void)bytes();
            return;
        case Fixed32:
            advance(4);
            return;
        case GroupStart:
        case GroupEnd:
            fail("a protobuf group (not used by ONNX)");
        default:
            fail("wire type " + std::to_string(wire));
        }
    }

    void expect(uint32_t wire, uint32_t want, const char *field)
    {
        if (wire != want)
            fail(std::string("field '") + field + "' has wire type " + std::to_string(wire));
    }

    // A fixed-size field's bytes.
    std::pair<const uint8_t *, uint64_t> fixed(uint64_t n)
    {
        const uint8_t *at = m_p;
        advance(n);
        return {at, n};
    }

private:
    void advance(uint64_t n)
    {
        if (n > static_cast<uint64_t>(m_end - m_p))
            fail("a fixed-size field runs past the end of the message");
        m_p += n;
    }

    const uint8_t *m_base;
    const uint8_t *m_p;
    const uint8_t *m_end;
    const std::string &m_path;
    const char *m_message;
};

int64_t toInt64(uint64_t v)
{
    return static_cast<int64_t>(v); // two's complement, as protobuf encodes int64
}

OnnxTensor readTensor(Reader r)
{
    OnnxTensor t;
    const uint8_t *raw = nullptr, *floats = nullptr;
    uint64_t rawBytes = 0, floatBytes = 0;
    bool haveRaw = false, haveFloats = false, otherData = false, external = false;
    uint32_t field = 0, wire = 0;
    auto addDim = [&](uint64_t v) {
        if (t.dims.size() >= kMaxDims)
            r.fail("a tensor with more than " + std::to_string(kMaxDims) + " dimensions", t.name);
        const int64_t d = toInt64(v);
        if (d < 0)
            r.fail("a negative dimension", t.name);
        t.dims.push_back(d);
    };
    while (r.key(field, wire)) {
        switch (field) {
        case 1: // dims
            if (wire == Length) {
                Reader packed = r.sub("TensorProto.dims");
                while (!packed.atEnd())
                    addDim(packed.varint());
            } else {
                r.expect(wire, Varint, "dims");
                addDim(r.varint());
            }
            break;
        case 2: { // data_type
            r.expect(wire, Varint, "data_type");
            const uint64_t v = r.varint();
            t.dataType = v > 1000 ? -1 : static_cast<int32_t>(v);
            break;
        }
        case 4: // float_data
            if (wire == Length) {
                const auto [at, n] = r.bytes();
                if (haveFloats)
                    r.fail("float_data in several pieces", t.name);
                floats = at;
                floatBytes = n;
                haveFloats = true;
            } else {
                r.fail("unpacked float_data", t.name);
            }
            break;
        case 8: // name
            r.expect(wire, Length, "name");
            t.name = r.string();
            break;
        case 9: { // raw_data
            r.expect(wire, Length, "raw_data");
            const auto [at, n] = r.bytes();
            raw = at;
            rawBytes = n;
            haveRaw = true;
            break;
        }
        case 13: // external_data
            external = true;
            r.skip(wire);
            break;
        case 14: // data_location
            r.expect(wire, Varint, "data_location");
            if (r.varint() == 1)
                external = true;
            break;
        case 5:
        case 6:
        case 7:
        case 10:
        case 11: // int32_data, string_data, int64_data, double_data, uint64_data
            otherData = true;
            r.skip(wire);
            break;
        default:
            r.skip(wire);
        }
    }
    // Element count, checked against overflow (it bounds every later allocation).
    uint64_t count = 1;
    for (const int64_t d : t.dims) {
        if (d != 0 &&
            count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / static_cast<uint64_t>(d))
            r.fail("dimensions whose product overflows", t.name);
        count *= static_cast<uint64_t>(d);
    }
    const int size = elementSize(t.dataType);
    if (external) {
        t.storage = OnnxTensor::Storage::External;
    } else if (haveRaw) {
        if (size == 0)
            r.fail("raw data of type '" + dataTypeName(t.dataType) + "'", t.name);
        if (count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(size) ||
            rawBytes != count * static_cast<uint64_t>(size))
            r.fail("tensor '" + t.name + "' holds " + std::to_string(rawBytes) +
                       " bytes of raw data where its " + std::to_string(count) + " elements of " +
                       dataTypeName(t.dataType) + " need " +
                       std::to_string(count * static_cast<uint64_t>(size)),
                   t.name);
        t.storage = count == 0 ? OnnxTensor::Storage::Empty : OnnxTensor::Storage::Raw;
        t.data = raw;
        t.bytes = rawBytes;
    } else if (haveFloats) {
        if (t.dataType != static_cast<int32_t>(DataType::Float))
            r.fail("float_data in a tensor of type '" + dataTypeName(t.dataType) + "'", t.name);
        if (floatBytes != count * 4)
            r.fail("tensor '" + t.name + "' holds " + std::to_string(floatBytes / 4) + " floats for " +
                       std::to_string(count) + " elements",
                   t.name);
        t.storage = OnnxTensor::Storage::FloatData;
        t.data = floats;
        t.bytes = floatBytes;
    } else if (otherData) {
        t.storage = OnnxTensor::Storage::Other;
    } else {
        if (count != 0)
            r.fail("tensor '" + t.name + "' has " + std::to_string(count) + " elements and no data", t.name);
        t.storage = OnnxTensor::Storage::Empty;
    }
    return t;
}

// The value kinds an AttributeProto's fields hold, as AttributeType values (fields 6, 10, 11, 14, 15, 22, 23
// are skipped but still count as their kind).
int32_t attributeKindOfField(uint32_t field)
{
    switch (field) {
    case 2:
        return static_cast<int32_t>(AttributeType::Float);
    case 3:
        return static_cast<int32_t>(AttributeType::Int);
    case 4:
        return static_cast<int32_t>(AttributeType::String);
    case 5:
        return static_cast<int32_t>(AttributeType::Tensor);
    case 6:
        return static_cast<int32_t>(AttributeType::Graph);
    case 7:
        return static_cast<int32_t>(AttributeType::Floats);
    case 8:
        return static_cast<int32_t>(AttributeType::Ints);
    case 9:
        return static_cast<int32_t>(AttributeType::Strings);
    case 10:
        return static_cast<int32_t>(AttributeType::Tensors);
    case 11:
        return static_cast<int32_t>(AttributeType::Graphs);
    case 14:
        return static_cast<int32_t>(AttributeType::TypeProto);
    case 15:
        return static_cast<int32_t>(AttributeType::TypeProtos);
    case 22:
        return static_cast<int32_t>(AttributeType::SparseTensor);
    case 23:
        return static_cast<int32_t>(AttributeType::SparseTensors);
    default:
        return 0;
    }
}

OnnxAttribute readAttribute(Reader r, const std::string &nodeName)
{
    OnnxAttribute a;
    int32_t kind = 0; // the kind of the value fields seen so far
    uint32_t field = 0, wire = 0;
    auto subject = [&] { return a.name.empty() ? nodeName : a.name; };
    while (r.key(field, wire)) {
        const int32_t k = attributeKindOfField(field);
        if (k != 0) {
            if (kind != 0 && kind != k)
                r.fail("attribute '" + a.name + "' holds values of two types (" + attributeTypeName(kind) +
                           ", " + attributeTypeName(k) + ")",
                       subject());
            kind = k;
        }
        switch (field) {
        case 1:
            r.expect(wire, Length, "name");
            a.name = r.string();
            break;
        case 20: {
            r.expect(wire, Varint, "type");
            const uint64_t v = r.varint();
            if (v > static_cast<uint64_t>(AttributeType::TypeProtos))
                r.fail("attribute '" + a.name + "' has the unknown type " + std::to_string(v), subject());
            a.type = static_cast<int32_t>(v);
            break;
        }
        case 2: {
            r.expect(wire, Fixed32, "f");
            std::memcpy(&a.f, r.fixed(4).first, 4);
            break;
        }
        case 3:
            r.expect(wire, Varint, "i");
            a.i = toInt64(r.varint());
            break;
        case 4:
            r.expect(wire, Length, "s");
            a.s = r.string();
            break;
        case 5:
            r.expect(wire, Length, "t");
            a.t = readTensor(r.sub("AttributeProto.t"));
            break;
        case 7: // floats: packed (Length) or one fixed32 per value
            if (wire == Length) {
                const auto [at, n] = r.bytes();
                if (n % 4 != 0)
                    r.fail("attribute '" + a.name + "' has " + std::to_string(n) + " bytes of packed floats",
                           subject());
                a.floats.reserve(a.floats.size() + static_cast<size_t>(n / 4)); // n is inside the message
                for (uint64_t j = 0; j < n; j += 4) {
                    float v;
                    std::memcpy(&v, at + j, 4);
                    a.floats.push_back(v);
                }
            } else {
                r.expect(wire, Fixed32, "floats");
                float v;
                std::memcpy(&v, r.fixed(4).first, 4);
                a.floats.push_back(v);
            }
            break;
        case 8: // ints: packed (Length) or one varint per value
            if (wire == Length) {
                Reader packed = r.sub("AttributeProto.ints");
                while (!packed.atEnd())
                    a.ints.push_back(toInt64(packed.varint()));
            } else {
                r.expect(wire, Varint, "ints");
                a.ints.push_back(toInt64(r.varint()));
            }
            break;
        case 9:
            r.expect(wire, Length, "strings");
            a.strings.push_back(r.string());
            break;
        default: // ref_attr_name, doc_string, graphs, sparse tensors, type protos
            r.skip(wire);
        }
    }
    if (a.name.empty())
        r.fail("an attribute without a name", nodeName);
    if (a.type == 0) {
        // IR version < 3 files have no type field: the value field present says it.
        if (kind == 0)
            r.fail("attribute '" + a.name + "' has neither a type nor a value", subject());
        a.type = kind;
    } else if (kind != 0 && kind != a.type) {
        r.fail("attribute '" + a.name + "' of type " + attributeTypeName(a.type) + " holds a value of type " +
                   attributeTypeName(kind),
               subject());
    }
    return a;
}

OnnxNode readNode(Reader r)
{
    OnnxNode n;
    uint32_t field = 0, wire = 0;
    while (r.key(field, wire)) {
        switch (field) {
        case 1:
            r.expect(wire, Length, "input");
            n.inputs.push_back(r.string());
            break;
        case 2:
            r.expect(wire, Length, "output");
            n.outputs.push_back(r.string());
            break;
        case 3:
            r.expect(wire, Length, "name");
            n.name = r.string();
            break;
        case 4:
            r.expect(wire, Length, "op_type");
            n.opType = r.string();
            break;
        case 5:
            r.expect(wire, Length, "attribute");
            n.attributes.push_back(readAttribute(r.sub("AttributeProto"), n.name));
            break;
        case 7:
            r.expect(wire, Length, "domain");
            n.domain = r.string();
            break;
        default:
            r.skip(wire);
        }
    }
    if (n.opType.empty())
        r.fail("a node without an operator type", n.name);
    std::set<std::string_view> seen;
    for (const OnnxAttribute &a : n.attributes)
        if (!seen.insert(a.name).second)
            r.fail("node '" + n.name + "' (" + n.opType + ") has two attributes named '" + a.name + "'",
                   n.name);
    return n;
}

std::string valueInfoName(Reader r)
{
    std::string name;
    uint32_t field = 0, wire = 0;
    while (r.key(field, wire)) {
        if (field == 1) {
            r.expect(wire, Length, "name");
            name = r.string();
        } else {
            r.skip(wire);
        }
    }
    return name;
}

void readGraph(Reader r, OnnxGraph &g)
{
    uint32_t field = 0, wire = 0;
    while (r.key(field, wire)) {
        switch (field) {
        case 1:
            r.expect(wire, Length, "node");
            g.nodes.push_back(readNode(r.sub("NodeProto")));
            break;
        case 2:
            r.expect(wire, Length, "name");
            g.name = r.string();
            break;
        case 5:
            r.expect(wire, Length, "initializer");
            g.initializers.push_back(readTensor(r.sub("TensorProto")));
            break;
        case 11:
            r.expect(wire, Length, "input");
            g.inputs.push_back(valueInfoName(r.sub("ValueInfoProto")));
            break;
        case 12:
            r.expect(wire, Length, "output");
            g.outputs.push_back(valueInfoName(r.sub("ValueInfoProto")));
            break;
        default:
            r.skip(wire);
        }
    }
}

} // namespace

std::string dataTypeName(int32_t type)
{
    switch (static_cast<DataType>(type)) {
    case DataType::Float:
        return "float";
    case DataType::Uint8:
        return "uint8";
    case DataType::Int8:
        return "int8";
    case DataType::Uint16:
        return "uint16";
    case DataType::Int16:
        return "int16";
    case DataType::Int32:
        return "int32";
    case DataType::Int64:
        return "int64";
    case DataType::String:
        return "string";
    case DataType::Bool:
        return "bool";
    case DataType::Float16:
        return "float16";
    case DataType::Double:
        return "double";
    case DataType::Uint32:
        return "uint32";
    case DataType::Uint64:
        return "uint64";
    case DataType::Bfloat16:
        return "bfloat16";
    case DataType::Undefined:
        break;
    }
    return "type " + std::to_string(type);
}

std::string attributeTypeName(int32_t type)
{
    static const char *const kNames[] = {"UNDEFINED",      "FLOAT",      "INT",        "STRING",
                                         "TENSOR",         "GRAPH",      "FLOATS",     "INTS",
                                         "STRINGS",        "TENSORS",    "GRAPHS",     "SPARSE_TENSOR",
                                         "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
    if (type >= 0 && type < static_cast<int32_t>(std::size(kNames)))
        return kNames[type];
    return "type " + std::to_string(type);
}

int elementSize(int32_t type)
{
    switch (static_cast<DataType>(type)) {
    case DataType::Uint8:
    case DataType::Int8:
    case DataType::Bool:
        return 1;
    case DataType::Uint16:
    case DataType::Int16:
    case DataType::Float16:
    case DataType::Bfloat16:
        return 2;
    case DataType::Float:
    case DataType::Int32:
    case DataType::Uint32:
        return 4;
    case DataType::Int64:
    case DataType::Double:
    case DataType::Uint64:
        return 8;
    case DataType::String:
    case DataType::Undefined:
        break;
    }
    return 0;
}

int64_t OnnxTensor::elements() const
{
    int64_t n = 1;
    for (const int64_t d : dims)
        n *= d;
    return n;
}

const OnnxTensor *OnnxGraph::findInitializer(const std::string &n) const
{
    const auto it = initializerIndex.find(n);
    return it == initializerIndex.end() ? nullptr : &initializers[it->second];
}

const std::string *OnnxGraph::metadataValue(const std::string &key) const
{
    for (const auto &[k, v] : metadata)
        if (k == key)
            return &v;
    return nullptr;
}

int64_t OnnxGraph::defaultOpset() const
{
    for (const auto &[domain, version] : opsets)
        if (domain.empty() || domain == "ai.onnx")
            return version;
    return 0;
}

const OnnxAttribute *OnnxNode::attribute(const std::string &n) const
{
    for (const OnnxAttribute &a : attributes)
        if (a.name == n)
            return &a;
    return nullptr;
}

const OnnxNode *OnnxGraph::producer(const std::string &value) const
{
    const auto it = producerIndex.find(value);
    return it == producerIndex.end() ? nullptr : &nodes[it->second];
}

std::vector<const OnnxNode *> OnnxGraph::consumers(const std::string &value) const
{
    std::vector<const OnnxNode *> out;
    const auto [lo, hi] = consumerIndex.equal_range(value);
    for (auto it = lo; it != hi; ++it)
        out.push_back(&nodes[it->second]);
    return out;
}

OnnxGraph parseOnnxModel(const uint8_t *bytes, uint64_t size, const std::string &path)
{
    OnnxGraph g;
    static const uint8_t kEmpty = 0;
    const uint8_t *begin = bytes ? bytes : &kEmpty;
    Reader r(begin, begin, begin + (bytes ? size : 0), path, "ModelProto");
    bool haveGraph = false;
    uint32_t field = 0, wire = 0;
    while (r.key(field, wire)) {
        switch (field) {
        case 1:
            r.expect(wire, Varint, "ir_version");
            g.irVersion = toInt64(r.varint());
            break;
        case 2:
            r.expect(wire, Length, "producer_name");
            g.producerName = r.string();
            break;
        case 3:
            r.expect(wire, Length, "producer_version");
            g.producerVersion = r.string();
            break;
        case 7:
            r.expect(wire, Length, "graph");
            if (haveGraph)
                r.fail("two graphs");
            readGraph(r.sub("GraphProto"), g);
            haveGraph = true;
            break;
        case 8: {
            r.expect(wire, Length, "opset_import");
            Reader o = r.sub("OperatorSetIdProto");
            std::string domain;
            int64_t version = 0;
            uint32_t f = 0, w = 0;
            while (o.key(f, w)) {
                if (f == 1) {
                    o.expect(w, Length, "domain");
                    domain = o.string();
                } else if (f == 2) {
                    o.expect(w, Varint, "version");
                    version = toInt64(o.varint());
                } else {
                    o.skip(w);
                }
            }
            g.opsets.emplace_back(std::move(domain), version);
            break;
        }
        case 14: {
            r.expect(wire, Length, "metadata_props");
            Reader e = r.sub("StringStringEntryProto");
            std::string key, value;
            uint32_t f = 0, w = 0;
            while (e.key(f, w)) {
                if (f == 1) {
                    e.expect(w, Length, "key");
                    key = e.string();
                } else if (f == 2) {
                    e.expect(w, Length, "value");
                    value = e.string();
                } else {
                    e.skip(w);
                }
            }
            g.metadata.emplace_back(std::move(key), std::move(value));
            break;
        }
        default:
            r.skip(wire);
        }
    }
    if (!haveGraph)
        throw Error(ErrorCode::CheckpointInvalid,
                    path + ": not a valid ONNX file: no graph (is it an ONNX model?)", path);
    if (g.irVersion < 1)
        throw Error(ErrorCode::CheckpointInvalid, path + ": not a valid ONNX file: no IR version", path);
    for (size_t i = 0; i < g.initializers.size(); ++i) {
        const std::string &n = g.initializers[i].name;
        if (n.empty())
            throw Error(ErrorCode::CheckpointInvalid,
                        path + ": not a valid ONNX file: an initialiser without a name", path);
        if (!g.initializerIndex.emplace(n, i).second)
            throw Error(ErrorCode::CheckpointInvalid,
                        path + ": not a valid ONNX file: two initialisers named '" + n + "'", n);
    }
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        for (const std::string &o : g.nodes[i].outputs)
            if (!o.empty() && !g.producerIndex.emplace(o, i).second)
                throw Error(ErrorCode::CheckpointInvalid,
                            path + ": not a valid ONNX file: two nodes produce the value '" + o + "'", o);
        for (const std::string &in : g.nodes[i].inputs)
            if (!in.empty())
                g.consumerIndex.emplace(in, i);
    }
    return g;
}

OnnxFile OnnxFile::open(const std::string &path)
{
    OnnxFile f;
    f.m_path = path;
    f.m_map = mapWholeFile(path);
    f.m_graph = parseOnnxModel(f.m_map->bytes(), f.m_map->size, path);
    return f;
}

} // namespace uhdlens::onnx
