"""Median filter over the valid pixels of a square window."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _median(x, radius):  # type: ignore[no-untyped-def]
    size = 2 * radius + 1
    values = np.empty(size * size)
    out = np.full(x.shape, np.nan, dtype=np.float32)
    for i in range(radius, x.shape[0] - radius):
        for j in range(radius, x.shape[1] - radius):
            if x[i, j] != x[i, j]:
                continue
            n = 0
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    v = x[i + dy, j + dx]
                    if v == v:
                        values[n] = v
                        n += 1
            out[i, j] = np.median(values[:n])
    return out


def median_kernel(block: np.ndarray, *, window_size_px: int) -> np.ndarray:
    return _median(block, window_size_px // 2)
