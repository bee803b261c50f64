#include "onnx/onnx_vit.h"

#include "onnx/onnx_file.h"
#include "uhdlens/errors.h"

#include <cstring>
#include <map>

namespace uhdlens::onnx {

namespace {

// A float32 initialiser as a new contiguous tensor (raw_data need not be 4-byte aligned in the file).
torch::Tensor copyFloats(const OnnxTensor &t)
{
    auto out = torch::empty(t.dims, torch::kFloat32);
    if (t.bytes)
        std::memcpy(out.data_ptr<float>(), t.data, static_cast<size_t>(t.bytes));
    return out;
}

} // namespace

std::vector<std::pair<std::string, torch::Tensor>> dinov2Tensors(const OnnxFile &, const Dinov2Layout &layout)
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto &[name, w] : layout.weights) {
        std::vector<torch::Tensor> parts;
        for (const OnnxTensor *t : w.parts)
            parts.push_back(copyFloats(*t));
        torch::Tensor value = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
        if (w.transposed)
            value = value.t().contiguous();
        out.emplace_back(name, value);
    }
    return out;
}

OnnxVit loadDinov2Onnx(const std::string &path, const torch::TensorOptions &tensorOptions)
{
    const OnnxFile file = OnnxFile::open(path);
    OnnxVit out;
    out.layout = findDinov2(file.graph(), path);
    const Dinov2Layout &L = out.layout;
    nn::VitOptions &o = out.options;
    o.naming = nn::VitNaming::HfDinov2;
    o.dim = L.dim;
    o.heads = L.heads;
    o.mlpDim = L.mlpDim;
    o.layers = L.layers;
    o.patch = L.patch;
    o.gridSize = L.gridSize;
    o.eps = L.eps;
    o.act = nn::Activation::Gelu; // Dinov2Config.hidden_act "gelu" (the graph's Erf form)
    o.finalNorm = true;
    o.antialias = false;
    out.vit = nn::VisionTransformer(o, tensorOptions);

    torch::NoGradGuard noGrad;
    std::map<std::string, torch::Tensor> tensors;
    for (auto &[name, value] : dinov2Tensors(file, L))
        tensors.emplace(name, value);
    size_t assigned = 0;
    for (auto &item : out.vit->named_parameters()) {
        const auto it = tensors.find(item.key());
        if (it == tensors.end())
            throw Error(ErrorCode::TensorMissing, path + ": the DINOv2 backbone has no weight '" + item.key() + "'",
                        item.key());
        if (it->second.sizes() != item.value().sizes())
            throw Error(ErrorCode::TensorShapeMismatch,
                        path + ": DINOv2 weight '" + item.key() + "' does not have the module's shape", item.key());
        item.value().set_data(it->second.to(tensorOptions));
        ++assigned;
    }
    if (assigned != L.weights.size())
        throw Error(ErrorCode::Internal, path + ": DINOv2 weights left over after loading", path);
    return out;
}

} // namespace uhdlens::onnx
