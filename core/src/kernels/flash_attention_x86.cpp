// The fused attention's AVX2/FMA and AVX-512F block operations (flash_attention_kernels.h): the one text of
// flash_attention_simd.inc compiled twice, for 8 and for 16 lanes, each copy under its own `#pragma GCC
// target` and in a namespace of its own inside an anonymous one (the scheme of quant/vec_dot_avx2.cpp:
// nothing inline is shared with code built for the baseline, so no AVX instruction can reach an older CPU
// through the linker's choice of one copy). flash_attention.cpp calls simdKernels<8>() only after
// quant::cpuHasAvx2Kernels() and simdKernels<16>() only after its own AVX-512F check. One file instead of an
// _avx2.cpp and an _avx512.cpp, so the two instruction sets cannot drift apart. The standard headers come
// before the pragmas: their inline functions stay baseline code.
#include "kernels/flash_attention_kernels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#if defined(__x86_64__)

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define UHDLENS_FLASH_LANES 8
#include "kernels/flash_attention_simd.inc"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,f16c")
#define UHDLENS_FLASH_LANES 16
#include "kernels/flash_attention_simd.inc"
#pragma GCC pop_options

#endif
