#include "chatpanel.h"

#include "imagedocument.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollBar>
#include <QTextBrowser>
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
    for (auto [button, action] : {std::pair{&m_sendButton, m_send}, std::pair{&m_stopButton, m_stop},
                                  std::pair{&m_regenerateButton, m_regenerate}, std::pair{&m_copyButton, m_copy},
                                  std::pair{&m_abButton, m_ab}}) {
        *button = new QToolButton(this);
        (*button)->setDefaultAction(action);
        (*button)->setToolButtonStyle(Qt::ToolButtonTextOnly);
        buttons->addWidget(*button);
    }
    buttons->insertStretch(2, 1);
    layout->addLayout(buttons);

    m_renderTimer = new QTimer(this);
    m_renderTimer->setSingleShot(true);
    m_renderTimer->setInterval(40);
    connect(m_renderTimer, &QTimer::timeout, this, &ChatPanel::renderNow);

    connect(m_send, &QAction::triggered, this, [this] {
        const QString q = question().trimmed();
        if (!q.isEmpty() && !m_busy && m_document)
            Q_EMIT askRequested(q);
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
        // "suggest:N" links: put the suggested question in the box and ask it.
        bool ok = false;
        const int index = url.path().toInt(&ok);
        if (url.scheme() == QLatin1String("suggest") && ok && index >= 0 && index < m_suggestions.size()) {
            setQuestion(m_suggestions.at(index));
            m_send->trigger();
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
    m_transcript->setHtml(renderHtml());
    if (atEnd)
        bar->setValue(bar->maximum());
    updateActions();
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

QString ChatPanel::renderHtml() const
{
    if (!m_document)
        return QStringLiteral("<p><i>%1</i></p>").arg(tr("No image is open."));
    if (m_document->turns.empty()) {
        QString hint = m_modelReady ? tr("Ask a question about %1.").arg(m_document->title.toHtmlEscaped())
                                    : tr("No model is loaded. The slice plan works without one; open a model folder "
                                         "(Model > Open Model Folder) to ask questions.");
        QString html = QStringLiteral("<p><i>%1</i></p>").arg(hint);
        if (m_modelReady && !m_suggestions.isEmpty()) {
            html += QStringLiteral("<p>%1</p><ul>").arg(tr("Suggested questions:"));
            for (int i = 0; i < m_suggestions.size(); ++i)
                html += QStringLiteral("<li><a href='suggest:%1'>%2</a></li>").arg(i).arg(m_suggestions.at(i).toHtmlEscaped());
            html += QStringLiteral("</ul>");
        }
        return html;
    }
    const QString accent = palette().color(QPalette::Highlight).name();
    auto answerHtml = [this](const AnswerRecord &a) {
        QString html;
        if (!a.finished() && a.text.isEmpty())
            html = QStringLiteral("<i>…</i>");
        else if (a.state == AnswerState::Finished && a.text.trimmed().isEmpty())
            // A model may stop at once (end of sequence first); say so rather than show nothing.
            html = QStringLiteral("<i>%1</i>")
                       .arg(tr("(no answer: the model ended its reply without any text)"));
        else
            html = escaped(a.text);
        if (!a.error.isEmpty())
            html += QStringLiteral("<p style='color:#c62828'>%1</p>").arg(escaped(a.error));
        QStringList facts;
        if (a.hasPlan)
            facts << tr("%1 image tokens").arg(a.imageTokens);
        if (a.finished()) {
            if (a.generatedTokens > 0)
                facts << tr("%1 tokens generated").arg(a.generatedTokens);
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
        if (!facts.isEmpty())
            html += QStringLiteral("<br><small style='color:gray'>%1</small>").arg(facts.join(QStringLiteral(" · ")));
        return html;
    };
    QString html;
    for (const ChatTurn &turn : m_document->turns) {
        html += QStringLiteral("<p><b style='color:%1'>%2</b> %3</p>")
                    .arg(accent, tr("You:"), escaped(turn.question));
        if (turn.baseline) {
            html += QStringLiteral("<table width='100%' cellspacing='4' cellpadding='4' border='1'>"
                                   "<tr><th width='50%'>%1</th><th width='50%'>%2</th></tr>"
                                   "<tr><td valign='top'>%3</td><td valign='top'>%4</td></tr></table>")
                        .arg(tr("UHD plan"), tr("LLaVA-1.5 baseline"), answerHtml(turn.answer),
                             answerHtml(*turn.baseline));
        } else {
            html += QStringLiteral("<p><b>%1</b> %2</p>").arg(tr("Model:"), answerHtml(turn.answer));
        }
    }
    return html;
}

} // namespace uhdlens::ui
