"""Metrics against a clean reference: PSNR and SSIM, in the domain of the arrays given (state it)."""

from __future__ import annotations

from typing import Any

import numpy as np


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
