// UHD Lens UI — the chat panel of the current image: question box, streaming transcript, Stop / Regenerate /
// Copy, progress of model loading and slice encoding, the image-cache badge and the A/B switch.
//
// The panel renders an ImageDocument's turns (owned by the main window); it never talks to the engine itself.
#pragma once

#include <QStringList>
#include <QWidget>

class QAction;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QTextBrowser;
class QTimer;
class QToolButton;

namespace uhdlens::ui {

struct ImageDocument;

class ChatPanel : public QWidget
{
    Q_OBJECT
public:
    explicit ChatPanel(QWidget *parent = nullptr);

    void setDocument(const ImageDocument *document); // nullptr: no image
    // Re-render soon (coalesced, so a fast token stream does not re-layout the transcript on every token).
    void scheduleRender();
    void renderNow();

    void setBusy(bool busy);
    bool isBusy() const { return m_busy; }
    void setModelReady(bool ready);
    // Questions the model suggests (from its uhdlens.json); shown as links while a conversation is empty.
    void setSuggestions(const QStringList &questions);
    void showProgress(const QString &text, double fraction); // fraction < 0: indeterminate
    void hideProgress();
    void setCacheBadgeVisible(bool visible);
    bool cacheBadgeVisible() const;

    QString question() const;
    void setQuestion(const QString &text);
    QWidget *questionBox() const; // the question editor (the window filters its Ctrl+V and focuses it)
    bool abMode() const;
    void setAbMode(bool on);

    QAction *sendAction() const { return m_send; }
    QAction *stopAction() const { return m_stop; }
    QAction *regenerateAction() const { return m_regenerate; }
    QAction *copyAction() const { return m_copy; }
    QAction *abAction() const { return m_ab; }
    QAction *clearAction() const { return m_clear; }

    QString transcriptText() const; // plain text of the transcript (tests)
    QString progressText() const;

Q_SIGNALS:
    void askRequested(const QString &question);
    void stopRequested();
    void regenerateRequested();
    void clearRequested();

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void updateActions();
    QString renderHtml() const;

    const ImageDocument *m_document = nullptr;
    QTextBrowser *m_transcript = nullptr;
    QPlainTextEdit *m_question = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_progressLabel = nullptr;
    QLabel *m_badge = nullptr;
    QToolButton *m_sendButton = nullptr;
    QToolButton *m_stopButton = nullptr;
    QToolButton *m_regenerateButton = nullptr;
    QToolButton *m_copyButton = nullptr;
    QToolButton *m_abButton = nullptr;
    QAction *m_send = nullptr;
    QAction *m_stop = nullptr;
    QAction *m_regenerate = nullptr;
    QAction *m_copy = nullptr;
    QAction *m_ab = nullptr;
    QAction *m_clear = nullptr;
    QTimer *m_renderTimer = nullptr;
    QStringList m_suggestions;
    bool m_busy = false;
    bool m_modelReady = false;
};

} // namespace uhdlens::ui
