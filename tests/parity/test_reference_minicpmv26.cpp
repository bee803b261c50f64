// MiniCPM-V 2.6's vision side (nn/siglip.h, models/minicpmv26_vision.h, TokenLayout::MiniCpmV26) against the
// official code (modeling_navit_siglip.py, resampler.py, image_processing_minicpmv.py of
// openbmb/MiniCPM-V-2_6), stage by stage in f32, on the tiny random checkpoint of
// tests/data/reference/minicpmv26 (tests/tools/reference/minicpmv26_fixture.py writes it; its manifest.json
// names the reference commit). Plus the bad-input paths: every config key the settings reader parses, and the
// modules' shape checks.
#include "image_span.h"
#include "models/minicpmv26_vision.h"
#include "nn/siglip.h"
#include "preprocess.h"
#include "safetensors.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/model_facts.h"
#include "uhdlens/slice_planner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

using namespace uhdlens;
using json = nlohmann::json;

namespace {

const std::string kDir = UHDLENS_TEST_DATA "/reference/minicpmv26";

json readJson(const std::string &name)
{
    std::ifstream in(kDir + "/" + name);
    if (!in)
        throw std::runtime_error("missing " + kDir + "/" + name +
                                 " (tests/tools/reference/minicpmv26_fixture.py)");
    return json::parse(in);
}

// A tensor the reference wrote (reference.safetensors), copied out of the mapping; its dtype as stored.
torch::Tensor fixture(const std::string &name)
{
    static const Checkpoint stored = Checkpoint::open(kDir + "/reference.safetensors");
    return stored.get(name).clone();
}

double maxAbsError(const torch::Tensor &got, const torch::Tensor &want)
{
    return (got - want.to(got.scalar_type())).abs().max().to(torch::kDouble).item<double>();
}

std::vector<nn::PatchGrid> fixtureGrids()
{
    const auto t = fixture("input.tgt_sizes");
    std::vector<nn::PatchGrid> grids;
    for (int64_t i = 0; i < t.size(0); ++i)
        grids.push_back({t[i][0].item<int64_t>(), t[i][1].item<int64_t>()});
    return grids;
}

torch::Tensor fixturePixels(size_t count)
{
    std::vector<torch::Tensor> slices;
    for (size_t i = 0; i < count; ++i)
        slices.push_back(fixture("input.pixels." + std::to_string(i)).to(torch::kFloat32));
    return nn::padPatchBatch(slices);
}

// The tower and resampler built from the fixture's config.json through the settings reader, with its weights.
struct Vision
{
    models::MiniCpmV26Vision settings;
    nn::NavitSiglip vpm{nullptr};
    nn::Resampler resampler{nullptr};
};

const Vision &vision()
{
    static const Vision v = [] {
        Vision out;
        out.settings = models::readMiniCpmV26Vision(readJson("config.json"));
        const auto to = torch::TensorOptions().dtype(torch::kFloat32);
        out.vpm = nn::NavitSiglip(out.settings.vision, to);
        out.resampler = nn::Resampler(out.settings.resampler, to);
        std::vector<std::pair<std::string, torch::Tensor>> params;
        for (const auto &p : out.vpm->named_parameters())
            params.emplace_back("vpm." + p.key(), p.value());
        for (const auto &p : out.resampler->named_parameters())
            params.emplace_back("resampler." + p.key(), p.value());
        const auto ck = Checkpoint::open(kDir + "/model.safetensors");
        const auto warnings =
            loadParameters(params, ck, torch::kFloat32, torch::kCPU, {"vpm.", "resampler."});
        if (!warnings.empty())
            throw std::runtime_error("fixture checkpoint has tensors the modules do not read: " +
                                     warnings.front());
        return out;
    }();
    return v;
}

// Rows of the valid patches of slice i of a padded [B, L, C] batch.
torch::Tensor valid(const torch::Tensor &batch, int64_t i, const nn::PatchGrid &g)
{
    return batch[i].narrow(0, 0, g.patches());
}

template <typename F> Error errorOf(F &&f)
{
    try {
        f();
    } catch (const Error &e) {
        return e;
    }
    return Error(ErrorCode::Internal, "did not throw");
}

} // namespace

// --- vision tower
// ------------------------------------------------------------------------------------------------

TEST(MiniCpmV26Reference, FixtureHasTheRealStructure)
{
    const auto &s = vision().settings;
    EXPECT_GT(s.vision.heads, 1);
    EXPECT_GT(s.resampler.heads, 1);
    EXPECT_EQ(s.vision.side(), 70); // image_size 980 / patch 14: the real 70x70 position table
    EXPECT_EQ(s.resampler.gridSize * s.resampler.gridSize, 64);
    bool wide = false;
    for (const auto &g : fixtureGrids())
        wide = wide || g.rows > 70 || g.cols > 70;
    EXPECT_TRUE(wide)
        << "no grid over 70 patches: the bucketize path and the resampler's regrown cache are untested";
    EXPECT_EQ(fixture("input.pixels.0").scalar_type(), torch::kBFloat16);
}

TEST(MiniCpmV26Reference, PositionIdsAreTheReferenceBuckets)
{
    const auto grids = fixtureGrids();
    for (size_t i = 0; i < grids.size(); ++i) {
        const auto want = fixture("vision.position_ids." + std::to_string(i));
        const auto got = nn::navitPositionIds(grids[i].rows, grids[i].cols, 70);
        ASSERT_TRUE(torch::equal(got, want)) << "stage vision.position_ids, slice " << i << " ("
                                             << grids[i].rows << "x" << grids[i].cols << ")";
    }
    // Spec §2: 25 rows, row 15 sits at 15/25 = 42/70 exactly; float32 arange puts it in bucket 41 on AVX2
    // CPUs.
    ASSERT_EQ(grids[1].rows, 25);
    const auto ids = nn::navitPositionIds(25, 1, 70);
    EXPECT_EQ(ids[15].item<int64_t>() / 70,
              fixture("vision.position_ids.1")[15 * grids[1].cols].item<int64_t>() / 70);
}

TEST(MiniCpmV26Reference, EmbeddingsVisionFeaturesAndResamplerMatch)
{
    torch::NoGradGuard noGrad;
    const auto grids = fixtureGrids();
    const auto pixels = fixturePixels(grids.size());
    const auto &v = vision();

    const auto emb = v.vpm->embed(pixels, grids);
    const auto wantEmb = fixture("vision.embeddings");
    ASSERT_EQ(emb.sizes(), wantEmb.sizes()) << "stage vision.embeddings";
    // All rows: padded ones are bias + table row 0 in both.
    EXPECT_LE(maxAbsError(emb, wantEmb), 1e-4) << "stage vision.embeddings";

    const auto features = v.vpm->forward(pixels, grids);
    const auto wantFeatures = fixture("vision.features");
    ASSERT_EQ(features.sizes(), wantFeatures.sizes()) << "stage vision.features";
    double worst = 0;
    for (size_t i = 0; i < grids.size(); ++i) {
        const double e = maxAbsError(valid(features, i, grids[i]), valid(wantFeatures, i, grids[i]));
        EXPECT_LE(e, 1e-4) << "stage vision.features, slice " << i;
        worst = std::max(worst, e);
    }
    RecordProperty("vision_features_max_abs_error", std::to_string(worst));

    // Resampler alone (from the reference's own features) and chained (from ours).
    const auto wantOut = fixture("resampler.output");
    const auto alone = nn::resampleSlices(*v.resampler, wantFeatures, grids);
    ASSERT_EQ(alone.sizes(), wantOut.sizes()) << "stage resampler.output";
    const double eAlone = maxAbsError(alone, wantOut);
    EXPECT_LE(eAlone, 1e-4) << "stage resampler.output (reference features in)";
    const double eChained = maxAbsError(nn::resampleSlices(*v.resampler, features, grids), wantOut);
    EXPECT_LE(eChained, 1e-4) << "stage resampler.output (our features in)";
    RecordProperty("resampler_max_abs_error", std::to_string(std::max(eAlone, eChained)));
    std::cout << "max abs error: vision.embeddings " << maxAbsError(emb, wantEmb) << ", vision.features "
              << worst << ", resampler.output " << eAlone << " (reference features) / " << eChained
              << " (chained)\n";
}

TEST(MiniCpmV26Reference, PaddedBatchEqualsSlicesOneByOne)
{
    // The key masks make each slice's result independent of what it is batched with.
    torch::NoGradGuard noGrad;
    const auto grids = fixtureGrids();
    const auto batched = vision().vpm->forward(fixturePixels(grids.size()), grids);
    const auto tokens = nn::resampleSlices(*vision().resampler, batched, grids);
    for (size_t i = 0; i < grids.size(); ++i) {
        const auto one =
            nn::padPatchBatch({fixture("input.pixels." + std::to_string(i)).to(torch::kFloat32)});
        const auto f = vision().vpm->forward(one, {grids[i]});
        EXPECT_LE(maxAbsError(f[0], valid(batched, i, grids[i])), 1e-5)
            << "stage vision.features, slice " << i;
        const auto t = nn::resampleSlices(*vision().resampler, f, {grids[i]});
        EXPECT_LE(maxAbsError(t[0], tokens[i]), 1e-5) << "stage resampler.output, slice " << i;
    }
}

// --- image processor
// ---------------------------------------------------------------------------------------------

TEST(MiniCpmV26Reference, ProcessorPixelsInReshapeByPatchLayout)
{
    const json runs = readJson("reference.json").at("processor_runs");
    ASSERT_GE(runs.size(), 2u);
    int k = 0;
    for (const auto &run : runs) {
        const QImage rgb = loadImage(QString::fromStdString(kDir + "/" + run.at("image").get<std::string>()));
        SlicePolicy policy = SlicePolicy::minicpmv();
        policy.scale = run.at("kwargs").at("scale_resolution").get<int>();
        policy.maxSlices = run.at("kwargs").at("max_slice_nums").get<int>();
        const SlicePlan plan = planSlices({rgb.width(), rgb.height()}, policy);
        const json &grid = run.at("grid");
        ASSERT_EQ(plan.grid.has_value(), !grid.is_null()) << run.at("image");
        if (plan.grid) {
            EXPECT_EQ(plan.grid->cols, grid[0].get<int>());
            EXPECT_EQ(plan.grid->rows, grid[1].get<int>());
        }
        const PreparedImages in = prepareImages(rgb, plan, PreprocessOptions{PixelNorm{}, torch::kFloat32});
        std::vector<torch::Tensor> images = {in.overview[0]};
        for (int64_t s = 0; in.slices.defined() && s < in.slices.size(0); ++s)
            images.push_back(in.slices[s]);
        const auto &tgt = run.at("tgt_sizes");
        ASSERT_EQ(images.size(), tgt.size()) << run.at("image");
        for (size_t j = 0; j < images.size(); ++j) {
            EXPECT_EQ(images[j].size(1) / 14, tgt[j][0].get<int64_t>());
            EXPECT_EQ(images[j].size(2) / 14, tgt[j][1].get<int64_t>());
            const auto got = nn::reshapeByPatch(images[j], 14);
            const auto want = fixture("processor." + std::to_string(k) + ".pixels." + std::to_string(j));
            ASSERT_EQ(got.sizes(), want.sizes()) << "stage processor pixels, image " << k << " view " << j;
            // One 8-bit level is 2/255 after (x/255 - 0.5)/0.5; the reference is stored in f16 (error <=
            // 2^-11).
            EXPECT_LE(maxAbsError(got, want), 2.0 / 255 + 1e-3)
                << "stage processor pixels, image " << k << " view " << j;
            EXPECT_LE(maxAbsError(got, want), 1e-3)
                << "stage processor pixels not Pillow-exact, image " << k << " view " << j;
        }
        ++k;
    }
}

TEST(MiniCpmV26Reference, SlicingGeometryAt448)
{
    const SlicePolicy policy = models::readMiniCpmV26Vision(json{{"hidden_size", 256}}).policy;
    // A named copy: in `for (x : readJson(...).at(...))` the temporary readJson result dies before the loop runs
    // (only the reference at() returns is kept alive), which the sanitizer build caught as a use after free.
    const json reference = readJson("reference.json");
    for (const auto &g : reference.at("geometry_448")) {
        const Size size{g.at("size")[0].get<int>(), g.at("size")[1].get<int>()};
        const SlicePlan plan = planSlices(size, policy);
        SCOPED_TRACE(std::to_string(size.width) + "x" + std::to_string(size.height));
        EXPECT_EQ(plan.overview.width, g.at("overview")[0].get<int>());
        EXPECT_EQ(plan.overview.height, g.at("overview")[1].get<int>());
        ASSERT_EQ(plan.grid.has_value(), !g.at("grid").is_null());
        if (plan.grid) {
            EXPECT_EQ(plan.grid->cols, g.at("grid")[0].get<int>());
            EXPECT_EQ(plan.grid->rows, g.at("grid")[1].get<int>());
            EXPECT_EQ(plan.slice->width, g.at("slice")[0].get<int>());
            EXPECT_EQ(plan.slice->height, g.at("slice")[1].get<int>());
        }
    }
}

namespace {

// Renders an image span as the processor's placeholder text: images as 64 <unk>.
class TextSink : public ImageSpanSink
{
public:
    void image(int) override
    {
        for (int i = 0; i < 64; ++i)
            m_text += "<unk>";
    }
    void piece(const std::vector<std::string> &spellings) override { m_text += spellings.front(); }
    void text(std::string_view t, int) override { m_text += t; }
    std::string m_text;
};

} // namespace

TEST(MiniCpmV26Reference, PromptPlaceholdersAndTheirCount)
{
    const json reference = readJson("reference.json"); // named: see SlicingGeometryAt448
    for (const auto &p : reference.at("placeholders")) {
        const Size size{p.at("size")[0].get<int>(), p.at("size")[1].get<int>()};
        const int index = p.at("image_idx").get<int>();
        const SlicePlan plan = planSlices(size, SlicePolicy::minicpmv());
        TextSink sink;
        layImageSpan(TokenLayout::MiniCpmV26, plan, sink, index);
        EXPECT_EQ(sink.m_text, p.at("text").get<std::string>()) << size.width << "x" << size.height;
    }
    // 1920x1080: 4x2 slices -> 9 images x 66 (64 + open/close) + <image_id> 0 </image_id> + one "\n".
    const SlicePlan plan = planSlices({1920, 1080}, SlicePolicy::minicpmv());
    EXPECT_EQ(imagePositions(plan, TokenLayout::MiniCpmV26), 9 * 66 + 3 + 1);
    EXPECT_EQ(layoutFromName("minicpmv26"), TokenLayout::MiniCpmV26);
    EXPECT_EQ(layoutName(TokenLayout::MiniCpmV26), "minicpmv26");
}

// --- bad input
// ---------------------------------------------------------------------------------------------------

TEST(MiniCpmV26BadInput, EveryConfigKeyIsCheckedAndNamed)
{
    const json good = readJson("config.json");
    ASSERT_NO_THROW(models::readMiniCpmV26Vision(good));
    struct Case
    {
        std::string subject;
        std::function<void(json &)> edit;
    };
    const std::vector<Case> cases = {
        {"hidden_size", [](json &c) { c.erase("hidden_size"); }},
        {"hidden_size", [](json &c) { c["hidden_size"] = 100; }},
        {"hidden_size", [](json &c) { c["hidden_size"] = "256"; }},
        {"query_num", [](json &c) { c["query_num"] = 60; }},
        {"query_num", [](json &c) { c["query_num"] = 0; }},
        {"image_feature_size", [](json &c) { c["image_feature_size"] = 32; }},
        {"vision_config", [](json &c) { c["vision_config"] = 3; }},
        {"vision_config.hidden_size", [](json &c) { c["vision_config"]["hidden_size"] = -1; }},
        {"vision_config.num_attention_heads", [](json &c) { c["vision_config"]["num_attention_heads"] = 5; }},
        {"vision_config.intermediate_size", [](json &c) { c["vision_config"]["intermediate_size"] = 1.5; }},
        {"vision_config.num_hidden_layers", [](json &c) { c["vision_config"]["num_hidden_layers"] = 0; }},
        {"vision_config.num_hidden_layers",
         [](json &c) {
             c["vision_config"]["num_hidden_layers"] = 1;
             c["drop_vision_last_layer"] = true;
         }},
        {"drop_vision_last_layer", [](json &c) { c["drop_vision_last_layer"] = "no"; }},
        {"vision_config.patch_size", [](json &c) { c["vision_config"]["patch_size"] = "14"; }},
        {"vision_config.image_size", [](json &c) { c["vision_config"]["image_size"] = 10; }},
        {"vision_config.layer_norm_eps", [](json &c) { c["vision_config"]["layer_norm_eps"] = 0; }},
        {"vision_config.hidden_act", [](json &c) { c["vision_config"]["hidden_act"] = "relu6"; }},
        {"slice_config", [](json &c) { c["slice_config"] = json::array(); }},
        {"slice_config.scale_resolution", [](json &c) { c["slice_config"]["scale_resolution"] = "448"; }},
        {"slice_config.max_slice_nums", [](json &c) { c["slice_config"]["max_slice_nums"] = 0; }},
        {"slice_config.patch_size", [](json &c) { c["slice_config"]["patch_size"] = 16; }},
        {"patch_size", [](json &c) { c["patch_size"] = 16; }},
        {"max_slice_nums", [](json &c) { c["max_slice_nums"] = -3; }},
        {"scale_resolution", [](json &c) { c["scale_resolution"] = 10; }},
        {"slice_mode", [](json &c) { c["slice_mode"] = false; }},
        {"use_image_id", [](json &c) { c["use_image_id"] = 1; }},
        {"norm_mean",
         [](json &c) {
             c["norm_mean"] = json::array({0.5, 0.5});
         }},
        {"norm_mean",
         [](json &c) {
             c["norm_mean"] = json::array({0.5, "x", 0.5});
         }},
        {"norm_std",
         [](json &c) {
             c["norm_std"] = json::array({0.5, 0.0, 0.5});
         }},
    };
    for (const auto &k : cases) {
        json c = good;
        k.edit(c);
        const Error e = errorOf([&] { models::readMiniCpmV26Vision(c); });
        EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid) << k.subject << ": " << e.what();
        EXPECT_EQ(e.subject(), k.subject) << e.what();
        EXPECT_NE(std::string(e.what()).find(k.subject), std::string::npos) << e.what();
    }
    // Overrides that are valid are applied.
    json c = good;
    c["max_slice_nums"] = 4;
    c["norm_mean"] = json::array({0.25, 0.5, 0.75});
    c["use_image_id"] = false;
    const auto s = models::readMiniCpmV26Vision(c);
    EXPECT_EQ(s.policy.maxSlices, 4);
    EXPECT_FLOAT_EQ(s.norm.mean[2], 0.75f);
    EXPECT_FALSE(s.useImageId);
}

TEST(MiniCpmV26BadInput, ModulesRejectMisfitShapes)
{
    torch::NoGradGuard noGrad;
    const auto &v = vision();
    const auto pixels = fixturePixels(2);
    const auto grids = fixtureGrids();
    auto code = [](auto &&f) { return errorOf(f).code(); };
    // Grid count differs from the batch; a grid larger than the padded length; an empty grid.
    EXPECT_EQ(code([&] { v.vpm->forward(pixels, grids); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(code([&] { v.vpm->forward(pixels, {{3, 75}, {30, 30}}); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(code([&] { v.vpm->forward(pixels, {{3, 75}, {0, 5}}); }), ErrorCode::InvalidArgument);
    // Not the reshape_by_patch layout.
    EXPECT_EQ(code([&] {
                  v.vpm->forward(torch::zeros({1, 3, 28, 28}), {{2, 2}});
              }),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(code([&] { nn::reshapeByPatch(torch::zeros({3, 20, 28}), 14); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(code([&] { nn::padPatchBatch({}); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(code([&] {
                  nn::padPatchBatch({torch::zeros({3, 14, 28}), torch::zeros({3, 16, 32})});
              }),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(code([&] { nn::navitPositionIds(0, 3, 70); }), ErrorCode::InvalidArgument);
    // Resampler: wrong width, grids that do not fit, and a 2.0-style resampler (stored query positions).
    EXPECT_EQ(code([&] {
                  nn::resampleSlices(*v.resampler, torch::zeros({1, 4, 7}), {{2, 2}});
              }),
              ErrorCode::InvalidArgument);
    EXPECT_EQ(code([&] {
                  nn::resampleSlices(*v.resampler, torch::zeros({1, 4, v.settings.vision.dim}), {{3, 2}});
              }),
              ErrorCode::InvalidArgument);
    nn::ResamplerOptions o = v.settings.resampler;
    o.storedQueryPos = true;
    nn::Resampler withPos(o, torch::TensorOptions().dtype(torch::kFloat32));
    EXPECT_EQ(code([&] {
                  nn::resampleSlices(*withPos, torch::zeros({1, 4, o.kvDim}), {{2, 2}});
              }),
              ErrorCode::InvalidArgument);
}

TEST(MiniCpmV26Unit, ReshapeByPatchIsUnfoldOrder)
{
    // out[c, y, l*P + x] = in[c, (l / cols)*P + y, (l % cols)*P + x], checked element by element.
    const int64_t p = 2, rows = 3, cols = 4;
    const auto img = torch::arange(3 * rows * p * cols * p, torch::kFloat32).reshape({3, rows * p, cols * p});
    const auto out = nn::reshapeByPatch(img, p);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, p, rows * cols * p}));
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t l = 0; l < rows * cols; ++l)
            for (int64_t y = 0; y < p; ++y)
                for (int64_t x = 0; x < p; ++x)
                    ASSERT_EQ(out[c][y][l * p + x].item<float>(),
                              img[c][(l / cols) * p + y][(l % cols) * p + x].item<float>());
    // And against torch's unfold, as the reference calls it.
    const auto unfolded = torch::nn::functional::unfold(
        img.unsqueeze(0), torch::nn::functional::UnfoldFuncOptions({p, p}).stride({p, p}));
    const auto viaUnfold = unfolded[0].reshape({3, p, p, -1}).permute({0, 1, 3, 2}).reshape({3, p, -1});
    EXPECT_TRUE(torch::equal(out, viaUnfold));
}
