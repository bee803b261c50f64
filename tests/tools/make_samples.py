#!/usr/bin/python3
"""Draws the bundled sample images in resources/samples/ (deterministic; re-run to regenerate).

Three kinds of picture a user would ask about: a desktop screenshot with small UI text, a printed document
page, and a scene of coloured shapes. They only need to look plausible and to exercise the slicer with
different aspect ratios (16:9, A4 portrait, 8:5)."""
import os
import random
from PIL import Image, ImageDraw, ImageFont

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'resources', 'samples')
FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'
BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'
SERIF = '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf'
MONO = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf'


def font(path, size):
    return ImageFont.truetype(path, size)


def screenshot():
    img = Image.new('RGB', (1920, 1080), (58, 110, 165))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 1040, 1920, 1080], fill=(30, 30, 36))
    d.text((16, 1050), 'Activities    Files    Terminal', font=font(FONT, 16), fill=(230, 230, 230))
    d.text((1800, 1050), '14:32', font=font(FONT, 16), fill=(230, 230, 230))
    # a file manager window
    d.rectangle([120, 90, 1180, 820], fill=(246, 246, 246), outline=(40, 40, 40))
    d.rectangle([120, 90, 1180, 126], fill=(222, 222, 226))
    d.text((140, 98), 'Documents — Files', font=font(BOLD, 16), fill=(20, 20, 20))
    rnd = random.Random(7)
    names = ['quarterly-report-2026.pdf', 'invoice_00417.pdf', 'holiday photos', 'budget.ods', 'notes.txt',
             'thesis-draft-v3.odt', 'scan_0001.png', 'contract (signed).pdf', 'readme.md', 'backup.tar.gz',
             'meeting-minutes.docx', 'train_log.csv', 'slides_final_FINAL.odp', 'receipt-apr.jpg']
    for i, n in enumerate(names):
        y = 150 + i * 44
        d.rectangle([150, y, 174, y + 24], fill=(90 + rnd.randint(0, 120), 140, 200))
        d.text((190, y + 3), n, font=font(FONT, 15), fill=(25, 25, 25))
        d.text((700, y + 3), f'{rnd.randint(2, 980)} kB', font=font(FONT, 13), fill=(90, 90, 90))
        d.text((850, y + 3), f'2026-0{rnd.randint(1, 9)}-{rnd.randint(10, 28)}', font=font(FONT, 13), fill=(90, 90, 90))
    # a dialog with small text
    d.rectangle([1000, 400, 1640, 700], fill=(252, 252, 252), outline=(30, 30, 30), width=2)
    d.rectangle([1000, 400, 1640, 436], fill=(200, 60, 60))
    d.text((1016, 408), 'Disk almost full', font=font(BOLD, 16), fill=(255, 255, 255))
    d.text((1020, 460), 'Only 1.2 GB of 512 GB is free on "Home".', font=font(FONT, 14), fill=(20, 20, 20))
    d.text((1020, 486), 'Empty the trash or move files to another disk.', font=font(FONT, 12), fill=(60, 60, 60))
    d.text((1020, 506), 'Error code: ENOSPC (28) at /home/user/.cache', font=font(MONO, 10), fill=(90, 90, 90))
    for x, label in ((1330, 'Ignore'), (1480, 'Empty Trash')):
        d.rectangle([x, 630, x + 140, 670], fill=(230, 230, 234), outline=(120, 120, 120))
        d.text((x + 20, 640), label, font=font(FONT, 15), fill=(20, 20, 20))
    # a terminal
    d.rectangle([1240, 90, 1860, 360], fill=(24, 24, 28))
    lines = ['$ df -h /home', 'Filesystem  Size  Used Avail Use%', '/dev/nvme0n1p3 512G 511G 1.2G 100%',
             '$ du -sh ~/.cache', '48G   /home/user/.cache', '$ _']
    for i, l in enumerate(lines):
        d.text((1256, 104 + i * 20), l, font=font(MONO, 13), fill=(120, 230, 120))
    img.save(os.path.join(OUT, 'screenshot.png'), optimize=True)


def document():
    img = Image.new('RGB', (1240, 1754), (255, 255, 255))  # A4 at 150 dpi
    d = ImageDraw.Draw(img)
    d.text((120, 110), 'Annual Report 2026', font=font(BOLD, 40), fill=(10, 10, 10))
    d.text((120, 170), 'Northwind Optical Instruments Ltd.', font=font(SERIF, 20), fill=(60, 60, 60))
    words = ('the lens array resolves fine detail at native resolution while the resampler compresses each '
             'slice into a fixed number of tokens so that the language model sees the whole page without '
             'losing small print or the structure of tables and figures').split()
    rnd = random.Random(3)
    y = 240
    for para in range(6):
        for line in range(6):
            text = ' '.join(rnd.choice(words) for _ in range(13))
            d.text((120, y), text.capitalize() if line == 0 else text, font=font(SERIF, 17), fill=(25, 25, 25))
            y += 26
        y += 18
        if para == 2:
            # a small table
            d.rectangle([120, y, 1120, y + 200], outline=(0, 0, 0))
            cols = ['Quarter', 'Revenue', 'Units', 'Margin']
            for c, name in enumerate(cols):
                d.text((140 + c * 250, y + 10), name, font=font(BOLD, 16), fill=(0, 0, 0))
            for r in range(4):
                yy = y + 45 + r * 38
                d.line([120, yy - 6, 1120, yy - 6], fill=(160, 160, 160))
                vals = [f'Q{r + 1}', f'{rnd.randint(10, 99)}.{rnd.randint(0, 9)} M', str(rnd.randint(1000, 9999)),
                        f'{rnd.randint(10, 40)}%']
                for c, v in enumerate(vals):
                    d.text((140 + c * 250, yy), v, font=font(SERIF, 15), fill=(20, 20, 20))
            y += 230
    d.text((120, 1680), 'Page 4 of 31  ·  Confidential — do not distribute', font=font(SERIF, 11), fill=(100, 100, 100))
    img.save(os.path.join(OUT, 'document.png'), optimize=True)


def shapes():
    img = Image.new('RGB', (1600, 1000), (236, 228, 210))
    d = ImageDraw.Draw(img)
    rnd = random.Random(11)
    d.rectangle([0, 700, 1600, 1000], fill=(120, 160, 90))
    d.ellipse([1300, 60, 1460, 220], fill=(250, 200, 60))
    colours = [(200, 50, 50), (40, 90, 200), (40, 160, 90), (150, 60, 170), (230, 130, 30)]
    for i in range(14):
        x, y = rnd.randint(40, 1450), rnd.randint(250, 820)
        s = rnd.randint(50, 150)
        c = colours[i % len(colours)]
        kind = i % 3
        if kind == 0:
            d.rectangle([x, y, x + s, y + s], fill=c, outline=(0, 0, 0), width=3)
        elif kind == 1:
            d.ellipse([x, y, x + s, y + s], fill=c, outline=(0, 0, 0), width=3)
        else:
            d.polygon([(x, y + s), (x + s // 2, y), (x + s, y + s)], fill=c, outline=(0, 0, 0))
    d.text((60, 60), 'How many red shapes are there?', font=font(BOLD, 30), fill=(40, 40, 40))
    d.text((1380, 960), 'tiny label: #42', font=font(FONT, 9), fill=(30, 30, 30))
    img.save(os.path.join(OUT, 'shapes.png'), optimize=True)


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    screenshot()
    document()
    shapes()
