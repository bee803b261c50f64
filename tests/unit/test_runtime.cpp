// The runtime's one-owner decisions (runtime.h): the CPU-feature test both inference's dtype "auto" and
// training's bf16 autocast use, as a decision table over /proc/cpuinfo texts, and the one thread policy.
#include "uhdlens/errors.h"
#include "uhdlens/runtime.h"

#include "parallel_chunks.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace uhdlens;

namespace {

std::string cpuinfoWithFlags(const std::string &flags)
{
    return "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: " + flags +
           "\nbugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: " + flags + "\n";
}

} // namespace

TEST(Runtime, Bf16IsFastOnlyWithAllFourFlags)
{
    // The bf16 decision table: avx512_bf16 for the dot products, and avx512bw/vl/dq, which libtorch 1.13
    // checks (mkldnn_bf16_device_check) before it routes a bf16 matmul through oneDNN at all. Training used
    // to look for avx512_bf16 alone; inference for all four: one rule now.
    const std::string base = "fpu sse sse2 avx avx2 fma avx512f";
    struct Row
    {
        std::string flags;
        bool fast;
    };
    const Row table[] = {
        {base + " avx512_bf16 avx512bw avx512vl avx512dq", true},
        {"avx512dq avx512vl avx512bw avx512_bf16 " + base, true}, // order does not matter
        {base + " avx512_bf16 avx512bw avx512vl amx_bf16 avx512dq", true},
        {base + " avx512_bf16", false},                             // what training alone used to accept
        {base + " avx512bw avx512vl avx512dq", false},              // no native bf16 dot products
        {base + " avx512_bf16 avx512vl avx512dq", false},           // no avx512bw
        {base + " avx512_bf16 avx512bw avx512dq", false},           // no avx512vl
        {base + " avx512_bf16 avx512bw avx512vl", false},           // no avx512dq
        {base + " avx512_bf16x avx512bw avx512vl avx512dq", false}, // whole words only
        {base, false},
        {"", false},
    };
    for (const Row &row : table)
        EXPECT_EQ(cpuRunsBf16Fast(cpuinfoWithFlags(row.flags)), row.fast) << "flags: " << row.flags;
    // No flags line at all (not Linux x86, or an unreadable file): never bf16.
    EXPECT_FALSE(cpuRunsBf16Fast(""));
    EXPECT_FALSE(cpuRunsBf16Fast("processor\t: 0\nFeatures\t: fp asimd bf16\n"));
    // The first flags line decides (every core lists the same flags).
    EXPECT_TRUE(cpuRunsBf16Fast("flags : avx512_bf16 avx512bw avx512vl avx512dq\nflags : sse\n"));
}

TEST(Runtime, Bf16DecisionOfThisMachineComesFromItsCpuinfo)
{
    std::ifstream in("/proc/cpuinfo");
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(cpuRunsBf16Fast(), cpuRunsBf16Fast(text.str()));
}

TEST(Runtime, OneThreadPolicy)
{
    const int before = at::get_num_threads();
    EXPECT_GE(defaultThreadCount(), 1);
    EXPECT_EQ(setThreadCount(1), 1);
    EXPECT_EQ(at::get_num_threads(), 1);
    EXPECT_EQ(setThreadCount(0), defaultThreadCount()); // 0: every core this process may run on
    EXPECT_EQ(at::get_num_threads(), defaultThreadCount());
    // A negative count is refused, typed, and changes nothing.
    setThreadCount(1);
    try {
        setThreadCount(-2);
        ADD_FAILURE() << "setThreadCount(-2) must throw";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(e.subject(), "threads");
    }
    EXPECT_EQ(at::get_num_threads(), 1);
    setThreadCount(before);
}

// The engine's kernels are at::parallel_for loops compiled into uhdlens_core; without OpenMP in that library
// they ran on one thread whatever the pool size (sessions 1-13 measured every kernel single-threaded). Two
// threads are asked for even on a one-core runner: OpenMP still makes the team.
TEST(Runtime, KernelsUseEveryThreadOfThePool)
{
    const int before = at::get_num_threads();
    setThreadCount(1);
    EXPECT_EQ(kernelThreadsInUse(), 1);
    setThreadCount(2);
    EXPECT_EQ(kernelThreadsInUse(), 2);
    setThreadCount(3);
    EXPECT_EQ(kernelThreadsInUse(), 3);
    setThreadCount(before);
}

// parallelChunks (core/src/parallel_chunks.h): every item exactly once, in pieces of at most `chunk`, for
// ranges that do and do not divide evenly, on 1 to 3 threads, more threads than pieces, and nested inside a
// parallel region (where it runs on the calling thread); and the pieces really are spread over the threads.
TEST(Runtime, ParallelChunksVisitEveryItemOnce)
{
    const int before = at::get_num_threads();
    for (int threads : {1, 2, 3}) {
        setThreadCount(threads);
        for (auto [n, chunk] :
             {std::pair<int64_t, int64_t>{0, 4}, {1, 4}, {7, 1}, {100, 7}, {4096, 64}, {5, 100}, {1000, 0}}) {
            std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
            std::atomic<bool> tooLong{false};
            uhdlens::parallelChunks(n, chunk, [&](int64_t b, int64_t e) {
                if (e - b > std::max<int64_t>(1, chunk))
                    tooLong = true;
                for (int64_t i = b; i < e; ++i)
                    seen[static_cast<size_t>(i)].fetch_add(1);
            });
            EXPECT_FALSE(tooLong) << "n " << n << " chunk " << chunk;
            for (int64_t i = 0; i < n; ++i)
                ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1)
                    << "item " << i << " of " << n << ", chunk " << chunk << ", " << threads << " threads";
        }
    }
    setThreadCount(2);
    std::mutex mutex;
    std::set<std::thread::id> workers;
    uhdlens::parallelChunks(64, 1, [&](int64_t, int64_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1)); // long enough that both threads take some
        std::lock_guard<std::mutex> lock(mutex);
        workers.insert(std::this_thread::get_id());
    });
    EXPECT_EQ(workers.size(), 2u);
    std::atomic<int> nested{0}, outer{0};
    at::parallel_for(0, 2, 1, [&](int64_t, int64_t) {
        ++outer;
        uhdlens::parallelChunks(10, 3, [&](int64_t b, int64_t e) { nested += static_cast<int>(e - b); });
    });
    EXPECT_EQ(outer.load(), 2);
    EXPECT_EQ(nested.load(), 10 * outer.load());
    setThreadCount(before);
}

// The build links OpenBLAS's OpenMP build ahead of Debian's default pthread one (top-level CMakeLists.txt):
// the process must really have it, or libtorch's GEMMs run on a second, spinning pool.
TEST(Runtime, LibtorchGemmsRunOnTheOpenMpBlas)
{
#ifdef UHDLENS_OPENMP_BLAS
    EXPECT_STREQ(blasThreading(), "openmp");
#else
    GTEST_SKIP() << "built without libopenblas0-openmp; this process runs OpenBLAS " << blasThreading();
#endif
}

// oneDNN's primitive cache budget (issue 20's soak): the user's variable wins when it is a non-negative
// integer, ONEDNN_ before the older DNNL_ name (as oneDNN reads them); anything else gives the budget.
TEST(Runtime, OnednnCacheCapacityDecision)
{
    const int budget = kOnednnPrimitiveCacheCapacity;
    EXPECT_EQ(onednnPrimitiveCacheCapacity(nullptr, nullptr), budget);
    EXPECT_EQ(onednnPrimitiveCacheCapacity("", ""), budget);
    EXPECT_EQ(onednnPrimitiveCacheCapacity("1024", nullptr), 1024);
    EXPECT_EQ(onednnPrimitiveCacheCapacity("0", nullptr), 0); // the user turned the cache off
    EXPECT_EQ(onednnPrimitiveCacheCapacity(nullptr, "16"), 16);
    EXPECT_EQ(onednnPrimitiveCacheCapacity("8", "16"), 8);
    // Bad input: not a number, negative, trailing text, out of int range.
    EXPECT_EQ(onednnPrimitiveCacheCapacity("lots", nullptr), budget);
    EXPECT_EQ(onednnPrimitiveCacheCapacity("-5", nullptr), budget);
    EXPECT_EQ(onednnPrimitiveCacheCapacity("12abc", "16"), 16);
    EXPECT_EQ(onednnPrimitiveCacheCapacity("99999999999999999999", nullptr), budget);
}

// initRuntime applies the budget to this process's oneDNN (when its libtorch's oneDNN exports the C API).
TEST(Runtime, InitRuntimeBoundsOnednnCache)
{
    const char *mine = std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY");
    const char *older = std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY");
    const int expected = onednnPrimitiveCacheCapacity(mine, older);
    const bool userLru = std::getenv("LRU_CACHE_CAPACITY") != nullptr;
    initRuntime(1);
    // ideep's cache has no query: the variable it reads at first use is set, unless the user set it.
    ASSERT_NE(std::getenv("LRU_CACHE_CAPACITY"), nullptr);
    if (!userLru) {
        EXPECT_EQ(std::string(std::getenv("LRU_CACHE_CAPACITY")),
                  std::to_string(kOnednnPrimitiveCacheCapacity));
    }
    const PrimitiveCacheFigures f = onednnPrimitiveCache();
    if (f.capacity < 0)
        GTEST_SKIP() << "this libtorch's oneDNN does not export dnnl_get_primitive_cache_capacity";
    EXPECT_EQ(f.capacity, expected);
    EXPECT_LE(f.entries, f.capacity);
    releaseFreeMemory(); // callable any time, from any thread
}
