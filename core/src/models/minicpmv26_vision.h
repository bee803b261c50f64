// Internal: MiniCPM-V 2.6's vision settings read from its config.json (with preprocessor_config.json's keys
// overlaid by model_folder.cpp), for the family file that assembles nn/siglip.h's modules. Every key is
// checked where it is read; a bad one throws Error(ConfigInvalid) whose subject() names it.
//
//     auto v = uhdlens::models::readMiniCpmV26Vision(config);
//     nn::NavitSiglip vpm(v.vision, to);  nn::Resampler resampler(v.resampler, to);
//     SlicePlan plan = planSlices(size, v.policy);   // TokenLayout::MiniCpmV26, v.tokensPerImage each
#pragma once

#include "models/family_common.h"
#include "nn/siglip.h"
#include "nn/types.h"
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

// The vision half MiniCPM-V 2.6 and 4.5 share: 4.5's modeling_navit_siglip.py is 2.6's file unchanged, and
// its Resampler on single images reduces to 2.6's (minicpmv45.cpp says why). Reads the settings
// (readMiniCpmV26Vision + image_mean/std overlay), refuses use_image_id false, checks that the resampler is as
// wide as the LLM (`llmHidden`), and registers "vpm" and "resampler" under `root` (checkpoint names).
class MiniCpmVVisionStack
{
public:
    MiniCpmVVisionStack(torch::nn::Module &root, const nlohmann::json &config, int64_t llmHidden,
                        const torch::TensorOptions &options, const std::string &familyName);
    const MiniCpmV26Vision &settings() const { return m_settings; }
    const nn::NavitSiglip &vpm() const { return m_vpm; }
    // MiniCPMV.get_vllm_embedding for same-sized slices x [B, 3, H, W] (normalised, the tower's dtype):
    // every slice is its own unpadded batch row in reshape_by_patch's layout (the reference's zero padding
    // and key mask give each slice the values it gets alone). Hooks "vision" and "resampler".
    torch::Tensor encode(const torch::Tensor &x, const TensorHook &hook) const;

private:
    MiniCpmV26Vision m_settings;
    nn::NavitSiglip m_vpm{nullptr};
    nn::Resampler m_resampler{nullptr};
};

// config.json "vision_config" of the presets: the real SigLIP(2)-400M navit tower (27 layers, 1152 wide, 16
// heads, 70x70 positions; 2.6 and 4.5 alike) and the tiny one of make-tiny (2 layers, 64 wide, 4 heads, same
// table).
nlohmann::json miniCpmVVisionConfig(bool real);

// The ChatML turns of MiniCPMV.chat (2.6 and 4.5) after any system message: the image span of `plan` and "\n"
// open the first user message ("(<image>./</image>)\n" + question, replaced by the processor), each earlier
// turn is "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n" with A = answerText(answer),
// and the last user message ends with the generation prompt "<|im_start|>assistant\n".
void miniCpmVChatTurns(PromptBuilder &b, TokenLayout layout, const SlicePlan &plan,
                       const std::vector<Turn> &history, const std::string &question,
                       const std::function<std::string(const std::string &)> &answerText);

} // namespace uhdlens::models
