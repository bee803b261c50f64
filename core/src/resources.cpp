// The resource search (resources.h).
#include "uhdlens/resources.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

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

std::string bundledModelFolder()
{
    // A folder without its config.json (an interrupted install or training run) is not a model to offer.
    const std::string config = findResource("models/uhd-lens-tiny/config.json");
    return config.empty() ? std::string() : QFileInfo(QString::fromStdString(config)).path().toStdString();
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
