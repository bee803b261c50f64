#include "imageloader.h"

#include "errortext.h"

#include <QFileInfo>

#include <algorithm>

namespace uhdlens::ui {

ImageLoader::ImageLoader(QObject *parent) : QObject(parent)
{
    m_pool.setMaxThreadCount(2);
}

ImageLoader::~ImageLoader()
{
    m_pool.waitForDone();
}

QImage ImageLoader::makePreview(const QImage &image)
{
    if (std::max(image.width(), image.height()) <= previewSide())
        return {};
    return image.scaled(previewSide(), previewSide(), Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

void ImageLoader::loadFile(const QString &path)
{
    ++m_pending;
    const quint64 sequence = m_nextSequence++;
    const ImageLimits limits = m_limits;
    const QString name = QFileInfo(path).fileName();
    m_pool.start([this, sequence, path, name, limits] {
        Result result{QImage(), QImage(), QString(), name, path};
        try {
            result.image = loadImage(path, limits);
            result.preview = makePreview(result.image);
        } catch (const Error &e) {
            result.error = errorText(e);
        } catch (const std::exception &e) {
            result.error = unexpectedErrorText(e.what());
        }
        // Delivered on the loader's (GUI) thread; the destructor waits for this task, so `this` is alive here.
        QMetaObject::invokeMethod(this, [this, sequence, result] { deliver(sequence, result); }, Qt::QueuedConnection);
    });
}

void ImageLoader::loadData(const QByteArray &bytes, const QString &name, const QByteArray &formatHint)
{
    ++m_pending;
    const quint64 sequence = m_nextSequence++;
    const ImageLimits limits = m_limits;
    m_pool.start([this, sequence, bytes, name, limits, formatHint] {
        Result result{QImage(), QImage(), QString(), name, QString()};
        try {
            result.image = loadImageData(bytes, limits, formatHint.isEmpty() ? nullptr : formatHint.constData());
            result.preview = makePreview(result.image);
        } catch (const Error &e) {
            result.error = errorText(e);
        } catch (const std::exception &e) {
            result.error = unexpectedErrorText(e.what());
        }
        QMetaObject::invokeMethod(this, [this, sequence, result] { deliver(sequence, result); }, Qt::QueuedConnection);
    });
}

void ImageLoader::deliver(quint64 sequence, Result result)
{
    m_done.emplace(sequence, std::move(result));
    while (!m_done.empty() && m_done.begin()->first == m_nextToDeliver) {
        const Result r = std::move(m_done.begin()->second);
        m_done.erase(m_done.begin());
        ++m_nextToDeliver;
        --m_pending;
        if (r.error.isEmpty())
            Q_EMIT loaded(r.image, r.preview, r.name, r.path);
        else
            Q_EMIT failed(r.path.isEmpty() ? r.name : r.path, r.error);
    }
}

} // namespace uhdlens::ui
