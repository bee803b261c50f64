// Session tests (Qt Test, no window, no widgets): the Session between the window and the engine, its settings
// (AppSettings) and model discovery (ModelList), with real images, the real planner and a tiny random model
// made by `uhdlens-cli make-tiny`. CTest runs each test function as its own entry (ui.<function>), found at
// build time.
#include "appsettings.h"
#include "engineworker.h"
#include "modellist.h"
#include "qtest_support.h"
#include "session.h"
#include "textlayers.h"

#include "uhdlens/image_io.h"
#include "uhdlens/plan_json.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFont>
#include <QPainter>
#include <QScopeGuard>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <memory>
#include <optional>

using namespace uhdlens;
using namespace uhdlens::ui;
using namespace uhdlens::uitest;

namespace {

QImage picture(int w, int h, QColor accent = Qt::red)
{
    QImage img(w, h, QImage::Format_RGB888);
    img.fill(QColor(236, 232, 220));
    QPainter p(&img);
    p.fillRect(QRect(w / 8, h / 8, w / 3, h / 3), accent);
    p.fillRect(QRect(w / 2, h / 2, w / 4, h / 5), Qt::darkBlue);
    p.end();
    return img;
}

} // namespace

class SessionTest : public QObject
{
    Q_OBJECT

private:
    // Loads the tiny model into `session`; false (after a failed check) when it does not load.
    bool loadTiny(Session &session)
    {
        const QString model = tinyModel(m_tmp);
        if (model.isEmpty())
            return false;
        QSignalSpy loaded(&session, &Session::modelLoaded);
        QSignalSpy failed(&session, &Session::modelFailed);
        session.loadModel(model);
        return QTest::qWaitFor([&] { return !loaded.isEmpty() || !failed.isEmpty(); }, 120000) &&
               !loaded.isEmpty();
    }

    int openCurrent(Session &session, const QImage &image, const QString &title)
    {
        const int id = session.addDocument(image, title);
        session.setCurrentDocument(id);
        return id;
    }

    GenerationSettings tokens(int n)
    {
        GenerationSettings g;
        g.maxNewTokens = n;
        return g;
    }

    QTemporaryDir m_tmp;
    QString m_settingsFile;

    // The title and menu bars of the sample screenshot (1240x180, two tiles): "Redo Clear" (white on dark)
    // and "File Edit View Tools Help Format Insert". A file, not painted text: this test has no font
    // database.
    static QImage textPicture()
    {
        const QImage sample(QStringLiteral(UHDLENS_SOURCE_DIR "/resources/samples/screenshot.png"));
        return sample.copy(0, 0, 1240, 180).convertToFormat(QImage::Format_RGB888);
    }

    // Asks `question` and returns the engine's result of it (the answer finished).
    std::optional<AskResult> askAndWait(Session &session, const QString &question)
    {
        QSignalSpy results(session.engine(), &EngineWorker::finished);
        QSignalSpy done(&session, &Session::generationFinished);
        if (!session.ask(question))
            return std::nullopt;
        if (!QTest::qWaitFor([&] { return !done.isEmpty(); }, 120000) || results.isEmpty())
            return std::nullopt;
        return qvariant_cast<AskResult>(results.first().at(1));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_settingsFile = m_tmp.filePath(QStringLiteral("settings.ini"));
    }

    void init() { QFile::remove(m_settingsFile); }

    // "Give the model the image's text": on by default for the bundled model only, remembered per kind of
    // model; on, each question carries the image's recognised lines (the engine thread recognises them when
    // no text layer is ready, else the session's layer is used, cut to the selected region); off, the prompt
    // is plain.
    void imageTextSettingReachesThePrompt()
    {
        {
            AppSettings settings(m_settingsFile);
            QVERIFY(settings.imageText(true));
            QVERIFY(!settings.imageText(false));
        }
        AppSettings settings(m_settingsFile);
        Session session(settings);
        QVERIFY(loadTiny(session));
        QVERIFY(!session.modelIsBundled());
        QVERIFY(!session.imageTextEnabled());
        session.setGenerationSettings(tokens(2));
        const int id = openCurrent(session, textPicture(), QStringLiteral("invoice.png"));

        const std::optional<AskResult> plain = askAndWait(session, QStringLiteral("What is the total?"));
        QVERIFY(plain);
        QCOMPARE(plain->imageTextLines, 0);

        session.setImageTextEnabled(true);
        QVERIFY(settings.imageText(false));
        QVERIFY(settings.imageText(true)); // the bundled model's switch is its own
        session.clearConversation();       // a fresh context: the text goes with the next question
        const std::optional<AskResult> recognised = askAndWait(session, QStringLiteral("What is the total?"));
        QVERIFY(recognised);
        QCOMPARE(recognised->imageTextLines, 2); // recognised on the engine thread: the two bars
        QVERIFY(recognised->promptTokens > plain->promptTokens);

        // With the session's text layer ready and a region selected: only the region's lines.
        QSignalSpy layerDone(session.textLayers(), &TextLayers::finished);
        session.textLayers()->request(id, session.document(id)->image);
        QVERIFY(layerDone.wait(60000));
        QCOMPARE(session.textLayers()->layer(id)->lines.size(), size_t(2));
        session.setRegion(QRect(0, 110, 1240, 70)); // the menu bar only
        const std::optional<AskResult> region = askAndWait(session, QStringLiteral("What is the total?"));
        QVERIFY(region);
        QCOMPARE(region->imageTextLines, 1);

        session.setImageTextEnabled(false);
        session.setRegion(std::nullopt);
        session.clearConversation();
        const std::optional<AskResult> off = askAndWait(session, QStringLiteral("What is the total?"));
        QVERIFY(off);
        QCOMPARE(off->imageTextLines, 0);
        QCOMPARE(off->promptTokens, plain->promptTokens);

        // The bundled model (when installed) has the text on by default.
        const QString bundled = ModelList::bundledFolder();
        if (!bundled.isEmpty()) {
            QSignalSpy loaded(&session, &Session::modelLoaded);
            session.loadModel(bundled);
            QVERIFY(loaded.wait(120000));
            QVERIFY(session.modelIsBundled());
            QVERIFY(session.imageTextEnabled());
        }
    }

    // Text layers are recognised off the GUI thread, once per image (cached), can be cancelled, and a closed
    // image's layer is forgotten.
    void textLayersRunOffThreadCachedAndCancellable()
    {
        AppSettings settings(m_settingsFile);
        Session session(settings);
        TextLayers *layers = session.textLayers();
        const int id = openCurrent(session, textPicture(), QStringLiteral("a.png"));
        QSignalSpy started(layers, &TextLayers::started);
        QSignalSpy progress(layers, &TextLayers::progress);
        QSignalSpy finished(layers, &TextLayers::finished);
        QSignalSpy cancelled(layers, &TextLayers::cancelled);
        layers->request(id, session.document(id)->image);
        QVERIFY(layers->isPending(id));
        QVERIFY(!layers->layer(id));
        QVERIFY(finished.wait(60000));
        QCOMPARE(started.count(), 1);
        // The default engine (PP-OCR where its base weights are installed: 1 tile; Tesseract: 2), and a
        // progress signal for 0 and each tile.
        QCOMPARE(layers->layer(id)->engine, resolveTextEngine(TextEngine::Auto));
        QCOMPARE(progress.count(), layers->layer(id)->tiles + 1);
        QCOMPARE(QString::fromStdString(layers->layer(id)->plainText()),
                 QStringLiteral("Redo Clear\n\nFile Edit View Tools Help Format Insert"));
        QCOMPARE(QString::fromStdString(layers->layer(id)->promptText()),
                 QStringLiteral("[left] Redo Clear\n[bottom] File Edit View Tools Help Format Insert"));
        layers->request(id, session.document(id)->image); // cached: nothing runs
        QVERIFY(!layers->isPending(id));
        QCOMPARE(started.count(), 1);

        // A big image (Tesseract: 35 tiles, each ~1 s; PP-OCR: 15, each ~2-5 s), cancelled after two: the GUI
        // thread never waited for a tile.
        QImage big(6000, 4000, QImage::Format_RGB888);
        big.fill(Qt::white);
        const int bigId = session.addDocument(big, QStringLiteral("big.png"));
        progress.clear();
        StallMeter stalls;
        stalls.start();
        layers->request(bigId, big);
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 3, 60000); // 0, 1 and 2 tiles done
        stalls.stop();
        QVERIFY2(stalls.maxGapMs() < 400, qPrintable(QString::number(stalls.maxGapMs())));
        layers->cancel(bigId);
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 30000);
        QVERIFY(!layers->layer(bigId));
        QVERIFY(!layers->isPending(bigId));

        session.closeDocument(id);
        QVERIFY(!layers->layer(id));
    }

    // The plan is made when the image, its region, the slicing or the model changes, never per question, and
    // the question carries exactly that plan to the engine.
    void planMadeOncePerChangeAndCarried()
    {
        AppSettings settings(m_settingsFile);
        Session session(settings);
        QSignalSpy planned(&session, &Session::planChanged);
        const QImage image = picture(1920, 1080);
        const int id = session.addDocument(image, QStringLiteral("a.png"));
        QCOMPARE(planned.count(), 0); // adding does not show it
        QCOMPARE(session.plan().overview.width, 0);
        session.setCurrentDocument(id);
        QCOMPARE(planned.count(), 1);
        QVERIFY(planToJson(session.plan()) == planToJson(planSlices({1920, 1080}, SlicePolicy::minicpmv())));
        session.setSlicing(QStringLiteral("minicpmv"), 9); // unchanged: no new plan
        QCOMPARE(planned.count(), 1);
        session.setSlicing(QStringLiteral("minicpmv"), 4);
        QCOMPARE(planned.count(), 2);
        QCOMPARE(session.plan().policy.maxSlices, 4);
        session.setRegion(QRect(1800, 1000, 500, 500)); // clipped to the image
        QCOMPARE(planned.count(), 3);
        QCOMPARE(session.plan().input, (Size{120, 80}));
        session.setRegion(QRect(5000, 5000, 10, 10)); // empty once clipped: the whole image
        QCOMPARE(session.plan().input, (Size{1920, 1080}));

        QVERIFY(loadTiny(session));
        QCOMPARE(planned.count(), 5); // the model's own slicing
        QCOMPARE(session.policyName(), QString::fromStdString(session.modelInfo()->policy.name()));
        QVERIFY(planToJson(session.plan()) ==
                planToJson(planSlices({1920, 1080}, session.modelInfo()->policy)));
        const SlicePlan shown = session.plan();
        session.setGenerationSettings(tokens(3));
        QSignalSpy enginePlans(session.engine(), &EngineWorker::planReady);
        QSignalSpy done(&session, &Session::generationFinished);
        const int before = planned.count();
        QVERIFY(session.ask(QStringLiteral("What is it?")));
        QVERIFY(session.ask(QStringLiteral("And now?")));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 120000);
        QCOMPARE(planned.count(), before); // asking never re-plans
        QCOMPARE(enginePlans.count(), 2);
        for (const auto &args : enginePlans)
            QVERIFY(planToJson(qvariant_cast<SlicePlan>(args.at(1))) == planToJson(shown));
        const ImageDocument *doc = session.document(id);
        QCOMPARE(doc->turns.size(), size_t(2));
        for (const ChatTurn &turn : doc->turns) {
            QCOMPARE(turn.answer.state, AnswerState::Finished);
            QVERIFY(planToJson(turn.answer.plan) == planToJson(shown));
            QCOMPARE(turn.answer.policyName, QString::fromStdString(shown.policy.name()));
        }
        QVERIFY(!doc->turns[0].answer.fromCache);
        QVERIFY(doc->turns[1].answer.fromCache); // same image id and plan: its tokens are reused
    }

    // Preferences' thinking switch is saved, and it only reaches models that have one: the tiny uhd-paper model
    // has none (the engine would refuse the question), so its answer comes as usual.
    void thinkingPreferenceOnlyReachesModelsWithTheSwitch()
    {
        AppSettings settings(m_settingsFile);
        Preferences prefs = settings.preferences();
        QCOMPARE(prefs.generation.thinking, false); // off by default
        prefs.generation.thinking = true;
        settings.setPreferences(prefs);
        settings.sync();
        QCOMPARE(QSettings(m_settingsFile, QSettings::IniFormat).value(QStringLiteral("generation/thinking")).toBool(),
                 true);
        QVERIFY(AppSettings(m_settingsFile).preferences().generation.thinking);

        Session session(settings);
        QVERIFY(loadTiny(session));
        QVERIFY(!session.modelInfo()->thinkingMode);
        const int id = openCurrent(session, picture(640, 480), QStringLiteral("a.png"));
        GenerationSettings g = tokens(3);
        g.thinking = true;
        session.setGenerationSettings(g);
        QSignalSpy done(&session, &Session::generationFinished);
        QVERIFY(session.ask(QStringLiteral("What is it?")));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 120000);
        const AnswerRecord &answer = session.document(id)->turns.at(0).answer;
        QCOMPARE(answer.state, AnswerState::Finished);
        QVERIFY2(answer.error.isEmpty(), qPrintable(answer.error));
    }

    // The engine keys its caches by the caller's image id, not by the pixels: the same id with other pixels
    // reuses the image tokens (so no pixel was hashed), another id with the same pixels encodes again.
    void engineUsesCallerImageId()
    {
        AppSettings settings(m_settingsFile);
        Session session(settings);
        QVERIFY(loadTiny(session));
        EngineWorker *w = session.engine();
        QSignalSpy finished(w, &EngineWorker::finished);
        QSignalSpy failed(w, &EngineWorker::failed);
        const QImage a = picture(640, 480, Qt::red);
        const QImage b = picture(640, 480, Qt::green);
        QVERIFY(a != b);
        const SlicePlan plan = planSlices({640, 480}, session.modelInfo()->policy);
        auto send = [&](const QImage &image, const QString &imageId) {
            AskRequest r;
            r.id = w->nextRequestId();
            r.documentId = 7;
            r.image = image;
            r.imageId = imageId;
            r.plan = plan;
            r.question = QStringLiteral("What is it?");
            r.settings = tokens(2);
            const int before = finished.count();
            QMetaObject::invokeMethod(
                w, [w, r] { w->ask(r); }, Qt::QueuedConnection);
            if (!QTest::qWaitFor([&] { return finished.count() > before || !failed.isEmpty(); }, 120000) ||
                !failed.isEmpty())
                return std::optional<AskResult>();
            return std::optional<AskResult>(qvariant_cast<AskResult>(finished.last().at(1)));
        };
        const auto first = send(a, QStringLiteral("image-1"));
        QVERIFY2(first && failed.isEmpty(),
                 failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
        QVERIFY(!first->imageFromCache);
        const auto samePixelsId = send(b, QStringLiteral("image-1"));
        QVERIFY(samePixelsId);
        QVERIFY(samePixelsId->imageFromCache);
        const auto otherId = send(b, QStringLiteral("image-2"));
        QVERIFY(otherId);
        QVERIFY(!otherId->imageFromCache);
        // Bad input: a plan for another size is refused with a readable error, not asked with.
        AskRequest bad;
        bad.id = w->nextRequestId();
        bad.documentId = 8;
        bad.image = picture(300, 200);
        bad.imageId = QStringLiteral("image-3");
        bad.plan = plan;
        bad.question = QStringLiteral("?");
        QMetaObject::invokeMethod(
            w, [w, bad] { w->ask(bad); }, Qt::QueuedConnection);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QVERIFY2(failed.first().at(1).toString().contains(QStringLiteral("640x480")),
                 qPrintable(failed.first().at(1).toString()));
    }

    // Closing one image cancels its answers only: an answer about another image, queued behind it, still runs
    // to its end. (Before per-request cancel, closing an image stopped every answer.)
    void closingOneImageCancelsOnlyItsAnswers()
    {
        AppSettings settings(m_settingsFile);
        Session session(settings);
        QVERIFY(loadTiny(session));
        const int a = openCurrent(session, picture(800, 600), QStringLiteral("a.png"));
        QSignalSpy tokenSpy(session.engine(), &EngineWorker::token);
        QSignalSpy done(&session, &Session::generationFinished);
        session.setGenerationSettings(tokens(4000)); // only a cancel ends it early
        QVERIFY(session.ask(QStringLiteral("Tell me everything.")));
        const quint64 longRequest = session.requestsOf(a).value(0);
        QVERIFY(longRequest > 0);
        const int b = openCurrent(session, picture(640, 400, Qt::darkGreen), QStringLiteral("b.png"));
        session.setGenerationSettings(tokens(4));
        QVERIFY(session.ask(QStringLiteral("Short?")));
        QCOMPARE(session.requestsOf(b).size(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(tokenSpy.count() >= 3 || done.count() > 0, 120000);
        QCOMPARE(done.count(), 0);
        QSignalSpy engineFinished(session.engine(), &EngineWorker::finished);
        session.closeDocument(a);
        QVERIFY(!session.document(a));
        QCOMPARE(session.currentDocument(),
                 session.document(b)); // closing another image keeps the current one
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 120000);
        // The long answer was cancelled, not run to its 4000 tokens ...
        bool longCancelled = false;
        for (const auto &args : engineFinished) {
            if (args.at(0).toULongLong() == longRequest) {
                const AskResult r = qvariant_cast<AskResult>(args.at(1));
                longCancelled = r.cancelled && r.generatedTokens < 4000;
            }
        }
        QVERIFY(longCancelled);
        // ... and the other image's answer ran to its end.
        const AnswerRecord &answer = session.document(b)->turns.at(0).answer;
        QCOMPARE(answer.state, AnswerState::Finished);
        QVERIFY(answer.generatedTokens > 0);
        QVERIFY(!session.isGenerating());
    }

    // cancelRequest() stops exactly the request named: a queued one ends at once when its turn comes, the
    // running one between tokens, and a third one asked after both runs normally.
    void cancelOneRequestKeepsTheOthers()
    {
        AppSettings settings(m_settingsFile);
        Session session(settings);
        QVERIFY(loadTiny(session));
        QSignalSpy tokenSpy(session.engine(), &EngineWorker::token);
        QSignalSpy done(&session, &Session::generationFinished);
        const int a = openCurrent(session, picture(800, 600), QStringLiteral("a.png"));
        session.setGenerationSettings(tokens(4000));
        QVERIFY(session.ask(QStringLiteral("Long?")));
        const int b = openCurrent(session, picture(500, 700, Qt::blue), QStringLiteral("b.png"));
        QVERIFY(session.ask(QStringLiteral("Also long?")));
        const int c = openCurrent(session, picture(600, 600, Qt::yellow), QStringLiteral("c.png"));
        session.setGenerationSettings(tokens(4));
        QVERIFY(session.ask(QStringLiteral("Short?")));
        QTRY_VERIFY_WITH_TIMEOUT(tokenSpy.count() >= 3, 120000);
        session.cancelRequest(session.requestsOf(b).value(0)); // queued
        session.cancelRequest(session.requestsOf(a).value(0)); // running
        session.cancelRequest(987654);                         // unknown: ignored
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 120000);
        const AnswerRecord &ra = session.document(a)->turns.at(0).answer;
        const AnswerRecord &rb = session.document(b)->turns.at(0).answer;
        const AnswerRecord &rc = session.document(c)->turns.at(0).answer;
        QCOMPARE(ra.state, AnswerState::Stopped);
        QVERIFY(ra.generatedTokens > 0 && ra.generatedTokens < 4000);
        QCOMPARE(rb.state, AnswerState::Stopped);
        QCOMPARE(rb.generatedTokens, 0);
        QCOMPARE(rc.state, AnswerState::Finished);
        QVERIFY(rc.generatedTokens > 0);
    }

    // An answer moves Queued -> Encoding -> Answering -> Finished, each state seen by a view on
    // transcriptChanged; without a model the question is refused and recorded as Failed.
    void answerStatesMoveForward()
    {
        AppSettings settings(m_settingsFile);
        Session session(settings);
        const int id = openCurrent(session, picture(640, 480), QStringLiteral("a.png"));
        QSignalSpy refused(&session, &Session::askRefused);
        QVERIFY(!session.ask(QStringLiteral("Anyone there?")));
        QCOMPARE(refused.count(), 1);
        QCOMPARE(session.document(id)->turns.at(0).answer.state, AnswerState::Failed);
        QCOMPARE(session.document(id)->turns.at(0).answer.error, EngineWorker::noModelText());
        QVERIFY(!session.isGenerating());
        QVERIFY(!session.ask(QStringLiteral("   "))); // blank: nothing recorded
        QCOMPARE(session.document(id)->turns.size(), size_t(1));

        QVERIFY(loadTiny(session));
        session.clearConversation();
        QCOMPARE(session.document(id)->turns.size(), size_t(0));
        session.setGenerationSettings(tokens(8));
        QList<AnswerState> seen;
        QStringList progress;
        connect(&session, &Session::transcriptChanged, this, [&](int documentId, bool) {
            if (documentId == id && !session.document(id)->turns.empty()) {
                const AnswerState s = session.document(id)->turns.back().answer.state;
                if (seen.isEmpty() || seen.last() != s)
                    seen << s;
            }
        });
        connect(&session, &Session::progressChanged, this,
                [&](const QString &text, double) { progress << text; });
        QSignalSpy busy(&session, &Session::busyChanged);
        QSignalSpy done(&session, &Session::generationFinished);
        QVERIFY(session.ask(QStringLiteral("What is it?")));
        QCOMPARE(session.document(id)->turns.back().answer.state, AnswerState::Queued);
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 120000);
        QCOMPARE(seen.first(), AnswerState::Queued);
        QCOMPARE(seen.last(), AnswerState::Finished);
        QVERIFY2(seen.contains(AnswerState::Encoding), "no Encoding state was shown");
        QVERIFY(std::is_sorted(seen.begin(), seen.end())); // never back
        QCOMPARE(busy.count(), 2);
        QCOMPARE(busy.first().first().toBool(), true);
        QCOMPARE(busy.last().first().toBool(), false);
        QCOMPARE(progress.first(), QStringLiteral("Preparing the image…"));
        QVERIFY(!progress.filter(QStringLiteral("Encoding slice 1/")).isEmpty());
    }

    // The remembered slicing overrides the model's own only when it was chosen with that very model, and only
    // for the first model of a session (issue 22's defect: a settings file from before plan/forModel asked
    // the bundled model with 448 px MiniCPM-V slices from the second launch on).
    void restoredSlicingOnlyForItsOwnModel()
    {
        const QString model = tinyModel(m_tmp);
        QVERIFY(!model.isEmpty());
        {
            QSettings old(m_settingsFile, QSettings::IniFormat); // as written before plan/forModel existed
            old.setValue(QStringLiteral("model/folder"), model);
            old.setValue(QStringLiteral("plan/policy"), QStringLiteral("minicpmv"));
            old.setValue(QStringLiteral("plan/maxSlices"), 9);
        }
        QString own;
        {
            AppSettings settings(m_settingsFile);
            QVERIFY(!settings.slicingFor(model));
            Session session(settings);
            QVERIFY(loadTiny(session));
            own = QString::fromStdString(session.modelInfo()->policy.name());
            QVERIFY(own != QStringLiteral("minicpmv"));
            QCOMPARE(session.policyName(), own);
            QCOMPARE(session.maxSlices(), session.modelInfo()->policy.maxSlices);
            QCOMPARE(session.effectivePolicy().scale, session.modelInfo()->policy.scale); // 224 px, not 448
            settings.setSlicing({QStringLiteral("llava15"), 5, model}); // the user's choice with this model
        }
        {
            AppSettings settings(m_settingsFile);
            QVERIFY(settings.slicingFor(model));
            Session session(settings);
            QVERIFY(loadTiny(session));
            QCOMPARE(session.policyName(), QStringLiteral("llava15"));
            QCOMPARE(session.maxSlices(), 5);
            // A second model of the same session starts from its own slicing.
            QVERIFY(loadTiny(session));
            QCOMPARE(session.policyName(), own);
        }
        AppSettings settings(m_settingsFile);
        settings.setSlicing({QStringLiteral("llava15"), 5, m_tmp.filePath(QStringLiteral("another-model"))});
        QVERIFY(!settings.slicingFor(model));
        Session session(settings);
        QVERIFY(loadTiny(session));
        QCOMPARE(session.policyName(), own);
    }

    // Every key keeps its name and stored value, so users' settings survive the move into AppSettings.
    void settingsKeysAndValuesUnchanged()
    {
        {
            QSettings old(m_settingsFile, QSettings::IniFormat);
            old.setValue(QStringLiteral("generation/maxNewTokens"), 77);
            old.setValue(QStringLiteral("generation/temperature"), 0.5);
            old.setValue(QStringLiteral("generation/topK"), 40);
            old.setValue(QStringLiteral("generation/topP"), 0.9);
            old.setValue(QStringLiteral("generation/repetitionPenalty"), 1.1);
            old.setValue(QStringLiteral("generation/seed"), 42);
            old.setValue(QStringLiteral("generation/stopStrings"), QStringList{QStringLiteral("END")});
            old.setValue(QStringLiteral("model/device"), QStringLiteral("cpu"));
            old.setValue(QStringLiteral("model/dtype"), QStringLiteral("f32"));
            old.setValue(QStringLiteral("ui/language"), QStringLiteral("zh_CN"));
            old.setValue(QStringLiteral("plan/policy"), QStringLiteral("llava-uhd"));
            old.setValue(QStringLiteral("plan/maxSlices"), 6);
            old.setValue(QStringLiteral("chat/abMode"), true);
            old.setValue(QStringLiteral("files/lastDir"), QStringLiteral("/data/pictures"));
        }
        AppSettings settings(m_settingsFile);
        const Preferences prefs = settings.preferences();
        QCOMPARE(prefs.generation.maxNewTokens, 77);
        QCOMPARE(prefs.generation.temperature, 0.5f);
        QCOMPARE(prefs.generation.topK, 40);
        QCOMPARE(prefs.generation.topP, 0.9f);
        QCOMPARE(prefs.generation.repetitionPenalty, 1.1f);
        QCOMPARE(prefs.generation.seed, std::uint64_t(42));
        QCOMPARE(prefs.generation.stopStrings, std::vector<std::string>{"END"});
        QCOMPARE(prefs.device, QStringLiteral("cpu"));
        QCOMPARE(prefs.dtype, QStringLiteral("f32"));
        QCOMPARE(prefs.language, QStringLiteral("zh_CN"));
        QCOMPARE(settings.startupPolicy(), QStringLiteral("llava-uhd"));
        QCOMPARE(settings.startupMaxSlices(9), 6);
        QVERIFY(settings.abMode());
        QCOMPARE(settings.lastImageFolder(), QStringLiteral("/data/pictures"));

        // Written back under the same keys with the same values.
        Preferences changed = prefs;
        changed.generation.seed = 18446744073709551615ULL; // the whole uint64 range survives
        settings.setPreferences(changed);
        settings.setSlicing({QStringLiteral("minicpmv"), 3, QStringLiteral("/models/x")});
        settings.setModelFolder(QStringLiteral("/models/x"));
        for (int i = 0; i < 12; ++i)
            settings.addRecentFile(QStringLiteral("/img/%1.png").arg(i));
        settings.addRecentFile(QStringLiteral("/img/5.png")); // again: moves to the front, no duplicate
        settings.sync();
        QSettings raw(m_settingsFile, QSettings::IniFormat);
        QCOMPARE(raw.value(QStringLiteral("generation/seed")).toULongLong(), 18446744073709551615ULL);
        QCOMPARE(raw.value(QStringLiteral("generation/maxNewTokens")).toInt(), 77);
        QCOMPARE(raw.value(QStringLiteral("generation/stopStrings")).toStringList(),
                 QStringList{QStringLiteral("END")});
        QCOMPARE(raw.value(QStringLiteral("plan/policy")).toString(), QStringLiteral("minicpmv"));
        QCOMPARE(raw.value(QStringLiteral("plan/maxSlices")).toInt(), 3);
        QCOMPARE(raw.value(QStringLiteral("plan/forModel")).toString(), QStringLiteral("/models/x"));
        QCOMPARE(raw.value(QStringLiteral("model/folder")).toString(), QStringLiteral("/models/x"));
        const QStringList recent = raw.value(QStringLiteral("files/recent")).toStringList();
        QCOMPARE(recent.size(), AppSettings::kMaxRecentFiles);
        QCOMPARE(recent.first(), QStringLiteral("/img/5.png"));
        QCOMPARE(recent.count(QStringLiteral("/img/5.png")), 1);
        settings.forgetModelFolder();
        settings.sync();
        QVERIFY(!QSettings(m_settingsFile, QSettings::IniFormat).contains(QStringLiteral("model/folder")));

        // Bad input: a hand-edited file with generation values out of range gives the defaults, not a broken
        // ask.
        {
            QSettings broken(m_settingsFile, QSettings::IniFormat);
            broken.setValue(QStringLiteral("generation/temperature"), -3.0);
        }
        QCOMPARE(AppSettings(m_settingsFile).preferences().generation.maxNewTokens,
                 GenerationSettings{}.maxNewTokens);
    }

    // Model discovery: the folder loaded last time while it exists, else the bundled model found by core's
    // one resource search ($UHDLENS_RESOURCES first).
    void modelListFindsStartupModel()
    {
        QTemporaryDir resources;
        const QString bundled = resources.filePath(QStringLiteral("models/uhd-lens-tiny"));
        QVERIFY(QDir().mkpath(bundled));
        const QByteArray oldEnv = qgetenv("UHDLENS_RESOURCES");
        qputenv("UHDLENS_RESOURCES", resources.path().toLocal8Bit());
        const auto restore = qScopeGuard([&] {
            if (oldEnv.isEmpty())
                qunsetenv("UHDLENS_RESOURCES");
            else
                qputenv("UHDLENS_RESOURCES", oldEnv);
        });
        QVERIFY(ModelList::bundledFolder() != QDir::cleanPath(bundled)); // no config.json: not a model
        QFile config(bundled + QStringLiteral("/config.json"));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.close();
        QCOMPARE(ModelList::bundledFolder(), QDir::cleanPath(bundled));

        AppSettings settings(m_settingsFile);
        ModelList models(settings);
        QCOMPARE(models.startupFolder(), QDir::cleanPath(bundled)); // nothing saved
        settings.setModelFolder(m_tmp.path());
        QCOMPARE(models.startupFolder(), m_tmp.path());
        settings.setModelFolder(m_tmp.filePath(QStringLiteral("deleted-since")));
        QCOMPARE(models.startupFolder(), QDir::cleanPath(bundled));
    }
};

QTEST_GUILESS_MAIN(SessionTest)
#include "test_session.moc"
