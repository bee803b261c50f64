// Slice planner: exact agreement with the official Python slicers (golden file + a 19k-row CPython sweep),
// the §1.5 tie cases, and properties over >= 10,000 random sizes.
#include "uhdlens/model_facts.h"
#include "uhdlens/plan_json.h"
#include "uhdlens/slice_planner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

using namespace uhdlens;

namespace {

nlohmann::json loadGolden()
{
    std::ifstream in(std::string(UHDLENS_TEST_DATA) + "/golden-plans.json");
    EXPECT_TRUE(in.good());
    return nlohmann::json::parse(in);
}

void expectMatchesRecord(const SlicePlan &p, const nlohmann::json &e, const std::string &what)
{
    SCOPED_TRACE(what);
    if (e["grid"].is_null()) {
        EXPECT_FALSE(p.grid.has_value());
        EXPECT_FALSE(p.refine.has_value());
        EXPECT_EQ(p.sliceCount(), 0);
    } else {
        ASSERT_TRUE(p.grid.has_value());
        EXPECT_EQ(p.grid->cols, e["grid"][0].get<int>());
        EXPECT_EQ(p.grid->rows, e["grid"][1].get<int>());
        EXPECT_EQ(p.sliceCount(), e["n_slices"].get<int>());
        ASSERT_TRUE(p.refine.has_value());
        EXPECT_EQ(p.refine->width, e["refine"][0].get<int>());
        EXPECT_EQ(p.refine->height, e["refine"][1].get<int>());
        auto s = p.sliceImage();
        ASSERT_TRUE(s.has_value());
        EXPECT_EQ(s->size.width, e["slice"]["w"].get<int>());
        EXPECT_EQ(s->size.height, e["slice"]["h"].get<int>());
        EXPECT_EQ(s->patchCols, e["slice"]["patch_cols"].get<int>());
        EXPECT_EQ(s->patchRows, e["slice"]["patch_rows"].get<int>());
    }
    const EncodedImage ov = p.overviewImage();
    EXPECT_EQ(ov.size.width, e["overview"]["w"].get<int>());
    EXPECT_EQ(ov.size.height, e["overview"]["h"].get<int>());
    EXPECT_EQ(ov.patchCols, e["overview"]["patch_cols"].get<int>());
    EXPECT_EQ(ov.patchRows, e["overview"]["patch_rows"].get<int>());
}

} // namespace

// ------------------------------------------------------------------------------------------ helpers

TEST(SlicePlanner, EnsureDivideRoundsHalfToEvenOrFloors)
{
    struct Row { double length; int patch; Rounding r; int expected; };
    const Row rows[] = {
        {7, 14, Rounding::HalfToEven, 14},   // 0.5 -> 0 -> clamped to p
        {21, 14, Rounding::HalfToEven, 28},  // 1.5 -> 2
        {35, 14, Rounding::HalfToEven, 28},  // 2.5 -> 2 (std::round would give 3)
        {49, 14, Rounding::HalfToEven, 56},  // 3.5 -> 4
        {35, 14, Rounding::Floor, 28},
        {27.9, 14, Rounding::Floor, 14},
        {0, 14, Rounding::Floor, 14},
        {1000, 3, Rounding::HalfToEven, 999},
        {1001, 2, Rounding::HalfToEven, 1000}, // 500.5 -> 500
        {1003, 2, Rounding::HalfToEven, 1004}, // 501.5 -> 502
    };
    for (const Row &row : rows)
        EXPECT_EQ(detail::ensureDivide(row.length, row.patch, row.r), row.expected)
            << row.length << "/" << row.patch;
}

TEST(SlicePlanner, BestResizeTruncatesHeightFirst)
{
    // 1920x1080 overview (MiniCPM-V): r = 1.777..., h = int(448/sqrt(r)) = 336, w = int(336*r) = 597 -> 602.
    EXPECT_EQ(detail::bestResize(1920, 1080, 448, 14, false, Rounding::HalfToEven), (Size{602, 336}));
    // Small images are up-scaled only when asked.
    EXPECT_EQ(detail::bestResize(100, 100, 448, 14, false, Rounding::HalfToEven), (Size{98, 98}));
    EXPECT_EQ(detail::bestResize(100, 100, 448, 14, true, Rounding::HalfToEven), (Size{448, 448}));
}

TEST(SlicePlanner, CandidateOrderMatchesReference)
{
    const std::vector<Grid> c9 = detail::candidateGrids(9, 9); // 8 then 9; 10 is over the cap
    const std::vector<Grid> expect9 = {{1, 8}, {2, 4}, {4, 2}, {8, 1}, {1, 9}, {3, 3}, {9, 1}};
    EXPECT_EQ(c9, expect9);
    const std::vector<Grid> c2 = detail::candidateGrids(2, 9); // 1 skipped, then 2 and 3
    const std::vector<Grid> expect2 = {{1, 2}, {2, 1}, {1, 3}, {3, 1}};
    EXPECT_EQ(c2, expect2);
}

TEST(SlicePlanner, TieCasesResolveLikeFloat64Python)
{
    // §1.5: square tie between (2,3) and (3,2): ln(2/3) is a hair larger in magnitude in float64 -> (3,2).
    SlicePlan p = planSlices({1024, 1024}, SlicePolicy::minicpmv());
    ASSERT_TRUE(p.grid);
    EXPECT_EQ(*p.grid, (Grid{3, 2}));
    // Exact 4:1 with multiple 9: (4,2) and (8,1) tie mathematically, float64 picks (8,1).
    p = planSlices({4988, 1247}, SlicePolicy::minicpmv());
    ASSERT_TRUE(p.grid);
    EXPECT_EQ(*p.grid, (Grid{8, 1}));
    // Squares with multiple 2 tie exactly between (1,2) and (2,1): the first, (1,2), wins.
    p = planSlices({448, 448}, SlicePolicy::llavaUhd());
    ASSERT_TRUE(p.grid);
    EXPECT_EQ(*p.grid, (Grid{1, 2}));
}

TEST(SlicePlanner, Llava15IsOnePaddedSquare)
{
    SlicePlan p = planSlices({1920, 1080}, SlicePolicy::llava15());
    EXPECT_FALSE(p.grid);
    EXPECT_TRUE(p.padToSquare);
    EXPECT_EQ(p.overview, (Size{336, 336}));
    EXPECT_EQ(imagePositions(p, TokenLayout::Llava15), 576);
    EXPECT_NEAR(p.downscaleFactor(), 1920.0 / 336.0, 1e-12);
}

TEST(SlicePlanner, NeverSplitAndMaxSlicesOverrides)
{
    SlicePolicy pol = SlicePolicy::minicpmv();
    pol.neverSplit = true;
    SlicePlan p = planSlices({3840, 2160}, pol);
    EXPECT_FALSE(p.grid);
    EXPECT_EQ(p.overview, (Size{602, 336}));
    pol = SlicePolicy::minicpmv();
    pol.maxSlices = 1;
    EXPECT_FALSE(planSlices({3840, 2160}, pol).grid);
    pol.maxSlices = 4;
    p = planSlices({3840, 2160}, pol);
    ASSERT_TRUE(p.grid);
    EXPECT_LE(p.grid->count(), 4);
}

TEST(SlicePlanner, InvalidInputsGiveReasonsNotCrashes)
{
    EXPECT_FALSE(validateSize({0, 10}).empty());
    EXPECT_FALSE(validateSize({10, -1}).empty());
    EXPECT_FALSE(validateSize({100001, 10}).empty());
    EXPECT_TRUE(validateSize({100000, 100000}).empty());
    SlicePolicy bad = SlicePolicy::minicpmv();
    bad.patch = 0;
    EXPECT_FALSE(bad.validate().empty());
    EXPECT_EQ(planSlices({100, 100}, bad).encodedImages().size(), 0u);
    bad = SlicePolicy::minicpmv();
    bad.maxSlices = 0;
    EXPECT_FALSE(bad.validate().empty());
    bad = SlicePolicy::minicpmv();
    bad.scale = 7;
    EXPECT_FALSE(bad.validate().empty());
    EXPECT_EQ(planSlices({0, 0}, SlicePolicy::minicpmv()).encodedImages().size(), 0u);
    EXPECT_FALSE(SlicePolicy::fromName("llava-2").has_value());
    EXPECT_FALSE(SlicePolicy::fromName("").has_value());
}

TEST(SlicePlanner, TokenLayouts)
{
    // 672x1088 under LLaVA-UHD ECCV: 2x3 grid -> 144*(6+1) + 6 = 1014 (spec §4.1).
    SlicePlan p = planSlices({672, 1088}, SlicePolicy::llavaUhd());
    ASSERT_TRUE(p.grid);
    EXPECT_EQ(p.sliceCount(), 6);
    EXPECT_EQ(imagePositions(p, TokenLayout::LlavaUhdRelease), 1014);
    EXPECT_EQ(imagePositions(p, TokenLayout::LlavaUhdPaper), 64 * 7 + 6);
    // MiniCPM-V 1920x1080: 4x2 grid -> 9 images of 66 tokens + <slice></slice> + one row break, which the
    // reference tokenizer spells "▁" "<0x0A>" (2 positions; the old planner count said 1).
    p = planSlices({1920, 1080}, SlicePolicy::minicpmv());
    EXPECT_EQ(imagePositions(p, TokenLayout::MiniCpmV2), 9 * 66 + 2 + 2);
    // A loaded model's own query count replaces the layout's.
    EXPECT_EQ(imagePositions(p, TokenLayout::MiniCpmV2, 16), 9 * 18 + 2 + 2);
    p = planSlices({300, 200}, SlicePolicy::minicpmv());
    EXPECT_EQ(imagePositions(p, TokenLayout::MiniCpmV2), 66);
    EXPECT_EQ(imagePositions(p, TokenLayout::LlavaUhdRelease), 144);
    EXPECT_EQ(imagePositions(SlicePlan{}, TokenLayout::MiniCpmV2), 0); // empty plan: no span
}

TEST(SlicePlanner, JsonCarriesTheContractKeys)
{
    const nlohmann::json j = planToJson(planSlices({1920, 1080}, SlicePolicy::minicpmv()));
    for (const char *key : {"width", "height", "policy", "grid", "overview", "refine", "slice", "slices",
                            "visual_tokens"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["grid"], nlohmann::json::array({4, 2}));
    EXPECT_EQ(j["slices"].size(), 8u);
    EXPECT_EQ(j["slice"]["width"], 420);
    EXPECT_EQ(j["slice"]["height"], 476);
}

// ------------------------------------------------------------------------------------------ golden

TEST(SlicePlannerGolden, EveryRecordBothPolicies)
{
    const nlohmann::json golden = loadGolden();
    ASSERT_GE(golden["records"].size(), 50u);
    for (const auto &rec : golden["records"]) {
        const Size size{rec["w"].get<int>(), rec["h"].get<int>()};
        const std::string tag = std::to_string(size.width) + "x" + std::to_string(size.height);
        expectMatchesRecord(planSlices(size, SlicePolicy::minicpmv()), rec["minicpmv"], tag + " minicpmv");
        expectMatchesRecord(planSlices(size, SlicePolicy::llavaUhd()), rec["llava_uhd"], tag + " llava-uhd");
    }
}

TEST(SlicePlannerSweep, MatchesCPythonOnNineteenThousandPlans)
{
    std::ifstream in(std::string(UHDLENS_TEST_DATA) + "/plan-sweep.csv");
    ASSERT_TRUE(in.good());
    std::string line;
    std::getline(in, line); // header
    int rows = 0, mismatches = 0;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string f[9];
        for (auto &x : f)
            std::getline(ss, x, ',');
        const Size size{std::stoi(f[0]), std::stoi(f[1])};
        const SlicePlan p = planSlices(size, *SlicePolicy::fromName(f[2]));
        const int gc = std::stoi(f[3]), gr = std::stoi(f[4]);
        bool ok = p.overview == Size{std::stoi(f[5]), std::stoi(f[6])};
        if (gc == 0)
            ok = ok && !p.grid && !p.refine;
        else
            ok = ok && p.grid && *p.grid == Grid{gc, gr} && p.refine &&
                 *p.refine == Size{std::stoi(f[7]), std::stoi(f[8])};
        if (!ok && ++mismatches <= 10)
            ADD_FAILURE() << "mismatch with CPython: " << line;
        ++rows;
    }
    EXPECT_GT(rows, 19000);
    EXPECT_EQ(mismatches, 0);
}

// ------------------------------------------------------------------------------------------ properties

TEST(SlicePlannerProperty, RandomSizesTileExactlyAndStayInBudget)
{
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> logSide(0.0, std::log(100000.0));
    std::uniform_int_distribution<int> common(1, 6000);
    const SlicePolicy policies[] = {SlicePolicy::minicpmv(), SlicePolicy::llavaUhd(), SlicePolicy::llava15()};
    for (int i = 0; i < 12000; ++i) {
        const Size size = (i % 2) ? Size{common(rng), common(rng)}
                                  : Size{std::max(1, static_cast<int>(std::exp(logSide(rng)))),
                                         std::max(1, static_cast<int>(std::exp(logSide(rng))))};
        for (const SlicePolicy &pol : policies) {
            const SlicePlan p = planSlices(size, pol);
            const int P = pol.patch;
            SCOPED_TRACE(std::to_string(size.width) + "x" + std::to_string(size.height) + " " + pol.name());
            ASSERT_GT(p.overview.width, 0);
            ASSERT_EQ(p.overview.width % P, 0);
            ASSERT_EQ(p.overview.height % P, 0);
            const int layoutTokens = imagePositions(p, pol.defaultLayout());
            const int perImage = tokensPerImage(pol.defaultLayout());
            const int n = p.sliceCount();
            if (!p.grid) {
                ASSERT_EQ(n, 0);
                ASSERT_EQ(layoutTokens, pol.kind == PolicyKind::MiniCpmV ? perImage + 2 : perImage);
                continue;
            }
            ASSERT_LE(p.grid->count(), pol.maxSlices);
            ASSERT_GE(p.grid->count(), 2);
            ASSERT_TRUE(p.refine && p.slice);
            ASSERT_EQ(p.slice->width % P, 0);
            ASSERT_EQ(p.slice->height % P, 0);
            // Tiling: row-major, no gaps or overlaps, union = refined image.
            ASSERT_EQ(n, p.grid->count());
            long long area = 0;
            for (int k = 0; k < n; ++k) {
                const Rect &r = p.slices[static_cast<size_t>(k)];
                ASSERT_EQ(r.x, (k % p.grid->cols) * p.slice->width);
                ASSERT_EQ(r.y, (k / p.grid->cols) * p.slice->height);
                ASSERT_EQ(r.width, p.slice->width);
                ASSERT_EQ(r.height, p.slice->height);
                area += static_cast<long long>(r.width) * r.height;
            }
            ASSERT_EQ(area, static_cast<long long>(p.refine->width) * p.refine->height);
            // The chosen grid has the smallest log-aspect error of all candidates (the paper's score).
            const double lr = std::log(static_cast<double>(size.width) / size.height);
            const double chosen = std::fabs(lr - std::log(static_cast<double>(p.grid->cols) / p.grid->rows));
            const int multiple =
                std::min(static_cast<int>(std::ceil(double(size.width) * size.height / (double(pol.scale) * pol.scale))),
                         pol.maxSlices);
            for (const Grid &g : detail::candidateGrids(multiple, pol.maxSlices))
                ASSERT_LE(chosen, std::fabs(lr - std::log(static_cast<double>(g.cols) / g.rows)));
            // Slice count within one of the ideal N = ceil(W*H/S^2) (capped).
            ASSERT_LE(std::abs(n - multiple), 1);
            // Token count formula.
            if (pol.kind == PolicyKind::MiniCpmV)
                ASSERT_EQ(layoutTokens,
                          (n + 1) * (perImage + 2) + 2 + 2 * (p.grid->rows - 1)); // "\n": 2 positions
            else
                ASSERT_EQ(layoutTokens, (n + 1) * perImage + n);
            // Original-coordinate rectangles cover the image exactly.
            const Rect last = p.sliceInOriginal(n - 1);
            ASSERT_EQ(last.x + last.width, size.width);
            ASSERT_EQ(last.y + last.height, size.height);
        }
    }
}

TEST(SlicePlannerProperty, ExtremeSizesNeverCrash)
{
    const Size sizes[] = {{1, 1}, {1, 100000}, {100000, 1}, {100000, 100000}, {99999, 2}, {2, 99999}, {7, 7}};
    for (const Size s : sizes)
        for (const auto &name : SlicePolicy::names()) {
            SlicePolicy pol = *SlicePolicy::fromName(name);
            const SlicePlan p = planSlices(s, pol);
            EXPECT_GT(p.overview.width, 0);
            EXPECT_GT(p.overview.height, 0);
            pol.maxSlices = 64;
            pol.scale = 8192;
            pol.patch = 1;
            EXPECT_GT(planSlices(s, pol).overview.width, 0);
        }
}
