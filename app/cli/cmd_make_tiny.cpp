// uhdlens-cli make-tiny --family minicpmv|llava-uhd|uhd-paper|minicpmv26|minicpmv45 --out DIR [--seed N]
// Writes a random-initialised checkpoint with the family's real tensor names and config keys (shapes shrunk) and
// a tokenizer trained on the bundled tiny corpus (SentencePiece; minicpmv26 and minicpmv45: a byte-level BPE tokenizer.json with
// the Hugging Face folder's tokenizer_config, preprocessor_config and generation_config files). Exit 0 / 1 (failure) / 2 (bad usage).
#include "commands.h"

#include "uhdlens/devtools.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <QCommandLineParser>

#include <cstdio>

namespace cli {

int runMakeTiny(const QStringList &args)
{
    const QString cmd = QStringLiteral("make-tiny");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Writes a tiny random-weight model folder for tests and demos."));
    parser.addHelpOption();
    QCommandLineOption familyOpt(QStringLiteral("family"), QStringLiteral("minicpmv, llava-uhd, uhd-paper, minicpmv26 or minicpmv45."), QStringLiteral("F"));
    QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Output folder (created)."), QStringLiteral("DIR"));
    QCommandLineOption seedOpt(QStringLiteral("seed"), QStringLiteral("Initialisation seed (default 0)."), QStringLiteral("N"), QStringLiteral("0"));
    QCommandLineOption corpusOpt(QStringLiteral("corpus"), QStringLiteral("Tokenizer training text (default: the bundled tiny corpus)."), QStringLiteral("FILE"));
    parser.addOptions({familyOpt, outOpt, seedOpt, corpusOpt});
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/false))
        return *done;
    const auto family = uhdlens::fromName<uhdlens::Family>(parser.value(familyOpt).toStdString());
    if (!parser.isSet(familyOpt) || !family) {
        QStringList names;
        for (const std::string &n : uhdlens::allNames<uhdlens::Family>())
            names << QString::fromStdString(n);
        return usageError(cmd, QStringLiteral("--family must be one of ") + names.join(QStringLiteral(", ")));
    }
    if (!parser.isSet(outOpt) || parser.value(outOpt).isEmpty())
        return usageError(cmd, QStringLiteral("--out DIR is required"));
    bool ok = false;
    const qulonglong seed = parser.value(seedOpt).toULongLong(&ok);
    if (!ok)
        return usageError(cmd, QStringLiteral("--seed needs a non-negative integer"));
    std::string corpus = parser.isSet(corpusOpt) ? parser.value(corpusOpt).toStdString()
                                                 : uhdlens::findResource("text/tiny-corpus.txt");
    if (corpus.empty()) {
        std::fprintf(stderr, "uhdlens-cli make-tiny: the bundled corpus resources/text/tiny-corpus.txt is missing\n");
        return 1;
    }
    try {
        const auto tiny = uhdlens::writeTinyModel(*family, parser.value(outOpt).toStdString(), seed, corpus);
        std::printf("%s: %lld parameters\n", tiny.modelDir.c_str(), static_cast<long long>(tiny.parameters));
        for (const auto &f : tiny.files)
            std::printf("  %s\n", f.c_str());
        return 0;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli make-tiny: %s\n", e.what());
        return 1;
    }
}

} // namespace cli
