// The ONNX reader (core/src/onnx/onnx_file.h) and the DINOv2 search (onnx_dinov2.h) on hand-made malformed
// files: each is refused with Error(CheckpointInvalid) naming what is wrong, never a crash; truncations and
// byte flips of a real export are refused or read, nothing else. Node attributes and metadata of every kind,
// and malformed ones. The ONNX runner (onnx_runner.h) on hand-made graphs: unsupported operators, attributes
// and graphs refused at load naming the node, bad inputs refused at run time naming the node.
#include "onnx/onnx_dinov2.h"
#include "onnx/onnx_file.h"
#include "onnx/onnx_runner.h"
#include "onnx/onnx_vit.h"
#include "uhdlens/errors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace uhdlens;
using namespace uhdlens::onnx;

namespace {

const std::string kTiny = UHDLENS_TEST_DATA "/reference/dinov2-onnx/tiny-dinov2.onnx";

// Protobuf wire format, the few pieces these tests need.
std::string varint(uint64_t v)
{
    std::string out;
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    return out + static_cast<char>(v);
}
std::string field(uint32_t num, uint64_t value)
{
    return varint(uint64_t{num} << 3) + varint(value);
}
std::string field(uint32_t num, const std::string &bytes)
{
    return varint(uint64_t{num} << 3 | 2) + varint(bytes.size()) + bytes;
}

std::string tensor(const std::string &name, const std::vector<int64_t> &dims, int64_t rawBytes = -1)
{
    std::string t;
    int64_t count = 1;
    for (const int64_t d : dims) {
        t += field(1, static_cast<uint64_t>(d));
        count *= d;
    }
    t += field(2, uint64_t{1}) + field(8, name);
    return t + field(9, std::string(static_cast<size_t>(rawBytes < 0 ? count * 4 : rawBytes), '\0'));
}

std::string node(const std::string &op, const std::vector<std::string> &in,
                 const std::vector<std::string> &out)
{
    std::string n;
    for (const auto &i : in)
        n += field(1, i);
    for (const auto &o : out)
        n += field(2, o);
    return op.empty() ? n : n + field(4, op);
}

std::string model(const std::string &graph)
{
    return field(1, uint64_t{7}) + field(7, graph);
}

OnnxGraph parse(const std::string &bytes)
{
    return parseOnnxModel(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), "test.onnx");
}

// The message of the CheckpointInvalid error parsing `bytes` throws ("" when it parses).
std::string refusal(const std::string &bytes)
{
    try {
        (void)parse(bytes);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid) << e.what();
        return e.what();
    }
    return {};
}

std::string readAll(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST(OnnxFile, MinimalModelIsRead)
{
    const std::string bytes =
        model(field(1, node("MatMul", {"x", "w"}, {"y"})) + field(5, tensor("w", {2, 3})) +
              field(11, field(1, std::string("x"))) + field(12, field(1, std::string("y"))));
    const OnnxGraph g = parse(bytes);
    EXPECT_EQ(g.irVersion, 7);
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].opType, "MatMul");
    const OnnxTensor *w = g.findInitializer("w");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->dims, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(w->storage, OnnxTensor::Storage::Raw);
    EXPECT_EQ(w->bytes, 24u);
    EXPECT_GE(w->data, reinterpret_cast<const uint8_t *>(bytes.data()));
    EXPECT_EQ(g.producer("y"), &g.nodes[0]);
    EXPECT_EQ(g.consumers("w").size(), 1u);
    EXPECT_EQ(g.inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(g.outputs, std::vector<std::string>{"y"});
}

namespace {

std::string fixed32(uint32_t num, float v)
{
    std::string out = varint(uint64_t{num} << 3 | 5);
    char b[4];
    std::memcpy(b, &v, 4);
    return out + std::string(b, 4);
}
std::string attr(const std::string &name, int type, const std::string &value)
{
    return field(1, name) + (type ? field(20, static_cast<uint64_t>(type)) : std::string()) + value;
}
// A model of one Conv node carrying `attrs` (each an AttributeProto's bytes), plus `extra` ModelProto fields.
std::string modelWithAttributes(const std::vector<std::string> &attrs, const std::string &extra = {})
{
    std::string n = node("Conv", {"x", "w"}, {"y"}) + field(3, std::string("conv1"));
    for (const auto &a : attrs)
        n += field(5, a);
    return model(field(1, n)) + extra;
}

} // namespace

TEST(OnnxFile, AttributesOfEveryKindAreRead)
{
    std::string packedInts = varint(1) + varint(2) + varint(static_cast<uint64_t>(-3)); // -3: 10-byte varint
    std::string packedFloats;
    for (const float f : {0.5f, -2.0f}) {
        char b[4];
        std::memcpy(b, &f, 4);
        packedFloats += std::string(b, 4);
    }
    const std::string bytes = modelWithAttributes(
        {attr("alpha", 1, fixed32(2, 0.25f)), attr("group", 2, field(3, uint64_t{192})),
         attr("auto_pad", 3, field(4, std::string("SAME_UPPER"))),
         attr("value", 4, field(5, tensor("", {2}))), attr("scales", 6, field(7, packedFloats)),
         attr("scales1", 6, fixed32(7, 1.5f) + fixed32(7, 3.0f)), attr("pads", 7, field(8, packedInts)),
         attr("strides", 7, field(8, uint64_t{2}) + field(8, uint64_t{1})),
         attr("names", 8, field(9, std::string("a")) + field(9, std::string("b"))),
         attr("body", 5, field(6, std::string("\x0a\x00", 2))), // a graph: skipped
         attr("untyped", 0, field(3, uint64_t{5}))},
        field(14, field(1, std::string("character")) + field(2, std::string("a\nb"))) +
            field(14, field(1, std::string("empty"))) +
            field(8, field(1, std::string("")) + field(2, uint64_t{11})));
    const OnnxGraph g = parse(bytes);
    ASSERT_EQ(g.nodes.size(), 1u);
    const OnnxNode &n = g.nodes[0];
    ASSERT_EQ(n.attributes.size(), 11u);
    EXPECT_EQ(n.attribute("alpha")->type, static_cast<int32_t>(AttributeType::Float));
    EXPECT_EQ(n.attribute("alpha")->f, 0.25f);
    EXPECT_EQ(n.attribute("group")->i, 192);
    EXPECT_EQ(n.attribute("auto_pad")->s, "SAME_UPPER");
    EXPECT_EQ(n.attribute("value")->t.dims, std::vector<int64_t>{2});
    EXPECT_EQ(n.attribute("value")->t.bytes, 8u);
    EXPECT_EQ(n.attribute("scales")->floats, (std::vector<float>{0.5f, -2.0f}));
    EXPECT_EQ(n.attribute("scales1")->floats, (std::vector<float>{1.5f, 3.0f}));
    EXPECT_EQ(n.attribute("pads")->ints, (std::vector<int64_t>{1, 2, -3}));
    EXPECT_EQ(n.attribute("strides")->ints, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(n.attribute("names")->strings, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(n.attribute("body")->type, static_cast<int32_t>(AttributeType::Graph));
    EXPECT_EQ(n.attribute("untyped")->type,
              static_cast<int32_t>(AttributeType::Int)); // IR < 3: from the field
    EXPECT_EQ(n.attribute("untyped")->i, 5);
    EXPECT_EQ(n.attribute("missing"), nullptr);
    ASSERT_NE(g.metadataValue("character"), nullptr);
    EXPECT_EQ(*g.metadataValue("character"), "a\nb");
    EXPECT_EQ(*g.metadataValue("empty"), "");
    EXPECT_EQ(g.metadataValue("absent"), nullptr);
    EXPECT_EQ(g.defaultOpset(), 11);
    EXPECT_EQ(attributeTypeName(7), "INTS");
    EXPECT_EQ(attributeTypeName(99), "type 99");
}

TEST(OnnxFile, MalformedAttributesAreRefusedNamingThem)
{
    const auto refuse = [](const std::string &a) { return refusal(modelWithAttributes({a})); };
    EXPECT_NE(refuse(field(20, uint64_t{2}) + field(3, uint64_t{1})).find("an attribute without a name"),
              std::string::npos);
    EXPECT_NE(refuse(attr("k", 0, "")).find("attribute 'k' has neither a type nor a value"),
              std::string::npos);
    EXPECT_NE(refuse(attr("k", 99, field(3, uint64_t{1}))).find("unknown type 99"), std::string::npos);
    // the type field says one thing, the value another; two value kinds at once
    EXPECT_NE(refuse(attr("group", 1, field(3, uint64_t{1})))
                  .find("attribute 'group' of type FLOAT holds a value "
                        "of type INT"),
              std::string::npos);
    EXPECT_NE(refuse(attr("k", 0, field(3, uint64_t{1}) + fixed32(2, 1.0f))).find("two types (INT, FLOAT)"),
              std::string::npos);
    // packed floats that are not a multiple of 4 bytes; fields of the wrong wire type; cut-off values
    EXPECT_NE(refuse(attr("scales", 6, field(7, std::string("abcde")))).find("5 bytes of packed floats"),
              std::string::npos);
    EXPECT_NE(refuse(attr("alpha", 1, field(2, uint64_t{1}))).find("wire type"), std::string::npos);
    EXPECT_NE(refuse(attr("alpha", 1, varint(2 << 3 | 5) + "ab")).find("past the end"), std::string::npos);
    EXPECT_NE(refuse(attr("pads", 7, field(8, std::string("\xff")))).find("past the end"), std::string::npos);
    EXPECT_NE(refuse(attr("s", 3, varint(4 << 3 | 2) + varint(100) + "x")).find("past the end"),
              std::string::npos);
    // a tensor attribute that is malformed as a tensor is refused as one
    EXPECT_NE(refuse(attr("value", 4, field(5, tensor("", {2}, 5)))).find("holds 5 bytes"),
              std::string::npos);
    // two attributes of one name
    EXPECT_NE(refusal(modelWithAttributes(
                          {attr("group", 2, field(3, uint64_t{1})), attr("group", 2, field(3, uint64_t{2}))}))
                  .find("node 'conv1' (Conv) has two attributes named 'group'"),
              std::string::npos);
    // metadata entries with fields of the wrong wire type
    EXPECT_NE(refusal(modelWithAttributes({}, field(14, field(1, uint64_t{3})))).find("wire type"),
              std::string::npos);
    EXPECT_NE(refusal(modelWithAttributes({}, field(14, uint64_t{3}))).find("wire type"), std::string::npos);
}

TEST(OnnxFile, MalformedBytesAreRefusedByName)
{
    EXPECT_NE(refusal("").find("no graph"), std::string::npos);
    EXPECT_NE(refusal("this is a text file, not a model\n").find("not a valid ONNX file"), std::string::npos);
    // a graph claiming more bytes than the file has
    EXPECT_NE(refusal(field(1, uint64_t{7}) + varint(7 << 3 | 2) + varint(1000) + "abc").find("past the end"),
              std::string::npos);
    // a varint cut off, and one of 11 bytes
    EXPECT_NE(refusal(field(1, uint64_t{7}) + "\x08\xff").find("past the end"), std::string::npos);
    EXPECT_NE(refusal("\x08" + std::string(10, '\xff') + "\x01").find("64 bits"), std::string::npos);
    // protobuf groups, field number 0
    EXPECT_NE(refusal(field(1, uint64_t{7}) + varint(5 << 3 | 3)).find("group"), std::string::npos);
    EXPECT_NE(refusal(std::string("\x00\x00", 2)).find("field number 0"), std::string::npos);
    // graph with the wrong wire type
    EXPECT_NE(refusal(field(1, uint64_t{7}) + field(7, uint64_t{3})).find("wire type"), std::string::npos);
    // a model without an IR version
    EXPECT_NE(refusal(field(7, field(1, node("Relu", {"a"}, {"b"})))).find("no IR version"),
              std::string::npos);
}

TEST(OnnxFile, MalformedTensorsAreRefusedNamingThem)
{
    const std::string shortRaw = refusal(model(field(5, tensor("blk.w", {4, 4}, 60))));
    EXPECT_NE(shortRaw.find("blk.w"), std::string::npos) << shortRaw;
    EXPECT_NE(shortRaw.find("need 64"), std::string::npos) << shortRaw;
    // a negative dimension (int64 -1 is ten bytes of varint)
    std::string neg =
        field(1, static_cast<uint64_t>(-1)) + field(2, uint64_t{1}) + field(8, std::string("n"));
    EXPECT_NE(refusal(model(field(5, neg))).find("negative"), std::string::npos);
    // dimensions whose product overflows int64
    std::string big = field(1, uint64_t{1} << 40) + field(1, uint64_t{1} << 40) + field(2, uint64_t{1}) +
                      field(8, std::string("big")) + field(9, std::string(16, '\0'));
    EXPECT_NE(refusal(model(field(5, big))).find("overflows"), std::string::npos);
    // more dimensions than any weight has
    std::string many;
    for (int i = 0; i < 17; ++i)
        many += field(1, uint64_t{1});
    EXPECT_NE(refusal(model(field(5, many + field(8, std::string("many"))))).find("dimensions"),
              std::string::npos);
    // elements but no data, a string tensor's raw bytes
    EXPECT_NE(
        refusal(model(field(5, field(1, uint64_t{3}) + field(2, uint64_t{1}) + field(8, std::string("e")))))
            .find("no data"),
        std::string::npos);
    EXPECT_NE(refusal(model(field(5, field(1, uint64_t{1}) + field(2, uint64_t{8}) +
                                         field(8, std::string("s")) + field(9, std::string("x")))))
                  .find("string"),
              std::string::npos);
    // two initialisers with one name; two nodes producing one value; a node without an operator
    EXPECT_NE(
        refusal(model(field(5, tensor("w", {1})) + field(5, tensor("w", {1})))).find("two initialisers"),
        std::string::npos);
    EXPECT_NE(refusal(model(field(1, node("Relu", {"a"}, {"b"})) + field(1, node("Relu", {"c"}, {"b"}))))
                  .find("two nodes produce the value 'b'"),
              std::string::npos);
    EXPECT_NE(refusal(model(field(1, node("", {"a"}, {"b"})))).find("operator type"), std::string::npos);
}

TEST(OnnxFile, ExternalDataIsReadAsSuchAndRefusedWhenUsed)
{
    const std::string ext = field(1, uint64_t{4}) + field(2, uint64_t{1}) +
                            field(8, std::string("backbone.embeddings.cls_token")) + field(14, uint64_t{1});
    const OnnxGraph g = parse(model(field(5, ext)));
    ASSERT_EQ(g.initializers.size(), 1u);
    EXPECT_EQ(g.initializers[0].storage, OnnxTensor::Storage::External);
    try {
        (void)findDinov2(g, "test.onnx");
        FAIL() << "a CLS token of the wrong shape was accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid);
        EXPECT_NE(std::string(e.what()).find("[1, 1, C]"), std::string::npos) << e.what();
    }
}

TEST(OnnxDinov2, GraphsWithoutABackboneAreRefusedNamingWhatIsMissing)
{
    auto refused = [](const std::string &bytes, const std::string &needle) {
        try {
            (void)findDinov2(parse(bytes), "test.onnx");
            ADD_FAILURE() << "accepted; expected a refusal mentioning '" << needle << "'";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid);
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    refused(model(field(1, node("Relu", {"a"}, {"b"}))), "is it a DINOv2 model?");
    const std::string cls = field(5, tensor("backbone.embeddings.cls_token", {1, 1, 64}));
    refused(model(cls), "no position table");
    refused(model(cls + field(5, tensor("m.embeddings.cls_token", {1, 1, 64}))), "two CLS tokens");
    refused(model(cls + field(5, tensor("backbone.embeddings.position_embeddings", {1, 4, 64}))),
            "not a CLS row and a square grid");
    refused(model(cls + field(5, tensor("backbone.embeddings.position_embeddings", {1, 4, 64})) +
                  field(5, tensor("backbone.embeddings.patch_embeddings.projection.weight", {64, 3, 2, 2}))),
            "not a CLS row and a square grid");
    refused(model(cls + field(5, tensor("backbone.embeddings.position_embeddings", {1, 2, 64}))),
            "square patch projection");
    refused(model(cls + field(5, tensor("backbone.embeddings.position_embeddings", {1, 2, 64})) +
                  field(5, tensor("backbone.embeddings.patch_embeddings.projection.weight", {64, 3, 2, 2}))),
            "no transformer layers");
}

TEST(OnnxDinov2, TruncatedAndDamagedExportsAreRefusedOrRead)
{
    const std::string whole = readAll(kTiny);
    ASSERT_GT(whole.size(), 100000u) << "missing " << kTiny;
    EXPECT_NO_THROW((void)findDinov2(parse(whole), kTiny));
    // Prefixes: the first 512 bytes one by one (the headers and first nodes), then 400 spread over the file.
    std::vector<size_t> cuts;
    for (size_t n = 0; n < 512; ++n)
        cuts.push_back(n);
    for (size_t i = 0; i < 400; ++i)
        cuts.push_back(512 + (whole.size() - 513) * i / 399);
    int refused = 0;
    for (const size_t n : cuts) {
        try {
            (void)findDinov2(parse(whole.substr(0, n)), kTiny);
        } catch (const Error &e) {
            ASSERT_EQ(e.code(), ErrorCode::CheckpointInvalid) << n << ": " << e.what();
            ++refused;
        }
    }
    EXPECT_EQ(refused, static_cast<int>(cuts.size())) << "a truncated export was taken for a whole backbone";
    // Single-byte damage in the graph part (nodes and names, before the weights' bytes) and anywhere.
    std::mt19937 rng(7);
    for (int i = 0; i < 300; ++i) {
        std::string bad = whole;
        const size_t at = i < 200 ? rng() % 65536 : rng() % bad.size();
        bad[at] = static_cast<char>(rng());
        try {
            (void)findDinov2(parse(bad), kTiny);
        } catch (const Error &e) {
            ASSERT_EQ(e.code(), ErrorCode::CheckpointInvalid) << at << ": " << e.what();
        }
    }
}

TEST(OnnxDinov2, FilesThatAreNotThereOrNotFilesSaySo)
{
    try {
        (void)loadDinov2Onnx("/nonexistent/vit.onnx", torch::kFloat32);
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
    }
    try {
        (void)loadDinov2Onnx(UHDLENS_TEST_DATA "/reference/dinov2-onnx", torch::kFloat32);
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::NotAFile);
    }
    // A GGUF file is not an ONNX model.
    const auto tmp = std::filesystem::temp_directory_path() / "uhdlens-onnx-test-gguf.onnx";
    {
        std::ofstream out(tmp, std::ios::binary);
        out << "GGUF\x03" << std::string(64, '\0');
    }
    try {
        (void)loadDinov2Onnx(tmp.string(), torch::kFloat32);
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::CheckpointInvalid);
        EXPECT_NE(std::string(e.what()).find(tmp.string()), std::string::npos) << e.what();
    }
    std::filesystem::remove(tmp);
}

// ---- the runner (core/src/onnx/onnx_runner.h) on hand-made graphs: what it refuses at load and at run time
// ----

namespace {

std::string floatTensor(const std::string &name, const std::vector<int64_t> &dims,
                        const std::vector<float> &v)
{
    std::string t;
    for (const int64_t d : dims)
        t += field(1, static_cast<uint64_t>(d));
    return t + field(2, uint64_t{1}) + field(8, name) +
           field(9, std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4));
}
std::string named(const std::string &n)
{
    return field(3, n);
}
// A model of opset `opset` whose graph has `nodes` (NodeProto bytes), `inits` (TensorProto bytes), input x
// and output y.
std::string graphModel(const std::vector<std::string> &nodes, const std::vector<std::string> &inits = {},
                       int opset = 11)
{
    std::string g;
    for (const auto &n : nodes)
        g += field(1, n);
    for (const auto &t : inits)
        g += field(5, t);
    g += field(11, field(1, std::string("x"))) + field(12, field(1, std::string("y")));
    return model(g) + field(8, field(1, std::string("")) + field(2, static_cast<uint64_t>(opset)));
}
OnnxRunner runner(const std::string &bytes)
{
    return OnnxRunner::fromGraph(parse(bytes), "test.onnx");
}
// The message of the Error(code) loading (and, when `input` is defined, running) `bytes` throws; "" when
// none.
std::string runnerRefusal(const std::string &bytes, ErrorCode code, const at::Tensor &input = {})
{
    try {
        const OnnxRunner r = runner(bytes);
        if (input.defined())
            (void)r.run({{"x", input}});
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), code) << e.what();
        return e.what();
    }
    return {};
}

} // namespace

TEST(OnnxRunner, RunsBroadcastsAndFoldsConstants)
{
    // y = x + (Identity(b) * 2): the Identity and Mul of constants are folded at load time.
    const std::string bytes = graphModel({node("Identity", {"b"}, {"b1"}) + named("id"),
                                          node("Mul", {"b1", "two"}, {"b2"}) + named("mul"),
                                          node("Add", {"x", "b2"}, {"y"}) + named("add")},
                                         {floatTensor("b", {3}, {1, 2, 3}), floatTensor("two", {}, {2})});
    const OnnxRunner r = runner(bytes);
    EXPECT_EQ(r.inputNames(), std::vector<std::string>{"x"});
    EXPECT_EQ(r.outputNames(), std::vector<std::string>{"y"});
    EXPECT_EQ(r.stepCount(), 1u);
    EXPECT_EQ(r.foldedCount(), 2u);
    const auto out = r.run({{"x", at::ones({2, 3})}});
    EXPECT_TRUE(at::equal(out.at("y"), at::tensor({3.f, 5.f, 7.f}).expand({2, 3})));
}

TEST(OnnxRunner, UnsupportedGraphsAreRefusedAtLoadNamingTheNode)
{
    const auto load = [](const std::string &bytes) {
        return runnerRefusal(bytes, ErrorCode::CheckpointInvalid);
    };
    const std::string unknown = load(graphModel({node("FooBar", {"x"}, {"y"}) + named("n7")}));
    EXPECT_NE(unknown.find("node 'n7' (FooBar): the operator 'FooBar' is not supported"), std::string::npos)
        << unknown;
    EXPECT_NE(
        load(graphModel({node("Relu", {"x"}, {"y"}) + named("r") + field(7, std::string("com.microsoft"))}))
            .find("domain 'com.microsoft'"),
        std::string::npos);
    // a value nobody produces
    EXPECT_NE(
        load(graphModel({node("Add", {"x", "ghost"}, {"y"}) + named("add")}))
            .find("node 'add' (Add): its input 'ghost' is not a graph input, an initialiser or any node's "
                  "output"),
        std::string::npos);
    // an attribute of the wrong type, an unknown attribute, an unsupported value, a missing one
    EXPECT_NE(load(graphModel({node("Conv", {"x", "w"}, {"y"}) + named("c") +
                               field(5, attr("group", 1, fixed32(2, 2.0f)))},
                              {floatTensor("w", {1, 1, 1, 1}, {1})}))
                  .find("node 'c' (Conv): attribute 'group' has type FLOAT, expected INT"),
              std::string::npos);
    EXPECT_NE(load(graphModel({node("Relu", {"x"}, {"y"}) + named("r") +
                               field(5, attr("foo", 2, field(3, uint64_t{1})))}))
                  .find("attribute 'foo' is not supported"),
              std::string::npos);
    const std::string cubic = load(graphModel({node("Resize", {"x", "", "s"}, {"y"}) + named("rs") +
                                               field(5, attr("mode", 3, field(4, std::string("cubic"))))},
                                              {floatTensor("s", {4}, {1, 1, 2, 2})}));
    EXPECT_NE(cubic.find("attribute 'mode' = 'cubic' is not supported (supported: nearest, linear)"),
              std::string::npos)
        << cubic;
    EXPECT_NE(
        load(graphModel({node("Concat", {"x"}, {"y"}) + named("cat")})).find("attribute 'axis' is missing"),
        std::string::npos);
    // input counts, an omitted required input, a second output
    EXPECT_NE(load(graphModel({node("Add", {"x"}, {"y"}) + named("a")})).find("has 1 inputs, expected 2"),
              std::string::npos);
    EXPECT_NE(load(graphModel({node("Conv", {"x", ""}, {"y"}) + named("c")})).find("input 1 is required"),
              std::string::npos);
    EXPECT_NE(
        load(graphModel({node("MaxPool", {"x"}, {"y", "idx"}) + named("p") +
                         field(5, attr("kernel_shape", 7, field(8, uint64_t{2}) + field(8, uint64_t{2})))}))
            .find("node 'p' (MaxPool): has 2 outputs, expected 1"),
        std::string::npos);
    // opsets outside 11..17, a cycle, a Constant without a value, an output nobody produces
    EXPECT_NE(load(graphModel({node("Relu", {"x"}, {"y"})}, {}, 9)).find("opset 9"), std::string::npos);
    EXPECT_NE(load(graphModel({node("Add", {"x", "b"}, {"a"}), node("Relu", {"a"}, {"b"}),
                               node("Relu", {"a"}, {"y"})}))
                  .find("cycle"),
              std::string::npos);
    EXPECT_NE(load(graphModel({node("Constant", {}, {"y"}) + named("k")})).find("no value"),
              std::string::npos);
    EXPECT_NE(load(graphModel({node("Relu", {"x"}, {"z"})})).find("the graph output 'y' is not produced"),
              std::string::npos);
    // a constant that cannot be folded: a Reshape of a weight to an impossible shape
    EXPECT_NE(
        load(graphModel({node("Reshape", {"w", "s"}, {"r"}) + named("rs"), node("Add", {"x", "r"}, {"y"})},
                        {floatTensor("w", {3}, {1, 2, 3}), floatTensor("s", {1}, {4})}))
            .find("node 'rs' (Reshape): folding its constant inputs failed"),
        std::string::npos);
}

TEST(OnnxRunner, BadInputsAtRunTimeAreTypedErrorsNamingTheNode)
{
    const std::string conv =
        graphModel({node("Conv", {"x", "w"}, {"y"}) + named("conv1") +
                    field(5, attr("kernel_shape", 7, field(8, uint64_t{1}) + field(8, uint64_t{1})))},
                   {floatTensor("w", {2, 3, 1, 1}, {1, 2, 3, 4, 5, 6})});
    const OnnxRunner r = runner(conv);
    EXPECT_EQ(r.run({{"x", at::ones({1, 3, 2, 2})}}).at("y").sizes().vec(),
              (std::vector<int64_t>{1, 2, 2, 2}));
    const auto bad = [&](const TensorMap &in) {
        try {
            (void)r.run(in);
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(bad({}).find("the graph input 'x' is not given"), std::string::npos);
    EXPECT_NE(bad({{"x", at::ones({1, 3, 2, 2})}, {"extra", at::ones({1})}}).find("'extra' is not an input"),
              std::string::npos);
    EXPECT_NE(bad({{"x", at::Tensor()}}).find("not a defined CPU tensor"), std::string::npos);
    // rank and channel mismatches, named by node
    EXPECT_NE(bad({{"x", at::ones({3, 2, 2})}}).find("node 'conv1' (Conv): the input has rank 3, expected 4"),
              std::string::npos);
    EXPECT_NE(bad({{"x", at::ones({1, 4, 2, 2})}}).find("node 'conv1' (Conv): "), std::string::npos);
    // broadcasting that does not fit, an integer input where floats are needed
    const std::string add =
        graphModel({node("Add", {"x", "b"}, {"y"}) + named("add")}, {floatTensor("b", {3}, {1, 2, 3})});
    const std::string addErr = runnerRefusal(add, ErrorCode::InvalidArgument, at::ones({2, 4}));
    EXPECT_NE(addErr.find("node 'add' (Add): "), std::string::npos) << addErr;
    const std::string reshape =
        graphModel({node("Reshape", {"x", "s"}, {"y"}) + named("rs")}, {floatTensor("s", {2}, {1, 2})});
    EXPECT_NE(runnerRefusal(reshape, ErrorCode::InvalidArgument, at::ones({2})).find("1-D integer tensor"),
              std::string::npos);
    const std::string squeeze = graphModel(
        {node("Squeeze", {"x"}, {"y"}) + named("sq") + field(5, attr("axes", 7, field(8, uint64_t{1})))});
    EXPECT_NE(runnerRefusal(squeeze, ErrorCode::InvalidArgument, at::ones({2, 3}))
                  .find("dimension 1 has size 3, not 1"),
              std::string::npos);
    EXPECT_NE(runnerRefusal(squeeze, ErrorCode::InvalidArgument, at::ones({2}))
                  .find("axis 1 is out of range for rank 1"),
              std::string::npos);
}
