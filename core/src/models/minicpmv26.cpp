// MiniCPM-V 2.6 (openbmb/MiniCPM-V-2_6: modeling_minicpmv.py, processing_minicpmv.py,
// image_processing_minicpmv.py, resampler.py, modeling_navit_siglip.py).
//
// Checkpoint names (model.safetensors[.index.json]), exactly the official module's state dict:
//   vpm.*        navit SigLIP (nn/siglip.h): embeddings.{patch_embedding,position_embedding},
//                encoder.layers.N.*, post_layernorm (all 27 layers: the released config says
//                drop_vision_last_layer false)
//   resampler.*  query [64, D], kv_proj, attn.{in_proj_*,out_proj}, ln_q, ln_kv, ln_post, proj (no stored
//                position table: each slice's 2D sin-cos is computed, resampler.py adaptive)
//   llm.model.*  Qwen2 (models/qwen_lm.h) + llm.lm_head.weight
// Unlike MiniCPM-V 2.0 (MiniCPM LLM) there is no embedding or logit scaling: Qwen2ForCausalLM is used as is,
// and the image slots get the raw resampler outputs (get_vllm_embedding's scatter).
#include "model_folder.h"
#include "models/families.h"
#include "models/minicpmv26_vision.h"
#include "models/qwen_lm.h"

namespace uhdlens::models {

namespace {

class MiniCpmV26 final : public FamilyBase
{
public:
    MiniCpmV26(const json &config, const FamilyBuildOptions &options)
        : FamilyBase(config, options), m_vision(*m_root, m_config, cfgInt(m_config, "hidden_size", std::nullopt),
                                                m_tensorOptions, "MiniCPM-V 2.6")
    {
        // MiniCPMV.__init__: self.llm = Qwen2ForCausalLM(config), the LLM keys at the top level of
        // config.json. The vision half (settings, slicing, norm_mean/norm_std, "vpm" + "resampler") is
        // MiniCpmVVisionStack (minicpmv26_vision.h).
        const QwenConfig qwen = qwenConfig(m_config, QwenVersion::Qwen2);
        auto llm = nn::container(*m_root, "llm");
        m_lm = buildQwenLm(*llm, qwen, m_tensorOptions);
    }

    Family family() const override { return Family::MiniCpmV26; }
    SlicePolicy policy() const override { return m_vision.settings().policy; }
    PixelNorm pixelNorm() const override { return m_vision.settings().norm; }
    int tokensPerImage() const override { return m_vision.settings().tokensPerImage; }

    torch::Tensor encodeImages(const torch::Tensor &pixels, const TensorHook &hook) const override
    {
        return m_vision.encode(inputPixels(pixels, m_vision.vpm()->patchWeight), hook);
    }

    // MiniCPMV.chat(): the image goes first in the first user message, "(<image>./</image>)" + "\n" +
    // question; the tokenizer's chat template (ChatML with Qwen2's default system message,
    // tokenizer_config.json chat_template) makes
    //   <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n(<image>./</image>)\nQ
    //   <|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n
    // and the processor replaces the placeholder with the image span (image_span.cpp,
    // TokenLayout::MiniCpmV26). No BOS (processing_minicpmv.py _convert: version > 2.5). The processor
    // tokenizes the whole string at once with the fast tokenizer, which splits it at every added token first;
    // PromptBuilder cuts it at the image span's special tokens, which are added tokens, so each text run is
    // encoded as the reference's.
    Prompt buildPrompt(const SlicePlan &plan, const std::vector<Turn> &history, const std::string &question,
                       const Tokenizer &tokenizer) const override
    {
        PromptBuilder b(tokenizer);
        b.splitOn({}); // byte-level BPE: encode() splits the added tokens itself; no "</s>" handling
        b.text("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
        miniCpmVChatTurns(b, layout(), plan, history, question, [](const std::string &a) { return a; });
        return b.finish();
    }

    // MiniCPMV.terminators = ['<|im_end|>', '<|endoftext|>'] (generate's eos_token_id);
    // generation_config.json's ids join them in the engine.
    std::vector<int64_t> stopTokenIds(const Tokenizer &tokenizer) const override
    {
        return qwenChatStopIds(tokenizer, "MiniCPM-V 2.6");
    }

private:
    MiniCpmVVisionStack m_vision;
};

} // namespace

std::string miniCpmVersion(const json &config)
{
    const json *v = findKey(config, "version");
    if (!v)
        return "";
    if (v->is_string())
        return v->get<std::string>();
    if (!v->is_number())
        throw Error(ErrorCode::UnknownFamily, "config.json: key 'version' must be a number or a string",
                    "version");
    return v->dump(); // shortest round-trip form: 2.6 -> "2.6", 3.0 -> "3.0", 2 -> "2"
}

std::unique_ptr<VisionLanguageModel> createMiniCpmV26(const json &config, const FamilyBuildOptions &options)
{
    return std::make_unique<MiniCpmV26>(config, options);
}

namespace {
// The keys of openbmb/MiniCPM-V-2_6's config.json; `llm` and `vision` hold the sizes that differ between the
// tiny and the real preset.
json miniCpmV26Config(const json &llm, const json &vision, const std::string &name, const std::string &dtype)
{
    json c = {
        {"model_type", "minicpmv"},
        {"architectures", {"MiniCPMV"}},
        {"_name_or_path", name},
        {"version", 2.6},
        {"hidden_act", "silu"},
        {"rope_theta", 1000000.0},
        {"rms_norm_eps", 1e-6},
        {"tie_word_embeddings", false},
        {"use_sliding_window", false},
        {"query_num", 64},
        {"image_size", 448},
        {"patch_size", 14},
        {"drop_vision_last_layer", false},
        {"slice_mode", true},
        {"use_image_id", true},
        {"batch_vision_input", true},
        {"vision_batch_size", 16},
        {"slice_config",
         {{"max_slice_nums", 9}, {"model_type", "minicpmv"}, {"patch_size", 14}, {"scale_resolution", 448}}},
        {"vision_config", vision},
        {"torch_dtype", dtype},
    };
    c.update(llm);
    return c;
}
} // namespace

json tinyMiniCpmV26()
{
    // Several heads everywhere: 4 query / 2 key-value heads in the LLM (grouped-query, as 28 / 4), 4 in the
    // tower, hidden 256 for 2 resampler heads (hidden_size // 128).
    json c = miniCpmV26Config({{"hidden_size", 256},
                               {"num_hidden_layers", 2},
                               {"num_attention_heads", 4},
                               {"num_key_value_heads", 2},
                               {"intermediate_size", 256},
                               {"vocab_size", kTinyVocab},
                               {"max_position_embeddings", 4096}},
                              miniCpmVVisionConfig(false), "uhdlens-tiny-minicpmv26", "float32");
    c["uhdlens_tiny"] = true;
    c["uhdlens_special_tokens"] = familySpecialTokens(Family::MiniCpmV26);
    return c;
}

json realMiniCpmV26()
{
    // openbmb/MiniCPM-V-2_6 config.json: SigLIP-400M (27 layers, 1152 wide, 16 heads) + Qwen2-7B.
    return miniCpmV26Config({{"hidden_size", 3584},
                             {"num_hidden_layers", 28},
                             {"num_attention_heads", 28},
                             {"num_key_value_heads", 4},
                             {"intermediate_size", 18944},
                             {"vocab_size", 151666},
                             {"max_position_embeddings", 32768}},
                            miniCpmVVisionConfig(true), "openbmb/MiniCPM-V-2_6 (random weights, real shapes)",
                            "bfloat16");
}

} // namespace uhdlens::models
