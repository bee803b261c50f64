#include "uhdlens/batch.h"

#include "uhdlens/image_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <unistd.h> // fsync, fileno

namespace uhdlens::batch {

namespace fs = std::filesystem;
using nlohmann::json;

// --- inputs ---------------------------------------------------------------------------------------------

std::string sniffImageFormat(std::string_view h)
{
    auto starts = [&](std::string_view magic) { return h.substr(0, magic.size()) == magic; };
    if (starts("\x89PNG\r\n\x1a\n"))
        return "png";
    if (starts("\xff\xd8\xff"))
        return "jpeg";
    if (starts("GIF87a") || starts("GIF89a"))
        return "gif";
    if (h.size() >= 12 && starts("RIFF") && h.substr(8, 4) == "WEBP")
        return "webp";
    if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4)))
        return "tiff";
    // "BM" alone is too weak (any text may start so): BITMAPFILEHEADER's two reserved words are zero.
    if (h.size() >= 14 && starts("BM") && h.substr(6, 4) == std::string_view("\0\0\0\0", 4))
        return "bmp";
    // Netpbm: P1..P6 and whitespace (Qt's ppm reader).
    if (h.size() >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6' && std::strchr(" \t\r\n", h[2]) &&
        h[2] != '\0')
        return "pnm";
    return {};
}

namespace {

std::string absoluteNormal(const fs::path &p)
{
    std::error_code ec;
    fs::path a = fs::absolute(p, ec);
    if (ec)
        a = p;
    std::string s = a.lexically_normal().string();
    if (s.size() > 1 && s.back() == '/')
        s.pop_back(); // "dir/" names the same folder as "dir"
    return s;
}

class Walker
{
public:
    InputScan scan;

    // A path named by the user (named) or met in a folder: what it is decides what happens to it.
    void visit(const fs::path &p, bool named)
    {
        std::error_code ec;
        const fs::file_status st = fs::status(p, ec); // follows symbolic links
        if (st.type() == fs::file_type::not_found) {
            if (named)
                fail(p, ErrorCode::FileNotFound, "no such file or folder");
            else
                ++scan.skippedNonImages; // a dangling link
        } else if (ec) {
            fail(p, ErrorCode::FileUnreadable, "cannot read: " + ec.message());
        } else if (fs::is_directory(st)) {
            walk(p);
        } else if (fs::is_regular_file(st)) {
            file(p, named);
        } else if (named) {
            fail(p, ErrorCode::NotAFile, "not a regular file (a device, socket or pipe)");
        } else {
            ++scan.skippedNonImages; // never open a pipe or device: it could block forever
        }
    }

private:
    std::set<std::string> m_dirs;  // canonical folders already walked: a symlink loop ends here
    std::set<std::string> m_files; // canonical files already taken

    void fail(const fs::path &p, ErrorCode code, const std::string &message)
    {
        scan.inputs.push_back({absoluteNormal(p), message, code});
    }

    void walk(const fs::path &dir)
    {
        std::error_code ec;
        const fs::path canon = fs::canonical(dir, ec);
        if (ec)
            return fail(dir, ErrorCode::FileUnreadable, "cannot read folder: " + ec.message());
        if (!m_dirs.insert(canon.string()).second)
            return;
        std::vector<fs::path> entries;
        fs::directory_iterator it(dir, ec), end;
        if (ec)
            return fail(dir, ErrorCode::FileUnreadable, "cannot read folder: " + ec.message());
        for (; it != end; it.increment(ec)) {
            entries.push_back(it->path());
        }
        if (ec) // listing stopped part way (I/O error): what was listed is still walked
            fail(dir, ErrorCode::FileUnreadable, "cannot read the whole folder: " + ec.message());
        std::sort(entries.begin(), entries.end(), [](const fs::path &a, const fs::path &b) {
            return a.filename().string() < b.filename().string();
        });
        for (const fs::path &e : entries)
            visit(e, /*named=*/false);
    }

    void file(const fs::path &p, bool named)
    {
        std::error_code ec;
        const fs::path canon = fs::canonical(p, ec);
        if (!ec && !m_files.insert(canon.string()).second)
            return;
        std::ifstream in(p, std::ios::binary);
        if (!in) {
            const int err = errno;
            return fail(p, ErrorCode::FileUnreadable,
                        std::string("cannot open: ") + (err ? std::strerror(err) : "unknown reason"));
        }
        char head[16] = {};
        in.read(head, sizeof head);
        if (in.bad())
            return fail(p, ErrorCode::FileUnreadable, "cannot read: I/O error");
        const auto got = static_cast<std::size_t>(in.gcount());
        if (!sniffImageFormat(std::string_view(head, got)).empty()) {
            scan.inputs.push_back({absoluteNormal(p), {}, ErrorCode::Internal});
        } else if (named) {
            fail(p, ErrorCode::NotAnImage,
                 got == 0 ? "empty file"
                          : "not an image (its content is no PNG, JPEG, GIF, BMP, WebP, TIFF or PNM)");
        } else {
            ++scan.skippedNonImages;
        }
    }
};

} // namespace

InputScan collectInputs(const std::vector<std::string> &paths)
{
    Walker w;
    for (const std::string &p : paths)
        w.visit(fs::path(p), /*named=*/true);
    return std::move(w.scan);
}

// --- settings -------------------------------------------------------------------------------------------

namespace {

json settingsToJson(const RunSettings &s)
{
    return {{"model", s.model},   {"question", s.question},    {"transcribe", s.transcribe},
            {"policy", s.policy}, {"max_slices", s.maxSlices}, {"max_new_tokens", s.maxNewTokens}};
}

// An int member, checked: nlohmann's get<int>() of a number out of int's range (2e87) is undefined behaviour
// (found by the batch_resume fuzz target).
int intField(const json &j, const char *key)
{
    const json &v = j.at(key);
    if (v.is_number_unsigned()) {
        if (v.get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<int>::max()))
            return int(v.get<std::uint64_t>());
    } else if (v.is_number_integer()) {
        const std::int64_t x = v.get<std::int64_t>();
        if (x >= std::numeric_limits<int>::min() && x <= std::numeric_limits<int>::max())
            return int(x);
    }
    throw std::invalid_argument(std::string(key) + " is not an integer in range");
}

RunSettings settingsFromJson(const json &j)
{
    if (!j.is_object())
        throw std::invalid_argument("the settings are not an object");
    RunSettings s;
    s.model = j.at("model").get<std::string>();
    s.question = j.at("question").get<std::string>();
    s.transcribe = j.at("transcribe").get<bool>();
    s.policy = j.at("policy").get<std::string>();
    s.maxSlices = intField(j, "max_slices");
    s.maxNewTokens = intField(j, "max_new_tokens");
    return s;
}

std::string dumpJson(const json &j)
{
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string quoted(const std::string &s)
{
    return "'" + s + "'";
}

} // namespace

std::string describeDifference(const RunSettings &now, const RunSettings &inFile)
{
    auto diff = [](const char *what, const std::string &a, const std::string &b) {
        return std::string(what) + ": " + a + " now, " + b + " in the file";
    };
    if (now.model != inFile.model)
        return diff("model", quoted(now.model), quoted(inFile.model));
    if (now.transcribe != inFile.transcribe)
        return diff("mode", now.transcribe ? "--transcribe" : "--question",
                    inFile.transcribe ? "--transcribe" : "--question");
    if (now.question != inFile.question)
        return diff("question", quoted(now.question), quoted(inFile.question));
    if (now.policy != inFile.policy)
        return diff("policy", quoted(now.policy.empty() ? "the model's" : now.policy),
                    quoted(inFile.policy.empty() ? "the model's" : inFile.policy));
    if (now.maxSlices != inFile.maxSlices)
        return diff("max-slices", std::to_string(now.maxSlices), std::to_string(inFile.maxSlices));
    if (now.maxNewTokens != inFile.maxNewTokens)
        return diff("max-new-tokens", std::to_string(now.maxNewTokens), std::to_string(inFile.maxNewTokens));
    return {};
}

// --- formats --------------------------------------------------------------------------------------------

namespace {

// One row per output format (as the family table): name and file extensions, the first the usual one.
struct FormatRow
{
    Format format;
    const char *name;
    std::vector<std::string> extensions;
};

const std::vector<FormatRow> &formatTable()
{
    static const std::vector<FormatRow> rows = {{Format::JsonLines, "JSON lines", {".jsonl", ".ndjson"}},
                                                {Format::Csv, "CSV", {".csv"}},
                                                {Format::Markdown, "Markdown", {".md", ".markdown"}}};
    return rows;
}

const FormatRow &formatRow(Format format)
{
    for (const auto &r : formatTable())
        if (r.format == format)
            return r;
    return formatTable().front(); // unreachable for a valid enum
}

} // namespace

std::optional<Format> formatForPath(std::string_view path)
{
    std::string ext = fs::path(std::string(path)).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    for (const auto &r : formatTable())
        if (std::find(r.extensions.begin(), r.extensions.end(), ext) != r.extensions.end())
            return r.format;
    return std::nullopt;
}

std::string formatName(Format format)
{
    return formatRow(format).name;
}

std::string formatExtension(Format format)
{
    return formatRow(format).extensions.front();
}

std::string csvField(std::string_view text)
{
    if (text.find_first_of(",\"\r\n") == std::string_view::npos)
        return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string csvRow(const std::vector<std::string> &fields)
{
    std::string out;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i)
            out += ',';
        out += csvField(fields[i]);
    }
    out += "\r\n";
    return out;
}

std::vector<std::vector<std::string>> parseCsv(std::string_view text, std::size_t &consumed)
{
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    bool inQuotes = false, wasQuoted = false, fieldStarted = false;
    consumed = 0;
    auto bad = [&](const char *why) {
        throw Error(ErrorCode::InvalidArgument,
                    "CSV record " + std::to_string(records.size() + 1) + ": " + why);
    };
    auto endField = [&] {
        record.push_back(std::move(field));
        field.clear();
        wasQuoted = fieldStarted = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inQuotes) {
            if (c != '"') {
                field += c;
            } else if (i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (i + 1 == text.size()) {
                break; // the closing quote may be followed by a doubled one: undecided, so incomplete
            } else {
                inQuotes = false;
            }
            continue;
        }
        if (c == ',') {
            endField();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r') {
                if (i + 1 == text.size())
                    break; // CR of a cut-off CRLF
                if (text[i + 1] != '\n')
                    bad("carriage return outside quotes without a line feed");
                ++i;
            }
            endField();
            records.push_back(std::move(record));
            record.clear();
            consumed = i + 1;
        } else if (c == '"') {
            if (fieldStarted)
                bad(wasQuoted ? "a quote after a closing quote" : "a quote inside an unquoted field");
            inQuotes = wasQuoted = fieldStarted = true;
        } else {
            if (wasQuoted)
                bad("text after a closing quote");
            field += c;
            fieldStarted = true;
        }
    }
    return records;
}

std::string markdownCell(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + 8);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
                ++i;
            out += "<br>";
        } else if (std::strchr("\\|`*_[]<>&~", c) && c != '\0') {
            out += '\\';
            out += c;
        } else {
            out += c;
        }
    }
    return out;
}

std::string unescapeMarkdownCell(std::string_view cell)
{
    std::string out;
    for (std::size_t i = 0; i < cell.size(); ++i) {
        if (cell[i] == '\\' && i + 1 < cell.size()) {
            out += cell[++i];
        } else if (cell.substr(i, 4) == "<br>") {
            out += '\n';
            i += 3;
        } else {
            out += cell[i];
        }
    }
    return out;
}

std::optional<std::vector<std::string>> splitMarkdownRow(std::string_view line)
{
    if (line.size() < 2 || line.front() != '|')
        return std::nullopt;
    auto trim = [](std::string s) {
        const auto b = s.find_first_not_of(' ');
        if (b == std::string::npos)
            return std::string();
        return s.substr(b, s.find_last_not_of(' ') - b + 1);
    };
    std::vector<std::string> cells;
    std::string cell;
    bool closed = false;
    for (std::size_t i = 1; i < line.size(); ++i) {
        closed = false;
        if (line[i] == '\\' && i + 1 < line.size()) {
            cell += line[i];
            cell += line[++i];
        } else if (line[i] == '|') {
            cells.push_back(trim(std::move(cell)));
            cell.clear();
            closed = true;
        } else {
            cell += line[i];
        }
    }
    if (!closed)
        return std::nullopt;
    return cells;
}

const std::vector<std::string> &csvColumns()
{
    static const std::vector<std::string> columns = {
        "file", "status", "width", "height", "format", "grid", "slices", "visual_tokens", "policy", "answer",
        "stop_reason", "prompt_tokens", "generated_tokens", "read_ms", "plan_ms", "encode_ms", "prefill_ms",
        "decode_ms", "total_ms", "error_code", "error",
        // the run's settings on every row, so each row says what produced it and --resume can check them
        "run_model", "run_question", "run_transcribe", "run_policy", "run_max_slices", "run_max_new_tokens"};
    return columns;
}

const std::vector<std::string> &markdownColumns()
{
    static const std::vector<std::string> columns = {"file",          "status", "size",    "grid", "slices",
                                                     "visual tokens", "answer", "seconds", "error"};
    return columns;
}

namespace {

const char *statusName(Status s)
{
    return s == Status::Ok ? "ok" : "error";
}

double roundMs(double ms)
{
    return std::round(ms * 10.0) / 10.0; // 0.1 ms is finer than any stage's run-to-run spread
}

std::string msText(double ms)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", ms);
    return buf;
}

std::string gridText(const Record &r)
{
    if (r.gridCols <= 0 || r.gridRows <= 0)
        return r.visualTokens > 0 ? "none" : "";
    return std::to_string(r.gridCols) + "x" + std::to_string(r.gridRows);
}

bool hasImage(const Record &r)
{
    return r.width > 0 && r.height > 0;
}

bool hasPlan(const Record &r)
{
    return r.visualTokens > 0;
}

// The header comment of a Markdown file: the settings as JSON. '<' and '>' are written as JSON's \u escapes
// (valid anywhere in JSON text, where they can only stand inside strings) so no question can close the
// comment early.
const std::string kMarkdownMarker = "<!-- uhdlens-batch 1 ";

std::string markdownComment(const RunSettings &s)
{
    std::string j = dumpJson(settingsToJson(s));
    std::string out;
    for (char c : j)
        out += c == '<' ? std::string("\\u003c") : c == '>' ? std::string("\\u003e") : std::string(1, c);
    return kMarkdownMarker + out + " -->\n";
}

std::string markdownRow(const std::vector<std::string> &cells)
{
    std::string out = "|";
    for (const auto &c : cells)
        out += " " + c + " |";
    return out + "\n";
}

} // namespace

std::string jsonLine(const Record &r, const RunSettings &settings)
{
    const bool ok = r.status == Status::Ok;
    json j;
    j["file"] = r.file;
    j["status"] = statusName(r.status);
    j["width"] = hasImage(r) ? json(r.width) : json(nullptr);
    j["height"] = hasImage(r) ? json(r.height) : json(nullptr);
    j["format"] = r.format.empty() ? json(nullptr) : json(r.format);
    j["plan"] = hasPlan(r)
                    ? json{{"grid", r.gridCols > 0 ? json::array({r.gridCols, r.gridRows}) : json(nullptr)},
                           {"slices", r.slices},
                           {"visual_tokens", r.visualTokens},
                           {"policy", r.policy}}
                    : json(nullptr);
    j["answer"] = ok ? json(r.answer) : json(nullptr);
    j["stop_reason"] = ok ? json(r.stopReason) : json(nullptr);
    j["tokens"] = ok ? json{{"prompt", r.promptTokens}, {"generated", r.generatedTokens}} : json(nullptr);
    j["timings_ms"] = {{"read", roundMs(r.readMs)},     {"plan", roundMs(r.planMs)},
                       {"encode", roundMs(r.encodeMs)}, {"prefill", roundMs(r.prefillMs)},
                       {"decode", roundMs(r.decodeMs)}, {"total", roundMs(r.totalMs)}};
    j["error"] = ok ? json(nullptr) : json{{"code", r.errorCode}, {"message", r.error}};
    j["run"] = settingsToJson(settings);
    return dumpJson(j) + "\n";
}

std::string csvLine(const Record &r, const RunSettings &s)
{
    const bool ok = r.status == Status::Ok;
    auto num = [](int v, bool known) { return known ? std::to_string(v) : std::string(); };
    return csvRow({r.file,
                   statusName(r.status),
                   num(r.width, hasImage(r)),
                   num(r.height, hasImage(r)),
                   r.format,
                   gridText(r),
                   num(r.slices, hasPlan(r)),
                   num(r.visualTokens, hasPlan(r)),
                   r.policy,
                   ok ? r.answer : "",
                   ok ? r.stopReason : "",
                   num(r.promptTokens, ok),
                   num(r.generatedTokens, ok),
                   msText(r.readMs),
                   msText(r.planMs),
                   msText(r.encodeMs),
                   msText(r.prefillMs),
                   msText(r.decodeMs),
                   msText(r.totalMs),
                   ok ? "" : r.errorCode,
                   ok ? "" : r.error,
                   s.model,
                   s.question,
                   s.transcribe ? "true" : "false",
                   s.policy,
                   std::to_string(s.maxSlices),
                   std::to_string(s.maxNewTokens)});
}

std::string markdownLine(const Record &r)
{
    const bool ok = r.status == Status::Ok;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f", r.totalMs / 1000.0);
    return markdownRow({markdownCell(r.file), statusName(r.status),
                        hasImage(r) ? std::to_string(r.width) + "x" + std::to_string(r.height) : "",
                        gridText(r), hasPlan(r) ? std::to_string(r.slices) : "",
                        hasPlan(r) ? std::to_string(r.visualTokens) : "", ok ? markdownCell(r.answer) : "",
                        seconds, ok ? "" : markdownCell(r.errorCode + ": " + r.error)});
}

std::string fileHeader(Format format, const RunSettings &settings)
{
    switch (format) {
    case Format::JsonLines:
        return {};
    case Format::Csv:
        return csvRow(csvColumns());
    case Format::Markdown: {
        std::vector<std::string> dashes(markdownColumns().size(), "---");
        return markdownComment(settings) + "\n" + markdownRow(markdownColumns()) + markdownRow(dashes);
    }
    }
    return {};
}

// --- resuming -------------------------------------------------------------------------------------------

namespace {

std::string readWhole(const std::string &path)
{
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found)
        throw Error(ErrorCode::FileNotFound, path + ": no such file", path);
    if (ec || !fs::is_regular_file(st))
        throw Error(ErrorCode::FileUnreadable, path + ": not a readable file", path);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(ErrorCode::FileUnreadable, path + ": cannot open: " + std::strerror(errno), path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw Error(ErrorCode::FileUnreadable, path + ": read error", path);
    return text;
}

[[noreturn]] void foreign(const std::string &path, Format format, const std::string &why)
{
    throw Error(ErrorCode::InvalidArgument,
                path + " is not a UHD Lens batch " + formatName(format) + " file (" + why + ")", path);
}

void keepSettings(Existing &out, const RunSettings &s, const std::string &path, Format format,
                  const std::string &where)
{
    if (!out.settings) {
        out.settings = s;
    } else if (const std::string d = describeDifference(s, *out.settings); !d.empty()) {
        foreign(path, format,
                where + " was written with other settings than the records before it (" + d + ")");
    }
}

int toInt(const std::string &text, const std::string &what)
{
    std::size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used == 0 || used != text.size())
        throw std::invalid_argument(what + " is not an integer");
    return v;
}

void readJsonLines(const std::string &text, const std::string &path, Existing &out)
{
    std::size_t pos = 0;
    int lineNo = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos)
            break; // a cut-off last line
        ++lineNo;
        const std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            out.validBytes = pos;
            continue;
        }
        const std::string where = "line " + std::to_string(lineNo);
        try {
            const json j = json::parse(line);
            if (!j.is_object() || !j.contains("file") || !j.contains("status") || !j.contains("run"))
                foreign(path, Format::JsonLines, where + " is not a batch record");
            const std::string status = j.at("status").get<std::string>();
            if (status != "ok" && status != "error")
                foreign(path, Format::JsonLines, where + " has status '" + status + "'");
            keepSettings(out, settingsFromJson(j.at("run")), path, Format::JsonLines, where);
            out.files.push_back(j.at("file").get<std::string>());
            if (status == "error")
                out.failed.push_back(out.files.back());
        } catch (const Error &) {
            throw;
        } catch (const std::exception &e) {
            foreign(path, Format::JsonLines, where + ": " + e.what());
        }
        out.validBytes = pos;
    }
}

void readCsv(const std::string &text, const std::string &path, Existing &out)
{
    std::size_t consumed = 0;
    std::vector<std::vector<std::string>> records;
    try {
        records = parseCsv(text, consumed);
    } catch (const Error &e) {
        foreign(path, Format::Csv, e.what());
    }
    if (records.empty() || records.front() != csvColumns())
        foreign(path, Format::Csv, "its first line is not the batch header row");
    const std::vector<std::string> &cols = csvColumns();
    auto col = [&](const std::string &name) {
        return std::size_t(std::find(cols.begin(), cols.end(), name) - cols.begin());
    };
    for (std::size_t i = 1; i < records.size(); ++i) {
        const auto &r = records[i];
        const std::string where = "record " + std::to_string(i + 1);
        if (r.size() != cols.size())
            foreign(path, Format::Csv,
                    where + " has " + std::to_string(r.size()) + " fields, not " +
                        std::to_string(cols.size()));
        if (r[col("status")] != "ok" && r[col("status")] != "error")
            foreign(path, Format::Csv, where + " has status '" + r[col("status")] + "'");
        RunSettings s;
        try {
            s.model = r[col("run_model")];
            s.question = r[col("run_question")];
            const std::string t = r[col("run_transcribe")];
            if (t != "true" && t != "false")
                throw std::invalid_argument("run_transcribe is not true or false");
            s.transcribe = t == "true";
            s.policy = r[col("run_policy")];
            s.maxSlices = toInt(r[col("run_max_slices")], "run_max_slices");
            s.maxNewTokens = toInt(r[col("run_max_new_tokens")], "run_max_new_tokens");
        } catch (const std::invalid_argument &e) {
            foreign(path, Format::Csv, where + ": " + e.what());
        }
        keepSettings(out, s, path, Format::Csv, where);
        out.files.push_back(r[col("file")]);
        if (r[col("status")] == "error")
            out.failed.push_back(out.files.back());
    }
    out.validBytes = consumed;
}

void readMarkdown(const std::string &text, const std::string &path, Existing &out)
{
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    std::vector<std::size_t> ends; // offset after each complete line
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos)
            break;
        lines.emplace_back(text.data() + pos, nl - pos);
        pos = nl + 1;
        ends.push_back(pos);
    }
    if (lines.size() < 4)
        foreign(path, Format::Markdown, "it lacks the settings comment and the table header");
    const std::string_view first = lines[0];
    const std::string_view tail = " -->";
    if (first.substr(0, kMarkdownMarker.size()) != kMarkdownMarker ||
        first.size() < kMarkdownMarker.size() + tail.size() ||
        first.substr(first.size() - tail.size()) != tail)
        foreign(path, Format::Markdown, "its first line is not the uhdlens-batch settings comment");
    try {
        const std::string_view body =
            first.substr(kMarkdownMarker.size(), first.size() - kMarkdownMarker.size() - tail.size());
        out.settings = settingsFromJson(json::parse(body));
    } catch (const std::exception &e) {
        foreign(path, Format::Markdown, std::string("the settings comment is unreadable: ") + e.what());
    }
    const auto header = splitMarkdownRow(lines[2]);
    const auto dashes = splitMarkdownRow(lines[3]);
    if (!lines[1].empty() || !header || *header != markdownColumns() || !dashes ||
        dashes->size() != markdownColumns().size())
        foreign(path, Format::Markdown, "the table header is not the batch table's");
    out.validBytes = ends[3];
    for (std::size_t i = 4; i < lines.size(); ++i) {
        const auto cells = splitMarkdownRow(lines[i]);
        const std::string where = "line " + std::to_string(i + 1);
        if (!cells || cells->size() != markdownColumns().size())
            foreign(path, Format::Markdown, where + " is not a row of the batch table");
        if ((*cells)[1] != "ok" && (*cells)[1] != "error")
            foreign(path, Format::Markdown, where + " has status '" + (*cells)[1] + "'");
        out.files.push_back(unescapeMarkdownCell((*cells)[0]));
        if ((*cells)[1] == "error")
            out.failed.push_back(out.files.back());
        out.validBytes = ends[i];
    }
}

} // namespace

Existing readExisting(const std::string &path, Format format)
{
    const std::string text = readWhole(path);
    Existing out;
    out.totalBytes = text.size();
    if (text.empty()) {
        out.empty = true;
        return out;
    }
    switch (format) {
    case Format::JsonLines:
        readJsonLines(text, path, out);
        break;
    case Format::Csv:
        readCsv(text, path, out);
        break;
    case Format::Markdown:
        readMarkdown(text, path, out);
        break;
    }
    return out;
}

// --- writing --------------------------------------------------------------------------------------------

Writer::Writer(std::string path, Format format, RunSettings settings, std::FILE *file)
    : m_path(std::move(path)), m_format(format), m_settings(std::move(settings)), m_file(file)
{
}

Writer::~Writer()
{
    if (m_file)
        std::fclose(m_file);
}

std::unique_ptr<Writer> Writer::create(const std::string &path, Format format, const RunSettings &settings)
{
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f)
        throw Error(ErrorCode::FileUnreadable, path + ": cannot create: " + std::strerror(errno), path);
    std::unique_ptr<Writer> w(new Writer(path, format, settings, f));
    w->writeAll(fileHeader(format, settings));
    return w;
}

std::unique_ptr<Writer> Writer::resume(const std::string &path, Format format, const RunSettings &settings,
                                       const Existing &existing)
{
    if (existing.empty)
        return create(path, format, settings);
    std::error_code ec;
    if (existing.totalBytes != existing.validBytes) {
        fs::resize_file(path, existing.validBytes, ec); // drop the cut-off last record
        if (ec)
            throw Error(ErrorCode::FileUnreadable,
                        path + ": cannot cut off the incomplete last record: " + ec.message(), path);
    }
    std::FILE *f = std::fopen(path.c_str(), "ab");
    if (!f)
        throw Error(ErrorCode::FileUnreadable, path + ": cannot open for appending: " + std::strerror(errno),
                    path);
    return std::unique_ptr<Writer>(new Writer(path, format, settings, f));
}

void Writer::append(const Record &record)
{
    switch (m_format) {
    case Format::JsonLines:
        writeAll(jsonLine(record, m_settings));
        break;
    case Format::Csv:
        writeAll(csvLine(record, m_settings));
        break;
    case Format::Markdown:
        writeAll(markdownLine(record));
        break;
    }
}

void Writer::writeAll(const std::string &text)
{
    if (text.empty())
        return;
    // One fwrite of the whole record, then down to the disk: after a crash the file holds whole records, at
    // worst plus one cut-off last record that readExisting() ignores.
    if (std::fwrite(text.data(), 1, text.size(), m_file) != text.size() || std::fflush(m_file) != 0 ||
        ::fsync(fileno(m_file)) != 0)
        throw Error(ErrorCode::FileUnreadable, m_path + ": write failed: " + std::strerror(errno), m_path);
}

} // namespace uhdlens::batch
