// Internal (torch-free): the files of a Hugging Face model folder beyond config.json and the weights, read as
// the reference code reads them, so a user's folder is run with its own settings instead of our defaults.
//
//     FolderFiles f = readModelFolder(modelDir, visionDir, config);  // config.json already parsed
//     auto vlm = createFamilyModel(f.config, ...);                    // processor keys overlaid on
//     config.json checkTokenizerFiles(f, tokenizer);                              // ids in the JSON files vs
//     tokenizer.model info.settingSources = describeSources(f, info, family);
//
// Which file the references take each value from:
// - preprocessor_config.json (the processor; MiniCPM-V 2.6's image_processing_minicpmv.py, transformers'
//   CLIPImageProcessor): pixel mean/std ("image_mean"/"image_std", or MiniCPM-V 2.6's "norm_mean"/"norm_std")
//   and the slicing settings "scale_resolution", "max_slice_nums", "patch_size", "slice_mode". The LLaVA-UHD
//   release builds its CLIPImageProcessor from the vision tower's folder, so there the vision folder's file
//   is read when the model folder has none. A processor value wins over config.json (the processor is what
//   cuts the image); a disagreement is reported as a warning.
// - generation_config.json: "eos_token_id" (a number or a list) and "bos_token_id": generate() stops on those
//   ids, so they join the family's own stop ids.
// - tokenizer_config.json / special_tokens_map.json: "bos_token", "eos_token", "unk_token" (a string or an
//   {"content": ...} object); added_tokens.json and tokenizer_config.json's "added_tokens_decoder": tokens
//   the Hugging Face tokenizer adds on top of tokenizer.model, each with the id it must have. We tokenize
//   with tokenizer.model alone, so every such token must already be a piece of it with that very id.
// Errors: Error(ConfigInvalid) naming the file and key for unparsable JSON or a value of the wrong type;
// checkTokenizerFiles throws Error(TokenizerInvalid) naming the file and token when the ids disagree.
#pragma once

#include "uhdlens/engine.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace uhdlens {

class Tokenizer;

// The config key under which readModelFolder() lists every token the folder's Hugging Face tokenizer splits
// prompt text on (added tokens, additional_special_tokens, bos/eos/unk); absent when the folder names none.
inline constexpr const char *kSplitTokensKey = "uhdlens_tokenizer_specials";

// tokenizer_config.json's "legacy" (transformers' LlamaTokenizer: whether text right after a special token gets
// SentencePiece's dummy-prefix space), passed to the families under this config key when the file sets it.
inline constexpr const char *kLegacyTokenizerKey = "uhdlens_tokenizer_legacy";

struct FolderFiles
{
    // config.json with the processor's keys overlaid (in the names the families read: image_mean, image_std,
    // scale_resolution, max_slice_nums, patch_size, slice_mode).
    nlohmann::json config;
    // Which file each overlaid or read key came from, e.g. {"max_slice_nums", "preprocessor_config.json"}.
    std::map<std::string, std::string> keySource;
    std::vector<int64_t> eosIds;                    // generation_config.json eos_token_id (empty: none)
    std::optional<int64_t> bosId;                   // generation_config.json bos_token_id
    std::map<std::string, std::string> namedTokens; // "bos_token" | "eos_token" | "unk_token" -> spelling
    std::map<std::string, std::string> namedTokenSource;
    std::map<std::string, int64_t> addedTokens; // spelling -> id (added_tokens.json, added_tokens_decoder)
    std::map<std::string, std::string> addedTokenSource;
    std::set<std::string>
        specialTokens; // "additional_special_tokens" of tokenizer_config / special_tokens_map
    std::set<std::string> specialTokenSource;
    std::vector<std::string> warnings;
};

// config.json of a model or vision folder (`what`: "model" / "vision", for messages). Throws Error(FileNotFound)
// / Error(NotAFile) for the folder, Error(ConfigInvalid) naming the file when config.json is missing, unparsable
// or not a JSON object.
nlohmann::json readConfigJson(const std::string &dir, const char *what);

// The optional uhdlens.json next to the weights: {"name", "description", "suggested_questions": [...]} into
// `info`. A broken file only adds a warning to info.warnings, never fails.
void readUhdlensJson(const std::string &dir, ModelInfo &info);

// Reads the optional files of modelDir (and visionDir's preprocessor_config.json when given). Missing files
// are fine; unreadable or malformed ones throw Error(ConfigInvalid) naming the file (and the key).
FolderFiles readModelFolder(const std::string &modelDir, const std::string &visionDir,
                            const nlohmann::json &config);

// Checks the token ids the JSON files name against tokenizer.model and returns the extra stop ids they imply
// (generation_config's eos ids and the named eos token). Throws Error(TokenizerInvalid) naming the file, the
// token and both ids when they disagree, or when an id is outside the vocabulary. An added token that
// tokenizer.model lacks, with an id after all of its pieces (a "<pad>" appended by Hugging Face), is a
// warning.
std::vector<int64_t> checkTokenizerFiles(const FolderFiles &files, const Tokenizer &tokenizer,
                                         int64_t vocabSize, std::vector<std::string> &warnings);

// One line per setting a user may wonder about ("slice.scale", "pixel.mean", "stop.ids", ...): its effective
// value (from `info`, as the model was built) and where it came from: a file name, "vision/<file>" for the
// vision folder, or "default" (the family's built-in value, as the reference code hard-codes it).
// `tokenizerFile`: the tokenizer file the stop ids and added tokens were checked against.
std::vector<SettingSource> describeSources(const FolderFiles &files, const ModelInfo &info,
                                           const std::vector<int64_t> &stopIds, const std::string &pixelText,
                                           const std::string &tokenizerFile = "tokenizer.model");

// The file name of a loaded tokenizer ("tokenizer.model", "tokenizer.json"), for messages.
std::string tokenizerFileName(const Tokenizer &tokenizer);

} // namespace uhdlens
