// Internal: MiniCPM-V 2.6's vision settings read from its config.json (with preprocessor_config.json's keys
// overlaid by model_folder.cpp), for the family file that assembles nn/siglip.h's modules. Every key is
// checked where it is read; a bad one throws Error(ConfigInvalid) whose subject() names it.
//
//     auto v = uhdlens::models::readMiniCpmV26Vision(config);
//     nn::NavitSiglip vpm(v.vision, to);  nn::Resampler resampler(v.resampler, to);
//     SlicePlan plan = planSlices(size, v.policy);   // TokenLayout::MiniCpmV26, v.tokensPerImage each
#pragma once

#include "nn/siglip.h"
#include "uhdlens/model_facts.h"
#include "uhdlens/slice_planner.h"

#include <nlohmann/json_fwd.hpp>

namespace uhdlens::models {

struct MiniCpmV26Vision
{
    nn::NavitSiglipOptions vision;  // "vision_config" (+ drop_vision_last_layer)
    nn::ResamplerOptions resampler; // width hidden_size, heads hidden_size / 128, query_num queries
    SlicePolicy policy;             // MiniCPM-V slicing with max_slice_nums / scale_resolution / patch_size
    PixelNorm norm;                 // norm_mean / norm_std (0.5 / 0.5)
    int tokensPerImage = 64;        // query_num (= the processor's image_feature_size)
    bool useImageId = true;         // <image_id>N</image_id> before each image
};

// Keys (defaults are configuration_minicpm.py's / image_processing_minicpmv.py's):
//   vision_config.{hidden_size 1152, num_attention_heads 16, intermediate_size 4304, num_hidden_layers 27,
//   patch_size 14, image_size 980, layer_norm_eps 1e-6, hidden_act "gelu_pytorch_tanh"},
//   drop_vision_last_layer (true, as MiniCPMVConfig; the released config.json says false), hidden_size
//   (required), query_num 64 (a square: the resampler's queries), image_feature_size (= query_num),
//   max_slice_nums / scale_resolution / patch_size (top level, from preprocessor_config.json, else
//   config.json "slice_config", else 9 / 448 / 14; patch_size must equal the tower's), norm_mean / norm_std
//   (3 numbers, std > 0), use_image_id (true), slice_mode (true; false, which feeds the unresized image, is
//   refused).
MiniCpmV26Vision readMiniCpmV26Vision(const nlohmann::json &config);

} // namespace uhdlens::models
