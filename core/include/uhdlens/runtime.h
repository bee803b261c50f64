// UHD Lens — process-wide runtime set-up. Call initRuntime() once at the start of main() in every executable.
#pragma once

namespace uhdlens {

// - Sizes libtorch's intra-op thread pool to `threads` (0: all cores); Debian's libtorch defaults to one thread.
// - Keeps large freed blocks in glibc's heap instead of unmapping them, so the ~100 MB float buffers of image
//   preprocessing and the activations of each forward pass are reused instead of being page-faulted in (and
//   zeroed by the kernel) again on every call — the reason PyTorch's docs recommend jemalloc/tcmalloc.
//   uhdlens-bench preprocess shows the effect (to-tensor of a 4K screenshot ~38 ms -> ~5 ms).
// Safe to call more than once; only the first call changes the allocator.
void initRuntime(int threads = 0);

// Number of threads initRuntime(0) uses: the cores this process may run on.
int defaultThreadCount();

} // namespace uhdlens
