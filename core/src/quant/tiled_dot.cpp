// Dispatch and activation preparation of the tiled int8 kernels (see tiled_dot.h).
#include "quant/tiled_dot.h"

#include "quant/blocks.h"
#include "quant/dequant.h"
#include "uhdlens/errors.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace uhdlens::quant {

namespace {

// The unsigned offset of a weight type's tiled kernel (tiled_dot_simd.inc): u = q + off.
int weightOffset(GgmlType type)
{
    switch (type) {
    case GgmlType::Q4_0:
        return 8;
    case GgmlType::Q5_0:
        return 16;
    case GgmlType::Q8_0:
        return 128;
    default:
        return 0;
    }
}

// Per activation block: its scale as f32 and -off * sum(q) (the integer start of the unsigned product).
struct Prepared
{
    std::vector<float> da;
    std::vector<int32_t> corr;
    Prepared(GgmlType weightType, const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t nb)
        : da(static_cast<size_t>(m * nb)), corr(static_cast<size_t>(m * nb))
    {
        const int off = weightOffset(weightType);
        for (int64_t i = 0; i < m; ++i) {
            const auto *blocks = reinterpret_cast<const BlockQ8_0 *>(activations + i * aRowBytes);
            for (int64_t b = 0; b < nb; ++b) {
                int32_t s = 0;
                for (int k = 0; k < kQK; ++k)
                    s += blocks[b].qs[k];
                da[static_cast<size_t>(i * nb + b)] = fp16ToF32(blocks[b].d);
                corr[static_cast<size_t>(i * nb + b)] = -off * s;
            }
        }
    }
};

#if defined(__x86_64__)
const detail::TiledKernels &kernelsOf(KernelIsa isa)
{
    return isa == KernelIsa::Avx512Vnni ? detail::tiledKernelsVnni() : detail::tiledKernelsAvx2();
}
#endif

// Bytes of one interleaved block (8 rows): 8 f16 scales and the 8 rows' quants.
int64_t x8BlockBytes(GgmlType type)
{
    return 16 + 8 * (type == GgmlType::Q4_0 ? 16 : 32);
}

} // namespace

bool canInterleave(GgmlType type, int64_t rows, int64_t cols, KernelIsa isa)
{
    return (type == GgmlType::Q4_0 || type == GgmlType::Q8_0) && hasTiledKernel(type, isa) && rows > 0 &&
           rows % kInterleave == 0 && cols > 0 && cols % kQK == 0;
}

std::vector<uint8_t> interleaveRows(GgmlType type, const uint8_t *data, int64_t rows, int64_t cols)
{
    if ((type != GgmlType::Q4_0 && type != GgmlType::Q8_0) || rows <= 0 || rows % kInterleave != 0 ||
        cols <= 0 || cols % kQK != 0)
        throw Error(ErrorCode::TensorShapeMismatch, "cannot interleave a " +
                                                        std::string(ggmlTypeInfo(type).name) + " [" +
                                                        std::to_string(rows) + ", " + std::to_string(cols) +
                                                        "] matrix (Q4_0 / Q8_0, rows a multiple of 8)");
    const int64_t nb = cols / kQK, rowB = rowBytes(type, cols), blockB = ggmlTypeInfo(type).blockBytes;
    const int64_t quantB = blockB - 2, xBlockB = x8BlockBytes(type);
    std::vector<uint8_t> out(static_cast<size_t>(rows / kInterleave * nb * xBlockB));
    for (int64_t g = 0; g < rows / kInterleave; ++g)
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t *dst = out.data() + (g * nb + b) * xBlockB;
            for (int64_t r = 0; r < kInterleave; ++r) {
                const uint8_t *src = data + (g * kInterleave + r) * rowB + b * blockB; // d (f16), then quants
                std::memcpy(dst + 2 * r, src, 2);
                for (int64_t c = 0; c < quantB / 4; ++c)
                    std::memcpy(dst + 16 + c * 32 + r * 4, src + 2 + c * 4, 4);
            }
        }
    return out;
}

void dotRowsInterleaved(GgmlType weightType, const uint8_t *packed, int64_t r0, int64_t r1,
                        const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y,
                        int64_t ldy, KernelIsa isa)
{
    if (!canInterleave(weightType, std::max<int64_t>(r1, kInterleave), std::max<int64_t>(n, kQK), isa) ||
        !cpuRunsIsa(isa) || r0 % kInterleave != 0 || r1 % kInterleave != 0)
        throw Error(ErrorCode::Internal, std::string("no interleaved ") + kernelIsaName(isa) +
                                             " kernel for " + std::string(ggmlTypeInfo(weightType).name) +
                                             " rows [" + std::to_string(r0) + ", " + std::to_string(r1) +
                                             ") on this CPU");
#if defined(__x86_64__)
    const int64_t nb = n / kQK;
    if (m <= 0 || r1 <= r0)
        return;
    const Prepared p(weightType, activations, aRowBytes, m, nb);
    const detail::TiledKernels &k = kernelsOf(isa);
    (weightType == GgmlType::Q4_0 ? k.q4_0x8 : k.q8_0x8)(packed, r0 / kInterleave, r1 / kInterleave,
                                                         activations, aRowBytes, m, nb, p.da.data(),
                                                         p.corr.data(), y, ldy);
#else
    (void)packed, (void)activations, (void)aRowBytes, (void)y, (void)ldy;
#endif
}

bool hasTiledKernel(GgmlType weightType, KernelIsa isa)
{
#if defined(__x86_64__)
    return isa != KernelIsa::Portable &&
           (weightOffset(weightType) != 0 || weightType == GgmlType::F16 || weightType == GgmlType::BF16);
#else
    (void)weightType;
    (void)isa;
    return false;
#endif
}

void dotRowsTiled(GgmlType weightType, const uint8_t *weights, int64_t wRowBytes, int64_t r0, int64_t r1,
                  const uint8_t *activations, int64_t aRowBytes, int64_t m, int64_t n, float *y, int64_t ldy,
                  KernelIsa isa)
{
    if (!hasTiledKernel(weightType, isa) || !cpuRunsIsa(isa))
        throw Error(ErrorCode::Internal, std::string("no tiled ") + kernelIsaName(isa) + " kernel for " +
                                             std::string(ggmlTypeInfo(weightType).name) + " on this CPU");
#if defined(__x86_64__)
    if (weightType == GgmlType::F16 || weightType == GgmlType::BF16) {
        const detail::TiledKernels &k = kernelsOf(isa);
        (weightType == GgmlType::F16 ? k.f16 : k.bf16)(weights, wRowBytes, r0, r1, activations, aRowBytes, m,
                                                       n, y, ldy);
        return;
    }
    const int64_t nb = n / kQK;
    if (m <= 0 || r1 <= r0 || nb == 0) {
        for (int64_t i = 0; i < m; ++i)
            for (int64_t r = r0; r < r1; ++r)
                y[i * ldy + r] = 0;
        return;
    }
    const Prepared p(weightType, activations, aRowBytes, m, nb);
    const detail::TiledKernels &k = kernelsOf(isa);
    const detail::TiledRowsFn fn = weightType == GgmlType::Q4_0   ? k.q4_0
                                   : weightType == GgmlType::Q5_0 ? k.q5_0
                                                                  : k.q8_0;
    fn(weights, wRowBytes, r0, r1, activations, aRowBytes, m, nb, p.da.data(), p.corr.data(), y, ldy);
#else
    (void)weights, (void)wRowBytes, (void)activations, (void)aRowBytes, (void)n, (void)y, (void)ldy;
#endif
}

} // namespace uhdlens::quant
