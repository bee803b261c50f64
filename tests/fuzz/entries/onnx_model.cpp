// Fuzz entry: a whole ONNX file (core/src/onnx/onnx_file.h) as OnnxFile::open sees a mapped file
// (initialisers, nodes with their attributes, metadata), then the search for a DINOv2 backbone in its graph
// (core/src/onnx/onnx_dinov2.h).
#include "fuzz_entries.h"

#include "onnx/onnx_dinov2.h"
#include "onnx/onnx_file.h"
#include "uhdlens/errors.h"

#include <vector>

// The file is copied into a buffer of exactly its size, so AddressSanitizer sees any read past its end.
bool fuzz_onnx_model(const uint8_t *data, size_t size)
{
    using namespace uhdlens;
    using namespace uhdlens::onnx;
    const std::vector<uint8_t> file(data, data + size);
    OnnxGraph g;
    try {
        g = parseOnnxModel(file.data(), file.size(), "fuzz.onnx");
    } catch (const Error &e) {
        FUZZ_CHECK(e.code() == ErrorCode::CheckpointInvalid);
        return false;
    }
    // What the weight loaders rely on: every tensor with bytes has exactly dims x element size of them,
    // inside the file; names and producers are indexed.
    const uint8_t *begin = file.data(), *end = file.data() + file.size();
    for (const OnnxTensor &t : g.initializers) {
        FUZZ_CHECK(g.findInitializer(t.name) == &t);
        for (const int64_t d : t.dims)
            FUZZ_CHECK(d >= 0);
        if (t.storage == OnnxTensor::Storage::Raw || t.storage == OnnxTensor::Storage::FloatData) {
            FUZZ_CHECK(t.data >= begin && t.bytes <= static_cast<uint64_t>(end - t.data));
            FUZZ_CHECK(elementSize(t.dataType) > 0);
            FUZZ_CHECK(t.bytes ==
                       static_cast<uint64_t>(t.elements()) * static_cast<uint64_t>(elementSize(t.dataType)));
        }
    }
    const auto checkTensorSpan = [&](const OnnxTensor &t) {
        for (const int64_t d : t.dims)
            FUZZ_CHECK(d >= 0);
        if (t.storage == OnnxTensor::Storage::Raw || t.storage == OnnxTensor::Storage::FloatData) {
            FUZZ_CHECK(t.data >= begin && t.bytes <= static_cast<uint64_t>(end - t.data));
            FUZZ_CHECK(t.bytes ==
                       static_cast<uint64_t>(t.elements()) * static_cast<uint64_t>(elementSize(t.dataType)));
        }
    };
    for (const OnnxNode &n : g.nodes) {
        for (const std::string &o : n.outputs)
            FUZZ_CHECK(o.empty() || g.producer(o) != nullptr);
        // Attributes: named, of a known type that their value fields agree with, names unique in the node.
        for (const OnnxAttribute &a : n.attributes) {
            FUZZ_CHECK(!a.name.empty());
            FUZZ_CHECK(a.type >= 1 && a.type <= static_cast<int32_t>(AttributeType::TypeProtos));
            FUZZ_CHECK(n.attribute(a.name) == &a);
            if (a.type != static_cast<int32_t>(AttributeType::Floats))
                FUZZ_CHECK(a.floats.empty());
            if (a.type != static_cast<int32_t>(AttributeType::Ints))
                FUZZ_CHECK(a.ints.empty());
            if (a.type != static_cast<int32_t>(AttributeType::Strings))
                FUZZ_CHECK(a.strings.empty());
            if (a.type != static_cast<int32_t>(AttributeType::String))
                FUZZ_CHECK(a.s.empty());
            if (a.type == static_cast<int32_t>(AttributeType::Tensor))
                checkTensorSpan(a.t);
            else
                FUZZ_CHECK(a.t.dims.empty() && a.t.data == nullptr);
        }
    }
    for (const auto &[key, value] : g.metadata)
        FUZZ_CHECK(g.metadataValue(key) != nullptr);
    try {
        const Dinov2Layout L = findDinov2(g, "fuzz.onnx");
        FUZZ_CHECK(L.dim > 0 && L.dim % 64 == 0 && L.layers > 0 && L.patch > 0 && L.gridSize > 0);
        for (const auto &[name, w] : L.weights) {
            int64_t want = 1, have = 0;
            for (const int64_t d : w.shape)
                want *= d;
            for (const OnnxTensor *t : w.parts) {
                FUZZ_CHECK(t->storage == OnnxTensor::Storage::Raw ||
                           t->storage == OnnxTensor::Storage::FloatData);
                FUZZ_CHECK(t->dataType == static_cast<int32_t>(DataType::Float));
                have += t->elements();
            }
            FUZZ_CHECK(want == have);
        }
    } catch (const Error &e) {
        FUZZ_CHECK(e.code() == ErrorCode::CheckpointInvalid);
    }
    return true;
}
