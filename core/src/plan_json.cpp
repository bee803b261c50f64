#include "uhdlens/plan_json.h"

#include "uhdlens/model_facts.h"

#include <nlohmann/json.hpp>

namespace uhdlens {

nlohmann::json planToJson(const SlicePlan &plan, TokenLayout layout)
{
    using nlohmann::json;
    json j;
    j["width"] = plan.input.width;
    j["height"] = plan.input.height;
    j["policy"] = plan.policy.name();
    j["max_slices"] = plan.policy.maxSlices;
    j["scale"] = plan.policy.scale;
    j["patch"] = plan.policy.patch;
    j["grid"] = plan.grid ? json::array({plan.grid->cols, plan.grid->rows}) : json(nullptr);
    const EncodedImage ov = plan.overviewImage();
    j["overview"] = {{"width", ov.size.width},
                     {"height", ov.size.height},
                     {"patch_cols", ov.patchCols},
                     {"patch_rows", ov.patchRows}};
    j["pad_to_square"] = plan.padToSquare;
    j["refine"] = plan.refine ? json{{"width", plan.refine->width}, {"height", plan.refine->height}} : json(nullptr);
    if (auto s = plan.sliceImage())
        j["slice"] = {{"width", s->size.width},
                      {"height", s->size.height},
                      {"patch_cols", s->patchCols},
                      {"patch_rows", s->patchRows}};
    else
        j["slice"] = nullptr;
    json slices = json::array();
    for (const Rect &r : plan.slices)
        slices.push_back({{"x", r.x}, {"y", r.y}, {"width", r.width}, {"height", r.height}});
    j["slices"] = std::move(slices);
    j["encoded_images"] = static_cast<int>(plan.encodedImages().size());
    j["patches"] = plan.totalPatches();
    j["layout"] = layoutName(layout);
    j["visual_tokens"] = imagePositions(plan, layout);
    j["downscale"] = plan.downscaleFactor();
    return j;
}

nlohmann::json planToJson(const SlicePlan &plan) { return planToJson(plan, plan.policy.defaultLayout()); }

} // namespace uhdlens
