"""NaN-aware local moments over square windows, the building block of most classical filters.

Why not ``scipy.ndimage.uniform_filter``: it cannot skip NaN (nodata would leak into every
neighbour), and running add/subtract sums lose the variance of dark pixels next to bright point
targets (a ship 80 dB above the sea leaves ~1e-16 * 1e16 of rounding error in the sum of
squares). Here every window sum is summed directly, in a fixed order, so the result for a pixel
does not depend on where the block it sits in starts: tiled output is bit-identical to
whole-image output. A ring buffer of row sums keeps the working set in cache.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _accumulate(out, values):  # type: ignore[no-untyped-def]
    """``out += values``, element by element: one loop of two arrays, which LLVM vectorises."""
    for j in range(out.shape[0]):
        out[j] += values[j]


@numba.njit(nogil=True, cache=True)
def _row_window_sums(x, i, r, n_row, s_row, q_row, vals, mask, squares):  # type: ignore[no-untyped-def]
    """Sums of count, value and value^2 over a (2r+1)-wide window along row ``i``."""
    width = x.shape[1]
    for j in range(width):
        v = np.float64(x[i, j])
        if v == v:  # not NaN
            vals[j] = v
            mask[j] = 1.0
            squares[j] = v * v
        else:
            vals[j] = 0.0
            mask[j] = 0.0
            squares[j] = 0.0
    n_row[:] = 0.0
    s_row[:] = 0.0
    q_row[:] = 0.0
    # Shifted views indexed from 0, not x[j + k - r]: numba guards signed indices against
    # negative (wrap-around) values, which keeps the loop from being vectorised (5x slower).
    inner = max(width - 2 * r, 0)
    n_out, s_out, q_out = n_row[r : r + inner], s_row[r : r + inner], q_row[r : r + inner]
    for k in range(2 * r + 1):
        n_in, s_in, q_in = mask[k : k + inner], vals[k : k + inner], squares[k : k + inner]
        _accumulate(n_out, n_in)
        _accumulate(s_out, s_in)
        _accumulate(q_out, q_in)


@numba.njit(nogil=True, cache=True)
def new_ring(x, r):  # type: ignore[no-untyped-def]
    """Ring buffer of row window sums, primed with the first 2r rows of ``x``."""
    width = x.shape[1]
    size = 2 * r + 1
    ring = np.zeros((3, size, width))
    scratch = np.empty((3, width))
    for i in range(min(size - 1, x.shape[0])):
        _row_window_sums(x, i, r, ring[0, i], ring[1, i], ring[2, i], scratch[0], scratch[1], scratch[2])
    return ring, scratch


@numba.njit(nogil=True, cache=True)
def window_sums_row(x, r, i, ring, scratch, count, total, total_sq):  # type: ignore[no-untyped-def]
    """Window sums for output row ``i`` (r <= i < height - r), rows taken in increasing order.

    Adds row ``i + r`` to the ring, then sums the ring rows in image order (i - r .. i + r), the
    same order in every block, into the 1-D outputs.
    """
    size = 2 * r + 1
    slot = (i + r) % size
    _row_window_sums(x, i + r, r, ring[0, slot], ring[1, slot], ring[2, slot], scratch[0], scratch[1], scratch[2])
    count[:] = 0.0
    total[:] = 0.0
    total_sq[:] = 0.0
    for k in range(i - r, i + r + 1):
        row = k % size
        n_in, s_in, q_in = ring[0, row], ring[1, row], ring[2, row]
        _accumulate(count, n_in)
        _accumulate(total, s_in)
        _accumulate(total_sq, q_in)


@numba.njit(nogil=True, cache=True)
def box_sums(x, r):  # type: ignore[no-untyped-def]
    """Count of valid pixels, sum and sum of squares over each (2r+1)^2 window.

    Parameters
    ----------
    x : 2-D float array, NaN where there is no valid pixel.
    r : window radius in pixels.

    Returns
    -------
    count, total, total_sq : float64 arrays shaped like ``x``; zero within ``r`` of the edge,
    where the window would leave the array.
    """
    height, width = x.shape
    count = np.zeros((height, width))
    total = np.zeros((height, width))
    total_sq = np.zeros((height, width))
    if height < 2 * r + 1 or width < 2 * r + 1:
        return count, total, total_sq
    ring, scratch = new_ring(x, r)
    for i in range(r, height - r):
        window_sums_row(x, r, i, ring, scratch, count[i], total[i], total_sq[i])
    return count, total, total_sq


@numba.njit(nogil=True, cache=True, inline="always")
def mean_and_variance(count, total, total_sq):  # type: ignore[no-untyped-def]
    """Mean and unbiased (n-1) variance from window sums; variance 0 for fewer than 2 pixels.

    The n-1 estimator is what OTB's filters use, so coefficients of variation agree with it.
    """
    mean = total / count
    if count < 2:
        return mean, 0.0
    var = (total_sq - total * mean) / (count - 1)
    if var < 0.0:  # rounding when all values are equal
        var = 0.0
    return mean, var
