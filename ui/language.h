// UHD Lens UI — switching the interface language at run time (translations built into the binary).
#pragma once

#include <QString>
#include <QStringList>

namespace uhdlens::ui {

// "en", "zh_CN"
QStringList availableLanguages();
// The language's own name ("English", "简体中文"), shown untranslated so a user can always find theirs.
QString nativeLanguageName(const QString &code);
// Installs the translators for `code` (removing earlier ones); widgets then receive QEvent::LanguageChange and
// retranslate themselves. "en" (or any unknown code) uses the source strings. Returns false when the
// translation could not be loaded.
bool applyLanguage(const QString &code);
QString currentLanguage();
// The language to start in: the saved choice, else the system locale when it is available, else English.
QString initialLanguage(const QString &saved);

} // namespace uhdlens::ui
