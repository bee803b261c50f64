// Checkpoints and the finished model folder of training (checkpoint.h).
#include "checkpoint.h"

#include "base_weights.h"

#include "recipe.h"
#include "safetensors.h"

#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/lab/synthdata.h"

#include <QDir>
#include <QFile>

#include <memory>

namespace uhdlens::lab {

namespace {

// The optimiser's key for a parameter's state.
std::string paramKey(const torch::Tensor &t)
{
    return c10::guts::to_string(t.unsafeGetTensorImpl());
}

} // namespace

void saveCheckpoint(const std::string &dir, const NamedTensors &params, torch::optim::AdamW &opt, int step,
                    const nlohmann::json &state)
{
    QDir().mkpath(QString::fromStdString(dir));
    saveSafeTensors(dir + "/model.safetensors", params);
    std::vector<std::pair<std::string, torch::Tensor>> moments;
    auto &st = opt.state();
    int64_t adamStep = 0;
    for (const auto &[name, t] : params) {
        auto it = st.find(paramKey(t));
        if (it == st.end())
            continue;
        auto &s = static_cast<torch::optim::AdamWParamState &>(*it->second);
        moments.emplace_back("exp_avg." + name, s.exp_avg());
        moments.emplace_back("exp_avg_sq." + name, s.exp_avg_sq());
        adamStep = s.step();
    }
    saveSafeTensors(dir + "/optimizer.safetensors", moments, {{"adam_step", std::to_string(adamStep)}});
    nlohmann::json s = state;
    s["step"] = step;
    writeJsonFile(dir + "/state.json", s);
}

void loadCheckpoint(const std::string &dir, const NamedTensors &params, torch::optim::AdamW &opt)
{
    {
        torch::NoGradGuard ng;
        const Checkpoint ck = Checkpoint::open(dir + "/model.safetensors");
        for (const auto &[name, t] : params) {
            if (name.rfind(kTrainOnlyPrefix, 0) == 0 && !ck.contains(name))
                continue;
            const torch::Tensor src = ck.get(name);
            if (src.sizes() != t.sizes())
                throw Error(ErrorCode::TensorShapeMismatch,
                            "checkpoint tensor '" + name + "': expected " + shapeString(t.sizes().vec()) +
                                ", file has " + shapeString(src.sizes().vec()),
                            name);
            t.copy_(src); // copy, never adopt the read-only mapping: these weights are trained in place
        }
    }
    const Checkpoint ok = Checkpoint::open(dir + "/optimizer.safetensors");
    const auto meta = ok.metadata();
    const int64_t adamStep = meta.count("adam_step") ? std::stoll(meta.at("adam_step")) : 0;
    for (const auto &[name, t] : params) {
        if (!ok.contains("exp_avg." + name))
            continue;
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(adamStep);
        s->exp_avg(ok.get("exp_avg." + name).clone());
        s->exp_avg_sq(ok.get("exp_avg_sq." + name).clone());
        opt.state()[paramKey(t)] = std::move(s);
    }
}

// AdamW (beta 0.9/0.95) with weight decay on matrices only, as is usual for transformers: norms, biases,

void writeModelFolder(const std::string &out, const VisionLanguageModel &model, const nlohmann::json &cfg,
                      const TrainOptions &o, const nlohmann::json &state, const TrainResult &result,
                      int64_t trainOnlyParameters, const RunCounts &counts)
{
    using json = nlohmann::json;
    const int step = result.steps;
    {
        torch::NoGradGuard ng;
        std::vector<std::pair<std::string, torch::Tensor>> weights;
        // Only what was trained here: the base weights' parameters are read from their files at load.
        const std::vector<BaseWeightSource> base = baseWeightSources(cfg);
        for (const auto &[name, t] : model.namedParameters())
            if (!fromBaseWeights(base, name))
                weights.emplace_back(name, t.detach().to(torch::kBFloat16));
        saveSafeTensors(out + "/model.safetensors", weights,
                        {{"format", "pt"}, {"uhdlens_training_steps", std::to_string(step)}});
    }
    writeJsonFile(out + "/config.json", cfg);
    json meta;
    std::vector<std::string> questions = suggestedQuestions();
    if (o.readTextProbability > 0)
        questions.push_back(synth::kReadTextQuestion); // trained on, though not scored by uhdlens-cli eval
    meta["suggested_questions"] = questions;
    meta["description"] =
        cfg.contains("base_weights")
            ? "LLaVA-UHD on pretrained parts: a frozen vision encoder and language model from the installed "
              "base weights (config.json \"base_weights\"), joined by a perceiver resampler UHD Lens trained "
              "on "
              "synthetic screenshots, documents and shape scenes (see resources/models/README.md). It "
              "answers "
              "the kinds of questions listed in suggested_questions with short exact answers, says \"not "
              "shown\" when it finds no answer, and reads best when the app gives it the image's text. It was "
              "trained only on short answers, so it cannot describe an image or hold a conversation, and its "
              "answers are often wrong: see resources/models/README.md for its measured accuracy."
            : "A small LLaVA-UHD model trained by UHD Lens itself, from scratch, on synthetic images only "
              "(see "
              "resources/models/README.md). It answers the kinds of questions listed in suggested_questions "
              "about screenshots, documents and shape scenes with one-word or number answers; it cannot "
              "describe photos, read free text outside its vocabulary, or hold a conversation.";
    meta["training"] = state["options"];
    meta["training"]["earlier_stages"] = state["earlier_stages"];
    meta["training"]["steps_done"] = step;
    meta["training"]["seconds"] = result.seconds;
    meta["training"]["first_loss"] = result.firstLoss;
    meta["training"]["last_loss"] = result.lastLoss;
    meta["training"]["parameters"] = result.parameters;
    writeJsonFile(out + "/uhdlens.json", meta);
    json tl;
    tl["loss_curve"] = state["log"]["loss_curve"];
    tl["steps"] = step;
    tl["seconds"] = result.seconds;
    tl["first_loss"] = result.firstLoss;
    tl["last_loss"] = result.lastLoss;
    tl["parameters"] = result.parameters;
    if (state.contains("encoder_warmup_seconds"))
        tl["encoder_warmup_seconds"] = state["encoder_warmup_seconds"];
    tl["train_only_parameters"] =
        trainOnlyParameters; // the glyph head: in the checkpoint, not in model.safetensors
    tl["options"] = state["options"];
    tl["earlier_stages"] = state["earlier_stages"];
    // This run only (not counting steps before a resume).
    tl["images_seen"] = counts.images;
    tl["visual_tokens_per_image"] =
        counts.images ? static_cast<double>(counts.visualTokens) / counts.images : 0.0;
    tl["earlier_turns"] = counts.earlierTurns;
    tl["earlier_turns_supervised"] = counts.supervisedEarlier;
    writeJsonFile(out + "/training_log.json", tl);
}

} // namespace uhdlens::lab
