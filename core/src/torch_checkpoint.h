// Internal (torch-side) reader of PyTorch's zip checkpoint format (torch.save >= 1.6) that never runs code.
//
//     auto ck = uhdlens::readTorchZipCheckpoint("/models/llava-uhd/mm_projector.bin");
//     for (const auto &[name, tensor] : ck.tensors) ...   // CPU tensors, dtypes as saved
//
// Format (torch/serialization.py `_save`, caffe2/serialize/inline_container.cc): a ZIP whose entries all sit
// in one folder `<archive>/`, stored uncompressed: `data.pkl` (pickle protocol 2 of the saved object, tensors
// as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())`, storages
// as persistent ids ('storage', torch.<X>Storage, key, location, numel)), `data/<key>` (the raw little-endian
// bytes of each storage), `version`, and since torch 1.10 sometimes `byteorder`.
//
// What makes it safe (DECISIONS.md "Pickle weights: a restricted reader"):
//   - the zip is opened with libtorch's caffe2::serialize::PyTorchStreamReader (miniz: central directory,
//     archive folder, version record); a small scan of the central directory of our own refuses compressed or
//     encrypted entries first, because that reader allocates an entry's declared uncompressed size before
//     inflating it (a zip bomb), and gives every record's byte range, which is checked against the file size;
//   - data.pkl runs on our own pickle interpreter that knows only the opcodes torch.save emits for a (nested)
//     dict of tensors, and resolves GLOBAL only to collections.OrderedDict, torch._utils._rebuild_tensor_v2,
//     torch._utils._rebuild_parameter and torch.<X>Storage; REDUCE only calls those, as data constructors;
//     nothing from the file is ever executed, imported or looked up by name;
//   - every storage's numel x element size must equal its record's size, every tensor's offset/size/stride
//     must stay inside its storage (overflow-checked; negative strides refused); views of one storage and
//     non-contiguous tensors are materialised with as_strided + contiguous, as torch.load would see them.
//
// Thread-safety: free function, no shared state.
#pragma once

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace uhdlens {

struct TorchCheckpoint
{
    // In the saved dict's order. Contiguous CPU tensors; where the saved tensor is a contiguous run of its
    // storage the tensor views the file's read-only memory map (no copy; do not write into it).
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    // Entries that are not tensors (epoch counters, nested dicts beside tensors, ...): "key (int)", not
    // converted.
    std::vector<std::string> skipped;
    // When the tensors come from a dict nested in the saved one ({"state_dict": {...}}), its key; else empty.
    std::string nestedKey;
};

// Reads `path`. Throws Error(PickleRefused) when the pickle asks for anything outside the whitelist (another
// GLOBAL, a REDUCE of something else, an opcode torch.save does not emit) or the file is the legacy (pre-1.6,
// non-zip) torch.save format; Error(CheckpointInvalid) when the file is malformed (truncated or bad zip,
// compressed entries, a storage or tensor outside its bytes);
// Error(FileNotFound / FileUnreadable / NotAFile) for I/O. Every message names the file and, where there is
// one, the tensor.
TorchCheckpoint readTorchZipCheckpoint(const std::string &path);

} // namespace uhdlens
