// ONNX graphs on libtorch (see onnx_runner.h): one table row per operator, each compiling a node's attributes
// into a kernel of at:: calls at load time.
#include "onnx/onnx_runner.h"

#include "onnx/onnx_file.h"
#include "uhdlens/errors.h"

#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

namespace uhdlens::onnx {

namespace {

constexpr int64_t kMinOpset = 11, kMaxOpset = 17;

using Tensors = std::vector<at::Tensor>;
using Kernel = OnnxRunner::Kernel;

std::string nodeLabel(const OnnxNode &n)
{
    return "node '" + n.name + "' (" + n.opType + ")";
}

// A node's attributes, read with their types checked; attributes the operator does not know are refused by
// finish().
class Attrs
{
public:
    Attrs(const OnnxNode &n, const std::string &path) : m_node(n), m_path(path) {}

    [[noreturn]] void fail(const std::string &what) const
    {
        throw Error(ErrorCode::CheckpointInvalid, m_path + ": " + nodeLabel(m_node) + ": " + what,
                    m_node.name.empty() ? m_path : m_node.name);
    }

    bool has(const std::string &name)
    {
        m_known.insert(name);
        return m_node.attribute(name) != nullptr;
    }
    int64_t i(const std::string &name, int64_t def)
    {
        return get(name, AttributeType::Int, def, &OnnxAttribute::i);
    }
    float f(const std::string &name, float def)
    {
        return get(name, AttributeType::Float, def, &OnnxAttribute::f);
    }
    std::string s(const std::string &name, const std::string &def)
    {
        return get(name, AttributeType::String, def, &OnnxAttribute::s);
    }
    std::vector<int64_t> ints(const std::string &name, const std::vector<int64_t> &def = {})
    {
        return get(name, AttributeType::Ints, def, &OnnxAttribute::ints);
    }
    std::vector<float> floats(const std::string &name, const std::vector<float> &def = {})
    {
        return get(name, AttributeType::Floats, def, &OnnxAttribute::floats);
    }
    const OnnxTensor *tensor(const std::string &name)
    {
        m_known.insert(name);
        const OnnxAttribute *a = m_node.attribute(name);
        if (!a)
            return nullptr;
        checkType(*a, AttributeType::Tensor);
        return &a->t;
    }
    // A string attribute that must be one of `allowed` (the first is the default).
    std::string choice(const std::string &name, const std::vector<std::string> &allowed)
    {
        const std::string v = s(name, allowed.front());
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
            std::string list;
            for (const auto &a : allowed)
                list += (list.empty() ? "" : ", ") + a;
            fail("attribute '" + name + "' = '" + v + "' is not supported (supported: " + list + ")");
        }
        return v;
    }
    void finish() const
    {
        for (const OnnxAttribute &a : m_node.attributes)
            if (!m_known.count(a.name))
                fail("attribute '" + a.name + "' is not supported by this runner");
    }
    const OnnxNode &node() const { return m_node; }

private:
    void checkType(const OnnxAttribute &a, AttributeType want) const
    {
        if (a.type != static_cast<int32_t>(want))
            fail("attribute '" + a.name + "' has type " + attributeTypeName(a.type) + ", expected " +
                 attributeTypeName(static_cast<int32_t>(want)));
    }
    template <typename T>
    T get(const std::string &name, AttributeType type, const T &def, T OnnxAttribute::*member)
    {
        m_known.insert(name);
        const OnnxAttribute *a = m_node.attribute(name);
        if (!a)
            return def;
        checkType(*a, type);
        return a->*member;
    }

    const OnnxNode &m_node;
    const std::string &m_path;
    std::set<std::string> m_known;
};

// What a compile function sees: the node, its attributes, the opset and the input/output counts.
struct Ctx
{
    Attrs &attrs;
    const OnnxNode &node;
    int64_t opset;
    size_t nIn() const { return node.inputs.size(); }
    bool present(size_t i) const { return i < node.inputs.size() && !node.inputs[i].empty(); }
};

at::ScalarType scalarTypeOf(int32_t dataType, const std::string &what, const std::string &path)
{
    switch (static_cast<DataType>(dataType)) {
    case DataType::Float:
        return at::kFloat;
    case DataType::Double:
        return at::kDouble;
    case DataType::Float16:
        return at::kHalf;
    case DataType::Bfloat16:
        return at::kBFloat16;
    case DataType::Int64:
        return at::kLong;
    case DataType::Int32:
        return at::kInt;
    case DataType::Int16:
        return at::kShort;
    case DataType::Int8:
        return at::kChar;
    case DataType::Uint8:
        return at::kByte;
    case DataType::Bool:
        return at::kBool;
    default:
        throw Error(ErrorCode::CheckpointInvalid,
                    path + ": " + what + " has the element type '" + dataTypeName(dataType) +
                        "', which this runner does not support",
                    what);
    }
}

// A tensor of the file as a new contiguous torch tensor (raw bytes need not be aligned in the file).
at::Tensor copyTensor(const OnnxTensor &t, const std::string &what, const std::string &path)
{
    const at::ScalarType type = scalarTypeOf(t.dataType, what, path);
    if (t.storage == OnnxTensor::Storage::External || t.storage == OnnxTensor::Storage::Other)
        throw Error(ErrorCode::CheckpointInvalid,
                    path + ": " + what +
                        (t.storage == OnnxTensor::Storage::External
                             ? " is stored in an external file, which this runner does not read"
                             : " is stored in a typed field (int64_data, ...) this runner does not read"),
                    what);
    at::Tensor out = at::empty(t.dims, at::TensorOptions().dtype(type));
    if (t.bytes)
        std::memcpy(out.data_ptr(), t.data, static_cast<size_t>(t.bytes));
    return out;
}

int64_t normAxis(int64_t axis, int64_t rank, const char *what)
{
    if (axis < -rank || axis >= rank)
        throw std::out_of_range(std::string(what) + " " + std::to_string(axis) +
                                " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

// The values of a 1-D integer tensor (shapes, axes, starts, ...).
std::vector<int64_t> intValues(const at::Tensor &t, const char *what)
{
    if (!t.defined())
        return {};
    if (t.dim() > 1 || !at::isIntegralType(t.scalar_type(), false))
        throw std::invalid_argument(std::string(what) + " must be a 1-D integer tensor");
    const at::Tensor c = t.to(at::kLong).contiguous();
    return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

std::vector<float> floatValues(const at::Tensor &t)
{
    if (!t.defined())
        return {};
    const at::Tensor c = t.to(at::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void needRank(const at::Tensor &t, int64_t rank, const char *what)
{
    if (t.dim() != rank)
        throw std::invalid_argument(std::string(what) + " has rank " + std::to_string(t.dim()) +
                                    ", expected " + std::to_string(rank));
}

// ---- elementwise
// ---------------------------------------------------------------------------------------------

Kernel unary(at::Tensor (*fn)(const at::Tensor &))
{
    return [fn](const Tensors &in) { return Tensors{fn(in[0])}; };
}

Kernel compileBinary(Ctx &c)
{
    const std::string op = c.node.opType;
    if (op == "Add")
        return [](const Tensors &in) { return Tensors{at::add(in[0], in[1])}; };
    if (op == "Sub")
        return [](const Tensors &in) { return Tensors{at::sub(in[0], in[1])}; };
    if (op == "Mul")
        return [](const Tensors &in) { return Tensors{at::mul(in[0], in[1])}; };
    if (op == "Div")
        return [](const Tensors &in) {
            // ONNX's integer Div truncates, as C does.
            if (at::isIntegralType(in[0].scalar_type(), true) &&
                at::isIntegralType(in[1].scalar_type(), true))
                return Tensors{at::div(in[0], in[1], "trunc")};
            return Tensors{at::div(in[0], in[1])};
        };
    // Pow: the result has the base's type (a float base with an int64 exponent stays float).
    return [](const Tensors &in) { return Tensors{at::pow(in[0], in[1]).to(in[0].scalar_type())}; };
}

Kernel compileHardSigmoid(Ctx &c)
{
    const double alpha = c.attrs.f("alpha", 0.2f), beta = c.attrs.f("beta", 0.5f);
    return [alpha, beta](const Tensors &in) { return Tensors{at::clamp(in[0] * alpha + beta, 0.0, 1.0)}; };
}

// ---- convolution and pooling
// --------------------------------------------------------------------------------

// ONNX's spatial padding: explicit `pads` (begins then ends) or auto_pad, resolved per input size.
struct Padding
{
    std::string autoPad = "NOTSET";
    std::vector<int64_t> pads; // 2 x spatial rank, or empty (zeros)

    // [begin..., end...] for these spatial sizes.
    std::vector<int64_t> resolve(at::IntArrayRef spatial, const std::vector<int64_t> &kernel,
                                 const std::vector<int64_t> &strides,
                                 const std::vector<int64_t> &dilations) const
    {
        const size_t n = spatial.size();
        std::vector<int64_t> out(2 * n, 0);
        if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            for (size_t d = 0; d < n; ++d) {
                const int64_t outSize = (spatial[d] + strides[d] - 1) / strides[d];
                const int64_t total = std::max<int64_t>(
                    0, (outSize - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - spatial[d]);
                const int64_t small = total / 2;
                out[d] = autoPad == "SAME_UPPER" ? small : total - small;
                out[n + d] = total - out[d];
            }
        } else if (autoPad == "NOTSET" && !pads.empty()) {
            out = pads;
        }
        return out;
    }
};

// Pads the spatial dims of x (N, C, spatial...) by [begin..., end...] with `value`.
at::Tensor padSpatial(const at::Tensor &x, const std::vector<int64_t> &p, double value)
{
    if (std::all_of(p.begin(), p.end(), [](int64_t v) { return v == 0; }))
        return x;
    const size_t n = p.size() / 2;
    std::vector<int64_t> torchPad; // last dim first
    for (size_t d = n; d-- > 0;) {
        torchPad.push_back(p[d]);
        torchPad.push_back(p[n + d]);
    }
    return at::constant_pad_nd(x, torchPad, value);
}

// Spatial attributes shared by Conv, ConvTranspose and the pools; `rank` is the kernel's spatial rank when
// known from the weight (0: from kernel_shape).
struct Spatial
{
    std::vector<int64_t> kernel, strides, dilations;
    Padding padding;
};

Spatial readSpatial(Ctx &c, bool haveDilations, const std::vector<std::string> &autoPads)
{
    Spatial s;
    s.kernel = c.attrs.ints("kernel_shape");
    s.strides = c.attrs.ints("strides");
    if (haveDilations)
        s.dilations = c.attrs.ints("dilations");
    s.padding.autoPad = c.attrs.choice("auto_pad", autoPads);
    s.padding.pads = c.attrs.ints("pads");
    const auto positive = [&](const std::vector<int64_t> &v, const char *name) {
        for (const int64_t x : v)
            if (x < 1)
                c.attrs.fail(std::string("attribute '") + name + "' has a value below 1");
    };
    positive(s.kernel, "kernel_shape");
    positive(s.strides, "strides");
    positive(s.dilations, "dilations");
    for (const int64_t p : s.padding.pads)
        if (p < 0)
            c.attrs.fail("attribute 'pads' has a negative value");
    if (!s.padding.pads.empty() && s.padding.autoPad != "NOTSET")
        c.attrs.fail("both 'pads' and auto_pad '" + s.padding.autoPad + "'");
    return s;
}

// Fills defaults for `n` spatial dims and checks the attribute lengths.
void completeSpatial(Spatial &s, size_t n, const Attrs &a)
{
    const auto fill = [&](std::vector<int64_t> &v, int64_t def, size_t len, const char *name) {
        if (v.empty())
            v.assign(len, def);
        else if (v.size() != len)
            a.fail(std::string("attribute '") + name + "' has " + std::to_string(v.size()) + " values for " +
                   std::to_string(n) + " spatial dimensions");
    };
    fill(s.strides, 1, n, "strides");
    fill(s.dilations, 1, n, "dilations");
    if (!s.padding.pads.empty())
        fill(s.padding.pads, 0, 2 * n, "pads");
}

Kernel compileConv(Ctx &c)
{
    Spatial s = readSpatial(c, true, {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"});
    const int64_t group = c.attrs.i("group", 1);
    if (group < 1)
        c.attrs.fail("attribute 'group' is below 1");
    return [s, group](const Tensors &in) {
        const at::Tensor &x = in[0], &w = in[1];
        if (w.dim() < 3 || w.dim() > 5)
            throw std::invalid_argument("the weight has rank " + std::to_string(w.dim()) +
                                        " (3 to 5 supported)");
        needRank(x, w.dim(), "the input");
        const size_t n = static_cast<size_t>(w.dim() - 2);
        Spatial t = s;
        if (!t.kernel.empty() &&
            !std::equal(t.kernel.begin(), t.kernel.end(), w.sizes().begin() + 2, w.sizes().end()))
            throw std::invalid_argument("kernel_shape disagrees with the weight's shape " +
                                        c10::str(w.sizes()));
        t.kernel.assign(w.sizes().begin() + 2, w.sizes().end());
        if (t.strides.empty())
            t.strides.assign(n, 1);
        if (t.dilations.empty())
            t.dilations.assign(n, 1);
        if (t.strides.size() != n || t.dilations.size() != n ||
            (!t.padding.pads.empty() && t.padding.pads.size() != 2 * n))
            throw std::invalid_argument("strides, dilations or pads do not match the weight's rank");
        const auto pads = t.padding.resolve(x.sizes().slice(2), t.kernel, t.strides, t.dilations);
        // Symmetric pads go to the convolution; others pad the input first (SAME_UPPER's 2x2 kernels).
        bool symmetric = true;
        for (size_t d = 0; d < n; ++d)
            symmetric = symmetric && pads[d] == pads[n + d];
        const at::Tensor xp = symmetric ? x : padSpatial(x, pads, 0.0);
        const std::vector<int64_t> convPad =
            symmetric ? std::vector<int64_t>(pads.begin(), pads.begin() + n) : std::vector<int64_t>(n, 0);
        const std::vector<int64_t> zeros(n, 0);
        const at::Tensor bias = in.size() > 2 ? in[2] : at::Tensor();
        return Tensors{at::convolution(xp, w, bias, t.strides, convPad, t.dilations, false, zeros, group)};
    };
}

Kernel compileConvTranspose(Ctx &c)
{
    Spatial s = readSpatial(c, true, {"NOTSET", "VALID"});
    const int64_t group = c.attrs.i("group", 1);
    const std::vector<int64_t> outputPadding = c.attrs.ints("output_padding");
    if (c.attrs.has("output_shape"))
        c.attrs.fail("attribute 'output_shape' is not supported by this runner (give pads instead)");
    if (group < 1)
        c.attrs.fail("attribute 'group' is below 1");
    return [s, group, outputPadding](const Tensors &in) {
        const at::Tensor &x = in[0], &w = in[1];
        if (w.dim() < 3 || w.dim() > 5)
            throw std::invalid_argument("the weight has rank " + std::to_string(w.dim()) +
                                        " (3 to 5 supported)");
        needRank(x, w.dim(), "the input");
        const size_t n = static_cast<size_t>(w.dim() - 2);
        std::vector<int64_t> strides = s.strides.empty() ? std::vector<int64_t>(n, 1) : s.strides;
        std::vector<int64_t> dilations = s.dilations.empty() ? std::vector<int64_t>(n, 1) : s.dilations;
        std::vector<int64_t> pads = s.padding.pads.empty() ? std::vector<int64_t>(2 * n, 0) : s.padding.pads;
        std::vector<int64_t> outPad = outputPadding.empty() ? std::vector<int64_t>(n, 0) : outputPadding;
        if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n || outPad.size() != n)
            throw std::invalid_argument(
                "strides, dilations, pads or output_padding do not match the weight's rank");
        if (!s.kernel.empty() &&
            !std::equal(s.kernel.begin(), s.kernel.end(), w.sizes().begin() + 2, w.sizes().end()))
            throw std::invalid_argument("kernel_shape disagrees with the weight's shape " +
                                        c10::str(w.sizes()));
        // The transposed convolution without padding, then the pads cropped from each side.
        const at::Tensor bias = in.size() > 2 ? in[2] : at::Tensor();
        at::Tensor y =
            at::convolution(x, w, bias, strides, std::vector<int64_t>(n, 0), dilations, true, outPad, group);
        for (size_t d = 0; d < n; ++d)
            if (pads[d] || pads[n + d])
                y = y.narrow(static_cast<int64_t>(d) + 2, pads[d],
                             y.size(static_cast<int64_t>(d) + 2) - pads[d] - pads[n + d]);
        return Tensors{y};
    };
}

Kernel compilePool(Ctx &c, bool isMax)
{
    Spatial s = readSpatial(c, isMax, {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"});
    if (s.kernel.empty())
        c.attrs.fail("attribute 'kernel_shape' is missing");
    const size_t n = s.kernel.size();
    if (n < 1 || n > 3)
        c.attrs.fail("kernel_shape has " + std::to_string(n) + " values (1 to 3 supported)");
    completeSpatial(s, n, c.attrs);
    const bool ceil = c.attrs.i("ceil_mode", 0) != 0;
    bool countPad = false;
    if (isMax) {
        if (c.attrs.i("storage_order", 0) != 0) // only with the Indices output, which checkArity refuses
            c.attrs.fail("attribute 'storage_order' = 1 is not supported");
    } else {
        countPad = c.attrs.i("count_include_pad", 0) != 0;
    }
    return [s, n, ceil, isMax, countPad](const Tensors &in) {
        const at::Tensor &x = in[0];
        needRank(x, static_cast<int64_t>(n) + 2, "the input");
        const auto pads = s.padding.resolve(x.sizes().slice(2), s.kernel, s.strides, s.dilations);
        const std::vector<int64_t> zeros(n, 0);
        if (isMax) {
            const at::Tensor xp = padSpatial(x, pads, -std::numeric_limits<double>::infinity());
            switch (n) {
            case 1:
                return Tensors{at::max_pool1d(xp, s.kernel, s.strides, zeros, s.dilations, ceil)};
            case 2:
                return Tensors{at::max_pool2d(xp, s.kernel, s.strides, zeros, s.dilations, ceil)};
            default:
                return Tensors{at::max_pool3d(xp, s.kernel, s.strides, zeros, s.dilations, ceil)};
            }
        }
        const auto avg = [&](const at::Tensor &t) {
            switch (n) {
            case 1:
                return at::avg_pool1d(t, s.kernel, s.strides, zeros, ceil, true);
            case 2:
                return at::avg_pool2d(t, s.kernel, s.strides, zeros, ceil, true);
            default:
                return at::avg_pool3d(t, s.kernel, s.strides, zeros, ceil, true);
            }
        };
        const at::Tensor y = avg(padSpatial(x, pads, 0.0));
        if (countPad || std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; }))
            return Tensors{y};
        // Padding not counted: divide by the share of real elements in each window.
        std::vector<int64_t> oneShape(x.sizes().begin(), x.sizes().end());
        oneShape[0] = oneShape[1] = 1;
        return Tensors{y / avg(padSpatial(at::ones(oneShape, x.options()), pads, 0.0))};
    };
}

Kernel compileGlobalAveragePool(Ctx &)
{
    return [](const Tensors &in) {
        if (in[0].dim() < 3)
            throw std::invalid_argument("the input has rank " + std::to_string(in[0].dim()) +
                                        ", expected >= 3");
        std::vector<int64_t> dims(static_cast<size_t>(in[0].dim() - 2));
        std::iota(dims.begin(), dims.end(), 2);
        return Tensors{in[0].mean(dims, true)};
    };
}

Kernel compileBatchNormalization(Ctx &c)
{
    const double eps = c.attrs.f("epsilon", 1e-5f);
    (void)c.attrs.f("momentum", 0.9f); // training only
    if (c.attrs.i("training_mode", 0) != 0)
        c.attrs.fail("training_mode = 1 is not supported");
    return [eps](const Tensors &in) {
        if (in[0].dim() < 2)
            throw std::invalid_argument("the input has rank " + std::to_string(in[0].dim()) +
                                        ", expected >= 2");
        return Tensors{at::batch_norm(in[0], in[1], in[2], in[3], in[4], false, 0.0, eps, false)};
    };
}

// ---- resize
// ---------------------------------------------------------------------------------------------------

Kernel compileResize(Ctx &c)
{
    // The forms PP-OCR's detector and torch.onnx.export's nearest upsampling use.
    const std::string mode = c.attrs.choice("mode", {"nearest", "linear"});
    const std::string coord =
        c.attrs.choice("coordinate_transformation_mode",
                       {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"});
    const std::string nearestMode = c.attrs.choice("nearest_mode", {"round_prefer_floor", "floor"});
    (void)c.attrs.f("cubic_coeff_a", -0.75f);
    if (c.attrs.i("exclude_outside", 0) != 0)
        c.attrs.fail("exclude_outside = 1 is not supported");
    (void)c.attrs.f("extrapolation_value", 0.0f);
    if (mode == "nearest" && (coord != "asymmetric" || nearestMode != "floor"))
        c.attrs.fail("nearest resizing is supported with coordinate_transformation_mode 'asymmetric' and "
                     "nearest_mode 'floor' only (torch's nearest rule)");
    if (mode == "linear" && coord == "asymmetric")
        c.attrs.fail("linear resizing with coordinate_transformation_mode 'asymmetric' is not supported");
    return [mode, coord](const Tensors &in) {
        const at::Tensor &x = in[0];
        if (x.dim() < 3 || x.dim() > 5 || (mode == "linear" && x.dim() != 4))
            throw std::invalid_argument(
                "the input has rank " + std::to_string(x.dim()) +
                (mode == "linear" ? " (linear: 4 supported)" : " (3 to 5 supported)"));
        const std::vector<float> scales = in.size() > 2 ? floatValues(in[2]) : std::vector<float>{};
        const std::vector<int64_t> sizes = in.size() > 3 ? intValues(in[3], "sizes") : std::vector<int64_t>{};
        const size_t rank = static_cast<size_t>(x.dim());
        std::vector<int64_t> out(rank);
        std::vector<double> scale(rank);
        if (!scales.empty()) {
            if (scales.size() != rank)
                throw std::invalid_argument("scales has " + std::to_string(scales.size()) +
                                            " values for rank " + std::to_string(rank));
            for (size_t d = 0; d < rank; ++d) {
                if (!(scales[d] > 0))
                    throw std::invalid_argument("a scale is not positive");
                scale[d] = scales[d];
                out[d] = static_cast<int64_t>(
                    std::floor(static_cast<double>(x.size(static_cast<int64_t>(d))) * scales[d]));
            }
        } else if (sizes.size() == rank) {
            for (size_t d = 0; d < rank; ++d) {
                out[d] = sizes[d];
                scale[d] =
                    static_cast<double>(sizes[d]) / static_cast<double>(x.size(static_cast<int64_t>(d)));
            }
        } else {
            throw std::invalid_argument("neither scales nor sizes of the input's rank");
        }
        if (out[0] != x.size(0) || out[1] != x.size(1))
            throw std::invalid_argument("resizing the batch or channel dimension is not supported");
        const std::vector<int64_t> spatial(out.begin() + 2, out.end());
        // ONNX maps output index o to input o / scale; torch's nearest does the same with the scale given.
        const std::vector<double> sc(scale.begin() + 2, scale.end());
        if (mode == "nearest") {
            switch (rank) {
            case 3:
                return Tensors{at::upsample_nearest1d(x, spatial, c10::optional<double>(sc[0]))};
            case 4:
                return Tensors{at::upsample_nearest2d(x, spatial, c10::optional<double>(sc[0]),
                                                      c10::optional<double>(sc[1]))};
            default:
                return Tensors{at::upsample_nearest3d(x, spatial, c10::optional<double>(sc[0]),
                                                      c10::optional<double>(sc[1]),
                                                      c10::optional<double>(sc[2]))};
            }
        }
        // pytorch_half_pixel differs from half_pixel only for an output size of 1.
        if (coord == "pytorch_half_pixel" && (spatial[0] == 1 || spatial[1] == 1))
            throw std::invalid_argument("pytorch_half_pixel to an output size of 1 is not supported");
        return Tensors{at::upsample_bilinear2d(x, spatial, coord == "align_corners",
                                               c10::optional<double>(sc[0]), c10::optional<double>(sc[1]))};
    };
}

// ---- reductions and normalisation
// -------------------------------------------------------------------------------

Kernel compileReduceMean(Ctx &c)
{
    const std::vector<int64_t> axesAttr = c.attrs.ints("axes");
    const bool keep = c.attrs.i("keepdims", 1) != 0;
    const bool noopWithEmpty = c.attrs.i("noop_with_empty_axes", 0) != 0;
    return [axesAttr, keep, noopWithEmpty](const Tensors &in) {
        const at::Tensor &x = in[0];
        std::vector<int64_t> axes = in.size() > 1 && in[1].defined() ? intValues(in[1], "axes") : axesAttr;
        if (axes.empty()) {
            if (noopWithEmpty)
                return Tensors{x};
            axes.resize(static_cast<size_t>(x.dim()));
            std::iota(axes.begin(), axes.end(), 0);
        }
        for (int64_t &a : axes)
            a = normAxis(a, x.dim(), "axis");
        return Tensors{x.mean(axes, keep)};
    };
}

Kernel compileSoftmax(Ctx &c)
{
    const bool coerce2d = c.opset < 13; // opset < 13: softmax over the flattened dims from `axis` on
    const int64_t axisAttr = c.attrs.i("axis", coerce2d ? 1 : -1);
    return [axisAttr, coerce2d](const Tensors &in) {
        const at::Tensor &x = in[0];
        const int64_t axis = normAxis(axisAttr, x.dim(), "axis");
        if (!coerce2d || axis == x.dim() - 1)
            return Tensors{at::softmax(x, axis)};
        int64_t outer = 1;
        for (int64_t d = 0; d < axis; ++d)
            outer *= x.size(d);
        const at::Tensor flat = x.reshape({outer, x.numel() / std::max<int64_t>(outer, 1)});
        return Tensors{at::softmax(flat, 1).reshape(x.sizes())};
    };
}

// ---- shapes
// ---------------------------------------------------------------------------------------------------

Kernel compileConcat(Ctx &c)
{
    if (!c.attrs.has("axis"))
        c.attrs.fail("attribute 'axis' is missing");
    const int64_t axis = c.attrs.i("axis", 0);
    return [axis](const Tensors &in) {
        std::vector<at::Tensor> parts;
        for (const at::Tensor &t : in)
            if (t.defined())
                parts.push_back(t);
        if (parts.empty())
            throw std::invalid_argument("no inputs");
        return Tensors{at::cat(parts, normAxis(axis, parts[0].dim(), "axis"))};
    };
}

Kernel compileTranspose(Ctx &c)
{
    const std::vector<int64_t> perm = c.attrs.ints("perm");
    return [perm](const Tensors &in) {
        const at::Tensor &x = in[0];
        std::vector<int64_t> p = perm;
        if (p.empty()) {
            p.resize(static_cast<size_t>(x.dim()));
            std::iota(p.rbegin(), p.rend(), 0);
        }
        if (static_cast<int64_t>(p.size()) != x.dim())
            throw std::invalid_argument("perm has " + std::to_string(p.size()) +
                                        " values for an input of rank " + std::to_string(x.dim()));
        return Tensors{x.permute(p)};
    };
}

Kernel compileReshape(Ctx &c)
{
    const bool allowZero = c.attrs.i("allowzero", 0) != 0;
    return [allowZero](const Tensors &in) {
        const at::Tensor &x = in[0];
        std::vector<int64_t> shape = intValues(in[1], "shape");
        for (size_t d = 0; d < shape.size(); ++d) {
            if (shape[d] == 0 && !allowZero) {
                if (static_cast<int64_t>(d) >= x.dim())
                    throw std::invalid_argument("shape copies dimension " + std::to_string(d) +
                                                " of an input of rank " + std::to_string(x.dim()));
                shape[d] = x.size(static_cast<int64_t>(d));
            } else if (shape[d] < -1) {
                throw std::invalid_argument("shape has the value " + std::to_string(shape[d]));
            }
        }
        return Tensors{x.reshape(shape)};
    };
}

Kernel compileSlice(Ctx &c)
{
    if (c.nIn() < 3)
        c.attrs.fail("needs starts and ends as inputs (opset 10 form)");
    return [](const Tensors &in) {
        at::Tensor x = in[0];
        const auto starts = intValues(in[1], "starts"), ends = intValues(in[2], "ends");
        std::vector<int64_t> axes =
            in.size() > 3 && in[3].defined() ? intValues(in[3], "axes") : std::vector<int64_t>{};
        std::vector<int64_t> steps =
            in.size() > 4 && in[4].defined() ? intValues(in[4], "steps") : std::vector<int64_t>{};
        if (axes.empty()) {
            axes.resize(starts.size());
            std::iota(axes.begin(), axes.end(), 0);
        }
        if (steps.empty())
            steps.assign(starts.size(), 1);
        if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
            throw std::invalid_argument("starts, ends, axes and steps differ in length");
        for (size_t k = 0; k < starts.size(); ++k) {
            const int64_t axis = normAxis(axes[k], x.dim(), "axis");
            const int64_t dim = x.size(axis), step = steps[k];
            if (step == 0)
                throw std::invalid_argument("a step of 0");
            // ONNX's clamping: negative values count from the end, then [0, dim] (step > 0) or [-1, dim - 1].
            auto clampIndex = [&](int64_t v, int64_t lo, int64_t hi) {
                if (v < 0)
                    v = v < std::numeric_limits<int64_t>::min() + dim ? lo : v + dim;
                return std::clamp(v, lo, hi);
            };
            if (step > 0) {
                const int64_t s = clampIndex(starts[k], 0, dim), e = clampIndex(ends[k], 0, dim);
                x = x.slice(axis, s, std::max(s, e), step);
            } else {
                const int64_t s = clampIndex(starts[k], -1, dim - 1), e = clampIndex(ends[k], -1, dim - 1);
                const at::Tensor idx = s > e ? at::arange(s, e, step, at::kLong) : at::empty({0}, at::kLong);
                x = x.index_select(axis, idx);
            }
        }
        return Tensors{x};
    };
}

// Squeeze and Unsqueeze: axes from the attribute (opset < 13) or the second input (opset 13).
Kernel compileSqueeze(Ctx &c, bool unsqueeze)
{
    const std::vector<int64_t> axesAttr = c.attrs.ints("axes");
    if (unsqueeze && c.opset < 13 && axesAttr.empty())
        c.attrs.fail("attribute 'axes' is missing");
    return [axesAttr, unsqueeze](const Tensors &in) {
        at::Tensor x = in[0];
        std::vector<int64_t> axes = in.size() > 1 && in[1].defined() ? intValues(in[1], "axes") : axesAttr;
        if (unsqueeze) {
            const int64_t outRank = x.dim() + static_cast<int64_t>(axes.size());
            for (int64_t &a : axes)
                a = normAxis(a, outRank, "axis");
            std::sort(axes.begin(), axes.end());
            if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
                throw std::invalid_argument("an axis given twice");
            for (const int64_t a : axes)
                x = x.unsqueeze(a);
            return Tensors{x};
        }
        if (axes.empty())
            return Tensors{x.squeeze()};
        for (int64_t &a : axes) {
            a = normAxis(a, x.dim(), "axis");
            if (x.size(a) != 1)
                throw std::invalid_argument("dimension " + std::to_string(a) + " has size " +
                                            std::to_string(x.size(a)) + ", not 1");
        }
        std::sort(axes.rbegin(), axes.rend());
        axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
        for (const int64_t a : axes)
            x = x.squeeze(a);
        return Tensors{x};
    };
}

Kernel compileShape(Ctx &c)
{
    const bool haveEnd = c.attrs.has("end");
    const int64_t start = c.attrs.i("start", 0), end = c.attrs.i("end", 0);
    return [start, end, haveEnd](const Tensors &in) {
        const int64_t r = in[0].dim();
        const auto clampAxis = [r](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t{0}, r); };
        const int64_t s = clampAxis(start), e = haveEnd ? clampAxis(end) : r;
        std::vector<int64_t> dims(in[0].sizes().begin() + s, in[0].sizes().begin() + std::max(s, e));
        return Tensors{at::tensor(dims, at::kLong)};
    };
}

Kernel compileConstant(Ctx &c, const std::string &path)
{
    at::Tensor value;
    int set = 0;
    if (const OnnxTensor *t = c.attrs.tensor("value")) {
        value = copyTensor(*t, nodeLabel(c.node) + " value", path);
        ++set;
    }
    if (c.attrs.has("value_float")) {
        value = at::scalar_tensor(c.attrs.f("value_float", 0), at::kFloat);
        ++set;
    }
    if (c.attrs.has("value_int")) {
        value = at::scalar_tensor(c.attrs.i("value_int", 0), at::kLong);
        ++set;
    }
    if (c.attrs.has("value_floats")) {
        value = at::tensor(c.attrs.floats("value_floats"), at::kFloat);
        ++set;
    }
    if (c.attrs.has("value_ints")) {
        value = at::tensor(c.attrs.ints("value_ints"), at::kLong);
        ++set;
    }
    if (set != 1)
        c.attrs.fail(set == 0 ? "no value (value, value_float, value_int, value_floats or value_ints)"
                              : "more than one value attribute");
    return [value](const Tensors &) { return Tensors{value}; };
}

// ---- the table
// ------------------------------------------------------------------------------------------------

struct OpRow
{
    const char *name;
    size_t minInputs, maxInputs;
    std::function<Kernel(Ctx &, const std::string &path)> compile;
};

const std::vector<OpRow> &opTable()
{
    static const std::vector<OpRow> table = {
        {"Add", 2, 2, [](Ctx &c, const std::string &) { return compileBinary(c); }},
        {"Sub", 2, 2, [](Ctx &c, const std::string &) { return compileBinary(c); }},
        {"Mul", 2, 2, [](Ctx &c, const std::string &) { return compileBinary(c); }},
        {"Div", 2, 2, [](Ctx &c, const std::string &) { return compileBinary(c); }},
        {"Pow", 2, 2, [](Ctx &c, const std::string &) { return compileBinary(c); }},
        {"Sqrt", 1, 1, [](Ctx &, const std::string &) { return unary(at::sqrt); }},
        {"Erf", 1, 1, [](Ctx &, const std::string &) { return unary(at::erf); }},
        {"Relu", 1, 1, [](Ctx &, const std::string &) { return unary(at::relu); }},
        {"Sigmoid", 1, 1, [](Ctx &, const std::string &) { return unary(at::sigmoid); }},
        {"HardSigmoid", 1, 1, [](Ctx &c, const std::string &) { return compileHardSigmoid(c); }},
        {"Identity", 1, 1,
         [](Ctx &, const std::string &) { return Kernel([](const Tensors &in) { return in; }); }},
        {"MatMul", 2, 2,
         [](Ctx &, const std::string &) {
             return Kernel([](const Tensors &in) { return Tensors{at::matmul(in[0], in[1])}; });
         }},
        {"Conv", 2, 3, [](Ctx &c, const std::string &) { return compileConv(c); }},
        {"ConvTranspose", 2, 3, [](Ctx &c, const std::string &) { return compileConvTranspose(c); }},
        {"MaxPool", 1, 1, [](Ctx &c, const std::string &) { return compilePool(c, true); }},
        {"AveragePool", 1, 1, [](Ctx &c, const std::string &) { return compilePool(c, false); }},
        {"GlobalAveragePool", 1, 1, [](Ctx &c, const std::string &) { return compileGlobalAveragePool(c); }},
        {"BatchNormalization", 5, 5,
         [](Ctx &c, const std::string &) { return compileBatchNormalization(c); }},
        {"Resize", 1, 4,
         [](Ctx &c, const std::string &) { return compileResize(c); }}, // roi "" from opset 13 on
        {"ReduceMean", 1, 2, [](Ctx &c, const std::string &) { return compileReduceMean(c); }},
        {"Softmax", 1, 1, [](Ctx &c, const std::string &) { return compileSoftmax(c); }},
        {"Concat", 1, 1u << 16, [](Ctx &c, const std::string &) { return compileConcat(c); }},
        {"Transpose", 1, 1, [](Ctx &c, const std::string &) { return compileTranspose(c); }},
        {"Reshape", 2, 2, [](Ctx &c, const std::string &) { return compileReshape(c); }},
        {"Slice", 3, 5, [](Ctx &c, const std::string &) { return compileSlice(c); }},
        {"Squeeze", 1, 2, [](Ctx &c, const std::string &) { return compileSqueeze(c, false); }},
        {"Unsqueeze", 1, 2, [](Ctx &c, const std::string &) { return compileSqueeze(c, true); }},
        {"Shape", 1, 1, [](Ctx &c, const std::string &) { return compileShape(c); }},
        {"Constant", 0, 0, [](Ctx &c, const std::string &path) { return compileConstant(c, path); }},
    };
    return table;
}

// Inputs that are required (a "" name is refused), per operator: all up to minInputs.
void checkArity(const OnnxNode &n, const OpRow &row, Attrs &a)
{
    if (n.inputs.size() < row.minInputs || n.inputs.size() > row.maxInputs)
        a.fail(
            "has " + std::to_string(n.inputs.size()) + " inputs, expected " + std::to_string(row.minInputs) +
            (row.maxInputs == row.minInputs ? ""
                                            : " to " + std::to_string(std::min<size_t>(row.maxInputs, 99))));
    for (size_t i = 0; i < row.minInputs; ++i)
        if (n.inputs[i].empty())
            a.fail("input " + std::to_string(i) + " is required but omitted");
    // Every supported operator has one output here (MaxPool's Indices, BatchNormalization's training outputs
    // are not supported).
    if (n.outputs.size() != 1 || n.outputs[0].empty())
        a.fail("has " + std::to_string(n.outputs.size()) + " outputs, expected 1");
}

// The scalar value of a constant slot, when it is a one-element floating tensor.
bool scalarConstant(const std::vector<at::Tensor> &constants, int slot, double &value)
{
    if (slot < 0)
        return false;
    const at::Tensor &t = constants[static_cast<size_t>(slot)];
    if (!t.defined() || t.numel() != 1 || !at::isFloatingType(t.scalar_type()))
        return false;
    value = t.item<double>();
    return true;
}

// GELU as exporters write it out, x * (erf(x / sqrt(2)) + 1) * 0.5 (Div, Erf, Add, Mul, Mul;
// torch.onnx.export at opset < 20 and paddle2onnx alike), becomes one at::gelu step: one kernel instead of
// five full-size passes. Only when each intermediate has no other consumer and is no graph output. Returns
// the number of fusions.
size_t fuseErfGelu(std::vector<OnnxRunner::Step> &steps, const std::vector<at::Tensor> &constants,
                   const std::vector<int> &outputSlots)
{
    std::map<int, size_t> producer;
    std::map<int, int> uses;
    for (size_t k = 0; k < steps.size(); ++k) {
        for (const int sl : steps[k].outputs)
            producer[sl] = k;
        for (const int sl : steps[k].inputs)
            if (sl >= 0)
                ++uses[sl];
    }
    for (const int sl : outputSlots)
        uses[sl] += 1000; // never fused away
    const auto soleConsumer = [&](int slot) -> long {
        if (uses[slot] != 1)
            return -1;
        for (size_t k = 0; k < steps.size(); ++k)
            for (const int sl : steps[k].inputs)
                if (sl == slot)
                    return static_cast<long>(k);
        return -1;
    };
    const auto near = [](double a, double b) { return std::abs(a - b) < 1e-5 * std::max(1.0, std::abs(b)); };
    std::vector<bool> removed(steps.size(), false);
    size_t fused = 0;
    for (size_t e = 0; e < steps.size(); ++e) {
        if (steps[e].opType != "Erf")
            continue;
        const auto pd = producer.find(steps[e].inputs[0]);
        if (pd == producer.end() || removed[pd->second])
            continue;
        const OnnxRunner::Step &div = steps[pd->second];
        double c = 0;
        if (div.opType != "Div" || !scalarConstant(constants, div.inputs[1], c) || !near(c, std::sqrt(2.0)) ||
            uses[div.outputs[0]] != 1)
            continue;
        const int x = div.inputs[0];
        const long a = soleConsumer(steps[e].outputs[0]);
        if (a < 0 || steps[static_cast<size_t>(a)].opType != "Add")
            continue;
        const OnnxRunner::Step &add = steps[static_cast<size_t>(a)];
        const int one = add.inputs[0] == steps[e].outputs[0] ? add.inputs[1] : add.inputs[0];
        if (!scalarConstant(constants, one, c) || !near(c, 1.0))
            continue;
        const long m1 = soleConsumer(add.outputs[0]);
        if (m1 < 0 || steps[static_cast<size_t>(m1)].opType != "Mul")
            continue;
        const OnnxRunner::Step &mul1 = steps[static_cast<size_t>(m1)];
        if ((mul1.inputs[0] == x   ? mul1.inputs[1]
             : mul1.inputs[1] == x ? mul1.inputs[0]
                                   : -1) != add.outputs[0])
            continue;
        const long m2 = soleConsumer(mul1.outputs[0]);
        if (m2 < 0 || steps[static_cast<size_t>(m2)].opType != "Mul")
            continue;
        OnnxRunner::Step &mul2 = steps[static_cast<size_t>(m2)];
        const int half = mul2.inputs[0] == mul1.outputs[0] ? mul2.inputs[1] : mul2.inputs[0];
        if (!scalarConstant(constants, half, c) || !near(c, 0.5))
            continue;
        removed[pd->second] = removed[e] = removed[static_cast<size_t>(a)] =
            removed[static_cast<size_t>(m1)] = true;
        mul2.opType = "Gelu (Div, Erf, Add, Mul, Mul fused)";
        mul2.inputs = {x};
        mul2.kernel = [](const Tensors &in) { return Tensors{at::gelu(in[0])}; };
        ++fused;
    }
    std::vector<OnnxRunner::Step> kept;
    kept.reserve(steps.size());
    for (size_t k = 0; k < steps.size(); ++k)
        if (!removed[k])
            kept.push_back(std::move(steps[k]));
    steps = std::move(kept);
    return fused;
}

} // namespace

std::vector<std::string> OnnxRunner::supportedOperators()
{
    std::vector<std::string> out;
    for (const OpRow &r : opTable())
        out.push_back(r.name);
    return out;
}

const std::string *OnnxRunner::metadataValue(const std::string &key) const
{
    for (const auto &[k, v] : m_metadata)
        if (k == key)
            return &v;
    return nullptr;
}

OnnxRunner OnnxRunner::load(const std::string &path)
{
    const OnnxFile file = OnnxFile::open(path);
    return fromGraph(file.graph(), path);
}

OnnxRunner OnnxRunner::fromGraph(const OnnxGraph &g, const std::string &path)
{
    const auto fail = [&](const std::string &what, const std::string &subject) {
        throw Error(ErrorCode::CheckpointInvalid, path + ": " + what, subject.empty() ? path : subject);
    };
    OnnxRunner r;
    r.m_path = path;
    r.m_metadata = g.metadata;
    r.m_opset = g.defaultOpset();
    if (r.m_opset < kMinOpset || r.m_opset > kMaxOpset)
        fail("the graph imports opset " + std::to_string(r.m_opset) +
                 " of the default domain; this runner supports " + std::to_string(kMinOpset) + " to " +
                 std::to_string(kMaxOpset),
             path);

    c10::InferenceMode inference;
    const auto slot = [&](const std::string &name) {
        const auto [it, added] = r.m_slotOf.emplace(name, static_cast<int>(r.m_slotOf.size()));
        if (added)
            r.m_constants.emplace_back();
        return it->second;
    };
    for (const OnnxTensor &t : g.initializers)
        r.m_constants[static_cast<size_t>(slot(t.name))] =
            copyTensor(t, "initialiser '" + t.name + "'", path);
    std::set<std::string> available; // values known before any node runs
    for (const OnnxTensor &t : g.initializers)
        available.insert(t.name);
    for (const std::string &in : g.inputs) {
        if (in.empty())
            fail("a graph input without a name", path);
        if (g.findInitializer(in))
            continue; // an initialiser listed as an input (IR < 4): a constant with a default
        r.m_inputs.push_back(in);
        r.m_inputSlots.push_back(slot(in));
        available.insert(in);
    }

    // Compile every node (refusing what the table lacks), then order them: Kahn's algorithm over the values.
    struct Compiled
    {
        const OnnxNode *node;
        Kernel kernel;
    };
    std::vector<Compiled> compiled;
    compiled.reserve(g.nodes.size());
    for (const OnnxNode &n : g.nodes) {
        Attrs attrs(n, path);
        if (!n.domain.empty() && n.domain != "ai.onnx")
            attrs.fail("operators of the domain '" + n.domain + "' are not supported");
        const auto &table = opTable();
        const auto row =
            std::find_if(table.begin(), table.end(), [&](const OpRow &o) { return n.opType == o.name; });
        if (row == table.end())
            attrs.fail("the operator '" + n.opType + "' is not supported by this runner");
        checkArity(n, *row, attrs);
        Ctx ctx{attrs, n, r.m_opset};
        Kernel k = row->compile(ctx, path);
        attrs.finish();
        compiled.push_back({&n, std::move(k)});
    }
    std::vector<size_t> order;
    {
        std::vector<size_t> waiting(compiled.size(), 0);
        std::multimap<std::string, size_t> consumers;
        std::vector<size_t> ready;
        for (size_t i = 0; i < compiled.size(); ++i) {
            std::set<std::string> need;
            for (const std::string &in : compiled[i].node->inputs)
                if (!in.empty() && !available.count(in))
                    need.insert(in);
            for (const std::string &in : need) {
                if (!g.producer(in))
                    fail(nodeLabel(*compiled[i].node) + ": its input '" + in +
                             "' is not a graph input, an initialiser or any node's output",
                         compiled[i].node->name);
                consumers.emplace(in, i);
            }
            waiting[i] = need.size();
            if (need.empty())
                ready.push_back(i);
        }
        for (size_t k = 0; k < ready.size(); ++k) { // `ready` grows as nodes are placed
            const size_t i = ready[k];
            order.push_back(i);
            for (const std::string &out : compiled[i].node->outputs) {
                const auto [lo, hi] = consumers.equal_range(out);
                for (auto it = lo; it != hi; ++it)
                    if (--waiting[it->second] == 0)
                        ready.push_back(it->second);
            }
        }
        if (order.size() != compiled.size())
            fail("the graph has a cycle (" + std::to_string(compiled.size() - order.size()) +
                     " nodes wait on each other)",
                 path);
    }

    // Fold the nodes whose inputs are all constant; the others become steps.
    for (const size_t i : order) {
        const OnnxNode &n = *compiled[i].node;
        Step s;
        s.name = n.name;
        s.opType = n.opType;
        bool constant = true;
        for (const std::string &in : n.inputs) {
            const int sl = in.empty() ? -1 : slot(in);
            s.inputs.push_back(sl);
            constant = constant && (sl < 0 || r.m_constants[static_cast<size_t>(sl)].defined());
        }
        for (const std::string &out : n.outputs)
            s.outputs.push_back(slot(out));
        s.kernel = std::move(compiled[i].kernel);
        if (constant) {
            Tensors in;
            for (const int sl : s.inputs)
                in.push_back(sl < 0 ? at::Tensor() : r.m_constants[static_cast<size_t>(sl)]);
            Tensors out;
            try {
                out = s.kernel(in);
            } catch (const Error &) {
                throw;
            } catch (const std::exception &e) {
                const std::string what = e.what();
                fail(nodeLabel(n) +
                         ": folding its constant inputs failed: " + what.substr(0, what.find('\n')),
                     n.name);
            }
            for (size_t k = 0; k < s.outputs.size(); ++k)
                r.m_constants[static_cast<size_t>(s.outputs[k])] = out[k];
            ++r.m_folded;
            continue;
        }
        r.m_steps.push_back(std::move(s));
    }
    for (const std::string &out : g.outputs) {
        const auto it = r.m_slotOf.find(out);
        if (out.empty() || it == r.m_slotOf.end())
            fail("the graph output '" + out + "' is not produced by any node, input or initialiser", out);
        r.m_outputs.push_back(out);
        r.m_outputSlots.push_back(it->second);
    }
    r.m_fused = fuseErfGelu(r.m_steps, r.m_constants, r.m_outputSlots);
    // Release each intermediate after its last consumer (never a graph output or a constant).
    std::vector<int> last(r.m_constants.size(), -1);
    for (size_t k = 0; k < r.m_steps.size(); ++k)
        for (const int sl : r.m_steps[k].inputs)
            if (sl >= 0)
                last[static_cast<size_t>(sl)] = static_cast<int>(k);
    for (const int sl : r.m_outputSlots)
        last[static_cast<size_t>(sl)] = -1;
    for (size_t sl = 0; sl < last.size(); ++sl)
        if (last[sl] >= 0 && !r.m_constants[sl].defined())
            r.m_steps[static_cast<size_t>(last[sl])].release.push_back(static_cast<int>(sl));
    return r;
}

TensorMap OnnxRunner::run(const TensorMap &inputs) const
{
    const auto fail = [&](const std::string &what, const std::string &subject) {
        throw Error(ErrorCode::InvalidArgument, m_path + ": " + what, subject);
    };
    c10::InferenceMode inference;
    std::vector<at::Tensor> values = m_constants;
    for (const auto &[name, t] : inputs)
        if (std::find(m_inputs.begin(), m_inputs.end(), name) == m_inputs.end())
            fail("'" + name + "' is not an input of the graph", name);
    for (size_t k = 0; k < m_inputs.size(); ++k) {
        const auto it = inputs.find(m_inputs[k]);
        if (it == inputs.end())
            fail("the graph input '" + m_inputs[k] + "' is not given", m_inputs[k]);
        if (!it->second.defined() || !it->second.device().is_cpu())
            fail("the graph input '" + m_inputs[k] + "' is not a defined CPU tensor", m_inputs[k]);
        values[static_cast<size_t>(m_inputSlots[k])] = it->second;
    }
    Tensors in;
    for (const Step &s : m_steps) {
        in.clear();
        for (const int sl : s.inputs)
            in.push_back(sl < 0 ? at::Tensor() : values[static_cast<size_t>(sl)]);
        Tensors out;
        try {
            out = s.kernel(in);
        } catch (const Error &) {
            throw;
        } catch (const std::exception &e) { // c10::Error and the kernels' own checks
            const std::string what = e.what();
            fail("node '" + s.name + "' (" + s.opType + "): " + what.substr(0, what.find('\n')), s.name);
        }
        for (size_t k = 0; k < s.outputs.size(); ++k)
            values[static_cast<size_t>(s.outputs[k])] = std::move(out[k]);
        for (const int sl : s.release)
            values[static_cast<size_t>(sl)].reset();
    }
    TensorMap result;
    for (size_t k = 0; k < m_outputs.size(); ++k)
        result[m_outputs[k]] = values[static_cast<size_t>(m_outputSlots[k])];
    return result;
}

} // namespace uhdlens::onnx
