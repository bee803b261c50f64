#!/usr/bin/python3
"""Writes the image-intake fixtures to tests/data/images/intake/ plus manifest.json describing what each
file must decode to (tests/unit/test_image_io.cpp reads the manifest).

Valid fixtures share one picture: four solid quadrants (top-left red, top-right green, bottom-left blue,
bottom-right white; grey levels 0/85/170/255 for grey formats) stored at 64x48. The manifest gives the size
after EXIF orientation and the colour at each quadrant's centre after orientation and alpha-on-white
compositing, computed here with Pillow (ImageOps.exif_transpose) so the C++ side is checked against an
independent implementation. Malformed fixtures are hand-crafted byte by byte (valid CRCs where the point is
that the *content* lies, e.g. an IHDR claiming 100000x100000).

Usage: /usr/bin/python3 tests/tools/make_image_fixtures.py   (Debian's python3 with python3-pil)
Deterministic: running it again rewrites identical files.
"""
import io
import json
import os
import random
import struct
import zlib

from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "images", "intake")
W, H = 64, 48
RGB_Q = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]  # TL, TR, BL, BR
GREY_Q = [0, 85, 170, 255]


def quadrant_image(mode, colours):
    im = Image.new(mode, (W, H))
    boxes = [(0, 0, W // 2, H // 2), (W // 2, 0, W, H // 2), (0, H // 2, W // 2, H), (W // 2, H // 2, W, H)]
    for box, c in zip(boxes, colours):
        im.paste(c, box)
    return im


def centres(size):
    w, h = size
    return [(w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4)]


def on_white(im):
    """Reference decode: EXIF orientation, then alpha composited on white, 8-bit RGB (what loadImage promises)."""
    im = ImageOps.exif_transpose(im)
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert("RGB")


manifest = {"valid": [], "invalid": []}


def expect_valid(name, tol, note, reference=None):
    path = os.path.join(OUT, name)
    ref = reference if reference is not None else on_white(Image.open(path))
    manifest["valid"].append({
        "file": name,
        "size": list(ref.size),
        "quadrants": [list(ref.getpixel(p)) for p in centres(ref.size)],
        "tolerance": tol,
        "note": note,
    })


def expect_invalid(name, error, note):
    manifest["invalid"].append({"file": name, "error": error, "note": note})


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


PNG_SIG = b"\x89PNG\r\n\x1a\n"


def ihdr(w, h, depth, colour_type):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0))


def png16_rgb():
    """16-bit RGB PNG (Pillow cannot write one): each quadrant's 8-bit colour scaled by 257."""
    src = quadrant_image("RGB", RGB_Q)
    raw = bytearray()
    for y in range(H):
        raw.append(0)  # filter: none
        for x in range(W):
            for v in src.getpixel((x, y)):
                raw += struct.pack(">H", v * 257)
    return PNG_SIG + ihdr(W, H, 16, 2) + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def noisy_photo(w, h, seed):
    """Photo-like content that compresses poorly, so truncating the file cuts real image data."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (w, h))
    im.putdata([(rnd.randrange(256), (x * 3 + y) % 256, rnd.randrange(256)) for y in range(h) for x in range(w)])
    return im


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb = quadrant_image("RGB", RGB_Q)
    grey = quadrant_image("L", GREY_Q)

    # --- PNG: every colour type and depth.
    rgb.save(os.path.join(OUT, "rgb8.png"))
    expect_valid("rgb8.png", 0, "8-bit RGB")
    write("rgb16.png", png16_rgb())
    expect_valid("rgb16.png", 0, "16-bit RGB", reference=rgb)
    rgba = quadrant_image("RGBA", [(255, 0, 0, 255), (0, 0, 0, 0), (0, 0, 255, 128), (255, 255, 255, 255)])
    rgba.save(os.path.join(OUT, "rgba8.png"))
    expect_valid("rgba8.png", 2, "RGBA: transparent -> white, half-transparent blue -> light blue")
    grey.save(os.path.join(OUT, "grey8.png"))
    expect_valid("grey8.png", 0, "8-bit grey")
    grey16 = Image.frombytes("I;16", (W, H), b"".join(struct.pack("<H", v * 257) for v in grey.getdata()))
    grey16.save(os.path.join(OUT, "grey16.png"))
    expect_valid("grey16.png", 0, "16-bit grey", reference=grey.convert("RGB"))
    la = Image.merge("LA", (grey, quadrant_image("L", [255, 0, 128, 255])))
    la.save(os.path.join(OUT, "greyalpha.png"))
    expect_valid("greyalpha.png", 2, "grey + alpha")
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=4)
    pal.save(os.path.join(OUT, "indexed.png"))
    expect_valid("indexed.png", 0, "palette")
    tr_index = pal.getpixel((3 * W // 4, H // 4))
    pal.save(os.path.join(OUT, "indexed-trns.png"), transparency=tr_index)
    expect_valid("indexed-trns.png", 0, "palette with a transparent entry (tRNS) -> white")

    # --- JPEG: RGB, grey, CMYK (Pillow writes Adobe-style inverted CMYK, as Photoshop does), EXIF 1..8.
    rgb.save(os.path.join(OUT, "rgb.jpg"), quality=95)
    expect_valid("rgb.jpg", 12, "baseline JPEG", reference=rgb)
    rgb.save(os.path.join(OUT, "progressive.jpg"), quality=95, progressive=True)
    expect_valid("progressive.jpg", 12, "progressive JPEG", reference=rgb)
    grey.save(os.path.join(OUT, "grey.jpg"), quality=95)
    expect_valid("grey.jpg", 6, "grey JPEG", reference=grey.convert("RGB"))
    rgb.convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=95)
    expect_valid("cmyk.jpg", 12, "CMYK JPEG", reference=rgb)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        name = "orient-%d.jpg" % orientation
        rgb.save(os.path.join(OUT, name), quality=95, exif=exif.tobytes())
        # Reference: the *lossless* picture transposed the way EXIF says.
        exif_ref = Image.open(os.path.join(OUT, name))
        method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                  4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                  6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                  8: Image.Transpose.ROTATE_90}.get(orientation)
        ref = rgb.transpose(method) if method is not None else rgb
        assert ImageOps.exif_transpose(exif_ref).size == ref.size
        expect_valid(name, 12, "EXIF orientation %d" % orientation, reference=ref)

    # --- WebP, TIFF, BMP, GIF.
    rgb.save(os.path.join(OUT, "rgb.webp"), lossless=True)
    expect_valid("rgb.webp", 0, "lossless WebP")
    rgba.save(os.path.join(OUT, "rgba.webp"), lossless=True, exact=True)
    expect_valid("rgba.webp", 2, "lossless WebP with alpha")
    rgb.save(os.path.join(OUT, "rgb.tif"))
    expect_valid("rgb.tif", 0, "TIFF RGB")
    grey16.save(os.path.join(OUT, "grey16.tif"))
    expect_valid("grey16.tif", 0, "TIFF 16-bit grey", reference=grey.convert("RGB"))
    rgb.convert("CMYK").save(os.path.join(OUT, "cmyk.tif"))
    expect_valid("cmyk.tif", 1, "TIFF CMYK", reference=rgb)
    rgba.save(os.path.join(OUT, "rgba.tif"))
    expect_valid("rgba.tif", 2, "TIFF RGBA")
    rgb.save(os.path.join(OUT, "rgb.bmp"))
    expect_valid("rgb.bmp", 0, "BMP 24-bit")
    pal.save(os.path.join(OUT, "indexed.bmp"))
    expect_valid("indexed.bmp", 0, "BMP 8-bit palette")
    second = Image.new("RGB", (W, H), (0, 0, 0))
    rgb.convert("P", palette=Image.ADAPTIVE, colors=4).save(
        os.path.join(OUT, "animated.gif"), save_all=True,
        append_images=[second.convert("P", palette=Image.ADAPTIVE, colors=4)], duration=100, loop=0)
    expect_valid("animated.gif", 0, "animated GIF: the first frame", reference=rgb)

    # --- Malformed inputs.
    write("empty.png", b"")
    expect_invalid("empty.png", "not-an-image", "0 bytes")
    write("text.png", b"This is a text file that was renamed to .png, not an image.\n" * 4)
    expect_invalid("text.png", "not-an-image", "text renamed .png")
    write("text.jpg", b"\xff\xd8 but then nothing that looks like a JPEG at all....\n")
    expect_invalid("text.jpg", "image-truncated", "JPEG signature followed by garbage")

    photo = noisy_photo(160, 120, 7)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90)
    jpg = buf.getvalue()
    write("truncated.jpg", jpg[: len(jpg) // 2])
    expect_invalid("truncated.jpg", "image-truncated", "JPEG cut in the middle of the scan data")
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90, progressive=True)
    pjpg = buf.getvalue()
    write("truncated-progressive.jpg", pjpg[: len(pjpg) * 2 // 3])
    expect_invalid("truncated-progressive.jpg", "image-truncated", "progressive JPEG cut after some scans")
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    png = buf.getvalue()
    write("truncated.png", png[: len(png) // 2])
    expect_invalid("truncated.png", "image-truncated", "PNG cut in the middle of IDAT")
    write("header-only.png", png[:33])
    expect_invalid("header-only.png", "image-truncated", "signature + IHDR, no image data")
    # Corrupt deflate stream with valid chunk CRCs: the header is fine, the data is not.
    write("bad-deflate.png", PNG_SIG + ihdr(64, 48, 8, 2) + chunk(b"IDAT", b"\x78\x9c" + b"\xff" * 64)
          + chunk(b"IEND", b""))
    expect_invalid("bad-deflate.png", "image-truncated", "IDAT that is not a deflate stream")

    # Decompression bombs: the header claims more pixels than the limit; the data is tiny.
    write("huge.png", PNG_SIG + ihdr(100000, 100000, 8, 2) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
          + chunk(b"IEND", b""))
    expect_invalid("huge.png", "image-too-large", "IHDR claims 100000x100000 (10 GP), correct CRC")
    write("huge-max.png", PNG_SIG + ihdr(0x7FFFFFFF, 0x7FFFFFFF, 8, 2) + chunk(b"IEND", b""))
    expect_invalid("huge-max.png", "image-too-large", "IHDR claims 2^31-1 on both sides (libpng refuses it)")
    sof = jpg.find(b"\xff\xc0")
    assert sof > 0
    huge_jpg = bytearray(jpg)
    huge_jpg[sof + 5: sof + 9] = struct.pack(">HH", 60000, 60000)  # SOF0: P, Y(height), X(width)
    write("huge.jpg", bytes(huge_jpg))
    expect_invalid("huge.jpg", "image-too-large", "SOF0 claims 60000x60000")

    # Zero-size images.
    write("zero.png", PNG_SIG + ihdr(0, 0, 8, 2) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    expect_invalid("zero.png", "image-empty", "IHDR says 0x0, correct CRC")
    write("zero-width.png", PNG_SIG + ihdr(0, 48, 8, 2) + chunk(b"IEND", b""))
    expect_invalid("zero-width.png", "image-empty", "IHDR says 0x48")
    zero_gif = bytearray(b"GIF89a" + struct.pack("<HH", 0, 0) + b"\x00\x00\x00" + b"\x3b")
    write("zero.gif", bytes(zero_gif))
    expect_invalid("zero.gif", "image-empty", "GIF logical screen 0x0, no frame")

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
