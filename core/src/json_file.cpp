#include "uhdlens/json_file.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <nlohmann/json.hpp>

namespace uhdlens {

namespace {

std::string labelOf(const std::string &path, const JsonFileOptions &options)
{
    return options.label.empty() ? path : options.label;
}

// "<label><what>: <path>", or "<path><what>" when the label is the path.
std::string describe(const std::string &path, const JsonFileOptions &options, const std::string &what)
{
    return options.label.empty() ? path + what : options.label + what + ": " + path;
}

// nullopt when the file does not exist.
std::optional<std::string> readBytes(const std::string &path, const JsonFileOptions &options)
{
    QFile file(QString::fromStdString(path));
    const QFileInfo info(file);
    if (!info.exists())
        return std::nullopt;
    if (info.isDir())
        throw Error(options.invalid, describe(path, options, " is a folder, not a file"), path);
    if (file.size() > options.maxBytes)
        throw Error(
            options.invalid,
            describe(path, options, " is larger than " + std::to_string(options.maxBytes >> 20) + " MB"),
            path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(ErrorCode::FileUnreadable, describe(path, options, " cannot be read"), path);
    const QByteArray bytes = file.readAll();
    return std::string(bytes.constData(), static_cast<size_t>(bytes.size()));
}

nlohmann::json parse(const std::string &bytes, const std::string &path, const JsonFileOptions &options)
{
    const std::string label = labelOf(path, options);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(bytes);
    } catch (const nlohmann::json::exception &e) {
        // parse_error, or out_of_range 406 for a number too large for a double (1e400; found by fuzzing).
        throw Error(options.invalid, label + " is not valid JSON: " + e.what(), path);
    }
    if (options.requireObject && !j.is_object())
        throw Error(options.invalid, label + ": expected a JSON object at the top level", path);
    return j;
}

void missing(const std::string &path, const JsonFileOptions &options)
{
    throw Error(options.missing, describe(path, options, " not found"), path);
}

} // namespace

std::string readSmallFile(const std::string &path, const JsonFileOptions &options)
{
    auto bytes = readBytes(path, options);
    if (!bytes)
        missing(path, options);
    return std::move(*bytes);
}

nlohmann::json readJsonFile(const std::string &path, const JsonFileOptions &options)
{
    return parse(readSmallFile(path, options), path, options);
}

std::optional<nlohmann::json> readOptionalJsonFile(const std::string &path, const JsonFileOptions &options)
{
    const auto bytes = readBytes(path, options);
    if (!bytes)
        return std::nullopt;
    return parse(*bytes, path, options);
}

void writeTextFile(const std::string &path, const std::string &text)
{
    QSaveFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::WriteOnly) ||
        f.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size()) ||
        !f.commit())
        throw Error(ErrorCode::FileUnreadable,
                    "cannot write '" + path + "': " + f.errorString().toStdString(), path);
}

void writeJsonFile(const std::string &path, const nlohmann::json &value, int indent)
{
    // Invalid UTF-8 in a string is written as U+FFFD rather than failing the whole file.
    writeTextFile(path, value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

} // namespace uhdlens
