// UHD Lens UI — the session: what stands between the window and the engine (as GPT4All's `Chat` between its
// view and its LLM object). It owns the opened images with their conversations, the slicing chosen for them
// and the plan of the image shown, the model's state, and every request sent to the engine thread; it turns
// the engine's signals into answer states (AnswerState) and progress lines. The window only shows what the
// session says and passes the user's actions on; tests drive a Session without any window.
//
//     AppSettings settings(iniFile);
//     Session session(settings);
//     session.loadModel(folder);                  // -> modelLoaded(info) or modelFailed(folder, message)
//     const int id = session.addDocument(rgb, "a.png");
//     session.setCurrentDocument(id);             // -> planChanged(): plan() is this image's
//     session.ask("What does the dialog say?");   // -> transcriptChanged(id, ...), generationFinished()
//     session.closeDocument(id);                  // cancels this image's answers only
//
// GUI thread only. The plan of the current image is made once per change (image, region, slicing, model) and
// sent with each question, together with the image's identity (document and region), so the engine neither
// re-plans nor hashes pixels per question.
#pragma once

#include "imagedocument.h"

#include "uhdlens/engine.h"
#include "uhdlens/text_layer.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>

#include <memory>
#include <optional>
#include <vector>

class QTimer;

namespace uhdlens::ui {

class AppSettings;
class EngineThread;
class EngineWorker;
class TextLayers;

class Session : public QObject
{
    Q_OBJECT
public:
    explicit Session(AppSettings &settings, QObject *parent = nullptr);
    ~Session() override; // the engine thread stops (cancelling what runs)

    EngineWorker *engine() const;

    // ---- images
    // Adds an opened image (Format_RGB888; `preview` may be null). Returns its id (ids are never reused).
    int addDocument(const QImage &rgb, const QString &title, const QString &path = {},
                    const QImage &preview = {});
    // Closes the image: its answers still queued or streaming are cancelled, the others run on.
    void closeDocument(int id);
    ImageDocument *document(int id) const;
    int documentCount() const { return static_cast<int>(m_documents.size()); }
    void setCurrentDocument(int id); // 0: none
    ImageDocument *currentDocument() const;
    // Selects a region of the current image (clipped to it; nullopt or empty: the whole image) and re-plans.
    void setRegion(const std::optional<QRect> &region);
    void clearConversation(); // of the current image; its image tokens stay cached

    // ---- slicing and plan
    // The slicing chosen in the plan panel; re-plans when it changed.
    void setSlicing(const QString &policyName, int maxSlices);
    QString policyName() const { return m_policyName; }
    int maxSlices() const { return m_maxSlices; }
    // The chosen policy, with the loaded model's own slicing where it is of the same kind.
    SlicePolicy effectivePolicy() const;
    // How many tokens an encoded image costs: the loaded model's layout, else the policy's own model's.
    TokenLayout layoutFor(const SlicePolicy &policy) const;
    // The plan of the current image (its region, if any) under effectivePolicy(); empty without an image.
    const SlicePlan &plan() const { return m_plan; }

    // ---- model
    // Device and dtype of the next load (LoadOptions: "auto", "cpu", "f32", ...).
    void setComputeOptions(const QString &device, const QString &dtype)
    {
        m_device = device;
        m_dtype = dtype;
    }
    // Stops what runs, drops what waits, then loads (safe at any moment).
    // `mmproj`: the second file of an explicit GGUF pair (LoadOptions::mmproj), else empty.
    void loadModel(const QString &folder, const QString &mmproj = {});
    void unloadModel();
    // After modelNeedsConversion: convert into `target` (then load it), or decline (the load fails with
    // `message`).
    void convertModel(const QString &folder, const QString &target);
    void declineConversion(const QString &message);
    const std::optional<ModelInfo> &modelInfo() const { return m_modelInfo; }
    bool isModelLoading() const { return m_modelLoading; }
    QString modelFolder() const { return m_modelFolder; }
    QString modelMmproj() const { return m_modelMmproj; }

    // ---- the image's text (uhdlens/text_layer.h)
    // The text layers of the opened images (the canvas's "Show Text Layer"; closing an image forgets its
    // own).
    TextLayers *textLayers() const { return m_textLayers; }
    // Which Tesseract languages read the images (English, or with Simplified Chinese for a Chinese UI).
    void setTextLanguages(TextLanguages languages);
    TextLanguages textLanguages() const { return m_textLanguages; }
    // Whether the model loaded (or loading) is the bundled one (ModelList::bundledFolder()).
    bool modelIsBundled() const;
    // "Give the model the image's text" for the model loaded now (AppSettings::imageText: its own default for
    // the bundled model and for other models). On: each question about an image carries the recognised lines
    // of the image (its selected region) in reading order with coarse positions, before the question
    // (Conversation::ask's imageText); its text layer when ready, else the engine thread recognises it first.
    bool imageTextEnabled() const;
    void setImageTextEnabled(bool on);

    // ---- questions
    void setGenerationSettings(const GenerationSettings &settings) { m_generation = settings; }
    const GenerationSettings &generationSettings() const { return m_generation; }
    void setAbMode(bool on) { m_abMode = on; }
    // Asks about the current image (with the A/B baseline too when A/B is on and the plan is not already one
    // view). Returns true when the question went to the engine (false: no image, an empty question, or no
    // model, which is recorded as the answer's error and reported by askRefused).
    bool ask(const QString &question);
    // The loaded model family's transcription prompt (uhdlens::transcriptionPrompt: the text in reading
    // order, tables as Markdown); empty without a model.
    QString transcriptionPrompt() const;
    // Asks transcriptionPrompt() about the current image, with at least batch::kTranscribeMaxNewTokens new
    // tokens allowed; false as ask() (also without a model).
    bool transcribe();
    // Shows an answer given elsewhere (a batch run's record) as a finished turn of image `documentId`. It is
    // shown only: the engine's conversation of the image does not hold it.
    void addRecordedTurn(int documentId, const QString &question, const AnswerRecord &answer);
    // Asks the current image's last question again from a fresh context (a new seed when sampling); false
    // when there is nothing to regenerate or answers are still running.
    bool regenerate();
    // Every question of the session, queued or running (not a batch run) / one request. One the engine has not
    // started ends at once (Stopped); a running one ends when the engine stops it, between tokens.
    void stopAll();
    void cancelRequest(quint64 id);
    bool isGenerating() const { return !m_requests.isEmpty(); }
    QList<quint64> requestsOf(int documentId) const; // not yet ended, in the order asked

    // Export of the current image's conversation (uhdlens::ui::conversationMarkdown / conversationJson) to
    // `path`. Returns an empty string, or a readable error.
    QString exportConversation(const QString &path, bool json) const;

Q_SIGNALS:
    void planChanged(); // plan() changed, or there is no current image any more
    void modelLoadStarted(const QString &folder);
    void loadProgress(double fraction, const QString &stage);
    void modelLoaded(const ModelInfo &info); // policyName()/maxSlices() hold the slicing to start from
    void modelFailed(const QString &folder, const QString &message);
    void modelUnloaded();
    void modelNeedsConversion(const QString &folder, const QString &file, const QString &message);
    void modelConverted(const QString &folder, const QString &summary);
    void conversionFailed(const QString &folder, const QString &message);
    // A turn of the image `documentId` changed: `now` for a new or ended answer, else a streamed piece
    // (coalesce).
    void transcriptChanged(int documentId, bool now);
    void progressChanged(const QString &text, double fraction); // fraction < 0: indeterminate
    void progressHidden();
    void busyChanged(bool busy);
    void imageFromCache(int documentId);       // an answer about this image reused its image tokens
    void askRefused(const QString &message);   // e.g. no model: recorded as the answer's error
    void answerFailed(const QString &message); // the engine's error, also recorded in the answer
    void generationFinished();                 // the last open request ended

private:
    struct RequestState
    {
        int documentId = 0;
        size_t turnIndex = 0;
        bool baseline = false;
        bool started = false; // the engine took it (EngineWorker::started)
        QElapsedTimer clock;
        std::vector<double> sliceMs;
        int tokens = 0;
    };

    void replan();
    bool askWith(const QString &question, bool restartContext);
    AnswerRecord *answerFor(quint64 requestId);
    void endRequest(quint64 id);
    void stopWaiting(const QList<quint64> &ids); // ends those the engine has not started, as Stopped
    void updateAnswerProgress();

    void onModelLoaded(const ModelInfo &info);
    void onModelFailed(const QString &message);
    void onStarted(quint64 id);
    void onPlanReady(quint64 id, const SlicePlan &plan);
    void onSliceEncoded(quint64 id, int index, int total, double ms);
    void onToken(quint64 id, const QString &piece);
    void onFinished(quint64 id, const AskResult &result);
    void onFailed(quint64 id, const QString &message);

    AppSettings &m_settings;
    EngineThread *m_engine = nullptr;

    std::vector<std::unique_ptr<ImageDocument>> m_documents;
    int m_nextDocumentId = 1;
    int m_currentId = 0;

    QString m_policyName = QStringLiteral("minicpmv");
    int m_maxSlices = 9;
    SlicePlan m_plan;

    std::optional<ModelInfo> m_modelInfo;
    QString m_modelFolder; // the folder being loaded or loaded
    QString m_modelMmproj; // its explicit mmproj file (GGUF pair), else empty
    bool m_modelLoading = false;
    bool m_slicingRestoreTried = false; // the remembered slicing is offered to the session's first model only
    QString m_device = QStringLiteral("auto");
    QString m_dtype = QStringLiteral("auto");

    GenerationSettings m_generation;
    bool m_abMode = false;
    TextLayers *m_textLayers = nullptr;
    TextLanguages m_textLanguages = TextLanguages::English;
    QHash<quint64, RequestState> m_requests;
    QTimer *m_progressTimer = nullptr;
    quint64 m_progressRequest = 0;
};

} // namespace uhdlens::ui
