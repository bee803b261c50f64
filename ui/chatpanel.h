// UHD Lens UI — the chat panel of the current image: question box, streaming transcript, Send / Transcribe /
// Stop / Regenerate / Copy, progress of model loading and slice encoding, the image-cache badge and the A/B
// switch.
//
// The panel renders an ImageDocument's turns (owned by the main window); it never talks to the engine itself.
// Answers render as Markdown (answertext.h) unless plain text is chosen; every answer has "Copy as Markdown"
// and "Copy as plain text" links under it and in the transcript's context menu. While an answer streams, only
// the last turn's answer is rebuilt (from m_lastTurnStart to the end), on a timer, not the whole transcript.
#pragma once

#include <QStringList>
#include <QWidget>

#include <vector>

class QAction;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QTextBrowser;
class QTextCursor;
class QTimer;
class QToolButton;

namespace uhdlens::ui {

struct AnswerRecord;
struct ChatTurn;
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

    // Answers as plain text instead of rendered Markdown (Preferences::plainTextAnswers).
    void setPlainTextAnswers(bool plain);
    bool plainTextAnswers() const { return m_plainText; }

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
    QAction *transcribeAction() const { return m_transcribe; }
    QAction *stopAction() const { return m_stop; }
    QAction *regenerateAction() const { return m_regenerate; }
    QAction *copyAction() const { return m_copy; }
    QAction *abAction() const { return m_ab; }
    QAction *clearAction() const { return m_clear; }

    QString transcriptText() const; // plain text of the transcript (tests)
    QTextBrowser *transcript() const { return m_transcript; }
    // The answers shown, in transcript order (A/B: answer, then baseline), and copying one of them.
    int answerCount() const { return static_cast<int>(m_spans.size()); }
    void copyAnswer(int index, bool asMarkdown) const;
    // The answer whose text covers transcript position `position`, -1 if none.
    int answerAt(int position) const;
    QString progressText() const;

Q_SIGNALS:
    void askRequested(const QString &question);
    void transcribeRequested();
    void stopRequested();
    void regenerateRequested();
    void clearRequested();

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void updateActions();
    QString emptyHtml() const;
    void renderTurn(QTextCursor &cursor, const ChatTurn &turn, int turnIndex);
    void renderAnswer(QTextCursor &cursor, const AnswerRecord &answer, int turnIndex, bool baseline,
                      bool inCell);
    void renderStreaming();
    const AnswerRecord *answer(int index) const;
    void showContextMenu(const QPoint &pos);

    // Where each answer's text lies in the transcript, and which turn (and which side of an A/B turn) it is.
    struct AnswerSpan
    {
        int start = 0;
        int end = 0;
        int turn = 0;
        bool baseline = false;
    };
    std::vector<AnswerSpan> m_spans;
    const ImageDocument *m_rendered = nullptr; // the document the transcript shows
    size_t m_renderedTurns = 0;
    int m_lastTurnStart = -1; // transcript position where the last turn's answer part begins

    const ImageDocument *m_document = nullptr;
    QTextBrowser *m_transcript = nullptr;
    QPlainTextEdit *m_question = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_progressLabel = nullptr;
    QLabel *m_badge = nullptr;
    QToolButton *m_sendButton = nullptr;
    QToolButton *m_transcribeButton = nullptr;
    QToolButton *m_stopButton = nullptr;
    QToolButton *m_regenerateButton = nullptr;
    QToolButton *m_copyButton = nullptr;
    QToolButton *m_abButton = nullptr;
    QAction *m_send = nullptr;
    QAction *m_transcribe = nullptr;
    QAction *m_stop = nullptr;
    QAction *m_regenerate = nullptr;
    QAction *m_copy = nullptr;
    QAction *m_ab = nullptr;
    QAction *m_clear = nullptr;
    QTimer *m_renderTimer = nullptr;
    QStringList m_suggestions;
    bool m_busy = false;
    bool m_modelReady = false;
    bool m_plainText = false;
};

} // namespace uhdlens::ui
