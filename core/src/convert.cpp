// Model folder conversion: pickle weights -> safetensors (see uhdlens/convert.h).
#include "uhdlens/convert.h"

#include "safetensors.h"
#include "torch_checkpoint.h"
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <unistd.h>

namespace fs = std::filesystem;

namespace uhdlens {

namespace {

// Hugging Face Trainer / DeepSpeed training state: pickles of Python objects, never weights the app loads.
bool isTrainingState(const std::string &name)
{
    return name == "training_args.bin" || name.starts_with("optimizer") || name.starts_with("scheduler") ||
           name.starts_with("rng_state") || name.starts_with("trainer_state");
}

[[noreturn]] void ioError(const std::string &what, const fs::path &p, const std::error_code &ec)
{
    throw Error(ErrorCode::FileUnreadable, what + " '" + p.string() + "': " + ec.message(), p.string());
}

// Removes the half-built output unless release() was called.
struct TempDir
{
    fs::path path;
    bool keep = false;
    ~TempDir()
    {
        if (!keep && !path.empty()) {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    }
};

} // namespace

bool isPickleWeightName(const std::string &fileName)
{
    for (const char *ext : {".bin", ".pt", ".pth", ".ckpt", ".pkl"})
        if (fileName.size() > std::strlen(ext) && fileName.ends_with(ext))
            return true;
    return false;
}

std::vector<std::string> pickleWeightFiles(const std::string &dir)
{
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        std::error_code fec;
        if (isPickleWeightName(name) && !isTrainingState(name) && e.is_regular_file(fec))
            out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string suggestConvertedFolder(const std::string &modelDir)
{
    fs::path base = fs::path(modelDir).lexically_normal();
    if (base.filename().empty())
        base = base.parent_path();
    for (int i = 1;; ++i) {
        const fs::path p = base.string() + (i == 1 ? "-safetensors" : "-safetensors-" + std::to_string(i));
        std::error_code ec;
        if (!fs::exists(p, ec))
            return p.string();
    }
}

ConvertReport convertModelFolder(const std::string &modelDir, const std::string &outDir,
                                 const std::function<void(double, const std::string &)> &progress)
{
    auto report = [&](double f, const std::string &what) {
        if (progress)
            progress(f, what);
    };
    std::error_code ec;
    const fs::path src(modelDir);
    if (!fs::is_directory(src, ec))
        throw Error(ErrorCode::InvalidArgument,
                    "model folder '" + modelDir + "' does not exist or is not a folder", modelDir);
    if (outDir.empty())
        throw Error(ErrorCode::InvalidArgument, "no output folder given", "out");
    const fs::path out = fs::absolute(fs::path(outDir)).lexically_normal();
    const fs::path srcCanon = fs::canonical(src, ec);
    if (ec)
        ioError("cannot resolve", src, ec);
    const fs::path outCanon = fs::weakly_canonical(out, ec);
    if (ec)
        ioError("cannot resolve", out, ec);
    const std::string s = srcCanon.string() + "/", o = outCanon.string() + "/";
    if (o.starts_with(s) || s.starts_with(o))
        throw Error(ErrorCode::InvalidArgument,
                    "the output folder '" + outDir +
                        "' must not be the model folder, inside it or contain it",
                    outDir);
    if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)))
        throw Error(ErrorCode::InvalidArgument,
                    "the output folder '" + outDir +
                        "' already exists and is not empty (nothing is overwritten)",
                    outDir);

    // What is in the folder.
    std::vector<std::string> pickles, others;
    ConvertReport rep;
    rep.outDir = out.string();
    std::string pickleIndex;
    for (const auto &e : fs::directory_iterator(src, ec)) {
        const std::string name = e.path().filename().string();
        std::error_code fec;
        if (isPickleWeightName(name) && e.is_regular_file(fec)) {
            if (isTrainingState(name))
                rep.omitted.push_back(name + ": training state, not model weights (not copied)");
            else
                pickles.push_back(name);
        } else if (name.ends_with(".bin.index.json") || name.ends_with(".pt.index.json")) {
            pickleIndex = name;
        } else {
            others.push_back(name);
        }
    }
    if (ec)
        ioError("cannot list", src, ec);
    std::sort(pickles.begin(), pickles.end());
    std::sort(others.begin(), others.end());
    if (pickles.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "model folder '" + modelDir +
                        "' holds no pickle weight files (*.bin, *.pt, *.pth) to convert",
                    modelDir);

    // Tensors the folder's safetensors already provide (through their index, or file by file).
    std::map<std::string, std::string> existing; // tensor -> file
    nlohmann::json sourceIndex;
    const bool hadIndex = fs::exists(src / "model.safetensors.index.json", ec);
    if (hadIndex) {
        JsonFileOptions o;
        o.missing = ErrorCode::FileUnreadable;
        o.invalid = ErrorCode::CheckpointInvalid;
        o.requireObject = false; // the index reader says what is wrong with its content
        sourceIndex = readJsonFile((src / "model.safetensors.index.json").string(), o);
        if (!sourceIndex.is_object() || !sourceIndex.contains("weight_map") ||
            !sourceIndex["weight_map"].is_object())
            throw Error(ErrorCode::CheckpointInvalid,
                        "model.safetensors.index.json in '" + modelDir + "' has no 'weight_map' object",
                        "weight_map");
        for (auto it = sourceIndex["weight_map"].begin(); it != sourceIndex["weight_map"].end(); ++it)
            if (it.value().is_string())
                existing[it.key()] = it.value().get<std::string>();
    }
    std::vector<std::string> existingFiles;
    std::map<std::string, int64_t> fileBytes;
    for (const std::string &name : others)
        if (name.ends_with(".safetensors") && fs::is_regular_file(src / name, ec)) {
            existingFiles.push_back(name);
            const Checkpoint ck = Checkpoint::open((src / name).string());
            fileBytes[name] = ck.dataBytes();
            if (!hadIndex)
                for (const std::string &t : ck.names())
                    existing.emplace(t, name);
        }

    // Assemble the output next to its final place, so the final rename is atomic on one file system.
    fs::create_directories(out.parent_path(), ec);
    if (ec)
        ioError("cannot create", out.parent_path(), ec);
    TempDir tmp;
    tmp.path = out.parent_path() / ("." + out.filename().string() + ".partial-" + std::to_string(::getpid()));
    fs::remove_all(tmp.path, ec);
    fs::create_directory(tmp.path, ec);
    if (ec)
        ioError("cannot create", tmp.path, ec);

    std::map<std::string, std::string> added; // tensor -> converted file
    std::set<std::string> targets;
    for (size_t i = 0; i < pickles.size(); ++i) {
        const std::string &name = pickles[i];
        report(0.8 * double(i) / double(pickles.size()), "converting " + name);
        TorchCheckpoint ck = readTorchZipCheckpoint((src / name).string());
        size_t already = 0;
        for (const auto &[t, v] : ck.tensors)
            already += existing.count(t);
        if (already == ck.tensors.size()) {
            rep.omitted.push_back(name +
                                  ": every tensor is already in the folder's safetensors (a duplicate; not "
                                  "copied)");
            continue;
        }
        for (const auto &[t, v] : ck.tensors) {
            if (existing.count(t))
                throw Error(ErrorCode::CheckpointInvalid,
                            "'" + name + "' and the safetensors file '" + existing.at(t) +
                                "' both hold tensor '" + t + "'; which one to keep is not clear",
                            t);
            if (added.count(t))
                throw Error(ErrorCode::CheckpointInvalid,
                            "'" + name + "' and '" + added.at(t) + "' both hold tensor '" + t + "'", t);
        }
        const std::string target = fs::path(name).stem().string() + ".safetensors";
        if (targets.count(target) || std::find(others.begin(), others.end(), target) != others.end())
            throw Error(ErrorCode::CheckpointInvalid,
                        "converting '" + name + "' would write '" + target + "', which already exists",
                        target);
        targets.insert(target);
        ConvertedFile cf;
        cf.source = name;
        cf.target = target;
        cf.nestedKey = ck.nestedKey;
        cf.skipped = ck.skipped;
        cf.tensors = static_cast<int64_t>(ck.tensors.size());
        for (const auto &[t, v] : ck.tensors) {
            cf.bytes += static_cast<int64_t>(v.nbytes());
            added[t] = target;
        }
        std::map<std::string, std::string> meta = {{"format", "pt"}, {"converted_from", name}};
        saveSafeTensors((tmp.path / target).string(), ck.tensors, meta);
        fileBytes[target] = cf.bytes;
        rep.converted.push_back(std::move(cf));
    }
    if (rep.converted.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "nothing to convert in '" + modelDir +
                        "': every pickle weight file duplicates its safetensors",
                    modelDir);

    // Everything else, unchanged (folders recursively; links followed).
    for (size_t i = 0; i < others.size(); ++i) {
        const std::string &name = others[i];
        report(0.8 + 0.15 * double(i) / double(others.size()), "copying " + name);
        if (name == "model.safetensors.index.json")
            continue; // rewritten below
        fs::copy(src / name, tmp.path / name, fs::copy_options::recursive, ec);
        if (ec)
            ioError("cannot copy", src / name, ec);
        rep.copied.push_back(name);
    }
    if (!pickleIndex.empty())
        rep.omitted.push_back(pickleIndex + ": replaced by model.safetensors.index.json");

    // One index over every weight file, so Checkpoint::open sees them all.
    const size_t weightFiles = existingFiles.size() + rep.converted.size();
    if (hadIndex || !pickleIndex.empty() || weightFiles > 1) {
        nlohmann::json index = hadIndex ? sourceIndex : nlohmann::json::object();
        if (!index.contains("metadata") || !index["metadata"].is_object())
            index["metadata"] = nlohmann::json::object();
        nlohmann::json map = nlohmann::json::object();
        for (const auto &[t, f] : existing)
            map[t] = f;
        for (const auto &[t, f] : added)
            map[t] = f;
        int64_t total = 0;
        std::set<std::string> used;
        for (const auto &[t, f] : existing)
            used.insert(f);
        for (const auto &[t, f] : added)
            used.insert(f);
        for (const std::string &f : used)
            total += fileBytes.count(f) ? fileBytes.at(f) : 0;
        index["metadata"]["total_size"] = total;
        index["weight_map"] = map;
        writeJsonFile((tmp.path / "model.safetensors.index.json").string(), index);
        rep.indexFile = "model.safetensors.index.json";
    }

    report(0.97, "finishing");
    if (fs::exists(out, ec))
        fs::remove(out, ec); // the empty folder the caller made
    fs::rename(tmp.path, out, ec);
    if (ec)
        ioError("cannot move the converted folder to", out, ec);
    tmp.keep = true;
    report(1.0, "done");
    return rep;
}

} // namespace uhdlens
