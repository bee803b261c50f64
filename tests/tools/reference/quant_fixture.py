#!/usr/bin/python3
"""Parity fixture for ggml's quantized types, made by gguf-py (`gguf` on PyPI, pinned in quant_requirements.txt):
its `gguf.quants.dequantize` for every type UHD Lens supports and its `gguf.quants.quantize` for the types it can
write (which reproduce ggml's quantize_row_*_ref bit for bit).

Writes tests/data/quant/:
  manifest.json           {"gguf_version", "cases": [{"name", "type", "kind", "rows", "cols", files...}]}
  <name>.bytes            raw blocks as a GGUF file stores them, rows x rowBytes
  <name>.f32              gguf-py's dequantization, rows x cols little-endian float32
  <name>.input.f32        (kind "quantize") the f32 rows given to gguf.quants.quantize, whose output is .bytes

kind "dequantize": random but valid blocks (f16 scales of sane magnitude, random bytes for quants and for the
K-quants' packed scales) plus an edge-case row (zero, negative, subnormal and largest f16 scales; all-zero and
all-0xFF quants, i.e. min and max nibbles). kind "quantize": random f32 rows of several magnitudes plus a row of
ties, zeros and constants, quantized by gguf-py, and that output dequantized again.

Usage (creates its own venv on first run):
  /usr/bin/python3 tests/tools/reference/quant_fixture.py [--out DIR]
The venv lives in $XDG_CACHE_HOME/uhdlens-reference/quant (default ~/.cache/...; reference_env.py beside this file).
Deterministic: every value comes from numpy's Generator with fixed seeds.
"""

import argparse
import json
import sys
from pathlib import Path

import reference_env  # beside this script (sys.path[0])

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
REQUIREMENTS = HERE / "quant_requirements.txt"
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "quant"

# (type, elements per block, bytes per block) as ggml_types.h has them; the script checks them against gguf-py.
SUPPORTED = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]
QUANTIZABLE = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]
ROWS = 4
BLOCKS_PER_ROW = 4


def f16_bytes(values, np):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_scales(rng, np, n):
    """f16 scales of either sign with magnitudes 1e-4 .. 1e-1 (what real checkpoints hold)."""
    mag = 10.0 ** rng.uniform(-4, -1, size=n)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return (mag * sign).astype(np.float16)


def make_blocks(qtype, block_bytes, n_blocks, rng, np, edge):
    """n_blocks blocks of `qtype`: random quants, f16 fields (the scales) set to sane values, or, with edge=True, to
    zero / negative / subnormal / largest f16 with all-0x00 or all-0xFF quant bytes."""
    b = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    # Offsets of the f16 fields in each layout (ggml-common.h).
    f16_fields = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
                  "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}[qtype]
    for off in f16_fields:
        b[:, off:off + 2] = random_scales(rng, np, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    if edge:
        specials = [0.0, -0.0, -0.03125, 6.0e-8, 65504.0, -65504.0, 1.0, -1.0]  # 6e-8: the smallest f16 subnormal
        quant_fill = [0x00, 0xFF, None, 0x00, 0xFF, None, 0x0F, 0xF0]
        for i in range(n_blocks):
            fill = quant_fill[i % len(quant_fill)]
            if fill is not None:
                mask = np.ones(block_bytes, dtype=bool)
                for off in f16_fields:
                    mask[off:off + 2] = False
                b[i, mask] = fill
            for k, off in enumerate(f16_fields):
                b[i, off:off + 2] = f16_bytes([specials[(i + 3 * k) % len(specials)]], np)
    return b


def plain_bytes(qtype, rows, cols, rng, np):
    """F32 / F16 / BF16 rows: random values of many magnitudes, and the last row of special values."""
    vals = (rng.standard_normal((rows, cols)) * 10.0 ** rng.uniform(-6, 4, size=(rows, cols))).astype(np.float32)
    if qtype == "F32":
        data = vals.view(np.uint8)
        specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.4e38, 1.17549435e-38],
                            dtype=np.float32).view(np.uint8)
    elif qtype == "F16":
        data = vals.astype(np.float16).view(np.uint8)
        # Every f16 class: zeros, smallest/largest subnormal, smallest normal, largest, infinities, quiet NaN.
        specials = np.array([0x0000, 0x8000, 0x0001, 0x83FF, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00,
                             0x3C00, 0x3555], dtype=np.uint16).view(np.uint8)
    else:  # BF16: raw random bit patterns (every exponent, incl. subnormals) and specials
        data = rng.integers(0, 65536, size=(rows, cols), dtype=np.uint16)
        data = np.where((data & 0x7F80) == 0x7F80, data & 0xBFFF, data).astype(np.uint16).view(np.uint8)
        specials = np.array([0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x3F80],
                            dtype=np.uint16).view(np.uint8)
    data = data.reshape(rows, -1).copy()
    data[-1, :specials.size] = specials
    return data


def quantize_inputs(qtype, rows, cols, rng, np):
    """f32 rows to quantize: normal values at three magnitudes, and a last row whose blocks are all zero, constant,
    exact rounding ties for this type's scale, and a single outlier."""
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    x[0] *= np.float32(0.02)
    x[1] *= np.float32(3.0)
    x[2] += np.float32(0.5)  # offset rows exercise the *_1 types' minimum
    last = x[-1]
    bs = 32
    blocks = cols // bs
    for i in range(blocks):
        blk = last[i * bs:(i + 1) * bs]
        kind = i % 4
        if kind == 0:
            blk[:] = 0.0
        elif kind == 1:
            blk[:] = -1.25
        elif kind == 2:
            # max |x| = 127 (scale 1 for Q8_0, 127/8 for Q4_0): halves land on exact ties of x * id + offset.
            blk[:] = (np.arange(bs, dtype=np.float32) - 16.0) * np.float32(3.5)
            blk[0] = -127.0
        else:
            blk[:] = 1e-3
            blk[bs // 2] = 40.0
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    reference_env.ensure_venv("quant", REQUIREMENTS, __file__)

    import importlib.metadata

    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
    from gguf import quants

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cases = []

    def write_case(name, qtype, kind, raw, values, inputs=None):
        rows = raw.shape[0]
        (out / f"{name}.bytes").write_bytes(raw.tobytes())
        (out / f"{name}.f32").write_bytes(values.astype("<f4").tobytes())
        case = {"name": name, "type": qtype, "kind": kind, "rows": rows, "cols": values.shape[1],
                "bytes": f"{name}.bytes", "f32": f"{name}.f32"}
        if inputs is not None:
            (out / f"{name}.input.f32").write_bytes(inputs.astype("<f4").tobytes())
            case["input"] = f"{name}.input.f32"
        cases.append(case)

    for index, name in enumerate(SUPPORTED):
        qtype = GGMLQuantizationType[name]
        block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
        rng = np.random.default_rng(1000 + index)
        cols = BLOCKS_PER_ROW * max(block_elems, 32)
        if block_elems == 1:
            raw = plain_bytes(name, ROWS, cols, rng, np)
        else:
            random_rows = make_blocks(name, block_bytes, (ROWS - 1) * BLOCKS_PER_ROW, rng, np, edge=False)
            edge_row = make_blocks(name, block_bytes, BLOCKS_PER_ROW, rng, np, edge=True)
            raw = np.concatenate([random_rows, edge_row]).reshape(ROWS, BLOCKS_PER_ROW * block_bytes)
        values = quants.dequantize(raw, qtype)
        assert values.dtype == np.float32 and values.shape == (ROWS, cols), (name, values.shape)
        write_case(f"dequant_{name.lower()}", name, "dequantize", raw, values)

    for index, name in enumerate(QUANTIZABLE):
        qtype = GGMLQuantizationType[name]
        rng = np.random.default_rng(2000 + index)
        x = quantize_inputs(name, ROWS, 256, rng, np)
        if name in ("F16", "BF16"):
            # Every f16 range: subnormals (< 6.1e-5), normals, and overflow past 65504 (rounds to infinity).
            x[:3] *= (10.0 ** rng.uniform(-9, 5.5, size=(3, x.shape[1]))).astype(np.float32)
        raw = quants.quantize(x, qtype).view(np.uint8).reshape(ROWS, -1)
        values = quants.dequantize(raw, qtype)
        write_case(f"quant_{name.lower()}", name, "quantize", raw, values, inputs=x)

    manifest = {"generator": "tests/tools/reference/quant_fixture.py",
                "gguf_version": importlib.metadata.version("gguf"),
                "numpy_version": np.__version__,
                "block_sizes": {n: list(GGML_QUANT_SIZES[GGMLQuantizationType[n]]) for n in SUPPORTED},
                "cases": cases}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
