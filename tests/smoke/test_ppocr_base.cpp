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
#include <cstdlib>
#include <iostream>
#include <vector>

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
    EXPECT_EQ(det.fusedGeluCount(), 13u); // the 13 Erf of the note's operator count
    std::cout << "det [1, 3, 96, 160]: " << det.stepCount() << " steps run, " << det.foldedCount()
              << " folded, " << det.fusedGeluCount() << " GELUs fused, " << ms
              << " ms, max |diff| from onnxruntime " << err << "\n";
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
    EXPECT_EQ(rec.fusedGeluCount(), 13u);
    std::cout << "rec [1, 3, 48, 160]: " << rec.stepCount() << " steps run, " << rec.foldedCount()
              << " folded, " << rec.fusedGeluCount() << " GELUs fused, " << ms
              << " ms, max |diff| from onnxruntime " << std::max(err, maxErr) << "\n";
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

// Time per image with one intra-op thread, as the note on PP-OCR measured onnxruntime (/work/notes/ppocr.md):
// det on 1280x800 (a screenshot at native size), rec on one 640-wide line and on a batch of 6 320-wide lines;
// median of 5 runs after one warm-up. Only with UHDLENS_BENCH_PPOCR=1 (it takes ~15 s):
//   UHDLENS_BENCH_PPOCR=1 build/tests/uhdlens_smollm_smoke_tests --gtest_filter='PpocrReal.TimePerImage'
TEST(PpocrReal, TimePerImage)
{
    SKIP_WITHOUT_PPOCR();
    if (!std::getenv("UHDLENS_BENCH_PPOCR"))
        GTEST_SKIP() << "set UHDLENS_BENCH_PPOCR=1 to time the det and rec graphs";
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const auto median = [](const OnnxRunner &r, const at::Tensor &x) {
        (void)r.run({{"x", x}});
        std::vector<double> t;
        for (int i = 0; i < 5; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            (void)r.run({{"x", x}});
            t.push_back(seconds(t0));
        }
        std::sort(t.begin(), t.end());
        return t[2];
    };
    const OnnxRunner det = OnnxRunner::load(findBaseWeight(kPpocrDetOnnxFile));
    const OnnxRunner rec = OnnxRunner::load(findBaseWeight(kPpocrRecOnnxFile));
    const double d = median(det, test::dinov2Pattern(800, 1280));
    const double r1 = median(rec, test::dinov2Pattern(48, 640));
    const double r6 = median(rec, test::dinov2Pattern(48, 320).expand({6, 3, 48, 320}).contiguous());
    at::set_num_threads(threads);
    std::cout << "one thread, median of 5: det [1, 3, 800, 1280] " << d << " s; rec [1, 3, 48, 640] " << r1
              << " s; rec [6, 3, 48, 320] " << r6 << " s\n";
    EXPECT_GT(d, 0);
}
