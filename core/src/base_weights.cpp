#include "base_weights.h"

#include "file_map.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_loader.h"
#include "nn/layers.h"
#include "onnx/onnx_file.h"
#include "onnx/onnx_vit.h"
#include "safetensors.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <filesystem>
#include <map>

namespace uhdlens {

namespace {

bool endsWith(const std::string &s, const std::string &tail)
{
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

[[noreturn]] void invalid(const std::string &why)
{
    throw Error(ErrorCode::ConfigInvalid, "config.json: base_weights: " + why, "base_weights");
}

} // namespace

std::vector<BaseWeightSource> baseWeightSources(const nlohmann::json &config)
{
    std::vector<BaseWeightSource> out;
    const auto it = config.find("base_weights");
    if (it == config.end())
        return out;
    if (!it->is_object())
        invalid("must be an object of parameter prefix -> file");
    for (const auto &[prefix, value] : it->items()) {
        if (!value.is_string() || value.get<std::string>().empty())
            invalid("the file for '" + prefix + "' must be a non-empty string");
        if (prefix.empty() || prefix.back() != '.')
            invalid("the prefix '" + prefix + "' must end in '.' (e.g. \"vision.\")");
        BaseWeightSource s;
        s.prefix = prefix;
        s.spec = value.get<std::string>();
        if (endsWith(s.spec, ".onnx"))
            s.kind = BaseWeightSource::Kind::OnnxDinov2;
        else if (endsWith(s.spec, ".gguf"))
            s.kind = BaseWeightSource::Kind::GgufLlm;
        else
            invalid("'" + s.spec + "' is neither an .onnx nor a .gguf file");
        for (const BaseWeightSource &o : out)
            if (o.prefix.rfind(prefix, 0) == 0 || prefix.rfind(o.prefix, 0) == 0)
                invalid("the prefixes '" + o.prefix + "' and '" + prefix + "' overlap");
        const std::filesystem::path p(s.spec);
        s.path = p.is_absolute() ? s.spec : (std::filesystem::path(baseWeightsDir()) / p).string();
        if (!std::filesystem::is_regular_file(s.path))
            throw Error(ErrorCode::FileNotFound,
                        "this model's pretrained base weights are not installed: " + s.path + " (for '" +
                            prefix + "'); run " + kBaseWeightsCommand + " to install them",
                        s.path);
        out.push_back(std::move(s));
    }
    return out;
}

bool fromBaseWeights(const std::vector<BaseWeightSource> &sources, const std::string &name)
{
    if (nn::isAdapterParameter(name)) // trained here, beside the frozen base weight (nn::LinearImpl)
        return false;
    for (const BaseWeightSource &s : sources)
        if (name.rfind(s.prefix, 0) == 0)
            return true;
    return false;
}

BaseWeightsLoad
loadBaseWeights(const std::vector<BaseWeightSource> &sources,
                const std::vector<std::pair<std::string, torch::Tensor>> &params,
                const std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> &modules,
                torch::Dtype dtype, const torch::Device &device, const std::string &modelName)
{
    BaseWeightsLoad out;
    torch::NoGradGuard noGrad;
    for (const BaseWeightSource &s : sources) {
        std::vector<std::pair<std::string, torch::Tensor>> mine;
        for (const auto &p : params)
            if (p.first.rfind(s.prefix, 0) == 0 && !nn::isAdapterParameter(p.first))
                mine.push_back(p);
        if (mine.empty())
            throw Error(ErrorCode::CheckpointInvalid,
                        modelName + ": config.json's base_weights name '" + s.prefix +
                            "', but the model has no parameters under it",
                        "base_weights");
        if (s.kind == BaseWeightSource::Kind::OnnxDinov2) {
            const onnx::OnnxFile file = onnx::OnnxFile::open(s.path);
            const onnx::Dinov2Layout layout = onnx::findDinov2(file.graph(), s.path);
            std::map<std::string, torch::Tensor> tensors;
            for (auto &[name, value] : onnx::dinov2Tensors(file, layout))
                tensors.emplace(s.prefix + name, value);
            // Check everything before touching a parameter: a failed load leaves the model unchanged.
            for (const auto &[name, p] : mine) {
                const auto it = tensors.find(name);
                if (it == tensors.end())
                    throw Error(ErrorCode::TensorMissing,
                                s.path + " has no weight for '" + name +
                                    "' (the DINOv2 backbone in it has no '" + name.substr(s.prefix.size()) +
                                    "')",
                                name);
                if (it->second.sizes() != p.sizes())
                    throw Error(ErrorCode::TensorShapeMismatch,
                                "tensor '" + name + "': expected " + shapeString(p.sizes().vec()) + ", " +
                                    s.path + " has " + shapeString(it->second.sizes().vec()),
                                name);
            }
            for (const auto &[name, p] : mine) {
                torch::Tensor param = p;
                param.set_data(tensors.at(name).to(torch::TensorOptions().dtype(dtype).device(device)));
            }
            out.hashes.push_back(sha256Hex({file.mapping().get()}));
            out.bytes += static_cast<int64_t>(file.mapping()->size);
            out.notes.push_back(s.prefix + " from " + s.path + " (DINOv2 " + std::to_string(layout.layers) +
                                " x " + std::to_string(layout.dim) + ")");
        } else {
            const gguf::GgufFile file = gguf::GgufFile::open(s.path);
            (void)gguf::fillGgufParameters({{&file, gguf::FileKind::Llm, s.prefix}}, mine, modules,
                                           modelName);
            out.hashes.push_back(gguf::headerHash(file));
            out.bytes += static_cast<int64_t>(std::filesystem::file_size(s.path));
            out.notes.push_back(s.prefix + " from " + s.path + " (" + gguf::typeCounts(file) + ")");
        }
    }
    return out;
}

} // namespace uhdlens
