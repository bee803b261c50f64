// uhdlens-bench vision [--onnx FILE] [--sides 224,336,448,518] [--dtype f32|bf16|both] [--threads N]
// [--repeats N]
//
// For each square slice side S (a multiple of the patch): the median wall time of one slice through the
// encoder (patch embedding, position fit, all blocks, final norm), its analytic FLOPs (matrix products: 2 *
// tokens * the encoder's matrix parameters; attention: 4 * layers * tokens^2 * width) and the rate they
// imply, as a fraction of an f32 GEMM of the encoder's MLP shape (tokens x width @ width x 4*width) timed
// alongside. The issue 18 choice of slice resolution reads this table; nothing is remembered from other runs.
#include "bench_vision.h"

#include "benchcommon.h"

#include "onnx/onnx_vit.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"
#include "uhdlens/runtime.h"

#include <torch/torch.h>

#include <QCommandLineParser>

#include <cstdio>
#include <string>
#include <vector>

namespace bench {

int runVisionBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.addOptions({
        {QStringLiteral("onnx"),
         QStringLiteral("ONNX file holding a DINOv2 backbone (default: the base weights' %1).")
             .arg(QString::fromUtf8(uhdlens::kDinov2SmallOnnxFile)),
         QStringLiteral("FILE")},
        {QStringLiteral("sides"), QStringLiteral("Square slice sides in pixels, multiples of the patch."),
         QStringLiteral("S,S,..."), QStringLiteral("224,336,448,518")},
        {QStringLiteral("dtype"), QStringLiteral("f32, bf16 or both (weights and activations)."),
         QStringLiteral("T"), QStringLiteral("f32")},
        {QStringLiteral("threads"), QStringLiteral("Torch threads (0: all cores)."), QStringLiteral("N"),
         QStringLiteral("2")},
        {QStringLiteral("repeats"), QStringLiteral("Timed repeats (median)."), QStringLiteral("N"),
         QStringLiteral("5")},
    });
    parser.addHelpOption();
    parser.setApplicationDescription(
        QStringLiteral("Time per slice of a pretrained vision encoder from ONNX."));
    const QString cmd = QStringLiteral("vision");
    if (const auto done = parseArguments(parser, args, cmd))
        return *done;
    bool ok = true;
    const int repeats = parser.value(QStringLiteral("repeats")).toInt(&ok);
    if (!ok || repeats < 1)
        return usageError(cmd, QStringLiteral("--repeats needs a positive integer"));
    int threads = parser.value(QStringLiteral("threads")).toInt(&ok);
    if (!ok || threads < 0)
        return usageError(cmd, QStringLiteral("--threads needs a count >= 0"));
    std::vector<int64_t> sides;
    for (const QString &s : parser.value(QStringLiteral("sides")).split(QLatin1Char(','))) {
        const int v = s.trimmed().toInt(&ok);
        if (!ok || v < 14 || v > 4096)
            return usageError(cmd, QStringLiteral("--sides needs sides in 14..4096 (got '%1')").arg(s));
        sides.push_back(v);
    }
    const QString dtypeArg = parser.value(QStringLiteral("dtype"));
    const std::vector<torch::Dtype> dtypes = f32Bf16Dtypes(dtypeArg);
    if (dtypes.empty())
        return usageError(cmd, QStringLiteral("--dtype must be f32, bf16 or both (got '%1')").arg(dtypeArg));
    std::string path = parser.value(QStringLiteral("onnx")).toStdString();
    if (path.empty()) {
        path = uhdlens::findBaseWeight(uhdlens::kDinov2SmallOnnxFile);
        if (path.empty()) {
            std::fprintf(stderr,
                         "uhdlens-bench vision: %s/%s is not installed: run %s, or name a file with --onnx\n",
                         uhdlens::baseWeightsDir().c_str(), uhdlens::kDinov2SmallOnnxFile,
                         uhdlens::kBaseWeightsCommand);
            return 1;
        }
    }
    threads = uhdlens::setThreadCount(threads);
    torch::InferenceMode inference;
    try {
        for (const torch::Dtype dtype : dtypes) {
            const auto m = uhdlens::onnx::loadDinov2Onnx(path, dtype);
            const auto &o = m.options;
            for (const int64_t side : sides)
                if (side % o.patch)
                    return usageError(
                        cmd,
                        QStringLiteral("side %1 is not a multiple of the patch %2").arg(side).arg(o.patch));
            int64_t matrixParams = 0;
            for (const auto &p : m.vit->named_parameters())
                if (p.value().dim() == 2)
                    matrixParams += p.value().numel();
            std::printf(
                "%s: DINOv2 %lld layers x %lld (%lld heads), patch %lld, %s, %d threads, median of %d\n",
                path.c_str(), static_cast<long long>(o.layers), static_cast<long long>(o.dim),
                static_cast<long long>(o.heads), static_cast<long long>(o.patch),
                dtype == torch::kFloat32 ? "f32" : "bf16", threads, repeats);
            std::printf("%6s %7s %10s %9s %10s %12s %10s\n", "side", "tokens", "ms/slice", "GFLOP", "GFLOP/s",
                        "GEMM GFLOP/s", "fraction");
            for (const int64_t side : sides) {
                const auto pixels = torch::randn({1, 3, side, side}).to(dtype);
                const double ms = medianMs(repeats, [&] { (void)m.vit->forward(pixels); });
                const int64_t tokens = 1 + (side / o.patch) * (side / o.patch);
                const double flops =
                    2.0 * double(tokens) * double(matrixParams) +
                    4.0 * double(o.layers) * double(tokens) * double(tokens) * double(o.dim) +
                    2.0 * double(tokens - 1) * double(o.dim) * 3.0 * double(o.patch * o.patch);
                const auto a = torch::randn({tokens, o.dim}).to(dtype);
                const auto b = torch::randn({o.dim, o.mlpDim}).to(dtype);
                const double gemmMs = medianMs(std::max(repeats, 20), [&] { (void)torch::mm(a, b); });
                const double gemmRate =
                    2.0 * double(tokens) * double(o.dim) * double(o.mlpDim) / gemmMs / 1e6;
                const double rate = flops / ms / 1e6;
                std::printf("%6lld %7lld %10.1f %9.2f %10.1f %12.1f %10.2f\n", static_cast<long long>(side),
                            static_cast<long long>(tokens), ms, flops / 1e9, rate, gemmRate, rate / gemmRate);
            }
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-bench vision: %s\n", e.what());
        return 1;
    }
    return 0;
}

} // namespace bench
