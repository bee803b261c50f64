// Portable dot-product kernels and the run-time dispatch (see vec_dot.h). Each portable kernel is ggml's
// generic ggml_vec_dot_*_q8_* (ggml-cpu/quants.c) restated: exact int32 sums per block (per sub-block scale
// for the K-quants), scaled once per block in f32.
#include "quant/vec_dot.h"

#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/quantize.h"
#include "quant/tiled_dot.h"
#include "uhdlens/errors.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace uhdlens::quant {

// vec_dot_avx2.cpp (x86-64 only): kernels with the DotFn signature, called only when cpuHasAvx2Kernels().
namespace detail {
float dotF32Avx2(const void *w, const void *a, int64_t n);
float dotF16Avx2(const void *w, const void *a, int64_t n);
float dotBf16Avx2(const void *w, const void *a, int64_t n);
float dotQ4_0Avx2(const void *w, const void *a, int64_t n);
float dotQ4_1Avx2(const void *w, const void *a, int64_t n);
float dotQ8_0Avx2(const void *w, const void *a, int64_t n);
float dotQ5_0Avx2(const void *w, const void *a, int64_t n);
float dotQ5_1Avx2(const void *w, const void *a, int64_t n);
float dotQ4_KAvx2(const void *w, const void *a, int64_t n);
float dotQ5_KAvx2(const void *w, const void *a, int64_t n);
float dotQ6_KAvx2(const void *w, const void *a, int64_t n);
} // namespace detail

namespace {

using DotFn = float (*)(const void *weightRow, const void *activation, int64_t n);

enum class Act
{
    F32,
    Q8_0,
    Q8_1,
    Q8_K
};

// Float weights: f32 products of the widened weight and the f32 activation.
template <float (*Widen)(uint16_t)> float dotHalf(const void *w, const void *a, int64_t n)
{
    const auto *h = static_cast<const uint16_t *>(w);
    const auto *x = static_cast<const float *>(a);
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += Widen(h[i]) * x[i];
    return s;
}

float dotF32(const void *w, const void *a, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += static_cast<const float *>(w)[i] * static_cast<const float *>(a)[i];
    return s;
}

// Legacy blocks (ggml_vec_dot_q4_0_q8_0 ... _q5_1_q8_1 generic): sumi * (d_x * d_y), plus m_x * s_y for *_1.
template <typename Block, typename ActBlock> float dotLegacy(const void *w, const void *a, int64_t n)
{
    const auto *x = static_cast<const Block *>(w);
    const auto *y = static_cast<const ActBlock *>(a);
    float sumf = 0;
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i) {
        unpackQuants(x[i], q);
        int sumi = 0;
        for (int j = 0; j < kQK; ++j)
            sumi += q[j] * y[i].qs[j];
        const float dd = fp16ToF32(x[i].d) * fp16ToF32(y[i].d);
        if constexpr (kHasMin<Block>)
            sumf += dd * static_cast<float>(sumi) + fp16ToF32(x[i].m) * fp16ToF32(y[i].s);
        else
            sumf += static_cast<float>(sumi) * dd;
    }
    return sumf;
}

// Q4_K / Q5_K: value = d * sc * q - dmin * m per 32-element sub-block, so a super-block contributes
// d * sum_j(sc_j * <q, q8>_j) - dmin * sum_j(m_j * sum(q8)_j); the q8 sums come from the Q8_K block's bsums.
template <typename Block> float dotK45(const void *w, const void *a, int64_t n)
{
    const auto *x = static_cast<const Block *>(w);
    const auto *y = static_cast<const BlockQ8_K *>(a);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQKK; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            unpackScaleMinK4(j, x[i].k.scales, sc, m);
            int s = 0;
            for (int l = 0; l < 32; ++l)
                s += kQuant(x[i], j, l) * y[i].qs[j * 32 + l];
            sumi += sc * s;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        const float d = y[i].d * fp16ToF32(x[i].k.d), dmin = y[i].d * fp16ToF32(x[i].k.dmin);
        sumf += d * static_cast<float>(sumi) - dmin * static_cast<float>(summ);
    }
    return sumf;
}

// sum over the 16 sub-blocks of a Q6_K block of scale * <q - 32, q8>.
int q6BlockDot(const BlockQ6_K &x, const int8_t *q8)
{
    int q[kQKK];
    unpackQ6_K(x, q);
    int sumi = 0;
    for (int g = 0; g < kQKK / 16; ++g) {
        int s = 0;
        for (int l = 0; l < 16; ++l)
            s += q[g * 16 + l] * q8[g * 16 + l];
        sumi += x.scales[g] * s;
    }
    return sumi;
}

float dotQ6_K(const void *w, const void *a, int64_t n)
{
    const auto *x = static_cast<const BlockQ6_K *>(w);
    const auto *y = static_cast<const BlockQ8_K *>(a);
    float sumf = 0;
    for (int64_t i = 0; i < n / kQKK; ++i)
        sumf += (y[i].d * fp16ToF32(x[i].d)) * static_cast<float>(q6BlockDot(x[i], y[i].qs));
    return sumf;
}

#if defined(__x86_64__)
#define UHDLENS_AVX2(fn) detail::fn
#else
#define UHDLENS_AVX2(fn) nullptr
#endif

bool cpuHasAvx2()
{
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return false;
#endif
}

bool cpuHasAvx512Vnni()
{
#if defined(__x86_64__)
    return cpuHasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    return false;
#endif
}

// The one table of instruction sets: name (UHDLENS_QUANT_ISA's values) and CPU check.
struct IsaRow
{
    KernelIsa isa;
    const char *name;
    bool (*cpuRuns)();
};
const IsaRow kIsas[] = {
    {KernelIsa::Portable, "portable", [] { return true; }},
    {KernelIsa::Avx2, "avx2", cpuHasAvx2},
    {KernelIsa::Avx512Vnni, "avx512vnni", cpuHasAvx512Vnni},
};

// The one table of kernels: each supported weight type's activation format (ggml's vec_dot_type), portable
// kernel and AVX2 kernel (nullptr: the portable one runs everywhere).
struct Kernel
{
    GgmlType type;
    Act act;
    DotFn portable;
    DotFn avx2;
};
const Kernel kKernels[] = {
    {GgmlType::F32, Act::F32, dotF32, UHDLENS_AVX2(dotF32Avx2)},
    {GgmlType::F16, Act::F32, dotHalf<fp16ToF32>, UHDLENS_AVX2(dotF16Avx2)},
    {GgmlType::BF16, Act::F32, dotHalf<bf16ToF32>, UHDLENS_AVX2(dotBf16Avx2)},
    {GgmlType::Q4_0, Act::Q8_0, dotLegacy<BlockQ4_0, BlockQ8_0>, UHDLENS_AVX2(dotQ4_0Avx2)},
    {GgmlType::Q4_1, Act::Q8_1, dotLegacy<BlockQ4_1, BlockQ8_1>, UHDLENS_AVX2(dotQ4_1Avx2)},
    {GgmlType::Q5_0, Act::Q8_0, dotLegacy<BlockQ5_0, BlockQ8_0>, UHDLENS_AVX2(dotQ5_0Avx2)},
    {GgmlType::Q5_1, Act::Q8_1, dotLegacy<BlockQ5_1, BlockQ8_1>, UHDLENS_AVX2(dotQ5_1Avx2)},
    {GgmlType::Q8_0, Act::Q8_0, dotLegacy<BlockQ8_0, BlockQ8_0>, UHDLENS_AVX2(dotQ8_0Avx2)},
    {GgmlType::Q4_K, Act::Q8_K, dotK45<BlockQ4_K>, UHDLENS_AVX2(dotQ4_KAvx2)},
    {GgmlType::Q5_K, Act::Q8_K, dotK45<BlockQ5_K>, UHDLENS_AVX2(dotQ5_KAvx2)},
    {GgmlType::Q6_K, Act::Q8_K, dotQ6_K, UHDLENS_AVX2(dotQ6_KAvx2)},
};
#undef UHDLENS_AVX2

// The kernel row of a type; throws (requireSupported) for a type without one.
const Kernel &kernelOf(GgmlType type)
{
    for (const auto &k : kKernels)
        if (k.type == type)
            return k;
    requireSupported(type); // throws for the unsupported types
    throw Error(ErrorCode::Internal, "no dot-product kernel for " + std::string(ggmlTypeInfo(type).name));
}

DotFn chooseKernel(GgmlType type, KernelIsa isa)
{
    const Kernel &k = kernelOf(type);
    return isa != KernelIsa::Portable && k.avx2 && cpuRunsIsa(KernelIsa::Avx2) ? k.avx2 : k.portable;
}

} // namespace

int64_t activationRowBytes(GgmlType weightType, int64_t n)
{
    rowBytes(weightType, n); // validates type and block multiple
    switch (kernelOf(weightType).act) {
    case Act::Q8_0:
        return n / kQK * static_cast<int64_t>(sizeof(BlockQ8_0));
    case Act::Q8_1:
        return n / kQK * static_cast<int64_t>(sizeof(BlockQ8_1));
    case Act::Q8_K:
        return n / kQKK * static_cast<int64_t>(sizeof(BlockQ8_K));
    case Act::F32:
        break;
    }
    return n * static_cast<int64_t>(sizeof(float));
}

void quantizeActivation(GgmlType weightType, const float *x, void *dst, int64_t n)
{
    rowBytes(weightType, n);
    switch (kernelOf(weightType).act) {
    case Act::Q8_0:
        return quantizeRowQ8_0(x, static_cast<BlockQ8_0 *>(dst), n);
    case Act::Q8_1:
        return quantizeRowQ8_1(x, static_cast<BlockQ8_1 *>(dst), n);
    case Act::Q8_K:
        return quantizeRowQ8_K(x, static_cast<BlockQ8_K *>(dst), n);
    case Act::F32:
        std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
        return;
    }
}

bool cpuRunsIsa(KernelIsa isa)
{
    static const bool runs[] = {kIsas[0].cpuRuns(), kIsas[1].cpuRuns(), kIsas[2].cpuRuns()};
    return runs[static_cast<int>(isa)];
}

const char *kernelIsaName(KernelIsa isa)
{
    return kIsas[static_cast<int>(isa)].name;
}

KernelIsa bestKernelIsa()
{
    static const KernelIsa best = [] {
        KernelIsa cap = KernelIsa::Avx512Vnni;
        if (const char *env = std::getenv("UHDLENS_QUANT_ISA"))
            for (const IsaRow &row : kIsas)
                if (std::strcmp(env, row.name) == 0)
                    cap = row.isa;
        KernelIsa b = KernelIsa::Portable;
        for (const IsaRow &row : kIsas)
            if (static_cast<int>(row.isa) <= static_cast<int>(cap) && cpuRunsIsa(row.isa))
                b = row.isa;
        return b;
    }();
    return best;
}

bool cpuHasAvx2Kernels()
{
    return cpuRunsIsa(KernelIsa::Avx2);
}

bool hasAvx2Kernel(GgmlType weightType)
{
    for (const auto &k : kKernels)
        if (k.type == weightType)
            return k.avx2 != nullptr;
    return false;
}

float vecDot(GgmlType weightType, const void *weightRow, const void *activation, int64_t n, bool portable)
{
    return chooseKernel(weightType, portable ? KernelIsa::Portable : bestKernelIsa())(weightRow, activation,
                                                                                      n);
}

void dotRows(GgmlType weightType, const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
             const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y, int64_t ldy,
             bool portable)
{
    dotRowsIsa(weightType, weights, wRowBytes, r0, r1, activations, aRowBytes, m, n, y, ldy,
               portable ? KernelIsa::Portable : bestKernelIsa());
}

void dotRowsIsa(GgmlType weightType, const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
                const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y, int64_t ldy,
                KernelIsa isa)
{
    if (!cpuRunsIsa(isa))
        throw Error(ErrorCode::Internal,
                    std::string("this CPU does not run the ") + kernelIsaName(isa) + " kernels");
    if (hasTiledKernel(weightType, isa))
        return dotRowsTiled(weightType, weights, wRowBytes, r0, r1, activations, aRowBytes, m, n, y, ldy,
                            isa);
    const DotFn dot = chooseKernel(weightType, isa);
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = 0; i < m; ++i)
            y[i * ldy + r] = dot(weights + r * wRowBytes, activations + i * aRowBytes, n);
}

} // namespace uhdlens::quant
