// The resource search (resources.h).
#include "uhdlens/resources.h"

#include "base_weights.h"
#include "uhdlens/errors.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <nlohmann/json.hpp>

namespace uhdlens {

namespace {

// The running executable's folder: Qt's answer when there is an application object, else the kernel's
// (/proc/self/exe), so a test or a library caller without QCoreApplication searches the same places.
QString executableDir()
{
    if (QCoreApplication::instance())
        return QCoreApplication::applicationDirPath();
    const QFileInfo self(QStringLiteral("/proc/self/exe"));
    const QString target = self.canonicalFilePath();
    return target.isEmpty() ? QString() : QFileInfo(target).path();
}

} // namespace

std::vector<std::string> resourceRoots()
{
    std::vector<std::string> roots;
    const QByteArray env = qgetenv("UHDLENS_RESOURCES");
    if (!env.isEmpty())
        roots.push_back(QString::fromLocal8Bit(env).toStdString());
    // No compiled-in source path: an installed copy must work on any machine, and a build tree is laid out
    // like an install (resources/CMakeLists.txt links <build>/share/uhdlens to the source folders).
    const QString exe = executableDir();
    if (!exe.isEmpty()) {
        roots.push_back((exe + QStringLiteral("/../share/uhdlens")).toStdString());
        roots.push_back((exe + QStringLiteral("/../resources")).toStdString());
    }
    return roots;
}

std::string findResource(const std::string &relative, const std::vector<std::string> &roots)
{
    for (const std::string &root : roots) {
        const QString path = QDir(QString::fromStdString(root)).filePath(QString::fromStdString(relative));
        if (QFileInfo::exists(path))
            return QDir::cleanPath(path).toStdString();
    }
    return {};
}

std::string findResource(const std::string &relative)
{
    return findResource(relative, resourceRoots());
}

namespace {

// Why the model whose config.json is `configFile` cannot run on the installed base weights: the message of the
// loader's own check (baseWeightSources, base_weights.h: it names the first missing file and the command that
// installs it), or empty when every file it names is there. A config that cannot be read is not usable either.
std::string baseWeightsProblem(const QString &configFile)
{
    QFile f(configFile);
    if (!f.open(QIODevice::ReadOnly))
        return configFile.toStdString() + " cannot be read";
    const nlohmann::json cfg =
        nlohmann::json::parse(f.readAll().toStdString(), nullptr, /*allow_exceptions=*/false);
    if (cfg.is_discarded() || !cfg.is_object())
        return configFile.toStdString() + " is not a JSON object";
    try {
        (void)baseWeightSources(cfg);
    } catch (const Error &e) {
        return e.what();
    }
    return {};
}

struct DefaultChoice
{
    std::string folder, note;
};

DefaultChoice chooseDefault()
{
    DefaultChoice out;
    // Root by root: an override root's model wins over the installed one, whichever model it is.
    for (const std::string &root : resourceRoots()) {
        const QDir models(QDir(QString::fromStdString(root)).filePath(QStringLiteral("models")));
        // A folder without its config.json (an interrupted install or training run) is not a model to offer.
        const QString smol =
            models.filePath(QString::fromLatin1(kDefaultModelName) + QStringLiteral("/config.json"));
        if (QFileInfo(smol).isFile()) {
            const std::string problem = baseWeightsProblem(smol);
            if (problem.empty()) {
                out.folder = QDir::cleanPath(QFileInfo(smol).path()).toStdString();
                return out;
            }
            if (out.note.empty())
                out.note = std::string(kDefaultModelName) + " is not usable: " + problem;
        }
        const QString tiny =
            models.filePath(QString::fromLatin1(kFromScratchModelName) + QStringLiteral("/config.json"));
        if (QFileInfo(tiny).isFile()) {
            out.folder = QDir::cleanPath(QFileInfo(tiny).path()).toStdString();
            return out;
        }
    }
    return out;
}

} // namespace

std::string bundledModelFolder()
{
    return chooseDefault().folder;
}

std::string bundledModelNote()
{
    return chooseDefault().note;
}

std::string baseWeightsDir()
{
    const QByteArray own = qgetenv("UHDLENS_BASE_WEIGHTS");
    if (!own.isEmpty())
        return QString::fromLocal8Bit(own).toStdString();
    // The XDG rule the installer script applies (not QStandardPaths, whose cache location adds the
    // application's name).
    const QByteArray xdg = qgetenv("XDG_CACHE_HOME");
    const QString cache =
        xdg.isEmpty() ? QDir::homePath() + QStringLiteral("/.cache") : QString::fromLocal8Bit(xdg);
    return (cache + QStringLiteral("/uhdlens/base")).toStdString();
}

std::string findBaseWeight(const std::string &relative)
{
    const QString path =
        QDir(QString::fromStdString(baseWeightsDir())).filePath(QString::fromStdString(relative));
    return QFileInfo(path).isFile() ? QDir::cleanPath(path).toStdString() : std::string();
}

} // namespace uhdlens
