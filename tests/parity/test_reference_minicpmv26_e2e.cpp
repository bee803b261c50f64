// The minicpmv26 family end to end against the OFFICIAL MiniCPM-V 2.6 chat path (MiniCPMV.chat with its
// processor, tokenizer and Qwen2ForCausalLM.generate; openbmb/MiniCPM-V-2_6's .py files as in GitHub
// 404805854/minicpmv2.6-onnx @ 8490e59). tests/data/reference/minicpmv26-e2e/ is a complete Hugging Face
// model folder (config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json,
// generation_config.json, model.safetensors) with tiny random weights under the real tensor names, plus what
// the official code computed on it (tests/tools/reference/minicpmv26_e2e_fixture.py; manifest.json says how).
//
// The folder is loaded through the normal path (Model::load: family from config.json "version", processor
// keys, byte-level BPE tokenizer, stop ids) and compared stage by stage, each failure naming the stage and
// tensor:
//   plan and tgt_sizes -> pixels (ours, within one 8-bit level) -> vision features and resampler output (on
//   the reference pixels) -> prompt ids (turn 1 and a follow-up turn) -> first logits (max abs <= 1e-4) -> 16
//   greedy tokens -> Conversation::ask's streamed answer text for both turns.
// f32 and mixed (bf16 matrices, f32 arithmetic: the weights are bf16 numbers) are both compared with the
// official float32 run. The suite itself is parity/minicpmv_e2e_suite.h (shared with MiniCPM-V 4.5).
#include "minicpmv_e2e_suite.h"

namespace minicpmv_e2e {

INSTANTIATE_TEST_SUITE_P(
    ReferenceMiniCpmV26, MiniCpmVEndToEnd,
    ::testing::Values(Case{"minicpmv26-e2e", Family::MiniCpmV26, "f32", "minicpmv26_e2e_fixture.py"},
                      Case{"minicpmv26-e2e", Family::MiniCpmV26, "mixed", "minicpmv26_e2e_fixture.py"}),
    [](const ::testing::TestParamInfo<Case> &info) { return info.param.dtype; });

} // namespace minicpmv_e2e
