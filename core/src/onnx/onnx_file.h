// Internal (torch-free): the parts of an ONNX model file that UHD Lens reads — its initialisers (the
// weights), the graph's nodes (operator type, input and output names, attributes) and the model's metadata,
// so that weights stored under generated names can be identified by the operators that use them
// (onnx_dinov2.h) and small graphs can be run by onnx_runner.h.
//
//     OnnxFile f = OnnxFile::open("vit_s_focus.onnx");
//     const OnnxTensor *t = f.graph().findInitializer("backbone.layernorm.weight");   // t->dims, t->data
//
// Layout: an ONNX file is one protobuf message `ModelProto` (onnx/onnx.proto). Only these fields are read,
// every other field is skipped by its wire type:
//   ModelProto   1 ir_version (varint), 2 producer_name, 3 producer_version, 7 graph, 8 opset_import,
//                14 metadata_props (StringStringEntryProto: 1 key, 2 value)
//   OperatorSetIdProto  1 domain, 2 version
//   GraphProto   1 node, 2 name, 5 initializer, 11 input, 12 output (ValueInfoProto: 1 name)
//   NodeProto    1 input, 2 output, 3 name, 4 op_type, 5 attribute, 7 domain
//   AttributeProto  1 name, 20 type, 2 f (fixed32), 3 i, 4 s, 5 t (TensorProto), 7 floats (packed or not),
//                8 ints (packed or not), 9 strings; graphs (6, 10), sparse tensors and type protos are
//                skipped and the attribute keeps only its name and type
//   TensorProto  1 dims (packed or not), 2 data_type, 4 float_data (packed), 8 name, 9 raw_data,
//                13 external_data, 14 data_location
// Protobuf wire format: each field is a varint key (field number << 3 | wire type) followed by a varint (0),
// 8 bytes (1), a varint length and that many bytes (2) or 4 bytes (5); groups (3, 4) are refused. Everything
// is little-endian.
//
// Why not libprotobuf with onnx.proto: the weights (97 MB for DINOv2-S) would be copied into std::strings,
// while here a tensor is a span of the mapping; and Debian's libtorch links its own protobuf, the clash that
// made the SentencePiece shim necessary (DECISIONS.md). This reader is ~300 lines and fuzzed
// (tests/fuzz/entries/onnx_model.cpp).
//
// Errors: Error(CheckpointInvalid) for malformed bytes, naming the file, the message being read and the byte
// offset (the tensor or node name as subject() where known); nothing else is thrown for any input bytes. No
// allocation is sized by a field before the field has been checked against the bytes left.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace uhdlens {
struct FileMap;
}

namespace uhdlens::onnx {

// TensorProto.DataType values UHD Lens knows the element size of.
enum class DataType : int32_t
{
    Undefined = 0,
    Float = 1,
    Uint8 = 2,
    Int8 = 3,
    Uint16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    Uint32 = 12,
    Uint64 = 13,
    Bfloat16 = 16,
};

// "float", "float16", ... as onnx.TensorProto names them (lower case); "type N" for others.
std::string dataTypeName(int32_t type);
// Bytes per element; 0 for types without a fixed size (string, unknown).
int elementSize(int32_t type);

struct OnnxTensor
{
    enum class Storage
    {
        Raw,       // raw_data: little-endian elements, `data` / `bytes` (not necessarily aligned)
        FloatData, // float_data, packed: the same bytes as raw float32
        Empty,     // no elements
        Other,     // in a typed field UHD Lens does not read (int64_data, string_data, ...)
        External,  // stored in another file (data_location EXTERNAL): refused by the users of a tensor
    };
    std::string name;
    std::vector<int64_t> dims;
    int32_t dataType = 0;
    Storage storage = Storage::Empty;
    const uint8_t *data = nullptr;
    uint64_t bytes = 0;
    int64_t elements() const; // product of dims (checked against overflow when parsed)
};

// AttributeProto.AttributeType.
enum class AttributeType : int32_t
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
};
// "FLOAT", "INTS", ... as onnx.AttributeProto names them; "type N" for others.
std::string attributeTypeName(int32_t type);

// One node attribute. `type` is the file's type field, or, in files that omit it (IR version < 3), the kind
// of the one value field present; parseOnnxModel refuses an attribute whose value fields disagree with its
// type. Only the member of that type is meaningful (a scalar left out of the file reads as 0, as protobuf
// defaults).
struct OnnxAttribute
{
    std::string name;
    int32_t type = 0; // AttributeType
    float f = 0;
    int64_t i = 0;
    std::string s;
    OnnxTensor t; // Tensor: a span of the file like an initialiser's (t.name may be empty)
    std::vector<float> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
};

struct OnnxNode
{
    std::string name;
    std::string opType;
    std::string domain;
    std::vector<std::string> inputs; // "" for an omitted optional input
    std::vector<std::string> outputs;
    std::vector<OnnxAttribute> attributes; // in file order, names unique

    // nullptr when the node has no attribute of that name.
    const OnnxAttribute *attribute(const std::string &name) const;
};

struct OnnxGraph
{
    int64_t irVersion = 0;
    std::string producerName, producerVersion;
    std::vector<std::pair<std::string, int64_t>> opsets; // (domain, version)
    std::vector<std::pair<std::string, std::string>> metadata; // ModelProto.metadata_props, in file order
    std::string name;
    std::vector<OnnxNode> nodes; // in the file's (topological) order
    std::vector<OnnxTensor> initializers;
    std::vector<std::string> inputs, outputs;

    // nullptr when absent. Indexes are built by parseOnnxModel.
    const OnnxTensor *findInitializer(const std::string &name) const;
    // The first metadata value under `key`, or nullptr.
    const std::string *metadataValue(const std::string &key) const;
    // The default domain's ("" or "ai.onnx") opset version; 0 when the model imports none.
    int64_t defaultOpset() const;
    // The node whose outputs include `value`, or nullptr (a graph input or an initialiser).
    const OnnxNode *producer(const std::string &value) const;
    // The nodes that take `value` as an input, in graph order.
    std::vector<const OnnxNode *> consumers(const std::string &value) const;

    std::map<std::string, size_t> initializerIndex;
    std::map<std::string, size_t> producerIndex;
    std::multimap<std::string, size_t> consumerIndex;
};

// Parses `size` bytes of an ONNX ModelProto; tensor spans point into `bytes`, which must outlive the result.
// `path` is only used in messages. Throws Error(CheckpointInvalid) for anything malformed: truncated fields,
// lengths past the end, groups, a model without a graph, tensors whose raw bytes are not dims x element size,
// negative or overflowing dims, duplicate initialiser names, two nodes producing one value, attributes
// without a name, with an unknown type, with value fields that disagree with their type, or twice in one
// node.
OnnxGraph parseOnnxModel(const uint8_t *bytes, uint64_t size, const std::string &path);

// A mapped ONNX file; its tensors' spans stay valid while the OnnxFile (or a copy of mapping()) lives.
class OnnxFile
{
public:
    // Error(FileNotFound / NotAFile / FileUnreadable) from the mapping, Error(CheckpointInvalid) from
    // parsing.
    static OnnxFile open(const std::string &path);
    const OnnxGraph &graph() const { return m_graph; }
    const std::string &path() const { return m_path; }
    const std::shared_ptr<FileMap> &mapping() const { return m_map; }

private:
    std::string m_path;
    std::shared_ptr<FileMap> m_map;
    OnnxGraph m_graph;
};

} // namespace uhdlens::onnx
