// UHD Lens — process-wide runtime set-up and the facts about this machine that more than one part decides on.
// Call initRuntime() once at the start of main() in every executable.
#pragma once

#include <string_view>

namespace uhdlens {

// - Sizes libtorch's intra-op thread pool to `threads` (0: all cores); Debian's libtorch defaults to one
// thread.
// - Keeps large freed blocks in glibc's heap instead of unmapping them, so the ~100 MB float buffers of image
//   preprocessing and the activations of each forward pass are reused instead of being page-faulted in (and
//   zeroed by the kernel) again on every call — the reason PyTorch's docs recommend jemalloc/tcmalloc.
//   uhdlens-bench preprocess shows the effect (to-tensor of a 4K screenshot ~38 ms -> ~5 ms).
// - Bounds oneDNN's primitive cache and ideep's computation cache to kOnednnPrimitiveCacheCapacity entries
//   each (unless the user set ONEDNN_PRIMITIVE_CACHE_CAPACITY / DNNL_PRIMITIVE_CACHE_CAPACITY, or
//   LRU_CACHE_CAPACITY): the RSS growth of a long session.
// Safe to call more than once; only the first call changes the allocator and the cache.
void initRuntime(int threads = 0);

// The primitives oneDNN may keep cached (its own default is 1024). Each distinct matmul/convolution shape is
// one entry (descriptor + JIT code, ~160 KiB measured); a decode step uses ~10 shapes that recur every token
// plus the attention products, whose shape changes with every KV length and so are rarely reused. 64 kept the
// soak's CPU time per question unchanged (165-174 ms, 60 questions) while its RSS growth fell from +21% to
// +7% (DECISIONS.md, "Soak").
constexpr int kOnednnPrimitiveCacheCapacity = 64;
// The capacity initRuntime() applies given the two environment variables' values (null: unset): the first
// one that is a non-negative integer, else kOnednnPrimitiveCacheCapacity.
int onednnPrimitiveCacheCapacity(const char *onednnVariable, const char *dnnlVariable);

// Hands the heap's free pages back to the system (glibc malloc_trim; nothing elsewhere). initRuntime() makes
// glibc keep freed blocks for speed while answers run; the engine calls this when it goes idle, so a
// session's RSS between questions is what is alive, not its highest water mark. Costs a few ms.
void releaseFreeMemory();

// The thread policy, in one place: sizes libtorch's intra-op pool to `threads`, or to defaultThreadCount()
// for 0, and returns the count it set. initRuntime, Model::load (LoadOptions::threads), training
// (TrainOptions::threads) and uhdlens-bench all go through it. Throws Error(InvalidArgument) for threads < 0.
int setThreadCount(int threads);

// Number of threads setThreadCount(0) uses: the cores this process may run on (its CPU affinity).
int defaultThreadCount();

// How many distinct threads the engine's own kernels (quantized products, fused attention, resampling: all
// at::parallel_for loops compiled into this library) run one task each on, for as many tasks as the pool
// has threads. Equal to setThreadCount's figure in a correct build; 1 would mean those loops run serially.
// For tests and the benchmark's header line.
int kernelThreadsInUse();

// Which OpenBLAS build libtorch's f32 matrix products run on in this process: "openmp" (the one pool the engine
// uses, what the build links), "pthreads" (a second pool beside OpenMP's: slower), "sequential", or "unknown"
// where the BLAS is not OpenBLAS. Read at run time (openblas_get_parallel), for the benchmark's header and tests.
const char *blasThreading();

// Whether this CPU runs bf16 matrix products fast, read once from /proc/cpuinfo (false where there is none).
// The one CPU-feature test: inference's dtype "auto" (bf16 here, else mixed) and training's bf16 autocast
// (TrainOptions::dtype "auto") both ask it.
bool cpuRunsBf16Fast();
// The same decision from the text of a /proc/cpuinfo (its first "flags" line): native bf16 dot products
// (avx512_bf16) and the three flags libtorch 1.13 requires before it routes bf16 matmuls through oneDNN
// (avx512bw, avx512vl, avx512dq: mkldnn_bf16_device_check). Without all four, bf16 GEMMs fall back to scalar
// code (~2 GFLOP/s measured on an AVX2-only VM vs ~35 GFLOP/s for f32). False when there is no flags line.
bool cpuRunsBf16Fast(std::string_view cpuinfo);

// oneDNN's primitive cache (libtorch's bf16 matmuls and convolutions run through oneDNN): how many primitives
// it may keep and how many it holds now; -1 each where this libtorch's oneDNN does not export them (looked up
// at run time, so nothing links against oneDNN).
struct PrimitiveCacheFigures
{
    int capacity = -1;
    int entries = -1;
};
PrimitiveCacheFigures onednnPrimitiveCache();

} // namespace uhdlens
