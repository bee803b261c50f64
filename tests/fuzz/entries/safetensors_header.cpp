// Fuzz entry: a .safetensors file's header (safetensors_header.h), as Checkpoint::open sees a mapped file.
#include "fuzz_entries.h"

#include "safetensors_header.h"
#include "uhdlens/errors.h"

#include <cstring>
#include <vector>

// Byte 0 picks the form (so mutations of the JSON are not all wasted on a stale length field):
//   even: the rest is a whole file, length field included;
//   odd:  bytes 1-2 are the data section's size (u16, little-endian), the rest is the header JSON; the 8-byte
//         length field is written here.
// The file is copied into a buffer of exactly its size, so AddressSanitizer sees any read past its end.
bool fuzz_safetensors_header(const uint8_t *data, size_t size)
{
    if (size < 1)
        return false;
    std::vector<uint8_t> file;
    if (data[0] & 1) {
        if (size < 3)
            return false;
        const size_t dataBytes = size_t(data[1]) | (size_t(data[2]) << 8);
        const uint64_t len = size - 3;
        file.resize(8 + len + dataBytes);
        std::memcpy(file.data(), &len, 8);
        std::memcpy(file.data() + 8, data + 3, len);
    } else {
        file.assign(data + 1, data + size);
    }
    try {
        const uhdlens::SafeTensorsHeader h =
            uhdlens::parseSafeTensorsHeader(file.data(), file.size(), "fuzz.safetensors", 0);
        // What Checkpoint::get relies on: every accepted tensor lies inside the data section and its byte
        // range is exactly dtype size x shape.
        FUZZ_CHECK(h.dataStart >= 8 && h.dataStart + h.dataSize == file.size());
        for (const uhdlens::TensorInfo &t : h.tensors) {
            FUZZ_CHECK(t.begin <= t.end && t.end <= h.dataSize);
            uint64_t bytes = uhdlens::safeTensorsDtypeSize(t.dtype);
            FUZZ_CHECK(bytes != 0);
            for (int64_t d : t.shape) {
                FUZZ_CHECK(d >= 0);
                FUZZ_CHECK(!__builtin_mul_overflow(bytes, uint64_t(d), &bytes));
            }
            FUZZ_CHECK(bytes == t.end - t.begin);
        }
        return true;
    } catch (const uhdlens::Error &e) {
        FUZZ_CHECK(e.code() == uhdlens::ErrorCode::CheckpointInvalid);
        return false;
    }
}
