// Finding a DINOv2 backbone in an exported ONNX graph (see onnx_dinov2.h for the rules).
#include "onnx/onnx_dinov2.h"

#include "onnx/onnx_file.h"
#include "uhdlens/errors.h"

#include <cmath>

namespace uhdlens::onnx {

namespace {

const std::string kClsToken = "embeddings.cls_token";
const std::string kPositions = "embeddings.position_embeddings";

[[noreturn]] void fail(const std::string &path, const std::string &what, const std::string &subject = {})
{
    throw Error(ErrorCode::CheckpointInvalid, path + ": no usable DINOv2 backbone in this ONNX file: " + what,
                subject.empty() ? path : subject);
}

bool endsWith(const std::string &s, const std::string &tail)
{
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool startsWith(const std::string &s, const std::string &head)
{
    return s.compare(0, head.size(), head) == 0;
}

std::string shapeText(const std::vector<int64_t> &dims)
{
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i)
        s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

bool passThrough(const OnnxNode &n)
{
    return n.opType == "Cast" || n.opType == "Transpose" || n.opType == "Reshape" || n.opType == "Identity";
}

// The [1, N, C] initialiser (N square) a Resize's data input is computed from by reshapes and casts only.
const OnnxTensor *tableBehind(const OnnxGraph &g, const OnnxNode &resize)
{
    if (resize.inputs.empty())
        return nullptr;
    std::string value = resize.inputs[0];
    for (int steps = 0; steps < 16; ++steps) {
        if (const OnnxTensor *t = g.findInitializer(value))
            return t;
        const OnnxNode *p = g.producer(value);
        if (!p || !passThrough(*p) || p->inputs.empty())
            return nullptr;
        value = p->inputs[0];
    }
    return nullptr;
}

// The Concat a Resize's output reaches through reshapes and casts only (each step its only consumer).
const OnnxNode *concatAfter(const OnnxGraph &g, const OnnxNode &resize, std::string &joined)
{
    if (resize.outputs.empty())
        return nullptr;
    std::string value = resize.outputs[0];
    for (int steps = 0; steps < 16; ++steps) {
        const auto next = g.consumers(value);
        if (next.size() != 1)
            return nullptr;
        if (next[0]->opType == "Concat") {
            joined = value;
            return next[0];
        }
        if (!passThrough(*next[0]) || next[0]->outputs.empty())
            return nullptr;
        value = next[0]->outputs[0];
    }
    return nullptr;
}

} // namespace

Dinov2Layout findDinov2(const OnnxGraph &g, const std::string &path)
{
    Dinov2Layout L;
    // The prefix of the backbone's named parameters, from its one CLS token.
    const OnnxTensor *cls = nullptr;
    for (const OnnxTensor &t : g.initializers) {
        if (endsWith(t.name, kClsToken) &&
            (t.name.size() == kClsToken.size() || t.name[t.name.size() - kClsToken.size() - 1] == '.')) {
            if (cls)
                fail(path, "two CLS tokens ('" + cls->name + "' and '" + t.name + "')", t.name);
            cls = &t;
        }
    }
    if (!cls)
        fail(path, "no initialiser named '" + kClsToken + "' (is it a DINOv2 model?)", kClsToken);
    L.prefix = cls->name.substr(0, cls->name.size() - kClsToken.size());
    if (cls->dims.size() != 3 || cls->dims[0] != 1 || cls->dims[1] != 1 || cls->dims[2] < 1)
        fail(path, "'" + cls->name + "' has shape " + shapeText(cls->dims) + ", not [1, 1, C]", cls->name);
    L.dim = cls->dims[2];

    // Parameters the operators use under their own names.
    for (const OnnxTensor &t : g.initializers) {
        if (!startsWith(t.name, L.prefix))
            continue;
        const std::string name = t.name.substr(L.prefix.size());
        if (startsWith(name, "embeddings.") || startsWith(name, "encoder.layer.") ||
            startsWith(name, "layernorm."))
            L.weights[name] = Dinov2Weight{{&t}, false, t.dims};
    }
    // nn.Linear weights: MatMul(x, W[in, out]) -> Add(<name>.bias).
    for (const OnnxNode &n : g.nodes) {
        if (n.opType != "MatMul" || n.inputs.size() != 2 || n.outputs.empty())
            continue;
        const OnnxTensor *w = g.findInitializer(n.inputs[1]);
        if (!w || w->dims.size() != 2)
            continue;
        for (const OnnxNode *add : g.consumers(n.outputs[0])) {
            if (add->opType != "Add" || add->inputs.size() != 2)
                continue;
            const std::string &other = add->inputs[0] == n.outputs[0] ? add->inputs[1] : add->inputs[0];
            if (!g.findInitializer(other) || !startsWith(other, L.prefix) || !endsWith(other, ".bias"))
                continue;
            const std::string name =
                other.substr(L.prefix.size(), other.size() - L.prefix.size() - 5) + ".weight";
            const auto [it, inserted] =
                L.weights.emplace(name, Dinov2Weight{{w}, true, {w->dims[1], w->dims[0]}});
            if (!inserted && !(it->second.parts.size() == 1 && it->second.parts[0] == w))
                fail(path, "two weights for '" + name + "'", name);
        }
    }
    // Position embeddings: stored whole, or as the CLS row and the patch table around a Resize.
    if (!L.weights.count(kPositions)) {
        for (const OnnxNode &n : g.nodes) {
            if (n.opType != "Resize")
                continue;
            const OnnxTensor *table = tableBehind(g, n);
            std::string joined;
            const OnnxNode *concat = concatAfter(g, n, joined);
            if (!table || !concat || concat->inputs.size() != 2 || concat->inputs[1] != joined)
                continue;
            const OnnxTensor *clsRow = g.findInitializer(concat->inputs[0]);
            if (!clsRow || clsRow->dims != std::vector<int64_t>{1, 1, L.dim} || table->dims.size() != 3 ||
                table->dims[0] != 1 || table->dims[2] != L.dim)
                continue;
            if (L.weights.count(kPositions))
                fail(path, "two position tables", kPositions);
            L.weights[kPositions] = Dinov2Weight{{clsRow, table}, false, {1, 1 + table->dims[1], L.dim}};
        }
    }
    const auto pos = L.weights.find(kPositions);
    if (pos == L.weights.end())
        fail(path, "no position table (neither '" + kPositions + "' nor a resized table joined to a CLS row)",
             kPositions);
    const int64_t cells = pos->second.shape.size() == 3 ? pos->second.shape[1] - 1 : 0;
    L.gridSize =
        static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(cells, 0)))));
    if (cells < 1 || L.gridSize * L.gridSize != cells)
        fail(path,
             "the position table " + shapeText(pos->second.shape) + " is not a CLS row and a square grid",
             kPositions);

    const auto proj = L.weights.find("embeddings.patch_embeddings.projection.weight");
    if (proj == L.weights.end() || proj->second.shape.size() != 4 || proj->second.shape[2] < 1 ||
        proj->second.shape[2] != proj->second.shape[3])
        fail(path, "no square patch projection 'embeddings.patch_embeddings.projection.weight'",
             "embeddings.patch_embeddings.projection.weight");
    L.patch = proj->second.shape[2];
    while (L.weights.count("encoder.layer." + std::to_string(L.layers) + ".norm1.weight"))
        ++L.layers;
    if (L.layers < 1)
        fail(path, "no transformer layers ('encoder.layer.0.norm1.weight')", "encoder.layer.0.norm1.weight");
    const auto fc1 = L.weights.find("encoder.layer.0.mlp.fc1.weight");
    if (fc1 == L.weights.end() || fc1->second.shape.size() != 2 || fc1->second.shape[0] < 1)
        fail(path, "missing weight 'encoder.layer.0.mlp.fc1.weight'", "encoder.layer.0.mlp.fc1.weight");
    L.mlpDim = fc1->second.shape[0];
    if (L.dim % 64 != 0)
        fail(path, "width " + std::to_string(L.dim) + " is not a multiple of DINOv2's 64-wide heads",
             kClsToken);
    L.heads = L.dim / 64;

    // Every weight Dinov2Model has, with its shape; float32 bytes in the file.
    const int64_t C = L.dim, M = L.mlpDim;
    std::map<std::string, std::vector<int64_t>> want = {
        {kClsToken, {1, 1, C}},
        {kPositions, {1, 1 + cells, C}},
        {"embeddings.patch_embeddings.projection.weight", {C, 3, L.patch, L.patch}},
        {"embeddings.patch_embeddings.projection.bias", {C}},
        {"layernorm.weight", {C}},
        {"layernorm.bias", {C}},
    };
    for (int64_t i = 0; i < L.layers; ++i) {
        const std::string p = "encoder.layer." + std::to_string(i) + ".";
        for (const char *norm : {"norm1", "norm2"}) {
            want[p + norm + ".weight"] = {C};
            want[p + norm + ".bias"] = {C};
        }
        for (const char *lin : {"attention.attention.query", "attention.attention.key",
                                "attention.attention.value", "attention.output.dense"}) {
            want[p + lin + ".weight"] = {C, C};
            want[p + lin + ".bias"] = {C};
        }
        want[p + "layer_scale1.lambda1"] = {C};
        want[p + "layer_scale2.lambda1"] = {C};
        want[p + "mlp.fc1.weight"] = {M, C};
        want[p + "mlp.fc1.bias"] = {M};
        want[p + "mlp.fc2.weight"] = {C, M};
        want[p + "mlp.fc2.bias"] = {C};
    }
    for (const auto &[name, shape] : want) {
        const auto it = L.weights.find(name);
        if (it == L.weights.end())
            fail(path, "missing weight '" + name + "'", name);
        if (it->second.shape != shape)
            fail(path,
                 "weight '" + name + "' has shape " + shapeText(it->second.shape) + ", expected " +
                     shapeText(shape),
                 name);
        for (const OnnxTensor *t : it->second.parts) {
            if (t->dataType != static_cast<int32_t>(DataType::Float))
                fail(path, "weight '" + name + "' is " + dataTypeName(t->dataType) + ", not float", name);
            if (t->storage == OnnxTensor::Storage::External)
                fail(path,
                     "weight '" + name + "' is stored outside the file (external data is not supported)",
                     name);
            if (t->storage != OnnxTensor::Storage::Raw && t->storage != OnnxTensor::Storage::FloatData)
                fail(path, "weight '" + name + "' holds no float data", name);
        }
    }
    // Drop what the model does not have (mask_token, names under the prefix of other parts).
    for (auto it = L.weights.begin(); it != L.weights.end();)
        it = want.count(it->first) ? std::next(it) : L.weights.erase(it);
    return L;
}

} // namespace uhdlens::onnx
