// The Qwen2 / Qwen3 language models (core/src/models/qwen_lm.h) against transformers' own Qwen2ForCausalLM /
// Qwen3ForCausalLM on tiny random checkpoints with the real structure (tests/data/reference/qwen/<name>, made
// by tests/tools/reference/qwen_fixture.py): every decoder layer's output, the final norm, the logits, the
// cached decode step by step and the 16 greedy tokens, in f32, mixed (bf16 matrices, f32 arithmetic) and
// bf16; plus config and loader errors.
#include "models/family_common.h"
#include "models/qwen_lm.h"
#include "safetensors.h"
#include "uhdlens/errors.h"

#include <QTemporaryDir>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

using namespace uhdlens;
using models::json;

namespace {

const std::string kDir = std::string(UHDLENS_TEST_DATA) + "/reference/qwen/";

json readConfig(const std::string &name)
{
    std::ifstream in(kDir + name + "/config.json");
    return json::parse(in);
}

models::QwenVersion versionOf(const json &c)
{
    return c.at("model_type") == "qwen3" ? models::QwenVersion::Qwen3 : models::QwenVersion::Qwen2;
}

// The LM registered under "llm" as MiniCPM-V 2.6 / 4.5 do.
struct Lm
{
    std::shared_ptr<torch::nn::Module> root = std::make_shared<torch::nn::Module>();
    nn::CausalLm lm;
    std::vector<std::pair<std::string, torch::Tensor>> params() const
    {
        std::vector<std::pair<std::string, torch::Tensor>> out;
        for (const auto &p : root->named_parameters(true))
            out.emplace_back(p.key(), p.value());
        return out;
    }
};

enum class Mode
{
    F32,
    Mixed,
    Bf16
};

Lm load(const std::string &name, Mode mode, std::vector<std::string> *warnings = nullptr)
{
    const json c = readConfig(name);
    const auto cfg = models::qwenConfig(c, versionOf(c));
    Lm m;
    const auto dtype = mode == Mode::Bf16 ? torch::kBFloat16 : torch::kFloat32;
    m.lm = models::buildQwenLm(*nn::container(*m.root, "llm"), cfg, torch::TensorOptions().dtype(dtype));
    std::set<std::string> matrices; // mixed: every Linear weight and the embedding table stay bf16
    if (mode == Mode::Mixed)
        for (const auto &[n, t] : m.params())
            if (t.dim() == 2)
                matrices.insert(n);
    const auto w = loadParameters(m.params(), Checkpoint::open(kDir + name + "/model.safetensors"), dtype,
                                  torch::kCPU, {""}, matrices);
    if (warnings)
        *warnings = w;
    return m;
}

double maxAbs(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

struct Reference
{
    explicit Reference(const std::string &name) : ck(Checkpoint::open(kDir + name + "/reference.safetensors"))
    {
    }
    torch::Tensor get(const std::string &key) const { return ck.get(key).to(torch::kFloat32); }
    torch::Tensor ids() const { return ck.get("input_ids").to(torch::kLong); }
    std::vector<int64_t> tokens(const std::string &key) const
    {
        const auto t = ck.get(key).to(torch::kLong).contiguous();
        return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
    }
    Checkpoint ck;
};

// Greedy decode through the KV cache: prefill, then one token at a time. Returns the tokens and each step's
// logits.
std::pair<std::vector<int64_t>, std::vector<torch::Tensor>> greedy(const Lm &m, const torch::Tensor &ids,
                                                                   int steps, KVCache &cache)
{
    std::vector<int64_t> tokens;
    std::vector<torch::Tensor> logits;
    auto l = m.lm.forwardCached(m.lm.model->embed(ids), cache);
    for (int i = 0; i < steps; ++i) {
        logits.push_back(l);
        tokens.push_back(l.argmax().item<int64_t>());
        l = m.lm.forwardCached(m.lm.model->embed(torch::tensor({tokens.back()}, torch::kLong)), cache);
    }
    return {tokens, logits};
}

class QwenReference : public ::testing::TestWithParam<std::string>
{
};

} // namespace

TEST_P(QwenReference, LayersLogitsAndGreedyDecodeMatchTransformersInF32)
{
    const std::string name = GetParam();
    std::vector<std::string> warnings;
    const Lm m = load(name, Mode::F32, &warnings);
    EXPECT_TRUE(warnings.empty()) << name << ": " << (warnings.empty() ? "" : warnings.front());
    const Reference ref(name);
    c10::InferenceMode inference;
    const auto ids = ref.ids();
    const auto &model = *m.lm.model;

    // Stage by stage, the decoder's own loop (LlamaModelImpl::forward) unrolled to see every layer.
    auto h = model.embed(ids).unsqueeze(0);
    EXPECT_LE(maxAbs(h[0], ref.get("f32.embeds")), 1e-6) << name << ": embeds";
    const auto [cos, sin] = model.rotary(0, ids.size(0), torch::kCPU);
    std::ostringstream layerFigures;
    for (size_t i = 0; i < model.layerList.size(); ++i) {
        h = model.layerList[i]->forward(h, cos, sin, nullptr, static_cast<int>(i), 0);
        const auto expected = ref.get("f32.layer." + std::to_string(i));
        const double err = maxAbs(h[0], expected);
        // The residual stream grows layer by layer: 1e-4 of its largest value (at least 1e-4 absolute).
        EXPECT_LE(err, 1e-4 * std::max(1.0, expected.abs().max().item<double>()))
            << name << ": decoder layer " << i << " output";
        layerFigures << " " << err << " (max |h| " << expected.abs().max().item<double>() << ")";
    }
    std::cout << "[ figures  ] " << name << " f32 per-layer max abs:" << layerFigures.str() << "\n";
    EXPECT_LE(maxAbs(model.norm->forward(h)[0], ref.get("f32.final")), 1e-4) << name << ": model.norm output";
    const auto logits = m.lm.forwardAll(model.embed(ids).unsqueeze(0))[0];
    const double logitErr = maxAbs(logits, ref.get("f32.logits"));
    EXPECT_LE(logitErr, 1e-4) << name << ": full-forward logits";

    // Cached decode (the engine's path) against generate(): every step's logits and the 16 greedy tokens.
    KVCache cache;
    const auto expectedTokens = ref.tokens("f32.generated");
    const auto [tokens, steps] = greedy(m, ids, static_cast<int>(expectedTokens.size()), cache);
    const auto refSteps = ref.get("f32.step_logits");
    double stepErr = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
        const double e = maxAbs(steps[i], refSteps[static_cast<int64_t>(i)]);
        stepErr = std::max(stepErr, e);
        EXPECT_LE(e, 1e-4) << name << ": cached decode step " << i << " logits";
    }
    EXPECT_EQ(tokens, expectedTokens) << name << ": greedy tokens";
    // GQA keeps kv_heads heads in the cache (no repeated K/V), head width from the config.
    const auto &o = model.opt;
    ASSERT_EQ(cache.keys.size(), static_cast<size_t>(o.layers));
    EXPECT_EQ(cache.keys[0].size(1), o.kvHeads) << name;
    EXPECT_EQ(cache.keys[0].size(3), o.headSize()) << name;
    EXPECT_EQ(cache.length, ids.size(0) + static_cast<int64_t>(tokens.size()));

    // Cached decode against our own full forward over prompt + generated tokens.
    std::vector<int64_t> all(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
    all.insert(all.end(), tokens.begin(), tokens.end() - 1);
    const auto full = m.lm.forwardAll(model.embed(torch::tensor(all, torch::kLong)).unsqueeze(0))[0];
    for (size_t i = 0; i < steps.size(); ++i)
        EXPECT_LE(maxAbs(steps[i], full[ids.size(0) - 1 + static_cast<int64_t>(i)]), 1e-4)
            << name << ": cached step " << i << " vs full forward";
    std::cout << "[ figures  ] " << name << " f32: logits max abs " << logitErr << ", cached steps max abs "
              << stepErr << "\n";
}

TEST_P(QwenReference, MixedMatchesF32ReferenceAndBf16StaysClose)
{
    const std::string name = GetParam();
    const Reference ref(name);
    const auto expectedTokens = ref.tokens("f32.generated");
    {
        // bf16 -> f32 widening is exact and the fixture's weights are bf16-representable: mixed mode computes
        // the f32 function, so it is held to the f32 tolerance.
        const Lm m = load(name, Mode::Mixed);
        for (const auto &[n, t] : m.params())
            EXPECT_EQ(t.scalar_type(), t.dim() == 2 ? torch::kBFloat16 : torch::kFloat32) << n;
        c10::InferenceMode inference;
        const auto ids = ref.ids();
        const double err =
            maxAbs(m.lm.forwardAll(m.lm.model->embed(ids).unsqueeze(0))[0], ref.get("f32.logits"));
        EXPECT_LE(err, 1e-4) << name << ": mixed full-forward logits";
        KVCache cache;
        const auto [tokens, steps] = greedy(m, ids, static_cast<int>(expectedTokens.size()), cache);
        double stepErr = 0;
        for (size_t i = 0; i < steps.size(); ++i)
            stepErr =
                std::max(stepErr, maxAbs(steps[i], ref.get("f32.step_logits")[static_cast<int64_t>(i)]));
        EXPECT_LE(stepErr, 1e-4) << name << ": mixed cached decode logits";
        EXPECT_EQ(tokens, expectedTokens) << name << ": mixed greedy tokens";
        std::cout << "[ figures  ] " << name << " mixed: logits max abs " << err << ", cached steps "
                  << stepErr << "\n";
    }
    {
        // bf16 arithmetic: our kernels and transformers' differ in rounding, so compare relative to the
        // logits' spread, against both the bf16 and the f32 reference.
        const Lm m = load(name, Mode::Bf16);
        c10::InferenceMode inference;
        const auto ids = ref.ids();
        const auto logits = m.lm.forwardAll(m.lm.model->embed(ids).unsqueeze(0))[0];
        const auto f32 = ref.get("f32.logits");
        const double spread = f32.abs().max().item<double>();
        const double vsBf16 = maxAbs(logits, ref.get("bf16.logits")) / spread;
        const double vsF32 = maxAbs(logits, f32) / spread;
        EXPECT_LE(vsBf16, 0.05) << name << ": bf16 logits vs transformers bf16 (relative to max |logit|)";
        EXPECT_LE(vsF32, 0.05) << name << ": bf16 logits vs f32 reference (relative to max |logit|)";
        // The first greedy token (largest margin in the fixture) agrees.
        EXPECT_EQ(logits[ids.size(0) - 1].argmax().item<int64_t>(), expectedTokens.front())
            << name << " bf16";
        std::cout << "[ figures  ] " << name << " bf16: logits rel err vs bf16 ref " << vsBf16
                  << ", vs f32 ref " << vsF32 << "\n";
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QwenReference, ::testing::Values("qwen2", "qwen2-tied", "qwen3"),
                         [](const auto &info) {
                             std::string s = info.param;
                             std::replace(s.begin(), s.end(), '-', '_');
                             return s;
                         });

TEST(QwenConfig, ReadsTheStructureOfEachVersion)
{
    const json q2 = readConfig("qwen2");
    const auto c2 = models::qwenConfig(q2, models::QwenVersion::Qwen2);
    EXPECT_TRUE(c2.options.qkvBias);
    EXPECT_FALSE(c2.options.oBias || c2.options.qkNorm || c2.tieEmbeddings);
    EXPECT_EQ(c2.options.headSize(), 16);
    EXPECT_EQ(c2.options.kvHeads, 2);
    EXPECT_EQ(c2.options.ropeTheta, 1e6);
    const auto c3 = models::qwenConfig(readConfig("qwen3"), models::QwenVersion::Qwen3);
    EXPECT_FALSE(c3.options.qkvBias || c3.options.oBias);
    EXPECT_TRUE(c3.options.qkNorm);
    EXPECT_EQ(c3.options.headSize(), 32);
    EXPECT_TRUE(models::qwenConfig(readConfig("qwen2-tied"), models::QwenVersion::Qwen2).tieEmbeddings);
    // Tensor names are Qwen*ForCausalLM's under "llm.".
    Lm m;
    m.lm = models::buildQwenLm(*nn::container(*m.root, "llm"), c3, torch::TensorOptions());
    std::set<std::string> names;
    for (const auto &[n, t] : m.params())
        names.insert(n);
    for (const char *n :
         {"llm.model.embed_tokens.weight", "llm.model.layers.0.self_attn.q_norm.weight",
          "llm.model.layers.2.self_attn.k_norm.weight", "llm.model.layers.1.mlp.gate_proj.weight",
          "llm.model.norm.weight", "llm.lm_head.weight"})
        EXPECT_TRUE(names.count(n)) << n;
    EXPECT_FALSE(names.count("llm.model.layers.0.self_attn.q_proj.bias"));
}

TEST(QwenConfig, BadKeysAreNamed)
{
    struct Case
    {
        const char *base;
        models::QwenVersion version;
        std::function<void(json &)> edit;
        std::string key;
    };
    using V = models::QwenVersion;
    const std::vector<Case> cases = {
        {"qwen2", V::Qwen2, [](json &c) { c.erase("num_key_value_heads"); }, "num_key_value_heads"},
        {"qwen2", V::Qwen2, [](json &c) { c["num_key_value_heads"] = 3; }, "num_key_value_heads"},
        {"qwen2", V::Qwen2, [](json &c) { c["num_key_value_heads"] = 0; }, "num_key_value_heads"},
        {"qwen2", V::Qwen2, [](json &c) { c["num_key_value_heads"] = "two"; }, "num_key_value_heads"},
        {"qwen2", V::Qwen2, [](json &c) { c.erase("rope_theta"); }, "rope_theta"},
        {"qwen2", V::Qwen2, [](json &c) { c["rope_theta"] = -1.0; }, "rope_theta"},
        {"qwen2", V::Qwen2, [](json &c) { c.erase("rms_norm_eps"); }, "rms_norm_eps"},
        {"qwen2", V::Qwen2, [](json &c) { c["rms_norm_eps"] = 0; }, "rms_norm_eps"},
        {"qwen2", V::Qwen2, [](json &c) { c["hidden_size"] = 66; }, "num_attention_heads"},
        {"qwen2", V::Qwen2, [](json &c) { c.erase("hidden_size"); }, "hidden_size"},
        {"qwen2", V::Qwen2, [](json &c) { c["hidden_act"] = "gelu"; }, "hidden_act"},
        {"qwen2", V::Qwen2, [](json &c) { c["use_sliding_window"] = true; }, "use_sliding_window"},
        {"qwen2", V::Qwen2,
         [](json &c) {
             c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
         },
         "rope_scaling"},
        {"qwen2", V::Qwen2, [](json &c) { c["tie_word_embeddings"] = "yes"; }, "tie_word_embeddings"},
        {"qwen3", V::Qwen3, [](json &c) { c.erase("head_dim"); }, "head_dim"},
        {"qwen3", V::Qwen3, [](json &c) { c["head_dim"] = 33; }, "head_dim"},
        {"qwen3", V::Qwen3, [](json &c) { c["head_dim"] = -4; }, "head_dim"},
        {"qwen3", V::Qwen3, [](json &c) { c["attention_bias"] = 1; }, "attention_bias"},
    };
    for (const Case &k : cases) {
        json c = readConfig(k.base);
        k.edit(c);
        try {
            models::qwenConfig(c, k.version, "text_config");
            ADD_FAILURE() << "accepted a config with a bad '" << k.key << "'";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::ConfigInvalid) << k.key;
            EXPECT_NE(std::string(e.what()).find("text_config." + k.key), std::string::npos)
                << "error for '" << k.key << "' does not name it: " << e.what();
        }
    }
    // A "default" rope_scaling is the plain rotary.
    json c = readConfig("qwen2");
    c["rope_scaling"] = {{"rope_type", "default"}};
    EXPECT_NO_THROW(models::qwenConfig(c, V::Qwen2));
}

TEST(QwenLoader, ShapeMismatchAndMissingTensorsAreNamed)
{
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const Checkpoint good = Checkpoint::open(kDir + "qwen3/model.safetensors");
    const json c = readConfig("qwen3");
    const auto cfg = models::qwenConfig(c, models::QwenVersion::Qwen3);
    const std::string bad = "llm.model.layers.1.self_attn.k_norm.weight";
    const std::string dropped = "llm.model.layers.2.self_attn.q_proj.weight";
    for (const bool shape : {true, false}) {
        std::vector<std::pair<std::string, torch::Tensor>> tensors;
        for (const auto &n : good.names()) {
            if (n == bad && shape)
                tensors.emplace_back(n, torch::ones({16}, torch::kBFloat16)); // head_dim is 32
            else if (!(n == dropped && !shape))
                tensors.emplace_back(n, good.get(n));
        }
        const std::string file =
            dir.path().toStdString() + (shape ? "/shape.safetensors" : "/missing.safetensors");
        saveSafeTensors(file, tensors);
        Lm m;
        m.lm = models::buildQwenLm(*nn::container(*m.root, "llm"), cfg, torch::TensorOptions());
        try {
            loadParameters(m.params(), Checkpoint::open(file), torch::kFloat32, torch::kCPU);
            ADD_FAILURE() << (shape ? "a wrong shape" : "a missing tensor") << " was accepted";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), shape ? ErrorCode::TensorShapeMismatch : ErrorCode::TensorMissing);
            EXPECT_NE(std::string(e.what()).find(shape ? bad : dropped), std::string::npos) << e.what();
        }
    }
}
