"""Improved Lee sigma filter (Lee, Wen, Ainsworth, Chen, Chen, TGRS 2009).

Three steps per pixel:

1. Point targets are kept: a pixel whose target window (3x3) holds at least ``ceil(0.55 n)``
   pixels at or above Z98, the scene's 98th intensity percentile, is retained, and so are the
   bright (>= Z98) pixels of such a window.
2. An a priori estimate comes from Lee's MMSE in a 3x3 window.
3. Only the pixels of the main window within the sigma range [I1, I2] times that estimate enter
   a second MMSE, whose speckle variance is that of the truncated speckle distribution.

I1, I2 and the truncated variance are not read from the paper's tables: they are solved here for
any number of looks and sigma from the L-look Gamma law, with the paper's two conditions (the
range holds probability ``sigma`` and the truncated distribution keeps mean 1, so the filter is
unbiased).

Z98 is a scene statistic, computed once over the whole scene (see
``engine.scene_statistics``) so tiles agree. Pass ``z98`` explicitly to process tiles of one
scene separately (``despeckle run`` records the value it used in the output's metadata).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np

from engine.filters._moments import box_sums, mean_and_variance


@lru_cache(maxsize=64)
def sigma_range(looks: float, sigma: float) -> tuple[float, float, float]:
    """Bounds (I1, I2) of the unbiased sigma range and the truncated speckle variance.

    For unit-mean L-look intensity speckle v ~ Gamma(L, rate L), find I1 < 1 < I2 with
    P(I1 <= v <= I2) = sigma and E[v | I1 <= v <= I2] = 1, and return
    (I1, I2, Var[v | I1 <= v <= I2]).

    Examples
    --------
    >>> low, high, var = sigma_range(1.0, 0.9)
    >>> round(low, 3), round(high, 3), round(var, 3)
    (0.084, 3.932, 0.67)
    """
    from scipy.optimize import brentq  # imported on use: scipy costs 0.5 s at start-up
    from scipy.special import gammainc

    def prob(shape: float, lo: float, hi: float) -> float:
        return float(gammainc(shape, looks * hi) - gammainc(shape, looks * lo))

    def upper_for(lo: float) -> float:
        # P(lo <= v <= hi) = sigma, solved for hi.
        return brentq(lambda hi: prob(looks, lo, hi) - sigma, lo, 1e3)

    def bias(lo: float) -> float:
        # E[v 1{lo<=v<=hi}] = P_{L+1}(lo, hi) for v ~ Gamma(L, rate L); unbiased when = sigma.
        return prob(looks + 1.0, lo, upper_for(lo)) - sigma

    lo_max = brentq(lambda lo: 1.0 - gammainc(looks, looks * lo) - sigma - 1e-12, 0.0, 1e3)
    low = brentq(bias, 0.0, lo_max * (1 - 1e-9))
    high = upper_for(low)
    second_moment = (looks + 1.0) / looks * prob(looks + 2.0, low, high) / sigma
    return low, high, second_moment - 1.0


@numba.njit(nogil=True, cache=True)
def _lee_sigma(x, radius, target_radius, min_count, z98, cu2, low, high, eta2):  # type: ignore[no-untyped-def]
    height, width = x.shape
    bright = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            if x[i, j] >= z98:  # False for NaN and when z98 is NaN
                bright[i, j] = 1.0
    _, n_bright, _ = box_sums(bright, target_radius)
    count3, total3, total_sq3 = box_sums(x, 1)
    out = np.full(x.shape, np.nan, dtype=np.float32)
    margin = max(radius, 2 * target_radius)
    for i in range(margin, height - margin):
        for j in range(margin, width - margin):
            value = np.float64(x[i, j])
            if value != value:
                continue
            # 1. point target: centre of a bright cluster, or a bright pixel of such a cluster
            retained = n_bright[i, j] >= min_count
            if not retained and bright[i, j] == 1.0:
                for dy in range(-target_radius, target_radius + 1):
                    for dx in range(-target_radius, target_radius + 1):
                        if n_bright[i + dy, j + dx] >= min_count:
                            retained = True
            if retained:
                out[i, j] = value
                continue
            # 2. a priori estimate: MMSE in the 3x3 window
            mean3, var3 = mean_and_variance(count3[i, j], total3[i, j], total_sq3[i, j])
            if mean3 == 0.0:
                out[i, j] = 0.0
                continue
            prior = mean3
            if var3 > 0.0:
                var_x = (var3 - mean3 * mean3 * cu2) / (1.0 + cu2)
                prior = mean3 + min(max(var_x / var3, 0.0), 1.0) * (value - mean3)
            # 3. MMSE over the pixels of the main window inside the sigma range
            lo = low * prior
            hi = high * prior
            n = 0.0
            s1 = 0.0
            s2 = 0.0
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    v = np.float64(x[i + dy, j + dx])
                    if v >= lo and v <= hi:
                        n += 1.0
                        s1 += v
                        s2 += v * v
            if n < 2.0:
                out[i, j] = prior
                continue
            mean, var = mean_and_variance(n, s1, s2)
            if var == 0.0:
                out[i, j] = mean
                continue
            var_x = (var - mean * mean * eta2) / (1.0 + eta2)
            out[i, j] = mean + min(max(var_x / var, 0.0), 1.0) * (value - mean)
    return out


def lee_sigma_kernel(
    block: np.ndarray,
    *,
    window_size_px: int,
    target_window_size_px: int,
    sigma: float,
    looks: float,
    z98: float,
) -> np.ndarray:
    low, high, eta2 = sigma_range(float(looks), float(sigma))
    target_radius = target_window_size_px // 2
    min_count = math.ceil(0.55 * target_window_size_px**2)
    return _lee_sigma(
        block, window_size_px // 2, target_radius, min_count, float(z98), 1.0 / looks, low, high, eta2
    )
