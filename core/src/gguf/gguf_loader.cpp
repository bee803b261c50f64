#include "gguf/gguf_loader.h"

#include "bpe_tokenizer.h"
#include "file_map.h"
#include "gguf/gguf_model.h"
#include "gguf/gguf_pair.h"
#include "gguf/gguf_torch.h"
#include "model_family.h"
#include "nn/layers.h"
#include "quant/dequant.h"
#include "quant/quant_linear.h"
#include "uhdlens/errors.h"

#include <QCryptographicHash>
#include <QFileInfo>

#include <filesystem>
#include <map>
#include <tuple>

namespace uhdlens::gguf {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Where each file's tensors go in a family's parameter tree: the name table gives Hugging Face checkpoint
// names of the LLM alone ("model.layers.0...", "lm_head.weight") and of the vision side ("vpm.*",
// "resampler.*"); a family that nests the LLM (MiniCPM-V's self.llm) puts its prefix in front. One row per
// family a GGUF pair can make; detectFamily has already chosen the row from the config the metadata gave.
struct FamilyLayout
{
    Family family;
    const char *llmPrefix;
    const char *mmprojPrefix;
};
constexpr FamilyLayout kLayouts[] = {
    {Family::MiniCpmV26, "llm.", ""},
    {Family::MiniCpmV45, "llm.", ""}, // same names; the LLM file is llama.cpp's qwen3 (q/k norms)
};

// clip.minicpmv_version (llama.cpp's minicpmv converter numbering) -> config.json "version" of the
// checkpoint.
struct VersionRow
{
    int32_t minicpmv;
    double version;
};
constexpr VersionRow kVersions[] = {{3, 2.6}, {6, 4.5}};

const FamilyLayout &layoutOf(Family family)
{
    for (const auto &l : kLayouts)
        if (l.family == family)
            return l;
    throw Error(ErrorCode::UnknownFamily,
                "the " + nameOf(family) + " family cannot be loaded from GGUF files", nameOf(family));
}

// One tensor of a file and how the converter changed it.
struct Source
{
    const GgufFile *file = nullptr;
    const GgufTensorInfo *info = nullptr;
    Transform transform = Transform::None;
    std::string arch; // the file's general.architecture (the LLaMA permutation's key prefix)
};

bool isFloatType(quant::GgmlType t)
{
    return t == quant::GgmlType::F32 || t == quant::GgmlType::F16 || t == quant::GgmlType::BF16;
}

std::string shapeText(at::IntArrayRef s)
{
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

bool isPermuted(const Source &s)
{
    return s.transform == Transform::LlamaPermuteQ || s.transform == Transform::LlamaPermuteK;
}

// The rows of a LLaMA file's attn_q / attn_k back in Hugging Face order (permuted per head by the converter:
// n_head groups for Q, n_head_kv for K); quantized rows move whole.
std::vector<uint8_t> unpermutedRows(const Source &s, const uint8_t *data)
{
    const std::string &arch = s.arch;
    const Metadata &m = s.file->meta();
    const uint32_t heads = m.getU32(arch + ".attention.head_count");
    const uint32_t groups = s.transform == Transform::LlamaPermuteQ
                                ? heads
                                : m.optU32(arch + ".attention.head_count_kv").value_or(heads);
    const int64_t n = s.info->ne[0];
    return unpermuteLlamaRows(data, s.info->elements() / std::max<int64_t>(n, 1),
                              static_cast<uint64_t>(quant::rowBytes(s.info->type, n)), groups, s.info->name);
}

// A tensor's values as f32 / f16 / bf16 torch (a view on the mapping for the float types; quantized types
// dequantized to f32), with the LLaMA row permutation undone.
torch::Tensor floatValues(const Source &s)
{
    const std::string &arch = s.arch;
    if (isFloatType(s.info->type))
        return isPermuted(s) ? unpermutedFloatTensor(*s.file, s.info->name, arch)
                             : floatTensor(*s.file, s.info->name);
    const GgufTensorView v = s.file->tensor(s.info->name); // refuses an unsupported type by name
    const int64_t n = s.info->ne[0], rows = s.info->elements() / std::max<int64_t>(n, 1);
    torch::Tensor out = torch::empty(s.info->shape(), torch::kFloat32);
    std::vector<uint8_t> unpermuted;
    const uint8_t *data = v.data;
    if (isPermuted(s)) {
        unpermuted = unpermutedRows(s, v.data);
        data = unpermuted.data();
    }
    quant::dequantizeRows(s.info->type, data, rows, n, out.data_ptr<float>());
    return out;
}

[[noreturn]] void shapeMismatch(const std::string &param, const Source &s, at::IntArrayRef want,
                                at::IntArrayRef got)
{
    throw Error(ErrorCode::TensorShapeMismatch,
                "GGUF file '" + s.file->path() + "': tensor '" + s.info->name + "' gives '" + param +
                    "' the shape " + shapeText(got) + " but the model built from the metadata needs " +
                    shapeText(want),
                s.info->name);
}

// Quantized rows of a linear layer's weight: a QuantLinear on the mapping (or on unpermuted copies of the
// rows for LLaMA's Q/K). The caller has checked that `s` is a quantized matrix stored as is or row-permuted.
std::shared_ptr<quant::QuantLinearImpl> quantizedLinear(const Source &s, const torch::Tensor &bias)
{
    const GgufTensorView v = s.file->tensor(s.info->name);
    const int64_t in = s.info->ne[0], out = s.info->ne[1];
    const torch::Tensor b = bias.defined() ? bias.to(torch::kFloat32).contiguous() : torch::Tensor();
    if (isPermuted(s))
        return std::make_shared<quant::QuantLinearImpl>(s.info->type, in, out, unpermutedRows(s, v.data), b);
    return std::make_shared<quant::QuantLinearImpl>(s.info->type, in, out, v.data,
                                                    std::shared_ptr<const void>(s.file->mapping()), b);
}

} // namespace

// "Q4_0 x15, Q6_K x1, F32 x11"
std::string typeCounts(const GgufFile &f)
{
    std::map<std::string, int> counts;
    for (const auto &t : f.tensors())
        ++counts[std::string(quant::ggmlTypeInfo(t.type).name)];
    std::string out;
    for (const auto &[name, n] : counts)
        out += (out.empty() ? "" : ", ") + name + " x" + std::to_string(n);
    return out;
}

// SHA-256 over each file's header (metadata and tensor table: [0, data section)) and its size: the weights'
// identity for caches, without reading gigabytes of tensor data.
std::string headerHash(const GgufFile &f)
{
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(QByteArrayView(f.mapping()->bytes(),
                             static_cast<qsizetype>(std::min(f.header().dataStart, f.header().fileSize))));
    h.addData(QByteArray::number(static_cast<qulonglong>(f.header().fileSize)));
    return h.result().toHex().toStdString();
}

namespace {

std::string fileName(const std::string &path)
{
    return QFileInfo(QString::fromStdString(path)).fileName().toStdString();
}

} // namespace

std::vector<std::string> fillGgufParameters(
    const std::vector<GgufPart> &parts, const std::vector<std::pair<std::string, torch::Tensor>> &params,
    const std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> &namedModules,
    const std::string &modelName)
{
    // The file a parameter should come from: the part with the longest prefix the name starts with.
    auto partOf = [&](const std::string &name) -> const GgufPart & {
        const GgufPart *best = &parts.front();
        for (const GgufPart &p : parts)
            if (name.rfind(p.prefix, 0) == 0 && p.prefix.size() >= best->prefix.size())
                best = &p;
        return *best;
    };
    std::map<std::string, std::vector<Source>> sources;
    for (const GgufPart &part : parts) {
        const std::string arch = part.file->meta().optString("general.architecture").value_or("");
        for (const auto &t : part.file->tensors()) {
            const auto mapped = mapTensorName(part.kind, t.name, arch);
            if (!mapped)
                throw Error(ErrorCode::CheckpointInvalid,
                            "GGUF file '" + part.file->path() + "': tensor '" + t.name +
                                "' is not part of a " + modelName + " " +
                                (part.kind == FileKind::Llm ? "language model" : "mmproj") +
                                " (no row for it in the llama.cpp name table)",
                            t.name);
            if (mapped->transform == Transform::Derived)
                continue; // resampler.pos_embed_k: the family computes the table
            sources[part.prefix + mapped->hf].push_back({part.file, &t, mapped->transform, arch});
        }
    }

    std::map<std::string, std::shared_ptr<torch::nn::Module>> modules(namedModules.begin(),
                                                                      namedModules.end());
    std::map<std::string, torch::Tensor> byName(params.begin(), params.end());
    torch::NoGradGuard noGrad;
    struct PendingQuant
    {
        std::string param;
        nn::LinearImpl *linear;
        Source source;
    };
    std::vector<PendingQuant> quantized;
    struct PendingTable
    {
        std::string param;
        nn::LlamaModelImpl *model;
        Source source;
    };
    std::vector<PendingTable> tables;
    std::vector<std::string> dequantized;
    for (const auto &[name, param] : params) {
        const auto it = sources.find(name);
        if (it == sources.end())
            throw Error(ErrorCode::TensorMissing,
                        "GGUF file '" + partOf(name).file->path() + "' has no tensor for '" + name +
                            "', which the " + modelName + " model needs",
                        name);
        const std::vector<Source> &src = it->second;
        const Source &first = src.front();
        // A quantized matrix of a linear layer stays quantized: set after its bias is loaded (below). So does
        // an F16/BF16 one under f32 compute: its kernels read the half-precision rows with f32 activations
        // and f32 sums (exact products, as an f32 copy gives), and a copy would double the bytes that every
        // decoded token reads and the memory the model holds (llama.cpp keeps them half too).
        const bool keepHalf =
            (first.info->type == quant::GgmlType::F16 || first.info->type == quant::GgmlType::BF16) &&
            param.scalar_type() == torch::kFloat32;
        const std::string owner = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0
                                      ? name.substr(0, name.size() - 7)
                                      : std::string();
        // The token table of a model with its own lm_head (not tied) stays in the file's type too: lookups
        // dequantize the rows they need (QuantEmbedding), where an f32 copy of a 151666-token vocabulary
        // would cost 2.2 GB.
        const std::string tableSuffix = "model.embed_tokens.weight";
        if (src.size() == 1 && first.transform == Transform::None && first.info->ne.size() == 2 &&
            first.info->type != quant::GgmlType::F32 && param.scalar_type() == torch::kFloat32 &&
            name.size() >= tableSuffix.size() &&
            name.compare(name.size() - tableSuffix.size(), tableSuffix.size(), tableSuffix) == 0 &&
            byName.count(name.substr(0, name.size() - tableSuffix.size()) + "lm_head.weight")) {
            const std::string body = name.substr(0, name.size() - std::string(".embed_tokens.weight").size());
            if (auto *lm =
                    modules.count(body) ? dynamic_cast<nn::LlamaModelImpl *>(modules[body].get()) : nullptr) {
                const std::vector<int64_t> want(param.sizes().begin(), param.sizes().end());
                if (first.info->shape() != want)
                    shapeMismatch(name, first, param.sizes(), first.info->shape());
                tables.push_back({name, lm, first});
                continue;
            }
        }
        if (src.size() == 1 && (!isFloatType(first.info->type) || keepHalf) && first.info->ne.size() == 2 &&
            (first.transform == Transform::None || isPermuted(first)) && !owner.empty() &&
            modules.count(owner)) {
            if (auto *lin = dynamic_cast<nn::LinearImpl *>(modules[owner].get())) {
                const std::vector<int64_t> want(param.sizes().begin(), param.sizes().end());
                if (first.info->shape() != want)
                    shapeMismatch(name, first, param.sizes(), first.info->shape());
                quantized.push_back({name, lin, first});
                continue;
            }
        }
        torch::Tensor value;
        switch (first.transform) {
        case Transform::InProjQ:
        case Transform::InProjK:
        case Transform::InProjV: {
            // torch.nn.MultiheadAttention's packed [Wq; Wk; Wv]: the converter wrote three tensors.
            std::vector<torch::Tensor> parts3(3);
            for (const Source &s : src)
                parts3[static_cast<size_t>(s.transform) - static_cast<size_t>(Transform::InProjQ)] =
                    floatValues(s).to(torch::kFloat32);
            for (size_t k = 0; k < 3; ++k)
                if (!parts3[k].defined())
                    throw Error(ErrorCode::TensorMissing,
                                "GGUF file '" + first.file->path() + "' has no tensor resampler.attn." +
                                    std::string(1, "qkv"[k]) +
                                    (name.find("bias") != std::string::npos ? ".bias" : ".weight") +
                                    " for '" + name + "'",
                                name);
            value = torch::cat(parts3, 0);
            break;
        }
        case Transform::Transpose:
            value = floatValues(first).t().contiguous(); // resampler.proj was written as proj^T
            break;
        default:
            if (src.size() != 1) {
                std::string files;
                for (const Source &s : src)
                    files += (files.empty() ? "'" : "', '") + s.file->path();
                throw Error(ErrorCode::CheckpointInvalid,
                            "GGUF files " + files + "' hold " + std::to_string(src.size()) +
                                " tensors for '" + name + "'",
                            name);
            }
            value = floatValues(first);
            if (!isFloatType(first.info->type))
                dequantized.push_back(first.info->name);
        }
        if (value.sizes() != param.sizes())
            shapeMismatch(name, first, param.sizes(), value.sizes());
        // F32 under an f32 compute dtype: `to` returns the mapped view itself (no copy).
        param.set_data(value.to(param.scalar_type()));
    }
    // A mapped tensor with no parameter to go to: a layer or table beyond what the metadata describes.
    for (const auto &[name, src] : sources)
        if (!byName.count(name))
            throw Error(ErrorCode::CheckpointInvalid,
                        "GGUF file '" + src.front().file->path() + "': tensor '" + src.front().info->name +
                            "' (as '" + name + "') has no place in the " + modelName +
                            " model its metadata describes",
                        src.front().info->name);
    for (const auto &q : quantized) {
        q.linear->quantized = quantizedLinear(q.source, q.linear->bias);
        // The layer's own weight is never read again: a zero-stride placeholder keeps its shape at no cost.
        torch::Tensor &w = byName[q.param];
        w.set_data(torch::zeros({1}, w.options()).expand(w.sizes()));
    }
    for (const auto &t : tables) {
        const GgufTensorView v = t.source.file->tensor(t.source.info->name);
        t.model->quantizedEmbed = std::make_shared<quant::QuantEmbedding>(
            t.source.info->type, t.source.info->ne[1], t.source.info->ne[0], v.data,
            std::shared_ptr<const void>(t.source.file->mapping()));
        torch::Tensor &w = byName[t.param];
        w.set_data(torch::zeros({1}, w.options()).expand(w.sizes()));
    }
    std::sort(dequantized.begin(), dequantized.end());
    return dequantized;
}

bool isGgufModel(const LoadOptions &options)
{
    if (!options.mmproj.empty())
        return true;
    std::error_code ec;
    const fs::path p(options.modelDir);
    if (fs::is_regular_file(p, ec))
        return true;
    if (!fs::is_directory(p, ec) || fs::exists(p / "config.json", ec))
        return false;
    for (const auto &entry : fs::directory_iterator(p, ec))
        if (entry.path().extension() == ".gguf")
            return true;
    return false;
}

GgufLoad loadGgufModel(const LoadOptions &options, torch::Dtype dtype, const torch::Device &device,
                       const LoadProgress &progress)
{
    auto report = [&](double f, const std::string &stage) {
        if (progress)
            progress(f, stage);
    };
    if (!options.visionDir.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "a GGUF model keeps its vision tower in the mmproj file; --vision is not used",
                    options.visionDir);
    const GgufPair pair = findGgufPair(options.modelDir, options.mmproj);
    const GgufFile llm = GgufFile::open(pair.llm);
    const GgufFile mmproj = GgufFile::open(pair.mmproj);
    checkGgufPair(llm.header(), mmproj.header(), pair);

    // config.json as the Hugging Face folder has it: the LLM's keys at the top level (MiniCPMV's config is
    // Qwen2's plus the vision keys), the mmproj's vision_config, slicing and pixel norm.
    GgufLoad out;
    const std::string llmName = fileName(pair.llm), mmName = fileName(pair.mmproj);
    json config = mmprojVisionConfigJson(mmproj.header());
    const json text = llmConfigJson(llm.header());
    config.update(text);
    const int32_t minicpmv = config["minicpmv_version"].get<int32_t>();
    for (const auto &v : kVersions)
        if (v.minicpmv == minicpmv)
            config["version"] = v.version;
    config["model_type"] = "minicpmv";
    config["_name_or_path"] = llm.meta().optString("general.name").value_or(llmName);
    // The processor settings' sources, as readModelFolder reports a folder's (model panel,
    // `describeSources`).
    for (const char *k : {"scale_resolution", "patch_size", "slice_mode"})
        out.files.keySource[k] = mmName;
    out.files.keySource["image_mean"] = out.files.keySource["image_std"] = mmName;
    // mmprojVisionConfigJson spells the processor's norm_mean / norm_std; the families read image_mean / std.
    config["image_mean"] = config["norm_mean"];
    config["image_std"] = config["norm_std"];
    out.files.config = config;
    const Family family = detectFamily(config); // Error(UnknownFamily) naming "version" and what is supported
    const FamilyLayout &layout = layoutOf(family);

    report(0.05, "tokenizer");
    auto impl = std::make_unique<Model::Impl>();
    try {
        BpeSpec spec = ggufBpeSpec(llm.meta());
        spec.source = pair.llm;
        impl->tokenizer = Tokenizer::fromBpe(std::make_shared<const BpeTokenizer>(spec));
    } catch (const Error &e) {
        if (e.code() == ErrorCode::TokenizerInvalid)
            throw;
        throw Error(ErrorCode::TokenizerInvalid, pair.llm + ": " + e.what(), pair.llm);
    }
    for (const std::string &t : familySpecialTokens(family))
        if (!impl->tokenizer->hasPiece(t))
            throw Error(ErrorCode::TokenizerInvalid,
                        "GGUF file '" + pair.llm + "' has no token '" + t +
                            "' in tokenizer.ggml.tokens, which the " + nameOf(family) +
                            " family needs: it is not this model's language model",
                        t);
    out.tokenizerFile = llmName;

    report(0.1, "building " + nameOf(family) + " modules");
    FamilyBuildOptions build;
    build.dtype = dtype;
    build.device = device;
    impl->vlm = createFamilyModel(config, nullptr, build);
    if (impl->tokenizer->vocabSize() > impl->vlm->vocabSize())
        throw Error(ErrorCode::TokenizerInvalid,
                    pair.llm + " has " + std::to_string(impl->tokenizer->vocabSize()) +
                        " tokens, more than token_embd's " + std::to_string(impl->vlm->vocabSize()) + " rows",
                    pair.llm);

    // Every file tensor through the name table, onto the family's names; a tensor without a row is another
    // model's (or a newer converter's) and is refused rather than silently left out.
    report(0.15, "mapping weights");
    const std::vector<std::string> deqNames = fillGgufParameters(
        {{&llm, FileKind::Llm, layout.llmPrefix}, {&mmproj, FileKind::Mmproj, layout.mmprojPrefix}},
        impl->vlm->namedParameters(), impl->vlm->namedModules(), nameOf(family));

    report(0.85, "hashing weights");
    ModelInfo &info = impl->info;
    info.modelDir = options.modelDir;
    info.name = fileName(pair.llm);
    info.weightBytes = static_cast<int64_t>(llm.header().fileSize - llm.header().dataStart +
                                            mmproj.header().fileSize - mmproj.header().dataStart);
    info.weightsHash = headerHash(llm) + "+" + headerHash(mmproj);
    impl->stopIds = impl->vlm->stopTokenIds(*impl->tokenizer);
    if (const int64_t eos = impl->tokenizer->eosId();
        eos >= 0 && std::find(impl->stopIds.begin(), impl->stopIds.end(), eos) == impl->stopIds.end())
        impl->stopIds.push_back(eos);
    impl->stopStrings = impl->vlm->stopStrings();
    std::string deq;
    for (const auto &n : deqNames)
        deq += (deq.empty() ? "; dequantized to f32 once: " : ", ") + n;
    out.extra.push_back({"weights.llm", typeCounts(llm) + deq, llmName});
    out.extra.push_back({"weights.mmproj", typeCounts(mmproj), mmName});
    out.impl = std::move(impl);
    return out;
}

} // namespace uhdlens::gguf
