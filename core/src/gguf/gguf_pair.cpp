#include "gguf/gguf_pair.h"

#include "file_map.h"
#include "gguf/gguf_model.h"
#include "uhdlens/errors.h"

#include <algorithm>
#include <filesystem>
#include <vector>

namespace fs = std::filesystem;

namespace uhdlens::gguf {

namespace {

// general.architecture == "clip": llama.cpp's mmproj files (clip.cpp loads nothing else).
bool isMmproj(const std::string &file)
{
    const auto map = mapWholeFile(file);
    const GgufHeader h = parseGgufHeader(map->bytes(), map->size, file);
    const Value *a = h.meta.find("general.architecture");
    return a && a->type == ValueType::String && a->str == "clip";
}

std::string joined(const std::vector<std::string> &files)
{
    std::string s;
    for (const auto &f : files)
        s += (s.empty() ? "'" : ", '") + f + "'";
    return s;
}

void requireExists(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(ErrorCode::FileNotFound, "GGUF model not found: '" + path + "'", path);
}

} // namespace

GgufPair findGgufPair(const std::string &path, const std::string &second)
{
    requireExists(path);
    if (!second.empty()) {
        requireExists(second);
        const bool a = isMmproj(path), b = isMmproj(second);
        if (a == b)
            throw Error(ErrorCode::InvalidArgument,
                        "'" + path + "' and '" + second + "' are both " +
                            (a ? "mmproj (vision) files" : "language-model files") +
                            "; give one language-model GGUF file and one mmproj file",
                        second);
        return a ? GgufPair{second, path} : GgufPair{path, second};
    }
    std::vector<std::string> llms, mmprojs;
    std::string folder = path;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        const fs::path parent = fs::path(path).parent_path();
        folder = (parent.empty() ? fs::path(".") : parent).string();
        (isMmproj(path) ? mmprojs : llms).push_back(path);
    }
    const size_t given = llms.size() + mmprojs.size();
    std::vector<std::string> found;
    for (const auto &entry : fs::directory_iterator(folder, ec))
        if (entry.is_regular_file(ec) && entry.path().extension() == ".gguf" &&
            !(given && fs::equivalent(entry.path(), path, ec)))
            found.push_back(entry.path().string());
    std::sort(found.begin(), found.end());
    // With one file given, only its partner kind is looked for in the folder.
    const bool wantLlm = llms.empty(), wantMmproj = mmprojs.empty();
    for (const auto &f : found) {
        const bool mm = isMmproj(f);
        if (mm && wantMmproj)
            mmprojs.push_back(f);
        else if (!mm && wantLlm)
            llms.push_back(f);
    }
    auto pick = [&](const std::vector<std::string> &list, const char *what, const char *hint) {
        if (list.empty())
            throw Error(ErrorCode::FileNotFound,
                        std::string("no ") + what + " GGUF file in '" + folder + "'" + hint, folder);
        if (list.size() > 1)
            throw Error(ErrorCode::InvalidArgument,
                        std::string("'") + folder + "' holds several " + what + " GGUF files (" +
                            joined(list) + "); name the one to use",
                        folder);
        return list.front();
    };
    return {pick(llms, "language-model", ""),
            pick(mmprojs, "mmproj (vision projector)",
                 " (a vision model needs the mmproj file beside the language model, or name both files)")};
}

void checkGgufPair(const GgufHeader &llm, const GgufHeader &mmproj, const GgufPair &files)
{
    const nlohmann::json vision = mmprojVisionConfigJson(mmproj);
    const nlohmann::json text = llmConfigJson(llm);
    const int64_t out = vision["hidden_size"].get<int64_t>(), width = text["hidden_size"].get<int64_t>();
    if (out != width)
        throw Error(ErrorCode::ConfigInvalid,
                    "the mmproj file '" + files.mmproj + "' makes image tokens of width " +
                        std::to_string(out) + " but the language model '" + files.llm + "' has width " +
                        std::to_string(width) + ": they are not parts of the same model",
                    files.mmproj);
}

} // namespace uhdlens::gguf
