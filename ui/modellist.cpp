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
    if (!saved.isEmpty() && QFileInfo(saved).isDir())
        return saved;
    return bundledFolder();
}

} // namespace uhdlens::ui
