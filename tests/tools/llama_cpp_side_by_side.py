#!/usr/bin/python3
"""UHD Lens and llama.cpp side by side on the same GGUF files (issue 21 "honest benchmark", issue 17 "Speed").

Run through tests/tools/llama_cpp_side_by_side.sh, which finds or builds llama.cpp from the pinned PyPI sdist and
calls the two steps below; each step also runs alone (--help).

  write    GGUF files with random weights of the real MiniCPM-V 2.6 shapes, written with llama.cpp's own gguf-py
           (--gguf-py DIR): llm-f16.gguf (Qwen2-7B widths: 3584, 28 heads / 4 KV heads, FFN 18944, vocabulary
           151666; --llm-layers N of its 28 layers), mmproj-f16.gguf (SigLIP-400M: width 1152, FFN 4304, 16 heads,
           --vision-layers of 27; resampler: 64 queries of width 3584) and, with --quantize (llama-quantize),
           llm-q8_0.gguf and llm-q4_0.gguf. Metadata keys, their types and the tensor names are those of the
           committed fixture pair tests/data/reference/minicpmv26-gguf (made by llama.cpp's own converters), with
           the real shapes; the tokenizer is that fixture's, padded with unused "[PAD<i>]" tokens to 151666 as
           convert_hf_to_gguf.py pads Qwen2's vocabulary. The mmproj keeps resampler.pos_embed_k (llama.cpp needs
           it; UHD Lens computes that table itself).
  compare  runs `uhdlens-bench engine --gguf ... --json` and llama.cpp (llama-bench: prefill -p P -n 0, decode
           -p 0 -n G -d P, flash attention on and off; llama-mtmd-cli on a 448x448 image, which MiniCPM-V 2.6
           encodes as one 1024-patch slice: "mtmd batch encoding done in N ms" of the second of two such images
           in one process) back to back on the same files and threads, and prints one table:
           figure | UHD Lens | llama.cpp | ratio.

Both programs run the same files with the same number of layers: no figure is scaled to the full 28-layer depth.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FIXTURE = REPO_ROOT / "tests" / "data" / "reference" / "minicpmv26-gguf"

# MiniCPM-V 2.6 (openbmb/MiniCPM-V-2_6 config.json): Qwen2-7B language model, SigLIP-400M vision tower, resampler.
LLM = dict(width=3584, heads=28, kv_heads=4, ffn=18944, vocab=151666, layers=28, rope_theta=1000000.0,
           rms_eps=1e-6, context=32768)
VISION = dict(width=1152, ffn=4304, heads=16, layers=27, patch=14, image_size=448, pos_side=70, queries=64)
QUANT_TYPES = ("q8_0", "q4_0")
WEIGHT_STD = 0.02  # as the official initialiser (initializer_range); keeps 27 random layers finite in f16


class Usage(Exception):
    """A missing prerequisite or bad argument: printed without a traceback, exit code 2."""


def import_gguf(gguf_py):
    if gguf_py:
        sys.path.insert(0, str(gguf_py))
    try:
        import gguf  # noqa: F401
    except ImportError as e:
        raise Usage(f"cannot import gguf-py ({e}): pass --gguf-py <llama.cpp tree>/gguf-py")
    return sys.modules["gguf"]


def randn(shape, rng, np, std=WEIGHT_STD, dtype=None):
    """Normal(0, std) values in `dtype` (default f16), made in chunks: the token table alone is 543 M values."""
    out = np.empty(shape, dtype=dtype or np.float16)
    flat = out.reshape(-1)
    step = 1 << 24
    for i in range(0, flat.size, step):
        n = min(step, flat.size - i)
        flat[i:i + n] = rng.standard_normal(n, dtype=np.float32) * std
    return out


def llm_tensors(layers, vocab):
    """(name, numpy shape [out, in] as PyTorch stores it, kind) of the qwen2 file, in convert_hf_to_gguf order."""
    d, kv, ffn = LLM["width"], LLM["kv_heads"] * (LLM["width"] // LLM["heads"]), LLM["ffn"]
    t = [("token_embd.weight", (vocab, d), "w"), ("output_norm.weight", (d,), "one"), ("output.weight", (vocab, d), "w")]
    for i in range(layers):
        b = f"blk.{i}."
        t += [(b + "attn_norm.weight", (d,), "one"),
              (b + "attn_q.weight", (d, d), "w"), (b + "attn_q.bias", (d,), "b"),
              (b + "attn_k.weight", (kv, d), "w"), (b + "attn_k.bias", (kv,), "b"),
              (b + "attn_v.weight", (kv, d), "w"), (b + "attn_v.bias", (kv,), "b"),
              (b + "attn_output.weight", (d, d), "w"),
              (b + "ffn_norm.weight", (d,), "one"),
              (b + "ffn_gate.weight", (ffn, d), "w"), (b + "ffn_up.weight", (ffn, d), "w"),
              (b + "ffn_down.weight", (d, ffn), "w")]
    return t


def mmproj_tensors(layers):
    """The tensors of llama.cpp's minicpmv converter (version 3) at SigLIP-400M + resampler shapes. The converter
    names fc1 "ffn_down" and fc2 "ffn_up" (legacy clip naming): ffn_down is [4304 x 1152], ffn_up [1152 x 4304]."""
    w, f, q, p = VISION["width"], VISION["ffn"], LLM["width"], VISION["pos_side"] ** 2
    t = [("resampler.attn.q.bias", (q,), "b"), ("resampler.attn.k.bias", (q,), "b"), ("resampler.attn.v.bias", (q,), "b"),
         ("resampler.attn.q.weight", (q, q), "w"), ("resampler.attn.k.weight", (q, q), "w"),
         ("resampler.attn.v.weight", (q, q), "w"),
         ("resampler.attn.out.bias", (q,), "b"), ("resampler.attn.out.weight", (q, q), "w"),
         ("resampler.kv.weight", (q, w), "w"),
         ("resampler.ln_kv.bias", (q,), "b"), ("resampler.ln_kv.weight", (q,), "one"),
         ("resampler.ln_post.bias", (q,), "b"), ("resampler.ln_post.weight", (q,), "one"),
         ("resampler.ln_q.bias", (q,), "b"), ("resampler.ln_q.weight", (q,), "one"),
         ("resampler.proj.weight", (q, q), "w"),
         ("resampler.query", (VISION["queries"], q), "f32"),
         ("resampler.pos_embed_k", (p, q), "f32"),
         ("v.patch_embd.weight", (w, 3, VISION["patch"], VISION["patch"]), "w"), ("v.patch_embd.bias", (w,), "b"),
         ("v.position_embd.weight", (p, w), "w")]
    for i in range(layers):
        b = f"v.blk.{i}."
        for n in ("k", "v", "q", "out"):
            t += [(b + f"attn_{n}.weight", (w, w), "w"), (b + f"attn_{n}.bias", (w,), "b")]
        t += [(b + "ln1.weight", (w,), "one"), (b + "ln1.bias", (w,), "b"),
              (b + "ffn_down.weight", (f, w), "w"), (b + "ffn_down.bias", (f,), "b"),
              (b + "ffn_up.weight", (w, f), "w"), (b + "ffn_up.bias", (w,), "b"),
              (b + "ln2.weight", (w,), "one"), (b + "ln2.bias", (w,), "b")]
    t += [("v.post_ln.weight", (w,), "one"), ("v.post_ln.bias", (w,), "b")]
    return t


def copy_fields(gguf, reader, writer, overrides):
    """Every key of `reader` except the GGUF.* header fields, with its type; `overrides` replaces values."""
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        value = overrides.pop(name, None)
        writer.add_key_value(name, field.contents() if value is None else value, vtype, sub_type=sub)
    if overrides:
        raise Usage(f"the fixture lacks the keys {sorted(overrides)}: is {FIXTURE} the committed fixture pair?")


def write_gguf(gguf, np, path, arch, template, overrides, tensors, seed):
    """Streams `tensors` (random values) into `path`, one tensor in memory at a time."""
    reader = gguf.GGUFReader(str(template))
    tmp = path.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), arch)
    copy_fields(gguf, reader, w, dict(overrides))
    kinds = {"w": np.float16, "one": np.float32, "b": np.float32, "f32": np.float32}
    for name, shape, kind in tensors:
        n = int(np.prod(shape))
        w.add_tensor_info(name, shape, np.dtype(kinds[kind]), n * np.dtype(kinds[kind]).itemsize)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for name, shape, kind in tensors:
        if kind == "one":
            a = np.ones(shape, np.float32)
        elif kind == "b":
            a = np.zeros(shape, np.float32)
        else:
            a = randn(shape, rng, np, dtype=kinds[kind])
        w.write_tensor_data(a)
        del a
    w.close()
    tmp.replace(path)


def cmd_write(args):
    gguf = import_gguf(args.gguf_py)
    import numpy as np
    for f in ("llm-f16.gguf", "mmproj-f16.gguf"):
        if not (FIXTURE / f).is_file():
            raise Usage(f"missing {FIXTURE / f} (the committed fixture pair whose keys and tokenizer are copied)")
    if not 1 <= args.llm_layers <= LLM["layers"]:
        raise Usage(f"--llm-layers must be 1..{LLM['layers']}")
    if not 1 <= args.vision_layers <= VISION["layers"]:
        raise Usage(f"--vision-layers must be 1..{VISION['layers']}")
    types = [t for t in args.types.split(",") if t]
    bad = [t for t in types if t not in ("f16",) + QUANT_TYPES]
    if bad or "f16" not in types:
        raise Usage(f"--types: f16 plus any of {', '.join(QUANT_TYPES)} (got {args.types})")
    if any(t in QUANT_TYPES for t in types) and not (args.quantize and Path(args.quantize).is_file()):
        raise Usage(f"--types {args.types} needs --quantize <llama.cpp>/build/bin/llama-quantize")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shape = {"llm_layers": args.llm_layers, "vision_layers": args.vision_layers, "vocab": args.vocab,
             "llm": LLM, "vision": VISION, "std": WEIGHT_STD, "gguf_py": getattr(gguf, "__file__", "")}
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if manifest.get("shape") != shape:
        manifest = {"shape": shape, "files": {}}
    files = manifest["files"]

    reader = gguf.GGUFReader(str(FIXTURE / "llm-f16.gguf"))
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    token_types = reader.fields["tokenizer.ggml.token_type"].contents()
    if args.vocab < len(tokens):
        raise Usage(f"--vocab must be at least the fixture tokenizer's {len(tokens)} tokens")
    pad = range(len(tokens), args.vocab)
    # convert_hf_to_gguf.py pads a vocabulary shorter than vocab_size with "[PAD<id>]" tokens of type UNUSED.
    tokens = tokens + [f"[PAD{i}]" for i in pad]
    token_types = token_types + [int(gguf.TokenType.UNUSED)] * len(pad)

    t0 = time.time()
    if "llm-f16.gguf" not in files or not (out / "llm-f16.gguf").is_file():
        a = "qwen2"
        write_gguf(gguf, np, out / "llm-f16.gguf", a, FIXTURE / "llm-f16.gguf", {
            "general.name": "MiniCPM-V 2.6 language model, random weights (llama_cpp_side_by_side.py)",
            "general.size_label": "", f"{a}.block_count": args.llm_layers, f"{a}.context_length": LLM["context"],
            f"{a}.embedding_length": LLM["width"], f"{a}.feed_forward_length": LLM["ffn"],
            f"{a}.attention.head_count": LLM["heads"], f"{a}.attention.head_count_kv": LLM["kv_heads"],
            f"{a}.rope.freq_base": LLM["rope_theta"], f"{a}.attention.layer_norm_rms_epsilon": LLM["rms_eps"],
            "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.token_type": token_types,
        }, llm_tensors(args.llm_layers, args.vocab), seed=1)
        files["llm-f16.gguf"] = "gguf-py GGUFWriter, random N(0, 0.02) F16 matrices, F32 norms and biases"
        files.pop("llm-q8_0.gguf", None)
        files.pop("llm-q4_0.gguf", None)
        print(f"  wrote llm-f16.gguf ({time.time() - t0:.0f} s)", file=sys.stderr)
    if "mmproj-f16.gguf" not in files or not (out / "mmproj-f16.gguf").is_file():
        t0 = time.time()
        write_gguf(gguf, np, out / "mmproj-f16.gguf", "clip", FIXTURE / "mmproj-f16.gguf", {
            "clip.vision.image_size": VISION["image_size"], "clip.vision.patch_size": VISION["patch"],
            "clip.vision.embedding_length": VISION["width"], "clip.vision.feed_forward_length": VISION["ffn"],
            "clip.vision.attention.head_count": VISION["heads"], "clip.vision.block_count": args.vision_layers,
            "clip.minicpmv_query_num": VISION["queries"],
        }, mmproj_tensors(args.vision_layers), seed=2)
        files["mmproj-f16.gguf"] = "gguf-py GGUFWriter, minicpmv version 3 keys, random F16 matrices"
        print(f"  wrote mmproj-f16.gguf ({time.time() - t0:.0f} s)", file=sys.stderr)
    for q in types:
        name = f"llm-{q}.gguf"
        if q == "f16" or (name in files and (out / name).is_file()):
            continue
        t0 = time.time()
        run([args.quantize, out / "llm-f16.gguf", out / name, q.upper(), args.threads], f"llama-quantize {q}", 3600)
        files[name] = f"llama-quantize llm-f16.gguf {name} {q.upper()}"
        print(f"  wrote {name} ({time.time() - t0:.0f} s)", file=sys.stderr)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    for f in sorted(out.glob("*.gguf")):
        print(f"{f.stat().st_size / 1e9:8.2f} GB  {f}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------- compare

def run(cmd, what, timeout):
    """Runs `cmd`; returns (stdout, stderr). A failure names the step and shows the end of its output."""
    print("  $ " + " ".join(str(c) for c in cmd), file=sys.stderr)
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, encoding="utf-8", errors="replace",
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what}: timed out after {timeout} s")
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}):\n{(p.stdout + p.stderr)[-3000:]}")
    return p.stdout, p.stderr


def cpu_info():
    model, flags = platform.processor() or "?", []
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = sorted(f for f in value.split() if re.match(r"(avx|fma|f16c|amx)", f))
    except OSError:
        pass
    return {"model": model, "flags": flags, "cores": os.cpu_count()}


def llama_bench(binary, model, threads, repeats, args, timeout):
    out, _ = run([binary, "-m", model, "-t", threads, "-r", repeats, "-fa", "on,off", "-o", "json", *args],
                 f"llama-bench {' '.join(map(str, args))} on {Path(model).name}", timeout)
    rows = json.loads(out)
    # The median of its samples, like uhdlens-bench's medians (avg_ts is a mean).
    return {("on" if r["flash_attn"] else "off"): statistics.median(r["samples_ts"]) for r in rows}


def mtmd_encode(binary, llm, mmproj, image, threads, fa, repeats, timeout):
    """Median per-slice encode (CLIP tower + resampler), ms, over `repeats` llama-mtmd-cli processes, and how many
    encodes each process logged. Each process gets the 448x448 image twice (one 64-token chunk each, encoded as
    separate batches) and only the second encode counts: the first carries one-time costs, as the warm-up run
    that uhdlens-bench leaves out."""
    times, counts = [], set()
    for _ in range(repeats):
        _, err = run([binary, "-m", llm, "--mmproj", mmproj, "--image", image, "--image", image, "-p",
                      "Describe the images.", "-n", "1", "-t", threads, "-fa", fa, "--temp", "0"],
                     f"llama-mtmd-cli -fa {fa}", timeout)
        # mtmd-cli encodes image chunks as "mtmd batches" (tools/mtmd/mtmd-cli.cpp); mtmd-helper.cpp's path logs
        # each slice instead. Either way the time covers the CLIP tower and the resampler.
        batch = re.findall(r"encoding mtmd batch, n_chunks = (\d+).*?mtmd batch encoding done in (\d+) ms", err, re.S)
        ms = [int(t) / int(n) for n, t in batch] or [int(m) for m in re.findall(r"slice encoded in (\d+) ms", err)]
        if not ms:
            raise RuntimeError("llama-mtmd-cli printed neither 'mtmd batch encoding done in N ms' nor "
                               f"'slice encoded in N ms':\n{err[-3000:]}")
        counts.add(len(ms))
        times += ms[1:] or ms
    return statistics.median(times), sorted(counts)


def make_image(path):
    """A 448x448 RGB PNG of random pixels (zlib only: no imaging package needed)."""
    import struct
    import zlib
    import numpy as np
    rgb = np.random.default_rng(0).integers(0, 256, (448, 448, 3), dtype=np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)  # filter type 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 448, 448, 8, 2, 0, 0, 0)) +
                           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def cmd_compare(args):
    d = Path(args.dir)
    manifest = json.loads((d / "manifest.json").read_text()) if (d / "manifest.json").is_file() else None
    if manifest is None:
        raise Usage(f"{d}/manifest.json not found: run the write step first")
    types = [t for t in args.types.split(",") if t]
    missing = [f for f in [f"llm-{t}.gguf" for t in types] + ["mmproj-f16.gguf"] if not (d / f).is_file()]
    if missing:
        raise Usage(f"missing in {d}: {', '.join(missing)} (run the write step with these --types)")
    if not Path(args.bench).is_file():
        raise Usage(f"{args.bench} not found: build it (cmake --build build --target uhdlens-bench)")
    llama_bin = Path(args.llama_bin) if args.llama_bin else None
    if llama_bin:
        for b in ("llama-bench", "llama-mtmd-cli"):
            if not (llama_bin / b).is_file():
                raise Usage(f"{llama_bin / b} not found")
    mmproj = d / "mmproj-f16.gguf"
    image = d / "slice448.png"
    if not image.is_file():
        make_image(image)
    T, P, G, R = args.threads, args.prompt, args.gen, args.repeats
    results = {"cpu": cpu_info(), "threads": T, "prompt_tokens": P, "decode_tokens": G, "repeats": R,
               "shape": manifest["shape"], "uhdlens": {}, "llama_cpp": {}}
    for t in types:
        llm = d / f"llm-{t}.gguf"
        print(f"[{t}] uhdlens-bench", file=sys.stderr)
        out, _ = run([args.bench, "engine", "--gguf", llm, "--mmproj", mmproj, "--threads", T, "--prefill-tokens", P,
                      "--decode-tokens", G, "--repeats", R, "--json"], f"uhdlens-bench engine on {llm.name}",
                     args.timeout)
        results["uhdlens"][t] = json.loads(out)
        if llama_bin:
            print(f"[{t}] llama-bench", file=sys.stderr)
            results["llama_cpp"][t] = {
                "prefill": llama_bench(llama_bin / "llama-bench", llm, T, R, ["-p", P, "-n", 0], args.timeout),
                "decode": llama_bench(llama_bin / "llama-bench", llm, T, R, ["-p", 0, "-n", G, "-d", P], args.timeout)}
    if llama_bin:
        llm = d / f"llm-{types[0]}.gguf"
        enc = {}
        for fa in ("on", "off"):
            print(f"llama-mtmd-cli -fa {fa}", file=sys.stderr)
            enc[fa] = mtmd_encode(llama_bin / "llama-mtmd-cli", llm, mmproj, image, T, fa, R, args.timeout)
        results["llama_cpp"]["encode_ms"] = {fa: v[0] for fa, v in enc.items()}
        results["llama_cpp"]["encodes_per_process"] = sorted({s for v in enc.values() for s in v[1]})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print_table(results, types)


def print_table(r, types):
    u, l = r["uhdlens"], r["llama_cpp"]
    cpu, shape = r["cpu"], r["shape"]
    print(f"\nCPU: {cpu['model']} ({cpu['cores']} logical CPUs); flags: {' '.join(cpu['flags'])}")
    print(f"threads: {r['threads']} on both sides; repeats: {r['repeats']} (medians)")
    print(f"files: MiniCPM-V 2.6 shapes, random weights; language model {shape['llm_layers']} of 28 layers, "
          f"vocabulary {shape['vocab']}; vision tower {shape['vision_layers']} of 27 layers; the same files on both "
          f"sides, no figure scaled to full depth")
    first = u[types[0]]
    print(f"UHD Lens: f32 compute; quantized matrices used in place; GEMM reference "
          f"{first['gemm_gflops']:.1f} GFLOP/s (median of {first['gemm_runs']}, spread {100 * first['gemm_spread']:.1f}%)"
          f"; vision encoder at {first['vision_gflops'] / first['gemm_gflops']:.2f} of it")
    print("ratio: UHD Lens / llama.cpp (time: below 1 is faster; tokens/s: above 1 is faster)\n")
    rows = []

    def add(figure, ours, theirs, fmt):
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        rows.append((figure, fmt.format(ours), fmt.format(theirs) if theirs else "not run", ratio))

    enc = l.get("encode_ms", {})
    for fa in ("on", "off"):
        add(f"per-slice encode incl. resampler, ms (1024 patches; llama.cpp flash attention {fa})",
            first["encode_ms_per_slice"], enc.get(fa), "{:.0f}")
    P, G = r["prompt_tokens"], r["decode_tokens"]
    for t in types:
        for fa in ("on", "off"):
            add(f"prefill {P} tokens, tok/s, LLM {t.upper()} (FA {fa})", u[t]["prefill_tok_s"],
                l.get(t, {}).get("prefill", {}).get(fa), "{:.1f}")
        for fa in ("on", "off"):
            add(f"decode {G} tokens after {P}, tok/s, LLM {t.upper()} (FA {fa})", u[t]["decode_tok_s"],
                l.get(t, {}).get("decode", {}).get(fa), "{:.2f}")
    head = ("figure", "UHD Lens", "llama.cpp", "ratio")
    width = [max(len(x[i]) for x in rows + [head]) for i in range(4)]
    line = lambda x: "| " + " | ".join(c.ljust(width[i]) if i == 0 else c.rjust(width[i]) for i, c in enumerate(x)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in width) + "|")
    for x in rows:
        print(line(x))
    if l.get("encodes_per_process", [2]) != [2]:
        print(f"note: llama-mtmd-cli logged {l['encodes_per_process']} encodes for two 448x448 images (expected 2, "
              "one 1024-patch slice each); the encode figure is its per-chunk median")
    for t in types:
        print(f"UHD Lens {t.upper()} weights: {u[t]['weight_types'].get('llm', '?')}; peak RSS {u[t]['peak_rss_gb']:.2f} GB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="step", required=True)
    w = sub.add_parser("write", help="write the random-weight GGUF files")
    w.add_argument("--out", required=True, help="folder for the files (kept: a second run reuses them)")
    w.add_argument("--gguf-py", help="llama.cpp's gguf-py folder (default: an installed gguf package)")
    w.add_argument("--llm-layers", type=int, default=4)
    w.add_argument("--vision-layers", type=int, default=VISION["layers"])
    w.add_argument("--vocab", type=int, default=LLM["vocab"], help="vocabulary (default 151666, MiniCPM-V 2.6's)")
    w.add_argument("--types", default="f16,q8_0,q4_0")
    w.add_argument("--quantize", help="llama-quantize (needed for q8_0 / q4_0)")
    w.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("compare", help="run both programs on the files and print the table")
    c.add_argument("--dir", required=True, help="the write step's --out")
    c.add_argument("--bench", required=True, help="uhdlens-bench")
    c.add_argument("--llama-bin", help="folder with llama-bench and llama-mtmd-cli (omit: UHD Lens only)")
    c.add_argument("--types", default="f16,q8_0,q4_0")
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--prompt", type=int, default=512)
    c.add_argument("--gen", type=int, default=32)
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--timeout", type=int, default=3600, help="seconds per program run")
    c.add_argument("--json", help="also write every measured figure to this file")
    args = ap.parse_args()
    try:
        (cmd_write if args.step == "write" else cmd_compare)(args)
    except Usage as e:
        print(f"llama_cpp_side_by_side.py {args.step}: {e}", file=sys.stderr)
        sys.exit(2)
    except RuntimeError as e:
        print(f"llama_cpp_side_by_side.py {args.step}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
