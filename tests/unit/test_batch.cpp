// uhdlens/batch.h: image sniffing and the folder walker, the three record writers (RFC 4180 CSV, escaped
// Markdown table, JSON lines) and the resume reader on valid, cut-off and foreign files.
#include "uhdlens/batch.h"
#include "uhdlens/model_facts.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h> // mkfifo, chmod
#include <unistd.h>   // geteuid

namespace fs = std::filesystem;
using namespace uhdlens::batch;

namespace {

const std::string kPngHead = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\0\0\0\rIHDR", 8);

// Text no writer may mangle: every character each format treats specially, plus non-ASCII.
const std::string kNasty =
    "a,b \"quoted\" | pipe `code` *em* _u_ [l](x) <br> &amp; ~s~ \\ back\r\nline2\nline3\r"
    "end — ü 日本語 🙂";

struct TempDir
{
    fs::path path;
    TempDir()
    {
        path = fs::temp_directory_path() / ("uhdlens_batch_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::permissions(path, fs::perms::all, ec);
        for (auto it =
                 fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec))
            fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
};

void writeFile(const fs::path &p, const std::string &bytes)
{
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

std::string readFile(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

RunSettings settings()
{
    RunSettings s;
    s.model = "/models/tiny";
    s.question = "What is \"this\", | really?\nSay <it>.";
    s.policy = "llava-uhd";
    s.maxSlices = 4;
    s.maxNewTokens = 64;
    return s;
}

Record okRecord(const std::string &file, const std::string &answer = kNasty)
{
    Record r;
    r.file = file;
    r.width = 800;
    r.height = 600;
    r.format = "png";
    r.gridCols = 3;
    r.gridRows = 2;
    r.slices = 6;
    r.visualTokens = 455;
    r.policy = "llava-uhd";
    r.answer = answer;
    r.stopReason = "eos";
    r.promptTokens = 470;
    r.generatedTokens = 12;
    r.readMs = 1.25;
    r.encodeMs = 100;
    r.prefillMs = 20;
    r.decodeMs = 30;
    r.totalMs = 151.3;
    return r;
}

Record errRecord(const std::string &file)
{
    Record r;
    r.file = file;
    r.status = Status::Error;
    r.errorCode = "image-truncated";
    r.error = "x.png: truncated, | cut \"short\"\nat byte 10";
    return r;
}

std::vector<std::string> inputPaths(const InputScan &scan, bool errors)
{
    std::vector<std::string> out;
    for (const auto &in : scan.inputs)
        if (in.error.empty() != errors)
            out.push_back(in.path);
    return out;
}

} // namespace

// --- sniffing and walking ---------------------------------------------------------------------------------

TEST(BatchSniff, SignaturesOfEveryDecodedFormat)
{
    EXPECT_EQ(sniffImageFormat(kPngHead), "png");
    EXPECT_EQ(sniffImageFormat("\xff\xd8\xff\xe0\0\x10JFIF"), "jpeg");
    EXPECT_EQ(sniffImageFormat("GIF89a\x01\0\x01\0"), "gif");
    EXPECT_EQ(sniffImageFormat(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), "webp");
    EXPECT_EQ(sniffImageFormat(std::string("II*\0\x08\0\0\0", 8)), "tiff");
    EXPECT_EQ(sniffImageFormat(std::string("MM\0*\0\0\0\x08", 8)), "tiff");
    EXPECT_EQ(sniffImageFormat(std::string("BM\x36\0\0\0\0\0\0\0\x36\0\0\0", 14)), "bmp");
    EXPECT_EQ(sniffImageFormat("P6\n3 2\n255\n"), "pnm");
    // Near misses: text that starts like a signature, a cut-off signature, a RIFF that is audio.
    EXPECT_EQ(sniffImageFormat("BMW service notes, 2024"), "");
    EXPECT_EQ(sniffImageFormat(kPngHead.substr(0, 7)), "");
    EXPECT_EQ(sniffImageFormat(std::string("RIFF\x10\0\0\0WAVEfmt ", 16)), "");
    EXPECT_EQ(sniffImageFormat("P7 is not netpbm"), "");
    EXPECT_EQ(sniffImageFormat("Pa"), "");
    EXPECT_EQ(sniffImageFormat(""), "");
    EXPECT_EQ(sniffImageFormat("<html>"), "");
}

TEST(BatchWalk, RecursesByContentSortedAndSkipsNonImages)
{
    TempDir t;
    const fs::path d = t.path / "in";
    writeFile(d / "b.png", kPngHead);
    writeFile(d / "a" / "z.jpg", "\xff\xd8\xff\xe0 jpeg body");
    writeFile(d / "a" / "deep" / "scan.dat", kPngHead); // no image extension: content decides
    writeFile(d / "fake.png", "just text, named like an image");
    writeFile(d / "notes.txt", "hello");
    writeFile(d / "empty.png", "");
    fs::create_directories(d / "empty-folder");
    const InputScan scan = collectInputs({d.string()});
    const std::vector<std::string> want = {(d / "a" / "deep" / "scan.dat").string(),
                                           (d / "a" / "z.jpg").string(), (d / "b.png").string()};
    EXPECT_EQ(inputPaths(scan, false), want);
    EXPECT_TRUE(inputPaths(scan, true).empty());
    EXPECT_EQ(scan.skippedNonImages, 3); // fake.png, notes.txt, empty.png
}

TEST(BatchWalk, NamedFilesAreInputsAndBadNamesAreErrorRecords)
{
    TempDir t;
    writeFile(t.path / "x.png", kPngHead);
    writeFile(t.path / "doc.txt", "text");
    writeFile(t.path / "empty.bin", "");
    const InputScan scan =
        collectInputs({(t.path / "x.png").string(), (t.path / "doc.txt").string(),
                       (t.path / "missing.png").string(), (t.path / "empty.bin").string()});
    ASSERT_EQ(scan.inputs.size(), 4u);
    EXPECT_TRUE(scan.inputs[0].error.empty());
    EXPECT_EQ(scan.inputs[1].code, uhdlens::ErrorCode::NotAnImage);
    EXPECT_EQ(scan.inputs[2].code, uhdlens::ErrorCode::FileNotFound);
    EXPECT_EQ(scan.inputs[3].code, uhdlens::ErrorCode::NotAnImage);
    EXPECT_NE(scan.inputs[3].error.find("empty"), std::string::npos) << scan.inputs[3].error;
    // Argument order is kept; paths are absolute and normal.
    EXPECT_EQ(scan.inputs[0].path, (t.path / "x.png").string());
    const auto cwd = fs::current_path();
    fs::current_path(t.path);
    const InputScan rel = collectInputs({"./sub/../x.png"});
    fs::current_path(cwd);
    ASSERT_EQ(rel.inputs.size(), 1u);
    EXPECT_EQ(rel.inputs[0].path, (t.path / "x.png").string());
}

TEST(BatchWalk, SymlinkLoopsAndDuplicatesAreTakenOnce)
{
    TempDir t;
    const fs::path d = t.path / "in";
    writeFile(d / "sub" / "p.png", kPngHead);
    fs::create_directory_symlink("..", d / "sub" / "loop");           // in/sub/loop -> in
    fs::create_directory_symlink(d / "sub", t.path / "in" / "alias"); // a second way into sub
    fs::create_symlink(d / "sub" / "p.png", d / "link.png");
    fs::create_symlink(d / "nowhere.png", d / "dangling.png");
    ASSERT_EQ(::mkfifo((d / "pipe.png").c_str(), 0600), 0); // must be skipped, never opened (it would block)
    const InputScan scan = collectInputs({d.string(), d.string(), (d / "sub").string()});
    // alias/p.png is first by name ("alias" < "link.png" < "sub"): the one file is taken once, there.
    EXPECT_EQ(inputPaths(scan, false), std::vector<std::string>{(d / "alias" / "p.png").string()});
    EXPECT_TRUE(inputPaths(scan, true).empty());
    EXPECT_EQ(scan.skippedNonImages, 2); // the dangling link and the pipe
}

TEST(BatchWalk, UnreadableFolderAndFileBecomeErrorInputs)
{
    if (::geteuid() == 0)
        GTEST_SKIP() << "running as root: permissions do not stop reading";
    TempDir t;
    const fs::path d = t.path / "in";
    writeFile(d / "locked" / "p.png", kPngHead);
    writeFile(d / "secret.png", kPngHead);
    writeFile(d / "ok.png", kPngHead);
    fs::permissions(d / "locked", fs::perms::none);
    fs::permissions(d / "secret.png", fs::perms::none);
    const InputScan scan = collectInputs({d.string()});
    EXPECT_EQ(inputPaths(scan, false), std::vector<std::string>{(d / "ok.png").string()});
    const std::vector<std::string> errors = {(d / "locked").string(), (d / "secret.png").string()};
    EXPECT_EQ(inputPaths(scan, true), errors);
    for (const auto &in : scan.inputs) {
        if (!in.error.empty()) {
            EXPECT_EQ(in.code, uhdlens::ErrorCode::FileUnreadable) << in.path;
        }
    }
}

// --- CSV --------------------------------------------------------------------------------------------------

TEST(BatchCsv, QuotesOnlyWhatRfc4180Requires)
{
    EXPECT_EQ(csvField("plain text"), "plain text");
    EXPECT_EQ(csvField(" spaces kept "), " spaces kept ");
    EXPECT_EQ(csvField("a,b"), "\"a,b\"");
    EXPECT_EQ(csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csvField("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csvField("cr\rhere"), "\"cr\rhere\"");
    EXPECT_EQ(csvField("日本語 — ü 🙂"), "日本語 — ü 🙂");
    EXPECT_EQ(csvField(""), "");
    EXPECT_EQ(csvRow({"a", "b,c", ""}), "a,\"b,c\",\r\n");
}

TEST(BatchCsv, RoundTripsEveryAwkwardField)
{
    const std::vector<std::string> fields = {kNasty,  "",       "\"",     ",",     "\r\n",
                                             " lead", "trail ", "日本語", "x\"\"y"};
    const std::string text = csvRow(fields) + csvRow({"second", "row"});
    std::size_t consumed = 0;
    const auto records = parseCsv(text, consumed);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0], fields);
    EXPECT_EQ(records[1], (std::vector<std::string>{"second", "row"}));
    EXPECT_EQ(consumed, text.size());
}

TEST(BatchCsv, CutOffLastRecordIsNotReturned)
{
    const std::string whole = csvRow({"a", "b"});
    std::size_t consumed = 0;
    // Cut inside a quoted field, inside CRLF, right after a closing quote, and with no line end at all.
    for (const std::string &tail :
         {std::string("\"open, quote"), std::string("x,y\r"), std::string("\"q\""), std::string("no,end")}) {
        const auto records = parseCsv(whole + tail, consumed);
        EXPECT_EQ(records.size(), 1u) << tail;
        EXPECT_EQ(consumed, whole.size()) << tail;
    }
    // LF-only line ends (a file edited elsewhere) are read too.
    EXPECT_EQ(parseCsv("a,b\nc,d\n", consumed).size(), 2u);
    EXPECT_EQ(consumed, 8u);
}

TEST(BatchCsv, MalformedQuotingThrowsNamingTheRecord)
{
    std::size_t consumed = 0;
    for (const char *bad :
         {"ok\r\nab\"c\r\n", "ok\r\n\"a\"b\r\n", "ok\r\n\"a\"\"\r\n\"x\"\"y\"z\r\n", "a\rb\r\n"}) {
        try {
            parseCsv(bad, consumed);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const uhdlens::Error &e) {
            EXPECT_EQ(e.code(), uhdlens::ErrorCode::InvalidArgument);
            EXPECT_NE(std::string(e.what()).find("CSV record"), std::string::npos) << e.what();
        }
    }
}

// --- Markdown ---------------------------------------------------------------------------------------------

TEST(BatchMarkdown, EscapesPipesNewlinesBackticksAndMarkup)
{
    EXPECT_EQ(markdownCell("a|b"), "a\\|b");
    EXPECT_EQ(markdownCell("`x`"), "\\`x\\`");
    EXPECT_EQ(markdownCell("l1\nl2\r\nl3\rl4"), "l1<br>l2<br>l3<br>l4");
    EXPECT_EQ(markdownCell("<br>"), "\\<br\\>"); // a literal <br> stays text, distinct from a line break
    EXPECT_EQ(markdownCell("*a* _b_ [c] ~d~ &e \\"), "\\*a\\* \\_b\\_ \\[c\\] \\~d\\~ \\&e \\\\");
    EXPECT_EQ(markdownCell("日本語 ü"), "日本語 ü");
    const std::string cell = markdownCell(kNasty);
    EXPECT_EQ(cell.find('\n'), std::string::npos);
    EXPECT_EQ(cell.find('\r'), std::string::npos);
    std::string normalised; // CRLF and lone CR come back as LF
    for (std::size_t i = 0; i < kNasty.size(); ++i) {
        if (kNasty[i] == '\r' && i + 1 < kNasty.size() && kNasty[i + 1] == '\n')
            continue;
        normalised += kNasty[i] == '\r' ? '\n' : kNasty[i];
    }
    EXPECT_EQ(unescapeMarkdownCell(cell), normalised);
}

TEST(BatchMarkdown, RowsKeepTheirCellCount)
{
    const std::string line = markdownLine(okRecord("/d/a|b `c`.png"));
    ASSERT_EQ(line.back(), '\n');
    ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
    const auto cells = splitMarkdownRow(line.substr(0, line.size() - 1));
    ASSERT_TRUE(cells);
    ASSERT_EQ(cells->size(), markdownColumns().size());
    EXPECT_EQ(unescapeMarkdownCell((*cells)[0]), "/d/a|b `c`.png");
    EXPECT_EQ((*cells)[1], "ok");
    EXPECT_EQ((*cells)[2], "800x600");
    EXPECT_EQ((*cells)[3], "3x2");
    EXPECT_EQ((*cells)[5], "455");
    const std::string errLine = markdownLine(errRecord("/e.png"));
    const auto err = splitMarkdownRow(errLine.substr(0, errLine.size() - 1));
    ASSERT_TRUE(err);
    EXPECT_EQ(err->size(), markdownColumns().size());
    EXPECT_EQ((*err)[1], "error");
    EXPECT_NE(unescapeMarkdownCell((*err)[8]).find("image-truncated: x.png: truncated, | cut"),
              std::string::npos);
    EXPECT_FALSE(splitMarkdownRow("| open row"));
    EXPECT_FALSE(splitMarkdownRow("not a row |"));
    EXPECT_FALSE(splitMarkdownRow("| escaped end \\|"));
}

// --- JSON lines -------------------------------------------------------------------------------------------

TEST(BatchJsonLines, OneObjectPerLineWithEveryField)
{
    const std::string line = jsonLine(okRecord("/d/a.png"), settings());
    ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["file"], "/d/a.png");
    EXPECT_EQ(j["status"], "ok");
    EXPECT_EQ(j["answer"], kNasty);
    EXPECT_EQ(j["width"], 800);
    EXPECT_EQ(j["plan"]["grid"], nlohmann::json::array({3, 2}));
    EXPECT_EQ(j["plan"]["visual_tokens"], 455);
    EXPECT_EQ(j["tokens"]["generated"], 12);
    EXPECT_DOUBLE_EQ(j["timings_ms"]["read"].get<double>(), 1.3); // rounded to 0.1 ms
    EXPECT_DOUBLE_EQ(j["timings_ms"]["total"].get<double>(), 151.3);
    EXPECT_TRUE(j["error"].is_null());
    EXPECT_EQ(j["run"]["question"], settings().question);
    EXPECT_EQ(j["run"]["max_slices"], 4);

    const auto e = nlohmann::json::parse(jsonLine(errRecord("/e.png"), settings()));
    EXPECT_EQ(e["status"], "error");
    EXPECT_TRUE(e["width"].is_null() && e["plan"].is_null() && e["answer"].is_null());
    EXPECT_EQ(e["error"]["code"], "image-truncated");
}

// --- writers and the resume reader ------------------------------------------------------------------------

class BatchFiles : public ::testing::TestWithParam<Format>
{
protected:
    std::string name() const { return "out" + formatExtension(GetParam()); }
};

TEST_P(BatchFiles, ValidAfterEveryRecordAndReadBack)
{
    TempDir t;
    const std::string path = (t.path / name()).string();
    ASSERT_EQ(formatForPath(path), GetParam());
    auto w = Writer::create(path, GetParam(), settings());
    std::vector<std::string> files;
    // Readable right after the header, and after each record (what a crash or Ctrl+C leaves).
    for (int i = 0; i <= 4; ++i) {
        const Existing e = readExisting(path, GetParam());
        EXPECT_EQ(e.files, files) << "after " << i << " records";
        EXPECT_EQ(e.validBytes, e.totalBytes);
        if (i == 4)
            break;
        const std::string file = "/imgs/" + std::to_string(i) + (i == 2 ? " | odd, \"name\".png" : ".png");
        w->append(i == 1 ? errRecord(file) : okRecord(file));
        files.push_back(file);
    }
    const Existing e = readExisting(path, GetParam());
    if (GetParam() != Format::JsonLines || !files.empty()) {
        ASSERT_TRUE(e.settings);
        EXPECT_EQ(*e.settings, settings());
    }
}

TEST_P(BatchFiles, CutOffLastRecordIsDroppedAndResumeRepairsTheFile)
{
    TempDir t;
    const std::string path = (t.path / name()).string();
    {
        auto w = Writer::create(path, GetParam(), settings());
        w->append(okRecord("/a.png"));
        w->append(okRecord("/b.png"));
    }
    const std::string whole = readFile(path);
    // A crash in the middle of writing the third record.
    const std::string third = GetParam() == Format::JsonLines ? jsonLine(okRecord("/c.png"), settings())
                              : GetParam() == Format::Csv     ? csvLine(okRecord("/c.png"), settings())
                                                              : markdownLine(okRecord("/c.png"));
    for (std::size_t cut : {std::size_t(1), third.size() / 2, third.size() - 1}) {
        writeFile(path, whole + third.substr(0, cut));
        const Existing e = readExisting(path, GetParam());
        EXPECT_EQ(e.files, (std::vector<std::string>{"/a.png", "/b.png"})) << "cut at " << cut;
        EXPECT_EQ(e.validBytes, whole.size()) << "cut at " << cut;
        EXPECT_EQ(e.totalBytes, whole.size() + cut);
    }
    const Existing e = readExisting(path, GetParam());
    {
        auto w = Writer::resume(path, GetParam(), settings(), e);
        w->append(okRecord("/c.png"));
    }
    EXPECT_EQ(readFile(path), whole + third);
    EXPECT_EQ(readExisting(path, GetParam()).files, (std::vector<std::string>{"/a.png", "/b.png", "/c.png"}));
}

TEST_P(BatchFiles, ForeignFilesAreRefusedWithAReason)
{
    TempDir t;
    const std::string path = (t.path / name()).string();
    std::vector<std::string> foreign = {"hello world\n", "{\"file\": \"x\"}\n", "a,b,c\r\n1,2,3\r\n",
                                        "| a | b |\n| --- | --- |\n| 1 | 2 |\n",
                                        "# Notes\n\nsome text\nmore text\n"};
    // A file of ours whose records disagree on the settings (two runs glued together) is refused too.
    RunSettings other = settings();
    other.question = "Another question?";
    switch (GetParam()) {
    case Format::JsonLines:
        foreign.push_back(jsonLine(okRecord("/a"), settings()) + jsonLine(okRecord("/b"), other));
        foreign.push_back(jsonLine(okRecord("/a"), settings()) +
                          "{\"file\":\"/b\",\"status\":\"done\",\"run\":{}}\n");
        { // a setting out of int's range (the fuzzer's find: get<int>() of it was undefined behaviour)
            std::string line = jsonLine(okRecord("/a"), settings());
            line.replace(line.find("\"max_slices\":4"), 14, "\"max_slices\":2e87");
            foreign.push_back(line);
        }
        break;
    case Format::Csv:
        foreign.push_back(fileHeader(Format::Csv, settings()) + csvLine(okRecord("/a"), settings()) +
                          csvLine(okRecord("/b"), other));
        foreign.push_back(fileHeader(Format::Csv, settings()) + "/a,ok,short row\r\n");
        break;
    case Format::Markdown:
        foreign.push_back(fileHeader(Format::Markdown, settings()) + "| only | three | cells |\n");
        foreign.push_back("<!-- uhdlens-batch 1 {not json} -->\n\n" +
                          fileHeader(Format::Markdown, settings())
                              .substr(fileHeader(Format::Markdown, settings()).find('|')));
        break;
    }
    for (const std::string &text : foreign) {
        writeFile(path, text);
        try {
            readExisting(path, GetParam());
            ADD_FAILURE() << "accepted as " << formatName(GetParam()) << ": " << text;
        } catch (const uhdlens::Error &e) {
            EXPECT_EQ(e.code(), uhdlens::ErrorCode::InvalidArgument) << e.what();
            EXPECT_NE(std::string(e.what()).find("is not a UHD Lens batch"), std::string::npos) << e.what();
        }
    }
    // Empty: a new file may start there; missing: a typed error.
    writeFile(path, "");
    EXPECT_TRUE(readExisting(path, GetParam()).empty);
    EXPECT_THROW(readExisting((t.path / "missing").string(), GetParam()), uhdlens::Error);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, BatchFiles,
                         ::testing::Values(Format::JsonLines, Format::Csv, Format::Markdown),
                         [](const auto &info) { return formatExtension(info.param).substr(1); });

TEST(BatchFormats, ByExtensionOnly)
{
    EXPECT_EQ(formatForPath("a/b.JSONL"), Format::JsonLines);
    EXPECT_EQ(formatForPath("b.ndjson"), Format::JsonLines);
    EXPECT_EQ(formatForPath("b.csv"), Format::Csv);
    EXPECT_EQ(formatForPath("b.Md"), Format::Markdown);
    EXPECT_EQ(formatForPath("b.markdown"), Format::Markdown);
    EXPECT_FALSE(formatForPath("b.json"));
    EXPECT_FALSE(formatForPath("b.txt"));
    EXPECT_FALSE(formatForPath("csv"));
}

TEST(BatchSettings, DifferenceNamesTheSetting)
{
    RunSettings a = settings(), b = settings();
    EXPECT_EQ(describeDifference(a, b), "");
    b.maxSlices = 9;
    EXPECT_NE(describeDifference(a, b).find("max-slices: 4 now, 9 in the file"), std::string::npos);
    b = settings();
    b.transcribe = true;
    EXPECT_NE(describeDifference(a, b).find("--transcribe in the file"), std::string::npos);
    b = settings();
    b.policy.clear();
    EXPECT_NE(describeDifference(a, b).find("the model's"), std::string::npos);
}

// The Markdown header comment survives a question that tries to close it.
TEST(BatchSettings, MarkdownCommentCannotBeClosedByTheQuestion)
{
    TempDir t;
    RunSettings s = settings();
    s.question = "end --> <!-- | `x`\n";
    const std::string path = (t.path / "q.md").string();
    Writer::create(path, Format::Markdown, s)->append(okRecord("/a.png"));
    const std::string text = readFile(path);
    EXPECT_EQ(text.find("-->"), text.find(" -->\n") + 1); // the first "-->" ends the first line
    const Existing e = readExisting(path, Format::Markdown);
    ASSERT_TRUE(e.settings);
    EXPECT_EQ(e.settings->question, s.question);
}

TEST(BatchTranscription, EveryFamilyHasAPrompt)
{
    for (const std::string &name : uhdlens::allNames<uhdlens::Family>()) {
        const auto family = uhdlens::parseName<uhdlens::Family>(name);
        EXPECT_FALSE(uhdlens::transcriptionPrompt(family).empty()) << name;
    }
    // Our own model gets the reading question it was trained on, not the general instruction.
    EXPECT_EQ(uhdlens::transcriptionPrompt(uhdlens::Family::UhdPaper), "Read the text.");
    EXPECT_EQ(uhdlens::transcriptionPrompt(uhdlens::Family::MiniCpmV), uhdlens::kDefaultTranscriptionPrompt);
}
