// uhdlens-cli encode --model DIR [--vision DIR] --image IMG --dump OUT.safetensors [--policy P] [--max-slices N]
//                    [--device D] [--dtype T] [--question TEXT]
// Writes every named intermediate (per encoded image: pixels, vision features, resampler output, tokens; then the
// final input embeddings) as float32 to OUT.safetensors and lists them. Exit 0 / 1 (failure) / 2 (bad usage).
#include "commands.h"
#include "engine_args.h"

#include "uhdlens/devtools.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <QCommandLineParser>

#include <cstdio>

namespace cli {

int runEncode(const QStringList &args)
{
    const QString cmd = QStringLiteral("encode");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Dumps the named intermediate tensors of encoding an image."));
    parser.addHelpOption();
    EngineOptions eo;
    eo.addTo(parser);
    QCommandLineOption dumpOpt(QStringLiteral("dump"), QStringLiteral("Output .safetensors file."), QStringLiteral("OUT"));
    QCommandLineOption questionOpt(QStringLiteral("question"), QStringLiteral("Question for the prompt embeddings."),
                                   QStringLiteral("TEXT"), QStringLiteral("Describe the image."));
    parser.addOptions({dumpOpt, questionOpt});
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/false))
        return *done;
    if (!parser.isSet(eo.image))
        return usageError(cmd, QStringLiteral("--image IMG is required"));
    if (!parser.isSet(dumpOpt))
        return usageError(cmd, QStringLiteral("--dump OUT.safetensors is required"));
    uhdlens::LoadOptions load;
    if (const auto exitCode = eo.prepareLoad(parser, cmd, load))
        return *exitCode;
    try {
        const QImage image = uhdlens::loadImage(parser.value(eo.image));
        auto model = uhdlens::Model::load(load);
        std::optional<uhdlens::SlicePolicy> policy;
        if (const QString why = eo.slicePolicy(parser, model->info().policy, policy); !why.isEmpty())
            return usageError(cmd, why);
        const auto written = uhdlens::dumpEncoding(*model, image, policy, parser.value(questionOpt).toStdString(),
                                                   parser.value(dumpOpt).toStdString());
        for (const auto &t : written) {
            std::string shape;
            for (size_t i = 0; i < t.shape.size(); ++i) {
                if (i)
                    shape.push_back(',');
                shape.append(std::to_string(t.shape[i]));
            }
            std::printf("%s [%s]\n", t.name.c_str(), shape.c_str());
        }
        return 0;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli encode: %s\n", e.what());
        return 1;
    }
}

} // namespace cli
