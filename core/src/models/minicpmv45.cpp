// MiniCPM-V 4.5 (openbmb/MiniCPM-V-4_5: modeling_minicpmv.py, resampler.py, modeling_navit_siglip.py,
// image_processing_minicpmv.py, processing_minicpmv.py, tokenizer_config.json's chat template).
//
// What 4.5 changes against 2.6 (minicpmv26.cpp), read from the official files side by side:
//   - LLM: `self.llm = Qwen3ForCausalLM(config)` (was Qwen2): per-head q_norm / k_norm RMSNorm before rope,
//   no
//     q/k/v bias (attention_bias false), head_dim from config.json (models/qwen_lm.h, QwenVersion::Qwen3).
//   - Vision: modeling_navit_siglip.py is byte-for-byte 2.6's file (SigLIP2-400M is loaded into the same
//   navit
//     module, same patch embedding and 70x70 position bucketing), image_processing_minicpmv.py slices exactly
//     as 2.6 when no temporal_ids are given. So the tower is MiniCpmVVisionStack (minicpmv26_vision.h).
//   - Resampler: the "3D resampler" (resampler.py Resampler.forward + batch_attn_forward, batch_3d_resampler
//     true). For images, MiniCPMVImageProcessor.preprocess gives every slice temporal_ids [-1]
//     ("tp_ids.extend(
//     [[-1]] * len(image_patches))"), which MiniCPMV.get_vllm_embedding flattens and passes on. Then
//     Resampler.forward sets temporal_pos_emb (max(-1) + 1 = 0 > -1) and appends a ZERO temporal embedding
//     for each slice (temporal_ids_flatten[i] == -1), and batch_attn_forward "folds" each temporal group of
//     one slice into one batch row: k + 0, the slice's own keys and key_padding_mask. That is 2.6's per-slice
//     attention exactly, so the single-image path is nn::resampleSlices unchanged; the temporal_pos_embed
//     buffer is non-persistent (no checkpoint tensor). Video frame groups (several slices per row) are not
//     implemented: UHD Lens asks about one image.
//   - Prompt: the Qwen3 chat template has no default system message (chat()'s system_prompt='' adds none),
//     and the generation prompt ends with "<think>\n\n</think>\n\n" (enable_thinking=False, chat()'s
//     default) or "<think>\n" (enable_thinking=True). Earlier assistant turns keep only the text after their
//     last "</think>" (the template's reasoning_content split).
//   - Stops: the same terminators ['<|im_end|>', '<|endoftext|>'] (generation_config.json: 151645, 151643).
//
// Checkpoint names are 2.6's: vpm.*, resampler.* (query, kv_proj, attn.{in_proj_*,out_proj}, ln_q, ln_kv,
// ln_post, proj), llm.model.* (+ q_norm / k_norm per layer) and llm.lm_head.weight.
#include "model_folder.h"
#include "models/families.h"
#include "models/minicpmv26_vision.h"
#include "models/qwen_lm.h"

namespace uhdlens::models {

namespace {

constexpr const char *kFamilyName = "MiniCPM-V 4.5";

// tokenizer_config.json chat_template, assistant branch for a message before the last user query:
// content = message.content.split('</think>')[-1].lstrip('\n') when '</think>' is in it.
std::string withoutReasoning(const std::string &answer)
{
    const size_t end = answer.rfind("</think>");
    if (end == std::string::npos)
        return answer;
    const size_t start = answer.find_first_not_of('\n', end + 8);
    return start == std::string::npos ? std::string() : answer.substr(start);
}

class MiniCpmV45 final : public FamilyBase
{
public:
    MiniCpmV45(const json &config, const FamilyBuildOptions &options)
        : FamilyBase(config, options),
          m_vision(*m_root, m_config, cfgInt(m_config, "hidden_size", std::nullopt), m_tensorOptions,
                   kFamilyName)
    {
        // MiniCPMV.__init__: self.llm = Qwen3ForCausalLM(config), the LLM keys at the top level of
        // config.json.
        const QwenConfig qwen = qwenConfig(m_config, QwenVersion::Qwen3);
        auto llm = nn::container(*m_root, "llm");
        m_lm = buildQwenLm(*llm, qwen, m_tensorOptions);
    }

    Family family() const override { return Family::MiniCpmV45; }
    SlicePolicy policy() const override { return m_vision.settings().policy; }
    PixelNorm pixelNorm() const override { return m_vision.settings().norm; }
    int tokensPerImage() const override { return m_vision.settings().tokensPerImage; }
    bool hasThinkingMode() const override { return true; }

    torch::Tensor encodeImages(const torch::Tensor &pixels, const TensorHook &hook) const override
    {
        return m_vision.encode(inputPixels(pixels, m_vision.vpm()->patchWeight), hook);
    }

    Prompt buildPrompt(const SlicePlan &plan, const std::vector<Turn> &history, const std::string &question,
                       const Tokenizer &tokenizer) const override
    {
        return buildPromptWith(plan, history, question, tokenizer, PromptOptions{});
    }

    // MiniCPMV.chat(msgs, enable_thinking): the image goes first in the first user message,
    // "(<image>./</image>)" + "\n" + question; apply_chat_template(add_generation_prompt=True,
    // enable_thinking=...) makes (no system message)
    //   <|im_start|>user\n(<image>./</image>)\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n
    //   <|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n      (thinking off)
    //                                                       ...assistant\n<think>\n            (thinking on)
    // and the processor replaces the placeholder with 2.6's image span (TokenLayout::MiniCpmV26; the
    // processing_minicpmv.py skip_image_idx branch only drops placeholders of video frame groups). No BOS
    // (tokenizer_config add_bos_token false). The fast tokenizer splits at every added token, <think> and
    // </think> included; PromptBuilder's encodeWithSpecials does the same.
    Prompt buildPromptWith(const SlicePlan &plan, const std::vector<Turn> &history,
                           const std::string &question, const Tokenizer &tokenizer,
                           const PromptOptions &options) const override
    {
        PromptBuilder b(tokenizer);
        b.splitOn({}); // byte-level BPE: encode() splits the added tokens itself
        miniCpmVChatTurns(b, layout(), plan, history, question, withoutReasoning);
        b.text(options.thinking ? "<think>\n" : "<think>\n\n</think>\n\n");
        return b.finish();
    }

    std::vector<int64_t> stopTokenIds(const Tokenizer &tokenizer) const override
    {
        return qwenChatStopIds(tokenizer, kFamilyName);
    }

private:
    MiniCpmVVisionStack m_vision;
};

// openbmb/MiniCPM-V-4_5 config.json's keys; `llm` and `vision` hold the sizes that differ between the tiny
// and the real preset.
json miniCpmV45Config(const json &llm, const json &vision, const std::string &name, const std::string &dtype)
{
    json c = {
        {"model_type", "minicpmv"},
        {"architectures", {"MiniCPMV"}},
        {"_name_or_path", name},
        {"version", 4.5},
        {"attention_bias", false},
        {"attention_dropout", 0.0},
        {"hidden_act", "silu"},
        {"rope_theta", 1000000.0},
        {"rope_scaling", nullptr},
        {"rms_norm_eps", 1e-6},
        {"tie_word_embeddings", false},
        {"use_sliding_window", false},
        {"sliding_window", nullptr},
        {"query_num", 64},
        {"image_size", 448},
        {"patch_size", 14},
        {"drop_vision_last_layer", false},
        {"slice_mode", true},
        {"batch_vision_input", true},
        {"batch_3d_resampler", true},
        {"slice_config", {{"max_slice_nums", 9}, {"model_type", "minicpmv"}, {"patch_size", 14}}},
        {"vision_config", vision},
        {"torch_dtype", dtype},
    };
    c.update(llm);
    return c;
}

} // namespace

std::unique_ptr<VisionLanguageModel> createMiniCpmV45(const json &config, const FamilyBuildOptions &options)
{
    return std::make_unique<MiniCpmV45>(config, options);
}

json tinyMiniCpmV45()
{
    // Several heads everywhere: 4 query / 2 key-value heads of width 64 in the LLM (grouped-query, as 32 / 8
    // of 128), q/k norms, no attention bias (as the real config); 4 heads in the tower; hidden 256 gives the
    // resampler 2 heads (hidden_size // 128).
    json c = miniCpmV45Config({{"hidden_size", 256},
                               {"num_hidden_layers", 2},
                               {"max_window_layers", 2},
                               {"num_attention_heads", 4},
                               {"num_key_value_heads", 2},
                               {"head_dim", 64},
                               {"intermediate_size", 256},
                               {"vocab_size", kTinyVocab},
                               {"max_position_embeddings", 4096}},
                              miniCpmVVisionConfig(false), "uhdlens-tiny-minicpmv45", "float32");
    c["uhdlens_tiny"] = true;
    c["uhdlens_special_tokens"] = familySpecialTokens(Family::MiniCpmV45);
    return c;
}

json realMiniCpmV45()
{
    // openbmb/MiniCPM-V-4_5 config.json: SigLIP2-400M (27 layers, 1152 wide, 16 heads) + Qwen3-8B.
    return miniCpmV45Config({{"hidden_size", 4096},
                             {"num_hidden_layers", 36},
                             {"max_window_layers", 36},
                             {"num_attention_heads", 32},
                             {"num_key_value_heads", 8},
                             {"head_dim", 128},
                             {"intermediate_size", 12288},
                             {"vocab_size", 151748},
                             {"max_position_embeddings", 40960}},
                            miniCpmVVisionConfig(true), "openbmb/MiniCPM-V-4_5 (random weights, real shapes)",
                            "bfloat16");
}

} // namespace uhdlens::models
