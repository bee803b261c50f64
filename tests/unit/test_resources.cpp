// The one resource search (uhdlens/resources.h): its order, first match wins, and the bundled model's rule (a
// folder counts only with its config.json).
#include "uhdlens/resources.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <cstdlib>

using namespace uhdlens;

namespace {

// Sets (or, with nullptr, unsets) $UHDLENS_RESOURCES for one scope.
class EnvOverride
{
public:
    explicit EnvOverride(const char *value, const char *name = "UHDLENS_RESOURCES") : m_name(name)
    {
        if (const char *old = std::getenv(m_name))
            m_old = old;
        if (value)
            qputenv(m_name, value);
        else
            qunsetenv(m_name);
    }
    ~EnvOverride()
    {
        if (m_old.empty())
            qunsetenv(m_name);
        else
            qputenv(m_name, m_old.c_str());
    }

private:
    const char *m_name;
    std::string m_old;
};

void touch(const QString &path)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly)) << path.toStdString();
    f.write("{}");
}

std::string clean(const QString &path)
{
    return QDir::cleanPath(path).toStdString();
}

} // namespace

// The test binary's own folder as the kernel reports it (what resourceRoots() uses without an application).
static QString selfDir()
{
    return QFileInfo(QFileInfo(QStringLiteral("/proc/self/exe")).canonicalFilePath()).path();
}

TEST(ResourceFinder, SearchOrderWithoutApplication)
{
    EnvOverride none(nullptr);
    ASSERT_EQ(QCoreApplication::instance(), nullptr);
    const std::vector<std::string> plain = resourceRoots();
    ASSERT_EQ(plain.size(), 2u); // beside the executable, found through /proc/self/exe
    EXPECT_EQ(plain[0], (selfDir() + QStringLiteral("/../share/uhdlens")).toStdString());
    EXPECT_EQ(plain[1], (selfDir() + QStringLiteral("/../resources")).toStdString());
    EnvOverride env("/opt/uhdlens-override");
    const std::vector<std::string> roots = resourceRoots();
    ASSERT_EQ(roots.size(), 3u);
    EXPECT_EQ(roots[0], "/opt/uhdlens-override"); // the override comes first
    EXPECT_EQ(roots[1], plain[0]);
    EXPECT_EQ(roots[2], plain[1]);
}

TEST(ResourceFinder, NoCompiledInSourcePath)
{
    // The installed copy must not depend on the machine that built it: no root may point into the source tree.
    EnvOverride none(nullptr);
    const std::string sourceResources = clean(QStringLiteral(UHDLENS_TEST_DATA "/../../resources"));
    for (const std::string &root : resourceRoots())
        EXPECT_NE(clean(QString::fromStdString(root)), sourceResources);
    // The build tree is laid out like an install, so the bundled model is still found from here:
    // uhd-lens-smol when it is there and its base weights are installed, else uhd-lens-tiny.
    const std::string model = bundledModelFolder();
    ASSERT_FALSE(model.empty());
    const QString share = selfDir() + QStringLiteral("/../share/uhdlens/models/");
    const bool smol = QFileInfo::exists(share + QStringLiteral("uhd-lens-smol/config.json")) &&
                      !findBaseWeight(kSmolLm2File).empty() && !findBaseWeight(kDinov2SmallOnnxFile).empty();
    EXPECT_EQ(model,
              clean(share + (smol ? QStringLiteral("uhd-lens-smol") : QStringLiteral("uhd-lens-tiny"))));
    EXPECT_EQ(bundledModelNote().empty(),
              smol || !QFileInfo::exists(share + QStringLiteral("uhd-lens-smol")));
}

TEST(ResourceFinder, SearchOrderWithApplication)
{
    EnvOverride env("/opt/uhdlens-override");
    static int argc = 1;
    static char arg0[] = "/usr/local/bin/uhdlens";
    static char *argv[] = {arg0, nullptr};
    QCoreApplication app(argc, argv);
    const QString exeDir = QCoreApplication::applicationDirPath(); // the test binary's real folder
    const std::vector<std::string> roots = resourceRoots();
    ASSERT_EQ(roots.size(), 3u);
    EXPECT_EQ(roots[0], "/opt/uhdlens-override");
    EXPECT_EQ(roots[1], (exeDir + QStringLiteral("/../share/uhdlens")).toStdString()); // installed
    EXPECT_EQ(roots[2], (exeDir + QStringLiteral("/../resources")).toStdString());     // relocatable folder
}

TEST(ResourceFinder, FirstExistingRootWins)
{
    QTemporaryDir a, b;
    const std::vector<std::string> roots = {a.path().toStdString() + "/missing", a.path().toStdString(),
                                            b.path().toStdString()};
    EXPECT_EQ(findResource("text/x.txt", roots), "");
    touch(b.filePath(QStringLiteral("text/x.txt")));
    EXPECT_EQ(findResource("text/x.txt", roots), clean(b.filePath(QStringLiteral("text/x.txt"))));
    touch(a.filePath(QStringLiteral("text/x.txt")));
    EXPECT_EQ(findResource("text/x.txt", roots), clean(a.filePath(QStringLiteral("text/x.txt"))));
    EXPECT_EQ(findResource("text/x.txt", {}), "");
    EXPECT_EQ(findResource("text/other.txt", roots), "");
}

TEST(ResourceFinder, BundledModelNeedsItsConfig)
{
    QTemporaryDir dir;
    EnvOverride env(dir.path().toLocal8Bit().constData());
    const QString model = dir.filePath(QStringLiteral("models/uhd-lens-tiny"));
    // A folder without config.json (an interrupted install) is skipped: the next root's model, if any, is
    // found.
    QDir().mkpath(model);
    EXPECT_NE(bundledModelFolder(), clean(model));
    touch(model + QStringLiteral("/config.json"));
    EXPECT_EQ(bundledModelFolder(), clean(model));
    // The same search as findResource().
    EXPECT_EQ(findResource("models/uhd-lens-tiny"), clean(model));
}

// The default trained on pretrained parts is chosen only when its base weights are installed; otherwise the
// from-scratch model of the same root, with a note naming the missing file and the command that installs it.
TEST(ResourceFinder, BundledDefaultNeedsItsBaseWeights)
{
    QTemporaryDir dir, base;
    EnvOverride env(dir.path().toLocal8Bit().constData());
    EnvOverride baseEnv(base.path().toLocal8Bit().constData(), "UHDLENS_BASE_WEIGHTS");
    const QString smol = dir.filePath(QStringLiteral("models/uhd-lens-smol"));
    const QString tiny = dir.filePath(QStringLiteral("models/uhd-lens-tiny"));
    QDir().mkpath(smol);
    QFile cfg(smol + QStringLiteral("/config.json"));
    ASSERT_TRUE(cfg.open(QIODevice::WriteOnly));
    cfg.write(
        R"({"model_type": "uhd-paper", "base_weights": {"llm.": "llm/x.gguf", "vision.": "v/y.onnx"}})");
    cfg.close();
    touch(tiny + QStringLiteral("/config.json"));
    EXPECT_EQ(bundledModelFolder(), clean(tiny));
    const std::string note = bundledModelNote();
    EXPECT_NE(note.find("uhd-lens-smol"), std::string::npos) << note;
    EXPECT_NE(note.find(kBaseWeightsCommand), std::string::npos) << note;
    touch(base.filePath(QStringLiteral("llm/x.gguf")));
    EXPECT_EQ(bundledModelFolder(), clean(tiny)); // one of two files is not enough
    touch(base.filePath(QStringLiteral("v/y.onnx")));
    EXPECT_EQ(bundledModelFolder(), clean(smol));
    EXPECT_EQ(bundledModelNote(), "");
    // A config that is not JSON is not a model to offer.
    ASSERT_TRUE(cfg.open(QIODevice::WriteOnly | QIODevice::Truncate));
    cfg.write("{not json");
    cfg.close();
    EXPECT_EQ(bundledModelFolder(), clean(tiny));
}
