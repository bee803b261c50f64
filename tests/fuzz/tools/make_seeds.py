#!/usr/bin/python3
"""Writes the fuzz seed corpora (tests/fuzz/<target>/corpus/) from the repository's test fixtures.

Usage: /usr/bin/python3 tests/fuzz/tools/make_seeds.py   (from the repository root; standard library only)
Seeds are small (a few KB each): headers cut down from the bundled tiny model, the image intake fixtures,
the tokenizer fixture, the tiny model's JSON files.
"""
import json
import os
import shutil
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FUZZ = os.path.join(ROOT, "tests", "fuzz")
TINY = os.path.join(ROOT, "resources", "models", "uhd-lens-tiny")
INTAKE = os.path.join(ROOT, "tests", "data", "images", "intake")


def corpus(target):
    d = os.path.join(FUZZ, target, "corpus")
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def st_file(header_obj, data):
    h = json.dumps(header_obj, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


# ---- safetensors_header: byte 0 even = whole file; odd = [u16 data size][header JSON]
def safetensors_seeds():
    d = corpus("safetensors_header")
    with open(os.path.join(TINY, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    small = {"__metadata__": header.get("__metadata__", {"format": "pt"})}
    off = 0
    for k, v in sorted(header.items()):
        if k == "__metadata__":
            continue
        nb = v["data_offsets"][1] - v["data_offsets"][0]
        if nb <= 256 and len(small) < 5:
            small[k] = {"dtype": v["dtype"], "shape": v["shape"], "data_offsets": [off, off + nb]}
            off += nb
    put(d, "tiny-subset", b"\x00" + st_file(small, bytes(off)))
    js = json.dumps(small, separators=(",", ":")).encode()
    put(d, "tiny-subset-json", b"\x01" + struct.pack("<H", off) + js)
    every = {}
    off = 0
    for i, (dt, sz) in enumerate(sizes.items()):
        every["t%d" % i] = {"dtype": dt, "shape": [2, 1], "data_offsets": [off, off + 2 * sz]}
        off += 2 * sz
    every["empty"] = {"dtype": "F32", "shape": [0, 3], "data_offsets": [off, off]}
    every["scalar"] = {"dtype": "U8", "shape": [], "data_offsets": [off, off + 1]}
    put(d, "all-dtypes", b"\x00" + st_file(every, bytes(off + 1)))
    put(d, "all-dtypes-json", b"\x01" + struct.pack("<H", off + 1) + json.dumps(every).encode())
    put(d, "overlap-json", b"\x01\x10\x00" + json.dumps(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode())
    put(d, "pickle-zip", b"\x00PK\x03\x04" + bytes(40))
    put(d, "huge-length", b"\x00" + struct.pack("<Q", 2 ** 63) + b"{}")
    put(d, "empty-object", b"\x01\x00\x00{}")


def index_seeds():
    d = corpus("safetensors_index")
    put(d, "two-shards", json.dumps({"metadata": {"total_size": 1024}, "weight_map": {
        "llm.model.embed_tokens.weight": "model-00001-of-00002.safetensors",
        "llm.lm_head.weight": "model-00002-of-00002.safetensors",
        "vpm.pos_embed": "model-00001-of-00002.safetensors"}}, indent=1))
    put(d, "bad-names", json.dumps({"weight_map": {"a": "../x.safetensors", "b": "", "c": ".."}}))
    put(d, "not-string", '{"weight_map": {"a": 3}}')


def folder_seeds():
    d = corpus("model_folder")
    cfg = open(os.path.join(TINY, "config.json")).read()
    uhd = open(os.path.join(TINY, "uhdlens.json")).read()
    put(d, "tiny", "==> config.json\n" + cfg + "==> uhdlens.json\n" + uhd)
    put(d, "minicpmv-like", "\n".join([
        "==> config.json", json.dumps({"model_type": "minicpmv", "max_slice_nums": 9, "scale_resolution": 448,
                                       "patch_size": 14, "slice_mode": True}),
        "==> preprocessor_config.json", json.dumps({"image_mean": [0.5, 0.5, 0.5], "norm_std": [0.5, 0.5, 0.5],
                                                     "max_slice_nums": 6, "slice_mode": True, "patch_size": 14}),
        "==> generation_config.json", json.dumps({"bos_token_id": 1, "eos_token_id": [2, 2]}),
        "==> tokenizer_config.json", json.dumps({"bos_token": "<s>", "eos_token": {"content": "</s>"},
                                                 "unk_token": None, "added_tokens_decoder": {
                                                     "0": {"content": "<unk>"}, "1": {"content": "<s>"}}}),
        "==> special_tokens_map.json", json.dumps({"eos_token": "</s>", "unk_token": "<unk>"}),
        "==> added_tokens.json", json.dumps({"<s>": 1, "<pad>": 5000}),
        "==> uhdlens.json", json.dumps({"name": "x", "description": "y", "suggested_questions": ["a?", 3]}),
        ""]))
    put(d, "llava-uhd-vision", "\n".join([
        "==> config.json", json.dumps({"model_type": "llava-uhd", "mm_vision_tower": "clip"}),
        "==> vision/config.json", json.dumps({"hidden_size": 1024, "image_size": 336, "patch_size": 14}),
        "==> vision/preprocessor_config.json", json.dumps({"image_mean": [0.48, 0.45, 0.4],
                                                            "image_std": [0.26, 0.26, 0.27]}),
        ""]))


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)


def image_seeds():
    d = corpus("image")
    for name in sorted(os.listdir(INTAKE)):
        p = os.path.join(INTAKE, name)
        if os.path.getsize(p) <= 2048 and os.path.getsize(p) > 0:
            shutil.copy(p, os.path.join(d, name))
    # PNG with an eXIf chunk (orientation 6, big- and little-endian TIFF) before IDAT.
    png = open(os.path.join(INTAKE, "rgb8.png"), "rb").read()
    ihdr_end = 8 + 8 + 13 + 4
    for order, tiff in (("mm", b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
                                b"\x00\x00\x00\x00\x00\x00"),
                        ("ii", b"II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"
                                b"\x00\x00\x00\x00")):
        put(d, "exif-orient6-%s.png" % order, png[:ihdr_end] + png_chunk(b"eXIf", tiff) + png[ihdr_end:])


def plan_seeds():
    d = corpus("plan_json")
    def seed(flags, w, h, policy, scale=0, patch=0, slices=0, layout=4):
        return struct.pack("<BIIBIIIB", flags, w, h, policy, scale, patch, slices, layout)
    # folded sizes: value v maps to 1 + v % 100000
    put(d, "fhd-minicpmv", seed(0, 1919, 1079, 0))
    put(d, "vga-llava-uhd", seed(0, 639, 479, 1))
    put(d, "square-llava15", seed(0, 335, 335, 2, layout=3))
    put(d, "extreme-aspect", seed(0, 99999, 9, 0))
    put(d, "custom-policy", seed(2 | 8, 4095, 2047, 0, scale=31, patch=13, slices=15, layout=1))
    put(d, "raw-negative", seed(1, 0xffffffff, 100, 0))


def tokenizer_seeds():
    d = corpus("tokenizer")
    shutil.copy(os.path.join(ROOT, "tests", "data", "tokenizer", "tokenizer.model"), os.path.join(d, "fixture.model"))
    put(d, "json-tokenizer", '{"version": "1.0", "model": {"type": "BPE"}}')


# ONNX ModelProto by hand (protobuf wire format; core/src/onnx/onnx_file.h lists the fields read).
def pb_varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_field(num, value):
    """int -> varint field; bytes / str -> length-delimited field."""
    if isinstance(value, int):
        return pb_varint(num << 3) + pb_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return pb_varint(num << 3 | 2) + pb_varint(len(data)) + data


def onnx_tensor(name, dims, raw=True, packed_floats=False):
    count = 1
    for d in dims:
        count *= d
    body = b"".join(pb_field(1, d) for d in dims) + pb_field(2, 1) + pb_field(8, name)
    data = struct.pack("<%df" % count, *[0.01 * (i % 7) for i in range(count)])
    if packed_floats:
        return body + pb_field(4, data)
    if raw:
        return body + pb_field(9, data)
    return body + pb_field(14, 1)  # data_location EXTERNAL: no bytes in the file


def onnx_node(op, inputs, outputs, name="", attrs=()):
    return (b"".join(pb_field(1, i) for i in inputs) + b"".join(pb_field(2, o) for o in outputs) +
            pb_field(3, name) + pb_field(4, op) + b"".join(pb_field(5, a) for a in attrs))


def onnx_attr(name, value, packed=True):
    """AttributeProto: float -> f, int -> i, str -> s, bytes -> t (a TensorProto), list of float / int / str ->
    floats / ints (packed or one field per value) / strings; the type field (20) as onnx writes it."""
    out = pb_field(1, name)
    if isinstance(value, float):
        return out + pb_field(20, 1) + pb_varint(2 << 3 | 5) + struct.pack("<f", value)
    if isinstance(value, int):
        return out + pb_field(20, 2) + pb_field(3, value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, str):
        return out + pb_field(20, 3) + pb_field(4, value)
    if isinstance(value, bytes):
        return out + pb_field(20, 4) + pb_field(5, value)
    if all(isinstance(v, float) for v in value):
        if packed:
            return out + pb_field(20, 6) + pb_field(7, struct.pack("<%df" % len(value), *value))
        return out + pb_field(20, 6) + b"".join(pb_varint(7 << 3 | 5) + struct.pack("<f", v) for v in value)
    if all(isinstance(v, int) for v in value):
        if packed:
            return out + pb_field(20, 7) + pb_field(8, b"".join(pb_varint(v & 0xFFFFFFFFFFFFFFFF) for v in value))
        return out + pb_field(20, 7) + b"".join(pb_field(8, v & 0xFFFFFFFFFFFFFFFF) for v in value)
    return out + pb_field(20, 8) + b"".join(pb_field(9, v) for v in value)


def onnx_model(nodes, inits, inputs=("pixels",), outputs=("out",), metadata=(), opset=14):
    graph = (b"".join(pb_field(1, n) for n in nodes) + pb_field(2, "g") + b"".join(pb_field(5, t) for t in inits) +
             b"".join(pb_field(11, pb_field(1, i)) for i in inputs) +
             b"".join(pb_field(12, pb_field(1, o)) for o in outputs))
    return (pb_field(1, 7) + pb_field(2, "pytorch") + pb_field(3, "2.7.0") + pb_field(7, graph) +
            pb_field(8, pb_field(1, "") + pb_field(2, opset)) +
            b"".join(pb_field(14, pb_field(1, k) + pb_field(2, v)) for k, v in metadata))


def onnx_seeds():
    d = corpus("onnx_model")
    put(d, "minimal", onnx_model([onnx_node("MatMul", ["x", "w"], ["y"]), onnx_node("Add", ["y", "b"], ["out"])],
                                 [onnx_tensor("w", [2, 3]), onnx_tensor("b", [3], packed_floats=True)]))
    # A DINOv2 backbone as torch.onnx.export writes one (width 64, one layer, MLP 64, patch 1, a 1x1 position
    # table): generated MatMul operands before named biases, the position table split around a Resize. The
    # large weights are EXTERNAL (no bytes), so the seed stays small and findDinov2 walks the whole graph.
    P, C = "backbone.", 64
    inits = [onnx_tensor(P + "embeddings.cls_token", [1, 1, C]),
             onnx_tensor(P + "embeddings.patch_embeddings.projection.weight", [C, 3, 1, 1], raw=False),
             onnx_tensor(P + "embeddings.patch_embeddings.projection.bias", [C], raw=False),
             onnx_tensor(P + "layernorm.weight", [C], raw=False), onnx_tensor(P + "layernorm.bias", [C], raw=False),
             onnx_tensor("onnx::Concat_1", [1, 1, C]), onnx_tensor("onnx::Reshape_2", [1, 1, C], raw=False)]
    nodes = [onnx_node("Reshape", ["onnx::Reshape_2", "s1"], ["t1"]), onnx_node("Transpose", ["t1"], ["t2"]),
             onnx_node("Cast", ["t2"], ["t3"]), onnx_node("Resize", ["t3", "", "", "sizes"], ["t4"]),
             onnx_node("Cast", ["t4"], ["t5"]), onnx_node("Transpose", ["t5"], ["t6"]),
             onnx_node("Reshape", ["t6", "s2"], ["t7"]), onnx_node("Concat", ["onnx::Concat_1", "t7"], ["pos"])]
    L = P + "encoder.layer.0."
    for n in ("norm1", "norm2"):
        inits += [onnx_tensor(L + n + ".weight", [C], raw=False), onnx_tensor(L + n + ".bias", [C], raw=False)]
    inits += [onnx_tensor(L + "layer_scale1.lambda1", [C], raw=False),
              onnx_tensor(L + "layer_scale2.lambda1", [C], raw=False)]
    for i, lin in enumerate(("attention.attention.query", "attention.attention.key", "attention.attention.value",
                             "attention.output.dense", "mlp.fc1", "mlp.fc2")):
        w = "onnx::MatMul_%d" % (10 + i)
        inits += [onnx_tensor(w, [C, C], raw=False), onnx_tensor(L + lin + ".bias", [C], raw=False)]
        nodes += [onnx_node("MatMul", ["h%d" % i, w], ["m%d" % i]),
                  onnx_node("Add", [L + lin + ".bias", "m%d" % i], ["a%d" % i])]
    put(d, "dinov2-external", onnx_model(nodes, inits))
    # The attribute forms of the PP-OCR graphs (paddle2onnx, opset 11) that core/src/onnx/onnx_runner.h runs: ints
    # packed and one per field, negative ints, floats, strings, a Constant's tensor, a graph attribute (skipped),
    # and the recogniser's dictionary in metadata_props.
    nodes = [onnx_node("Conv", ["x", "w"], ["c"], "conv_same",
                       [onnx_attr("auto_pad", "SAME_UPPER"), onnx_attr("dilations", [1, 1]), onnx_attr("group", 1),
                        onnx_attr("kernel_shape", [2, 2], packed=False), onnx_attr("strides", [1, 1])]),
             onnx_node("HardSigmoid", ["c"], ["h"], "hsig", [onnx_attr("alpha", 0.2), onnx_attr("beta", 0.5)]),
             onnx_node("Constant", [], ["k"], "const", [onnx_attr("value", onnx_tensor("", [2]))]),
             onnx_node("Resize", ["h", "", "k"], ["r"], "resize",
                       [onnx_attr("mode", "nearest"), onnx_attr("coordinate_transformation_mode", "asymmetric"),
                        onnx_attr("scales_unused", [1.0, 2.0], packed=False), onnx_attr("names", ["a", "b"])]),
             onnx_node("ReduceMean", ["r"], ["m"], "mean", [onnx_attr("axes", [-1]), onnx_attr("keepdims", 0)]),
             onnx_node("Loop", ["m"], ["out"], "loop", [pb_field(1, "body") + pb_field(20, 5) +
                                                        pb_field(6, pb_field(2, "body_graph"))])]
    put(d, "attributes", onnx_model(nodes, [onnx_tensor("w", [4, 4, 2, 2])], inputs=("x",),
                                    metadata=[("character", "a\nb\nc"), ("empty", "")], opset=11))


if __name__ == "__main__":
    onnx_seeds()
    safetensors_seeds()
    index_seeds()
    folder_seeds()
    image_seeds()
    plan_seeds()
    tokenizer_seeds()
