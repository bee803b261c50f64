// Capture-and-transcribe tests (Qt Test, offscreen): the single-instance hand-over (ui/singleinstance.h), the
// capture flow where the screen cannot be grabbed (the offscreen platform, like Wayland without a portal),
// and the transcription of a captured image to the clipboard with the popup (ui/capturetranscribe.h), on a
// tiny random model made by `uhdlens-cli make-tiny`.
#include "capturetranscribe.h"
#include "mainwindow.h"
#include "qtest_support.h"
#include "session.h"
#include "singleinstance.h"

#include "uhdlens/model_facts.h"

#include <QAbstractButton>
#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QFile>
#include <QLocalSocket>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QUuid>

using namespace uhdlens;
using namespace uhdlens::ui;
using uhdlens::uitest::kData;

class CaptureTest : public QObject
{
    Q_OBJECT

    static QString uniqueName()
    {
        return QStringLiteral("uhdlens-test-") + QUuid::createUuid().toString(QUuid::Id128);
    }

    // A window with its own settings file and no model loaded at start.
    MainWindowOptions windowOptions(const QString &ini) const
    {
        MainWindowOptions options;
        options.loadDefaultModel = false;
        options.settingsFile = m_tmp.filePath(ini);
        return options;
    }

    QTemporaryDir m_tmp;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QApplication::clipboard()->clear();
    }

    void singleInstanceHandsArgumentsOver()
    {
        const QString name = uniqueName();
        SingleInstance first(name);
        SingleInstance second(name);
        QVERIFY(!second.forwardToRunning({QStringLiteral("uhdlens")}, 300)); // nobody runs yet
        QVERIFY(first.listen());
        QVERIFY(first.isListening());
        QSignalSpy received(&first, &SingleInstance::argumentsReceived);
        const QStringList args = {QStringLiteral("uhdlens"), QStringLiteral("--capture"),
                                  QStringLiteral("--transcribe"), QStringLiteral("/tmp/a b/ü.png")};
        QVERIFY(second.forwardToRunning(args));
        QTRY_COMPARE(received.count(), 1);
        QCOMPARE(received.first().first().toStringList(), args);
    }

    void singleInstanceIgnoresMalformedMessages()
    {
        const QString name = uniqueName();
        SingleInstance first(name);
        QVERIFY(first.listen());
        QSignalSpy received(&first, &SingleInstance::argumentsReceived);
        for (const QByteArray &junk :
             {QByteArray("not json\n"), QByteArray("{\"arguments\": [1, 2]}\n"),
              QByteArray("[\"uhdlens\"]\n"), QByteArray("{\"arguments\": \"x\"}\n")}) {
            QLocalSocket raw;
            raw.connectToServer(name);
            QVERIFY(raw.waitForConnected(1000));
            raw.write(junk);
            QVERIFY(raw.waitForBytesWritten(1000));
            QTest::qWait(50);
        }
        QTest::qWait(100);
        QCOMPARE(received.count(), 0); // ignored, never half-applied
        // The server still works after them.
        SingleInstance later(name);
        QVERIFY(later.forwardToRunning({QStringLiteral("uhdlens"), QStringLiteral("x.png")}));
        QTRY_COMPARE(received.count(), 1);
    }

    void singleInstanceReplacesStaleSocket()
    {
        // A crashed instance leaves its socket file behind; the next launch must take the name over.
        const QString name = uniqueName();
        const QString path = QDir::temp().filePath(name);
        {
            QFile stale(path);
            QVERIFY(stale.open(QIODevice::WriteOnly));
        }
        SingleInstance next(name);
        QVERIFY(!next.forwardToRunning({QStringLiteral("uhdlens")}, 300));
        QVERIFY2(next.listen(), qPrintable(next.errorString()));
        SingleInstance later(name);
        QSignalSpy received(&next, &SingleInstance::argumentsReceived);
        QVERIFY(later.forwardToRunning({QStringLiteral("uhdlens")}));
        QTRY_COMPARE(received.count(), 1);
    }

    void captureUnavailableOffersToOpenAnImage()
    {
        // The offscreen platform cannot grab the screen (as Wayland without a portal): the flow ends at once,
        // and a box says why and offers the other way in.
        MainWindow w(windowOptions(QStringLiteral("capture.ini")));
        auto *flow = new CaptureTranscriber(&w);
        QSignalSpy finished(flow, &CaptureTranscriber::finished);
        QSignalSpy captured(&w, &MainWindow::captureFinished);
        flow->start(true);
        QTRY_COMPARE(finished.count(), 1);
        QCOMPARE(finished.first().first().toBool(), false);
        QCOMPARE(captured.first().first().toInt(), 0);
        QVERIFY(!flow->isRunning());
        auto *box = w.findChild<QMessageBox *>(QStringLiteral("captureUnavailableBox"));
        QVERIFY(box);
        QVERIFY(box->text().contains(QStringLiteral("not available")));
        bool hasOpen = false;
        for (QAbstractButton *b : box->buttons())
            hasOpen = hasOpen || b->text().contains(QStringLiteral("Open Image"));
        QVERIFY(hasOpen);
        QVERIFY(w.isVisible()); // the box needs its window, even when started from the desktop action
        QCOMPARE(w.documentCount(), 0);
    }

    void transcribeCopiesTheAnswerToTheClipboard()
    {
        const QString model = uitest::tinyModel(m_tmp);
        QVERIFY(!model.isEmpty());
        MainWindow w(windowOptions(QStringLiteral("transcribe.ini")));
        w.openFiles({kData + QStringLiteral("/images/vga.png")});
        QTRY_COMPARE_WITH_TIMEOUT(w.documentCount(), 1, 10000);
        const int id = w.session()->currentDocument()->id;
        // Asked while the model still loads: the flow waits for it.
        w.loadModel(model);
        QVERIFY(w.isModelLoading());
        QApplication::clipboard()->setText(QStringLiteral("before"));
        auto *flow = new CaptureTranscriber(&w);
        QSignalSpy finished(flow, &CaptureTranscriber::finished);
        flow->transcribeDocument(id);
        QVERIFY(flow->isRunning());
        QVERIFY(flow->popup() && flow->popup()->isVisible());
        QVERIFY(flow->popup()->statusText().contains(QStringLiteral("Waiting for the model")));

        // The text streams into the popup; a page's transcription may run to 1024 tokens, so the user's Stop
        // ends it here and the text so far is the result.
        const ImageDocument *doc = w.session()->document(id);
        QVERIFY(doc);
        QTRY_VERIFY_WITH_TIMEOUT(!flow->popup()->previewText().trimmed().isEmpty(), 120000);
        QVERIFY2(finished.count() == 0,
                 qPrintable(QStringLiteral("ended by itself after %1 tokens: %2")
                                .arg(doc->turns[0].answer.generatedTokens)
                                .arg(doc->turns[0].answer.stopReason)));
        auto *stop = flow->popup()->findChild<QPushButton *>(QStringLiteral("popupStop"));
        QVERIFY(stop && stop->isVisible());
        stop->click();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
        QVERIFY(!flow->isRunning());

        const ModelInfo &info = *w.session()->modelInfo();
        QCOMPARE(doc->turns[0].question, QString::fromStdString(transcriptionPrompt(info.family)));
        QCOMPARE(doc->turns[0].answer.state, AnswerState::Stopped);
        const QString answer = doc->turns[0].answer.text.trimmed();
        QVERIFY2(!answer.isEmpty(), "the tiny model's first tokens are not all whitespace");
        QCOMPARE(finished.first().first().toBool(), true);
        QCOMPARE(QApplication::clipboard()->text(), answer);
        QVERIFY(flow->popup()->statusText().contains(QStringLiteral("Copied")));
        QCOMPARE(flow->popup()->previewText(), answer);
        QVERIFY(!stop->isVisible());
        QVERIFY(!w.isVisible()); // it never needed the window
    }

    void transcribeWithoutModelSaysSo()
    {
        MainWindow w(windowOptions(QStringLiteral("nomodel.ini")));
        w.openFiles({kData + QStringLiteral("/images/vga.png")});
        QTRY_COMPARE_WITH_TIMEOUT(w.documentCount(), 1, 10000);
        QApplication::clipboard()->setText(QStringLiteral("kept"));
        auto *flow = new CaptureTranscriber(&w);
        QSignalSpy finished(flow, &CaptureTranscriber::finished);
        flow->transcribeDocument(w.session()->currentDocument()->id);
        QTRY_COMPARE(finished.count(), 1);
        QCOMPARE(finished.first().first().toBool(), false);
        QVERIFY(flow->popup()->statusText().contains(QStringLiteral("No model")));
        QCOMPARE(QApplication::clipboard()->text(), QStringLiteral("kept")); // nothing lost
    }
};

QTEST_MAIN(CaptureTest)
#include "test_capture.moc"
