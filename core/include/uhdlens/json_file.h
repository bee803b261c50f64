// UHD Lens — the one way core, the CLI and the app read and write JSON (and small text) files, with typed
// errors that name the file. No torch.
//
//     nlohmann::json cfg = uhdlens::readJsonFile(dir + "/config.json");        // Error(ConfigInvalid) if broken
//     auto extra = uhdlens::readOptionalJsonFile(dir + "/preprocessor_config.json");  // nullopt if absent
//     uhdlens::writeJsonFile(out + "/state.json", state);                       // atomic: all or nothing
//
// Reads refuse folders and files over `maxBytes` before reading, and map every nlohmann::json exception (a parse
// error, or out_of_range 406 for a number too large for a double) to the caller's error code. Writes go through
// QSaveFile, so a crash or a full disk never leaves half a file. Thread-safe (no shared state).
#pragma once

#include "uhdlens/errors.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace uhdlens {

struct JsonFileOptions
{
    std::string label;                           // how messages name the file (default: its path)
    ErrorCode missing = ErrorCode::FileNotFound; // the file does not exist
    // Not JSON, too large, a folder, or not an object when one is required.
    ErrorCode invalid = ErrorCode::ConfigInvalid;
    bool requireObject = true; // the top level must be a JSON object
    // Configs and indexes are KBs; a huge file is not what we read.
    std::int64_t maxBytes = std::int64_t(16) << 20;
};

// The parsed file. Throws Error(options.missing) when it does not exist, Error(FileUnreadable) when it cannot be
// opened, Error(options.invalid) otherwise; what() names the file ("<label> is not valid JSON: ..."), subject()
// is its path.
nlohmann::json readJsonFile(const std::string &path, const JsonFileOptions &options = {});
// As readJsonFile, but nullopt when the file does not exist.
std::optional<nlohmann::json> readOptionalJsonFile(const std::string &path,
                                                   const JsonFileOptions &options = {});
// The raw bytes of a small file (for formats with their own parser, e.g. a safetensors index), with the same
// checks and errors as readJsonFile before parsing.
std::string readSmallFile(const std::string &path, const JsonFileOptions &options = {});

// Writes `value` as indented JSON (`indent` spaces; -1: one line) plus a newline, atomically. Throws
// Error(FileUnreadable) naming the file when it cannot be written.
void writeJsonFile(const std::string &path, const nlohmann::json &value, int indent = 2);
// Writes `text` as is, atomically; Error(FileUnreadable) naming the file on failure.
void writeTextFile(const std::string &path, const std::string &text);

} // namespace uhdlens
