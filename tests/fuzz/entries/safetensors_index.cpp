// Fuzz entry: model.safetensors.index.json (safetensors_header.h), the part Checkpoint::open reads before it
// opens any shard.
#include "fuzz_entries.h"

#include "safetensors_header.h"
#include "uhdlens/errors.h"

#include <vector>

bool fuzz_safetensors_index(const uint8_t *data, size_t size)
{
    // An exact-size copy: AddressSanitizer sees reads past the end.
    const std::vector<char> text(data, data + size);
    try {
        const uhdlens::SafeTensorsIndex ix =
            uhdlens::parseSafeTensorsIndex(text.data(), text.size(), "fuzz/model.safetensors.index.json");
        // Shard names never leave the folder (Checkpoint::open joins them to the index's folder).
        FUZZ_CHECK(!ix.weightMap.empty() && !ix.shardFiles.empty());
        for (const std::string &f : ix.shardFiles)
            FUZZ_CHECK(!f.empty() && f.find('/') == std::string::npos && f != "." && f != "..");
        for (const auto &[name, file] : ix.weightMap)
            FUZZ_CHECK(ix.shardFiles.count(file) == 1);
        return true;
    } catch (const uhdlens::Error &e) {
        FUZZ_CHECK(e.code() == uhdlens::ErrorCode::CheckpointInvalid);
        return false;
    }
}
