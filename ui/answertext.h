// UHD Lens UI — an answer's text as Markdown: rendered into the chat transcript through Qt's own Markdown
// reader (QTextDocument::setMarkdown, GitHub dialect: tables, fenced code, lists), and as plain text for the
// clipboard.
#pragma once

#include <QString>

class QTextCursor;
class QTextDocument;

namespace uhdlens::ui {

// Inserts `markdown` at `cursor` as rich text (tables become QTextTable, fenced code a code block).
void insertMarkdownAnswer(QTextCursor &cursor, const QString &markdown);

// What a reader sees of `markdown`, without its markup: one line per paragraph, heading or code line, list
// items with "• " (numbered ones with their number), table rows with their cells separated by tabs (so the
// text pastes into a spreadsheet as a table).
QString markdownToPlainText(const QString &markdown);

// The same walk over any rich-text document (what markdownToPlainText does after reading the Markdown).
QString documentPlainText(const QTextDocument &document);

} // namespace uhdlens::ui
