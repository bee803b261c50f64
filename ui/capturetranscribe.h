// UHD Lens UI — capture a screen region and put its transcription on the clipboard, without touching a window
// (`uhdlens --capture --transcribe`, the desktop entry's "Capture and Transcribe" action).
//
//     auto *flow = new CaptureTranscriber(&window);
//     flow->start(/*transcribe=*/true);   // region selection; then the loaded model's transcription prompt
//     connect(flow, &CaptureTranscriber::finished, ...);   // copied (true) or cancelled / failed (false)
//
// The main window is hidden while the screen is grabbed (so it is not in the picture) and, with
// transcription, stays hidden: a small non-modal popup (TranscriptionPopup) shows the progress per slice and
// then the text. Everything runs on the GUI thread through the session's signals; the model works on the
// engine thread.
#pragma once

#include <QFrame>
#include <QPointer>

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTimer;

namespace uhdlens::ui {

class MainWindow;

// Frameless, always on top, never takes the focus: bottom-right of the screen under the mouse.
class TranscriptionPopup : public QFrame
{
    Q_OBJECT
public:
    explicit TranscriptionPopup(QWidget *parent = nullptr);

    void showStatus(const QString &text, double fraction); // fraction < 0: indeterminate
    void showText(const QString &text);                    // the answer so far
    void showResult(const QString &text, bool copied);
    void showFailure(const QString &message);
    QString statusText() const;
    QString previewText() const;

Q_SIGNALS:
    void openRequested(); // "Open in UHD Lens"
    void stopRequested(); // "Stop": end the answer here and copy what there is

protected:
    void enterEvent(QEnterEvent *event) override;
    void leaveEvent(QEvent *event) override;

private:
    void place();
    void closeLater();

    QLabel *m_status = nullptr;
    QProgressBar *m_progress = nullptr;
    QPlainTextEdit *m_preview = nullptr;
    QPushButton *m_open = nullptr;
    QPushButton *m_stop = nullptr;
    QTimer *m_closeTimer = nullptr;
};

class CaptureTranscriber : public QObject
{
    Q_OBJECT
public:
    explicit CaptureTranscriber(MainWindow *window);
    ~CaptureTranscriber() override;

    // Starts the region selection (ignored while one runs). Without `transcribe` the captured image opens in
    // the main window, which is shown; with it, see the header comment.
    void start(bool transcribe);
    // Transcribes an opened image (the step after a capture): the loaded model's transcription prompt
    // (waiting for a model that is still loading), progress and text in the popup, the answer on the
    // clipboard.
    void transcribeDocument(int documentId);
    bool isRunning() const { return m_running; }
    TranscriptionPopup *popup() const { return m_popup; }

Q_SIGNALS:
    void finished(bool copied);

private:
    void grab();
    void onCaptured(int documentId);
    void askWhenReady();
    void onGenerationFinished();
    void finish(bool copied);
    void disconnectSession();
    void stopHere();

    MainWindow *m_window;
    QPointer<TranscriptionPopup> m_popup;
    QList<QMetaObject::Connection> m_connections;
    bool m_running = false;
    bool m_transcribe = false;
    bool m_windowWasVisible = false;
    bool m_stopRequested = false;
    int m_documentId = 0;
    size_t m_turnIndex = 0;
};

} // namespace uhdlens::ui
