#include "modellist.h"

#include "appsettings.h"

#include "uhdlens/resources.h"

#include <QFileInfo>

namespace uhdlens::ui {

QString ModelList::bundledFolder()
{
    return QString::fromStdString(bundledModelFolder());
}

QString ModelList::startupFolder() const
{
    const QString saved = m_settings.modelFolder();
    if (!saved.isEmpty() && QFileInfo::exists(saved))
        return saved;
    return bundledFolder();
}

QString ModelList::startupMmproj() const
{
    const QString mmproj = m_settings.modelMmproj();
    const QString saved = m_settings.modelFolder();
    if (mmproj.isEmpty() || saved.isEmpty() || !QFileInfo::exists(saved) || !QFileInfo(mmproj).isFile())
        return {};
    return mmproj;
}

} // namespace uhdlens::ui
