// The on-disk evaluation sets of `uhdlens-cli eval` (app/cli/eval_set.h): the committed real-screenshot set
// reads and is consistent, and every broken questions.json is refused with a message naming the entry and the
// fault.
#include "eval_set.h"

#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <set>
#include <string>

using cli::evalset::loadSet;
using uhdlens::Error;
using uhdlens::ErrorCode;

namespace {

// A folder holding questions.json = `json` (and nothing else).
struct SetFolder
{
    QTemporaryDir tmp;
    explicit SetFolder(const std::string &json)
    {
        QFile f(tmp.filePath(QStringLiteral("questions.json")));
        EXPECT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(json.data(), static_cast<qint64>(json.size()));
    }
    std::string dir() const { return tmp.path().toStdString(); }
};

// The error loadSet() throws for a set whose one image has one question `question` (a JSON object's members).
Error errorFor(const std::string &question, const std::string &file = "\"a.png\"")
{
    SetFolder set(R"({"version": 1, "images": [{"file": )" + file +
                  R"(, "questions": [)"
                  R"({"question": "Q?", "answer": "A", "task": "reading", "text_height": 12}, {)" +
                  question + "}]}]}");
    try {
        loadSet(set.dir());
    } catch (const Error &e) {
        return e;
    }
    ADD_FAILURE() << "no error for " << question;
    return Error(ErrorCode::Internal, "none");
}

} // namespace

TEST(EvalSet, CommittedRealSetIsConsistent)
{
    const cli::evalset::Set set = loadSet(UHDLENS_TEST_DATA "/real-screenshots");
    EXPECT_EQ(set.name, "real-screenshots");
    EXPECT_EQ(set.notShownAnswer, "not shown");
    EXPECT_GE(set.images.size(), 30u);
    EXPECT_GE(set.questionCount(), 120);
    std::set<std::string> tasks, buckets, kinds;
    for (const auto &image : set.images) {
        kinds.insert(image.kind);
        const QImage rgb = uhdlens::loadImage(QString::fromStdString(image.path)); // every image decodes
        EXPECT_FALSE(rgb.isNull()) << image.file;
        for (const auto &q : image.questions) {
            tasks.insert(q.task);
            buckets.insert(cli::evalset::sizeBucket(q.textHeight));
            EXPECT_GE(q.textHeight, 8) << image.file << ": " << q.question;
            EXPECT_LE(q.textHeight, 60) << image.file << ": " << q.question;
        }
    }
    EXPECT_EQ(tasks, (std::set<std::string>{"reading", "counting", "colour", "unanswerable"}));
    EXPECT_EQ(buckets.size(), cli::evalset::sizeBuckets().size());
    EXPECT_EQ(kinds, (std::set<std::string>{"terminal", "dialog", "screen", "document"}));
}

TEST(EvalSet, SizeBuckets)
{
    using cli::evalset::sizeBucket;
    EXPECT_EQ(sizeBucket(8), "<10px");
    EXPECT_EQ(sizeBucket(9.99), "<10px");
    EXPECT_EQ(sizeBucket(10), "10-14px");
    EXPECT_EQ(sizeBucket(14), "14-20px");
    EXPECT_EQ(sizeBucket(20), ">=20px");
    EXPECT_EQ(cli::evalset::sizeBuckets().size(), 4u);
}

TEST(EvalSet, DefaultsAndNumericAnswers)
{
    SetFolder folder(
        R"({"images": [{"file": "sub/a.png", "questions": [)"
        R"({"question": "How many?", "answer": 3, "task": "counting", "text_height": 9.5},)"
        R"({"question": "Where?", "answer": "Not Shown ", "task": "unanswerable", "text_height": 9.5}]}]})");
    const cli::evalset::Set set = loadSet(folder.dir());
    EXPECT_EQ(set.notShownAnswer, "not shown");                           // the default
    EXPECT_EQ(set.name, QDir(folder.tmp.path()).dirName().toStdString()); // no "name": the folder's
    ASSERT_EQ(set.questionCount(), 2);
    EXPECT_EQ(set.images[0].questions[0].answer, "3");
    EXPECT_EQ(set.images[0].path,
              QDir(folder.tmp.path()).filePath(QStringLiteral("sub/a.png")).toStdString());
}

TEST(EvalSet, BadFolders)
{
    try {
        loadSet("/no/such/folder");
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
        EXPECT_NE(std::string(e.what()).find("/no/such/folder"), std::string::npos) << e.what();
    }
    QTemporaryDir empty;
    try {
        loadSet(empty.path().toStdString());
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
        EXPECT_NE(std::string(e.what()).find("no questions.json"), std::string::npos) << e.what();
    }
    SetFolder notADir("{}");
    try {
        loadSet(notADir.tmp.filePath(QStringLiteral("questions.json")).toStdString());
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::NotAFile) << e.what();
    }
}

TEST(EvalSet, BadDocuments)
{
    const std::pair<const char *, const char *> cases[] = {
        {"{\"images\": [", "not valid JSON"},
        {"[1, 2]", "not a JSON object"},
        {R"({"version": 2, "images": []})", "\"version\" must be 1"},
        {R"({"name": "x"})", "no \"images\" array"},
        {R"({"images": []})", "\"images\" is empty"},
        {R"({"images": [7]})", "images[0]: not an object"},
        {R"({"images": [{"questions": []}]})", "images[0]: no \"file\""},
        {R"({"images": [{"file": "a.png"}]})", "no \"questions\""},
        {R"({"images": [{"file": "a.png", "questions": []}]})", "no \"questions\""},
    };
    for (const auto &[json, want] : cases) {
        SetFolder folder(json);
        try {
            loadSet(folder.dir());
            ADD_FAILURE() << "accepted " << json;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << json;
            EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << json << " -> " << e.what();
            EXPECT_NE(std::string(e.what()).find("questions.json"), std::string::npos) << e.what();
        }
    }
}

TEST(EvalSet, BadQuestions)
{
    // Each names the entry (images[0].questions[1] (a.png)) and what is wrong with it.
    const std::pair<std::string, std::string> cases[] = {
        {R"("question": "Q?", "task": "reading", "text_height": 12)", "no \"answer\""},
        {R"("question": "Q?", "answer": "", "task": "reading", "text_height": 12)", "\"answer\" is empty"},
        {R"("question": "Q?", "answer": ["A"], "task": "reading", "text_height": 12)",
         "\"answer\" is not a string"},
        {R"("answer": "A", "task": "reading", "text_height": 12)", "no \"question\""},
        {R"("question": "Q?", "answer": "A", "text_height": 12)", "no \"task\""},
        {R"("question": "Q?", "answer": "A", "task": "spelling", "text_height": 12)",
         "unknown task \"spelling\""},
        {R"("question": "Q?", "answer": "Lisbon", "task": "unanswerable", "text_height": 12)",
         "answer must be \"not shown\""},
        {R"("question": "Q?", "answer": "A", "task": "reading")", "no \"text_height\""},
        {R"("question": "Q?", "answer": "A", "task": "reading", "text_height": "12")", "no \"text_height\""},
        {R"("question": "Q?", "answer": "A", "task": "reading", "text_height": -3)", "positive number"},
    };
    for (const auto &[question, want] : cases) {
        const Error e = errorFor(question);
        const std::string what = e.what();
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << question;
        EXPECT_NE(what.find("images[0].questions[1] (a.png)"), std::string::npos) << what;
        EXPECT_NE(what.find(want), std::string::npos) << question << " -> " << what;
    }
    // Files outside the folder are refused.
    for (const std::string file : {"\"../a.png\"", "\"/etc/passwd\"", "\"x/../../a.png\""}) {
        const std::string what =
            errorFor(R"("question": "Q?", "answer": "A", "task": "reading", "text_height": 12)", file).what();
        EXPECT_NE(what.find("a path inside the folder"), std::string::npos) << file << " -> " << what;
    }
}
