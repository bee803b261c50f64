#!/usr/bin/env python3
"""Scores rapidocr's PP-OCR networks (detection + recognition, the ONNX files inside the wheel rapidocr==3.10.0)
on the images that `uhdlens-bench ocr --save DIR` rendered, by the same rule and in the same table shape as the
bench, beside the text layer's (Tesseract's) words that the bench saved with them. Test-time tooling only: it
never runs in the build or the tests, and nothing here is needed by the app.

    OMP_THREAD_LIMIT=1 QT_QPA_PLATFORM=offscreen build/app/uhdlens-bench ocr --images 8 --save /tmp/ocrset
    python3 tests/tools/ppocr_compare.py /tmp/ocrset                  # PP-OCR at 1x and 2x, and Tesseract
    python3 tests/tools/ppocr_compare.py /tmp/ocrset --upscale 1 --words rapidocr --misses
    python3 tests/tools/ppocr_compare.py --ops                        # the graphs' operators, shapes, parameters
    python3 tests/tools/ppocr_compare.py /tmp/ocrset --torch-check    # both graphs run by torch 1.13 functions

The text layer's row is re-scored here from the words the bench saved (it must equal the bench's own table); its
CPU time is the bench's (run the bench with OMP_THREAD_LIMIT=1 for one thread, as DECISIONS.md's figures).
--torch-check exports both graphs, runs them node by node with torch.nn.functional calls under Debian's
/usr/bin/python3 (torch 1.13, the version of the app's libtorch) on one real input each, and prints the largest
difference from onnxruntime's output: evidence that every operator has a direct torch 1.13 equivalent.

It runs in its own standalone venv, $XDG_CACHE_HOME/uhdlens-reference/ppocr/venv (default ~/.cache/...), made by
/usr/bin/python3 -m venv and filled with `pip install --no-deps -r tests/tools/reference/ppocr_requirements.txt`
on first use. The models are the wheel's own files, named by path, so rapidocr downloads nothing.

Rule (the bench's, words.json "rule"): a rendered word is read when a recognised word with exactly its spelling has
its box centre (x + w // 2, y + h // 2 of the recognised word's axis-aligned box) inside the rendered word's box
[x, x + w) x [y, y + h); recognised words that read no rendered word are "extra".

Words from PP-OCR's lines. The detector finds text lines (one box for words one space apart) and the recogniser
reads each line as one string with spaces. Two ways to cut it into words with boxes, both from rapidocr 3.10.0:
  --words chars (default): rapidocr's return_single_char_box gives one box per recognised non-space character,
      placed from the CTC column where that character was emitted across the line's box; the line's text is split
      at whitespace and each word's box is the union of its characters' boxes.
  --words rapidocr: rapidocr's own return_word_box boxes. It cuts the line's text at whitespace and also wherever
      two consecutive characters are more than 5 CTC columns apart (PaddleOCR's get_word_info), so a wide word
      can come out in pieces.
Each recognised line first passes rapidocr's line filter (mean character score >= Global.text_score, 0.5), as in
its default output. The angle classifier is off (use_cls=False: these are upright screenshots; detection +
recognition only).

CPU: onnxruntime's intra- and inter-op threads are set to 1, OpenCV's to 1, and the CPU time is the process's
(time.process_time(), all threads) around each image's whole rapidocr call (pre-processing, detection, crops,
recognition, post-processing), after one untimed warm-up call that creates the sessions. --upscale K resizes the
image K times (bilinear, as the text layer's Qt::SmoothTransformation) before rapidocr and divides the boxes by K;
rapidocr's Global.max_side_len (2000: it would shrink a 2560-px image back) is raised to 10000 for that.
"""

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))
from reference_env import ensure_venv  # noqa: E402

REQUIREMENTS = HERE / "reference" / "ppocr_requirements.txt"

# The table header of `uhdlens-bench ocr`, so the two outputs line up.
HEADER = "%8s %8s %8s %9s" % ("height", "read", "words", "accuracy")


def model_paths():
    import rapidocr
    root = Path(rapidocr.__file__).resolve().parent / "models"
    return root / "PP-OCRv6_det_small.onnx", root / "PP-OCRv6_rec_small.onnx"


def make_engine(upscale: int):
    import cv2
    from rapidocr import RapidOCR
    cv2.setNumThreads(1)
    det, rec = model_paths()
    params = {
        "Global.use_cls": False,
        "Global.log_level": "warning",
        "Det.model_path": str(det),
        "Rec.model_path": str(rec),
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    if upscale > 1:
        params["Global.max_side_len"] = 10000
    return RapidOCR(params=params)


def quad_to_rect(quad):
    xs = [float(p[0]) for p in quad]
    ys = [float(p[1]) for p in quad]
    return min(xs), min(ys), max(xs), max(ys)


def words_from_chars(txt, chars):
    """Splits `txt` at whitespace; each word's box is the union of its characters' boxes. `chars` is rapidocr's
    single-character list (text, score, quad) for the non-space characters of `txt`, in order. None when the
    counts disagree (then the caller falls back to rapidocr's word boxes)."""
    flat = [c for c in txt if not c.isspace()]
    if len(chars) != len(flat) or any(c[0] != f for c, f in zip(chars, flat)):
        return None
    words, k = [], 0
    for w in txt.split():
        rects = [quad_to_rect(chars[k + i][2]) for i in range(len(w))]
        k += len(w)
        words.append((w, (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects),
                          max(r[3] for r in rects))))
    return words


def recognise(engine, image, upscale: int, mode: str, stats: Counter, stages=None):
    """PP-OCR's words in `image` as (text, (x, y, w, h)) in the original image's integer pixels. `stats` counts
    lines and fallbacks; `stages`, when given, collects rapidocr's own detection / recognition wall times (ms)."""
    import cv2
    if upscale > 1:
        image = cv2.resize(image, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
    single = mode == "chars"
    out = engine(image, use_cls=False, return_word_box=True, return_single_char_box=single)
    words = []
    if out is None or getattr(out, "txts", None) is None or len(out.txts) == 0:
        return words
    if stages is not None:
        elapse = list(out.elapse_list) + [None] * 3  # [det, cls, rec] seconds
        stages.setdefault("det", []).append(1000.0 * (elapse[0] or 0.0))
        stages.setdefault("rec", []).append(1000.0 * (elapse[2] or 0.0))
    results = out.word_results
    if len(results) != len(out.txts):  # rapidocr drops lines without boxes; never seen here, but say so
        stats["lines whose word boxes did not line up"] += len(out.txts)
        results = [()] * len(out.txts)
    for txt, line_box, result in zip(out.txts, out.boxes, results):
        stats["lines"] += 1
        split = words_from_chars(txt, list(result)) if single else None
        if split is None:
            if single:
                stats["lines with characters not matching the text (rapidocr's word boxes used)"] += 1
            split = [(t, quad_to_rect(q)) for t, _score, q in result]
            if not split:  # no word boxes at all: the whole line as one word
                stats["lines without word boxes"] += 1
                split = [(txt.strip(), quad_to_rect(line_box))]
        for text, (x0, y0, x1, y1) in split:
            x0, y0, x1, y1 = (round(v / upscale) for v in (x0, y0, x1, y1))
            words.append((text, (x0, y0, x1 - x0, y1 - y0)))
    return words


def score(rendered, recognised, per_height, misses=None, image_index=0):
    """The bench's rule, in the bench's loop order; returns the number of extra words."""
    matched = [False] * len(recognised)
    for rw in rendered:
        x, y, w, h = rw["box"]
        counts = per_height.setdefault(rw["height"], [0, 0])
        counts[1] += 1
        there, found = [], False
        for k, (text, (bx, by, bw, bh)) in enumerate(recognised):
            cx, cy = bx + bw // 2, by + bh // 2
            if not (x <= cx < x + w and y <= cy < y + h):
                continue
            there.append(text)
            if text == rw["text"]:
                counts[0] += 1
                matched[k] = True
                found = True
                break
        if not found and misses is not None:
            misses.append("image %d, %d px at %d,%d: '%s' read as '%s'" % (image_index, rw["height"], x, y,
                                                                           rw["text"], " ".join(there)))
    if misses is not None:
        for m, (text, (bx, by, bw, bh)) in zip(matched, recognised):
            if not m:
                misses.append("image %d: extra '%s' at %d,%d %dx%d" % (image_index, text, bx, by, bw, bh))
    return sum(0 if m else 1 for m in matched)


def median(v):
    v = sorted(v)
    n = len(v)
    return 0.0 if n == 0 else (v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2]))


def print_table(title, per_height, extra, recognised, cpu_ms=None, wall_ms=None):
    print(title)
    print(HEADER)
    for h in sorted(per_height):
        read, total = per_height[h]
        print("%6d px %8d %8d %8.1f%%" % (h, read, total, 100.0 * read / total if total else 0.0))
    print("extra words (no rendered word there or misread): %d of %d recognised" % (extra, recognised))
    if cpu_ms is not None:
        print("median time per image: %.0f ms wall, %.0f ms CPU" % (wall_ms, cpu_ms))
    print()


def run_set(folder: Path, args):
    import cv2
    doc = json.loads((folder / "words.json").read_text())
    images = doc["images"][:args.images] if args.images else doc["images"]
    print("set: %s, %d images (%s), heights %s\n" % (folder, len(images), " ".join(doc["arguments"][1:]),
                                                      ",".join(str(h) for h in doc["heights"])))

    # The text layer's words as the bench saved them, scored again here: the first table must equal the bench's.
    per_height, extra, recognised = {}, 0, 0
    for i, im in enumerate(images):
        words = [(w["text"], tuple(w["box"])) for w in im["recognised"]]
        extra += score(im["rendered"], words, per_height, None, i)
        recognised += len(words)
    tl = doc["text_layer"]
    print_table("text layer (Tesseract 5.3; upscale %d, words from %d px at native size, %s, tiles %d), "
                "from words.json; CPU measured by the bench" % (tl["upscale"], tl["native_height"],
                                                               tl["segmentation"], tl["tile"]),
                per_height, extra, recognised, median([im["cpu_ms"] for im in images]),
                median([im.get("wall_ms", float("nan")) for im in images]))

    for k in args.upscale:
        engine = make_engine(k)
        first = cv2.imread(str(folder / images[0]["file"]), cv2.IMREAD_COLOR)
        recognise(engine, first, k, args.words, Counter())  # warm-up: sessions, arenas
        per_height, extra, recognised, cpu, wall, stats, stages, misses = {}, 0, 0, [], [], Counter(), {}, []
        for i, im in enumerate(images):
            image = cv2.imread(str(folder / im["file"]), cv2.IMREAD_COLOR)
            if image is None:
                sys.exit("error: cannot read %s" % (folder / im["file"]))
            c0, t0 = time.process_time(), time.perf_counter()
            words = recognise(engine, image, k, args.words, stats, stages)
            cpu.append(1000.0 * (time.process_time() - c0))
            wall.append(1000.0 * (time.perf_counter() - t0))
            extra += score(im["rendered"], words, per_height, misses if args.misses else None, i)
            recognised += len(words)
        det, rec = model_paths()
        print_table("PP-OCR (rapidocr 3.10.0: %s + %s, onnxruntime, 1 thread), upscale %d, words by %s"
                    % (det.name, rec.name, k, args.words), per_height, extra, recognised, median(cpu),
                    median(wall))
        print("  median wall per image inside rapidocr: detection %.0f ms, recognition %.0f ms; "
              % (median(stages.get("det", [])), median(stages.get("rec", [])))
              + ", ".join("%s: %d" % kv for kv in sorted(stats.items())) + "\n")
        for m in misses:
            print("  " + m)
        if misses:
            print()


def print_ops():
    """Operator types and counts, inputs and outputs, parameters, opset and the attributes that decide a port."""
    import numpy as np
    import onnx
    from onnx import helper
    for path in model_paths():
        m = onnx.load(str(path))
        g = m.graph
        inits = {t.name: t for t in g.initializer}
        floats = sum(int(np.prod(t.dims)) for t in g.initializer if t.data_type == onnx.TensorProto.FLOAT)
        print("%s (%.1f MB): opset %s, %d nodes, %d float parameters in %d initialisers" % (
            path.name, path.stat().st_size / 1e6, ",".join("%s%d" % (o.domain or "ai.onnx:", o.version)
                                                            for o in m.opset_import),
            len(g.node), floats, len(g.initializer)))
        for v in g.input:
            if v.name not in inits:
                dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
                print("  input %s: [%s]" % (v.name, ", ".join(str(d) for d in dims)))
        for v in g.output:
            dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            print("  output %s: [%s]" % (v.name, ", ".join(str(d) for d in dims)))
        counts = Counter(n.op_type for n in g.node)
        print("  operators: " + ", ".join("%s %d" % kv for kv in counts.most_common()))
        consts = {k: onnx.numpy_helper.to_array(t) for k, t in inits.items()}
        for n in g.node:
            if n.op_type == "Constant":
                consts[n.output[0]] = onnx.numpy_helper.to_array(n.attribute[0].t)
        attrs = {}
        for n in g.node:
            if n.op_type in ("Resize", "HardSigmoid", "ConvTranspose", "MaxPool", "AveragePool", "Softmax",
                             "Pow", "BatchNormalization", "ReduceMean", "Conv"):
                a = {x.name: helper.get_attribute_value(x) for x in n.attribute
                     if x.name != "kernel_shape" or n.op_type.endswith("Pool")}
                if n.op_type == "Conv":
                    w = inits.get(n.input[1])
                    pads = a.get("pads", [0, 0, 0, 0])
                    a = {"group>1": a.get("group", 1) > 1, "kernel": tuple(w.dims[2:]) if w is not None else None,
                         "strides": tuple(a.get("strides", [1, 1])), "auto_pad": a.get("auto_pad", b"NOTSET"),
                         "pads symmetric": pads[:2] == pads[2:] and a.get("auto_pad", b"NOTSET") == b"NOTSET"}
                if n.op_type == "Pow" and n.input[1] in inits:
                    a["exponent"] = float(onnx.numpy_helper.to_array(inits[n.input[1]]))
                if n.op_type == "Resize":  # opset 11: X, roi, scales, sizes
                    const = consts.get(n.input[2]) if len(n.input) > 2 else None
                    a["scales"] = None if const is None or const.size == 0 else const.tolist()
                    a["sizes given"] = len(n.input) > 3 and bool(n.input[3])
                key = "%s %s" % (n.op_type, {k: (v.decode() if isinstance(v, bytes) else v)
                                            for k, v in sorted(a.items())})
                attrs[key] = attrs.get(key, 0) + 1
        for key, c in sorted(attrs.items()):
            print("  %dx %s" % (c, key))
        meta = {p.key: p.value for p in m.metadata_props}
        if "character" in meta:
            chars = meta["character"].splitlines()
            ascii_chars = sum(1 for c in chars if len(c) == 1 and ord(c) < 128)
            print("  metadata 'character': %d entries (%d ASCII); classes = entries + CTC blank (+ space)"
                  % (len(chars), ascii_chars))
        print()


def export_graphs(out: Path, folder: Path):
    """Writes each graph (nodes with attributes as JSON, initialisers and Constant values as .npz) and one real
    input with onnxruntime's output for it, for --torch-check's interpreter. Inputs: the first saved image,
    normalised as rapidocr's detector does ((x / 255 - 0.5) / 0.5, 1280x800 is already a multiple of 32), and for
    the recogniser the image's first 48 rows scaled to height 48 and 640 wide (any real text strip will do: the
    point is the same numbers through both executors)."""
    import cv2
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper
    image = cv2.imread(str(folder / json.loads((folder / "words.json").read_text())["images"][0]["file"]))
    det_in = ((image.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    strip = cv2.resize(image[:48, :640], (640, 48), interpolation=cv2.INTER_LINEAR)
    rec_in = ((strip.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    for path, x in zip(model_paths(), (det_in, rec_in)):
        m = onnx.load(str(path))
        tensors = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
        nodes = []
        for n in m.graph.node:
            attrs = {}
            for a in n.attribute:
                v = helper.get_attribute_value(a)
                if isinstance(v, onnx.TensorProto):
                    tensors[n.output[0]] = numpy_helper.to_array(v)
                    v = "<tensor>"
                elif isinstance(v, bytes):
                    v = v.decode()
                elif isinstance(v, list):
                    v = [e.decode() if isinstance(e, bytes) else e for e in v]
                attrs[a.name] = v
            nodes.append({"op": n.op_type, "inputs": list(n.input), "outputs": list(n.output), "attrs": attrs})
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts)
        feed = {sess.get_inputs()[0].name: x}
        sess.run(None, feed)  # warm-up
        c0 = time.process_time()
        y = sess.run(None, feed)[0]
        ort_cpu = time.process_time() - c0
        stem = path.stem
        (out / (stem + ".json")).write_text(json.dumps({"nodes": nodes, "input": m.graph.input[0].name,
                                                        "output": m.graph.output[0].name, "ort_cpu": ort_cpu}))
        np.savez(out / (stem + "_tensors.npz"), **{"t%d" % i: v for i, v in enumerate(tensors.values())})
        (out / (stem + "_names.json")).write_text(json.dumps(list(tensors)))
        np.save(out / (stem + "_x.npy"), x)
        np.save(out / (stem + "_ort.npy"), y)


def torch_interpret(folder: Path):
    """Runs each exported graph node by node with torch functions (Debian's torch 1.13: /usr/bin/python3) and
    compares the result with onnxruntime's. Each ONNX operator maps to one torch call (two for the SAME_UPPER
    convolutions and max pool: an explicit pad first); an operator not in the table stops the check."""
    import math
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)

    def same_upper(x, kernel, strides, value):
        pads = []
        for dim, k, st in zip(reversed(x.shape[2:]), reversed(kernel), reversed(strides)):
            total = max((math.ceil(dim / st) - 1) * st + k - dim, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads, value=value)

    def conv(v, a):
        x, w = v[0], v[1]
        b = v[2] if len(v) > 2 else None
        k, st = list(w.shape[2:]), a.get("strides", [1, 1])
        pads = a.get("pads", [0] * 4)
        if a.get("auto_pad", "NOTSET") == "SAME_UPPER":
            x, pads = same_upper(x, k, st, 0.0), [0] * 4
        assert pads[:2] == pads[2:], "asymmetric pads"
        return F.conv2d(x, w, b, st, pads[:2], a.get("dilations", [1, 1]), a.get("group", 1))

    def max_pool(v, a):
        x, k, st = v[0], a["kernel_shape"], a.get("strides", [1, 1])
        pads = a.get("pads", [0] * 4)
        if a.get("auto_pad", "NOTSET") == "SAME_UPPER":
            x, pads = same_upper(x, k, st, float("-inf")), [0] * 4
        return F.max_pool2d(x, k, st, pads[:2], ceil_mode=bool(a.get("ceil_mode", 0)))

    def softmax(v, a):  # opset 11: softmax over the flattened dims from `axis` on
        x, axis = v[0], a.get("axis", 1) % v[0].dim()
        return F.softmax(x.flatten(axis), dim=axis).reshape(x.shape)

    def div(v, a):
        if v[0].is_floating_point():
            return v[0] / v[1]
        return torch.div(v[0], v[1], rounding_mode="trunc")

    def slice_(v, a):
        x, starts, ends = v[0], v[1].tolist(), v[2].tolist()
        axes = v[3].tolist() if len(v) > 3 else list(range(len(starts)))
        steps = v[4].tolist() if len(v) > 4 else [1] * len(starts)
        idx = [slice(None)] * x.dim()
        for s_, e, ax, st in zip(starts, ends, axes, steps):
            n = x.shape[ax]
            s_, e = (s_ + n if s_ < 0 else s_), (e + n if e < 0 else e)
            idx[ax] = slice(max(0, min(s_, n)), max(0, min(e, n)), st)
        return x[tuple(idx)]

    def reshape(v, a):
        shape = [int(d) if d != 0 else v[0].shape[i] for i, d in enumerate(v[1].tolist())]
        return v[0].reshape(shape)

    def squeeze(v, a):
        x = v[0]
        for ax in sorted((ax % x.dim() for ax in a["axes"]), reverse=True):
            x = x.squeeze(ax)
        return x

    def unsqueeze(v, a):
        x = v[0]
        for ax in sorted(a["axes"]):
            x = x.unsqueeze(ax)
        return x

    def batch_norm(v, a):
        return F.batch_norm(v[0], v[3], v[4], v[1], v[2], False, 0.0, a.get("epsilon", 1e-5))

    def resize(v, a):
        assert a.get("mode") == "nearest" and a.get("coordinate_transformation_mode") == "asymmetric"
        assert a.get("nearest_mode") == "floor"
        scales = v[2].tolist()
        return F.interpolate(v[0], scale_factor=scales[2:], mode="nearest")

    table = {
        "Identity": lambda v, a: v[0],
        "Add": lambda v, a: v[0] + v[1],
        "Sub": lambda v, a: v[0] - v[1],
        "Mul": lambda v, a: v[0] * v[1],
        "Div": div,
        "Pow": lambda v, a: torch.pow(v[0], v[1]),
        "Sqrt": lambda v, a: torch.sqrt(v[0]),
        "Erf": lambda v, a: torch.erf(v[0]),
        "Relu": lambda v, a: F.relu(v[0]),
        "Sigmoid": lambda v, a: torch.sigmoid(v[0]),
        "HardSigmoid": lambda v, a: torch.clamp(a.get("alpha", 0.2) * v[0] + a.get("beta", 0.5), 0, 1),
        "Conv": conv,
        "ConvTranspose": lambda v, a: F.conv_transpose2d(
            v[0], v[1], v[2] if len(v) > 2 else None, a.get("strides", [1, 1]), a.get("pads", [0] * 4)[:2],
            a.get("output_padding", [0, 0]), a.get("group", 1), a.get("dilations", [1, 1])),
        "MaxPool": max_pool,
        "AveragePool": lambda v, a: F.avg_pool2d(v[0], a["kernel_shape"], a.get("strides"),
                                                 a.get("pads", [0] * 4)[:2], bool(a.get("ceil_mode", 0)),
                                                 bool(a.get("count_include_pad", 0))),
        "GlobalAveragePool": lambda v, a: F.adaptive_avg_pool2d(v[0], 1),
        "ReduceMean": lambda v, a: v[0].mean(dim=a["axes"], keepdim=bool(a.get("keepdims", 1))),
        "BatchNormalization": batch_norm,
        "Resize": resize,
        "Concat": lambda v, a: torch.cat(v, dim=a["axis"]),
        "MatMul": lambda v, a: torch.matmul(v[0], v[1]),
        "Softmax": softmax,
        "Transpose": lambda v, a: v[0].permute(a["perm"]),
        "Reshape": reshape,
        "Shape": lambda v, a: torch.tensor(v[0].shape, dtype=torch.int64),
        "Slice": slice_,
        "Squeeze": squeeze,
        "Unsqueeze": unsqueeze,
    }
    print("torch %s (Debian's, as libtorch 1.13), 1 thread, against onnxruntime on the same input:" % torch.__version__)
    for graph in sorted(folder.glob("*.json")):
        if graph.name.endswith("_names.json"):
            continue
        stem = graph.stem
        g = json.loads(graph.read_text())
        names = json.loads((folder / (stem + "_names.json")).read_text())
        npz = np.load(folder / (stem + "_tensors.npz"))
        env = {n: torch.from_numpy(np.array(npz["t%d" % i])) for i, n in enumerate(names)}
        x = np.load(folder / (stem + "_x.npy"))
        ref = np.load(folder / (stem + "_ort.npy"))
        env[g["input"]] = torch.from_numpy(x)
        missing = sorted({n["op"] for n in g["nodes"]} - set(table))
        if missing:
            print("  %s: no torch mapping for %s" % (stem, ", ".join(missing)))
            continue
        with torch.no_grad():
            for _ in range(2):  # the second run is timed (the first pays for allocations)
                t0 = time.process_time()
                for n in g["nodes"]:
                    env[n["outputs"][0]] = table[n["op"]]([env[i] for i in n["inputs"] if i], n["attrs"])
                cpu = time.process_time() - t0
        y = env[g["output"]].numpy()
        if y.shape != ref.shape:
            print("  %s: shape %s, onnxruntime %s" % (stem, y.shape, ref.shape))
            continue
        diff = float(np.abs(y - ref).max())
        if ref.ndim == 3:  # recogniser: [batch, columns, CTC classes]
            agree = "greedy CTC class agrees in %d of %d columns" % (
                int((y.argmax(-1) == ref.argmax(-1)).sum()), ref.shape[1])
        else:  # detector: probability map, thresholded at rapidocr's 0.3
            agree = "text mask (p > 0.3) agrees in %.4f%% of %d pixels" % (
                100.0 * float(((y > 0.3) == (ref > 0.3)).mean()), ref.size)
        print("  %s: input %s, output %s, max |torch - onnxruntime| %.2e, %s; %d nodes, %d operator types; "
              "CPU %.2f s node by node in torch, %.2f s onnxruntime" % (
                  stem, list(x.shape), list(ref.shape), diff, agree, len(g["nodes"]),
                  len({n["op"] for n in g["nodes"]}), cpu, g["ort_cpu"]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--torch-interpret":  # the system-python half of --torch-check
        torch_interpret(Path(sys.argv[2]))
        return
    ensure_venv("ppocr", REQUIREMENTS, __file__, system_site_packages=False)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, help="a folder written by `uhdlens-bench ocr --save`")
    ap.add_argument("--upscale", default="1,2", help="comma-separated factors (default 1,2)")
    ap.add_argument("--words", choices=("chars", "rapidocr"), default="chars",
                    help="how lines become words (see the module docstring)")
    ap.add_argument("--images", type=int, default=0, help="score only the first N images")
    ap.add_argument("--misses", action="store_true",
                    help="list each word not read and what was read there, and each extra word")
    ap.add_argument("--ops", action="store_true", help="describe the det and rec graphs and exit")
    ap.add_argument("--torch-check", action="store_true",
                    help="run both graphs with torch 1.13 functions (Debian's /usr/bin/python3) on the folder's "
                         "first image and compare with onnxruntime, then exit")
    args = ap.parse_args()
    if args.ops:
        print_ops()
        return
    if args.torch_check:
        import subprocess
        import tempfile
        if args.folder is None or not (args.folder / "words.json").is_file():
            ap.error("--torch-check needs the folder written by `uhdlens-bench ocr --save DIR`")
        with tempfile.TemporaryDirectory(prefix="ppocr-torch-") as tmp:
            export_graphs(Path(tmp), args.folder)
            # Debian's python with its torch 1.13 and numpy 1.24, outside this venv (the venv's numpy 2 would not
            # load under that torch).
            env = {k: v for k, v in __import__("os").environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
            subprocess.run(["/usr/bin/python3", str(Path(__file__).resolve()), "--torch-interpret", tmp],
                           check=True, env=env)
        return
    if args.folder is None:
        ap.error("give the folder written by `uhdlens-bench ocr --save DIR` (or --ops)")
    if not (args.folder / "words.json").is_file():
        sys.exit("error: %s has no words.json (write it with `uhdlens-bench ocr --save %s`)"
                 % (args.folder, args.folder))
    try:
        args.upscale = [int(k) for k in args.upscale.split(",")]
    except ValueError:
        ap.error("--upscale: comma-separated integers")
    if any(k < 1 or k > 4 for k in args.upscale):
        ap.error("--upscale: factors 1 to 4")
    run_set(args.folder, args)


if __name__ == "__main__":
    main()
