#include "session.h"

#include "appsettings.h"
#include "conversationexport.h"
#include "engineworker.h"
#include "modellist.h"
#include "safesave.h"
#include "textlayers.h"

#include "uhdlens/batch.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QTimer>

#include <algorithm>
#include <numeric>

namespace uhdlens::ui {

Session::Session(AppSettings &settings, QObject *parent) : QObject(parent), m_settings(settings)
{
    m_engine = new EngineThread(this);
    m_textLayers = new TextLayers(this);
    m_progressTimer = new QTimer(this);
    m_progressTimer->setSingleShot(true);
    m_progressTimer->setInterval(100);
    connect(m_progressTimer, &QTimer::timeout, this, &Session::updateAnswerProgress);

    EngineWorker *worker = engine();
    connect(worker, &EngineWorker::modelLoaded, this, &Session::onModelLoaded);
    connect(worker, &EngineWorker::modelFailed, this, &Session::onModelFailed);
    connect(worker, &EngineWorker::modelNeedsConversion, this,
            [this](const QString &folder, const QString &file, const QString &message) {
                // The engine never unpickles; the window asks whether to convert (convertModel /
                // declineConversion).
                m_modelLoading = false;
                Q_EMIT progressHidden();
                Q_EMIT modelNeedsConversion(folder, file, message);
            });
    connect(worker, &EngineWorker::modelConverted, this,
            [this](const QString &folder, const QString &summary) {
                Q_EMIT modelConverted(folder, summary);
                loadModel(folder);
            });
    connect(worker, &EngineWorker::conversionProgress, this, [this](double fraction, const QString &what) {
        Q_EMIT progressChanged(tr("Converting weights: %1 (%2%)").arg(what).arg(qRound(fraction * 100)),
                               fraction);
    });
    connect(worker, &EngineWorker::conversionFailed, this, [this](const QString &message) {
        m_modelLoading = false;
        Q_EMIT progressHidden();
        Q_EMIT conversionFailed(m_modelFolder, message);
    });
    connect(worker, &EngineWorker::loadProgress, this, [this](double fraction, const QString &stage) {
        Q_EMIT loadProgress(fraction, stage);
        Q_EMIT progressChanged(tr("Loading model: %1 (%2%)").arg(stage).arg(qRound(fraction * 100)),
                               fraction);
    });
    connect(worker, &EngineWorker::modelUnloaded, this, [this] {
        m_modelInfo.reset();
        m_settings.forgetModelFolder(); // start without a model next time too
        Q_EMIT modelUnloaded();
        replan();
    });
    connect(worker, &EngineWorker::started, this, &Session::onStarted);
    connect(worker, &EngineWorker::planReady, this, &Session::onPlanReady);
    connect(worker, &EngineWorker::sliceEncoded, this, &Session::onSliceEncoded);
    connect(worker, &EngineWorker::token, this, &Session::onToken);
    connect(worker, &EngineWorker::finished, this, &Session::onFinished);
    connect(worker, &EngineWorker::failed, this, &Session::onFailed);
}

Session::~Session() = default; // m_engine is a child: its destructor cancels and joins

EngineWorker *Session::engine() const
{
    return m_engine->worker();
}

// ------------------------------------------------------------------------------------------------------
// images

int Session::addDocument(const QImage &rgb, const QString &title, const QString &path, const QImage &preview)
{
    auto doc = std::make_unique<ImageDocument>();
    doc->id = m_nextDocumentId++;
    doc->title = title;
    doc->path = path;
    doc->image = rgb;
    doc->preview = preview;
    const int id = doc->id;
    m_documents.push_back(std::move(doc));
    return id;
}

void Session::closeDocument(int id)
{
    if (!document(id))
        return;
    // Its answers would go nowhere: cancel them (and only them; answers about other images run on).
    for (quint64 request : requestsOf(id))
        cancelRequest(request);
    EngineWorker *w = engine();
    QMetaObject::invokeMethod(
        w, [w, id] { w->forgetDocument(id); }, Qt::QueuedConnection);
    m_textLayers->forget(id);
    m_documents.erase(
        std::remove_if(m_documents.begin(), m_documents.end(), [id](const auto &d) { return d->id == id; }),
        m_documents.end());
    if (m_currentId == id) {
        m_currentId = 0;
        replan();
    }
}

ImageDocument *Session::document(int id) const
{
    for (const auto &doc : m_documents) {
        if (doc->id == id)
            return doc.get();
    }
    return nullptr;
}

void Session::setCurrentDocument(int id)
{
    m_currentId = document(id) ? id : 0;
    replan();
}

ImageDocument *Session::currentDocument() const
{
    return document(m_currentId);
}

void Session::setRegion(const std::optional<QRect> &region)
{
    ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    doc->region = region ? std::optional<QRect>(region->intersected(doc->image.rect())) : std::nullopt;
    if (doc->region && doc->region->isEmpty())
        doc->region.reset();
    replan();
}

void Session::clearConversation()
{
    ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    doc->turns.clear();
    const int id = doc->id;
    EngineWorker *w = engine();
    QMetaObject::invokeMethod(
        w, [w, id] { w->forgetDocument(id); }, Qt::QueuedConnection);
    Q_EMIT transcriptChanged(id, true);
}

// ---------------------------------------------------------------------------------------------- slicing,
// plan

void Session::setSlicing(const QString &policyName, int maxSlices)
{
    if (policyName == m_policyName && maxSlices == m_maxSlices)
        return;
    m_policyName = policyName;
    m_maxSlices = maxSlices;
    replan();
}

SlicePolicy Session::effectivePolicy() const
{
    SlicePolicy policy = SlicePolicy::fromName(m_policyName.toStdString()).value_or(SlicePolicy::minicpmv());
    // A loaded model's own slicing (its scale and patch) wins for the policy it was trained with.
    if (m_modelInfo && m_modelInfo->policy.kind == policy.kind)
        policy = m_modelInfo->policy;
    if (policy.kind != PolicyKind::Llava15)
        policy.maxSlices = m_maxSlices;
    return policy;
}

TokenLayout Session::layoutFor(const SlicePolicy &policy) const
{
    // With a model, its resampler decides the tokens per encoded image whatever the slicing; without one,
    // each policy counts with the layout of the model it comes from.
    if (m_modelInfo)
        return m_modelInfo->layout;
    return policy.defaultLayout();
}

void Session::replan()
{
    const ImageDocument *doc = currentDocument();
    if (doc) {
        const QRect area = doc->subjectRect();
        m_plan = planSlices({area.width(), area.height()}, effectivePolicy());
    } else {
        m_plan = SlicePlan{};
    }
    Q_EMIT planChanged();
}

// -------------------------------------------------------------------------------------------------------
// model

void Session::loadModel(const QString &folder, const QString &mmproj)
{
    engine()->cancelAll();
    stopWaiting(m_requests.keys());
    m_modelLoading = true;
    m_modelFolder = folder;
    m_modelMmproj = mmproj;
    Q_EMIT modelLoadStarted(folder);
    Q_EMIT progressChanged(tr("Loading model…"), 0.0);
    LoadOptions options;
    options.modelDir = folder.toStdString();
    options.mmproj = mmproj.toStdString();
    // The settings' values are the name tables' spellings (settingsdialog.cpp); anything else stored means auto.
    options.device.kind = fromName<Device>(m_device.toStdString()).value_or(Device::Auto);
    options.dtype = fromName<Dtype>(m_dtype.toStdString()).value_or(Dtype::Auto);
    EngineWorker *w = engine();
    QMetaObject::invokeMethod(
        w, [w, options] { w->loadModel(options); }, Qt::QueuedConnection);
}

void Session::unloadModel()
{
    engine()->cancelAll();
    stopWaiting(m_requests.keys());
    EngineWorker *w = engine();
    QMetaObject::invokeMethod(
        w, [w] { w->unloadModel(); }, Qt::QueuedConnection);
}

void Session::convertModel(const QString &folder, const QString &target)
{
    m_modelLoading = true;
    Q_EMIT progressChanged(tr("Converting weights…"), 0.0);
    EngineWorker *w = engine();
    QMetaObject::invokeMethod(
        w, [w, folder, target] { w->convertModel(folder, target); }, Qt::QueuedConnection);
}

void Session::declineConversion(const QString &message)
{
    onModelFailed(message);
}

void Session::onModelLoaded(const ModelInfo &info)
{
    m_modelLoading = false;
    m_modelInfo = info;
    Q_EMIT progressHidden();
    // A newly chosen model brings its own slicing (policy and slice budget) as the starting point. The
    // slicing remembered from last time is restored only for the first model of the session and only when it
    // was set for that very model (AppSettings::slicingFor): a settings file from before plan/forModel, or
    // one saved with another model or none, must not ask this model with slicing it was not trained for.
    const QString folder = QString::fromStdString(info.modelDir);
    const std::optional<SavedSlicing> saved =
        m_slicingRestoreTried ? std::nullopt : m_settings.slicingFor(folder);
    m_slicingRestoreTried = true;
    if (saved) {
        m_policyName = saved->policy;
        if (saved->maxSlices > 0)
            m_maxSlices = saved->maxSlices;
    } else {
        m_policyName = QString::fromStdString(info.policy.name());
        if (info.policy.kind != PolicyKind::Llava15)
            m_maxSlices = info.policy.maxSlices;
    }
    m_settings.setModelFolder(folder, m_modelMmproj);
    Q_EMIT modelLoaded(info);
    replan(); // the model's own slicing and context change the figures
}

void Session::onModelFailed(const QString &message)
{
    m_modelLoading = false;
    m_modelInfo.reset();
    Q_EMIT progressHidden();
    Q_EMIT modelFailed(m_modelFolder, message);
    replan();
}

// ---------------------------------------------------------------------------------------------------
// questions

bool Session::ask(const QString &question)
{
    return askWith(question, false);
}

QString Session::transcriptionPrompt() const
{
    return m_modelInfo ? QString::fromStdString(uhdlens::transcriptionPrompt(m_modelInfo->family))
                       : QString();
}

bool Session::transcribe()
{
    const QString prompt = transcriptionPrompt();
    if (prompt.isEmpty())
        return false;
    // A page is long: at least as many new tokens as `uhdlens-cli batch --transcribe` allows, for this
    // question.
    const GenerationSettings saved = m_generation;
    m_generation.maxNewTokens = std::max(m_generation.maxNewTokens, batch::kTranscribeMaxNewTokens);
    const bool sent = ask(prompt);
    m_generation = saved;
    return sent;
}

void Session::addRecordedTurn(int documentId, const QString &question, const AnswerRecord &answer)
{
    ImageDocument *doc = document(documentId);
    if (!doc)
        return;
    ChatTurn turn;
    turn.question = question;
    turn.askedAt = QDateTime::currentDateTime();
    turn.answer = answer;
    turn.answer.requestId = 0; // no engine request stands behind it
    doc->turns.push_back(std::move(turn));
    Q_EMIT transcriptChanged(documentId, true);
}

bool Session::regenerate()
{
    ImageDocument *doc = currentDocument();
    if (!doc || doc->turns.empty() || isGenerating())
        return false;
    const QString question = doc->turns.back().question;
    doc->turns.pop_back();
    return askWith(question, true);
}

bool Session::askWith(const QString &question, bool restartContext)
{
    ImageDocument *doc = currentDocument();
    if (!doc || question.trimmed().isEmpty())
        return false;
    ChatTurn turn;
    turn.question = question.trimmed();
    turn.askedAt = QDateTime::currentDateTime();
    turn.answer.policyName = QString::fromStdString(m_plan.policy.name());
    const bool ab = m_abMode && m_plan.policy.kind != PolicyKind::Llava15;
    if (ab) {
        turn.baseline = AnswerRecord{};
        turn.baseline->policyName = QStringLiteral("llava15");
    }
    if (!m_modelInfo && !m_modelLoading) {
        turn.answer.state = AnswerState::Failed;
        turn.answer.error = EngineWorker::noModelText();
        const QString error = turn.answer.error;
        doc->turns.push_back(std::move(turn));
        Q_EMIT transcriptChanged(doc->id, true);
        Q_EMIT askRefused(error);
        return false;
    }
    doc->turns.push_back(std::move(turn));
    const size_t turnIndex = doc->turns.size() - 1;
    const QRect area = doc->subjectRect();
    // The image's identity for the engine's caches: the document (its pixels never change) and the region.
    const QString imageId = QStringLiteral("document %1 region %2,%3 %4x%5")
                                .arg(doc->id)
                                .arg(area.x())
                                .arg(area.y())
                                .arg(area.width())
                                .arg(area.height());
    const QImage subject = doc->subject();

    const bool giveText = imageTextEnabled();
    const std::shared_ptr<const TextLayer> textLayer = m_textLayers->layer(doc->id);

    const bool wasBusy = isGenerating();
    auto queue = [&](int variant, const SlicePlan &plan) {
        AskRequest request;
        request.id = engine()->nextRequestId();
        request.documentId = doc->id;
        request.variant = variant;
        request.image = subject;
        request.imageId = imageId;
        request.plan = plan;
        request.question = question.trimmed();
        request.settings = m_generation;
        // Preferences' thinking switch applies to models that have one (MiniCPM-V 4.5); the engine refuses it
        // elsewhere, and a preference must not make every other model's questions fail.
        request.settings.thinking = m_generation.thinking && m_modelInfo && m_modelInfo->thinkingMode;
        request.restartContext = restartContext;
        if (giveText) {
            request.textLanguages = m_textLanguages;
            if (textLayer) {
                const QRect r = area;
                request.imageText = QString::fromStdString(
                    doc->region ? textLayerIn(*textLayer, {r.x(), r.y(), r.width(), r.height()}).promptText()
                                : textLayer->promptText());
            } else {
                request.recognizeText = true;
            }
        }
        if (restartContext) // a different sample when sampling; identical answer when greedy (temperature 0)
            request.settings.seed += static_cast<std::uint64_t>(turnIndex + 1);
        RequestState state;
        state.documentId = doc->id;
        state.turnIndex = turnIndex;
        state.baseline = variant == 1;
        state.clock.start();
        (variant == 1 ? *doc->turns[turnIndex].baseline : doc->turns[turnIndex].answer).requestId =
            request.id;
        m_requests.insert(request.id, state);
        EngineWorker *w = engine();
        QMetaObject::invokeMethod(
            w, [w, request] { w->ask(request); }, Qt::QueuedConnection);
    };
    queue(0, m_plan); // the plan shown is the plan asked with
    if (ab) {
        SlicePolicy baseline = SlicePolicy::llava15();
        if (m_modelInfo) { // the baseline view at the model's own encoder resolution
            baseline.scale = m_modelInfo->policy.scale;
            baseline.patch = m_modelInfo->policy.patch;
        }
        queue(1, planSlices({area.width(), area.height()}, baseline));
    }
    if (!wasBusy)
        Q_EMIT busyChanged(true);
    Q_EMIT progressChanged(m_modelLoading ? tr("Waiting for the model to load…") : tr("Preparing the image…"),
                           -1);
    Q_EMIT transcriptChanged(doc->id, true);
    return true;
}

void Session::setTextLanguages(TextLanguages languages)
{
    m_textLanguages = languages;
    TextLayerOptions options;
    options.languages = languages;
    m_textLayers->setOptions(options);
}

bool Session::modelIsBundled() const
{
    const QString bundled = ModelList::bundledFolder();
    if (m_modelFolder.isEmpty() || bundled.isEmpty())
        return false;
    return QFileInfo(m_modelFolder).canonicalFilePath() == QFileInfo(bundled).canonicalFilePath();
}

bool Session::imageTextEnabled() const
{
    return m_settings.imageText(modelIsBundled());
}

void Session::setImageTextEnabled(bool on)
{
    m_settings.setImageText(modelIsBundled(), on);
}

void Session::stopAll()
{
    // The session's own requests only: a batch run on the same engine thread goes on (its dialog cancels it).
    const QList<quint64> ids = m_requests.keys();
    for (quint64 id : ids)
        engine()->cancel(id);
    stopWaiting(ids);
    if (isGenerating())
        Q_EMIT progressChanged(tr("Stopping…"), -1);
}

void Session::cancelRequest(quint64 id)
{
    if (!m_requests.contains(id))
        return;
    engine()->cancel(id);
    stopWaiting({id});
}

void Session::stopWaiting(const QList<quint64> &ids)
{
    // The engine drops a cancelled request only when its turn comes, which can be after a long answer about
    // another image (25 s in the stress test): a request it has not started ends here, at once, as Stopped.
    // The engine's own finished() for it comes later, finds no request and is ignored, so each request still
    // ends exactly once. A running one stops between tokens and ends through onFinished as before.
    for (quint64 id : ids) {
        const auto it = m_requests.constFind(id);
        if (it == m_requests.cend() || it->started)
            continue;
        if (AnswerRecord *a = answerFor(id)) {
            a->state = AnswerState::Stopped;
            a->stopReason = QString::fromStdString(nameOf(StopReason::Cancelled));
        }
        endRequest(id);
    }
}

QList<quint64> Session::requestsOf(int documentId) const
{
    QList<quint64> ids;
    for (auto it = m_requests.cbegin(); it != m_requests.cend(); ++it) {
        if (it->documentId == documentId)
            ids << it.key();
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

AnswerRecord *Session::answerFor(quint64 requestId)
{
    auto it = m_requests.find(requestId);
    if (it == m_requests.end())
        return nullptr;
    ImageDocument *doc = document(it->documentId);
    if (!doc || it->turnIndex >= doc->turns.size())
        return nullptr; // the image was closed (or its conversation cleared) meanwhile
    ChatTurn &turn = doc->turns[it->turnIndex];
    AnswerRecord *a = it->baseline ? (turn.baseline ? &*turn.baseline : nullptr) : &turn.answer;
    return a && a->requestId == requestId ? a : nullptr;
}

void Session::onStarted(quint64 id)
{
    if (auto it = m_requests.find(id); it != m_requests.end()) {
        it->started = true;
        it->clock.restart(); // time the answer itself, not the wait in the queue
    }
    if (AnswerRecord *a = answerFor(id); a && a->state == AnswerState::Queued)
        a->state = AnswerState::Encoding;
}

void Session::onPlanReady(quint64 id, const SlicePlan &plan)
{
    if (AnswerRecord *a = answerFor(id)) {
        a->plan = plan;
        a->hasPlan = true;
        a->imageTokens = imagePositions(plan, layoutFor(plan.policy), m_modelInfo ? m_modelInfo->tokensPerImage : 0);
        Q_EMIT transcriptChanged(m_requests.value(id).documentId, false);
    }
}

void Session::onSliceEncoded(quint64 id, int index, int total, double ms)
{
    auto it = m_requests.find(id);
    if (it == m_requests.end())
        return;
    it->sliceMs.push_back(ms);
    const double mean = std::accumulate(it->sliceMs.begin(), it->sliceMs.end(), 0.0) / it->sliceMs.size();
    const double eta = mean * (total - index) / 1000.0;
    const QString what = it->baseline ? tr("baseline view %1/%2").arg(index).arg(total)
                                      : tr("slice %1/%2").arg(index).arg(total);
    Q_EMIT progressChanged(tr("Encoding %1 · %2 ms · ETA %3 s").arg(what).arg(qRound(ms)).arg(eta, 0, 'f', 1),
                           double(index) / total);
}

void Session::onToken(quint64 id, const QString &piece)
{
    // Called once per generated token, possibly thousands per second with a small model: keep it to an
    // append. The transcript and the progress line refresh on timers (ChatPanel::scheduleRender,
    // m_progressTimer).
    auto it = m_requests.find(id);
    if (it == m_requests.end())
        return;
    ++it->tokens;
    if (AnswerRecord *a = answerFor(id)) {
        a->text += piece;
        a->state = AnswerState::Answering;
        Q_EMIT transcriptChanged(it->documentId, false);
    }
    m_progressRequest = id;
    if (!m_progressTimer->isActive())
        m_progressTimer->start();
}

void Session::updateAnswerProgress()
{
    auto it = m_requests.find(m_progressRequest);
    if (it == m_requests.end())
        return;
    const double seconds = it->clock.elapsed() / 1000.0;
    Q_EMIT progressChanged(tr("Answering… %n token(s)", nullptr, it->tokens) +
                               QStringLiteral(" · %1 s").arg(seconds, 0, 'f', 1),
                           -1);
}

void Session::onFinished(quint64 id, const AskResult &result)
{
    auto it = m_requests.find(id);
    if (it == m_requests.end())
        return;
    if (AnswerRecord *a = answerFor(id)) {
        a->state = result.cancelled ? AnswerState::Stopped : AnswerState::Finished;
        a->fromCache = result.imageFromCache;
        a->stopReason = QString::fromStdString(nameOf(result.stopReason));
        if (!result.answer.empty() || a->text.isEmpty())
            a->text = QString::fromStdString(result.answer);
        if (result.plan.overview.width > 0) {
            a->plan = result.plan;
            a->hasPlan = true;
        }
        a->imageTokens = result.imageTokens > 0 ? result.imageTokens : a->imageTokens;
        a->promptTokens = result.promptTokens;
        a->generatedTokens = result.generatedTokens;
        a->encodedImages = static_cast<int>(result.sliceMs.size());
        a->encodeMs = result.encodeMs;
        a->decodeTokensPerSecond = result.decodeTokensPerSecond;
        a->totalMs = it->clock.elapsed();
        if (result.imageFromCache && !it->baseline)
            Q_EMIT imageFromCache(it->documentId);
    }
    endRequest(id);
}

void Session::onFailed(quint64 id, const QString &message)
{
    if (!m_requests.contains(id))
        return; // already ended here (stopWaiting): one end per request
    if (AnswerRecord *a = answerFor(id)) {
        a->state = AnswerState::Failed;
        a->error = message;
        a->totalMs = m_requests.value(id).clock.isValid() ? m_requests.value(id).clock.elapsed() : 0;
    }
    Q_EMIT answerFailed(message);
    endRequest(id);
}

void Session::endRequest(quint64 id)
{
    const int documentId = m_requests.value(id).documentId;
    m_requests.remove(id);
    m_progressTimer->stop();
    Q_EMIT transcriptChanged(documentId, true);
    if (m_requests.isEmpty()) {
        Q_EMIT busyChanged(false);
        Q_EMIT progressHidden();
        Q_EMIT generationFinished();
    }
}

// ------------------------------------------------------------------------------------------------------
// export

QString Session::exportConversation(const QString &path, bool json) const
{
    const ImageDocument *doc = currentDocument();
    if (!doc)
        return tr("No image is open.");
    const ExportContext context{m_modelInfo, m_generation, m_plan, m_policyName,
                                QCoreApplication::applicationVersion()};
    // Atomic (safesave.h): a full disk or an unwritable folder leaves an earlier export as it was.
    return saveFileAtomically(path, json ? QByteArray::fromStdString(conversationJson(*doc, context).dump(2))
                                         : conversationMarkdown(*doc, context).toUtf8());
}

} // namespace uhdlens::ui
