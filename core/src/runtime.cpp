#include "uhdlens/runtime.h"

#include <ATen/Parallel.h>

#include <malloc.h>
#include <sched.h>

#include <mutex>
#include <thread>

namespace uhdlens {

int defaultThreadCount()
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
}

void initRuntime(int threads)
{
    static std::once_flag allocatorOnce;
    std::call_once(allocatorOnce, [] {
#if defined(__GLIBC__)
        // Serve big blocks from the heap (not fresh mmaps) and never give freed memory back eagerly; the
        // values mirror what MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_/MALLOC_TOP_PAD_ would set.
        mallopt(M_MMAP_THRESHOLD, 1 << 30);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        mallopt(M_TOP_PAD, 256 << 20);
#endif
    });
    at::set_num_threads(threads > 0 ? threads : defaultThreadCount());
}

} // namespace uhdlens
