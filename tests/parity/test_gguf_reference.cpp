// GGUF files written by llama.cpp's own convert_hf_to_gguf.py (tests/data/reference/gguf, made by
// tools/reference/gguf_fixture.py) against the checkpoints they were converted from: every tensor, mapped
// through the llama.cpp -> HF name table and (LLaMA) un-permuted, is bit-identical to the checkpoint's
// (BF16 / F32 files) or to its round-to-nearest f16 (F16 files); the config rebuilt from metadata equals the
// checkpoint's config.json on every key qwenConfig reads; a MiniCPM-V 2.6 mmproj file written by llama.cpp's
// minicpmv converter maps back to the vpm.* / resampler.* state dict (in_proj split, proj transposed, fc1/fc2
// named ffn_down/ffn_up) and its config feeds readMiniCpmV26Vision; the tokenizer from tokenizer.ggml.* gives
// tokenizers' ids on every string of tests/data/tokenizer-bpe/cases.json.
#include "bpe_tokenizer.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
#include "gguf/gguf_torch.h"
#include "models/minicpmv26_vision.h"
#include "models/qwen_lm.h"
#include "safetensors.h"

#include "uhdlens/errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <set>

using namespace uhdlens;
using namespace uhdlens::gguf;
using nlohmann::json;

namespace {

const std::string kData = UHDLENS_TEST_DATA;
const std::string kDir = kData + "/reference/gguf";

json readJson(const std::string &path)
{
    std::ifstream f(path);
    return json::parse(f);
}

// Compares every tensor of `gguf` with the checkpoint's tensor `prefix` + HF name. `exact`: the file stores
// the checkpoint's bf16 values as they are (BF16) or widened (F32); otherwise F16 tensors must equal the bf16
// values rounded to f16. Returns the HF names seen.
std::set<std::string> compareAll(const GgufFile &gguf, const Checkpoint &ck, const std::string &prefix)
{
    const std::string arch = gguf.meta().getString("general.architecture");
    std::set<std::string> seen;
    for (const GgufTensorInfo &t : gguf.tensors()) {
        SCOPED_TRACE(gguf.path() + ": tensor " + t.name);
        const auto mapped = mapTensorName(FileKind::Llm, t.name, arch);
        if (!mapped) {
            ADD_FAILURE() << "no HF name for " << t.name;
            continue;
        }
        const torch::Tensor ref = ck.get(prefix + mapped->hf);
        const torch::Tensor got = unpermutedFloatTensor(gguf, t.name, arch);
        EXPECT_EQ(got.sizes(), ref.sizes()) << mapped->hf;
        if (got.sizes() != ref.sizes())
            continue;
        torch::Tensor want = ref;
        if (got.scalar_type() == torch::kFloat16)
            want = ref.to(torch::kFloat32).to(torch::kFloat16);
        else if (got.scalar_type() == torch::kFloat32)
            want = ref.to(torch::kFloat32);
        EXPECT_EQ(got.scalar_type(), want.scalar_type());
        if (got.scalar_type() != want.scalar_type())
            continue;
        const torch::Tensor a = got.contiguous(), b = want.contiguous();
        EXPECT_EQ(std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()), 0)
            << "stage: GGUF tensor vs checkpoint; tensor " << t.name << " -> " << mapped->hf
            << ", max abs diff " << (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<float>();
        seen.insert(mapped->hf);
    }
    return seen;
}

void expectCovers(const std::set<std::string> &seen, const Checkpoint &ck, const std::string &prefix)
{
    for (const std::string &name : ck.names()) {
        ASSERT_EQ(name.rfind(prefix, 0), 0u) << name;
        EXPECT_TRUE(seen.count(name.substr(prefix.size())))
            << "checkpoint tensor " << name << " not in the GGUF file";
    }
}

// The config keys qwenConfig reads, from config.json and from the GGUF metadata.
void compareConfig(const json &gguf, const json &hf, bool qwen3)
{
    for (const char *k :
         {"hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
          "intermediate_size", "vocab_size", "max_position_embeddings", "tie_word_embeddings"})
        EXPECT_EQ(gguf.at(k), hf.at(k)) << k;
    EXPECT_EQ(gguf.at("rope_theta").get<double>(), hf.at("rope_theta").get<double>());
    EXPECT_EQ(gguf.at("rms_norm_eps").get<double>(), hf.at("rms_norm_eps").get<double>());
    if (qwen3) {
        EXPECT_EQ(gguf.at("head_dim"), hf.at("head_dim"));
    } else {
        EXPECT_EQ(gguf.at("head_dim"),
                  hf.at("hidden_size").get<int>() / hf.at("num_attention_heads").get<int>());
    }
}

} // namespace

TEST(GgufReference, Qwen2Bf16IsTheCheckpoint)
{
    const GgufFile f = GgufFile::open(kDir + "/qwen2-bf16.gguf");
    const Checkpoint ck = Checkpoint::open(kData + "/reference/qwen/qwen2/model.safetensors");
    expectCovers(compareAll(f, ck, "llm."), ck, "llm.");
    const json c = llmConfigJson(f.header());
    const json hf = readJson(kData + "/reference/qwen/qwen2/config.json");
    compareConfig(c, hf, false);
    const models::QwenConfig q = models::qwenConfig(c, models::QwenVersion::Qwen2);
    const models::QwenConfig qhf = models::qwenConfig(hf, models::QwenVersion::Qwen2);
    EXPECT_EQ(q.options.hidden, qhf.options.hidden);
    EXPECT_EQ(q.options.kvHeads, qhf.options.kvHeads);
    EXPECT_EQ(q.tieEmbeddings, qhf.tieEmbeddings);
    EXPECT_DOUBLE_EQ(q.options.ropeTheta, qhf.options.ropeTheta);
}

TEST(GgufReference, Qwen3F16IsTheCheckpointRoundedToF16)
{
    const GgufFile f = GgufFile::open(kDir + "/qwen3-f16.gguf");
    int f16 = 0;
    for (const GgufTensorInfo &t : f.tensors())
        f16 += t.type == quant::GgmlType::F16;
    EXPECT_GT(f16, 0);
    const Checkpoint ck = Checkpoint::open(kData + "/reference/qwen/qwen3/model.safetensors");
    expectCovers(compareAll(f, ck, "llm."), ck, "llm.");
    const json c = llmConfigJson(f.header());
    compareConfig(c, readJson(kData + "/reference/qwen/qwen3/config.json"), true);
    EXPECT_NO_THROW(models::qwenConfig(c, models::QwenVersion::Qwen3));
}

TEST(GgufReference, LlamaRowsAreUnpermuted)
{
    const Checkpoint ck = Checkpoint::open(kDir + "/llama.safetensors");
    for (const char *file : {"llama-bf16.gguf", "llama-f32.gguf"}) {
        SCOPED_TRACE(file);
        const GgufFile f = GgufFile::open(kDir + "/" + file);
        EXPECT_EQ(f.meta().getString("general.architecture"), "llama");
        expectCovers(compareAll(f, ck, ""), ck, "");
        // The permutation is real: the raw rows of attn_q differ from the checkpoint's.
        const torch::Tensor raw = floatTensor(f, "blk.0.attn_q.weight").to(torch::kFloat32);
        EXPECT_FALSE(torch::equal(raw, ck.get("model.layers.0.self_attn.q_proj.weight").to(torch::kFloat32)));
        const json c = llmConfigJson(f.header());
        EXPECT_EQ(c["model_type"], "llama");
        EXPECT_EQ(c["num_key_value_heads"], 2);
        EXPECT_EQ(c["head_dim"], 8);
        EXPECT_EQ(c["tie_word_embeddings"], true); // no output.weight
        EXPECT_EQ(c["attention_bias"], false);
    }
}

TEST(GgufReference, TokenizerFromMetadataMatchesTokenizers)
{
    const GgufFile f = GgufFile::open(kDir + "/vocab-qwen2.gguf");
    EXPECT_EQ(f.tensors().size(), 0u);
    const BpeTokenizer gguf(ggufBpeSpec(f.meta()));
    const BpeTokenizer hf(readBpeFolder(kData + "/tokenizer-bpe"));
    const json cases = readJson(kData + "/tokenizer-bpe/cases.json");
    EXPECT_EQ(gguf.vocabSize(), cases["vocab_size"].get<int64_t>());
    int n = 0;
    for (const json &c : cases["cases"]) {
        const std::string text = c["text"];
        const auto want = c["ids"].get<std::vector<int64_t>>();
        EXPECT_EQ(gguf.encode(text), want) << "text: " << text;
        EXPECT_EQ(gguf.decode(want, false), c["decode_with_specials"].get<std::string>()) << "text: " << text;
        ++n;
    }
    EXPECT_GT(n, 20);
    for (int64_t id = 0; id < hf.vocabSize(); ++id) {
        EXPECT_EQ(gguf.idToToken(id), hf.idToToken(id)) << id;
        EXPECT_EQ(gguf.isSpecial(id), hf.isSpecial(id)) << id;
    }
    // The model files carry the cut-down tokenizer; it builds and round-trips text.
    for (const char *file : {"qwen2-bf16.gguf", "qwen3-f16.gguf", "llama-bf16.gguf"}) {
        const BpeTokenizer t(ggufBpeSpec(GgufFile::open(kDir + "/" + file).meta()));
        EXPECT_EQ(t.decode(t.encode("Hello, world! 123")), "Hello, world! 123") << file;
    }
}

TEST(GgufReference, MiniCpmVMmprojMapsToTheStateDict)
{
    const GgufFile f = GgufFile::open(kDir + "/mmproj-minicpmv.gguf");
    const Checkpoint ck = Checkpoint::open(kDir + "/mmproj-source.safetensors");
    std::set<std::string> seen;
    for (const GgufTensorInfo &t : f.tensors()) {
        SCOPED_TRACE("mmproj tensor " + t.name);
        const auto mapped = mapTensorName(FileKind::Mmproj, t.name);
        ASSERT_TRUE(mapped.has_value()) << "no HF name for " << t.name;
        ASSERT_NE(mapped->transform, Transform::Derived);
        torch::Tensor ref = ck.get(mapped->hf).to(torch::kFloat32);
        switch (mapped->transform) {
        case Transform::InProjQ:
        case Transform::InProjK:
        case Transform::InProjV: {
            const int64_t part = mapped->transform == Transform::InProjQ   ? 0
                                 : mapped->transform == Transform::InProjK ? 1
                                                                           : 2;
            ref = ref.narrow(0, part * ref.size(0) / 3, ref.size(0) / 3);
            break;
        }
        case Transform::Transpose:
            ref = ref.t();
            break;
        default:
            break;
        }
        const torch::Tensor got = floatTensor(f, t.name);
        ASSERT_EQ(got.sizes(), ref.sizes()) << mapped->hf;
        // The converter writes 2-D weights (and the 4-D patch embedding) as f16 of the float32 values, the
        // rest as float32: bf16 values widened are exact, f16 is their round-to-nearest.
        const torch::Tensor want = ref.to(got.scalar_type()).contiguous(), a = got.contiguous();
        EXPECT_EQ(std::memcmp(a.data_ptr(), want.data_ptr(), a.numel() * a.element_size()), 0)
            << "stage: mmproj tensor vs state dict; " << t.name << " -> " << mapped->hf << ", max abs diff "
            << (a.to(torch::kFloat32) - want.to(torch::kFloat32)).abs().max().item<float>();
        seen.insert(mapped->hf);
    }
    for (const std::string &name : ck.names())
        EXPECT_TRUE(seen.count(name)) << "state-dict tensor " << name << " not in the mmproj file";

    const json c = mmprojVisionConfigJson(f.header());
    const models::MiniCpmV26Vision v = models::readMiniCpmV26Vision(c);
    EXPECT_EQ(v.vision.dim, 32);
    EXPECT_EQ(v.vision.layers, 2);
    EXPECT_EQ(v.vision.heads, 4);
    EXPECT_EQ(v.vision.mlpDim, 48);
    EXPECT_EQ(v.vision.patch, 14);
    EXPECT_EQ(v.vision.imageSize, 70);
    EXPECT_EQ(v.resampler.dim, 128);
    EXPECT_EQ(v.tokensPerImage, 16);
    EXPECT_EQ(v.policy.scale, 448);
}
