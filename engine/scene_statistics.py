"""Scene-level statistics computed once, lazily, before tiled processing.

Some methods need a number about the whole scene (Lee sigma's 98th percentile, a network's
normalisation). Computing it per tile would make the output depend on the tiling, so it is
computed over the whole scene in a first pass, from quantities that add up exactly across
chunks (integer histogram counts), and handed to every tile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # imported where used: methods declare these statistics at registration
    import dask.array as da

# Fixed log10 bins: 40 decades in 40 000 bins resolve a quantile to 0.23 % of its value, for any
# intensity scale from 1e-20 (calibrated sigma0) to 1e20 (squared 32-bit DN).
_LOG10_RANGE = (-20.0, 20.0)
_BINS = 40_000


def _quantile_from_histogram(
    hist: np.ndarray, below: int, total: int, q: float, log10_range: tuple[float, float] = _LOG10_RANGE
) -> np.floating[Any]:
    """The ``q`` quantile of values counted in ``hist`` (equal bins of log10 over ``log10_range``),
    ``below`` more of them under the range, ``total`` in all; linear within a bin."""
    if total == 0:
        return np.float64(np.nan)
    rank = q * total
    if rank <= below:
        return np.float64(0.0)
    cumulative = below + np.cumsum(hist)
    k = int(np.searchsorted(cumulative, rank))
    if k >= hist.size:  # beyond the histogram's range: as bright as it can say
        return np.float64(10.0 ** log10_range[1])
    previous = cumulative[k - 1] if k > 0 else below
    fraction = (rank - previous) / hist[k] if hist[k] else 0.0
    width = (log10_range[1] - log10_range[0]) / hist.size
    return np.float64(10.0 ** (log10_range[0] + (k + fraction) * width))


def intensity_quantile(intensity: da.Array, q: float) -> da.Array:
    """The ``q`` quantile of the valid (finite) values of a non-negative dask array, lazily.

    The result does not depend on the chunking: it is read from exact histogram counts.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(1.0, 101.0), chunks=7)
    >>> round(float(intensity_quantile(x, 0.5).compute()), 1)
    50.0
    """
    import dask
    import dask.array as da

    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    x = intensity.astype(np.float64)
    valid = da.isfinite(x)
    positive = da.where(valid & (x > 0), x, np.nan)
    hist, _ = da.histogram(da.log10(positive), bins=_BINS, range=_LOG10_RANGE)
    below = (valid & (x <= 10.0 ** _LOG10_RANGE[0])).sum()
    total = valid.sum()
    value = dask.delayed(_quantile_from_histogram)(hist, below, total, q)
    return da.from_delayed(value, shape=(), dtype=np.float64)


# Local ENL values on a log10 grid: 1e-3 to 1e5 looks in 8 000 bins (0.23 % resolution).
_ENL_LOG10_RANGE = (-3.0, 5.0)
_ENL_BINS = 8_000
#: The ENL estimate's window, and the chunk size it is computed on (a multiple of the window,
#: so that its windows sit on one grid over the scene whatever the scene's chunking).
ENL_WINDOW_PX = 9
_ENL_CHUNK_PX = ENL_WINDOW_PX * 112
#: Above this estimated ENL a scene is not speckled SAR intensity (or is already filtered).
SPECKLE_LOOKS_LIMIT = 64.0


def _enl_histogram(block: np.ndarray) -> np.ndarray:
    from engine.speckle import local_enl

    values = local_enl(block, ENL_WINDOW_PX)
    hist, _ = np.histogram(np.log10(values[values > 0]), bins=_ENL_BINS, range=_ENL_LOG10_RANGE)
    return hist


def _median_enl(histograms: list[np.ndarray]) -> np.float64:
    hist = np.sum(histograms, axis=0)
    total = int(hist.sum())
    if total < 10:  # too few windows with valid pixels to say
        return np.float64(1.0)
    looks = _quantile_from_histogram(hist, 0, total, 0.5, _ENL_LOG10_RANGE)
    if looks > SPECKLE_LOOKS_LIMIT:
        import warnings

        from engine.exceptions import NotSpeckleWarning

        warnings.warn(
            f"the scene's equivalent number of looks is about {looks:.0f}: far smoother than SAR speckle "
            f"(1 to {SPECKLE_LOOKS_LIMIT:.0f} looks). Is it intensity? Display images (B-mode, OCT, quick-looks) "
            "and dB values need their domain stated (--domain); an already filtered scene needs no despeckling",
            NotSpeckleWarning,
            stacklevel=2,
        )
    return looks


def scene_looks(intensity: da.Array) -> da.Array:
    """The scene's equivalent number of looks as ``engine.speckle.estimate_looks`` measures it
    (median ENL of non-overlapping 9 x 9 windows with no invalid pixel), lazily, for any
    chunking: the windows lie on one grid from the scene's top-left corner. 1 when fewer than
    10 windows are valid. Texture lowers local ENLs, so on varied scenes it is a lower bound.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from engine.synthetic import speckle
    >>> x = da.from_array(speckle((900, 900), 4, np.random.default_rng(1)), chunks=250)
    >>> round(float(scene_looks(x).compute()))
    4
    """
    import dask
    import dask.array as da

    x = intensity.astype(np.float64)
    x = x.rechunk({x.ndim - 2: _ENL_CHUNK_PX, x.ndim - 1: _ENL_CHUNK_PX})
    histograms = [dask.delayed(_enl_histogram)(block) for block in x.to_delayed().ravel()]
    return da.from_delayed(dask.delayed(_median_enl)(histograms), shape=(), dtype=np.float64)
