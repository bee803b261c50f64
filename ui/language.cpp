#include "language.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>

#include <memory>

namespace uhdlens::ui {

namespace {
std::unique_ptr<QTranslator> g_app;
std::unique_ptr<QTranslator> g_qt;
QString g_current = QStringLiteral("en");
} // namespace

QStringList availableLanguages()
{
    return {QStringLiteral("en"), QStringLiteral("zh_CN")};
}

QString nativeLanguageName(const QString &code)
{
    if (code == QLatin1String("zh_CN"))
        return QStringLiteral("简体中文");
    return QStringLiteral("English");
}

bool applyLanguage(const QString &code)
{
    if (g_app) {
        QCoreApplication::removeTranslator(g_app.get());
        g_app.reset();
    }
    if (g_qt) {
        QCoreApplication::removeTranslator(g_qt.get());
        g_qt.reset();
    }
    g_current = QStringLiteral("en");
    if (code == QLatin1String("en") || !availableLanguages().contains(code)) {
        QCoreApplication::postEvent(QCoreApplication::instance(), new QEvent(QEvent::LanguageChange));
        return code == QLatin1String("en");
    }
    auto app = std::make_unique<QTranslator>();
    // qt_add_translations embeds the .qm files under the resource prefix /i18n.
    if (!app->load(QStringLiteral(":/i18n/uhdlens_%1.qm").arg(code)))
        return false;
    QCoreApplication::installTranslator(app.get());
    g_app = std::move(app);
    // Qt's own strings (standard buttons, file dialogs), when Debian's qt6-translations-l10n is installed.
    auto qt = std::make_unique<QTranslator>();
    if (qt->load(QStringLiteral("qtbase_%1").arg(code), QLibraryInfo::path(QLibraryInfo::TranslationsPath))) {
        QCoreApplication::installTranslator(qt.get());
        g_qt = std::move(qt);
    }
    g_current = code;
    return true;
}

QString currentLanguage()
{
    return g_current;
}

QString initialLanguage(const QString &saved)
{
    if (availableLanguages().contains(saved))
        return saved;
    const QString system = QLocale::system().name();
    if (system.startsWith(QLatin1String("zh")))
        return QStringLiteral("zh_CN");
    return QStringLiteral("en");
}

} // namespace uhdlens::ui
