// Quantized matrix products (see quant_matmul.h).
#include "quant/quant_matmul.h"

#include "parallel_chunks.h"

#include "quant/dequant.h"
#include "quant/tiled_dot.h"
#include "quant/vec_dot.h"
#include "uhdlens/errors.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>
#include <vector>

namespace uhdlens::quant {

namespace {

void checkInput(const torch::Tensor &x, const QuantMatrix &w, const torch::Tensor &bias, const char *what)
{
    matrixBytes(w);
    if (!x.defined() || x.dim() != 2 || x.scalar_type() != torch::kFloat32 || !x.device().is_cpu())
        throw Error(ErrorCode::TensorShapeMismatch,
                    std::string(what) + ": the input must be a 2-D float32 CPU tensor", "input");
    if (x.size(1) != w.inFeatures)
        throw Error(ErrorCode::TensorShapeMismatch,
                    std::string(what) + ": input width " + std::to_string(x.size(1)) + " != weight width " +
                        std::to_string(w.inFeatures),
                    "input");
    if (bias.defined() && (bias.dim() != 1 || bias.size(0) != w.outFeatures))
        throw Error(ErrorCode::TensorShapeMismatch,
                    std::string(what) + ": bias must be [" + std::to_string(w.outFeatures) + "]", "bias");
}

} // namespace

int64_t matrixBytes(const QuantMatrix &w)
{
    if (w.outFeatures < 0 || w.inFeatures < 0)
        throw Error(ErrorCode::TensorShapeMismatch, "negative weight matrix size");
    const int64_t row = rowBytes(w.type, w.inFeatures);
    if (row > 0 && w.outFeatures > INT64_MAX / row)
        throw Error(ErrorCode::TensorShapeMismatch, "weight matrix size overflows");
    if (!w.data && row * w.outFeatures > 0)
        throw Error(ErrorCode::Internal, "quantized weight without data");
    return row * w.outFeatures;
}

torch::Tensor dequantizeTensor(GgmlType type, const void *data, int64_t rows, int64_t cols)
{
    const int64_t bytes =
        matrixBytes({type, static_cast<const uint8_t *>(data), rows, cols}) / std::max<int64_t>(1, rows);
    torch::Tensor out = torch::empty({rows, cols}, torch::kFloat32);
    float *dst = out.data_ptr<float>();
    const auto *src = static_cast<const uint8_t *>(data);
    at::parallel_for(0, rows, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, cols)),
                     [&](int64_t r0, int64_t r1) {
                         for (int64_t r = r0; r < r1; ++r)
                             dequantizeRow(type, src + r * bytes, dst + r * cols, cols);
                     });
    return out;
}

// Rows per piece of work in the few-rows product, whose pieces are taken on demand (parallelChunks) so that a
// thread that streams faster does more of them: about 32 pieces per thread, and at least 256 KB of weights
// each (a long sequential read; few enough that the shared counter costs nothing measurable).
static int64_t rowsPerPiece(int64_t rows, int64_t rowBytes)
{
    const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
    const int64_t bytes = std::max<int64_t>(256 * 1024, rows * rowBytes / (32 * threads));
    return std::max<int64_t>(1, bytes / std::max<int64_t>(1, rowBytes));
}

torch::Tensor quantMatmulFewRows(const torch::Tensor &xIn, const QuantMatrix &w, const torch::Tensor &bias,
                                 bool portable)
{
    checkInput(xIn, w, bias, "quantized matmul");
    const torch::Tensor x = xIn.contiguous();
    const int64_t m = x.size(0), k = w.inFeatures, n = w.outFeatures;
    torch::Tensor y = torch::empty({m, n}, torch::kFloat32);
    if (m == 0 || n == 0)
        return y;
    if (k == 0)
        return bias.defined() ? y.copy_(bias.expand({m, n})) : y.zero_();
    // One activation quantization per input row (ggml's src1 -> vec_dot_type conversion).
    const int64_t aRow = activationRowBytes(w.type, k);
    std::vector<uint8_t> act(static_cast<size_t>(aRow * m));
    const float *xp = x.data_ptr<float>();
    // In parallel once there are enough rows for it to pay (prefill through the tiled int8 kernels).
    at::parallel_for(0, m, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, k)),
                     [&](int64_t i0, int64_t i1) {
                         for (int64_t i = i0; i < i1; ++i)
                             quantizeActivation(w.type, xp + i * k, act.data() + i * aRow, k);
                     });
    const int64_t wRow = rowBytes(w.type, k);
    float *yp = y.data_ptr<float>();
    const KernelIsa isa = portable ? KernelIsa::Portable : bestKernelIsa();
    const int64_t packedRows = w.interleaved ? w.interleavedRows : 0;
    if (packedRows > 0 && packedRows <= n && canInterleave(w.type, packedRows, k, isa)) {
        // Groups of 8 rows split across the threads, ~32 KB of weights per task as below; the last few rows
        // (not a whole group) from the row-major data.
        const int64_t groups = packedRows / kInterleave;
        parallelChunks(groups, rowsPerPiece(groups, wRow * kInterleave), [&](int64_t g0, int64_t g1) {
            dotRowsInterleaved(w.type, w.interleaved, g0 * kInterleave, g1 * kInterleave, act.data(), aRow, m,
                               k, yp, n, isa);
        });
        if (packedRows < n)
            dotRows(w.type, w.data, wRow, packedRows, n, act.data(), aRow, m, k, yp, n, portable);
        if (bias.defined())
            y.add_(bias.to(torch::kFloat32));
        return y;
    }
    // Output rows shared out across the intra-op threads (rowsPerPiece).
    parallelChunks(n, rowsPerPiece(n, wRow), [&](int64_t r0, int64_t r1) {
        dotRows(w.type, w.data, wRow, r0, r1, act.data(), aRow, m, k, yp, n, portable);
    });
    if (bias.defined())
        y.add_(bias.to(torch::kFloat32));
    return y;
}

torch::Tensor quantMatmulTiled(const torch::Tensor &xIn, const QuantMatrix &w, const torch::Tensor &bias,
                               int64_t bufferBytes)
{
    checkInput(xIn, w, bias, "quantized matmul");
    const int64_t m = xIn.size(0), k = w.inFeatures, n = w.outFeatures;
    if (m == 0 || n == 0 || k == 0)
        return quantMatmulFewRows(xIn, w, bias);
    const torch::Tensor x = xIn.contiguous();
    const int64_t wRow = rowBytes(w.type, k);
    // Equal chunks under the bound (18944 rows at 64 MiB: 5 x 3789, not 4 x 4681 + 219: a thin last sgemm is
    // slow).
    const int64_t maxRows = std::clamp<int64_t>(bufferBytes / (k * int64_t(sizeof(float))), 1, n);
    const int64_t chunks = (n + maxRows - 1) / maxRows;
    const int64_t chunkRows = (n + chunks - 1) / chunks;
    torch::Tensor buffer = torch::empty({chunkRows, k}, torch::kFloat32);
    torch::Tensor y = torch::empty({m, n}, torch::kFloat32);
    const torch::Tensor b = bias.defined() ? bias.to(torch::kFloat32) : bias;
    float *buf = buffer.data_ptr<float>();
    for (int64_t r0 = 0; r0 < n; r0 += chunkRows) {
        const int64_t len = std::min(chunkRows, n - r0);
        at::parallel_for(0, len, std::max<int64_t>(1, 16384 / k), [&](int64_t a, int64_t e) {
            for (int64_t r = a; r < e; ++r)
                dequantizeRow(w.type, w.data + (r0 + r) * wRow, buf + r * k, k);
        });
        const torch::Tensor wc = buffer.narrow(0, 0, len);
        torch::Tensor part = b.defined() ? at::addmm(b.narrow(0, r0, len), x, wc.t()) : at::mm(x, wc.t());
        if (len == n)
            return part;
        y.narrow(1, r0, len).copy_(part);
    }
    return y;
}

} // namespace uhdlens::quant
