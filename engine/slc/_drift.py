"""Azimuth spectral drift (TOPS, spotlight): estimating it and taking it out before whitening.

In TOPS (Sentinel-1 IW/EW) and spotlight modes the antenna is steered along azimuth, so the
Doppler centroid, the centre of the azimuth spectrum, moves linearly from line to line: over a
Sentinel-1 IW burst it sweeps the sampled spectrum several times, and even a 150-line crop spans
most of it. An average periodogram of such data looks flat, and a whitening filter built from it
does nothing. Multiplying line n by exp(-i pi k (n - n0)^2) ("deramping") makes the spectrum
stationary; the same phase with the opposite sign puts the drift back after whitening. Both are
unit-modulus, so intensities are unchanged.

The drift rate k (cycles per line per line) is estimated from the data, so it needs no burst
timing: the phase of the lag-1 azimuth correlation of line n is 2 pi times the local Doppler
centroid, which advances by k per line. With c(n) the sum over range of z(n+1) conj(z(n)), k is
where |sum_n c(n) exp(-2 pi i k n)| peaks, a Fourier transform of c. c is taken on the
amplitude-normalised field the periodograms are taken on (targets at the median level), over fixed
segments of a grid anchored at the scene origin, so the estimate does not depend on the chunking.
The drift of Sentinel-1 IW is about 0.006 cycles/line^2 (1.5 kHz/s at 2.06 ms per line); the
search is limited to |k| <= 0.05, a full sweep of the spectrum every 20 lines, beyond any system.
The drift's small variation with range is not modelled. One rate describes one burst: a
debursted TOPS mosaic drifts in a sawtooth, so its bursts are decorrelated one by one (``decorrelate``
splits a mosaic at its ``burst`` coordinate).
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from engine.slc._spectrum import normalised_field

#: The search range for the drift rate, cycles per line per line.
MAX_DRIFT = 0.05


def _segment_lag_products(block: np.ndarray, median: float, threshold: float) -> np.ndarray:
    """Per line of a segment: sum over range of z(n+1) conj(z(n)) of the normalised field."""
    normalised = normalised_field(block, median, threshold)
    return np.sum(normalised[1:] * np.conj(normalised[:-1]), axis=1)


def lag_products(data: da.Array, median: float, threshold: float, segment: tuple[int, int]) -> np.ndarray:
    """c(n), n = 0 .. rows - 2, summed over segments of the canonical grid (one pass over the
    scene); lines that straddle two segment rows carry 0."""
    blocks = data.rechunk(segment).to_delayed()
    out = np.zeros(max(data.shape[0] - 1, 0), complex)
    parts = [
        [dask.delayed(_segment_lag_products)(blocks[i, j], median, threshold) for j in range(blocks.shape[1])]
        for i in range(blocks.shape[0])
    ]
    (sums,) = dask.compute([dask.delayed(sum)(row, np.complex128(0)) for row in parts])
    for i, products in enumerate(sums):
        start = i * segment[0]
        out[start : start + np.size(products)] = products
    return out


def estimate_drift(products: np.ndarray, max_drift: float = MAX_DRIFT) -> float:
    """The rate k at which the phase of ``products`` (c(n)) turns, in cycles per line: the peak
    of |sum c(n) exp(-2 pi i k n)|, found on a fine grid, then refined by golden-section search."""
    n = products.size
    if n < 8 or not np.any(products):
        return 0.0
    lines = np.arange(n)

    def strength(k: float) -> float:
        return float(np.abs(np.sum(products * np.exp(-2j * np.pi * k * lines))))

    size = 1 << int(np.ceil(np.log2(16 * n)))
    spectrum = np.abs(np.fft.fft(products, size))
    frequencies = np.fft.fftfreq(size)
    allowed = np.abs(frequencies) <= max_drift
    best = float(frequencies[allowed][np.argmax(spectrum[allowed])])
    step = 1.0 / size
    low, high = max(best - step, -max_drift), min(best + step, max_drift)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(40):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if strength(a) >= strength(b):
            high = b
        else:
            low = a
    return (low + high) / 2.0


def deramp(data: da.Array, drift: float, centre_line: float) -> tuple[da.Array, da.Array | None]:
    """``data`` (rows, cols) times exp(-i pi k (n - n0)^2) per line, and that ramp as a (rows, 1)
    complex64 dask array (None when k = 0): multiplying by its conjugate puts the drift back."""
    if not drift:
        return data, None
    n = da.arange(data.shape[0], chunks=(data.chunks[0],), dtype=np.float64) - centre_line
    cycles = (0.5 * drift * n * n) % 1.0  # float64 keeps the phase exact to ~1e-10 cycles
    ramp = da.exp(-2j * np.pi * cycles).astype(np.complex64)[:, None]
    return data * ramp, ramp
