"""Image-quality metrics for despeckling, with the domain and data range always explicit.

With a clean reference: PSNR and SSIM (computed in the domain of the arrays given; state it).
Without one: the equivalent number of looks of homogeneous areas, and the statistics of the
ratio image noisy / filtered, whose mean is 1 for a filter that keeps the mean radiometry and
whose variance approaches that of pure speckle (1/L in intensity) when only speckle was removed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.speckle import estimate_looks


def _pair(reference: Any, estimate: Any) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"reference and estimate shapes differ: {ref.shape} and {est.shape}")
    return ref, est


def psnr(reference: Any, estimate: Any, *, data_range: float) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE), over finite pixels.

    Examples
    --------
    >>> round(psnr([0.0, 1.0], [0.0, 0.9], data_range=1.0), 2)
    23.01
    """
    ref, est = _pair(reference, estimate)
    valid = np.isfinite(ref) & np.isfinite(est)
    mse = float(np.mean((ref[valid] - est[valid]) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


def ssim(reference: Any, estimate: Any, *, data_range: float) -> float:
    """Structural similarity (Wang et al. 2004; scikit-image's Gaussian-weighted implementation)."""
    from skimage.metrics import structural_similarity

    ref, est = _pair(reference, estimate)
    return float(structural_similarity(ref, est, data_range=data_range, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


def ratio_statistics(noisy_intensity: Any, filtered_intensity: Any) -> dict[str, float]:
    """Mean and standard deviation of the ratio image noisy / filtered (intensity).

    An unbiased filter gives a mean of 1; for pure L-look speckle removed and nothing else, the
    standard deviation is 1/sqrt(L).
    """
    noisy, filtered = _pair(noisy_intensity, filtered_intensity)
    valid = np.isfinite(noisy) & np.isfinite(filtered) & (filtered > 0)
    ratio = noisy[valid] / filtered[valid]
    return {"mean": float(ratio.mean()), "std": float(ratio.std())}


def speckle_correlation(intensity: Any, axis: int, *, window_px: int = 7, bright_factor: float = 5.0) -> float:
    """Lag-1 correlation coefficient of the speckle along ``axis`` (0 azimuth/rows, 1 range/columns).

    The speckle is the intensity divided by its local mean (``window_px`` box), which removes
    slow changes of the scene; pixels brighter than ``bright_factor`` x the median (and their
    neighbours within 2 pixels), zeros and NaN are left out, so strong scatterers and their
    sidelobes do not stand in for speckle. Fully developed, uncorrelated speckle gives about 0.
    """
    from scipy import ndimage

    values = np.asarray(intensity, dtype=np.float64)
    valid = np.isfinite(values) & (values > 0)
    filled = np.where(valid, values, 0.0)
    local = ndimage.uniform_filter(filled, window_px) / np.maximum(ndimage.uniform_filter(valid.astype(float), window_px), 1e-12)
    ratio = filled / np.maximum(local, 1e-300)
    excluded = ndimage.binary_dilation(filled >= bright_factor * np.median(filled[valid]), iterations=2) | ~valid
    a, b = np.moveaxis(ratio, axis, 0), np.moveaxis(excluded, axis, 0)
    keep = ~(b[1:] | b[:-1])
    return float(np.corrcoef(a[:-1][keep], a[1:][keep])[0, 1])


def enl(intensity: Any, region: tuple[slice, slice] | None = None) -> float:
    """Equivalent number of looks, mean^2 / variance, of a (homogeneous) region of intensity."""
    values = np.asarray(intensity, dtype=np.float64)
    if region is not None:
        values = values[region]
    values = values[np.isfinite(values)]
    return float(values.mean() ** 2 / values.var(ddof=1))


__all__ = ["enl", "estimate_looks", "psnr", "ratio_statistics", "speckle_correlation", "ssim"]
