// uhdlens-cli gguf-info FILE [--json]
// Describes a GGUF file (llama.cpp's format): architecture, key hyper-parameters, tensor count, a histogram
// of tensor types, the tokenizer, and what UHD Lens cannot use in it. Exit 0 when the file is valid GGUF
// (even if UHD Lens cannot run it: the problems are listed), 1 when it is not readable or not valid, 2 for
// bad usage.
#include "commands.h"

#include "uhdlens/errors.h"
#include "uhdlens/gguf_info.h"

#include <QCommandLineParser>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace cli {

int runGgufInfo(const QStringList &args)
{
    const QString cmd = QStringLiteral("gguf-info");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Describes a GGUF model file: architecture, key "
                                                    "hyper-parameters, tensor types, tokenizer, and what UHD "
                                                    "Lens cannot use in it."));
    parser.addHelpOption();
    QCommandLineOption jsonOpt(QStringLiteral("json"),
                               QStringLiteral("Print one JSON object instead of text."));
    parser.addOption(jsonOpt);
    parser.addPositionalArgument(QStringLiteral("FILE"), QStringLiteral("The .gguf file."));
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/true))
        return *done;
    const QStringList files = parser.positionalArguments();
    if (files.size() != 1)
        return usageError(cmd, QStringLiteral("give exactly one FILE, got %1").arg(files.size()));
    try {
        const uhdlens::GgufSummary s = uhdlens::describeGguf(files.front().toStdString());
        if (parser.isSet(jsonOpt)) {
            nlohmann::json j;
            j["path"] = s.path;
            j["version"] = s.version;
            j["file_bytes"] = s.fileBytes;
            j["architecture"] = s.architecture;
            j["name"] = s.name;
            j["kind"] = s.kind;
            j["hparams"] = nlohmann::json::object();
            for (const auto &[k, v] : s.hparams)
                j["hparams"][k] = v;
            j["tensor_count"] = s.tensorCount;
            j["types"] = nlohmann::json::array();
            for (const auto &t : s.types)
                j["types"].push_back({{"type", t.type},
                                      {"tensors", t.tensors},
                                      {"bytes", t.bytes},
                                      {"supported", t.supported}});
            j["tokenizer_model"] = s.tokenizerModel;
            j["tokenizer_pre"] = s.tokenizerPre;
            j["vocab_size"] = s.vocabSize;
            j["problems"] = s.problems;
            std::printf("%s\n", j.dump(1).c_str());
            return 0;
        }
        std::printf("file:          %s (GGUF v%u, %.1f MB)\n", s.path.c_str(), s.version, s.fileBytes / 1e6);
        std::printf("architecture:  %s%s%s (%s)\n", s.architecture.c_str(), s.name.empty() ? "" : ", name ",
                    s.name.c_str(), s.kind.c_str());
        for (const auto &[k, v] : s.hparams)
            std::printf("  %-34s %s\n", k.c_str(), v.c_str());
        std::printf("tensors:       %lld\n", static_cast<long long>(s.tensorCount));
        for (const auto &t : s.types)
            std::printf("  %-8s %6lld tensors %10.2f MB%s\n", t.type.c_str(),
                        static_cast<long long>(t.tensors), t.bytes / 1e6,
                        t.supported ? "" : "  (not supported)");
        if (s.tokenizerModel.empty())
            std::printf("tokenizer:     none\n");
        else
            std::printf("tokenizer:     %s, pre %s, %lld tokens\n", s.tokenizerModel.c_str(),
                        s.tokenizerPre.empty() ? "(none)" : s.tokenizerPre.c_str(),
                        static_cast<long long>(s.vocabSize));
        for (const auto &p : s.problems)
            std::printf("problem:       %s\n", p.c_str());
        return 0;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli gguf-info: %s\n", e.what());
        return 1;
    }
}

} // namespace cli
