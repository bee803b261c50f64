#!/usr/bin/python3
"""Small ONNX graphs and what onnxruntime computes on them, for the ONNX runner (core/src/onnx/onnx_runner.h;
issue 18: PP-OCR's detector and recogniser run in libtorch).

Writes tests/data/reference/onnx-ops/:
  convnet-op11.onnx   torch.onnx.export (opset 11, batch/height/width dynamic) of a small CNN with the detector's
                      and recogniser's convolution forms: 3x3 stride 2, depthwise 3x3 stride (2, 1), depthwise 1x7
                      pads (0, 3), dilation 2, BatchNormalization (after a ReLU, so the exporter does not fold it into
                      the convolution), HardSigmoid (alpha 1/6), squeeze-excite (GlobalAveragePool, Mul), GELU (Erf),
                      MaxPool 3x3 stride 2 pad 1, AveragePool 3x2 stride (3, 2) and 3x3 pad 1 without counting pads,
                      ConvTranspose 2x2 stride 2 and 3x3 stride 2 pads 1 output_padding 1, nearest Resize x2
                      (asymmetric, floor), ReduceMean over (2, 3), Concat, Sigmoid
  attention-op11.onnx torch.onnx.export (opset 11, static shapes) of an attention block as the recogniser's neck:
                      LayerNorm written out (ReduceMean, Sub, Pow, Sqrt, Div), Linear as MatMul + Add, Reshape,
                      Transpose (0, 2, 1), (2, 0, 3, 1, 4), (0, 1, 3, 2), Slice + Squeeze (axes attribute), Softmax
                      over the last axis, Unsqueeze
  attention-op13.onnx the same block at opset 13 (Squeeze / Unsqueeze axes as inputs, Softmax's opset-13 axis rule)
  handmade-op11.onnx  forms torch.onnx.export does not write, built with onnx.helper as the PP-OCR graphs have them
                      (paddle2onnx): Conv and MaxPool 2x2 with auto_pad SAME_UPPER, HardSigmoid alpha 0.2, Resize with
                      three inputs (X, roi, scales), Identity, Shape -> Slice -> Concat -> Reshape with -1, Reshape
                      with 0, Softmax axis 1 on rank 3 (opset 11's flattening rule), Slice with negative axes and
                      a negative step, AveragePool with asymmetric pads, ConvTranspose with pads, an inference
                      BatchNormalization, Pow, Sub, Div, Sqrt, ReduceMean axes [-1] keepdims 0, Concat of int64,
                      linear Resize (half_pixel and pytorch_half_pixel from scales, align_corners from sizes)
  reference.safetensors  for each graph G and each input size: G.in.<input>.<k> and G.out.<output>.<k>, what
                      onnxruntime computes (k = 0, 1: two input sizes for the dynamic graphs)
  ppocr-reference.safetensors  the real PP-OCRv6 small det and rec graphs (rapidocr 3.10.0; installer/
                      fetch-base-weights.sh installs them; skipped when absent) on pattern() inputs, det [1, 3, 96, 160]
                      and rec [1, 3, 48, 160]: det.out (every 4th row), rec.argmax [1, 20], rec.max [1, 20] and
                      rec.cols (every 97th class of every column)
  manifest.json       versions, graph operators, the real files' sha256 (their IR version 10 is given to
                      onnxruntime 1.17 as 9, the newest it reads; the graphs use nothing newer)
Usage: /usr/bin/python3 tests/tools/reference/onnx_ops_fixture.py [--out DIR] [--base DIR]
(runs in the venv of dinov2_onnx_fixture.py: ~/.cache/uhdlens-reference/dinov2/venv, onnx 1.15, onnxruntime 1.17.1)
"""

import argparse
import collections
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))
import reference_env  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "reference" / "onnx-ops"
DET_RELATIVE = "rapidocr-3.10.0/PP-OCRv6_det_small.onnx"
REC_RELATIVE = "rapidocr-3.10.0/PP-OCRv6_rec_small.onnx"


def pattern(h, w):
    """[1, 3, H, W] float32, the same formula as dinov2_onnx_fixture.py (tests/parity/dinov2_pattern.h)."""
    import numpy as np
    c = np.arange(3, dtype=np.float64).reshape(3, 1, 1)
    y = np.arange(h, dtype=np.float64).reshape(1, h, 1)
    x = np.arange(w, dtype=np.float64).reshape(1, 1, w)
    v = 1.5 * np.sin(0.11 * x + 0.7 * c) * np.cos(0.05 * y - 0.3 * c) + 0.25 * np.sin(0.013 * x * y)
    return v.astype(np.float32)[None]


def convnet():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.dw = nn.Conv2d(8, 8, 3, stride=(2, 1), padding=1, groups=8)
            self.dw17 = nn.Conv2d(8, 8, (1, 7), padding=(0, 3), groups=8, bias=False)
            self.dil = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
            self.se1 = nn.Conv2d(8, 4, 1)
            self.se2 = nn.Conv2d(4, 8, 1)
            self.up1 = nn.ConvTranspose2d(8, 4, 2, stride=2)
            self.up2 = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
            self.head = nn.Conv2d(8, 1, 1)

        def forward(self, x):
            y = self.bn(F.relu(self.stem(x)))                       # [N, 8, H/2, W/2]
            y = F.hardsigmoid(self.dw(y))                           # [N, 8, H/4, W/2]
            y = self.dw17(y)
            y = F.gelu(self.dil(y))
            s = self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(y, 1))))
            y = y * F.hardsigmoid(s)                                # [N, 8, H/4, W/2]
            m = F.max_pool2d(y, 3, stride=2, padding=1)             # [N, 8, H/8, W/4]
            a = F.avg_pool2d(y, (3, 2), stride=(3, 2), count_include_pad=False)
            b = F.avg_pool2d(y, 3, stride=1, padding=1, count_include_pad=False)
            u = torch.cat([self.up1(m), self.up2(m)], 1)            # [N, 8, H/4, W/2]
            v = F.interpolate(u, scale_factor=2.0, mode="nearest")  # [N, 8, H/2, W]
            mean = y.mean((2, 3), keepdim=True)
            return torch.sigmoid(self.head(v)), a + mean, b - u

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-0.5, 0.5)
        net.bn.running_var.uniform_(0.5, 2.0)
        net.bn.weight.uniform_(0.5, 1.5)
        net.bn.bias.uniform_(-0.2, 0.2)
    return net


def attention():
    import torch
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, dim=16, heads=2):
            super().__init__()
            self.heads = heads
            self.norm = nn.LayerNorm(dim)
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
            self.conv = nn.Conv2d(dim, dim, 1)

        def forward(self, x):                                    # x: [N, C, 1, T] as the recogniser's neck
            n, c, _, t = x.shape
            h = self.conv(x).squeeze(2).permute(0, 2, 1)         # [N, T, C]
            qkv = self.qkv(self.norm(h)).reshape(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0:1].squeeze(0), qkv[1:2].squeeze(0), qkv[2:3].squeeze(0)
            att = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(-1)
            o = (att @ v).permute(0, 2, 1, 3).reshape(n, t, c)
            return (h + self.proj(o)).permute(0, 2, 1).unsqueeze(2)

    torch.manual_seed(1)
    return Block().eval()


def handmade():
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)

    def init(name, arr):
        return numpy_helper.from_array(np.asarray(arr), name)

    inits = [
        init("w_same", rng.normal(0, 0.5, (4, 4, 2, 2)).astype(np.float32)),
        init("b_same", rng.normal(0, 0.1, (4,)).astype(np.float32)),
        init("roi", np.zeros((0,), np.float32)),
        init("scales", np.array([1, 1, 2, 2], np.float32)),
        init("first2", np.array([0], np.int64)), init("end2", np.array([2], np.int64)),
        init("minus1", np.array([-1], np.int64)),
        init("shape00m1", np.array([0, 0, -1], np.int64)),
        init("rs", np.array([-1], np.int64)), init("re", np.array([-1000], np.int64)),
        init("raxes", np.array([-1], np.int64)), init("rsteps", np.array([-2], np.int64)),
        init("wt", rng.normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32)),
        init("bn_s", rng.uniform(0.5, 1.5, (4,)).astype(np.float32)),
        init("bn_b", rng.uniform(-0.2, 0.2, (4,)).astype(np.float32)),
        init("bn_m", rng.uniform(-0.5, 0.5, (4,)).astype(np.float32)),
        init("bn_v", rng.uniform(0.5, 2.0, (4,)).astype(np.float32)),
        init("two", np.array(2.0, np.float32)), init("eps", np.array(1e-5, np.float32)),
        init("scales_lin", np.array([1, 1, 2, 1.5], np.float32)), init("no_scales", np.zeros((0,), np.float32)),
        init("sizes_lin", np.array([1, 4, 9, 7], np.int64)),
    ]
    N = helper.make_node
    nodes = [
        N("Conv", ["x", "w_same", "b_same"], ["c1"], name="conv_same", auto_pad="SAME_UPPER", dilations=[1, 1],
          group=1, kernel_shape=[2, 2], strides=[1, 1]),
        N("MaxPool", ["c1"], ["m1"], name="pool_same", auto_pad="SAME_UPPER", ceil_mode=0, kernel_shape=[2, 2],
          strides=[1, 1]),
        N("HardSigmoid", ["m1"], ["h1"], name="hsig", alpha=0.2, beta=0.5),
        N("Resize", ["h1", "roi", "scales"], ["r1"], name="resize", mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        N("Identity", ["r1"], ["id1"], name="identity"),
        N("Shape", ["id1"], ["s1"], name="shape"),
        N("Slice", ["s1", "first2", "end2"], ["s2"], name="slice_shape"),
        N("Concat", ["s2", "minus1"], ["s3"], name="concat_shape", axis=0),
        N("Reshape", ["id1", "s3"], ["flat"], name="reshape_m1"),                  # [1, 4, 240]
        N("Softmax", ["flat"], ["soft"], name="softmax_coerced", axis=1),          # over 4 x 240 at once
        N("Reshape", ["c1", "shape00m1"], ["flat0"], name="reshape_0"),
        N("Slice", ["flat0", "rs", "re", "raxes", "rsteps"], ["rev"], name="slice_reverse"),
        N("Pow", ["rev", "two"], ["sq"], name="pow"),
        N("ReduceMean", ["sq"], ["ms"], name="mean_last", axes=[-1], keepdims=0),
        N("Add", ["ms", "eps"], ["mse"], name="add_eps"),
        N("Sqrt", ["mse"], ["rms"], name="sqrt"),
        N("Unsqueeze", ["rms"], ["rms1"], name="unsqueeze", axes=[-1]),
        N("Sub", ["rev", "rms1"], ["d1"], name="sub"),
        N("Div", ["d1", "rms1"], ["norm"], name="div"),
        N("AveragePool", ["x"], ["ap"], name="avg_asym", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 1, 0],
          count_include_pad=0),
        N("ConvTranspose", ["x", "wt"], ["ct"], name="convt_pads", group=2, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
          strides=[2, 2]),
        N("BatchNormalization", ["ct", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], name="bn", epsilon=1e-3,
          momentum=0.9),
        N("Transpose", ["bn"], ["bnt"], name="transpose", perm=[0, 3, 1, 2]),
        N("Squeeze", ["bnt"], ["bns"], name="squeeze", axes=[0]),
        N("Resize", ["x", "roi", "scales_lin"], ["lin_hp"], name="resize_linear_half_pixel", mode="linear",
          coordinate_transformation_mode="half_pixel"),
        N("Resize", ["x", "roi", "scales_lin"], ["lin_php"], name="resize_linear_pytorch_half_pixel", mode="linear",
          coordinate_transformation_mode="pytorch_half_pixel"),
        N("Resize", ["x", "roi", "no_scales", "sizes_lin"], ["lin_ac"], name="resize_linear_align_corners",
          mode="linear", coordinate_transformation_mode="align_corners"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 10])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ["soft", "norm", "ap", "bns", "lin_hp", "lin_php", "lin_ac"]]
    g = helper.make_graph(nodes, "handmade", [x], outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], producer_name="onnx_ops_fixture")
    m.ir_version = 7
    m.metadata_props.add(key="character", value="a\nb\nc")
    # (no onnx.checker: the outputs declare no shape, which onnxruntime accepts and the checker does not)
    return m


def ops_of(path):
    import onnx
    return dict(sorted(collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node).items()))


def main():
    reference_env.ensure_venv("dinov2", HERE / "dinov2_requirements.txt", __file__)
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from safetensors.numpy import save_file

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    default_base = os.environ.get("UHDLENS_BASE_WEIGHTS") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "uhdlens" / "base")
    ap.add_argument("--base", type=Path, default=Path(default_base))
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"onnx": onnx.__version__, "onnxruntime": ort.__version__, "torch": torch.__version__,
                "graphs": {}}
    ref = {}

    def run(name, path, feeds_list):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        names = [o.name for o in s.get_outputs()]
        for k, feeds in enumerate(feeds_list):
            for i, v in feeds.items():
                ref[f"{name}.in.{i}.{k}"] = v
            for o, v in zip(names, s.run(names, feeds)):
                ref[f"{name}.out.{o}.{k}"] = np.ascontiguousarray(v)
        manifest["graphs"][name] = {"operators": ops_of(path), "outputs": names, "bytes": path.stat().st_size}

    rng = np.random.default_rng(0)
    with torch.no_grad():
        p = out / "convnet-op11.onnx"
        torch.onnx.export(convnet(), torch.zeros(1, 3, 24, 16), str(p), opset_version=11,
                          input_names=["x"], output_names=["prob", "pooled", "both"],
                          dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
        run("convnet-op11", p, [{"x": rng.normal(0, 1, (1, 3, 24, 16)).astype(np.float32)},
                                {"x": rng.normal(0, 1, (2, 3, 48, 40)).astype(np.float32)}])
        block = attention()
        for opset in (11, 13):
            p = out / f"attention-op{opset}.onnx"
            torch.onnx.export(block, torch.zeros(2, 16, 1, 10), str(p), opset_version=opset,
                              input_names=["x"], output_names=["y"])
            run(f"attention-op{opset}", p, [{"x": rng.normal(0, 1, (2, 16, 1, 10)).astype(np.float32)}])
    p = out / "handmade-op11.onnx"
    onnx.save(handmade(), str(p))
    run("handmade-op11", p, [{"x": rng.normal(0, 1, (1, 4, 6, 10)).astype(np.float32)}])
    save_file(ref, str(out / "reference.safetensors"))

    det, rec = args.base / DET_RELATIVE, args.base / REC_RELATIVE
    if det.exists() and rec.exists():
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        real = {}

        def session(path):
            # The files say IR version 10, which onnxruntime 1.17 refuses; they use nothing newer than IR 7
            # (opset 11, float and int64 tensors), so the copy handed to it says 9.
            m = onnx.load(str(path))
            m.ir_version = min(m.ir_version, 9)
            return ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])

        s = session(det)
        real["det.out"] = np.ascontiguousarray(s.run(None, {"x": pattern(96, 160)})[0][:, :, ::4, :])
        s = session(rec)
        y = s.run(None, {"x": pattern(48, 160)})[0]
        real["rec.argmax"] = y.argmax(-1).astype(np.int64)
        real["rec.max"] = y.max(-1)
        real["rec.cols"] = np.ascontiguousarray(y[:, :, ::97])
        save_file(real, str(out / "ppocr-reference.safetensors"))
        manifest["ppocr"] = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in (det, rec)}
        manifest["ppocr"]["rec_shape"] = list(y.shape)
    else:
        print(f"no {det} / {rec}: ppocr-reference.safetensors not written (installer/fetch-base-weights.sh)",
              file=sys.stderr)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(json.dumps(manifest["graphs"], indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
