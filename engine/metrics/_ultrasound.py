"""Contrast and speckle metrics of ultrasound images between regions of interest (ROIs).

A region is a (row slice, column slice) box or a boolean mask of the image's shape. The metrics
are computed on the values given: the envelope (linear) for the classical speckle statistics
(SNR of fully developed speckle is √(π/(4−π)) ≈ 1.91), or the log-compressed B-mode a scanner
displays, which is what the clinical images here are; say which.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Region = tuple[slice, slice] | np.ndarray


def _values(image: Any, region: Region) -> np.ndarray:
    values = np.asarray(image, dtype=np.float64)[region]
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise ValueError("a region of interest needs at least 2 finite pixels")
    return values


def snr(image: Any, region: Region) -> float:
    """Speckle signal-to-noise ratio of a homogeneous region: mean / standard deviation."""
    values = _values(image, region)
    return float(values.mean() / values.std(ddof=1))


def cnr(image: Any, target: Region, background: Region) -> float:
    """Contrast-to-noise ratio |μt − μb| / √(σt² + σb²) between a target and its background.

    Examples
    --------
    >>> image = np.array([[1.0, 3.0, 5.0, 7.0]])
    >>> round(cnr(image, np.s_[:, :2], np.s_[:, 2:]), 3)
    2.0
    """
    t, b = _values(image, target), _values(image, background)
    return float(abs(t.mean() - b.mean()) / np.sqrt(t.var(ddof=1) + b.var(ddof=1)))


def gcnr(image: Any, target: Region, background: Region, *, bins: int = 256) -> float:
    """Generalised CNR (Rodriguez-Molares et al., IEEE TUFFC 2020): 1 − the overlap of the two
    regions' histograms (same ``bins`` over their common range). 0 when the regions cannot be
    told apart, 1 when no pixel value is shared. Unlike the CNR it does not change under any
    monotonic transform of the values (such as log compression), up to the binning.
    """
    t, b = _values(image, target), _values(image, background)
    edges = np.linspace(min(t.min(), b.min()), max(t.max(), b.max()), bins + 1)
    ht = np.histogram(t, edges)[0] / t.size
    hb = np.histogram(b, edges)[0] / b.size
    return float(1.0 - np.minimum(ht, hb).sum())
