#!/usr/bin/python3
"""GGUF fixtures for the GGUF reader (core/src/gguf/), made by llama.cpp's own converter and gguf-py's writer.

Writes tests/data/reference/gguf/:
  qwen2-bf16.gguf     tests/data/reference/qwen/qwen2 (Qwen2, q/k/v biases, untied) converted with llama.cpp's
                      convert_hf_to_gguf.py --outtype bf16 (2-D weights BF16, norms and biases F32)
  qwen3-f16.gguf      tests/data/reference/qwen/qwen3 (q_norm/k_norm, head_dim 32) with --outtype f16
  llama-bf16.gguf     a tiny random LlamaForCausalLM (GQA 4/2 heads, tied embeddings; llama.safetensors beside
  llama-f32.gguf      it) with --outtype bf16 and f32: llama.cpp permutes its attn_q / attn_k rows
  llama.safetensors   the LLaMA checkpoint (bf16, HF names) the two files above were converted from
  vocab-qwen2.gguf    tests/data/tokenizer-bpe's tokenizer (1040 ids) converted with --vocab-only
  metadata-all.gguf   gguf-py GGUFWriter: one key of every metadata value type, arrays of each (strings too),
                      general.alignment 64, tensors F32 / F16 / BF16 / I32 with known values
  mmproj-source.safetensors  a tiny random MiniCPM-V 2.6 vision tower + resampler (vpm.*, resampler.*, bf16:
                      tower width 32, 2 blocks, 4 heads, MLP 48, patch 14, 5x5 positions; resampler width 128, 16
                      queries)
  mmproj-minicpmv.gguf  that state dict converted by llama.cpp's own minicpmv converter
                      (tools/mtmd/legacy-models/minicpmv-convert-image-encoder-to-gguf.py --minicpmv_version 3; the
                      surgery step's two torch.save lines are repeated here), minus resampler.pos_embed_k (the
                      converter's fixed 70x70 sin-cos table, 2.5 MB; UHD Lens computes it) dropped by re-writing the
                      file with gguf-py, every other key and tensor unchanged
  manifest.json       versions, llama.cpp commit note, what each file holds, and the expected metadata values of
                      metadata-all.gguf (key -> type, value) for the C++ test to compare against

The model checkpoints have 512 embedding rows but the BPE fixture tokenizer has 1040 ids, so the model folders get
that tokenizer cut to ids < 490 (merges whose parts and result survive) with its added tokens renumbered from 490.
The converter recognises a tokenizer's pre-tokenizer by hashing its output on a test text (get_vocab_base_pre);
these tiny tokenizers have no known hash, so the script tells it the answer, "qwen2" (the tokenizer's regex is
Qwen2's), by replacing that one method.

Usage (creates its own venv on first run, in $XDG_CACHE_HOME/uhdlens-reference/gguf, default ~/.cache/...):
  /usr/bin/python3 tests/tools/reference/gguf_fixture.py --llama-cpp /work/ref/llama.cpp [--out DIR]
--llama-cpp is a llama.cpp source tree: the one used is the tree vendored in the PyPI sdist
llama_cpp_python-0.3.36.tar.gz (vendor/llama.cpp; `pip download --no-deps --no-binary :all:
llama-cpp-python==0.3.36`), whose gguf-py is 0.19.0; its convert_hf_to_gguf.py and conversion/ are checked by git
blob id (CONVERTER_BLOBS). The venv is standalone like qwen_fixture.py's (torch 2.x from PyPI; see
gguf_requirements.txt). The converter runs with the tree's own gguf-py (its default: the PyPI gguf 0.19.0 lacks
architectures this converter names, e.g. MODEL_ARCH.DFLASH); the GGUFWriter files are written by the pinned PyPI
gguf 0.19.0, so both writers are exercised.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))
import reference_env  # noqa: E402

REQUIREMENTS = HERE / "gguf_requirements.txt"
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "reference" / "gguf"
QWEN = REPO_ROOT / "tests" / "data" / "reference" / "qwen"
BPE = REPO_ROOT / "tests" / "data" / "tokenizer-bpe"
LLAMA_CPP_SOURCE = "llama.cpp as vendored in the PyPI sdist llama_cpp_python-0.3.36 (gguf-py 0.19.0)"
# git blob ids of the converter files this script was made with (check_blobs refuses another tree).
CONVERTER_BLOBS = {
    "convert_hf_to_gguf.py": "e09616b190cf124e818d8a740468d4e84086015c",
    "conversion/base.py": "35f564e40c425fa8bafc0767648e8082e9969516",
    "conversion/qwen.py": "95a41fb3ad07c71558fe52561fd39b6958398839",
    "conversion/llama.py": "41d8c2309281911564ab3604d84a2f30010ef7cc",
    "tools/mtmd/legacy-models/minicpmv-convert-image-encoder-to-gguf.py": "1f563fbfc5998c3eefb9b5f253f35637cfb8024e",
}
KEEP_IDS = 490  # + the 14 added tokens < 512 embedding rows


def ensure_venv() -> None:
    """Like qwen_fixture.py: a standalone venv (no system site packages) filled with `pip install --no-deps -r`."""
    venv = reference_env.cache_dir("gguf") / "venv"
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (standalone: torch 2.x from PyPI, see {REQUIREMENTS.name})", file=sys.stderr)
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    check = ("import importlib.metadata as m, json, sys\n"
             "pins = json.loads(sys.argv[1])\n"
             "def v(n):\n"
             "    try:\n"
             "        return m.version(n)\n"
             "    except m.PackageNotFoundError:\n"
             "        return None\n"
             "sys.exit(0 if all(v(n) == x for n, x in pins.items()) else 1)\n")
    pins = reference_env.pinned(REQUIREMENTS)
    if subprocess.run([str(python), "-c", check, json.dumps(pins)], capture_output=True).returncode != 0:
        print(f"pip install --no-deps -r {REQUIREMENTS.name} into {venv}", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(REQUIREMENTS)],
                       check=True)
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


# --- HF folders -------------------------------------------------------------------------------------------------

def small_tokenizer(folder: Path) -> None:
    """tokenizer-bpe cut to ids < KEEP_IDS, its added tokens renumbered from KEEP_IDS (fits 512 embedding rows)."""
    tj = json.loads((BPE / "tokenizer.json").read_text())
    vocab = {t: i for t, i in tj["model"]["vocab"].items() if i < KEEP_IDS}
    merges = []
    for m in tj["model"]["merges"]:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    tj["model"]["vocab"] = vocab
    tj["model"]["merges"] = merges
    renumber = {}
    for k, a in enumerate(tj["added_tokens"]):
        renumber[str(a["id"])] = str(KEEP_IDS + k)
        a["id"] = KEEP_IDS + k
    (folder / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False))
    tc = json.loads((BPE / "tokenizer_config.json").read_text())
    tc["added_tokens_decoder"] = {renumber[i]: v for i, v in tc.get("added_tokens_decoder", {}).items()}
    (folder / "tokenizer_config.json").write_text(json.dumps(tc, ensure_ascii=False))


def qwen_folder(name: str, folder: Path) -> None:
    from safetensors.torch import load_file, save_file
    folder.mkdir(parents=True)
    config = json.loads((QWEN / name / "config.json").read_text())
    config["architectures"] = ["Qwen3ForCausalLM" if config["model_type"] == "qwen3" else "Qwen2ForCausalLM"]
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    state = load_file(str(QWEN / name / "model.safetensors"))
    save_file({k[len("llm."):]: v for k, v in state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    small_tokenizer(folder)


def llama_folder(folder: Path, out: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from safetensors.torch import save_file
    folder.mkdir(parents=True)
    torch.manual_seed(7)
    config = LlamaConfig(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True, torch_dtype="bfloat16",
                         bos_token_id=None, eos_token_id=None)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)  # norms random too, so every tensor is distinctive
    state = {k: v.to(torch.bfloat16).contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    config.architectures = ["LlamaForCausalLM"]
    config.save_pretrained(folder)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    save_file(state, str(out / "llama.safetensors"), metadata={"format": "pt"})
    small_tokenizer(folder)


def vocab_folder(folder: Path) -> None:
    folder.mkdir(parents=True)
    config = json.loads((QWEN / "qwen2" / "config.json").read_text())
    config["architectures"] = ["Qwen2ForCausalLM"]
    config["vocab_size"] = json.loads((BPE / "cases.json").read_text())["vocab_size"]
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (folder / f).write_bytes((BPE / f).read_bytes())


CONVERT = """
import sys
sys.path.insert(0, sys.argv[1])
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[2:]
import conversion.base as base
# The tiny tokenizers have no hash in llama.cpp's table: name their pre-tokenizer (Qwen2's regex) directly.
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
import convert_hf_to_gguf
convert_hf_to_gguf.main()
"""


def convert(llama_cpp: Path, folder: Path, outfile: Path, outtype: str, *extra: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_LOCAL_GGUF"}
    subprocess.run([sys.executable, "-c", CONVERT, str(llama_cpp), str(folder), "--outfile", str(outfile),
                    "--outtype", outtype, *extra], check=True, env=env)


# --- GGUFWriter files -------------------------------------------------------------------------------------------

def metadata_all(path: Path) -> dict:
    import numpy as np
    import gguf
    w = gguf.GGUFWriter(str(path), arch="test")
    V = gguf.GGUFValueType
    expected = {}

    def add(key, value, vtype, sub=None):
        w.add_key_value(key, value, vtype, sub_type=sub)
        expected[key] = {"type": vtype.name.lower(), "value": value}
        if sub is not None:
            expected[key]["element_type"] = sub.name.lower()

    add("test.u8", 200, V.UINT8)
    add("test.i8", -100, V.INT8)
    add("test.u16", 60000, V.UINT16)
    add("test.i16", -30000, V.INT16)
    add("test.u32", 4000000000, V.UINT32)
    add("test.i32", -2000000000, V.INT32)
    add("test.f32", 0.15625, V.FLOAT32)
    add("test.bool", True, V.BOOL)
    add("test.string", "héllo, GGUF", V.STRING)
    add("test.u64", 18000000000000000000, V.UINT64)
    add("test.i64", -9000000000000000000, V.INT64)
    add("test.f64", -2.5e-300, V.FLOAT64)
    add("test.empty_string", "", V.STRING)
    add("test.arr.u8", [0, 1, 255], V.ARRAY, V.UINT8)
    add("test.arr.i8", [-128, 0, 127], V.ARRAY, V.INT8)
    add("test.arr.u16", [1, 65535], V.ARRAY, V.UINT16)
    add("test.arr.i16", [-32768, 5], V.ARRAY, V.INT16)
    add("test.arr.u32", [7, 4294967295], V.ARRAY, V.UINT32)
    add("test.arr.i32", [-1, 2, -2147483648], V.ARRAY, V.INT32)
    add("test.arr.f32", [0.5, -1.25, 3.0], V.ARRAY, V.FLOAT32)
    add("test.arr.bool", [True, False, True], V.ARRAY, V.BOOL)
    add("test.arr.string", ["a", "", "ünï", "<|im_end|>"], V.ARRAY, V.STRING)
    add("test.arr.u64", [0, 18446744073709551615], V.ARRAY, V.UINT64)
    add("test.arr.i64", [-9223372036854775808, 9223372036854775807], V.ARRAY, V.INT64)
    add("test.arr.f64", [1e-300, -0.1], V.ARRAY, V.FLOAT64)
    w.add_uint32("general.alignment", 64)
    w.data_alignment = 64
    expected["general.alignment"] = {"type": "uint32", "value": 64}
    expected["general.architecture"] = {"type": "string", "value": "test"}
    tensors = {}
    a = (np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) - 7.5) / 4
    w.add_tensor("t.f32", a)
    tensors["t.f32"] = {"type": "F32", "shape": [2, 3, 4], "values": a.reshape(-1).tolist()}
    b = np.array([[1.5, -2.0, 65504.0], [0.0, 1e-4, -0.333]], dtype=np.float16)
    w.add_tensor("t.f16", b)
    tensors["t.f16"] = {"type": "F16", "shape": [2, 3], "values": b.astype(np.float32).reshape(-1).tolist()}
    c = np.array([3.0, -0.015625, 2.0 ** 100, 7.0], dtype=np.float32)
    c_bf16 = (c.view(np.uint32) >> 16).astype(np.uint16)  # exact: each value is bf16-representable
    w.add_tensor("t.bf16", c_bf16, raw_shape=c.shape, raw_dtype=gguf.GGMLQuantizationType.BF16)
    tensors["t.bf16"] = {"type": "BF16", "shape": [4], "values": c.tolist()}
    d = np.array([1, -2, 3, 2147483647], dtype=np.int32)
    w.add_tensor("t.i32", d)
    tensors["t.i32"] = {"type": "I32", "shape": [4], "values": d.tolist()}
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return {"metadata": expected, "tensors": tensors}


MMPROJ_CONVERTER = "tools/mtmd/legacy-models/minicpmv-convert-image-encoder-to-gguf.py"
MMPROJ_SIZES = dict(vision_width=32, vision_layers=2, vision_heads=4, vision_mlp=48, patch=14, grid=5, width=128,
                    queries=16)


def mmproj_source(folder: Path, out: Path) -> None:
    """A tiny random MiniCPM-V 2.6 vision tower + resampler under the checkpoint's names (vpm.*, resampler.*),
    saved to out/mmproj-source.safetensors, and split as minicpmv-surgery.py splits a model (it needs the
    model's remote code, so its two torch.save lines are repeated here): minicpmv.clip = vpm.* without the
    prefix, minicpmv.projector = resampler.*, both as float32."""
    import torch
    from safetensors.torch import save_file
    z = MMPROJ_SIZES
    d, e, m = z["vision_width"], z["width"], z["vision_mlp"]
    shapes = {"vpm.embeddings.patch_embedding.weight": [d, 3, z["patch"], z["patch"]],
              "vpm.embeddings.patch_embedding.bias": [d],
              "vpm.embeddings.position_embedding.weight": [z["grid"] ** 2, d],
              "vpm.post_layernorm.weight": [d], "vpm.post_layernorm.bias": [d],
              "resampler.query": [z["queries"], e], "resampler.kv_proj.weight": [e, d],
              "resampler.attn.in_proj_weight": [3 * e, e], "resampler.attn.in_proj_bias": [3 * e],
              "resampler.attn.out_proj.weight": [e, e], "resampler.attn.out_proj.bias": [e],
              "resampler.proj": [e, e]}
    for n in ("ln_q", "ln_kv", "ln_post"):
        shapes[f"resampler.{n}.weight"] = [e]
        shapes[f"resampler.{n}.bias"] = [e]
    for i in range(z["vision_layers"]):
        p = f"vpm.encoder.layers.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[p + f"self_attn.{n}.weight"] = [d, d]
            shapes[p + f"self_attn.{n}.bias"] = [d]
        shapes[p + "mlp.fc1.weight"], shapes[p + "mlp.fc1.bias"] = [m, d], [m]
        shapes[p + "mlp.fc2.weight"], shapes[p + "mlp.fc2.bias"] = [d, m], [d]
        for n in ("layer_norm1", "layer_norm2"):
            shapes[p + f"{n}.weight"], shapes[p + f"{n}.bias"] = [d], [d]
    g = torch.Generator().manual_seed(11)
    state = {k: (torch.randn(v, generator=g) * 0.5).to(torch.bfloat16) for k, v in shapes.items()}
    save_file(state, str(out / "mmproj-source.safetensors"), metadata={"format": "pt"})
    folder.mkdir(parents=True)
    torch.save({k[len("vpm."):]: v.float() for k, v in state.items() if k.startswith("vpm.")},
               folder / "minicpmv.clip")
    torch.save({k: v.float() for k, v in state.items() if k.startswith("resampler")}, folder / "minicpmv.projector")
    config = {"version": 2.6, "hidden_size": e, "query_num": z["queries"], "image_size": 448,
              "vision_config": {"hidden_size": d, "image_size": z["grid"] * z["patch"], "intermediate_size": m,
                                "num_attention_heads": z["vision_heads"], "num_hidden_layers": z["vision_layers"],
                                "patch_size": z["patch"], "model_type": "siglip"}}
    (folder / "config.json").write_text(json.dumps(config, indent=1))


def mmproj_convert(llama_cpp: Path, folder: Path, out_file: Path, minicpmv_version: int = 3) -> None:
    """Runs llama.cpp's minicpmv converter (MiniCPM-V 2.6 = --minicpmv_version 3, 4.5 = 6; f16 weights), then drops
    resampler.pos_embed_k, the fixed 70x70 sin-cos table it adds (4900 x width f32: 2.5 MB), by re-writing the
    file with gguf-py: every other key (same type, same order) and tensor (same bytes) is copied unchanged."""
    import gguf
    subprocess.run([sys.executable, str(llama_cpp / MMPROJ_CONVERTER), "-m", str(folder), "--minicpmv-projector",
                    str(folder / "minicpmv.projector"), "--output-dir", str(folder), "--minicpmv_version",
                    str(minicpmv_version)],
                   check=True, env=dict(os.environ, PYTHONPATH=str(llama_cpp / "gguf-py")))
    r = gguf.GGUFReader(str(folder / "mmproj-model-f16.gguf"))
    w = gguf.GGUFWriter(str(out_file), arch=r.fields["general.architecture"].contents())
    for name, field in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(name, field.contents(), vtype, sub_type=sub)
    for t in r.tensors:
        if t.name == "resampler.pos_embed_k":
            continue
        w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# llama.cpp splits "smollm" text in two passes (src/llama-vocab.cpp: "\\p{N}", then the GPT-2 expression on each
# piece); core/src/gguf/gguf_model.cpp uses one expression. This check runs both on random strings with the
# `regex` module (the Unicode-property engine transformers uses) and keeps the count of differences (must be 0).
SMOLLM_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
SMOLLM_OURS = r"\p{N}|'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?=\p{N})|\s+(?!\S)"


def smollm_check(strings: int = 200000) -> int:
    import random
    import regex

    def split(pattern, pieces):  # matches and the gaps between them, as llama.cpp's unicode_regex_split keeps them
        out = []
        for p in pieces:
            pos = 0
            for m in regex.finditer(pattern, p):
                if m.start() > pos:
                    out.append(p[pos:m.start()])
                if m.end() > m.start():
                    out.append(m.group())
                pos = m.end()
            if pos < len(p):
                out.append(p[pos:])
        return out

    rng = random.Random(1)
    alphabet = list("ab Z1 2\n\t'.,!\u00e9\u4e94") + [" ", "  ", "'s", "'ll", "9"]
    bad = 0
    for _ in range(strings):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        bad += split(SMOLLM_GPT2, split(r"\p{N}", [s])) != split(SMOLLM_OURS, [s])
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", type=Path, required=True, help="llama.cpp source tree (see the usage note)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    ensure_venv()
    reference_env.check_blobs(args.llama_cpp, CONVERTER_BLOBS, "llama-cpp-python-0.3.36",
                              f"--llama-cpp must be {LLAMA_CPP_SOURCE}; see the usage note in {Path(__file__).name}")
    blobs = CONVERTER_BLOBS
    import gguf
    import torch
    import transformers
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        qwen_folder("qwen2", tmp / "qwen2")
        convert(args.llama_cpp, tmp / "qwen2", out / "qwen2-bf16.gguf", "bf16")
        qwen_folder("qwen3", tmp / "qwen3")
        convert(args.llama_cpp, tmp / "qwen3", out / "qwen3-f16.gguf", "f16")
        llama_folder(tmp / "llama", out)
        convert(args.llama_cpp, tmp / "llama", out / "llama-bf16.gguf", "bf16")
        convert(args.llama_cpp, tmp / "llama", out / "llama-f32.gguf", "f32")
        vocab_folder(tmp / "vocab")
        convert(args.llama_cpp, tmp / "vocab", out / "vocab-qwen2.gguf", "f32", "--vocab-only")
    meta = metadata_all(out / "metadata-all.gguf")
    with tempfile.TemporaryDirectory() as tmp:
        mmproj_source(Path(tmp) / "minicpmv", out)
        mmproj_convert(args.llama_cpp, Path(tmp) / "minicpmv", out / "mmproj-minicpmv.gguf")
    manifest = {
        "made_by": "tests/tools/reference/gguf_fixture.py",
        "command": "/usr/bin/python3 tests/tools/reference/gguf_fixture.py --llama-cpp /work/ref/llama.cpp",
        "llama_cpp": LLAMA_CPP_SOURCE,
        "converter_blobs": blobs,
        "gguf_py": gguf.__version__ if hasattr(gguf, "__version__") else reference_env.pinned(REQUIREMENTS)["gguf"],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizer_ids_kept": KEEP_IDS,
        "files": {
            "qwen2-bf16.gguf": "tests/data/reference/qwen/qwen2, convert_hf_to_gguf.py --outtype bf16",
            "qwen3-f16.gguf": "tests/data/reference/qwen/qwen3, convert_hf_to_gguf.py --outtype f16",
            "llama-bf16.gguf": "llama.safetensors (LlamaForCausalLM, seed 7), --outtype bf16",
            "llama-f32.gguf": "llama.safetensors, --outtype f32",
            "vocab-qwen2.gguf": "tests/data/tokenizer-bpe, --vocab-only",
            "metadata-all.gguf": "GGUFWriter, every metadata value type",
            "mmproj-minicpmv.gguf": f"mmproj-source.safetensors, {MMPROJ_CONVERTER} --minicpmv_version 3, "
                                    "resampler.pos_embed_k dropped",
            "mmproj-source.safetensors": "random MiniCPM-V 2.6 vpm.* / resampler.* (bf16), seed 11",
        },
        "metadata_all": meta,
        "mmproj_sizes": MMPROJ_SIZES,
        "smollm_one_regex_vs_two_pass": {"strings": 200000, "differences": smollm_check()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    for f in sorted(out.iterdir()):
        print(f"{f.stat().st_size:9d}  {f}")


if __name__ == "__main__":
    main()
