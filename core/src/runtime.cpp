#include "uhdlens/runtime.h"

#include "uhdlens/errors.h"

#include <ATen/Parallel.h>

// at::parallel_for is a header template: in a translation unit compiled without OpenMP (_OPENMP undefined) it
// runs the whole range on the calling thread, whatever at::set_num_threads says. Debian's libtorch 1.13 uses
// OpenMP (libgomp), so the engine's kernels must be compiled with it too (core/CMakeLists.txt).
#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "uhdlens_core must be compiled with OpenMP: at::parallel_for would run every kernel on one thread"
#endif

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
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

int setThreadCount(int threads)
{
    if (threads < 0)
        throw Error(ErrorCode::InvalidArgument, "threads must be 0 (all cores) or positive", "threads");
    const int n = threads > 0 ? threads : defaultThreadCount();
    at::set_num_threads(n);
    return n;
}

int kernelThreadsInUse()
{
    std::mutex mutex;
    std::set<std::thread::id> seen;
    const int64_t tasks = at::get_num_threads();
    // Grain 1: one task per thread under OpenMP's static split. Each task waits briefly so that a thread that
    // finished early cannot take a second one (parallel_for never does that anyway; the wait keeps it honest).
    at::parallel_for(0, tasks, 1, [&](int64_t, int64_t) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            seen.insert(std::this_thread::get_id());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    });
    return static_cast<int>(seen.size());
}

const char *blasThreading()
{
    using Query = int (*)();
    const auto query = reinterpret_cast<Query>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
    if (!query)
        return "unknown";
    switch (query()) { // OpenBLAS's cblas.h: OPENBLAS_SEQUENTIAL 0, OPENBLAS_THREAD 1, OPENBLAS_OPENMP 2
    case 0:
        return "sequential";
    case 1:
        return "pthreads";
    case 2:
        return "openmp";
    default:
        return "unknown";
    }
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
        // oneDNN keys its primitive cache by shape, and decoding makes new shapes every token (the attention
        // products grow with the KV length, prefill with the prompt): its default 1024 entries held ~90 MiB
        // of descriptors and JIT code after 200 soak questions. The capacity is process-wide
        // and read when oneDNN first runs, so it is set here, before any; a user's ONEDNN_/DNNL_ setting
        // wins.
        const int capacity = onednnPrimitiveCacheCapacity(std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY"),
                                                          std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY"));
        // ideep, libtorch's layer over oneDNN, keeps a second shape-keyed LRU of its own (PyTorch's
        // documented LRU_CACHE_CAPACITY, default 1024, read at first use): the last +11 MiB of the
        // 200-question soak.
        setenv("LRU_CACHE_CAPACITY", std::to_string(kOnednnPrimitiveCacheCapacity).c_str(), 0);
        if (capacity == kOnednnPrimitiveCacheCapacity) {
            setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", std::to_string(capacity).c_str(), 0);
            // Also through the C API where this oneDNN exports it (the variable is read once, at first use).
            using Setter = int (*)(int);
            if (const auto set =
                    reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "dnnl_set_primitive_cache_capacity")))
                set(capacity);
        }
    });
    setThreadCount(threads);
}

bool cpuRunsBf16Fast(std::string_view cpuinfo)
{
    std::istringstream in{std::string(cpuinfo)};
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("flags", 0) != 0)
            continue;
        const std::size_t colon = line.find(':');
        std::istringstream words(colon == std::string::npos ? std::string() : line.substr(colon + 1));
        std::set<std::string> flags;
        for (std::string w; words >> w;)
            flags.insert(w);
        return flags.count("avx512_bf16") && flags.count("avx512bw") && flags.count("avx512vl") &&
               flags.count("avx512dq"); // every core lists the same flags
    }
    return false;
}

bool cpuRunsBf16Fast()
{
    static const bool fast = [] {
        std::ifstream in("/proc/cpuinfo");
        std::stringstream text;
        text << in.rdbuf();
        return cpuRunsBf16Fast(text.str());
    }();
    return fast;
}

int onednnPrimitiveCacheCapacity(const char *onednnVariable, const char *dnnlVariable)
{
    // oneDNN reads ONEDNN_PRIMITIVE_CACHE_CAPACITY first, then the older DNNL_ name; a value that is not a
    // non-negative integer is ignored by oneDNN too, and then the budget applies.
    for (const char *value : {onednnVariable, dnnlVariable}) {
        if (!value || !*value)
            continue;
        char *end = nullptr;
        const long n = std::strtol(value, &end, 10);
        if (*end == '\0' && n >= 0 && n <= std::numeric_limits<int>::max())
            return static_cast<int>(n);
    }
    return kOnednnPrimitiveCacheCapacity;
}

void releaseFreeMemory()
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

PrimitiveCacheFigures onednnPrimitiveCache()
{
    // dnnl_get_primitive_cache_capacity is oneDNN's C API; the entry count is an internal function oneDNN
    // exports for its own tests (dnnl::impl::get_primitive_cache_size(int *)). Both return dnnl_status_t, 0 =
    // success.
    using Getter = int (*)(int *);
    static const auto capacityFn =
        reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, "dnnl_get_primitive_cache_capacity"));
    static const auto sizeFn =
        reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, "_ZN4dnnl4impl24get_primitive_cache_sizeEPi"));
    PrimitiveCacheFigures f;
    int value = 0;
    if (capacityFn && capacityFn(&value) == 0)
        f.capacity = value;
    if (sizeFn && sizeFn(&value) == 0)
        f.entries = value;
    return f;
}

} // namespace uhdlens
