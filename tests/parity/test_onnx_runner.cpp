// The ONNX runner (core/src/onnx/onnx_runner.h) against onnxruntime on small graphs that together use every
// operator and attribute form it supports: two torch.onnx.export graphs at opset 11 (a CNN with the PP-OCR
// convolution, pooling, upsampling and squeeze-excite forms; an attention block as the recogniser's neck),
// the attention block again at opset 13 (Squeeze / Unsqueeze axes as inputs), and a graph built with
// onnx.helper for the forms the exporter does not write (auto_pad SAME_UPPER, Resize with roi, Shape ->
// Reshape, opset 11's Softmax, negative Slice steps, asymmetric AveragePool pads). Fixture:
// tests/data/reference/onnx-ops (tests/tools/reference/onnx_ops_fixture.py).
#include "onnx/onnx_file.h"
#include "onnx/onnx_runner.h"
#include "safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <set>

using namespace uhdlens;
using namespace uhdlens::onnx;

namespace {

const std::string kDir = UHDLENS_TEST_DATA "/reference/onnx-ops";

const Checkpoint &fixture()
{
    static const Checkpoint stored = Checkpoint::open(kDir + "/reference.safetensors");
    return stored;
}

// Runs graph `name` on its k-th fixture input and returns the largest |difference| from onnxruntime over all
// outputs (each output also checked for shape).
double maxDifference(const std::string &name, int k)
{
    const OnnxRunner r = OnnxRunner::load(kDir + "/" + name + ".onnx");
    TensorMap in;
    for (const std::string &i : r.inputNames())
        in[i] = fixture().get(name + ".in." + i + "." + std::to_string(k)).clone();
    const TensorMap out = r.run(in);
    double worst = 0;
    for (const std::string &o : r.outputNames()) {
        const at::Tensor want = fixture().get(name + ".out." + o + "." + std::to_string(k));
        const at::Tensor &got = out.at(o);
        EXPECT_EQ(got.sizes(), want.sizes()) << name << " " << o;
        if (got.sizes() != want.sizes())
            return 1e9;
        worst = std::max(worst, (got - want).abs().max().item<double>());
    }
    return worst;
}

} // namespace

TEST(OnnxRunnerParity, ExportedConvNetEqualsOnnxRuntimeAtTwoSizes)
{
    for (int k : {0, 1}) { // [1, 3, 24, 16] and [2, 3, 48, 40]: batch, height and width dynamic
        const double err = maxDifference("convnet-op11", k);
        EXPECT_LT(err, 2e-5) << "input " << k << ": max abs difference from onnxruntime " << err;
        std::cout << "convnet-op11 input " << k << ": max |diff| from onnxruntime " << err << "\n";
    }
}

TEST(OnnxRunnerParity, ExportedAttentionEqualsOnnxRuntimeAtOpsets11And13)
{
    for (const char *name : {"attention-op11", "attention-op13"}) {
        const double err = maxDifference(name, 0);
        EXPECT_LT(err, 2e-5) << name << ": max abs difference from onnxruntime " << err;
        std::cout << name << ": max |diff| from onnxruntime " << err << "\n";
    }
}

TEST(OnnxRunnerParity, HandmadePpocrFormsEqualOnnxRuntime)
{
    const double err = maxDifference("handmade-op11", 0);
    EXPECT_LT(err, 2e-5) << "max abs difference from onnxruntime " << err;
    std::cout << "handmade-op11: max |diff| from onnxruntime " << err << "\n";
    const OnnxRunner r = OnnxRunner::load(kDir + "/handmade-op11.onnx");
    ASSERT_NE(r.metadataValue("character"), nullptr);
    EXPECT_EQ(*r.metadataValue("character"), "a\nb\nc");
    EXPECT_EQ(r.opset(), 11);
}

TEST(OnnxRunnerParity, FixtureGraphsUseEverySupportedOperator)
{
    std::set<std::string> used;
    for (const char *name : {"convnet-op11", "attention-op11", "attention-op13", "handmade-op11"}) {
        const OnnxFile f = OnnxFile::open(kDir + "/" + name + ".onnx");
        for (const OnnxNode &n : f.graph().nodes)
            used.insert(n.opType);
    }
    const std::vector<std::string> ops = OnnxRunner::supportedOperators();
    for (const std::string &op : ops)
        EXPECT_TRUE(used.count(op)) << op << " is supported but no fixture graph uses it";
    // ... and every operator of the two PP-OCRv6 small graphs (/work/notes/ppocr.md) is supported.
    for (const char *op : {"Conv",
                           "ConvTranspose",
                           "Add",
                           "Mul",
                           "Div",
                           "Sub",
                           "Pow",
                           "Sqrt",
                           "Erf",
                           "Relu",
                           "Sigmoid",
                           "HardSigmoid",
                           "GlobalAveragePool",
                           "AveragePool",
                           "MaxPool",
                           "Resize",
                           "ReduceMean",
                           "Concat",
                           "MatMul",
                           "Transpose",
                           "Reshape",
                           "Slice",
                           "Squeeze",
                           "Unsqueeze",
                           "Shape",
                           "Softmax",
                           "BatchNormalization",
                           "Identity"})
        EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << op;
}

TEST(OnnxRunnerParity, IntermediatesAreReleasedAndRunsAreRepeatable)
{
    const OnnxRunner r = OnnxRunner::load(kDir + "/convnet-op11.onnx");
    const at::Tensor x = fixture().get("convnet-op11.in.x.0").clone();
    const TensorMap a = r.run({{"x", x}}), b = r.run({{"x", x}});
    for (const auto &[name, t] : a)
        EXPECT_TRUE(at::equal(t, b.at(name))) << name;
    EXPECT_GT(r.foldedCount(), 0u);    // the exporter's Constant nodes
    EXPECT_EQ(r.fusedGeluCount(), 1u); // F.gelu, written out with Erf by the exporter
}
