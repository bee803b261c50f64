// Training setup of the bundled model: the preset configs build real uhd-paper models with the intended slicing,
// and bad options are refused before anything is written. (The loss actually falling is the smoke test
// smoke.train, tests/smoke/train_smoke.cmake.)
#include "model_family.h"

#include "uhdlens/errors.h"
#include "uhdlens/training.h"

#include <gtest/gtest.h>

#include <QDir>
#include <QTemporaryDir>

using namespace uhdlens;

TEST(TrainingConfig, PresetsBuildUhdPaperModelsWithTheirPolicy)
{
    for (const char *preset : {"tiny", "micro"}) {
        const auto uhd = nlohmann::json::parse(trainingConfigJson(preset, "llava-uhd"));
        const auto low = nlohmann::json::parse(trainingConfigJson(preset, "llava15"));
        EXPECT_EQ(detectFamily(uhd), "uhd-paper");
        auto m = createFamilyModel(uhd, nullptr);
        auto b = createFamilyModel(low, nullptr);
        EXPECT_EQ(m->policy().kind, PolicyKind::LlavaUhd) << preset;
        EXPECT_GT(m->policy().maxSlices, 1) << preset;
        // The baseline: same modules and sizes, slicing off (overview only), the same 64 tokens per view.
        EXPECT_EQ(b->policy().maxSlices, 1) << preset;
        EXPECT_EQ(b->tokensPerImage(), 64);
        EXPECT_EQ(m->tokensPerImage(), 64);
        EXPECT_EQ(m->namedParameters().size(), b->namedParameters().size());
        const SlicePlan big = planSlices({1600, 1000}, b->policy());
        EXPECT_FALSE(big.grid.has_value());
        EXPECT_EQ(big.encodedImages().size(), 1u);
        const SlicePlan sliced = planSlices({1600, 1000}, m->policy());
        EXPECT_GT(sliced.encodedImages().size(), 2u);
        // Every encoded side is a multiple of the ViT patch.
        for (const auto &e : sliced.encodedImages()) {
            EXPECT_EQ(e.size.width % 14, 0);
            EXPECT_EQ(e.size.height % 14, 0);
        }
    }
    // The shipped preset stays within the 25 MB weight budget in bf16.
    auto tiny = createFamilyModel(nlohmann::json::parse(trainingConfigJson("tiny", "llava-uhd")), nullptr);
    int64_t params = 0;
    for (const auto &p : tiny->namedParameters())
        params += p.second.numel();
    EXPECT_LT(params * 2, 25'000'000);
    EXPECT_GT(params, 1'000'000);
}

TEST(TrainingConfig, BadOptionsRefusedBeforeWriting)
{
    QTemporaryDir tmp;
    ASSERT_TRUE(tmp.isValid());
    const std::string out = (tmp.path() + QStringLiteral("/model")).toStdString();
    auto refused = [&](TrainOptions o, const char *what) {
        o.outDir = o.outDir.empty() ? std::string() : out;
        EXPECT_FALSE(o.validate().empty()) << what;
        try {
            train(o);
            ADD_FAILURE() << what << ": trained anyway";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << what;
        }
        EXPECT_FALSE(QDir(QString::fromStdString(out)).exists()) << what;
    };
    TrainOptions base;
    base.outDir = "x";
    EXPECT_TRUE(base.validate().empty()) << base.validate();
    TrainOptions o = base;
    o.outDir.clear();
    refused(o, "no output folder");
    o = base;
    o.steps = 0;
    refused(o, "zero steps");
    o = base;
    o.policy = "squeeze";
    refused(o, "unknown policy");
    o = base;
    o.preset = "huge";
    refused(o, "unknown preset");
    o = base;
    o.lr = 0;
    refused(o, "zero learning rate");
    o = base;
    o.clipNorm = -1;
    refused(o, "negative clip");
    o = base;
    o.maxSide = 50;
    refused(o, "image sides out of range");
    o = base;
    o.dtype = "f16";
    refused(o, "unsupported dtype");
    o = base;
    o.readTextProbability = 1.5;
    refused(o, "read-text probability above 1");
    o = base;
    o.readTextWords = 0;
    refused(o, "no words to read");
    EXPECT_THROW(trainingConfigJson("tiny", "squeeze"), Error);
    EXPECT_THROW(trainingConfigJson("huge", "llava-uhd"), Error);
}
