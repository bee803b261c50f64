// Saving files the user keeps (issue 20, "Files"): conversation exports (Session::exportConversation through
// saveFileAtomically) and the settings file (AppSettings::sync) on a full disk and in a folder that cannot be
// written to: a clear, translated message naming the file (fileWriteErrorText), the file saved earlier
// unchanged, no partial or temporary file left; and the batch writer's stream on /dev/full. The full disk is
// a small tmpfs mounted for the test (root with CAP_SYS_ADMIN; otherwise the test is skipped and says why),
// made read-only by remounting for the unwritable folder.
#include "appsettings.h"
#include "errortext.h"
#include "mainwindow.h"
#include "qtest_support.h"
#include "safesave.h"
#include "session.h"

#include "uhdlens/batch.h"
#include "uhdlens/errors.h"

#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

using namespace uhdlens;
using namespace uhdlens::ui;

namespace {

// A tmpfs of `kib` KiB mounted on `dir` for the life of the object.
class SmallDisk
{
public:
    SmallDisk(const QString &dir, int kib) : m_dir(dir)
    {
        QDir().mkpath(dir);
        const QByteArray options = "size=" + QByteArray::number(kib) + "k";
        if (::mount("tmpfs", QFile::encodeName(dir).constData(), "tmpfs", 0, options.constData()) == 0)
            m_mounted = true;
        else
            m_why = QString::fromLocal8Bit(std::strerror(errno));
    }
    ~SmallDisk()
    {
        if (m_mounted)
            ::umount2(QFile::encodeName(m_dir).constData(), MNT_DETACH);
    }
    bool mounted() const { return m_mounted; }
    QString why() const { return m_why; }
    QString path(const QString &name) const { return m_dir + QLatin1Char('/') + name; }
    bool remountReadOnly()
    {
        return ::mount(nullptr, QFile::encodeName(m_dir).constData(), nullptr, MS_REMOUNT | MS_RDONLY,
                       nullptr) == 0;
    }
    // Fills the disk with one file until the system says it is full; true when it did.
    bool fill()
    {
        QFile filler(path(QStringLiteral("filler")));
        if (!filler.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
            return false;
        const QByteArray block(4096, 'x');
        while (filler.write(block) == block.size()) {
        }
        return true;
    }
    void freeSpace() { QFile::remove(path(QStringLiteral("filler"))); }
    // The names in the folder, the filler aside.
    QStringList files() const
    {
        QStringList names = QDir(m_dir).entryList(QDir::Files | QDir::Hidden);
        names.removeAll(QStringLiteral("filler"));
        return names;
    }

private:
    QString m_dir;
    bool m_mounted = false;
    QString m_why;
};

// Mounting needs root with CAP_SYS_ADMIN (a full disk; and a read-only folder for root, who passes permission
// checks): without it the test is skipped, saying why.
#define SKIP_UNLESS_MOUNTED(disk)                                                                            \
    if (!(disk).mounted())                                                                                   \
    QSKIP(qPrintable(                                                                                        \
        QStringLiteral("cannot mount a tmpfs here (%1): needs root with CAP_SYS_ADMIN").arg((disk).why())))

QByteArray contents(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The first line of fileWriteErrorText() for each cause, as the user reads it (translated in other
// languages).
QString sentenceFor(const char *english)
{
    return QCoreApplication::translate("ErrorText", english);
}

const char *kFull = "The disk is full: free some space, or choose another folder.";
const char *kReadOnly =
    "UHD Lens may not write in this folder (check its permissions, or choose another one).";
const char *kNoFolder = "The folder to save in does not exist.";

} // namespace

class FilesTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;

    // A session whose current image has one turn with `question` (asked without a model, so it is recorded
    // and refused: the export has something to write without any model).
    void askInto(Session &session, const QString &question)
    {
        if (!session.currentDocument())
            session.setCurrentDocument(
                session.addDocument(QImage(64, 48, QImage::Format_RGB888), QStringLiteral("a.png")));
        QVERIFY(!session.ask(question));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    // Export on a full disk: refused with the full-disk sentence, the earlier export byte for byte as it was,
    // no temporary file left; with space again the same export succeeds.
    void exportOnFullDiskKeepsEarlierFile()
    {
        SmallDisk disk(m_tmp.filePath(QStringLiteral("full")), 256);
        SKIP_UNLESS_MOUNTED(disk);
        AppSettings settings(m_tmp.filePath(QStringLiteral("export.ini")));
        Session session(settings);
        askInto(session, QStringLiteral("What does the first line say?"));
        for (const bool json : {false, true}) {
            const QString path = disk.path(json ? QStringLiteral("chat.json") : QStringLiteral("chat.md"));
            QCOMPARE(session.exportConversation(path, json), QString());
            const QByteArray before = contents(path);
            QVERIFY(before.contains("What does the first line say?"));

            askInto(session, QString(300 * 1024, QLatin1Char('q'))); // more than the disk holds
            QVERIFY(disk.fill());
            const QString error = session.exportConversation(path, json);
            QVERIFY2(error.startsWith(sentenceFor(kFull)), qPrintable(error));
            QVERIFY2(error.contains(path), qPrintable(error));
            QCOMPARE(contents(path), before);
            QCOMPARE(disk.files(), QStringList{QFileInfo(path).fileName()} +
                                       (json ? QStringList{QStringLiteral("chat.md")} : QStringList{}));
            disk.freeSpace();
            session.clearConversation();
            askInto(session, QStringLiteral("What does the first line say?"));
        }
    }

    // A folder that cannot be written to (a read-only mount: root passes permission checks) and one that
    // does not exist: each has its own sentence, and nothing already saved changes.
    void exportToUnwritableFolderKeepsEarlierFile()
    {
        SmallDisk disk(m_tmp.filePath(QStringLiteral("readonly")), 256);
        SKIP_UNLESS_MOUNTED(disk);
        AppSettings settings(m_tmp.filePath(QStringLiteral("export.ini")));
        Session session(settings);
        askInto(session, QStringLiteral("Kept?"));
        const QString path = disk.path(QStringLiteral("chat.md"));
        QCOMPARE(session.exportConversation(path, false), QString());
        const QByteArray before = contents(path);
        QVERIFY(disk.remountReadOnly());
        askInto(session, QStringLiteral("Lost?"));
        const QString error = session.exportConversation(path, false);
        QVERIFY2(error.startsWith(sentenceFor(kReadOnly)), qPrintable(error));
        QVERIFY2(
            error.contains(QCoreApplication::translate("ErrorText", "The file already there is unchanged.")),
            qPrintable(error));
        QCOMPARE(contents(path), before);
        const QString elsewhere = disk.path(QStringLiteral("new.md"));
        QVERIFY(session.exportConversation(elsewhere, false)
                    .contains(QCoreApplication::translate("ErrorText", "Nothing was written.")));
        QVERIFY(!QFile::exists(elsewhere));

        const QString missing = m_tmp.filePath(QStringLiteral("no/such/folder/chat.md"));
        QVERIFY(session.exportConversation(missing, false).startsWith(sentenceFor(kNoFolder)));
    }

    // The settings file on a full disk: sync() says so, the file on disk keeps its earlier values (whole, it
    // still parses), the new values wait in memory and are written by the next sync() once there is space.
    void settingsOnFullDiskLoseNothing()
    {
        SmallDisk disk(m_tmp.filePath(QStringLiteral("settings")), 64);
        SKIP_UNLESS_MOUNTED(disk);
        const QString file = disk.path(QStringLiteral("uhdlens.ini"));
        AppSettings settings(file);
        Preferences prefs = settings.preferences();
        prefs.generation.maxNewTokens = 77;
        settings.setPreferences(prefs);
        QCOMPARE(settings.sync(), QString());
        const QByteArray before = contents(file);
        QVERIFY(before.contains("maxNewTokens=77"));

        QVERIFY(disk.fill());
        prefs.generation.maxNewTokens = 99;
        settings.setPreferences(prefs);
        for (int i = 0; i < 50; ++i) // a long list, so the file grows past what is left
            settings.addRecentFile(
                QStringLiteral("/pictures/%1/%2.png").arg(QString(200, QLatin1Char('p'))).arg(i));
        const QString error = settings.sync();
        QVERIFY2(error.startsWith(sentenceFor(kFull)), qPrintable(error));
        QVERIFY2(error.contains(file), qPrintable(error));
        QCOMPARE(contents(file), before);
        QCOMPARE(disk.files(), QStringList{QStringLiteral("uhdlens.ini")});
        QCOMPARE(settings.preferences().generation.maxNewTokens, 99); // kept in memory

        disk.freeSpace();
        QCOMPARE(settings.sync(), QString());
        QVERIFY(contents(file).contains("maxNewTokens=99"));
    }

    void settingsInUnwritableFolderSaySo()
    {
        SmallDisk disk(m_tmp.filePath(QStringLiteral("settings-ro")), 64);
        SKIP_UNLESS_MOUNTED(disk);
        const QString file = disk.path(QStringLiteral("uhdlens.ini"));
        AppSettings settings(file);
        settings.setAbMode(true);
        QCOMPARE(settings.sync(), QString());
        const QByteArray before = contents(file);
        QVERIFY(disk.remountReadOnly());
        settings.setAbMode(false);
        const QString error = settings.sync();
        QVERIFY2(error.startsWith(sentenceFor(kReadOnly)), qPrintable(error));
        QCOMPARE(contents(file), before);
    }

    // Changes are saved by the writer thread, not by the call that made them (the GUI thread never waits on
    // the disk): nothing is written until the event loop runs, a burst of changes is one save, the file then
    // holds the latest values, and a second AppSettings reads them.
    void settingsSaveInTheBackground()
    {
        const QString file = m_tmp.filePath(QStringLiteral("background.ini"));
        AppSettings settings(file);
        settings.setAbMode(true);
        QVERIFY(!QFile::exists(file)); // not written by the call
        QCOMPARE(settings.backgroundSaves(), 0);
        QTRY_VERIFY(contents(file).contains("abMode=true"));
        QCOMPARE(settings.waitForSaved(), QString());
        QCOMPARE(settings.backgroundSaves(), 1);

        for (int i = 0; i < 100; ++i) // one burst, one save
            settings.setLanguage(QStringLiteral("lang-%1").arg(i));
        QCOMPARE(settings.waitForSaved(), QString());
        QCOMPARE(settings.backgroundSaves(), 2);
        QVERIFY(contents(file).contains("language=lang-99"));
        AppSettings reader(file);
        QVERIFY(reader.abMode());
    }

    // Keys this version does not know (a newer version's, or a hand-edited file's) survive a save; a change
    // made just before the object goes (the window closing) reaches the file.
    void settingsKeepUnknownKeysAndFlushAtExit()
    {
        const QString file = m_tmp.filePath(QStringLiteral("unknown.ini"));
        {
            QFile f(file);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("[future]\nfeature=42\n[chat]\nabMode=false\n");
        }
        {
            AppSettings settings(file);
            QVERIFY(!settings.abMode());
            settings.setAbMode(true);
        } // no event loop ran: the destructor writes
        const QByteArray after = contents(file);
        QVERIFY2(after.contains("abMode=true"), after.constData());
        QVERIFY2(after.contains("feature=42"), after.constData());
    }

    // A background save on a full disk: saveFailed says so once, the file keeps its earlier values, the
    // values stay in memory, and the next change saves them once there is space.
    void settingsBackgroundSaveOnFullDiskSaysSo()
    {
        SmallDisk disk(m_tmp.filePath(QStringLiteral("settings-bg")), 64);
        SKIP_UNLESS_MOUNTED(disk);
        const QString file = disk.path(QStringLiteral("uhdlens.ini"));
        AppSettings settings(file);
        QSignalSpy failed(&settings, &AppSettings::saveFailed);
        settings.setAbMode(true);
        QCOMPARE(settings.waitForSaved(), QString());
        const QByteArray before = contents(file);

        QVERIFY(disk.fill());
        for (int i = 0; i < 50; ++i)
            settings.addRecentFile(
                QStringLiteral("/pictures/%1/%2.png").arg(QString(200, QLatin1Char('p'))).arg(i));
        const QString error = settings.waitForSaved();
        QVERIFY2(error.startsWith(sentenceFor(kFull)), qPrintable(error));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.at(0).at(0).toString(), error);
        QCOMPARE(contents(file), before);
        QCOMPARE(disk.files(), QStringList{QStringLiteral("uhdlens.ini")});
        QCOMPARE(settings.recentFiles().size(), AppSettings::kMaxRecentFiles); // kept in memory

        disk.freeSpace();
        settings.setAbMode(false);
        QCOMPARE(settings.waitForSaved(), QString());
        QVERIFY(contents(file).contains("pppp"));
        QCOMPARE(failed.count(), 1);
    }

    // The window says when its settings cannot be saved: a change made through the window (the language) is
    // saved in the background into a folder that became read-only, and the reason reaches the status bar.
    void windowSaysWhenSettingsCannotBeSaved()
    {
        SmallDisk disk(m_tmp.filePath(QStringLiteral("settings-window")), 64);
        SKIP_UNLESS_MOUNTED(disk);
        const QString file = disk.path(QStringLiteral("uhdlens.ini"));
        MainWindow w(MainWindowOptions{file, false});
        w.show();
        QCOMPARE(w.settings()->sync(), QString());
        QVERIFY(disk.remountReadOnly());
        QSignalSpy failed(w.settings(), &AppSettings::saveFailed);
        w.setLanguage(QStringLiteral("en"));
        QTRY_COMPARE(failed.count(), 1);
        const QString shown = w.statusBar()->currentMessage();
        QVERIFY2(shown.startsWith(sentenceFor(kReadOnly)), qPrintable(shown));
        QVERIFY2(!shown.contains(QLatin1Char('\n')), qPrintable(shown)); // its first line only
    }

    // saveFileAtomically itself, without a mount: a new file, a replaced file, and a path whose folder is a
    // file (cannot exist) refused without touching that file.
    void saveFileAtomicallyReplacesWhole()
    {
        const QString path = m_tmp.filePath(QStringLiteral("plain.txt"));
        QCOMPARE(saveFileAtomically(path, "first"), QString());
        QCOMPARE(contents(path), QByteArray("first"));
        QCOMPARE(saveFileAtomically(path, "second, longer"), QString());
        QCOMPARE(contents(path), QByteArray("second, longer"));
        const QString error = saveFileAtomically(path + QStringLiteral("/inside.txt"), "x");
        QVERIFY2(error.startsWith(sentenceFor(kNoFolder)), qPrintable(error));
        QCOMPARE(contents(path), QByteArray("second, longer"));
    }

    // A stream the app writes as it goes (the batch results file: appended record by record, flushed and
    // synced, so it cannot be a rename) fails loudly on a full device, naming the file and the cause.
    void batchStreamOnDevFullThrows()
    {
        if (!QFile::exists(QStringLiteral("/dev/full")))
            QSKIP("this system has no /dev/full");
        try {
            auto writer = batch::Writer::create("/dev/full", batch::Format::JsonLines, {});
            batch::Record record;
            record.file = "a.png";
            record.answer = "text";
            writer->append(record);
            QFAIL("writing to /dev/full did not fail");
        } catch (const Error &e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QStringLiteral("/dev/full")), qPrintable(what));
            QVERIFY2(what.contains(QString::fromLocal8Bit(std::strerror(ENOSPC))), qPrintable(what));
        }
    }
};

QTEST_MAIN(FilesTest) // a QApplication: one case opens the window
#include "test_files.moc"
