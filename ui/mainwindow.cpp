#include "mainwindow.h"

#include "chatpanel.h"
#include "conversationexport.h"
#include "engineworker.h"
#include "errortext.h"
#include "imageloader.h"
#include "language.h"
#include "modelpanel.h"
#include "modelview.h"
#include "planpanel.h"
#include "screencapture.h"
#include "slicecanvas.h"

#include "uhdlens/convert.h"
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
#include <QImageReader>
#include <QKeyEvent>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSaveFile>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QUrl>

#include <algorithm>
#include <numeric>

#ifndef UHDLENS_RESOURCES_SOURCE_DIR
#define UHDLENS_RESOURCES_SOURCE_DIR ""
#endif

namespace uhdlens::ui {

namespace {

constexpr int kMaxRecent = 10;
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

} // namespace

MainWindow::MainWindow(const MainWindowOptions &options, QWidget *parent) : QMainWindow(parent), m_options(options)
{
    setObjectName(QStringLiteral("UhdLensMainWindow"));
    m_settings = options.settingsFile.isEmpty()
                     ? std::make_unique<QSettings>()
                     : std::make_unique<QSettings>(options.settingsFile, QSettings::IniFormat);
    setAcceptDrops(true);
    setWindowIcon(QIcon::fromTheme(QStringLiteral("image-x-generic")));

    m_engine = new EngineThread(this);
    m_loader = new ImageLoader(this);
    m_progressTimer = new QTimer(this);
    m_progressTimer->setSingleShot(true);
    m_progressTimer->setInterval(100);
    connect(m_progressTimer, &QTimer::timeout, this, &MainWindow::updateAnswerProgress);
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

    EngineWorker *worker = m_engine->worker();
    connect(worker, &EngineWorker::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(worker, &EngineWorker::modelFailed, this, &MainWindow::onModelFailed);
    connect(worker, &EngineWorker::modelNeedsConversion, this, &MainWindow::onModelNeedsConversion);
    connect(worker, &EngineWorker::modelConverted, this, &MainWindow::onModelConverted);
    connect(worker, &EngineWorker::conversionProgress, this, [this](double fraction, const QString &what) {
        m_chatPanel->showProgress(tr("Converting weights: %1 (%2%)").arg(what).arg(qRound(fraction * 100)),
                                  fraction);
    });
    connect(worker, &EngineWorker::conversionFailed, this, [this](const QString &message) {
        m_modelLoading = false;
        m_chatPanel->hideProgress();
        showError(tr("Conversion failed"),
                  tr("The weights of %1 could not be converted.").arg(m_modelFolder) + QLatin1Char('\n') +
                      message);
        updateActions();
        updateStatus();
        Q_EMIT modelChanged(false);
    });
    connect(worker, &EngineWorker::loadProgress, this, &MainWindow::onLoadProgress);
    connect(worker, &EngineWorker::modelUnloaded, this, [this] {
        m_modelInfo.reset();
        m_planPanel->setModelPolicy(std::nullopt);
        m_modelPanel->showNoModel();
        m_chatPanel->setModelReady(false);
        m_chatPanel->setSuggestions({});
        m_settings->remove(QStringLiteral("model/folder")); // start without a model next time too
        updateActions();
        updateStatus();
        replan();
        Q_EMIT modelChanged(false);
    });
    connect(worker, &EngineWorker::started, this, &MainWindow::onStarted);
    connect(worker, &EngineWorker::planReady, this, &MainWindow::onPlanReady);
    connect(worker, &EngineWorker::sliceEncoded, this, &MainWindow::onSliceEncoded);
    connect(worker, &EngineWorker::token, this, &MainWindow::onToken);
    connect(worker, &EngineWorker::finished, this, &MainWindow::onFinished);
    connect(worker, &EngineWorker::failed, this, &MainWindow::onFailed);

    connect(m_loader, &ImageLoader::loaded, this,
            [this](const QImage &image, const QImage &preview, const QString &name, const QString &path) {
                openImage(image, name, path, preview);
                if (!path.isEmpty())
                    addRecentFile(path);
            });
    connect(m_loader, &ImageLoader::failed, this, [this](const QString &name, const QString &message) {
        showError(tr("Cannot open image"), tr("%1 could not be opened.").arg(name) + QLatin1Char('\n') + message);
        updateStatus();
    });

    connect(m_planPanel, &PlanPanel::policyChanged, this, &MainWindow::replan);
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
    connect(m_chatPanel, &ChatPanel::stopRequested, this, &MainWindow::stop);
    connect(m_chatPanel, &ChatPanel::regenerateRequested, this, &MainWindow::regenerate);
    connect(m_chatPanel, &ChatPanel::clearRequested, this, [this] {
        if (ImageDocument *doc = currentDocument()) {
            doc->turns.clear();
            const int id = doc->id;
            EngineWorker *w = engine();
            QMetaObject::invokeMethod(w, [w, id] { w->forgetDocument(id); }, Qt::QueuedConnection);
            m_chatPanel->renderNow();
        }
    });
    connect(m_modelPanel, &ModelPanel::openFolderRequested, this, &MainWindow::openModelDialog);
    connect(m_modelPanel, &ModelPanel::useDefaultRequested, this, [this] {
        const QString folder = defaultModelFolder();
        if (folder.isEmpty())
            showError(tr("No bundled model"), tr("The bundled model (resources/models/uhd-lens-tiny) is not installed."));
        else
            loadModel(folder);
    });

    // Ctrl+V while typing a question pastes text as usual, but an image (or copied image files) on the
    // clipboard opens as an image instead of doing nothing.
    if (auto *box = m_chatPanel->findChild<QWidget *>(QStringLiteral("questionBox")))
        box->installEventFilter(this);

    loadSettings();
    retranslateUi();
    m_chatPanel->setDocument(nullptr);
    m_planPanel->showNoImage();
    updateActions();
    updateStatus();

    if (options.loadDefaultModel) {
        QString folder = m_settings->value(QStringLiteral("model/folder")).toString();
        if (folder.isEmpty() || !QFileInfo(folder).isDir())
            folder = defaultModelFolder();
        if (!folder.isEmpty())
            loadModel(folder);
    }
}

MainWindow::~MainWindow()
{
    // The engine thread is a child; its destructor cancels and joins. Pending decode tasks are awaited by the loader.
}

EngineWorker *MainWindow::engine() const
{
    return m_engine->worker();
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
    m_defaultModelAction = make(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M), QString(), [this] {
        const QString folder = defaultModelFolder();
        if (folder.isEmpty())
            showError(tr("No bundled model"), tr("The bundled model (resources/models/uhd-lens-tiny) is not installed."));
        else
            loadModel(folder);
    });
    m_unloadModelAction = make(QKeySequence(), QString(), [this] {
        engine()->cancelAll();
        EngineWorker *w = engine();
        QMetaObject::invokeMethod(w, [w] { w->unloadModel(); }, Qt::QueuedConnection);
    });
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
        m_settings->setValue(QStringLiteral("files/recent"), QStringList());
        updateRecentMenu();
    });
    m_focusQuestionAction = make(QKeySequence(Qt::CTRL | Qt::Key_L), QString(), [this] {
        m_chatDock->raise();
        if (auto *box = m_chatPanel->findChild<QWidget *>(QStringLiteral("questionBox")))
            box->setFocus();
    });

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
    m_fileMenu->addAction(m_closeAction);
    m_fileMenu->addAction(m_quitAction);

    m_viewMenu = menuBar()->addMenu(QString());
    for (QAction *a : {m_zoomInAction, m_zoomOutAction, m_fitAction, m_actualAction})
        m_viewMenu->addAction(a);
    m_viewMenu->addSeparator();
    for (QAction *a : {m_gridAction, m_regionModeAction, m_clearRegionAction})
        m_viewMenu->addAction(a);
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(m_prevImageAction);
    m_viewMenu->addAction(m_nextImageAction);
    m_viewMenu->addSeparator();

    m_modelMenu = menuBar()->addMenu(QString());
    m_modelMenu->addAction(m_openModelAction);
    m_modelMenu->addAction(m_defaultModelAction);
    m_modelMenu->addAction(m_unloadModelAction);

    m_chatMenu = menuBar()->addMenu(QString());
    for (QAction *a : {m_chatPanel->sendAction(), m_chatPanel->stopAction(), m_chatPanel->regenerateAction(),
                       m_chatPanel->copyAction(), m_chatPanel->abAction(), m_chatPanel->clearAction()})
        m_chatMenu->addAction(a);
    m_chatMenu->addAction(m_focusQuestionAction);

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
            showDocument(nullptr);
            return;
        }
        const int id = m_strip->item(row)->data(Qt::UserRole).toInt();
        for (auto &doc : m_documents) {
            if (doc->id == id)
                showDocument(doc.get());
        }
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
    setWindowTitle(m_current ? tr("%1 — UHD Lens").arg(m_current->title) : tr("UHD Lens"));
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
    m_openModelAction->setToolTip(tr("Load a model folder (config.json, *.safetensors, tokenizer.model) (Ctrl+M)"));
    m_defaultModelAction->setText(tr("Use &Bundled Model"));
    m_unloadModelAction->setText(tr("&Unload Model"));
    m_preferencesAction->setText(tr("&Preferences…"));
    m_aboutAction->setText(tr("&About UHD Lens"));
    m_clearRecentAction->setText(tr("Clear Recent Files"));
    m_focusQuestionAction->setText(tr("Focus &Question Box"));
    m_stripDock->setWindowTitle(tr("Images"));
    m_planDock->setWindowTitle(tr("Plan"));
    m_chatDock->setWindowTitle(tr("Chat"));
    m_modelDock->setWindowTitle(tr("Model"));
    updateRecentMenu();
    updateStatus();
    if (m_current)
        replan(); // re-render the plan texts in the new language
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QMainWindow::changeEvent(event);
}

void MainWindow::updateActions()
{
    const bool haveDoc = m_current != nullptr;
    for (QAction *a : {m_closeAction, m_exportMdAction, m_exportJsonAction, m_zoomInAction, m_zoomOutAction,
                       m_fitAction, m_actualAction, m_regionModeAction})
        a->setEnabled(haveDoc);
    m_clearRegionAction->setEnabled(haveDoc && m_current->region.has_value());
    m_nextImageAction->setEnabled(m_documents.size() > 1);
    m_prevImageAction->setEnabled(m_documents.size() > 1);
    m_unloadModelAction->setEnabled(m_modelInfo.has_value());
    for (QAction *a : m_languageGroup->actions())
        a->setChecked(a->data().toString() == m_prefs.language);
}

void MainWindow::updateStatus()
{
    if (m_current)
        m_statusImage->setText(tr("%1×%2 px").arg(m_current->image.width()).arg(m_current->image.height()));
    else
        m_statusImage->clear();
    m_statusZoom->setText(m_current ? tr("zoom %1%").arg(qRound(m_canvas->zoom() * 100)) : QString());
    if (m_modelLoading)
        m_statusModel->setText(tr("loading model…"));
    else if (m_modelInfo)
        m_statusModel->setText(tr("model: %1").arg(QString::fromStdString(m_modelInfo->name)));
    else
        m_statusModel->setText(tr("no model loaded"));
    if (m_loader->pending() > 0)
        statusBar()->showMessage(tr("Decoding %n image(s)…", nullptr, m_loader->pending()));
}

// ------------------------------------------------------------------------------------------------- settings

void MainWindow::loadSettings()
{
    QSettings &s = *m_settings;
    m_prefs.generation.maxNewTokens = s.value(QStringLiteral("generation/maxNewTokens"), 256).toInt();
    m_prefs.generation.temperature = s.value(QStringLiteral("generation/temperature"), 0.0).toFloat();
    m_prefs.generation.topK = s.value(QStringLiteral("generation/topK"), 0).toInt();
    m_prefs.generation.topP = s.value(QStringLiteral("generation/topP"), 1.0).toFloat();
    m_prefs.generation.repetitionPenalty = s.value(QStringLiteral("generation/repetitionPenalty"), 1.0).toFloat();
    m_prefs.generation.seed = s.value(QStringLiteral("generation/seed"), 0).toULongLong();
    m_prefs.generation.stopStrings.clear();
    for (const QString &stop : s.value(QStringLiteral("generation/stopStrings")).toStringList())
        m_prefs.generation.stopStrings.push_back(stop.toStdString());
    if (!m_prefs.generation.validate().empty())
        m_prefs.generation = GenerationSettings{}; // a hand-edited settings file must not break asking
    m_prefs.device = s.value(QStringLiteral("model/device"), QStringLiteral("auto")).toString();
    m_prefs.dtype = s.value(QStringLiteral("model/dtype"), QStringLiteral("auto")).toString();
    m_prefs.language = initialLanguage(s.value(QStringLiteral("ui/language")).toString());
    if (m_prefs.language != currentLanguage())
        applyLanguage(m_prefs.language);

    m_planPanel->setPolicyName(s.value(QStringLiteral("plan/policy"), QStringLiteral("minicpmv")).toString());
    m_planPanel->setMaxSlices(s.value(QStringLiteral("plan/maxSlices"), m_planPanel->maxSlices()).toInt());
    m_chatPanel->setAbMode(s.value(QStringLiteral("chat/abMode"), false).toBool());
    restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
}

void MainWindow::saveSettings() const
{
    QSettings &s = *m_settings;
    s.setValue(QStringLiteral("generation/maxNewTokens"), m_prefs.generation.maxNewTokens);
    s.setValue(QStringLiteral("generation/temperature"), m_prefs.generation.temperature);
    s.setValue(QStringLiteral("generation/topK"), m_prefs.generation.topK);
    s.setValue(QStringLiteral("generation/topP"), m_prefs.generation.topP);
    s.setValue(QStringLiteral("generation/repetitionPenalty"), m_prefs.generation.repetitionPenalty);
    s.setValue(QStringLiteral("generation/seed"), QVariant::fromValue<qulonglong>(m_prefs.generation.seed));
    QStringList stops;
    for (const std::string &stop : m_prefs.generation.stopStrings)
        stops << QString::fromStdString(stop);
    s.setValue(QStringLiteral("generation/stopStrings"), stops);
    s.setValue(QStringLiteral("model/device"), m_prefs.device);
    s.setValue(QStringLiteral("model/dtype"), m_prefs.dtype);
    s.setValue(QStringLiteral("ui/language"), m_prefs.language);
    s.setValue(QStringLiteral("plan/policy"), m_planPanel->policyName());
    s.setValue(QStringLiteral("plan/maxSlices"), m_planPanel->maxSlices());
    // The model this slicing was chosen with (empty: none was loaded), so it is restored for that model only.
    s.setValue(QStringLiteral("plan/forModel"),
               m_modelInfo ? QString::fromStdString(m_modelInfo->modelDir) : QString());
    s.setValue(QStringLiteral("chat/abMode"), m_chatPanel->abMode());
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.sync();
}

void MainWindow::setPreferences(const Preferences &prefs)
{
    const QString language = prefs.language;
    m_prefs = prefs;
    if (language != currentLanguage())
        setLanguage(language);
    saveSettings();
}

void MainWindow::setLanguage(const QString &code)
{
    m_prefs.language = code;
    if (!applyLanguage(code))
        showError(tr("Language"), tr("The translation for %1 could not be loaded.").arg(nativeLanguageName(code)));
    m_settings->setValue(QStringLiteral("ui/language"), code);
    updateActions();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    engine()->cancelAll();
    saveSettings();
    event->accept();
}

void MainWindow::addRecentFile(const QString &path)
{
    QStringList recent = m_settings->value(QStringLiteral("files/recent")).toStringList();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    m_settings->setValue(QStringLiteral("files/recent"), recent);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = m_settings->value(QStringLiteral("files/recent")).toStringList();
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
    auto doc = std::make_unique<ImageDocument>();
    doc->id = m_nextDocumentId++;
    doc->title = title;
    doc->path = path;
    doc->image = rgb;
    doc->preview = preview.isNull() ? ImageLoader::makePreview(rgb) : preview;
    const QImage &small = doc->preview.isNull() ? rgb : doc->preview;
    const QImage thumb = small.scaled(kThumbWidth, kThumbHeight, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    auto *item = new QListWidgetItem(QIcon(QPixmap::fromImage(thumb)), title);
    item->setData(Qt::UserRole, doc->id);
    item->setToolTip(path.isEmpty() ? title : path);
    const int id = doc->id;
    m_documents.push_back(std::move(doc));
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
        showError(tr("Screen capture"), reason);
        return;
    }
    connect(grabber, &RegionGrabber::captured, this, [this](const QImage &image) {
        openImage(image, tr("Screen capture %1").arg(++m_pastedCount));
    });
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
    dialog->setDirectory(m_settings->value(QStringLiteral("files/lastDir"), QDir::homePath()).toString());
    connect(dialog, &QFileDialog::filesSelected, this, [this](const QStringList &files) {
        if (!files.isEmpty())
            m_settings->setValue(QStringLiteral("files/lastDir"), QFileInfo(files.first()).absolutePath());
        openFiles(files);
    });
    dialog->open();
}

void MainWindow::closeCurrentDocument()
{
    ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    const int id = doc->id;
    // Answers still streaming for this image go nowhere: cancel them first.
    bool busy = false;
    for (const RequestState &r : std::as_const(m_requests))
        busy = busy || r.documentId == id;
    if (busy)
        engine()->cancelAll();
    EngineWorker *w = engine();
    QMetaObject::invokeMethod(w, [w, id] { w->forgetDocument(id); }, Qt::QueuedConnection);
    const int row = m_strip->currentRow();
    m_current = nullptr;
    delete m_strip->takeItem(row); // may select a neighbour
    m_documents.erase(std::remove_if(m_documents.begin(), m_documents.end(),
                                     [id](const auto &d) { return d->id == id; }),
                      m_documents.end());
    if (m_strip->count() == 0)
        showDocument(nullptr);
    else
        showDocument(currentDocument());
}

ImageDocument *MainWindow::currentDocument() const
{
    QListWidgetItem *item = m_strip->currentItem();
    if (!item)
        return nullptr;
    const int id = item->data(Qt::UserRole).toInt();
    for (const auto &doc : m_documents) {
        if (doc->id == id)
            return doc.get();
    }
    return nullptr;
}

void MainWindow::selectDocument(int index)
{
    if (index >= 0 && index < m_strip->count())
        m_strip->setCurrentRow(index);
}

void MainWindow::showDocument(ImageDocument *document)
{
    m_current = document;
    m_previewIndex = -1;
    m_canvas->setImage(document ? document->image : QImage(), document ? document->preview : QImage());
    m_canvas->setRegion(document ? document->region : std::nullopt);
    m_chatPanel->setDocument(document);
    m_chatPanel->setCacheBadgeVisible(false);
    setWindowTitle(document ? tr("%1 — UHD Lens").arg(document->title) : tr("UHD Lens"));
    if (document)
        replan();
    else
        m_planPanel->showNoImage();
    updateActions();
    updateStatus();
}

// ---------------------------------------------------------------------------------------------------- plan

SlicePolicy MainWindow::effectivePolicy() const
{
    const std::string name = m_planPanel->policyName().toStdString();
    SlicePolicy policy = SlicePolicy::fromName(name).value_or(SlicePolicy::minicpmv());
    // A loaded model's own slicing (its scale and patch) wins for the policy it was trained with.
    if (m_modelInfo && m_modelInfo->policy.kind == policy.kind)
        policy = m_modelInfo->policy;
    if (policy.kind != PolicyKind::Llava15)
        policy.maxSlices = m_planPanel->maxSlices();
    return policy;
}

TokenLayout MainWindow::layoutFor(const SlicePolicy &policy) const
{
    // With a model, its resampler decides the tokens per encoded image whatever the slicing; without one, each
    // policy counts with the layout of the model it comes from.
    if (m_modelInfo)
        return m_modelInfo->layout;
    return policy.defaultLayout();
}

void MainWindow::setRegion(const std::optional<QRect> &region)
{
    ImageDocument *doc = currentDocument();
    if (!doc)
        return;
    doc->region = region ? std::optional<QRect>(region->intersected(doc->image.rect())) : std::nullopt;
    if (doc->region && doc->region->isEmpty())
        doc->region.reset();
    m_canvas->setRegion(doc->region);
    m_previewIndex = -1;
    replan();
    updateActions();
    if (doc->region)
        statusBar()->showMessage(tr("Region %1×%2 selected: questions are now about this part, planned at the full "
                                    "slice budget.")
                                     .arg(doc->region->width())
                                     .arg(doc->region->height()),
                                 6000);
}

void MainWindow::replan()
{
    ImageDocument *doc = currentDocument();
    if (!doc) {
        m_exactView.reset();
        m_planPanel->showNoImage();
        m_canvas->clearPlan();
        return;
    }
    const SlicePolicy policy = effectivePolicy();
    const QRect area = doc->subjectRect();
    m_plan = planSlices({area.width(), area.height()}, policy);
    m_canvas->setPlan(m_plan, area.topLeft());
    m_exactView.reset();
    if (m_plan.overview.width > 0)
        m_renderGeneration = m_renderer->request(doc->subject(), m_plan, previewPadColour(m_modelInfo));
    m_planPanel->showPlan(m_plan, layoutFor(policy), m_modelInfo ? m_modelInfo->contextLength : 0);
    if (m_previewIndex >= m_plan.sliceCount())
        m_previewIndex = -1;
    updateModelView();
    Q_EMIT planShown();
}

void MainWindow::showModelView(int index)
{
    m_previewIndex = index >= -1 && index < m_plan.sliceCount() ? index : -1;
    updateModelView();
}

void MainWindow::updateModelView()
{
    ImageDocument *doc = currentDocument();
    if (!doc) {
        m_planPanel->showModelView({}, -1, m_plan);
        return;
    }
    if (m_exactView && m_previewIndex < static_cast<int>(m_exactView->slices.size())) {
        const QImage &exact = m_previewIndex < 0 ? m_exactView->overview
                                                 : m_exactView->slices.at(static_cast<size_t>(m_previewIndex));
        m_planPanel->showModelView(exact, m_previewIndex, m_plan);
        return;
    }
    // Until the exact render arrives: a crop-then-resize approximation, cheap even for huge images (the overview
    // of a whole huge image is made from its preview).
    QImage approx;
    if (m_previewIndex < 0 && !doc->region && !doc->preview.isNull()) {
        SlicePlan small = m_plan;
        small.input = {doc->preview.width(), doc->preview.height()};
        approx = quickModelInput(doc->preview, small, -1, previewPadColour(m_modelInfo));
    } else {
        approx = quickModelInput(doc->subject(), m_plan, m_previewIndex, previewPadColour(m_modelInfo));
    }
    m_planPanel->showModelView(approx, m_previewIndex, m_plan);
}

// ---------------------------------------------------------------------------------------------------- model

QString MainWindow::defaultModelFolder() const
{
    const QString app = QCoreApplication::applicationDirPath();
    const QStringList candidates = {
        app + QStringLiteral("/../share/uhdlens/models/uhd-lens-tiny"),
        app + QStringLiteral("/../resources/models/uhd-lens-tiny"),
        QStringLiteral(UHDLENS_RESOURCES_SOURCE_DIR "/models/uhd-lens-tiny"),
    };
    for (const QString &c : candidates) {
        if (QFileInfo(c + QStringLiteral("/config.json")).isFile())
            return QDir::cleanPath(c);
    }
    return {};
}

void MainWindow::openModelDialog()
{
    auto *dialog = new QFileDialog(this, tr("Open Model Folder"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::Directory);
    dialog->setOption(QFileDialog::ShowDirsOnly, true);
    dialog->setDirectory(m_modelFolder.isEmpty() ? QDir::homePath() : m_modelFolder);
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString &folder) { loadModel(folder); });
    dialog->open();
}

void MainWindow::loadModel(const QString &folder)
{
    // A model switch is safe at any moment: stop what runs, drop what waits, then load (queued behind the stop).
    engine()->cancelAll();
    m_modelLoading = true;
    m_modelFolder = folder;
    m_modelPanel->showLoading(folder);
    m_chatPanel->showProgress(tr("Loading model…"), 0.0);
    LoadOptions options;
    options.modelDir = folder.toStdString();
    // The settings' values are the name tables' spellings (settingsdialog.cpp); anything else stored means auto.
    options.device.kind = fromName<Device>(m_prefs.device.toStdString()).value_or(Device::Auto);
    options.dtype = fromName<Dtype>(m_prefs.dtype.toStdString()).value_or(Dtype::Auto);
    EngineWorker *w = engine();
    QMetaObject::invokeMethod(w, [w, options] { w->loadModel(options); }, Qt::QueuedConnection);
    updateStatus();
}

void MainWindow::onLoadProgress(double fraction, const QString &stage)
{
    m_modelPanel->showProgress(fraction, stage);
    m_chatPanel->showProgress(tr("Loading model: %1 (%2%)").arg(stage).arg(qRound(fraction * 100)), fraction);
}

void MainWindow::onModelLoaded(const ModelInfo &info)
{
    m_modelLoading = false;
    m_modelInfo = info;
    m_modelPanel->showModel(info);
    m_chatPanel->hideProgress();
    m_chatPanel->setModelReady(true);
    QStringList suggestions;
    for (const std::string &q : info.suggestedQuestions)
        suggestions << QString::fromStdString(q);
    m_chatPanel->setSuggestions(suggestions);
    // A newly chosen model brings its own slicing (policy and slice budget) as the starting point. The slicing
    // remembered from last time is restored only for the first model of the session and only when it was set
    // for that very model (plan/forModel, written with it): a settings file from before that key, or one saved
    // with another model or none, must not ask this model with slicing it was not trained for.
    const QString folder = QString::fromStdString(info.modelDir);
    m_planPanel->setModelPolicy(info.policy);
    const bool restore = !m_slicingRestoreTried && m_settings->contains(QStringLiteral("plan/policy")) &&
                         m_settings->value(QStringLiteral("plan/forModel")).toString() == folder;
    m_slicingRestoreTried = true;
    if (!restore) {
        m_planPanel->setPolicyName(QString::fromStdString(info.policy.name()));
        if (info.policy.kind != PolicyKind::Llava15)
            m_planPanel->setMaxSlices(info.policy.maxSlices);
    }
    m_settings->setValue(QStringLiteral("model/folder"), folder);
    statusBar()->showMessage(tr("Model %1 loaded.").arg(QString::fromStdString(info.name)), 5000);
    updateActions();
    updateStatus();
    replan(); // the model's own slicing and context change the figures
    Q_EMIT modelChanged(true);
}

void MainWindow::onModelFailed(const QString &message)
{
    m_modelLoading = false;
    m_modelInfo.reset();
    m_planPanel->setModelPolicy(std::nullopt);
    m_modelPanel->showError(message);
    m_chatPanel->hideProgress();
    m_chatPanel->setModelReady(false);
    m_chatPanel->setSuggestions({});
    showError(tr("Cannot load model"), tr("%1 is not a model UHD Lens can load.").arg(m_modelFolder) +
                                           QLatin1Char('\n') + message);
    updateActions();
    updateStatus();
    replan();
    Q_EMIT modelChanged(false);
}

void MainWindow::onModelNeedsConversion(const QString &folder, const QString &file, const QString &message)
{
    // The engine never unpickles; offer the restricted conversion (uhdlens/convert.h) into a new sibling
    // folder, leaving the user's folder as it is.
    m_modelLoading = false;
    m_chatPanel->hideProgress();
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
            onModelFailed(message);
            return;
        }
        m_modelLoading = true;
        m_chatPanel->showProgress(tr("Converting weights…"), 0.0);
        statusBar()->showMessage(tr("Converting the weights of %1 into %2…").arg(folder, target));
        EngineWorker *w = engine();
        QMetaObject::invokeMethod(
            w, [w, folder, target] { w->convertModel(folder, target); }, Qt::QueuedConnection);
        updateStatus();
    });
    box->open(); // not exec(): no nested event loop
    Q_EMIT conversionOffered(file, target);
}

void MainWindow::onModelConverted(const QString &folder, const QString &summary)
{
    statusBar()->showMessage(tr("Converted weights written to %1; loading it.").arg(folder), 10000);
    m_modelPanel->showProgress(0.0, tr("Converted: %1").arg(summary));
    Q_EMIT modelConverted(folder);
    loadModel(folder);
}

// ---------------------------------------------------------------------------------------------------- asking

void MainWindow::ask(const QString &question)
{
    askWith(question, false);
}

void MainWindow::regenerate()
{
    ImageDocument *doc = currentDocument();
    if (!doc || doc->turns.empty() || isGenerating())
        return;
    const QString question = doc->turns.back().question;
    doc->turns.pop_back();
    askWith(question, true);
}

void MainWindow::askWith(const QString &question, bool restartContext)
{
    ImageDocument *doc = currentDocument();
    if (!doc || question.trimmed().isEmpty())
        return;
    ChatTurn turn;
    turn.question = question.trimmed();
    turn.askedAt = QDateTime::currentDateTime();
    const SlicePolicy policy = effectivePolicy();
    turn.answer.policyName = QString::fromStdString(policy.name());
    const bool ab = m_chatPanel->abMode() && policy.kind != PolicyKind::Llava15;
    if (ab) {
        turn.baseline = AnswerRecord{};
        turn.baseline->policyName = QStringLiteral("llava15");
    }
    if (!m_modelInfo && !m_modelLoading) {
        turn.answer.finished = true;
        turn.answer.error = tr("No model is loaded. Open a model folder (Model > Open Model Folder) to ask questions.");
        doc->turns.push_back(std::move(turn));
        m_chatPanel->renderNow();
        m_lastError = doc->turns.back().answer.error;
        Q_EMIT errorShown(m_lastError);
        return;
    }
    doc->turns.push_back(std::move(turn));
    const size_t turnIndex = doc->turns.size() - 1;

    auto queue = [&](int variant, const SlicePolicy &p) {
        AskRequest request;
        request.id = engine()->nextRequestId();
        request.documentId = doc->id;
        request.variant = variant;
        request.image = doc->subject();
        request.policy = p;
        request.question = question.trimmed();
        request.settings = m_prefs.generation;
        request.restartContext = restartContext;
        if (restartContext) // a different sample when sampling; identical answer when greedy (temperature 0)
            request.settings.seed += static_cast<std::uint64_t>(turnIndex + 1);
        RequestState state;
        state.documentId = doc->id;
        state.turnIndex = turnIndex;
        state.baseline = variant == 1;
        state.clock.start();
        (variant == 1 ? *doc->turns[turnIndex].baseline : doc->turns[turnIndex].answer).requestId = request.id;
        m_requests.insert(request.id, state);
        EngineWorker *w = engine();
        QMetaObject::invokeMethod(w, [w, request] { w->ask(request); }, Qt::QueuedConnection);
    };
    queue(0, policy);
    if (ab) {
        SlicePolicy baseline = SlicePolicy::llava15();
        if (m_modelInfo) { // the baseline view at the model's own encoder resolution
            baseline.scale = m_modelInfo->policy.scale;
            baseline.patch = m_modelInfo->policy.patch;
        }
        queue(1, baseline);
    }
    m_chatPanel->setQuestion(QString());
    m_chatPanel->setBusy(true);
    m_chatPanel->setCacheBadgeVisible(false);
    m_chatPanel->showProgress(m_modelLoading ? tr("Waiting for the model to load…") : tr("Preparing the image…"), -1);
    m_chatPanel->renderNow();
}

void MainWindow::stop()
{
    engine()->cancelAll();
    m_chatPanel->showProgress(tr("Stopping…"), -1);
}

AnswerRecord *MainWindow::answerFor(quint64 requestId)
{
    auto it = m_requests.find(requestId);
    if (it == m_requests.end())
        return nullptr;
    for (auto &doc : m_documents) {
        if (doc->id != it->documentId)
            continue;
        if (it->turnIndex >= doc->turns.size())
            return nullptr;
        ChatTurn &turn = doc->turns[it->turnIndex];
        AnswerRecord *a = it->baseline ? (turn.baseline ? &*turn.baseline : nullptr) : &turn.answer;
        return a && a->requestId == requestId ? a : nullptr;
    }
    return nullptr; // the image was closed meanwhile
}

void MainWindow::onStarted(quint64 id)
{
    if (auto it = m_requests.find(id); it != m_requests.end())
        it->clock.restart(); // time the answer itself, not the wait in the queue
}

void MainWindow::onPlanReady(quint64 id, const SlicePlan &plan)
{
    if (AnswerRecord *a = answerFor(id)) {
        a->plan = plan;
        a->hasPlan = true;
        a->imageTokens =
            imagePositions(plan, layoutFor(plan.policy), m_modelInfo ? m_modelInfo->tokensPerImage : 0);
        m_chatPanel->scheduleRender();
    }
}

void MainWindow::onSliceEncoded(quint64 id, int index, int total, double ms)
{
    auto it = m_requests.find(id);
    if (it == m_requests.end())
        return;
    it->sliceMs.push_back(ms);
    const double mean = std::accumulate(it->sliceMs.begin(), it->sliceMs.end(), 0.0) / it->sliceMs.size();
    const double eta = mean * (total - index) / 1000.0;
    const QString what = it->baseline ? tr("baseline view %1/%2").arg(index).arg(total)
                                      : tr("slice %1/%2").arg(index).arg(total);
    m_chatPanel->showProgress(tr("Encoding %1 · %2 ms · ETA %3 s").arg(what).arg(qRound(ms)).arg(eta, 0, 'f', 1),
                              double(index) / total);
}

void MainWindow::onToken(quint64 id, const QString &piece)
{
    // Called once per generated token, possibly thousands per second with a small model: keep it to an append.
    // The transcript and the progress line refresh on timers (ChatPanel::scheduleRender, m_progressTimer).
    auto it = m_requests.find(id);
    if (it == m_requests.end())
        return;
    ++it->tokens;
    if (AnswerRecord *a = answerFor(id)) {
        a->text += piece;
        if (m_current && m_current->id == it->documentId)
            m_chatPanel->scheduleRender();
    }
    m_progressRequest = id;
    if (!m_progressTimer->isActive())
        m_progressTimer->start();
}

void MainWindow::updateAnswerProgress()
{
    auto it = m_requests.find(m_progressRequest);
    if (it == m_requests.end())
        return;
    const double seconds = it->clock.elapsed() / 1000.0;
    m_chatPanel->showProgress(tr("Answering… %n token(s)", nullptr, it->tokens) +
                                  QStringLiteral(" · %1 s").arg(seconds, 0, 'f', 1),
                              -1);
}

void MainWindow::onFinished(quint64 id, const AskResult &result)
{
    auto it = m_requests.find(id);
    if (it == m_requests.end())
        return;
    if (AnswerRecord *a = answerFor(id)) {
        a->finished = true;
        a->cancelled = result.cancelled;
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
        if (m_current && m_current->id == it->documentId && result.imageFromCache && !it->baseline)
            m_chatPanel->setCacheBadgeVisible(true);
    }
    endRequest(id);
}

void MainWindow::onFailed(quint64 id, const QString &message)
{
    if (AnswerRecord *a = answerFor(id)) {
        a->finished = true;
        a->error = message;
        a->totalMs = m_requests.value(id).clock.isValid() ? m_requests.value(id).clock.elapsed() : 0;
    }
    m_lastError = message;
    statusBar()->showMessage(message.section(QLatin1Char('\n'), 0, 0), 8000);
    Q_EMIT errorShown(message);
    endRequest(id);
}

void MainWindow::endRequest(quint64 id)
{
    m_requests.remove(id);
    m_progressTimer->stop();
    m_chatPanel->renderNow();
    if (m_requests.isEmpty()) {
        m_chatPanel->setBusy(false);
        m_chatPanel->hideProgress();
        Q_EMIT generationFinished();
    }
}

// ---------------------------------------------------------------------------------------------------- export

QString MainWindow::exportMarkdown(const QString &path) const
{
    ImageDocument *doc = currentDocument();
    if (!doc)
        return tr("No image is open.");
    ExportContext context{m_modelInfo, m_prefs.generation, m_plan, m_planPanel->policyName(),
                          QApplication::applicationVersion()};
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    file.write(conversationMarkdown(*doc, context).toUtf8());
    if (!file.commit())
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    return {};
}

QString MainWindow::exportJson(const QString &path) const
{
    ImageDocument *doc = currentDocument();
    if (!doc)
        return tr("No image is open.");
    ExportContext context{m_modelInfo, m_prefs.generation, m_plan, m_planPanel->policyName(),
                          QApplication::applicationVersion()};
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    file.write(QByteArray::fromStdString(conversationJson(*doc, context).dump(2)));
    if (!file.commit())
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    return {};
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
    m_lastError = message;
    statusBar()->showMessage(message.section(QLatin1Char('\n'), 0, 0), 8000);
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("errorBox"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open(); // not exec(): no nested event loop
    Q_EMIT errorShown(message);
}

} // namespace uhdlens::ui
