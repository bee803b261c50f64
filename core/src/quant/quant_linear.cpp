// Quantized linear layer (see quant_linear.h).
#include "quant/quant_linear.h"

#include "quant/dequant.h"
#include "quant/quantize.h"
#include "quant/tiled_dot.h"
#include "uhdlens/errors.h"

#include <algorithm>
#include <string>

namespace uhdlens::quant {

namespace {

torch::Tensor checkedBias(const torch::Tensor &bias, int64_t out)
{
    if (!bias.defined())
        return bias;
    if (bias.dim() != 1 || bias.size(0) != out)
        throw Error(ErrorCode::TensorShapeMismatch,
                    "quantized linear: bias must be [" + std::to_string(out) + "]", "bias");
    return bias.to(torch::kFloat32).contiguous();
}

} // namespace

QuantLinearImpl::QuantLinearImpl(GgmlType type, int64_t in, int64_t out, const uint8_t *data,
                                 std::shared_ptr<const void> owner, const torch::Tensor &b)
    : m_weight{type, data, out, in}, m_owner(std::move(owner))
{
    matrixBytes(m_weight);
    interleave();
    bias = checkedBias(b, out);
    if (bias.defined())
        register_parameter("bias", bias, /*requires_grad=*/false);
}

QuantLinearImpl::QuantLinearImpl(GgmlType type, int64_t in, int64_t out, std::vector<uint8_t> bytes,
                                 const torch::Tensor &b)
{
    const QuantMatrix probe{type, bytes.data(), out, in};
    const int64_t need = matrixBytes(probe);
    if (static_cast<int64_t>(bytes.size()) != need)
        throw Error(ErrorCode::TensorShapeMismatch,
                    "quantized linear: " + std::to_string(bytes.size()) + " bytes for a " +
                        std::string(ggmlTypeInfo(type).name) + " [" + std::to_string(out) + ", " +
                        std::to_string(in) + "] weight of " + std::to_string(need) + " bytes",
                    "weight");
    auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    m_weight = {type, owned->data(), out, in};
    m_owner = std::move(owned);
    interleave();
    bias = checkedBias(b, out);
    if (bias.defined())
        register_parameter("bias", bias, /*requires_grad=*/false);
}

void QuantLinearImpl::interleave()
{
    // Whole groups of 8 rows; the rest (an output head of 151666 rows leaves 2) stays row-major.
    const int64_t packedRows = m_weight.outFeatures / kInterleave * kInterleave;
    if (packedRows == 0 || !canInterleave(m_weight.type, packedRows, m_weight.inFeatures, bestKernelIsa()))
        return;
    m_interleaved = interleaveRows(m_weight.type, m_weight.data, packedRows, m_weight.inFeatures);
    m_weight.interleaved = m_interleaved.data();
    m_weight.interleavedRows = packedRows;
    decodeMaxRows = kQuantInterleavedMaxRows;
}

std::shared_ptr<QuantLinearImpl> QuantLinearImpl::fromFloat(const torch::Tensor &weight, GgmlType type,
                                                            const torch::Tensor &bias)
{
    if (weight.dim() != 2)
        throw Error(ErrorCode::TensorShapeMismatch, "quantized linear: the weight must be 2-D", "weight");
    const torch::Tensor w = weight.detach().to(torch::kFloat32).contiguous();
    const int64_t out = w.size(0), in = w.size(1);
    if (!canQuantize(type))
        quantizeRow(type, nullptr, nullptr, 0); // throws the typed "no quantizer for ..." error
    const int64_t row = rowBytes(type, in);
    std::vector<uint8_t> bytes(static_cast<size_t>(row * out));
    const float *src = w.data_ptr<float>();
    at::parallel_for(0, out, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            quantizeRow(type, src + r * in, bytes.data() + r * row, in);
    });
    return std::make_shared<QuantLinearImpl>(type, in, out, std::move(bytes), bias);
}

torch::Tensor QuantLinearImpl::dequantizedWeight() const
{
    return dequantizeTensor(m_weight.type, m_weight.data, m_weight.outFeatures, m_weight.inFeatures);
}

torch::Tensor QuantLinearImpl::forward(const torch::Tensor &x) const
{
    const int64_t in = m_weight.inFeatures, out = m_weight.outFeatures;
    if (!x.defined() || x.dim() == 0 || x.size(-1) != in)
        throw Error(ErrorCode::TensorShapeMismatch,
                    "quantized linear: input width " +
                        std::to_string(x.defined() && x.dim() ? x.size(-1) : -1) +
                        " != " + std::to_string(in),
                    "input");
    const bool autograd = at::GradMode::is_enabled() && x.requires_grad();
    if (autograd || !x.device().is_cpu()) {
        const auto w = dequantizedWeight().to(x.scalar_type());
        return at::linear(x, w, bias.defined() ? bias.to(x.scalar_type()) : bias);
    }
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = out;
    int64_t m = 1;
    for (int64_t d = 0; d + 1 < x.dim(); ++d)
        m *= x.size(d);
    const torch::Tensor x2 = x.reshape({m, in}).to(torch::kFloat32);
    const torch::Tensor y = m <= decodeMaxRows ? quantMatmulFewRows(x2, m_weight, bias, portableKernels)
                                               : quantMatmulTiled(x2, m_weight, bias);
    return y.view(shape).to(x.scalar_type());
}

QuantEmbedding::QuantEmbedding(GgmlType type, int64_t rows, int64_t cols, const uint8_t *data,
                               std::shared_ptr<const void> owner)
    : m_table{type, data, rows, cols}, m_owner(std::move(owner))
{
    matrixBytes(m_table);
}

torch::Tensor QuantEmbedding::lookup(const torch::Tensor &idsIn) const
{
    const torch::Tensor ids = idsIn.to(torch::kLong).contiguous();
    const int64_t n = ids.numel(), cols = m_table.inFeatures, rowB = rowBytes(m_table.type, cols);
    std::vector<int64_t> shape = ids.sizes().vec();
    shape.push_back(cols);
    torch::Tensor out = torch::empty(shape, torch::kFloat32);
    const int64_t *id = ids.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i)
        if (id[i] < 0 || id[i] >= m_table.outFeatures)
            throw Error(ErrorCode::InvalidArgument,
                        "token id " + std::to_string(id[i]) + " is outside the embedding table's " +
                            std::to_string(m_table.outFeatures) + " rows",
                        "ids");
    float *dst = out.data_ptr<float>();
    at::parallel_for(0, n, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cols)),
                     [&](int64_t a, int64_t b) {
                         for (int64_t i = a; i < b; ++i)
                             dequantizeRow(m_table.type, m_table.data + id[i] * rowB, dst + i * cols, cols);
                     });
    return out;
}

} // namespace uhdlens::quant
