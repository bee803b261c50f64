#include "engineworker.h"

#include "errortext.h"

#include "uhdlens/convert.h"
#include "uhdlens/runtime.h"

#include <QElapsedTimer>

namespace uhdlens::ui {

void registerEngineMetaTypes()
{
    qRegisterMetaType<uhdlens::LoadOptions>();
    qRegisterMetaType<uhdlens::ModelInfo>();
    qRegisterMetaType<uhdlens::SlicePlan>();
    qRegisterMetaType<uhdlens::AskResult>();
    qRegisterMetaType<uhdlens::ui::AskRequest>();
    qRegisterMetaType<uhdlens::ui::BatchRequest>();
    qRegisterMetaType<uhdlens::batch::Record>();
}

EngineWorker::EngineWorker(QObject *parent) : QObject(parent)
{
}

EngineWorker::~EngineWorker() = default;

QString EngineWorker::noModelText()
{
    return tr("No model is loaded. Open a model folder (Model > Open Model Folder) to ask questions.");
}

void EngineWorker::cancel(quint64 id)
{
    // Same order as cancelAll(): first mark the id, then raise the flag if it is the running one. ask()
    // stores m_running before it re-checks the id, so either it sees the mark or this sees it running.
    {
        QMutexLocker lock(&m_cancelMutex);
        m_cancelled.insert(id);
    }
    if (m_running.load() == id)
        m_cancelCurrent.store(true);
}

bool EngineWorker::isCancelled(quint64 id) const
{
    if (id <= m_cancelUpTo.load())
        return true;
    QMutexLocker lock(&m_cancelMutex);
    return m_cancelled.count(id) > 0;
}

void EngineWorker::endRequest(quint64 id)
{
    m_running.store(0);
    // Requests run in id order, so no mark at or below `id` can matter any more.
    QMutexLocker lock(&m_cancelMutex);
    m_cancelled.erase(m_cancelled.begin(), m_cancelled.upper_bound(id));
}

void EngineWorker::cancelAll()
{
    // Order matters: first mark every issued id, then raise the flag; ask() re-checks the id after it resets the
    // flag for a new request, so a cancel that lands between the two is never lost.
    m_cancelUpTo.store(m_lastIssued.load());
    m_cancelCurrent.store(true);
}

void EngineWorker::loadModel(const uhdlens::LoadOptions &options)
{
    m_conversations.clear(); // conversations hold the old model; drop them before loading the new one
    m_model.reset();
    m_hasModel.store(false);
    try {
        auto model = Model::load(options, [this](double fraction, const std::string &stage) {
            Q_EMIT loadProgress(fraction, QString::fromStdString(stage));
        });
        m_model = std::move(model);
        m_hasModel.store(true);
        Q_EMIT modelLoaded(m_model->info());
    } catch (const Error &e) {
        if (e.code() == ErrorCode::PickleWeights)
            Q_EMIT modelNeedsConversion(QString::fromStdString(options.modelDir),
                                        QString::fromStdString(e.subject()), errorText(e));
        else
            Q_EMIT modelFailed(errorText(e));
    } catch (const std::exception &e) {
        Q_EMIT modelFailed(unexpectedErrorText(e.what()));
    }
}

void EngineWorker::convertModel(const QString &source, const QString &target)
{
    try {
        const ConvertReport r = convertModelFolder(
            source.toStdString(), target.toStdString(), [this](double f, const std::string &what) {
                Q_EMIT conversionProgress(f, QString::fromStdString(what));
            });
        QStringList lines;
        for (const auto &c : r.converted)
            lines << tr("%1 → %2 (%n tensor(s))", nullptr, static_cast<int>(c.tensors))
                         .arg(QString::fromStdString(c.source), QString::fromStdString(c.target));
        Q_EMIT modelConverted(QString::fromStdString(r.outDir), lines.join(QLatin1Char('\n')));
    } catch (const Error &e) {
        Q_EMIT conversionFailed(errorText(e));
    } catch (const std::exception &e) {
        Q_EMIT conversionFailed(unexpectedErrorText(e.what()));
    }
}

void EngineWorker::unloadModel()
{
    m_conversations.clear();
    m_model.reset();
    m_hasModel.store(false);
    releaseFreeMemory(); // the model's buffers and every conversation's caches just went
    Q_EMIT modelUnloaded();
}

void EngineWorker::forgetDocument(int documentId)
{
    m_conversations.erase({documentId, 0});
    m_conversations.erase({documentId, 1});
    std::erase_if(m_imageTexts, [documentId](const RecognisedText &r) { return r.documentId == documentId; });
}

bool EngineWorker::beginRequest(quint64 id)
{
    if (isCancelled(id)) {
        endRequest(id);
        return false;
    }
    m_cancelCurrent.store(false);
    m_running.store(id);
    if (isCancelled(id)) // a cancel between the first check and the reset
        m_cancelCurrent.store(true);
    return true;
}

void EngineWorker::ask(const uhdlens::ui::AskRequest &request)
{
    const quint64 id = request.id;
    if (!beginRequest(id)) {
        AskResult result;
        result.cancelled = true;
        result.stopReason = uhdlens::StopReason::Cancelled;
        Q_EMIT finished(id, result);
        return;
    }
    Q_EMIT started(id);
    if (!m_model) {
        endRequest(id);
        Q_EMIT failed(id, noModelText());
        return;
    }
    runRequest(request);
    endRequest(id);
    // Idle (no later request issued): give the heap's free pages back while the user reads the answer; a
    // burst of queued questions keeps them (uhdlens/runtime.h, DECISIONS.md "Soak").
    if (m_lastIssued.load() == id)
        releaseFreeMemory();
}

void EngineWorker::runRequest(const uhdlens::ui::AskRequest &request)
{
    const quint64 id = request.id;
    try {
        auto &slot = m_conversations[{request.documentId, request.variant}];
        if (!slot)
            slot = std::make_unique<Conversation>(m_model);
        Conversation &chat = *slot;
        chat.setImage(request.image, request.plan, request.imageId.toStdString());
        if (request.restartContext)
            chat.clearHistory();
        Q_EMIT planReady(id, chat.plan());

        AskCallbacks callbacks;
        callbacks.cancel = &m_cancelCurrent;
        callbacks.sliceEncoded = [this, id](int index, int total, double ms) {
            Q_EMIT sliceEncoded(id, index, total, ms);
        };
        callbacks.token = [this, id](const std::string &piece) { Q_EMIT token(id, QString::fromStdString(piece)); };
        const std::string imageText = request.imageText.isEmpty() && request.recognizeText
                                          ? imageTextFor(request)
                                          : request.imageText.toStdString();
        AskResult result = chat.ask(request.question.toStdString(), request.settings, callbacks, imageText);
        Q_EMIT finished(id, result);
    } catch (const Error &e) {
        if (e.code() == ErrorCode::Cancelled) { // stopped while reading the image's text
            AskResult result;
            result.cancelled = true;
            result.stopReason = StopReason::Cancelled;
            Q_EMIT finished(id, result);
            return;
        }
        Q_EMIT failed(id, errorText(e));
    } catch (const std::exception &e) {
        Q_EMIT failed(id, unexpectedErrorText(e.what()));
    }
}

std::string EngineWorker::imageTextFor(const AskRequest &request)
{
    const QString key =
        request.imageId + QLatin1Char('|') + QString::fromStdString(nameOf(request.textLanguages));
    for (const RecognisedText &r : m_imageTexts)
        if (r.documentId == request.documentId && r.key == key)
            return r.promptText;
    TextLayerOptions options;
    options.languages = request.textLanguages;
    TextLayerCallbacks callbacks;
    callbacks.cancel = &m_cancelCurrent; // throws Error(Cancelled), answered as a cancelled request
    std::string text = recognizeText(request.image, options, callbacks).promptText();
    m_imageTexts.push_back({request.documentId, key, text});
    constexpr size_t kKept = 8;
    if (m_imageTexts.size() > kKept)
        m_imageTexts.pop_front();
    return text;
}

void EngineWorker::runBatch(const uhdlens::ui::BatchRequest &request)
{
    namespace batch = uhdlens::batch;
    const quint64 id = request.id;
    if (!beginRequest(id)) {
        Q_EMIT batchFinished(id, 0, 0, true);
        return;
    }
    if (!m_model) {
        endRequest(id);
        Q_EMIT batchFailed(id, noModelText());
        return;
    }
    try {
        const std::string outPath = request.outPath.toStdString();
        const std::optional<batch::Format> format = batch::formatForPath(outPath);
        if (!format) {
            endRequest(id);
            Q_EMIT batchFailed(
                id,
                tr("Cannot tell the output format of %1: name it .jsonl, .csv or .md.").arg(request.outPath));
            return;
        }
        // Walking big folders reads the first bytes of every file: here, off the GUI thread.
        std::vector<std::string> paths;
        for (const QString &p : request.paths)
            paths.push_back(p.toStdString());
        batch::InputScan scan = batch::collectInputs(paths);
        if (scan.inputs.empty()) {
            endRequest(id);
            Q_EMIT batchFailed(id,
                               tr("No image found in the given files and folders (%n other file(s) skipped).",
                                  nullptr, scan.skippedNonImages));
            return;
        }
        const ModelInfo &info = m_model->info();
        batch::RunSettings run;
        run.model = info.modelDir;
        run.transcribe = request.transcribe;
        run.question = request.transcribe ? transcriptionPrompt(info.family) : request.question.toStdString();
        run.policy = request.policy ? request.policy->name() : std::string();
        run.maxSlices = request.maxSlices;
        run.maxNewTokens = request.settings.maxNewTokens;
        auto writer = batch::Writer::create(outPath, *format, run);
        Q_EMIT batchStarted(id, static_cast<int>(scan.inputs.size()), scan.skippedNonImages,
                            QString::fromStdString(run.question));
        batch::RunCallbacks callbacks;
        callbacks.started = [this, id](std::size_t index, const batch::Input &in) {
            Q_EMIT batchImageStarted(id, static_cast<int>(index), QString::fromStdString(in.path));
        };
        callbacks.written = [this, id](std::size_t index, const batch::Record &record) {
            Q_EMIT batchRecord(id, static_cast<int>(index), record);
        };
        callbacks.cancel = &m_cancelCurrent;
        const batch::Job job{run.question, request.policy, request.settings};
        const batch::RunSummary summary = batch::run(m_model, scan.inputs, job, *writer, callbacks);
        endRequest(id);
        Q_EMIT batchFinished(id, summary.written, summary.failed, summary.interrupted);
    } catch (const Error &e) {
        endRequest(id);
        Q_EMIT batchFailed(id, errorText(e));
    } catch (const std::exception &e) {
        endRequest(id);
        Q_EMIT batchFailed(id, unexpectedErrorText(e.what()));
    }
}

EngineThread::EngineThread(QObject *parent) : QObject(parent)
{
    registerEngineMetaTypes();
    m_worker = new EngineWorker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.setObjectName(QStringLiteral("uhdlens-engine"));
    m_thread.start();
}

EngineThread::~EngineThread()
{
    m_worker->cancelAll();
    m_thread.quit(); // queued requests after the running one are dropped by the cancel above
    m_thread.wait();
}

} // namespace uhdlens::ui
