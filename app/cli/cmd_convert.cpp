// uhdlens-cli convert --model DIR --out DIR [--json]
// Copies a model folder, converting its PyTorch pickle weights (*.bin, *.pt, *.pth in torch.save's zip
// format) to safetensors with a reader that never runs the pickle (uhdlens/convert.h). The source is never
// modified; on any failure nothing is left at --out. Exit 0 converted, 1 I/O failure (unreadable source,
// unwritable output), 2 bad usage or a refused weight file (unsafe or malformed pickle, legacy pre-1.6
// format, conflicting tensors, existing output).
#include "commands.h"

#include "uhdlens/convert.h"
#include "uhdlens/errors.h"

#include <QCommandLineParser>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace cli {

int runConvert(const QStringList &args)
{
    const QString cmd = QStringLiteral("convert");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Copies a model folder to a new one, converting its PyTorch pickle weights (*.bin, *.pt, *.pth "
        "written by "
        "torch.save since PyTorch 1.6) to safetensors with the same tensor names and dtypes, and writing "
        "model.safetensors.index.json when the result has several weight files. The pickle is read by a "
        "restricted reader that accepts only plain tensors and never runs code; anything else is refused. "
        "The model folder is never modified."));
    parser.addHelpOption();
    QCommandLineOption modelOpt(QStringLiteral("model"),
                                QStringLiteral("Model folder holding the pickle weights."),
                                QStringLiteral("DIR"));
    QCommandLineOption outOpt(
        QStringLiteral("out"),
        QStringLiteral("New folder for the converted copy (must not exist, or be empty)."),
        QStringLiteral("DIR"));
    QCommandLineOption jsonOpt(QStringLiteral("json"),
                               QStringLiteral("Print one JSON object describing the result."));
    parser.addOptions({modelOpt, outOpt, jsonOpt});
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/false))
        return *done;
    if (!parser.isSet(modelOpt) || parser.value(modelOpt).isEmpty())
        return usageError(cmd, QStringLiteral("--model DIR is required"));
    if (!parser.isSet(outOpt) || parser.value(outOpt).isEmpty())
        return usageError(cmd, QStringLiteral("--out DIR is required"));
    const bool json = parser.isSet(jsonOpt);
    const std::string model = parser.value(modelOpt).toStdString();
    const std::string out = parser.value(outOpt).toStdString();
    try {
        const uhdlens::ConvertReport r = uhdlens::convertModelFolder(model, out);
        if (json) {
            nlohmann::json j = {{"model", model},       {"out", r.outDir},
                                {"index", r.indexFile}, {"copied", r.copied},
                                {"omitted", r.omitted}, {"converted", nlohmann::json::array()}};
            for (const auto &c : r.converted)
                j["converted"].push_back({{"source", c.source},
                                          {"target", c.target},
                                          {"tensors", c.tensors},
                                          {"bytes", c.bytes},
                                          {"nested_key", c.nestedKey},
                                          {"skipped", c.skipped}});
            std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            return 0;
        }
        std::printf("%s: converted copy of %s\n", r.outDir.c_str(), model.c_str());
        for (const auto &c : r.converted) {
            std::printf("  %s -> %s: %lld tensors, %lld bytes%s\n", c.source.c_str(), c.target.c_str(),
                        static_cast<long long>(c.tensors), static_cast<long long>(c.bytes),
                        c.nestedKey.empty() ? ""
                                            : (" (from the saved dict's '" + c.nestedKey + "')").c_str());
            for (const auto &s : c.skipped)
                std::printf("    not a tensor, left out: %s\n", s.c_str());
        }
        if (!r.indexFile.empty())
            std::printf("  %s written\n", r.indexFile.c_str());
        for (const auto &o : r.omitted)
            std::printf("  omitted %s\n", o.c_str());
        std::printf("  %zu other files copied\n", r.copied.size());
        return 0;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli convert: %s\n", e.what());
        if (json)
            std::printf("%s\n",
                        nlohmann::json{{"error", uhdlens::errorCodeName(e.code())}, {"message", e.what()}}
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
        return e.code() == uhdlens::ErrorCode::FileUnreadable ? 1 : 2;
    }
}

} // namespace cli
