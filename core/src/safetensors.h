// Internal (torch-side) safetensors reader/writer — memory-mapped, validated, zero-copy.
//
//     auto ck = uhdlens::Checkpoint::open("/models/MiniCPM-V-2");   // folder or one .safetensors file
//     torch::Tensor w = ck.get("vpm.pos_embed");                   // CPU view on the mapping, no copy
//     auto warnings = uhdlens::loadParameters(model.namedParameters(), ck, torch::kBFloat16, torch::kCPU, {"vpm."});
//
// Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
// then the data section; offsets are relative to the start of the data section. Every header field is checked
// before any tensor is exposed; a malformed file throws Error(CheckpointInvalid) naming the file and the
// tensor/key. Pickle checkpoints (.bin/.pt/.pth) are never read.
//
// Thread-safety: a Checkpoint is immutable after open() and may be read from any thread. Tensors returned by
// get() keep the mapping alive (shared ownership), so they may outlive the Checkpoint object. The mapping is
// read-only (PROT_READ, MAP_PRIVATE): writing into a view crashes — callers treat loaded weights as read-only.
#pragma once

#include "safetensors_header.h" // TensorInfo, shapeString

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace uhdlens {

struct FileMap; // file_map.h

class Checkpoint
{
public:
    // path: a folder (model.safetensors; or model.safetensors.index.json + its shards; or every *.safetensors in
    // it, sorted by name) or one .safetensors file. Throws Error(FileNotFound) when the path or a shard is
    // missing, Error(CheckpointInvalid) naming file and reason for anything malformed (and for a folder holding
    // only pickle checkpoints: "only safetensors are supported; convert with ...").
    static Checkpoint open(const std::string &path);

    Checkpoint();
    ~Checkpoint();
    Checkpoint(const Checkpoint &);
    Checkpoint &operator=(const Checkpoint &);
    Checkpoint(Checkpoint &&) noexcept;
    Checkpoint &operator=(Checkpoint &&) noexcept;

    bool contains(const std::string &name) const;
    // Throws Error(TensorMissing, "... tensor 'name' ...", name).
    const TensorInfo &info(const std::string &name) const;
    // Zero-copy CPU tensor viewing the memory map (read-only memory!); keeps the mapping alive.
    // Throws Error(TensorMissing).
    torch::Tensor get(const std::string &name) const;
    // Tells the kernel the pages holding tensor `name` are not needed now (madvise MADV_DONTNEED on the
    // read-only file mapping): they leave the resident set and are read from the file again if get() is
    // used later. Called after a tensor has been converted into a copy, so loading f32 from a bf16 file does
    // not keep both in memory. Never invalidates views. Throws Error(TensorMissing).
    void release(const std::string &name) const;
    std::vector<std::string> names() const; // sorted
    int64_t dataBytes() const;              // total bytes of tensor data over all shards
    // Hex SHA-256 over all shard files' bytes, concatenated in shard order (computed on first call, cached).
    std::string sha256() const;
    std::map<std::string, std::string> metadata() const; // __metadata__ of the first shard
    std::vector<std::string> files() const;              // shard paths, in shard order

    struct Impl;

private:
    std::shared_ptr<Impl> m_impl;
};

// Hex SHA-256 over the bytes of the mappings, concatenated in order (OpenSSL where available).
std::string sha256Hex(const std::vector<const FileMap *> &maps);

// Writes a .safetensors file (atomically: temp file + rename). Tensors may be any device / layout; they are
// made contiguous CPU copies. Dtypes: F32/F16/BF16/F64/I64/I32/I16/I8/U8/BOOL. The header is padded with spaces
// to a multiple of 8 bytes so every tensor's data is 8-byte aligned in the mapping. Throws
// Error(InvalidArgument) for duplicate/empty names or unsupported dtypes, Error(FileUnreadable) on I/O failure.
void saveSafeTensors(const std::string &path, const std::vector<std::pair<std::string, torch::Tensor>> &tensors,
                     const std::map<std::string, std::string> &metadata = {});

// Assigns checkpoint tensors to `params` (names as in the checkpoint). Every param must be present with the
// same shape (Error TensorMissing / TensorShapeMismatch:
// "tensor 'vpm.pos_embed': expected [1,729,1152], file has [1,576,1152]").
// Converts to dtype/device; when the checkpoint tensor already matches (CPU, same dtype) the parameter's
// storage BECOMES the mmap view (no copy, read-only memory — do not train such parameters in place).
// Otherwise the parameter is replaced by a converted copy. Parameters are updated in place through
// Tensor::set_(), so modules holding them see the new data.
// Returns one warning per checkpoint tensor under any of `ownedPrefixes` that no param consumed
// ("unknown tensor 'x' in the checkpoint (ignored)"), sorted by name.
// `keepBf16`: parameter names that stay bf16 when the checkpoint stores them in bf16 and the device is the CPU
// (mixed mode: zero-copy views of the mapping even though `dtype` is f32; see nn/mixed_linear.h).
std::vector<std::string> loadParameters(const std::vector<std::pair<std::string, torch::Tensor>> &params,
                                        const Checkpoint &ck, torch::Dtype dtype, torch::Device device,
                                        const std::vector<std::string> &ownedPrefixes = {""},
                                        const std::set<std::string> &keepBf16 = {});

} // namespace uhdlens
