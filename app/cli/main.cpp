// uhdlens-cli: the command-line face of UHD Lens. `uhdlens-cli help` lists the subcommands.
#include "uhdlens/runtime.h"
#include "commands.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QGuiApplication>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>

namespace {

struct Command
{
    std::function<int(const QStringList &)> run;
    const char *summary;
};

const std::map<QString, Command> &commands()
{
    static const std::map<QString, Command> table = {
        {QStringLiteral("plan"), {cli::runPlan, "show how images are sliced (grid, sizes, visual tokens)"}},
        {QStringLiteral("ask"), {cli::runAsk, "answer a question about an image (streams the answer)"}},
        {QStringLiteral("encode"), {cli::runEncode, "dump the named intermediate tensors of encoding an image"}},
        {QStringLiteral("make-tiny"), {cli::runMakeTiny, "write a tiny random-weight model folder (tests, demos)"}},
        {QStringLiteral("preprocess"), {cli::runPreprocess, "write the overview and slices the model sees, as PNG"}},
        {QStringLiteral("tokenize"), {cli::runTokenize, "print the token ids of a text (SentencePiece tokenizer)"}},
        {QStringLiteral("synth"), {cli::runSynth, "render synthetic training/evaluation images with their questions"}},
        {QStringLiteral("eval"), {cli::runEval, "exact-match accuracy of models on a synthetic, real-screenshot or folder evaluation set"}},
        {QStringLiteral("convert"),
         {cli::runConvert, "copy a model folder, converting its PyTorch pickle weights to safetensors (safely)"}},
        {QStringLiteral("gguf-info"), {cli::runGgufInfo, "describe a GGUF file: architecture, tensor types, tokenizer"}},
        {QStringLiteral("batch"),
         {cli::runBatch, "ask about (or transcribe) every image of folders into JSON lines, CSV or Markdown"}},
    };
    return table;
}

void printHelp(FILE *out)
{
    std::fprintf(out, "usage: uhdlens-cli <command> [options]\n\ncommands:\n");
    for (const auto &[name, cmd] : commands())
        std::fprintf(out, "  %-12s %s\n", qPrintable(name), cmd.summary);
    std::fprintf(out, "\n`uhdlens-cli <command> --help` describes a command's options.\n");
}

} // namespace

namespace cli {

int usageError(const QString &command, const QString &message)
{
    std::fprintf(stderr, "uhdlens-cli %s: %s\n(see `uhdlens-cli %s --help`)\n", qPrintable(command),
                 qPrintable(message), qPrintable(command));
    return 2;
}

std::optional<int> parseArguments(QCommandLineParser &parser, const QStringList &args, const QString &command,
                                  bool positionalAllowed)
{
    if (!parser.parse(args))
        return usageError(command, parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        std::printf("%s", qPrintable(parser.helpText()));
        return 0;
    }
    if (!positionalAllowed && !parser.positionalArguments().isEmpty())
        return usageError(command,
                          QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));
    return std::nullopt;
}

} // namespace cli

int main(int argc, char **argv)
{
    uhdlens::initRuntime(); // thread pool = cores, heap keeps big buffers (core/include/uhdlens/runtime.h)
    // synth and eval render text, and QtGui's font database needs a QGuiApplication (offscreen: no display
    // needed); every other command stays a plain QCoreApplication.
    const bool needsGui = argc > 1 && (std::strcmp(argv[1], "synth") == 0 || std::strcmp(argv[1], "eval") == 0);
    if (needsGui && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    const std::unique_ptr<QCoreApplication> app = needsGui ? std::make_unique<QGuiApplication>(argc, argv)
                                                           : std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("uhdlens-cli"));
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
        std::fprintf(stderr, "uhdlens-cli: unknown command '%s'\n\n", qPrintable(name));
        printHelp(stderr);
        return 2;
    }
    args.removeAt(1); // keep argv[0] for QCommandLineParser
    return it->second.run(args);
}
