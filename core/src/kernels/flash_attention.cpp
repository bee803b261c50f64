// Fused attention (flash_attention.h): input checks, packing, the FlashAttention-2 loop over query and key
// blocks, the run-time choice of instruction set, the portable block operations and the plain/fused switch.
#include "kernels/flash_attention.h"

#include "kernels/flash_attention_kernels.h"
#include "quant/vec_dot.h" // cpuHasAvx2Kernels: the run-time AVX2/FMA/F16C check the quantized kernels use
#include "uhdlens/errors.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

namespace uhdlens::kernels {

namespace detail {
namespace {

// Portable block operations: the same contract as the SIMD ones (flash_attention_kernels.h) in plain scalar
// C++, with std::exp. The reference the SIMD copies are tested against, and the path on CPUs without AVX2.
void portableScores(const float *q, int64_t rows, int64_t dk, const float *kt, int64_t ld, int64_t cols,
                    float *s)
{
    for (int64_t r = 0; r < rows; ++r) {
        float *out = s + r * ld;
        std::fill(out, out + cols, 0.0f);
        for (int64_t p = 0; p < dk; ++p) {
            const float a = q[r * dk + p];
            const float *b = kt + p * ld;
            for (int64_t c = 0; c < cols; ++c)
                out[c] += a * b[c];
        }
    }
}

void portableSoftmax(float *s, int64_t rows, int64_t ld, int64_t valid, const float *mask, float *m, float *l,
                     float *o, int64_t dvp)
{
    const float negInf = -std::numeric_limits<float>::infinity();
    for (int64_t r = 0; r < rows; ++r) {
        float *row = s + r * ld;
        float blockMax = negInf;
        for (int64_t c = 0; c < valid; ++c) {
            if (mask)
                row[c] += mask[c];
            blockMax = std::max(blockMax, row[c]);
        }
        const float newMax = std::max(m[r], blockMax);
        if (newMax == negInf) {
            std::fill(row, row + valid, 0.0f);
            continue;
        }
        if (newMax != m[r]) {
            const float alpha = std::exp(m[r] - newMax);
            m[r] = newMax;
            l[r] *= alpha;
            for (int64_t c = 0; c < dvp; ++c)
                o[r * dvp + c] *= alpha;
        }
        float sum = 0.0f;
        for (int64_t c = 0; c < valid; ++c) {
            row[c] = std::exp(row[c] - newMax);
            sum += row[c];
        }
        l[r] += sum;
    }
}

void portableAccumulate(const float *p, int64_t rows, int64_t ld, int64_t keys, const float *v, int64_t dvp,
                        float *o)
{
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < keys; ++j) {
            const float w = p[r * ld + j];
            const float *vr = v + j * dvp;
            float *out = o + r * dvp;
            for (int64_t c = 0; c < dvp; ++c)
                out[c] += w * vr[c];
        }
}

constexpr FlashKernels kPortable{8, &portableScores, &portableSoftmax, &portableAccumulate};

} // namespace

const FlashKernels &portableKernels()
{
    return kPortable;
}

} // namespace detail

namespace {

constexpr int64_t kKeyBlockAlign = 16; // key blocks are whole AVX-512 vectors for every kernel
constexpr int64_t kDefaultQueryBlock = 64;
constexpr int64_t kDefaultKeyBlock = 128;

int64_t roundUp(int64_t x, int64_t m)
{
    return (x + m - 1) / m * m;
}

bool cpuHasAvx512()
{
#if defined(__x86_64__)
    static const bool has = __builtin_cpu_supports("avx512f") && quant::cpuHasAvx2Kernels();
    return has;
#else
    return false;
#endif
}

const detail::FlashKernels &kernelsFor(AttentionIsa isa)
{
    switch (isa) {
#if defined(__x86_64__)
    case AttentionIsa::Avx512:
        return detail::simdKernels<16>();
    case AttentionIsa::Avx2:
        return detail::simdKernels<8>();
#endif
    default:
        return detail::portableKernels();
    }
}

// -1: no override (UHDLENS_ATTENTION decides), else an AttentionPath.
std::atomic<int> g_pathOverride{-1};

std::string describe(const torch::Tensor &t)
{
    std::string out = "[";
    for (int64_t i = 0; i < t.dim(); ++i)
        out += (i ? ", " : "") + std::to_string(t.size(i));
    return out + "]";
}

} // namespace

const char *attentionIsaName(AttentionIsa isa)
{
    static constexpr const char *kNames[] = {"portable", "avx2", "avx512"}; // AttentionIsa's order
    return kNames[static_cast<int>(isa)];
}

bool attentionIsaAvailable(AttentionIsa isa)
{
    switch (isa) {
    case AttentionIsa::Portable:
        return true;
    case AttentionIsa::Avx2:
        return quant::cpuHasAvx2Kernels();
    case AttentionIsa::Avx512:
        return cpuHasAvx512();
    }
    return false;
}

AttentionIsa bestAttentionIsa()
{
    if (attentionIsaAvailable(AttentionIsa::Avx512))
        return AttentionIsa::Avx512;
    if (attentionIsaAvailable(AttentionIsa::Avx2))
        return AttentionIsa::Avx2;
    return AttentionIsa::Portable;
}

AttentionPath parseAttentionPath(const std::string &text, const std::string &source)
{
    if (text == "plain")
        return AttentionPath::Plain;
    if (text == "fused")
        return AttentionPath::Fused;
    throw Error(ErrorCode::InvalidArgument, source + " is '" + text + "': expected plain or fused", source);
}

AttentionPath attentionPath()
{
    const int forced = g_pathOverride.load(std::memory_order_relaxed);
    if (forced >= 0)
        return static_cast<AttentionPath>(forced);
    // Read once: the switch is for runs and parity tests, not something to flip under a running model.
    static const std::optional<std::string> env = [] {
        const char *value = std::getenv("UHDLENS_ATTENTION");
        return value && *value ? std::optional<std::string>(value) : std::nullopt;
    }();
    return env ? parseAttentionPath(*env, "UHDLENS_ATTENTION") : AttentionPath::Fused;
}

void setAttentionPath(std::optional<AttentionPath> path)
{
    g_pathOverride.store(path ? static_cast<int>(*path) : -1, std::memory_order_relaxed);
}

bool flashAttentionSupports(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                            const torch::Tensor &mask, std::string *why)
{
    auto no = [&](const std::string &reason) {
        if (why)
            *why = reason;
        return false;
    };
    if (!q.defined() || !k.defined() || !v.defined())
        return no("q, k and v must be defined");
    if (!q.device().is_cpu() || !k.device().is_cpu() || !v.device().is_cpu())
        return no("q, k and v must be CPU tensors");
    const auto dtype = q.scalar_type();
    if (dtype != torch::kFloat32 && dtype != torch::kBFloat16 && dtype != torch::kFloat16)
        return no("q must be float32, bfloat16 or float16");
    if (k.scalar_type() != dtype || v.scalar_type() != dtype)
        return no("q, k and v must share one dtype");
    if (q.dim() != 3 || k.dim() != 3 || v.dim() != 3)
        return no("q, k and v must be [N, T, d] (got q " + describe(q) + ", k " + describe(k) + ", v " +
                  describe(v) + ")");
    const int64_t n = q.size(0), s = k.size(1);
    if (k.size(0) != n || v.size(0) != n || v.size(1) != s || k.size(2) != q.size(2))
        return no("shapes do not match: q " + describe(q) + ", k " + describe(k) + ", v " + describe(v));
    if (n < 1 || q.size(1) < 1 || s < 1 || q.size(2) < 1 || v.size(2) < 1)
        return no("empty q, k or v: q " + describe(q) + ", k " + describe(k) + ", v " + describe(v));
    if (mask.defined()) {
        if (!mask.device().is_cpu() || !mask.is_floating_point())
            return no("the mask must be a floating-point CPU tensor");
        const int64_t md = mask.dim();
        const bool keyOnly = md >= 1 && md <= 3 && (mask.size(-1) == s || mask.size(-1) == 1) &&
                             (md < 2 || mask.size(-2) == 1) &&
                             (md < 3 || mask.size(0) == n || mask.size(0) == 1);
        if (!keyOnly)
            return no("the mask " + describe(mask) + " is not a key mask broadcastable to [" +
                      std::to_string(n) + ", 1, " + std::to_string(s) + "]");
    }
    return true;
}

namespace {

// One fused attention call, its sizes fixed: flashAttention fills it, attend<T> runs it.
struct FlashPlan
{
    const detail::FlashKernels *kern;
    int64_t n, tq, s, dk, dv;
    int64_t bq, bk, keyBlocks, sp, dvp, queryBlocks;
    float scale;
    // Key mask rows (one, or one per batch row: maskStride = sp), zero-padded to sp so the SIMD softmax may
    // read whole vectors; keyCount: each row's keys once trailing -inf (padding) keys are cut.
    std::vector<float> maskRows;
    int64_t maskStride = 0;
    std::vector<int64_t> keyCount;
};

// bf16 -> f32 is exact (the bf16 bits are the f32's high half), f16 -> f32 too; f32 -> bf16/f16 rounds to
// nearest even (c10's conversions), as libtorch's own casts do.
template <typename T> inline float widen(T x)
{
    return static_cast<float>(x);
}

template <typename T> void attend(const FlashPlan &p, const T *qp, const T *kp, const T *vp, T *op)
{
    const int64_t n = p.n, tq = p.tq, s = p.s, dk = p.dk, dv = p.dv, bq = p.bq, bk = p.bk;
    const int64_t keyBlocks = p.keyBlocks, sp = p.sp, dvp = p.dvp, queryBlocks = p.queryBlocks;
    // Packing, once per head, widening to f32 on the way: keys as dk x bk panels per key block (transposed,
    // so the score tile reads contiguous key vectors), values as sp x dvp rows; zeros past the last key and
    // past dv.
    std::vector<float> keyPanels(static_cast<size_t>(n * keyBlocks * dk * bk)),
        values(static_cast<size_t>(n * sp * dvp));
    float *kt = keyPanels.data(), *vpack = values.data();
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t h = begin; h < end; ++h) {
            for (int64_t b = 0; b < keyBlocks; ++b) {
                float *panel = kt + (h * keyBlocks + b) * dk * bk;
                for (int64_t c = 0; c < bk; ++c) {
                    const int64_t key = b * bk + c;
                    const T *src = kp + (h * s + key) * dk;
                    for (int64_t d = 0; d < dk; ++d)
                        panel[d * bk + c] = key < s ? widen(src[d]) : 0.0f;
                }
            }
            for (int64_t j = 0; j < sp; ++j) {
                float *row = vpack + (h * sp + j) * dvp;
                const T *src = vp + (h * s + j) * dv;
                for (int64_t c = 0; c < dvp; ++c)
                    row[c] = j < s && c < dv ? widen(src[c]) : 0.0f;
            }
        }
    });

    const int64_t tasks = n * queryBlocks;
    // Tasks (head, query block) are handed out one at a time from a shared counter: with padded batches the
    // heads of short slices are cheaper, and a static split would leave one thread idle.
    std::atomic<int64_t> next{0};
    const int64_t workers = std::min<int64_t>(at::get_num_threads(), tasks);
    at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
        std::vector<float> qb(static_cast<size_t>(bq * dk)), sb(static_cast<size_t>(bq * bk)),
            ob(static_cast<size_t>(bq * dvp)), mb(static_cast<size_t>(bq)), lb(static_cast<size_t>(bq));
        for (int64_t task = next++; task < tasks; task = next++) {
            const int64_t h = task / queryBlocks, row0 = task % queryBlocks * bq,
                          rows = std::min(bq, tq - row0);
            const T *src = qp + (h * tq + row0) * dk;
            for (int64_t i = 0; i < rows * dk; ++i)
                qb[static_cast<size_t>(i)] = widen(src[i]) * p.scale;
            std::fill(mb.begin(), mb.end(), -std::numeric_limits<float>::infinity());
            std::fill(lb.begin(), lb.end(), 0.0f);
            std::fill(ob.begin(), ob.end(), 0.0f);
            const int64_t maskRow = p.maskStride ? h : 0;
            const float *maskPtr = p.maskRows.empty() ? nullptr : p.maskRows.data() + maskRow * p.maskStride;
            const int64_t keys = p.keyCount[static_cast<size_t>(maskRow)];
            for (int64_t b = 0; b * bk < keys; ++b) {
                const int64_t valid = std::min(bk, keys - b * bk);
                p.kern->scores(qb.data(), rows, dk, kt + (h * keyBlocks + b) * dk * bk, bk,
                               roundUp(valid, p.kern->lanes), sb.data());
                p.kern->softmax(sb.data(), rows, bk, valid, maskPtr ? maskPtr + b * bk : nullptr, mb.data(),
                                lb.data(), ob.data(), dvp);
                p.kern->accumulate(sb.data(), rows, bk, valid, vpack + (h * sp + b * bk) * dvp, dvp,
                                   ob.data());
            }
            for (int64_t r = 0; r < rows; ++r) {
                T *dst = op + (h * tq + row0 + r) * dv;
                // Every key masked: the plain softmax's 0/0 (NaN), kept so both paths agree.
                const float sum = lb[static_cast<size_t>(r)];
                const float inv = sum > 0.0f ? 1.0f / sum : std::numeric_limits<float>::quiet_NaN();
                for (int64_t c = 0; c < dv; ++c)
                    dst[c] = static_cast<T>(ob[static_cast<size_t>(r * dvp + c)] * inv);
            }
        }
    });
}

} // namespace

torch::Tensor flashAttention(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                             const torch::Tensor &mask, const FlashAttentionOptions &options)
{
    std::string why;
    if (!flashAttentionSupports(q, k, v, mask, &why))
        throw Error(ErrorCode::InvalidArgument, "fused attention: " + why);
    const AttentionIsa isa = options.isa.value_or(bestAttentionIsa());
    if (!attentionIsaAvailable(isa))
        throw Error(ErrorCode::InvalidArgument,
                    std::string("fused attention: this CPU has no ") + attentionIsaName(isa) + " kernel");
    if (options.queryBlock < 0 || options.keyBlock < 0 || !std::isfinite(options.scale))
        throw Error(ErrorCode::InvalidArgument,
                    "fused attention: block sizes must be >= 0 and the scale finite");
    torch::NoGradGuard noGrad;

    FlashPlan p;
    p.kern = &kernelsFor(isa);
    p.n = q.size(0);
    p.tq = q.size(1);
    p.s = k.size(1);
    p.dk = q.size(2);
    p.dv = v.size(2);
    p.bq = options.queryBlock > 0 ? options.queryBlock : kDefaultQueryBlock;
    p.bk = roundUp(options.keyBlock > 0 ? options.keyBlock : kDefaultKeyBlock, kKeyBlockAlign);
    p.keyBlocks = (p.s + p.bk - 1) / p.bk;
    p.sp = p.keyBlocks * p.bk;
    p.dvp = roundUp(p.dv, p.kern->lanes); // d 72: 72 for AVX2, 80 for AVX-512
    p.queryBlocks = (p.tq + p.bq - 1) / p.bq;
    p.scale = static_cast<float>(options.scale);
    p.keyCount.assign(1, p.s);
    if (mask.defined()) {
        auto m = mask.to(torch::kFloat32);
        while (m.dim() < 3)
            m = m.unsqueeze(0);
        const int64_t rows = m.size(0), s = p.s;
        m = m.expand({rows, 1, s}).reshape({rows, s}).contiguous();
        p.maskRows.assign(static_cast<size_t>(rows * p.sp), 0.0f);
        p.keyCount.assign(static_cast<size_t>(rows), 0);
        const float *mp = m.data_ptr<float>();
        for (int64_t r = 0; r < rows; ++r) {
            std::copy(mp + r * s, mp + (r + 1) * s, p.maskRows.begin() + r * p.sp);
            int64_t count = s;
            while (count > 0 && mp[r * s + count - 1] == -std::numeric_limits<float>::infinity())
                --count;
            p.keyCount[static_cast<size_t>(r)] = count;
        }
        p.maskStride = rows == 1 ? 0 : p.sp;
    }

    // Contiguous in their own dtype (no copy for the towers' tensors); widened to f32 block by block.
    const auto qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
    auto out = torch::empty({p.n, p.tq, p.dv}, q.options());
    switch (q.scalar_type()) {
    case torch::kBFloat16:
        attend<c10::BFloat16>(p, qc.data_ptr<c10::BFloat16>(), kc.data_ptr<c10::BFloat16>(),
                              vc.data_ptr<c10::BFloat16>(), out.data_ptr<c10::BFloat16>());
        break;
    case torch::kFloat16:
        attend<c10::Half>(p, qc.data_ptr<c10::Half>(), kc.data_ptr<c10::Half>(), vc.data_ptr<c10::Half>(),
                          out.data_ptr<c10::Half>());
        break;
    default:
        attend<float>(p, qc.data_ptr<float>(), kc.data_ptr<float>(), vc.data_ptr<float>(),
                      out.data_ptr<float>());
        break;
    }
    return out;
}

bool fusedAttentionFor(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v,
                       const torch::Tensor &mask)
{
    if (attentionPath() != AttentionPath::Fused || at::GradMode::is_enabled())
        return false;
    return flashAttentionSupports(q, k, v, mask);
}

} // namespace uhdlens::kernels
