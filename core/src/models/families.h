// Internal: constructors and config presets of the three families (one .cpp per family), used by
// family_registry.cpp. Include only from core/src/models/*.cpp and tests.
#pragma once

#include "models/family_common.h"

namespace uhdlens::models {

// Vocabulary of the tiny configs: room for 4 control pieces, 256 byte-fallback pieces, the family's special
// tokens and ~120 learned pieces of a small bundled text.
inline constexpr int64_t kTinyVocab = 400;

std::unique_ptr<VisionLanguageModel> createMiniCpmV(const json &config, const FamilyBuildOptions &options);
std::unique_ptr<VisionLanguageModel> createLlavaUhd(const json &config, const json *visionConfig,
                                                    const FamilyBuildOptions &options);
std::unique_ptr<VisionLanguageModel> createUhdPaper(const json &config, const FamilyBuildOptions &options);
std::unique_ptr<VisionLanguageModel> createMiniCpmV26(const json &config, const FamilyBuildOptions &options);
std::unique_ptr<VisionLanguageModel> createMiniCpmV45(const json &config, const FamilyBuildOptions &options);

// LLaVA-UHD release internals exposed for the parity tests: RoIAlign boxes of a feature map (as the
// reference rounds them) and the pooled size (outH, outW) cal_best_pooling_size picks.
std::vector<std::array<float, 4>> llavaUhdBoxes(int64_t h, int64_t w, torch::Dtype dtype);
std::pair<int64_t, int64_t> llavaUhdPoolingSize(int64_t h, int64_t w);

json tinyMiniCpmV();
json realMiniCpmV();
json tinyLlavaUhd();
json tinyUhdPaper();
json tinyMiniCpmV26();
json realMiniCpmV26();
json tinyMiniCpmV45();
json realMiniCpmV45();

// config.json "version" of a MiniCPM-V checkpoint as text ("2.6" for the number 2.6 or the string "2.6"); ""
// when the key is absent (MiniCPM-V 2.0's config has none). Error(ConfigInvalid) naming "version" for another
// type.
std::string miniCpmVersion(const json &config);

} // namespace uhdlens::models
