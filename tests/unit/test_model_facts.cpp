// The name tables of uhdlens/model_facts.h: every enum round-trips through its one table, names parse once with
// a typed error that names the bad value and lists the choices, and the spellings users see never change.
#include "uhdlens/errors.h"
#include "uhdlens/model_facts.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace uhdlens;

namespace {

template <class E> void expectRoundTrip()
{
    const std::vector<std::string> names = allNames<E>();
    ASSERT_FALSE(names.empty());
    for (const std::string &n : names) {
        const E value = parseName<E>(n);
        EXPECT_EQ(nameOf(value), n);
        EXPECT_EQ(fromName<E>(n), value);
    }
}

template <class E> Error parseError(std::string_view text)
{
    try {
        parseName<E>(text);
    } catch (const Error &e) {
        return e;
    }
    ADD_FAILURE() << "'" << text << "' must be refused";
    return Error(ErrorCode::Internal, "no error");
}

} // namespace

TEST(ModelFacts, EveryNameRoundTrips)
{
    expectRoundTrip<Family>();
    expectRoundTrip<Device>();
    expectRoundTrip<Dtype>();
    expectRoundTrip<StopReason>();
}

// These spellings are stored in QSettings, printed by `uhdlens-cli ask --json` and shown in the model panel.
TEST(ModelFacts, UserVisibleSpellingsAreStable)
{
    EXPECT_EQ(allNames<Family>(),
              (std::vector<std::string>{"minicpmv", "llava-uhd", "uhd-paper", "minicpmv26", "minicpmv45"}));
    EXPECT_EQ(allNames<Device>(), (std::vector<std::string>{"auto", "cpu", "cuda"}));
    EXPECT_EQ(allNames<Dtype>(), (std::vector<std::string>{"auto", "f32", "mixed", "bf16", "f16"}));
    EXPECT_EQ(allNames<StopReason>(),
              (std::vector<std::string>{"eos", "stop-string", "max-tokens", "cancelled"}));
    EXPECT_EQ(validNamesText<Dtype>(), "auto, f32, mixed, bf16 or f16");
    // Aliases parse to the canonical value but are never listed.
    EXPECT_EQ(parseName<Dtype>("bfloat16"), Dtype::Bf16);
    EXPECT_EQ(parseName<Dtype>("fp32"), Dtype::F32);
    EXPECT_EQ(nameOf(Dtype::F16), "f16");
    EXPECT_EQ(familyLayout(Family::MiniCpmV), TokenLayout::MiniCpmV2);
    EXPECT_EQ(familyLayout(Family::LlavaUhd), TokenLayout::LlavaUhdRelease);
    EXPECT_EQ(familyLayout(Family::UhdPaper), TokenLayout::LlavaUhdPaper);
    const std::vector<std::string> minicpmv = familySpecialTokens(Family::MiniCpmV);
    EXPECT_NE(std::find(minicpmv.begin(), minicpmv.end(), "<slice>"), minicpmv.end());
    EXPECT_TRUE(familySpecialTokens(Family::UhdPaper).empty());
}

TEST(ModelFacts, BadNamesAreTypedErrorsNamingTheValueAndTheChoices)
{
    const Error dtype = parseError<Dtype>("int3");
    EXPECT_EQ(dtype.code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(dtype.subject(), "int3");
    EXPECT_EQ(std::string(dtype.what()), "unknown dtype 'int3' (choose auto, f32, mixed, bf16 or f16)");
    const Error device = parseError<Device>("tpu");
    EXPECT_EQ(std::string(device.what()), "unknown device 'tpu' (choose auto, cpu or cuda)");
    const Error family = parseError<Family>("gpt2");
    EXPECT_EQ(family.code(), ErrorCode::UnknownFamily);
    EXPECT_NE(std::string(family.what()).find("minicpmv, llava-uhd, uhd-paper, minicpmv26 or minicpmv45"),
              std::string::npos)
        << family.what();
    EXPECT_EQ(parseError<StopReason>("").subject(), "");
    // Exact, case-sensitive: a near miss is refused rather than guessed.
    EXPECT_FALSE(fromName<Dtype>("BF16").has_value());
    EXPECT_FALSE(fromName<Family>("minicpmv ").has_value());
}

TEST(ModelFacts, DeviceChoices)
{
    EXPECT_EQ(parseDevice("auto"), (DeviceChoice{Device::Auto, 0}));
    EXPECT_EQ(parseDevice("cpu"), (DeviceChoice{Device::Cpu, 0}));
    EXPECT_EQ(parseDevice("cuda"), (DeviceChoice{Device::Cuda, 0}));
    EXPECT_EQ(parseDevice("cuda:3"), (DeviceChoice{Device::Cuda, 3}));
    EXPECT_EQ(deviceChoiceName(parseDevice("cuda:3")), "cuda:3");
    EXPECT_EQ(deviceChoiceName(parseDevice("cuda")), "cuda");
    for (const char *bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1x", "gpu", "CPU", ""}) {
        try {
            parseDevice(bad);
            ADD_FAILURE() << "'" << bad << "' must be refused";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << bad;
            EXPECT_EQ(e.subject(), bad);
        }
    }
}

TEST(ModelFacts, PadColourOfAMean)
{
    EXPECT_EQ(padColourForMean(PixelNorm{}.mean), (RgbColour{127, 127, 127})); // int(0.5*255) = 127
    const float clip[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    EXPECT_EQ(padColourForMean(clip), kClipMeanColour);
}
