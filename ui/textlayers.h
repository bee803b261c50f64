// UHD Lens UI — the text layers of the opened images (uhdlens/text_layer.h): recognised on a worker thread,
// one image at a time, with progress and cancel, and kept per document so each image is read once.
//
//     TextLayers layers;
//     connect(&layers, &TextLayers::finished, ...);          // (documentId): layer(documentId) is ready
//     layers.request(doc->id, doc->image);                   // no-op when cached or already queued
//     layers.cancel(doc->id);                                // -> cancelled(documentId)
//
// GUI thread only (the worker thread is private). Recognition runs on a QThread of its own, never on the GUI
// thread and never in a nested event loop; results come back as queued calls. The destructor cancels the
// running job and joins its thread (both engines check the cancel flag often, so this is quick). The engine
// is the options' (default: PP-OCR when its base weights are installed, else Tesseract); each layer says
// which ran (TextLayer::engine).
#pragma once

#include "uhdlens/text_layer.h"

#include <QHash>
#include <QImage>
#include <QObject>
#include <QString>

#include <atomic>
#include <deque>
#include <memory>

class QThread;

namespace uhdlens::ui {

class TextLayers : public QObject
{
    Q_OBJECT
public:
    explicit TextLayers(QObject *parent = nullptr);
    ~TextLayers() override;

    void setOptions(const TextLayerOptions &options) { m_options = options; } // for the next recognitions
    // Queues document `id`'s image (any format; copied) unless its layer is cached, running or queued.
    void request(int documentId, const QImage &image);
    // The recognised layer, or null while none is ready (not asked, queued, running, failed or cancelled).
    std::shared_ptr<const TextLayer> layer(int documentId) const { return m_done.value(documentId); }
    bool isPending(int documentId) const; // queued or running
    int runningDocument() const { return m_running ? m_running->documentId : 0; }
    // Stops document `id`'s recognition (running or queued): cancelled(id). Nothing else changes.
    void cancel(int documentId);
    // A closed document: its job stops, its layer is dropped.
    void forget(int documentId);

Q_SIGNALS:
    void started(int documentId);
    void progress(int documentId, int doneTiles, int totalTiles);
    void finished(int documentId);
    void failed(int documentId, const QString &message); // translated (errorText)
    void cancelled(int documentId);

private:
    struct Job
    {
        int documentId = 0;
        QImage image;
        std::atomic<bool> cancel{false};
    };

    void startNext();
    void onJobEnded(const std::shared_ptr<Job> &job, std::shared_ptr<const TextLayer> layer,
                    const QString &error, bool wasCancelled);

    TextLayerOptions m_options;
    QHash<int, std::shared_ptr<const TextLayer>> m_done;
    std::deque<std::shared_ptr<Job>> m_queue;
    std::shared_ptr<Job> m_running;
    QThread *m_thread = nullptr;
};

} // namespace uhdlens::ui
