// libFuzzer entry point of one target; UHDLENS_FUZZ_ENTRY names its entry function
// (tests/fuzz/CMakeLists.txt).
#include "entries/fuzz_entries.h"

bool UHDLENS_FUZZ_ENTRY(const uint8_t *data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    UHDLENS_FUZZ_ENTRY(data, size);
    return 0;
}
