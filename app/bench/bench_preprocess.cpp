// uhdlens-bench preprocess [--quick] [--repeats N] [--threads N] [--policy minicpmv|llava-uhd|llava15]
//
// For a 1920x1080 screenshot, a 3840x2160 screenshot and an A4 page at 300 dpi (2480x3508), synthesised with
// QPainter and encoded to PNG in memory, times plan + resize + crop + normalise (prepareImages: everything
// from a decoded RGB888 image to the normalised float32 batch the encoder takes) and prints it as a ratio to
// decoding the same PNG bytes (loadImageData: PNG -> RGB888), both medians of --repeats runs in the same
// process after one warm-up. Goal (issue 2): ratio <= 1.0. A per-stage breakdown (pad to square, overview
// resize, refine resize, crop, normalise) shows where the time goes; the resizes are Pillow's 8-bit BICUBIC
// read straight from the RGB888 image (pillow_resample.h) and include the conversion of their result to
// float. --quick: quarter-size images, one repeat (a smoke run, not a timing).
#include "benchcommon.h"
#include "bench_preprocess.h"

#include "preprocess.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/runtime.h"
#include "uhdlens/slice_planner.h"

#include <QBuffer>
#include <QCommandLineParser>
#include <QFont>
#include <QLinearGradient>
#include <QPainter>
#include <QRadialGradient>

#include <cstdio>
#include <random>

namespace bench {

namespace {

const char *const kWords[] = {"image", "slice", "overview", "resolution", "token", "patch", "encoder", "model",
                              "native", "aspect", "ratio", "the", "of", "and", "a", "to", "with", "LLaVA-UHD",
                              "MiniCPM-V", "perceiver", "resampler", "grid", "row", "column", "pixel", "384",
                              "screenshot", "document", "page", "table", "figure", "2024", "accuracy"};

QString sentence(std::mt19937 &rng, int words)
{
    QString s;
    std::uniform_int_distribution<int> pick(0, int(std::size(kWords)) - 1);
    for (int i = 0; i < words; ++i)
        s += (i ? QStringLiteral(" ") : QString()) + QString::fromLatin1(kWords[pick(rng)]);
    return s;
}

// A desktop-application screenshot: title bar, sidebar list, text paragraphs, a dark code block, a bar chart and
// a photo-like gradient area. Everything scales with the width (1920 = scale 1).
QImage screenshot(int w, int h, unsigned seed)
{
    std::mt19937 rng(seed);
    const double s = w / 1920.0;
    QImage img(w, h, QImage::Format_RGB888);
    img.fill(QColor(245, 246, 248));
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(std::max(6, int(14 * s)));
    p.setFont(font);

    p.fillRect(QRectF(0, 0, w, 34 * s), QColor(45, 45, 48));
    p.setPen(QColor(230, 230, 230));
    p.drawText(QPointF(14 * s, 23 * s), QStringLiteral("UHD Lens — quarterly-report.pdf"));
    p.fillRect(QRectF(0, 34 * s, 270 * s, h), QColor(236, 238, 241));
    p.setPen(QColor(40, 40, 40));
    for (double y = 70 * s; y < h - 20 * s; y += 30 * s)
        p.drawText(QPointF(24 * s, y), sentence(rng, 3));

    const double x0 = 300 * s, colW = (w - x0 - 40 * s) / 2;
    double y = 80 * s;
    font.setPixelSize(std::max(8, int(26 * s)));
    p.setFont(font);
    p.drawText(QPointF(x0, y), QStringLiteral("Results at native resolution"));
    font.setPixelSize(std::max(6, int(15 * s)));
    p.setFont(font);
    y += 40 * s;
    for (int i = 0; i < 18 && y < h * 0.55; ++i, y += 22 * s)
        p.drawText(QPointF(x0, y), sentence(rng, 14));

    // Code block.
    const QRectF code(x0, h * 0.58, colW - 20 * s, h * 0.38);
    p.fillRect(code, QColor(30, 30, 30));
    const QColor codeColours[] = {QColor(86, 156, 214), QColor(206, 145, 120), QColor(181, 206, 168),
                                  QColor(212, 212, 212)};
    QFont mono(QStringLiteral("DejaVu Sans Mono"));
    mono.setPixelSize(std::max(6, int(14 * s)));
    p.setFont(mono);
    int line = 0;
    for (double cy = code.top() + 24 * s; cy < code.bottom() - 8 * s; cy += 20 * s, ++line) {
        p.setPen(codeColours[line % 4]);
        p.drawText(QPointF(code.left() + 16 * s, cy), QStringLiteral("auto plan = planSlices(size, policy); // ") +
                                                          sentence(rng, 3));
    }

    // Bar chart.
    const QRectF chart(x0 + colW, h * 0.58, colW, h * 0.38);
    p.fillRect(chart, Qt::white);
    p.setPen(QPen(QColor(180, 180, 180), std::max(1.0, s)));
    p.drawRect(chart);
    std::uniform_real_distribution<double> frac(0.15, 0.95);
    const QColor bars[] = {QColor(66, 133, 244), QColor(219, 68, 55), QColor(244, 180, 0), QColor(15, 157, 88)};
    for (int i = 0; i < 12; ++i) {
        const double bw = chart.width() / 14, bh = chart.height() * frac(rng);
        p.fillRect(QRectF(chart.left() + (i + 1) * bw, chart.bottom() - bh, bw * 0.7, bh), bars[i % 4]);
    }

    // Photo-like area (smooth gradients).
    const QRectF photo(x0 + colW, 70 * s, colW, h * 0.45);
    QLinearGradient sky(photo.topLeft(), photo.bottomLeft());
    sky.setColorAt(0, QColor(40, 90, 170));
    sky.setColorAt(0.6, QColor(250, 200, 150));
    sky.setColorAt(1, QColor(60, 110, 50));
    p.fillRect(photo, sky);
    QRadialGradient sun(photo.center() + QPointF(colW * 0.2, -photo.height() * 0.15), photo.height() * 0.2);
    sun.setColorAt(0, QColor(255, 250, 220));
    sun.setColorAt(1, QColor(255, 250, 220, 0));
    p.fillRect(photo, sun);
    return img;
}

// An A4 page at 300 dpi: heading, justified paragraphs (10 pt = 42 px), a ruled table and a figure.
QImage documentPage(int w, int h, unsigned seed)
{
    std::mt19937 rng(seed);
    const double s = w / 2480.0;
    QImage img(w, h, QImage::Format_RGB888);
    img.fill(Qt::white);
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    p.setPen(Qt::black);
    QFont font(QStringLiteral("DejaVu Serif"));
    font.setPixelSize(std::max(8, int(80 * s)));
    p.setFont(font);
    const double margin = 240 * s;
    double y = margin + 60 * s;
    p.drawText(QPointF(margin, y), QStringLiteral("Perceiving images at any aspect ratio"));
    font.setPixelSize(std::max(6, int(42 * s)));
    p.setFont(font);
    y += 120 * s;
    auto paragraph = [&](int lines) {
        for (int i = 0; i < lines && y < h - margin; ++i, y += 56 * s)
            p.drawText(QPointF(margin, y), sentence(rng, 16));
        y += 40 * s;
    };
    paragraph(14);
    paragraph(10);
    // Table.
    const double tw = w - 2 * margin, rowH = 64 * s;
    p.setPen(QPen(Qt::black, std::max(1.0, 3 * s)));
    for (int r = 0; r <= 8; ++r)
        p.drawLine(QPointF(margin, y + r * rowH), QPointF(margin + tw, y + r * rowH));
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 5; ++c)
            p.drawText(QPointF(margin + c * tw / 5 + 12 * s, y + r * rowH + 46 * s),
                       r == 0 ? QStringLiteral("Column %1").arg(c) : QString::number((r * 37 + c * 11) % 100 + 0.5));
    y += 9 * rowH + 40 * s;
    // Figure.
    const QRectF fig(margin + tw * 0.15, y, tw * 0.7, 700 * s);
    QLinearGradient g(fig.topLeft(), fig.bottomRight());
    g.setColorAt(0, QColor(230, 240, 255));
    g.setColorAt(1, QColor(40, 70, 140));
    p.fillRect(fig, g);
    y += fig.height() + 80 * s;
    paragraph(12);
    return img;
}

QByteArray encodePng(const QImage &img)
{
    QByteArray bytes;
    QBuffer buf(&bytes);
    buf.open(QIODevice::WriteOnly);
    img.save(&buf, "PNG");
    return bytes;
}

} // namespace

int runPreprocessBench(const QStringList &args)
{
    const QString cmd = QStringLiteral("preprocess");
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Times plan + resize + crop + normalise against PNG decoding."));
    parser.addHelpOption();
    QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small images, one repeat (smoke run)."));
    QCommandLineOption repeatsOpt(QStringLiteral("repeats"), QStringLiteral("Timed repeats (median)."),
                                  QStringLiteral("N"), QStringLiteral("7"));
    QCommandLineOption threadsOpt(QStringLiteral("threads"), QStringLiteral("Torch threads (default: all cores)."),
                                  QStringLiteral("N"));
    QCommandLineOption policyOpt(QStringLiteral("policy"), QStringLiteral("Slice policy (default minicpmv)."),
                                 QStringLiteral("name"), QStringLiteral("minicpmv"));
    parser.addOptions({quickOpt, repeatsOpt, threadsOpt, policyOpt});
    if (const auto done = parseArguments(parser, args, cmd))
        return *done;
    const bool quick = parser.isSet(quickOpt);
    bool ok = true;
    const int repeats = quick ? 1 : parser.value(repeatsOpt).toInt(&ok);
    if (!ok || repeats < 1)
        return usageError(cmd, QStringLiteral("--repeats needs a positive integer"));
    int threads = 0; // all cores
    if (parser.isSet(threadsOpt)) {
        threads = parser.value(threadsOpt).toInt(&ok);
        if (!ok || threads < 1)
            return usageError(cmd, QStringLiteral("--threads needs a positive integer"));
    }
    const auto policy = uhdlens::SlicePolicy::fromName(parser.value(policyOpt).toStdString());
    if (!policy)
        return usageError(cmd, QStringLiteral("unknown policy '%1'").arg(parser.value(policyOpt)));
    threads = uhdlens::setThreadCount(threads); // Debian's libtorch defaults to one thread

    struct Case
    {
        const char *name;
        QImage image;
    };
    const int div = quick ? 4 : 1;
    std::vector<Case> cases;
    cases.push_back({"screenshot 1920x1080", screenshot(1920 / div, 1080 / div, 1)});
    cases.push_back({"screenshot 3840x2160", screenshot(3840 / div, 2160 / div, 2)});
    cases.push_back({"A4 page 300 dpi", documentPage(2480 / div, 3508 / div, 3)});

    std::printf("uhdlens-bench preprocess: policy %s, %d torch threads, median of %d%s\n", policy->name().c_str(),
                threads, repeats, quick ? " (--quick: quarter-size images, not a timing)" : "");
    std::printf("%-22s %-10s %-6s %8s %9s %14s %7s   %s\n", "image", "size", "grid", "png KiB", "decode ms",
                "preprocess ms", "ratio", "breakdown ms: pad / overview / refine / crop / normalise");
    const uhdlens::PreprocessOptions options; // float32, CPU, MiniCPM-V's 0.5/0.5
    bool allMet = true;
    try {
        for (const Case &c : cases) {
            const QByteArray png = encodePng(c.image);
            QImage decoded;
            const double decodeMs = medianMs(repeats, [&] { decoded = uhdlens::loadImageData(png); });
            if (decoded.size() != c.image.size())
                throw uhdlens::Error(uhdlens::ErrorCode::Internal, "decoded size differs from the encoded image");

            uhdlens::PreparedImages prepared;
            uhdlens::SlicePlan plan;
            const double prepMs = medianMs(repeats, [&] {
                plan = uhdlens::planSlices({decoded.width(), decoded.height()}, *policy);
                prepared = uhdlens::prepareImages(decoded, plan, options);
            });
            if (prepared.count() != 1 + plan.sliceCount())
                throw uhdlens::Error(uhdlens::ErrorCode::Internal, "prepareImages returned the wrong batch");

            // Stage breakdown (same functions prepareImages composes; one more median each).
            torch::InferenceMode guard;
            torch::Tensor ov, ref, sl;
            QImage x = decoded;
            double tPad = 0;
            if (plan.padToSquare)
                tPad =
                    medianMs(repeats, [&] { x = uhdlens::padToSquare(decoded, uhdlens::kClipMeanColour); });
            const double tOv =
                medianMs(repeats, [&] { ov = uhdlens::preprocess::resizeImage(x, plan.overview); });
            double tRef = 0, tCrop = 0, tNorm = 0;
            if (plan.grid) {
                tRef = medianMs(repeats, [&] { ref = uhdlens::preprocess::resizeImage(x, *plan.refine); });
                tCrop = medianMs(repeats, [&] { sl = uhdlens::preprocess::cropSlices(ref, plan); });
                tNorm = medianMs(repeats, [&] { (void)uhdlens::preprocess::normalize(sl, options.norm); });
            }
            tNorm += medianMs(repeats, [&] { (void)uhdlens::preprocess::normalize(ov, options.norm); });

            const double ratio = prepMs / decodeMs;
            allMet = allMet && ratio <= 1.0;
            const QString grid =
                plan.grid ? QStringLiteral("%1x%2").arg(plan.grid->cols).arg(plan.grid->rows) : QStringLiteral("-");
            std::printf("%-22s %-10s %-6s %8.0f %9.1f %14.1f %6.2fx   %.1f / %.1f / %.1f / %.1f / %.1f\n",
                        c.name,
                        qPrintable(QStringLiteral("%1x%2").arg(decoded.width()).arg(decoded.height())),
                        qPrintable(grid), png.size() / 1024.0, decodeMs, prepMs, ratio, tPad, tOv, tRef,
                        tCrop, tNorm);
            std::fflush(stdout);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "uhdlens-bench preprocess: %s\n", e.what());
        return 1;
    }
    std::printf("goal: preprocess <= 1.0x decode on every image: %s%s\n", allMet ? "met" : "NOT met",
                quick ? " (quick run; timings not meaningful)" : "");
    std::printf("peak RSS: %.0f MiB\n", peakRssMiB());
    return 0;
}

} // namespace bench
