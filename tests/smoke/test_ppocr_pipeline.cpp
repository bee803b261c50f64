// The C++ PP-OCR pipeline (core/src/ppocr.h). Without the base weights: DB post-processing on hand-made
// probability maps, greedy CTC decoding, the dictionary, and bad input (missing and corrupt graphs, empty
// image). With them (installer/fetch-base-weights.sh; skipped with the reason when absent): parity with
// rapidocr 3.10.0's full pipeline on three small images (fixture tests/data/reference/ppocr/lines.json,
// written by tests/tools/reference/ppocr_pipeline_fixture.py): the same line texts, boxes within a few
// pixels; tiny and very flat images.
#include "ppocr.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <QImage>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>

using namespace uhdlens;

namespace {

#define SKIP_WITHOUT_PPOCR()                                                                                 \
    if (findBaseWeight(kPpocrDetOnnxFile).empty() || findBaseWeight(kPpocrRecOnnxFile).empty())              \
    GTEST_SKIP() << "base weights not installed (" << baseWeightsDir() << "/" << kPpocrDetOnnxFile << ", "   \
                 << kPpocrRecOnnxFile << "): run " << kBaseWeightsCommand

const ppocr::Recogniser &recogniser()
{
    static const ppocr::Recogniser r = ppocr::Recogniser::loadBaseWeights();
    return r;
}

} // namespace

TEST(PpocrPipeline, DbBoxesFromAHandMadeMap)
{
    // two blobs of probability 0.9 on a 64x128 map, one too thin (2 rows) to be kept, one low-scoring
    at::Tensor prob = at::zeros({64, 128});
    prob.slice(0, 10, 20).slice(1, 20, 80).fill_(0.9);   // a line: kept
    prob.slice(0, 40, 42).slice(1, 10, 60).fill_(0.9);   // short side < 3 after dilation: dropped
    prob.slice(0, 30, 36).slice(1, 90, 120).fill_(0.35); // above 0.3 but mean < 0.5: dropped
    const auto boxes = ppocr::dbBoxes(prob, 256, 128);   // the map is half the image's size
    ASSERT_EQ(boxes.size(), 1u);
    const ppocr::DetBox &b = boxes[0];
    EXPECT_NEAR(b.score, 0.9 * (10 * 60) / (11 * 61),
                1e-3); // the dilated bounds include one more row, column
    // bounds 20..80 x 10..20 (dilated), moved out by 60*10*1.6/140 = 6.86 -> 13..87 x 3..27, times 2
    EXPECT_EQ(b.x0, 26);
    EXPECT_EQ(b.x1, 174);
    EXPECT_EQ(b.y0, 6);
    EXPECT_EQ(b.y1, 54);
    EXPECT_TRUE(ppocr::dbBoxes(at::zeros({32, 32}), 32, 32).empty());
}

TEST(PpocrPipeline, SortBoxesInRapidocrReadingOrder)
{
    std::vector<ppocr::DetBox> boxes{{100, 12, 150, 30}, {0, 40, 50, 60}, {0, 15, 50, 30}, {60, 8, 90, 30}};
    ppocr::sortBoxes(boxes);
    // tops 8, 12, 15 are one row (steps < 10), 40 the next
    EXPECT_EQ(boxes[0].x0, 0);
    EXPECT_EQ(boxes[0].y0, 15);
    EXPECT_EQ(boxes[1].x0, 60);
    EXPECT_EQ(boxes[2].x0, 100);
    EXPECT_EQ(boxes[3].y0, 40);
}

TEST(PpocrPipeline, GreedyCtcAndDictionary)
{
    const auto classes = ppocr::dictionaryClasses("a\nb\r\nc");
    ASSERT_EQ(classes.size(), 5u);
    EXPECT_EQ(classes[0], "blank");
    EXPECT_EQ(classes[2], "b");
    EXPECT_EQ(classes[4], " ");
    // columns: a a blank a b b space c
    const std::vector<int> path{1, 1, 0, 1, 2, 2, 4, 3};
    at::Tensor probs = at::full({8, 5}, 0.01);
    for (size_t t = 0; t < path.size(); ++t)
        probs[int64_t(t)][path[t]] = 0.9;
    const auto chars = ppocr::ctcGreedy(probs);
    std::string text;
    for (const auto &c : chars)
        text += classes[size_t(c.classIndex)];
    EXPECT_EQ(text, "aab c");
    ASSERT_EQ(chars.size(), 5u);
    EXPECT_EQ(chars[0].column, 0);
    EXPECT_EQ(chars[1].column, 3);
    EXPECT_EQ(chars[2].column, 4);
    EXPECT_EQ(chars[4].column, 7);
    EXPECT_FLOAT_EQ(chars[0].probability, 0.9f);
}

TEST(PpocrPipeline, MissingAndCorruptGraphsAreTypedErrors)
{
    QTemporaryDir dir;
    const std::string missing = dir.filePath("nothing.onnx").toStdString();
    try {
        ppocr::Recogniser::load(missing, missing);
        FAIL() << "loaded a missing file";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound) << e.what();
    }
    const std::string corrupt = dir.filePath("corrupt.onnx").toStdString();
    std::ofstream(corrupt, std::ios::binary) << "this is not a protobuf \x01\x02\xff\xff\xff";
    try {
        ppocr::Recogniser::load(corrupt, corrupt);
        FAIL() << "loaded a corrupt file";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid) << e.what();
    }
}

TEST(PpocrReal, EmptyTinyAndFlatImages)
{
    SKIP_WITHOUT_PPOCR();
    const auto &ocr = recogniser();
    try {
        ocr.recognise(QImage());
        FAIL() << "read an empty image";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::ImageEmpty) << e.what();
    }
    QImage tiny(5, 3, QImage::Format_RGB32);
    tiny.fill(Qt::white);
    EXPECT_TRUE(ocr.recognise(tiny).empty());
    QImage flat(4000, 20, QImage::Format_RGB32); // 200:1, beyond what rapidocr's scaling allows
    flat.fill(Qt::white);
    try {
        ocr.recognise(flat);
        FAIL() << "read a 200:1 image";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
    }
    QImage tall(20, 1900, QImage::Format_Grayscale8); // 1:95: the detector input would be 736x65504
    tall.fill(0);
    try {
        ocr.recognise(tall);
        FAIL() << "read a 1:95 image";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
        EXPECT_NE(std::string(e.what()).find("736x65504"), std::string::npos) << e.what();
    }
    QImage narrow(40, 300, QImage::Format_RGB32); // 1:7.5 goes in as 736x5536
    narrow.fill(Qt::white);
    EXPECT_TRUE(ocr.recognise(narrow).empty());
}

TEST(PpocrReal, LinesEqualRapidocr)
{
    SKIP_WITHOUT_PPOCR();
    std::ifstream in(UHDLENS_TEST_DATA "/reference/ppocr/lines.json");
    ASSERT_TRUE(in) << "fixture missing";
    const nlohmann::json fixture = nlohmann::json::parse(in);
    const auto &ocr = recogniser();
    int checked = 0;
    double maxBoxDiff = 0, maxScoreDiff = 0;
    for (const auto &im : fixture.at("images")) {
        const std::string path =
            std::string(UHDLENS_TEST_DATA) + "/../../" + im.at("path").get<std::string>();
        const QImage image(QString::fromStdString(path));
        ASSERT_FALSE(image.isNull()) << path;
        const auto lines = ocr.recognise(image);
        const auto &want = im.at("lines");
        ASSERT_EQ(lines.size(), want.size()) << im.at("name");
        for (size_t i = 0; i < lines.size(); ++i) {
            const auto &w = want[i];
            EXPECT_EQ(lines[i].text, w.at("text").get<std::string>()) << im.at("name") << " line " << i;
            // the crops differ where rapidocr's minimum-area rectangle is tilted by a fraction of a degree
            // (here axis-aligned): up to 0.012 on this set
            EXPECT_NEAR(lines[i].score, w.at("score").get<double>(), 0.02) << lines[i].text;
            maxScoreDiff =
                std::max(maxScoreDiff, std::abs(double(lines[i].score) - w.at("score").get<double>()));
            const auto box = w.at("box");
            const QRect &b = lines[i].box;
            const double got[4] = {double(b.left()), double(b.top()), double(b.right() + 1),
                                   double(b.bottom() + 1)};
            for (int k = 0; k < 4; ++k) {
                EXPECT_NEAR(got[k], box[size_t(k)].get<double>(), 2.0)
                    << lines[i].text << " coordinate " << k;
                maxBoxDiff = std::max(maxBoxDiff, std::abs(got[k] - box[size_t(k)].get<double>()));
            }
            std::string joined;
            for (const auto &word : lines[i].words) {
                EXPECT_TRUE(b.contains(word.box.center())) << word.text;
                if (!joined.empty())
                    joined += ' ';
                joined += word.text;
            }
            std::string spaced; // the line's words are its text split at spaces
            for (size_t a = 0, e; a < lines[i].text.size(); a = e + 1) {
                e = lines[i].text.find(' ', a);
                if (e == std::string::npos)
                    e = lines[i].text.size();
                if (e > a) {
                    if (!spaced.empty())
                        spaced += ' ';
                    spaced.append(lines[i].text, a, e - a);
                }
            }
            EXPECT_EQ(joined, spaced);
            ++checked;
        }
    }
    std::cout << checked << " lines, texts equal to rapidocr's; max box difference " << maxBoxDiff
              << " px, max score difference " << maxScoreDiff << "\n";
}
