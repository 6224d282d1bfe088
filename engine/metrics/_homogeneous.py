"""The equivalent number of looks (ENL) of homogeneous areas, given or found automatically.

ENL = mean² / variance of intensity over an area where the backscatter is constant: the number
of looks for pure speckle, larger after a filter smoothed it. Its value depends entirely on the
area being truly homogeneous, so the automatic search is explicit about its test (below) and
returns the boxes it chose, so that every filter of a comparison is measured on the same ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Box = tuple[slice, slice]


def enl(intensity: Any, region: Box | None = None) -> float:
    """Equivalent number of looks, mean² / variance, of a (homogeneous) region of intensity.

    Examples
    --------
    >>> from engine.synthetic import speckle
    >>> round(enl(speckle((400, 400), 3, np.random.default_rng(0))), 1)
    3.0
    """
    values = np.asarray(intensity, dtype=np.float64)
    if region is not None:
        values = values[region]
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise ValueError("ENL needs at least 2 finite pixels in the region")
    variance = values.var(ddof=1)
    return float("inf") if variance == 0 else float(values.mean() ** 2 / variance)


def homogeneous_boxes(intensity: Any, *, box_px: int = 32, count: int = 8, cells: int = 4) -> list[Box]:
    """The ``count`` most homogeneous non-overlapping ``box_px``² boxes of an intensity image.

    Each box is cut into ``cells`` × ``cells`` cells. Under pure speckle the variance of the cell
    means is the within-cell variance divided by the cell size; backscatter that changes inside
    the box (edges, texture) makes it larger. The ratio of the two (an F statistic, about 1 on
    flat ground, whatever the number of looks or the brightness) ranks the boxes. Boxes with
    invalid (NaN, inf, ≤ 0) pixels are never chosen. Best first.
    """
    values = np.asarray(intensity, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"homogeneous_boxes needs a 2-D image, got shape {values.shape}")
    if box_px < 2 * cells or box_px % cells:
        raise ValueError(f"box_px must be a multiple of cells ({cells}) of at least {2 * cells}, got {box_px}")
    rows, cols = values.shape[0] // box_px, values.shape[1] // box_px
    if rows * cols == 0:
        raise ValueError(f"the image ({values.shape[0]}×{values.shape[1]}) is smaller than one {box_px}-pixel box")
    cell = box_px // cells
    blocks = values[: rows * box_px, : cols * box_px].reshape(rows, cells, cell, cols, cells, cell)
    blocks = blocks.transpose(0, 3, 1, 4, 2, 5).reshape(rows, cols, cells * cells, cell * cell)
    valid = (np.isfinite(blocks) & (blocks > 0)).all(axis=(2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        between = blocks.mean(axis=3).var(axis=2, ddof=1)
        within = blocks.var(axis=3, ddof=1).mean(axis=2) / (cell * cell)
        score = np.where(valid & (within > 0), between / within, np.inf)
    order = np.argsort(score, axis=None, kind="stable")[:count]
    chosen = [divmod(int(i), cols) for i in order if np.isfinite(score.flat[i])]
    return [(slice(r * box_px, (r + 1) * box_px), slice(c * box_px, (c + 1) * box_px)) for r, c in chosen]


def enl_auto(intensity: Any, *, boxes: list[Box] | None = None, box_px: int = 32, count: int = 8) -> float:
    """Mean ENL over homogeneous boxes: ``boxes`` when given (choose them once on the noisy image
    with :func:`homogeneous_boxes` to compare filters fairly), else found on ``intensity`` itself.
    """
    values = np.asarray(intensity, dtype=np.float64)
    chosen = boxes if boxes is not None else homogeneous_boxes(values, box_px=box_px, count=count)
    if not chosen:
        raise ValueError("no homogeneous box with only valid pixels was found")
    return float(np.mean([enl(values, box) for box in chosen]))
