// uhdlens-bench: speed and resource measurements of UHD Lens. `uhdlens-bench help` lists the subcommands.
// Every figure is a median of repeats, and speed goals are ratios to a reference measured in the same run (the
// machines are shared and noisy). To add a subcommand: declare `int runXxx(const QStringList &args)` in a header
// of its own (bench_xxx.h), add one row to the table below and its .cpp to app/CMakeLists.txt.
#include "uhdlens/runtime.h"
#include "bench_attention.h"
#include "bench_engine.h"
#include "bench_ocr.h"
#include "bench_preprocess.h"
#include "bench_quant.h"
#include "bench_soak.h"
#include "bench_ui.h"
#include "bench_vision.h"
#include "benchcommon.h"

#include <QApplication>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>

namespace {

struct Command
{
    std::function<int(const QStringList &)> run;
    const char *summary;
};

const std::map<QString, Command> &commands()
{
    static const std::map<QString, Command> table = {
        {QStringLiteral("attention"),
         {bench::runAttentionBench, "fused vs plain attention on the vision towers' shapes (ratio plain / fused)"}},
        {QStringLiteral("engine"),
         {bench::runEngineBench, "vision encode / resampler / prefill / decode speed and peak RSS with random weights"}},
        {QStringLiteral("flops"),
         {bench::runFlopsBench, "analytic FLOPs: LLaVA-UHD at 672x1088 vs LLaVA-1.5 at 336x336 (paper: 94%)"}},
        {QStringLiteral("ocr"),
         {bench::runOcrBench, "text layer word accuracy by text height on rendered screenshots, time per image"}},
        {QStringLiteral("preprocess"),
         {bench::runPreprocessBench, "plan + resize + crop + normalise, as a ratio to PNG decoding (goal <= 1.0x)"}},
        {QStringLiteral("quant"),
         {bench::runQuantBench, "quantized decode GEMV / prefill GEMM vs f32 on Qwen2-7B shapes, AVX2 vs portable"}},
        {QStringLiteral("soak"),
         {bench::runSoakBench, "RSS growth over many questions on small, huge, extreme images (goal <= 5%)"}},
        {QStringLiteral("ui"),
         {bench::runUiBench, "max and p99 GUI-thread stall of the desktop app during a real generation"}},
        {QStringLiteral("vision"),
         {bench::runVisionBench, "time per slice of a pretrained vision encoder from ONNX (DINOv2-S) by slice side"}},
    };
    return table;
}

void printHelp(FILE *out)
{
    std::fprintf(out, "usage: uhdlens-bench <command> [options]\n\ncommands:\n");
    for (const auto &[name, cmd] : commands())
        std::fprintf(out, "  %-12s %s\n", qPrintable(name), cmd.summary);
    std::fprintf(out, "\n`uhdlens-bench <command> --help` describes a command's options.\n");
}

} // namespace

namespace bench {

int usageError(const QString &command, const QString &message)
{
    std::fprintf(stderr, "uhdlens-bench %s: %s\n(see `uhdlens-bench %s --help`)\n", qPrintable(command),
                 qPrintable(message), qPrintable(command));
    return 2;
}

std::optional<int> parseArguments(QCommandLineParser &parser, const QStringList &args, const QString &command)
{
    if (!parser.parse(args))
        return usageError(command, parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        std::printf("%s", qPrintable(parser.helpText()));
        return 0;
    }
    if (!parser.positionalArguments().isEmpty())
        return usageError(command,
                          QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));
    return std::nullopt;
}

} // namespace bench

int main(int argc, char **argv)
{
    uhdlens::initRuntime(); // thread pool = cores, heap keeps big buffers (core/include/uhdlens/runtime.h)
    // Synthetic benchmark images are drawn with QPainter (fonts need a QGuiApplication); no window is shown.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv); // widgets for `ui`; the other subcommands only need its QGuiApplication part
    QCoreApplication::setApplicationName(QStringLiteral("uhdlens-bench"));
    QCoreApplication::setOrganizationName(QStringLiteral("UHD Lens"));
    QStringList args = QCoreApplication::arguments();
    if (args.size() < 2) {
        printHelp(stderr);
        return 2;
    }
    const QString name = args.at(1);
    if (name == QLatin1String("help") || name == QLatin1String("--help") || name == QLatin1String("-h")) {
        printHelp(stdout);
        return 0;
    }
    const auto it = commands().find(name);
    if (it == commands().end()) {
        std::fprintf(stderr, "uhdlens-bench: unknown command '%s'\n\n", qPrintable(name));
        printHelp(stderr);
        return 2;
    }
    args.removeAt(1); // keep argv[0] for QCommandLineParser
    return it->second.run(args);
}
