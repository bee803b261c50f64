#include "appsettings.h"

#include "errortext.h"
#include "language.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>

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

namespace {

std::unique_ptr<QSettings> openSettings(const QString &file)
{
    return file.isEmpty() ? std::make_unique<QSettings>()
                          : std::make_unique<QSettings>(file, QSettings::IniFormat);
}

} // namespace

AppSettings::AppSettings(const QString &file) : m_file(file), m_settings(openSettings(file)) {}

AppSettings::~AppSettings() = default;

Preferences AppSettings::preferences() const
{
    const QSettings &s = *m_settings;
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
    QSettings &s = *m_settings;
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
    if (m_settings->status() != QSettings::NoError) {
        // QSettings keeps its first error for good, so after a failed save it would report failure forever.
        // A fresh object on the same file starts clean and still holds the unsaved values: Qt keeps one
        // QConfFile (with its pending changes) per path while any QSettings uses it, and the old object is
        // released only after the new one took it.
        std::unique_ptr<QSettings> fresh = openSettings(m_file);
        m_settings = std::move(fresh);
    }
    m_settings->sync();
    if (m_settings->status() == QSettings::NoError)
        return {};
    // QSettings says only "access error"; the folder (exists, writable, free space) tells which.
    const QString reason = m_settings->status() == QSettings::FormatError
                               ? QStringLiteral("format error")
                               : QCoreApplication::translate("ErrorText", "cannot write the file");
    return fileWriteErrorText(m_settings->fileName(), reason, 1);
}

QString AppSettings::fileName() const
{
    return m_settings->fileName();
}

} // namespace uhdlens::ui
