// The restricted torch.save reader and the folder conversion (core/src/torch_checkpoint.h,
// uhdlens/convert.h). Good fixtures (tests/data/pickle, made by tests/tools/make_pickle_fixtures.py with
// torch.save) must give exactly the tensors torch.load gives (the script's own safetensors copy of them);
// every bad fixture must be refused with its error code and a message naming the problem, without a crash and
// without leaving anything at the output.
#include "safetensors.h"
#include "torch_checkpoint.h"

#include "uhdlens/convert.h"
#include "uhdlens/devtools.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace uhdlens;

namespace {

const fs::path kData = fs::path(UHDLENS_TEST_DATA) / "pickle";

class TempDir
{
  public:
    TempDir()
    {
        static int counter = 0;
        m_path = fs::temp_directory_path() /
                 ("uhdlens-pk-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    fs::path path() const { return m_path; }

  private:
    fs::path m_path;
};

nlohmann::json manifest()
{
    std::ifstream f(kData / "manifest.json");
    return nlohmann::json::parse(f);
}

// Compares `got` with the expected safetensors file tensor by tensor: names, dtypes, shapes and every byte.
void expectSameTensors(const std::vector<std::pair<std::string, torch::Tensor>> &got,
                       const fs::path &expectedFile, const std::string &stage)
{
    const Checkpoint want = Checkpoint::open(expectedFile.string());
    std::vector<std::string> names;
    for (const auto &[name, t] : got)
        names.push_back(name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, want.names()) << stage << ": tensor names differ from " << expectedFile;
    for (const auto &[name, t] : got) {
        if (!want.contains(name))
            continue;
        const torch::Tensor w = want.get(name);
        EXPECT_EQ(t.scalar_type(), w.scalar_type()) << stage << ": dtype of tensor '" << name << "'";
        EXPECT_EQ(t.sizes().vec(), w.sizes().vec()) << stage << ": shape of tensor '" << name << "'";
        EXPECT_TRUE(t.is_contiguous()) << stage << ": tensor '" << name << "' is not contiguous";
        if (t.scalar_type() == w.scalar_type() && t.sizes() == w.sizes() && !torch::equal(t, w)) {
            ADD_FAILURE() << stage << ": values of tensor '" << name << "' differ; max |diff| "
                          << (t.to(torch::kDouble) - w.to(torch::kDouble)).abs().max().item<double>();
        }
    }
}

// A torch.save-format file written here (protocol 2, the same opcodes torch.save emits), for tensors the
// tests make at run time (the tiny model's resampler). Its reading by torch itself is covered by the
// fixtures.
std::string pickleInt(int64_t v)
{
    if (v >= 0 && v < 256)
        return std::string("K") + static_cast<char>(v);
    std::string s = "J";
    const int32_t x = static_cast<int32_t>(v);
    s.append(reinterpret_cast<const char *>(&x), 4);
    return s;
}
std::string pickleStr(const std::string &s)
{
    const uint32_t n = static_cast<uint32_t>(s.size());
    return "X" + std::string(reinterpret_cast<const char *>(&n), 4) + s;
}
void writeTorchSave(const fs::path &path, const std::vector<std::pair<std::string, torch::Tensor>> &tensors)
{
    std::string pkl = "\x80\x02"
                      "ccollections\nOrderedDict\n)R(";
    std::vector<std::pair<std::string, torch::Tensor>> storages;
    for (const auto &[name, t0] : tensors) {
        const torch::Tensor t = t0.contiguous();
        const char *type = t.scalar_type() == torch::kBFloat16  ? "BFloat16Storage"
                           : t.scalar_type() == torch::kFloat16 ? "HalfStorage"
                                                                : "FloatStorage";
        const std::string key = std::to_string(storages.size());
        storages.emplace_back(key, t);
        std::string size = "(", stride = "(";
        for (int64_t d = 0; d < t.dim(); ++d) {
            size += pickleInt(t.size(d));
            stride += pickleInt(t.stride(d));
        }
        pkl += pickleStr(name) + "ctorch._utils\n_rebuild_tensor_v2\n((" + pickleStr("storage") + "ctorch\n" +
               type + "\n" + pickleStr(key) + pickleStr("cpu") + pickleInt(t.numel()) + "tQ" + pickleInt(0) +
               size + "t" + stride +
               "t\x89"
               "ccollections\nOrderedDict\n)RtR";
    }
    pkl += "u.";
    caffe2::serialize::PyTorchStreamWriter writer(path.string());
    writer.writeRecord("data.pkl", pkl.data(), pkl.size());
    for (const auto &[key, t] : storages)
        writer.writeRecord("data/" + key, t.data_ptr(), t.nbytes());
    writer.writeEndOfFile();
}

} // namespace

TEST(TorchCheckpoint, GoodFixturesGiveWhatTorchLoadGives)
{
    const auto m = manifest();
    ASSERT_GE(m["good"].size(), 8u);
    for (const auto &g : m["good"]) {
        const std::string file = g["file"];
        SCOPED_TRACE(file);
        TorchCheckpoint ck;
        ASSERT_NO_THROW(ck = readTorchZipCheckpoint((kData / file).string()));
        EXPECT_EQ(static_cast<int>(ck.tensors.size()), g["tensors"].get<int>()) << file;
        expectSameTensors(ck.tensors, kData / g["expected"].get<std::string>(), "reading " + file);
    }
}

TEST(TorchCheckpoint, KeepsOrderNestedKeyAndSkippedEntries)
{
    const auto proj = readTorchZipCheckpoint((kData / "mm_projector.bin").string());
    ASSERT_FALSE(proj.tensors.empty());
    EXPECT_EQ(proj.tensors.front().first, "model.mm_projector.query"); // the saved dict's order
    EXPECT_EQ(proj.tensors.front().second.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(proj.nestedKey.empty());

    const auto nested = readTorchZipCheckpoint((kData / "nested.pt").string());
    EXPECT_EQ(nested.nestedKey, "state_dict");
    const std::vector<std::string> skipped = {"epoch (int)", "lr (float)", "note (str)"};
    EXPECT_EQ(nested.skipped, skipped);

    // Views of one storage come back as separate, independent tensors with the right values.
    const auto views = readTorchZipCheckpoint((kData / "views.pt").string());
    std::map<std::string, torch::Tensor> byName(views.tensors.begin(), views.tensors.end());
    ASSERT_TRUE(byName.count("base") && byName.count("transposed") && byName.count("offset_view"));
    EXPECT_TRUE(torch::equal(byName["transposed"], byName["base"].view({4, 6}).t()));
    EXPECT_TRUE(torch::equal(byName["offset_view"], byName["base"].slice(0, 5, 11).view({2, 3})));
}

TEST(TorchCheckpointBadInput, EveryBadFixtureIsRefusedClearly)
{
    const auto m = manifest();
    ASSERT_GE(m["bad"].size(), 15u);
    for (const auto &b : m["bad"]) {
        const std::string file = b["file"], code = b["code"], phrase = b["contains"];
        SCOPED_TRACE(file);
        try {
            readTorchZipCheckpoint((kData / file).string());
            ADD_FAILURE() << file << " was read; it must be refused (" << phrase << ")";
        } catch (const Error &e) {
            EXPECT_EQ(std::string(errorCodeName(e.code())), code) << file << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos)
                << file << ": message lacks '" << phrase << "': " << e.what();
            EXPECT_NE(std::string(e.what()).find(file), std::string::npos)
                << file << ": message names no file";
        }
    }
}

TEST(TorchCheckpointBadInput, EveryTruncationIsRefusedWithoutACrash)
{
    // Every prefix of a good file (step 37 bytes, and the last few bytes one by one) is malformed.
    TempDir dir;
    std::ifstream in(kData / "views.pt", std::ios::binary);
    const std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const fs::path cut = dir.path() / "cut.pt";
    int refusedCount = 0;
    for (size_t n = 0; n < whole.size(); n += (n + 8 < whole.size() ? 37 : 1)) {
        std::ofstream(cut, std::ios::binary).write(whole.data(), static_cast<std::streamsize>(n));
        try {
            readTorchZipCheckpoint(cut.string());
            ADD_FAILURE() << "a " << n << "-byte prefix of views.pt was read";
        } catch (const Error &e) {
            EXPECT_TRUE(e.code() == ErrorCode::CheckpointInvalid) << n << " bytes: " << e.what();
            ++refusedCount;
        }
    }
    EXPECT_GT(refusedCount, 20);
    EXPECT_THROW(readTorchZipCheckpoint((dir.path() / "missing.pt").string()), Error);
}

TEST(TorchCheckpointBadInput, RandomByteFlipsNeverCrash)
{
    // Corrupt single bytes of data.pkl's region and the zip directory: each result is either read (a flip
    // inside tensor data) or refused with a typed error, never a crash or an untyped exception.
    TempDir dir;
    std::ifstream in(kData / "mm_projector.bin", std::ios::binary);
    const std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::mt19937 rng(7);
    int refusedCount = 0;
    for (int i = 0; i < 300; ++i) {
        std::string bytes = whole;
        const size_t at = rng() % bytes.size();
        bytes[at] = static_cast<char>(rng() & 0xff);
        const fs::path p = dir.path() / "flip.bin";
        std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        try {
            readTorchZipCheckpoint(p.string());
        } catch (const Error &) {
            ++refusedCount;
        }
    }
    EXPECT_GT(refusedCount, 0);
}

TEST(ConvertFolder, ShardedFolderGetsAConsistentIndex)
{
    // A release-like folder: safetensors shards with an index, mm_projector.bin beside them, training state.
    TempDir dir;
    const fs::path src = dir.path() / "release", out = dir.path() / "converted";
    fs::create_directories(src / "sub");
    const auto a = torch::randn({4, 3}), b = torch::randn({5}).to(torch::kBFloat16);
    saveSafeTensors((src / "model-00001-of-00002.safetensors").string(), {{"model.embed_tokens.weight", a}});
    saveSafeTensors((src / "model-00002-of-00002.safetensors").string(), {{"lm_head.weight", b}});
    nlohmann::json index = {{"metadata", {{"total_size", 58}}},
                            {"weight_map",
                             {{"model.embed_tokens.weight", "model-00001-of-00002.safetensors"},
                              {"lm_head.weight", "model-00002-of-00002.safetensors"}}}};
    std::ofstream(src / "model.safetensors.index.json") << index.dump();
    fs::copy_file(kData / "mm_projector.bin", src / "mm_projector.bin");
    fs::copy_file(kData / "global_os_system.pt", src / "training_args.bin"); // never read: not weights
    std::ofstream(src / "config.json") << "{\"model_type\": \"llava\"}";
    std::ofstream(src / "sub" / "note.txt") << "kept";

    const ConvertReport r = convertModelFolder(src.string(), out.string());
    ASSERT_EQ(r.converted.size(), 1u);
    EXPECT_EQ(r.converted[0].source, "mm_projector.bin");
    EXPECT_EQ(r.converted[0].target, "mm_projector.safetensors");
    EXPECT_EQ(r.indexFile, "model.safetensors.index.json");
    EXPECT_FALSE(fs::exists(out / "mm_projector.bin"));
    EXPECT_FALSE(fs::exists(out / "training_args.bin"));
    EXPECT_TRUE(fs::exists(out / "sub" / "note.txt"));
    EXPECT_TRUE(fs::exists(src / "mm_projector.bin")) << "the source must stay as it was";

    // The converted file holds exactly torch.load's tensors; the whole folder opens through the new index.
    expectSameTensors(
        [&] {
            std::vector<std::pair<std::string, torch::Tensor>> v;
            const Checkpoint c = Checkpoint::open((out / "mm_projector.safetensors").string());
            for (const auto &n : c.names())
                v.emplace_back(n, c.get(n));
            return v;
        }(),
        kData / "mm_projector.bin.expected.safetensors", "converted mm_projector.safetensors");
    const Checkpoint all = Checkpoint::open(out.string());
    EXPECT_TRUE(all.contains("model.mm_projector.query"));
    EXPECT_TRUE(all.contains("lm_head.weight"));
    EXPECT_TRUE(torch::equal(all.get("model.embed_tokens.weight"), a));
    EXPECT_EQ(all.files().size(), 3u);
    std::ifstream idx(out / "model.safetensors.index.json");
    const auto written = nlohmann::json::parse(idx);
    EXPECT_EQ(written["metadata"]["total_size"].get<int64_t>(), all.dataBytes());
}

TEST(ConvertFolder, ShardedPickleFolderGetsASafetensorsIndex)
{
    // pytorch_model-0000N-of-00002.bin + pytorch_model.bin.index.json (a sharded pickle release).
    TempDir dir;
    const fs::path src = dir.path() / "sharded", out = dir.path() / "sharded-st";
    fs::create_directories(src);
    fs::copy_file(kData / "dtypes.pt", src / "pytorch_model-00001-of-00002.bin");
    fs::copy_file(kData / "views.pt", src / "pytorch_model-00002-of-00002.bin");
    std::ofstream(src / "pytorch_model.bin.index.json")
        << R"({"weight_map": {"f32": "pytorch_model-00001-of-00002.bin"}})";
    const ConvertReport r = convertModelFolder(src.string(), out.string());
    ASSERT_EQ(r.converted.size(), 2u);
    EXPECT_EQ(r.indexFile, "model.safetensors.index.json");
    EXPECT_FALSE(fs::exists(out / "pytorch_model.bin.index.json"));
    std::ifstream idx(out / "model.safetensors.index.json");
    const auto index = nlohmann::json::parse(idx);
    EXPECT_EQ(index["weight_map"]["f32"], "pytorch_model-00001-of-00002.safetensors");
    EXPECT_EQ(index["weight_map"]["transposed"], "pytorch_model-00002-of-00002.safetensors");
    const Checkpoint all = Checkpoint::open(out.string());
    EXPECT_EQ(all.files().size(), 2u);
    EXPECT_EQ(all.names().size(), 16u);
    EXPECT_EQ(index["metadata"]["total_size"].get<int64_t>(), all.dataBytes());
}

TEST(ConvertFolder, SingleFileAndDuplicatesAndNested)
{
    TempDir dir;
    // pytorch_model.bin alone -> pytorch_model.safetensors, no index needed.
    const fs::path src = dir.path() / "m", out = dir.path() / "m-st";
    fs::create_directories(src);
    fs::copy_file(kData / "nested.pt", src / "pytorch_model.bin");
    const ConvertReport r = convertModelFolder(src.string(), out.string());
    ASSERT_EQ(r.converted.size(), 1u);
    EXPECT_EQ(r.converted[0].nestedKey, "state_dict");
    EXPECT_TRUE(r.indexFile.empty());
    expectSameTensors(
        [&] {
            std::vector<std::pair<std::string, torch::Tensor>> v;
            const Checkpoint c = Checkpoint::open(out.string());
            for (const auto &n : c.names())
                v.emplace_back(n, c.get(n));
            return v;
        }(),
        kData / "nested.pt.expected.safetensors", "converted nested.pt");

    // A pickle duplicating the folder's safetensors is omitted; with nothing else to convert, refused.
    const fs::path dup = dir.path() / "dup";
    fs::create_directories(dup);
    fs::copy_file(kData / "views.pt", dup / "pytorch_model.bin");
    fs::copy_file(kData / "views.pt.expected.safetensors", dup / "model.safetensors");
    try {
        convertModelFolder(dup.string(), (dir.path() / "dup-out").string());
        ADD_FAILURE() << "a folder whose pickle only duplicates its safetensors was converted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
        EXPECT_NE(std::string(e.what()).find("nothing to convert"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir.path() / "dup-out"));
    EXPECT_EQ(suggestConvertedFolder(src.string()), src.string() + "-safetensors");
    fs::create_directories(src.string() + "-safetensors");
    EXPECT_EQ(suggestConvertedFolder(src.string() + "/"), src.string() + "-safetensors-2");
}

TEST(ConvertFolderBadInput, RefusalsLeaveNoOutput)
{
    const auto m = manifest();
    TempDir dir;
    for (const auto &b : m["bad"]) {
        const std::string file = b["file"];
        SCOPED_TRACE(file);
        const fs::path src = dir.path() / ("src-" + file), out = dir.path() / ("out-" + file);
        fs::create_directories(src);
        fs::copy_file(kData / file, src / "pytorch_model.bin");
        std::ofstream(src / "config.json") << "{}";
        try {
            convertModelFolder(src.string(), out.string());
            ADD_FAILURE() << file << " was converted";
        } catch (const Error &e) {
            EXPECT_EQ(std::string(errorCodeName(e.code())), b["code"].get<std::string>()) << e.what();
        }
        EXPECT_FALSE(fs::exists(out)) << "output left behind for " << file;
        for (const auto &e : fs::directory_iterator(dir.path()))
            EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos)
                << "temporary folder left behind: " << e.path();
    }
}

TEST(ConvertFolderBadInput, FoldersAreChecked)
{
    TempDir dir;
    const fs::path src = dir.path() / "m";
    fs::create_directories(src);
    fs::copy_file(kData / "mm_projector.bin", src / "mm_projector.bin");
    auto expectCode = [](const std::function<void()> &f, ErrorCode code, const std::string &phrase) {
        try {
            f();
            ADD_FAILURE() << "no error (expected '" << phrase << "')";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), code) << e.what();
            EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
        }
    };
    expectCode([&] { convertModelFolder((dir.path() / "nope").string(), (dir.path() / "o").string()); },
               ErrorCode::InvalidArgument, "does not exist");
    expectCode([&] { convertModelFolder(src.string(), (src / "inside").string()); },
               ErrorCode::InvalidArgument, "must not be the model folder");
    expectCode([&] { convertModelFolder(src.string(), src.string()); }, ErrorCode::InvalidArgument,
               "must not be the model folder");
    fs::create_directories(dir.path() / "full");
    std::ofstream(dir.path() / "full" / "x") << "x";
    expectCode([&] { convertModelFolder(src.string(), (dir.path() / "full").string()); },
               ErrorCode::InvalidArgument, "not empty");
    EXPECT_TRUE(fs::exists(dir.path() / "full" / "x"));
    const fs::path none = dir.path() / "none";
    fs::create_directories(none);
    std::ofstream(none / "config.json") << "{}";
    expectCode([&] { convertModelFolder(none.string(), (dir.path() / "o2").string()); },
               ErrorCode::InvalidArgument, "no pickle weight files");
    // Two files holding one tensor name: ambiguous, refused.
    fs::copy_file(kData / "mm_projector.bin", src / "pytorch_model.bin");
    expectCode([&] { convertModelFolder(src.string(), (dir.path() / "o3").string()); },
               ErrorCode::CheckpointInvalid, "both hold tensor");
    EXPECT_FALSE(fs::exists(dir.path() / "o3"));
}

TEST(ConvertFolder, WrittenByTheTestWriterRoundTrips)
{
    // The C++ torch.save-format writer used by the engine tests, checked against the reader here.
    TempDir dir;
    const std::vector<std::pair<std::string, torch::Tensor>> t = {
        {"x", torch::randn({3, 2})},
        {"y", torch::randn({4}).to(torch::kBFloat16)},
        {"z", torch::randn({2, 2}).t()}};
    writeTorchSave(dir.path() / "w.pt", t);
    const auto ck = readTorchZipCheckpoint((dir.path() / "w.pt").string());
    ASSERT_EQ(ck.tensors.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(ck.tensors[i].first, t[i].first);
        EXPECT_TRUE(torch::equal(ck.tensors[i].second, t[i].second)) << t[i].first;
    }
}

TEST(PickleWeightsLoad, EngineNamesThePickleAndLoadsTheConversion)
{
    // A tiny LLaVA-UHD model laid out like the release: the resampler (model.mm_projector.*) in
    // mm_projector.bin, everything else in safetensors.
    TempDir dir;
    const std::string corpus = findResource("text/tiny-corpus.txt");
    ASSERT_FALSE(corpus.empty()) << "resources/text/tiny-corpus.txt not found";
    const fs::path model = dir.path() / "llava-uhd";
    writeTinyModel(Family::LlavaUhd, model.string(), 5, corpus);
    std::vector<std::pair<std::string, torch::Tensor>> projector, rest;
    {
        const Checkpoint ck = Checkpoint::open((model / "model.safetensors").string());
        for (const auto &n : ck.names())
            (n.rfind("model.mm_projector.", 0) == 0 ? projector : rest).emplace_back(n, ck.get(n).clone());
    }
    ASSERT_FALSE(projector.empty());
    saveSafeTensors((model / "model.safetensors").string(), rest);
    writeTorchSave(model / "mm_projector.bin", projector);

    auto expectPickleWeights = [](const fs::path &folder, const std::string &stage) {
        try {
            LoadOptions o;
            o.modelDir = folder.string();
            Model::load(o);
            ADD_FAILURE() << stage << ": the model loaded without its projector";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::PickleWeights) << stage << ": " << e.what();
            EXPECT_TRUE(e.subject().ends_with("mm_projector.bin")) << stage << ": subject " << e.subject();
            EXPECT_NE(std::string(e.what()).find("uhdlens-cli convert"), std::string::npos)
                << stage << ": " << e.what();
        }
    };
    expectPickleWeights(model, "safetensors + mm_projector.bin");

    const fs::path out = suggestConvertedFolder(model.string());
    const ConvertReport r = convertModelFolder(model.string(), out.string());
    EXPECT_EQ(r.indexFile, "model.safetensors.index.json");
    std::shared_ptr<const Model> loaded;
    LoadOptions options;
    options.modelDir = out.string();
    ASSERT_NO_THROW(loaded = Model::load(options));
    const Checkpoint converted = Checkpoint::open(out.string());
    for (const auto &[name, t] : projector)
        EXPECT_TRUE(torch::equal(converted.get(name), t)) << "converted tensor '" << name << "'";

    // Pickle weights only: refused by the checkpoint reader with the same code.
    const fs::path only = dir.path() / "only-pickle";
    fs::create_directories(only);
    for (const char *f : {"config.json", "tokenizer.model"})
        fs::copy_file(model / f, only / f);
    fs::copy_file(model / "mm_projector.bin", only / "mm_projector.bin");
    expectPickleWeights(only, "pickle only");
}
