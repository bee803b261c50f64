#include "mainwindow.h"

#include "appsettings.h"
#include "batchdialog.h"
#include "chatpanel.h"
#include "errortext.h"
#include "imageloader.h"
#include "language.h"
#include "modellist.h"
#include "modelpanel.h"
#include "modelview.h"
#include "planpanel.h"
#include "screencapture.h"
#include "slicecanvas.h"
#include "textlayers.h"

#include "uhdlens/convert.h"
#include "uhdlens/gguf_info.h"
#include "uhdlens/image_io.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QIcon>
#include <QImageReader>
#include <QKeyEvent>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>
#include <QUrl>

namespace uhdlens::ui {

namespace {

constexpr int kThumbWidth = 112;
constexpr int kThumbHeight = 80;

QString imageFileFilter()
{
    // Every readable extension (QImageReader knows them at run time: png, jpg, webp, tiff, gif, bmp, ...).
    QStringList patterns;
    for (const QByteArray &fmt : QImageReader::supportedImageFormats())
        patterns << QStringLiteral("*.") + QString::fromLatin1(fmt);
    return patterns.join(QLatin1Char(' '));
}

// The installed theme's icon (share/icons/hicolor/*/apps/uhdlens.png), else the copies embedded under
// :/icons.
QIcon applicationIcon()
{
    QIcon embedded;
    for (int size : {16, 32, 48, 256})
        embedded.addFile(QStringLiteral(":/icons/hicolor/%1x%1/uhdlens.png").arg(size), QSize(size, size));
    return QIcon::fromTheme(QStringLiteral("uhdlens"), embedded);
}

} // namespace

MainWindow::MainWindow(const MainWindowOptions &options, QWidget *parent) : QMainWindow(parent), m_options(options)
{
    setObjectName(QStringLiteral("UhdLensMainWindow"));
    m_settings = std::make_unique<AppSettings>(options.settingsFile);
    setAcceptDrops(true);
    setWindowIcon(applicationIcon());

    m_session = new Session(*m_settings, this);
    // Settings save in the background (AppSettings); a full disk or an unwritable folder is said here.
    connect(m_settings.get(), &AppSettings::saveFailed, this, [this](const QString &error) {
        statusBar()->showMessage(error.section(QLatin1Char('\n'), 0, 0), 15000);
    });
    m_loader = new ImageLoader(this);
    m_renderer = new ModelViewRenderer(this);
    connect(m_renderer, &ModelViewRenderer::rendered, this, [this](quint64 generation, const ModelView &view) {
        if (generation != m_renderGeneration)
            return; // a newer plan is shown
        m_exactView = view;
        updateModelView();
        Q_EMIT modelViewRendered();
    });

    m_canvas = new SliceCanvas(this);
    m_canvas->setObjectName(QStringLiteral("canvas"));
    setCentralWidget(m_canvas);
    m_planPanel = new PlanPanel(this);
    m_chatPanel = new ChatPanel(this);
    m_modelPanel = new ModelPanel(this);

    createActions();
    createMenus();
    createDocks();

    m_statusImage = new QLabel(this);
    m_statusZoom = new QLabel(this);
    m_statusModel = new QLabel(this);
    statusBar()->addPermanentWidget(m_statusImage);
    statusBar()->addPermanentWidget(m_statusZoom);
    statusBar()->addPermanentWidget(m_statusModel);
    auto *cancelText = new QToolButton(this);
    cancelText->setDefaultAction(m_cancelTextAction);
    cancelText->setToolButtonStyle(Qt::ToolButtonTextOnly);
    cancelText->setAutoRaise(true);
    statusBar()->addPermanentWidget(cancelText);
    connect(m_cancelTextAction, &QAction::changed, cancelText,
            [this, cancelText] { cancelText->setVisible(m_cancelTextAction->isEnabled()); });
    cancelText->setVisible(false);

    connectSession();
    connectTextLayers();

    connect(m_loader, &ImageLoader::loaded, this,
            [this](const QImage &image, const QImage &preview, const QString &name, const QString &path) {
                openImage(image, name, path, preview);
                if (!path.isEmpty())
                    addRecentFile(path);
                const QString key = QFileInfo(path).absoluteFilePath();
                if (!path.isEmpty() && m_pendingResults.contains(key) && currentDocument() &&
                    currentDocument()->path == path) {
                    const auto [question, answer] = m_pendingResults.take(key);
                    m_session->addRecordedTurn(currentDocument()->id, question, answer);
                }
            });
    connect(m_loader, &ImageLoader::failed, this, [this](const QString &name, const QString &message) {
        showError(tr("Cannot open image"), tr("%1 could not be opened.").arg(name) + QLatin1Char('\n') + message);
        updateStatus();
    });

    connect(m_planPanel, &PlanPanel::policyChanged, this,
            [this] { m_session->setSlicing(m_planPanel->policyName(), m_planPanel->maxSlices()); });
    connect(m_canvas, &SliceCanvas::sliceHovered, this, [this](int index) {
        if (index >= -1) {
            m_previewIndex = index;
            updateModelView();
        }
    });
    connect(m_canvas, &SliceCanvas::sliceClicked, this, [this](int index) {
        m_previewIndex = index;
        updateModelView();
    });
    connect(m_canvas, &SliceCanvas::regionSelected, this, [this](const QRect &r) {
        m_regionModeAction->setChecked(false);
        setRegion(r);
    });
    connect(m_canvas, &SliceCanvas::zoomChanged, this, [this] { updateStatus(); });

    connect(m_chatPanel, &ChatPanel::askRequested, this, &MainWindow::ask);
    connect(m_chatPanel, &ChatPanel::transcribeRequested, this, &MainWindow::transcribe);
    connect(m_chatPanel, &ChatPanel::stopRequested, this, &MainWindow::stop);
    connect(m_chatPanel, &ChatPanel::regenerateRequested, this, &MainWindow::regenerate);
    connect(m_chatPanel, &ChatPanel::clearRequested, m_session, &Session::clearConversation);
    connect(m_chatPanel->abAction(), &QAction::toggled, m_session, &Session::setAbMode);
    connect(m_modelPanel, &ModelPanel::openFolderRequested, this, &MainWindow::openModelDialog);
    connect(m_modelPanel, &ModelPanel::useDefaultRequested, this, &MainWindow::useBundledModel);

    // Ctrl+V while typing a question pastes text as usual, but an image (or copied image files) on the
    // clipboard opens as an image instead of doing nothing.
    m_chatPanel->questionBox()->installEventFilter(this);

    loadSettings();
    retranslateUi();
    m_chatPanel->setDocument(nullptr);
    m_planPanel->showNoImage();
    updateActions();
    updateStatus();

    if (options.loadDefaultModel) {
        const ModelList models(*m_settings);
        const QString folder = models.startupFolder();
        if (!folder.isEmpty())
            m_session->loadModel(folder, models.startupMmproj());
    }
}

MainWindow::~MainWindow()
{
    // The session (a child) stops the engine thread; pending decode tasks are awaited by the loader.
}

void MainWindow::connectSession()
{
    Session *s = m_session;
    connect(s, &Session::planChanged, this, &MainWindow::showPlan);
    connect(s, &Session::modelLoadStarted, this, [this](const QString &folder) {
        m_modelPanel->showLoading(folder);
        updateStatus();
    });
    connect(s, &Session::loadProgress, m_modelPanel, &ModelPanel::showProgress);
    connect(s, &Session::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(s, &Session::modelFailed, this, [this](const QString &folder, const QString &message) {
        m_modelPanel->showError(message);
        onModelGone();
        showError(tr("Cannot load model"),
                  tr("%1 is not a model UHD Lens can load.").arg(folder) + QLatin1Char('\n') + message);
        Q_EMIT modelChanged(false);
    });
    connect(s, &Session::modelUnloaded, this, [this] {
        m_modelPanel->showNoModel();
        onModelGone();
        Q_EMIT modelChanged(false);
    });
    connect(s, &Session::modelNeedsConversion, this, &MainWindow::offerConversion);
    connect(s, &Session::modelConverted, this, [this](const QString &folder, const QString &summary) {
        statusBar()->showMessage(tr("Converted weights written to %1; loading it.").arg(folder), 10000);
        m_modelPanel->showProgress(0.0, tr("Converted: %1").arg(summary));
        Q_EMIT modelConverted(folder);
    });
    connect(s, &Session::conversionFailed, this, [this](const QString &folder, const QString &message) {
        showError(tr("Conversion failed"),
                  tr("The weights of %1 could not be converted.").arg(folder) + QLatin1Char('\n') + message);
        updateActions();
        updateStatus();
        Q_EMIT modelChanged(false);
    });

    connect(s, &Session::transcriptChanged, this, [this](int documentId, bool now) {
        const ImageDocument *doc = currentDocument();
        if (!doc || doc->id != documentId)
            return;
        if (now)
            m_chatPanel->renderNow();
        else
            m_chatPanel->scheduleRender();
    });
    connect(s, &Session::progressChanged, m_chatPanel, &ChatPanel::showProgress);
    connect(s, &Session::progressHidden, m_chatPanel, &ChatPanel::hideProgress);
    connect(s, &Session::busyChanged, m_chatPanel, &ChatPanel::setBusy);
    connect(s, &Session::imageFromCache, this, [this](int documentId) {
        if (const ImageDocument *doc = currentDocument(); doc && doc->id == documentId)
            m_chatPanel->setCacheBadgeVisible(true);
    });
    connect(s, &Session::askRefused, this, [this](const QString &message) {
        m_lastError = message;
        Q_EMIT errorShown(message);
    });
    connect(s, &Session::answerFailed, this, [this](const QString &message) {
        m_lastError = message;
        statusBar()->showMessage(message.section(QLatin1Char('\n'), 0, 0), 8000);
        Q_EMIT errorShown(message);
    });
    connect(s, &Session::generationFinished, this, &MainWindow::generationFinished);
}

// --------------------------------------------------------------------------------------------- actions and menus

void MainWindow::createActions()
{
    auto make = [this](QKeySequence shortcut, const QString &icon, auto slot) {
        auto *action = new QAction(this);
        if (!shortcut.isEmpty())
            action->setShortcut(shortcut);
        if (!icon.isEmpty())
            action->setIcon(QIcon::fromTheme(icon));
        connect(action, &QAction::triggered, this, slot);
        return action;
    };
    m_openAction = make(QKeySequence::Open, QStringLiteral("document-open"), [this] { openFileDialog(); });
    m_pasteAction = make(QKeySequence::Paste, QStringLiteral("edit-paste"), [this] { pasteFromClipboard(); });
    m_captureAction = make(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X), QStringLiteral("camera-photo"),
                           [this] { captureScreenRegion(); });
    m_closeAction = make(QKeySequence::Close, QStringLiteral("window-close"), [this] { closeCurrentDocument(); });
    m_exportMdAction = make(QKeySequence(Qt::CTRL | Qt::Key_E), QStringLiteral("document-save-as"),
                            [this] { exportDialog(false); });
    m_exportJsonAction = make(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), QString(), [this] { exportDialog(true); });
    m_batchAction =
        make(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B), QString(), [this] { openBatchDialog(); });
    m_quitAction = make(QKeySequence::Quit, QStringLiteral("application-exit"), [this] { close(); });
    m_quitAction->setMenuRole(QAction::QuitRole);
    if (m_quitAction->shortcut().isEmpty()) // the platform has no standard Quit key (e.g. offscreen, some desktops)
        m_quitAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));

    m_zoomInAction = make(QKeySequence::ZoomIn, QStringLiteral("zoom-in"), [this] { m_canvas->zoomIn(); });
    m_zoomOutAction = make(QKeySequence::ZoomOut, QStringLiteral("zoom-out"), [this] { m_canvas->zoomOut(); });
    m_fitAction = make(QKeySequence(Qt::CTRL | Qt::Key_0), QStringLiteral("zoom-fit-best"), [this] { m_canvas->zoomToFit(); });
    m_actualAction = make(QKeySequence(Qt::CTRL | Qt::Key_1), QStringLiteral("zoom-original"),
                          [this] { m_canvas->zoomActualSize(); });
    m_gridAction = make(QKeySequence(Qt::Key_G), QString(), [this] { m_canvas->setGridVisible(m_gridAction->isChecked()); });
    m_gridAction->setCheckable(true);
    m_gridAction->setChecked(true);
    m_regionModeAction = make(QKeySequence(Qt::Key_R), QStringLiteral("edit-select"),
                              [this] { m_canvas->setRegionMode(m_regionModeAction->isChecked()); });
    m_regionModeAction->setCheckable(true);
    m_clearRegionAction = make(QKeySequence(Qt::SHIFT | Qt::Key_R), QStringLiteral("edit-clear"),
                               [this] { setRegion(std::nullopt); });
    m_nextImageAction = make(QKeySequence(Qt::CTRL | Qt::Key_PageDown), QStringLiteral("go-next"), [this] {
        if (m_strip->count() > 0)
            selectDocument((m_strip->currentRow() + 1) % m_strip->count());
    });
    m_prevImageAction = make(QKeySequence(Qt::CTRL | Qt::Key_PageUp), QStringLiteral("go-previous"), [this] {
        if (m_strip->count() > 0)
            selectDocument((m_strip->currentRow() + m_strip->count() - 1) % m_strip->count());
    });

    m_openModelAction = make(QKeySequence(Qt::CTRL | Qt::Key_M), QStringLiteral("folder-open"), [this] { openModelDialog(); });
    m_openGgufAction =
        make(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_M), QString(), [this] { openGgufDialog(); });
    m_defaultModelAction =
        make(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M), QString(), [this] { useBundledModel(); });
    m_unloadModelAction = make(QKeySequence(), QString(), [this] { m_session->unloadModel(); });
    m_preferencesAction = make(QKeySequence::Preferences, QStringLiteral("preferences-system"), [this] { openPreferences(); });
    if (m_preferencesAction->shortcut().isEmpty())
        m_preferencesAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    m_aboutAction = make(QKeySequence(Qt::Key_F1), QStringLiteral("help-about"), [this] {
        auto *box = new QMessageBox(QMessageBox::Information, tr("About UHD Lens"),
                                    tr("<b>UHD Lens %1</b><br>Ask questions about images of any size. The image is cut "
                                       "into slices at native resolution (LLaVA-UHD), and you see every slice, what "
                                       "the model sees, and what it costs.")
                                        .arg(QApplication::applicationVersion()),
                                    QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    });
    m_clearRecentAction = make(QKeySequence(), QString(), [this] {
        m_settings->clearRecentFiles();
        updateRecentMenu();
    });
    m_focusQuestionAction = make(QKeySequence(Qt::CTRL | Qt::Key_L), QString(), [this] {
        m_chatDock->raise();
        m_chatPanel->questionBox()->setFocus();
    });

    m_textLayerAction = make(QKeySequence(Qt::Key_T), QString(), [this] {
        m_canvas->setTextLayerVisible(m_textLayerAction->isChecked());
        if (m_textLayerAction->isChecked())
            if (const ImageDocument *doc = currentDocument())
                showTextLayerOf(doc->id);
    });
    m_textLayerAction->setCheckable(true);
    m_copyTextAction = make(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T), QStringLiteral("edit-copy"),
                            [this] { copyAllText(); });
    m_cancelTextAction =
        make(QKeySequence(Qt::SHIFT | Qt::Key_Escape), QStringLiteral("process-stop"), [this] {
            m_copyTextWhenReady = 0;
            m_session->textLayers()->cancel(m_session->textLayers()->runningDocument());
        });
    m_cancelTextAction->setEnabled(false);
    m_imageTextAction = make(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_I), QString(),
                             [this] { m_session->setImageTextEnabled(m_imageTextAction->isChecked()); });
    m_imageTextAction->setCheckable(true);

    m_languageGroup = new QActionGroup(this);
    for (const QString &code : availableLanguages()) {
        auto *action = new QAction(nativeLanguageName(code), m_languageGroup);
        action->setCheckable(true);
        action->setData(code);
        connect(action, &QAction::triggered, this, [this, code] { setLanguage(code); });
    }
}

void MainWindow::createMenus()
{
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addAction(m_openAction);
    m_recentMenu = m_fileMenu->addMenu(QString());
    m_fileMenu->addAction(m_pasteAction);
    m_fileMenu->addAction(m_captureAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_exportMdAction);
    m_fileMenu->addAction(m_exportJsonAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_batchAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_closeAction);
    m_fileMenu->addAction(m_quitAction);

    m_viewMenu = menuBar()->addMenu(QString());
    for (QAction *a : {m_zoomInAction, m_zoomOutAction, m_fitAction, m_actualAction})
        m_viewMenu->addAction(a);
    m_viewMenu->addSeparator();
    for (QAction *a : {m_gridAction, m_regionModeAction, m_clearRegionAction})
        m_viewMenu->addAction(a);
    m_viewMenu->addSeparator();
    for (QAction *a : {m_textLayerAction, m_copyTextAction, m_cancelTextAction})
        m_viewMenu->addAction(a);
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(m_prevImageAction);
    m_viewMenu->addAction(m_nextImageAction);
    m_viewMenu->addSeparator();

    m_modelMenu = menuBar()->addMenu(QString());
    m_modelMenu->addAction(m_openModelAction);
    m_modelMenu->addAction(m_openGgufAction);
    m_modelMenu->addAction(m_defaultModelAction);
    m_modelMenu->addAction(m_unloadModelAction);

    m_chatMenu = menuBar()->addMenu(QString());
    for (QAction *a : {m_chatPanel->sendAction(), m_chatPanel->transcribeAction(), m_chatPanel->stopAction(),
                       m_chatPanel->regenerateAction(), m_chatPanel->copyAction(), m_chatPanel->abAction(),
                       m_chatPanel->clearAction()})
        m_chatMenu->addAction(a);
    m_chatMenu->addAction(m_focusQuestionAction);
    m_chatMenu->addSeparator();
    m_chatMenu->addAction(m_imageTextAction);

    m_settingsMenu = menuBar()->addMenu(QString());
    m_settingsMenu->addAction(m_preferencesAction);
    m_languageMenu = m_settingsMenu->addMenu(QString());
    m_languageMenu->addActions(m_languageGroup->actions());

    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_aboutAction);

    m_toolBar = addToolBar(QString());
    m_toolBar->setObjectName(QStringLiteral("mainToolBar"));
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    for (QAction *a : {m_openAction, m_pasteAction, m_captureAction})
        m_toolBar->addAction(a);
    m_toolBar->addSeparator();
    for (QAction *a : {m_fitAction, m_actualAction, m_regionModeAction, m_clearRegionAction})
        m_toolBar->addAction(a);
    m_toolBar->addSeparator();
    m_toolBar->addAction(m_openModelAction);
    m_toolBar->addAction(m_exportMdAction);
}

void MainWindow::createDocks()
{
    m_strip = new QListWidget(this);
    m_strip->setObjectName(QStringLiteral("thumbnailStrip"));
    // A vertical strip left of the canvas: it leaves the full window height to the plan and chat column.
    m_strip->setViewMode(QListView::IconMode);
    m_strip->setFlow(QListView::TopToBottom);
    m_strip->setWrapping(false);
    m_strip->setMovement(QListView::Static);
    m_strip->setIconSize(QSize(kThumbWidth, kThumbHeight));
    m_strip->setGridSize(QSize(kThumbWidth + 16, kThumbHeight + 30));
    m_strip->setUniformItemSizes(true);
    m_strip->setFixedWidth(kThumbWidth + 40);
    m_strip->setTextElideMode(Qt::ElideMiddle);
    m_strip->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    connect(m_strip, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row < 0) {
            showDocument(0);
            return;
        }
        showDocument(m_strip->item(row)->data(Qt::UserRole).toInt());
    });

    auto dock = [this](const char *name, QWidget *widget, Qt::DockWidgetArea area) {
        auto *d = new QDockWidget(this);
        d->setObjectName(QString::fromLatin1(name));
        d->setWidget(widget);
        addDockWidget(area, d);
        m_viewMenu->addAction(d->toggleViewAction());
        return d;
    };
    m_stripDock = dock("imagesDock", m_strip, Qt::LeftDockWidgetArea);
    // Right column: Plan (tabbed with Model) above Chat. Split before tabifying: splitting a dock that is
    // already in a tab group would add a tab instead.
    m_planDock = dock("planDock", m_planPanel, Qt::RightDockWidgetArea);
    m_chatDock = dock("chatDock", m_chatPanel, Qt::RightDockWidgetArea);
    m_modelDock = dock("modelDock", m_modelPanel, Qt::RightDockWidgetArea);
    splitDockWidget(m_planDock, m_chatDock, Qt::Vertical);
    tabifyDockWidget(m_planDock, m_modelDock);
    m_planDock->raise();
    resizeDocks({m_planDock}, {420}, Qt::Horizontal);
    resizeDocks({m_planDock, m_chatDock}, {640, 300}, Qt::Vertical);
}

void MainWindow::retranslateUi()
{
    const ImageDocument *current = currentDocument();
    setWindowTitle(current ? tr("%1 — UHD Lens").arg(current->title) : tr("UHD Lens"));
    m_fileMenu->setTitle(tr("&File"));
    m_recentMenu->setTitle(tr("Open &Recent"));
    m_viewMenu->setTitle(tr("&View"));
    m_modelMenu->setTitle(tr("&Model"));
    m_chatMenu->setTitle(tr("&Chat"));
    m_settingsMenu->setTitle(tr("&Settings"));
    m_languageMenu->setTitle(tr("&Language"));
    m_helpMenu->setTitle(tr("&Help"));
    m_toolBar->setWindowTitle(tr("Toolbar"));

    m_openAction->setText(tr("&Open Images…"));
    m_openAction->setToolTip(tr("Open image files (Ctrl+O)"));
    m_pasteAction->setText(tr("&Paste Image"));
    m_pasteAction->setToolTip(tr("Paste an image or copied image files (Ctrl+V)"));
    m_captureAction->setText(tr("&Capture Screen Region…"));
    m_captureAction->setToolTip(tr("Grab a rectangle of the screen (X11 only) (Ctrl+Shift+X)"));
    m_closeAction->setText(tr("Close &Image"));
    m_exportMdAction->setText(tr("Export Conversation as &Markdown…"));
    m_exportJsonAction->setText(tr("Export Conversation as &JSON…"));
    m_batchAction->setText(tr("&Batch…"));
    m_batchAction->setToolTip(
        tr("Ask one question (or transcribe) about every image in folders and files, into a "
           "JSON lines, CSV or Markdown file (Ctrl+Shift+B)"));
    m_quitAction->setText(tr("&Quit"));
    m_zoomInAction->setText(tr("Zoom &In"));
    m_zoomOutAction->setText(tr("Zoom &Out"));
    m_fitAction->setText(tr("&Fit"));
    m_fitAction->setToolTip(tr("Fit the image in the window (Ctrl+0)"));
    m_actualAction->setText(tr("&1:1"));
    m_actualAction->setToolTip(tr("One image pixel per screen pixel (Ctrl+1)"));
    m_gridAction->setText(tr("Show Slice &Grid"));
    m_regionModeAction->setText(tr("Select &Region"));
    m_regionModeAction->setToolTip(tr("Drag a rectangle to plan and ask about that part only, at the full slice budget (R)"));
    m_clearRegionAction->setText(tr("Whole Image"));
    m_clearRegionAction->setToolTip(tr("Forget the selected region (Shift+R)"));
    m_nextImageAction->setText(tr("&Next Image"));
    m_prevImageAction->setText(tr("&Previous Image"));
    m_openModelAction->setText(tr("Open Model &Folder…"));
    m_openModelAction->setToolTip(tr("Load a model folder (config.json, *.safetensors, tokenizer.model or tokenizer.json) (Ctrl+M)"));
    m_openGgufAction->setText(tr("Open &GGUF Model File…"));
    m_openGgufAction->setToolTip(tr("Load a GGUF model: the language-model file (its mmproj file is found "
                                    "beside it, or asked for) or an mmproj file (Ctrl+Alt+M)"));
    m_defaultModelAction->setText(tr("Use &Bundled Model"));
    m_unloadModelAction->setText(tr("&Unload Model"));
    m_preferencesAction->setText(tr("&Preferences…"));
    m_aboutAction->setText(tr("&About UHD Lens"));
    m_clearRecentAction->setText(tr("Clear Recent Files"));
    m_focusQuestionAction->setText(tr("Focus &Question Box"));
    m_textLayerAction->setText(tr("Show &Text Layer"));
    m_textLayerAction->setToolTip(
        tr("Draw the boxes of the words recognised in the image; hover one to read it (T)"));
    m_copyTextAction->setText(tr("Copy All Te&xt"));
    m_copyTextAction->setToolTip(
        tr("Copy the text recognised in the image, in reading order (Ctrl+Shift+T)"));
    m_cancelTextAction->setText(tr("Cancel Text Recognition"));
    m_cancelTextAction->setToolTip(tr("Stop reading the image's text (Shift+Esc)"));
    m_imageTextAction->setText(tr("Give the Model the Image's &Text"));
    m_imageTextAction->setToolTip(
        tr("Put the text recognised in the image (lines in reading order, with their positions) before each "
           "question. On by default for the bundled model, off for other models."));
    m_stripDock->setWindowTitle(tr("Images"));
    m_planDock->setWindowTitle(tr("Plan"));
    m_chatDock->setWindowTitle(tr("Chat"));
    m_modelDock->setWindowTitle(tr("Model"));
    updateRecentMenu();
    updateStatus();
    if (current)
        showPlan(); // re-render the plan texts in the new language
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QMainWindow::changeEvent(event);
}

void MainWindow::updateActions()
{
    const ImageDocument *current = currentDocument();
    const bool haveDoc = current != nullptr;
    for (QAction *a : {m_closeAction, m_exportMdAction, m_exportJsonAction, m_zoomInAction, m_zoomOutAction,
                       m_fitAction, m_actualAction, m_regionModeAction})
        a->setEnabled(haveDoc);
    m_clearRegionAction->setEnabled(haveDoc && current->region.has_value());
    m_nextImageAction->setEnabled(documentCount() > 1);
    m_prevImageAction->setEnabled(documentCount() > 1);
    m_unloadModelAction->setEnabled(modelInfo().has_value());
    m_copyTextAction->setEnabled(haveDoc);
    {
        const QSignalBlocker quiet(m_imageTextAction);
        m_imageTextAction->setChecked(m_session->imageTextEnabled()); // this model's own switch
    }
    for (QAction *a : m_languageGroup->actions())
        a->setChecked(a->data().toString() == m_prefs.language);
}

void MainWindow::updateStatus()
{
    const ImageDocument *current = currentDocument();
    if (current)
        m_statusImage->setText(tr("%1×%2 px").arg(current->image.width()).arg(current->image.height()));
    else
        m_statusImage->clear();
    m_statusZoom->setText(current ? tr("zoom %1%").arg(qRound(m_canvas->zoom() * 100)) : QString());
    if (isModelLoading())
        m_statusModel->setText(tr("loading model…"));
    else if (modelInfo())
        m_statusModel->setText(tr("model: %1").arg(QString::fromStdString(modelInfo()->name)));
    else
        m_statusModel->setText(tr("no model loaded"));
    if (m_loader->pending() > 0)
        statusBar()->showMessage(tr("Decoding %n image(s)…", nullptr, m_loader->pending()));
}

// ------------------------------------------------------------------------------------------------- settings

void MainWindow::loadSettings()
{
    m_prefs = m_settings->preferences();
    m_chatPanel->setPlainTextAnswers(m_prefs.plainTextAnswers);
    if (m_prefs.language != currentLanguage())
        applyLanguage(m_prefs.language);
    m_session->setTextLanguages(m_prefs.language.startsWith(QLatin1String("zh"))
                                    ? TextLanguages::EnglishChinese
                                    : TextLanguages::English);
    m_session->setGenerationSettings(m_prefs.generation);
    m_session->setComputeOptions(m_prefs.device, m_prefs.dtype);
    m_planPanel->setPolicyName(m_settings->startupPolicy());
    m_planPanel->setMaxSlices(m_settings->startupMaxSlices(m_planPanel->maxSlices()));
    m_session->setSlicing(m_planPanel->policyName(), m_planPanel->maxSlices());
    m_chatPanel->setAbMode(m_settings->abMode());
    m_session->setAbMode(m_chatPanel->abMode());
    restoreGeometry(m_settings->windowGeometry());
    restoreState(m_settings->windowState());
}

void MainWindow::saveSettings() const
{
    m_settings->setPreferences(m_prefs);
    // The model this slicing was chosen with (empty: none was loaded), so it is restored for that model only.
    m_settings->setSlicing({m_planPanel->policyName(), m_planPanel->maxSlices(),
                            modelInfo() ? QString::fromStdString(modelInfo()->modelDir) : QString()});
    m_settings->setAbMode(m_chatPanel->abMode());
    m_settings->setWindowLayout(saveGeometry(), saveState());
    // Written by AppSettings' writer thread; a failure comes back as saveFailed (the status bar says it).
}

void MainWindow::setPreferences(const Preferences &prefs)
{
    const QString language = prefs.language;
    m_prefs = prefs;
    m_chatPanel->setPlainTextAnswers(m_prefs.plainTextAnswers);
    m_session->setGenerationSettings(m_prefs.generation);
    m_session->setComputeOptions(m_prefs.device, m_prefs.dtype);
    if (language != currentLanguage())
        setLanguage(language);
    saveSettings();
}

void MainWindow::connectTextLayers()
{
    TextLayers *layers = m_session->textLayers();
    auto isCurrent = [this](int documentId) {
        const ImageDocument *doc = currentDocument();
        return doc && doc->id == documentId;
    };
    connect(layers, &TextLayers::started, this, [this] { m_cancelTextAction->setEnabled(true); });
    connect(layers, &TextLayers::progress, this, [this](int, int done, int total) {
        statusBar()->showMessage(tr("Reading the image's text… %1 of %n tile(s)", nullptr, total).arg(done));
    });
    connect(layers, &TextLayers::finished, this, [this, layers, isCurrent](int documentId) {
        m_cancelTextAction->setEnabled(false);
        const std::shared_ptr<const TextLayer> layer = layers->layer(documentId);
        if (isCurrent(documentId))
            m_canvas->setTextLayer(layer);
        if (m_copyTextWhenReady == documentId) {
            m_copyTextWhenReady = 0;
            copyAllText();
        } else {
            // %1: the OCR engine that read the image ("PP-OCR" or "Tesseract")
            statusBar()->showMessage(tr("Text layer (%1): %n word(s)", nullptr, int(layer->words.size()))
                                         .arg(QString::fromStdString(displayNameOf(layer->engine))),
                                     6000);
        }
    });
    connect(layers, &TextLayers::failed, this, [this](int documentId, const QString &message) {
        m_cancelTextAction->setEnabled(false);
        if (m_copyTextWhenReady == documentId)
            m_copyTextWhenReady = 0;
        showError(tr("Text recognition failed"), message);
    });
    connect(layers, &TextLayers::cancelled, this, [this](int documentId) {
        m_cancelTextAction->setEnabled(false);
        if (m_copyTextWhenReady == documentId)
            m_copyTextWhenReady = 0;
        statusBar()->showMessage(tr("Text recognition cancelled."), 4000);
    });
}

void MainWindow::showTextLayerOf(int documentId)
{
    const ImageDocument *doc = m_session->document(documentId);
    if (!doc)
        return;
    TextLayers *layers = m_session->textLayers();
    if (auto layer = layers->layer(documentId))
        m_canvas->setTextLayer(layer);
    else
        layers->request(documentId, doc->image);
}

void MainWindow::copyAllText()
{
    const ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    TextLayers *layers = m_session->textLayers();
    if (const auto layer = layers->layer(doc->id)) {
        QApplication::clipboard()->setText(QString::fromStdString(layer->plainText()));
        statusBar()->showMessage(layer->empty()
                                     ? tr("No text was found in this image.")
                                     : tr("Copied %n line(s) of text.", nullptr, int(layer->lines.size())),
                                 6000);
        return;
    }
    m_copyTextWhenReady = doc->id; // copied when recognised
    layers->request(doc->id, doc->image);
}

void MainWindow::setLanguage(const QString &code)
{
    m_prefs.language = code;
    // A Chinese UI reads Simplified Chinese in images too (slower: both Tesseract models run).
    m_session->setTextLanguages(code.startsWith(QLatin1String("zh")) ? TextLanguages::EnglishChinese
                                                                     : TextLanguages::English);
    if (!applyLanguage(code))
        showError(tr("Language"), tr("The translation for %1 could not be loaded.").arg(nativeLanguageName(code)));
    m_settings->setLanguage(code);
    updateActions();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    m_session->stopAll();
    saveSettings();
    m_settings->sync(); // now, on this thread: the window is going, nothing may wait for a writer
    event->accept();
}

void MainWindow::addRecentFile(const QString &path)
{
    m_settings->addRecentFile(path);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = m_settings->recentFiles();
    int n = 0;
    for (const QString &path : recent) {
        QAction *a = m_recentMenu->addAction(QStringLiteral("&%1 %2").arg(++n % 10).arg(QFileInfo(path).fileName()));
        a->setToolTip(path);
        connect(a, &QAction::triggered, this, [this, path] { openFiles({path}); });
    }
    if (recent.isEmpty())
        m_recentMenu->addAction(tr("(none)"))->setEnabled(false);
    m_recentMenu->addSeparator();
    m_recentMenu->addAction(m_clearRecentAction);
}

// ------------------------------------------------------------------------------------------------ images in

void MainWindow::openFiles(const QStringList &paths)
{
    for (const QString &path : paths)
        m_loader->loadFile(path);
    updateStatus();
}

void MainWindow::openImage(const QImage &image, const QString &title, const QString &path, const QImage &preview)
{
    QImage rgb;
    try {
        rgb = toRgb888(image);
    } catch (const Error &e) {
        showError(tr("Cannot open image"), errorText(e));
        return;
    }
    const QImage small = preview.isNull() ? ImageLoader::makePreview(rgb) : preview;
    const int id = m_session->addDocument(rgb, title, path, small);
    const QImage &thumbSource = small.isNull() ? rgb : small;
    const QImage thumb =
        thumbSource.scaled(kThumbWidth, kThumbHeight, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    auto *item = new QListWidgetItem(QIcon(QPixmap::fromImage(thumb)), title);
    item->setData(Qt::UserRole, id);
    item->setToolTip(path.isEmpty() ? title : path);
    m_strip->addItem(item);
    m_strip->setCurrentItem(item); // shows it
    statusBar()->showMessage(tr("Opened %1").arg(title), 4000);
    updateStatus();
    Q_EMIT documentOpened(id);
}

bool MainWindow::ingestMimeData(const QMimeData *mime)
{
    if (!mime)
        return false;
    QStringList files;
    bool remote = false;
    for (const QUrl &url : mime->urls()) {
        if (url.isLocalFile())
            files << url.toLocalFile();
        else
            remote = true;
    }
    if (!files.isEmpty()) {
        openFiles(files);
        return true;
    }
    // Raw encoded bytes (browsers offer image/png etc. when an image is dragged or copied): decode off-thread.
    for (const QString &format : mime->formats()) {
        if (!format.startsWith(QLatin1String("image/")))
            continue;
        const QByteArray bytes = mime->data(format);
        if (bytes.isEmpty())
            continue;
        const QByteArray hint = format.mid(6).toLatin1(); // "image/png" -> "png"
        m_loader->loadData(bytes, tr("Pasted image %1").arg(++m_pastedCount), hint);
        return true;
    }
    if (mime->hasImage()) {
        const QImage image = qvariant_cast<QImage>(mime->imageData());
        if (!image.isNull()) {
            openImage(image, tr("Pasted image %1").arg(++m_pastedCount));
            return true;
        }
    }
    if (remote)
        showError(tr("Cannot open image"),
                  tr("UHD Lens does not download images from web addresses. Save the image first, or drag the "
                     "picture itself instead of its link."));
    return false;
}

void MainWindow::pasteFromClipboard()
{
    if (!ingestMimeData(QApplication::clipboard()->mimeData()))
        statusBar()->showMessage(tr("The clipboard holds no image or image file."), 5000);
}

void MainWindow::captureScreenRegion()
{
    QString reason;
    RegionGrabber *grabber = RegionGrabber::start(&reason);
    if (!grabber) {
        // Wayland without a portal, or no screen at all: say why, and offer the other way in.
        if (!isVisible())
            show(); // a box needs its window: started from the desktop entry's capture action
        QMessageBox *box =
            reportError(QMessageBox::Information, tr("Screen capture"), reason, QMessageBox::Close);
        box->setObjectName(QStringLiteral("captureUnavailableBox"));
        QPushButton *open = box->addButton(tr("Open Image…"), QMessageBox::AcceptRole);
        box->setDefaultButton(open);
        connect(open, &QPushButton::clicked, this, [this] {
            show();
            openFileDialog();
        });
        Q_EMIT captureFinished(0);
        return;
    }
    connect(grabber, &RegionGrabber::captured, this, [this](const QImage &image) {
        const int before = m_session->documentCount();
        openImage(image, tr("Screen capture %1").arg(++m_pastedCount));
        const ImageDocument *doc = m_session->currentDocument();
        Q_EMIT captureFinished(m_session->documentCount() > before && doc ? doc->id : 0);
    });
    connect(grabber, &RegionGrabber::cancelled, this, [this] { Q_EMIT captureFinished(0); });
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() == QEvent::KeyPress && static_cast<QKeyEvent *>(event)->matches(QKeySequence::Paste)) {
        const QMimeData *mime = QApplication::clipboard()->mimeData();
        const bool hasText = mime && mime->hasText() && !mime->hasUrls();
        if (mime && !hasText && ingestMimeData(mime))
            return true;
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    const QMimeData *mime = event->mimeData();
    bool usable = mime->hasUrls() || mime->hasImage();
    for (const QString &f : mime->formats())
        usable = usable || f.startsWith(QLatin1String("image/"));
    if (usable)
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    if (ingestMimeData(event->mimeData()))
        event->acceptProposedAction();
}

void MainWindow::openFileDialog()
{
    auto *dialog = new QFileDialog(this, tr("Open Images"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFiles);
    dialog->setNameFilters({tr("Images (%1)").arg(imageFileFilter()), tr("PNG (*.png)"), tr("JPEG (*.jpg *.jpeg)"),
                            tr("WebP (*.webp)"), tr("TIFF (*.tif *.tiff)"), tr("All files (*)")});
    dialog->setDirectory(m_settings->lastImageFolder());
    connect(dialog, &QFileDialog::filesSelected, this, [this](const QStringList &files) {
        if (!files.isEmpty())
            m_settings->setLastImageFolder(QFileInfo(files.first()).absolutePath());
        openFiles(files);
    });
    dialog->open();
}

void MainWindow::closeCurrentDocument()
{
    const ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    const int id = doc->id;
    const int row = m_strip->currentRow();
    {
        const QSignalBlocker blocker(m_strip); // the session drops the image before a neighbour is shown
        delete m_strip->takeItem(row);
    }
    m_session->closeDocument(id); // cancels its answers only
    QListWidgetItem *next = m_strip->currentItem();
    showDocument(next ? next->data(Qt::UserRole).toInt() : 0);
}

ImageDocument *MainWindow::currentDocument() const
{
    return m_session->currentDocument();
}

void MainWindow::selectDocument(int index)
{
    if (index >= 0 && index < m_strip->count())
        m_strip->setCurrentRow(index);
}

void MainWindow::showDocument(int documentId)
{
    m_previewIndex = -1;
    const ImageDocument *document = m_session->document(documentId);
    m_canvas->setImage(document ? document->image : QImage(), document ? document->preview : QImage());
    m_canvas->setRegion(document ? document->region : std::nullopt);
    m_chatPanel->setDocument(document);
    m_chatPanel->setCacheBadgeVisible(false);
    if (document && m_textLayerAction->isChecked())
        showTextLayerOf(document->id);
    setWindowTitle(document ? tr("%1 — UHD Lens").arg(document->title) : tr("UHD Lens"));
    m_session->setCurrentDocument(documentId); // re-plans: showPlan()
    updateActions();
    updateStatus();
}

void MainWindow::setRegion(const std::optional<QRect> &region)
{
    const ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    m_previewIndex = -1;
    m_session->setRegion(region); // re-plans: showPlan()
    m_canvas->setRegion(doc->region);
    updateActions();
    if (doc->region)
        statusBar()->showMessage(tr("Region %1×%2 selected: questions are now about this part, planned at the full "
                                    "slice budget.")
                                     .arg(doc->region->width())
                                     .arg(doc->region->height()),
                                 6000);
}

void MainWindow::showPlan()
{
    const ImageDocument *doc = currentDocument();
    if (!doc) {
        m_exactView.reset();
        m_planPanel->showNoImage();
        m_canvas->clearPlan();
        return;
    }
    const SlicePlan &plan = currentPlan();
    m_canvas->setPlan(plan, doc->subjectRect().topLeft());
    m_exactView.reset();
    if (plan.overview.width > 0)
        m_renderGeneration = m_renderer->request(doc->subject(), plan, previewPadColour(modelInfo()));
    m_planPanel->showPlan(plan, m_session->layoutFor(plan.policy),
                          modelInfo() ? modelInfo()->contextLength : 0);
    if (m_previewIndex >= plan.sliceCount())
        m_previewIndex = -1;
    updateModelView();
    Q_EMIT planShown();
}

void MainWindow::showModelView(int index)
{
    m_previewIndex = index >= -1 && index < currentPlan().sliceCount() ? index : -1;
    updateModelView();
}

void MainWindow::updateModelView()
{
    const ImageDocument *doc = currentDocument();
    const SlicePlan &plan = currentPlan();
    if (!doc) {
        m_planPanel->showModelView({}, -1, plan);
        return;
    }
    if (m_exactView && m_previewIndex < static_cast<int>(m_exactView->slices.size())) {
        const QImage &exact = m_previewIndex < 0 ? m_exactView->overview
                                                 : m_exactView->slices.at(static_cast<size_t>(m_previewIndex));
        m_planPanel->showModelView(exact, m_previewIndex, plan);
        return;
    }
    // Until the exact render arrives: a crop-then-resize approximation, cheap even for huge images (the overview
    // of a whole huge image is made from its preview).
    QImage approx;
    if (m_previewIndex < 0 && !doc->region && !doc->preview.isNull()) {
        SlicePlan small = plan;
        small.input = {doc->preview.width(), doc->preview.height()};
        approx = quickModelInput(doc->preview, small, -1, previewPadColour(modelInfo()));
    } else {
        approx = quickModelInput(doc->subject(), plan, m_previewIndex, previewPadColour(modelInfo()));
    }
    m_planPanel->showModelView(approx, m_previewIndex, plan);
}

// ---------------------------------------------------------------------------------------------------- model

void MainWindow::useBundledModel()
{
    const QString folder = ModelList::bundledFolder();
    if (folder.isEmpty())
        showError(tr("No bundled model"),
                  tr("The bundled model (resources/models/uhd-lens-tiny) is not installed."));
    else
        loadModel(folder);
}

void MainWindow::openModelDialog()
{
    auto *dialog = new QFileDialog(this, tr("Open Model Folder"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::Directory);
    dialog->setOption(QFileDialog::ShowDirsOnly, true);
    const QString folder = m_session->modelFolder();
    dialog->setDirectory(folder.isEmpty() ? QDir::homePath() : folder);
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString &folder) { openModel(folder); });
    dialog->open();
}

namespace {

// GGUF files have no fixed name (Ollama's blobs are digests): every file is offered, *.gguf first.
QStringList ggufFilters()
{
    return {MainWindow::tr("GGUF files (*.gguf)"), MainWindow::tr("All files (*)")};
}

// A folder is read as a GGUF model when it holds *.gguf files and no config.json (a Hugging Face folder
// with a stray .gguf stays a Hugging Face folder, as core's loader decides).
bool isGgufChoice(const QString &path)
{
    const QFileInfo fi(path);
    if (fi.isFile())
        return true;
    const QDir dir(path);
    return fi.isDir() && !dir.exists(QStringLiteral("config.json")) &&
           !dir.entryList({QStringLiteral("*.gguf")}, QDir::Files).isEmpty();
}

} // namespace

void MainWindow::openGgufDialog()
{
    auto *dialog = new QFileDialog(this, tr("Open GGUF Model File"));
    dialog->setObjectName(QStringLiteral("ggufFileDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFile);
    dialog->setNameFilters(ggufFilters());
    const QString current = m_session->modelFolder();
    dialog->setDirectory(current.isEmpty() ? QDir::homePath() : QFileInfo(current).absolutePath());
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString &file) { openModel(file); });
    dialog->open();
}

bool MainWindow::openModel(const QString &path, const QString &mmproj)
{
    if (!mmproj.isEmpty() || isGgufChoice(path)) {
        try {
            (void)resolveGgufPair(path.toStdString(), mmproj.toStdString());
        } catch (const Error &e) {
            // One LLM file and no mmproj beside it (Ollama's blobs, a download of the LLM file only): ask for
            // the projector instead of failing; an mmproj file given alone still fails (it has no LLM).
            bool llmAlone = false;
            if (e.code() == ErrorCode::FileNotFound && mmproj.isEmpty() && QFileInfo(path).isFile()) {
                try {
                    llmAlone = describeGguf(path.toStdString()).kind == "llm";
                } catch (const Error &) {
                }
            }
            if (llmAlone) {
                auto *dialog = new QFileDialog(
                    this,
                    tr("Choose the mmproj (vision projector) file for %1").arg(QFileInfo(path).fileName()));
                dialog->setObjectName(QStringLiteral("ggufMmprojDialog"));
                dialog->setAttribute(Qt::WA_DeleteOnClose);
                dialog->setFileMode(QFileDialog::ExistingFile);
                dialog->setNameFilters(ggufFilters());
                dialog->setDirectory(QFileInfo(path).absolutePath());
                connect(dialog, &QFileDialog::fileSelected, this,
                        [this, path](const QString &file) { openModel(path, file); });
                dialog->open();
                return false;
            }
            // The model that is loaded stays loaded: nothing was sent to the engine.
            showError(tr("Cannot load model"), tr("%1 is not a GGUF model UHD Lens can load.").arg(path) +
                                                   QLatin1Char('\n') + ggufPairErrorText(e));
            return false;
        }
    }
    m_session->loadModel(path, mmproj); // stops what runs, drops what waits, then loads
    return true;
}

void MainWindow::loadModel(const QString &folder)
{
    m_session->loadModel(folder); // stops what runs, drops what waits, then loads
}

void MainWindow::onModelLoaded(const ModelInfo &info)
{
    m_modelPanel->showModel(info);
    m_chatPanel->setModelReady(true);
    QStringList suggestions;
    for (const std::string &q : info.suggestedQuestions)
        suggestions << QString::fromStdString(q);
    m_chatPanel->setSuggestions(suggestions);
    // The panel first learns the model's own slicing (its entries then name it), then shows the slicing the
    // session starts from (the model's own, or the one remembered for this model).
    const QString policy = m_session->policyName();
    const int maxSlices = m_session->maxSlices();
    m_planPanel->setModelPolicy(info.policy);
    m_planPanel->setPolicyName(policy);
    m_planPanel->setMaxSlices(maxSlices);
    m_session->setSlicing(m_planPanel->policyName(), m_planPanel->maxSlices());
    // A quantization known to cost small-text reading is said where it is seen: the model panel comes to the
    // front (it shares a tab with the plan) and the status bar carries the warning.
    const QString quantWarning = m_modelPanel->quantizationWarning();
    if (!quantWarning.isEmpty())
        m_modelDock->raise();
    statusBar()->showMessage(quantWarning.isEmpty()
                                 ? tr("Model %1 loaded.").arg(QString::fromStdString(info.name))
                                 : tr("Model %1 loaded.").arg(QString::fromStdString(info.name)) +
                                       QLatin1Char(' ') + quantWarning.section(QLatin1Char('\n'), 0, 0),
                             quantWarning.isEmpty() ? 5000 : 15000);
    updateActions();
    updateStatus();
    Q_EMIT modelChanged(true);
}

void MainWindow::onModelGone()
{
    m_planPanel->setModelPolicy(std::nullopt);
    m_chatPanel->setModelReady(false);
    m_chatPanel->setSuggestions({});
    updateActions();
    updateStatus();
}

void MainWindow::offerConversion(const QString &folder, const QString &file, const QString &message)
{
    // The engine never unpickles; offer the restricted conversion (uhdlens/convert.h) into a new sibling
    // folder, leaving the user's folder as it is.
    m_modelPanel->showError(message);
    updateStatus();
    const QString target = QString::fromStdString(suggestConvertedFolder(folder.toStdString()));
    auto *box =
        new QMessageBox(QMessageBox::Question, tr("Convert pickle weights?"),
                        tr("This folder keeps weights in a pickle file; convert them to safetensors?"),
                        QMessageBox::Yes | QMessageBox::No, this);
    box->setObjectName(QStringLiteral("convertPickleBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setInformativeText(tr("%1 is a PyTorch pickle file. UHD Lens never loads pickle files directly, "
                               "because loading one can run "
                               "code. It can convert the weights with a reader that accepts plain tensors "
                               "only, into a new folder:\n%2\n"
                               "The original folder is not changed.")
                                .arg(QFileInfo(file).fileName(), target));
    box->setDetailedText(message);
    box->setDefaultButton(QMessageBox::Yes);
    connect(box, &QMessageBox::finished, this, [this, box, folder, target, message](int) {
        if (box->clickedButton() != box->button(QMessageBox::Yes)) {
            m_session->declineConversion(message);
            return;
        }
        m_session->convertModel(folder, target);
        statusBar()->showMessage(tr("Converting the weights of %1 into %2…").arg(folder, target));
        updateStatus();
    });
    box->open(); // not exec(): no nested event loop
    Q_EMIT conversionOffered(file, target);
}

// ---------------------------------------------------------------------------------------------------- asking

void MainWindow::ask(const QString &question)
{
    if (m_session->ask(question)) {
        m_chatPanel->setQuestion(QString());
        m_chatPanel->setCacheBadgeVisible(false);
    }
}

void MainWindow::transcribe()
{
    if (m_session->transcribe())
        m_chatPanel->setCacheBadgeVisible(false);
}

BatchDialog *MainWindow::openBatchDialog()
{
    if (!m_batchDialog) {
        m_batchDialog = new BatchDialog(m_session, this);
        connect(m_batchDialog, &BatchDialog::openResultRequested, this, &MainWindow::openBatchResult);
    }
    m_batchDialog->show(); // non-modal: the window stays usable while a batch runs
    m_batchDialog->raise();
    m_batchDialog->activateWindow();
    return m_batchDialog;
}

void MainWindow::openBatchResult(const QString &path, const QString &question, const batch::Record &record)
{
    AnswerRecord answer;
    const bool ok = record.status == batch::Status::Ok;
    answer.state = ok ? AnswerState::Finished : AnswerState::Failed;
    answer.text = QString::fromStdString(record.answer);
    answer.error = ok ? QString() : QString::fromStdString(record.error);
    answer.policyName = QString::fromStdString(record.policy);
    answer.stopReason = QString::fromStdString(record.stopReason);
    answer.imageTokens = record.visualTokens;
    answer.promptTokens = record.promptTokens;
    answer.generatedTokens = record.generatedTokens;
    answer.encodeMs = record.encodeMs;
    answer.totalMs = record.totalMs;
    if (record.decodeMs > 0)
        answer.decodeTokensPerSecond = record.generatedTokens * 1000.0 / record.decodeMs;
    // Already open: show it there. Else open it; the answer joins it once it has decoded
    // (ImageLoader::loaded).
    const QString key = QFileInfo(path).absoluteFilePath();
    for (int row = 0; row < m_strip->count(); ++row) {
        const ImageDocument *doc = m_session->document(m_strip->item(row)->data(Qt::UserRole).toInt());
        if (doc && !doc->path.isEmpty() && QFileInfo(doc->path).absoluteFilePath() == key) {
            selectDocument(row);
            const bool shown = !doc->turns.empty() && doc->turns.back().question == question &&
                               doc->turns.back().answer.text == answer.text;
            if (!shown)
                m_session->addRecordedTurn(doc->id, question, answer);
            raise();
            activateWindow();
            return;
        }
    }
    m_pendingResults.insert(key, {question, answer});
    openFiles({path});
    raise();
    activateWindow();
}

void MainWindow::regenerate()
{
    if (m_session->regenerate()) {
        m_chatPanel->setQuestion(QString());
        m_chatPanel->setCacheBadgeVisible(false);
    }
}

void MainWindow::stop()
{
    m_session->stopAll();
}

// ---------------------------------------------------------------------------------------------------- export

QString MainWindow::exportMarkdown(const QString &path) const
{
    return m_session->exportConversation(path, false);
}

QString MainWindow::exportJson(const QString &path) const
{
    return m_session->exportConversation(path, true);
}

void MainWindow::exportDialog(bool json)
{
    ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    auto *dialog = new QFileDialog(this, json ? tr("Export Conversation as JSON") : tr("Export Conversation as Markdown"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    dialog->setNameFilter(json ? tr("JSON (*.json)") : tr("Markdown (*.md)"));
    dialog->setDefaultSuffix(json ? QStringLiteral("json") : QStringLiteral("md"));
    dialog->selectFile(QFileInfo(doc->title).completeBaseName() + (json ? QStringLiteral(".json") : QStringLiteral(".md")));
    connect(dialog, &QFileDialog::fileSelected, this, [this, json](const QString &path) {
        const QString error = json ? exportJson(path) : exportMarkdown(path);
        if (error.isEmpty())
            statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
        else
            showError(tr("Export failed"), error);
    });
    dialog->open();
}

void MainWindow::openPreferences()
{
    auto *dialog = new SettingsDialog(m_prefs, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const Preferences prefs = dialog->preferences();
        const std::string problem = prefs.generation.validate();
        if (!problem.empty()) {
            showError(tr("Preferences"), tr("A generation setting is out of range: %1").arg(QString::fromStdString(problem)));
            return;
        }
        setPreferences(prefs);
    });
    dialog->open();
}

void MainWindow::showError(const QString &title, const QString &message)
{
    reportError(QMessageBox::Warning, title, message, QMessageBox::Ok)
        ->setObjectName(QStringLiteral("errorBox"));
}

QMessageBox *MainWindow::reportError(QMessageBox::Icon icon, const QString &title, const QString &message,
                                     QMessageBox::StandardButtons buttons)
{
    m_lastError = message;
    statusBar()->showMessage(message.section(QLatin1Char('\n'), 0, 0), 8000);
    auto *box = new QMessageBox(icon, title, message, buttons, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open(); // not exec(): no nested event loop
    Q_EMIT errorShown(message);
    return box;
}

} // namespace uhdlens::ui
