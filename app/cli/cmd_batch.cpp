// uhdlens-cli batch [--model DIR] [--question TEXT | --transcribe] [--policy P] [--max-slices N]
//                   [--max-new-tokens N] --out FILE.jsonl|.csv|.md [--resume | --force] PATH...
// Asks one question (default: the model family's transcription prompt) about every image under PATH... (files
// and folders, recursive, images recognised by content) and writes one record per image, flushed as it is
// done. Progress (images done, images per minute, ETA) goes to stderr: one updating line on a terminal, a
// line per image otherwise. Ctrl+C (SIGINT) or SIGTERM stops the current answer through the engine's cancel
// flag and ends the run: the cancelled image gets no record (so --resume does it again) and the file stays
// valid. Exit codes: 0 every image answered, 1 some image failed (its record says why; with --resume also one
// recorded by the earlier run) or the model/output could not be used, 2 bad usage (also: the output exists
// without --resume/--force, or --resume refused), 130 interrupted.
#include "commands.h"
#include "engine_args.h"

#include "uhdlens/batch.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/model_facts.h"

#include <QCommandLineParser>
#include <QFileInfo>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>

#include <unistd.h> // isatty

namespace cli {

namespace {

namespace batch = uhdlens::batch;
using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM; read by the loop between images and by the engine between slices and tokens.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "a signal handler may only touch a lock-free atomic");

extern "C" void onStopSignal(int sig)
{
    g_stop.store(true);
    std::signal(sig, SIG_DFL); // a second Ctrl+C ends the process at once (the file is valid at every point)
}

void installStopHandlers()
{
    for (int sig : {SIGINT, SIGTERM}) {
        // A shell starts background jobs with SIGINT ignored; keep it so (as Python and most tools do).
        if (std::signal(sig, onStopSignal) == SIG_IGN)
            std::signal(sig, SIG_IGN);
    }
}

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string clockText(double seconds)
{
    const long s = long(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

class Progress
{
public:
    Progress(int total) : m_total(total), m_tty(::isatty(fileno(stderr)) == 1), m_start(Clock::now()) {}

    // On a terminal, the line also names the image being read (a real model takes a minute on a page).
    void start(const std::string &file)
    {
        if (m_tty)
            line("working on " + std::filesystem::path(file).filename().string());
    }
    void done(const batch::Record &r)
    {
        ++m_done;
        const std::string name = std::filesystem::path(r.file).filename().string();
        line(r.status == batch::Status::Ok ? name : name + ": " + r.error);
    }
    void finish()
    {
        if (m_tty && m_done > 0)
            std::fprintf(stderr, "\n");
    }

private:
    void line(const std::string &what)
    {
        const double minutes = msSince(m_start) / 60000.0;
        const double rate = minutes > 0 ? m_done / minutes : 0;
        const std::string eta = rate > 0 ? clockText((m_total - m_done) / rate * 60.0) : std::string("?");
        std::fprintf(stderr, "%sbatch: %d/%d images, %.1f images/min, ETA %s  %s", m_tty ? "\r" : "", m_done,
                     m_total, rate, eta.c_str(), what.c_str());
        std::fprintf(stderr, m_tty ? "\033[K" : "\n"); // on a terminal: clear what a longer earlier line left
        std::fflush(stderr);
    }

    int m_total;
    int m_done = 0;
    bool m_tty;
    Clock::time_point m_start;
};

std::string absoluteFolder(const std::string &dir)
{
    return std::filesystem::absolute(dir).lexically_normal().string();
}

const char *const kBatchHelp =
    "Asks one question about every image in the given files and folders (recursive; images are recognised by "
    "content) and writes one record per image to FILE.jsonl, FILE.csv or FILE.md.\n"
    "Exit codes: 0 every image answered, 1 some failed (see their records) or the model/output failed, 2 bad "
    "usage, 130 interrupted (Ctrl+C: the file stays valid; continue with --resume).";

} // namespace

int runBatch(const QStringList &args)
{
    const QString cmd = QStringLiteral("batch");
    QCommandLineParser parser;
    parser.setApplicationDescription(QString::fromUtf8(kBatchHelp));
    parser.addHelpOption();
    EngineOptions eo;
    parser.addOptions({eo.model, eo.vision, eo.policy, eo.maxSlices, eo.device, eo.dtype});
    QCommandLineOption questionOpt(QStringLiteral("question"),
                                   QStringLiteral("The question asked about every image."),
                                   QStringLiteral("TEXT"));
    QCommandLineOption transcribeOpt(
        QStringLiteral("transcribe"),
        QStringLiteral("Ask the model family's transcription prompt (text in reading "
                       "order, tables as Markdown). The default without --question."));
    QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Output file: .jsonl, .csv or .md."),
                              QStringLiteral("FILE"));
    QCommandLineOption resumeOpt(
        QStringLiteral("resume"),
        QStringLiteral("Continue FILE: skip the images it has records of, append the rest."));
    QCommandLineOption forceOpt(QStringLiteral("force"), QStringLiteral("Replace FILE if it exists."));
    QCommandLineOption maxNewOpt(QStringLiteral("max-new-tokens"),
                                 QStringLiteral("Answer length limit (default 256; 1024 with --transcribe: a "
                                                "page is long; never past the model's context)."),
                                 QStringLiteral("N"));
    parser.addOptions({questionOpt, transcribeOpt, outOpt, resumeOpt, forceOpt, maxNewOpt});
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("Image files and folders."),
                                 QStringLiteral("PATH..."));
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/true))
        return *done;

    // --- usage checks (exit 2), all before any model or file is touched ---
    const QStringList paths = parser.positionalArguments();
    if (paths.isEmpty())
        return usageError(cmd, QStringLiteral("give at least one image file or folder"));
    if (parser.isSet(questionOpt) && parser.isSet(transcribeOpt))
        return usageError(cmd, QStringLiteral("--question and --transcribe exclude each other"));
    const bool transcribe = !parser.isSet(questionOpt);
    const std::string question = parser.value(questionOpt).toStdString();
    if (!transcribe && question.find_first_not_of(" \t\r\n") == std::string::npos)
        return usageError(cmd, QStringLiteral("the question is empty"));
    if (!parser.isSet(outOpt))
        return usageError(cmd, QStringLiteral("--out FILE is required (FILE.jsonl, FILE.csv or FILE.md)"));
    const std::string outPath = parser.value(outOpt).toStdString();
    const auto format = batch::formatForPath(outPath);
    if (!format)
        return usageError(cmd,
                          QStringLiteral("cannot tell the output format of '%1': name it .jsonl, .csv or .md")
                              .arg(parser.value(outOpt)));
    uhdlens::LoadOptions load;
    if (const auto exitCode = eo.prepareLoad(parser, cmd, load))
        return *exitCode;
    if (parser.isSet(resumeOpt) && parser.isSet(forceOpt))
        return usageError(cmd, QStringLiteral("--resume and --force exclude each other"));
    uhdlens::GenerationSettings gen;
    gen.maxNewTokens = transcribe ? batch::kTranscribeMaxNewTokens : 256;
    if (parser.isSet(maxNewOpt)) {
        bool ok = false;
        gen.maxNewTokens = parser.value(maxNewOpt).toInt(&ok);
        if (!ok)
            return usageError(cmd, QStringLiteral("--max-new-tokens needs an integer"));
    }
    if (const std::string why = gen.validate(); !why.empty())
        return usageError(cmd, QString::fromStdString(why));
    if (parser.isSet(eo.model) && !QFileInfo(parser.value(eo.model)).isDir())
        return usageError(cmd, QStringLiteral("--model '%1': no such folder").arg(parser.value(eo.model)));

    // --- the output file: refuse to overwrite by accident; on --resume read it before loading the model ---
    std::optional<batch::Existing> existing;
    const bool outExists = std::filesystem::exists(outPath);
    if (outExists && std::filesystem::is_directory(outPath))
        return usageError(cmd, QStringLiteral("--out '%1' is a folder").arg(parser.value(outOpt)));
    if (outExists && !parser.isSet(resumeOpt) && !parser.isSet(forceOpt))
        return usageError(cmd, QStringLiteral("'%1' exists: --resume continues it, --force replaces it")
                                   .arg(parser.value(outOpt)));
    if (outExists && parser.isSet(resumeOpt)) {
        try {
            existing = batch::readExisting(outPath, *format);
        } catch (const uhdlens::Error &e) {
            return usageError(cmd, QStringLiteral("cannot resume: %1").arg(QString::fromStdString(e.what())));
        }
    }

    // --- inputs ---
    std::vector<std::string> pathList;
    for (const QString &p : paths)
        pathList.push_back(p.toStdString());
    batch::InputScan scan = batch::collectInputs(pathList);
    if (scan.inputs.empty()) {
        std::fprintf(stderr,
                     "uhdlens-cli batch: no image found in the given paths (%d other files skipped)\n",
                     scan.skippedNonImages);
        return 1;
    }
    const std::set<std::string> done =
        existing ? std::set<std::string>(existing->files.begin(), existing->files.end())
                 : std::set<std::string>();
    const std::set<std::string> failedBefore =
        existing ? std::set<std::string>(existing->failed.begin(), existing->failed.end())
                 : std::set<std::string>();
    std::vector<batch::Input> todo;
    int oldFailed = 0; // images of this run that failed in the earlier run: the exit code covers them too
    for (auto &in : scan.inputs) {
        if (!done.count(in.path))
            todo.push_back(std::move(in));
        else
            oldFailed += int(failedBefore.count(in.path));
    }
    const int already = int(scan.inputs.size() - todo.size());

    installStopHandlers();

    // --- model ---
    std::shared_ptr<const uhdlens::Model> model;
    std::optional<uhdlens::SlicePolicy> policy;
    batch::RunSettings run;
    try {
        model = uhdlens::Model::load(load);
        if (const QString why = eo.slicePolicy(parser, model->info().policy, policy); !why.isEmpty())
            return usageError(cmd, why);
        run.model = absoluteFolder(load.modelDir);
        run.transcribe = transcribe;
        run.question = transcribe ? uhdlens::transcriptionPrompt(model->info().family) : question;
        run.policy = parser.isSet(eo.policy) ? policy->name() : std::string();
        run.maxSlices = parser.isSet(eo.maxSlices) ? parser.value(eo.maxSlices).toInt() : -1;
        run.maxNewTokens = gen.maxNewTokens;
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli batch: cannot load the model: %s\n", e.what());
        return 1;
    }
    if (existing && existing->settings)
        if (const std::string d = batch::describeDifference(run, *existing->settings); !d.empty())
            return usageError(cmd,
                              QStringLiteral("cannot resume '%1' with other settings (%2); use another --out "
                                             "or the same options")
                                  .arg(parser.value(outOpt), QString::fromStdString(d)));

    std::unique_ptr<batch::Writer> writer;
    try {
        writer = existing ? batch::Writer::resume(outPath, *format, run, *existing)
                          : batch::Writer::create(outPath, *format, run);
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli batch: %s\n", e.what());
        return 1;
    }

    std::fprintf(stderr, "batch: %d image%s to do", int(todo.size()), todo.size() == 1 ? "" : "s");
    if (already > 0)
        std::fprintf(stderr, ", %d already in %s", already, outPath.c_str());
    if (scan.skippedNonImages > 0)
        std::fprintf(stderr, ", %d non-image files skipped", scan.skippedNonImages);
    std::fprintf(stderr, "; question: %s\n", run.question.c_str());

    // --- the run (the loop is uhdlens::batch::run, shared with the app's Batch dialog) ---
    Progress progress(int(todo.size()));
    batch::RunCallbacks callbacks;
    callbacks.started = [&](std::size_t, const batch::Input &in) { progress.start(in.path); };
    callbacks.written = [&](std::size_t, const batch::Record &r) { progress.done(r); };
    callbacks.cancel = &g_stop;
    const batch::Job job{run.question, policy, gen};
    batch::RunSummary summary;
    try {
        summary = batch::run(model, todo, job, *writer, callbacks);
    } catch (const uhdlens::Error &e) {
        progress.finish();
        std::fprintf(stderr, "uhdlens-cli batch: %s\n", e.what());
        return 1;
    }
    progress.finish();
    const int written = summary.written, failed = summary.failed;
    if (summary.interrupted) {
        std::fprintf(stderr,
                     "batch: interrupted after %d of %d images; %s is complete up to there, continue with "
                     "--resume\n",
                     written, int(todo.size()), outPath.c_str());
        return 130;
    }
    std::fprintf(stderr, "batch: %d image%s, %d failed", written, written == 1 ? "" : "s", failed);
    if (already > 0)
        std::fprintf(stderr, " (and %d earlier, %d of them failed)", already, oldFailed);
    std::fprintf(stderr, "; wrote %s\n", outPath.c_str());
    return failed + oldFailed > 0 ? 1 : 0;
}

} // namespace cli
