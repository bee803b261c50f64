#!/usr/bin/python3
"""The MiniCPM-V 2.6 end-to-end checkpoint (tests/data/reference/minicpmv26-e2e) as llama.cpp's own converters and
quantizer write it, for the GGUF model loader (core/src/gguf/gguf_loader.cpp; issue 17, proof part).

Writes tests/data/reference/minicpmv26-gguf/:
  llm-f16.gguf        the Qwen2 language model (llm.* of model.safetensors as minicpmv-surgery.py saves it: a
                      Qwen2ForCausalLM folder with the model's tokenizer.json / tokenizer_config.json) converted by
                      convert_hf_to_gguf.py --outtype f16 (2-D weights F16; norms and biases F32)
  llm-q8_0.gguf       llm-f16.gguf through build/bin/llama-quantize ... Q8_0
  llm-q4_0.gguf       llm-f16.gguf through llama-quantize ... Q4_0 (llama.cpp's default mix for Q4_0: see
                      manifest.json "tensor_types" for what each tensor became)
  mmproj-f16.gguf     vpm.* + resampler.* through tools/mtmd/legacy-models/minicpmv-convert-image-encoder-to-gguf.py
                      --minicpmv_version 3 (f16), minus resampler.pos_embed_k (the converter's fixed 70x70 sin-cos
                      table; UHD Lens computes it), re-written by gguf_fixture.mmproj_convert
  manifest.json       versions, commands, and each file's tensor types
The comparison values are the minicpmv26-e2e fixture's (the official MiniCPMV.chat on the HF folder).

The converter's config.json ("surgery" folder) says image_size = 112: llama.cpp slices with clip.vision.image_size
as the scale resolution, and the HF folder's processor (preprocessor_config.json scale_resolution) says 112, so the
pair slices the image as the official processor does. The minicpmv converter takes image_size from that config.

Usage (the venv of gguf_fixture.py; llama.cpp as there, with llama-quantize built in <tree>/build/bin):
  /usr/bin/python3 tests/tools/reference/minicpmv26_gguf_fixture.py --llama-cpp /work/ref/llama.cpp

--family minicpmv45 does the same for tests/data/reference/minicpmv45-e2e into minicpmv45-gguf: the LLM folder is
a Qwen3ForCausalLM one (head_dim, attention_bias; convert_hf_to_gguf.py writes arch qwen3 with the q/k norms), the
mmproj converter runs with --minicpmv_version 6, and only llm-f16.gguf is written (the quantized types are 2.6's
test; this pair proves the 4.5 names, metadata and tokenizer).
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
import gguf_fixture  # noqa: E402
import reference_env  # noqa: E402

E2E = REPO_ROOT / "tests" / "data" / "reference" / "minicpmv26-e2e"
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "reference" / "minicpmv26-gguf"
QUANT_TYPES = ("Q8_0", "Q4_0")
# Per family: the e2e folder, the LLM's HF model_type / class / extra config keys, the mmproj converter's version.
FAMILIES = {
    "minicpmv26": dict(e2e="minicpmv26-e2e", out="minicpmv26-gguf", model_type="qwen2", arch="Qwen2ForCausalLM",
                       keys=(), minicpmv_version=3, version=2.6, quant=QUANT_TYPES),
    "minicpmv45": dict(e2e="minicpmv45-e2e", out="minicpmv45-gguf", model_type="qwen3", arch="Qwen3ForCausalLM",
                       keys=("head_dim", "attention_bias"), minicpmv_version=6, version=4.5, quant=()),
}
FAMILY = FAMILIES["minicpmv26"]


def llm_folder(folder: Path) -> None:
    """minicpmv-surgery.py saves model.llm as a Qwen2 folder: llm.model.* -> model.*, llm.lm_head -> lm_head."""
    from safetensors.torch import load_file, save_file
    folder.mkdir(parents=True)
    c = json.loads((E2E / "config.json").read_text())
    keys = ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
            "max_position_embeddings", "rope_theta", "rms_norm_eps", "hidden_act", "tie_word_embeddings",
            "use_sliding_window", "vocab_size", "bos_token_id", "eos_token_id") + FAMILY["keys"]
    config = {k: c[k] for k in keys}
    config.update(model_type=FAMILY["model_type"], architectures=[FAMILY["arch"]], torch_dtype="bfloat16")
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    state = load_file(str(E2E / "model.safetensors"))
    save_file({k[len("llm."):]: v for k, v in state.items() if k.startswith("llm.")},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    for f in ("tokenizer.json", "generation_config.json"):
        (folder / f).write_bytes((E2E / f).read_bytes())
    # MiniCPMVTokenizerFast (tokenization_minicpmv_fast.py) is Qwen2TokenizerFast plus the image-token properties;
    # the converter loads the tokenizer without remote code, so it is named by its base class.
    tc = json.loads((E2E / "tokenizer_config.json").read_text())
    tc["tokenizer_class"] = "Qwen2TokenizerFast"
    tc.pop("auto_map", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(tc, indent=1, ensure_ascii=False))


def mmproj_folder(folder: Path) -> None:
    """minicpmv-surgery.py's two torch.save lines (minicpmv.clip = vpm.* without the prefix, minicpmv.projector =
    resampler.*, float32) and the config.json the converter reads (image_size: see the module note)."""
    import torch
    from safetensors.torch import load_file
    folder.mkdir(parents=True)
    state = load_file(str(E2E / "model.safetensors"))
    torch.save({k[len("vpm."):]: v.float() for k, v in state.items() if k.startswith("vpm.")},
               folder / "minicpmv.clip")
    torch.save({k: v.float() for k, v in state.items() if k.startswith("resampler")}, folder / "minicpmv.projector")
    c = json.loads((E2E / "config.json").read_text())
    scale = json.loads((E2E / "preprocessor_config.json").read_text())["scale_resolution"]
    config = {"version": FAMILY["version"], "hidden_size": c["hidden_size"], "query_num": c["query_num"], "image_size": scale,
              "vision_config": c["vision_config"]}
    (folder / "config.json").write_text(json.dumps(config, indent=1))


def tensor_types(path: Path) -> dict:
    import gguf
    r = gguf.GGUFReader(str(path))
    return {t.name: t.tensor_type.name for t in r.tensors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", type=Path, required=True, help="llama.cpp source tree (see the usage note)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--f32", action="store_true", help="also write llm-f32.gguf (to tell f16 rounding from bugs)")
    ap.add_argument("--family", choices=sorted(FAMILIES), default="minicpmv26")
    args = ap.parse_args()
    global E2E, FAMILY
    FAMILY = FAMILIES[args.family]
    E2E = REPO_ROOT / "tests" / "data" / "reference" / FAMILY["e2e"]
    if args.out == DEFAULT_OUT:
        args.out = REPO_ROOT / "tests" / "data" / "reference" / FAMILY["out"]
    venv = reference_env.cache_dir("gguf") / "venv"
    if Path(sys.prefix).resolve() != venv.resolve():
        # gguf_fixture.py's venv (it re-executes itself, so it is created by running that script once).
        if not (venv / "bin" / "python").exists():
            sys.exit(f"{venv} not found: run tests/tools/reference/gguf_fixture.py once first")
        os.execv(str(venv / "bin" / "python"), [str(venv / "bin" / "python"), str(Path(__file__).resolve()),
                                                *sys.argv[1:]])
    reference_env.check_blobs(args.llama_cpp, gguf_fixture.CONVERTER_BLOBS, "llama-cpp-python-0.3.36",
                              f"--llama-cpp must be {gguf_fixture.LLAMA_CPP_SOURCE}")
    quantize = args.llama_cpp / "build" / "bin" / "llama-quantize"
    if not quantize.exists():
        sys.exit(f"{quantize} not found: build llama.cpp's tools (cmake -B build && cmake --build build)")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    commands = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        llm_folder(tmp / "llm")
        gguf_fixture.convert(args.llama_cpp, tmp / "llm", out / "llm-f16.gguf", "f16")
        commands["llm-f16.gguf"] = "convert_hf_to_gguf.py <llm folder> --outtype f16"
        if args.f32:
            gguf_fixture.convert(args.llama_cpp, tmp / "llm", out / "llm-f32.gguf", "f32")
            commands["llm-f32.gguf"] = "convert_hf_to_gguf.py <llm folder> --outtype f32"
        for q in FAMILY["quant"]:
            name = f"llm-{q.lower()}.gguf"
            subprocess.run([str(quantize), str(out / "llm-f16.gguf"), str(out / name), q], check=True,
                           stdout=subprocess.DEVNULL)
            commands[name] = f"llama-quantize llm-f16.gguf {name} {q}"
        mmproj_folder(tmp / "mmproj")
        gguf_fixture.mmproj_convert(args.llama_cpp, tmp / "mmproj", out / "mmproj-f16.gguf",
                                    FAMILY["minicpmv_version"])
        commands["mmproj-f16.gguf"] = (f"{gguf_fixture.MMPROJ_CONVERTER} --minicpmv_version {FAMILY['minicpmv_version']}, "
                                       "resampler.pos_embed_k dropped")
    import gguf
    import torch
    manifest = {
        "made_by": "tests/tools/reference/minicpmv26_gguf_fixture.py",
        "command": "/usr/bin/python3 tests/tools/reference/minicpmv26_gguf_fixture.py --llama-cpp /work/ref/llama.cpp"
                   + ("" if args.family == "minicpmv26" else f" --family {args.family}"),
        "source": f"tests/data/reference/{FAMILY['e2e']}/model.safetensors (+ its tokenizer files)",
        "llama_cpp": gguf_fixture.LLAMA_CPP_SOURCE,
        "converter_blobs": gguf_fixture.CONVERTER_BLOBS,
        "gguf_py": getattr(gguf, "__version__", "0.19.0"),
        "torch": torch.__version__,
        "commands": commands,
        "tensor_types": {f.name: tensor_types(f) for f in sorted(out.glob("*.gguf"))},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    for f in sorted(out.iterdir()):
        print(f"{f.stat().st_size:9d}  {f}")


if __name__ == "__main__":
    main()
