// Internal: runs an ONNX graph on the CPU with libtorch — a small interpreter, one at:: call (or a few) per
// node, written for the PP-OCR detector and recogniser that rapidocr ships (issue 18) and for nothing bigger.
//
//     const OnnxRunner det = OnnxRunner::load(findBaseWeight(kPpocrDetOnnxFile));
//     const auto out = det.run({{"x", pixels}});            // {"sigmoid_0.tmp_0": [N, 1, H, W]}, by output
//     name
//
// Load: the file is parsed (onnx_file.h), every initialiser copied into a tensor (the mapping is not kept),
// every node checked against the operator table — its domain, its attributes (names and types; values that
// select behaviour this runner does not have are refused) and its input / output counts — and the nodes put
// in topological order; nodes whose inputs are all constant (initialisers, Constant nodes, Identity of a
// weight, Shape of a constant) are run once and their outputs kept as constants, and GELUs written out with
// Erf run as one at::gelu. Anything unsupported is refused there, with Error(CheckpointInvalid) naming the
// node and the operator or attribute; nothing is refused later for being unknown.
//
// Run: the graph inputs are matched by name, each node runs in order and an intermediate is released after
// its last consumer; the graph outputs are returned by name. Semantics are ONNX's (numpy broadcasting,
// negative axes, opset 11's attribute forms and opset 13's input forms of Squeeze / Unsqueeze / ReduceMean,
// opset < 13's 2-D coercion in Softmax). Errors at run time: Error(InvalidArgument) naming the graph input
// (missing, not a graph input, undefined tensor) or the node whose operator refused its inputs (rank, shape,
// type), with libtorch's reason; never a crash.
//
// Supported operators: OnnxRunner::supportedOperators(). Default domain, opsets 11 to 17.
// Thread-safety: a loaded runner is immutable; run() may be called from several threads at once (each call
// has its own intermediates; libtorch's intra-op threads are the caller's setting). Runs under
// torch::InferenceMode; inputs must be CPU tensors of the types the graph expects (float32 for the PP-OCR
// graphs).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace uhdlens::onnx {

struct OnnxGraph;

using TensorMap = std::map<std::string, at::Tensor>;

class OnnxRunner
{
public:
    // OnnxFile::open's errors; Error(CheckpointInvalid) for a graph this runner cannot run (see above).
    static OnnxRunner load(const std::string &path);
    // The same from a parsed graph (its tensors are copied; `graph` and its bytes may go afterwards). `path`
    // is only used in messages.
    static OnnxRunner fromGraph(const OnnxGraph &graph, const std::string &path);

    // The graph's outputs by name. Error(InvalidArgument) as above.
    TensorMap run(const TensorMap &inputs) const;

    // Graph inputs that are not initialisers, and graph outputs, in file order.
    const std::vector<std::string> &inputNames() const { return m_inputs; }
    const std::vector<std::string> &outputNames() const { return m_outputs; }
    // ModelProto.metadata_props (the PP-OCR recogniser's "character" dictionary is there); nullptr when
    // absent.
    const std::string *metadataValue(const std::string &key) const;
    const std::vector<std::pair<std::string, std::string>> &metadata() const { return m_metadata; }
    int64_t opset() const { return m_opset; }
    // Nodes run per call, and nodes folded into constants at load time.
    size_t stepCount() const { return m_steps.size(); }
    size_t foldedCount() const { return m_folded; }
    // Written-out GELUs (Div, Erf, Add, Mul, Mul) run as one at::gelu step each.
    size_t fusedGeluCount() const { return m_fused; }

    static std::vector<std::string> supportedOperators();

    // One compiled node: its input / output slots and the kernel that maps input tensors (undefined for an
    // omitted optional input) to output tensors.
    using Kernel = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor> &)>;
    struct Step
    {
        std::string name, opType;
        std::vector<int> inputs, outputs; // slots; -1 for an omitted optional input
        std::vector<int> release;         // slots whose last consumer this step is
        Kernel kernel;
    };

private:
    std::string m_path;
    int64_t m_opset = 0;
    std::vector<std::string> m_inputs, m_outputs;
    std::vector<std::pair<std::string, std::string>> m_metadata;
    std::map<std::string, int> m_slotOf; // value name -> slot
    std::vector<at::Tensor> m_constants; // per slot: the constant's value, or undefined
    std::vector<int> m_inputSlots, m_outputSlots;
    std::vector<Step> m_steps;
    size_t m_folded = 0, m_fused = 0;
};

} // namespace uhdlens::onnx
