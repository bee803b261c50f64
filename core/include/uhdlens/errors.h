// UHD Lens — typed errors raised by the core library.
//
// Every failure caused by user input (an image, a checkpoint folder, a tokenizer, a prompt, a setting) is
// reported as a uhdlens::Error with a machine-checkable `code()` and an English `what()` that names the file,
// tensor or key involved. The UI maps codes to translated text (ui/errortext.cpp); the CLI prints `what()`.
// Nothing in core/ aborts on user input.
#pragma once

#include <stdexcept>
#include <string>

namespace uhdlens {

enum class ErrorCode {
    // image intake
    FileNotFound,
    NotAFile,         // a directory or special file
    FileUnreadable,   // permissions, I/O error
    NotAnImage,       // no decoder recognises the content
    ImageTruncated,   // header fine, data cut short or corrupt
    ImageEmpty,       // zero width or height
    ImageTooLarge,    // over the pixel limit (decompression-bomb guard)
    // checkpoints and tokenizers
    CheckpointInvalid,   // malformed safetensors / index file
    TensorMissing,
    TensorShapeMismatch,
    ConfigInvalid,       // config.json missing, unparsable, or with a bad/missing key
    UnknownFamily,
    TokenizerInvalid,
    PickleWeights,       // (some) weights are in a PyTorch pickle file: `uhdlens-cli convert` converts them
    PickleRefused,       // a pickle file the converter will not read: unsafe content or the legacy format
    // runtime
    InvalidArgument,  // a setting or option out of range
    ContextOverflow,  // image tokens + prompt exceed the model's context
    DeviceUnavailable,
    Cancelled,
    OcrDataMissing,   // Tesseract's language data is not installed (the message names the package)
    Internal,
};

class Error : public std::runtime_error
{
public:
    Error(ErrorCode code, const std::string &message, std::string subject = {})
        : std::runtime_error(message), m_code(code), m_subject(std::move(subject))
    {
    }
    ErrorCode code() const noexcept { return m_code; }
    // The file, tensor, key or option the error is about (may be empty).
    const std::string &subject() const noexcept { return m_subject; }

private:
    ErrorCode m_code;
    std::string m_subject;
};

// Stable identifier of a code, e.g. "image-truncated" (used in JSON output and tests).
const char *errorCodeName(ErrorCode code) noexcept;

} // namespace uhdlens
