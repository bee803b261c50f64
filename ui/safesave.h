// UHD Lens UI — saving a user's file so that a failure costs nothing: every export (and any other file the
// app writes for the user) goes through QSaveFile, a temporary file in the same folder renamed over the
// target only once all of it was written and flushed. A full disk, an unwritable folder or a crash therefore
// never leaves half a file and never touches the previous version. Settings go through QSettings, which saves
// the same way (QSettings::setAtomicSyncRequired, on by default); AppSettings::sync() reports its failures
// with the same sentences (fileWriteErrorText in errortext.h).
//
//     if (const QString error = saveFileAtomically(path, bytes); !error.isEmpty())
//         showError(tr("Export failed"), error);
#pragma once

#include <QByteArray>
#include <QString>

namespace uhdlens::ui {

// Writes `bytes` to `path` atomically (above). Returns an empty string, or the translated reason
// (fileWriteErrorText): the disk is full, the folder cannot be written to or does not exist, or the system's
// own message. GUI or any thread; no shared state.
QString saveFileAtomically(const QString &path, const QByteArray &bytes);

} // namespace uhdlens::ui
