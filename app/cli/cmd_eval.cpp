// uhdlens-cli eval --model DIR [--model DIR2 ...] --set validation|heldout [--count N] [--first-seed S]
//                  [--max-side PX] [--families LIST] [--max-new-tokens N] [--dtype T] [--threads N] [--json]
//                  [--plot OUT.png]
//
// Exact-match accuracy of one or more models on a synthetic evaluation set (core/lab/include/uhdlens/lab/synthdata.h),
// per task family and per detail-height bucket, with the visual tokens and time per image. Every model answers
// the very same images and questions (same seeds), one question per turn with the history cleared, exactly as a
// user asking a first question would (the image encoding is cached across the questions of an image).
// --plot draws grouped bars per size bucket, one colour per model, with QPainter.
#include "commands.h"

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/lab/synthdata.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>

#include <nlohmann/json.hpp>

#include <cstdio>
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
    int images = 0;
    nlohmann::json examples = nlohmann::json::array(); // first wrong answers, for inspection
};

nlohmann::json tallyJson(const Tally &t)
{
    return {{"n", t.n}, {"correct", t.correct}, {"accuracy", t.accuracy()}};
}

QString pct(const Tally &t) { return t.n ? QString::asprintf("%5.1f%% (%d)", 100.0 * t.accuracy(), t.n) : QStringLiteral("    -"); }

void printTable(const ModelResult &r, const std::string &setName)
{
    std::printf("model %s (%s), set %s, policy %s\n", r.label.c_str(), r.dir.c_str(), setName.c_str(), r.policy.c_str());
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
    std::printf("  per detail height:     all tasks        reading tasks\n");
    for (const std::string &b : synth::sizeBuckets()) {
        const auto a = r.perBucket.find(b);
        const auto rd = r.perBucketReading.find(b);
        std::printf("    %-20s %-16s %s\n", b.c_str(), qPrintable(a == r.perBucket.end() ? QStringLiteral("    -") : pct(a->second)),
                    qPrintable(rd == r.perBucketReading.end() ? QStringLiteral("    -") : pct(rd->second)));
    }
    std::printf("  reading tasks by text height in the encoder's view:\n");
    for (const std::string &b : synth::sizeBuckets())
        if (const auto v = r.perViewBucketReading.find(b); v != r.perViewBucketReading.end())
            std::printf("    %-20s %s\n", b.c_str(), qPrintable(pct(v->second)));
    std::printf("  reading, text >= 10px but < %.0fpx in every view: %s\n", uhdlens::kLegibleViewPixels,
                qPrintable(pct(r.readingAtLeast10Shrunk)));
    const double n = std::max(1, r.images);
    std::printf("  per image: %.0f visual tokens, %.0f ms encode, %.0f ms total (%d images)\n\n", r.visualTokens / n,
                r.encodeMs / n, r.imageMs / n, r.images);
}

// Grouped bar chart: x = size buckets, one bar per model, y = exact match (all tasks).
bool drawPlot(const std::vector<ModelResult> &results, const std::string &setName, const QString &path)
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
               QStringLiteral("Exact match by detail height — set '%1'").arg(QString::fromStdString(setName)));
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
    const std::vector<std::string> buckets = synth::sizeBuckets();
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
    p.drawText(QRect(left, top + plotH + 28, plotW, 20), Qt::AlignCenter,
               QStringLiteral("height of the detail asked about, in original-image pixels (text: font px; shapes: size)"));
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

} // namespace

int runEval(const QStringList &args)
{
    const QString cmd = QStringLiteral("eval");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Exact-match accuracy of models on a synthetic evaluation set, per task and per detail-height bucket."));
    parser.addHelpOption();
    QCommandLineOption modelOpt(QStringLiteral("model"), QStringLiteral("Model folder (repeat to compare models)."),
                                QStringLiteral("DIR"));
    QCommandLineOption setOpt(QStringLiteral("set"), QStringLiteral("validation (training fonts, unseen seeds) or heldout (unseen font and seeds)."),
                              QStringLiteral("NAME"));
    QCommandLineOption countOpt(QStringLiteral("count"), QStringLiteral("Number of images (default 150)."),
                                QStringLiteral("N"), QStringLiteral("150"));
    QCommandLineOption firstOpt(QStringLiteral("first-seed"), QStringLiteral("First seed of the set (default 0)."),
                                QStringLiteral("S"), QStringLiteral("0"));
    QCommandLineOption maxSideOpt(QStringLiteral("max-side"), QStringLiteral("Largest image side (default 2500)."),
                                  QStringLiteral("PX"), QStringLiteral("2500"));
    QCommandLineOption familiesOpt(QStringLiteral("families"), QStringLiteral("Comma-separated: window,document,shapes (default all)."),
                                   QStringLiteral("LIST"));
    QCommandLineOption tokensOpt(QStringLiteral("max-new-tokens"), QStringLiteral("Answer length limit (default 12)."),
                                 QStringLiteral("N"), QStringLiteral("12"));
    QCommandLineOption dtypeOpt(QStringLiteral("dtype"), QStringLiteral("auto (default), f32, mixed, bf16 or f16."),
                                QStringLiteral("T"), QStringLiteral("auto"));
    QCommandLineOption threadsOpt(QStringLiteral("threads"), QStringLiteral("CPU threads (default: all cores)."),
                                  QStringLiteral("N"), QStringLiteral("0"));
    QCommandLineOption jsonOpt(QStringLiteral("json"), QStringLiteral("Print one JSON object instead of tables."));
    QCommandLineOption plotOpt(QStringLiteral("plot"), QStringLiteral("Write a bar chart per size bucket (PNG)."),
                               QStringLiteral("OUT.png"));
    parser.addOptions({modelOpt, setOpt, countOpt, firstOpt, maxSideOpt, familiesOpt, tokensOpt, dtypeOpt, threadsOpt,
                       jsonOpt, plotOpt});
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/false))
        return *done;
    const QStringList modelDirs = parser.values(modelOpt);
    if (modelDirs.isEmpty())
        return usageError(cmd, QStringLiteral("--model DIR is required"));
    if (!parser.isSet(setOpt))
        return usageError(cmd, QStringLiteral("--set NAME is required (validation or heldout)"));
    const auto split = synth::splitFromName(parser.value(setOpt).toStdString());
    if (!split || *split == synth::Split::Train)
        return usageError(cmd, QStringLiteral("unknown set '%1' (choose validation or heldout)").arg(parser.value(setOpt)));
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
    dataOptions.split = *split;
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

    std::vector<ModelResult> results;
    const std::string setName = synth::splitName(*split);
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
            for (int i = 0; i < count; ++i) {
                const std::uint64_t seed = static_cast<std::uint64_t>(firstSeed) + i;
                // Families cycle with the seed so every family gets count/#families images.
                const synth::Family family = families[seed % families.size()];
                const synth::Sample sample = synth::generate(family, seed, dataOptions);
                QElapsedTimer timer;
                timer.start();
                chat.setImage(sample.image);
                // The plan the answers are encoded with.
                const double downscale = chat.plan().downscaleFactor();
                bool first = true;
                for (const synth::QA &qa : sample.qas) {
                    chat.clearHistory();
                    const uhdlens::AskResult a = chat.ask(qa.question, gen);
                    if (first) {
                        r.visualTokens += a.imageTokens;
                        r.encodeMs += a.encodeMs;
                        first = false;
                    }
                    const bool right = synth::answersMatch(a.answer, qa.answer);
                    const std::string bucket = synth::sizeBucket(qa.detailHeight);
                    r.overall.add(right);
                    r.perTask[synth::taskName(qa.task)].add(right);
                    r.spread[synth::taskName(qa.task)].add(a.answer, qa.answer);
                    r.perBucket[bucket].add(right);
                    if (synth::isReadingTask(qa.task)) {
                        r.perBucketReading[bucket].add(right);
                        const double viewHeight = qa.detailHeight / downscale;
                        r.perViewBucketReading[synth::sizeBucket(viewHeight)].add(right);
                        if (qa.detailHeight >= 10) {
                            r.readingAtLeast10.add(right);
                            if (viewHeight < uhdlens::kLegibleViewPixels)
                                r.readingAtLeast10Shrunk.add(right);
                        }
                    }
                    if (!right && r.examples.size() < 20)
                        r.examples.push_back({{"seed", seed}, {"family", synth::familyName(family)},
                                              {"question", qa.question}, {"expected", qa.answer},
                                              {"answer", a.answer}, {"detail_height", qa.detailHeight}});
                }
                r.imageMs += static_cast<double>(timer.nsecsElapsed()) / 1e6;
                ++r.images;
                if (!parser.isSet(jsonOpt) && (i + 1) % 25 == 0)
                    std::fprintf(stderr, "  %s: %d/%d images, %.1f%% so far\n", r.label.c_str(), i + 1, count,
                                 100.0 * r.overall.accuracy());
            }
            results.push_back(std::move(r));
        }
    } catch (const uhdlens::Error &e) {
        std::fprintf(stderr, "uhdlens-cli eval: %s\n", e.what());
        return 1;
    }

    if (parser.isSet(jsonOpt)) {
        nlohmann::json out;
        out["set"] = setName;
        out["count"] = count;
        out["first_seed"] = firstSeed;
        out["max_side"] = dataOptions.maxSide;
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
            m["wrong_examples"] = r.examples;
            out["models"].push_back(m);
        }
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        for (const ModelResult &r : results)
            printTable(r, setName);
    }
    if (parser.isSet(plotOpt)) {
        if (!drawPlot(results, setName, parser.value(plotOpt))) {
            std::fprintf(stderr, "uhdlens-cli eval: could not write %s\n", qPrintable(parser.value(plotOpt)));
            return 1;
        }
    }
    return 0;
}

} // namespace cli
