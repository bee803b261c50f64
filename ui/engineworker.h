// UHD Lens UI — the engine on its own thread.
//
// EngineWorker is a QObject that lives in a dedicated QThread (EngineThread starts it). The GUI talks to it
// only through queued slot calls and queued signals, so a model load or a generation never blocks the GUI
// thread. Requests queue in the worker's event loop and run one at a time, in order.
//
// Cancellation is the exception to "only queued calls": cancel() and cancelAll() are thread-safe and may be
// called from the GUI thread at any moment. cancel(id) stops one request: if it runs, through the atomic flag
// that AskCallbacks::cancel points to (checked between slices and tokens); if it waits, it finishes at once
// when its turn comes; the others run on. cancelAll() does that for every request issued so far. Either way
// the request ends with finished(id, result with cancelled = true). A model switch is cancelAll() +
// loadModel(): the running request stops, queued ones drop, then the load runs.
//
// A batch run (runBatch, uhdlens/batch.h) is one request too: it takes its id from nextRequestId(), runs the
// images one after the other with the loaded model, and cancel(id) stops it inside the current image (which
// gets no record, so the output file stays a valid file of complete records). Questions asked meanwhile wait.
#pragma once

#include "uhdlens/batch.h"
#include "uhdlens/engine.h"
#include "uhdlens/text_layer.h"

#include <QImage>
#include <QMetaType>
#include <QMutex>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <utility>

// Declared before the worker's signals use it (queued connections copy it).
Q_DECLARE_METATYPE(uhdlens::batch::Record)

namespace uhdlens::ui {

struct AskRequest
{
    quint64 id = 0;
    int documentId = 0;
    int variant = 0;          // 0: the document's conversation; 1: its A/B baseline conversation
    QImage image;             // Format_RGB888: the image or the selected region
    QString imageId;          // names `image` (document and region): the engine never hashes the pixels
    SlicePlan plan;           // the plan made for `image` (the one shown, or the A/B baseline's)
    QString question;
    GenerationSettings settings;
    bool restartContext = false; // regenerate: forget earlier turns, ask again with the same image tokens
    // The image's text for the model (Conversation::ask's imageText): `imageText` when the session had it
    // ready, else with `recognizeText` the engine thread recognises `image` first (uhdlens/text_layer.h;
    // cached here by `imageId`, cancelled with the request).
    QString imageText;
    bool recognizeText = false;
    TextLanguages textLanguages = TextLanguages::English;
};

// A batch run over files and folders (the app's Batch dialog).
struct BatchRequest
{
    quint64 id = 0;
    QStringList paths;                 // image files and folders (folders recursively, images by content)
    QString outPath;                   // .jsonl | .csv | .md (batch::formatForPath); created or replaced
    QString question;                  // asked about every image, unless `transcribe`
    bool transcribe = false;           // ask the loaded model's family transcription prompt instead
    std::optional<SlicePolicy> policy; // nullopt: the model's own slicing
    int maxSlices = -1; // as recorded in the file (RunSettings::maxSlices), -1: the policy's own
    GenerationSettings settings;
};

class EngineWorker : public QObject
{
    Q_OBJECT
public:
    explicit EngineWorker(QObject *parent = nullptr);
    ~EngineWorker() override;

    // Thread-safe: a fresh id for a request the caller is about to queue.
    quint64 nextRequestId() { return ++m_lastIssued; }
    // Thread-safe: stop request `id` (running or queued); the others go on.
    void cancel(quint64 id);
    // Thread-safe: stop the running request and drop every request issued so far.
    void cancelAll();
    // "No model is loaded. …": the answer to a question asked without a model (here and in the session).
    static QString noModelText();
    // Thread-safe: whether a model is loaded (for UI hints only; may change right after).
    bool hasModel() const { return m_hasModel.load(); }

public Q_SLOTS:
    void loadModel(const uhdlens::LoadOptions &options);
    // Copies `source` to `target`, converting its pickle weights to safetensors (uhdlens/convert.h); runs
    // here, on the engine thread, and answers with modelConverted or conversionFailed.
    void convertModel(const QString &source, const QString &target);
    void unloadModel();
    void ask(const uhdlens::ui::AskRequest &request);
    void forgetDocument(int documentId);
    // Runs a batch with the loaded model: batchStarted, then per image batchImageStarted and batchRecord
    // (after the record is in the file), then batchFinished; batchFailed when it cannot start (no model, no
    // image, the output cannot be written) or a write fails midway (the records before stay in the file).
    void runBatch(const uhdlens::ui::BatchRequest &request);

Q_SIGNALS:
    void loadProgress(double fraction, const QString &stage);
    void modelLoaded(const uhdlens::ModelInfo &info);
    void modelUnloaded();
    void modelFailed(const QString &message);
    // The load failed with Error(PickleWeights): `file` is the pickle weight file, `message` the readable
    // error.
    void modelNeedsConversion(const QString &folder, const QString &file, const QString &message);
    void conversionProgress(double fraction, const QString &what);
    void modelConverted(const QString &target, const QString &summary);
    void conversionFailed(const QString &message);
    void started(quint64 requestId);
    void planReady(quint64 requestId, const uhdlens::SlicePlan &plan);
    void sliceEncoded(quint64 requestId, int index, int total, double ms);
    void token(quint64 requestId, const QString &piece);
    void finished(quint64 requestId, const uhdlens::AskResult &result);
    void failed(quint64 requestId, const QString &message);
    void batchStarted(quint64 requestId, int total, int skippedNonImages, const QString &question);
    void batchImageStarted(quint64 requestId, int index, const QString &path);
    void batchRecord(quint64 requestId, int index, const uhdlens::batch::Record &record);
    void batchFinished(quint64 requestId, int written, int failed, bool interrupted);
    void batchFailed(quint64 requestId, const QString &message);

private:
    bool isCancelled(quint64 id) const;
    // Marks `id` as the running request; false (and the request is over) when it was cancelled while waiting.
    bool beginRequest(quint64 id);
    void runRequest(const uhdlens::ui::AskRequest &request);
    void endRequest(quint64 id);

    std::shared_ptr<const Model> m_model;
    std::map<std::pair<int, int>, std::unique_ptr<Conversation>> m_conversations;
    // Prompt text recognised here (AskRequest::recognizeText) by image id and languages, newest last; a few.
    struct RecognisedText
    {
        int documentId = 0;
        QString key; // image id + languages
        std::string promptText;
    };
    std::deque<RecognisedText> m_imageTexts;
    std::string imageTextFor(const AskRequest &request);
    std::atomic<quint64> m_lastIssued{0};
    std::atomic<quint64> m_cancelUpTo{0};
    std::atomic<quint64> m_running{0};        // the request ask() is running, 0: none
    std::atomic<bool> m_cancelCurrent{false}; // AskCallbacks::cancel of the running request
    mutable QMutex m_cancelMutex;
    std::set<quint64> m_cancelled; // cancelled one by one (pruned as requests end, in id order)
    std::atomic<bool> m_hasModel{false};
};

// Owns the worker thread; stops it (cancelling any generation first) on destruction.
class EngineThread : public QObject
{
    Q_OBJECT
public:
    explicit EngineThread(QObject *parent = nullptr);
    ~EngineThread() override;
    EngineWorker *worker() const { return m_worker; }

private:
    QThread m_thread;
    EngineWorker *m_worker = nullptr;
};

void registerEngineMetaTypes();

} // namespace uhdlens::ui

Q_DECLARE_METATYPE(uhdlens::LoadOptions)
Q_DECLARE_METATYPE(uhdlens::ModelInfo)
Q_DECLARE_METATYPE(uhdlens::SlicePlan)
Q_DECLARE_METATYPE(uhdlens::AskResult)
Q_DECLARE_METATYPE(uhdlens::ui::AskRequest)
Q_DECLARE_METATYPE(uhdlens::ui::BatchRequest)
