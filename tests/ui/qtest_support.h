// Shared by the UI test executables (session tests, panel tests): planner rectangles, PNG bytes, a GUI-thread
// stall meter and the tiny random model made by `uhdlens-cli make-tiny` (once per process).
#pragma once

#include "uhdlens/slice_planner.h"

#include <QBuffer>
#include <QDebug>
#include <QElapsedTimer>
#include <QImage>
#include <QList>
#include <QProcess>
#include <QRect>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>

namespace uhdlens::uitest {

inline const QString kData = QStringLiteral(UHDLENS_TEST_DATA);

inline QList<QRect> plannerRects(Size size, const SlicePolicy &policy, QPoint origin = {})
{
    const SlicePlan plan = planSlices(size, policy);
    QList<QRect> rects;
    for (int i = 0; i < plan.sliceCount(); ++i) {
        const Rect r = plan.sliceInOriginal(i);
        rects.append(QRect(r.x, r.y, r.width, r.height).translated(origin));
    }
    return rects;
}

inline QByteArray pngBytes(const QImage &image)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return bytes;
}

// A tiny random uhd-paper model in `dir` (made once per process; empty on failure, with the CLI's error
// logged).
inline QString tinyModel(const QTemporaryDir &dir)
{
    static QString made;
    if (!made.isEmpty())
        return made;
    const QString out = dir.filePath(QStringLiteral("tiny-uhd-paper"));
    QProcess cli;
    cli.start(QStringLiteral(UHDLENS_CLI), {QStringLiteral("make-tiny"), QStringLiteral("--family"),
                                            QStringLiteral("uhd-paper"), QStringLiteral("--out"), out});
    if (!cli.waitForFinished(300000) || cli.exitCode() != 0) {
        qWarning() << cli.readAllStandardError();
        return {};
    }
    made = out;
    return made;
}

// Loads the model `folder` into the main window `w` and waits until it reports modelChanged(true). A template
// so that the session tests need not include the window's header.
template <class Window> bool loadModelAndWait(Window &w, const QString &folder)
{
    if (folder.isEmpty())
        return false;
    QSignalSpy modelSpy(&w, &Window::modelChanged);
    w.loadModel(folder);
    return modelSpy.wait(120000) && modelSpy.first().first().toBool();
}

// Records the longest gap between ticks of a fast GUI-thread timer: how long the event loop was blocked.
class StallMeter : public QObject
{
public:
    explicit StallMeter(QObject *parent = nullptr) : QObject(parent)
    {
        m_timer.setInterval(2);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            m_maxGapMs = std::max(m_maxGapMs, (now - m_last) / 1e6);
            m_last = now;
            ++m_ticks;
        });
    }
    void start()
    {
        m_clock.start();
        m_last = 0;
        m_maxGapMs = 0;
        m_ticks = 0;
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    double maxGapMs() const { return m_maxGapMs; }
    int ticks() const { return m_ticks; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    double m_maxGapMs = 0;
    int m_ticks = 0;
};

} // namespace uhdlens::uitest
