#!/usr/bin/python3
"""Prints the 2D sin-cos table of spec §3 computed with numpy exactly as the references do (MAE
get_2d_sincos_pos_embed, float32, grid = meshgrid(grid_w, grid_h) so the x half comes first), as a C++
initializer for tests/parity/test_modules.cpp (SinCos.MatchesNumpyReference)."""
import numpy as np


def sincos_1d(dim, pos):
    omega = np.arange(dim // 2, dtype=np.float32)
    omega /= dim / 2.0
    omega = 1.0 / 10000 ** omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, h, w):
    grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    grid = np.stack(grid, axis=0).reshape([2, 1, h, w])
    return np.concatenate([sincos_1d(dim // 2, grid[0]), sincos_1d(dim // 2, grid[1])], axis=1)


if __name__ == "__main__":
    for dim, h, w in [(8, 2, 3), (16, 3, 2)]:
        t = sincos_2d(dim, h, w).astype(np.float32)
        print(f"// sincos2d({dim}, {h}, {w})")
        print("{" + ", ".join(f"{v:.9g}f" for v in t.reshape(-1)) + "},")
