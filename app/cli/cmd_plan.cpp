// uhdlens-cli plan [--policy minicpmv|llava-uhd|llava15] [--max-slices N] [--scale S] [--patch P]
//                  [--never-split] [--json] (--size WxH)... | IMAGE...
#include "commands.h"

#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/model_facts.h"
#include "uhdlens/plan_json.h"
#include "uhdlens/slice_planner.h"

#include <QCommandLineParser>
#include <QRegularExpression>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>

namespace cli {

namespace {

std::optional<uhdlens::Size> parseSize(const QString &text)
{
    static const QRegularExpression re(QStringLiteral("^\\s*(\\d{1,9})\\s*[xX×]\\s*(\\d{1,9})\\s*$"));
    const auto m = re.match(text);
    if (!m.hasMatch())
        return std::nullopt;
    return uhdlens::Size{m.captured(1).toInt(), m.captured(2).toInt()};
}

QString sizeText(uhdlens::Size s) { return QStringLiteral("%1x%2").arg(s.width).arg(s.height); }

void printTableHeader()
{
    std::printf("%-28s %-10s %-6s %-10s %-10s %-10s %6s %7s %9s\n", "input", "policy", "grid", "overview",
                "refine", "slice", "slices", "tokens", "downscale");
}

void printTableRow(const QString &label, const uhdlens::SlicePlan &p)
{
    const QString grid = p.grid ? QStringLiteral("%1x%2").arg(p.grid->cols).arg(p.grid->rows) : QStringLiteral("-");
    const QString refine = p.refine ? sizeText(*p.refine) : QStringLiteral("-");
    const QString slice = p.slice ? sizeText(*p.slice) : QStringLiteral("-");
    const QString ov = sizeText(p.overview) + (p.padToSquare ? QStringLiteral("*") : QString());
    std::printf("%-28s %-10s %-6s %-10s %-10s %-10s %6d %7d %8.2fx\n", qPrintable(label),
                p.policy.name().c_str(), qPrintable(grid), qPrintable(ov), qPrintable(refine),
                qPrintable(slice), p.sliceCount(), uhdlens::imagePositions(p, p.policy.defaultLayout()),
                p.downscaleFactor());
}

} // namespace

int runPlan(const QStringList &args)
{
    const QString cmd = QStringLiteral("plan");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Shows how each image (or size) is sliced: grid, overview, refined size, slice rectangles, visual tokens."));
    parser.addHelpOption();
    QCommandLineOption policyOpt(QStringLiteral("policy"), QStringLiteral("minicpmv (default), llava-uhd or llava15."),
                                 QStringLiteral("name"), QStringLiteral("minicpmv"));
    QCommandLineOption maxOpt(QStringLiteral("max-slices"), QStringLiteral("Upper bound on the slice count."),
                              QStringLiteral("N"));
    QCommandLineOption scaleOpt(QStringLiteral("scale"), QStringLiteral("Encoder resolution S (slices ~S^2)."),
                                QStringLiteral("S"));
    QCommandLineOption patchOpt(QStringLiteral("patch"), QStringLiteral("ViT patch size."), QStringLiteral("P"));
    QCommandLineOption neverOpt(QStringLiteral("never-split"), QStringLiteral("Encode the overview only."));
    QCommandLineOption jsonOpt(QStringLiteral("json"), QStringLiteral("One JSON object per input, one per line."));
    QCommandLineOption sizeOpt(QStringLiteral("size"), QStringLiteral("Plan an image size instead of a file."),
                               QStringLiteral("WxH"));
    parser.addOptions({policyOpt, maxOpt, scaleOpt, patchOpt, neverOpt, jsonOpt, sizeOpt});
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image files to plan."), QStringLiteral("[IMAGE...]"));
    if (const auto done = parseArguments(parser, args, cmd, /*positionalAllowed=*/true))
        return *done;

    auto policy = uhdlens::SlicePolicy::fromName(parser.value(policyOpt).toStdString());
    if (!policy)
        return usageError(cmd, QStringLiteral("unknown policy '%1' (choose minicpmv, llava-uhd or llava15)")
                                    .arg(parser.value(policyOpt)));
    auto intOption = [&](const QCommandLineOption &opt, int &target) -> bool {
        if (!parser.isSet(opt))
            return true;
        bool ok = false;
        const int v = parser.value(opt).toInt(&ok);
        if (!ok)
            return false;
        target = v;
        return true;
    };
    if (!intOption(maxOpt, policy->maxSlices))
        return usageError(cmd, QStringLiteral("--max-slices needs an integer"));
    if (!intOption(scaleOpt, policy->scale))
        return usageError(cmd, QStringLiteral("--scale needs an integer"));
    if (!intOption(patchOpt, policy->patch))
        return usageError(cmd, QStringLiteral("--patch needs an integer"));
    if (parser.isSet(neverOpt))
        policy->neverSplit = true;
    if (const std::string why = policy->validate(); !why.empty())
        return usageError(cmd, QString::fromStdString(why));

    // Inputs in command-line order: sizes and files may be mixed.
    struct Input { bool isSize; QString text; };
    std::vector<Input> inputs;
    {
        // QCommandLineParser groups option values; recover the original order from the raw arguments.
        int sizeIndex = 0;
        const QStringList sizes = parser.values(sizeOpt);
        const QStringList files = parser.positionalArguments();
        int fileIndex = 0;
        for (int i = 1; i < args.size(); ++i) {
            const QString &a = args.at(i);
            if (a == QLatin1String("--size") || a.startsWith(QLatin1String("--size="))) {
                if (sizeIndex < sizes.size())
                    inputs.push_back({true, sizes.at(sizeIndex++)});
                if (a == QLatin1String("--size"))
                    ++i;
            } else if (fileIndex < files.size() && a == files.at(fileIndex)) {
                inputs.push_back({false, files.at(fileIndex++)});
            } else if (a == QLatin1String("--policy") || a == QLatin1String("--max-slices") ||
                       a == QLatin1String("--scale") || a == QLatin1String("--patch")) {
                ++i; // skip the option's value
            }
        }
    }
    if (inputs.empty())
        return usageError(cmd, QStringLiteral("give at least one IMAGE or --size WxH"));

    const bool json = parser.isSet(jsonOpt);
    if (!json)
        printTableHeader();
    int status = 0;
    for (const Input &in : inputs) {
        uhdlens::Size size;
        if (in.isSize) {
            auto s = parseSize(in.text);
            if (!s)
                return usageError(cmd, QStringLiteral("--size '%1' is not WxH (e.g. 1920x1080)").arg(in.text));
            size = *s;
            if (const std::string why = uhdlens::validateSize(size); !why.empty()) {
                std::fprintf(stderr, "uhdlens-cli plan: %s\n", why.c_str());
                status = 1;
                continue;
            }
        } else {
            try {
                size = uhdlens::probeImage(in.text).size;
            } catch (const uhdlens::Error &e) {
                std::fprintf(stderr, "uhdlens-cli plan: %s\n", e.what());
                status = 1;
                continue;
            }
            if (const std::string why = uhdlens::validateSize(size); !why.empty()) {
                std::fprintf(stderr, "uhdlens-cli plan: %s: %s\n", qPrintable(in.text), why.c_str());
                status = 1;
                continue;
            }
        }
        const uhdlens::SlicePlan plan = uhdlens::planSlices(size, *policy);
        if (json) {
            nlohmann::json j = uhdlens::planToJson(plan);
            if (!in.isSize)
                j["file"] = in.text.toStdString();
            std::printf("%s\n", j.dump().c_str());
        } else {
            printTableRow(in.isSize ? in.text : in.text.section(QLatin1Char('/'), -1), plan);
        }
        std::fflush(stdout);
    }
    return status;
}

} // namespace cli
