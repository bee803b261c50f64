// uhdlens-bench soak [--questions N] [--quick] [--threads N] [--keep-free-heap]
//
// Issue 20, "Long use": one process loads the bundled model once and asks N questions (default 200) in
// conversations of four turns: a question and a follow-up about one image, then the same conversation
// switches to the next image for another question and follow-up; then a new conversation starts. Images
// rotate through small (64x48), huge (6000x4000, generated in memory), extreme aspect ratios (4000x60,
// 60x3000) and the sample images of resources/samples, so every slicing path, the image cache and
// conversation teardown are exercised. Answers are short (8 new tokens, greedy) so the run is about
// allocation churn, not decoding. After each answer the heap's free pages go back to the system, as the
// engine worker does when it goes idle (--keep-free-heap: not). Prints RSS after a warm-up of the first 10%
// of questions and at the end, the growth against the 5% goal, peak RSS and questions/s. A benchmark: it
// reports the figures and exits 0; only errors exit non-zero.
//
// Where the memory is: every 10% of the run a row splits RSS into tensor storage alive (bytes libtorch's CPU
// allocator handed out and not yet freed, counted through c10's memory-reporting hook on this thread), the
// rest of glibc's heap in use (mallinfo2: oneDNN primitive descriptors, Qt images, std containers), the free
// heap glibc keeps (initRuntime() keeps freed blocks, see runtime.h; not all of it resident) and the
// primitives in oneDNN's cache (uhdlens::onednnPrimitiveCache(); their JIT code lives in its own mappings,
// outside the heap). Reading them costs microseconds; nothing is trimmed mid-run.
#include "bench_soak.h"

#include "benchcommon.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/resources.h"
#include "uhdlens/runtime.h"

#include <QCommandLineParser>
#include <QImage>
#include <QString>

#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
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

// Bytes of tensor storage alive: c10's CPU allocator reports each allocation (+size) and free (-size) to the
// MemoryReportingInfoBase installed as this thread's PROFILER_STATE debug info (and to the intra-op workers
// that inherit it), which is how the autograd profiler's profile_memory counts. Frees of blocks allocated
// before the meter was installed are not reported, so it is installed before the model loads.
class TensorBytesMeter : public c10::MemoryReportingInfoBase
{
public:
    void reportMemoryUsage(void *, int64_t size, int64_t, int64_t, c10::Device device) override
    {
        if (device.is_cpu())
            m_live.fetch_add(size, std::memory_order_relaxed);
    }
    bool memoryProfilingEnabled() const override { return true; }
    double liveMiB() const { return m_live.load(std::memory_order_relaxed) / (1024.0 * 1024.0); }

private:
    std::atomic<int64_t> m_live{0};
};

struct MemoryRow
{
    double rss = 0;
    double tensors = 0;   // tensor storage alive
    double heapUsed = -1; // glibc heap in use (all arenas, mmapped chunks included), tensors included
    double heapFree = -1; // free heap glibc keeps
    int primitives = -1;  // oneDNN's primitive cache entries
};

MemoryRow memoryRow(const TensorBytesMeter &meter)
{
    MemoryRow row;
    row.rss = rssMiB();
    row.tensors = meter.liveMiB();
#if defined(__GLIBC__)
    const struct mallinfo2 mi = mallinfo2();
    row.heapUsed = double(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
    row.heapFree = double(mi.fordblks) / (1024.0 * 1024.0);
#endif
    row.primitives = uhdlens::onednnPrimitiveCache().entries;
    return row;
}

// User + system CPU time of the process: less disturbed than wall time when the machine is shared.
double cpuSeconds()
{
    struct rusage ru = {};
    getrusage(RUSAGE_SELF, &ru);
    auto s = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

void printRowHeader()
{
    std::printf("  %9s %9s %14s %16s %14s %12s\n", "questions", "RSS MiB", "tensors alive", "other heap used",
                "heap kept free", "oneDNN cache");
}

void printRow(int question, const MemoryRow &r)
{
    std::printf("  %9d %9.1f %14.1f %16.1f %14.1f %12d\n", question, r.rss, r.tensors, r.heapUsed - r.tensors,
                r.heapFree, r.primitives);
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
    QCommandLineOption threadsOpt(QStringLiteral("threads"), QStringLiteral("Threads (default: all cores)."),
                                  QStringLiteral("N"), QStringLiteral("0"));
    QCommandLineOption keepOpt(QStringLiteral("keep-free-heap"),
                               QStringLiteral("Do not give free heap back after each answer (the engine "
                                              "worker does, when it goes idle; this shows the difference)."));
    parser.addOptions({questionsOpt, quickOpt, threadsOpt, keepOpt});
    if (const auto done = parseArguments(parser, args, cmd))
        return *done;
    bool ok = false;
    int questions = parser.value(questionsOpt).toInt(&ok);
    if (!ok || questions < 1)
        return usageError(cmd, QStringLiteral("--questions needs a positive integer"));
    if (parser.isSet(quickOpt))
        questions = 12;
    const int threads = parser.value(threadsOpt).toInt(&ok);
    if (!ok || threads < 0)
        return usageError(cmd, QStringLiteral("--threads needs 0 (all cores) or a positive integer"));
    const int warmUp = std::max(1, (questions + 9) / 10); // the first 10%, rounded up
    const bool keepFreeHeap = parser.isSet(keepOpt);

    const std::string modelDir = uhdlens::bundledModelFolder();
    if (modelDir.empty()) {
        std::fprintf(stderr, "uhdlens-bench soak: no bundled model (resources/models/uhd-lens-smol or "
                             "uhd-lens-tiny) is installed\n");
        return 1;
    }

    try {
        const int threadCount = uhdlens::setThreadCount(threads);
        auto meter = std::make_shared<TensorBytesMeter>();
        const c10::DebugInfoGuard meterGuard(c10::DebugInfoKind::PROFILER_STATE, meter);

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
        load.threads = threadCount;
        const std::shared_ptr<const uhdlens::Model> model = uhdlens::Model::load(load);
        const double loadMs = msSince(loadStart);
        const double rssLoaded = rssMiB();

        uhdlens::GenerationSettings settings;
        settings.maxNewTokens = 8; // short answers: the run is about allocation churn, not decoding speed

        const uhdlens::PrimitiveCacheFigures cache = uhdlens::onednnPrimitiveCache();
        std::printf("uhdlens-bench soak: %d questions, one process, %d threads, model %s\n", questions,
                    threadCount, modelDir.c_str());
        std::printf("  images:");
        for (const SoakImage &im : images)
            std::printf(" [%s]", im.name.c_str());
        std::printf("\n  model loaded in %.0f ms; RSS %.1f MiB before load, %.1f MiB after\n", loadMs,
                    rssStart, rssLoaded);
        std::printf("  oneDNN primitive cache capacity: %d%s; free heap %s\n", cache.capacity,
                    cache.capacity < 0 ? " (not readable from this libtorch's oneDNN)" : "",
                    keepFreeHeap ? "kept (--keep-free-heap)"
                                 : "given back after each answer, as the app does");
        printRowHeader();

        constexpr int turnsPerConversation = 4; // question, follow-up, next image: question, follow-up
        const int rowEvery = std::max(1, questions / 10);
        std::unique_ptr<uhdlens::Conversation> chat;
        size_t nextImage = 0;
        int conversations = 0, fromCache = 0, generated = 0;
        double rssWarmTrimmed = 0;
        MemoryRow warm;
        const auto runStart = Clock::now();
        const double cpuStart = cpuSeconds();
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
            if (!keepFreeHeap)
                uhdlens::releaseFreeMemory(); // as EngineWorker does when it goes idle after an answer
            fromCache += r.imageFromCache ? 1 : 0;
            generated += r.generatedTokens;
            if (q + 1 == warmUp) {
                warm = memoryRow(*meter);
                printRow(q + 1, warm);
                rssWarmTrimmed = trimmedRssMiB();
            } else if ((q + 1) % rowEvery == 0 || q + 1 == questions) {
                printRow(q + 1, memoryRow(*meter));
            }
        }
        const double runS = msSince(runStart) / 1000.0;
        const double cpuS = cpuSeconds();
        const MemoryRow end = memoryRow(*meter);
        const double rssEnd = end.rss;
        const double rssEndTrimmed = trimmedRssMiB();
        chat.reset();
        const double rssAfterCloseTrimmed = trimmedRssMiB();
        const double tensorsAfterClose = meter->liveMiB();

        const double rssWarm = warm.rss;
        const double growth = rssWarm > 0 ? 100.0 * (rssEnd - rssWarm) / rssWarm : 0;
        std::printf(
            "  questions done: %d in %d conversations (%d answered from the image cache), %d tokens\n",
            questions, conversations, fromCache, generated);
        std::printf("  RSS after warm-up (%d questions): %.1f MiB\n", warmUp, rssWarm);
        std::printf("  RSS at end: %.1f MiB\n", rssEnd);
        std::printf("  RSS growth after warm-up: %+.2f%% (goal <= 5%%: %s)\n", growth,
                    growth <= 5.0 ? "met" : "NOT met");
        // What grew, warm-up -> end: the parts counted directly, and the rest of RSS growth (freed heap pages
        // touched again, oneDNN's JIT code, which lives in its own mappings).
        const double dTensors = end.tensors - warm.tensors;
        const double dOther = (end.heapUsed - end.tensors) - (warm.heapUsed - warm.tensors);
        std::printf(
            "  growth by part, warm-up -> end: RSS %+.1f MiB = tensors alive %+.1f + other heap used %+.1f "
            "+ rest %+.1f; oneDNN cache %+d primitives\n",
            rssEnd - warm.rss, dTensors, dOther, rssEnd - warm.rss - dTensors - dOther,
            end.primitives - warm.primitives);
        if (rssWarmTrimmed > 0)
            std::printf("  after malloc_trim (heap's free pages returned): warm-up %.1f MiB, end %.1f MiB, "
                        "growth %+.2f%%\n",
                        rssWarmTrimmed, rssEndTrimmed,
                        100.0 * (rssEndTrimmed - rssWarmTrimmed) / rssWarmTrimmed);
        if (rssAfterCloseTrimmed > 0)
            std::printf(
                "  after closing the last conversation and malloc_trim: %.1f MiB (tensors alive %.1f MiB)\n",
                rssAfterCloseTrimmed, tensorsAfterClose);
        std::printf("  peak RSS: %.1f MiB\n", peakRssMiB());
        std::printf("  time: %.1f s, %.2f questions/s, CPU %.1f s (%.0f ms a question)\n", runS,
                    runS > 0 ? questions / runS : 0.0, cpuS - cpuStart,
                    1000.0 * (cpuS - cpuStart) / questions);
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
