// UHD Lens UI — the main window: thumbnail strip of opened images (each with its own conversation), the
// canvas with the slice plan, the plan, chat and model panels, menus, toolbar and status bar.
//
// Window code only: images, conversations, the plan, the model's state and the requests live in the Session
// (session.h), every settings key in AppSettings (appsettings.h), model discovery in ModelList (modellist.h).
// Nothing here blocks the GUI thread: images decode in a thread pool (ImageLoader), the model loads and
// answers on the engine thread (EngineWorker), dialogs open non-modally (open(), never exec()).
#pragma once

#include "engineworker.h" // batch::Record as a meta-type
#include "imagedocument.h"
#include "session.h"

#include "settingsdialog.h"
#include "uhdlens/batch.h"

#include "uhdlens/engine.h"
#include "uhdlens/preprocess.h"

#include <QMainWindow>
#include <QMessageBox>

#include <QHash>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

class QAction;
class QActionGroup;
class QDockWidget;
class QLabel;
class QListWidget;
class QMenu;
class QMimeData;
class QToolBar;

namespace uhdlens::ui {

class AppSettings;
class BatchDialog;
class ChatPanel;
class EngineWorker;
class ImageLoader;
class ModelPanel;
class ModelViewRenderer;
class PlanPanel;
class SliceCanvas;

struct MainWindowOptions
{
    QString settingsFile;         // empty: the user's QSettings; tests pass a temporary .ini
    bool loadDefaultModel = true; // the saved model folder, else resources/models/uhd-lens-tiny when present
};

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(const MainWindowOptions &options = {}, QWidget *parent = nullptr);
    ~MainWindow() override;

    // Getting images in.
    void openFiles(const QStringList &paths);
    void openImage(const QImage &image, const QString &title, const QString &path = {}, const QImage &preview = {});
    bool ingestMimeData(const QMimeData *mime); // drop and paste; false if it held nothing usable
    void pasteFromClipboard();
    void captureScreenRegion();

    // Model and questions.
    void loadModel(const QString &folder);
    // What the open-model dialogs feed: a model folder, a GGUF file (any name: Ollama's blobs have no
    // extension) or, with `mmproj`, an explicit GGUF pair. A GGUF choice is resolved and checked first
    // (resolveGgufPair, headers only): a choice that cannot load shows why and keeps the model that is
    // loaded. An LLM file whose mmproj is not beside it opens a second file dialog for it (ggufMmprojDialog).
    // True when a load started.
    bool openModel(const QString &path, const QString &mmproj = {});
    void ask(const QString &question);
    // Asks the loaded model's transcription prompt about the current image (the Transcribe button).
    void transcribe();
    void stop();
    void regenerate();
    bool isGenerating() const { return m_session->isGenerating(); }
    bool isModelLoading() const { return m_session->isModelLoading(); }
    const std::optional<ModelInfo> &modelInfo() const { return m_session->modelInfo(); }

    // Plan.
    SlicePolicy effectivePolicy() const { return m_session->effectivePolicy(); }
    void setRegion(const std::optional<QRect> &region);
    const SlicePlan &currentPlan() const { return m_session->plan(); }
    // "What the model sees" for encoded image `index` (-1: the overview), as hovering a slice does.
    void showModelView(int index);
    // True once the exact encoder inputs of the current plan are rendered (else a quick approximation shows).
    bool modelViewExact() const { return m_exactView.has_value(); }
    const std::optional<ModelView> &exactModelView() const { return m_exactView; }

    // Export (also used by the File menu's non-modal save dialogs). Returns an empty string or an error.
    QString exportMarkdown(const QString &path) const;
    QString exportJson(const QString &path) const;

    // File > Batch…: shows the (one) Batch dialog, made on first use.
    BatchDialog *openBatchDialog();
    BatchDialog *batchDialog() const { return m_batchDialog; }
    // Opens the image at `path` (or shows it, if open) with a batch run's record of it as a finished answer.
    void openBatchResult(const QString &path, const QString &question, const uhdlens::batch::Record &record);

    void setLanguage(const QString &code);
    QString language() const { return m_prefs.language; }
    const Preferences &preferences() const { return m_prefs; }
    void setPreferences(const Preferences &prefs);

    // For tests and the app's --screenshot.
    SliceCanvas *canvas() const { return m_canvas; }
    PlanPanel *planPanel() const { return m_planPanel; }
    ChatPanel *chatPanel() const { return m_chatPanel; }
    ModelPanel *modelPanel() const { return m_modelPanel; }
    AppSettings *settings() const { return m_settings.get(); } // for tests: waitForSaved()
    Session *session() const { return m_session; }
    EngineWorker *engine() const { return m_session->engine(); }
    int documentCount() const { return m_session->documentCount(); }
    ImageDocument *currentDocument() const;
    void selectDocument(int index);
    QString lastError() const { return m_lastError; }
    QMenu *fileMenu() const { return m_fileMenu; }
    QAction *batchAction() const { return m_batchAction; }
    // The text layer (Session::textLayers()): View > Show Text Layer draws the current image's word boxes
    // (recognised on first use, on a worker thread, with progress and Cancel in the status bar); Edit-like
    // View > Copy All Text puts its text in reading order on the clipboard (recognising it first if needed);
    // Chat > Give the Model the Image's Text is Session::setImageTextEnabled for the loaded model.
    QAction *textLayerAction() const { return m_textLayerAction; }
    QAction *gridAction() const { return m_gridAction; } // View > Show Slice Grid
    QAction *copyTextAction() const { return m_copyTextAction; }
    QAction *cancelTextAction() const { return m_cancelTextAction; }
    QAction *imageTextAction() const { return m_imageTextAction; }
    void copyAllText();

Q_SIGNALS:
    void planShown();
    void modelViewRendered();
    void documentOpened(int documentId);
    void errorShown(const QString &message);
    void modelChanged(bool loaded);
    // A folder with pickle weights: the conversion question (object name "convertPickleBox") is open.
    void conversionOffered(const QString &pickleFile, const QString &targetFolder);
    // The converted copy was written to `folder` and is being loaded.
    void modelConverted(const QString &folder);
    void generationFinished();
    // A region capture ended: the new image's document id, or 0 when cancelled or the screen cannot be grabbed.
    void captureFinished(int documentId);

protected:
    void changeEvent(QEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void createActions();
    void createMenus();
    void createDocks();
    void connectSession();
    void retranslateUi();
    void loadSettings();
    void saveSettings() const;
    void updateRecentMenu();
    void addRecentFile(const QString &path);
    void updateStatus();
    void updateActions();

    void showDocument(int documentId); // 0: none
    void showPlan();
    void updateModelView();
    void showError(const QString &title, const QString &message);
    // showError's mechanism (last error, status line, errorShown, a non-modal box): the box, to add buttons
    // to.
    QMessageBox *reportError(QMessageBox::Icon icon, const QString &title, const QString &message,
                             QMessageBox::StandardButtons buttons);
    void useBundledModel();

    void openFileDialog();
    void openModelDialog();
    void openGgufDialog();
    void exportDialog(bool json);
    void openPreferences();
    void closeCurrentDocument();
    void offerConversion(const QString &folder, const QString &file, const QString &message);
    void onModelLoaded(const ModelInfo &info);
    void onModelGone(); // failed or unloaded: the panels show no model

    MainWindowOptions m_options;
    std::unique_ptr<AppSettings> m_settings;
    Preferences m_prefs;
    Session *m_session = nullptr;
    ImageLoader *m_loader = nullptr;
    int m_pastedCount = 0;

    int m_previewIndex = -1;
    ModelViewRenderer *m_renderer = nullptr;
    quint64 m_renderGeneration = 0;  // the request made for the plan shown now
    std::optional<ModelView> m_exactView; // exact encoder inputs of the plan shown, once rendered
    QString m_lastError;

    SliceCanvas *m_canvas = nullptr;
    PlanPanel *m_planPanel = nullptr;
    ChatPanel *m_chatPanel = nullptr;
    ModelPanel *m_modelPanel = nullptr;
    BatchDialog *m_batchDialog = nullptr;
    // Batch results waiting for their image to decode (ImageLoader is asynchronous), by absolute path.
    QHash<QString, std::pair<QString, AnswerRecord>> m_pendingResults;
    QListWidget *m_strip = nullptr;
    QDockWidget *m_stripDock = nullptr;
    QDockWidget *m_planDock = nullptr;
    QDockWidget *m_chatDock = nullptr;
    QDockWidget *m_modelDock = nullptr;
    QToolBar *m_toolBar = nullptr;
    QLabel *m_statusImage = nullptr;
    QLabel *m_statusZoom = nullptr;
    QLabel *m_statusModel = nullptr;

    QMenu *m_fileMenu = nullptr;
    QMenu *m_recentMenu = nullptr;
    QMenu *m_editMenu = nullptr;
    QMenu *m_viewMenu = nullptr;
    QMenu *m_modelMenu = nullptr;
    QMenu *m_chatMenu = nullptr;
    QMenu *m_settingsMenu = nullptr;
    QMenu *m_languageMenu = nullptr;
    QMenu *m_helpMenu = nullptr;
    QActionGroup *m_languageGroup = nullptr;

    QAction *m_openAction = nullptr;
    QAction *m_pasteAction = nullptr;
    QAction *m_captureAction = nullptr;
    QAction *m_closeAction = nullptr;
    QAction *m_exportMdAction = nullptr;
    QAction *m_exportJsonAction = nullptr;
    QAction *m_batchAction = nullptr;
    QAction *m_quitAction = nullptr;
    QAction *m_zoomInAction = nullptr;
    QAction *m_zoomOutAction = nullptr;
    QAction *m_fitAction = nullptr;
    QAction *m_actualAction = nullptr;
    QAction *m_gridAction = nullptr;
    QAction *m_regionModeAction = nullptr;
    QAction *m_clearRegionAction = nullptr;
    QAction *m_nextImageAction = nullptr;
    QAction *m_prevImageAction = nullptr;
    QAction *m_openModelAction = nullptr;
    QAction *m_openGgufAction = nullptr;
    QAction *m_defaultModelAction = nullptr;
    QAction *m_unloadModelAction = nullptr;
    QAction *m_preferencesAction = nullptr;
    QAction *m_aboutAction = nullptr;
    QAction *m_clearRecentAction = nullptr;
    QAction *m_focusQuestionAction = nullptr;
    QAction *m_textLayerAction = nullptr;
    QAction *m_copyTextAction = nullptr;
    QAction *m_cancelTextAction = nullptr;
    QAction *m_imageTextAction = nullptr;
    int m_copyTextWhenReady = 0; // document whose text goes to the clipboard once recognised (Copy All Text)
    void connectTextLayers();
    void showTextLayerOf(int documentId); // the canvas shows the document's layer (recognising it if needed)
};

} // namespace uhdlens::ui
