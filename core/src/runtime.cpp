#include "uhdlens/runtime.h"

#include "uhdlens/errors.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

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
