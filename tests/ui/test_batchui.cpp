// Batch dialog, Transcribe and Markdown answers (issue 23, the app side), offscreen: the dialog runs a real
// batch with a tiny random model (`uhdlens-cli make-tiny`) over a folder of good, broken and non-image files;
// the chat panel renders Markdown answers into a QTextDocument whose structure is checked (tables, code
// blocks), and the copy actions' clipboard text. CTest runs each test function as its own entry
// (ui.<function>).
#include "answertext.h"
#include "batchdialog.h"
#include "chatpanel.h"
#include "engineworker.h"
#include "language.h"
#include "mainwindow.h"
#include "qtest_support.h"
#include "session.h"
#include "settingsdialog.h"

#include "uhdlens/batch.h"

#include <nlohmann/json.hpp>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QTextDocument>
#include <QTextFrame>
#include <QTextTable>
#include <QToolButton>
#include <QUrl>

#include <algorithm>
#include <memory>

using namespace uhdlens;
using namespace uhdlens::ui;
using namespace uhdlens::uitest;

namespace {

const QString kMarkdownAnswer = QStringLiteral("Here is the invoice:\n\n"
                                               "| Item | Price |\n|---|---|\n| Tea | 2.50 |\n| Cake | 3 |\n\n"
                                               "```python\nprint('hi')\nx = 1\n```\n\n"
                                               "- first point\n- **second** point\n");
const QString kMarkdownPlain = QStringLiteral("Here is the invoice:\n"
                                              "Item\tPrice\nTea\t2.50\nCake\t3\n\n"
                                              "print('hi')\nx = 1\n"
                                              "• first point\n• second point");

int countTables(const QTextFrame *frame)
{
    int n = 0;
    for (const QTextFrame *child : frame->childFrames())
        n += (qobject_cast<const QTextTable *>(child) ? 1 : 0) + countTables(child);
    return n;
}

QStringList codeLines(const QTextDocument &doc)
{
    QStringList lines;
    for (QTextBlock b = doc.begin(); b.isValid(); b = b.next()) {
        if (b.blockFormat().hasProperty(QTextFormat::BlockCodeFence))
            lines << b.text();
    }
    return lines;
}

// One image document with one finished answer `text`.
ImageDocument answeredDocument(const QString &text)
{
    ImageDocument doc;
    doc.id = 1;
    doc.title = QStringLiteral("invoice.png");
    doc.image = QImage(64, 64, QImage::Format_RGB888);
    ChatTurn turn;
    turn.question = QStringLiteral("Transcribe it.");
    turn.answer.text = text;
    turn.answer.state = AnswerState::Finished;
    doc.turns.push_back(turn);
    return doc;
}

QImage drawnImage(QSize size, int seed)
{
    QImage img(size, QImage::Format_RGB888);
    img.fill(QColor(240, 236, 226));
    QPainter p(&img);
    for (int i = 0; i < 20; ++i)
        p.fillRect(QRect((i * 97 + seed * 13) % size.width(), (i * 61 + seed * 7) % size.height(), 50, 30),
                   QColor::fromHsv((i * 17 + seed * 40) % 360, 200, 200));
    p.end();
    return img;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A shown main window with its settings in `settingsFile`, without the default model.
std::unique_ptr<MainWindow> shownWindow(const QString &settingsFile)
{
    auto w = std::make_unique<MainWindow>(MainWindowOptions{settingsFile, /*loadDefaultModel=*/false});
    w->resize(1400, 900);
    w->show();
    return w;
}

} // namespace

class BatchUiTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<MainWindow> makeWindow() { return shownWindow(m_settingsFile); }

    // Loads the tiny model into `w`; answers are at most `maxNewTokens` long.
    bool loadTiny(MainWindow &w, int maxNewTokens)
    {
        if (!loadModelAndWait(w, tinyModel(m_tmp)))
            return false;
        Preferences prefs = w.preferences();
        prefs.generation.maxNewTokens = maxNewTokens;
        w.setPreferences(prefs);
        return true;
    }

    // A folder of `good` drawn PNGs (one of them a JPEG in a subfolder), a truncated PNG and a text file.
    QString makeFolder(const QString &name, int good)
    {
        const QString dir = m_tmp.filePath(name);
        QDir().mkpath(dir + QStringLiteral("/sub"));
        for (int i = 0; i < good; ++i) {
            const QImage img = drawnImage(QSize(480 + 40 * i, 360), i);
            if (i == good - 1 && good > 1)
                img.save(dir + QStringLiteral("/sub/photo%1.jpg").arg(i), "JPEG");
            else
                img.save(dir + QStringLiteral("/page%1.png").arg(i), "PNG");
        }
        // Sorted first ("a_..."): an image by its signature whose pixels are cut off.
        const QByteArray png = pngBytes(drawnImage(QSize(300, 200), 9));
        QFile broken(dir + QStringLiteral("/a_broken.png"));
        broken.open(QIODevice::WriteOnly);
        broken.write(png.left(png.size() / 3));
        broken.close();
        QFile text(dir + QStringLiteral("/notes.txt"));
        text.open(QIODevice::WriteOnly);
        text.write("not an image\n");
        return dir;
    }

    QTemporaryDir m_tmp;
    const QString m_settingsFile = m_tmp.filePath(QStringLiteral("settings.ini"));

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void init()
    {
        QFile::remove(m_settingsFile);
        applyLanguage(QStringLiteral("en"));
        QApplication::clipboard()->clear();
    }

    void markdownAnswerRendersTableAndCode()
    {
        ImageDocument doc = answeredDocument(kMarkdownAnswer);
        ChatPanel panel;
        panel.setModelReady(true);
        panel.setDocument(&doc);
        const QTextDocument &rendered = *panel.transcript()->document();
        QCOMPARE(countTables(rendered.rootFrame()), 1);
        QCOMPARE(codeLines(rendered), QStringList({QStringLiteral("print('hi')"), QStringLiteral("x = 1")}));
        // The table holds the cells, the markup is gone, lists are lists.
        QTextTable *table = nullptr;
        for (QTextFrame *f : rendered.rootFrame()->childFrames())
            table = table ? table : qobject_cast<QTextTable *>(f);
        QVERIFY(table);
        QCOMPARE(table->rows(), 3);
        QCOMPARE(table->columns(), 2);
        QCOMPARE(table->cellAt(1, 0).firstCursorPosition().block().text(), QStringLiteral("Tea"));
        const QString shown = panel.transcriptText();
        QVERIFY2(!shown.contains(QStringLiteral("|")) && !shown.contains(QStringLiteral("```")) &&
                     !shown.contains(QStringLiteral("**")),
                 qPrintable(shown));
        int listItems = 0;
        for (QTextBlock b = rendered.begin(); b.isValid(); b = b.next())
            listItems += b.textList() ? 1 : 0;
        QCOMPARE(listItems, 2);

        // Plain text: the answer as typed, no table, no code block.
        panel.setPlainTextAnswers(true);
        QCOMPARE(countTables(rendered.rootFrame()), 0);
        QVERIFY(codeLines(rendered).isEmpty());
        QVERIFY2(panel.transcriptText().contains(QStringLiteral("| Tea | 2.50 |")),
                 qPrintable(panel.transcriptText()));
        QVERIFY(panel.transcriptText().contains(QStringLiteral("```python")));
        panel.setPlainTextAnswers(false);
        QCOMPARE(countTables(rendered.rootFrame()), 1);

        // HTML in an answer stays text (no markup injected into the transcript).
        ImageDocument html = answeredDocument(QStringLiteral("<img src='x.png'><b>bold?</b>"));
        panel.setDocument(&html);
        QVERIFY2(panel.transcriptText().contains(QStringLiteral("<b>bold?</b>")),
                 qPrintable(panel.transcriptText()));
    }

    void plainTextSettingPersists()
    {
        {
            auto w = makeWindow();
            QVERIFY(!w->chatPanel()->plainTextAnswers());
            Preferences prefs = w->preferences();
            SettingsDialog dialog(prefs);
            auto *box = dialog.findChild<QCheckBox *>(QStringLiteral("plainTextAnswers"));
            QVERIFY(box && !box->isChecked());
            box->setChecked(true);
            QVERIFY(dialog.preferences().plainTextAnswers);
            w->setPreferences(dialog.preferences());
            QVERIFY(w->chatPanel()->plainTextAnswers());
        }
        QSettings s(m_settingsFile, QSettings::IniFormat);
        QCOMPARE(s.value(QStringLiteral("chat/plainTextAnswers")).toBool(), true);
        auto w = makeWindow(); // the next start shows plain text too
        QVERIFY(w->chatPanel()->plainTextAnswers());
    }

    void copyActionsPutAnswerOnClipboard()
    {
        ImageDocument doc = answeredDocument(kMarkdownAnswer);
        ChatTurn second;
        second.question = QStringLiteral("And the total?");
        second.answer.text = QStringLiteral("**5.50** in *total*");
        second.answer.state = AnswerState::Finished;
        doc.turns.push_back(second);
        ChatPanel panel;
        panel.setModelReady(true);
        panel.setDocument(&doc);
        QCOMPARE(panel.answerCount(), 2);
        QClipboard *clip = QApplication::clipboard();
        // The links under each answer ("copymd:N", "copytext:N"), as a click on them sends them.
        Q_EMIT panel.transcript()->anchorClicked(QUrl(QStringLiteral("copymd:0")));
        QCOMPARE(clip->text(), kMarkdownAnswer);
        Q_EMIT panel.transcript()->anchorClicked(QUrl(QStringLiteral("copytext:0")));
        QCOMPARE(clip->text(), kMarkdownPlain);
        Q_EMIT panel.transcript()->anchorClicked(QUrl(QStringLiteral("copytext:1")));
        QCOMPARE(clip->text(), QStringLiteral("5.50 in total"));
        Q_EMIT panel.transcript()->anchorClicked(QUrl(QStringLiteral("copymd:1")));
        QCOMPARE(clip->text(), QStringLiteral("**5.50** in *total*"));
        // An index that names no answer copies nothing.
        clip->setText(QStringLiteral("unchanged"));
        Q_EMIT panel.transcript()->anchorClicked(QUrl(QStringLiteral("copymd:7")));
        Q_EMIT panel.transcript()->anchorClicked(QUrl(QStringLiteral("copytext:-1")));
        QCOMPARE(clip->text(), QStringLiteral("unchanged"));
        // The links are in the transcript, and the context menu finds the answer under the mouse: the table's
        // cell "Cake" belongs to answer 0, the word "total" to answer 1, the question to none.
        QVERIFY(panel.transcriptText().contains(QStringLiteral("Copy as Markdown")));
        const QTextDocument *d = panel.transcript()->document();
        QCOMPARE(panel.answerAt(d->find(QStringLiteral("Cake")).position()), 0);
        QCOMPARE(panel.answerAt(d->find(QStringLiteral("5.50")).position()), 1);
        QCOMPARE(panel.answerAt(d->find(QStringLiteral("And the total?")).position()), -1);

        // The context menu over the table of answer 0 offers both copies of that answer (popup, no exec()).
        panel.resize(600, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QTextCursor cake = d->find(QStringLiteral("Cake"));
        const QPoint at = panel.transcript()->cursorRect(cake).center();
        Q_EMIT panel.transcript()->customContextMenuRequested(at);
        QMenu *menu = nullptr;
        QTRY_VERIFY((menu = qobject_cast<QMenu *>(QApplication::activePopupWidget())) != nullptr);
        QAction *copyText = nullptr;
        for (QAction *a : menu->actions())
            copyText = a->text() == QStringLiteral("Copy Answer as Plain Text") ? a : copyText;
        QVERIFY(copyText);
        copyText->trigger();
        menu->close();
        QCOMPARE(clip->text(), kMarkdownPlain);
    }

    void batchAndTranscribeInChinese()
    {
        auto w = makeWindow();
        BatchDialog *dialog = w->openBatchDialog();
        applyLanguage(QStringLiteral("zh_CN"));
        QTRY_COMPARE(dialog->windowTitle(), QStringLiteral("批处理"));
        QVERIFY2(w->batchAction()->text().contains(QStringLiteral("批处理")),
                 qPrintable(w->batchAction()->text()));
        QVERIFY(w->chatPanel()->transcribeAction()->text().contains(QStringLiteral("转录")));
        QVERIFY(dialog->resultsTable()
                    ->horizontalHeaderItem(BatchDialog::AnswerColumn)
                    ->text()
                    .contains(QStringLiteral("回答")));
        // The copy links under an answer, too.
        ImageDocument doc = answeredDocument(QStringLiteral("**x**"));
        ChatPanel panel;
        panel.setDocument(&doc);
        QVERIFY2(panel.transcriptText().contains(QStringLiteral("复制为 Markdown")),
                 qPrintable(panel.transcriptText()));
        applyLanguage(QStringLiteral("en"));
        QTRY_COMPARE(dialog->windowTitle(), QStringLiteral("Batch"));
    }

    void markdownToPlainTextCases()
    {
        QCOMPARE(markdownToPlainText(kMarkdownAnswer), kMarkdownPlain);
        QCOMPARE(markdownToPlainText(QStringLiteral("1. one\n2. two\n")), QStringLiteral("1. one\n2. two"));
        QCOMPARE(markdownToPlainText(QStringLiteral("# Title\n\nA [link](http://x.org) and `code`.")),
                 QStringLiteral("Title\nA link and code."));
        QCOMPARE(markdownToPlainText(QString()), QString());
        QCOMPARE(markdownToPlainText(QStringLiteral("no markup at all")), QStringLiteral("no markup at all"));
    }

    void streamingRerendersOnlyTheLastAnswer()
    {
        ImageDocument doc = answeredDocument(kMarkdownAnswer);
        ChatTurn streaming;
        streaming.question = QStringLiteral("More?");
        streaming.answer.state = AnswerState::Answering;
        streaming.answer.text = QStringLiteral("| a |");
        doc.turns.push_back(streaming);
        ChatPanel panel;
        panel.setModelReady(true);
        panel.setDocument(&doc);
        panel.show();
        QTest::qWait(50); // the first show's style and palette events re-render everything: let them pass
        const int firstTurnEnd = panel.transcript()->document()->find(QStringLiteral("More?")).position();
        QVERIFY(firstTurnEnd > 0);
        QList<int> changedAt;
        connect(panel.transcript()->document(), &QTextDocument::contentsChange, this,
                [&changedAt](int position, int, int) { changedAt << position; });
        // Tokens stream in: the table of the streaming answer grows; earlier turns are not touched.
        for (const char *piece : {"\n|---|\n", "| 1 |\n", "| 2 |\n"}) {
            const qsizetype before = changedAt.size();
            doc.turns.back().answer.text += QLatin1String(piece);
            panel.scheduleRender();
            QTRY_VERIFY(changedAt.size() > before);
            QTest::qWait(10); // the render is one burst of changes: let it end
        }
        for (int at : changedAt)
            QVERIFY2(
                at >= firstTurnEnd,
                qPrintable(QStringLiteral("changed at %1, first turn ends at %2").arg(at).arg(firstTurnEnd)));
        QCOMPARE(countTables(panel.transcript()->document()->rootFrame()), 2);
        QCOMPARE(panel.answerCount(), 2);
        Q_EMIT panel.transcript()->anchorClicked(QUrl(QStringLiteral("copymd:1")));
        QCOMPARE(QApplication::clipboard()->text(), doc.turns.back().answer.text);
        // The same document rendered from scratch reads the same.
        const QString incremental = panel.transcriptText();
        panel.renderNow();
        QCOMPARE(panel.transcriptText(), incremental);
    }

    void transcribeSendsFamilyPrompt()
    {
        auto w = makeWindow();
        QAction *transcribe = w->chatPanel()->transcribeAction();
        QVERIFY(!transcribe->isEnabled()); // no image, no model
        QVERIFY(loadTiny(*w, 8));
        w->openFiles({kData + QStringLiteral("/images/vga.png")});
        QTRY_COMPARE_WITH_TIMEOUT(w->documentCount(), 1, 10000);
        QVERIFY(transcribe->isEnabled());
        QCOMPARE(transcribe->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_T));
        QSignalSpy done(w.get(), &MainWindow::generationFinished);
        int tokens = 0;
        connect(
            w->engine(), &EngineWorker::token, this, [&tokens] { ++tokens; }, Qt::QueuedConnection);
        transcribe->trigger();
        QVERIFY(w->isGenerating());
        QVERIFY(!transcribe->isEnabled()); // busy
        // A page is long: the transcription may run past the 8 tokens the preferences allow a question (up to
        // batch::kTranscribeMaxNewTokens; the random tiny model never stops early). Stop it once that is
        // shown.
        QTRY_VERIFY_WITH_TIMEOUT(tokens > 8 || done.count() > 0, 60000);
        QVERIFY2(done.count() == 0, "the transcription stopped at the question's token limit");
        w->stop();
        QVERIFY(done.wait(20000));
        const QString prompt = QString::fromStdString(transcriptionPrompt(w->modelInfo()->family));
        QVERIFY(!prompt.isEmpty());
        QCOMPARE(w->session()->transcriptionPrompt(), prompt);
        const ImageDocument *doc = w->currentDocument();
        QCOMPARE(doc->turns.size(), size_t(1));
        QCOMPARE(doc->turns[0].question, prompt);
        QCOMPARE(doc->turns[0].answer.state, AnswerState::Stopped);
        QVERIFY(doc->turns[0].answer.generatedTokens > 8);
        // Other questions keep the preferences' limit.
        QCOMPARE(w->session()->generationSettings().maxNewTokens, 8);
        // The button sits next to Send.
        const QList<QToolButton *> buttons = w->chatPanel()->findChildren<QToolButton *>();
        QVERIFY(std::any_of(buttons.begin(), buttons.end(),
                            [&](QToolButton *b) { return b->defaultAction() == transcribe; }));
    }

    void batchDialogRunsAFolder()
    {
        auto w = makeWindow();
        QVERIFY(loadTiny(*w, 6));
        const QString folder = makeFolder(QStringLiteral("scans"), 3);
        QCOMPARE(w->batchAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
        QVERIFY(w->fileMenu()->actions().contains(w->batchAction()));
        w->batchAction()->trigger();
        BatchDialog *dialog = w->batchDialog();
        QVERIFY(dialog && dialog->isVisible());
        for (const char *ext : {"csv", "jsonl", "md"}) {
            const QString out = m_tmp.filePath(QStringLiteral("results.") + QLatin1String(ext));
            dialog->setInputs({folder});
            dialog->setQuestion(QStringLiteral("What is in the image?"));
            dialog->setOutputFile(out);
            QSignalSpy finished(dialog, &BatchDialog::runFinished);
            StallMeter meter;
            meter.start();
            QVERIFY2(dialog->start(), qPrintable(dialog->statusText()));
            QVERIFY(dialog->isRunning());
            QVERIFY(finished.wait(180000));
            meter.stop();
            qInfo("%s: longest GUI-thread stall during the batch %.1f ms", ext, meter.maxGapMs());
            // The GUI thread only fills the table. 400 ms (as for opening a huge image) leaves room for the
            // first run, which also starts torch's thread pool on a 2-core machine shared with compilers
            // (measured 100-250 ms there, 30-70 ms for the later runs); a batch on the GUI thread would block
            // for seconds.
            QVERIFY2(meter.maxGapMs() < 400.0, qPrintable(QString::number(meter.maxGapMs())));
            QVERIFY(!dialog->isRunning());
            QVERIFY2(dialog->statusText().contains(QStringLiteral("1 failed")),
                     qPrintable(dialog->statusText()));
            QCOMPARE(dialog->askedQuestion(), QStringLiteral("What is in the image?"));

            // Rows: the broken PNG (sorted first) with its error, then the three images with grid and tokens;
            // the text file is skipped.
            QTableWidget *table = dialog->resultsTable();
            QCOMPARE(table->rowCount(), 4);
            QCOMPARE(table->item(0, BatchDialog::FileColumn)->text(), QStringLiteral("a_broken.png"));
            QVERIFY(table->item(0, BatchDialog::GridColumn)->text().isEmpty());
            QVERIFY(!table->item(0, BatchDialog::AnswerColumn)->text().isEmpty());
            QStringList names;
            for (int row = 1; row < 4; ++row) {
                names << table->item(row, BatchDialog::FileColumn)->text();
                QVERIFY2(
                    table->item(row, BatchDialog::GridColumn)->text().contains(QStringLiteral("slice")) ||
                        table->item(row, BatchDialog::GridColumn)
                            ->text()
                            .contains(QStringLiteral("overview")),
                    qPrintable(table->item(row, BatchDialog::GridColumn)->text()));
                QVERIFY(table->item(row, BatchDialog::TokensColumn)->text().toInt() > 0);
            }
            QCOMPARE(names, QStringList({QStringLiteral("page0.png"), QStringLiteral("page1.png"),
                                         QStringLiteral("photo2.jpg")}));
            QCOMPARE(dialog->progressBar()->value(), 4);
            QVERIFY2(dialog->progressText().startsWith(QStringLiteral("4 / 4 images")),
                     qPrintable(dialog->progressText()));
            QVERIFY(dialog->progressText().contains(QStringLiteral("images/min")));

            // The file: a complete batch output with the same records, readable by --resume.
            const batch::Format format = *batch::formatForPath(out.toStdString());
            const batch::Existing existing = batch::readExisting(out.toStdString(), format);
            QCOMPARE(existing.files.size(), size_t(4));
            QCOMPARE(existing.failed.size(), size_t(1));
            QVERIFY(QString::fromStdString(existing.failed[0]).endsWith(QStringLiteral("a_broken.png")));
            QCOMPARE(existing.validBytes, existing.totalBytes);
            QVERIFY(existing.settings.has_value() || format == batch::Format::JsonLines);
            if (existing.settings) {
                QCOMPARE(existing.settings->question, std::string("What is in the image?"));
                QCOMPARE(existing.settings->policy, w->effectivePolicy().name());
                QCOMPARE(existing.settings->maxNewTokens, 6);
            }
            if (format == batch::Format::JsonLines) {
                // Each answer in the file is the one the table shows.
                const QList<QByteArray> lines = readAll(out).split('\n');
                const auto j = nlohmann::json::parse(lines.at(1).toStdString());
                QCOMPARE(QString::fromStdString(j["answer"].get<std::string>()).simplified(),
                         table->item(1, BatchDialog::AnswerColumn)->text());
            }
        }

        // Double-click: the image opens in the main window with its answer.
        QTableWidget *table = dialog->resultsTable();
        const QString answer = table->item(2, BatchDialog::AnswerColumn)->text();
        const QRect cell = table->visualItemRect(table->item(2, BatchDialog::FileColumn));
        // A double-click is a press on the row first (item views ignore a double-click on another item).
        QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
        QTest::mouseDClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
        QTRY_COMPARE_WITH_TIMEOUT(w->documentCount(), 1, 10000);
        QTRY_VERIFY(!w->currentDocument()->turns.empty());
        const ImageDocument *doc = w->currentDocument();
        QCOMPARE(QFileInfo(doc->path).fileName(), QStringLiteral("page1.png"));
        QCOMPARE(doc->turns[0].question, QStringLiteral("What is in the image?"));
        QCOMPARE(doc->turns[0].answer.text.simplified(), answer);
        QCOMPARE(doc->turns[0].answer.state, AnswerState::Finished);
        QVERIFY(doc->turns[0].answer.imageTokens > 0);
        // Again: the open image is shown, the answer not added twice.
        QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
        QTest::mouseDClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
        QTest::qWait(200);
        QCOMPARE(w->documentCount(), 1);
        QCOMPARE(w->currentDocument()->turns.size(), size_t(1));
    }

    void batchTranscribeAsksTheFamilyPrompt()
    {
        auto w = makeWindow();
        QVERIFY(loadTiny(*w, 4));
        const QString folder = makeFolder(QStringLiteral("transcribe"), 1);
        BatchDialog *dialog = w->openBatchDialog();
        const QString out = m_tmp.filePath(QStringLiteral("transcribed.md"));
        dialog->setInputs({folder + QStringLiteral("/page0.png")});
        auto *settingsLine = dialog->findChild<QLabel *>(QStringLiteral("batchSettings"));
        QVERIFY(settingsLine);
        dialog->setQuestion(QStringLiteral("Title?"));
        QVERIFY2(settingsLine->text().contains(QStringLiteral("at most 4 new token")),
                 qPrintable(settingsLine->text()));
        dialog->setTranscribe(true);
        QVERIFY2(settingsLine->text().contains(
                     QStringLiteral("at most %1 new token").arg(batch::kTranscribeMaxNewTokens)),
                 qPrintable(settingsLine->text()));
        dialog->setOutputFile(out);
        QSignalSpy finished(dialog, &BatchDialog::runFinished);
        // The question is known once the engine starts: cancel then (a transcription of up to
        // batch::kTranscribeMaxNewTokens tokens takes a while even with the tiny model).
        connect(w->engine(), &EngineWorker::batchStarted, dialog, [dialog] { dialog->cancel(); });
        QVERIFY(dialog->start());
        QVERIFY(finished.wait(120000));
        const std::string prompt = transcriptionPrompt(w->modelInfo()->family);
        QCOMPARE(dialog->askedQuestion().toStdString(), prompt);
        // The Markdown file's header records the run's settings even before any record.
        const batch::Existing existing = batch::readExisting(out.toStdString(), batch::Format::Markdown);
        QVERIFY(existing.settings && existing.settings->transcribe);
        QCOMPARE(existing.settings->question, prompt);
        QCOMPARE(existing.settings->maxNewTokens, batch::kTranscribeMaxNewTokens); // the preferences say 4
        QVERIFY(existing.files.empty());
        QCOMPARE(existing.validBytes, existing.totalBytes);
    }

    void batchCancelLeavesValidFile()
    {
        auto w = makeWindow();
        QVERIFY(loadTiny(*w, 4000)); // far longer than the test waits: only Cancel ends an image early
        const QString folder = makeFolder(QStringLiteral("many"), 5);
        BatchDialog *dialog = w->openBatchDialog();
        const QString out = m_tmp.filePath(QStringLiteral("cancelled.jsonl"));
        dialog->setInputs({folder});
        dialog->setQuestion(QStringLiteral("Describe everything."));
        dialog->setOutputFile(out);
        QSignalSpy finished(dialog, &BatchDialog::runFinished);
        int started = 0;
        connect(
            w->engine(), &EngineWorker::batchImageStarted, this, [&started] { ++started; },
            Qt::QueuedConnection);
        StallMeter meter;
        meter.start();
        QVERIFY(dialog->start());
        // The broken file's record comes at once; then the first real image answers at length.
        QTRY_VERIFY_WITH_TIMEOUT(started >= 2, 60000);
        QTest::qWait(300);
        QVERIFY(dialog->isRunning());
        auto *cancel = dialog->findChild<QPushButton *>(QStringLiteral("batchCancel"));
        QVERIFY(cancel && cancel->isEnabled());
        QElapsedTimer clock;
        clock.start();
        cancel->click();
        QVERIFY(finished.wait(20000));
        meter.stop();
        qInfo("cancel took %lld ms; longest GUI-thread stall %.1f ms", clock.elapsed(), meter.maxGapMs());
        QVERIFY2(meter.maxGapMs() < 250.0, qPrintable(QString::number(meter.maxGapMs())));
        QVERIFY2(dialog->statusText().startsWith(QStringLiteral("Cancelled after 1 of 6 images")),
                 qPrintable(dialog->statusText()));
        QVERIFY(dialog->resultsTable()
                    ->item(1, BatchDialog::AnswerColumn)
                    ->text()
                    .startsWith(QStringLiteral("cancelled")));
        // The file holds exactly the one complete record: valid JSON lines, nothing cut off.
        const batch::Existing existing = batch::readExisting(out.toStdString(), batch::Format::JsonLines);
        QCOMPARE(existing.files.size(), size_t(1));
        QCOMPARE(existing.validBytes, existing.totalBytes);
        for (const QByteArray &line : readAll(out).split('\n')) {
            if (!line.isEmpty())
                QVERIFY(nlohmann::json::accept(line.toStdString()));
        }
        // The engine is free again: a question in the main window is answered.
        Preferences prefs = w->preferences();
        prefs.generation.maxNewTokens = 4;
        w->setPreferences(prefs);
        w->openFiles({folder + QStringLiteral("/page0.png")});
        QTRY_COMPARE_WITH_TIMEOUT(w->documentCount(), 1, 10000);
        QSignalSpy done(w.get(), &MainWindow::generationFinished);
        w->ask(QStringLiteral("Short?"));
        QVERIFY(done.wait(120000));
        QCOMPARE(w->currentDocument()->turns.back().answer.state, AnswerState::Finished);
    }

    void chatStopLeavesTheBatchRunning()
    {
        // Esc in the chat stops the chat's answers, not a batch run on the same engine thread.
        auto w = makeWindow();
        QVERIFY(loadTiny(*w, 8));
        const QString folder = makeFolder(QStringLiteral("stop"), 2);
        BatchDialog *dialog = w->openBatchDialog();
        dialog->setInputs({folder});
        dialog->setQuestion(QStringLiteral("What?"));
        dialog->setOutputFile(m_tmp.filePath(QStringLiteral("stop.csv")));
        QSignalSpy finished(dialog, &BatchDialog::runFinished);
        QVERIFY(dialog->start());
        w->stop();
        QVERIFY(finished.wait(120000));
        QVERIFY2(dialog->statusText().startsWith(QStringLiteral("Done: 3 image")),
                 qPrintable(dialog->statusText()));
    }

    void batchDialogRefusesBadInput()
    {
        auto w = makeWindow();
        BatchDialog *dialog = w->openBatchDialog();
        auto *start = dialog->findChild<QPushButton *>(QStringLiteral("batchStart"));
        // Without a model.
        dialog->setInputs({m_tmp.path()});
        dialog->setQuestion(QStringLiteral("What?"));
        dialog->setOutputFile(m_tmp.filePath(QStringLiteral("x.csv")));
        QVERIFY(!start->isEnabled());
        QVERIFY(!dialog->start());
        QVERIFY2(dialog->statusText().contains(QStringLiteral("No model")), qPrintable(dialog->statusText()));
        QVERIFY(loadTiny(*w, 4));
        QVERIFY(start->isEnabled());
        struct Case
        {
            const char *name;
            QStringList inputs;
            QString question; // empty: transcribe
            bool ask;
            QString out;
            QString says;
        };
        const QString folder = makeFolder(QStringLiteral("bad"), 1);
        const std::vector<Case> cases = {
            {"no inputs",
             {},
             QStringLiteral("What?"),
             true,
             m_tmp.filePath(QStringLiteral("a.csv")),
             QStringLiteral("Add a folder")},
            {"empty question",
             {folder},
             QStringLiteral("  "),
             true,
             m_tmp.filePath(QStringLiteral("a.csv")),
             QStringLiteral("Type the question")},
            {"no output",
             {folder},
             QStringLiteral("What?"),
             true,
             QString(),
             QStringLiteral("Choose the output")},
            {"unknown format",
             {folder},
             QStringLiteral("What?"),
             true,
             m_tmp.filePath(QStringLiteral("a.txt")),
             QStringLiteral("name it .jsonl, .csv or .md")},
            {"output is a folder",
             {folder},
             QStringLiteral("What?"),
             true,
             m_tmp.filePath(QStringLiteral("bad.md")),
             QStringLiteral("is a folder")},
        };
        QDir().mkpath(m_tmp.filePath(QStringLiteral("bad.md")));
        for (const Case &c : cases) {
            dialog->setInputs(c.inputs);
            dialog->setQuestion(c.question);
            dialog->setOutputFile(c.out);
            QVERIFY2(!dialog->start(), c.name);
            QVERIFY2(dialog->statusText().contains(c.says),
                     qPrintable(QLatin1String(c.name) + QLatin1String(": ") + dialog->statusText()));
            QVERIFY(!dialog->isRunning());
        }
        // Failures the engine finds: a folder without images, an output in a folder that does not exist.
        QDir().mkpath(m_tmp.filePath(QStringLiteral("textonly")));
        QFile t(m_tmp.filePath(QStringLiteral("textonly/readme.txt")));
        QVERIFY(t.open(QIODevice::WriteOnly));
        t.write("text");
        t.close();
        const std::vector<std::pair<QStringList, QString>> engineCases = {
            {{m_tmp.filePath(QStringLiteral("textonly"))}, m_tmp.filePath(QStringLiteral("none.csv"))},
            {{folder}, m_tmp.filePath(QStringLiteral("missing/dir/out.csv"))},
        };
        const QStringList says = {QStringLiteral("No image found"), QStringLiteral("missing/dir/out.csv")};
        for (size_t i = 0; i < engineCases.size(); ++i) {
            dialog->setInputs(engineCases[i].first);
            dialog->setQuestion(QStringLiteral("What?"));
            dialog->setOutputFile(engineCases[i].second);
            QSignalSpy finished(dialog, &BatchDialog::runFinished);
            QVERIFY(dialog->start());
            QVERIFY(finished.wait(60000));
            QVERIFY2(dialog->statusText().startsWith(QStringLiteral("The batch stopped")) &&
                         dialog->statusText().contains(says[int(i)]),
                     qPrintable(dialog->statusText()));
            QVERIFY(!dialog->isRunning());
        }
        QVERIFY(!QFileInfo::exists(m_tmp.filePath(QStringLiteral("none.csv"))));
    }
};

QTEST_MAIN(BatchUiTest)
#include "test_batchui.moc"
