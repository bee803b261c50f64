// describeGguf (uhdlens/gguf_info.h): the reader, model-fact and tokenizer functions of core/src/gguf/ run on
// one file, with their refusals collected as text.
#include "uhdlens/gguf_info.h"

#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
#include "gguf/gguf_pair.h"
#include "uhdlens/errors.h"

#include <map>

namespace uhdlens {

GgufSummary describeGguf(const std::string &path)
{
    const gguf::GgufFile f = gguf::GgufFile::open(path);
    const gguf::Metadata &m = f.meta();
    GgufSummary s;
    s.path = path;
    s.version = f.header().version;
    s.fileBytes = f.header().fileSize;
    auto note = [&](const auto &fn) {
        try {
            fn();
        } catch (const Error &e) {
            s.problems.push_back(e.what());
        }
    };
    note([&] { s.architecture = m.getString("general.architecture"); });
    if (const auto *v = m.find("general.name"); v && v->type == gguf::ValueType::String)
        s.name = v->str;
    s.tensorCount = static_cast<int64_t>(f.tensors().size());
    std::map<uint32_t, GgufTypeCount> hist;
    for (const auto &t : f.tensors()) {
        const auto &info = quant::ggmlTypeInfo(t.type);
        GgufTypeCount &c = hist[static_cast<uint32_t>(t.type)];
        c.type = info.name;
        c.supported = info.supported;
        ++c.tensors;
        c.bytes += t.bytes;
    }
    for (const auto &[id, c] : hist) {
        s.types.push_back(c);
        if (!c.supported)
            s.problems.push_back("tensor type " + c.type + " (" + std::to_string(c.tensors) +
                                 " tensors) is not supported");
    }
    auto text = [](const nlohmann::json &v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    if (s.architecture == "clip") {
        s.kind = "mmproj";
        note([&] {
            const nlohmann::json c = gguf::mmprojVisionConfigJson(f.header());
            s.hparams.emplace_back("minicpmv_version", text(c["minicpmv_version"]));
            s.hparams.emplace_back("hidden_size", text(c["hidden_size"]));
            s.hparams.emplace_back("query_num", text(c["query_num"]));
            for (const char *k : {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                  "intermediate_size", "patch_size", "image_size"})
                s.hparams.emplace_back(std::string("vision_config.") + k, text(c["vision_config"][k]));
            s.hparams.emplace_back("scale_resolution", text(c["scale_resolution"]));
        });
    } else if (!s.architecture.empty()) {
        s.kind = f.hasTensor("token_embd.weight") ? "llm" : "other";
        note([&] {
            const nlohmann::json c = gguf::llmConfigJson(f.header());
            for (const char *k :
                 {"hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                  "head_dim", "intermediate_size", "vocab_size", "max_position_embeddings", "rope_theta",
                  "rms_norm_eps", "tie_word_embeddings"})
                s.hparams.emplace_back(k, text(c[k]));
        });
    } else {
        s.kind = "other";
    }
    if (const auto *v = m.find("tokenizer.ggml.model"); v && v->type == gguf::ValueType::String)
        s.tokenizerModel = v->str;
    if (const auto *v = m.find("tokenizer.ggml.pre"); v && v->type == gguf::ValueType::String)
        s.tokenizerPre = v->str;
    if (const auto *v = m.find("tokenizer.ggml.tokens"); v && v->type == gguf::ValueType::Array)
        s.vocabSize = static_cast<int64_t>(v->count);
    if (s.kind == "llm" || !s.tokenizerModel.empty())
        note([&] { gguf::ggufBpeSpec(m); });
    return s;
}

GgufPairFiles resolveGgufPair(const std::string &path, const std::string &second)
{
    // The same two calls as the loader (gguf_loader.cpp), so the app's check and the load cannot disagree.
    const gguf::GgufPair pair = gguf::findGgufPair(path, second);
    const gguf::GgufFile llm = gguf::GgufFile::open(pair.llm);
    const gguf::GgufFile mmproj = gguf::GgufFile::open(pair.mmproj);
    gguf::checkGgufPair(llm.header(), mmproj.header(), pair);
    return {pair.llm, pair.mmproj};
}

} // namespace uhdlens
