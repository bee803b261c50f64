#!/usr/bin/python3
"""Reference fixture for MiniCPM-V 2.6's vision side, made by running the OFFICIAL MiniCPM-V 2.6 code.

Writes tests/data/reference/minicpmv26/:
  config.json            a MiniCPM-V 2.6 config.json shape ("vision_config", "query_num", "slice_config") with tiny
                         sizes; every structural property of the real one (several heads in the tower and in the
                         resampler, 70x70 position table from image_size 980 / patch 14, gelu_pytorch_tanh, LN eps
                         1e-6, resampler heads = width // 128)
  model.safetensors      random, bf16-representable weights under the official modules' state-dict names
                         (vpm.*, resampler.*), stored in bf16; LayerNorm gains 1 + N(0, 0.3), biases N(0, 0.1)
  image_small.png, image_grid.png   synthetic test images for the image processor
  reference.safetensors  vision input (pixels in the reshape_by_patch layout, tgt_sizes), SigLIP output
                         (vision.features, padded batch), resampler output, and the processor's pixels per image
  reference.json         processor geometry for many sizes (grid, tgt_sizes) and the prompt placeholders
  manifest.json          reference repo, commit, blob ids, package versions, seed, command

Usage (creates its own venv on first run):
  /usr/bin/python3 tests/tools/reference/minicpmv26_fixture.py [--ref /work/ref/minicpmv26] [--out DIR]

The reference source must be the files of GitHub 404805854/minicpmv2.6-onnx at commit
8490e5923eeebae2ef7163fc7bb39f5b66967272 ("fork from hugging face original code": Hugging Face
openbmb/MiniCPM-V-2_6's .py files committed verbatim, before the fork's own edits in later commits); the script
checks every file it uses against that commit's git blob ids. Get it with
  git clone https://github.com/404805854/minicpmv2.6-onnx r && git -C r archive 8490e59 | tar -x -C /work/ref/minicpmv26

Official code runs unchanged. The only glue is get_vllm_embedding's batching (pad_sequence of the per-slice
[3, 14, L*14] arrays, the [B, 1, max_patches] patch mask, int32 tgt_sizes), written out here because MiniCPMV itself
would need a Qwen2 language model; the lines mirror modeling_minicpmv.py get_vllm_embedding exactly.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import reference_env  # beside this script (sys.path[0])

REQUIREMENTS = Path(__file__).resolve().parent / "minicpmv26_requirements.txt"
REF_REPO = "404805854/minicpmv2.6-onnx"
REF_COMMIT = "8490e5923eeebae2ef7163fc7bb39f5b66967272"
REF_BLOBS = {
    "modeling_navit_siglip.py": "6fe732cf0d5884613003c00bccea0c5ae64a1905",
    "resampler.py": "bacd607bd30945b4c48f8cf63fd42eb265d21e80",
    "image_processing_minicpmv.py": "6a72a4e3e428c224fc13dc2153e8f480f729414f",
}
DEFAULT_REF = Path(os.environ.get("UHDLENS_MINICPMV26_REF", "/work/ref/minicpmv26"))
DEFAULT_OUT = Path(__file__).resolve().parents[3] / "tests" / "data" / "reference" / "minicpmv26"
SEED = 26

VISION = dict(hidden_size=32, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4, image_size=980,
              patch_size=14, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
LLM_HIDDEN = 256  # resampler width: heads = 256 // 128 = 2, as MiniCPMV.init_resampler
QUERY_NUM = 64
# Patch grids (rows, cols) batched together: a 72-wide strip (over the 70-cell table, so bucketize maps several
# patches to one cell and the resampler's 70x70 sin-cos cache is regrown), h = 25 (i/h = k/70 exact multiples,
# where float32 arange decides the bucket), and a small grid padded heavily.
TGT_SIZES = [(2, 72), (25, 3), (3, 4)]
# Image processor runs: (file, size, processor kwargs). Small scale_resolution keeps the pixel fixture small; the
# code path is the one of the real 448 setting.
PROCESSOR_RUNS = [
    ("image_grid.png", (230, 220), dict(max_slice_nums=9, scale_resolution=112, patch_size=14)),
    ("image_small.png", (90, 60), dict(max_slice_nums=9, scale_resolution=112, patch_size=14)),
]
# Geometry of the real setting (448 / 14 / 9) for these sizes, and placeholders for a few of them.
GEOMETRY_SIZES = [(1, 1), (50, 600), (448, 448), (449, 448), (500, 300), (672, 1088), (1024, 1024), (1920, 1080),
                  (2480, 3508), (4988, 1247), (445, 941), (1000, 1000), (3000, 200), (200, 3000), (10000, 50),
                  (800, 600), (1280, 720), (640, 480), (1200, 1200), (896, 448)]
PLACEHOLDER_CASES = [((1920, 1080), 0), ((500, 300), 3), ((300, 200), 12), ((640, 480), 1)]


def ensure_venv() -> None:
    reference_env.ensure_venv("minicpmv26", REQUIREMENTS, __file__)


def check_reference(ref: Path) -> None:
    reference_env.check_blobs(ref, REF_BLOBS, REF_COMMIT, f"see the docstring: {REF_REPO} @ {REF_COMMIT}")


def import_reference(ref: Path):
    return tuple(reference_env.import_package("minicpmv26_ref", ref, m)
                 for m in ("modeling_navit_siglip", "resampler", "image_processing_minicpmv"))


def synthetic_image(size, seed):
    """Smooth gradients, a few filled shapes and a checker patch: compresses well in PNG, exercises the resampler's
    ringing and the crop borders."""
    import numpy as np
    from PIL import Image, ImageDraw
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127 + 120 * np.sin(x / (w / 3.1) + seed)
    g = 127 + 120 * np.cos(y / (h / 2.3) - seed)
    b = (x * 255 / max(w - 1, 1) + y * 97 / max(h - 1, 1)) % 256
    img = Image.fromarray(np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.rectangle([w // 7, h // 5, w // 3, h // 2], fill=(250, 20, 30))
    d.ellipse([w // 2, h // 3, w - 5, h - 3], fill=(10, 240, 60), outline=(0, 0, 0))
    for i in range(0, min(24, w), 4):
        for j in range(0, min(24, h), 4):
            if (i + j) // 4 % 2 == 0:
                d.rectangle([i, j, i + 3, j + 3], fill=(255, 255, 255))
    return img


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", type=Path, default=DEFAULT_REF)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    check_reference(args.ref)
    ensure_venv()

    import numpy as np
    import PIL
    import safetensors
    import torch
    import transformers
    from PIL import Image
    from safetensors.torch import load_file, save_file

    torch.set_num_threads(1)
    navit, resampler_mod, improc = import_reference(args.ref)
    # Compatibility shim (torch 1.13): resampler.py's MultiheadAttention.forward calls F._none_or_dtype, added to
    # torch.nn.functional in torch 2.0. resampler.py defines the same helper itself (identical to torch 2.x's); it is
    # made reachable under F. Nothing else of the file needs torch 2 on the path it takes (need_weights=True, no
    # fast path: query is not key).
    if not hasattr(torch.nn.functional, "_none_or_dtype"):
        torch.nn.functional._none_or_dtype = resampler_mod._none_or_dtype
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    # --- modules, random weights ---------------------------------------------------------------------------------
    vcfg = navit.SiglipVisionConfig(**VISION)
    vcfg._attn_implementation = "eager"  # as MiniCPMV.init_vision_module without flash attention
    vpm = navit.SiglipVisionTransformer(vcfg).eval()
    res = resampler_mod.Resampler(num_queries=QUERY_NUM, embed_dim=LLM_HIDDEN, num_heads=LLM_HIDDEN // 128,
                                  kv_dim=VISION["hidden_size"], adaptive=True).eval()
    gen = torch.Generator().manual_seed(SEED)
    weights = {}
    for prefix, module in (("vpm.", vpm), ("resampler.", res)):
        for name, p in module.state_dict().items():
            full = prefix + name
            if name.endswith("bias"):
                v = 0.1 * torch.randn(p.shape, generator=gen)
            elif "layer_norm" in name or name.startswith("ln_") or "post_layernorm" in name:
                v = 1.0 + 0.3 * torch.randn(p.shape, generator=gen)
            elif name == "embeddings.position_embedding.weight" or name == "query":
                v = 0.5 * torch.randn(p.shape, generator=gen)
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                v = torch.randn(p.shape, generator=gen) / fan_in ** 0.5
            weights[full] = v.to(torch.bfloat16).contiguous()
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    loaded = load_file(str(out / "model.safetensors"))
    vpm.load_state_dict({k[4:]: v.float() for k, v in loaded.items() if k.startswith("vpm.")}, strict=True)
    res.load_state_dict({k[10:]: v.float() for k, v in loaded.items() if k.startswith("resampler.")}, strict=True)

    config = {
        "version": 2.6, "query_num": QUERY_NUM, "hidden_size": LLM_HIDDEN, "drop_vision_last_layer": False,
        "slice_config": {"patch_size": 14, "max_slice_nums": 9, "scale_resolution": 448},
        "vision_config": dict(VISION, model_type="siglip"),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    # --- vision tower + resampler on a padded batch of slices -----------------------------------------------------
    tensors = {}
    pixel_values_list = []
    for i, (h, w) in enumerate(TGT_SIZES):
        x = torch.rand((3, 14, h * w * 14), generator=gen) * 2 - 1
        x = x.to(torch.bfloat16).float()  # bf16-representable: stored exactly at half the bytes
        pixel_values_list.append(x)
        tensors[f"input.pixels.{i}"] = x.to(torch.bfloat16)
    tgt_sizes = torch.tensor(TGT_SIZES, dtype=torch.int32)
    tensors["input.tgt_sizes"] = tgt_sizes
    with torch.no_grad():
        # modeling_minicpmv.py get_vllm_embedding, the batching lines as written there:
        all_pixel_values = [i.flatten(end_dim=1).permute(1, 0) for i in pixel_values_list]
        max_patches = torch.max(tgt_sizes[:, 0] * tgt_sizes[:, 1])
        all_pixel_values = torch.nn.utils.rnn.pad_sequence(all_pixel_values, batch_first=True, padding_value=0.0)
        B, L, _ = all_pixel_values.shape
        all_pixel_values = all_pixel_values.permute(0, 2, 1).reshape(B, 3, -1, L)
        patch_attn_mask = torch.zeros((B, 1, max_patches), dtype=torch.bool)
        for i in range(B):
            patch_attn_mask[i, 0, :tgt_sizes[i][0] * tgt_sizes[i][1]] = True
        pos_ids = {}
        hook = vpm.embeddings.register_forward_hook(lambda m, a, o: pos_ids.setdefault("emb", o.clone()))
        vision = vpm(all_pixel_values, patch_attention_mask=patch_attn_mask, tgt_sizes=tgt_sizes).last_hidden_state
        hook.remove()
        resampled = res(vision, tgt_sizes)
    tensors["vision.embeddings"] = pos_ids["emb"].contiguous()
    tensors["vision.features"] = vision.contiguous()
    tensors["resampler.output"] = resampled.contiguous()
    # The position ids the embedding layer computed, recomputed exactly as it does (for a direct check of the
    # bucketize path; its value also enters vision.embeddings above).
    boundaries = torch.arange(1 / 70, 1.0, 1 / 70)
    for i, (h, w) in enumerate(TGT_SIZES):
        th, tw = tgt_sizes[i][0], tgt_sizes[i][1]
        fh = torch.bucketize(torch.arange(0, 1 - 1e-6, 1 / th), boundaries, right=True)
        fw = torch.bucketize(torch.arange(0, 1 - 1e-6, 1 / tw), boundaries, right=True)
        tensors[f"vision.position_ids.{i}"] = (fh[:, None] * 70 + fw).flatten().contiguous()

    # --- image processor -----------------------------------------------------------------------------------------
    runs = []
    for k, (fname, size, kwargs) in enumerate(PROCESSOR_RUNS):
        img = synthetic_image(size, k)
        img.save(out / fname, optimize=True)
        img = Image.open(out / fname)
        proc = improc.MiniCPMVImageProcessor(**kwargs, use_image_id=True, version=2.6)
        r = proc.preprocess(img)
        slices = r["pixel_values"][0]
        ts = np.asarray(r["tgt_sizes"][0]).tolist()
        for j, s in enumerate(slices):
            tensors[f"processor.{k}.pixels.{j}"] = torch.from_numpy(np.ascontiguousarray(s)).to(torch.float16)
        runs.append({"image": fname, "size": list(size), "kwargs": kwargs, "tgt_sizes": ts,
                     "grid": proc.get_sliced_grid(size, kwargs["max_slice_nums"])})

    proc = improc.MiniCPMVImageProcessor(max_slice_nums=9, scale_resolution=448, patch_size=14, use_image_id=True,
                                         version=2.6)
    geometry = []
    for (w, h) in GEOMETRY_SIZES:
        img = Image.new("RGB", (w, h))
        src, patches, grid = proc.slice_image(img, 9, 448, 14)
        geometry.append({"size": [w, h], "grid": grid, "overview": list(src.size),
                         "slice": list(patches[0][0].size) if patches else None})
    placeholders = [{"size": list(s), "image_idx": idx,
                     "text": proc.get_slice_image_placeholder(s, idx)} for s, idx in PLACEHOLDER_CASES]

    save_file(tensors, str(out / "reference.safetensors"), metadata={"format": "pt"})
    (out / "reference.json").write_text(json.dumps({"processor_runs": runs, "geometry_448": geometry,
                                                    "placeholders": placeholders}, indent=1) + "\n")
    files = ["config.json", "model.safetensors", "reference.safetensors", "reference.json"] + \
        [f for f, _, _ in PROCESSOR_RUNS]
    manifest = {
        "reference": {"repo": f"github.com/{REF_REPO}", "commit": REF_COMMIT, "blobs": REF_BLOBS,
                      "why_trusted": "commit message 'fork from hugging face original code': the Hugging Face "
                                     "openbmb/MiniCPM-V-2_6 .py files committed unchanged before the fork's own "
                                     "edits (later commits trim them); spec/llava-uhd.md §0 names the same commit; "
                                     "the navit SigLIP embeddings/attention classes were compared with an "
                                     "independent copy in the GitHub code index (find_string id 2844372335) and "
                                     "are identical; the slicer is the one three copies agreed on (spec §1.2)."},
        "packages": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "numpy": np.__version__,
                     "Pillow": PIL.__version__, "safetensors": safetensors.__version__},
        "seed": SEED, "vision": VISION, "resampler": {"embed_dim": LLM_HIDDEN, "heads": LLM_HIDDEN // 128,
                                                      "queries": QUERY_NUM},
        "tgt_sizes": TGT_SIZES,
        "shims": ["torch.nn.functional._none_or_dtype = resampler._none_or_dtype (torch 1.13 lacks it; same "
                  "function as torch 2.x, defined in resampler.py itself)"],
        "glue": "get_vllm_embedding's batching lines (pad_sequence, patch mask) reproduced in this script",
        "command": "/usr/bin/python3 tests/tools/reference/minicpmv26_fixture.py",
        "bytes": {f: (out / f).stat().st_size for f in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {out}: {sum(manifest['bytes'].values())} bytes")


if __name__ == "__main__":
    main()
