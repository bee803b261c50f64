#!/usr/bin/python3
"""Writes the pickle-conversion fixtures to tests/data/pickle/ (tests/unit/test_torch_checkpoint.cpp,
tests/smoke/cli_convert.cmake).

Good files are written by torch.save itself (torch 1.13, zip format): f32/f16/bf16/int/bool tensors, views of one
storage with non-zero offsets, a non-contiguous slice and a transpose, a module's OrderedDict state dict (with its
`_metadata`, pickled through BUILD), a nested {"state_dict": ...} dict, an nn.Parameter, pickle protocol 4, and an
mm_projector.bin shaped like the LLaVA-UHD release's. For each, `<name>.expected.safetensors` holds exactly the
tensors torch.load returns (made contiguous), written by this script's own safetensors writer (not the project's),
so the C++ reader is compared with torch's own reading of the same file.

Bad files are refused by the reader: a GLOBAL that would run code (os.system via __reduce__, builtins.eval), a
REDUCE of a whitelisted but non-callable name and of a non-global, a pickle opcode torch.save never writes, a
storage whose declared size exceeds its record, a tensor reaching past its storage (offset/stride), sizes whose
product overflows, a negative stride, a missing storage record, compressed (deflate) entries, a truncated zip, a
truncated pickle, a non-dict top-level object, a complex storage, and the legacy (pre-1.6) format.
manifest.json lists every file with the error code and a phrase its message must contain.

Nothing here unpickles a bad file. Usage: /usr/bin/python3 tests/tools/make_pickle_fixtures.py (byte-identical
reruns, except legacy.pt, whose storage keys are Python object ids).
"""
import collections
import io
import json
import os
import struct
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "pickle")

ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
             torch.bool: "BOOL"}


def write_safetensors(path, tensors):
    """Minimal independent safetensors writer (format: 8-byte LE header length, JSON header, raw data)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        # bytes of any dtype (bf16 has no numpy twin): view the storage as uint8
        flat = t.reshape(-1)
        raw = (flat.view(torch.uint8) if t.dtype != torch.bool else flat.to(torch.uint8)).numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save_good(name, obj, tensors_key=None, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    loaded = torch.load(path)
    if tensors_key:
        loaded = loaded[tensors_key]
    tensors = {k: v.detach() for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    write_safetensors(os.path.join(OUT, name + ".expected.safetensors"), tensors)
    return {"file": name, "expected": name + ".expected.safetensors", "tensors": len(tensors)}


# ---------------------------------------------------------------- hand-built pickles for the malformed files

def p_int(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -2**31 <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_tensor(storage_type, key, numel, offset, size, stride):
    pid = p_tuple([p_str("storage"), b"ctorch\n" + storage_type.encode() + b"\n", p_str(key), p_str("cpu"),
                   p_int(numel)]) + b"Q"
    args = p_tuple([pid, p_int(offset), p_tuple([p_int(x) for x in size]), p_tuple([p_int(x) for x in stride]),
                    b"\x89", b"ccollections\nOrderedDict\n)R"])
    return b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R"


def p_dict(entries):
    return b"\x80\x02}(" + b"".join(p_str(k) + v for k, v in entries) + b"u."


def write_zip(name, pickle_bytes, storages, compress=zipfile.ZIP_STORED, zip64=False):
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        def put(entry, data):  # fixed timestamps: the same bytes on every run
            info = zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compress
            with z.open(info, "w", force_zip64=zip64) as f:  # zip64: local headers carry zip64 extra fields
                f.write(data)
        put("archive/data.pkl", pickle_bytes)
        for key, data in storages.items():
            put("archive/data/" + key, data)
        put("archive/version", b"3\n")
    return path


class RunsCode:
    """Pickles as a call of `fn(arg)`: what a booby-trapped checkpoint looks like."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    g = torch.Generator().manual_seed(1234)
    good, bad = [], []

    good.append(save_good("dtypes.pt", {
        "f32": torch.randn(3, 4, generator=g),
        "f16": torch.randn(5, generator=g).half(),
        "bf16": torch.randn(2, 3, generator=g).bfloat16(),
        "f64": torch.randn(2, generator=g).double(),
        "i64": torch.arange(-3, 3),
        "i32": torch.arange(4, dtype=torch.int32),
        "u8": torch.arange(250, 256, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }))
    base = torch.randn(24, generator=g)
    grid = base.view(4, 6)
    good.append(save_good("views.pt", {
        "base": base,
        "offset_view": base[5:11].view(2, 3),   # storage offset 5, shares the storage
        "columns": grid[:, 2:5],                # non-contiguous: stride (6, 1), offset 2
        "transposed": grid.t(),                 # stride (1, 6)
        "every_other": base[1::2],              # stride 2, offset 1
        "expanded": base[:3].view(3, 1).expand(3, 4),  # stride 0
    }))
    module = torch.nn.Sequential(collections.OrderedDict([
        ("proj", torch.nn.Linear(4, 3)), ("norm", torch.nn.LayerNorm(3))]))
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    sd = module.state_dict()  # OrderedDict with a _metadata attribute: pickled with BUILD
    assert hasattr(sd, "_metadata")
    good.append(save_good("ordered_state_dict.pt", sd))
    good.append(save_good("nested.pt", {"state_dict": collections.OrderedDict(
        [("encoder.weight", torch.randn(2, 2, generator=g)), ("encoder.bias", torch.randn(2, generator=g))]),
        "epoch": 3, "lr": 0.001, "note": "fine-tuned"}, tensors_key="state_dict"))
    good.append(save_good("parameter.pt", {"p": torch.nn.Parameter(torch.randn(3, generator=g)),
                                           "t": torch.randn(2, generator=g)}))
    good.append(save_good("protocol4.pt", {"a": torch.randn(2, 2, generator=g).half(), "b": torch.arange(5)},
                          pickle_protocol=4))
    # The LLaVA-UHD release's mm_projector.bin: the resampler in bf16 under model.mm_projector.* (shapes shrunk).
    q, d = 8, 16
    proj = collections.OrderedDict()
    proj["model.mm_projector.query"] = torch.randn(q, d, generator=g).bfloat16()
    proj["model.mm_projector.pos_embed"] = torch.randn(q, d, generator=g).bfloat16()
    proj["model.mm_projector.kv_proj.weight"] = torch.randn(d, 12, generator=g).bfloat16()
    in_proj = torch.randn(3 * d, d, generator=g).bfloat16()
    proj["model.mm_projector.attn.in_proj_weight"] = in_proj
    proj["model.mm_projector.attn.in_proj_bias"] = torch.zeros(3 * d).bfloat16()
    proj["model.mm_projector.attn.out_proj.weight"] = torch.randn(d, d, generator=g).bfloat16()
    proj["model.mm_projector.attn.out_proj.bias"] = torch.zeros(d).bfloat16()
    for ln in ("ln_q", "ln_kv", "ln_post"):
        proj[f"model.mm_projector.{ln}.weight"] = torch.ones(d).bfloat16()
        proj[f"model.mm_projector.{ln}.bias"] = torch.zeros(d).bfloat16()
    proj["model.mm_projector.proj"] = torch.randn(d, 20, generator=g).bfloat16()
    good.append(save_good("mm_projector.bin", proj))

    # Hand-built but well-formed (checks the helpers above): torch.load must read it.
    data = torch.arange(16, dtype=torch.float32)
    write_zip("handmade.pt", p_dict([("m", p_tensor("FloatStorage", "0", 16, 2, (2, 3), (4, 1)))]),
              {"0": data.numpy().tobytes()})
    assert torch.equal(torch.load(os.path.join(OUT, "handmade.pt"))["m"], data[2:].as_strided((2, 3), (4, 1)))
    write_safetensors(os.path.join(OUT, "handmade.pt.expected.safetensors"),
                      {"m": data.as_strided((2, 3), (4, 1), 2)})
    good.append({"file": "handmade.pt", "expected": "handmade.pt.expected.safetensors", "tensors": 1})
    write_zip("zip64_headers.pt", p_dict([("m", p_tensor("FloatStorage", "0", 16, 2, (2, 3), (4, 1)))]),
              {"0": data.numpy().tobytes()}, zip64=True)
    assert torch.equal(torch.load(os.path.join(OUT, "zip64_headers.pt"))["m"], data[2:].as_strided((2, 3), (4, 1)))
    write_safetensors(os.path.join(OUT, "zip64_headers.pt.expected.safetensors"),
                      {"m": data.as_strided((2, 3), (4, 1), 2)})
    good.append({"file": "zip64_headers.pt", "expected": "zip64_headers.pt.expected.safetensors", "tensors": 1})

    def refuse(name, code, phrase):
        bad.append({"file": name, "code": code, "contains": phrase})

    # Malicious: torch.save of objects whose pickle calls a function (not run here: only pickled).
    torch.save({"w": torch.zeros(2), "x": RunsCode(os.system, "echo pwned > /tmp/uhdlens-pwned")},
               os.path.join(OUT, "global_os_system.pt"))
    refuse("global_os_system.pt", "pickle-refused", "GLOBAL 'posix.system' is not allowed")
    torch.save({"w": torch.zeros(2), "x": RunsCode(eval, "__import__('os').getcwd()")},
               os.path.join(OUT, "global_eval.pt"))
    refuse("global_eval.pt", "pickle-refused", "GLOBAL '__builtin__.eval' is not allowed")
    four = torch.arange(4, dtype=torch.float32).numpy().tobytes()
    write_zip("reduce_storage_type.pt", p_dict([("w", b"ctorch\nFloatStorage\n" + p_tuple([p_int(4)]) + b"R")]), {})
    refuse("reduce_storage_type.pt", "pickle-refused", "REDUCE of 'torch.FloatStorage'")
    write_zip("reduce_non_global.pt", p_dict([("w", p_str("print") + p_tuple([p_int(1)]) + b"R")]), {})
    refuse("reduce_non_global.pt", "pickle-refused", "REDUCE of a str")
    write_zip("opcode_inst.pt", b"\x80\x02(ios\nsystem\n" + p_str("true") + b".", {})
    refuse("opcode_inst.pt", "pickle-refused", "pickle opcode 0x69 (INST")
    write_zip("opcode_unknown.pt", b"\x80\x02}\xff.", {})
    refuse("opcode_unknown.pt", "pickle-refused", "pickle opcode 0xff")
    write_zip("storage_numel_too_big.pt", p_dict([("w", p_tensor("FloatStorage", "0", 1000, 0, (4,), (1,)))]),
              {"0": four})
    refuse("storage_numel_too_big.pt", "checkpoint-invalid", "declares 1000 elements of 4 bytes but its record holds 16")
    write_zip("storage_numel_huge.pt", p_dict([("w", p_tensor("FloatStorage", "0", 2**62, 0, (4,), (1,)))]),
              {"0": four})
    refuse("storage_numel_huge.pt", "checkpoint-invalid", "declares 4611686018427387904 elements")
    write_zip("tensor_past_storage.pt", p_dict([("w", p_tensor("FloatStorage", "0", 4, 2, (2, 2), (2, 1)))]),
              {"0": four})
    refuse("tensor_past_storage.pt", "checkpoint-invalid", "reach past the storage's 4 elements")
    write_zip("stride_out_of_range.pt", p_dict([("w", p_tensor("FloatStorage", "0", 4, 0, (2, 2), (100, 1)))]),
              {"0": four})
    refuse("stride_out_of_range.pt", "checkpoint-invalid", "reach past the storage's 4 elements")
    write_zip("size_overflow.pt", p_dict([("w", p_tensor("FloatStorage", "0", 4, 0, (2**40, 2**40), (1, 1)))]),
              {"0": four})
    refuse("size_overflow.pt", "checkpoint-invalid", "its size overflows")
    write_zip("huge_offset.pt", p_dict([("w", p_tensor("FloatStorage", "0", 4, 2**62, (1,), (1,)))]), {"0": four})
    refuse("huge_offset.pt", "checkpoint-invalid", "reach past the storage's 4 elements")
    write_zip("negative_stride.pt", p_dict([("w", p_tensor("FloatStorage", "0", 4, 3, (4,), (-1,)))]), {"0": four})
    refuse("negative_stride.pt", "checkpoint-invalid", "negative stride -1")
    write_zip("missing_record.pt", p_dict([("w", p_tensor("FloatStorage", "7", 4, 0, (4,), (1,)))]), {"0": four})
    refuse("missing_record.pt", "checkpoint-invalid", "has no record data/7")
    write_zip("complex_storage.pt", p_dict([("w", p_tensor("ComplexFloatStorage", "0", 2, 0, (2,), (1,)))]),
              {"0": four})
    refuse("complex_storage.pt", "pickle-refused", "a storage type safetensors cannot hold")
    write_zip("compressed.pt", p_dict([("w", p_tensor("FloatStorage", "0", 4, 0, (4,), (1,)))]), {"0": four},
              compress=zipfile.ZIP_DEFLATED)
    refuse("compressed.pt", "checkpoint-invalid", "is compressed")
    write_zip("pickle_truncated.pt", p_dict([("w", p_tensor("FloatStorage", "0", 4, 0, (4,), (1,)))])[:-30],
              {"0": four})
    refuse("pickle_truncated.pt", "checkpoint-invalid", "data.pkl")
    torch.save(torch.zeros(3), os.path.join(OUT, "not_a_dict.pt"))
    refuse("not_a_dict.pt", "pickle-refused", "not a dict of tensors")
    with open(os.path.join(OUT, "mm_projector.bin"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated.bin"), "wb") as f:
        f.write(whole[: len(whole) * 2 // 3])
    refuse("truncated.bin", "checkpoint-invalid", "truncated")
    torch.save({"w": torch.arange(4.0)}, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
    refuse("legacy.pt", "pickle-refused", "legacy (before PyTorch 1.6)")

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"good": good, "bad": bad}, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print(f"{len(good)} good, {len(bad)} bad fixtures, {total} bytes in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
