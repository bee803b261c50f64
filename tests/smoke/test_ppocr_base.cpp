// The PP-OCRv6 small detector and recogniser of the installed base weights (rapidocr 3.10.0; installer/
// fetch-base-weights.sh, skipped when absent) run by the ONNX runner (core/src/onnx/onnx_runner.h) against
// onnxruntime running the same graphs on the same input (fixture tests/data/reference/onnx-ops/
// ppocr-reference.safetensors, tests/tools/reference/onnx_ops_fixture.py): det on [1, 3, 96, 160], rec on
// [1, 3, 48, 160], both the pattern of dinov2_pattern.h. Also: a graph with an operator the runner lacks is
// refused at load time, naming it.
#include "../parity/dinov2_pattern.h"
#include "onnx/onnx_file.h"
#include "onnx/onnx_runner.h"
#include "safetensors.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>

using namespace uhdlens;
using namespace uhdlens::onnx;

namespace {

const std::string kFixture = UHDLENS_TEST_DATA "/reference/onnx-ops/ppocr-reference.safetensors";

#define SKIP_WITHOUT_PPOCR()                                                                                 \
    if (findBaseWeight(kPpocrDetOnnxFile).empty() || findBaseWeight(kPpocrRecOnnxFile).empty())              \
    GTEST_SKIP() << "base weights not installed (" << baseWeightsDir() << "/" << kPpocrDetOnnxFile << ", "   \
                 << kPpocrRecOnnxFile << "): run " << kBaseWeightsCommand

at::Tensor fixture(const std::string &name)
{
    static const Checkpoint stored = Checkpoint::open(kFixture);
    return stored.get(name).clone();
}

double seconds(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

TEST(PpocrReal, DetectorEqualsOnnxRuntime)
{
    SKIP_WITHOUT_PPOCR();
    const OnnxRunner det = OnnxRunner::load(findBaseWeight(kPpocrDetOnnxFile));
    ASSERT_EQ(det.inputNames(), std::vector<std::string>{"x"});
    ASSERT_EQ(det.outputNames().size(), 1u);
    const auto t0 = std::chrono::steady_clock::now();
    const at::Tensor prob = det.run({{"x", test::dinov2Pattern(96, 160)}}).at(det.outputNames()[0]);
    const double ms = 1000 * seconds(t0);
    ASSERT_EQ(prob.sizes().vec(), (std::vector<int64_t>{1, 1, 96, 160}));
    const at::Tensor want = fixture("det.out"); // every 4th row
    const at::Tensor got = prob.slice(2, 0, 96, 4);
    const double err = (got - want).abs().max().item<double>();
    EXPECT_LT(err, 1e-4) << "max abs difference from onnxruntime " << err;
    // rapidocr's DB threshold 0.3: the same pixels are text
    EXPECT_TRUE(at::equal(got > 0.3, want > 0.3));
    std::cout << "det [1, 3, 96, 160]: " << det.stepCount() << " nodes run, " << det.foldedCount()
              << " folded, " << ms << " ms, max |diff| from onnxruntime " << err << "\n";
}

TEST(PpocrReal, RecogniserEqualsOnnxRuntime)
{
    SKIP_WITHOUT_PPOCR();
    const OnnxRunner rec = OnnxRunner::load(findBaseWeight(kPpocrRecOnnxFile));
    const std::string *dict = rec.metadataValue("character");
    ASSERT_NE(dict, nullptr);
    EXPECT_EQ(std::count(dict->begin(), dict->end(), '\n') + 1, 18708); // + blank + space = 18710 classes
    const auto t0 = std::chrono::steady_clock::now();
    const at::Tensor y = rec.run({{"x", test::dinov2Pattern(48, 160)}}).at(rec.outputNames()[0]);
    const double ms = 1000 * seconds(t0);
    ASSERT_EQ(y.sizes().vec(), (std::vector<int64_t>{1, 20, 18710}));
    const at::Tensor cols = y.slice(2, 0, 18710, 97);
    const double err = (cols - fixture("rec.cols")).abs().max().item<double>();
    const double maxErr = (std::get<0>(y.max(-1)) - fixture("rec.max")).abs().max().item<double>();
    EXPECT_LT(err, 1e-4) << "max abs difference from onnxruntime " << err;
    EXPECT_LT(maxErr, 1e-4);
    EXPECT_TRUE(at::equal(y.argmax(-1), fixture("rec.argmax"))); // the greedy CTC classes
    std::cout << "rec [1, 3, 48, 160]: " << rec.stepCount() << " nodes run, " << rec.foldedCount()
              << " folded, " << ms << " ms, max |diff| from onnxruntime " << std::max(err, maxErr) << "\n";
}

TEST(PpocrReal, GraphWithAnUnknownOperatorIsRefusedAtLoad)
{
    SKIP_WITHOUT_PPOCR();
    // The real detector with its last node's operator renamed, as a graph from a newer exporter might have
    // it.
    OnnxFile f = OnnxFile::open(findBaseWeight(kPpocrDetOnnxFile));
    OnnxGraph g = f.graph();
    ASSERT_FALSE(g.nodes.empty());
    OnnxNode &last = g.nodes.back();
    const std::string lastName = last.name;
    last.opType = "GridSample";
    try {
        (void)OnnxRunner::fromGraph(g, "renamed.onnx");
        FAIL() << "a graph with GridSample was accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid);
        EXPECT_NE(std::string(e.what()).find("node '" + lastName +
                                             "' (GridSample): the operator 'GridSample' is "
                                             "not supported"),
                  std::string::npos)
            << e.what();
    }
}
