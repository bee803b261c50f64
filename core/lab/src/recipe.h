// Internal (lab): the training recipe's model configuration (presets, config.json) and what a finished folder
// suggests asking. TrainOptions::validate and trainingConfigJson (training.h) live in recipe.cpp too.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace uhdlens::lab {

// The config.json of a preset ("tiny" | "micro") and policy ("llava-uhd" | "minicpmv" | "llava15"): the
// uhd-paper family's tiny config with the preset's sizes. Throws Error(InvalidArgument) for an unknown
// preset, policy, resampler attention ("global" | "spatial") or patch embedding ("linear" | "conv").
nlohmann::json buildConfig(const std::string &preset, const std::string &policy, int maxSlices,
                           const std::string &attention, const std::string &patchEmbed);

// The questions a trained folder's uhdlens.json suggests (one per task of the generator).
std::vector<std::string> suggestedQuestions();

} // namespace uhdlens::lab
