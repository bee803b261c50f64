// Fuzz entry: the slice planner and its JSON writer (planToJson, used by `uhdlens-cli plan --json` and by
// conversation export) for any image size and policy a user can type. There is no plan JSON reader in core
// yet: the writer's output is parsed back with nlohmann (as a consumer would) and must equal what was
// written.
#include "fuzz_entries.h"

#include "uhdlens/model_facts.h"
#include "uhdlens/plan_json.h"
#include "uhdlens/slice_planner.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace {

struct Reader
{
    const uint8_t *p;
    size_t n;
    uint32_t u32()
    {
        uint32_t v = 0;
        const size_t k = n < 4 ? n : 4;
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
    uint8_t u8() { return static_cast<uint8_t>(u32() & 0xff); }
};

} // namespace

// Layout: [flags][width u32][height u32][policy u8][scale u32][patch u32][maxSlices u32][layout u8]. Flag bit
// 0: use the raw 32-bit values (mostly invalid: the planner must refuse them); otherwise they are folded into
// the ranges validateSize()/validate() accept, so most runs plan. Bit 1: override the named policy's numbers.
bool fuzz_plan_json(const uint8_t *data, size_t size)
{
    using namespace uhdlens;
    Reader r{data, size};
    const uint8_t flags = r.u8();
    const bool raw = flags & 1;
    auto fold = [&](uint32_t v, int lo, int hi) {
        return raw ? static_cast<int>(v) : lo + static_cast<int>(v % uint32_t(hi - lo + 1));
    };
    const Size imageSize{fold(r.u32(), 1, 100000), fold(r.u32(), 1, 100000)};
    const uint8_t which = r.u8();
    SlicePolicy policy = which % 3 == 0   ? SlicePolicy::minicpmv()
                         : which % 3 == 1 ? SlicePolicy::llavaUhd()
                                          : SlicePolicy::llava15();
    const uint32_t scale = r.u32(), patch = r.u32(), maxSlices = r.u32();
    if (flags & 2) {
        policy.patch = fold(patch, 1, 64);
        policy.scale = raw ? static_cast<int>(scale) : policy.patch * fold(scale, 1, 64);
        policy.maxSlices = fold(maxSlices, 1, 64);
        policy.neverSplit = flags & 4;
        policy.rounding = flags & 8 ? Rounding::Floor : Rounding::HalfToEven;
    }
    const uint8_t layoutByte = r.u8();

    const bool valid = validateSize(imageSize).empty() && policy.validate().empty();
    const SlicePlan plan = planSlices(imageSize, policy);
    if (!valid) {
        FUZZ_CHECK(plan.overview.width == 0 && plan.overview.height == 0 && plan.slices.empty());
        return false;
    }
    // The plan's promises (slice_planner.h).
    FUZZ_CHECK(plan.input == imageSize);
    FUZZ_CHECK(plan.overview.width > 0 && plan.overview.height > 0);
    FUZZ_CHECK(plan.overview.width % policy.patch == 0 && plan.overview.height % policy.patch == 0);
    if (plan.grid) {
        FUZZ_CHECK(plan.refine && plan.slice);
        FUZZ_CHECK(plan.sliceCount() == plan.grid->count() && plan.sliceCount() <= policy.maxSlices);
        for (int i = 0; i < plan.sliceCount(); ++i) {
            const Rect &s = plan.slices[size_t(i)];
            FUZZ_CHECK(s.x >= 0 && s.y >= 0 && s.width > 0 && s.height > 0);
            FUZZ_CHECK(s.x + s.width <= plan.refine->width && s.y + s.height <= plan.refine->height);
            const Rect o = plan.sliceInOriginal(i);
            FUZZ_CHECK(o.x >= 0 && o.y >= 0 && o.width >= 0 && o.height >= 0);
            FUZZ_CHECK(o.x + o.width <= imageSize.width && o.y + o.height <= imageSize.height);
        }
    } else {
        FUZZ_CHECK(plan.slices.empty() && !plan.refine && !plan.slice);
    }
    FUZZ_CHECK(plan.downscaleFactor() > 0);

    const TokenLayout layouts[] = {TokenLayout::MiniCpmV2, TokenLayout::LlavaUhdRelease,
                                   TokenLayout::LlavaUhdPaper, TokenLayout::Llava15, TokenLayout::MiniCpmV26};
    const TokenLayout layout = layoutByte % 6 == 5 ? policy.defaultLayout() : layouts[layoutByte % 6];
    const nlohmann::json j = planToJson(plan, layout);
    const nlohmann::json back = nlohmann::json::parse(j.dump());
    FUZZ_CHECK(back == j);
    FUZZ_CHECK(back.at("width").get<int>() == imageSize.width &&
               back.at("height").get<int>() == imageSize.height);
    FUZZ_CHECK(back.at("slices").size() == plan.slices.size());
    FUZZ_CHECK(back.at("visual_tokens").get<int>() == imagePositions(plan, layout));
    FUZZ_CHECK(layoutFromName(back.at("layout").get<std::string>()) == layout);
    return true;
}
