// Internal (torch-free): GGUF v2/v3 files as llama.cpp writes them (ggml/src/gguf.cpp is the reference
// reader, gguf-py's GGUFWriter the reference writer). parseGgufHeader validates every field of a file's
// bytes; GgufFile maps a file and hands out tensors as byte spans into the mapping (quantized blocks stay
// where they are).
//
//     GgufFile f = GgufFile::open("model.gguf");
//     std::string arch = f.meta().getString("general.architecture");
//     uint32_t layers = f.meta().getU32(arch + ".block_count");
//     GgufTensorView t = f.tensor("blk.0.attn_q.weight");   // t.info->type, t.info->ne, t.data / t.size
//
// Layout (GGUF spec, docs/gguf.md in llama.cpp): "GGUF" magic, u32 version, u64 tensor count, u64 KV count,
// the KV pairs (string key, u32 value type, value), the tensor infos (string name, u32 n_dims, n_dims x i64
// ne, u32 ggml type, u64 offset), padding to general.alignment (default 32), then the data section; each
// tensor's offset is relative to it and a multiple of the alignment. Strings are a u64 length + bytes (no
// terminator); everything is little-endian.
//
// Errors: Error(CheckpointInvalid) for malformed bytes, naming the file, the key or tensor (also as
// subject()) and the byte offset of the offending field; nothing else is thrown for any input bytes (the fuzz
// target tests/fuzz/entries/gguf_header.cpp holds the parser to that). No allocation is sized by a field
// before the field has been checked against the bytes left in the file.
#pragma once

#include "quant/ggml_types.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace uhdlens {
struct FileMap;
}

namespace uhdlens::gguf {

// GGUF metadata value types (gguf_type in ggml/include/gguf.h).
enum class ValueType : uint32_t
{
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};

// "u32", "string", "array" ... as gguf-py's GGUFValueType names them (lower case); "type N" for others.
std::string valueTypeName(ValueType t);

// One metadata value. Scalars are held decoded; arrays keep their element type and count, with numbers
// stored as they are on disk (little-endian, `raw`) and strings decoded. Nested arrays are refused by the
// parser (llama.cpp's reader refuses them too).
struct Value
{
    ValueType type = ValueType::U8;
    uint64_t fileOffset = 0; // where the value's bytes start, for messages
    // scalars: the integer types fill `u` (unsigned) or `i` (signed), F32/F64 fill `f`, Bool fills `b`
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0;
    bool b = false;
    std::string str; // String
    // Array
    ValueType elemType = ValueType::U8;
    uint64_t count = 0;
    std::vector<uint8_t> raw;         // numeric / bool elements, count x element size bytes
    std::vector<std::string> strings; // string elements
};

// A tensor as the header describes it.
struct GgufTensorInfo
{
    std::string name;
    quant::GgmlType type = quant::GgmlType::F32;
    std::vector<int64_t> ne; // GGUF / ggml order: ne[0] is the innermost (contiguous) dimension
    uint64_t offset = 0;     // relative to the data section
    uint64_t bytes = 0;      // type x shape
    uint64_t infoOffset = 0; // where the tensor info starts in the file, for messages
    // The torch / Hugging Face order (ne reversed): a [out, in] linear weight has ne = {in, out}.
    std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
    int64_t elements() const;
};

// The metadata key/value pairs with typed lookups. Every getter throws Error(ConfigInvalid) naming the key
// (also as subject()) and the file when the key is missing or its value has another type; the integer getters
// accept any integer type whose value fits (GGUF writers differ in u32 vs i32 vs u64 for the same key).
class Metadata
{
public:
    const Value *find(const std::string &key) const;
    bool has(const std::string &key) const { return find(key) != nullptr; }
    const std::vector<std::pair<std::string, Value>> &entries() const { return m_entries; }
    const std::string &source() const { return m_source; }

    std::string getString(const std::string &key) const;
    uint32_t getU32(const std::string &key) const;
    uint64_t getU64(const std::string &key) const;
    int32_t getI32(const std::string &key) const;
    float getF32(const std::string &key) const; // F32, or F64 that a writer used for the same key
    bool getBool(const std::string &key) const;
    std::optional<std::string> optString(const std::string &key) const;
    std::optional<uint32_t> optU32(const std::string &key) const;
    std::optional<float> optF32(const std::string &key) const;
    std::optional<bool> optBool(const std::string &key) const;

    std::vector<std::string> getStringArray(const std::string &key) const;
    std::vector<int32_t> getI32Array(const std::string &key) const; // any integer element type that fits
    std::vector<float> getF32Array(const std::string &key) const;   // F32 / F64 elements (and integers)

    // Adds a pair (the parser's use); Error(CheckpointInvalid) for a duplicate key.
    void add(std::string key, Value v, uint64_t keyOffset);
    void setSource(std::string s) { m_source = std::move(s); }

private:
    const Value &require(const std::string &key) const;
    [[noreturn]] void wrongType(const std::string &key, const Value &v, const char *wanted) const;

    std::string m_source;
    std::vector<std::pair<std::string, Value>> m_entries; // file order
    std::map<std::string, size_t> m_index;
};

struct GgufHeader
{
    uint32_t version = 0;
    uint64_t alignment = 32; // general.alignment
    uint64_t dataStart = 0;  // file offset of the data section (aligned)
    uint64_t fileSize = 0;
    Metadata meta;
    std::vector<GgufTensorInfo> tensors; // in file order
    std::map<std::string, size_t> tensorIndex;

    const GgufTensorInfo *findTensor(const std::string &name) const;
};

// Validates a whole GGUF file of `size` bytes at `bytes` (`path` only names it in messages): magic, version 2
// or 3 (1 is refused: its 32-bit counts are a different layout), counts bounded by the bytes left, each value
// type known, strings and arrays inside the file, no nested arrays, no duplicate key or tensor name,
// general.alignment a non-zero power of two (a u32), n_dims 1..4, dims >= 0 without overflow, a known ggml
// type id whose block divides ne[0], offsets multiples of the alignment, every tensor inside the data section
// and no two overlapping. Types UHD Lens cannot compute with are accepted here (so a file can be described);
// GgufFile::tensor refuses them by name.
GgufHeader parseGgufHeader(const uint8_t *bytes, uint64_t size, const std::string &path);

// A tensor's bytes inside the mapping.
struct GgufTensorView
{
    const GgufTensorInfo *info = nullptr;
    const uint8_t *data = nullptr;
    uint64_t size = 0;
};

// A mapped GGUF file. Copies share the mapping.
class GgufFile
{
public:
    // Maps and validates `path`: Error(FileNotFound / NotAFile / FileUnreadable) from the mapping,
    // Error(CheckpointInvalid) from parseGgufHeader.
    static GgufFile open(const std::string &path);

    const std::string &path() const { return m_path; }
    const GgufHeader &header() const { return m_header; }
    const Metadata &meta() const { return m_header.meta; }
    const std::vector<GgufTensorInfo> &tensors() const { return m_header.tensors; }
    bool hasTensor(const std::string &name) const { return m_header.findTensor(name) != nullptr; }
    // Error(TensorMissing) naming the tensor and file; Error(CheckpointInvalid) naming the tensor and the
    // type when the type is one UHD Lens does not compute with (quant::GgmlTypeInfo::supported).
    GgufTensorView tensor(const std::string &name) const;
    const std::shared_ptr<FileMap> &mapping() const { return m_map; }

private:
    std::string m_path;
    std::shared_ptr<FileMap> m_map;
    GgufHeader m_header;
};

// Bit-identical inverse of llama.cpp's LlamaModel.permute (convert_hf_to_gguf.py), which reorders the rows of
// each head of attn_q / attn_k (weights and biases) from Hugging Face's rotate-half rope layout to ggml's
// interleaved one: within a head of `rowsPerHead` rows, row j*(half) + i goes to 2*i + j. `rows` rows of
// `rowBytes` bytes each (any type: quantized rows move whole); `heads` is n_head for Q and n_head_kv for K.
// Error(CheckpointInvalid) naming `tensor` when rows is not heads x an even number.
std::vector<uint8_t> unpermuteLlamaRows(const uint8_t *data, int64_t rows, uint64_t rowBytes, int64_t heads,
                                        const std::string &tensor);
// The forward permutation (what the converter does), for tests and for writing files.
std::vector<uint8_t> permuteLlamaRows(const uint8_t *data, int64_t rows, uint64_t rowBytes, int64_t heads,
                                      const std::string &tensor);

} // namespace uhdlens::gguf
