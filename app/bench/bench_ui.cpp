// uhdlens-bench ui [--model DIR] [--image FILE] [--tokens N] [--quick]
//
// Opens the real MainWindow (offscreen unless QT_QPA_PLATFORM says otherwise), loads a model (DIR, else a tiny
// random uhd-paper model written to a temporary folder), opens an image and asks a question while a 1 ms timer on
// the GUI thread records the gaps between its ticks. A gap is how long the event loop could not react (a stall).
// The same measurement with the window idle for the same time is the reference: stalls caused by generation
// are the difference. Prints max / p99 / median stall of both, tokens and tokens/s.
#include "bench_ui.h"

#include "benchcommon.h"

#include "engineworker.h"
#include "mainwindow.h"

#include "uhdlens/devtools.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>

namespace bench {

namespace {

struct StallStats
{
    double maxMs = 0;
    double p99Ms = 0;
    double medianMs = 0;
    int ticks = 0;
};

StallStats summarise(std::vector<double> gaps)
{
    StallStats s;
    s.ticks = static_cast<int>(gaps.size());
    if (gaps.empty())
        return s;
    std::sort(gaps.begin(), gaps.end());
    s.maxMs = gaps.back();
    s.p99Ms = gaps[std::min(gaps.size() - 1, static_cast<size_t>(0.99 * gaps.size()))];
    s.medianMs = gaps[gaps.size() / 2];
    return s;
}

// Runs the event loop until `done()` or `timeoutMs`, recording the gaps between 1 ms timer ticks.
std::vector<double> measureGaps(const std::function<bool()> &done, int timeoutMs)
{
    std::vector<double> gaps;
    QElapsedTimer clock;
    clock.start();
    qint64 last = clock.nsecsElapsed();
    QTimer ticker;
    ticker.setTimerType(Qt::PreciseTimer);
    ticker.setInterval(1);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        const qint64 now = clock.nsecsElapsed();
        gaps.push_back((now - last) / 1e6);
        last = now;
    });
    ticker.start();
    QEventLoop loop;
    QTimer poll;
    poll.setInterval(5);
    QObject::connect(&poll, &QTimer::timeout, [&] {
        if (done() || clock.elapsed() > timeoutMs)
            loop.quit();
    });
    poll.start();
    loop.exec(); // the benchmark's own loop (not inside any UI handler)
    return gaps;
}

void printStats(const char *what, const StallStats &s)
{
    std::printf("  %-22s max %7.1f ms   p99 %6.1f ms   median %5.2f ms   (%d ticks)\n", what, s.maxMs, s.p99Ms,
                s.medianMs, s.ticks);
}

} // namespace

int runUiBench(const QStringList &args)
{
    const QString cmd = QStringLiteral("ui");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("GUI-thread stalls of the desktop app during a real generation."));
    parser.addHelpOption();
    QCommandLineOption modelOpt(QStringLiteral("model"), QStringLiteral("Model folder (default: a tiny random model)."),
                                QStringLiteral("DIR"));
    QCommandLineOption imageOpt(QStringLiteral("image"), QStringLiteral("Image to ask about (default: a drawn 1920x1080 screenshot)."),
                                QStringLiteral("FILE"));
    QCommandLineOption tokensOpt(QStringLiteral("tokens"), QStringLiteral("Tokens to generate (default 400)."),
                                 QStringLiteral("N"), QStringLiteral("400"));
    QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Short run (64 tokens) for smoke tests."));
    parser.addOptions({modelOpt, imageOpt, tokensOpt, quickOpt});
    if (const auto done = parseArguments(parser, args, cmd))
        return *done;
    if (!qobject_cast<QApplication *>(QCoreApplication::instance())) {
        std::fprintf(stderr, "uhdlens-bench ui: needs a QApplication (widgets)\n");
        return 1;
    }
    bool ok = false;
    int tokens = parser.value(tokensOpt).toInt(&ok);
    if (!ok || tokens < 1)
        return usageError(cmd, QStringLiteral("--tokens needs a positive integer"));
    if (parser.isSet(quickOpt))
        tokens = 64;

    QTemporaryDir tmp;
    QString modelDir = parser.value(modelOpt);
    if (modelDir.isEmpty()) {
        const std::string corpus = uhdlens::findResource("text/tiny-corpus.txt");
        if (corpus.empty()) {
            std::fprintf(stderr, "uhdlens-bench ui: resources/text/tiny-corpus.txt is missing; pass --model DIR\n");
            return 1;
        }
        try {
            modelDir = QString::fromStdString(
                uhdlens::writeTinyModel(uhdlens::Family::UhdPaper,
                                        tmp.filePath(QStringLiteral("tiny")).toStdString(), 0, corpus)
                    .modelDir);
        } catch (const uhdlens::Error &e) {
            std::fprintf(stderr, "uhdlens-bench ui: %s\n", e.what());
            return 1;
        }
    }

    uhdlens::ui::MainWindow window(uhdlens::ui::MainWindowOptions{tmp.filePath(QStringLiteral("settings.ini")), false});
    window.resize(1400, 900);
    window.show();

    bool modelDone = false;
    bool modelOk = false;
    QObject::connect(&window, &uhdlens::ui::MainWindow::modelChanged, [&](bool loaded) {
        modelDone = true;
        modelOk = loaded;
    });
    window.loadModel(modelDir);
    if (parser.isSet(imageOpt)) {
        window.openFiles({parser.value(imageOpt)});
    } else {
        QImage shot(1920, 1080, QImage::Format_RGB888);
        shot.fill(QColor(58, 110, 165));
        window.openImage(shot, QStringLiteral("bench"));
    }
    measureGaps([&] { return modelDone && window.documentCount() > 0; }, 300000);
    if (!modelOk || window.documentCount() == 0) {
        std::fprintf(stderr, "uhdlens-bench ui: %s\n", qPrintable(window.lastError()));
        return 1;
    }

    uhdlens::ui::Preferences prefs = window.preferences();
    prefs.generation.maxNewTokens = tokens;
    prefs.generation.stopStrings.clear();
    window.setPreferences(prefs);
    int received = 0;
    QObject::connect(window.engine(), &uhdlens::ui::EngineWorker::token, &window, [&received] { ++received; },
                     Qt::QueuedConnection);
    bool finished = false;
    QObject::connect(&window, &uhdlens::ui::MainWindow::generationFinished, [&finished] { finished = true; });

    QElapsedTimer clock;
    clock.start();
    window.ask(QStringLiteral("Describe everything you see in this image in detail."));
    const StallStats busy = summarise(measureGaps([&] { return finished; }, 600000));
    const double seconds = clock.elapsed() / 1000.0;
    const StallStats idle = summarise(measureGaps([] { return false; }, std::max(200, static_cast<int>(seconds * 1000))));

    const auto *doc = window.currentDocument();
    const auto &answer = doc->turns.back().answer;
    std::printf("uhdlens-bench ui: GUI-thread stalls while the main window streams an answer\n");
    std::printf("  model %s, image %dx%d, plan %d slices, %d image tokens\n", qPrintable(modelDir), doc->image.width(),
                doc->image.height(), window.currentPlan().sliceCount(), answer.imageTokens);
    std::printf("  generation: %d tokens in %.2f s (%.1f tokens/s decode), stop: %s%s\n", answer.generatedTokens,
                seconds, answer.decodeTokensPerSecond, qPrintable(answer.stopReason),
                answer.error.isEmpty() ? "" : qPrintable(QStringLiteral(", error: ") + answer.error));
    printStats("during generation:", busy);
    printStats("idle (reference):", idle);
    std::printf("  stall added by generation: max %+.1f ms, p99 %+.1f ms\n", busy.maxMs - idle.maxMs,
                busy.p99Ms - idle.p99Ms);
    return answer.error.isEmpty() ? 0 : 1;
}

} // namespace bench
