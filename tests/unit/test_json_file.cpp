// The one JSON/text file helper (uhdlens/json_file.h): round trips, and every bad input a typed error naming the
// file with the caller's error code.
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>

using namespace uhdlens;

namespace {

std::string pathIn(const QTemporaryDir &dir, const char *name)
{
    return dir.filePath(QString::fromLatin1(name)).toStdString();
}

void writeRaw(const std::string &path, const std::string &bytes)
{
    QFile f(QString::fromStdString(path));
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write(bytes.data(), static_cast<qint64>(bytes.size()));
}

// The error `f` throws; an Internal one (failing every check of code and text) when it throws none.
Error errorOf(const std::function<void()> &f)
{
    std::optional<Error> caught;
    try {
        f();
    } catch (const Error &e) {
        caught = e;
    }
    EXPECT_TRUE(caught.has_value()) << "expected an error";
    return caught.value_or(Error(ErrorCode::Internal, "none"));
}

} // namespace

TEST(JsonFile, WriteThenReadRoundTrips)
{
    QTemporaryDir dir;
    const std::string path = pathIn(dir, "state.json");
    const nlohmann::json value = {{"step", 12}, {"name", "tiny"}, {"loss", {1.5, 0.25}}};
    writeJsonFile(path, value);
    EXPECT_EQ(readJsonFile(path), value);
    EXPECT_EQ(readOptionalJsonFile(path), value);
    EXPECT_FALSE(readOptionalJsonFile(pathIn(dir, "absent.json")).has_value());
    writeTextFile(path, "[1, 2]");
    JsonFileOptions any;
    any.requireObject = false;
    EXPECT_EQ(readJsonFile(path, any), nlohmann::json::array({1, 2}));
    EXPECT_EQ(readSmallFile(path), "[1, 2]");
    // Invalid UTF-8 in a string is written replaced, not refused half-way.
    writeJsonFile(path, nlohmann::json{{"s", std::string("a\xff")}}, -1);
    EXPECT_EQ(readJsonFile(path)["s"].get<std::string>(), "a\xEF\xBF\xBD");
}

TEST(JsonFile, BadFilesAreTypedErrorsNamingTheFile)
{
    QTemporaryDir dir;
    JsonFileOptions o;
    o.label = "config.json";
    o.missing = ErrorCode::ConfigInvalid;
    o.invalid = ErrorCode::CheckpointInvalid;

    const std::string absent = pathIn(dir, "absent.json");
    Error e = errorOf([&] { readJsonFile(absent); });
    EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
    EXPECT_EQ(e.subject(), absent);
    EXPECT_EQ(errorOf([&] { readJsonFile(absent, o); }).code(), ErrorCode::ConfigInvalid);

    const std::string broken = pathIn(dir, "broken.json");
    writeRaw(broken, "{\"a\": ");
    e = errorOf([&] { readJsonFile(broken, o); });
    EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid);
    EXPECT_NE(std::string(e.what()).find("config.json is not valid JSON"), std::string::npos) << e.what();
    EXPECT_EQ(e.subject(), broken);
    EXPECT_EQ(errorOf([&] { readJsonFile(broken); }).code(), ErrorCode::ConfigInvalid); // the default code

    const std::string huge = pathIn(dir, "huge.json");
    writeRaw(huge, "{\"x\": 1e400}"); // out_of_range for a double: still a typed error
    EXPECT_EQ(errorOf([&] { readJsonFile(huge); }).code(), ErrorCode::ConfigInvalid);

    const std::string array = pathIn(dir, "array.json");
    writeRaw(array, "[1]");
    e = errorOf([&] { readJsonFile(array); });
    EXPECT_NE(std::string(e.what()).find("expected a JSON object"), std::string::npos) << e.what();

    JsonFileOptions small;
    small.maxBytes = 4;
    writeRaw(array, "{\"a\": 1}");
    e = errorOf([&] { readJsonFile(array, small); });
    EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();

    QDir(dir.path()).mkdir(QStringLiteral("folder.json"));
    e = errorOf([&] { readJsonFile(pathIn(dir, "folder.json")); });
    EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid);
    EXPECT_NE(std::string(e.what()).find("is a folder"), std::string::npos) << e.what();

    const std::string unwritable = pathIn(dir, "no/such/folder/out.json");
    e = errorOf([&] { writeJsonFile(unwritable, nlohmann::json::object()); });
    EXPECT_EQ(e.code(), ErrorCode::FileUnreadable);
    EXPECT_EQ(e.subject(), unwritable);
    EXPECT_NE(std::string(e.what()).find(unwritable), std::string::npos) << e.what();
}
