#include "model_folder.h"

#include "tokenizer.h"
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <cstdio>
#include <set>

namespace uhdlens {

namespace {

using json = nlohmann::json;

std::string joinPath(const std::string &dir, const char *name)
{
    return QDir(QString::fromStdString(dir)).filePath(QString::fromLatin1(name)).toStdString();
}

// An optional JSON object file: nullopt when absent; Error(ConfigInvalid) naming it when unreadable or not an
// object. `label` is how messages and sources name it ("preprocessor_config.json", "vision/...").
std::optional<json> readOptionalJson(const std::string &dir, const char *name, const std::string &label)
{
    JsonFileOptions o;
    o.label = label;
    return readOptionalJsonFile(joinPath(dir, name), o);
}

[[noreturn]] void badKey(const std::string &label, const std::string &key, const std::string &what)
{
    throw Error(ErrorCode::ConfigInvalid, label + ": key '" + key + "' " + what, key);
}

// A token id: a non-negative integer.
int64_t tokenId(const json &v, const std::string &label, const std::string &key)
{
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
        badKey(label, key, "must be a non-negative integer token id");
    return v.get<int64_t>();
}

// "bos_token": "<s>" or {"content": "<s>", ...} (AddedToken as serialised by transformers); null means none.
std::optional<std::string> tokenSpelling(const json &v, const std::string &label, const std::string &key)
{
    if (v.is_null())
        return std::nullopt;
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    badKey(label, key, "must be a string or an object with a \"content\" string");
}

// The processor keys that decide what the model sees, in the names our families read from config.json.
struct ProcessorKey
{
    const char *name;    // in config.json / our families
    const char *altName; // MiniCPM-V 2.6's processor spelling, or nullptr
};
constexpr ProcessorKey kProcessorKeys[] = {
    {"image_mean", "norm_mean"}, {"image_std", "norm_std"}, {"scale_resolution", nullptr},
    {"max_slice_nums", nullptr}, {"patch_size", nullptr},   {"slice_mode", nullptr},
};

void overlayProcessor(FolderFiles &out, const json &processor, const std::string &label)
{
    for (const ProcessorKey &k : kProcessorKeys) {
        const char *found = nullptr;
        for (const char *name : {k.name, k.altName})
            if (name && processor.contains(name) && !processor[name].is_null())
                found = name;
        if (!found)
            continue;
        const json &v = processor[found];
        const std::string key = k.name;
        if (key == "image_mean" || key == "image_std") {
            if (!v.is_array() || v.size() != 3 ||
                !std::all_of(v.begin(), v.end(), [](const json &x) { return x.is_number(); }))
                badKey(label, found, "must be 3 numbers");
            if (key == "image_std" &&
                !std::all_of(v.begin(), v.end(), [](const json &x) { return x.get<double>() > 0; }))
                badKey(label, found, "must be 3 positive numbers");
        } else if (key == "slice_mode") {
            if (!v.is_boolean())
                badKey(label, found, "must be true or false");
        } else if (!v.is_number_integer() || v.get<int64_t>() < 1) {
            badKey(label, found, "must be a positive integer");
        }
        if (out.config.contains(key) && out.config[key] != v)
            out.warnings.push_back(label + " sets " + key + " to " + v.dump() + " where config.json has " +
                                   out.config[key].dump() +
                                   "; the processor's value is used, as the reference does");
        out.config[key] = v;
        out.keySource[key] = label;
    }
}

void readTokenNames(FolderFiles &out, const json &j, const std::string &label)
{
    for (const char *key : {"bos_token", "eos_token", "unk_token"}) {
        if (!j.contains(key))
            continue;
        if (const auto spelling = tokenSpelling(j[key], label, key)) {
            out.namedTokens[key] = *spelling;
            out.namedTokenSource[key] = label;
        }
    }
    if (j.contains("additional_special_tokens") && !j["additional_special_tokens"].is_null()) {
        const json &list = j["additional_special_tokens"];
        if (!list.is_array())
            badKey(label, "additional_special_tokens", "must be a list of tokens");
        for (const json &t : list)
            if (const auto spelling = tokenSpelling(t, label, "additional_special_tokens"))
                out.specialTokens.insert(*spelling);
        out.specialTokenSource.insert(label);
    }
}

void addToken(FolderFiles &out, const std::string &spelling, int64_t id, const std::string &label)
{
    const auto it = out.addedTokens.find(spelling);
    if (it != out.addedTokens.end() && it->second != id)
        throw Error(ErrorCode::TokenizerInvalid,
                    label + " gives '" + spelling + "' id " + std::to_string(id) + " but " +
                        out.addedTokenSource[spelling] + " gives it id " + std::to_string(it->second),
                    spelling);
    out.addedTokens[spelling] = id;
    std::string &source = out.addedTokenSource[spelling];
    source += (source.empty() ? "" : " + ") + label;
}

} // namespace

nlohmann::json readConfigJson(const std::string &dir, const char *what)
{
    const QFileInfo folder(QString::fromStdString(dir));
    if (!folder.exists())
        throw Error(ErrorCode::FileNotFound, std::string(what) + " folder not found: " + dir, dir);
    if (!folder.isDir())
        throw Error(ErrorCode::NotAFile, std::string(what) + " must be a folder: " + dir, dir);
    const std::string path = joinPath(dir, "config.json");
    JsonFileOptions o;
    // A model folder without config.json is a broken model, not a lost file.
    o.missing = ErrorCode::ConfigInvalid;
    return readJsonFile(path, o);
}

// Optional uhdlens.json next to the weights: {"name": "...", "description": "...", "suggested_questions": [...]}.
// A broken file is a warning, never a load failure.
void readUhdlensJson(const std::string &dir, ModelInfo &info)
{
    try {
        JsonFileOptions o;
        o.label = "uhdlens.json";
        const auto found = readOptionalJsonFile(joinPath(dir, "uhdlens.json"), o);
        if (!found)
            return;
        const json &j = *found;
        if (j.contains("name") && j["name"].is_string())
            info.name = j["name"].get<std::string>();
        if (j.contains("description") && j["description"].is_string())
            info.description = j["description"].get<std::string>();
        if (j.contains("suggested_questions"))
            for (const auto &q : j.at("suggested_questions"))
                if (q.is_string())
                    info.suggestedQuestions.push_back(q.get<std::string>());
    } catch (const std::exception &e) {
        info.warnings.push_back("uhdlens.json ignored: " + std::string(e.what()));
    }
}

FolderFiles readModelFolder(const std::string &modelDir, const std::string &visionDir, const json &config)
{
    FolderFiles out;
    out.config = config;
    for (const ProcessorKey &k : kProcessorKeys)
        if (config.contains(k.name))
            out.keySource[k.name] = "config.json";

    // The processor: the model folder's, else (LLaVA-UHD release) the vision tower's.
    if (auto p = readOptionalJson(modelDir, "preprocessor_config.json", "preprocessor_config.json"))
        overlayProcessor(out, *p, "preprocessor_config.json");
    else if (!visionDir.empty())
        if (auto v =
                readOptionalJson(visionDir, "preprocessor_config.json", "vision/preprocessor_config.json"))
            overlayProcessor(out, *v, "vision/preprocessor_config.json");

    if (auto g = readOptionalJson(modelDir, "generation_config.json", "generation_config.json")) {
        const std::string label = "generation_config.json";
        if (g->contains("eos_token_id") && !(*g)["eos_token_id"].is_null()) {
            const json &e = (*g)["eos_token_id"];
            if (e.is_array()) {
                for (const json &id : e)
                    out.eosIds.push_back(tokenId(id, label, "eos_token_id"));
            } else {
                out.eosIds.push_back(tokenId(e, label, "eos_token_id"));
            }
        }
        if (g->contains("bos_token_id") && !(*g)["bos_token_id"].is_null())
            out.bosId = tokenId((*g)["bos_token_id"], label, "bos_token_id");
    }

    // tokenizer_config.json first, special_tokens_map.json on top: transformers lets the map override.
    if (auto t = readOptionalJson(modelDir, "tokenizer_config.json", "tokenizer_config.json")) {
        const std::string label = "tokenizer_config.json";
        readTokenNames(out, *t, label);
        if (t->contains("legacy") && !(*t)["legacy"].is_null()) {
            if (!(*t)["legacy"].is_boolean())
                badKey(label, "legacy", "must be true or false");
            out.config[kLegacyTokenizerKey] = (*t)["legacy"];
            out.keySource[kLegacyTokenizerKey] = label;
        }
        if (t->contains("added_tokens_decoder")) {
            const json &d = (*t)["added_tokens_decoder"];
            if (!d.is_object())
                badKey(label, "added_tokens_decoder", "must be an object of id -> token");
            for (auto it = d.begin(); it != d.end(); ++it) {
                int64_t id = -1;
                try {
                    size_t used = 0;
                    id = std::stoll(it.key(), &used);
                    if (used != it.key().size() || id < 0)
                        id = -1;
                } catch (const std::exception &) {
                }
                if (id < 0)
                    badKey(label, "added_tokens_decoder." + it.key(), "is not a token id");
                const auto spelling = tokenSpelling(it.value(), label, "added_tokens_decoder." + it.key());
                if (!spelling)
                    badKey(label, "added_tokens_decoder." + it.key(), "has no content");
                addToken(out, *spelling, id, label);
            }
        }
    }
    if (auto s = readOptionalJson(modelDir, "special_tokens_map.json", "special_tokens_map.json"))
        readTokenNames(out, *s, "special_tokens_map.json");
    if (auto a = readOptionalJson(modelDir, "added_tokens.json", "added_tokens.json"))
        for (auto it = a->begin(); it != a->end(); ++it)
            addToken(out, it.key(), tokenId(it.value(), "added_tokens.json", it.key()), "added_tokens.json");

    // Every token the Hugging Face tokenizer splits text on (transformers' slow tokenizer cuts the string at
    // each added or special token and encodes the pieces between them one by one). Families whose reference
    // builds the prompt as one string read this list instead of their built-in one.
    std::set<std::string> split = out.specialTokens;
    std::set<std::string> sources = out.specialTokenSource;
    for (const auto &[spelling, id] : out.addedTokens) {
        split.insert(spelling);
        sources.insert(out.addedTokenSource[spelling]);
    }
    for (const auto &[key, spelling] : out.namedTokens) {
        split.insert(spelling);
        sources.insert(out.namedTokenSource[key]);
    }
    if (!split.empty()) {
        out.config[kSplitTokensKey] = std::vector<std::string>(split.begin(), split.end());
        std::string from;
        for (const auto &f : sources)
            from += (from.empty() ? "" : " + ") + f;
        out.keySource[kSplitTokensKey] = from;
    }
    return out;
}

std::vector<int64_t> checkTokenizerFiles(const FolderFiles &files, const Tokenizer &tokenizer,
                                         int64_t vocabSize, std::vector<std::string> &warnings)
{
    const int64_t pieces = tokenizer.vocabSize();
    const std::string tokFile = tokenizerFileName(tokenizer);
    auto inVocab = [&](int64_t id, const std::string &label, const std::string &what) {
        if (id >= vocabSize)
            throw Error(ErrorCode::TokenizerInvalid,
                        label + ": " + what + " id " + std::to_string(id) +
                            " is outside the model's vocabulary of " + std::to_string(vocabSize),
                        label);
    };
    // Added tokens: Hugging Face's tokenizer gives them these ids; ours must give the same from
    // tokenizer.model.
    for (const auto &[spelling, id] : files.addedTokens) {
        const std::string &label = files.addedTokenSource.at(spelling);
        inVocab(id, label, "'" + spelling + "'");
        const int64_t ours = tokenizer.hasPiece(spelling) ? tokenizer.pieceToId(spelling) : -1;
        if (ours < 0 && id >= pieces) {
            // A token Hugging Face appends after tokenizer.model's pieces (e.g. a "<pad>"): the model never
            // sees it unless a prompt spells it, and then our tokenizer reads it as plain text.
            warnings.push_back(label + ": added token '" + spelling + "' (id " + std::to_string(id) +
                               ") is not in " + tokFile + "; a prompt that spells it is read as plain text");
            continue;
        }
        if (ours != id)
            throw Error(
                ErrorCode::TokenizerInvalid,
                label + " gives '" + spelling + "' id " + std::to_string(id) + ", but " + tokFile + " " +
                    (ours < 0 ? std::string("does not have that piece")
                              : "gives it id " + std::to_string(ours)) +
                    " (" + std::to_string(pieces) + " pieces): the files belong to different tokenizers",
                spelling);
    }
    std::vector<int64_t> stops;
    for (const auto &[key, spelling] : files.namedTokens) {
        const std::string &label = files.namedTokenSource.at(key);
        if (!tokenizer.hasPiece(spelling) && !files.addedTokens.count(spelling))
            throw Error(ErrorCode::TokenizerInvalid,
                        label + ": " + key + " '" + spelling + "' is not a piece of " + tokFile,
                        spelling);
        if (key == "eos_token")
            stops.push_back(tokenizer.hasPiece(spelling) ? tokenizer.pieceToId(spelling)
                                                         : files.addedTokens.at(spelling));
    }
    for (int64_t id : files.eosIds) {
        inVocab(id, "generation_config.json", "eos_token_id");
        stops.push_back(id);
    }
    if (files.bosId) {
        inVocab(*files.bosId, "generation_config.json", "bos_token_id");
        if (tokenizer.bosId() >= 0 && *files.bosId != tokenizer.bosId())
            throw Error(ErrorCode::TokenizerInvalid,
                        "generation_config.json: bos_token_id " + std::to_string(*files.bosId) +
                            " differs from " + tokFile + "'s <s> id " + std::to_string(tokenizer.bosId()),
                        "bos_token_id");
    }
    std::sort(stops.begin(), stops.end());
    stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
    return stops;
}

std::string tokenizerFileName(const Tokenizer &tokenizer)
{
    const std::string name = QFileInfo(QString::fromStdString(tokenizer.modelFile())).fileName().toStdString();
    return name.empty() ? "tokenizer.model" : name;
}

std::vector<SettingSource> describeSources(const FolderFiles &files, const ModelInfo &info,
                                           const std::vector<int64_t> &stopIds, const std::string &pixelText,
                                           const std::string &tokenizerFile)
{
    auto from = [&](const char *key) {
        const auto it = files.keySource.find(key);
        return it == files.keySource.end() ? std::string("default") : it->second;
    };
    std::vector<SettingSource> out;
    const SlicePolicy &p = info.policy;
    out.push_back({"slice.scale", std::to_string(p.scale) + " px", from("scale_resolution")});
    out.push_back({"slice.max", std::to_string(p.maxSlices), from("max_slice_nums")});
    out.push_back({"slice.patch", std::to_string(p.patch) + " px", from("patch_size")});
    if (files.keySource.count("slice_mode"))
        out.push_back({"slice.mode", p.neverSplit ? "off" : "on", from("slice_mode")});
    // Mean and std are listed together; the source of the mean speaks for both unless they differ.
    const std::string meanFrom = from("image_mean"), stdFrom = from("image_std");
    out.push_back({"pixel.norm", pixelText, meanFrom == stdFrom ? meanFrom : meanFrom + " + " + stdFrom});
    std::string stops;
    for (int64_t id : stopIds)
        stops += (stops.empty() ? "" : ", ") + std::to_string(id);
    std::set<std::string> stopFiles;
    if (!files.eosIds.empty())
        stopFiles.insert("generation_config.json");
    if (files.namedTokens.count("eos_token"))
        stopFiles.insert(files.namedTokenSource.at("eos_token"));
    std::string stopFrom = tokenizerFile;
    for (const auto &f : stopFiles)
        stopFrom += " + " + f;
    out.push_back({"stop.ids", stops.empty() ? "none" : stops, stopFrom});
    if (const auto it = files.config.find(kSplitTokensKey); it != files.config.end())
        out.push_back({"tokens.split", std::to_string(it->size()), from(kSplitTokensKey)});
    if (!files.addedTokens.empty()) {
        std::set<std::string> sources;
        for (const auto &s : files.addedTokenSource)
            sources.insert(s.second);
        std::string list;
        for (const auto &s : sources)
            list += (list.empty() ? "" : " + ") + s;
        out.push_back({"tokens.added",
                       std::to_string(files.addedTokens.size()) + " checked against " + tokenizerFile, list});
    }
    return out;
}

} // namespace uhdlens
