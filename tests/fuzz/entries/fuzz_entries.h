// Entry functions of the fuzz targets (tests/fuzz/targets.cmake), shared by the libFuzzer executables (fuzz
// build, clang) and the replay unit test (normal build, gcc), so a committed reproducer runs through exactly
// the code the fuzzer ran.
//
// Each entry feeds `data` to one parser of outside data the way the app would and returns true when the input
// is accepted, false when it is refused with a typed uhdlens::Error. Any other exception, a crash, a
// sanitizer report or a failed invariant (FUZZ_CHECK, which aborts) is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace uhdlens::fuzz {

// A folder for entries that must go through files (model folders, tokenizer.model): one per process, created
// on first use under $TMPDIR (or /tmp) and removed at exit.
const std::string &scratchDir();
// Writes `size` bytes to `path` (replacing it); aborts on I/O failure (the harness's own failure, not a
// finding).
void writeFile(const std::string &path, const void *data, size_t size);

} // namespace uhdlens::fuzz

// An invariant the code under test promises; a violation aborts so libFuzzer records the input.
#define FUZZ_CHECK(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            std::abort();                                                                                    \
        }                                                                                                    \
    } while (0)
