// uhdlens-bench soak [--questions N] [--quick]
//
// Issue 20, "Long use": one process loads the bundled model once and asks N questions (default 200) in
// conversations of four turns: a question and a follow-up about one image, then the same conversation
// switches to the next image for another question and follow-up; then a new conversation starts. Images
// rotate through small (64x48), huge (6000x4000, generated in memory), extreme aspect ratios (4000x60,
// 60x3000) and the sample images of resources/samples, so every slicing path, the image cache and
// conversation teardown are exercised. Answers are short (8 new tokens, greedy) so the run is about
// allocation churn, not decoding. Prints RSS after a warm-up of the first 10% of questions and at the end,
// the growth against the 5% goal, peak RSS and questions/s. A benchmark: it reports the figures and exits 0;
// only errors exit non-zero.
#include "bench_soak.h"

#include "benchcommon.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/resources.h"

#include <QCommandLineParser>
#include <QImage>
#include <QString>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace bench {

namespace {

struct SoakImage
{
    std::string name;
    QImage rgb;
};

// A deterministic RGB888 pattern (gradients and a checkerboard), written scanline by scanline: fast enough
// for 24 MP and with structure at every scale, so no slice is a flat colour.
QImage patternImage(int width, int height, int seed)
{
    QImage img(width, height, QImage::Format_RGB888);
    for (int y = 0; y < height; ++y) {
        uchar *line = img.scanLine(y);
        for (int x = 0; x < width; ++x) {
            line[3 * x + 0] = static_cast<uchar>(x * 255 / width);
            line[3 * x + 1] = static_cast<uchar>(y * 255 / height);
            line[3 * x + 2] = static_cast<uchar>((((x / 16) ^ (y / 16)) & 1) ? 200 + seed : 40 + seed);
        }
    }
    return img;
}

// RSS after handing the heap's free pages back to the OS. initRuntime() makes glibc keep freed blocks (trim
// and mmap thresholds of 1 GiB, for speed), so plain RSS also counts freed memory the heap holds for reuse;
// the trimmed figure is closer to what is still allocated, which tells a leak from retention. -1 without
// glibc.
double trimmedRssMiB()
{
#if defined(__GLIBC__)
    malloc_trim(0);
    return rssMiB();
#else
    return -1;
#endif
}

} // namespace

int runSoakBench(const QStringList &args)
{
    const QString cmd = QStringLiteral("soak");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "RSS growth of one process asking many questions about small, huge and extreme images."));
    parser.addHelpOption();
    QCommandLineOption questionsOpt(QStringLiteral("questions"),
                                    QStringLiteral("Questions to ask (default 200)."), QStringLiteral("N"),
                                    QStringLiteral("200"));
    QCommandLineOption quickOpt(QStringLiteral("quick"),
                                QStringLiteral("Short run (12 questions) for smoke tests."));
    parser.addOptions({questionsOpt, quickOpt});
    if (const auto done = parseArguments(parser, args, cmd))
        return *done;
    bool ok = false;
    int questions = parser.value(questionsOpt).toInt(&ok);
    if (!ok || questions < 1)
        return usageError(cmd, QStringLiteral("--questions needs a positive integer"));
    if (parser.isSet(quickOpt))
        questions = 12;
    const int warmUp = std::max(1, (questions + 9) / 10); // the first 10%, rounded up

    const std::string modelDir = uhdlens::bundledModelFolder();
    if (modelDir.empty()) {
        std::fprintf(stderr,
                     "uhdlens-bench soak: the bundled model (resources/models/uhd-lens-tiny) is missing\n");
        return 1;
    }

    try {
        std::vector<SoakImage> images;
        images.push_back({"small 64x48", patternImage(64, 48, 1)});
        images.push_back({"huge 6000x4000", patternImage(6000, 4000, 2)});
        images.push_back({"wide 4000x60", patternImage(4000, 60, 3)});
        images.push_back({"tall 60x3000", patternImage(60, 3000, 4)});
        for (const char *sample : {"document.png", "screenshot.png", "shapes.png"}) {
            const std::string path = uhdlens::findResource(std::string("samples/") + sample);
            if (path.empty()) {
                std::fprintf(stderr, "uhdlens-bench soak: resources/samples/%s is missing\n", sample);
                return 1;
            }
            const QImage rgb = uhdlens::loadImage(QString::fromStdString(path));
            images.push_back(
                {std::string(sample) + " " + std::to_string(rgb.width()) + "x" + std::to_string(rgb.height()),
                 rgb});
        }
        const std::vector<std::string> prompts = {
            "What is in this image?", "What colour is the top left corner?", "Describe it in one word.",
            "How many shapes are there?", "What does the text say?"};

        const double rssStart = rssMiB();
        const auto loadStart = Clock::now();
        uhdlens::LoadOptions load;
        load.modelDir = modelDir;
        const std::shared_ptr<const uhdlens::Model> model = uhdlens::Model::load(load);
        const double loadMs = msSince(loadStart);
        const double rssLoaded = rssMiB();

        uhdlens::GenerationSettings settings;
        settings.maxNewTokens = 8; // short answers: the run is about allocation churn, not decoding speed

        std::printf("uhdlens-bench soak: %d questions, one process, model %s\n", questions, modelDir.c_str());
        std::printf("  images:");
        for (const SoakImage &im : images)
            std::printf(" [%s]", im.name.c_str());
        std::printf("\n  model loaded in %.0f ms; RSS %.1f MiB before load, %.1f MiB after\n", loadMs,
                    rssStart, rssLoaded);

        constexpr int turnsPerConversation = 4; // question, follow-up, next image: question, follow-up
        std::unique_ptr<uhdlens::Conversation> chat;
        size_t nextImage = 0;
        int conversations = 0, fromCache = 0, generated = 0;
        double rssWarm = 0, rssWarmTrimmed = 0;
        const auto runStart = Clock::now();
        for (int q = 0; q < questions; ++q) {
            const int turn = q % turnsPerConversation;
            if (turn == 0) {
                chat.reset(); // the old conversation's KV cache and image embeddings go first
                chat = std::make_unique<uhdlens::Conversation>(model);
                ++conversations;
            }
            if (turn == 0 || turn == 2) {
                chat->setImage(images[nextImage].rgb);
                nextImage = (nextImage + 1) % images.size();
            }
            const uhdlens::AskResult r = chat->ask(prompts[q % prompts.size()], settings);
            fromCache += r.imageFromCache ? 1 : 0;
            generated += r.generatedTokens;
            if (q + 1 == warmUp) {
                rssWarm = rssMiB();
                rssWarmTrimmed = trimmedRssMiB();
            }
        }
        const double runS = msSince(runStart) / 1000.0;
        const double rssEnd = rssMiB();
        const double rssEndTrimmed = trimmedRssMiB();
        chat.reset();
        const double rssAfterCloseTrimmed = trimmedRssMiB();

        const double growth = rssWarm > 0 ? 100.0 * (rssEnd - rssWarm) / rssWarm : 0;
        std::printf(
            "  questions done: %d in %d conversations (%d answered from the image cache), %d tokens\n",
            questions, conversations, fromCache, generated);
        std::printf("  RSS after warm-up (%d questions): %.1f MiB\n", warmUp, rssWarm);
        std::printf("  RSS at end: %.1f MiB\n", rssEnd);
        std::printf("  RSS growth after warm-up: %+.2f%% (goal <= 5%%: %s)\n", growth,
                    growth <= 5.0 ? "met" : "NOT met");
        if (rssWarmTrimmed > 0)
            std::printf("  after malloc_trim (heap's free pages returned): warm-up %.1f MiB, end %.1f MiB, "
                        "growth %+.2f%%\n",
                        rssWarmTrimmed, rssEndTrimmed,
                        100.0 * (rssEndTrimmed - rssWarmTrimmed) / rssWarmTrimmed);
        if (rssAfterCloseTrimmed > 0)
            std::printf("  after closing the last conversation and malloc_trim: %.1f MiB\n",
                        rssAfterCloseTrimmed);
        std::printf("  peak RSS: %.1f MiB\n", peakRssMiB());
        std::printf("  time: %.1f s, %.2f questions/s\n", runS, runS > 0 ? questions / runS : 0.0);
        return 0;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-bench soak: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "uhdlens-bench soak: %s\n", e.what());
        return 1;
    }
}

} // namespace bench
