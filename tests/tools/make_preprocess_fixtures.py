#!/usr/bin/python3
"""Writes the resize parity fixtures to tests/data/preprocess/: a few source images (photo-like, text-like,
tiny) and what Pillow's Image.resize(size, Image.BICUBIC) makes of them at the slice plan's sizes, plus
LLaVA-1.5's expand2square + 336x336 resize. tests/parity/test_preprocess.cpp compares the C++ preprocessing
(libtorch antialiased bicubic) against these files: mean absolute difference <= 1 grey level.

Plan sizes come from the reference slicer geometry in make_plan_sweep.py (MiniCPM-V: S=448, P=14, M=9, round;
LLaVA-UHD ECCV: S=336, P=14, M=7, floor), so the fixtures are what the official pipelines feed the encoder.

Usage: /usr/bin/python3 tests/tools/make_preprocess_fixtures.py   (deterministic)
"""
import json
import math
import os
import random
import sys

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
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
