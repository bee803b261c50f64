// uhdlens-train: trains the bundled `uhd-paper` model from scratch on synthetic images (uhdlens/lab/training.h).
//
//   # the shipped model, then its baseline (N: the UHD run's first-stage steps):
//   uhdlens-train --out resources/models/uhd-lens-tiny --steps 100000 --time-budget 45
//                 --then-max-side 800 --then-steps 1200
//   uhdlens-train --out resources/models/uhd-lens-tiny-lowres --policy llava15 --steps N
//                 --then-max-side 800 --then-steps 1200
//   uhdlens-train --out DIR --resume                            # continue after an interruption
//   uhdlens-train --out DIR --encoder-warmup 0 --resampler global ...   # other recipes (models README)
//
// Prints one progress line per --log-every steps: loss, learning rate, throughput and ETA.
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/lab/training.h"
#include "uhdlens/runtime.h"

#include <QCommandLineParser>
#include <QGuiApplication>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>

namespace {

QString duration(double s)
{
    const int t = static_cast<int>(s + 0.5);
    if (t >= 3600)
        return QStringLiteral("%1h%2m").arg(t / 3600).arg((t / 60) % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1m%2s").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
}

// The second stage of --then-steps / --then-max-side: a resume of the first stage's checkpoint with a new
// step count and larger images, so that one command runs a two-stage recipe. The learning rate follows the
// cosine of the new step count from where the first stage ends (a warm restart; scheduleLr in
// core/lab/src/train_step.cpp), with no time budget, so two runs given the same --then-steps share one schedule per
// step whatever their speed. Returns a usage error, or an empty string with `second` set when a second stage
// was asked for.
QString secondStage(const uhdlens::TrainOptions &first, int thenSteps, int thenMaxSide,
                    std::optional<uhdlens::TrainOptions> &second)
{
    second.reset();
    if (thenSteps == 0)
        return thenMaxSide != 0 ? QStringLiteral("--then-max-side needs --then-steps") : QString();
    if (thenSteps < 0)
        return QStringLiteral("--then-steps must be positive");
    // With a time budget the first stage ends by time, at a step not known yet; without one it ends at
    // --steps.
    if (first.timeBudgetMinutes <= 0 && thenSteps <= first.steps)
        return QStringLiteral("--then-steps (%1) must be more than --steps (%2)")
            .arg(thenSteps)
            .arg(first.steps);
    uhdlens::TrainOptions o = first;
    o.resume = true;
    o.steps = thenSteps;
    o.timeBudgetMinutes = 0;
    if (thenMaxSide != 0)
        o.maxSide = thenMaxSide;
    if (const std::string why = o.validate(); !why.empty())
        return QStringLiteral("second stage: %1").arg(QString::fromStdString(why));
    second = o;
    return {};
}

} // namespace

int main(int argc, char **argv)
{
    uhdlens::initRuntime(); // thread pool = cores, heap keeps big buffers (core/include/uhdlens/runtime.h)
    // The data generator renders text with QtGui's font database: a QGuiApplication, never a window.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("uhdlens-train"));

    uhdlens::TrainOptions d; // defaults, shown in --help
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Trains UHD Lens's small LLaVA-UHD model (uhd-paper family) from scratch on synthetic images and writes "
        "a model folder (config.json, model.safetensors, tokenizer.model, uhdlens.json)."));
    parser.addHelpOption();
    auto opt = [&](const char *name, const QString &help, const QString &valueName = {}, const QString &def = {}) {
        QCommandLineOption o(QString::fromLatin1(name), help, valueName, def);
        parser.addOption(o);
        return o;
    };
    const auto outOpt = opt("out", QStringLiteral("Model folder to write (required)."), QStringLiteral("DIR"));
    const auto presetOpt = opt("preset", QStringLiteral("tiny (the shipped model, default) or micro (CI smoke)."),
                               QStringLiteral("NAME"), QString::fromStdString(d.preset));
    const auto configOpt = opt("config", QStringLiteral("A config.json to train instead of the preset."), QStringLiteral("FILE"));
    const auto policyOpt = opt("policy", QStringLiteral("llava-uhd (the paper's slicing, default), minicpmv, or llava15 (baseline: one low-res view)."),
                               QStringLiteral("P"), QString::fromStdString(d.policy));
    const auto maxSlicesOpt = opt("max-slices", QStringLiteral("Slice limit (default: the preset's)."), QStringLiteral("N"),
                                  QStringLiteral("-1"));
    const auto stepsOpt = opt("steps", QStringLiteral("Optimizer steps."), QStringLiteral("N"), QString::number(d.steps));
    const auto timeOpt = opt("time-budget", QStringLiteral("Also stop after this many minutes (schedule follows)."),
                             QStringLiteral("MIN"), QStringLiteral("0"));
    const auto batchOpt = opt("batch", QStringLiteral("Images per step."), QStringLiteral("N"), QString::number(d.batchImages));
    const auto turnsOpt = opt("turns", QStringLiteral("Question/answer turns per image sequence."), QStringLiteral("N"),
                              QString::number(d.turnsPerImage));
    const auto readOpt = opt("read-text", QStringLiteral("Probability of a dense \"Read the text.\" turn per image (0: off)."),
                             QStringLiteral("P"), QString::number(d.readTextProbability));
    const auto readWordsOpt = opt("read-text-words", QStringLiteral("Words read out at most in that turn."), QStringLiteral("N"),
                                  QString::number(d.readTextWords));
    const auto regionOpt = opt("region-loss", QStringLiteral("Weight of the region reading loss on visual tokens (0: off)."),
                               QStringLiteral("W"), QString::number(d.regionLossWeight));
    const auto tokenOpt = opt(
        "token-loss",
        QStringLiteral(
            "Weight of the loss that makes each visual token name its word at the decoder's input (0: off)."),
        QStringLiteral("W"), QString::number(d.tokenLossWeight));
    const auto lookOpt =
        opt("look-loss",
            QStringLiteral("Weight of the loss that makes one attention head of the decoder's last layer "
                           "look at the place a question asks about while answering (0: off)."),
            QStringLiteral("W"), QString::number(d.lookLossWeight));
    const auto lookHeadOpt = opt("look-head", QStringLiteral("The attention head the look loss trains."),
                                 QStringLiteral("H"), QString::number(d.lookHead));
    const auto glyphOpt =
        opt("glyph-loss",
            QStringLiteral("Weight of the per-patch character loss on the vision encoder (0: off)."),
            QStringLiteral("W"), QString::number(d.glyphLossWeight));
    const auto resamplerOpt = opt("resampler", QStringLiteral("Resampler attention: global (the arXiv paper's) or spatial (ECCV's box-local; default)."),
                                  QStringLiteral("A"), QString::fromStdString(d.resamplerAttention));
    const auto patchEmbedOpt =
        opt("patch-embed",
            QStringLiteral(
                "ViT patch embedding: linear (the plain patchify) or conv (a convolutional stem; default)."),
            QStringLiteral("E"), QString::fromStdString(d.patchEmbed));
    const auto encWarmOpt = opt(
        "encoder-warmup",
        QStringLiteral("Steps that first train the vision encoder alone on small text crops (glyph loss; 0: off)."),
        QStringLiteral("N"), QString::number(d.encoderWarmupSteps));
    const auto encCropOpt =
        opt("encoder-warmup-crop", QStringLiteral("Side of those crops at model input (a multiple of the patch)."),
            QStringLiteral("PX"), QString::number(d.encoderWarmupCrop));
    const auto encBatchOpt = opt("encoder-warmup-batch", QStringLiteral("Crops per encoder warm-up step."),
                                 QStringLiteral("N"), QString::number(d.encoderWarmupBatch));
    const auto lrOpt = opt("lr", QStringLiteral("Peak learning rate."), QStringLiteral("LR"), QString::number(d.lr));
    const auto warmOpt = opt("warmup", QStringLiteral("Warm-up steps."), QStringLiteral("N"), QString::number(d.warmupSteps));
    const auto wdOpt = opt("weight-decay", QStringLiteral("AdamW weight decay."), QStringLiteral("W"), QString::number(d.weightDecay));
    const auto clipOpt = opt("clip", QStringLiteral("Gradient-norm clip."), QStringLiteral("C"), QString::number(d.clipNorm));
    const auto seedOpt = opt("seed", QStringLiteral("Seed of weights and data."), QStringLiteral("S"), QString::number(d.seed));
    const auto threadsOpt = opt("threads", QStringLiteral("CPU threads (0: all cores)."), QStringLiteral("N"), QStringLiteral("0"));
    const auto dtypeOpt = opt("dtype", QStringLiteral("auto (bf16 autocast where the CPU has it), bf16 or f32."),
                              QStringLiteral("T"), QString::fromStdString(d.dtype));
    const auto familiesOpt = opt("families", QStringLiteral("Comma-separated synthetic families to train on: window,document,shapes (default all)."),
                                 QStringLiteral("LIST"));
    const auto minSideOpt = opt("min-side", QStringLiteral("Smallest generated image side."), QStringLiteral("PX"), QString::number(d.minSide));
    const auto maxSideOpt = opt("max-side", QStringLiteral("Largest generated image side."), QStringLiteral("PX"), QString::number(d.maxSide));
    const auto ckOpt = opt("checkpoint-every", QStringLiteral("Steps between checkpoints."), QStringLiteral("N"),
                           QString::number(d.checkpointEvery));
    const auto logOpt = opt("log-every", QStringLiteral("Steps between progress lines."), QStringLiteral("N"), QString::number(d.logEvery));
    const auto resumeOpt = opt("resume", QStringLiteral("Continue from DIR/checkpoint."));
    const auto thenStepsOpt = opt(
        "then-steps",
        QStringLiteral("After the first stage, continue from its checkpoint to this step: a second stage, "
                       "with no time budget and the learning rate back on the cosine over the new step count "
                       "(0: none)."),
        QStringLiteral("N"), QStringLiteral("0"));
    const auto thenMaxSideOpt = opt(
        "then-max-side", QStringLiteral("Second stage: largest generated image side (default: --max-side)."),
        QStringLiteral("PX"), QStringLiteral("0"));
    const auto imageTextOpt = opt(
        "image-text",
        QStringLiteral("Probability that an image's first question carries the image's text, as the app's "
                       "\"Give the model the image's text\" does (0: off)."),
        QStringLiteral("P"), QString::number(d.imageTextProbability));
    const auto imageTextLinesOpt = opt("image-text-lines", QStringLiteral("Lines of that text at most."),
                                       QStringLiteral("N"), QString::number(d.imageTextMaxLines));
    const auto notShownOpt = opt(
        "not-shown",
        QStringLiteral("Probability that an image's last question is one it cannot answer, answered \"not "
                       "shown\" (0: off)."),
        QStringLiteral("P"), QString::number(d.notShownProbability));
    const auto printConfigOpt = opt("print-config", QStringLiteral("Print the config.json the preset trains and exit."));
    parser.process(app);

    auto intOf = [&](const QCommandLineOption &o, int &out) {
        bool ok = false;
        out = parser.value(o).toInt(&ok);
        if (!ok) {
            std::fprintf(stderr, "uhdlens-train: --%s must be an integer\n", qPrintable(o.names().front()));
            std::exit(2);
        }
    };
    auto realOf = [&](const QCommandLineOption &o, double &out) {
        bool ok = false;
        out = parser.value(o).toDouble(&ok);
        if (!ok) {
            std::fprintf(stderr, "uhdlens-train: --%s must be a number\n", qPrintable(o.names().front()));
            std::exit(2);
        }
    };
    uhdlens::TrainOptions o;
    o.outDir = parser.value(outOpt).toStdString();
    o.preset = parser.value(presetOpt).toStdString();
    o.configFile = parser.value(configOpt).toStdString();
    o.policy = parser.value(policyOpt).toStdString();
    o.dtype = parser.value(dtypeOpt).toStdString();
    o.resamplerAttention = parser.value(resamplerOpt).toStdString();
    o.patchEmbed = parser.value(patchEmbedOpt).toStdString();
    o.resume = parser.isSet(resumeOpt);
    intOf(maxSlicesOpt, o.maxSlices);
    intOf(stepsOpt, o.steps);
    intOf(batchOpt, o.batchImages);
    intOf(turnsOpt, o.turnsPerImage);
    intOf(readWordsOpt, o.readTextWords);
    realOf(readOpt, o.readTextProbability);
    intOf(warmOpt, o.warmupSteps);
    intOf(threadsOpt, o.threads);
    intOf(encWarmOpt, o.encoderWarmupSteps);
    intOf(encCropOpt, o.encoderWarmupCrop);
    intOf(encBatchOpt, o.encoderWarmupBatch);
    if (parser.isSet(familiesOpt))
        for (const QString &f : parser.value(familiesOpt).split(QLatin1Char(','), Qt::SkipEmptyParts))
            o.families.push_back(f.trimmed().toStdString());
    intOf(minSideOpt, o.minSide);
    intOf(maxSideOpt, o.maxSide);
    intOf(ckOpt, o.checkpointEvery);
    intOf(logOpt, o.logEvery);
    realOf(timeOpt, o.timeBudgetMinutes);
    realOf(lrOpt, o.lr);
    realOf(regionOpt, o.regionLossWeight);
    realOf(tokenOpt, o.tokenLossWeight);
    realOf(lookOpt, o.lookLossWeight);
    intOf(lookHeadOpt, o.lookHead);
    realOf(glyphOpt, o.glyphLossWeight);
    realOf(wdOpt, o.weightDecay);
    realOf(clipOpt, o.clipNorm);
    realOf(imageTextOpt, o.imageTextProbability);
    intOf(imageTextLinesOpt, o.imageTextMaxLines);
    realOf(notShownOpt, o.notShownProbability);
    // A config with pretrained base weights trains only the resampler: its recipe's defaults
    // (baseWeightsDefaults, training.h) replace the from-scratch ones for every option not given here.
    try {
        const std::string cfgPath = o.resume ? o.outDir + "/checkpoint/config.json" : o.configFile;
        if (!cfgPath.empty() && uhdlens::readJsonFile(cfgPath).contains("base_weights")) {
            const uhdlens::TrainOptions b = uhdlens::baseWeightsDefaults(o);
            auto keep = [&](const QCommandLineOption &opt, auto &field, const auto &value) {
                if (!parser.isSet(opt))
                    field = value;
            };
            keep(glyphOpt, o.glyphLossWeight, b.glyphLossWeight);
            keep(encWarmOpt, o.encoderWarmupSteps, b.encoderWarmupSteps);
            keep(lookOpt, o.lookLossWeight, b.lookLossWeight);
            keep(regionOpt, o.regionLossWeight, b.regionLossWeight);
            keep(tokenOpt, o.tokenLossWeight, b.tokenLossWeight);
            keep(readOpt, o.readTextProbability, b.readTextProbability);
            keep(imageTextOpt, o.imageTextProbability, b.imageTextProbability);
            keep(notShownOpt, o.notShownProbability, b.notShownProbability);
            keep(lrOpt, o.lr, b.lr);
            keep(warmOpt, o.warmupSteps, b.warmupSteps);
            keep(batchOpt, o.batchImages, b.batchImages);
            keep(turnsOpt, o.turnsPerImage, b.turnsPerImage);
            keep(minSideOpt, o.minSide, b.minSide);
            keep(maxSideOpt, o.maxSide, b.maxSide);
            keep(ckOpt, o.checkpointEvery, b.checkpointEvery);
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-train: %s\n", e.what());
        return 1;
    }
    int thenSteps = 0, thenMaxSide = 0;
    intOf(thenStepsOpt, thenSteps);
    intOf(thenMaxSideOpt, thenMaxSide);
    bool seedOk = false;
    o.seed = parser.value(seedOpt).toULongLong(&seedOk);
    if (!seedOk) {
        std::fprintf(stderr, "uhdlens-train: --seed must be a non-negative integer\n");
        return 2;
    }
    if (!parser.positionalArguments().isEmpty()) {
        std::fprintf(stderr, "uhdlens-train: unexpected argument '%s'\n", qPrintable(parser.positionalArguments().front()));
        return 2;
    }

    if (o.resamplerAttention != "global" && o.resamplerAttention != "spatial") {
        std::fprintf(stderr, "uhdlens-train: --resampler must be global or spatial\n");
        return 2;
    }
    if (o.patchEmbed != "linear" && o.patchEmbed != "conv") {
        std::fprintf(stderr, "uhdlens-train: --patch-embed must be linear or conv\n");
        return 2;
    }
    try {
        if (parser.isSet(printConfigOpt)) {
            std::printf("%s\n", uhdlens::trainingConfigJson(o.preset, o.policy, o.maxSlices,
                                                            o.resamplerAttention, o.patchEmbed)
                                    .c_str());
            return 0;
        }
        if (const std::string why = o.validate(); !why.empty()) {
            std::fprintf(stderr, "uhdlens-train: %s\n", why.c_str());
            return 2;
        }
        std::optional<uhdlens::TrainOptions> second;
        if (const QString why = secondStage(o, thenSteps, thenMaxSide, second); !why.isEmpty()) {
            std::fprintf(stderr, "uhdlens-train: %s\n", qPrintable(why));
            return 2;
        }
        std::fprintf(stderr, "uhdlens-train: preset %s, policy %s, %d steps x %d images -> %s\n", o.preset.c_str(),
                     o.policy.c_str(), o.steps, o.batchImages, o.outDir.c_str());
        const auto progress = [](const uhdlens::TrainProgress &p) {
            if (p.encoderWarmup) {
                std::printf("encoder warm-up %5d/%d  glyph %.4f (%.1f%%, large %.1f%%)  token %.4f (%.1f%%)  "
                            "lr %.2e  %.1f crops/s  elapsed %s  ETA %s\n",
                            p.step, p.steps, p.glyphLoss, 100.0 * p.glyphAccuracy,
                            100.0 * p.glyphAccuracyLarge, p.tokenLoss, 100.0 * p.tokenAccuracy, p.lr,
                            p.imagesPerSecond, qPrintable(duration(p.elapsedSeconds)),
                            qPrintable(duration(p.etaSeconds)));
                std::fflush(stdout);
                return;
            }
            std::printf(
                "step %6d/%d  loss %.4f (avg %.4f)  region %.4f  token %.4f (%.1f%%)  look %.4f (%.1f%%)  "
                "glyph %.4f (%.1f%%, large %.1f%%)  lr %.2e  %.2f img/s  %.0f tok/s  elapsed %s  ETA %s%s\n",
                p.step, p.steps, p.loss, p.lossAverage, p.regionLoss, p.tokenLoss, 100.0 * p.tokenAccuracy, p.lookLoss,
                100.0 * p.lookMass, p.glyphLoss, 100.0 * p.glyphAccuracy, 100.0 * p.glyphAccuracyLarge, p.lr,
                p.imagesPerSecond, p.tokensPerSecond, qPrintable(duration(p.elapsedSeconds)),
                qPrintable(duration(p.etaSeconds)), p.checkpointSaved ? "  [checkpoint]" : "");
            std::fflush(stdout);
        };
        const auto report = [](const uhdlens::TrainResult &r) {
            std::printf("done: %d steps in %s, %lld parameters, loss %.4f -> %.4f; model folder %s\n",
                        r.steps, qPrintable(duration(r.seconds)), static_cast<long long>(r.parameters),
                        r.firstLoss, r.lastLoss, r.outDir.c_str());
            std::fflush(stdout);
        };
        report(uhdlens::train(o, progress));
        if (second) {
            std::fprintf(stderr, "uhdlens-train: second stage: to step %d, images up to %d px\n",
                         second->steps, second->maxSide);
            report(uhdlens::train(*second, progress));
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-train: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) { // libtorch (c10::Error) or the standard library
        std::fprintf(stderr, "uhdlens-train: internal error: %s\n", e.what());
        return 1;
    }
    return 0;
}
