#include "uhdlens/errors.h"

namespace uhdlens {

const char *errorCodeName(ErrorCode code) noexcept
{
    switch (code) {
    case ErrorCode::FileNotFound: return "file-not-found";
    case ErrorCode::NotAFile: return "not-a-file";
    case ErrorCode::FileUnreadable: return "file-unreadable";
    case ErrorCode::NotAnImage: return "not-an-image";
    case ErrorCode::ImageTruncated: return "image-truncated";
    case ErrorCode::ImageEmpty: return "image-empty";
    case ErrorCode::ImageTooLarge: return "image-too-large";
    case ErrorCode::CheckpointInvalid: return "checkpoint-invalid";
    case ErrorCode::TensorMissing: return "tensor-missing";
    case ErrorCode::TensorShapeMismatch: return "tensor-shape-mismatch";
    case ErrorCode::ConfigInvalid: return "config-invalid";
    case ErrorCode::UnknownFamily: return "unknown-family";
    case ErrorCode::TokenizerInvalid: return "tokenizer-invalid";
    case ErrorCode::PickleWeights: return "pickle-weights";
    case ErrorCode::PickleRefused: return "pickle-refused";
    case ErrorCode::InvalidArgument: return "invalid-argument";
    case ErrorCode::ContextOverflow: return "context-overflow";
    case ErrorCode::DeviceUnavailable: return "device-unavailable";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::OcrDataMissing: return "ocr-data-missing";
    case ErrorCode::Internal: return "internal";
    }
    return "internal";
}

} // namespace uhdlens
