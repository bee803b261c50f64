// The on-disk evaluation sets of `uhdlens-cli eval` (--set real, --set-dir DIR): a folder of images and one
// questions.json naming, for each image, questions with exact answers, their task and the height of the text
// they are about. tests/data/real-screenshots/README.md has the schema; tests/tools/make_real_screenshots.sh
// writes the committed set.
//
//     cli::evalset::Set set = cli::evalset::loadSet("tests/data/real-screenshots");   // throws
//     uhdlens::Error for (const auto &image : set.images)        // image.path: the file, checked to stay
//     inside the folder
//         for (const auto &q : image.questions)   // q.task: "reading" | "counting" | "colour" |
//         "unanswerable"
//             ...cli::evalset::sizeBucket(q.textHeight)...
//
// Only questions.json is read here; the images are decoded by the caller (a file that does not decode is the
// caller's to skip, with its reason). Reentrant; no Qt GUI needed.
#pragma once

#include <string>
#include <vector>

namespace cli::evalset {

// The tasks a set's questions may have, in the order eval prints them.
const std::vector<std::string> &taskNames();
inline constexpr const char *kReadingTask = "reading";
inline constexpr const char *kUnanswerableTask = "unanswerable";
// The answer of an unanswerable question unless questions.json says otherwise ("not_shown_answer").
inline constexpr const char *kDefaultNotShownAnswer = "not shown";

struct Question
{
    std::string question;
    std::string answer;    // exact answer, compared trimmed and case-insensitively (synth::answersMatch)
    std::string task;      // one of taskNames()
    double textHeight = 0; // font pixel size of the text asked about, image pixels (> 0)
};

struct Image
{
    std::string file; // as questions.json names it, relative to the folder
    std::string path; // the folder joined with file
    std::string kind; // informative ("terminal", "dialog", ...); may be empty
    std::vector<Question> questions;
};

struct Set
{
    std::string name; // questions.json's "name", else the folder's name
    std::string dir;
    std::string notShownAnswer; // every unanswerable question's answer
    std::vector<Image> images;
    int questionCount() const;
};

// Reads `dir`/questions.json. Throws uhdlens::Error: FileNotFound (no such folder, no questions.json),
// NotAFile (`dir` is a file), FileUnreadable, InvalidArgument (not JSON, or an entry that breaks the schema;
// the message names the file, the entry as images[i].questions[j] and what is wrong, e.g. 'no "answer"').
Set loadSet(const std::string &dir);

// The committed real-screenshot set (tests/data/real-screenshots in the source tree), looked for above the
// running executable and in the source tree the build's share/uhdlens links point to. Empty when not found
// (an installed copy ships no test data).
std::string realSetFolder();

// Text-height buckets of the on-disk sets: "<10px", "10-14px", "14-20px", ">=20px" (the real set's text is
// 8-54 px, finer than the synthetic sets' buckets at the sizes screens use).
std::string sizeBucket(double textHeight);
std::vector<std::string> sizeBuckets();

} // namespace cli::evalset
