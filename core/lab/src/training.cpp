// Training loop of the bundled model (uhdlens/lab/training.h), in named steps: the run's model, tokenizer and
// trained parameters (runConfig, runTokenizer, collectParameters), the data pipeline (train_data.h), one
// optimisation step (train_step.h), the evaluation of each log window (LossWindow), and checkpointing and the
// model folder (checkpoint.h). Same modules as inference: the model comes from createFamilyModel, pixels from
// prepareImages, prompts from the family's buildPrompt, logits from its training interface
// (trainable_model.h).
#include "uhdlens/lab/training.h"

#include "base_weights.h"
#include "bpe_tokenizer.h"
#include "checkpoint.h"
#include "encoder_warmup.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
#include "model_family.h"
#include "recipe.h"
#include "tokenizer.h"
#include "train_data.h"
#include "train_step.h"
#include "trainable_model.h"

#include "uhdlens/errors.h"
#include "uhdlens/json_file.h"
#include "uhdlens/lab/synthdata.h"
#include "uhdlens/runtime.h"

#include <QDir>
#include <QFileInfo>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <numeric>
#include <sstream>

namespace uhdlens {

namespace lab {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// ---- the run's model, tokenizer and parameters ------------------------------------------------------------

// Config: the checkpoint's when resuming, else a user file, else the preset's.
json runConfig(const TrainOptions &o, const std::string &ckDir)
{
    if (o.resume)
        return readJsonFile(ckDir + "/config.json");
    if (!o.configFile.empty()) {
        // A user's config takes the run's slicing choices: the llava15 baseline's single low-resolution view,
        // or a slice limit.
        json cfg = readJsonFile(o.configFile);
        if (o.policy == "llava15")
            cfg["max_slice_nums"] = 1;
        else if (o.maxSlices >= 1)
            cfg["max_slice_nums"] = o.maxSlices;
        return cfg;
    }
    return buildConfig(o.preset, o.policy, o.maxSlices, o.resamplerAttention, o.patchEmbed);
}

// The decoder layer whose attention the look loss reads: the last one (LLaMA config keys, as every family's
// text_config / top level names them). Error(InvalidArgument) when the look loss is on and o.lookHead is not
// one of that layer's heads.
int lookLayerOf(const json &cfg, const TrainOptions &o)
{
    const json &text = cfg.contains("text_config") ? cfg["text_config"] : cfg;
    const int lookLayer = text.value("num_hidden_layers", 0) - 1;
    if (o.lookLossWeight > 0 && (lookLayer < 0 || o.lookHead >= text.value("num_attention_heads", 0)))
        throw Error(ErrorCode::InvalidArgument,
                    "the look head (" + std::to_string(o.lookHead) + ") must be one of the decoder's " +
                        std::to_string(text.value("num_attention_heads", 0)) + " attention heads",
                    "look_head");
    return lookLayer;
}

// Tokenizer: trained once on the generator's corpus into <out>/tokenizer.model, kept with the checkpoint for
// resume. Error(ConfigInvalid) when it has more pieces than the model's vocabulary.
std::shared_ptr<Tokenizer> runTokenizer(const TrainOptions &o, const json &cfg, Family family,
                                        const VisionLanguageModel &model, const std::string &out,
                                        const std::vector<BaseWeightSource> &base)
{
    // A pretrained language model brings its tokenizer: the GGUF file's, as Model::load reads it for a folder
    // without tokenizer files (nothing is written to the folder).
    for (const BaseWeightSource &b : base)
        if (b.kind == BaseWeightSource::Kind::GgufLlm)
            return Tokenizer::fromBpe(
                std::make_shared<const BpeTokenizer>(gguf::ggufBpeSpec(gguf::GgufFile::open(b.path).meta())));
    const std::string tokPath = out + "/tokenizer.model";
    if (!(o.resume && QFileInfo::exists(QString::fromStdString(tokPath)))) {
        std::vector<std::string> symbols = familySpecialTokens(family);
        if (cfg.contains("uhdlens_special_tokens"))
            for (const auto &s : cfg["uhdlens_special_tokens"])
                if (std::find(symbols.begin(), symbols.end(), s.get<std::string>()) == symbols.end())
                    symbols.push_back(s.get<std::string>());
        std::vector<std::string> lines;
        std::stringstream corpus(synth::corpusText(20000));
        for (std::string line; std::getline(corpus, line);)
            lines.push_back(line);
        int vocab = o.tokenizerVocab > 0 ? o.tokenizerVocab : static_cast<int>(model.vocabSize());
        for (;;) {
            try {
                Tokenizer::train(lines, tokPath, vocab, symbols, "bpe");
                break;
            } catch (const Error &e) {
                // The corpus is small: sentencepiece refuses a vocabulary larger than the merges it can find.
                if (e.code() != ErrorCode::InvalidArgument || vocab <= 300)
                    throw;
                vocab = vocab * 7 / 8;
            }
        }
    }
    std::shared_ptr<Tokenizer> tok = Tokenizer::load(tokPath);
    if (tok->vocabSize() > model.vocabSize())
        throw Error(ErrorCode::ConfigInvalid, "tokenizer has more pieces than the model's vocab_size",
                    "vocab_size");
    return tok;
}

// What the optimiser trains: every parameter of the model, plus the glyph head (training only: vision
// features -> "none" + one class per alphabet character) when the glyph loss or the encoder warm-up is on.
struct TrainedParameters
{
    ParamGroups groups;        // decay matrices (dim >= 2) only; norms, biases, tables excluded
    NamedTensors checkpointed; // the model's, then the training-only ones (kTrainOnlyPrefix)
    int64_t modelParameters = 0;
    int64_t trainOnlyParameters = 0; // not counted in modelParameters (not part of the model)
    torch::nn::Linear glyphHead{nullptr};
    int64_t glyphClasses = 0;
};

TrainedParameters collectParameters(VisionLanguageModel &model, const json &cfg, const TrainOptions &o,
                                    const std::vector<BaseWeightSource> &base)
{
    TrainedParameters p;
    for (auto &[name, t] : model.namedParameters()) {
        if (fromBaseWeights(base, name)) { // pretrained and frozen: neither trained nor checkpointed
            t.set_requires_grad(false);
            continue;
        }
        t.set_requires_grad(true);
        p.modelParameters += t.numel();
        p.groups.add(name, t);
        p.checkpointed.emplace_back(name, t);
    }
    p.glyphClasses = static_cast<int64_t>(glyphAlphabet().size()) + 1;
    if (o.glyphLossWeight > 0 || o.encoderWarmupSteps > 0) {
        const json *vc = cfg.contains("vision_config") ? &cfg["vision_config"] : nullptr;
        if (!vc || !vc->contains("hidden_size") || !(*vc)["hidden_size"].is_number_integer())
            throw Error(ErrorCode::ConfigInvalid,
                        "the glyph loss needs vision_config.hidden_size in config.json",
                        "vision_config.hidden_size");
        p.glyphHead = torch::nn::Linear((*vc)["hidden_size"].get<int64_t>(), p.glyphClasses);
        for (const auto &item : p.glyphHead->named_parameters()) {
            p.checkpointed.emplace_back(std::string(kTrainOnlyPrefix) + "glyph_head." + item.key(),
                                        item.value());
            p.groups.add("glyph_head." + item.key(), item.value());
            p.trainOnlyParameters += item.value().numel();
        }
    }
    return p;
}

// The recipe as state.json, uhdlens.json and training_log.json record it.
json recipeRecord(const TrainOptions &o, bool bf16)
{
    return {{"preset", o.preset},
            {"policy", o.policy},
            {"steps", o.steps},
            {"batch_images", o.batchImages},
            {"turns_per_image", o.turnsPerImage},
            {"lr", o.lr},
            {"min_lr_ratio", o.minLrRatio},
            {"warmup_steps", o.warmupSteps},
            {"weight_decay", o.weightDecay},
            {"clip_norm", o.clipNorm},
            {"seed", o.seed},
            {"dtype", bf16 ? "bf16-autocast" : "f32"},
            {"min_side", o.minSide},
            {"max_side", o.maxSide},
            {"min_text", o.minText},
            {"max_text", o.maxText},
            {"time_budget_minutes", o.timeBudgetMinutes},
            {"read_text_probability", o.readTextProbability},
            {"read_text_words", o.readTextWords},
            {"read_text_min_pixels", o.readTextMinPixels},
            {"region_loss_weight", o.regionLossWeight},
            {"region_min_pixels", o.regionMinPixels},
            {"token_loss_weight", o.tokenLossWeight},
            {"look_loss_weight", o.lookLossWeight},
            {"look_head", o.lookHead},
            {"glyph_loss_weight", o.glyphLossWeight},
            {"glyph_min_pixels", o.glyphMinPixels},
            {"families", o.families},
            {"resampler_attention", o.resamplerAttention},
            {"patch_embed", o.patchEmbed},
            {"encoder_warmup_steps", o.encoderWarmupSteps},
            {"encoder_warmup_crop", o.encoderWarmupCrop},
            {"encoder_warmup_batch", o.encoderWarmupBatch},
            {"image_text_probability", o.imageTextProbability},
            {"image_text_min_pixels", o.imageTextMinPixels},
            {"image_text_max_lines", o.imageTextMaxLines},
            {"not_shown_probability", o.notShownProbability}};
}

// ---- evaluation of the run as it goes ---------------------------------------------------------------------

// The means of the last logEvery steps' losses, the accuracy tallies and the throughput since the last
// report: what each progress line and the loss curve show.
class LossWindow
{
public:
    explicit LossWindow(const TrainOptions &o) : m_options(o) {}

    void add(const StepLosses &s, std::size_t images)
    {
        for (auto [window, value] : {std::pair{&m_answer, s.answer},
                                     {&m_region, s.region},
                                     {&m_token, s.token},
                                     {&m_look, s.look},
                                     {&m_lookMass, s.lookMass},
                                     {&m_glyph, s.glyph}}) {
            window->push_back(value);
            if (static_cast<int>(window->size()) > m_options.logEvery)
                window->pop_front();
        }
        m_images += static_cast<double>(images);
        m_tokens += static_cast<double>(s.positions);
    }
    // Mean answer loss of the window (0 when nothing was added yet).
    double answerMean() const { return m_answer.empty() ? 0.0 : mean(m_answer); }

    // The progress line after step `done` of a run now `elapsed` seconds long (earlier runs included).
    TrainProgress report(int done, double lastLoss, double lr, double elapsed) const
    {
        const double dt = std::max(1e-9, std::chrono::duration<double>(Clock::now() - m_start).count());
        TrainProgress p;
        p.step = done;
        p.steps = m_options.steps;
        p.loss = lastLoss;
        p.lossAverage = mean(m_answer);
        p.regionLoss = mean(m_region);
        p.tokenLoss = mean(m_token);
        p.tokenAccuracy = namingTally.accuracy();
        p.lookLoss = mean(m_look);
        p.lookMass = mean(m_lookMass);
        p.glyphLoss = mean(m_glyph);
        p.glyphAccuracy = glyphTally.accuracy();
        p.glyphAccuracyLarge = glyphTally.accuracyLarge();
        p.lr = lr;
        p.imagesPerSecond = m_images / dt;
        p.tokensPerSecond = m_tokens / dt;
        p.elapsedSeconds = elapsed;
        const double perStep = dt / std::max(1.0, m_images / m_options.batchImages);
        double eta = perStep * (m_options.steps - done);
        if (m_options.timeBudgetMinutes > 0)
            eta = std::min(eta, std::max(0.0, m_options.timeBudgetMinutes * 60.0 - elapsed));
        p.etaSeconds = eta;
        return p;
    }
    // After a report: tallies and throughput start again (the loss means keep their last logEvery steps).
    void restart()
    {
        m_images = m_tokens = 0;
        glyphTally = {};
        namingTally = {};
        m_start = Clock::now();
    }

    GlyphTally glyphTally;   // accuracy of the glyph head, this window
    NamingTally namingTally; // the same for the token naming loss

private:
    static double mean(const std::deque<double> &w)
    {
        return std::accumulate(w.begin(), w.end(), 0.0) / w.size();
    }

    const TrainOptions &m_options;
    std::deque<double> m_answer, m_region, m_token, m_look, m_lookMass, m_glyph;
    double m_images = 0, m_tokens = 0;
    Clock::time_point m_start = Clock::now();
};

} // namespace

} // namespace lab

TrainResult train(const TrainOptions &o, const TrainProgressCallback &progress)
{
    using namespace lab;
    if (const std::string why = o.validate(); !why.empty())
        throw Error(ErrorCode::InvalidArgument, "training options: " + why, "options");
    setThreadCount(o.threads);
    torch::manual_seed(o.seed);

    const std::string out = o.outDir;
    const std::string ckDir = out + "/checkpoint";
    const json cfg = runConfig(o, ckDir);
    const Family family = detectFamily(cfg);
    // Pretrained parts (config.json "base_weights"): Error(FileNotFound) naming the install command when
    // they are not installed. They are loaded over the random initialisation and stay frozen.
    const std::vector<BaseWeightSource> base = baseWeightSources(cfg);
    std::unique_ptr<VisionLanguageModel> model = createFamilyModel(cfg, nullptr, {});
    const TrainableModel &trainable = trainableModel(*model); // Error(InvalidArgument): a family without one
    initRandom(*model, o.seed);
    if (!base.empty()) {
        if (o.glyphLossWeight > 0 || o.encoderWarmupSteps > 0 || o.lookLossWeight > 0)
            throw Error(
                ErrorCode::InvalidArgument,
                "this config takes its vision encoder and language model from the base weights, frozen: "
                "the glyph loss, the encoder warm-up and the look loss train them (set them to 0)",
                "base_weights");
        torch::NoGradGuard ng;
        loadBaseWeights(base, model->namedParameters(), model->namedModules(), torch::kFloat32,
                        torch::Device(torch::kCPU), o.configFile.empty() ? o.outDir : o.configFile);
    }
    if (o.encoderWarmupSteps > 0 && o.encoderWarmupCrop % model->policy().patch != 0)
        throw Error(ErrorCode::InvalidArgument,
                    "the encoder warm-up crop (" + std::to_string(o.encoderWarmupCrop) +
                        " px) must be a multiple of the patch (" + std::to_string(model->policy().patch) +
                        " px)",
                    "encoder_warmup_crop");
    const int lookLayer = lookLayerOf(cfg, o);
    // Nothing is written before here: every refusal above leaves no folder behind.
    if (!QDir().mkpath(QString::fromStdString(out)))
        throw Error(ErrorCode::FileUnreadable, "cannot create output folder " + out, out);

    const std::shared_ptr<Tokenizer> tok = runTokenizer(o, cfg, family, *model, out, base);
    const std::vector<int64_t> stops = model->stopTokenIds(*tok);
    if (stops.empty())
        throw Error(ErrorCode::ConfigInvalid, "the family defines no stop token to train", "eos");
    const int64_t endId = stops.front();

    TrainedParameters params = collectParameters(*model, cfg, o, base);
    torch::optim::AdamW opt = params.groups.optimizer(o);
    const std::vector<torch::Tensor> allParams = params.groups.all();

    // ---- checkpoint: resume, and the record every checkpoint carries --------------------------------------
    int startStep = 0;
    json log;
    log["loss_curve"] = json::array();
    double priorSeconds = 0;
    json resumed; // the checkpoint's state.json when resuming
    if (o.resume) {
        loadCheckpoint(ckDir, params.checkpointed, opt);
        resumed = readJsonFile(ckDir + "/state.json");
        startStep = resumed.at("step").get<int>();
        if (resumed.contains("log"))
            log = resumed["log"];
        priorSeconds = resumed.value("seconds", 0.0);
    }
    // bf16 autocast where the CPU runs bf16 fast: the same test as inference's dtype "auto" (runtime.h).
    const bool bf16 = o.dtype == "bf16" || (o.dtype == "auto" && cpuRunsBf16Fast());
    const synth::Options dataOptions = trainingData(o);
    synth::ensureFonts(synth::Split::Train); // register fonts on this thread before the worker starts

    json state;
    state["options"] = recipeRecord(o, bf16);
    // A resume with other options (a second stage, uhdlens-train --then-steps) keeps what the earlier stages
    // ran with and the step each ended at, so the model folder records its whole recipe.
    state["earlier_stages"] = o.resume ? resumed.value("earlier_stages", json::array()) : json::array();
    if (o.resume && resumed.contains("options") && resumed["options"] != state["options"]) {
        json stage = resumed["options"];
        stage["until_step"] = startStep;
        state["earlier_stages"].push_back(stage);
    }
    QDir().mkpath(QString::fromStdString(ckDir));
    writeJsonFile(ckDir + "/config.json", cfg);

    // Encoder warm-up, once: skipped when resuming a run that finished it (or had no warm-up).
    const bool warmupDone = o.resume && (resumed.value("encoder_warmup_done", false) || startStep > 0);
    if (o.encoderWarmupSteps > 0 && !warmupDone) {
        state["encoder_warmup_seconds"] =
            runEncoderWarmup(*model, params.glyphHead, *tok, o, dataOptions, bf16, progress);
        state["encoder_warmup_done"] = true;
        saveCheckpoint(ckDir, params.checkpointed, opt, startStep, state);
    } else if (o.resume) {
        if (resumed.contains("encoder_warmup_seconds"))
            state["encoder_warmup_seconds"] = resumed["encoder_warmup_seconds"];
        state["encoder_warmup_done"] = resumed.value("encoder_warmup_done", false);
    }

    // ---- the full recipe: data pipeline, steps, evaluation of each window, checkpoints --------------------
    const VisionLanguageModel &m = *model;
    DataQueue queue([&](std::uint64_t i) { return makeExample(m, *tok, o, dataOptions, i, endId); },
                    static_cast<std::uint64_t>(startStep) * o.batchImages,
                    static_cast<std::size_t>(o.queueSize));
    const StepModel stepModel{*model, trainable, params.glyphHead, params.glyphClasses, lookLayer,
                              bf16,   opt,       allParams};

    TrainResult result;
    result.parameters = params.modelParameters;
    result.outDir = out;
    LossWindow window(o);
    RunCounts counts;
    const auto runStart = Clock::now();
    int step = startStep;
    for (; step < o.steps; ++step) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - runStart).count() + priorSeconds;
        const double timeFraction = o.timeBudgetMinutes > 0 ? elapsed / (o.timeBudgetMinutes * 60.0) : 0.0;
        if (o.timeBudgetMinutes > 0 && timeFraction >= 1.0)
            break;
        const double lr = scheduleLr(o, step, timeFraction);
        std::vector<Example> batch;
        for (int b = 0; b < o.batchImages; ++b)
            batch.push_back(queue.pop());
        const StepLosses losses = trainStep(stepModel, o, batch, lr, window.glyphTally, window.namingTally);
        const double l = losses.answer; // reported: the answer loss alone, comparable across recipes
        if (!std::isfinite(losses.total))
            throw Error(ErrorCode::Internal,
                        "training diverged at step " + std::to_string(step + 1) + " (loss " +
                            std::to_string(l) + "); lower --lr",
                        "lr");
        window.add(losses, batch.size());
        for (const Example &ex : batch) {
            counts.earlierTurns += ex.earlierTurns;
            counts.supervisedEarlier += ex.supervisedEarlier;
            counts.visualTokens += static_cast<int64_t>(ex.encodedImages) * model->tokensPerImage();
            counts.images += 1;
        }
        const int done = step + 1;
        const bool saveNow = done % o.checkpointEvery == 0;
        if (done % o.logEvery == 0 || done == o.steps || saveNow) {
            const double total =
                std::chrono::duration<double>(Clock::now() - runStart).count() + priorSeconds;
            TrainProgress p = window.report(done, l, lr, total);
            log["loss_curve"].push_back({done, p.lossAverage});
            if (saveNow) {
                state["log"] = log;
                state["seconds"] = total;
                saveCheckpoint(ckDir, params.checkpointed, opt, done, state);
                p.checkpointSaved = true;
            }
            if (progress)
                progress(p);
            window.restart();
        }
    }
    if (o.resume && step == startStep && resumed.contains("options")) {
        // Nothing ran: the checkpoint is already past this run's end (the first stage of a resumed two-stage
        // command). Its record stands as it is.
        state["options"] = resumed["options"];
        state["earlier_stages"] = resumed.value("earlier_stages", json::array());
    }
    result.steps = step;
    result.seconds = std::chrono::duration<double>(Clock::now() - runStart).count() + priorSeconds;
    result.lastLoss = window.answerMean();
    for (const auto &pt : log["loss_curve"])
        result.lossCurve.emplace_back(pt[0].get<int>(), pt[1].get<double>());
    if (!result.lossCurve.empty()) // the whole training's first window, before any resume or second stage
        result.firstLoss = result.lossCurve.front().second;

    // Final checkpoint (resumable) and the model folder.
    state["log"] = log;
    state["seconds"] = result.seconds;
    saveCheckpoint(ckDir, params.checkpointed, opt, step, state);
    writeModelFolder(out, *model, cfg, o, state, result, params.trainOnlyParameters, counts);
    return result;
}

} // namespace uhdlens
