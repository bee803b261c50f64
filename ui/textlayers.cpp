#include "textlayers.h"

#include "errortext.h"

#include "uhdlens/errors.h"

#include <QThread>

#include <algorithm>

namespace uhdlens::ui {

TextLayers::TextLayers(QObject *parent) : QObject(parent) {}

TextLayers::~TextLayers()
{
    m_queue.clear();
    if (m_running)
        m_running->cancel = true;
    if (m_thread) {
        // Tesseract sees the flag within a few words, PP-OCR before each batch of six lines; the queued
        // result is dropped with us
        m_thread->wait();
        delete m_thread;
    }
}

bool TextLayers::isPending(int documentId) const
{
    if (m_running && m_running->documentId == documentId)
        return true;
    return std::any_of(m_queue.begin(), m_queue.end(),
                       [&](const auto &j) { return j->documentId == documentId; });
}

void TextLayers::request(int documentId, const QImage &image)
{
    if (m_done.contains(documentId) || isPending(documentId))
        return;
    auto job = std::make_shared<Job>();
    job->documentId = documentId;
    job->image = image; // implicitly shared: the document's pixels never change
    m_queue.push_back(std::move(job));
    if (!m_running)
        startNext();
}

void TextLayers::cancel(int documentId)
{
    const auto queued = std::find_if(m_queue.begin(), m_queue.end(),
                                     [&](const auto &j) { return j->documentId == documentId; });
    if (queued != m_queue.end()) {
        m_queue.erase(queued);
        Q_EMIT cancelled(documentId);
        return;
    }
    if (m_running && m_running->documentId == documentId)
        m_running->cancel = true; // cancelled() comes when the thread has stopped
}

void TextLayers::forget(int documentId)
{
    m_done.remove(documentId);
    cancel(documentId);
}

void TextLayers::startNext()
{
    if (m_running || m_queue.empty())
        return;
    m_running = m_queue.front();
    m_queue.pop_front();
    const std::shared_ptr<Job> job = m_running;
    const TextLayerOptions options = m_options;
    Q_EMIT started(job->documentId);
    m_thread = QThread::create([this, job, options] {
        TextLayerCallbacks callbacks;
        callbacks.cancel = &job->cancel;
        const int id = job->documentId;
        callbacks.progress = [this, id](int done, int total) {
            QMetaObject::invokeMethod(
                this, [this, id, done, total] { Q_EMIT progress(id, done, total); }, Qt::QueuedConnection);
        };
        std::shared_ptr<const TextLayer> layer;
        QString error;
        bool wasCancelled = false;
        try {
            layer = std::make_shared<const TextLayer>(recognizeText(job->image, options, callbacks));
        } catch (const Error &e) {
            wasCancelled = e.code() == ErrorCode::Cancelled;
            if (!wasCancelled)
                error = errorText(e);
        } catch (const std::exception &e) {
            error = unexpectedErrorText(e.what());
        }
        QMetaObject::invokeMethod(
            this, [this, job, layer, error, wasCancelled] { onJobEnded(job, layer, error, wasCancelled); },
            Qt::QueuedConnection);
    });
    m_thread->setObjectName(QStringLiteral("uhdlens-text-layer"));
    m_thread->start(QThread::LowPriority);
}

void TextLayers::onJobEnded(const std::shared_ptr<Job> &job, std::shared_ptr<const TextLayer> layer,
                            const QString &error, bool wasCancelled)
{
    // The thread posted this as its last act: joining it is immediate.
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_running.reset();
    const int id = job->documentId;
    if (wasCancelled || job->cancel)
        Q_EMIT cancelled(id);
    else if (layer) {
        m_done.insert(id, std::move(layer));
        Q_EMIT finished(id);
    } else
        Q_EMIT failed(id, error);
    startNext();
}

} // namespace uhdlens::ui
