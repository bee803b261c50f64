// Internal (torch-free): which two GGUF files make a vision model. llama.cpp keeps a model as a
// language-model file plus an mmproj file (general.architecture "clip"); LM Studio puts both in one folder,
// Ollama stores them as digest-named blobs, so the user names a folder, one file, or both files.
//
//     GgufPair p = findGgufPair("/models/MiniCPM-V-2_6-gguf");            // the folder's two files
//     GgufPair p = findGgufPair("/models/x/ggml-model-Q4_0.gguf");        // its partner from the same folder
//     GgufPair p = findGgufPair(ollamaBlobA, ollamaBlobB);                // an explicit pair, either order
//     checkGgufPair(llmHeader, mmprojHeader, p);                          // widths and projector agree
#pragma once

#include "gguf/gguf_file.h"

#include <string>

namespace uhdlens::gguf {

struct GgufPair
{
    std::string llm, mmproj;
};

// Resolves `path` (a folder or a GGUF file) and, when given, `second` (the other file of an explicit pair,
// any name: Ollama blobs have no extension) into the LLM file and the mmproj file, telling them apart by
// general.architecture ("clip" = mmproj). In a folder only *.gguf files are considered. Errors, naming the
// files: Error(FileNotFound) when a path does not exist or a folder has no LLM / no mmproj file;
// Error(InvalidArgument) when a folder holds several LLM or several mmproj files (which one is the user's
// choice: name it) or an explicit pair is two LLMs / two mmproj files; Error(CheckpointInvalid) for a
// malformed file.
GgufPair findGgufPair(const std::string &path, const std::string &second = {});

// The two headers belong together: the mmproj is a MiniCPM-V resampler projector (mmprojVisionConfigJson's
// checks) whose output width (resampler.query's rows) is the LLM's embedding width. Error(ConfigInvalid)
// naming both files and the two widths otherwise; the mmproj's own refusals as mmprojVisionConfigJson raises
// them.
void checkGgufPair(const GgufHeader &llm, const GgufHeader &mmproj, const GgufPair &files);

} // namespace uhdlens::gguf
