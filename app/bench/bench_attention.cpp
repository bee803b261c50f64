// uhdlens-bench attention [--quick] [--repeats N] [--threads N] [--dtype f32|bf16|both] [--portable]
// [--only TEXT]
//
// For each vision attention shape of the families (SigLIP-400M slices of MiniCPM-V 2.0/2.6, alone and batched
// with navit's padding mask; CLIP ViT-L/14-336 of llava-uhd; the resampler's cross-attention), side by side
// in one run, medians of --repeats after a warm-up: nn::scaledDotAttention on its plain path (bmm, softmax,
// bmm; head chunks in the cache when unmasked) and the fused kernel on each instruction set this CPU has (the
// portable one with --portable: slow, it exists for CPUs without AVX2), and the ratio plain / fused. GFLOP/s
// counts 4*Tq*S*d per head over the unpadded keys. --quick: short sequences and one repeat (a smoke run, not
// a timing).
#include "bench_attention.h"
#include "benchcommon.h"

#include "kernels/flash_attention.h"
#include "nn/layers.h"
#include "uhdlens/runtime.h"

#include <torch/torch.h>

#include <QCommandLineParser>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace bench {

namespace {

using uhdlens::kernels::AttentionIsa;

struct AttentionCase
{
    std::string name;
    int64_t heads, tq, s, d;
    std::vector<int64_t> slices; // patches per slice of a padded batch (navit); empty: one unmasked sequence
};

// Median wall and process CPU milliseconds of `repeats` runs after one warm-up. The CPU time (all threads) is
// the steadier figure on a shared machine: other processes stretch the wall time more than this one's CPU
// time.
struct Timing
{
    double wallMs, cpuMs;
};

double cpuNowMs()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

Timing timed(int repeats, const std::function<void()> &f)
{
    f();
    std::vector<double> wall, cpu;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = Clock::now();
        const double c0 = cpuNowMs();
        f();
        cpu.push_back(cpuNowMs() - c0);
        wall.push_back(msSince(t0));
    }
    return {median(wall), median(cpu)};
}

std::vector<AttentionCase> attentionCases(bool quick)
{
    if (quick)
        return {{"quick: 130 patches, 4 heads x 72", 4, 130, 130, 72, {}},
                {"quick: 3 slices padded to 130, 4 heads x 72", 4, 130, 130, 72, {130, 100, 33}},
                {"quick: resampler 16 queries x 130 keys, 2 x 128", 2, 16, 130, 128, {}}};
    // MiniCPM-V 2.6 at 1344x1344-class inputs: the overview and eight slices of different grids, padded to
    // the longest (1024 patches).
    const std::vector<int64_t> nine = {1024, 986, 986, 986, 986, 986, 986, 986, 986};
    return {
        {"SigLIP-400M slice: 1024 patches, 16 heads x 72", 16, 1024, 1024, 72, {}},
        {"SigLIP-400M 9 slices padded to 1024 (navit mask), 16 x 72", 16, 1024, 1024, 72, nine},
        {"SigLIP-400M 3 slices 1024/640/256 (navit mask), 16 x 72", 16, 1024, 1024, 72, {1024, 640, 256}},
        {"CLIP ViT-L/14-336 (llava-uhd): 577 tokens, 16 x 64", 16, 577, 577, 64, {}},
        {"SigLIP-400M small slice: 434 patches, 16 x 72", 16, 434, 434, 72, {}},
        {"resampler 2.6: 64 queries x 1024 keys, 28 x 128", 28, 64, 1024, 128, {}},
        {"resampler 2.0: 64 queries x 1024 keys, 18 x 128", 18, 64, 1024, 128, {}},
    };
}

} // namespace

int runAttentionBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.addOptions({
        {QStringLiteral("threads"), QStringLiteral("Torch threads (0: all cores)."), QStringLiteral("N"),
         QStringLiteral("2")},
        {QStringLiteral("dtype"),
         QStringLiteral("f32, bf16 or both (the towers' activations in f32/mixed and bf16)."),
         QStringLiteral("T"), QStringLiteral("f32")},
        {QStringLiteral("repeats"), QStringLiteral("Timed repeats (median)."), QStringLiteral("N"),
         QStringLiteral("5")},
        {QStringLiteral("only"), QStringLiteral("Only the shapes whose name contains TEXT."),
         QStringLiteral("TEXT")},
        {QStringLiteral("portable"), QStringLiteral("Also time the portable (no-SIMD) fused kernel.")},
        {QStringLiteral("quick"), QStringLiteral("Short sequences, one repeat (smoke run).")},
    });
    parser.addHelpOption();
    parser.setApplicationDescription(
        QStringLiteral("Fused vs plain attention on the vision towers' shapes (ratio plain / fused)."));
    const QString cmd = QStringLiteral("attention");
    if (const auto done = parseArguments(parser, args, cmd))
        return *done;
    const bool quick = parser.isSet(QStringLiteral("quick"));
    const QString only = parser.value(QStringLiteral("only"));
    bool repeatsOk = true, threadsOk = true;
    const int repeatsArg = parser.value(QStringLiteral("repeats")).toInt(&repeatsOk);
    int threads = parser.value(QStringLiteral("threads")).toInt(&threadsOk);
    if (!repeatsOk || repeatsArg < 1)
        return usageError(cmd, QStringLiteral("--repeats needs a positive integer"));
    if (!threadsOk || threads < 0)
        return usageError(cmd, QStringLiteral("--threads needs a count >= 0"));
    const QString dtypeArg = parser.value(QStringLiteral("dtype"));
    const std::vector<torch::Dtype> dtypes = f32Bf16Dtypes(dtypeArg);
    if (dtypes.empty())
        return usageError(cmd, QStringLiteral("--dtype must be f32, bf16 or both (got '%1')").arg(dtypeArg));
    const int repeats = quick ? 1 : repeatsArg;
    threads = uhdlens::setThreadCount(threads);
    torch::InferenceMode inference;

    std::vector<AttentionIsa> isas;
    for (auto isa : {AttentionIsa::Avx512, AttentionIsa::Avx2, AttentionIsa::Portable})
        if (uhdlens::kernels::attentionIsaAvailable(isa) &&
            (isa != AttentionIsa::Portable || parser.isSet(QStringLiteral("portable"))))
            isas.push_back(isa);
    std::printf("uhdlens-bench attention: %d torch threads, median of %d%s; fused kernels:", threads, repeats,
                quick ? " (--quick: short sequences, not a timing)" : "");
    for (auto isa : isas)
        std::printf(" %s", uhdlens::kernels::attentionIsaName(isa));
    std::printf(
        "\nwall ms (CPU ms of all threads); x = plain / fastest fused, by wall time and by CPU time\n");
    std::printf("%-60s %-5s %17s", "shape", "dtype", "plain");
    for (auto isa : isas)
        std::printf(" %17s", uhdlens::kernels::attentionIsaName(isa));
    std::printf(" %7s %7s %8s\n", "wall x", "CPU x", "GFLOP/s");

    torch::manual_seed(21);
    for (const auto &c : attentionCases(quick))
        for (const auto dtype : dtypes) {
            if (!only.isEmpty() && !QString::fromStdString(c.name).contains(only))
                continue;
            const int64_t batch = c.slices.empty() ? 1 : static_cast<int64_t>(c.slices.size());
            const int64_t n = batch * c.heads;
            const auto q = torch::randn({n, c.tq, c.d}).to(dtype), k = torch::randn({n, c.s, c.d}).to(dtype),
                       v = torch::randn({n, c.s, c.d}).to(dtype);
            torch::Tensor mask;
            double keys = static_cast<double>(n * c.s);
            if (!c.slices.empty()) { // navit's key padding mask, [B*heads, 1, L] as NavitSiglipImpl::forward
                                     // builds it
                mask = torch::zeros({batch, 1, c.s});
                keys = 0;
                for (int64_t i = 0; i < batch; ++i) {
                    const int64_t len = c.slices[static_cast<size_t>(i)];
                    mask[i].narrow(1, len, c.s - len).fill_(-std::numeric_limits<float>::infinity());
                    keys += static_cast<double>(len * c.heads);
                }
                mask = mask.to(dtype).unsqueeze(1).expand({batch, c.heads, 1, c.s}).reshape({n, 1, c.s});
            }
            const double scale = 1.0 / std::sqrt(static_cast<double>(c.d));
            uhdlens::kernels::setAttentionPath(uhdlens::kernels::AttentionPath::Plain);
            const Timing plain =
                timed(repeats, [&] { uhdlens::nn::scaledDotAttention(q, k, v, scale, mask); });
            uhdlens::kernels::setAttentionPath(std::nullopt);
            std::printf("%-60s %-5s %7.1f (%7.1f)", c.name.c_str(), dtype == torch::kFloat32 ? "f32" : "bf16",
                        plain.wallMs, plain.cpuMs);
            Timing best{0, 0};
            for (auto isa : isas) {
                uhdlens::kernels::FlashAttentionOptions o;
                o.scale = scale;
                o.isa = isa;
                const Timing t = timed(repeats, [&] { uhdlens::kernels::flashAttention(q, k, v, mask, o); });
                if (best.wallMs == 0 || t.wallMs < best.wallMs)
                    best = t;
                std::printf(" %7.1f (%7.1f)", t.wallMs, t.cpuMs);
            }
            std::printf(" %6.2fx %6.2fx %8.1f\n", plain.wallMs / best.wallMs, plain.cpuMs / best.cpuMs,
                        4.0 * keys * static_cast<double>(c.tq * c.d) / best.wallMs / 1e6);
            std::fflush(stdout);
        }
    return 0;
}

} // namespace bench
