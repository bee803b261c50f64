// uhdlens-cli tokenize (--model DIR | --tokenizer FILE.model) [--bos] "text"
// Prints the token ids of the text, space-separated, on one line (scripts depend on this format).
#include "commands.h"

#include "uhdlens/errors.h"
#include "uhdlens/tokenizer.h"

#include <QCommandLineParser>
#include <QDir>

#include <cstdio>

namespace cli {

int runTokenize(const QStringList &args)
{
    const QString cmd = QStringLiteral("tokenize");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Prints the SentencePiece token ids of TEXT, space-separated (no BOS unless --bos)."));
    parser.addHelpOption();
    QCommandLineOption modelOpt(QStringLiteral("model"), QStringLiteral("Model folder (reads DIR/tokenizer.model)."),
                                QStringLiteral("DIR"));
    QCommandLineOption tokOpt(QStringLiteral("tokenizer"), QStringLiteral("A SentencePiece tokenizer.model file."),
                              QStringLiteral("FILE"));
    QCommandLineOption bosOpt(QStringLiteral("bos"), QStringLiteral("Prepend the BOS id."));
    parser.addOptions({modelOpt, tokOpt, bosOpt});
    parser.addPositionalArgument(QStringLiteral("TEXT"), QStringLiteral("The text to tokenize (one argument)."));
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/true))
        return *done;
    if (parser.isSet(modelOpt) == parser.isSet(tokOpt))
        return usageError(cmd, QStringLiteral("give exactly one of --model DIR or --tokenizer FILE"));
    const QStringList texts = parser.positionalArguments();
    if (texts.size() != 1)
        return usageError(cmd, QStringLiteral("give the text as exactly one argument (quote it), got %1")
                                    .arg(texts.size()));
    const QString file = parser.isSet(modelOpt)
                             ? QDir(parser.value(modelOpt)).filePath(QStringLiteral("tokenizer.model"))
                             : parser.value(tokOpt);
    try {
        const auto tok = uhdlens::Tokenizer::load(file.toStdString());
        std::vector<int64_t> ids = tok->encode(texts.front().toStdString());
        if (parser.isSet(bosOpt)) {
            if (tok->bosId() < 0)
                throw uhdlens::Error(uhdlens::ErrorCode::TokenizerInvalid,
                                     "tokenizer '" + file.toStdString() + "' has no BOS token", file.toStdString());
            ids.insert(ids.begin(), tok->bosId());
        }
        std::string line;
        for (size_t i = 0; i < ids.size(); ++i) {
            if (i)
                line += ' ';
            line += std::to_string(ids[i]);
        }
        std::printf("%s\n", line.c_str());
        return 0;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli tokenize: %s\n", e.what());
        return 1;
    }
}

} // namespace cli
