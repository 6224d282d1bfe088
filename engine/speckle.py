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


#: Side of the central window :func:`central_looks` measures: four 1024-px chunks at most to read.
CENTRAL_WINDOW_PX = 1024


def central_looks(intensity: Any, window_px: int = CENTRAL_WINDOW_PX) -> float | None:
    """:func:`estimate_looks` over the central ``window_px`` x ``window_px`` pixels of the first
    band (all of a smaller scene): what ``despeckle info`` reports and what a filter told nothing
    about the looks is compared with. Reads only the blocks under that window (``intensity`` may
    be a dask array); ``engine.scene_statistics.scene_looks`` is the whole scene's.

    Examples
    --------
    >>> from engine.synthetic import speckle
    >>> round(central_looks(speckle((1500, 1500), 4, np.random.default_rng(2))))
    4
    """
    plane = intensity[(0,) * (intensity.ndim - 2)]
    rows, cols = plane.shape[-2:]
    r0, c0 = max(0, rows // 2 - window_px // 2), max(0, cols // 2 - window_px // 2)
    window = plane[r0 : r0 + window_px, c0 : c0 + window_px]
    return estimate_looks(np.asarray(window.compute() if hasattr(window, "compute") else window))
