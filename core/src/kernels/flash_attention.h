// Fused attention for long sequences on the CPU (internal, torch-side): softmax(q k^T * scale + mask) v
// computed FlashAttention-2 style (Dao 2023, "FlashAttention-2", Algorithm 1): each task owns a block of
// query rows and walks the keys block by block, keeping a running row maximum, a running sum of exponentials
// and an output accumulator in float32, rescaled when the maximum grows. The [Tq, S] score matrix never
// exists; the working set (a query block, one key panel, one value block, the block of scores) stays in L2.
//
// Usage: nn::scaledDotAttention calls fusedAttentionFor() and, when it answers yes, flashAttention(); nothing
// else needs to. Tests and benchmarks pick the path with setAttentionPath() and the instruction set with
// FlashAttentionOptions::isa.
//
// Thread-safety: flashAttention is reentrant (scratch is per call and per task; tasks run on
// at::parallel_for). setAttentionPath is a process-wide switch (an atomic), meant for tests and benchmarks,
// not per conversation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

namespace uhdlens::kernels {

// Instruction sets with a kernel. The portable one is plain C++ (same blocking and online softmax); AVX2
// needs AVX2 + FMA + F16C (quant::cpuHasAvx2Kernels, the run-time check the quantized kernels use), AVX-512
// needs AVX-512F + FMA. The binary runs on any x86-64: the choice is made at run time.
enum class AttentionIsa
{
    Portable,
    Avx2,
    Avx512
};
const char *attentionIsaName(AttentionIsa isa);
bool attentionIsaAvailable(AttentionIsa isa);
AttentionIsa bestAttentionIsa(); // the widest available

// Which attention nn::scaledDotAttention runs where the fused kernel takes the inputs.
enum class AttentionPath
{
    Plain,
    Fused
};
// "plain" / "fused"; throws Error(InvalidArgument) naming `source` for anything else.
AttentionPath parseAttentionPath(const std::string &text, const std::string &source);
// The override set by setAttentionPath, else UHDLENS_ATTENTION (read once per process; default fused).
// Throws Error(InvalidArgument) when UHDLENS_ATTENTION holds something else than plain or fused.
AttentionPath attentionPath();
// Process-wide override (tests, benchmarks); nullopt goes back to UHDLENS_ATTENTION.
void setAttentionPath(std::optional<AttentionPath> path);

struct FlashAttentionOptions
{
    double scale = 1.0;              // multiplies q k^T (callers pass 1/sqrt(head dim))
    std::optional<AttentionIsa> isa; // nullopt: bestAttentionIsa(); an unavailable one throws
    int64_t queryBlock = 0;          // rows per task (0: 64)
    int64_t keyBlock = 0;            // keys per inner step, rounded up to 16 (0: 128)
};

// Whether flashAttention takes these inputs: CPU tensors of one dtype (float32, bfloat16 or float16), q [N,
// Tq, dk], k [N, S, dk], v [N, S, dv] with N, Tq, S, dk, dv >= 1, and a mask that is undefined or an additive
// key mask broadcastable to [N, 1, S] (one value per key: the padding masks of navit SigLIP and the
// resampler). A mask that varies along the query axis (causal) is not taken. On false, `why` (if given) says
// what is missing.
bool flashAttentionSupports(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                            const torch::Tensor &mask, std::string *why = nullptr);

// softmax(q k^T * scale + mask) v -> [N, Tq, dv] in q's dtype. bf16/f16 inputs are widened to f32 (exact) and
// all arithmetic is f32, so the result equals the f32 attention up to summation order and one final rounding.
// A query row whose every key is masked with -inf is NaN, as the plain softmax gives. Keys masked with -inf
// at the end of a row (padding) are skipped, not computed. Does not record autograd history. Throws
// Error(InvalidArgument) when flashAttentionSupports is false or options.isa is unavailable.
torch::Tensor flashAttention(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                             const torch::Tensor &mask, const FlashAttentionOptions &options);

// nn::scaledDotAttention's switch: attentionPath() is Fused, grad mode is off (autograd needs the plain ops),
// and flashAttentionSupports. No size threshold: in `uhdlens-bench attention` the fused kernel wins on every
// family shape, and on the smallest (--quick, 2 heads x 16 queries x 130 keys) both paths take ~0.1 ms.
bool fusedAttentionFor(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                       const torch::Tensor &mask);

} // namespace uhdlens::kernels
