"""Filters whose output is a per-pixel function of the local window's mean and variance.

Boxcar, Lee, Kuan, Gamma-MAP and enhanced Lee differ only in that function, so they share one
numba driver (one compiled, cached loop) and each contributes a small estimator. All work on
intensity with Cu^2 = 1/looks, use the unbiased (n-1) variance as OTB does, skip NaN (nodata
and outside the scene) and return NaN where the centre pixel is NaN.

Edge cases, identical for all: an all-zero window gives 0, a window without variance gives its
mean. OTB tests the same cases against an absolute epsilon of 1e-10, which would treat calibrated
sigma0 values below 1e-5 as zero; this engine compares with exact zero.
"""

from __future__ import annotations

import math
from functools import partial

import numba
import numpy as np

from engine.filters._moments import mean_and_variance, new_ring, window_sums_row

_BOXCAR, _LEE, _KUAN, _GAMMA_MAP, _ENHANCED_LEE = range(5)


@numba.njit(nogil=True, cache=True, inline="always")
def _lee(value, mean, ci2, looks):  # type: ignore[no-untyped-def]
    cu2 = 1.0 / looks
    if ci2 < cu2:  # homogeneous: speckle explains all the local variation
        return mean
    w = 1.0 - cu2 / ci2
    return value * w + mean * (1.0 - w)


@numba.njit(nogil=True, cache=True, inline="always")
def _kuan(value, mean, ci2, looks):  # type: ignore[no-untyped-def]
    cu2 = 1.0 / looks
    if ci2 < cu2:
        return mean
    w = (1.0 - cu2 / ci2) / (1.0 + cu2)
    return value * w + mean * (1.0 - w)


@numba.njit(nogil=True, cache=True, inline="always")
def _gamma_map(value, mean, ci2, looks):  # type: ignore[no-untyped-def]
    cu2 = 1.0 / looks
    if ci2 < cu2:
        return mean
    if ci2 >= 2.0 * cu2:  # Ci >= Cmax = sqrt(2) Cu: point target or edge, keep the pixel
        return value
    alpha = (1.0 + cu2) / (ci2 - cu2)
    b = alpha - looks - 1.0
    d = mean * mean * b * b + 4.0 * alpha * looks * mean * value
    return (b * mean + math.sqrt(d)) / (2.0 * alpha)


@numba.njit(nogil=True, cache=True, inline="always")
def _enhanced_lee(value, mean, ci2, looks, damping):  # type: ignore[no-untyped-def]
    cu = 1.0 / math.sqrt(looks)
    cmax = math.sqrt(1.0 + 2.0 / looks)
    ci = math.sqrt(ci2)
    if ci <= cu:
        return mean
    if ci >= cmax:
        return value
    w = math.exp(-damping * (ci - cu) / (cmax - ci))
    return mean * w + value * (1.0 - w)


@numba.njit(nogil=True, cache=True)
def _moment_filter(x, radius, estimator, looks, damping):  # type: ignore[no-untyped-def]
    height, width = x.shape
    out = np.full(x.shape, np.nan, dtype=np.float32)
    if height < 2 * radius + 1 or width < 2 * radius + 1:
        return out
    # Row by row: the window sums of one row stay in cache while the estimator uses them.
    ring, scratch = new_ring(x, radius)
    count = np.empty(width)
    total = np.empty(width)
    total_sq = np.empty(width)
    for i in range(radius, height - radius):
        window_sums_row(x, radius, i, ring, scratch, count, total, total_sq)
        for j in range(radius, width - radius):
            value = np.float64(x[i, j])
            n = count[j]
            if value != value or n == 0.0:
                continue
            mean, var = mean_and_variance(n, total[j], total_sq[j])
            if estimator == _BOXCAR or mean == 0.0 or var == 0.0:
                out[i, j] = mean
                continue
            ci2 = var / (mean * mean)
            if estimator == _LEE:
                out[i, j] = _lee(value, mean, ci2, looks)
            elif estimator == _KUAN:
                out[i, j] = _kuan(value, mean, ci2, looks)
            elif estimator == _GAMMA_MAP:
                out[i, j] = _gamma_map(value, mean, ci2, looks)
            else:
                out[i, j] = _enhanced_lee(value, mean, ci2, looks, damping)
    return out


def _moment_kernel(
    estimator: int,
    block: np.ndarray,
    *,
    window_size_px: int,
    looks: float = 1.0,
    damping: float = 0.0,
) -> np.ndarray:
    return _moment_filter(block, window_size_px // 2, estimator, looks, damping)


boxcar_kernel = partial(_moment_kernel, _BOXCAR)
lee_kernel = partial(_moment_kernel, _LEE)
kuan_kernel = partial(_moment_kernel, _KUAN)
gamma_map_kernel = partial(_moment_kernel, _GAMMA_MAP)
enhanced_lee_kernel = partial(_moment_kernel, _ENHANCED_LEE)
