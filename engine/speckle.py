"""Speckle statistics used across the engine: the equivalent number of looks (ENL)."""

from __future__ import annotations

from typing import Any

import numpy as np


def local_enl(intensity: np.ndarray, window_px: int = 9) -> np.ndarray:
    """ENL = mean^2 / variance in non-overlapping windows with no invalid pixel (NaN skipped).

    Returns the per-window values (1-D). Pure L-look speckle gives values scattered around L.
    """
    if window_px < 2:
        raise ValueError(f"window must be at least 2 pixels, got {window_px}")
    rows = intensity.shape[-2] // window_px * window_px
    cols = intensity.shape[-1] // window_px * window_px
    if rows == 0 or cols == 0:  # smaller than one window
        return np.empty(0)
    x = np.asarray(intensity[..., :rows, :cols], dtype=np.float64).reshape(-1, rows, cols)
    blocks = x.reshape(x.shape[0], rows // window_px, window_px, cols // window_px, window_px)
    blocks = blocks.transpose(0, 1, 3, 2, 4).reshape(-1, window_px * window_px)
    blocks = blocks[np.isfinite(blocks).all(axis=1)]
    mean = blocks.mean(axis=1)
    var = blocks.var(axis=1, ddof=1)
    ok = (var > 0) & (mean > 0)
    return np.asarray(mean[ok] ** 2 / var[ok])


def estimate_looks(intensity: np.ndarray, window_px: int = 9) -> float | None:
    """Estimate the number of looks of an intensity image: the median local ENL.

    On homogeneous areas this is the ENL; texture and edges lower local ENLs, so on varied
    scenes the estimate is a lower bound. Returns None when there are too few valid windows.

    Examples
    --------
    >>> from engine.synthetic import speckle
    >>> round(estimate_looks(speckle((900, 900), 4, np.random.default_rng(1))))
    4
    """
    values = local_enl(intensity, window_px)
    if values.size < 10:
        return None
    return float(np.median(values))


def sampled_looks(intensity: Any, *, grid: int = 3, window_px: int = 128) -> tuple[float | None, int]:
    """:func:`estimate_looks` over a ``grid`` x ``grid`` of ``window_px`` windows spread over the
    scene (its first band): a heads-up that reads only the blocks under those windows, not a
    statistic of the whole scene (``engine.scene_statistics.scene_looks`` is that). Returns the
    estimate (None with too few valid 9x9 windows) and the number of sample windows.

    Examples
    --------
    >>> from engine.synthetic import speckle
    >>> looks, windows = sampled_looks(speckle((1000, 1000), 4, np.random.default_rng(2)))
    >>> round(looks), windows
    (4, 9)
    """
    plane = intensity[(0,) * (intensity.ndim - 2)]
    height, width = plane.shape[-2:]

    def starts(size: int) -> list[int]:
        if size <= window_px:
            return [0]
        return sorted({round((size - window_px) * (2 * k + 1) / (2 * grid)) for k in range(grid)})

    pieces = [plane[r : r + window_px, c : c + window_px] for r in starts(height) for c in starts(width)]
    if hasattr(plane, "dask"):
        import dask

        pieces = list(dask.compute(*pieces))
    values = np.concatenate([local_enl(np.asarray(p)) for p in pieces])
    return (float(np.median(values)) if values.size >= 10 else None), len(pieces)
