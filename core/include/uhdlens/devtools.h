// UHD Lens — developer tools behind `uhdlens-cli make-tiny` and `uhdlens-cli encode --dump` (no torch here).
//
//     auto tiny = uhdlens::writeTinyModel(uhdlens::Family::MiniCpmV, "/tmp/tiny", 42, "resources/text/tiny-corpus.txt");
//     auto model = uhdlens::Model::load({.modelDir = tiny.modelDir});
//     auto names = uhdlens::dumpEncoding(*model, uhdlens::loadImage("a.png"), std::nullopt, "What is it?", "d.safetensors");
//
// Both are deterministic (same inputs and seed -> same bytes) and throw uhdlens::Error.
#pragma once

#include "uhdlens/engine.h"

#include <QImage>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uhdlens {

struct TinyModel
{
    std::string modelDir;   // config.json, model.safetensors, tokenizer.model, uhdlens.json
    std::string visionDir;  // llava-uhd only: <out>/vision with the CLIP tower's config.json + model.safetensors
    std::int64_t parameters = 0;
    std::vector<std::string> files;
};

// Writes a random-initialised checkpoint of `family` with the family's
// real tensor names and config keys (shapes shrunk), and a SentencePiece tokenizer trained on `corpusFile` with
// the family's special tokens. The model folder is self-contained; for llava-uhd the vision tower is also written
// to a separate folder so `--vision` can be exercised. Throws Error(FileNotFound) for a
// missing corpus, Error(FileUnreadable) when the output cannot be written.
TinyModel writeTinyModel(Family family, const std::string &outDir, std::uint64_t seed,
                         const std::string &corpusFile);

struct DumpedTensor
{
    std::string name;
    std::vector<std::int64_t> shape;
};

// Encodes `rgb` under the model's (or the given) policy and writes every named intermediate as float32 to a
// .safetensors file: per encoded image k "image<k>.pixels" [1,3,H,W], the family's stages "image<k>.<stage>"
// (e.g. vision features, resampler output) and "image<k>.tokens" [T,D]; then "prompt.embeds" [positions,D], the
// final language-model input for `question`. The plan (plan JSON) is stored in the file's metadata. Returns the
// tensors written, in order.
std::vector<DumpedTensor> dumpEncoding(const Model &model, const QImage &rgb, const std::optional<SlicePolicy> &policy,
                                       const std::string &question, const std::string &outFile);

} // namespace uhdlens
