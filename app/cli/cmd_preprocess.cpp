// uhdlens-cli preprocess IMAGE --out DIR [--policy minicpmv|llava-uhd|llava15] [--max-slices N] [--never-split]
//
// Writes what the vision encoder will see, at model input resolution: DIR/overview.png and, for a sliced plan,
// DIR/slice-r<row>-c<col>.png for every slice (row-major, 0-based). The pixels are those of the model's input
// before mean/std normalisation (uhdlens::renderModelView). Exit codes: 0 written, 1 the image or the output
// folder failed (message on stderr), 2 bad usage.
#include "commands.h"

#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/preprocess.h"
#include "uhdlens/slice_planner.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>

#include <cstdio>

namespace cli {

int runPreprocess(const QStringList &args)
{
    const QString cmd = QStringLiteral("preprocess");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Writes the overview and every slice of IMAGE as PNG at model input resolution: what the model sees."));
    parser.addHelpOption();
    QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Output folder (created if missing)."),
                              QStringLiteral("DIR"));
    QCommandLineOption policyOpt(QStringLiteral("policy"), QStringLiteral("minicpmv (default), llava-uhd or llava15."),
                                 QStringLiteral("name"), QStringLiteral("minicpmv"));
    QCommandLineOption maxOpt(QStringLiteral("max-slices"), QStringLiteral("Upper bound on the slice count."),
                              QStringLiteral("N"));
    QCommandLineOption neverOpt(QStringLiteral("never-split"), QStringLiteral("Encode the overview only."));
    parser.addOptions({outOpt, policyOpt, maxOpt, neverOpt});
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("The image to preprocess."));
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/true))
        return *done;
    const QStringList images = parser.positionalArguments();
    if (images.size() != 1)
        return usageError(cmd, QStringLiteral("give exactly one IMAGE"));
    if (!parser.isSet(outOpt) || parser.value(outOpt).isEmpty())
        return usageError(cmd, QStringLiteral("--out DIR is required"));

    auto policy = uhdlens::SlicePolicy::fromName(parser.value(policyOpt).toStdString());
    if (!policy)
        return usageError(cmd, QStringLiteral("unknown policy '%1' (choose minicpmv, llava-uhd or llava15)")
                                   .arg(parser.value(policyOpt)));
    if (parser.isSet(maxOpt)) {
        bool ok = false;
        policy->maxSlices = parser.value(maxOpt).toInt(&ok);
        if (!ok)
            return usageError(cmd, QStringLiteral("--max-slices needs an integer"));
    }
    if (parser.isSet(neverOpt))
        policy->neverSplit = true;
    if (const std::string why = policy->validate(); !why.empty())
        return usageError(cmd, QString::fromStdString(why));

    const QString imagePath = images.first();
    const QString outDir = parser.value(outOpt);
    try {
        const QImage rgb = uhdlens::loadImage(imagePath);
        const uhdlens::SlicePlan plan = uhdlens::planSlices({rgb.width(), rgb.height()}, *policy);
        if (const std::string why = uhdlens::validateSize(plan.input); !why.empty())
            throw uhdlens::Error(uhdlens::ErrorCode::InvalidArgument, imagePath.toStdString() + ": " + why);
        // LLaVA-1.5 (the only pad-to-square policy) normalises with CLIP's mean, hence its pad colour.
        const uhdlens::ModelView view = uhdlens::renderModelView(rgb, plan, uhdlens::kClipMeanColour);

        const QFileInfo outInfo(outDir);
        if (outInfo.exists() && !outInfo.isDir()) {
            std::fprintf(stderr, "uhdlens-cli preprocess: %s exists and is not a folder\n", qPrintable(outDir));
            return 1;
        }
        if (!QDir().mkpath(outDir)) {
            std::fprintf(stderr, "uhdlens-cli preprocess: cannot create the output folder %s\n", qPrintable(outDir));
            return 1;
        }
        const QDir dir(outDir);
        auto save = [&](const QImage &image, const QString &name) {
            const QString path = dir.filePath(name);
            if (!image.save(path, "PNG")) {
                std::fprintf(stderr, "uhdlens-cli preprocess: cannot write %s (folder not writable or disk full)\n",
                             qPrintable(path));
                return false;
            }
            std::printf("%s %dx%d\n", qPrintable(path), image.width(), image.height());
            return true;
        };
        if (!save(view.overview, QStringLiteral("overview.png")))
            return 1;
        for (size_t i = 0; i < view.slices.size(); ++i) {
            const int row = static_cast<int>(i) / plan.grid->cols, col = static_cast<int>(i) % plan.grid->cols;
            if (!save(view.slices[i], QStringLiteral("slice-r%1-c%2.png").arg(row).arg(col)))
                return 1;
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli preprocess: %s\n", e.what());
        return 1;
    }
    return 0;
}

} // namespace cli
