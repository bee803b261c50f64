#!/usr/bin/env python3
"""Writes tests/data/plan-sweep.csv: slice plans for random sizes, computed by the official slicing code.

The functions below are the MiniCPM-V 2.0 `slice_image` / `find_best_resize` / `get_refine_size` /
`ensure_divide` geometry (spec §1.2), run with CPython float semantics; the floor variant is LLaVA-UHD
ECCV's `slice_image_minicpm` (§1.3). Running them in Python (not C++) is the point: the C++ planner is
checked against CPython's float64, int() truncation and round-half-to-even on every row.

Usage: python3 tests/tools/make_plan_sweep.py > tests/data/plan-sweep.csv
"""
import math
import random


def ensure_divide(length, patch_size, floor):
    if floor:
        return max(math.floor(length / patch_size) * patch_size, patch_size)
    return max(round(length / patch_size) * patch_size, patch_size)


def find_best_resize(size, scale, patch, floor, allow_upscale=False):
    width, height = size
    if (width * height > scale * scale) or allow_upscale:
        r = width / height
        height = int(scale / math.sqrt(r))
        width = int(height * r)
    return (ensure_divide(width, patch, floor), ensure_divide(height, patch, floor))


def get_refine_size(size, grid, scale, patch, floor):
    width, height = size
    gx, gy = grid
    rw = ensure_divide(width, gx, floor)
    rh = ensure_divide(height, gy, floor)
    best = find_best_resize((rw / gx, rh / gy), scale, patch, floor, allow_upscale=True)
    return (best[0] * gx, best[1] * gy)


def plan(w, h, scale, patch, max_slices, floor):
    log_ratio = math.log(w / h)
    ratio = w * h / (scale * scale)
    multiple = min(math.ceil(ratio), max_slices)
    if multiple <= 1:
        return None, find_best_resize((w, h), scale, patch, floor, allow_upscale=True), None
    nums = [i for i in (multiple - 1, multiple, multiple + 1) if not (i == 1 or i > max_slices)]
    grids = []
    for k in nums:
        m = 1
        while m <= k:
            if k % m == 0:
                grids.append([m, k // m])
            m += 1
    best, min_error = [1, 1], float("inf")
    for g in grids:
        e = abs(log_ratio - math.log(g[0] / g[1]))
        if e < min_error:
            best, min_error = g, e
    ov = find_best_resize((w, h), scale, patch, floor)
    return best, ov, get_refine_size((w, h), best, scale, patch, floor)


def main():
    rng = random.Random(20241124)
    sizes = set()
    while len(sizes) < 6000:
        sizes.add((rng.randint(1, 5000), rng.randint(1, 5000)))
    while len(sizes) < 9000:  # log-uniform: extreme aspect ratios and huge images
        sizes.add((int(math.exp(rng.uniform(0, math.log(100000)))), int(math.exp(rng.uniform(0, math.log(100000))))))
    for side in range(1000, 1200):  # square tie zone of §1.5
        sizes.add((side, side))
    for k in range(300, 1500, 7):  # exact 4:1 and 1:4 ratios
        sizes.add((4 * k, k)); sizes.add((k, 4 * k))
    for base in range(7, 3000, 14):  # L ≡ 7 (mod 14): half-way ties of ensure_divide
        sizes.add((base, rng.randint(1, 4000)))
    print("w,h,policy,grid_cols,grid_rows,overview_w,overview_h,refine_w,refine_h")
    for (w, h) in sorted(sizes):
        for name, scale, patch, ms, floor in (("minicpmv", 448, 14, 9, False), ("llava-uhd", 336, 14, 7, True)):
            g, ov, ref = plan(w, h, scale, patch, ms, floor)
            gc, gr = (g if g else (0, 0))
            rw, rh = (ref if ref else (0, 0))
            print(f"{w},{h},{name},{gc},{gr},{ov[0]},{ov[1]},{rw},{rh}")


if __name__ == "__main__":
    main()
