// UHD Lens — batch runs over many images: finding the images, the record of each, and the three output files
// (JSON lines, CSV, Markdown) with the reader that lets a run resume, and the loop that asks a loaded model
// about each image (run()). No torch, no Qt Widgets: `uhdlens-cli batch` (app/cli/cmd_batch.cpp) calls run()
// on its main thread, the app's Batch dialog on its engine thread (ui/engineworker.cpp).
//
//     using namespace uhdlens::batch;
//     InputScan scan = collectInputs({"scans/", "extra.png"});        // recursive, images by content, sorted
//     auto format = formatForPath("out.csv");                         // .jsonl | .csv | .md
//     auto writer = Writer::create("out.csv", *format, settings);      // header written and flushed
//     for (const Input &in : scan.inputs) writer->append(recordFor(in)); // one record, flushed and fsync'ed
//     // after a crash or Ctrl+C:
//     Existing old = readExisting("out.csv", *format);                 // throws if it is not our file
//     auto again = Writer::resume("out.csv", *format, settings, old);  // drops a cut-off last record,
//     appends
//     // or the whole loop: read, plan, ask in a fresh conversation, append, for every input
//     RunSummary s = run(model, scan.inputs, {question, policy, generation}, *writer, {.cancel = &stop});
//
// Crash safety: every write is one complete record (line) followed by fflush + fsync, and a new file starts
// with its header, so the file is valid CSV / a complete Markdown table / JSON lines at every moment, except
// that a crash inside a write can leave a cut-off last record: readExisting() ignores a final record that
// lacks its line end (validBytes stops before it) and Writer::resume() truncates it away before appending.
// Thread-safety: the functions are pure or touch only the files named; a Writer is used from one thread;
// run() uses the shared, immutable Model from the calling thread only (callbacks are called on it).
// Errors: uhdlens::Error (errors.h) — FileUnreadable for I/O failures, InvalidArgument for a file that is
// not a batch output of the expected format (what() says what is wrong and where).
#pragma once

#include "uhdlens/engine.h"
#include "uhdlens/errors.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhdlens::batch {

// --- inputs ---------------------------------------------------------------------------------------------

// The image format the first bytes of a file announce ("png", "jpeg", "gif", "bmp", "webp", "tiff", "pnm";
// the formats image_io.h decodes that have a signature), or empty. 16 bytes are enough; fewer give empty.
std::string sniffImageFormat(std::string_view head);

// One image to process, or a path that is already known to fail (error non-empty: the run records it).
struct Input
{
    std::string path;  // absolute, lexically normal, as named or walked (symbolic links not resolved)
    std::string error; // empty: an image candidate
    ErrorCode code = ErrorCode::Internal;
};

struct InputScan
{
    std::vector<Input> inputs; // in argument order; inside a folder sorted by name (bytes), depth first
    int skippedNonImages =
        0; // files inside folders whose content is no image (also special files, dangling links)
};

// Expands files and folders. A named file is an input whatever its content (a non-image becomes an error
// input, NotAnImage: the user asked for it); a missing path is an error input (FileNotFound). Folders are
// walked recursively: regular files whose content is an image are inputs, other files are counted in
// skippedNonImages, a file or folder that cannot be read is an error input (FileUnreadable). Symbolic links
// are followed; a folder reached twice (a loop, or two links to it) and a file reached twice are taken once,
// the first time. Never throws for a bad path.
InputScan collectInputs(const std::vector<std::string> &paths);

// --- records --------------------------------------------------------------------------------------------

// What the run asked; stored with the records so --resume can refuse a run with different settings.
// The answer length the transcription prompt gets by default (CLI `--transcribe`, the app's Transcribe): a
// page is long. The engine stops at the context's end either way.
inline constexpr int kTranscribeMaxNewTokens = 1024;

struct RunSettings
{
    std::string model;    // absolute model folder
    std::string question; // the text asked (for --transcribe: the family's transcription prompt)
    bool transcribe = false;
    std::string policy; // slicing policy name, empty: the model's own
    int maxSlices = -1; // -1: the policy's own
    int maxNewTokens = 256;
    friend bool operator==(const RunSettings &, const RunSettings &) = default;
};
// Empty when equal, else the first difference in words ("question: 'a' here, 'b' in the file").
std::string describeDifference(const RunSettings &now, const RunSettings &inFile);

enum class Status
{
    Ok,
    Error
};

struct Record
{
    std::string file;
    Status status = Status::Ok;
    int width = 0; // pixels after EXIF orientation; 0: unknown (the image could not be read)
    int height = 0;
    std::string format; // "png", ...; empty: unknown
    // The slicing plan: grid cols x rows (0 x 0: not sliced, overview only), slices and visual-token
    // positions.
    int gridCols = 0;
    int gridRows = 0;
    int slices = 0;
    int visualTokens = 0;
    std::string policy;
    std::string answer;
    std::string stopReason; // eos | stop-string | max-tokens
    int promptTokens = 0;
    int generatedTokens = 0;
    // Milliseconds: reading+decoding the file, planning, vision encoding, prefill, answer decoding, all.
    double readMs = 0, planMs = 0, encodeMs = 0, prefillMs = 0, decodeMs = 0, totalMs = 0;
    std::string errorCode; // errorCodeName(), for Status::Error
    std::string error;     // the message
};

// --- output formats -------------------------------------------------------------------------------------

enum class Format
{
    JsonLines,
    Csv,
    Markdown
};
// By extension, case-insensitive: .jsonl (also .ndjson), .csv, .md (also .markdown); nullopt otherwise.
std::optional<Format> formatForPath(std::string_view path);
std::string formatName(Format format);      // "JSON lines", "CSV", "Markdown"
std::string formatExtension(Format format); // the usual one: ".jsonl", ".csv", ".md"

// RFC 4180: a field with a comma, double quote, CR or LF is quoted, quotes doubled; others as they are.
std::string csvField(std::string_view text);
// Fields joined by commas, ended by CRLF (RFC 4180's line end).
std::string csvRow(const std::vector<std::string> &fields);
// Parses complete CSV records of `text` (CRLF or LF line ends, quoted fields with "" and line breaks). A
// final record without its line end, or inside an open quote, is not returned and not counted in `consumed`
// (bytes of the complete records). Throws Error(InvalidArgument) for a quote inside an unquoted field or text
// after a closing quote, naming the record number.
std::vector<std::vector<std::string>> parseCsv(std::string_view text, std::size_t &consumed);

// Text for one GitHub-flavoured Markdown table cell that renders as the text itself: backslash-escapes
// \ | ` * _ [ ] < > & ~ (so no pipe splits the cell and no code span, emphasis, link, HTML or entity starts),
// line breaks (CRLF, CR, LF) become <br>.
std::string markdownCell(std::string_view text);
// The inverse of markdownCell.
std::string unescapeMarkdownCell(std::string_view cell);
// The cells of one table row "| a | b |" (unescaped pipes split; cells trimmed, still escaped); nullopt if
// the line is not a table row.
std::optional<std::vector<std::string>> splitMarkdownRow(std::string_view line);

// The header row's column names, the same for CSV and Markdown headers' first columns ("file", "status",
// ...).
const std::vector<std::string> &csvColumns();
const std::vector<std::string> &markdownColumns();

// One record as text in each format, with its line end.
std::string jsonLine(const Record &record, const RunSettings &settings);
std::string csvLine(const Record &record, const RunSettings &settings);
std::string markdownLine(const Record &record);
// What a new file starts with (JSON lines: nothing; CSV: the header row; Markdown: a comment with the
// settings, a blank line, the header and delimiter rows).
std::string fileHeader(Format format, const RunSettings &settings);

// --- resuming -------------------------------------------------------------------------------------------

struct Existing
{
    std::vector<std::string> files;  // the "file" of every complete record, in file order
    std::vector<std::string> failed; // the files of those with status "error"
    std::optional<RunSettings>
        settings;                 // as stored (nullopt: a file with a header but no record, JSON lines)
    std::uint64_t validBytes = 0; // length up to the end of the last complete record
    std::uint64_t totalBytes = 0; // > validBytes when a cut-off last record was found
    bool empty = false;           // 0 bytes: a new file may be started in it
};
// Reads an output file for --resume. Throws Error(FileNotFound / FileUnreadable) when it cannot be read and
// Error(InvalidArgument) when it is not a batch output of `format` (foreign header, a line that is not one of
// our records, records with differing settings), the message naming the line.
Existing readExisting(const std::string &path, Format format);

class Writer
{
public:
    // Creates (or replaces) `path` and writes the header. Throws Error(FileUnreadable) naming the file.
    static std::unique_ptr<Writer> create(const std::string &path, Format format,
                                          const RunSettings &settings);
    // Appends to a file readExisting() accepted, first cutting it to `existing.validBytes` (an empty file
    // gets its header). The caller checks the settings match.
    static std::unique_ptr<Writer> resume(const std::string &path, Format format, const RunSettings &settings,
                                          const Existing &existing);
    ~Writer();
    Writer(const Writer &) = delete;
    Writer &operator=(const Writer &) = delete;
    // Writes one record, flushes and fsyncs. Throws Error(FileUnreadable) on a write error (disk full).
    void append(const Record &record);
    const std::string &path() const { return m_path; }

private:
    Writer(std::string path, Format format, RunSettings settings, std::FILE *file);
    void writeAll(const std::string &text);
    std::string m_path;
    Format m_format;
    RunSettings m_settings;
    std::FILE *m_file = nullptr;
};

// --- running --------------------------------------------------------------------------------------------

// What every image of a run is asked, and how.
struct Job
{
    std::string question;              // the text asked (RunSettings::question)
    std::optional<SlicePolicy> policy; // nullopt: the model's own slicing
    GenerationSettings generation;
};

// The record of an input collectInputs() already found failing (missing, unreadable, not an image).
Record errorRecord(const Input &input);

// One image: reads it (EXIF-oriented), plans it and asks `job.question` in a fresh conversation (no image or
// history carries over from another image). Whatever fails for this image (unreadable, too large, an engine
// error, out of memory) becomes an error record, so a run goes on; never throws. nullopt when `cancel`
// stopped the answer: no record, so a resumed run does the image again.
std::optional<Record> processImage(const std::shared_ptr<const Model> &model, const std::string &path,
                                   const Job &job, const std::atomic<bool> *cancel = nullptr);

struct RunCallbacks
{
    std::function<void(std::size_t index, const Input &input)> started;   // before input `index` is processed
    std::function<void(std::size_t index, const Record &record)> written; // after its record is in the file
    const std::atomic<bool> *cancel = nullptr; // checked between images, slices and tokens
};

struct RunSummary
{
    int written = 0;          // records appended
    int failed = 0;           // of them with Status::Error
    bool interrupted = false; // `cancel` stopped the run before every input had its record
};

// Processes `inputs` in order, appending one record per input to `writer` (error inputs become error records
// without touching the model). When *cancel becomes true the run stops: between images, or inside the current
// answer, which then gets no record; the file is valid either way. Throws what Writer::append throws (a write
// error ends the run; the records before it stay in the file).
RunSummary run(const std::shared_ptr<const Model> &model, const std::vector<Input> &inputs, const Job &job,
               Writer &writer, const RunCallbacks &callbacks = {});

} // namespace uhdlens::batch
