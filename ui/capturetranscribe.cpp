// Capture a screen region and copy its transcription (capturetranscribe.h).
#include "capturetranscribe.h"

#include "mainwindow.h"
#include "session.h"

#include <QApplication>
#include <QClipboard>
#include <QCursor>
#include <QEnterEvent>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QTimer>
#include <QVBoxLayout>

namespace uhdlens::ui {

namespace {
constexpr int kResultVisibleMs = 12000; // how long a finished popup stays when the mouse is not over it
constexpr int kHideBeforeGrabMs = 300;  // lets the compositor take the main window off the screen first
} // namespace

// ---------------------------------------------------------------------------------------------------------------
// TranscriptionPopup

TranscriptionPopup::TranscriptionPopup(QWidget *parent)
    : QFrame(parent, Qt::Tool | Qt::FramelessWindowHint | Qt::WindowStaysOnTopHint)
{
    setObjectName(QStringLiteral("transcriptionPopup"));
    setAttribute(Qt::WA_ShowWithoutActivating);
    setAttribute(Qt::WA_DeleteOnClose);
    setFrameShape(QFrame::StyledPanel);
    setWindowTitle(tr("UHD Lens — Transcribe"));

    auto *title = new QLabel(QStringLiteral("<b>%1</b>").arg(tr("UHD Lens — Transcribe")), this);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("popupStatus"));
    m_status->setWordWrap(true);
    m_progress = new QProgressBar(this);
    m_progress->setTextVisible(false);
    m_progress->setMaximumHeight(8);
    m_preview = new QPlainTextEdit(this);
    m_preview->setObjectName(QStringLiteral("popupPreview"));
    m_preview->setReadOnly(true);
    m_preview->setMinimumWidth(360);
    m_preview->setMaximumHeight(160);
    m_preview->hide();
    m_open = new QPushButton(tr("Open in UHD Lens"), this);
    m_open->setObjectName(QStringLiteral("popupOpen"));
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setObjectName(QStringLiteral("popupStop"));
    m_stop->setToolTip(tr("End the transcription here and copy the text so far"));
    connect(m_stop, &QPushButton::clicked, this, &TranscriptionPopup::stopRequested);
    auto *closeButton = new QPushButton(tr("Close"), this);
    connect(m_open, &QPushButton::clicked, this, [this] {
        Q_EMIT openRequested();
        close();
    });
    connect(closeButton, &QPushButton::clicked, this, &QWidget::close);

    auto *buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_open);
    buttons->addWidget(closeButton);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addWidget(m_status);
    layout->addWidget(m_progress);
    layout->addWidget(m_preview);
    layout->addLayout(buttons);

    m_closeTimer = new QTimer(this);
    m_closeTimer->setSingleShot(true);
    m_closeTimer->setInterval(kResultVisibleMs);
    connect(m_closeTimer, &QTimer::timeout, this, &QWidget::close);
}

void TranscriptionPopup::showStatus(const QString &text, double fraction)
{
    m_status->setText(text);
    m_progress->show();
    m_stop->show();
    if (fraction < 0) {
        m_progress->setRange(0, 0); // busy indicator
    } else {
        m_progress->setRange(0, 1000);
        m_progress->setValue(static_cast<int>(fraction * 1000));
    }
    place();
}

void TranscriptionPopup::showText(const QString &text)
{
    m_preview->setVisible(!text.isEmpty());
    m_preview->setPlainText(text);
    place();
}

void TranscriptionPopup::showResult(const QString &text, bool copied)
{
    m_progress->hide();
    m_stop->hide();
    m_status->setText(
        copied ? tr("Copied %n character(s) to the clipboard.", nullptr, static_cast<int>(text.size()))
               : tr("The model found no text."));
    showText(text);
    closeLater();
}

void TranscriptionPopup::showFailure(const QString &message)
{
    m_progress->hide();
    m_stop->hide();
    m_status->setText(message);
    place();
    closeLater();
}

QString TranscriptionPopup::statusText() const
{
    return m_status->text();
}

QString TranscriptionPopup::previewText() const
{
    return m_preview->toPlainText();
}

void TranscriptionPopup::enterEvent(QEnterEvent *event)
{
    m_closeTimer->stop(); // reading it: keep it
    QFrame::enterEvent(event);
}

void TranscriptionPopup::leaveEvent(QEvent *event)
{
    if (!m_progress->isVisible())
        m_closeTimer->start();
    QFrame::leaveEvent(event);
}

void TranscriptionPopup::place()
{
    adjustSize();
    QScreen *screen = QGuiApplication::screenAt(QCursor::pos());
    if (!screen)
        screen = QGuiApplication::primaryScreen();
    if (!screen)
        return;
    const QRect area = screen->availableGeometry();
    const int margin = 16;
    move(area.right() - width() - margin, area.bottom() - height() - margin);
}

void TranscriptionPopup::closeLater()
{
    if (!underMouse())
        m_closeTimer->start();
}

// ---------------------------------------------------------------------------------------------------------------
// CaptureTranscriber

CaptureTranscriber::CaptureTranscriber(MainWindow *window) : QObject(window), m_window(window) {}

CaptureTranscriber::~CaptureTranscriber()
{
    disconnectSession();
    if (m_popup)
        m_popup->close();
}

void CaptureTranscriber::start(bool transcribe)
{
    if (m_running)
        return;
    m_running = true;
    m_transcribe = transcribe;
    m_documentId = 0;
    m_windowWasVisible = m_window->isVisible() && !m_window->isMinimized();
    if (m_windowWasVisible) {
        m_window->hide();
        QTimer::singleShot(kHideBeforeGrabMs, this, &CaptureTranscriber::grab);
    } else {
        grab();
    }
}

void CaptureTranscriber::grab()
{
    m_connections << connect(m_window, &MainWindow::captureFinished, this, &CaptureTranscriber::onCaptured,
                             Qt::SingleShotConnection);
    m_window
        ->captureScreenRegion(); // captureFinished(id), or captureFinished(0) when cancelled / unavailable
}

void CaptureTranscriber::onCaptured(int documentId)
{
    m_documentId = documentId;
    if (documentId == 0 || !m_transcribe) {
        // A plain capture shows the image; a cancelled one gives the window back as it was.
        if (documentId != 0 || m_windowWasVisible) {
            m_window->show();
            m_window->raise();
            m_window->activateWindow();
        }
        finish(false);
        return;
    }
    m_running = false;
    transcribeDocument(documentId);
}

void CaptureTranscriber::transcribeDocument(int documentId)
{
    if (m_running)
        return;
    m_running = true;
    m_transcribe = true;
    m_stopRequested = false;
    m_documentId = documentId;
    if (m_popup)
        m_popup->close();
    m_popup = new TranscriptionPopup;
    connect(m_popup, &TranscriptionPopup::stopRequested, this, &CaptureTranscriber::stopHere);
    connect(m_popup, &TranscriptionPopup::openRequested, m_window, [w = m_window] {
        w->show();
        w->raise();
        w->activateWindow();
    });
    m_popup->show();
    Session *session = m_window->session();
    if (session->isModelLoading()) {
        m_popup->showStatus(tr("Waiting for the model to load…"), -1);
        m_connections << connect(session, &Session::modelLoaded, this, &CaptureTranscriber::askWhenReady,
                                 Qt::SingleShotConnection);
        m_connections << connect(
            session, &Session::modelFailed, this,
            [this](const QString &, const QString &message) {
                m_popup->showFailure(tr("The model could not be loaded: %1").arg(message));
                finish(false);
            },
            Qt::SingleShotConnection);
        return;
    }
    askWhenReady();
}

void CaptureTranscriber::askWhenReady()
{
    Session *session = m_window->session();
    const std::optional<ModelInfo> &info = session->modelInfo();
    ImageDocument *doc = session->document(m_documentId);
    if (!info || !doc) {
        if (m_popup)
            m_popup->showFailure(!info ? tr("No model is loaded: open UHD Lens and choose one first.")
                                       : tr("The captured image was closed."));
        finish(false);
        return;
    }
    if (!session->currentDocument() || session->currentDocument()->id != m_documentId)
        session->setCurrentDocument(m_documentId);
    m_turnIndex = doc->turns.size();
    m_connections << connect(session, &Session::progressChanged, this,
                             [this](const QString &text, double fraction) {
                                 if (m_popup)
                                     m_popup->showStatus(text, fraction);
                             });
    m_connections << connect(session, &Session::transcriptChanged, this, [this](int documentId, bool) {
        ImageDocument *d = m_window->session()->document(documentId);
        if (m_popup && documentId == m_documentId && d && d->turns.size() > m_turnIndex)
            m_popup->showText(d->turns[m_turnIndex].answer.text);
    });
    m_connections << connect(session, &Session::generationFinished, this,
                             &CaptureTranscriber::onGenerationFinished);
    m_popup->showStatus(tr("Transcribing…"), -1);
    // The family's own transcription prompt, with a page's worth of new tokens, as the Transcribe button asks it.
    if (!session->transcribe()) {
        const QString reason = doc->turns.size() > m_turnIndex ? doc->turns[m_turnIndex].answer.error : QString();
        m_popup->showFailure(reason.isEmpty() ? tr("The question could not be asked.") : reason);
        finish(false);
    }
}

void CaptureTranscriber::onGenerationFinished()
{
    ImageDocument *doc = m_window->session()->document(m_documentId);
    if (!doc || doc->turns.size() <= m_turnIndex) {
        if (m_popup)
            m_popup->showFailure(tr("The captured image was closed."));
        finish(false);
        return;
    }
    const AnswerRecord &answer = doc->turns[m_turnIndex].answer;
    if (!answer.finished())
        return; // another request ended; ours is still running
    const bool stoppedHere = answer.state == AnswerState::Stopped && m_stopRequested;
    if (answer.state != AnswerState::Finished && !stoppedHere) {
        if (m_popup)
            m_popup->showFailure(answer.error.isEmpty() ? tr("Transcription stopped.") : answer.error);
        finish(false);
        return;
    }
    const QString text = answer.text.trimmed();
    if (!text.isEmpty())
        QGuiApplication::clipboard()->setText(text);
    if (m_popup)
        m_popup->showResult(text, !text.isEmpty());
    finish(!text.isEmpty());
}

void CaptureTranscriber::stopHere()
{
    ImageDocument *doc = m_window->session()->document(m_documentId);
    if (!m_running || !doc || doc->turns.size() <= m_turnIndex)
        return;
    const AnswerRecord &answer = doc->turns[m_turnIndex].answer;
    if (answer.finished() || answer.requestId == 0)
        return;
    m_stopRequested = true; // the answer so far is the result: onGenerationFinished copies it
    m_window->session()->cancelRequest(answer.requestId);
}

void CaptureTranscriber::finish(bool copied)
{
    disconnectSession();
    m_running = false;
    Q_EMIT finished(copied);
}

void CaptureTranscriber::disconnectSession()
{
    for (const QMetaObject::Connection &c : std::as_const(m_connections))
        disconnect(c);
    m_connections.clear();
}

} // namespace uhdlens::ui
