// Model loading and the Conversation (engine.h): config -> family modules, weights through the mmap loader,
// image-embedding cache, prompt assembly, prefix-reusing KV cache, generation.
#include "engine_impl.h"

#include "base_weights.h"
#include "bpe_tokenizer.h"
#include "generation.h"
#include "gguf/gguf_loader.h"
#include "model_folder.h"
#include "preprocess.h"
#include "safetensors_header.h"
#include "uhdlens/convert.h"
#include "uhdlens/errors.h"
#include "uhdlens/image_io.h"
#include "uhdlens/plan_json.h"
#include "uhdlens/runtime.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>

#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace uhdlens {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string joinPath(const std::string &dir, const std::string &name)
{
    return QDir(QString::fromStdString(dir)).filePath(QString::fromStdString(name)).toStdString();
}

// "mean 0.481, 0.458, 0.408 / std 0.269, 0.261, 0.276"
std::string pixelNormText(const PixelNorm &n)
{
    char buf[160];
    std::snprintf(buf, sizeof buf, "mean %.4g, %.4g, %.4g / std %.4g, %.4g, %.4g", n.mean[0], n.mean[1], n.mean[2],
                  n.std[0], n.std[1], n.std[2]);
    return buf;
}

std::string hexDigest(const QByteArray &bytes) { return bytes.toHex().toStdString(); }

// Content hash of an RGB888 image: SHA-1 over the visible bytes of every scanline (not the padding).
std::string imageHash(const QImage &rgb)
{
    QCryptographicHash h(QCryptographicHash::Sha1);
    const int w = rgb.width(), ht = rgb.height();
    const QByteArray dims = QByteArray::number(w) + "x" + QByteArray::number(ht);
    h.addData(dims);
    const qsizetype rowBytes = qsizetype(w) * 3;
    for (int y = 0; y < ht; ++y)
        h.addData(QByteArrayView(reinterpret_cast<const char *>(rgb.constScanLine(y)), rowBytes));
    return hexDigest(h.result());
}

} // namespace

// --- device / dtype ----------------------------------------------------------------------------------------------

Dtype dtypeOf(torch::Dtype dtype)
{
    switch (dtype) {
    case torch::kBFloat16: return Dtype::Bf16;
    case torch::kHalf: return Dtype::F16;
    default: return Dtype::F32; // families compute in f32, bf16 or f16 only
    }
}

torch::Device resolveDevice(const DeviceChoice &device)
{
    switch (device.kind) {
    case Device::Auto:
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    case Device::Cpu: return torch::kCPU;
    case Device::Cuda: break;
    }
    const std::string name = deviceChoiceName(device);
    if (!torch::cuda::is_available())
        throw Error(ErrorCode::DeviceUnavailable,
                    "device 'cuda' requested, but this libtorch has no CUDA support or no GPU is visible "
                    "(build against a CUDA libtorch with -DTorch_DIR=..., or use --device cpu)",
                    name);
    if (device.index < 0 || device.index >= static_cast<int>(torch::cuda::device_count()))
        throw Error(ErrorCode::DeviceUnavailable, "no GPU with index " + std::to_string(device.index), name);
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device.index));
}

ResolvedDtype resolveDtype(Dtype dtype, const torch::Device &device)
{
    const bool cuda = device.is_cuda();
    switch (dtype) {
    case Dtype::Auto:
        // CUDA: f16 runs on every GPU generation (bf16 needs Ampere); pass --dtype bf16 on newer GPUs.
        if (cuda)
            return {torch::kHalf, false};
        // CPU: bf16 through oneDNN is ~4x faster than f32 where the CPU has native bf16 dot products; elsewhere
        // mixed gives f32 results (bf16 -> f32 is exact) from half the weight memory.
        return cpuRunsBf16Fast() ? ResolvedDtype{torch::kBFloat16, false} : ResolvedDtype{torch::kFloat, true};
    case Dtype::F32: return {torch::kFloat, false};
    case Dtype::Mixed:
        if (cuda)
            throw Error(ErrorCode::InvalidArgument,
                        "mixed (bf16 weights, f32 arithmetic) is a CPU mode; use f16 or bf16 on CUDA",
                        "mixed");
        return {torch::kFloat, true};
    case Dtype::Bf16: return {torch::kBFloat16, false};
    case Dtype::F16:
        if (!cuda)
            throw Error(ErrorCode::InvalidArgument,
                        "f16 is only supported on CUDA (libtorch's CPU kernels lack half-precision matmuls); "
                        "use bf16, mixed or f32 on the CPU",
                        "f16");
        return {torch::kHalf, false};
    }
    throw Error(ErrorCode::InvalidArgument, "unknown dtype (choose " + validNamesText<Dtype>() + ")",
                "dtype");
}

void truncateCache(KVCache &cache, int64_t length)
{
    if (length >= cache.length)
        return;
    if (length <= 0) {
        cache.clear();
        return;
    }
    for (auto *list : {&cache.keys, &cache.values})
        for (auto &t : *list)
            if (t.defined() && t.size(2) > length)
                t = t.narrow(2, 0, length);
    cache.length = length;
}

// --- Model -------------------------------------------------------------------------------------------------------

Model::Model(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Model::~Model() = default;
const ModelInfo &Model::info() const { return m_impl->info; }

SlicePlan Model::plan(Size size, const std::optional<SlicePolicy> &policy) const
{
    const SlicePolicy p = policy ? *policy : m_impl->info.policy;
    if (const std::string why = p.validate(); !why.empty())
        throw Error(ErrorCode::InvalidArgument, "slice policy: " + why, "policy");
    if (const std::string why = validateSize(size); !why.empty())
        throw Error(ErrorCode::ImageEmpty, why);
    return planSlices(size, p);
}

int Model::imagePositions(const SlicePlan &plan) const
{
    // The span alone: no history, no question; the prompt marks where the image span starts and ends.
    const Prompt prompt = m_impl->vlm->buildPrompt(plan, {}, {}, *m_impl->tokenizer);
    return static_cast<int>(prompt.imageSpanPositions(m_impl->vlm->tokensPerImage()));
}

void describeLoadedModel(Model::Impl &impl, const nlohmann::json &config, torch::Dtype dtype,
                         const torch::Device &device)
{
    ModelInfo &info = impl.info;
    info.family = impl.vlm->family();
    if (config.contains("_name_or_path") && config["_name_or_path"].is_string() &&
        !config["_name_or_path"].get<std::string>().empty())
        info.name = config["_name_or_path"].get<std::string>();
    const auto params = impl.vlm->namedParameters();
    for (const auto &p : params)
        info.parameters += p.second.numel();
    info.dtype = dtypeOf(dtype);
    // "mixed" only where some matrix really stayed bf16 (an f32 checkpoint under auto is plain f32).
    for (const auto &p : params)
        if (p.second.scalar_type() == torch::kBFloat16 && dtype != torch::kBFloat16) {
            info.dtype = Dtype::Mixed;
            break;
        }
    info.device = device.str();
    info.contextLength = impl.vlm->contextLength();
    info.policy = impl.vlm->policy();
    info.layout = impl.vlm->layout();
    info.tokensPerImage = impl.vlm->tokensPerImage();
    info.thinkingMode = impl.vlm->hasThinkingMode();
    info.pixelNorm = impl.vlm->pixelNorm();
    info.padColour = padColourForMean(info.pixelNorm.mean);
}

std::shared_ptr<const Model> Model::load(const LoadOptions &options, const LoadProgress &progress)
{
    auto report = [&](double f, const std::string &stage) {
        if (progress)
            progress(f, stage);
    };
    report(0.0, "reading config");
    if (gguf::isGgufModel(options)) {
        // A GGUF pair (gguf/gguf_loader.h): metadata -> config, the same family table, weights from the
        // mappings.
        const torch::Device device = resolveDevice(options.device);
        const torch::Dtype dtype = resolveDtype(options.dtype, device).compute;
        setThreadCount(options.threads);
        torch::NoGradGuard noGrad;
        gguf::GgufLoad g = gguf::loadGgufModel(options, dtype, device, progress);
        Impl &impl = *g.impl;
        describeLoadedModel(impl, g.files.config, dtype, device);
        impl.info.settingSources = describeSources(g.files, impl.info, impl.stopIds,
                                                   pixelNormText(impl.vlm->pixelNorm()), g.tokenizerFile);
        impl.info.settingSources.insert(impl.info.settingSources.end(), g.extra.begin(), g.extra.end());
        report(1.0, "ready");
        return std::shared_ptr<const Model>(new Model(std::move(g.impl)));
    }
    std::optional<nlohmann::json> visionConfig;
    if (!options.visionDir.empty())
        visionConfig = readConfigJson(options.visionDir, "vision");
    // config.json plus what the folder's processor, generation and tokenizer files say (model_folder.h).
    const FolderFiles folder = readModelFolder(options.modelDir, options.visionDir, readConfigJson(options.modelDir, "model"));
    const nlohmann::json &config = folder.config;
    const Family family = detectFamily(config); // Error(UnknownFamily)
    // Pretrained parts the folder takes from the installed base weights (base_weights.h); a missing file is
    // reported before anything is read.
    const std::vector<BaseWeightSource> baseSources = baseWeightSources(config);

    const torch::Device device = resolveDevice(options.device);
    const ResolvedDtype resolved = resolveDtype(options.dtype, device);
    const torch::Dtype dtype = resolved.compute;
    setThreadCount(options.threads); // libtorch defaults to one thread here; Error(InvalidArgument) below 0

    report(0.05, "tokenizer");
    auto isFile = [&](const char *name) {
        return QFileInfo(QString::fromStdString(joinPath(options.modelDir, name))).isFile();
    };
    // A folder without tokenizer files whose language model is a base-weights GGUF file takes the tokenizer
    // from that file's tokenizer.ggml.* metadata (byte-level BPE, as the GGUF loaders read it).
    const BaseWeightSource *ggufLlm = nullptr;
    for (const BaseWeightSource &b : baseSources)
        if (b.kind == BaseWeightSource::Kind::GgufLlm)
            ggufLlm = &b;
    const bool tokenizerFromGguf =
        ggufLlm && !isFile("tokenizer.model") && !isFile("tokenizer.json") && !isFile("vocab.json");
    const bool bpe = tokenizerFromGguf || familyTokenizer(family) == TokenizerFormat::ByteLevelBpe;
    // Byte-level BPE (Qwen2): tokenizer.json, else the slow tokenizer's vocab.json + merges.txt
    // (bpe_tokenizer.h).
    const std::string tokPath =
        tokenizerFromGguf ? ggufLlm->path
                          : joinPath(options.modelDir, !bpe ? "tokenizer.model"
                                                       : isFile("tokenizer.json") || !isFile("vocab.json")
                                                           ? "tokenizer.json"
                                                           : "vocab.json");
    if (!QFileInfo(QString::fromStdString(tokPath)).isFile())
        throw Error(
            ErrorCode::TokenizerInvalid,
            bpe ? "tokenizer.json not found: " + tokPath + " (the " + nameOf(family) +
                      " family reads a byte-level BPE tokenizer: tokenizer.json, or vocab.json + merges.txt)"
                : "tokenizer.model not found: " + tokPath,
            tokPath);
    auto impl = std::make_unique<Impl>();
    try {
        if (tokenizerFromGguf)
            impl->tokenizer = Tokenizer::fromBpe(std::make_shared<const BpeTokenizer>(
                gguf::ggufBpeSpec(gguf::GgufFile::open(tokPath).meta())));
        else
            impl->tokenizer = bpe ? Tokenizer::loadBpe(options.modelDir) : Tokenizer::load(tokPath);
    } catch (const Error &e) {
        if (e.code() == ErrorCode::TokenizerInvalid || e.code() == ErrorCode::Internal)
            throw;
        throw Error(ErrorCode::TokenizerInvalid, tokPath + ": " + e.what(), tokPath);
    }

    if (bpe) {
        // A BPE tokenizer reads any text, so a folder with another model's tokenizer.json would load and
        // answer garbage: the family's special tokens (chat roles, image span) must be tokens of it.
        for (const std::string &t : familySpecialTokens(family))
            if (!impl->tokenizer->hasPiece(t))
                throw Error(ErrorCode::TokenizerInvalid,
                            tokPath + " has no token '" + t + "', which the " + nameOf(family) +
                                " family needs (tokenizer.json's added_tokens or tokenizer_config.json's "
                                "added_tokens_decoder): the files are not this model's tokenizer",
                            t);
    }

    report(0.1, "building " + nameOf(family) + " modules");
    torch::NoGradGuard noGrad;
    FamilyBuildOptions build;
    build.dtype = dtype;
    build.device = device;
    impl->vlm = createFamilyModel(config, visionConfig ? &*visionConfig : nullptr, build);
    if (impl->tokenizer->vocabSize() > impl->vlm->vocabSize())
        throw Error(ErrorCode::TokenizerInvalid,
                    tokPath + " has " + std::to_string(impl->tokenizer->vocabSize()) +
                        " pieces, more than the model's vocab_size " + std::to_string(impl->vlm->vocabSize()),
                    tokPath);
    // The ids the folder's tokenizer files name, checked against tokenizer.model before any weight is read, so
    // a folder mixing two tokenizers fails at once, not after mapping gigabytes.
    ModelInfo &info = impl->info;
    const std::vector<int64_t> fileStopIds =
        checkTokenizerFiles(folder, *impl->tokenizer, impl->vlm->vocabSize(), info.warnings);

    report(0.15, "mapping weights");
    impl->checkpoints.push_back(Checkpoint::open(options.modelDir));
    const std::vector<std::string> visionPrefixes = impl->vlm->visionTowerPrefixes();
    const bool separateVision = !options.visionDir.empty() && !visionPrefixes.empty();
    if (!options.visionDir.empty() && visionPrefixes.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "the " + nameOf(family) +
                        " family keeps its vision tower in the model folder; --vision is not used",
                    options.visionDir);
    if (separateVision)
        impl->checkpoints.push_back(Checkpoint::open(options.visionDir));
    const auto params = impl->vlm->namedParameters();
    // With a vision folder, the vision tower's parameters (the family's prefixes) come from it, the rest from
    // the model folder; a tensor found in neither is reported by the loader (TensorMissing naming it).
    std::vector<std::vector<std::pair<std::string, torch::Tensor>>> perCk(impl->checkpoints.size());
    for (const auto &p : params) {
        if (fromBaseWeights(baseSources, p.first))
            continue;
        bool vision = false;
        for (const auto &prefix : visionPrefixes)
            vision = vision || p.first.rfind(prefix, 0) == 0;
        perCk[separateVision && vision ? 1 : 0].push_back(p);
    }
    const std::set<std::string> keepBf16 =
        resolved.bf16Weights ? impl->vlm->matrixParameterNames() : std::set<std::string>{};
    for (size_t k = 0; k < impl->checkpoints.size(); ++k) {
        report(0.2 + 0.6 * double(k) / double(impl->checkpoints.size()), "reading weights");
        const std::vector<std::string> owned = k == 0 ? std::vector<std::string>{""} : visionPrefixes;
        std::vector<std::string> warnings;
        try {
            warnings = loadParameters(perCk[k], impl->checkpoints[k], dtype, device, owned, keepBf16);
        } catch (const Error &e) {
            // LLaVA-UHD's release keeps the projector/resampler in mm_projector.bin beside safetensors
            // shards: a tensor missing from the safetensors is most likely in such a pickle file, which we
            // never unpickle.
            const std::string dir = k == 0 ? options.modelDir : options.visionDir;
            const auto pickles = pickleWeightFiles(dir);
            if (e.code() != ErrorCode::TensorMissing || pickles.empty())
                throw;
            throw Error(
                ErrorCode::PickleWeights,
                std::string(e.what()) + "; the folder also keeps weights in the PyTorch pickle file '" +
                    pickles.front() + "'" + (pickles.size() > 1 ? " (and others)" : "") + ": " +
                    safeTensorsConvertHint(),
                joinPath(dir, pickles.front()));
        }
        // A full CLIP checkpoint as the vision folder also carries its text tower: summarise long lists.
        const size_t keep = 8;
        for (size_t i = 0; i < std::min(keep, warnings.size()); ++i)
            info.warnings.push_back(warnings[i]);
        if (warnings.size() > keep)
            info.warnings.push_back("... and " + std::to_string(warnings.size() - keep) +
                                    " more unknown tensors in " + impl->checkpoints[k].files().front());
    }

    BaseWeightsLoad base;
    if (!baseSources.empty()) {
        report(0.8, "reading base weights");
        base = loadBaseWeights(baseSources, params, impl->vlm->namedModules(), dtype, device, options.modelDir);
    }

    report(0.85, "hashing weights");
    info.modelDir = options.modelDir;
    info.name = QFileInfo(QDir::cleanPath(QString::fromStdString(options.modelDir))).fileName().toStdString();
    std::string hash;
    for (const auto &ck : impl->checkpoints) {
        info.weightBytes += ck.dataBytes();
        if (!hash.empty())
            hash += '+'; // (not `(cond ? "" : "+") + sha`: GCC 12 warns -Wrestrict on that)
        hash += ck.sha256();
    }
    for (const std::string &h : base.hashes)
        hash += '+' + h;
    info.weightBytes += base.bytes;
    info.weightsHash = hash;
    describeLoadedModel(*impl, config, dtype, device);
    readUhdlensJson(options.modelDir, info);

    impl->stopIds = impl->vlm->stopTokenIds(*impl->tokenizer);
    for (int64_t id : fileStopIds)
        if (std::find(impl->stopIds.begin(), impl->stopIds.end(), id) == impl->stopIds.end())
            impl->stopIds.push_back(id);
    info.warnings.insert(info.warnings.end(), folder.warnings.begin(), folder.warnings.end());
    info.settingSources = describeSources(folder, info, impl->stopIds, pixelNormText(impl->vlm->pixelNorm()),
                                          tokenizerFileName(*impl->tokenizer));
    for (const std::string &note : base.notes)
        info.settingSources.push_back({"weights.base", note, "config.json"});
    impl->stopStrings = impl->vlm->stopStrings();
    report(1.0, "ready");
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

std::vector<torch::Tensor> Model::Impl::pixels(const QImage &rgb, const SlicePlan &plan) const
{
    PreprocessOptions opt;
    opt.norm = vlm->pixelNorm();
    opt.dtype = vlm->dtype();
    opt.device = vlm->device();
    const PreparedImages in = prepareImages(rgb, plan, opt);
    // One [1,3,H,W] tensor per encoded image: the engine encodes them one at a time so cancel and progress
    // are checked between slices.
    std::vector<torch::Tensor> out{in.overview};
    if (in.slices.defined())
        for (int64_t i = 0; i < in.slices.size(0); ++i)
            out.push_back(in.slices.narrow(0, i, 1));
    return out;
}

torch::Tensor Model::Impl::encode(const torch::Tensor &px, const TensorHook &hook, const std::string &prefix) const
{
    TensorHook named;
    if (hook)
        named = [&](const std::string &name, const torch::Tensor &value) { hook(prefix + name, value); };
    torch::Tensor out = vlm->encodeImages(px, named);
    return out.squeeze(0);
}

// --- Conversation ------------------------------------------------------------------------------------------------

struct Conversation::Impl
{
    std::shared_ptr<const Model> model;
    QImage image;
    bool hasImage = false;
    SlicePlan plan;
    std::string imageKey; // image identity (content hash or the caller's id) + plan: the embedding-cache key
    // Encoded images of recently used (image, plan) pairs, newest last; [N, T, D] each.
    std::deque<std::pair<std::string, torch::Tensor>> embedCache;
    static constexpr size_t kCachedImages = 4;
    KVCache kv;
    std::vector<int64_t> kvKeys; // what each cached position holds: token id, or -(1 + image slot)
    std::vector<Turn> history;
    std::string imageTextInHistory; // the image text a turn of `history` carried (ask()'s imageText)

    const torch::Tensor *cached(const std::string &key)
    {
        for (auto &e : embedCache)
            if (e.first == key)
                return &e.second;
        return nullptr;
    }
};

namespace {

// Makes `rgb` with `plan` the conversation's image. `imageId` names the pixels ("sha1:<hash>" or the caller's
// "id:<name>"): with the plan it keys the embedding cache, and a new key drops the KV cache, whose positions
// hold the previous image's tokens.
void useImage(Conversation::Impl &impl, const QImage &rgb, SlicePlan plan, const std::string &imageId)
{
    const std::string key = imageId + "|" + planToJson(plan, impl.model->info().layout).dump();
    if (key != impl.imageKey) {
        impl.kv.clear();
        impl.kvKeys.clear();
    }
    impl.image = rgb;
    impl.plan = std::move(plan);
    impl.imageKey = key;
    impl.hasImage = true;
}

QImage rgb888OrThrow(const QImage &image)
{
    const QImage rgb = image.format() == QImage::Format_RGB888 ? image : toRgb888(image);
    if (rgb.isNull() || rgb.width() == 0 || rgb.height() == 0)
        throw Error(ErrorCode::ImageEmpty, "the image is empty");
    return rgb;
}

} // namespace

Conversation::Conversation(std::shared_ptr<const Model> model) : m_impl(std::make_unique<Impl>())
{
    if (!model)
        throw Error(ErrorCode::InvalidArgument, "Conversation needs a loaded model");
    m_impl->model = std::move(model);
}

Conversation::~Conversation() = default;

void Conversation::setImage(const QImage &rgbIn, const std::optional<SlicePolicy> &policy)
{
    const QImage rgb = rgb888OrThrow(rgbIn);
    SlicePlan plan = m_impl->model->plan({rgb.width(), rgb.height()}, policy);
    useImage(*m_impl, rgb, std::move(plan), "sha1:" + imageHash(rgb));
}

void Conversation::setImage(const QImage &rgbIn, const SlicePlan &plan, const std::string &imageId)
{
    if (imageId.empty())
        throw Error(ErrorCode::InvalidArgument, "an image id is required with a ready plan", "image");
    const QImage rgb = rgb888OrThrow(rgbIn);
    if (plan.input.width != rgb.width() || plan.input.height != rgb.height())
        throw Error(ErrorCode::InvalidArgument,
                    "the plan is for a " + std::to_string(plan.input.width) + "x" +
                        std::to_string(plan.input.height) + " image, the image is " +
                        std::to_string(rgb.width()) + "x" + std::to_string(rgb.height()),
                    "plan");
    if (const std::string why = plan.policy.validate(); !why.empty())
        throw Error(ErrorCode::InvalidArgument, "slice policy: " + why, "policy");
    useImage(*m_impl, rgb, plan, "id:" + imageId);
}

bool Conversation::hasImage() const { return m_impl->hasImage; }
const SlicePlan &Conversation::plan() const { return m_impl->plan; }
const std::vector<Turn> &Conversation::history() const { return m_impl->history; }
const Model &Conversation::model() const { return *m_impl->model; }

void Conversation::clearHistory()
{
    m_impl->history.clear();
    m_impl->imageTextInHistory.clear();
    m_impl->kv.clear();
    m_impl->kvKeys.clear();
}

namespace {

// How many slices would fit: re-plans with a decreasing max-slices until the prompt fits the context. `visual`:
// the image span of the prompt that overflowed (already built by ask()).
std::string overflowMessage(const Model &model, const SlicePlan &plan, int64_t visual, int64_t textPositions,
                            int64_t total, int context)
{
    std::ostringstream msg;
    msg << "the image needs " << visual << " visual tokens (" << plan.sliceCount() << " slices + overview) and the "
        << "conversation " << textPositions << " more: " << total << " positions, but the model's context holds "
        << context << ". ";
    // max slices 1 already means "overview only" (a 1-slice grid is never a candidate), so stop at 2.
    for (int m = plan.sliceCount() - 1; m >= 1; --m) {
        SlicePolicy p = plan.policy;
        if (m == 1)
            p.neverSplit = true;
        else
            p.maxSlices = m;
        const SlicePlan smaller = planSlices(plan.input, p);
        if (textPositions + model.imagePositions(smaller) < context) {
            if (m == 1)
                msg << "Only the overview (no slices) would fit: set max slices to 1.";
            else
                msg << "At most " << m << " slices would fit: lower max slices to " << m << '.';
            return msg.str();
        }
    }
    msg << "Even the overview alone does not fit: shorten the question or clear the conversation.";
    return msg.str();
}

} // namespace

std::string questionWithImageText(const std::string &imageText, const std::string &question)
{
    if (imageText.empty())
        return question;
    // Plain English any instruction-tuned model follows; the positions are TextLayer::positionName()'s.
    return "Text recognised in the image, line by line, each with its position:\n" + imageText + "\n\n" +
           question;
}

namespace {

std::vector<std::string> splitLines(const std::string &text)
{
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = std::min(text.find('\n', start), text.size());
        if (end > start)
            lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string joinLines(const std::vector<std::string> &lines, size_t n)
{
    std::string out;
    for (size_t i = 0; i < n; ++i)
        out += (i ? "\n" : "") + lines[i];
    return out;
}

} // namespace

AskResult Conversation::ask(const std::string &question, const GenerationSettings &settings,
                            const AskCallbacks &callbacks, const std::string &imageText)
{
    if (const std::string why = settings.validate(); !why.empty())
        throw Error(ErrorCode::InvalidArgument, why, "settings");
    if (!m_impl->hasImage)
        throw Error(ErrorCode::InvalidArgument, "no image: call setImage() before ask()", "image");
    const Model::Impl &mi = m_impl->model->impl();
    const VisionLanguageModel &vlm = *mi.vlm;
    torch::InferenceMode inference;

    AskResult result;
    result.plan = m_impl->plan;
    const int tpi = vlm.tokensPerImage();
    const int context = vlm.contextLength();

    if (settings.thinking && !vlm.hasThinkingMode())
        throw Error(ErrorCode::InvalidArgument,
                    "this model (" + nameOf(vlm.family()) + ") has no thinking mode", "thinking");
    PromptOptions promptOptions;
    promptOptions.thinking = settings.thinking;
    // The user message: the question, after as many lines of the image's text as leave room for the answer.
    std::string message = question;
    int textLines = 0;
    const std::vector<std::string> lines =
        imageText == m_impl->imageTextInHistory ? std::vector<std::string>{} : splitLines(imageText);
    if (!lines.empty()) {
        const int64_t room = std::min(settings.maxNewTokens, 128);
        auto fits = [&](size_t n) {
            const Prompt p = vlm.buildPromptWith(m_impl->plan, m_impl->history,
                                                 questionWithImageText(joinLines(lines, n), question),
                                                 *mi.tokenizer, promptOptions);
            return p.positions(tpi) + room < context;
        };
        size_t lo = 0, hi = lines.size(); // the most lines that fit, by bisection (fits() is monotone)
        while (lo < hi) {
            const size_t mid = (lo + hi + 1) / 2;
            if (fits(mid))
                lo = mid;
            else
                hi = mid - 1;
        }
        textLines = static_cast<int>(lo);
        message = questionWithImageText(joinLines(lines, lo), question);
    }
    const Prompt prompt =
        vlm.buildPromptWith(m_impl->plan, m_impl->history, message, *mi.tokenizer, promptOptions);
    result.imageTextLines = textLines;
    result.imageTokens = static_cast<int>(prompt.imageSpanPositions(tpi));
    const int64_t positions = prompt.positions(tpi);
    result.promptTokens = static_cast<int>(positions);
    if (positions >= context) {
        const int64_t text = positions - result.imageTokens;
        throw Error(ErrorCode::ContextOverflow,
                    overflowMessage(*m_impl->model, m_impl->plan, result.imageTokens, text, positions, context),
                    "context");
    }
    auto cancelled = [&] { return callbacks.cancel && callbacks.cancel->load(std::memory_order_relaxed); };

    // 1. Image embeddings: from the cache, or encode each image (cancel and progress between them).
    torch::Tensor images;
    if (const torch::Tensor *hit = m_impl->cached(m_impl->imageKey)) {
        images = *hit;
        result.imageFromCache = true;
    } else {
        const auto t0 = Clock::now();
        const std::vector<torch::Tensor> px = mi.pixels(m_impl->image, m_impl->plan);
        std::vector<torch::Tensor> encoded;
        const int total = static_cast<int>(px.size());
        for (int k = 0; k < total; ++k) {
            if (cancelled()) {
                result.cancelled = true;
                result.stopReason = StopReason::Cancelled;
                result.encodeMs = msSince(t0);
                return result;
            }
            const auto ts = Clock::now();
            encoded.push_back(mi.encode(px[k]));
            if (vlm.device().is_cuda())
                torch::cuda::synchronize();
            const double ms = msSince(ts);
            result.sliceMs.push_back(ms);
            if (callbacks.sliceEncoded)
                callbacks.sliceEncoded(k + 1, total, ms);
        }
        images = torch::stack(encoded, 0);
        result.encodeMs = msSince(t0);
        m_impl->embedCache.emplace_back(m_impl->imageKey, images);
        if (m_impl->embedCache.size() > Impl::kCachedImages)
            m_impl->embedCache.pop_front();
    }
    if (cancelled()) {
        result.cancelled = true;
        result.stopReason = StopReason::Cancelled;
        return result;
    }

    // 2. Prefill, reusing the KV cache for the longest common prefix with what it already holds.
    std::vector<int64_t> keys;
    keys.reserve(static_cast<size_t>(positions));
    std::vector<int64_t> textIds;
    for (const auto &seg : prompt.segments) {
        if (seg.imageIndex >= 0) {
            for (int j = 0; j < tpi; ++j)
                keys.push_back(-(1 + int64_t(seg.imageIndex) * tpi + j));
        } else {
            keys.insert(keys.end(), seg.ids.begin(), seg.ids.end());
            textIds.insert(textIds.end(), seg.ids.begin(), seg.ids.end());
        }
    }
    size_t common = 0;
    while (common < keys.size() && common < m_impl->kvKeys.size() && keys[common] == m_impl->kvKeys[common])
        ++common;
    if (common == keys.size())
        --common; // the last position must be run again to get its logits
    truncateCache(m_impl->kv, static_cast<int64_t>(common));
    m_impl->kvKeys.resize(common);
    result.reusedPromptTokens = static_cast<int>(common);

    const auto tp = Clock::now();
    const torch::Tensor embeds = embedPrompt(vlm, prompt, images);
    torch::Tensor logits = vlm.forward(embeds.narrow(0, static_cast<int64_t>(common),
                                                     positions - static_cast<int64_t>(common)),
                                       m_impl->kv);
    logits = logits.to(torch::kCPU);
    m_impl->kvKeys = keys;
    result.prefillMs = msSince(tp);
    const double prefilled = double(positions - static_cast<int64_t>(common));
    result.prefillTokensPerSecond = result.prefillMs > 0 ? prefilled * 1000.0 / result.prefillMs : 0;

    // 3. Decode.
    // SentencePiece: the piece's spelling ("▁the", "<0x0A>"), turned into bytes by the decoder. Byte-level
    // BPE: the bytes the token stands for (possibly part of a UTF-8 character; the Utf8Streamer joins them),
    // as tokenizers' ByteLevel decoder maps them.
    const BpeTokenizer *bpe = mi.tokenizer->bpe();
    PieceDecoder decoder(
        [tok = mi.tokenizer, bpe](int64_t id) {
            return tok->isControl(id) ? std::string() : bpe ? bpe->tokenBytes(id) : tok->idToPiece(id);
        },
        {}, /*rawBytes=*/bpe != nullptr);
    GenerationIO io;
    io.decoder = &decoder;
    io.stopIds = mi.stopIds;
    io.stopStrings = mi.stopStrings;
    io.context = textIds;
    io.maxTokens = static_cast<int>(std::min<int64_t>(settings.maxNewTokens, context - positions));
    KVCache &kv = m_impl->kv;
    io.step = [&](int64_t id) {
        const torch::Tensor e = vlm.embedTokens(torch::tensor({id}, torch::kLong).to(vlm.device()));
        return vlm.forward(e.to(vlm.dtype()), kv).to(torch::kCPU);
    };
    const auto td = Clock::now();
    GenerationOutput gen = generate(logits, settings, io, callbacks.token, callbacks.cancel);
    setAnswer(result, gen, msSince(td));
    for (int i = 0; i < gen.fedTokens; ++i)
        m_impl->kvKeys.push_back(gen.ids[static_cast<size_t>(i)]);
    m_impl->history.push_back({message, result.answer});
    if (textLines > 0)
        m_impl->imageTextInHistory = imageText;
    return result;
}

} // namespace uhdlens
