#include "answertext.h"

#include <QStringList>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextDocumentFragment>
#include <QTextFrame>
#include <QTextList>
#include <QTextTable>

#include <algorithm>

namespace uhdlens::ui {

namespace {

// GitHub's dialect (tables, strike-through, task lists) as models write it, without raw HTML: HTML in an
// answer is shown as text, so an answer cannot put images or styled markup into the transcript.
const QTextDocument::MarkdownFeatures kFeatures(QTextDocument::MarkdownDialectGitHub |
                                                QTextDocument::MarkdownNoHTML);

QString blockText(const QTextBlock &block)
{
    QString text = block.text();
    // A code block's or a hard break's line ends are Unicode line separators inside one block.
    text.replace(QChar::LineSeparator, QLatin1Char('\n'));
    text.replace(QChar::Nbsp, QLatin1Char(' '));
    return text;
}

QString cellText(const QTextTableCell &cell)
{
    QStringList parts;
    for (QTextBlock b = cell.firstCursorPosition().block();
         b.isValid() && b.position() <= cell.lastCursorPosition().position(); b = b.next())
        parts << blockText(b).simplified();
    return parts.join(QLatin1Char(' ')).trimmed();
}

void walkFrame(const QTextFrame *frame, QStringList &lines)
{
    for (auto it = frame->begin(); !it.atEnd(); ++it) {
        if (const QTextFrame *child = it.currentFrame()) {
            if (const auto *table = qobject_cast<const QTextTable *>(child)) {
                for (int r = 0; r < table->rows(); ++r) {
                    QStringList cells;
                    for (int c = 0; c < table->columns(); ++c)
                        cells << cellText(table->cellAt(r, c));
                    lines << cells.join(QLatin1Char('\t'));
                }
            } else {
                walkFrame(child, lines);
            }
            continue;
        }
        const QTextBlock block = it.currentBlock();
        QString prefix;
        if (const QTextList *list = block.textList()) {
            const QTextListFormat::Style style = list->format().style();
            const bool bullet = style == QTextListFormat::ListDisc || style == QTextListFormat::ListCircle ||
                                style == QTextListFormat::ListSquare;
            prefix = QString(2 * std::max(0, list->format().indent() - 1), QLatin1Char(' ')) +
                     (bullet ? QStringLiteral("• ") : list->itemText(block) + QLatin1Char(' ')); // "1. "
        }
        lines << prefix + blockText(block);
    }
}

} // namespace

void insertMarkdownAnswer(QTextCursor &cursor, const QString &markdown)
{
    QTextDocument parsed;
    parsed.setMarkdown(markdown, kFeatures);
    // A fragment's first block merges into the cursor's block and takes that block's format: give the (empty)
    // block the first block's format, so an answer that opens with a heading or code keeps it.
    const QTextBlock first = parsed.firstBlock();
    const int at = cursor.position();
    cursor.insertFragment(QTextDocumentFragment(&parsed));
    if (first.isValid() && !QTextCursor(first).currentTable() && !QTextCursor(first).currentList()) {
        QTextCursor head(cursor.document());
        head.setPosition(at);
        head.setBlockFormat(first.blockFormat());
    }
}

QString documentPlainText(const QTextDocument &document)
{
    QStringList lines;
    walkFrame(document.rootFrame(), lines);
    while (!lines.isEmpty() && lines.last().trimmed().isEmpty())
        lines.removeLast();
    return lines.join(QLatin1Char('\n'));
}

QString markdownToPlainText(const QString &markdown)
{
    QTextDocument parsed;
    parsed.setMarkdown(markdown, kFeatures);
    return documentPlainText(parsed);
}

} // namespace uhdlens::ui
