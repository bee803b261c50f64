#include "appsettings.h"

#include "errortext.h"
#include "language.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QMap>
#include <QSettings>
#include <QThreadPool>
#include <QTimer>
#include <QVariant>

namespace uhdlens::ui {

namespace {

const QString kMaxNewTokens = QStringLiteral("generation/maxNewTokens");
const QString kTemperature = QStringLiteral("generation/temperature");
const QString kTopK = QStringLiteral("generation/topK");
const QString kTopP = QStringLiteral("generation/topP");
const QString kRepetitionPenalty = QStringLiteral("generation/repetitionPenalty");
const QString kSeed = QStringLiteral("generation/seed");
const QString kStopStrings = QStringLiteral("generation/stopStrings");
const QString kDevice = QStringLiteral("model/device");
const QString kDtype = QStringLiteral("model/dtype");
const QString kModelFolder = QStringLiteral("model/folder");
const QString kModelMmproj = QStringLiteral("model/mmproj");
const QString kLanguage = QStringLiteral("ui/language");
const QString kPolicy = QStringLiteral("plan/policy");
const QString kMaxSlices = QStringLiteral("plan/maxSlices");
const QString kForModel = QStringLiteral("plan/forModel");
const QString kAbMode = QStringLiteral("chat/abMode");
const QString kPlainTextAnswers = QStringLiteral("chat/plainTextAnswers");
// One switch per kind of model: the bundled model is on by default, real checkpoints off (issue 18).
const QString kImageTextBundled = QStringLiteral("chat/imageTextBundled");
const QString kImageTextOther = QStringLiteral("chat/imageTextOther");
const QString kThinking = QStringLiteral("generation/thinking");
const QString kRecent = QStringLiteral("files/recent");
const QString kLastDir = QStringLiteral("files/lastDir");
const QString kGeometry = QStringLiteral("window/geometry");
const QString kState = QStringLiteral("window/state");

} // namespace

// The values in memory and the writer thread (appsettings.h says why). Lives on the GUI thread; only the
// writer's task touches the file after construction, each time through a QSettings of its own.
class SettingsStore : public QObject
{
public:
    SettingsStore(const QString &file, AppSettings *owner) : m_owner(owner)
    {
        {
            // Read once. The user's settings (file empty) are QSettings' native format, which on Linux is the
            // INI format under ~/.config, so every later write names the resolved file as IniFormat.
            const std::unique_ptr<QSettings> s =
                file.isEmpty() ? std::make_unique<QSettings>()
                               : std::make_unique<QSettings>(file, QSettings::IniFormat);
            m_path = s->fileName();
            for (const QString &key : s->allKeys()) // keys of other versions too: a save keeps them
                m_values.insert(key, s->value(key));
        }
        m_writer.setMaxThreadCount(1);
        m_timer.setSingleShot(true);
        m_timer.setInterval(0); // the changes of one event-loop turn go out in one save
        connect(&m_timer, &QTimer::timeout, this, [this] { startBackgroundSave(); });
    }

    ~SettingsStore() override
    {
        m_timer.stop();
        m_writer.waitForDone();
        // At exit, on this thread: nothing is lost. (A save that just ended has not reported back; its report
        // is dropped with this object, so m_writing may still be set: write once more then.)
        if (m_savedVersion != m_version || m_writing)
            write(m_path, m_values);
    }

    QVariant value(const QString &key, const QVariant &fallback = {}) const
    {
        return m_values.value(key, fallback);
    }
    bool contains(const QString &key) const { return m_values.contains(key); }

    void setValue(const QString &key, const QVariant &value)
    {
        m_values.insert(key, value);
        changed();
    }

    void remove(const QString &key)
    {
        if (m_values.remove(key) > 0)
            changed();
    }

    QString path() const { return m_path; }
    int backgroundSaves() const { return m_backgroundSaves; }

    // Saves now on the calling thread (after any background save) and returns the reason it failed, if it
    // did.
    QString save()
    {
        m_writer.waitForDone();
        QCoreApplication::sendPostedEvents(this); // the finished background save's bookkeeping
        m_timer.stop(); // (which may have scheduled another save: this one replaces it)
        const quint64 version = m_version;
        const QString error = write(m_path, m_values);
        if (error.isEmpty())
            m_savedVersion = version;
        return error;
    }

    QString waitForSaved()
    {
        while (m_timer.isActive() || m_writing) {
            if (m_timer.isActive()) {
                m_timer.stop();
                startBackgroundSave();
            }
            m_writer.waitForDone();
            QCoreApplication::sendPostedEvents(this);
        }
        return m_lastBackgroundError;
    }

private:
    void changed()
    {
        ++m_version;
        if (!m_writing)
            m_timer.start();
    }

    void startBackgroundSave()
    {
        if (m_writing || m_savedVersion == m_version)
            return;
        m_writing = true;
        const quint64 version = m_version;
        m_writer.start([this, path = m_path, values = m_values, version] {
            const QString error = write(path, values);
            // Back on the GUI thread; the destructor waits for this task first, so `this` is alive.
            QMetaObject::invokeMethod(
                this, [this, version, error] { backgroundSaveDone(version, error); }, Qt::QueuedConnection);
        });
    }

    void backgroundSaveDone(quint64 version, const QString &error)
    {
        m_writing = false;
        ++m_backgroundSaves;
        m_lastBackgroundError = error;
        if (error.isEmpty()) {
            m_savedVersion = std::max(m_savedVersion, version);
            if (m_savedVersion != m_version)
                m_timer.start(); // changed while this save ran: save the latest
        } else {
            // No retry loop on a full disk: the next change or sync() tries again.
            Q_EMIT m_owner->saveFailed(error);
        }
    }

    // Writes `values` as the whole file (keys not among them are dropped: the set was read from the file).
    static QString write(const QString &path, const QMap<QString, QVariant> &values)
    {
        QSettings s(path, QSettings::IniFormat);
        s.clear();
        for (auto it = values.cbegin(); it != values.cend(); ++it)
            s.setValue(it.key(), it.value());
        s.sync();
        if (s.status() == QSettings::NoError)
            return {};
        // QSettings says only "access error"; the folder (exists, writable, free space) tells which.
        const QString reason = s.status() == QSettings::FormatError
                                   ? QStringLiteral("format error")
                                   : QCoreApplication::translate("ErrorText", "cannot write the file");
        return fileWriteErrorText(path, reason, 1);
    }

    AppSettings *m_owner;
    QString m_path;
    QMap<QString, QVariant> m_values;
    QThreadPool m_writer;
    QTimer m_timer;
    bool m_writing = false;
    quint64 m_version = 0;      // changes so far
    quint64 m_savedVersion = 0; // the last version on disk
    int m_backgroundSaves = 0;
    QString m_lastBackgroundError;
};

AppSettings::AppSettings(const QString &file, QObject *parent)
    : QObject(parent), m_settings(std::make_unique<SettingsStore>(file, this))
{
}

AppSettings::~AppSettings() = default;

Preferences AppSettings::preferences() const
{
    const SettingsStore &s = *m_settings;
    Preferences prefs;
    prefs.generation.maxNewTokens = s.value(kMaxNewTokens, 256).toInt();
    prefs.generation.temperature = s.value(kTemperature, 0.0).toFloat();
    prefs.generation.topK = s.value(kTopK, 0).toInt();
    prefs.generation.topP = s.value(kTopP, 1.0).toFloat();
    prefs.generation.repetitionPenalty = s.value(kRepetitionPenalty, 1.0).toFloat();
    prefs.generation.seed = s.value(kSeed, 0).toULongLong();
    prefs.generation.thinking = s.value(kThinking, false).toBool();
    for (const QString &stop : s.value(kStopStrings).toStringList())
        prefs.generation.stopStrings.push_back(stop.toStdString());
    if (!prefs.generation.validate().empty())
        prefs.generation = GenerationSettings{}; // a hand-edited settings file must not break asking
    prefs.device = s.value(kDevice, QStringLiteral("auto")).toString();
    prefs.dtype = s.value(kDtype, QStringLiteral("auto")).toString();
    prefs.language = initialLanguage(s.value(kLanguage).toString());
    prefs.plainTextAnswers = s.value(kPlainTextAnswers, false).toBool();
    return prefs;
}

void AppSettings::setPreferences(const Preferences &prefs)
{
    SettingsStore &s = *m_settings;
    s.setValue(kMaxNewTokens, prefs.generation.maxNewTokens);
    s.setValue(kTemperature, prefs.generation.temperature);
    s.setValue(kTopK, prefs.generation.topK);
    s.setValue(kTopP, prefs.generation.topP);
    s.setValue(kRepetitionPenalty, prefs.generation.repetitionPenalty);
    s.setValue(kSeed, QVariant::fromValue<qulonglong>(prefs.generation.seed));
    s.setValue(kThinking, prefs.generation.thinking);
    QStringList stops;
    for (const std::string &stop : prefs.generation.stopStrings)
        stops << QString::fromStdString(stop);
    s.setValue(kStopStrings, stops);
    s.setValue(kDevice, prefs.device);
    s.setValue(kDtype, prefs.dtype);
    s.setValue(kLanguage, prefs.language);
    s.setValue(kPlainTextAnswers, prefs.plainTextAnswers);
}

void AppSettings::setLanguage(const QString &code)
{
    m_settings->setValue(kLanguage, code);
}

QString AppSettings::startupPolicy() const
{
    return m_settings->value(kPolicy, QStringLiteral("minicpmv")).toString();
}

int AppSettings::startupMaxSlices(int defaultMaxSlices) const
{
    return m_settings->value(kMaxSlices, defaultMaxSlices).toInt();
}

std::optional<SavedSlicing> AppSettings::slicingFor(const QString &modelDir) const
{
    if (!m_settings->contains(kPolicy) || m_settings->value(kForModel).toString() != modelDir)
        return std::nullopt;
    SavedSlicing saved;
    saved.policy = m_settings->value(kPolicy).toString();
    saved.maxSlices = m_settings->value(kMaxSlices, 0).toInt();
    saved.forModel = modelDir;
    return saved;
}

void AppSettings::setSlicing(const SavedSlicing &slicing)
{
    m_settings->setValue(kPolicy, slicing.policy);
    m_settings->setValue(kMaxSlices, slicing.maxSlices);
    m_settings->setValue(kForModel, slicing.forModel);
}

QString AppSettings::modelFolder() const
{
    return m_settings->value(kModelFolder).toString();
}

void AppSettings::setModelFolder(const QString &folder, const QString &mmproj)
{
    m_settings->setValue(kModelFolder, folder);
    if (mmproj.isEmpty())
        m_settings->remove(kModelMmproj);
    else
        m_settings->setValue(kModelMmproj, mmproj);
}

QString AppSettings::modelMmproj() const
{
    return m_settings->value(kModelMmproj).toString();
}

void AppSettings::forgetModelFolder()
{
    m_settings->remove(kModelFolder);
    m_settings->remove(kModelMmproj);
}

QStringList AppSettings::recentFiles() const
{
    return m_settings->value(kRecent).toStringList();
}

void AppSettings::addRecentFile(const QString &path)
{
    QStringList recent = recentFiles();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kMaxRecentFiles)
        recent.removeLast();
    m_settings->setValue(kRecent, recent);
}

void AppSettings::clearRecentFiles()
{
    m_settings->setValue(kRecent, QStringList());
}

QString AppSettings::lastImageFolder() const
{
    return m_settings->value(kLastDir, QDir::homePath()).toString();
}

void AppSettings::setLastImageFolder(const QString &folder)
{
    m_settings->setValue(kLastDir, folder);
}

bool AppSettings::abMode() const
{
    return m_settings->value(kAbMode, false).toBool();
}

void AppSettings::setAbMode(bool on)
{
    m_settings->setValue(kAbMode, on);
}

bool AppSettings::imageText(bool bundledModel) const
{
    return m_settings->value(bundledModel ? kImageTextBundled : kImageTextOther, bundledModel).toBool();
}

void AppSettings::setImageText(bool bundledModel, bool on)
{
    m_settings->setValue(bundledModel ? kImageTextBundled : kImageTextOther, on);
}

QByteArray AppSettings::windowGeometry() const
{
    return m_settings->value(kGeometry).toByteArray();
}

QByteArray AppSettings::windowState() const
{
    return m_settings->value(kState).toByteArray();
}

void AppSettings::setWindowLayout(const QByteArray &geometry, const QByteArray &state)
{
    m_settings->setValue(kGeometry, geometry);
    m_settings->setValue(kState, state);
}

QString AppSettings::sync()
{
    return m_settings->save();
}

QString AppSettings::waitForSaved()
{
    return m_settings->waitForSaved();
}

int AppSettings::backgroundSaves() const
{
    return m_settings->backgroundSaves();
}

QString AppSettings::fileName() const
{
    return m_settings->path();
}

} // namespace uhdlens::ui
