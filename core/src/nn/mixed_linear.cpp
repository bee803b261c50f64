// Mixed-precision linear (see mixed_linear.h): bf16 weights, f32 activations and arithmetic.
#include "mixed_linear.h"

#include "quant/quant_matmul.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace uhdlens::nn {

namespace {

// The few-rows product on bf16 weights: the quantized kernels' BF16 rows (quant/tiled_dot.h: one weight row at a
// time with four accumulators for a single input row, 4-row tiles for several; AVX2 / AVX-512 builds chosen at
// run time, a portable one elsewhere), split across the intra-op threads by quantMatmulFewRows.
torch::Tensor smallRows(const torch::Tensor &x2d, const torch::Tensor &weight, const torch::Tensor &bias, bool portable)
{
    const torch::Tensor w = weight.contiguous();
    const quant::QuantMatrix m{quant::GgmlType::BF16, reinterpret_cast<const uint8_t *>(w.data_ptr<at::BFloat16>()),
                               w.size(0), w.size(1)};
    return quant::quantMatmulFewRows(x2d, m, bias.defined() ? bias.to(torch::kFloat32) : bias, portable);
}

} // namespace

torch::Tensor linearBf16Weight(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias,
                               bool portableKernel)
{
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kBFloat16 && weight.dim() == 2,
                "linearBf16Weight: expects float32 input and a 2-D bfloat16 weight");
    const int64_t k = weight.size(1), n = weight.size(0);
    TORCH_CHECK(x.size(-1) == k, "linearBf16Weight: input width ", x.size(-1), " != weight width ", k);
    const bool autograd = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() ||
                                                         (bias.defined() && bias.requires_grad()));
    if (autograd || !x.device().is_cpu())
        return at::linear(x, weight.to(x.scalar_type()), bias.defined() ? bias.to(x.scalar_type()) : bias);

    const int64_t m = k > 0 ? x.numel() / k : 0;
    std::vector<int64_t> outShape = x.sizes().vec();
    outShape.back() = n;
    if (m == 0 || k == 0)
        return at::linear(x, weight.to(torch::kFloat32), bias.defined() ? bias.to(torch::kFloat32) : bias);
    if (m <= kMixedSmallRows)
        return smallRows(x.reshape({m, k}), weight, bias, portableKernel).view(outShape);

    // Many rows: widen the weight (in blocks of <= 16M elements = 64 MB of f32, so only a vocabulary-sized matrix
    // is split) and use libtorch's f32 GEMM at full size. Measured on real MiniCPM-V shapes: widening ~4 MB
    // blocks instead (to keep them in cache) made the GEMMs so much less efficient that a slice took 15.2 s
    // against 9.5 s in f32; widening a whole 5M-element matrix costs ~6 ms against ~63 ms for its 1024-row GEMM.
    const torch::Tensor b = bias.defined() ? bias.to(torch::kFloat32) : bias;
    const int64_t rowsPerBlock = std::max<int64_t>(16, (int64_t(16) << 20) / k);
    if (n <= rowsPerBlock)
        return at::linear(x, weight.to(torch::kFloat32), b);
    std::vector<torch::Tensor> parts;
    for (int64_t r = 0; r < n; r += rowsPerBlock) {
        const int64_t len = std::min(rowsPerBlock, n - r);
        parts.push_back(at::linear(x, weight.narrow(0, r, len).to(torch::kFloat32), b.defined() ? b.narrow(0, r, len) : b));
    }
    return torch::cat(parts, -1);
}

torch::Tensor embeddingAs(const torch::Tensor &table, const torch::Tensor &ids, torch::Dtype dtype)
{
    auto e = at::embedding(table, ids);
    return e.scalar_type() == dtype ? e : e.to(dtype);
}

torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias)
{
    // bf16 activations and weights, few rows (decode): oneDNN's bf16 GEMV reads the weights at about half the
    // memory speed (5.9 tok/s on MiniCPM-V 2.6 shapes with 4 layers against 11+ for the same bytes through the
    // few-rows kernel); the kernel widens x exactly and accumulates in f32 as oneDNN does, then rounds to bf16.
    if (x.scalar_type() == torch::kBFloat16 && weight.scalar_type() == torch::kBFloat16 && weight.dim() == 2 &&
        x.device().is_cpu() && x.size(-1) == weight.size(1) && weight.size(1) > 0 &&
        x.numel() / weight.size(1) <= kMixedSmallRows && x.numel() > 0 &&
        !(at::GradMode::is_enabled() &&
          (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()))))
        return linearBf16Weight(x.to(torch::kFloat32), weight, bias).to(torch::kBFloat16);
    if (weight.scalar_type() == x.scalar_type())
        return at::linear(x, weight, bias);
    if (weight.scalar_type() == torch::kBFloat16 && x.scalar_type() == torch::kFloat32)
        return linearBf16Weight(x, weight, bias);
    return at::linear(x, weight.to(x.scalar_type()), bias.defined() ? bias.to(x.scalar_type()) : bias);
}

} // namespace uhdlens::nn
