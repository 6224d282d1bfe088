"""Frost filter: exponentially weighted mean whose weights sharpen as heterogeneity grows."""

from __future__ import annotations

import math

import numba
import numpy as np

from engine.filters._moments import box_sums, mean_and_variance


@numba.njit(nogil=True, cache=True)
def _distance_classes(radius):  # type: ignore[no-untyped-def]
    """Unique pixel distances in the window and, for each offset, its distance class.

    Weights depend only on distance, so grouping offsets by distance needs one exp per class
    (10 for a 7x7 window) instead of one per pixel of the window (49).
    """
    size = 2 * radius + 1
    squared = np.empty(size * size, dtype=np.int64)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            squared[(dy + radius) * size + dx + radius] = dy * dy + dx * dx
    unique = np.unique(squared)
    classes = np.searchsorted(unique, squared)
    return np.sqrt(unique.astype(np.float64)), classes


@numba.njit(nogil=True, cache=True)
def _frost(x, radius, damping):  # type: ignore[no-untyped-def]
    count, total, total_sq = box_sums(x, radius)
    distances, classes = _distance_classes(radius)
    n_classes = distances.shape[0]
    class_sum = np.empty(n_classes)
    class_count = np.empty(n_classes)
    size = 2 * radius + 1
    out = np.full(x.shape, np.nan, dtype=np.float32)
    for i in range(radius, x.shape[0] - radius):
        for j in range(radius, x.shape[1] - radius):
            value = np.float64(x[i, j])
            if value != value:
                continue
            mean, var = mean_and_variance(count[i, j], total[i, j], total_sq[i, j])
            if mean == 0.0 or var == 0.0:
                out[i, j] = mean
                continue
            alpha = damping * var / (mean * mean)
            class_sum[:] = 0.0
            class_count[:] = 0.0
            for dy in range(size):
                for dx in range(size):
                    v = np.float64(x[i + dy - radius, j + dx - radius])
                    if v == v:
                        c = classes[dy * size + dx]
                        class_sum[c] += v
                        class_count[c] += 1.0
            numerator = 0.0
            denominator = 0.0
            for c in range(n_classes):
                w = math.exp(-alpha * distances[c])
                numerator += w * class_sum[c]
                denominator += w * class_count[c]
            out[i, j] = numerator / denominator
    return out


def frost_kernel(block: np.ndarray, *, window_size_px: int, damping: float) -> np.ndarray:
    return _frost(block, window_size_px // 2, damping)
