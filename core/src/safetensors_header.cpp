// safetensors header and index validation (torch-free). The checks mirror the reference implementation
// (huggingface/safetensors, `SafeTensors::read_metadata`): 8-byte little-endian header size capped at 100 MB,
// a JSON object header, known dtypes, offsets inside the data section and dtype x shape == byte length.
// Unlike the reference we accept gaps between tensors (harmless for reading) but never overlaps.
#include "safetensors_header.h"

#include "uhdlens/errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; port the reader");

namespace uhdlens {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000; // same cap as the reference implementation

[[noreturn]] void invalid(const std::string &file, const std::string &reason, const std::string &subject = {})
{
    throw Error(ErrorCode::CheckpointInvalid, "invalid safetensors file '" + file + "': " + reason,
                subject.empty() ? file : subject);
}

} // namespace

uint64_t safeTensorsDtypeSize(const std::string &name)
{
    // The dtypes libtorch 1.13 can represent (safetensors.cpp maps them to torch dtypes). Others the format
    // knows (U16/U32/U64, F8_*) are rejected by name.
    static const std::pair<const char *, uint64_t> kSizes[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
        {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
    };
    for (const auto &[n, size] : kSizes)
        if (name == n)
            return size;
    return 0;
}

const char *safeTensorsConvertHint()
{
    // The engine never unpickles (a pickle can run code when loaded); uhdlens/convert.h converts without
    // running it.
    return "only safetensors are read (loading a pickle can run code); convert the folder with `uhdlens-cli "
           "convert --model DIR --out NEWDIR` (or open it in the UHD Lens app, which offers the conversion)";
}

std::string shapeString(const std::vector<int64_t> &shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i)
            s += ",";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

SafeTensorsHeader parseSafeTensorsHeader(const uint8_t *bytes, uint64_t fileSize, const std::string &path,
                                         int shardIndex)
{
    if (fileSize < 8)
        invalid(path,
                "file is " + std::to_string(fileSize) + " bytes, shorter than the 8-byte header length");
    SafeTensorsHeader shard;
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, bytes, 8);
    // Pickle checkpoints renamed to .safetensors: zip archives start with "PK", raw pickles with 0x80
    // <proto>.
    const bool looksZip = bytes[0] == 'P' && bytes[1] == 'K';
    const bool looksPickle = bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
    if (headerLen > kMaxHeaderBytes || headerLen > fileSize - 8) {
        std::string reason = "header length " + std::to_string(headerLen) + " is past the end of the file (" +
                             std::to_string(fileSize) + " bytes)";
        if (headerLen > kMaxHeaderBytes)
            reason = "header length " + std::to_string(headerLen) + " exceeds the 100 MB limit";
        if (looksZip || looksPickle)
            reason += "; this looks like a PyTorch pickle checkpoint with a .safetensors name (rename it to .bin): " +
                      std::string(safeTensorsConvertHint());
        invalid(path, reason);
    }
    shard.dataStart = 8 + headerLen;
    shard.dataSize = fileSize - shard.dataStart;

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(reinterpret_cast<const char *>(bytes + 8),
                                       reinterpret_cast<const char *>(bytes + 8 + headerLen));
    } catch (const nlohmann::json::parse_error &e) {
        invalid(path, "header is not valid JSON (at byte " + std::to_string(e.byte) + " of " +
                          std::to_string(headerLen) + ")");
    } catch (const nlohmann::json::exception &e) {
        // out_of_range 406: a number too large for a double (1e400). Found by fuzzing (safetensors_header).
        invalid(path, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object())
        invalid(path, std::string("header is JSON but not an object (it is a ") + header.type_name() + ")");

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string &key = it.key();
        const nlohmann::json &v = it.value();
        if (key == "__metadata__") {
            if (!v.is_object())
                invalid(path, "__metadata__ is not an object of strings", key);
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    invalid(path, "__metadata__ entry '" + m.key() + "' is not a string", m.key());
                shard.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor '" + key + "': ";
        if (!v.is_object())
            invalid(path, where + "entry is not an object", key);
        TensorInfo info;
        info.name = key;
        info.shard = shardIndex;
        const auto dt = v.find("dtype");
        if (dt == v.end() || !dt->is_string())
            invalid(path, where + "missing or non-string 'dtype'", key);
        info.dtype = dt->get<std::string>();
        const uint64_t elementSize = safeTensorsDtypeSize(info.dtype);
        if (elementSize == 0)
            invalid(path, where + "unknown or unsupported dtype '" + info.dtype + "'", key);

        const auto sh = v.find("shape");
        if (sh == v.end() || !sh->is_array())
            invalid(path, where + "missing or non-array 'shape'", key);
        uint64_t numel = 1;
        bool overflow = false;
        for (const auto &d : *sh) {
            // Integral and non-negative; unsigned covers every JSON integer >= 0.
            if (!d.is_number_unsigned())
                invalid(path, where + "shape " + sh->dump() + " has a non-integer or negative dimension",
                        key);
            const uint64_t dim = d.get<uint64_t>();
            if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                invalid(path, where + "shape dimension " + std::to_string(dim) + " is too large", key);
            info.shape.push_back(static_cast<int64_t>(dim));
            overflow = overflow || __builtin_mul_overflow(numel, dim, &numel);
        }
        uint64_t nbytes = 0;
        overflow = overflow || __builtin_mul_overflow(numel, elementSize, &nbytes);
        if (overflow)
            invalid(path, where + "shape " + sh->dump() + " overflows the byte count", key);

        const auto off = v.find("data_offsets");
        if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
            !(*off)[1].is_number_unsigned())
            invalid(path, where + "'data_offsets' must be [begin, end] with non-negative integers", key);
        info.begin = (*off)[0].get<uint64_t>();
        info.end = (*off)[1].get<uint64_t>();
        if (info.begin > info.end)
            invalid(path,
                    where + "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                        "] end before they begin",
                    key);
        if (info.end > shard.dataSize)
            invalid(path,
                    where + "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                        "] lie outside the data section (" + std::to_string(shard.dataSize) +
                        " bytes; file truncated?)",
                    key);
        if (info.end - info.begin != nbytes)
            invalid(path,
                    where + info.dtype + " " + shapeString(info.shape) + " needs " + std::to_string(nbytes) +
                        " bytes but data_offsets span " + std::to_string(info.end - info.begin),
                    key);
        shard.tensors.push_back(std::move(info));
    }

    // No two non-empty byte ranges may overlap.
    std::vector<const TensorInfo *> order;
    for (const auto &t : shard.tensors)
        if (t.end > t.begin)
            order.push_back(&t);
    std::sort(order.begin(), order.end(), [](const TensorInfo *a, const TensorInfo *b) {
        return a->begin != b->begin ? a->begin < b->begin : a->name < b->name;
    });
    for (size_t i = 1; i < order.size(); ++i)
        if (order[i]->begin < order[i - 1]->end)
            invalid(path,
                    "tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' overlap (bytes [" +
                        std::to_string(order[i - 1]->begin) + ", " + std::to_string(order[i - 1]->end) +
                        ") and [" + std::to_string(order[i]->begin) + ", " + std::to_string(order[i]->end) +
                        "))",
                    order[i]->name);
    return shard;
}

SafeTensorsIndex parseSafeTensorsIndex(const char *text, size_t size, const std::string &indexPath)
{
    nlohmann::json index;
    try {
        index = nlohmann::json::parse(text, text + size);
    } catch (const nlohmann::json::parse_error &e) {
        throw Error(ErrorCode::CheckpointInvalid,
                    "checkpoint index '" + indexPath + "' is not valid JSON (at byte " +
                        std::to_string(e.byte) + ")",
                    indexPath);
    } catch (const nlohmann::json::exception &e) {
        // out_of_range 406: a number too large for a double (1e400). Found by fuzzing (safetensors_index).
        throw Error(ErrorCode::CheckpointInvalid,
                    "checkpoint index '" + indexPath + "' is not valid JSON: " + e.what(), indexPath);
    }
    const auto wm = index.is_object() ? index.find("weight_map") : index.end();
    if (!index.is_object() || wm == index.end() || !wm->is_object())
        throw Error(ErrorCode::CheckpointInvalid,
                    "checkpoint index '" + indexPath + "' has no 'weight_map' object", "weight_map");
    SafeTensorsIndex out;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
        if (!it.value().is_string())
            throw Error(ErrorCode::CheckpointInvalid,
                        "checkpoint index '" + indexPath + "': weight_map entry '" + it.key() +
                            "' is not a file name",
                        it.key());
        const std::string file = it.value().get<std::string>();
        // Shards are siblings of the index; refuse paths that would leave the folder.
        if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
            throw Error(ErrorCode::CheckpointInvalid,
                        "checkpoint index '" + indexPath + "': tensor '" + it.key() +
                            "' maps to bad file name '" + file + "'",
                        it.key());
        out.shardFiles.insert(file);
        out.weightMap.emplace_back(it.key(), file);
    }
    if (out.shardFiles.empty())
        throw Error(ErrorCode::CheckpointInvalid, "checkpoint index '" + indexPath + "' lists no tensors",
                    indexPath);
    return out;
}

} // namespace uhdlens
