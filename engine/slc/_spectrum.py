"""The SAR system's spectral response, estimated from the data, and the whitening filter.

SAR processors weight the signal band (a Hamming-like window) and sample it with some margin, so
neighbouring SLC pixels are correlated. The response is estimated per axis from average
periodograms. These are taken over fixed 256-pixel segments of a grid anchored at the scene origin,
so the estimate does not depend on how the scene is chunked. They are computed on the
amplitude-normalised field z / sqrt(local mean intensity): every pixel weighs the same, and
bright structures do not dominate what should describe the system. The band (its width and
centre, i.e. the spectral shift) is where the smoothed power stands within 25 dB of the peak,
above the noise floor, unless given. Its shape is a low-degree Chebyshev fit of the in-band log power,
smooth and well conditioned (unlike a degree-70 polynomial in raw bin indices). The whitening
filter is the inverse square root of that fit inside the band, with its gain capped and zero
outside. It is realised as a short separable FIR filter, so it can be applied tile by tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev

SEGMENT_PX = 256


@dataclass(frozen=True)
class AxisResponse:
    """The spectral response along one axis: band and smooth in-band shape.

    ``start``/``width`` are in bins of a ``length``-point spectrum (circular); ``coefficients``
    are Chebyshev coefficients of the log power over the band mapped to [-1, 1].
    """

    length: int
    start: int
    width: int
    coefficients: tuple[float, ...]

    @property
    def fraction(self) -> float:
        """Share of the sampled spectrum the signal occupies (1 / oversampling)."""
        return self.width / self.length

    @property
    def centre(self) -> float:
        """Centre of the band in cycles per pixel, in [-0.5, 0.5): the spectral shift."""
        centre = (self.start + (self.width - 1) / 2.0) / self.length
        return float((centre + 0.5) % 1.0 - 0.5)

    def band_indices(self) -> np.ndarray:
        return (self.start + np.arange(self.width)) % self.length

    def power(self) -> np.ndarray:
        """Modelled power over the ``length`` bins (zero outside the band)."""
        out = np.zeros(self.length)
        out[self.band_indices()] = np.exp(chebyshev.chebval(np.linspace(-1.0, 1.0, self.width), self.coefficients))
        return out


def normalised_field(block: np.ndarray, median: float, threshold: float) -> np.ndarray:
    """The amplitude-normalised field z / sqrt(local mean intensity) (9 x 9 box) that the
    system's response is estimated on: every pixel weighs the same. Point targets (intensity >=
    ``threshold``) stand at the median level, since a target's energy would dominate; NaN is 0."""
    from scipy import ndimage

    z = np.where(np.isfinite(block), block, 0).astype(np.complex128)
    z[np.abs(z) ** 2 >= threshold] = np.sqrt(median)
    local = ndimage.uniform_filter(np.abs(z) ** 2, 9)
    return np.where(local > 0, z / np.sqrt(np.maximum(local, 1e-300)), 0)


def periodograms(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums over the block of |FFT|^2 along azimuth (axis 0) and along range (axis 1)."""
    return (
        np.sum(np.abs(np.fft.fft(block, axis=0)) ** 2, axis=1),
        np.sum(np.abs(np.fft.fft(block, axis=1)) ** 2, axis=0),
    )


def _smooth(values: np.ndarray) -> np.ndarray:
    n = values.size
    k = max(3, n // 16) | 1
    wrapped = np.concatenate([values[-(k // 2):], values, values[: k // 2]])
    return np.convolve(wrapped, np.ones(k) / k, mode="valid")


def _energy_band(signal: np.ndarray, share: float) -> AxisResponse:
    """The narrowest circular window holding ``share`` of the power above the floor."""
    n = signal.size
    total = signal.sum()
    cumulative = np.concatenate([[0.0], np.cumsum(np.concatenate([signal, signal]))])
    for width in range(1, n + 1):
        sums = cumulative[width : width + n] - cumulative[:n]
        start = int(np.argmax(sums))
        if sums[start] >= share * total:
            return AxisResponse(n, start, width, ())
    return AxisResponse(n, 0, n, ())


def _detect_band(smooth: np.ndarray, threshold_db: float) -> AxisResponse:
    """The contiguous circular run of bins around the peak whose power stands less than
    ``threshold_db`` below the peak, above the noise floor (the spectrum's 5th percentile). A
    threshold finds the edges of strongly tapered windows (Hamming 0.54 falls 22 dB at the band
    edge), which an energy share misses. When the run holds less than 95 % of the power (a dip
    in a small or structured scene's spectrum cut it short), the narrowest window holding 99 %
    of it is used instead."""
    n = smooth.size
    floor = np.percentile(smooth, 5)
    signal = np.maximum(smooth - floor, 0.0)
    peak = int(np.argmax(smooth))
    above = signal > signal[peak] * 10.0 ** (-threshold_db / 10.0)
    if above.all():
        return AxisResponse(n, 0, n, ())
    left = right = 0
    while above[(peak - left - 1) % n] and left < n:
        left += 1
    while above[(peak + right + 1) % n] and right < n:
        right += 1
    run = AxisResponse(n, (peak - left) % n, min(n, left + right + 1), ())
    if signal[run.band_indices()].sum() >= 0.95 * signal.sum():
        return run
    return _energy_band(signal, 0.99)


def fit_response(
    periodogram: np.ndarray,
    *,
    fraction: float | None = None,
    centre: float | None = None,
    threshold_db: float = 25.0,
    degree: int = 4,
) -> AxisResponse:
    """Band and in-band shape from an average periodogram; ``fraction``/``centre`` override the
    automatic band (the share of the spectrum it covers, its centre in cycles per pixel)."""
    n = periodogram.size
    smooth = _smooth(periodogram)
    if fraction is None or centre is None:
        auto = _detect_band(smooth, threshold_db)
        fraction = auto.fraction if fraction is None else fraction
        centre = auto.centre if centre is None else centre
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"band fraction must be in (0, 1], got {fraction}")
    width = max(2, min(n, int(round(fraction * n))))
    start = int(round(((centre % 1.0) * n) - (width - 1) / 2.0)) % n
    indices = (start + np.arange(width)) % n
    values = np.log(np.maximum(smooth[indices], smooth.max() * 1e-12))
    coefficients = chebyshev.chebfit(np.linspace(-1.0, 1.0, width), values, deg=min(degree, width - 1))
    return AxisResponse(n, start, width, tuple(float(c) for c in coefficients))


def whitening_kernel(response: AxisResponse, *, taps: int, max_gain_db: float = 20.0) -> np.ndarray:
    """Complex FIR kernel (odd length) whose response is 1/sqrt(power) in the band, 0 outside,
    scaled so that a signal with the modelled spectrum keeps its power."""
    power = response.power()
    inside = power > 0
    gain = np.zeros(response.length)
    gain[inside] = 1.0 / np.sqrt(power[inside])
    gain[inside] = np.minimum(gain[inside], gain[inside].min() * 10.0 ** (max_gain_db / 20.0))
    impulse = np.fft.fftshift(np.fft.ifft(gain))
    taps = min(taps, response.length - (1 - response.length % 2))
    half = taps // 2
    centre = response.length // 2
    kernel = impulse[centre - half : centre + half + 1] * np.kaiser(2 * half + 1, 6.0)
    # Power kept: the realised (truncated) response applied to the modelled spectrum.
    realised = np.fft.fft(np.roll(np.pad(kernel, (0, response.length - kernel.size)), -half))
    ratio = np.sum(power * np.abs(realised) ** 2) / np.sum(power)
    return (kernel / np.sqrt(ratio)).astype(np.complex128)
