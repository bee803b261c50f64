// Helpers of the MiniCPM-V 2.6 / 4.5 smoke tests (test_minicpmv26.cpp, test_minicpmv45.cpp): a make-tiny
// folder per family, loading it, copies of it to break one thing in, and the error a broken copy throws.
#pragma once

#include "safetensors.h"
#include "uhdlens/devtools.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QTemporaryDir>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

using namespace uhdlens;

namespace minicpmv_tiny {

using nlohmann::json;

// One tiny folder per family and process (make-tiny, seed 5).
inline const TinyModel &tinyFolder(Family family = Family::MiniCpmV26)
{
    static QTemporaryDir dir;
    static std::map<Family, TinyModel> made;
    auto it = made.find(family);
    if (it == made.end()) {
        const std::string corpus = findResource("text/tiny-corpus.txt");
        if (corpus.empty())
            throw std::runtime_error("resources/text/tiny-corpus.txt not found");
        const QString name = QStringLiteral("tiny-") + QString::fromStdString(nameOf(family));
        it = made.emplace(family, writeTinyModel(family, dir.filePath(name).toStdString(), 5, corpus)).first;
    }
    return it->second;
}

inline std::shared_ptr<const Model> load(const std::string &dir, Dtype dtype = Dtype::Auto)
{
    LoadOptions o;
    o.modelDir = dir;
    o.dtype = dtype;
    return Model::load(o);
}

// The error a load of `dir` throws; fails the test when it loads.
inline Error loadError(const std::string &dir)
{
    try {
        load(dir);
    } catch (const Error &e) {
        return e;
    }
    ADD_FAILURE() << dir << " loaded, but it is broken";
    return Error(ErrorCode::Internal, "loaded");
}

inline json jsonFile(const std::string &path)
{
    std::ifstream in(path);
    return json::parse(in);
}

inline void putJson(const std::string &path, const json &j)
{
    std::ofstream(path, std::ios::trunc) << j.dump(1);
}

// A copy of the family's tiny folder in `tmp`/name, for breaking one thing in it.
inline std::string brokenCopy(QTemporaryDir &tmp, const std::string &name, Family family = Family::MiniCpmV26)
{
    const QDir from(QString::fromStdString(tinyFolder(family).modelDir));
    const QString to = tmp.filePath(QString::fromStdString(name));
    EXPECT_FALSE(QDir(to).exists()) << "copy names must be unique: " << name;
    QDir().mkpath(to);
    for (const QString &f : from.entryList(QDir::Files))
        QFile::copy(from.filePath(f), QDir(to).filePath(f));
    return to.toStdString();
}

inline QImage picture()
{
    QImage img(1100, 500, QImage::Format_RGB888);
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            img.setPixelColor(x, y, QColor((x * 7) % 256, (y * 3) % 256, (x + y) % 256));
    return img;
}

// Whole characters: decoding and re-encoding gives the same bytes (a cut character would become U+FFFD).
inline bool validUtf8(const std::string &s)
{
    return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())).toUtf8().toStdString() == s;
}

// A copy of the family's tiny folder whose config.json says "version": `version`.
inline std::string versionCopy(QTemporaryDir &tmp, const json &version, Family family = Family::MiniCpmV26)
{
    const std::string d = brokenCopy(tmp, "version-" + version.dump(), family);
    json c = jsonFile(d + "/config.json");
    c["version"] = version;
    putJson(d + "/config.json", c);
    return d;
}

// Removes the added token `token` from the folder's tokenizer.json (added_tokens) and tokenizer_config.json
// (added_tokens_decoder): another model's tokenizer.
inline void dropAddedToken(const std::string &dir, const std::string &token)
{
    json tj = jsonFile(dir + "/tokenizer.json");
    json kept = json::array();
    for (const auto &a : tj["added_tokens"])
        if (a["content"] != token)
            kept.push_back(a);
    tj["added_tokens"] = kept;
    putJson(dir + "/tokenizer.json", tj);
    json tc = jsonFile(dir + "/tokenizer_config.json");
    json decoder = json::object();
    for (auto it = tc["added_tokens_decoder"].begin(); it != tc["added_tokens_decoder"].end(); ++it)
        if (it.value()["content"] != token)
            decoder[it.key()] = it.value();
    tc["added_tokens_decoder"] = decoder;
    putJson(dir + "/tokenizer_config.json", tc);
}

// A copy of the family's tiny folder split into two shards by model.safetensors.index.json (llm.* in the
// second), with the second shard missing.
inline std::string missingShardCopy(QTemporaryDir &tmp, const std::string &name,
                                    Family family = Family::MiniCpmV26)
{
    const std::string d = brokenCopy(tmp, name, family);
    QFile::rename(QString::fromStdString(d + "/model.safetensors"),
                  QString::fromStdString(d + "/model-00001-of-00002.safetensors"));
    const Checkpoint ck = Checkpoint::open(d + "/model-00001-of-00002.safetensors");
    json map = json::object();
    for (const std::string &n : ck.names())
        map[n] =
            n.rfind("llm.", 0) == 0 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
    putJson(d + "/model.safetensors.index.json", {{"metadata", json::object()}, {"weight_map", map}});
    return d;
}

} // namespace minicpmv_tiny
