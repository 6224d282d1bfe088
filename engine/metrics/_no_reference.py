"""Metrics without a clean reference: what the ratio image noisy / filtered and the edges tell.

An ideal filter removes speckle and nothing else, so the ratio image I = noisy / filtered is
pure speckle: mean 1, the noisy image's ENL on homogeneous areas, and no structure. The ratio
statistics, the M-index and the speckle correlation test this; EPD-ROA tests the edges. The
speckle correlation and coherence also say how far an SLC's speckle is from white.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.metrics._homogeneous import Box, enl, homogeneous_boxes
from engine.metrics._reference import _pair


def _ratio_image(noisy_intensity: Any, filtered_intensity: Any) -> tuple[np.ndarray, np.ndarray]:
    """noisy / filtered where both are finite and the filtered value is positive, NaN elsewhere."""
    noisy, filtered = _pair(noisy_intensity, filtered_intensity)
    valid = np.isfinite(noisy) & np.isfinite(filtered) & (filtered > 0)
    ratio = np.where(valid, noisy / np.where(valid, filtered, 1.0), np.nan)
    return ratio, valid


def ratio_statistics(noisy_intensity: Any, filtered_intensity: Any) -> dict[str, float]:
    """Mean and standard deviation of the ratio image noisy / filtered (intensity).

    An unbiased filter gives a mean of 1; for pure L-look speckle removed and nothing else, the
    standard deviation is 1/sqrt(L).
    """
    ratio, valid = _ratio_image(noisy_intensity, filtered_intensity)
    return {"mean": float(ratio[valid].mean()), "std": float(ratio[valid].std())}


def _glcm_homogeneity(values: np.ndarray, top: float, levels: int) -> float:
    """Haralick's homogeneity of the grey-level co-occurrence matrix (scikit-image), averaged
    over the four directions at distance 1, after quantising [0, top] into ``levels`` levels."""
    from skimage.feature import graycomatrix, graycoprops

    quantised = np.clip(values / top * (levels - 1), 0, levels - 1).round().astype(np.uint8)
    matrix = graycomatrix(quantised, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=levels, symmetric=True, normed=True)
    return float(graycoprops(matrix, "homogeneity").mean())


def m_index(
    noisy_intensity: Any,
    filtered_intensity: Any,
    *,
    boxes: list[Box] | None = None,
    shuffles: int = 10,
    levels: int = 64,
    seed: int = 0,
) -> dict[str, float]:
    """The M-index of Gomez, Ospina and Frery (Remote Sensing 9(4):389, 2017): 0 for a filter
    whose ratio image is pure speckle, larger the more the filter removed or added.

    First order, on n homogeneous boxes of the noisy image (``boxes``, found with
    :func:`homogeneous_boxes` when not given): r_ENL = |ENL(noisy) − ENL(ratio)| / ENL(noisy)
    and r_μ = |1 − mean(ratio)| per box, r_ENL,μ = Σ (r_ENL + r_μ) / 2n. Second order: the GLCM
    homogeneity h₀ of the ratio image against its mean h̄ over ``shuffles`` random permutations
    of the same pixels (which destroy any structure), δh = 100 |h₀ − h̄| / h₀.
    M = (r_ENL,μ + δh) / 2. The ratio is quantised over [0, its 99.9th percentile] into
    ``levels`` grey levels; invalid pixels are set to 1 (no structure) before the GLCM. A filter
    that returns its input has a constant ratio: ENL(ratio) is infinite and so is M.
    """
    noisy = np.asarray(noisy_intensity, dtype=np.float64)
    ratio, valid = _ratio_image(noisy, filtered_intensity)
    if valid.sum() < 2:
        raise ValueError("the M-index needs pixels finite in both images with a positive filtered value")
    chosen = boxes if boxes is not None else homogeneous_boxes(noisy)
    if not chosen:
        raise ValueError("no homogeneous box with only valid pixels was found in the noisy image")
    r_enl = [abs(enl(noisy, box) - enl(ratio, box)) / enl(noisy, box) for box in chosen]
    r_mean = [abs(1.0 - float(np.nanmean(ratio[box]))) for box in chosen]
    r_enl_mean = (sum(r_enl) + sum(r_mean)) / (2 * len(chosen))

    filled = np.where(valid, ratio, 1.0)
    top = max(float(np.percentile(filled, 99.9)), 1e-12)
    h0 = _glcm_homogeneity(filled, top, levels)
    rng = np.random.default_rng(seed)
    shuffled = [_glcm_homogeneity(rng.permutation(filled.ravel()).reshape(filled.shape), top, levels) for _ in range(shuffles)]
    delta_h = 100.0 * abs(h0 - float(np.mean(shuffled))) / h0
    return {"m_index": (r_enl_mean + delta_h) / 2, "r_enl_mean": r_enl_mean, "delta_h": delta_h}


def epd_roa(original: Any, filtered: Any, *, region: Box | None = None) -> dict[str, float]:
    """Edge-preservation degree based on the ratio of averages (EPD-ROA; Feng et al., 2011),
    horizontally and vertically: Σ|f(i)/f(i+1)| / Σ|o(i)/o(i+1)| over pairs of adjacent pixels of
    the filtered image f and the original o (the noisy image, or the clean reference when there
    is one). 1 when every ratio of neighbours is kept, lower the more edges were smoothed. Pairs
    with an invalid or zero pixel are skipped; NaN for a direction with no valid pair. Computed in the domain of the arrays given
    (amplitude is usual: in 1-look intensity the mean ratio of neighbours is not finite).

    Examples
    --------
    >>> o = np.array([[1.0, 1.0, 4.0, 4.0]])
    >>> epd_roa(o, o)["horizontal"], epd_roa(o, 2 * o)["horizontal"], epd_roa(o, o)["vertical"]
    (1.0, 1.0, nan)
    """
    o, f = _pair(original, filtered)
    if region is not None:
        o, f = o[region], f[region]
    result: dict[str, float] = {}
    for name, axis in (("horizontal", 1), ("vertical", 0)):
        a, b = np.moveaxis(o, axis, 0), np.moveaxis(f, axis, 0)
        pairs = [a[:-1], a[1:], b[:-1], b[1:]]
        valid = np.logical_and.reduce([np.isfinite(p) & (p != 0) for p in pairs])
        if not valid.any():  # e.g. a single row has no vertical neighbours
            result[name] = float("nan")
            continue
        ratio_o = np.abs(pairs[0][valid] / pairs[1][valid]).sum()
        ratio_f = np.abs(pairs[2][valid] / pairs[3][valid]).sum()
        result[name] = float(ratio_f / ratio_o)
    return result


def _speckle_pairs(values: np.ndarray, axis: int, window_px: int, bright_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Neighbouring pairs along ``axis`` of an intensity image divided by its local mean, or of a
    complex field divided by its local root-mean power, leaving out pixels brighter than
    ``bright_factor`` x the median power (and their neighbours within 2 pixels), zeros and NaN."""
    from scipy import ndimage

    field = np.iscomplexobj(values)
    power = np.abs(values) ** 2 if field else values
    valid = np.isfinite(power) & (power > 0)
    filled = np.where(valid, power, 0.0)
    local = ndimage.uniform_filter(filled, window_px) / np.maximum(ndimage.uniform_filter(valid.astype(float), window_px), 1e-12)
    normalised = np.where(valid, values, 0) / np.maximum(local, 1e-300) ** (0.5 if field else 1.0)
    excluded = ndimage.binary_dilation(filled >= bright_factor * np.median(filled[valid]), iterations=2) | ~valid
    a, b = np.moveaxis(normalised, axis, 0), np.moveaxis(excluded, axis, 0)
    keep = ~(b[1:] | b[:-1])
    return a[:-1][keep], a[1:][keep]


def speckle_correlation(intensity: Any, axis: int, *, window_px: int = 7, bright_factor: float = 5.0) -> float:
    """Lag-1 correlation coefficient of the speckle along ``axis`` (0 azimuth/rows, 1 range/columns).

    The speckle is the intensity divided by its local mean (``window_px`` box), which removes
    slow changes of the scene; pixels brighter than ``bright_factor`` x the median (and their
    neighbours within 2 pixels), zeros and NaN are left out, so strong scatterers and their
    sidelobes do not stand in for speckle. Two limits, both measured by the tests: the local mean
    shares the pair's own pixels, which biases the figure low by 0.02 to 0.08 with the default
    7-pixel box (white 1-look speckle reads about -0.02, a true correlation of 0.055 about 0.02);
    and texture of the scene finer than the box counts as correlation. For complex data,
    ``speckle_coherence`` squared measures the speckle's own intensity correlation without either.
    """
    values = np.asarray(intensity, dtype=np.float64)
    first, second = _speckle_pairs(values, axis, window_px, bright_factor)
    return float(np.corrcoef(first, second)[0, 1])


def speckle_coherence(field: Any, axis: int, *, window_px: int = 7, bright_factor: float = 5.0) -> float:
    """Magnitude of the lag-1 complex correlation coefficient of a complex (SLC) field along ``axis``.

    For fully developed speckle (circular Gaussian) its square is the lag-1 correlation of the
    speckle's intensity (the Siegert relation), and unlike ``speckle_correlation`` it does not see
    the scene: texture modulates the power of the field but not its phase, so a textured scene
    with white speckle gives about 0. The field is divided by the local root-mean power
    (``window_px`` box) so that bright areas do not dominate, and bright pixels are left out as in
    ``speckle_correlation``. A band covering a share B of the spectrum, whitened inside the band
    and kept on its grid, gives |sinc(B)| (0.23 for B = 0.8): what no grid-preserving whitening
    can go below.
    """
    values = np.asarray(field, dtype=np.complex128)
    first, second = _speckle_pairs(values, axis, window_px, bright_factor)
    power = np.sqrt(np.sum(np.abs(first) ** 2) * np.sum(np.abs(second) ** 2))
    return float(np.abs(np.sum(second * np.conj(first))) / power) if power > 0 else float("nan")
