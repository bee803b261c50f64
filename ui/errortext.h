// UHD Lens UI — turns core errors (uhdlens::Error codes) into translated, readable sentences.
#pragma once

#include "uhdlens/errors.h"

#include <QString>

namespace uhdlens::ui {

// One sentence a user understands for each error code ("The file is not an image…"), translated.
QString errorCodeText(ErrorCode code);

// errorCodeText() plus the file/key the error is about and core's English detail as a second line.
QString errorText(const Error &error);

// errorText() for a GGUF choice that cannot open (resolveGgufPair): a missing mmproj / LLM file, an unclear
// or same-kind pair, a projector that does not fit get their own first sentence.
QString ggufPairErrorText(const Error &error);

// A file UHD Lens writes for the user (an export, the settings) could not be saved: one sentence for the
// cause (the disk is full, the folder cannot be written to, the folder does not exist, else a generic one),
// the promise that the previous version is unchanged, then "Concerning: path" and the system's `detail` as in
// errorText(). The cause comes from `detail` (the system's text for ENOSPC/EDQUOT, EACCES/EPERM/EROFS) and,
// where that is not conclusive, from the folder itself (exists, writable, free space < `bytesNeeded`).
QString fileWriteErrorText(const QString &path, const QString &detail, qint64 bytesNeeded = 0);

// For exceptions that are not uhdlens::Error (std::bad_alloc, ...): a generic translated sentence + detail.
QString unexpectedErrorText(const char *what);

} // namespace uhdlens::ui
