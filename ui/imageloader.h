// UHD Lens UI — decodes images off the GUI thread (uhdlens::loadImage in a thread pool).
#pragma once

#include "uhdlens/image_io.h"

#include <QImage>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <map>

namespace uhdlens::ui {

class ImageLoader : public QObject
{
    Q_OBJECT
public:
    explicit ImageLoader(QObject *parent = nullptr);
    ~ImageLoader() override; // waits for running decodes; their results are then dropped

    void setLimits(const ImageLimits &limits) { m_limits = limits; }
    // Starts decoding; exactly one of loaded()/failed() follows (queued to this object's thread). Results are
    // delivered in the order the loads were started, so several dropped files open in their given order.
    void loadFile(const QString &path);
    void loadData(const QByteArray &bytes, const QString &name, const QByteArray &formatHint = {});
    int pending() const { return m_pending; }
    static int previewSide() { return 2048; }
    // The preview for `image` (null when it is no larger than previewSide()); thread-safe.
    static QImage makePreview(const QImage &image);

Q_SIGNALS:
    // `preview` is the image scaled to at most previewSide() on its long side (smooth), made off-thread so that
    // showing a huge image never scales or converts it on the GUI thread; null when the image is small.
    void loaded(const QImage &image, const QImage &preview, const QString &name, const QString &path);
    void failed(const QString &name, const QString &message);

private:
    struct Result
    {
        QImage image;
        QImage preview;
        QString error;
        QString name;
        QString path;
    };
    void deliver(quint64 sequence, Result result);

    ImageLimits m_limits;
    quint64 m_nextSequence = 0;
    quint64 m_nextToDeliver = 0;
    std::map<quint64, Result> m_done; // finished out of order, waiting for earlier ones
    QThreadPool m_pool;
    int m_pending = 0;
};

} // namespace uhdlens::ui
