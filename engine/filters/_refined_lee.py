"""Refined Lee filter: Lee's MMSE computed on the half of the window that lies on the pixel's
side of the strongest local edge.

For a window of side w (7, 11, 15...), a 3x3 grid of overlapping sub-windows of side
s = (w - 1) / 2 (3 for w = 7), centred (w + 1) / 4 pixels apart, gives nine local means M. Four
gradient masks on M (vertical, horizontal and both diagonal edges) pick the edge direction; the
side whose sub-window means are closer to the centre's picks one of eight directional windows
(half of the square, the dividing line included: 28 pixels for w = 7). Mean and variance over
that half feed the MMSE estimate x = m + b (y - m), b = var_x / var_y,
var_x = (var_y - m^2 Cu^2) / (1 + Cu^2).
"""

from __future__ import annotations

import numba
import numpy as np

from engine.filters._moments import box_sums, mean_and_variance

# Directional half-windows: which side of which line through the centre (dy, dx offsets).
_LEFT, _RIGHT, _TOP, _BOTTOM, _TOP_LEFT, _BOTTOM_RIGHT, _TOP_RIGHT, _BOTTOM_LEFT, _FULL = range(9)


@numba.njit(nogil=True, cache=True, inline="always")
def _in_half(window, dy, dx):  # type: ignore[no-untyped-def]
    if window == _LEFT:
        return dx <= 0
    if window == _RIGHT:
        return dx >= 0
    if window == _TOP:
        return dy <= 0
    if window == _BOTTOM:
        return dy >= 0
    if window == _TOP_LEFT:
        return dy + dx <= 0
    if window == _BOTTOM_RIGHT:
        return dy + dx >= 0
    if window == _TOP_RIGHT:
        return dx - dy >= 0
    if window == _BOTTOM_LEFT:
        return dx - dy <= 0
    return True


@numba.njit(nogil=True, cache=True, inline="always")
def _side(center, side_a, side_b, window_a, window_b):  # type: ignore[no-untyped-def]
    """The directional window on the side whose mean is closer to the centre's."""
    if side_a != side_a:  # NaN: no valid pixel on that side
        return window_b
    if side_b != side_b:
        return window_a
    return window_a if abs(center - side_a) <= abs(center - side_b) else window_b


@numba.njit(nogil=True, cache=True)
def _choose_window(m):  # type: ignore[no-untyped-def]
    """Pick the directional window from the 3x3 sub-window means ``m`` (NaN where empty)."""
    left = m[0, 0] + m[1, 0] + m[2, 0]
    right = m[0, 2] + m[1, 2] + m[2, 2]
    top = m[0, 0] + m[0, 1] + m[0, 2]
    bottom = m[2, 0] + m[2, 1] + m[2, 2]
    top_left = m[0, 0] + m[0, 1] + m[1, 0]
    bottom_right = m[1, 2] + m[2, 1] + m[2, 2]
    top_right = m[0, 1] + m[0, 2] + m[1, 2]
    bottom_left = m[1, 0] + m[2, 0] + m[2, 1]
    gradients = (
        abs(right - left),  # vertical edge
        abs(bottom - top),  # horizontal edge
        abs(bottom_right - top_left),  # edge along the anti-diagonal
        abs(bottom_left - top_right),  # edge along the diagonal
    )
    best = -1
    best_value = -1.0
    for k in range(4):
        g = gradients[k]
        if g == g and g > best_value:  # NaN gradients (empty sub-windows) never win
            best = k
            best_value = g
    c = m[1, 1]
    if best == 0:
        return _side(c, left / 3.0, right / 3.0, _LEFT, _RIGHT)
    if best == 1:
        return _side(c, top / 3.0, bottom / 3.0, _TOP, _BOTTOM)
    if best == 2:
        return _side(c, top_left / 3.0, bottom_right / 3.0, _TOP_LEFT, _BOTTOM_RIGHT)
    if best == 3:
        return _side(c, top_right / 3.0, bottom_left / 3.0, _TOP_RIGHT, _BOTTOM_LEFT)
    return _FULL


@numba.njit(nogil=True, cache=True)
def _refined_lee(x, radius, cu2):  # type: ignore[no-untyped-def]
    sub = radius  # sub-window side s = (w - 1) / 2 = radius
    spacing = (2 * radius + 2) // 4  # (w + 1) / 4
    count, total, _ = box_sums(x, sub // 2)
    means = np.empty((3, 3))
    out = np.full(x.shape, np.nan, dtype=np.float32)
    for i in range(radius, x.shape[0] - radius):
        for j in range(radius, x.shape[1] - radius):
            value = np.float64(x[i, j])
            if value != value:
                continue
            for a in range(3):
                for b in range(3):
                    n = count[i + (a - 1) * spacing, j + (b - 1) * spacing]
                    means[a, b] = total[i + (a - 1) * spacing, j + (b - 1) * spacing] / n if n > 0 else np.nan
            window = _choose_window(means)
            n = 0.0
            s1 = 0.0
            s2 = 0.0
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    if _in_half(window, dy, dx):
                        v = np.float64(x[i + dy, j + dx])
                        if v == v:
                            n += 1.0
                            s1 += v
                            s2 += v * v
            mean, var_y = mean_and_variance(n, s1, s2)
            if mean == 0.0 or var_y == 0.0:
                out[i, j] = mean
                continue
            var_x = (var_y - mean * mean * cu2) / (1.0 + cu2)
            b = min(max(var_x / var_y, 0.0), 1.0)
            out[i, j] = mean + b * (value - mean)
    return out


def refined_lee_kernel(block: np.ndarray, *, window_size_px: int, looks: float) -> np.ndarray:
    return _refined_lee(block, window_size_px // 2, 1.0 / looks)
