// uhdlens-bench engine --family minicpmv --shapes real|tiny [--dtype bf16|mixed|f32|both] [--threads N]
// uhdlens-bench engine --gguf LLM.gguf --mmproj MMPROJ.gguf [--threads N]
//                      [--prefill-tokens N] [--decode-tokens N] [--repeats N] [--workdir DIR] [--fresh]
//                      [--json]
// uhdlens-bench flops [--size WxH]...
//
// engine: random weights with the family's real (or tiny) shapes, written once to a safetensors file in bf16
// by a child process (so this process's peak RSS only counts what inference needs) and loaded through the
// engine's normal mmap path; or a GGUF pair through Model::load. Measures per-slice vision encode (one
// 1024-patch 448x448 slice) and resampler time, the encoder's achieved GFLOP/s against a GEMM of the same
// dtype measured in the same run, prefill tokens/s of the language model and decode tokens/s after the
// prefilled context, and peak RSS against the checkpoint's weight bytes. Encode timings are medians of
// --repeats runs after one warm-up. It prints no figures of other programs:
// tests/tools/llama_cpp_side_by_side.sh measures llama.cpp on the same GGUF files in the same run (issue 21).
// --json prints one JSON object on stdout (the table goes to stderr) for that script.
#include "bench_engine.h"
#include "benchcommon.h"

#include "engine_impl.h"
#include "model_family.h"
#include "safetensors.h"
#include "uhdlens/errors.h"
#include "uhdlens/flops.h"
#include "uhdlens/runtime.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

namespace bench {

namespace {

using uhdlens::Error;

int64_t memAvailableKb()
{
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("MemAvailable:", 0) == 0)
            return std::stoll(line.substr(13));
    return 0;
}

// Resets the peak-RSS counter (VmHWM) of this process (Linux >= 4.0: write "5" to clear_refs).
void resetPeakRss()
{
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
}

// `llmLayers` > 0 keeps only that many language-model layers (real widths, vocabulary and vision tower
// unchanged): MiniCPM-V 2.6's Qwen2-7B is 15 GB in bf16 and does not fit beside its random-weight writer on a
// small machine, while per-layer prefill and decode costs scale linearly with the layer count.
nlohmann::json familyConfig(const std::string &family, const std::string &shapes, int llmLayers)
{
    const uhdlens::Family f = uhdlens::parseName<uhdlens::Family>(family); // Error(UnknownFamily) naming it
    nlohmann::json c = shapes == "real" ? uhdlens::realConfig(f) : uhdlens::tinyConfig(f);
    if (llmLayers > 0)
        c["num_hidden_layers"] = std::min(llmLayers, c.value("num_hidden_layers", llmLayers));
    return c;
}

// The vision tower shape for the FLOP count, from the config as the family reads it (defaults: SigLIP-400M).
uhdlens::VisionTowerShape visionShape(const nlohmann::json &config)
{
    const nlohmann::json vc = config.contains("vision_config") ? config["vision_config"] : nlohmann::json::object();
    uhdlens::VisionTowerShape s;
    s.width = vc.value("hidden_size", 1152);
    s.mlp = vc.value("intermediate_size", 4304);
    s.layers = vc.value("num_hidden_layers", 27) - (config.value("drop_vision_last_layer", true) ? 1 : 0);
    s.patch = vc.value("patch_size", 14);
    s.classToken = false;
    return s;
}

// Child mode: random-initialise the family at `shapes` in bf16 and write <dir>/model.safetensors.
int writeWeights(const std::string &family, const std::string &shapes, int llmLayers, const std::string &dir)
{
    torch::NoGradGuard noGrad;
    const nlohmann::json config = familyConfig(family, shapes, llmLayers);
    uhdlens::FamilyBuildOptions build;
    build.dtype = torch::kBFloat16;
    auto vlm = uhdlens::createFamilyModel(config, nullptr, build);
    uhdlens::initRandom(*vlm, 0);
    QDir().mkpath(QString::fromStdString(dir));
    {
        std::ofstream out(QDir(QString::fromStdString(dir)).filePath(QStringLiteral("config.json")).toStdString());
        out << config.dump(2) << '\n';
    }
    uhdlens::saveSafeTensors(QDir(QString::fromStdString(dir)).filePath(QStringLiteral("model.safetensors")).toStdString(),
                             vlm->namedParameters(), {{"format", "pt"}, {"uhdlens_bench", "random weights"}});
    return 0;
}

// The reference GEMM rate and how stable it is: the median of repeated products, repeated until the
// interquartile range of the times is under 5% of their median (at least kMinRuns, at most kMaxRuns or
// kMaxMs). Three products were not enough on a shared machine: the encoder's "fraction of GEMM" swung
// 0.56-0.72 between runs with no change in the encoder (issue 21).
struct GemmRate
{
    double gflops = 0;
    double spread = 0; // (q3 - q1) / median of the run times
    int runs = 0;
    bool stable() const { return spread < 0.05; }
};

GemmRate gemmRate(torch::Dtype dtype)
{
    constexpr int kMinRuns = 15, kMaxRuns = 201;
    constexpr double kMaxMs = 20000;
    // The ViT MLP's first matrix for a 1024-patch slice: [1024 x 1152] x [1152 x 4304].
    torch::manual_seed(0);
    const auto opts = torch::TensorOptions().dtype(dtype);
    const torch::Tensor a = torch::randn({1024, 1152}, opts), b = torch::randn({1152, 4304}, opts);
    torch::Tensor c = torch::matmul(a, b); // warm-up
    c = torch::matmul(a, b);
    std::vector<double> ms;
    GemmRate r;
    const auto start = Clock::now();
    while (true) {
        const auto t0 = Clock::now();
        c = torch::matmul(a, b);
        ms.push_back(msSince(t0));
        if (int(ms.size()) < kMinRuns)
            continue;
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        const size_t n = sorted.size();
        const double med = median(sorted);
        r.spread = (sorted[(3 * n) / 4] - sorted[n / 4]) / med;
        r.runs = int(n);
        r.gflops = 2.0 * 1024 * 1152 * 4304 / (med * 1e6);
        if (r.stable() || int(n) >= kMaxRuns || msSince(start) > kMaxMs)
            return r;
    }
}

struct Measured
{
    std::string dtype;
    GemmRate gemmRef;
    double gemm = 0, visionMs = 0, resamplerMs = 0, visionGflops = 0;
    double prefillTps = 0, decodeTps = 0; // decode: after the prefillTokens of context
    // Per-token decode times: the first token after the prefill, and the median of all (the mean above counts
    // a slow start; llama-bench's tg figure is a mean too, after a warm-up run).
    double decodeFirstMs = 0, decodeMedianMs = 0;
    int prefillTokens = 0, decodeTokens = 0;
    bool lmSkipped = false;
    std::string lmSkipReason;
    double peakRssGb = 0, weightGb = 0, loadedGb = 0;
};

void timeModel(Measured &m, const uhdlens::VisionLanguageModel &model, const nlohmann::json &config, torch::Dtype dtype,
               int repeats, int prefillTokens, int decodeTokens);

// mixed: dtype is f32 and the family's matrices stay bf16 views of the file (as Model::load does in mixed mode).
Measured measure(const std::string &dir, const nlohmann::json &config, torch::Dtype dtype, bool mixed, int repeats,
                 int prefillTokens, int decodeTokens)
{
    Measured m;
    m.dtype = mixed ? "mixed" : dtype == torch::kBFloat16 ? "bf16" : "f32";
    m.gemmRef = gemmRate(dtype);
    m.gemm = m.gemmRef.gflops;

    resetPeakRss();
    torch::NoGradGuard noGrad; // as Model::load: parameters are plain tensors, compute runs in InferenceMode
    uhdlens::FamilyBuildOptions build;
    build.dtype = dtype;
    auto vlm = uhdlens::createFamilyModel(config, nullptr, build);
    const std::set<std::string> keepBf16 = mixed ? vlm->matrixParameterNames() : std::set<std::string>{};
    auto ck = std::make_unique<uhdlens::Checkpoint>(uhdlens::Checkpoint::open(dir));
    m.weightGb = double(ck->dataBytes()) / 1e9;
    const auto params = vlm->namedParameters();
    std::vector<std::pair<std::string, torch::Tensor>> vision, language;
    for (const auto &p : params)
        (p.first.rfind("llm.", 0) == 0 ? language : vision).push_back(p);
    int64_t languageBytes = 0;
    for (const auto &p : language)
        languageBytes += p.second.numel() * int64_t(keepBf16.count(p.first) ? 2 : torch::elementSize(dtype));
    // Skip the language model when the machine cannot hold it in the compute dtype (the vision part is always
    // measured).
    // bf16 maps the file (no copies); f32 allocates converted copies (the mapped bf16 pages it reads are clean
    // page cache the kernel can drop, so they count in RSS but not against available memory).
    const int64_t needKb = dtype == torch::kBFloat16 || mixed ? 0 : languageBytes * 11 / 10 / 1024;
    uhdlens::loadParameters(vision, *ck, dtype, torch::kCPU, {""}, keepBf16);
    if (needKb > memAvailableKb() * 8 / 10) {
        m.lmSkipped = true;
        m.lmSkipReason = "needs ~" + std::to_string(needKb / 1000000) + " GB, " +
                         std::to_string(memAvailableKb() / 1000000) + " GB available";
    } else {
        uhdlens::loadParameters(language, *ck, dtype, torch::kCPU, {""}, keepBf16);
    }
    for (const auto &p : params)
        if (!m.lmSkipped || p.first.rfind("llm.", 0) != 0)
            m.loadedGb += double(p.second.nbytes()) / 1e9; // as loaded: bf16 matrices in mixed mode

    timeModel(m, *vlm, config, dtype, repeats, prefillTokens, decodeTokens);
    return m;
}

// Per-slice encode, prefill and decode of a loaded model (fills m's timings and peak RSS).
void timeModel(Measured &m, const uhdlens::VisionLanguageModel &model, const nlohmann::json &config, torch::Dtype dtype,
               int repeats, int prefillTokens, int decodeTokens)
{
    const uhdlens::VisionLanguageModel *vlm = &model;
    torch::InferenceMode inference;
    // Vision encoder + resampler on one 448x448 slice (32x32 = 1024 patches).
    const torch::Tensor pixels = torch::randn({1, 3, 448, 448}).to(dtype);
    std::vector<double> vis, res;
    for (int i = 0; i < repeats + 1; ++i) {
        Clock::time_point tVision{};
        const auto t0 = Clock::now();
        vlm->encodeImages(pixels, [&](const std::string &name, const torch::Tensor &) {
            if (name == "vision")
                tVision = Clock::now();
        });
        const auto t1 = Clock::now();
        if (i == 0)
            continue; // warm-up
        const double total = std::chrono::duration<double, std::milli>(t1 - t0).count();
        const double v = tVision == Clock::time_point{} ? total
                                                        : std::chrono::duration<double, std::milli>(tVision - t0).count();
        vis.push_back(v);
        res.push_back(total - v);
    }
    m.visionMs = median(vis);
    m.resamplerMs = median(res);
    m.visionGflops = uhdlens::visionTowerFlops(visionShape(config), 1024) / (m.visionMs * 1e6);

    if (!m.lmSkipped) {
        const int64_t d = vlm->hiddenSize();
        torch::manual_seed(1);
        std::vector<double> pre;
        uhdlens::KVCache cache;
        // One warm-up, then --repeats measured prefills (the last one's cache is the decode's context).
        for (int i = 0; i < repeats + 1; ++i) {
            cache.clear();
            const torch::Tensor embeds = (torch::randn({prefillTokens, d}) * 0.02).to(dtype);
            const auto t0 = Clock::now();
            vlm->forward(embeds, cache);
            if (i > 0)
                pre.push_back(msSince(t0));
        }
        m.prefillTokens = prefillTokens;
        m.prefillTps = prefillTokens * 1000.0 / median(pre);
        torch::Tensor id = torch::tensor({int64_t(5)}, torch::kLong);
        std::vector<double> perToken;
        const auto t0 = Clock::now();
        for (int i = 0; i < decodeTokens; ++i) {
            const auto t1 = Clock::now();
            const torch::Tensor logits = vlm->forward(vlm->embedTokens(id).to(dtype), cache);
            id = logits.argmax().reshape({1});
            perToken.push_back(msSince(t1));
        }
        m.decodeTokens = decodeTokens;
        m.decodeTps = decodeTokens * 1000.0 / msSince(t0);
        m.decodeFirstMs = perToken.front();
        m.decodeMedianMs = median(perToken);
    }
    m.peakRssGb = double(procStatusKb("VmHWM")) * 1024 / 1e9;
}

// The machine-readable form of one measurement (--json; read by tests/tools/llama_cpp_side_by_side.py).
nlohmann::json toJson(const Measured &m)
{
    nlohmann::json j = {
        {"dtype", m.dtype},
        {"gemm_gflops", m.gemm},
        {"gemm_spread", m.gemmRef.spread},
        {"gemm_runs", m.gemmRef.runs},
        {"vision_ms", m.visionMs},
        {"resampler_ms", m.resamplerMs},
        {"encode_ms_per_slice", m.visionMs + m.resamplerMs},
        {"slice_patches", 1024},
        {"vision_gflops", m.visionGflops},
        {"weight_gb", m.weightGb},
        {"loaded_gb", m.loadedGb},
        {"peak_rss_gb", m.peakRssGb},
    };
    if (m.lmSkipped) {
        j["lm_skipped"] = m.lmSkipReason;
    } else {
        j["prefill_tokens"] = m.prefillTokens;
        j["prefill_tok_s"] = m.prefillTps;
        j["decode_tokens"] = m.decodeTokens;
        j["decode_context"] = m.prefillTokens;
        j["decode_tok_s"] = m.decodeTps;
        j["decode_first_token_ms"] = m.decodeFirstMs;
        j["decode_median_token_ms"] = m.decodeMedianMs;
    }
    return j;
}

std::string gemmNote(const GemmRate &g)
{
    char b[160];
    std::snprintf(b, sizeof b, "median of %d runs, spread (IQR/median) %.1f%%%s", g.runs, 100 * g.spread,
                  g.stable() ? "" : ", NOT under 5%: the machine is busy, rates are noisy");
    return b;
}

// uhdlens-bench engine --gguf LLM --mmproj MMPROJ: the pair through Model::load (the app's path) in f32
// compute; quantized matrices stay in the mapping (QuantLinear), so "allocated" counts only what the loader
// made (F16 tensors converted to f32, a dequantized token table, the resampler's packed copies).
int runGgufBench(const std::string &llm, const std::string &mmproj, int threads, int repeats,
                 int prefillTokens, int decodeTokens, bool json)
{
    FILE *out = json ? stderr : stdout;
    Measured m;
    m.gemmRef = gemmRate(torch::kFloat);
    m.gemm = m.gemmRef.gflops;
    resetPeakRss();
    uhdlens::LoadOptions o;
    o.modelDir = llm;
    o.mmproj = mmproj;
    o.dtype = uhdlens::Dtype::F32;
    o.device = {uhdlens::Device::Cpu};
    const auto t0 = Clock::now();
    const auto model = uhdlens::Model::load(o);
    const double loadMs = msSince(t0);
    const auto &vlm = *model->impl().vlm;
    m.weightGb = double(model->info().weightBytes) / 1e9;
    for (const auto &p : vlm.namedParameters())
        if (p.second.dim() == 0 || p.second.stride(0) != 0) // zero-stride: a quantized layer's placeholder
            m.loadedGb += double(p.second.nbytes()) / 1e9;
    m.dtype = "f32";
    timeModel(m, vlm, vlm.config(), torch::kFloat, repeats, prefillTokens, decodeTokens);
    const int kernelThreads = uhdlens::kernelThreadsInUse(); // runs a parallel loop: once, for the table and JSON
    std::fprintf(out,
                 "uhdlens-bench engine: GGUF %s + %s, f32 compute, %d threads (kernels on %d, OpenBLAS %s; medians "
                 "of %d runs)\n",
                 llm.c_str(), mmproj.c_str(), threads, kernelThreads, uhdlens::blasThreading(), repeats);
    nlohmann::json weights = nlohmann::json::object();
    for (const auto &s : model->info().settingSources)
        if (s.key.rfind("weights.", 0) == 0) {
            std::fprintf(out, "  %-14s %s (%s)\n", s.key.c_str(), s.value.c_str(), s.source.c_str());
            weights[s.key.substr(8)] = s.value;
        }
    const int vlayers =
        vlm.config().value("vision_config", nlohmann::json::object()).value("num_hidden_layers", 0);
    std::fprintf(out, "  GEMM 1024x1152x4304 f32, GFLOP/s          %10.1f (%s)\n", m.gemm,
                 gemmNote(m.gemmRef).c_str());
    std::fprintf(out, "  load, ms                                  %10.0f\n", loadMs);
    std::fprintf(out, "  vision encoder per 1024-patch slice, ms   %10.1f (%d layers)\n", m.visionMs,
                 vlayers);
    std::fprintf(out, "  resampler per slice, ms                   %10.1f\n", m.resamplerMs);
    std::fprintf(out, "  per-slice encode incl. resampler, ms      %10.1f\n", m.visionMs + m.resamplerMs);
    std::fprintf(out, "  vision encoder GFLOP/s (/ GEMM rate)      %10.1f (%.2f)\n", m.visionGflops,
                 m.visionGflops / m.gemm);
    std::fprintf(out, "  prefill tokens/s (%4d tokens)            %10.1f\n", m.prefillTokens, m.prefillTps);
    std::fprintf(out, "  decode tokens/s (%d after %d of context)  %10.2f\n", m.decodeTokens, m.prefillTokens,
                 m.decodeTps);
    std::fprintf(out, "    ms per token: first / median            %10.1f / %.1f\n", m.decodeFirstMs,
                 m.decodeMedianMs);
    std::fprintf(out, "  file weight bytes, GB                     %10.3f\n", m.weightGb);
    std::fprintf(out, "  allocated by the loader, GB               %10.3f\n", m.loadedGb);
    std::fprintf(out, "  peak RSS, GB (/ file bytes)               %10.3f (%.2f)\n", m.peakRssGb,
                 m.peakRssGb / m.weightGb);
    if (json) {
        nlohmann::json j = toJson(m);
        j["mode"] = "gguf";
        j["llm"] = llm;
        j["mmproj"] = mmproj;
        j["threads"] = threads;
        j["kernel_threads"] = kernelThreads;
        j["blas_threading"] = uhdlens::blasThreading();
        j["repeats"] = repeats;
        j["weight_types"] = weights;
        j["llm_layers"] = vlm.config().value("num_hidden_layers", 0);
        j["vision_layers"] = vlayers;
        j["load_ms"] = loadMs;
        std::printf("%s\n", j.dump(1).c_str());
    }
    return 0;
}

} // namespace

int runEngineBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Engine speed with random weights of a family's shapes."));
    parser.addHelpOption();
    QCommandLineOption familyOpt(QStringLiteral("family"), QStringLiteral("minicpmv or minicpmv26 (real shapes exist for them)."), QStringLiteral("F"), QStringLiteral("minicpmv"));
    QCommandLineOption shapesOpt(QStringLiteral("shapes"), QStringLiteral("real (MiniCPM-V 2.0 ~7 GB, 2.6 ~16 GB bf16) or tiny."), QStringLiteral("S"), QStringLiteral("tiny"));
    QCommandLineOption llmLayersOpt(QStringLiteral("llm-layers"), QStringLiteral("Keep only N language-model layers (default: all); rates are for N layers."), QStringLiteral("N"), QStringLiteral("0"));
    QCommandLineOption dtypeOpt(QStringLiteral("dtype"), QStringLiteral("bf16, mixed (bf16 weights, f32 arithmetic), f32, or both (default: bf16 where the CPU has it, mixed and f32)."), QStringLiteral("T"), QStringLiteral("both"));
    QCommandLineOption threadsOpt(QStringLiteral("threads"), QStringLiteral("Threads (default: all cores)."), QStringLiteral("N"), QStringLiteral("0"));
    QCommandLineOption prefillOpt(QStringList{QStringLiteral("prefill-tokens"), QStringLiteral("prompt-tokens")}, QStringLiteral("Prompt positions to prefill; decode runs after them (default 256)."), QStringLiteral("N"), QStringLiteral("256"));
    QCommandLineOption decodeOpt(QStringLiteral("decode-tokens"), QStringLiteral("Tokens to decode (default 16)."), QStringLiteral("N"), QStringLiteral("16"));
    QCommandLineOption repeatsOpt(QStringLiteral("repeats"), QStringLiteral("Measured runs after a warm-up (default 3)."), QStringLiteral("N"), QStringLiteral("3"));
    QCommandLineOption workOpt(QStringLiteral("workdir"), QStringLiteral("Where the random checkpoint is kept (default: temp)."), QStringLiteral("DIR"));
    QCommandLineOption freshOpt(QStringLiteral("fresh"), QStringLiteral("Rewrite the random checkpoint even if present."));
    QCommandLineOption ggufOpt(QStringLiteral("gguf"), QStringLiteral("Time a GGUF language-model file (with --mmproj) instead of random weights."), QStringLiteral("FILE"));
    QCommandLineOption mmprojOpt(QStringLiteral("mmproj"), QStringLiteral("The mmproj GGUF file of --gguf."), QStringLiteral("FILE"));
    QCommandLineOption jsonOpt(QStringLiteral("json"), QStringLiteral("Print the results as one JSON object on stdout (the table goes to stderr)."));
    QCommandLineOption writeOpt(QStringLiteral("write-weights"), QStringLiteral("(internal) child mode: write the checkpoint to DIR."), QStringLiteral("DIR"));
    parser.addOptions({familyOpt, shapesOpt, llmLayersOpt, dtypeOpt, threadsOpt, prefillOpt, decodeOpt, repeatsOpt, workOpt, freshOpt, ggufOpt, mmprojOpt, jsonOpt, writeOpt});
    auto usage = [](const QString &msg) {
        std::fprintf(stderr, "uhdlens-bench engine: %s\n", qPrintable(msg));
        return 2;
    };
    if (const auto done = parseArguments(parser, args, QStringLiteral("engine")))
        return *done;
    const std::string family = parser.value(familyOpt).toStdString();
    const std::string shapes = parser.value(shapesOpt).toStdString();
    if (shapes != "real" && shapes != "tiny")
        return usage(QStringLiteral("--shapes must be real or tiny"));
    const QString dt = parser.value(dtypeOpt);
    if (dt != QLatin1String("bf16") && dt != QLatin1String("f32") && dt != QLatin1String("mixed") && dt != QLatin1String("both"))
        return usage(QStringLiteral("--dtype must be bf16, mixed, f32 or both"));
    bool okLayers = false;
    const int llmLayers = parser.value(llmLayersOpt).toInt(&okLayers);
    if (!okLayers || llmLayers < 0)
        return usage(QStringLiteral("--llm-layers needs a non-negative integer"));
    bool ok1 = false, ok2 = false, ok3 = false, ok4 = false;
    int threads = parser.value(threadsOpt).toInt(&ok1);
    const int prefill = parser.value(prefillOpt).toInt(&ok2);
    const int decode = parser.value(decodeOpt).toInt(&ok3);
    const int repeats = parser.value(repeatsOpt).toInt(&ok4);
    if (!ok1 || !ok2 || !ok3 || !ok4 || threads < 0 || prefill < 1 || decode < 1 || repeats < 1)
        return usage(QStringLiteral("--threads, --prefill-tokens, --decode-tokens and --repeats need positive integers"));
    threads = uhdlens::setThreadCount(threads); // 0: all cores
    const bool json = parser.isSet(jsonOpt);
    FILE *out = json ? stderr : stdout; // --json: stdout carries only the JSON object

    try {
        if (parser.isSet(ggufOpt) != parser.isSet(mmprojOpt))
            return usage(QStringLiteral("--gguf and --mmproj go together (the pair's two files)"));
        if (parser.isSet(ggufOpt))
            return runGgufBench(parser.value(ggufOpt).toStdString(), parser.value(mmprojOpt).toStdString(),
                                threads, repeats, prefill, decode, json);
        if (parser.isSet(writeOpt))
            return writeWeights(family, shapes, llmLayers, parser.value(writeOpt).toStdString());
        const nlohmann::json config = familyConfig(family, shapes, llmLayers);
        const int layers = config.value("num_hidden_layers", 0);
        const QString layerTag = llmLayers > 0 ? QStringLiteral("-llm%1").arg(layers) : QString();
        const QString dir = parser.isSet(workOpt)
                                ? parser.value(workOpt)
                                : QDir(QDir::tempPath()).filePath(QStringLiteral("uhdlens-bench/%1-%2%3")
                                                                      .arg(QString::fromStdString(family),
                                                                           QString::fromStdString(shapes), layerTag));
        const QString file = QDir(dir).filePath(QStringLiteral("model.safetensors"));
        if (parser.isSet(freshOpt) || !QFileInfo::exists(file)) {
            std::fprintf(out, "writing random %s weights (%s shapes, bf16) to %s ...\n", family.c_str(),
                         shapes.c_str(), qPrintable(file));
            std::fflush(out);
            const auto t0 = Clock::now();
            QProcess child;
            child.setProcessChannelMode(json ? QProcess::ForwardedErrorChannel : QProcess::ForwardedChannels);
            child.start(QCoreApplication::applicationFilePath(),
                        {QStringLiteral("engine"), QStringLiteral("--family"), QString::fromStdString(family),
                         QStringLiteral("--shapes"), QString::fromStdString(shapes), QStringLiteral("--llm-layers"),
                         QString::number(llmLayers), QStringLiteral("--threads"),
                         QString::number(threads), QStringLiteral("--write-weights"), dir});
            if (!child.waitForFinished(-1) || child.exitStatus() != QProcess::NormalExit || child.exitCode() != 0) {
                std::fprintf(stderr, "uhdlens-bench engine: writing the weights failed\n");
                return 1;
            }
            std::fprintf(out, "  written in %.1f s\n", msSince(t0) / 1000);
        }

        std::vector<Measured> runs;
        // bf16 is only fast with native support (cpuRunsBf16Fast, runtime.h); elsewhere libtorch runs bf16
        // matmuls in scalar code and a real-shapes run would take hours. `--dtype bf16` forces it anyway.
        const bool bf16Native = uhdlens::cpuRunsBf16Fast();
        if (dt == QLatin1String("both") && !bf16Native)
            std::fprintf(
                out, "note: bf16 skipped: this CPU lacks avx512_bf16/avx512bw/vl/dq, so libtorch's oneDNN "
                     "bf16 path is off (bf16 GEMM runs at a few GFLOP/s); pass --dtype bf16 to measure it "
                     "anyway\n");
        if (dt == QLatin1String("bf16") || (dt == QLatin1String("both") && bf16Native))
            runs.push_back(measure(dir.toStdString(), config, torch::kBFloat16, false, repeats, prefill, decode));
        if (dt == QLatin1String("mixed") || dt == QLatin1String("both"))
            runs.push_back(measure(dir.toStdString(), config, torch::kFloat, true, repeats, prefill, decode));
        if (dt == QLatin1String("f32") || dt == QLatin1String("both"))
            runs.push_back(measure(dir.toStdString(), config, torch::kFloat, false, repeats, prefill, decode));

        std::fprintf(out,
                     "\nuhdlens-bench engine: %s, %s shapes, %d threads (kernels on %d, OpenBLAS %s; medians of %d "
                     "runs)\n",
                     family.c_str(), shapes.c_str(), threads, uhdlens::kernelThreadsInUse(),
                     uhdlens::blasThreading(), repeats);
        if (llmLayers > 0)
            std::fprintf(
                out,
                "note: language model cut to %d layers (--llm-layers): prefill/decode rates and weight "
                "bytes are for those layers plus the full embeddings and lm_head\n",
                layers);
        std::fprintf(out, "%-44s", "");
        for (const auto &m : runs)
            std::fprintf(out, " %14s", m.dtype.c_str());
        std::fprintf(out, "\n");
        auto row = [&](const char *label, auto value) {
            std::fprintf(out, "%-44s", label);
            for (const auto &m : runs)
                std::fprintf(out, " %14s", value(m).c_str());
            std::fprintf(out, "\n");
        };
        auto num = [](double v, int prec = 1) {
            char b[64];
            std::snprintf(b, sizeof b, "%.*f", prec, v);
            return std::string(b);
        };
        row("GEMM 1024x1152x4304 GFLOP/s (same run)", [&](const Measured &m) { return num(m.gemm); });
        row("  its spread (IQR / median), %", [&](const Measured &m) { return num(100 * m.gemmRef.spread); });
        row("vision encoder per 1024-patch slice, ms", [&](const Measured &m) { return num(m.visionMs, 0); });
        row("resampler per slice, ms", [&](const Measured &m) { return num(m.resamplerMs, 1); });
        row("per-slice encode total, ms",
            [&](const Measured &m) { return num(m.visionMs + m.resamplerMs, 0); });
        row("vision encoder GFLOP/s", [&](const Measured &m) { return num(m.visionGflops); });
        row("  as a fraction of the GEMM rate",
            [&](const Measured &m) { return num(m.visionGflops / m.gemm, 2); });
        row("prefill tokens/s", [&](const Measured &m) {
            return m.lmSkipped ? std::string("skipped")
                               : num(m.prefillTps) + " (" + std::to_string(m.prefillTokens) + ")";
        });
        row("decode tokens/s (after the prefill)",
            [&](const Measured &m) { return m.lmSkipped ? std::string("skipped") : num(m.decodeTps, 2); });
        row("  ms per token: first / median", [&](const Measured &m) {
            return m.lmSkipped ? std::string("skipped")
                               : num(m.decodeFirstMs, 1) + " / " + num(m.decodeMedianMs, 1);
        });
        row("checkpoint weight bytes, GB", [&](const Measured &m) { return num(m.weightGb, 2); });
        row("weights as loaded, GB", [&](const Measured &m) { return num(m.loadedGb, 2); });
        row("peak RSS, GB", [&](const Measured &m) { return num(m.peakRssGb, 2); });
        row("  peak RSS / weight bytes", [&](const Measured &m) { return num(m.peakRssGb / m.weightGb, 2); });
        for (const auto &m : runs) {
            if (m.lmSkipped)
                std::fprintf(out, "note: %s language model not loaded (%s)\n", m.dtype.c_str(),
                             m.lmSkipReason.c_str());
            if (!m.gemmRef.stable())
                std::fprintf(out, "note: %s GEMM reference: %s\n", m.dtype.c_str(),
                             gemmNote(m.gemmRef).c_str());
        }
        if (json) {
            nlohmann::json j = {{"mode", "random"},
                                {"family", family},
                                {"shapes", shapes},
                                {"threads", threads},
                                {"repeats", repeats},
                                {"llm_layers", layers},
                                {"runs", nlohmann::json::array()}};
            for (const auto &m : runs)
                j["runs"].push_back(toJson(m));
            std::printf("%s\n", j.dump(1).c_str());
        }
        return 0;
    } catch (const Error &e) {
        std::fprintf(stderr, "uhdlens-bench engine: %s\n", e.what());
        return 1;
    }
}

int runFlopsBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Analytic FLOPs of vision encoder + projector + LLM prefill: LLaVA-UHD vs LLaVA-1.5 (paper: 94% at 672x1088)."));
    parser.addHelpOption();
    QCommandLineOption sizeOpt(QStringLiteral("size"), QStringLiteral("Extra image sizes to compare (WxH)."), QStringLiteral("WxH"));
    QCommandLineOption textOpt(QStringLiteral("text-tokens"), QStringLiteral("Text tokens of the prompt (default 0)."), QStringLiteral("N"), QStringLiteral("0"));
    parser.addOptions({sizeOpt, textOpt});
    if (const auto done = parseArguments(parser, args, QStringLiteral("flops")))
        return *done;
    bool ok = false;
    const int text = parser.value(textOpt).toInt(&ok);
    if (!ok || text < 0) {
        std::fprintf(stderr, "uhdlens-bench flops: --text-tokens needs a non-negative integer\n");
        return 2;
    }
    std::vector<uhdlens::Size> sizes = {{672, 1088}};
    static const QRegularExpression re(QStringLiteral("^(\\d{1,6})[xX](\\d{1,6})$"));
    for (const QString &s : parser.values(sizeOpt)) {
        const auto m = re.match(s);
        if (!m.hasMatch() || !uhdlens::validateSize({m.captured(1).toInt(), m.captured(2).toInt()}).empty()) {
            std::fprintf(stderr, "uhdlens-bench flops: bad --size '%s'\n", qPrintable(s));
            return 2;
        }
        sizes.push_back({m.captured(1).toInt(), m.captured(2).toInt()});
    }
    const auto uhdArch = uhdlens::Architecture::llavaUhdPaper13B();
    const auto baseArch = uhdlens::Architecture::llava15_13B();
    const auto base = uhdlens::estimateFlops(baseArch, uhdlens::planSlices({336, 336}, uhdlens::SlicePolicy::llava15()), text);
    auto print = [](const char *label, const uhdlens::FlopEstimate &e) {
        std::printf("%-36s %6d %7d %10.2f %10.2f %10.2f %10.2f\n", label, e.encodedImages, e.visualTokens, e.vision / 1e12,
                    e.projector / 1e12, e.languageModel / 1e12, e.total() / 1e12);
    };
    std::printf("uhdlens-bench flops (TFLOPs; multiply-add = 2; %d text tokens)\n", text);
    std::printf("%-36s %6s %7s %10s %10s %10s %10s\n", "model / image", "images", "tokens", "vision", "projector",
                "LLM", "total");
    print("LLaVA-1.5-13B, 336x336", base);
    uhdlens::SlicePolicy policy = uhdlens::SlicePolicy::llavaUhd();
    policy.maxSlices = 6;
    for (const auto &s : sizes) {
        const auto e = uhdlens::estimateFlops(uhdArch, uhdlens::planSlices(s, policy), text);
        const std::string label = "LLaVA-UHD-13B (paper), " + std::to_string(s.width) + "x" + std::to_string(s.height);
        print(label.c_str(), e);
        std::printf("%-36s ratio to LLaVA-1.5 at 336x336: %.1f%% (%.0fx the pixels)%s\n", "", 100.0 * e.total() / base.total(),
                    double(s.width) * s.height / (336.0 * 336.0),
                    s == uhdlens::Size{672, 1088} ? "   paper: 94%" : "");
    }
    return 0;
}

} // namespace bench
