// UHD Lens — JSON form of a slice plan, shared by `uhdlens-cli plan --json` and conversation export.
#pragma once

#include "uhdlens/slice_planner.h"

#include <nlohmann/json_fwd.hpp>

namespace uhdlens {

// {"width","height","policy","grid":[c,r]|null,"overview":{"width","height","patch_cols","patch_rows"},
//  "refine":{"width","height"}|null,"slice":{"width","height","patch_cols","patch_rows"}|null,
//  "slices":[{"x","y","width","height"}...],"pad_to_square","layout","visual_tokens","downscale"}
nlohmann::json planToJson(const SlicePlan &plan, TokenLayout layout);
nlohmann::json planToJson(const SlicePlan &plan); // with the policy's default layout

} // namespace uhdlens
