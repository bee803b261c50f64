// UHD Lens — converting a model folder's PyTorch pickle weights to safetensors, without running them.
//
//     auto report = uhdlens::convertModelFolder("/models/llava-uhd", "/models/llava-uhd-safetensors");
//     // report.converted: mm_projector.bin -> mm_projector.safetensors (N tensors); report.indexFile
//
// Releases such as LLaVA-UHD keep part of their weights (the projector / resampler) in a torch.save file
// (`mm_projector.bin`) beside safetensors shards. The engine reads safetensors only and refuses such folders
// with Error(PickleWeights); this is the conversion it points to (`uhdlens-cli convert`, the app's offer).
// Pickle files are read by a restricted reader that accepts only plain tensors (core/src/torch_checkpoint.h).
//
// Thread-safety: free functions without shared state; run them off the GUI thread (they copy GBs).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace uhdlens {

// True for the file names the engine treats as PyTorch pickle weights (*.bin, *.pt, *.pth, *.ckpt, *.pkl).
bool isPickleWeightName(const std::string &fileName);

// The pickle weight files directly inside `dir` (file names, sorted); training-state files
// (training_args.bin, optimizer*.pt, scheduler*.pt, rng_state*.pth) are not weights and are not listed. Empty
// when unreadable.
std::vector<std::string> pickleWeightFiles(const std::string &dir);

struct ConvertedFile
{
    std::string source; // file name in the model folder
    std::string target; // file name written in the output folder
    std::int64_t tensors = 0;
    std::int64_t bytes = 0;           // tensor data bytes written
    std::string nestedKey;            // non-empty: tensors came from saved["<nestedKey>"]
    std::vector<std::string> skipped; // non-tensor entries left out ("epoch (int)")
};

struct ConvertReport
{
    std::string outDir;
    std::vector<ConvertedFile> converted;
    std::vector<std::string> copied;  // files copied unchanged (relative paths)
    std::vector<std::string> omitted; // pickle files not written, with the reason ("training_args.bin: ...")
    std::string indexFile;            // "model.safetensors.index.json" when written or updated, else empty
};

// Copies `modelDir` to `outDir` (created; it must not exist yet, or be an empty folder, and must not lie
// inside `modelDir`), replacing every pickle weight file at its top level by a .safetensors file of the same
// stem with the same tensor names and dtypes, and writing model.safetensors.index.json whenever the output
// then has more than one weight file or the source had an index (a pytorch_model.bin.index.json becomes a
// safetensors index naming the converted shards). A pickle file whose tensors all already exist in the
// folder's safetensors is a duplicate and is omitted. The source is never modified. All or nothing: the
// output is assembled in a temporary sibling folder and renamed into place only when every file converted; on
// any error nothing is left at `outDir`. `progress(fraction, what)` is called between files (may be empty).
// Throws Error(PickleRefused) for a pickle file with content outside the whitelist or in the legacy format,
// Error(CheckpointInvalid) for a malformed one or conflicting tensor names, Error(InvalidArgument) for bad
// folders (missing source, existing non-empty output, output inside the source, nothing to convert),
// Error(FileUnreadable) on I/O failure. Messages name the file.
ConvertReport convertModelFolder(const std::string &modelDir, const std::string &outDir,
                                 const std::function<void(double, const std::string &)> &progress = {});

// A sibling of `modelDir` that does not exist yet: "<modelDir>-safetensors", then "-safetensors-2", ...
std::string suggestConvertedFolder(const std::string &modelDir);

} // namespace uhdlens
