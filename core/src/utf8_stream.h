// Incremental UTF-8 detokenising, torch-free (the engine's generation loop and the BPE tokenizer's decode).
#pragma once

#include <string>

namespace uhdlens {

// Turns a stream of byte chunks into whole UTF-8 characters: a multi-byte character split across chunks (byte
// fallback emits one token per byte) is held back until complete. Invalid sequences become U+FFFD, one per
// maximal invalid subpart as Rust's String::from_utf8_lossy does, so the output is always valid UTF-8.
class Utf8Streamer
{
public:
    std::string push(const std::string &bytes);
    // Remaining bytes (an unfinished character) as U+FFFD; empty when nothing is pending.
    std::string flush();

private:
    std::string m_pending;
};

} // namespace uhdlens
