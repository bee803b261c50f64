#!/usr/bin/python3
"""Writes the resize parity fixtures to tests/data/preprocess/: a few source images (photo-like, text-like,
tiny) and what Pillow's Image.resize(size, Image.BICUBIC) makes of them at the slice plan's sizes, plus
LLaVA-1.5's expand2square + 336x336 resize, plus "stress" cases (kind "resize": a direct Image.resize, no
planner) built to expose Pillow's 8-bit rounding and clamping between its horizontal and vertical passes:
hard edges, saturated colours, coloured text, 1-px checkerboards and lines; down- and up-scaling, a strong
downscale (wide filter), extreme aspect ratios, one axis only (one pass), both axes in opposite directions,
and tiny images (1x1, 1xN, Nx1, 2x2). tests/parity/test_preprocess.cpp requires the C++ preprocessing
(core/src/pillow_resample.cpp) to reproduce every reference pixel exactly. The manifest records the Pillow
version that made them (the 8-bit resampler's arithmetic is the same from Pillow 9.4 to 11.x).

Plan sizes come from the reference slicer geometry in make_plan_sweep.py (MiniCPM-V: S=448, P=14, M=9, round;
LLaVA-UHD ECCV: S=336, P=14, M=7, floor), so the fixtures are what the official pipelines feed the encoder.

Usage: /usr/bin/python3 tests/tools/make_preprocess_fixtures.py   (deterministic)
"""
import json
import math
import os
import random
import sys

import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_plan_sweep import plan  # noqa: E402

OUT = os.path.join(HERE, "..", "data", "preprocess")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)


def photo_like(w, h, seed):
    """Smooth gradients, soft shapes and sensor-like noise."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = (int(128 + 100 * math.sin(x / 37.0) * math.cos(y / 53.0)),
                        int(255 * y / h),
                        int(90 + 80 * math.sin((x + y) / 71.0)))
    d = ImageDraw.Draw(im)
    for _ in range(25):
        x, y = rnd.randrange(w), rnd.randrange(h)
        r = rnd.randrange(8, max(9, w // 6))
        d.ellipse((x - r, y - r, x + r, y + r), fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    im = im.filter(ImageFilter.GaussianBlur(1.2))
    # A little sensor-like noise (kept low: it makes the committed PNGs incompressible).
    noise = Image.effect_noise((w, h), 12).convert("RGB")
    return Image.blend(im, noise, 0.02)


def text_like(w, h, seed):
    """A document page: black text lines on white, a grey header bar, rules — hard edges. Grey only, so the
    references can be stored as 8-bit grey PNGs (a third of the size; they load as RGB with R=G=B)."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    d.rectangle((0, 0, w, h // 14), fill=(230, 230, 230))
    d.text((w // 20, h // 40), "UHD Lens parity page", fill=(20, 20, 20), font=font)
    y = h // 10
    words = ["resize", "bicubic", "Pillow", "slice", "overview", "patch", "token", "image", "LLaVA", "UHD"]
    while y < h - 20:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randrange(6, 30)))
        d.text((w // 20, y), line, fill=(0, 0, 0), font=font)
        y += 14
        if rnd.random() < 0.08:
            d.line((w // 20, y, w - w // 20, y), fill=(90, 90, 90), width=2)
            y += 8
    return im


def edges_like(w, h, seed):
    """Saturated colour blocks with hard edges, 1-px and 2-px checkerboards, 1-px lines (horizontal, vertical,
    diagonal), isolated pixels and coloured text on saturated backgrounds: where bicubic overshoots most, so
    where rounding and clamping between the passes shows."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (w, h), (0, 0, 0))
    d = ImageDraw.Draw(im)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255),
               (255, 255, 255), (0, 0, 0)]
    bw = max(1, w // 8)
    for i, c in enumerate(colours):  # vertical bars across the top half
        d.rectangle((i * bw, 0, (i + 1) * bw - 1, h // 2), fill=c)
    px = im.load()
    for y in range(h // 2, h):  # bottom-left quarter: 1-px checkerboard red/cyan, then 2-px black/white
        for x in range(w // 4):
            px[x, y] = (255, 0, 0) if (x + y) % 2 else (0, 255, 255)
        for x in range(w // 4, w // 2):
            px[x, y] = (255, 255, 255) if ((x // 2) + (y // 2)) % 2 else (0, 0, 0)
    for x in range(w // 2, w, 3):  # 1-px vertical lines every third column
        d.line((x, h // 2, x, h - 1), fill=(255, 255, 255))
    for y in range(h // 2, h, 4):  # 1-px horizontal lines
        d.line((w // 2, y, w - 1, y), fill=(0, 0, 255))
    d.line((0, 0, w - 1, h - 1), fill=(255, 255, 0))
    d.line((0, h - 1, w - 1, 0), fill=(0, 255, 0))
    font = ImageFont.load_default()
    d.rectangle((2, h // 4 - 1, w - 3, h // 4 + 11), fill=(0, 0, 255))
    d.text((4, h // 4), "Pillow 8-bit BICUBIC", fill=(255, 0, 0), font=font)
    d.text((4, h // 2 + 4), "UHD", fill=(255, 255, 0), font=font)
    for _ in range(40):  # isolated saturated pixels
        px[rnd.randrange(w), rnd.randrange(h)] = colours[rnd.randrange(len(colours))]
    return im


def text_colour(w, h, seed):
    """Lines of small bitmap text in saturated colours on saturated backgrounds (red on blue, yellow on black,
    ...), a strong downscale target: thin strokes whose bicubic overshoot is clamped between the passes."""
    rnd = random.Random(seed)
    pairs = [((255, 0, 0), (0, 0, 255)), ((255, 255, 0), (0, 0, 0)), ((0, 0, 0), (255, 255, 255)),
             ((0, 255, 0), (255, 0, 255)), ((255, 255, 255), (255, 0, 0)), ((0, 255, 255), (0, 0, 0))]
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    words = ["resize", "bicubic", "Pillow", "clip8", "round", "slice", "UHD", "LLaVA", "8-bit", "edge"]
    for i, y in enumerate(range(0, h, 12)):
        fg, bg = pairs[i % len(pairs)]
        d.rectangle((0, y, w - 1, y + 11), fill=bg)
        d.text((rnd.randrange(4), y), " ".join(rnd.choice(words) for _ in range(12)), fill=fg, font=font)
    return im


def strip(w, h, seed):
    """A noisy, hard-edged strip for extreme aspect ratios and tiny sizes: random saturated values."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (w, h))
    im.putdata([tuple(rnd.choice((0, 255, rnd.randrange(256))) for _ in range(3)) for _ in range(w * h)])
    return im


# Direct Image.resize cases: (source name, source image, [target sizes]).
STRESS = [
    ("edges.png", lambda: edges_like(160, 120, 5),
     [(53, 40),     # down 3x (support 6: wide filter)
      (41, 29),     # down ~3.9x / 4.1x, non-integral
      (16, 12),     # down 10x: 41-tap filter
      (159, 119),   # barely down: scale just above 1
      (337, 251),   # up ~2.1x
      (97, 120),    # width only (one horizontal pass)
      (160, 61),    # height only (one vertical pass)
      (353, 120),   # width only, up
      (60, 250),    # down in x, up in y
      (500, 9)]),   # extreme aspect out of a 4:3 image
    ("text-colour.png", lambda: text_colour(400, 300, 6), [(40, 30), (133, 100), (400, 113)]),
    ("strip-tall.png", lambda: strip(7, 400, 7), [(3, 1000), (2, 57), (7, 133), (1, 400)]),
    ("strip-wide.png", lambda: strip(600, 5, 8), [(120, 2), (600, 17), (37, 1), (1, 1)]),
    ("px-1x1.png", lambda: strip(1, 1, 9), [(5, 3), (1, 7)]),
    ("px-1x9.png", lambda: strip(1, 9, 10), [(4, 4), (1, 3), (2, 20)]),
    ("px-9x1.png", lambda: strip(9, 1, 11), [(20, 2), (3, 1)]),
    ("px-2x2.png", lambda: strip(2, 2, 12), [(7, 5), (1, 1), (2, 9), (3, 2)]),
]


def expand2square(pil_img, background_color):
    """LLaVA-1.5's helper (llava/mm_utils.py), verbatim logic."""
    width, height = pil_img.size
    if width == height:
        return pil_img
    if width > height:
        result = Image.new(pil_img.mode, (width, width), background_color)
        result.paste(pil_img, (0, (width - height) // 2))
        return result
    result = Image.new(pil_img.mode, (height, height), background_color)
    result.paste(pil_img, ((height - width) // 2, 0))
    return result


def main():
    os.makedirs(OUT, exist_ok=True)
    sources = {
        "photo.png": photo_like(400, 300, 1),        # unsliced under minicpmv: upscaled overview
        "photo-wide.png": photo_like(900, 380, 2),   # sliced
        "text.png": text_like(1240, 1754, 3),        # A4 at 150 dpi: strong downscale of hard edges
        "tiny.png": photo_like(96, 72, 4),           # strong upscale
    }
    cases = []
    for name, im in sources.items():
        (im.convert("L") if name.startswith("text") else im).save(os.path.join(OUT, name), optimize=True)
        w, h = im.size
        policies = [("minicpmv", 448, 14, 9, False)]
        if name in ("text.png", "tiny.png"):
            policies.append(("llava-uhd", 336, 14, 7, True))
        for policy, scale, patch, max_slices, floor in policies:
            grid, ov, refine = plan(w, h, scale, patch, max_slices, floor)
            targets = [("overview", ov)] + ([("refine", refine)] if refine else [])
            if name == "text.png" and policy == "minicpmv":
                targets = targets[:1]  # its 1064x1512 refine is a mild downscale; the llava-uhd one is kept
            for kind, size in targets:
                out = "%s-%s-%s-%dx%d.png" % (name[:-4], policy, kind, size[0], size[1])
                ref = im.resize(size, Image.BICUBIC)
                if name.startswith("text"):
                    assert ref.convert("L").convert("RGB").tobytes() == ref.tobytes()
                    ref = ref.convert("L")
                ref.save(os.path.join(OUT, out), optimize=True)
                cases.append({"source": name, "policy": policy, "kind": kind, "size": list(size),
                              "grid": grid, "reference": out})
    # LLaVA-1.5: expand2square with the CLIP mean colour, then CLIPImageProcessor's BICUBIC resize to 336.
    pad = tuple(int(x * 255) for x in CLIP_MEAN)
    for name in ("photo.png", "text.png"):
        sq = expand2square(sources[name], pad)
        out = "%s-llava15-336x336.png" % name[:-4]
        sq.resize((336, 336), Image.BICUBIC).save(os.path.join(OUT, out), optimize=True)  # (pad is not grey)
        cases.append({"source": name, "policy": "llava15", "kind": "overview", "size": [336, 336], "grid": None,
                      "reference": out, "pad_colour": list(pad)})
    for name, make, sizes in STRESS:
        im = make()
        im.save(os.path.join(OUT, name), optimize=True)
        for size in sizes:
            out = "%s-resize-%dx%d.png" % (name[:-4], size[0], size[1])
            im.resize(size, Image.BICUBIC).save(os.path.join(OUT, out), optimize=True)
            cases.append({"source": name, "policy": None, "kind": "resize", "size": list(size), "grid": None,
                          "reference": out})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"pillow": PIL.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
