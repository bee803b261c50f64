// uhdlens-cli eval [--model DIR [--model DIR2 ...]] --set validation|heldout|real | --set-dir DIR [--count N]
//                  [--first-seed S] [--max-side PX] [--families LIST] [--image-text] [--max-new-tokens N]
//                  [--dtype T] [--threads N] [--json] [--plot OUT.png]
//
// Exact-match accuracy of one or more models (default: the bundled one) on an evaluation set, per task and
// per size bucket, with the visual tokens and time per image. Sets: the synthetic generator's validation and
// heldout splits (core/lab/include/uhdlens/lab/synthdata.h; --count, --first-seed, --max-side and --families
// pick the images), the committed real-screenshot set (real: tests/data/real-screenshots) or any folder of
// that form (--set-dir; eval_set.h reads its questions.json, --count keeps its first N images). Every model
// answers the very same images and questions, one question per turn with the history cleared, exactly as a
// user asking a first question would (the image encoding is cached across the questions of an image).
// --image-text gives the model the image's text as the app's "Give the Model the Image's Text" does:
// the text layer's lines with coarse positions (TextLayer::promptText(); PP-OCR when its base weights are
// installed, else Tesseract) before each question. --plot draws grouped bars per size bucket, one colour per
// model, with QPainter. Exit codes: 0, 1 (a model or set that does not load, or an image of the set that does
// not decode: it is skipped with its reason and the others are scored), 2 bad usage.
#include "commands.h"
#include "eval_set.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/lab/synthdata.h"
#include "uhdlens/resources.h"
#include "uhdlens/text_layer.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cli {

namespace {

namespace synth = uhdlens::synth;

struct Tally
{
    int n = 0;
    int correct = 0;
    double accuracy() const { return n ? static_cast<double>(correct) / n : 0.0; }
    void add(bool ok)
    {
        ++n;
        correct += ok;
    }
};

// One image of a set and its questions, whichever kind of set it comes from.
struct EvalQuestion
{
    std::string question;
    std::string answer;
    std::string task;
    bool reading = false;
    double detailHeight = 0; // text: font pixel size; shapes: their height (synth::QA::detailHeight)
};

struct EvalImage
{
    QImage image;
    std::vector<EvalQuestion> questions;
    nlohmann::json id; // what names the image in the wrong-answer examples: seed and family, or file
    std::string skip;  // non-empty: the image could not be had, and why
};

// A set: its images one at a time (a synthetic image is rendered when asked for), and its size buckets.
struct EvalSource
{
    std::string name;
    int count = 0;
    std::function<EvalImage(int index)> image;
    std::function<std::string(double height)> bucket;
    std::vector<std::string> buckets;
    const char *heightName = "detail height"; // what the buckets measure, in the table's header
    const char *plotAxis =
        "height of the detail asked about, in original-image pixels (text: font px; shapes: size)";
};

// How much the answers of one task vary: a model that ignores the image gives (nearly) one answer to every image,
// however many different answers were expected. Answers are compared trimmed and lower-cased, as exact match does.
struct AnswerSpread
{
    std::map<std::string, int> given, expected;
    static std::string key(const std::string &s)
    {
        return QString::fromStdString(s).trimmed().toLower().toStdString();
    }
    void add(const std::string &answer, const std::string &truth)
    {
        ++given[key(answer)];
        ++expected[key(truth)];
    }
    std::pair<std::string, double> top() const
    {
        std::pair<std::string, int> best{"", 0};
        int total = 0;
        for (const auto &[a, c] : given) {
            total += c;
            if (c > best.second)
                best = {a, c};
        }
        return {best.first, total ? static_cast<double>(best.second) / total : 0.0};
    }
};

struct ModelResult
{
    std::string label;
    std::string dir;
    std::string policy;
    Tally overall;
    Tally readingAtLeast10; // reading tasks whose text is >= 10 px high (the 90% target)
    std::map<std::string, Tally> perTask;
    std::map<std::string, AnswerSpread> spread; // per task
    std::map<std::string, Tally> perBucket;        // all tasks
    std::map<std::string, Tally> perBucketReading; // reading tasks only
    // Reading tasks by the text's height in the encoder's view (original height / the plan's downscale
    // factor): what the model actually has to resolve, where the buckets above say what the user sees.
    std::map<std::string, Tally> perViewBucketReading;
    // Reading tasks with text >= 10 px whose text is under uhdlens::kLegibleViewPixels in every view the plan
    // gives the encoder: past the limit of legibility for a 14-px patch, whatever the model.
    Tally readingAtLeast10Shrunk;
    double visualTokens = 0;                       // summed over images, divided at the end
    double encodeMs = 0;
    double imageMs = 0;
    double textMs = 0; // recognising the image's text (--image-text), part of imageMs
    int imageTextLines = 0;
    int images = 0;
    nlohmann::json examples = nlohmann::json::array(); // first wrong answers, for inspection
};

nlohmann::json tallyJson(const Tally &t)
{
    return {{"n", t.n}, {"correct", t.correct}, {"accuracy", t.accuracy()}};
}

QString pct(const Tally &t) { return t.n ? QString::asprintf("%5.1f%% (%d)", 100.0 * t.accuracy(), t.n) : QStringLiteral("    -"); }

void printTable(const ModelResult &r, const EvalSource &set, bool imageText)
{
    std::printf("model %s (%s), set %s, policy %s%s\n", r.label.c_str(), r.dir.c_str(), set.name.c_str(),
                r.policy.c_str(), imageText ? ", with the image's text" : "");
    std::printf("  %-22s %s\n", "all questions", qPrintable(pct(r.overall)));
    std::printf("  %-22s %s\n", "reading, text >= 10px", qPrintable(pct(r.readingAtLeast10)));
    std::printf("  per task:\n");
    for (const auto &[name, t] : r.perTask) {
        const auto sp = r.spread.find(name);
        if (sp == r.spread.end()) {
            std::printf("    %-20s %s\n", name.c_str(), qPrintable(pct(t)));
            continue;
        }
        const auto [topAnswer, share] = sp->second.top();
        std::printf("    %-20s %-16s %zu distinct answers (%zu expected), most common \"%s\" %.0f%%\n", name.c_str(),
                    qPrintable(pct(t)), sp->second.given.size(), sp->second.expected.size(), topAnswer.c_str(),
                    100.0 * share);
    }
    std::printf("  per %-18s all tasks        reading tasks\n", (std::string(set.heightName) + ":").c_str());
    for (const std::string &b : set.buckets) {
        const auto a = r.perBucket.find(b);
        const auto rd = r.perBucketReading.find(b);
        std::printf("    %-20s %-16s %s\n", b.c_str(), qPrintable(a == r.perBucket.end() ? QStringLiteral("    -") : pct(a->second)),
                    qPrintable(rd == r.perBucketReading.end() ? QStringLiteral("    -") : pct(rd->second)));
    }
    std::printf("  reading tasks by text height in the encoder's view:\n");
    for (const std::string &b : set.buckets)
        if (const auto v = r.perViewBucketReading.find(b); v != r.perViewBucketReading.end())
            std::printf("    %-20s %s\n", b.c_str(), qPrintable(pct(v->second)));
    std::printf("  reading, text >= 10px but < %.0fpx in every view: %s\n", uhdlens::kLegibleViewPixels,
                qPrintable(pct(r.readingAtLeast10Shrunk)));
    const double n = std::max(1, r.images);
    if (imageText)
        std::printf(
            "  per image: %.0f visual tokens, %.0f ms encode, %.0f ms text layer (%.1f lines given), %.0f ms "
            "total (%d images)\n\n",
            r.visualTokens / n, r.encodeMs / n, r.textMs / n, r.imageTextLines / n, r.imageMs / n, r.images);
    else
        std::printf("  per image: %.0f visual tokens, %.0f ms encode, %.0f ms total (%d images)\n\n",
                    r.visualTokens / n, r.encodeMs / n, r.imageMs / n, r.images);
}

// Grouped bar chart: x = size buckets, one bar per model, y = exact match (all tasks).
bool drawPlot(const std::vector<ModelResult> &results, const EvalSource &set, const QString &path)
{
    const std::vector<std::string> fonts = synth::ensureFonts(synth::Split::Train);
    const QString family = QString::fromStdString(fonts.front());
    const int W = 960, H = 560, left = 80, right = 30, top = 70, bottom = 110;
    QImage img(W, H, QImage::Format_RGB32);
    img.fill(Qt::white);
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing, true);
    QFont font(family);
    font.setPixelSize(20);
    p.setFont(font);
    p.setPen(Qt::black);
    p.drawText(QRect(0, 10, W, 30), Qt::AlignCenter,
               QStringLiteral("Exact match by %1 — set '%2'")
                   .arg(QString::fromLatin1(set.heightName), QString::fromStdString(set.name)));
    font.setPixelSize(14);
    p.setFont(font);
    const int plotW = W - left - right, plotH = H - top - bottom;
    // Axes and gridlines every 20%.
    for (int k = 0; k <= 5; ++k) {
        const int y = top + plotH - plotH * k / 5;
        p.setPen(QPen(QColor(220, 220, 220), 1));
        p.drawLine(left, y, left + plotW, y);
        p.setPen(Qt::black);
        p.drawText(QRect(0, y - 10, left - 8, 20), Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("%1%").arg(k * 20));
    }
    p.drawLine(left, top, left, top + plotH);
    p.drawLine(left, top + plotH, left + plotW, top + plotH);
    static const QColor colours[] = {QColor(40, 90, 200), QColor(230, 120, 30), QColor(60, 160, 80), QColor(150, 70, 170)};
    const std::vector<std::string> &buckets = set.buckets;
    const int groupW = plotW / static_cast<int>(buckets.size());
    const int nModels = static_cast<int>(results.size());
    const int barW = std::max(6, (groupW - 30) / std::max(1, nModels));
    for (std::size_t b = 0; b < buckets.size(); ++b) {
        const int gx = left + static_cast<int>(b) * groupW + 15;
        for (int m = 0; m < nModels; ++m) {
            const auto it = results[m].perBucket.find(buckets[b]);
            if (it == results[m].perBucket.end() || it->second.n == 0)
                continue;
            const double acc = it->second.accuracy();
            const int h = static_cast<int>(plotH * acc);
            const QRect bar(gx + m * barW, top + plotH - h, barW - 4, h);
            p.fillRect(bar, colours[m % 4]);
            p.setPen(Qt::black);
            p.drawText(QRect(bar.left() - 10, bar.top() - 20, barW + 16, 18), Qt::AlignCenter,
                       QString::number(qRound(acc * 100)));
        }
        p.drawText(QRect(left + static_cast<int>(b) * groupW, top + plotH + 6, groupW, 20), Qt::AlignCenter,
                   QString::fromStdString(buckets[b]));
    }
    p.drawText(QRect(left, top + plotH + 28, plotW, 20), Qt::AlignCenter, QString::fromLatin1(set.plotAxis));
    // Legend.
    int lx = left;
    for (int m = 0; m < nModels; ++m) {
        p.fillRect(QRect(lx, H - 36, 16, 16), colours[m % 4]);
        const QString text = QStringLiteral("%1 (%2, %3 visual tokens/image)")
                                 .arg(QString::fromStdString(results[m].label), QString::fromStdString(results[m].policy))
                                 .arg(qRound(results[m].visualTokens / std::max(1, results[m].images)));
        p.setPen(Qt::black);
        p.drawText(QPoint(lx + 22, H - 22), text);
        lx += 30 + p.fontMetrics().horizontalAdvance(text);
    }
    p.end();
    return img.save(path);
}

// The synthetic split `split`: images rendered from seeds, families cycling with the seed.
EvalSource syntheticSource(synth::Split split, int count, qlonglong firstSeed, const synth::Options &options,
                           const std::vector<synth::Family> &families)
{
    EvalSource set;
    set.name = synth::splitName(split);
    set.count = count;
    set.image = [=](int i) {
        const std::uint64_t seed = static_cast<std::uint64_t>(firstSeed) + i;
        // Families cycle with the seed so every family gets count/#families images.
        const synth::Family family = families[seed % families.size()];
        synth::Sample sample = synth::generate(family, seed, options);
        EvalImage out;
        out.image = std::move(sample.image);
        out.id = {{"seed", seed}, {"family", synth::familyName(family)}};
        for (const synth::QA &qa : sample.qas)
            out.questions.push_back({qa.question, qa.answer, synth::taskName(qa.task),
                                     synth::isReadingTask(qa.task), qa.detailHeight});
        return out;
    };
    set.bucket = [](double h) { return synth::sizeBucket(h); };
    set.buckets = synth::sizeBuckets();
    return set;
}

// A folder set (eval_set.h): its first `count` images, decoded when asked for; one that does not decode is
// skipped.
EvalSource folderSource(std::shared_ptr<const evalset::Set> loaded, int count)
{
    EvalSource set;
    set.name = loaded->name;
    set.count = count;
    set.image = [loaded](int i) {
        const evalset::Image &entry = loaded->images[static_cast<std::size_t>(i)];
        EvalImage out;
        out.id = {{"file", entry.file}};
        try {
            out.image = uhdlens::loadImage(QString::fromStdString(entry.path));
        } catch (const uhdlens::Error &e) {
            out.skip = e.what();
            return out;
        }
        for (const evalset::Question &q : entry.questions)
            out.questions.push_back(
                {q.question, q.answer, q.task, q.task == evalset::kReadingTask, q.textHeight});
        return out;
    };
    set.bucket = [](double h) { return evalset::sizeBucket(h); };
    set.buckets = evalset::sizeBuckets();
    set.heightName = "text height";
    set.plotAxis = "height of the text asked about, in image pixels (font px)";
    return set;
}

} // namespace

int runEval(const QStringList &args)
{
    const QString cmd = QStringLiteral("eval");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Exact-match accuracy of models on an evaluation set "
                                                    "(synthetic, the real-screenshot set or a folder), per "
                                                    "task and per size bucket."));
    parser.addHelpOption();
    QCommandLineOption modelOpt(
        QStringLiteral("model"),
        QStringLiteral("Model folder (repeat to compare models; default: the bundled model)."),
        QStringLiteral("DIR"));
    QCommandLineOption setOpt(
        QStringLiteral("set"),
        QStringLiteral("validation (training fonts, unseen seeds), heldout (unseen font and seeds) "
                       "or real (the committed real-screenshot set, tests/data/real-screenshots)."),
        QStringLiteral("NAME"));
    QCommandLineOption setDirOpt(
        QStringLiteral("set-dir"),
        QStringLiteral("A folder of images with a questions.json in the real set's form."),
        QStringLiteral("DIR"));
    QCommandLineOption countOpt(QStringLiteral("count"),
                                QStringLiteral("Number of images (default 150; a folder set: all of them)."),
                                QStringLiteral("N"), QStringLiteral("150"));
    QCommandLineOption firstOpt(QStringLiteral("first-seed"),
                                QStringLiteral("First seed of a synthetic set (default 0)."),
                                QStringLiteral("S"), QStringLiteral("0"));
    QCommandLineOption maxSideOpt(QStringLiteral("max-side"),
                                  QStringLiteral("Largest image side of a synthetic set (default 2500)."),
                                  QStringLiteral("PX"), QStringLiteral("2500"));
    QCommandLineOption familiesOpt(
        QStringLiteral("families"),
        QStringLiteral("Synthetic sets: comma-separated window,document,shapes (default all)."),
        QStringLiteral("LIST"));
    QCommandLineOption imageTextOpt(
        QStringLiteral("image-text"),
        QStringLiteral("Give the model the image's text (the text layer's lines with coarse positions: "
                       "PP-OCR's when its base weights are installed, else Tesseract's) before each "
                       "question, as the app's setting does."));
    QCommandLineOption tokensOpt(QStringLiteral("max-new-tokens"), QStringLiteral("Answer length limit (default 12)."),
                                 QStringLiteral("N"), QStringLiteral("12"));
    QCommandLineOption dtypeOpt(QStringLiteral("dtype"), QStringLiteral("auto (default), f32, mixed, bf16 or f16."),
                                QStringLiteral("T"), QStringLiteral("auto"));
    QCommandLineOption threadsOpt(QStringLiteral("threads"), QStringLiteral("CPU threads (default: all cores)."),
                                  QStringLiteral("N"), QStringLiteral("0"));
    QCommandLineOption jsonOpt(QStringLiteral("json"), QStringLiteral("Print one JSON object instead of tables."));
    QCommandLineOption plotOpt(QStringLiteral("plot"), QStringLiteral("Write a bar chart per size bucket (PNG)."),
                               QStringLiteral("OUT.png"));
    parser.addOptions({modelOpt, setOpt, setDirOpt, countOpt, firstOpt, maxSideOpt, familiesOpt, imageTextOpt,
                       tokensOpt, dtypeOpt, threadsOpt, jsonOpt, plotOpt});
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/false))
        return *done;
    QStringList modelDirs = parser.values(modelOpt);
    if (parser.isSet(setOpt) == parser.isSet(setDirOpt))
        return usageError(
            cmd, QStringLiteral("give one of --set NAME (validation, heldout or real) and --set-dir DIR"));
    const bool synthetic = parser.isSet(setOpt) && parser.value(setOpt) != QLatin1String("real");
    std::optional<synth::Split> split;
    if (synthetic) {
        split = synth::splitFromName(parser.value(setOpt).toStdString());
        if (!split || *split == synth::Split::Train)
            return usageError(cmd, QStringLiteral("unknown set '%1' (choose validation, heldout or real)")
                                       .arg(parser.value(setOpt)));
    } else {
        for (const QCommandLineOption *o : {&firstOpt, &maxSideOpt, &familiesOpt})
            if (parser.isSet(*o))
                return usageError(
                    cmd,
                    QStringLiteral("--%1 applies to the synthetic sets only").arg(o->names().constFirst()));
    }
    bool ok = false;
    const int count = parser.value(countOpt).toInt(&ok);
    if (!ok || count < 1 || count > 100000)
        return usageError(cmd, QStringLiteral("--count must be between 1 and 100000"));
    const qlonglong firstSeed = parser.value(firstOpt).toLongLong(&ok);
    if (!ok || firstSeed < 0 || static_cast<std::uint64_t>(firstSeed) + count > synth::kMaxSeed)
        return usageError(cmd, QStringLiteral("--first-seed must be between 0 and 1e12 - count"));
    const int maxTokens = parser.value(tokensOpt).toInt(&ok);
    if (!ok || maxTokens < 1 || maxTokens > 256)
        return usageError(cmd, QStringLiteral("--max-new-tokens must be between 1 and 256"));
    const int threads = parser.value(threadsOpt).toInt(&ok);
    if (!ok || threads < 0 || threads > 1024)
        return usageError(cmd, QStringLiteral("--threads must be between 0 and 1024"));
    synth::Options dataOptions;
    dataOptions.split = split.value_or(synth::Split::Validation);
    dataOptions.maxSide = parser.value(maxSideOpt).toInt(&ok);
    if (!ok)
        return usageError(cmd, QStringLiteral("--max-side must be a number"));
    if (const std::string why = dataOptions.validate(); !why.empty())
        return usageError(cmd, QString::fromStdString(why));
    std::vector<synth::Family> families = synth::allFamilies();
    if (parser.isSet(familiesOpt)) {
        families.clear();
        for (const QString &name : parser.value(familiesOpt).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const auto f = synth::familyFromName(name.trimmed().toStdString());
            if (!f)
                return usageError(cmd, QStringLiteral("unknown family '%1' (window, document, shapes)").arg(name));
            families.push_back(*f);
        }
        if (families.empty())
            return usageError(cmd, QStringLiteral("--families is empty"));
    }
    if (!qobject_cast<QGuiApplication *>(QCoreApplication::instance())) {
        std::fprintf(stderr, "uhdlens-cli eval: internal error: needs a QGuiApplication for fonts\n");
        return 1;
    }
    if (modelDirs.isEmpty()) {
        const std::string bundled = uhdlens::bundledModelFolder();
        if (bundled.empty()) {
            std::fprintf(
                stderr, "uhdlens-cli eval: no --model given and no bundled default model "
                        "(resources/models/uhd-lens-smol or uhd-lens-tiny) is installed; pass --model DIR\n");
            return 1;
        }
        modelDirs << QString::fromStdString(bundled);
    }

    // The set is read before any model loads, so a broken set costs no model load.
    EvalSource set;
    std::string setDir;
    if (synthetic) {
        set = syntheticSource(*split, count, firstSeed, dataOptions, families);
    } else {
        setDir = parser.isSet(setDirOpt) ? parser.value(setDirOpt).toStdString() : evalset::realSetFolder();
        if (setDir.empty()) {
            std::fprintf(stderr,
                         "uhdlens-cli eval: the real-screenshot set (tests/data/real-screenshots) is part of "
                         "the source tree and was not found above this executable; pass --set-dir DIR\n");
            return 1;
        }
        try {
            auto loaded = std::make_shared<const evalset::Set>(evalset::loadSet(setDir));
            const int n = static_cast<int>(loaded->images.size());
            set = folderSource(loaded, parser.isSet(countOpt) ? std::min(count, n) : n);
        } catch (const uhdlens::Error &e) {
            std::fprintf(stderr, "uhdlens-cli eval: %s\n", e.what());
            return 1;
        }
    }
    const bool giveImageText = parser.isSet(imageTextOpt);

    std::vector<ModelResult> results;
    nlohmann::json skipped =
        nlohmann::json::array(); // images of the set that could not be had, with the reason
    try {
        for (const QString &dir : modelDirs) {
            uhdlens::LoadOptions lo;
            lo.modelDir = dir.toStdString();
            lo.dtype = uhdlens::parseName<uhdlens::Dtype>(parser.value(dtypeOpt).toStdString());
            lo.threads = threads;
            auto model = uhdlens::Model::load(lo);
            ModelResult r;
            r.dir = lo.modelDir;
            r.label = QFileInfo(dir).fileName().toStdString();
            if (r.label.empty())
                r.label = model->info().name;
            r.policy = model->info().policy.name();
            uhdlens::Conversation chat(model);
            uhdlens::GenerationSettings gen;
            gen.maxNewTokens = maxTokens;
            const bool firstModel = results.empty();
            for (int i = 0; i < set.count; ++i) {
                const EvalImage item = set.image(i);
                if (!item.skip.empty()) {
                    if (firstModel) {
                        std::fprintf(stderr, "uhdlens-cli eval: skipped %s: %s\n",
                                     item.id.value("file", std::string()).c_str(), item.skip.c_str());
                        nlohmann::json s = item.id;
                        s["reason"] = item.skip;
                        skipped.push_back(std::move(s));
                    }
                    continue;
                }
                QElapsedTimer timer;
                timer.start();
                std::string imageText;
                if (giveImageText) {
                    QElapsedTimer textTimer;
                    textTimer.start();
                    imageText = uhdlens::recognizeText(item.image).promptText();
                    r.textMs += static_cast<double>(textTimer.nsecsElapsed()) / 1e6;
                }
                chat.setImage(item.image);
                // The plan the answers are encoded with.
                const double downscale = chat.plan().downscaleFactor();
                bool first = true;
                for (const EvalQuestion &qa : item.questions) {
                    chat.clearHistory();
                    const uhdlens::AskResult a = chat.ask(qa.question, gen, {}, imageText);
                    if (first) {
                        r.visualTokens += a.imageTokens;
                        r.encodeMs += a.encodeMs;
                        r.imageTextLines += a.imageTextLines;
                        first = false;
                    }
                    const bool right = synth::answersMatch(a.answer, qa.answer);
                    const std::string bucket = set.bucket(qa.detailHeight);
                    r.overall.add(right);
                    r.perTask[qa.task].add(right);
                    r.spread[qa.task].add(a.answer, qa.answer);
                    r.perBucket[bucket].add(right);
                    if (qa.reading) {
                        r.perBucketReading[bucket].add(right);
                        const double viewHeight = qa.detailHeight / downscale;
                        r.perViewBucketReading[set.bucket(viewHeight)].add(right);
                        if (qa.detailHeight >= 10) {
                            r.readingAtLeast10.add(right);
                            if (viewHeight < uhdlens::kLegibleViewPixels)
                                r.readingAtLeast10Shrunk.add(right);
                        }
                    }
                    if (!right && r.examples.size() < 20) {
                        nlohmann::json ex = item.id;
                        ex.update({{"question", qa.question},
                                   {"expected", qa.answer},
                                   {"answer", a.answer},
                                   {"detail_height", qa.detailHeight}});
                        r.examples.push_back(std::move(ex));
                    }
                }
                r.imageMs += static_cast<double>(timer.nsecsElapsed()) / 1e6;
                ++r.images;
                if (!parser.isSet(jsonOpt) && (i + 1) % 25 == 0)
                    std::fprintf(stderr, "  %s: %d/%d images, %.1f%% so far\n", r.label.c_str(), i + 1,
                                 set.count, 100.0 * r.overall.accuracy());
            }
            results.push_back(std::move(r));
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli eval: %s\n", e.what());
        return 1;
    }

    if (parser.isSet(jsonOpt)) {
        nlohmann::json out;
        out["set"] = set.name;
        out["count"] = set.count;
        if (synthetic) {
            out["first_seed"] = firstSeed;
            out["max_side"] = dataOptions.maxSide;
        } else {
            out["set_dir"] = setDir;
            out["skipped"] = skipped;
        }
        out["image_text"] = giveImageText;
        out["size_buckets"] = set.buckets;
        out["models"] = nlohmann::json::array();
        for (const ModelResult &r : results) {
            nlohmann::json m;
            m["label"] = r.label;
            m["dir"] = r.dir;
            m["policy"] = r.policy;
            m["overall"] = tallyJson(r.overall);
            m["reading_text_at_least_10px"] = tallyJson(r.readingAtLeast10);
            for (const auto &[k, t] : r.perTask) {
                m["tasks"][k] = tallyJson(t);
                if (const auto sp = r.spread.find(k); sp != r.spread.end()) {
                    const auto [topAnswer, share] = sp->second.top();
                    m["tasks"][k]["distinct_answers"] = sp->second.given.size();
                    m["tasks"][k]["distinct_expected"] = sp->second.expected.size();
                    m["tasks"][k]["most_common_answer"] = topAnswer;
                    m["tasks"][k]["most_common_share"] = share;
                }
            }
            for (const auto &[k, t] : r.perBucket)
                m["buckets"][k] = tallyJson(t);
            for (const auto &[k, t] : r.perBucketReading)
                m["reading_buckets"][k] = tallyJson(t);
            for (const auto &[k, t] : r.perViewBucketReading)
                m["reading_view_buckets"][k] = tallyJson(t);
            m["reading_text_at_least_10px_below_legible_in_view"] = tallyJson(r.readingAtLeast10Shrunk);
            m["legible_view_pixels"] = uhdlens::kLegibleViewPixels;
            const double n = std::max(1, r.images);
            m["images"] = r.images;
            m["visual_tokens_per_image"] = r.visualTokens / n;
            m["encode_ms_per_image"] = r.encodeMs / n;
            m["ms_per_image"] = r.imageMs / n;
            if (giveImageText) {
                m["text_layer_ms_per_image"] = r.textMs / n;
                m["image_text_lines_per_image"] = r.imageTextLines / n;
            }
            m["wrong_examples"] = r.examples;
            out["models"].push_back(m);
        }
        std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
        for (const ModelResult &r : results)
            printTable(r, set, giveImageText);
        if (!skipped.empty())
            std::printf("%zu image(s) skipped (see above)\n", skipped.size());
    }
    if (parser.isSet(plotOpt)) {
        if (!drawPlot(results, set, parser.value(plotOpt))) {
            std::fprintf(stderr, "uhdlens-cli eval: could not write %s\n", qPrintable(parser.value(plotOpt)));
            return 1;
        }
    }
    return skipped.empty() ? 0 : 1;
}

} // namespace cli
