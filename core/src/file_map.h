// Internal (torch-free): a read-only private memory map of a whole file, shared by the checkpoint readers
// (safetensors.cpp, torch_checkpoint.cpp). Tensors viewing the bytes keep the shared_ptr, so the mapping lives
// exactly as long as the last of them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace uhdlens {

struct FileMap
{
    const uint8_t *data = nullptr; // nullptr for an empty file
    uint64_t size = 0;
    FileMap() = default;
    FileMap(const FileMap &) = delete;
    FileMap &operator=(const FileMap &) = delete;
    ~FileMap();
    const uint8_t *bytes() const { return data; }
};

// Maps `path` read-only. Throws Error(FileNotFound) when it does not exist, Error(NotAFile) for a folder or a
// special file, Error(FileUnreadable) when it cannot be opened or mapped; messages name the file.
std::shared_ptr<FileMap> mapWholeFile(const std::string &path);

} // namespace uhdlens
