#include "safesave.h"

#include "errortext.h"

#include <QSaveFile>

namespace uhdlens::ui {

QString saveFileAtomically(const QString &path, const QByteArray &bytes)
{
    QSaveFile file(path);
    // Never fall back to writing the target in place (QSaveFile::setDirectWriteFallback): that is exactly the
    // partial file this exists to prevent. An unwritable folder is an error, said as such.
    file.setDirectWriteFallback(false);
    if (!file.open(QIODevice::WriteOnly))
        return fileWriteErrorText(path, file.errorString(), bytes.size());
    // QSaveFile buffers: a full disk may show up in write(), or only when commit() flushes.
    if (file.write(bytes) != bytes.size()) {
        const QString reason = file.errorString();
        file.cancelWriting();
        return fileWriteErrorText(path, reason, bytes.size());
    }
    if (!file.commit())
        return fileWriteErrorText(path, file.errorString(), bytes.size());
    return {};
}

} // namespace uhdlens::ui
