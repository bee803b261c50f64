#include "errortext.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStorageInfo>

#include <cerrno>

namespace uhdlens::ui {

QString errorCodeText(ErrorCode code)
{
    // Spelled out with QCoreApplication::translate("ErrorText", ...) so lupdate extracts every sentence.
    switch (code) {
    case ErrorCode::FileNotFound:
        return QCoreApplication::translate("ErrorText", "The file does not exist.");
    case ErrorCode::NotAFile:
        return QCoreApplication::translate("ErrorText", "This is a folder or a special file, not an image file.");
    case ErrorCode::FileUnreadable:
        return QCoreApplication::translate("ErrorText", "The file cannot be read (check its permissions).");
    case ErrorCode::NotAnImage:
        return QCoreApplication::translate("ErrorText", "The file is not an image UHD Lens can read.");
    case ErrorCode::ImageTruncated:
        return QCoreApplication::translate("ErrorText", "The image is damaged or incomplete.");
    case ErrorCode::ImageEmpty:
        return QCoreApplication::translate("ErrorText", "The image has no pixels (zero width or height).");
    case ErrorCode::ImageTooLarge:
        return QCoreApplication::translate("ErrorText",
                                           "The image is too large to open safely (over the pixel limit).");
    case ErrorCode::CheckpointInvalid:
        return QCoreApplication::translate(
            "ErrorText",
            "The model's weight files are damaged or not in a format UHD Lens reads (safetensors or GGUF).");
    case ErrorCode::TensorMissing:
        return QCoreApplication::translate("ErrorText", "The model's weights are incomplete (a tensor is missing).");
    case ErrorCode::TensorShapeMismatch:
        return QCoreApplication::translate("ErrorText", "The model's weights do not match its configuration.");
    case ErrorCode::ConfigInvalid:
        return QCoreApplication::translate(
            "ErrorText", "This is not a model UHD Lens can load (config.json or the GGUF "
                         "metadata is missing or invalid, or the files do not belong together).");
    case ErrorCode::UnknownFamily:
        return QCoreApplication::translate("ErrorText", "This model family is not supported.");
    case ErrorCode::TokenizerInvalid:
        return QCoreApplication::translate("ErrorText", "The model's tokenizer is missing or damaged.");
    case ErrorCode::PickleWeights:
        return QCoreApplication::translate("ErrorText",
                                           "The model keeps weights in a PyTorch pickle file, which UHD Lens "
                                           "does not load directly; it can convert them to safetensors.");
    case ErrorCode::PickleRefused:
        return QCoreApplication::translate("ErrorText",
                                           "A pickle weight file contains something other than plain tensors "
                                           "(or is in an old format); it was not converted.");
    case ErrorCode::InvalidArgument:
        return QCoreApplication::translate("ErrorText", "A setting is out of range.");
    case ErrorCode::ContextOverflow:
        return QCoreApplication::translate("ErrorText",
                                           "The image and question do not fit into the model's context. Allow fewer slices or ask a shorter question.");
    case ErrorCode::DeviceUnavailable:
        return QCoreApplication::translate("ErrorText", "The chosen compute device is not available.");
    case ErrorCode::Cancelled:
        return QCoreApplication::translate("ErrorText", "Cancelled.");
    case ErrorCode::OcrDataMissing:
        return QCoreApplication::translate(
            "ErrorText", "The text recognition data (Tesseract) for a language is not installed.");
    case ErrorCode::Internal:
        break;
    }
    return QCoreApplication::translate("ErrorText", "An internal error occurred.");
}

QString errorText(const Error &error)
{
    QString text = errorCodeText(error.code());
    if (!error.subject().empty())
        text += QLatin1Char('\n') + QCoreApplication::translate("ErrorText", "Concerning: %1").arg(QString::fromStdString(error.subject()));
    const QString detail = QString::fromUtf8(error.what());
    if (!detail.isEmpty())
        text += QLatin1Char('\n') + QCoreApplication::translate("ErrorText", "Details: %1").arg(detail);
    return text;
}

QString ggufPairErrorText(const Error &error)
{
    QString sentence;
    switch (error.code()) {
    case ErrorCode::FileNotFound:
        sentence = QCoreApplication::translate(
            "ErrorText", "A GGUF vision model needs two files, the language model and its mmproj (vision "
                         "projector) file; one of them was not found.");
        break;
    case ErrorCode::InvalidArgument:
        sentence = QCoreApplication::translate(
            "ErrorText",
            "It is not clear which two GGUF files make the model (several candidates, or two files "
            "of the same kind): choose the language-model file and then its mmproj file.");
        break;
    case ErrorCode::ConfigInvalid:
        sentence = QCoreApplication::translate(
            "ErrorText", "The two GGUF files do not belong together: the mmproj is not a projector UHD Lens "
                         "supports or does not fit this language model.");
        break;
    default:
        return errorText(error);
    }
    // errorText()'s first line is the generic sentence for the code; the pair's own sentence replaces it, the
    // lines naming the file and core's detail stay.
    const QString rest = errorText(error).section(QLatin1Char('\n'), 1);
    return rest.isEmpty() ? sentence : sentence + QLatin1Char('\n') + rest;
}

QString fileWriteErrorText(const QString &path, const QString &detail, qint64 bytesNeeded)
{
    const QFileInfo target(path);
    const QFileInfo folder(target.absolutePath());
    auto systemSays = [&detail](std::initializer_list<int> codes) {
        for (int code : codes)
            if (detail.contains(qt_error_string(code), Qt::CaseInsensitive))
                return true;
        return false;
    };
    auto diskFull = [&] {
        if (systemSays({ENOSPC, EDQUOT}))
            return true;
        const QStorageInfo storage(folder.absoluteFilePath());
        return storage.isValid() && storage.bytesAvailable() >= 0 && storage.bytesAvailable() <= bytesNeeded;
    };
    QString sentence;
    if (!folder.isDir())
        sentence = QCoreApplication::translate("ErrorText", "The folder to save in does not exist.");
    else if (systemSays({EACCES, EPERM, EROFS}) || !folder.isWritable())
        sentence = QCoreApplication::translate(
            "ErrorText",
            "UHD Lens may not write in this folder (check its permissions, or choose another one).");
    else if (diskFull())
        sentence = QCoreApplication::translate("ErrorText", "The disk is full: free some space, or choose "
                                                            "another folder.");
    else
        sentence = QCoreApplication::translate("ErrorText", "The file could not be saved.");
    QString text =
        sentence + QLatin1Char(' ') +
        (target.exists() ? QCoreApplication::translate("ErrorText", "The file already there is unchanged.")
                         : QCoreApplication::translate("ErrorText", "Nothing was written."));
    text += QLatin1Char('\n') +
            QCoreApplication::translate("ErrorText", "Concerning: %1").arg(QDir::toNativeSeparators(path));
    if (!detail.isEmpty())
        text += QLatin1Char('\n') + QCoreApplication::translate("ErrorText", "Details: %1").arg(detail);
    return text;
}

QString unexpectedErrorText(const char *what)
{
    return QCoreApplication::translate("ErrorText", "An unexpected error occurred.") + QLatin1Char('\n') +
           QCoreApplication::translate("ErrorText", "Details: %1").arg(QString::fromUtf8(what ? what : ""));
}

} // namespace uhdlens::ui
