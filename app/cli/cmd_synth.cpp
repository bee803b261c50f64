// uhdlens-cli synth [--family window|document|shapes] [--split train|validation|heldout] [--seed S] [--count N]
//                   [--max-side PX] --out DIR
//
// Renders synthetic images of the bundled model's training/evaluation data (uhdlens/lab/synthdata.h) as PNG files,
// each with a JSON file of its questions, answers and detail heights — to look at the data, make the README's
// examples and the app's sample images.
#include "commands.h"

#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/lab/synthdata.h"

#include <QCommandLineParser>
#include <QDir>
#include <QGuiApplication>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace cli {

int runSynth(const QStringList &args)
{
    namespace synth = uhdlens::synth;
    const QString cmd = QStringLiteral("synth");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Renders synthetic images with their questions and answers."));
    parser.addHelpOption();
    QCommandLineOption familyOpt(QStringLiteral("family"), QStringLiteral("window, document or shapes (default: chosen by seed)."),
                                 QStringLiteral("F"));
    QCommandLineOption splitOpt(QStringLiteral("split"), QStringLiteral("train, validation or heldout (default train)."),
                                QStringLiteral("NAME"), QStringLiteral("train"));
    QCommandLineOption seedOpt(QStringLiteral("seed"), QStringLiteral("First seed (default 0)."), QStringLiteral("S"),
                               QStringLiteral("0"));
    QCommandLineOption countOpt(QStringLiteral("count"), QStringLiteral("Images (default 1)."), QStringLiteral("N"),
                                QStringLiteral("1"));
    QCommandLineOption maxSideOpt(QStringLiteral("max-side"), QStringLiteral("Largest side (default 2500)."),
                                  QStringLiteral("PX"), QStringLiteral("2500"));
    QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Output folder."), QStringLiteral("DIR"));
    parser.addOptions({familyOpt, splitOpt, seedOpt, countOpt, maxSideOpt, outOpt});
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/false))
        return *done;
    if (!parser.isSet(outOpt))
        return usageError(cmd, QStringLiteral("--out DIR is required"));
    std::optional<synth::Family> family;
    if (parser.isSet(familyOpt)) {
        family = synth::familyFromName(parser.value(familyOpt).toStdString());
        if (!family)
            return usageError(cmd, QStringLiteral("unknown family '%1' (window, document, shapes)").arg(parser.value(familyOpt)));
    }
    const auto split = synth::splitFromName(parser.value(splitOpt).toStdString());
    if (!split)
        return usageError(cmd, QStringLiteral("unknown split '%1' (train, validation, heldout)").arg(parser.value(splitOpt)));
    bool ok = false;
    const qulonglong seed = parser.value(seedOpt).toULongLong(&ok);
    if (!ok || seed >= synth::kMaxSeed)
        return usageError(cmd, QStringLiteral("--seed must be between 0 and 1e12-1"));
    const int count = parser.value(countOpt).toInt(&ok);
    if (!ok || count < 1 || count > 100000)
        return usageError(cmd, QStringLiteral("--count must be between 1 and 100000"));
    synth::Options options;
    options.split = *split;
    options.maxSide = parser.value(maxSideOpt).toInt(&ok);
    if (!ok)
        return usageError(cmd, QStringLiteral("--max-side must be a number"));
    if (const std::string why = options.validate(); !why.empty())
        return usageError(cmd, QString::fromStdString(why));
    const QString out = parser.value(outOpt);
    if (!QDir().mkpath(out)) {
        std::fprintf(stderr, "uhdlens-cli synth: cannot create %s\n", qPrintable(out));
        return 1;
    }
    if (!qobject_cast<QGuiApplication *>(QCoreApplication::instance())) {
        std::fprintf(stderr, "uhdlens-cli synth: internal error: needs a QGuiApplication for fonts\n");
        return 1;
    }
    try {
        for (int i = 0; i < count; ++i) {
            const std::uint64_t s = seed + static_cast<std::uint64_t>(i);
            if (s >= synth::kMaxSeed)
                break;
            const synth::Sample sample = family ? synth::generate(*family, s, options) : synth::generate(s, options);
            const QString base = QStringLiteral("%1/%2-%3-%4").arg(out, QString::fromStdString(synth::splitName(*split)),
                                                                   QString::fromStdString(synth::familyName(sample.family)))
                                     .arg(s);
            if (!sample.image.save(base + QStringLiteral(".png"))) {
                std::fprintf(stderr, "uhdlens-cli synth: cannot write %s.png\n", qPrintable(base));
                return 1;
            }
            nlohmann::json j;
            j["family"] = synth::familyName(sample.family);
            j["split"] = synth::splitName(*split);
            j["seed"] = s;
            j["width"] = sample.image.width();
            j["height"] = sample.image.height();
            j["qas"] = nlohmann::json::array();
            for (const synth::QA &qa : sample.qas)
                j["qas"].push_back({{"question", qa.question}, {"answer", qa.answer}, {"task", synth::taskName(qa.task)},
                                    {"detail_height", qa.detailHeight}, {"box", {qa.x, qa.y, qa.width, qa.height}}});
            try {
                uhdlens::writeJsonFile((base + QStringLiteral(".json")).toStdString(), j);
            } catch (const uhdlens::Error &e) {
                std::fprintf(stderr, "uhdlens-cli synth: %s\n", e.what());
                return 1;
            }
            std::printf("%s.png  %dx%d  %zu questions\n", qPrintable(base), sample.image.width(), sample.image.height(),
                        sample.qas.size());
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli synth: %s\n", e.what());
        return 1;
    }
    return 0;
}

} // namespace cli
