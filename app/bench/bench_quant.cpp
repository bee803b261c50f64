// uhdlens-bench quant [--quick] [--repeats N] [--threads N] [--types F16,Q8_0,...] [--prefill-rows N]
// [--tile-mib N]
//
// For Qwen2-7B's two matrix shapes (3584 x 3584: attention; 18944 x 3584: MLP gate/up) and each weight type,
// side by side in one run, medians of --repeats after a warm-up:
//  - decode (one input row): the quantized GEMV (quant/quant_matmul.h, AVX2 kernels and the portable ones) as
//  ms and
//    as GB/s of weight bytes read, against libtorch's f32 at::linear on the same shape;
//  - prefill (--prefill-rows rows, default 512): the tiled dequantize + sgemm path against the f32 GEMM;
//  - the decode/tiled crossover (M = 1..128 rows on the 3584 x 3584 Q4_0 matrix) behind quant_linear.h's
//    kQuantDecodeMaxRows.
// Weights are random valid blocks (random quants, f16 scales ~0.01). --quick: 256 x 512 / 512 x 256 shapes,
// one repeat, 16 prefill rows (a smoke run, not a timing).
#include "bench_quant.h"
#include "benchcommon.h"

#include "quant/dequant.h"
#include "quant/quant_matmul.h"
#include "quant/quantize.h"
#include "quant/tiled_dot.h"
#include "quant/vec_dot.h"
#include "uhdlens/runtime.h"

#include <torch/torch.h>

#include <QCommandLineParser>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace bench {

namespace {

using uhdlens::quant::GgmlType;

std::string cpuFlags()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("flags", 0) == 0) {
            line += ' ';
            std::string out;
            for (const char *f : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni"})
                if (line.find(std::string(" ") + f + " ") != std::string::npos)
                    out += std::string(out.empty() ? "" : " ") + f;
            return out;
        }
    return "unknown";
}

// The interleaved copy the kernels of this CPU read (tiled_dot.h), or nothing.
std::vector<uint8_t> interleavedCopy(GgmlType type, const std::vector<uint8_t> &bytes, int64_t rows,
                                     int64_t cols)
{
    using namespace uhdlens::quant;
    return canInterleave(type, rows, cols, bestKernelIsa()) ? interleaveRows(type, bytes.data(), rows, cols)
                                                            : std::vector<uint8_t>{};
}

// rows x cols of `type`: float types from N(0, 0.02) values, block types as random bytes with f16 scales
// ~0.01.
std::vector<uint8_t> randomWeight(GgmlType type, int64_t rows, int64_t cols, std::mt19937 &rng)
{
    using namespace uhdlens::quant;
    const GgmlTypeInfo &info = ggmlTypeInfo(type);
    const int64_t rowB = rowBytes(type, cols);
    std::vector<uint8_t> w(static_cast<size_t>(rowB * rows));
    if (info.blockElements == 1) {
        torch::Tensor f = torch::randn({rows, cols}) * 0.02;
        const float *p = f.data_ptr<float>();
        for (int64_t r = 0; r < rows; ++r)
            quantizeRow(type, p + r * cols, w.data() + r * rowB, cols);
        return w;
    }
    const torch::Tensor bytes = torch::randint(0, 256, {static_cast<int64_t>(w.size())}, torch::kUInt8);
    std::memcpy(w.data(), bytes.data_ptr<uint8_t>(), w.size());
    std::vector<int> fields;
    switch (type) {
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
        fields = {0, 2};
        break;
    case GgmlType::Q6_K:
        fields = {208};
        break;
    default:
        fields = {0};
    }
    std::uniform_real_distribution<float> scale(0.005f, 0.02f);
    for (size_t off = 0; off < w.size(); off += static_cast<size_t>(info.blockBytes))
        for (int f : fields) {
            const uint16_t h = f32ToFp16(scale(rng));
            std::memcpy(w.data() + off + f, &h, 2);
        }
    return w;
}

// A positive integer option's value, or nullopt after a usage error (printed).
std::optional<int64_t> positive(const QCommandLineParser &parser, const QString &name, const QString &cmd)
{
    bool ok = true;
    const int64_t v = parser.value(name).toLongLong(&ok);
    if (ok && v > 0)
        return v;
    usageError(cmd, QStringLiteral("--%1 needs a positive integer").arg(name));
    return std::nullopt;
}

} // namespace

int runQuantBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.addOptions({
        {QStringLiteral("quick"), QStringLiteral("Small shapes, one repeat (smoke run).")},
        {QStringLiteral("repeats"), QStringLiteral("Timed repeats (median)."), QStringLiteral("N"),
         QStringLiteral("7")},
        {QStringLiteral("threads"), QStringLiteral("Torch threads (0: all cores)."), QStringLiteral("N"),
         QStringLiteral("0")},
        {QStringLiteral("types"), QStringLiteral("Comma-separated weight types."), QStringLiteral("list"),
         QStringLiteral("F16,BF16,Q8_0,Q4_0,Q4_1,Q5_0,Q4_K,Q5_K,Q6_K")},
        {QStringLiteral("prefill-rows"), QStringLiteral("Rows of the prefill GEMM."), QStringLiteral("N"),
         QStringLiteral("512")},
        {QStringLiteral("tile-mib"), QStringLiteral("f32 buffer of the tiled path, MiB (default 64)."),
         QStringLiteral("N"), QStringLiteral("64")},
    });
    parser.addHelpOption();
    parser.setApplicationDescription(QStringLiteral(
        "Quantized decode GEMV and prefill GEMM against f32 libtorch on Qwen2-7B's matrix shapes."));
    const QString cmd = QStringLiteral("quant");
    if (const auto done = parseArguments(parser, args, cmd))
        return *done;
    const bool quick = parser.isSet(QStringLiteral("quick"));
    const auto repeatsArg = positive(parser, QStringLiteral("repeats"), cmd);
    const auto prefillArg = positive(parser, QStringLiteral("prefill-rows"), cmd);
    const auto tileArg = positive(parser, QStringLiteral("tile-mib"), cmd);
    bool ok = true;
    int threads = parser.value(QStringLiteral("threads")).toInt(&ok);
    if (!repeatsArg || !prefillArg || !tileArg)
        return 2;
    if (!ok || threads < 0)
        return usageError(cmd, QStringLiteral("--threads needs a count >= 0"));
    const int repeats = quick ? 1 : static_cast<int>(*repeatsArg);
    const int64_t prefillRows = quick ? 16 : *prefillArg;
    const int64_t tileBytes = *tileArg << 20;
    std::vector<GgmlType> types;
    for (const QString &name :
         parser.value(QStringLiteral("types")).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool found = false;
        for (const auto &t : uhdlens::quant::kGgmlTypes)
            if (t.supported && QString::fromLatin1(t.name.data(), int(t.name.size())) == name.trimmed()) {
                types.push_back(t.type);
                found = true;
            }
        if (!found)
            return usageError(cmd,
                              QStringLiteral("unknown or unsupported type '%1' (supported: %2)")
                                  .arg(name, QString::fromStdString(uhdlens::quant::supportedTypeNames())));
    }
    if (types.empty())
        return usageError(cmd, QStringLiteral("--types names no type"));
    threads = uhdlens::setThreadCount(threads);
    torch::NoGradGuard noGrad;

    struct Shape
    {
        const char *name;
        int64_t out, in;
    };
    const std::vector<Shape> shapes =
        quick ? std::vector<Shape>{{"256x512", 256, 512}, {"512x256", 512, 256}}
              : std::vector<Shape>{{"3584x3584", 3584, 3584}, {"18944x3584", 18944, 3584}};
    std::printf("uhdlens-bench quant: %d torch threads, median of %d%s\nCPU flags: %s; AVX2 kernels %s; "
                "kernel set %s (UHDLENS_QUANT_ISA=portable|avx2|avx512vnni caps it)\n",
                threads, repeats, quick ? " (--quick: small shapes, not a timing)" : "", cpuFlags().c_str(),
                uhdlens::quant::cpuHasAvx2Kernels() ? "on" : "off (portable only)",
                uhdlens::quant::kernelIsaName(uhdlens::quant::bestKernelIsa()));
    std::printf("%-10s %-5s %8s | %-24s %-24s %-22s %6s | %-34s\n", "shape", "type", "MiB",
                "decode AVX2 ms (GB/s)", "portable ms (GB/s)", "f32 torch ms (GB/s)", "x f32",
                "prefill tiled ms / f32 GEMM ms (ratio)  dequant ms  int8 ms");
    std::mt19937 rng(42);
    for (const Shape &s : shapes) {
        const torch::Tensor wf = torch::randn({s.out, s.in}) * 0.02;
        const torch::Tensor x1 = torch::randn({1, s.in});
        const torch::Tensor xp = torch::randn({prefillRows, s.in});
        const double f32Bytes = double(s.out) * s.in * 4;
        const double f32Decode = medianMs(repeats * 3, [&] { (void)at::linear(x1, wf); });
        const double f32Prefill = medianMs(repeats, [&] { (void)at::linear(xp, wf); });
        for (GgmlType t : types) {
            const auto bytes = randomWeight(t, s.out, s.in, rng);
            // As QuantLinear holds it: with the interleaved copy its kernels read where the type has one.
            const auto packed = interleavedCopy(t, bytes, s.out, s.in);
            const uhdlens::quant::QuantMatrix w{t, bytes.data(), s.out, s.in,
                                                packed.empty() ? nullptr : packed.data(),
                                                packed.empty() ? 0 : s.out};
            const double mb = double(bytes.size());
            const bool avx2 = uhdlens::quant::cpuHasAvx2Kernels() && uhdlens::quant::hasAvx2Kernel(t);
            const double dAvx =
                avx2 ? medianMs(repeats * 3, [&] { (void)uhdlens::quant::quantMatmulFewRows(x1, w, {}); })
                     : 0;
            const double dPort = medianMs(
                repeats, [&] { (void)uhdlens::quant::quantMatmulFewRows(x1, w, {}, /*portable=*/true); });
            const double pre =
                medianMs(repeats, [&] { (void)uhdlens::quant::quantMatmulTiled(xp, w, {}, tileBytes); });
            // The dequantization alone (whole matrix, same threads): the part of the tiled path that is not
            // sgemm.
            const double deq = medianMs(
                repeats, [&] { (void)uhdlens::quant::dequantizeTensor(t, bytes.data(), s.out, s.in); });
            // The dot-product path on all prefill rows: the register-tiled int8 kernels where the type has
            // them (tiled_dot.h), the per-row kernels otherwise (then only a reference point).
            const bool tiled = uhdlens::quant::hasTiledKernel(t, uhdlens::quant::bestKernelIsa());
            const double int8 =
                tiled ? medianMs(repeats, [&] { (void)uhdlens::quant::quantMatmulFewRows(xp, w, {}); }) : 0;
            const double best = avx2 ? dAvx : dPort;
            char avxCol[64], portCol[64], f32Col[64], preCol[96];
            if (avx2)
                std::snprintf(avxCol, sizeof avxCol, "%8.3f (%6.1f)", dAvx, mb / dAvx / 1e6);
            else
                std::snprintf(avxCol, sizeof avxCol, "%17s", "(portable only)");
            std::snprintf(portCol, sizeof portCol, "%8.3f (%6.1f)", dPort, mb / dPort / 1e6);
            std::snprintf(f32Col, sizeof f32Col, "%8.3f (%6.1f)", f32Decode, f32Bytes / f32Decode / 1e6);
            std::snprintf(preCol, sizeof preCol, "%9.1f / %9.1f (%.2f)  %7.1f  %7s", pre, f32Prefill,
                          pre / f32Prefill, deq,
                          tiled ? QString::number(int8, 'f', 1).toUtf8().constData() : "-");
            std::printf("%-10s %-5s %8.1f | %-24s %-24s %-22s %6.2f | %s\n", s.name,
                        std::string(uhdlens::quant::ggmlTypeInfo(t).name).c_str(), mb / (1 << 20), avxCol,
                        portCol, f32Col, f32Decode / best, preCol);
            std::fflush(stdout);
        }
    }

    // Crossover of the two paths on the attention-sized Q4_0 matrix: the few-rows cost grows with M, the
    // tiled one is one dequantization plus a GEMM.
    const Shape &s = shapes.front();
    std::mt19937 rng2(7);
    const auto bytes = randomWeight(GgmlType::Q4_0, s.out, s.in, rng2);
    const auto packed = interleavedCopy(GgmlType::Q4_0, bytes, s.out, s.in);
    const uhdlens::quant::QuantMatrix w{GgmlType::Q4_0, bytes.data(), s.out, s.in,
                                        packed.empty() ? nullptr : packed.data(), packed.empty() ? 0 : s.out};
    std::printf("\nQ4_0 %s, rows M: few-rows (dot products) ms vs tiled (dequantize + sgemm) ms\n", s.name);
    for (int64_t m : {1, 2, 4, 8, 16, 32, 64, 128, 512}) {
        const torch::Tensor x = torch::randn({m, s.in});
        const double few = medianMs(repeats, [&] { (void)uhdlens::quant::quantMatmulFewRows(x, w, {}); });
        const double tiled =
            medianMs(repeats, [&] { (void)uhdlens::quant::quantMatmulTiled(x, w, {}, tileBytes); });
        std::printf("  M=%-3lld few %8.3f  tiled %8.3f  %s\n", static_cast<long long>(m), few, tiled,
                    few <= tiled ? "few-rows faster" : "tiled faster");
    }
    return 0;
}

} // namespace bench
