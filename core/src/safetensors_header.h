// Internal (torch-free): validation of a safetensors file's header and of a sharded checkpoint's index JSON,
// on bytes in memory. safetensors.cpp maps the files and builds tensors on top of this; the fuzz targets
// (tests/fuzz/) drive these functions directly, without libtorch.
//
//     SafeTensorsHeader h = parseSafeTensorsHeader(bytes, fileSize, path, shardIndex);  // whole file mapped
//     SafeTensorsIndex ix = parseSafeTensorsIndex(text, textSize, indexPath);
//
// Both throw Error(CheckpointInvalid) naming the file and the tensor/key for anything malformed, and nothing
// else (no other exception type, no crash) for any input bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace uhdlens {

struct TensorInfo
{
    std::string name;
    std::string
        dtype; // safetensors spelling: "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0; // byte range inside the shard's data section
    int shard = 0;               // index into Checkpoint::files()
};

// Bytes per element of a dtype we read, by its safetensors name; 0 for any other name.
uint64_t safeTensorsDtypeSize(const std::string &name);

struct SafeTensorsHeader
{
    uint64_t dataStart = 0; // 8 + header length
    uint64_t dataSize = 0;  // file size - dataStart
    std::map<std::string, std::string> metadata;
    std::vector<TensorInfo> tensors; // in header (key) order, shard = shardIndex
};

// Validates a whole safetensors file (`size` bytes at `bytes`): the 8-byte little-endian header length (at
// most 100 MB and inside the file), a JSON object header, known dtypes, shapes whose byte count does not
// overflow, data_offsets inside the data section matching dtype x shape, and no two overlapping tensors.
// `path` only names the file in messages.
SafeTensorsHeader parseSafeTensorsHeader(const uint8_t *bytes, uint64_t size, const std::string &path,
                                         int shardIndex);

struct SafeTensorsIndex
{
    std::vector<std::pair<std::string, std::string>> weightMap; // tensor -> shard file name, sorted by tensor
    std::set<std::string> shardFiles;                           // the distinct file names
};

// Validates model.safetensors.index.json text: {"weight_map": {tensor: "file name"}, ...}; every file name is
// a plain sibling name (no '/', not "." or ".."), and the map is not empty. Shard existence is the caller's
// job.
SafeTensorsIndex parseSafeTensorsIndex(const char *text, size_t size, const std::string &indexPath);

// The hint appended to messages about pickle checkpoints (how to convert them to safetensors).
const char *safeTensorsConvertHint();

// "[1,729,1152]" — the shape notation used in loader messages.
std::string shapeString(const std::vector<int64_t> &shape);

} // namespace uhdlens
