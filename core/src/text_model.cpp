// A text-only language model from one GGUF file (uhdlens/text_model.h). The file's metadata becomes the
// Hugging Face config.json that models/qwen_lm.h reads (gguf_model.h llmConfigJson), the decoder is the same
// nn::LlamaModel the MiniCPM-V families use, and the weights come through the GGUF loader's one name table
// (gguf_loader.h fillGgufParameters: quantized matrices as QuantLinear, LLaMA Q/K rows un-permuted, the token
// embedding dequantized once).
#include "uhdlens/text_model.h"

#include "bpe_tokenizer.h"
#include "engine_impl.h" // resolveDevice, resolveDtype, dtypeOf
#include "generation.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_loader.h"
#include "gguf/gguf_model.h"
#include "models/qwen_lm.h"
#include "text_model_impl.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"
#include "uhdlens/runtime.h"

#include <QDir>
#include <QFileInfo>

#include <algorithm>
#include <chrono>

namespace uhdlens {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

models::QwenVersion versionOf(const std::string &arch)
{
    if (arch == "qwen3")
        return models::QwenVersion::Qwen3;
    return arch == "qwen2" ? models::QwenVersion::Qwen2 : models::QwenVersion::Llama;
}

std::unique_ptr<TextModel::Impl> loadText(const LoadOptions &options, const LoadProgress &progress)
{
    auto report = [&](double f, const std::string &stage) {
        if (progress)
            progress(f, stage);
    };
    if (!options.mmproj.empty() || !options.visionDir.empty())
        throw Error(
            ErrorCode::InvalidArgument,
            "a text model is one language-model GGUF file: --mmproj / --vision belong to a vision model",
            options.mmproj.empty() ? options.visionDir : options.mmproj);
    report(0.0, "reading metadata");
    const gguf::GgufFile file = gguf::GgufFile::open(options.modelDir);
    const gguf::Metadata &meta = file.meta();
    const std::string arch = meta.optString("general.architecture").value_or("");
    if (arch == "clip")
        throw Error(ErrorCode::CheckpointInvalid,
                    "GGUF file '" + file.path() +
                        "' is an mmproj (vision projector) file, not a language model: give the LLM file",
                    "general.architecture");
    const nlohmann::json config = gguf::llmConfigJson(file.header()); // UnknownFamily / ConfigInvalid
    const models::QwenConfig qwen = models::qwenConfig(config, versionOf(arch), "");

    const torch::Device device = resolveDevice(options.device);
    // "auto" on the CPU is f32 here, not the vision models' bf16 / mixed: QuantLinear computes in f32
    // whatever the activations' dtype, so bf16 would only round the activations between layers, and a 135M
    // model does not survive that (SmolLM2-135M-Instruct answers "What is the capital of France?" with "The
    // capital of France is Paris." in f32 and with a runaway list in bf16: DECISIONS.md).
    const torch::Dtype dtype = options.dtype == Dtype::Auto && device.is_cpu()
                                   ? torch::kFloat32
                                   : resolveDtype(options.dtype, device).compute;
    setThreadCount(options.threads);

    report(0.05, "tokenizer");
    auto impl = std::make_unique<TextModel::Impl>();
    BpeSpec spec = gguf::ggufBpeSpec(meta); // Error(TokenizerInvalid) naming the key
    spec.source = file.path();
    impl->tokenizer = Tokenizer::fromBpe(std::make_shared<const BpeTokenizer>(spec));
    impl->chat = gguf::ggufChatFormat(meta, meta.getStringArray("tokenizer.ggml.tokens"));
    impl->addBos =
        meta.optBool("tokenizer.ggml.add_bos_token").value_or(false) && impl->tokenizer->bosId() >= 0;
    for (const char *t : {"<|im_end|>"})
        if (impl->tokenizer->hasPiece(t))
            impl->stopIds.push_back(impl->tokenizer->pieceToId(t));
    if (const int64_t eos = impl->tokenizer->eosId();
        eos >= 0 && std::find(impl->stopIds.begin(), impl->stopIds.end(), eos) == impl->stopIds.end())
        impl->stopIds.push_back(eos);
    if (impl->tokenizer->vocabSize() > qwen.options.vocab)
        throw Error(ErrorCode::TokenizerInvalid,
                    "GGUF file '" + file.path() + "' has " + std::to_string(impl->tokenizer->vocabSize()) +
                        " tokens, more than token_embd's " + std::to_string(qwen.options.vocab) + " rows",
                    "tokenizer.ggml.tokens");

    report(0.1, "building the language model");
    torch::NoGradGuard noGrad;
    impl->root = std::make_shared<torch::nn::Module>();
    impl->lm = models::buildQwenLm(*impl->root, qwen, torch::TensorOptions().dtype(dtype).device(device));
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (const auto &p : impl->root->named_parameters(true))
        params.emplace_back(p.key(), p.value());
    std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules;
    for (const auto &m : impl->root->named_modules())
        modules.emplace_back(m.key(), m.value());

    report(0.2, "mapping weights");
    const std::vector<std::string> dequantized =
        gguf::fillGgufParameters({{&file, gguf::FileKind::Llm, ""}}, params, modules, arch);

    TextModelInfo &info = impl->info;
    info.path = file.path();
    info.name = meta.optString("general.name")
                    .value_or(QFileInfo(QString::fromStdString(file.path())).fileName().toStdString());
    info.architecture = arch;
    for (const auto &p : params)
        info.parameters += p.second.numel();
    info.weightBytes = static_cast<int64_t>(file.header().fileSize - file.header().dataStart);
    info.dtype = dtypeOf(dtype);
    info.device = device.str();
    info.weightsHash = gguf::headerHash(file);
    info.contextLength = static_cast<int>(qwen.options.maxPositions);
    info.systemMessage = impl->chat.defaultSystem;
    const std::string fileName = QFileInfo(QString::fromStdString(file.path())).fileName().toStdString();
    info.settingSources.push_back(
        {"chat.template",
         impl->chat.defaultSystem.empty() ? "ChatML" : "ChatML, system: \"" + impl->chat.defaultSystem + "\"",
         impl->chat.source == "tokenizer.chat_template" ? fileName : "default"});
    std::string stops;
    for (int64_t id : impl->stopIds)
        stops += (stops.empty() ? "" : ", ") + std::to_string(id);
    info.settingSources.push_back({"stop.ids", stops, fileName});
    std::string deq;
    for (const auto &n : dequantized)
        deq += (deq.empty() ? "; dequantized to f32 once: " : ", ") + n;
    info.settingSources.push_back({"weights.llm", gguf::typeCounts(file) + deq, fileName});
    report(1.0, "ready");
    return impl;
}

} // namespace

std::string TextModel::Impl::promptText(const std::vector<Turn> &history, const std::string &question) const
{
    std::string s;
    if (!chat.defaultSystem.empty())
        s += "<|im_start|>system\n" + chat.defaultSystem + "<|im_end|>\n";
    for (const Turn &t : history)
        s += "<|im_start|>user\n" + t.question + "<|im_end|>\n<|im_start|>assistant\n" + t.answer +
             "<|im_end|>\n";
    s += "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n";
    return s;
}

std::vector<int64_t> TextModel::Impl::promptIds(const std::vector<Turn> &history,
                                                const std::string &question) const
{
    std::vector<int64_t> ids;
    if (addBos)
        ids.push_back(tokenizer->bosId());
    const std::vector<int64_t> text = tokenizer->encode(promptText(history, question));
    ids.insert(ids.end(), text.begin(), text.end());
    return ids;
}

torch::Tensor TextModel::Impl::forward(const std::vector<int64_t> &ids, KVCache &cache) const
{
    const torch::Tensor embeds =
        lm.model->embed(torch::tensor(ids, torch::kLong).to(lm.model->embed_tokens.device()));
    return lm.forwardCached(embeds.to(lm.model->computeDtype), cache).to(torch::kCPU);
}

TextModel::TextModel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
TextModel::~TextModel() = default;
const TextModelInfo &TextModel::info() const
{
    return m_impl->info;
}

std::shared_ptr<const TextModel> TextModel::load(const LoadOptions &options, const LoadProgress &progress)
{
    try {
        return std::shared_ptr<const TextModel>(new TextModel(loadText(options, progress)));
    } catch (const Error &e) {
        // A damaged copy of the installed base weights: say how to get a good one back.
        const QString base = QDir::cleanPath(QString::fromStdString(baseWeightsDir())) + QLatin1Char('/');
        const QString path = QFileInfo(QString::fromStdString(options.modelDir)).absoluteFilePath();
        if (!path.startsWith(base) || e.code() == ErrorCode::InvalidArgument)
            throw;
        throw Error(e.code(),
                    std::string(e.what()) + " (this is an installed base weight file: run " +
                        kBaseWeightsCommand + " to reinstall it)",
                    e.subject());
    }
}

TextChat::TextChat(std::shared_ptr<const TextModel> model) : m_model(std::move(model))
{
    if (!m_model)
        throw Error(ErrorCode::InvalidArgument, "TextChat needs a loaded text model");
}
TextChat::~TextChat() = default;
const std::vector<Turn> &TextChat::history() const
{
    return m_history;
}
void TextChat::clearHistory()
{
    m_history.clear();
}

AskResult TextChat::ask(const std::string &question, const GenerationSettings &settings,
                        const AskCallbacks &callbacks)
{
    if (const std::string why = settings.validate(); !why.empty())
        throw Error(ErrorCode::InvalidArgument, why, "settings");
    if (question.empty())
        throw Error(ErrorCode::InvalidArgument, "the question is empty", "question");
    const TextModel::Impl &mi = m_model->impl();
    torch::InferenceMode inference;
    AskResult result;
    const std::vector<int64_t> ids = mi.promptIds(m_history, question);
    const int context = mi.info.contextLength;
    result.promptTokens = static_cast<int>(ids.size());
    if (static_cast<int64_t>(ids.size()) >= context)
        throw Error(ErrorCode::ContextOverflow,
                    "the conversation needs " + std::to_string(ids.size()) +
                        " positions, but the model's context holds " + std::to_string(context) +
                        ": shorten the question or clear the conversation",
                    "context");

    // The whole prompt every turn (no KV reuse across turns: a 135M model prefills hundreds of tokens per
    // second, and the history is re-rendered by the template anyway).
    KVCache kv;
    const auto tp = Clock::now();
    const torch::Tensor logits = mi.forward(ids, kv);
    result.prefillMs = msSince(tp);
    result.prefillTokensPerSecond = result.prefillMs > 0 ? double(ids.size()) * 1000.0 / result.prefillMs : 0;

    // Byte-level BPE: each token's bytes (control tokens none), joined into whole UTF-8 characters.
    const BpeTokenizer *bpe = mi.tokenizer->bpe();
    PieceDecoder decoder([tok = mi.tokenizer, bpe](
                             int64_t id) { return tok->isControl(id) ? std::string() : bpe->tokenBytes(id); },
                         {}, /*rawBytes=*/true);
    GenerationIO io;
    io.decoder = &decoder;
    io.stopIds = mi.stopIds;
    io.stopStrings = {};
    io.stripLeadingSpace = false; // byte-level BPE has no dummy prefix: the text is what decode() gives
    io.context = ids;
    io.maxTokens = static_cast<int>(
        std::min<int64_t>(settings.maxNewTokens, context - static_cast<int64_t>(ids.size())));
    io.step = [&](int64_t id) { return mi.forward({id}, kv); };
    const auto td = Clock::now();
    const GenerationOutput gen = generate(logits, settings, io, callbacks.token, callbacks.cancel);
    setAnswer(result, gen, msSince(td));
    m_history.push_back({question, result.answer});
    return result;
}

} // namespace uhdlens
