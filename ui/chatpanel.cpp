#include "chatpanel.h"

#include "answertext.h"
#include "imagedocument.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollBar>
#include <QTextBrowser>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextTable>
#include <QTimer>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>

namespace uhdlens::ui {

namespace {

QString escaped(const QString &text)
{
    return text.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
}

} // namespace

ChatPanel::ChatPanel(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    m_transcript = new QTextBrowser(this);
    m_transcript->setObjectName(QStringLiteral("transcript"));
    m_transcript->setOpenLinks(false);
    m_transcript->document()->setUndoRedoEnabled(false); // rebuilt on every render: keep no undo history
    m_transcript->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_transcript, &QWidget::customContextMenuRequested, this, &ChatPanel::showContextMenu);
    layout->addWidget(m_transcript, 1);

    auto *progressRow = new QHBoxLayout;
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setMaximumHeight(14);
    m_progress->setTextVisible(false);
    m_progressLabel = new QLabel(this);
    m_progressLabel->setObjectName(QStringLiteral("progressLabel"));
    m_badge = new QLabel(this);
    m_badge->setObjectName(QStringLiteral("cacheBadge"));
    m_badge->setStyleSheet(QStringLiteral(
        "QLabel { background: #2e7d32; color: white; border-radius: 6px; padding: 1px 6px; }"));
    progressRow->addWidget(m_progress, 1);
    progressRow->addWidget(m_progressLabel, 2);
    progressRow->addWidget(m_badge);
    layout->addLayout(progressRow);
    hideProgress();
    m_badge->hide();

    m_question = new QPlainTextEdit(this);
    m_question->setObjectName(QStringLiteral("questionBox"));
    m_question->setTabChangesFocus(true);
    m_question->setMaximumHeight(90);
    layout->addWidget(m_question);

    m_send = new QAction(this);
    m_send->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    m_transcribe = new QAction(this);
    m_transcribe->setObjectName(QStringLiteral("transcribeAction"));
    m_transcribe->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    m_stop = new QAction(this);
    m_stop->setShortcut(QKeySequence(Qt::Key_Escape));
    m_regenerate = new QAction(this);
    m_regenerate->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    m_copy = new QAction(this);
    m_copy->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_ab = new QAction(this);
    m_ab->setCheckable(true);
    m_ab->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    m_clear = new QAction(this);
    m_clear->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Delete));

    auto *buttons = new QHBoxLayout;
    for (auto [button, action] :
         {std::pair{&m_sendButton, m_send}, std::pair{&m_transcribeButton, m_transcribe},
          std::pair{&m_stopButton, m_stop}, std::pair{&m_regenerateButton, m_regenerate},
          std::pair{&m_copyButton, m_copy}, std::pair{&m_abButton, m_ab}}) {
        *button = new QToolButton(this);
        (*button)->setDefaultAction(action);
        (*button)->setToolButtonStyle(Qt::ToolButtonTextOnly);
        buttons->addWidget(*button);
    }
    buttons->insertStretch(3, 1);
    layout->addLayout(buttons);

    m_renderTimer = new QTimer(this);
    m_renderTimer->setSingleShot(true);
    m_renderTimer->setInterval(40);
    connect(m_renderTimer, &QTimer::timeout, this, &ChatPanel::renderStreaming);

    connect(m_send, &QAction::triggered, this, [this] {
        const QString q = question().trimmed();
        if (!q.isEmpty() && !m_busy && m_document)
            Q_EMIT askRequested(q);
    });
    connect(m_transcribe, &QAction::triggered, this, [this] {
        if (!m_busy && m_document && m_modelReady)
            Q_EMIT transcribeRequested();
    });
    connect(m_stop, &QAction::triggered, this, [this] {
        if (m_busy)
            Q_EMIT stopRequested();
    });
    connect(m_regenerate, &QAction::triggered, this, [this] {
        if (!m_busy && m_document && !m_document->turns.empty())
            Q_EMIT regenerateRequested();
    });
    connect(m_copy, &QAction::triggered, this, [this] {
        if (m_document && !m_document->turns.empty())
            QApplication::clipboard()->setText(m_document->turns.back().answer.text);
    });
    connect(m_clear, &QAction::triggered, this, [this] {
        if (!m_busy && m_document)
            Q_EMIT clearRequested();
    });
    connect(m_question, &QPlainTextEdit::textChanged, this, &ChatPanel::updateActions);
    connect(m_transcript, &QTextBrowser::anchorClicked, this, [this](const QUrl &url) {
        // "suggest:N" links: put the suggested question in the box and ask it. "copymd:N" / "copytext:N": the
        // copy links under answer N.
        bool ok = false;
        const int index = url.path().toInt(&ok);
        if (url.scheme() == QLatin1String("suggest") && ok && index >= 0 && index < m_suggestions.size()) {
            setQuestion(m_suggestions.at(index));
            m_send->trigger();
        } else if (ok &&
                   (url.scheme() == QLatin1String("copymd") || url.scheme() == QLatin1String("copytext"))) {
            copyAnswer(index, url.scheme() == QLatin1String("copymd"));
        }
    });

    retranslateUi();
    updateActions();
}

void ChatPanel::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    else if (event->type() == QEvent::PaletteChange)
        renderNow(); // the transcript's accent colour follows the (light or dark) system palette
    QWidget::changeEvent(event);
}

void ChatPanel::retranslateUi()
{
    m_send->setText(tr("&Send"));
    m_send->setToolTip(tr("Ask the question about this image (Ctrl+Enter)"));
    m_transcribe->setText(tr("&Transcribe"));
    m_transcribe->setToolTip(tr("Ask the model for all the text of this image in reading order, tables as "
                                "Markdown (Ctrl+T)"));
    m_stop->setText(tr("S&top"));
    m_stop->setToolTip(tr("Stop the answer (Esc)"));
    m_regenerate->setText(tr("&Regenerate"));
    m_regenerate->setToolTip(tr("Answer the last question again, starting the model's context afresh (Ctrl+Shift+R)"));
    m_copy->setText(tr("&Copy Answer"));
    m_copy->setToolTip(tr("Copy the last answer to the clipboard (Ctrl+Shift+C)"));
    m_ab->setText(tr("A/B vs LLaVA-1.5"));
    m_ab->setToolTip(tr("Also answer with the LLaVA-1.5 baseline plan (one 336×336 view) and show both side by side (Ctrl+B)"));
    m_clear->setText(tr("C&lear Conversation"));
    m_badge->setText(tr("image tokens from cache"));
    m_badge->setToolTip(tr("This follow-up reused the image's encoded tokens; no slice was encoded again."));
    m_question->setPlaceholderText(tr("Ask about this image… (Ctrl+Enter sends)"));
    renderNow();
}

void ChatPanel::setDocument(const ImageDocument *document)
{
    m_document = document;
    m_badge->hide();
    renderNow();
    updateActions();
}

void ChatPanel::scheduleRender()
{
    if (!m_renderTimer->isActive())
        m_renderTimer->start();
}

void ChatPanel::renderNow()
{
    m_renderTimer->stop();
    QScrollBar *bar = m_transcript->verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 4;
    m_spans.clear();
    m_lastTurnStart = -1;
    m_rendered = m_document;
    m_renderedTurns = m_document ? m_document->turns.size() : 0;
    if (!m_document || m_document->turns.empty()) {
        m_transcript->setHtml(emptyHtml());
    } else {
        m_transcript->clear();
        QTextCursor cursor(m_transcript->document());
        for (size_t i = 0; i < m_document->turns.size(); ++i)
            renderTurn(cursor, m_document->turns[i], static_cast<int>(i));
    }
    if (atEnd)
        bar->setValue(bar->maximum());
    updateActions();
}

void ChatPanel::renderStreaming()
{
    // Only the last turn's answer changed (tokens streamed in): rebuild it alone, from where it starts to the
    // end of the transcript. Anything else (another image, a new or removed turn, an A/B table) renders all.
    if (!m_document || m_document != m_rendered || m_document->turns.size() != m_renderedTurns ||
        m_lastTurnStart < 0 || m_document->turns.back().baseline) {
        renderNow();
        return;
    }
    QScrollBar *bar = m_transcript->verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 4;
    const int last = static_cast<int>(m_document->turns.size()) - 1;
    while (!m_spans.empty() && m_spans.back().turn == last)
        m_spans.pop_back();
    QTextCursor cursor(m_transcript->document());
    cursor.setPosition(m_lastTurnStart);
    cursor.movePosition(QTextCursor::End, QTextCursor::KeepAnchor);
    cursor.removeSelectedText();
    renderAnswer(cursor, m_document->turns.back().answer, last, false, false);
    if (atEnd)
        bar->setValue(bar->maximum());
    updateActions();
}

void ChatPanel::setPlainTextAnswers(bool plain)
{
    if (plain == m_plainText)
        return;
    m_plainText = plain;
    renderNow();
}

void ChatPanel::setBusy(bool busy)
{
    m_busy = busy;
    updateActions();
}

void ChatPanel::setModelReady(bool ready)
{
    m_modelReady = ready;
    updateActions();
}

void ChatPanel::setSuggestions(const QStringList &questions)
{
    m_suggestions = questions;
    renderNow();
}

void ChatPanel::updateActions()
{
    const bool haveDoc = m_document != nullptr;
    const bool haveTurns = haveDoc && !m_document->turns.empty();
    m_send->setEnabled(haveDoc && !m_busy && !m_question->toPlainText().trimmed().isEmpty());
    m_transcribe->setEnabled(haveDoc && !m_busy && m_modelReady);
    m_stop->setEnabled(m_busy);
    m_regenerate->setEnabled(haveTurns && !m_busy);
    m_copy->setEnabled(haveTurns);
    m_clear->setEnabled(haveTurns && !m_busy);
    m_question->setEnabled(haveDoc);
}

void ChatPanel::showProgress(const QString &text, double fraction)
{
    if (fraction < 0) {
        m_progress->setRange(0, 0);
    } else {
        m_progress->setRange(0, 1000);
        m_progress->setValue(static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 1000));
    }
    m_progressLabel->setText(text);
    m_progress->show();
    m_progressLabel->show();
}

void ChatPanel::hideProgress()
{
    m_progress->hide();
    m_progressLabel->hide();
    m_progressLabel->clear();
}

void ChatPanel::setCacheBadgeVisible(bool visible)
{
    m_badge->setVisible(visible);
}

bool ChatPanel::cacheBadgeVisible() const
{
    return !m_badge->isHidden();
}

QWidget *ChatPanel::questionBox() const
{
    return m_question;
}

QString ChatPanel::question() const
{
    return m_question->toPlainText();
}

void ChatPanel::setQuestion(const QString &text)
{
    m_question->setPlainText(text);
}

bool ChatPanel::abMode() const
{
    return m_ab->isChecked();
}

void ChatPanel::setAbMode(bool on)
{
    m_ab->setChecked(on);
}

QString ChatPanel::transcriptText() const
{
    return m_transcript->toPlainText();
}

QString ChatPanel::progressText() const
{
    return m_progressLabel->text();
}

QString ChatPanel::emptyHtml() const
{
    if (!m_document)
        return QStringLiteral("<p><i>%1</i></p>").arg(tr("No image is open."));
    QString hint = m_modelReady
                       ? tr("Ask a question about %1.").arg(m_document->title.toHtmlEscaped())
                       : tr("No model is loaded. The slice plan works without one; open a model folder "
                            "(Model > Open Model Folder) to ask questions.");
    QString html = QStringLiteral("<p><i>%1</i></p>").arg(hint);
    if (m_modelReady && !m_suggestions.isEmpty()) {
        html += QStringLiteral("<p>%1</p><ul>").arg(tr("Suggested questions:"));
        for (int i = 0; i < m_suggestions.size(); ++i)
            html += QStringLiteral("<li><a href='suggest:%1'>%2</a></li>")
                        .arg(i)
                        .arg(m_suggestions.at(i).toHtmlEscaped());
        html += QStringLiteral("</ul>");
    }
    return html;
}

void ChatPanel::renderTurn(QTextCursor &cursor, const ChatTurn &turn, int turnIndex)
{
    const QString accent = palette().color(QPalette::Highlight).name();
    if (turnIndex > 0)
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
    cursor.insertHtml(
        QStringLiteral("<b style='color:%1'>%2</b> %3").arg(accent, tr("You:"), escaped(turn.question)));
    if (turnIndex == static_cast<int>(m_document->turns.size()) - 1)
        m_lastTurnStart = cursor.position();
    if (!turn.baseline) {
        renderAnswer(cursor, turn.answer, turnIndex, false, false);
        return;
    }
    // A/B: the two answers side by side in a two-column table under their headings.
    cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
    QTextTableFormat format;
    format.setWidth(QTextLength(QTextLength::PercentageLength, 100));
    format.setCellSpacing(4);
    format.setCellPadding(4);
    format.setBorder(1);
    format.setColumnWidthConstraints(
        {QTextLength(QTextLength::PercentageLength, 50), QTextLength(QTextLength::PercentageLength, 50)});
    QTextTable *table = cursor.insertTable(2, 2, format);
    QTextCharFormat bold;
    bold.setFontWeight(QFont::Bold);
    table->cellAt(0, 0).firstCursorPosition().insertText(tr("UHD plan"), bold);
    table->cellAt(0, 1).firstCursorPosition().insertText(tr("LLaVA-1.5 baseline"), bold);
    for (int column = 0; column < 2; ++column) {
        QTextCursor cell = table->cellAt(1, column).firstCursorPosition();
        renderAnswer(cell, column == 0 ? turn.answer : *turn.baseline, turnIndex, column == 1, true);
    }
    cursor.movePosition(QTextCursor::End);
}

void ChatPanel::renderAnswer(QTextCursor &cursor, const AnswerRecord &a, int turnIndex, bool baseline,
                             bool inCell)
{
    // In an A/B table cell the column heading names the answer; elsewhere "Model:" does.
    if (!inCell) {
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        cursor.insertHtml(QStringLiteral("<b>%1</b> ").arg(tr("Model:")));
    }
    AnswerSpan span{cursor.position(), cursor.position(), turnIndex, baseline};
    if (!a.finished() && a.text.isEmpty()) {
        cursor.insertHtml(QStringLiteral("<i>…</i>"));
    } else if (a.state == AnswerState::Finished && a.text.trimmed().isEmpty()) {
        // A model may stop at once (end of sequence first); say so rather than show nothing.
        cursor.insertHtml(
            QStringLiteral("<i>%1</i>").arg(tr("(no answer: the model ended its reply without any text)")));
    } else if (!a.text.isEmpty()) {
        if (!inCell) // the answer's own blocks (a heading, a table) start on a line of their own
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        span.start = cursor.position();
        if (m_plainText)
            cursor.insertText(a.text);
        else
            insertMarkdownAnswer(cursor, a.text);
        span.end = cursor.position();
    }
    if (!a.error.isEmpty()) {
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        cursor.insertHtml(QStringLiteral("<span style='color:#c62828'>%1</span>").arg(escaped(a.error)));
    }
    QStringList facts;
    if (a.hasPlan)
        facts << tr("%1 image tokens").arg(a.imageTokens);
    if (a.finished()) {
        if (a.generatedTokens > 0)
            facts << tr("%1 tokens generated").arg(a.generatedTokens);
        if (a.totalMs > 0) // unknown for an answer shown from elsewhere without timings
            facts << tr("%1 s").arg(a.totalMs / 1000.0, 0, 'f', 2);
        if (a.decodeTokensPerSecond > 0)
            facts << tr("%1 tokens/s").arg(a.decodeTokensPerSecond, 0, 'f', 1);
        if (a.fromCache)
            facts << tr("image from cache");
        if (a.cancelled())
            facts << tr("stopped");
    }
    if (!a.policyName.isEmpty())
        facts.prepend(a.policyName);
    QString line;
    if (!facts.isEmpty())
        line = QStringLiteral("<small style='color:gray'>%1</small>").arg(facts.join(QStringLiteral(" · ")));
    const int index = static_cast<int>(m_spans.size());
    m_spans.push_back(span);
    if (!a.text.trimmed().isEmpty()) {
        // Small links rather than buttons: they live in the text, under the answer they copy.
        line += QStringLiteral("%1<small><a href='copymd:%2'>%3</a> · <a href='copytext:%2'>%4</a></small>")
                    .arg(line.isEmpty() ? QString() : QStringLiteral(" &nbsp; "))
                    .arg(index)
                    .arg(tr("Copy as Markdown"), tr("Copy as plain text"));
    }
    if (!line.isEmpty()) {
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        cursor.insertHtml(line);
    }
}

const AnswerRecord *ChatPanel::answer(int index) const
{
    if (!m_document || index < 0 || index >= static_cast<int>(m_spans.size()))
        return nullptr;
    const AnswerSpan &span = m_spans[static_cast<size_t>(index)];
    if (span.turn < 0 || span.turn >= static_cast<int>(m_document->turns.size()))
        return nullptr;
    const ChatTurn &turn = m_document->turns[static_cast<size_t>(span.turn)];
    if (span.baseline)
        return turn.baseline ? &*turn.baseline : nullptr;
    return &turn.answer;
}

void ChatPanel::copyAnswer(int index, bool asMarkdown) const
{
    // Markdown: the answer as the model wrote it. Plain text: what the rendered answer reads, without markup.
    if (const AnswerRecord *a = answer(index))
        QApplication::clipboard()->setText(asMarkdown ? a->text : markdownToPlainText(a->text));
}

int ChatPanel::answerAt(int position) const
{
    for (size_t i = 0; i < m_spans.size(); ++i) {
        if (m_spans[i].start < m_spans[i].end && position >= m_spans[i].start && position <= m_spans[i].end)
            return static_cast<int>(i);
    }
    return -1;
}

void ChatPanel::showContextMenu(const QPoint &pos)
{
    QMenu *menu = m_transcript->createStandardContextMenu(pos);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    const int index = answerAt(m_transcript->cursorForPosition(pos).position());
    if (index >= 0) {
        QAction *first = menu->actions().value(0);
        QAction *md = new QAction(tr("Copy Answer as Markdown"), menu);
        QAction *text = new QAction(tr("Copy Answer as Plain Text"), menu);
        connect(md, &QAction::triggered, this, [this, index] { copyAnswer(index, true); });
        connect(text, &QAction::triggered, this, [this, index] { copyAnswer(index, false); });
        menu->insertActions(first, {md, text});
        if (first)
            menu->insertSeparator(first);
    }
    menu->popup(m_transcript->viewport()->mapToGlobal(pos)); // not exec(): no nested event loop
}

} // namespace uhdlens::ui
