// make-tiny and encode --dump (devtools.h).
#include "uhdlens/devtools.h"

#include "bpe_tokenizer.h"
#include "engine_impl.h"
#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/plan_json.h"

#include <QDir>
#include <QFile>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>

namespace uhdlens {

namespace {

std::string join(const std::string &dir, const std::string &name)
{
    return QDir(QString::fromStdString(dir)).filePath(QString::fromStdString(name)).toStdString();
}

// A byte-level BPE learned from `sentences` (GPT-2 style: words are split at spaces, each but the first
// keeping its leading space; the most frequent adjacent pair is merged until the vocabulary, 256 byte tokens
// + merges + `specials`, reaches `vocabSize`), written as a Hugging Face tokenizer.json with Qwen2's
// pre-tokenizer and NFC, and the tokenizer_config.json naming the specials. Deterministic: ties go to the
// smallest pair. The tiny models need a tokenizer whose ids fill their vocabulary exactly; its quality does
// not matter.
void writeTinyBpe(const std::vector<std::string> &sentences, int vocabSize,
                  const std::vector<std::string> &specials, const std::string &outDir, Family family)
{
    std::map<std::vector<std::string>, int64_t> words;
    for (const std::string &line : sentences) {
        size_t start = 0;
        while (start < line.size()) {
            size_t end = line.find(' ', start + 1);
            end = end == std::string::npos ? line.size() : end;
            std::vector<std::string> symbols;
            for (size_t i = start; i < end; ++i)
                symbols.push_back(byteLevelSpelling(line.substr(i, 1)));
            ++words[symbols];
            start = end;
        }
    }
    nlohmann::json vocab = nlohmann::json::object();
    int64_t next = 0;
    for (int b = 0; b < 256; ++b)
        vocab[byteLevelSpelling(std::string(1, static_cast<char>(b)))] = next++;
    nlohmann::json merges = nlohmann::json::array();
    const int64_t target = vocabSize - static_cast<int64_t>(specials.size());
    while (next < target) {
        std::map<std::pair<std::string, std::string>, int64_t> pairs;
        for (const auto &[symbols, count] : words)
            for (size_t i = 0; i + 1 < symbols.size(); ++i)
                pairs[{symbols[i], symbols[i + 1]}] += count;
        auto best = pairs.end();
        for (auto it = pairs.begin(); it != pairs.end(); ++it)
            if (best == pairs.end() || it->second > best->second)
                best = it;
        if (best == pairs.end() || best->second < 2)
            break;
        const auto [left, right] = best->first;
        merges.push_back(left + " " + right);
        if (!vocab.contains(left + right))
            vocab[left + right] = next++;
        std::map<std::vector<std::string>, int64_t> merged;
        for (const auto &[symbols, count] : words) {
            std::vector<std::string> out;
            for (size_t i = 0; i < symbols.size(); ++i) {
                if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
                    out.push_back(left + right);
                    ++i;
                } else {
                    out.push_back(symbols[i]);
                }
            }
            merged[out] += count;
        }
        words = std::move(merged);
    }
    if (next < target)
        throw Error(ErrorCode::InvalidArgument, "the tokenizer corpus is too small for a " +
                                                    std::to_string(vocabSize) + "-token BPE vocabulary");
    nlohmann::json added = nlohmann::json::array(), decoder = nlohmann::json::object();
    for (const std::string &t : specials) {
        // Qwen3's tokenizer_config.json (MiniCPM-V 4.5) marks <think> / </think> "special": false: they are
        // decoded into the answer, like any text.
        const bool special = t != "<think>" && t != "</think>";
        const nlohmann::json entry = {{"content", t},    {"single_word", false}, {"lstrip", false},
                                      {"rstrip", false}, {"normalized", false},  {"special", special}};
        nlohmann::json withId = entry;
        withId["id"] = next;
        added.push_back(withId);
        decoder[std::to_string(next++)] = entry;
    }
    const nlohmann::json byteLevel = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
    const nlohmann::json tokenizer = {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens", added},
        {"normalizer", {{"type", "NFC"}}},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern", {{"Regex", bpePreTokenizerPattern("qwen2", "make-tiny")}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            byteLevel}}}},
        {"post_processor", byteLevel},
        {"decoder", byteLevel},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"ignore_merges", false},
          {"vocab", vocab},
          {"merges", merges}}}};
    writeJsonFile(join(outDir, "tokenizer.json"), tokenizer);
    // MiniCPM-V 2.6's tokenizer_config.json: ChatML eos, Qwen2's <|endoftext|> pad, the processor's <unk>, no
    // bos, and Qwen2's chat template (the family's buildPrompt lays out the same text). MiniCPM-V 4.5's has
    // the same tokens and the generation-prompt part of Qwen3's template (no default system message, the
    // enable_thinking block; its reasoning_content and tool branches left out).
    nlohmann::json config = {
        {"added_tokens_decoder", decoder},
        {"bos_token", nullptr},
        {"eos_token", "<|im_end|>"},
        {"pad_token", "<|endoftext|>"},
        {"unk_token", "<unk>"},
        {"model_max_length", 32768},
        {"tokenizer_class", "MiniCPMVTokenizerFast"},
        {"chat_template",
         "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
         "'<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + "
         "message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if "
         "add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"}};
    if (family == Family::MiniCpmV45)
        config["chat_template"] =
            "{%- for message in messages %}{%- if message.role == 'assistant' and '</think>' in message.content "
            "%}{{- '<|im_start|>assistant\n' + message.content.split('</think>')[-1].lstrip('\n') + "
            "'<|im_end|>\n' }}{%- else %}{{- '<|im_start|>' + message.role + '\n' + message.content + "
            "'<|im_end|>\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- "
            "'<|im_start|>assistant\n' }}{%- if enable_thinking is defined and enable_thinking is false %}{{- "
            "'<think>\n\n</think>\n\n' }}{%- endif %}{%- if enable_thinking is defined and enable_thinking is "
            "true %}{{- '<think>\n' }}{%- endif %}{%- endif %}";
    writeJsonFile(join(outDir, "tokenizer_config.json"), config);
}

} // namespace

TinyModel writeTinyModel(Family family, const std::string &outDir, std::uint64_t seed,
                         const std::string &corpusFile)
{
    const nlohmann::json config = tinyConfig(family);
    const std::string familyName = nameOf(family);
    std::ifstream corpus(corpusFile);
    if (!corpus)
        throw Error(ErrorCode::FileNotFound, "tokenizer corpus not found: " + corpusFile, corpusFile);
    // The tiny vocabularies (a few hundred pieces) have room for 256 byte pieces, the special tokens and the
    // ASCII characters, not for every character of a multilingual text: sentencepiece refuses a vocabulary
    // smaller than the characters it must cover. So the tokenizer learns from the ASCII sentences; any other
    // text still round-trips through byte fallback.
    std::vector<std::string> sentences, all;
    for (std::string line; std::getline(corpus, line);) {
        if (line.empty())
            continue;
        all.push_back(line);
        if (std::all_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
            sentences.push_back(line);
    }
    if (!QDir().mkpath(QString::fromStdString(outDir)))
        throw Error(ErrorCode::FileUnreadable, "cannot create folder " + outDir, outDir);

    TinyModel tiny;
    tiny.modelDir = outDir;
    torch::NoGradGuard noGrad;
    auto vlm = createFamilyModel(config, nullptr);
    initRandom(*vlm, seed);
    const auto params = vlm->namedParameters();
    for (const auto &p : params)
        tiny.parameters += p.second.numel();

    writeJsonFile(join(outDir, "config.json"), config);
    const std::map<std::string, std::string> meta = {
        {"format", "pt"}, {"uhdlens_family", familyName}, {"uhdlens_seed", std::to_string(seed)}};
    saveSafeTensors(join(outDir, "model.safetensors"), params, meta);

    std::vector<std::string> special;
    if (config.contains("uhdlens_special_tokens"))
        special = config["uhdlens_special_tokens"].get<std::vector<std::string>>();
    else
        special = familySpecialTokens(family);
    const int vocab = static_cast<int>(vlm->vocabSize()); // the tokenizer fills the model's vocabulary exactly
    std::vector<std::string> tokenizerFiles;
    if (familyTokenizer(family) == TokenizerFormat::ByteLevelBpe) {
        writeTinyBpe(vocab >= 2000 ? all : sentences, vocab, special, outDir, family);
        tokenizerFiles = {"tokenizer.json", "tokenizer_config.json"};
        // The processor's and generate()'s files of a Hugging Face MiniCPM-V 2.6 folder.
        nlohmann::json processor = {{"image_processor_type", "MiniCPMVImageProcessor"},
                                    {"processor_class", "MiniCPMVProcessor"},
                                    {"image_feature_size", vlm->tokensPerImage()},
                                    {"norm_mean", {0.5, 0.5, 0.5}},
                                    {"norm_std", {0.5, 0.5, 0.5}},
                                    {"slice_mode", true},
                                    {"use_image_id", true},
                                    {"version", 2.6}}; // 4.5's preprocessor_config.json says 2.6 too
        const SlicePolicy policy = vlm->policy();
        processor["max_slice_nums"] = policy.maxSlices;
        processor["scale_resolution"] = policy.scale;
        processor["patch_size"] = policy.patch;
        writeJsonFile(join(outDir, "preprocessor_config.json"), processor);
        const auto tok = Tokenizer::loadBpe(outDir);
        nlohmann::json generation = {{"bos_token_id", tok->pieceToId("<|endoftext|>")},
                                     {"eos_token_id", tok->pieceToId("<|im_end|>")}};
        if (family == Family::MiniCpmV45) { // 4.5's generation_config.json: both terminators, thinking off
            generation["eos_token_id"] = {tok->pieceToId("<|im_end|>"), tok->pieceToId("<|endoftext|>")};
            generation["chat_template_kwargs"] = {{"enable_thinking", false}};
        }
        writeJsonFile(join(outDir, "generation_config.json"), generation);
        tokenizerFiles.push_back("preprocessor_config.json");
        tokenizerFiles.push_back("generation_config.json");
    } else {
        Tokenizer::train(vocab >= 2000 ? all : sentences, join(outDir, "tokenizer.model"), vocab, special);
        tokenizerFiles = {"tokenizer.model"};
    }

    nlohmann::json extra = {
        {"name", "UHD Lens tiny " + familyName + " (random weights, seed " + std::to_string(seed) + ")"},
        {"description", "Random weights for tests and demos: its answers are meaningless."},
        {"suggested_questions", {"What is in the image?", "What colour is the button?"}}};
    writeJsonFile(join(outDir, "uhdlens.json"), extra);
    tiny.files = {join(outDir, "config.json"), join(outDir, "model.safetensors")};
    for (const std::string &f : tokenizerFiles)
        tiny.files.push_back(join(outDir, f));
    tiny.files.push_back(join(outDir, "uhdlens.json"));

    const auto prefixes = vlm->visionTowerPrefixes();
    if (!prefixes.empty()) {
        // The vision tower as its own folder (what LLaVA-UHD's mm_vision_tower points at).
        tiny.visionDir = join(outDir, "vision");
        QDir().mkpath(QString::fromStdString(tiny.visionDir));
        std::vector<std::pair<std::string, torch::Tensor>> vision;
        for (const auto &p : params)
            for (const auto &prefix : prefixes)
                if (p.first.rfind(prefix, 0) == 0) {
                    vision.push_back(p);
                    break;
                }
        const nlohmann::json visionConfig = config.contains("vision_config") ? config["vision_config"] : config;
        writeJsonFile(join(tiny.visionDir, "config.json"), visionConfig);
        saveSafeTensors(join(tiny.visionDir, "model.safetensors"), vision, meta);
        tiny.files.push_back(join(tiny.visionDir, "config.json"));
        tiny.files.push_back(join(tiny.visionDir, "model.safetensors"));
    }
    return tiny;
}

std::vector<DumpedTensor> dumpEncoding(const Model &model, const QImage &rgb, const std::optional<SlicePolicy> &policy,
                                       const std::string &question, const std::string &outFile)
{
    const Model::Impl &mi = model.impl();
    const VisionLanguageModel &vlm = *mi.vlm;
    torch::InferenceMode inference;
    if (rgb.isNull())
        throw Error(ErrorCode::ImageEmpty, "the image is empty");
    const SlicePlan plan = model.plan({rgb.width(), rgb.height()}, policy);

    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    auto keep = [&](const std::string &name, const torch::Tensor &t) {
        tensors.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat).contiguous().clone());
    };
    const std::vector<torch::Tensor> px = mi.pixels(rgb, plan);
    std::vector<torch::Tensor> encoded;
    for (size_t k = 0; k < px.size(); ++k) {
        const std::string prefix = "image" + std::to_string(k) + ".";
        keep(prefix + "pixels", px[k]);
        encoded.push_back(mi.encode(px[k], keep, prefix));
        keep(prefix + "tokens", encoded.back());
    }
    const Prompt prompt = vlm.buildPrompt(plan, {}, question, *mi.tokenizer);
    keep("prompt.embeds", embedPrompt(vlm, prompt, torch::stack(encoded, 0)));

    const std::map<std::string, std::string> meta = {{"plan", planToJson(plan, model.info().layout).dump()},
                                                     {"family", nameOf(model.info().family)},
                                                     {"dtype", nameOf(model.info().dtype)},
                                                     {"question", question}};
    saveSafeTensors(outFile, tensors, meta);
    std::vector<DumpedTensor> out;
    for (const auto &t : tensors)
        out.push_back({t.first, t.second.sizes().vec()});
    return out;
}

} // namespace uhdlens
