// MiniCPM-V 2.6 from a GGUF pair through the normal Model::load, against the same checkpoint as a Hugging
// Face folder and the official chat path. tests/data/reference/minicpmv26-gguf/ holds llama.cpp's own
// conversion of tests/data/reference/minicpmv26-e2e/model.safetensors
// (tests/tools/reference/minicpmv26_gguf_fixture.py): llm-f16.gguf (convert_hf_to_gguf.py), llm-q8_0.gguf /
// llm-q4_0.gguf (llama-quantize), mmproj-f16.gguf (minicpmv-convert-image-encoder-to-gguf.py). The comparison
// values are the e2e fixture's (the official MiniCPMV.chat in float32 on the HF folder): prompt ids, first
// logits, 16 greedy tokens, answers.
//
// Stages, each failure naming it: load (family, slicing and tokenizer from the metadata) -> prompt ids (turn
// 1 and a follow-up) equal the HF folder's and the official ones -> first logits against the HF folder loaded
// in f32 on the same pixels (F16: max abs <= kF16Logits; Q8_0 / Q4_0: looser, stated below), and exactly
// those of the folder model given the files' dequantized matrices -> F16: the 16 greedy tokens and both
// answers equal the official ones. Then the bad pairs and files, each a typed error through Model::load.
#include "engine_impl.h"
#include "generation.h"
#include "model_family.h"
#include "nn/layers.h"
#include "quant/quant_linear.h"
#include "safetensors.h"
#include "uhdlens/engine.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

using namespace uhdlens;
namespace fs = std::filesystem;

namespace {

const std::string kE2e = UHDLENS_TEST_DATA "/reference/minicpmv26-e2e";
const std::string kGguf = UHDLENS_TEST_DATA "/reference/minicpmv26-gguf";
const std::string kMmproj = kGguf + "/mmproj-f16.gguf";

// Max abs difference of the first logits from the HF folder's in f32 (the folder's are within 1e-4 of the
// official f32 run: test_reference_minicpmv26_e2e.cpp; this tiny random model's logits reach |14.5|). F16:
// the checkpoint is bf16, and bf16 -> f16 is exact for these values (8 of f16's 10 mantissa bits, inside its
// range), so only summation order is left. Q8_0 / Q4_0: llama.cpp's rounding of the LLM matrices (the mmproj
// stays F16), plus ggml's Q8_0 / Q8_K rounding of the activations on the few-rows path (the last position's
// lm_head row). Measured figures: the [logits] lines.
constexpr double kF16Logits = 1e-4;
constexpr double kQ8Logits = 0.3;
constexpr double kQ4Logits = 3.5;
constexpr double kDequantizedLogits = 1e-4;

torch::Tensor fixture(const std::string &name)
{
    static const Checkpoint ck = Checkpoint::open(kE2e + "/reference.safetensors");
    return ck.get(name).clone();
}

nlohmann::json reference()
{
    std::ifstream in(kE2e + "/reference.json");
    return nlohmann::json::parse(in);
}

std::vector<int64_t> ids(const torch::Tensor &t)
{
    const auto c = t.to(torch::kLong).contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

std::shared_ptr<const Model> loadPair(const std::string &llm, const std::string &mmproj = kMmproj)
{
    LoadOptions o;
    o.modelDir = llm;
    o.mmproj = mmproj;
    o.dtype = Dtype::F32;
    o.device = {Device::Cpu};
    return Model::load(o);
}

std::shared_ptr<const Model> loadFolder()
{
    LoadOptions o;
    o.modelDir = kE2e;
    o.dtype = Dtype::F32;
    o.device = {Device::Cpu};
    return Model::load(o);
}

// The prompt as the official processor spells it: each image slot is image_feature_size x <unk>.
std::vector<int64_t> flat(const Prompt &p, int tokensPerImage, int64_t unk)
{
    std::vector<int64_t> out;
    for (const auto &s : p.segments) {
        if (s.imageIndex >= 0)
            out.insert(out.end(), static_cast<size_t>(tokensPerImage), unk);
        else
            out.insert(out.end(), s.ids.begin(), s.ids.end());
    }
    return out;
}

// First logits of turn 1 on our own pixels of the fixture image (the same for both loads; the e2e test holds
// them within one 8-bit level of the official processor's), and the cache after them.
torch::Tensor firstLogits(const Model &model, KVCache &cache)
{
    torch::InferenceMode guard;
    const auto &impl = model.impl();
    const QImage rgb = loadImage(QString::fromStdString(kE2e + "/image.png"));
    const SlicePlan plan = model.plan({rgb.width(), rgb.height()});
    std::vector<torch::Tensor> encoded;
    for (const auto &px : impl.pixels(rgb, plan))
        encoded.push_back(impl.encode(px));
    const Prompt prompt =
        impl.vlm->buildPrompt(plan, {}, reference()["question"].get<std::string>(), *impl.tokenizer);
    return impl.vlm->forward(embedPrompt(*impl.vlm, prompt, torch::stack(encoded, 0)), cache);
}

// Greedy decoding as the official chat runs it (do_sample False, no repetition penalty).
GenerationSettings greedy(int maxNewTokens)
{
    GenerationSettings s;
    s.maxNewTokens = maxNewTokens;
    s.temperature = 0.0f;
    s.repetitionPenalty = 1.0f;
    return s;
}

struct Case
{
    const char *file;
    double tolerance;
};

class GgufMiniCpmV26 : public ::testing::TestWithParam<Case>
{
};

TEST_P(GgufMiniCpmV26, LoadsAsTheFamilyWithTheFoldersSlicingTokenizerAndPromptIds)
{
    const auto model = loadPair(kGguf + "/" + GetParam().file);
    const auto folder = loadFolder();
    const ModelInfo &info = model->info();
    EXPECT_EQ(info.family, Family::MiniCpmV26) << "stage load";
    EXPECT_EQ(info.policy.scale, folder->info().policy.scale) << "stage load: clip.vision.image_size";
    EXPECT_EQ(info.policy.maxSlices, folder->info().policy.maxSlices) << "stage load";
    EXPECT_EQ(info.tokensPerImage, folder->info().tokensPerImage) << "stage load: clip.minicpmv_query_num";
    for (int c = 0; c < 3; ++c) {
        EXPECT_FLOAT_EQ(info.pixelNorm.mean[c], folder->info().pixelNorm.mean[c]) << "stage load: image_mean";
        EXPECT_FLOAT_EQ(info.pixelNorm.std[c], folder->info().pixelNorm.std[c]) << "stage load: image_std";
    }
    auto sorted = [](std::vector<int64_t> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    EXPECT_EQ(sorted(model->impl().stopIds), sorted(folder->impl().stopIds)) << "stage load: stop ids";

    const auto ref = reference();
    const QImage rgb = loadImage(QString::fromStdString(kE2e + "/image.png"));
    const SlicePlan plan = model->plan({rgb.width(), rgb.height()});
    const auto &vlm = *model->impl().vlm;
    const Tokenizer &tok = *model->impl().tokenizer;
    EXPECT_EQ(tok.unkId(), folder->impl().tokenizer->unkId()) << "stage tokenizer: <unk> id";
    const std::string q = ref["question"].get<std::string>();
    const auto turn1 = flat(vlm.buildPrompt(plan, {}, q, tok), vlm.tokensPerImage(), tok.unkId());
    EXPECT_EQ(turn1, ids(fixture("turn1.prompt_ids"))) << "stage prompt, tensor 'turn1.prompt_ids'";
    const std::vector<Turn> history = {{q, ref["answers"][0].get<std::string>()}};
    const auto turn2 = flat(vlm.buildPrompt(plan, history, ref["followup"].get<std::string>(), tok),
                            vlm.tokensPerImage(), tok.unkId());
    EXPECT_EQ(turn2, ids(fixture("turn2.prompt_ids"))) << "stage prompt, tensor 'turn2.prompt_ids'";
}

TEST_P(GgufMiniCpmV26, FirstLogitsWithinTheStatedTolerance)
{
    const auto model = loadPair(kGguf + "/" + GetParam().file);
    const auto folder = loadFolder();
    KVCache cache, folderCache;
    const auto logits = firstLogits(*model, cache);
    const auto want = firstLogits(*folder, folderCache);
    const double mx = (logits.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
    std::cout << "[logits] " << GetParam().file << " vs HF folder f32: max abs " << mx << " (logits max abs "
              << want.abs().max().item<double>() << "), official "
              << (logits - fixture("turn1.first_logits")).abs().max().item<double>() << "\n";
    EXPECT_LE(mx, GetParam().tolerance)
        << "stage logits, tensor 'turn1.first_logits' (" << GetParam().file << "): max abs " << mx;
}

// Separates the plumbing from the rounding: the HF folder's model with every matrix replaced by the GGUF
// file's values (QuantLinear::dequantizedWeight, bit-identical to gguf-py's dequantization; the token table
// as the loader dequantized it) must give the GGUF model's logits up to the activation rounding of ggml's dot
// products (the last position's lm_head row and nothing else runs on the few-rows path) and summation order.
// The quantized layers are put on the tiled path (f32 activations) here, so only summation order remains.
TEST_P(GgufMiniCpmV26, LogitsEqualTheFolderModelWithTheFilesDequantizedWeights)
{
    const auto model = loadPair(kGguf + "/" + GetParam().file);
    const auto folder = loadFolder();
    std::map<std::string, torch::Tensor> params;
    for (const auto &[name, t] : folder->impl().vlm->namedParameters())
        params[name] = t;
    int swapped = 0;
    {
        torch::NoGradGuard guard;
        for (const auto &[name, t] : model->impl().vlm->namedParameters())
            if (t.stride(0) != 0) // a quantized Linear's weight is a zero-stride placeholder
                params.at(name).set_data(t.clone());
        for (const auto &[name, m] : model->impl().vlm->namedModules())
            if (const auto *lin = dynamic_cast<const nn::LinearImpl *>(m.get()); lin && lin->quantized) {
                params.at(name + ".weight").set_data(lin->quantized->dequantizedWeight());
                // Every row through the dequantize + sgemm path, f32 activations (the few-rows path rounds
                // the activations to ggml's Q8_0 / Q8_K first: measured separately below).
                const_cast<quant::QuantLinearImpl &>(*lin->quantized).decodeMaxRows = 0;
                ++swapped;
            }
        // The token table stays in the file's type (the model has its own lm_head): the folder gets the
        // dequantized table, and lookups of the GGUF model must return exactly its rows.
        int tables = 0;
        for (const auto &[name, m] : model->impl().vlm->namedModules())
            if (const auto *lm = dynamic_cast<const nn::LlamaModelImpl *>(m.get());
                lm && lm->quantizedEmbed) {
                const auto &q = lm->quantizedEmbed->matrix();
                const torch::Tensor table =
                    quant::dequantizeTensor(q.type, q.data, q.outFeatures, q.inFeatures);
                params.at(name + ".embed_tokens.weight").set_data(table);
                const torch::Tensor ids =
                    torch::tensor({int64_t(0), q.outFeatures - 1, int64_t(7), int64_t(7)});
                EXPECT_TRUE(torch::equal(lm->quantizedEmbed->lookup(ids), table.index_select(0, ids)))
                    << "stage load: the quantized token table's rows";
                EXPECT_THROW(lm->quantizedEmbed->lookup(torch::tensor({q.outFeatures})), Error)
                    << "an id past the table is a typed error";
                ++tables;
            }
        EXPECT_EQ(tables, 1) << "stage load: token_embd kept in the file's type (" << GetParam().file << ")";
    }
    // Every file's Linear matrices stay in the mapping: quantized ones, and F16 ones under f32 compute (half
    // rows, f32 activations and sums), so each type is compared here on the same tiled path.
    EXPECT_GT(swapped, 0) << "stage load: Linear layers kept in the mapping";
    KVCache a, b;
    const auto ours = firstLogits(*model, a);
    const auto want = firstLogits(*folder, b);
    const double mx = (ours - want).abs().max().item<double>();
    std::cout << "[logits vs dequantized folder] " << GetParam().file << ": max abs " << mx << "\n";
    EXPECT_LE(mx, kDequantizedLogits)
        << "stage logits (same weights), " << GetParam().file << ": max abs " << mx;
}

INSTANTIATE_TEST_SUITE_P(Types, GgufMiniCpmV26,
                         ::testing::Values(Case{"llm-f16.gguf", kF16Logits}, Case{"llm-q8_0.gguf", kQ8Logits},
                                           Case{"llm-q4_0.gguf", kQ4Logits}),
                         [](const ::testing::TestParamInfo<Case> &info) {
                             std::string n = info.param.file;
                             return n.substr(4, n.find('.') - 4);
                         });

// F16: the official greedy tokens and both answers of Conversation::ask, as from the HF folder.
TEST(GgufMiniCpmV26F16, GreedyTokensAndAnswersEqualTheOfficialChat)
{
    const auto model = loadPair(kGguf + "/llm-f16.gguf");
    const auto ref = reference();
    const QImage rgb = loadImage(QString::fromStdString(kE2e + "/image.png"));
    KVCache cache;
    const auto logits = firstLogits(*model, cache);
    const auto expected = ids(fixture("turn1.generated_ids"));
    GenerationSettings settings = greedy(static_cast<int>(expected.size()));
    GenerationIO io;
    const auto &vlm = *model->impl().vlm;
    io.step = [&](int64_t id) {
        return vlm.forward(vlm.embedTokens(torch::tensor({id}, torch::kLong)), cache);
    };
    io.stopIds = model->impl().stopIds;
    io.maxTokens = settings.maxNewTokens;
    {
        torch::InferenceMode guard;
        EXPECT_EQ(generate(logits, settings, io, {}, nullptr).ids, expected)
            << "stage generation, tensor 'turn1.generated_ids'";
    }
    settings.maxNewTokens = ref["max_new_tokens"].get<int>();
    Conversation chat(model);
    chat.setImage(rgb);
    EXPECT_EQ(chat.ask(ref["question"].get<std::string>(), settings).answer,
              ref["answers"][0].get<std::string>())
        << "stage answer, turn 1";
    EXPECT_EQ(chat.ask(ref["followup"].get<std::string>(), settings).answer,
              ref["answers"][1].get<std::string>())
        << "stage answer, turn 2";
}

// Quantized matrices stay quantized in the mapping: the Linear layers hand over to QuantLinear, and the token
// table (the model has its own lm_head) is looked up in the file's type, so nothing is dequantized at load.
TEST(GgufMiniCpmV26Q4, QuantizedMatricesStayQuantized)
{
    const auto model = loadPair(kGguf + "/llm-q4_0.gguf");
    bool found = false;
    for (const auto &s : model->info().settingSources)
        if (s.key == "weights.llm") {
            found = true;
            EXPECT_NE(s.value.find("Q4_0"), std::string::npos) << s.value;
            EXPECT_EQ(s.value.find("dequantized"), std::string::npos) << s.value;
        }
    EXPECT_TRUE(found) << "no weights.llm setting source";
    EXPECT_EQ(model->info().family, Family::MiniCpmV26);
    int tables = 0;
    for (const auto &[name, m] : model->impl().vlm->namedModules())
        if (const auto *lm = dynamic_cast<const nn::LlamaModelImpl *>(m.get()))
            tables += lm->quantizedEmbed && lm->quantizedEmbed->matrix().type == quant::GgmlType::Q4_0;
    EXPECT_EQ(tables, 1) << "token_embd stays Q4_0";
}

// --- bad input ---------------------------------------------------------------------------------------------

std::vector<char> readBytes(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

fs::path scratch(const std::string &name)
{
    const fs::path dir = fs::path(::testing::TempDir()) / ("uhdlens_gguf_mcpv26_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// A copy of `from` with the first occurrence of `what` (in the header) replaced by `with` (same length).
std::string patched(const std::string &from, const std::string &what, const std::string &with,
                    const fs::path &to)
{
    auto bytes = readBytes(from);
    const std::string s(bytes.begin(), bytes.end());
    const size_t at = s.find(what);
    EXPECT_NE(at, std::string::npos) << what << " not in " << from;
    EXPECT_EQ(what.size(), with.size());
    std::copy(with.begin(), with.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
    std::ofstream(to, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return to.string();
}

template <typename F> ErrorCode codeOf(F &&f, std::string &message)
{
    try {
        f();
    } catch (const Error &e) {
        message = e.what();
        return e.code();
    }
    message = "(no error)";
    return ErrorCode::Internal;
}

// The spellings a user has: a folder of the two files (LM Studio), one file whose partner is beside it.
TEST(GgufMiniCpmV26Open, AFolderOrOneFileFindsThePair)
{
    const fs::path dir = scratch("folder");
    fs::copy_file(kGguf + "/llm-q4_0.gguf", dir / "MiniCPM-V-2_6-Q4_0.gguf");
    fs::copy_file(kMmproj, dir / "mmproj-model-f16.gguf");
    for (const fs::path &p : {dir, dir / "MiniCPM-V-2_6-Q4_0.gguf", dir / "mmproj-model-f16.gguf"}) {
        LoadOptions o;
        o.modelDir = p.string();
        o.dtype = Dtype::F32;
        const auto model = Model::load(o);
        EXPECT_EQ(model->info().family, Family::MiniCpmV26) << p;
        bool named = false;
        for (const auto &s : model->info().settingSources)
            named = named || (s.key == "weights.llm" && s.source == "MiniCPM-V-2_6-Q4_0.gguf");
        EXPECT_TRUE(named) << "the LLM file of " << p;
    }
}

TEST(GgufMiniCpmV26Bad, LlmWithoutItsMmprojIsFileNotFound)
{
    const fs::path dir = scratch("alone");
    fs::copy_file(kGguf + "/llm-q4_0.gguf", dir / "model.gguf");
    std::string msg;
    LoadOptions o;
    o.modelDir = (dir / "model.gguf").string();
    EXPECT_EQ(codeOf([&] { Model::load(o); }, msg), ErrorCode::FileNotFound) << msg;
    EXPECT_NE(msg.find("mmproj"), std::string::npos) << msg;
    o.modelDir = dir.string(); // the folder: the same
    EXPECT_EQ(codeOf([&] { Model::load(o); }, msg), ErrorCode::FileNotFound) << msg;
}

TEST(GgufMiniCpmV26Bad, TwoLlmsAreRefusedByName)
{
    std::string msg;
    EXPECT_EQ(codeOf([&] { loadPair(kGguf + "/llm-f16.gguf", kGguf + "/llm-q8_0.gguf"); }, msg),
              ErrorCode::InvalidArgument)
        << msg;
    // The fixture folder holds three LLM files: which one is the user's choice.
    LoadOptions o;
    o.modelDir = kGguf;
    EXPECT_EQ(codeOf([&] { Model::load(o); }, msg), ErrorCode::InvalidArgument) << msg;
    EXPECT_NE(msg.find("llm-q4_0.gguf"), std::string::npos) << msg;
}

TEST(GgufMiniCpmV26Bad, AnotherModelsOrAnotherProjectorsMmprojIsRefused)
{
    std::string msg;
    // The reader fixture's MiniCPM-V mmproj makes 128-wide image tokens; this LLM is 256 wide.
    EXPECT_EQ(codeOf(
                  [&] {
                      loadPair(kGguf + "/llm-f16.gguf",
                               UHDLENS_TEST_DATA "/reference/gguf/mmproj-minicpmv.gguf");
                  },
                  msg),
              ErrorCode::ConfigInvalid)
        << msg;
    EXPECT_NE(msg.find("width"), std::string::npos) << msg;
    // Another projector type (clip.projector_type "resampler" -> "resamplex").
    const fs::path dir = scratch("projector");
    const std::string other = patched(kMmproj, "resampler", "resamplex", dir / "mmproj.gguf");
    EXPECT_EQ(codeOf([&] { loadPair(kGguf + "/llm-f16.gguf", other); }, msg), ErrorCode::UnknownFamily)
        << msg;
}

TEST(GgufMiniCpmV26Bad, AMissingOrForeignTensorIsNamed)
{
    std::string msg;
    const fs::path dir = scratch("missing");
    // blk.1.attn_q.weight renamed blk.7.attn_q.weight: layer 1's q_proj is missing.
    const std::string llm =
        patched(kGguf + "/llm-f16.gguf", "blk.1.attn_q.weight", "blk.7.attn_q.weight", dir / "llm.gguf");
    EXPECT_EQ(codeOf([&] { loadPair(llm); }, msg), ErrorCode::TensorMissing) << msg;
    EXPECT_NE(msg.find("llm.model.layers.1.self_attn.q_proj.weight"), std::string::npos) << msg;
    // A tensor the name table has no row for.
    const std::string foreign =
        patched(kGguf + "/llm-f16.gguf", "output_norm.weight", "output_xorm.weight", dir / "foreign.gguf");
    EXPECT_EQ(codeOf([&] { loadPair(foreign); }, msg), ErrorCode::CheckpointInvalid) << msg;
    EXPECT_NE(msg.find("output_xorm.weight"), std::string::npos) << msg;
}

// Metadata that disagree with the tensors: qwen2.feed_forward_length 96 -> 64 (the u32 after the key and its
// value type) makes the model's MLP 64 wide while the file's ffn tensors are 96.
TEST(GgufMiniCpmV26Bad, ATensorWhoseShapeDisagreesWithTheMetadataIsNamed)
{
    auto bytes = readBytes(kGguf + "/llm-f16.gguf");
    const std::string key = "qwen2.feed_forward_length";
    const size_t at = std::string(bytes.begin(), bytes.end()).find(key);
    ASSERT_NE(at, std::string::npos);
    const size_t value = at + key.size() + 4; // after the u32 value type
    ASSERT_EQ(static_cast<uint8_t>(bytes[value]), 96u) << "fixture's intermediate size";
    bytes[value] = 64;
    const fs::path file = scratch("shape") / "llm.gguf";
    std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::string msg;
    EXPECT_EQ(codeOf([&] { loadPair(file.string()); }, msg), ErrorCode::TensorShapeMismatch) << msg;
    EXPECT_NE(msg.find("ffn_"), std::string::npos) << msg;
}

TEST(GgufMiniCpmV26Bad, TruncatedFilesAreCheckpointInvalid)
{
    const fs::path dir = scratch("truncated");
    for (const std::string name : {"llm-q4_0.gguf", "mmproj-f16.gguf"}) {
        auto bytes = readBytes(kGguf + "/" + name);
        bytes.resize(bytes.size() / 2);
        std::ofstream(dir / name, std::ios::binary)
            .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::string msg;
    EXPECT_EQ(codeOf([&] { loadPair((dir / "llm-q4_0.gguf").string()); }, msg), ErrorCode::CheckpointInvalid)
        << msg;
    EXPECT_EQ(codeOf([&] { loadPair(kGguf + "/llm-q4_0.gguf", (dir / "mmproj-f16.gguf").string()); }, msg),
              ErrorCode::CheckpointInvalid)
        << msg;
}

} // namespace
