// uhdlens: the UHD Lens desktop app. `uhdlens [IMAGE...] [--model DIR|FILE [--mmproj FILE]] [--capture
// [--transcribe]] [--screenshot FILE] [--text-layer]`; `--batch PATH --batch-out FILE [--ask QUESTION]` runs
// the Batch dialog once the model is loaded. One instance per user and display: a second launch hands its
// arguments to the running one (ui/singleinstance.h) unless --standalone is given or the launch is scripted
// (--screenshot, --batch, --ask, --demo-answer, --text-layer).
#include "batchdialog.h"
#include "capturetranscribe.h"
#include "chatpanel.h"
#include "mainwindow.h"
#include "singleinstance.h"
#include "slicecanvas.h"
#include "uhdlens/runtime.h"

#include <QApplication>
#include <QClipboard>
#include <QCommandLineParser>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QStatusBar>
#include <QTimer>

#include <cstdio>
#include <memory>

int main(int argc, char **argv)
{
    uhdlens::initRuntime(); // thread pool = cores, heap keeps big buffers (core/include/uhdlens/runtime.h)
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("UHD Lens"));
    QApplication::setOrganizationName(QStringLiteral("UHD Lens"));
    QApplication::setApplicationVersion(QStringLiteral(UHDLENS_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("io.github.uhdlens.UhdLens"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QApplication::translate(
        "main", "Ask questions about images of any size; see how each image is sliced and what it costs."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption modelOption(QStringLiteral("model"), QApplication::translate("main", "Load the model in DIR."),
                                   QStringLiteral("DIR"));
    QCommandLineOption mmprojOption(
        QStringLiteral("mmproj"),
        QApplication::translate(
            "main", "With a GGUF language-model file as --model: its mmproj (vision projector) file."),
        QStringLiteral("FILE"));
    QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QApplication::translate("main", "Save a PNG of the main window to FILE once the first plan is drawn, then quit."),
        QStringLiteral("FILE"));
    QCommandLineOption sizeOption(QStringLiteral("window-size"),
                                  QApplication::translate("main", "Initial window size, e.g. 1600x1000."),
                                  QStringLiteral("WxH"));
    QCommandLineOption noModelOption(QStringLiteral("no-model"),
                                     QApplication::translate("main", "Do not load the saved or bundled model."));
    QCommandLineOption askOption(
        QStringLiteral("ask"),
        QApplication::translate("main", "Ask QUESTION about the first image once the model is loaded (with --screenshot: "
                                        "grab after the answer)."),
        QStringLiteral("QUESTION"));
    QCommandLineOption abOption(QStringLiteral("ab"), QApplication::translate("main", "Answer --ask also with the LLaVA-1.5 baseline (A/B)."));
    QCommandLineOption captureOption(
        QStringLiteral("capture"),
        QApplication::translate("main", "Start by selecting a screen region to open (Esc cancels)."));
    QCommandLineOption transcribeOption(
        QStringLiteral("transcribe"),
        QApplication::translate("main",
                                "With --capture: transcribe the region with the loaded model and copy the "
                                "text to the clipboard, without showing the main window."));
    QCommandLineOption standaloneOption(
        QStringLiteral("standalone"),
        QApplication::translate("main", "Do not hand the arguments to a running UHD Lens; start a new one."));
    QCommandLineOption batchOption(
        QStringLiteral("batch"),
        QApplication::translate("main",
                                "Open the Batch dialog on PATH (a folder or an image) and run it once the "
                                "model is loaded: --ask is the question, else the model's transcription "
                                "prompt (with --screenshot: grab the dialog when the run ends)."),
        QStringLiteral("PATH"));
    QCommandLineOption batchOutOption(
        QStringLiteral("batch-out"),
        QApplication::translate("main", "The --batch output file: .jsonl, .csv or .md."),
        QStringLiteral("FILE"));
    QCommandLineOption demoAnswerOption(
        QStringLiteral("demo-answer"),
        QApplication::translate("main",
                                "Show the Markdown text in FILE as a recorded answer about the first image "
                                "(for documentation screenshots: it is not the model's answer)."),
        QStringLiteral("FILE"));
    QCommandLineOption textLayerOption(
        QStringLiteral("text-layer"),
        QApplication::translate("main",
                                "Show the text layer of the first image (with --screenshot: grab once its "
                                "text is recognised)."));
    const QList<QCommandLineOption> allOptions = {
        modelOption,   mmprojOption,     screenshotOption, sizeOption,     noModelOption,
        askOption,     abOption,         batchOption,      batchOutOption, demoAnswerOption,
        captureOption, transcribeOption, standaloneOption, textLayerOption};
    parser.addOptions(allOptions);
    parser.addPositionalArgument(QStringLiteral("images"), QApplication::translate("main", "Image files to open."),
                                 QStringLiteral("[IMAGE...]"));
    parser.process(app);

    // A running UHD Lens takes this launch's arguments (file paths made absolute: its working folder
    // differs).
    const bool screenshot = parser.isSet(screenshotOption);
    const bool textLayer = parser.isSet(textLayerOption);
    const bool scripted = screenshot || textLayer || parser.isSet(batchOption) || parser.isSet(askOption) ||
                          parser.isSet(demoAnswerOption);
    uhdlens::ui::SingleInstance instance(uhdlens::ui::SingleInstance::defaultServerName());
    if (!parser.isSet(standaloneOption) && !scripted) {
        QStringList forwarded = QApplication::arguments();
        for (QString &arg : forwarded)
            if (!arg.startsWith(QLatin1Char('-')) && QFileInfo::exists(arg))
                arg = QFileInfo(arg).absoluteFilePath();
        if (instance.forwardToRunning(forwarded))
            return 0;
        if (!instance.listen())
            std::fprintf(stderr, "uhdlens: running without single-instance hand-over: %s\n",
                         qPrintable(instance.errorString()));
    }

    uhdlens::ui::MainWindowOptions options;
    options.loadDefaultModel = !parser.isSet(noModelOption) && !parser.isSet(modelOption);
    uhdlens::ui::MainWindow window(options);
    if (parser.isSet(sizeOption)) {
        const QStringList wh = parser.value(sizeOption).split(QLatin1Char('x'));
        if (wh.size() == 2 && wh[0].toInt() > 0 && wh[1].toInt() > 0)
            window.resize(wh[0].toInt(), wh[1].toInt());
    } else if (!window.restoreGeometry(QByteArray())) {
        window.resize(1440, 900);
    }
    // --capture grabs the screen first, so the window must not be in the picture; with --transcribe it never
    // shows (the popup does), and the process ends once nothing is visible and the clipboard is someone
    // else's.
    auto *capture = new uhdlens::ui::CaptureTranscriber(&window);
    const bool captureAtStart = parser.isSet(captureOption);
    if (captureAtStart) {
        QApplication::setQuitOnLastWindowClosed(false);
        auto quitIfIdle = [&window, capture] {
            const auto *popup = capture->popup();
            if (!window.isVisible() && !capture->isRunning() && !(popup && popup->isVisible()) &&
                !QApplication::clipboard()->ownsClipboard())
                QApplication::quit();
            if (window.isVisible())
                QApplication::setQuitOnLastWindowClosed(true);
        };
        QObject::connect(capture, &uhdlens::ui::CaptureTranscriber::finished, &window, [capture, quitIfIdle] {
            if (auto *popup = capture->popup())
                QObject::connect(popup, &QObject::destroyed, capture, quitIfIdle, Qt::QueuedConnection);
            quitIfIdle();
        });
        QObject::connect(QApplication::clipboard(), &QClipboard::dataChanged, &window, quitIfIdle);
        QTimer::singleShot(0, capture, [capture, &parser, transcribeOption] {
            capture->start(parser.isSet(transcribeOption));
        });
    } else {
        window.show();
    }
    // A later launch's arguments: images open here, --capture starts here, and the window comes to the front.
    QObject::connect(&instance, &uhdlens::ui::SingleInstance::argumentsReceived, &window,
                     [&window, capture, allOptions, modelOption, mmprojOption, captureOption,
                      transcribeOption](const QStringList &arguments) {
                         QCommandLineParser later;
                         later.addOptions(allOptions);
                         if (!later.parse(arguments)) // a newer or mistyped command line: bring the window up
                             std::fprintf(stderr, "uhdlens: ignoring forwarded arguments: %s\n",
                                          qPrintable(later.errorText()));
                         if (later.isSet(captureOption)) {
                             capture->start(later.isSet(transcribeOption));
                             return;
                         }
                         window.show();
                         window.raise();
                         window.activateWindow();
                         if (later.isSet(modelOption))
                             window.openModel(later.value(modelOption), later.value(mmprojOption));
                         window.openFiles(later.positionalArguments());
                     });
    if (parser.isSet(modelOption))
        window.openModel(parser.value(modelOption),
                         parser.value(mmprojOption)); // a folder, a GGUF file or pair

    QStringList images;
    for (const QString &arg : parser.positionalArguments())
        images << QFileInfo(arg).absoluteFilePath();
    window.openFiles(images);

    const QString question = parser.value(askOption);
    if (parser.isSet(abOption))
        window.chatPanel()->setAbMode(true);
    if (parser.isSet(demoAnswerOption)) {
        QFile demo(parser.value(demoAnswerOption));
        if (!demo.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "cannot read %s\n", qPrintable(demo.fileName()));
            return 2;
        }
        const QString text = QString::fromUtf8(demo.readAll());
        QObject::connect(&window, &uhdlens::ui::MainWindow::documentOpened, &window, [&window, text](int id) {
            static bool once = false;
            if (once)
                return;
            once = true;
            uhdlens::ui::AnswerRecord answer;
            answer.text = text;
            answer.state = uhdlens::ui::AnswerState::Finished;
            window.session()->addRecordedTurn(id, QApplication::translate("main", "Transcribe this page."),
                                              answer);
            // The chat takes most of the right column, so the whole answer is in the picture (after the
            // window's first layout, which would undo it).
            QTimer::singleShot(200, &window, [&window] {
                auto *plan = window.findChild<QDockWidget *>(QStringLiteral("planDock"));
                auto *chat = window.findChild<QDockWidget *>(QStringLiteral("chatDock"));
                if (plan && chat)
                    window.resizeDocks({plan, chat}, {220, 760}, Qt::Vertical);
            });
        });
    }
    if (parser.isSet(batchOption)) {
        // Once the model is loaded: fill the dialog, start it, and (with --screenshot) grab it when it ends.
        const QString path = parser.value(batchOption);
        const QString out = parser.value(batchOutOption);
        const QString file = parser.value(screenshotOption);
        QObject::connect(
            &window, &uhdlens::ui::MainWindow::modelChanged, &window,
            [&window, path, out, question, screenshot, file](bool loaded) {
                static bool once = false;
                if (!loaded || once)
                    return;
                once = true;
                uhdlens::ui::BatchDialog *dialog = window.openBatchDialog();
                dialog->setInputs({path});
                if (question.isEmpty())
                    dialog->setTranscribe(true);
                else
                    dialog->setQuestion(question);
                dialog->setOutputFile(out);
                QObject::connect(
                    dialog, &uhdlens::ui::BatchDialog::runFinished, dialog, [dialog, screenshot, file] {
                        std::fprintf(stderr, "%s\n", qPrintable(dialog->statusText()));
                        if (!screenshot)
                            return;
                        const QPixmap shot = dialog->grab();
                        const bool ok = shot.save(file, "PNG");
                        std::fprintf(ok ? stdout : stderr, ok ? "saved %s (%dx%d)\n" : "cannot save %s\n",
                                     qPrintable(file), shot.width(), shot.height());
                        QApplication::exit(ok ? 0 : 1);
                    });
                if (!dialog->start()) {
                    std::fprintf(stderr, "batch: %s\n", qPrintable(dialog->statusText()));
                    QApplication::exit(2);
                }
            });
    } else if (screenshot || textLayer || !question.isEmpty()) {
        const QString file = parser.value(screenshotOption);
        // After the first plan, wait for the model (if one is loading), ask the question (if any) and wait for the
        // answer, then grab and quit (with --screenshot). Polling a timer keeps all of it in the main event loop.
        auto grab = [&window, file] {
            window.selectDocument(0);   // the first image given on the command line
            window.showModelView(0);    // and its first slice at model input resolution
            window.statusBar()->clearMessage();
            const QPixmap shot = window.grab();
            const bool ok = shot.save(file, "PNG");
            std::fprintf(ok ? stdout : stderr, ok ? "saved %s (%dx%d)\n" : "cannot save %s\n", qPrintable(file),
                         shot.width(), shot.height());
            QApplication::exit(ok ? 0 : 1);
        };
        QObject::connect(&window, &uhdlens::ui::MainWindow::planShown, &window,
                         [&window, grab, question, screenshot, textLayer] {
            static bool once = false;
            if (once)
                return;
            once = true;
            auto *poll = new QTimer(&window);
            auto waited = std::make_shared<int>(0);
            auto asked = std::make_shared<bool>(false);
            QObject::connect(poll, &QTimer::timeout, &window,
                             [&window, poll, waited, asked, grab, question, screenshot, textLayer] {
                *waited += 100;
                if (*waited > 170000) { // give up waiting, show what there is
                    poll->stop();
                    if (screenshot)
                        grab();
                    return;
                }
                if (window.isModelLoading() || *waited < 800)
                    return;
                if (!question.isEmpty() && !*asked && window.modelInfo()) {
                    window.selectDocument(0);
                    window.ask(question);
                    *asked = true;
                    return;
                }
                if (window.isGenerating())
                    return;
                if (textLayer) { // View > Show Text Layer (without the slice grid), then wait for the words
                    if (!window.textLayerAction()->isChecked()) {
                        window.selectDocument(0);
                        window.textLayerAction()->trigger();
                        if (window.gridAction()->isChecked())
                            window.gridAction()->trigger();
                    }
                    if (!window.canvas()->textLayer())
                        return;
                }
                poll->stop();
                if (screenshot)
                    grab();
            });
            poll->start(100);
        });
        if (screenshot) {
            QTimer::singleShot(180000, &window, [] {
                std::fprintf(stderr, "no plan was drawn within 180 s\n");
                QApplication::exit(2);
            });
        }
    }
    return app.exec();
}
