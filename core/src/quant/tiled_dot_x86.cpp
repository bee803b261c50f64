// The tiled int8 kernels (tiled_dot.h) for AVX2 and for AVX-512 VNNI: the one text of tiled_dot_simd.inc
// compiled twice, each copy under its own `#pragma GCC target` and in a namespace of its own inside an
// anonymous one (the scheme of kernels/flash_attention_x86.cpp and quant/vec_dot_avx2.cpp: nothing inline is
// shared with baseline code, so no AVX instruction reaches an older CPU through the linker's choice of one
// copy). tiled_dot.cpp calls a set only after its CPU check. The standard headers come before the pragmas.
#include "quant/blocks.h"
#include "quant/tiled_dot.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define UHDLENS_TILED_VNNI 0
#include "quant/tiled_dot_simd.inc"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
#define UHDLENS_TILED_VNNI 1
#include "quant/tiled_dot_simd.inc"
#pragma GCC pop_options

#endif
