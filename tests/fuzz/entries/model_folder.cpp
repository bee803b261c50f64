// Fuzz entry: the JSON files of a model folder, read as Engine::load reads them (model_folder.h):
// config.json, the optional preprocessor_config.json (also the vision tower's), generation_config.json,
// tokenizer_config.json, special_tokens_map.json, added_tokens.json and uhdlens.json, then the token ids they
// name checked against a real tokenizer.model (tests/data/tokenizer).
//
// Input: sections "==> <file name>\n<content>" (the dictionary has the markers); bytes before the first
// marker are config.json. Unknown names are ignored. The sections are written into a scratch folder.
#include "fuzz_entries.h"

#include "model_folder.h"
#include "tokenizer.h"
#include "uhdlens/errors.h"

#include <filesystem>
#include <string_view>

#ifndef UHDLENS_FUZZ_TOKENIZER
#error "UHDLENS_FUZZ_TOKENIZER (path of a tokenizer.model fixture) must be defined"
#endif

namespace {

constexpr const char *kFiles[] = {
    "config.json",
    "uhdlens.json",
    "preprocessor_config.json",
    "generation_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vision/config.json",
    "vision/preprocessor_config.json",
};

} // namespace

bool fuzz_model_folder(const uint8_t *data, size_t size)
{
    namespace fs = std::filesystem;
    const std::string dir = uhdlens::fuzz::scratchDir() + "/model";
    const std::string visionDir = dir + "/vision";
    static const bool made = fs::create_directories(visionDir);
    (void)made;
    static const std::shared_ptr<uhdlens::Tokenizer> tokenizer =
        uhdlens::Tokenizer::load(UHDLENS_FUZZ_TOKENIZER);
    for (const char *f : kFiles)
        fs::remove(dir + "/" + f);

    const std::string_view in(reinterpret_cast<const char *>(data), size);
    const std::string_view marker = "==> ";
    bool haveVision = false;
    std::string_view name = "config.json";
    size_t at = 0;
    while (true) {
        size_t next = in.find(marker, at);
        while (next != std::string_view::npos && next != 0 && in[next - 1] != '\n')
            next = in.find(marker, next + 1);
        const std::string_view body =
            in.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at);
        for (const char *f : kFiles)
            if (name == f) {
                uhdlens::fuzz::writeFile(dir + "/" + f, body.data(), body.size());
                haveVision = haveVision || name.starts_with("vision/");
            }
        if (next == std::string_view::npos)
            break;
        const size_t eol = in.find('\n', next);
        if (eol == std::string_view::npos)
            break;
        name = in.substr(next + marker.size(), eol - next - marker.size());
        at = eol + 1;
    }

    try {
        const nlohmann::json config = uhdlens::readConfigJson(dir, "model");
        FUZZ_CHECK(config.is_object());
        if (haveVision && fs::exists(visionDir + "/config.json"))
            FUZZ_CHECK(uhdlens::readConfigJson(visionDir, "vision").is_object());
        const uhdlens::FolderFiles files = uhdlens::readModelFolder(dir, haveVision ? visionDir : "", config);
        FUZZ_CHECK(files.config.is_object());
        for (int64_t id : files.eosIds)
            FUZZ_CHECK(id >= 0);
        uhdlens::ModelInfo info;
        uhdlens::readUhdlensJson(dir, info);
        std::vector<std::string> warnings;
        const std::vector<int64_t> stops =
            uhdlens::checkTokenizerFiles(files, *tokenizer, tokenizer->vocabSize(), warnings);
        for (int64_t id : stops)
            FUZZ_CHECK(id >= 0 && id < tokenizer->vocabSize());
        return true;
    } catch (const uhdlens::Error &) {
        return false;
    }
}
