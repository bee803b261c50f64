// The on-disk evaluation sets (eval_set.h).
#include "eval_set.h"

#include "uhdlens/errors.h"
#include "uhdlens/lab/synthdata.h"
#include "uhdlens/resources.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace cli::evalset {

namespace {

using uhdlens::Error;
using uhdlens::ErrorCode;

constexpr qint64 kMaxJsonBytes = 64LL << 20; // far above any hand-made set; refuses a mistaken huge file

[[noreturn]] void fail(const std::string &file, const std::string &where, const std::string &what)
{
    throw Error(ErrorCode::InvalidArgument, file + ": " + (where.empty() ? what : where + ": " + what), file);
}

// A string member, or fail: missing, not a string, or (unless allowed) empty.
std::string stringField(const nlohmann::json &obj, const char *key, const std::string &file,
                        const std::string &where, bool required = true)
{
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        if (required)
            fail(file, where, std::string("no \"") + key + "\"");
        return {};
    }
    if (!it->is_string())
        fail(file, where, std::string("\"") + key + "\" is not a string");
    std::string s = it->get<std::string>();
    if (required && QString::fromStdString(s).trimmed().isEmpty())
        fail(file, where, std::string("\"") + key + "\" is empty");
    return s;
}

} // namespace

const std::vector<std::string> &taskNames()
{
    static const std::vector<std::string> names{kReadingTask, "counting", "colour", kUnanswerableTask};
    return names;
}

int Set::questionCount() const
{
    int n = 0;
    for (const Image &image : images)
        n += static_cast<int>(image.questions.size());
    return n;
}

Set loadSet(const std::string &dir)
{
    const QString folder = QString::fromStdString(dir);
    const QFileInfo folderInfo(folder);
    if (!folderInfo.exists())
        throw Error(ErrorCode::FileNotFound, "no evaluation set folder " + dir, dir);
    if (!folderInfo.isDir())
        throw Error(ErrorCode::NotAFile,
                    dir + " is not a folder (an evaluation set is a folder with questions.json)", dir);
    const QString jsonPath = QDir(folder).filePath(QStringLiteral("questions.json"));
    const std::string file = jsonPath.toStdString();
    QFile f(jsonPath);
    if (!QFileInfo(jsonPath).isFile())
        throw Error(ErrorCode::FileNotFound,
                    dir + " has no questions.json (its form: tests/data/real-screenshots/README.md)", file);
    if (f.size() > kMaxJsonBytes)
        fail(file, {}, "larger than 64 MB; not an evaluation set");
    if (!f.open(QIODevice::ReadOnly))
        throw Error(ErrorCode::FileUnreadable, file + ": " + f.errorString().toStdString(), file);
    const QByteArray bytes = f.readAll();
    const nlohmann::json doc =
        nlohmann::json::parse(bytes.constData(), bytes.constData() + bytes.size(), nullptr,
                              /*allow_exceptions=*/false);
    if (doc.is_discarded())
        fail(file, {}, "not valid JSON");
    if (!doc.is_object())
        fail(file, {}, "not a JSON object");
    if (const auto v = doc.find("version"); v != doc.end() && !(v->is_number_integer() && v->get<int>() == 1))
        fail(file, {}, "\"version\" must be 1");

    Set set;
    set.dir = dir;
    set.name = stringField(doc, "name", file, {}, /*required=*/false);
    if (set.name.empty())
        set.name = folderInfo.absoluteFilePath().section(QLatin1Char('/'), -1).toStdString();
    set.notShownAnswer = stringField(doc, "not_shown_answer", file, {}, /*required=*/false);
    if (QString::fromStdString(set.notShownAnswer).trimmed().isEmpty())
        set.notShownAnswer = kDefaultNotShownAnswer;
    const auto images = doc.find("images");
    if (images == doc.end() || !images->is_array())
        fail(file, {}, "no \"images\" array");
    if (images->empty())
        fail(file, {}, "\"images\" is empty");

    const std::vector<std::string> &tasks = taskNames();
    for (std::size_t i = 0; i < images->size(); ++i) {
        const nlohmann::json &entry = (*images)[i];
        const std::string where = "images[" + std::to_string(i) + "]";
        if (!entry.is_object())
            fail(file, where, "not an object");
        Image image;
        image.file = stringField(entry, "file", file, where);
        const QString rel = QString::fromStdString(image.file);
        // The set names its own files: no way out of the folder.
        if (QDir::isAbsolutePath(rel) || rel.split(QLatin1Char('/')).contains(QStringLiteral("..")))
            fail(file, where,
                 "\"file\" must be a path inside the folder (no absolute path, no \"..\"): " + image.file);
        image.path = QDir(folder).filePath(rel).toStdString();
        image.kind = stringField(entry, "kind", file, where, /*required=*/false);
        const auto questions = entry.find("questions");
        if (questions == entry.end() || !questions->is_array() || questions->empty())
            fail(file, where + " (" + image.file + ")", "no \"questions\" (a non-empty array)");
        for (std::size_t j = 0; j < questions->size(); ++j) {
            const nlohmann::json &qj = (*questions)[j];
            const std::string qwhere = where + ".questions[" + std::to_string(j) + "] (" + image.file + ")";
            if (!qj.is_object())
                fail(file, qwhere, "not an object");
            Question q;
            q.question = stringField(qj, "question", file, qwhere);
            // An answer may be written as a JSON number ("answer": 42): the same text.
            if (const auto a = qj.find("answer"); a != qj.end() && a->is_number())
                q.answer = a->dump();
            else
                q.answer = stringField(qj, "answer", file, qwhere);
            q.task = stringField(qj, "task", file, qwhere);
            if (std::find(tasks.begin(), tasks.end(), q.task) == tasks.end())
                fail(file, qwhere,
                     "unknown task \"" + q.task + "\" (reading, counting, colour or unanswerable)");
            if (q.task == kUnanswerableTask && !uhdlens::synth::answersMatch(q.answer, set.notShownAnswer))
                fail(file, qwhere,
                     "an unanswerable question's answer must be \"" + set.notShownAnswer + "\", not \"" +
                         q.answer + "\"");
            const auto h = qj.find("text_height");
            if (h == qj.end() || !h->is_number())
                fail(file, qwhere, "no \"text_height\" (a number of pixels)");
            q.textHeight = h->get<double>();
            if (!(q.textHeight > 0 && q.textHeight < 100000))
                fail(file, qwhere, "\"text_height\" must be a positive number of pixels");
            image.questions.push_back(std::move(q));
        }
        set.images.push_back(std::move(image));
    }
    return set;
}

std::string realSetFolder()
{
    const QString relative = QStringLiteral("tests/data/real-screenshots");
    std::vector<QString> roots;
    // A build tree inside the source tree (build/app/uhdlens-cli): two or three levels up.
    QDir up(QCoreApplication::instance() ? QCoreApplication::applicationDirPath() : QString());
    for (int level = 0; level < 4 && !up.path().isEmpty(); ++level) {
        roots.push_back(up.path());
        if (!up.cdUp())
            break;
    }
    // Any build tree: share/uhdlens/samples links to <source>/resources/samples.
    if (const std::string samples = uhdlens::findResource("samples"); !samples.empty()) {
        const QString canonical = QFileInfo(QString::fromStdString(samples)).canonicalFilePath();
        if (!canonical.isEmpty())
            roots.push_back(QFileInfo(canonical).path() + QStringLiteral("/.."));
    }
    for (const QString &root : roots) {
        const QString candidate = QDir(root).filePath(relative);
        if (QFileInfo(QDir(candidate).filePath(QStringLiteral("questions.json"))).isFile())
            return QDir::cleanPath(candidate).toStdString();
    }
    return {};
}

std::string sizeBucket(double h)
{
    if (h < 10)
        return "<10px";
    if (h < 14)
        return "10-14px";
    if (h < 20)
        return "14-20px";
    return ">=20px";
}

std::vector<std::string> sizeBuckets()
{
    return {"<10px", "10-14px", "14-20px", ">=20px"};
}

} // namespace cli::evalset
