"""Speckle decorrelation of SLC data (the preprocessing self-supervised blind-spot models need).

1. Estimate the azimuth drift of the spectrum (TOPS, spotlight; ``engine.slc._drift``) and
   deramp, then the spectral response per axis (``estimate_spectrum``: passes over the scene).
2. Point targets (intensity >= ``point_target_factor`` x the scene median) are replaced by
   circular Gaussian samples, so their sidelobes are not whitened into artefacts. The samples
   are derived from each target's own value, so the result does not depend on the tiling.
3. Whiten inside the band with the separable FIR filter (tile by tile, with a halo of half its
   length), scaled to keep the mean intensity.
4. Restore the local mean intensity (``local_gain_px``). Whitening undoes the system's
   point-spread function, and with it the sidelobe leakage that lifts dark areas next to bright
   ones: on a 60 dB ultrasound frame a scene-wide gain left the darkest tenth at 0.24x its local
   mean. A smooth gain, the square root of the ratio of windowed mean intensities before and
   after whitening, puts the local level back at the window's scale and leaves the pixel-to-pixel
   whitening (the lag-1 correlation) as it was.
5. Put the drift back (reramp), then the point targets exactly as they were.

A filter that keeps the pixel grid cannot create samples the band does not hold. With a band
covering a fraction b of the spectrum, the residual lag-1 intensity correlation after perfect
whitening is about sinc(b)^2: 0.03 at b = 0.85 (typical oversampling), 0.16 at b = 0.68.
Deramping makes a drifting (TOPS) azimuth spectrum stationary, which its band then limits the same
way; the drift's variation with range is not modelled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr

from engine.exceptions import InputError, ParameterError
from engine.overlap import apply_overlapped
from engine.scene import burst_pieces, join_pieces, nodata_of
from engine.scene_statistics import intensity_quantile
from engine.slc._drift import MAX_DRIFT, deramp, estimate_drift, lag_products
from engine.slc._spectrum import SEGMENT_PX, AxisResponse, fit_response, normalised_field, periodograms, whitening_kernel

POINT_TARGET_FACTOR = 50.0
TAPS = 63
LOCAL_GAIN_PX = 15


@dataclass(frozen=True)
class SpectralModel:
    """Per-axis responses, the scene's median intensity, and the measured power gain of the
    whitening filters (applied to this scene), which the filters are divided by. The responses
    describe the deramped scene when ``azimuth_drift`` (cycles per line per line, about line
    ``drift_centre_line``) is not zero."""

    azimuth: AxisResponse
    range: AxisResponse
    median_intensity: float
    power_gain: float = 1.0
    taps: int = 63
    azimuth_drift: float = 0.0
    drift_centre_line: float = 0.0

    def kernels(self) -> tuple[np.ndarray, np.ndarray]:
        scale = 1.0 / np.sqrt(self.power_gain)
        return whitening_kernel(self.azimuth, taps=self.taps) * scale, whitening_kernel(self.range, taps=self.taps)

    def describe(self) -> dict[str, Any]:
        return {
            axis: {"band_fraction": round(r.fraction, 4), "band_centre": round(r.centre, 4)}
            for axis, r in (("azimuth", self.azimuth), ("range", self.range))
        } | {"median_intensity": self.median_intensity, "power_gain": self.power_gain,
             "azimuth_drift_cycles_per_line2": self.azimuth_drift}


def _valid_complex(scene: xr.DataArray) -> da.Array:
    if not np.issubdtype(scene.dtype, np.complexfloating):
        raise InputError(f"decorrelation needs complex (SLC) data, got {scene.dtype}; it cannot undo the detection of intensity")
    if scene.ndim != 2:
        raise InputError(f"decorrelation works on one (y, x) image at a time, got dims {scene.dims}")
    data = scene.data if isinstance(scene.data, da.Array) else da.from_array(scene.data, chunks=-1)
    data = data.astype(np.complex64)
    nodata = nodata_of(scene)
    if nodata is not None:
        data = da.where(data == nodata, np.complex64(np.nan), data)
    return data


def _segment_periodograms(block: np.ndarray, median: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    return periodograms(normalised_field(block, median, threshold))


def _segment_power(block: np.ndarray, azimuth_kernel: np.ndarray, range_kernel: np.ndarray, threshold: float) -> tuple[float, float]:
    """Power of the segment's valid, non-target pixels before and after circular filtering."""
    z = np.where(np.isfinite(block), block, 0).astype(np.complex128)
    keep = (np.abs(z) ** 2 < threshold) & (z != 0)
    z[~keep] = 0
    spectrum = np.fft.fft2(z)
    for axis, kernel in ((0, azimuth_kernel), (1, range_kernel)):
        n = z.shape[axis]
        padded = np.zeros(n, complex)
        half = kernel.size // 2
        padded[: min(n, kernel.size)] = kernel[: min(n, kernel.size)]
        response = np.fft.fft(np.roll(padded, -half))
        spectrum = spectrum * (response[:, None] if axis == 0 else response[None, :])
    out = np.fft.ifft2(spectrum)
    return float(np.sum(np.abs(z[keep]) ** 2)), float(np.sum(np.abs(out[keep]) ** 2))


def estimate_spectrum(
    scene: xr.DataArray,
    *,
    point_target_factor: float = POINT_TARGET_FACTOR,
    azimuth_band: tuple[float, float] | None = None,
    range_band: tuple[float, float] | None = None,
    taps: int = 63,
    azimuth_drift: float | None = None,
) -> SpectralModel:
    """Estimate the per-axis spectral response of a complex scene (three passes over it: the
    azimuth drift, the periodograms of the deramped scene, then the power gain of the resulting
    filters, which they are scaled by so that the mean intensity is kept).

    ``azimuth_band``/``range_band`` = (fraction, centre) override the automatic band: the share of
    the sampled spectrum the signal covers and its centre in cycles per pixel (of the deramped
    scene). ``azimuth_drift`` (cycles per line per line; 0 = none) overrides the estimated drift.
    """
    data = _valid_complex(scene)
    rows, cols = data.shape
    median = float(intensity_quantile(da.absolute(data) ** 2, 0.5).compute())
    if not np.isfinite(median) or median <= 0:
        raise InputError("the scene has no valid (non-zero) complex samples to estimate its spectrum from")
    segment = (min(SEGMENT_PX, rows), min(SEGMENT_PX, cols))
    if azimuth_drift is None:
        azimuth_drift = estimate_drift(lag_products(data, median, point_target_factor * median, segment))
    elif not abs(azimuth_drift) <= MAX_DRIFT:
        raise ParameterError(f"azimuth_drift must be within +-{MAX_DRIFT} cycles per line per line, got {azimuth_drift}")
    centre_line = (rows - 1) / 2.0
    data, _ = deramp(data, float(azimuth_drift), centre_line)
    canonical = data.rechunk(segment)
    blocks = canonical.to_delayed()
    parts = [
        dask.delayed(_segment_periodograms)(blocks[i, j], median, point_target_factor * median)
        for i in range(rows // segment[0])
        for j in range(cols // segment[1])
    ]
    (sums,) = dask.compute(dask.delayed(lambda ps: (sum(p[0] for p in ps), sum(p[1] for p in ps)))(parts))
    az_fraction, az_centre = azimuth_band or (None, None)
    rg_fraction, rg_centre = range_band or (None, None)
    model = SpectralModel(
        azimuth=fit_response(sums[0], fraction=az_fraction, centre=az_centre),
        range=fit_response(sums[1], fraction=rg_fraction, centre=rg_centre),
        median_intensity=median,
        taps=taps,
        azimuth_drift=float(azimuth_drift),
        drift_centre_line=centre_line,
    )
    azimuth_kernel, range_kernel = model.kernels()
    powers = [
        dask.delayed(_segment_power)(blocks[i, j], azimuth_kernel, range_kernel, point_target_factor * median)
        for i in range(rows // segment[0])
        for j in range(cols // segment[1])
    ]
    (totals,) = dask.compute(dask.delayed(lambda ps: (sum(p[0] for p in ps), sum(p[1] for p in ps)))(powers))
    return replace(model, power_gain=totals[1] / totals[0] if totals[0] > 0 else 1.0)


def _uniforms(keys: np.ndarray) -> np.ndarray:
    """splitmix64 of 64-bit keys -> uniform floats in (0, 1)."""
    x = keys + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)


def pseudo_gaussian(values: np.ndarray) -> np.ndarray:
    """Unit-variance circular Gaussian samples determined by ``values`` (complex64) themselves."""
    bits = np.ascontiguousarray(values, dtype=np.complex64).view(np.uint32).reshape(-1, 2).astype(np.uint64)
    keys = (bits[:, 0] << np.uint64(32)) | bits[:, 1]
    with np.errstate(over="ignore"):
        u1, u2 = _uniforms(keys), _uniforms(keys ^ np.uint64(0xD1B54A32D192ED03))
    return np.sqrt(-np.log(u1)) * np.exp(2j * np.pi * u2)


def _convolve(z: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    from scipy import ndimage

    def conv(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return ndimage.convolve1d(values, weights, axis=axis, mode="constant", cval=0.0)

    re, im, kr, ki = z.real, z.imag, kernel.real, kernel.imag
    return (conv(re, kr) - conv(im, ki)) + 1j * (conv(re, ki) + conv(im, kr))


def _valid_mean(values: np.ndarray, valid: np.ndarray, size: int) -> np.ndarray:
    """Windowed mean of ``values`` over the valid pixels of each ``size`` x ``size`` window."""
    from scipy import ndimage

    total = ndimage.uniform_filter(np.where(valid, values, 0.0), size, mode="constant")
    count = ndimage.uniform_filter(valid.astype(np.float64), size, mode="constant")
    return np.where(count > 0, total / np.maximum(count, 1e-12), 0.0)


def _local_gain(before: np.ndarray, after: np.ndarray, valid: np.ndarray, size: int) -> np.ndarray:
    """Amplitude gain that gives ``after`` the windowed mean intensity of ``before``."""
    wanted, got = _valid_mean(np.abs(before) ** 2, valid, size), _valid_mean(np.abs(after) ** 2, valid, size)
    ratio = np.divide(wanted, got, out=np.ones_like(wanted), where=got > 0)
    return np.sqrt(np.maximum(ratio, 0.0))  # box sums can round just below zero


def whiten_block(
    block: np.ndarray,
    *,
    azimuth_kernel: np.ndarray,
    range_kernel: np.ndarray,
    threshold: float,
    median: float,
    local_gain_px: int = LOCAL_GAIN_PX,
) -> np.ndarray:
    """The decorrelation kernel on one complex block carrying its halo (NaN = no pixel).

    Near the scene border and nodata part of the filter falls on no pixel: the output is
    rescaled by the share of the filter's energy that fell on valid pixels (normalised
    convolution), so the intensity keeps its level there too. With ``local_gain_px`` > 0 the
    output is then given the input's mean intensity in every window of that size, point targets
    left out of both means (they are put back as they were).
    """
    from scipy import ndimage

    invalid = ~np.isfinite(block)
    z = np.where(invalid, 0, block).astype(np.complex128)
    targets = (np.abs(z) ** 2 >= threshold) & ~invalid
    z[targets] = pseudo_gaussian(block[targets]) * np.sqrt(median)
    before = z
    z = _convolve(_convolve(z, azimuth_kernel, 0), range_kernel, 1)
    coverage = ndimage.convolve1d(
        ndimage.convolve1d((~invalid).astype(np.float64), np.abs(azimuth_kernel) ** 2, axis=0, mode="constant"),
        np.abs(range_kernel) ** 2, axis=1, mode="constant",
    ) / (np.sum(np.abs(azimuth_kernel) ** 2) * np.sum(np.abs(range_kernel) ** 2))
    z = z / np.sqrt(np.maximum(coverage, 1e-3))
    if local_gain_px:
        z = z * _local_gain(before, z, ~invalid & ~targets, local_gain_px)
    out = z.astype(np.complex64)
    out[targets] = block[targets]
    out[invalid] = np.nan
    return out


def decorrelate(
    scene: xr.DataArray,
    *,
    model: SpectralModel | None = None,
    taps: int = TAPS,
    point_target_factor: float = POINT_TARGET_FACTOR,
    azimuth_band: tuple[float, float] | None = None,
    range_band: tuple[float, float] | None = None,
    local_gain_px: int = LOCAL_GAIN_PX,
    azimuth_drift: float | None = None,
) -> xr.DataArray:
    """Decorrelate the speckle of a complex scene; returns a lazy complex DataArray.

    Estimates the azimuth drift and the spectral response now (passes over the scene) unless
    ``model`` is given; the whitening itself is lazy and tiled. Coordinates, georeferencing and
    attributes are kept; ``attrs["decorrelation"]`` records the estimated drift and bands. Each
    band of a (band, y, x) scene (polarisations) is decorrelated on its own spectrum.
    ``local_gain_px`` is the window whose mean intensity the output keeps (0: the scene-wide gain
    only). ``azimuth_drift`` (cycles per line per line) replaces the estimated drift; 0 turns
    deramping off. A debursted TOPS image is decorrelated burst by burst (each burst has its own
    Doppler history and spectrum).
    """
    if local_gain_px < 0 or local_gain_px in (1, 2):
        # A window of one pixel would give every pixel its input intensity back: no whitening.
        raise ParameterError(f"local_gain_px must be 0 (scene-wide gain only) or at least 3, got {local_gain_px}")
    pieces = burst_pieces(scene)
    if len(pieces) > 1 and model is None:
        whitened = [
            decorrelate(piece, taps=taps, point_target_factor=point_target_factor, azimuth_band=azimuth_band,
                        range_band=range_band, local_gain_px=local_gain_px, azimuth_drift=azimuth_drift)
            for piece in pieces
        ]
        out = join_pieces(whitened)
        out.attrs["decorrelation"] = json.dumps([json.loads(b.attrs["decorrelation"]) for b in whitened])
        return out
    if scene.ndim == 3 and model is None:
        bands = [
            decorrelate(scene.isel({scene.dims[0]: i}), taps=taps, point_target_factor=point_target_factor,
                        azimuth_band=azimuth_band, range_band=range_band, local_gain_px=local_gain_px,
                        azimuth_drift=azimuth_drift)
            for i in range(scene.shape[0])
        ]
        out = xr.concat(bands, dim=scene.dims[0], combine_attrs="override")
        out.attrs["decorrelation"] = json.dumps([json.loads(b.attrs["decorrelation"]) for b in bands])
        out.encoding = dict(bands[0].encoding)
        return out
    model = model or estimate_spectrum(
        scene, point_target_factor=point_target_factor, azimuth_band=azimuth_band, range_band=range_band, taps=taps,
        azimuth_drift=azimuth_drift,
    )
    azimuth_kernel, range_kernel = model.kernels()
    # The gain's window reaches further than the filter by half its size.
    halo = max(azimuth_kernel.size, range_kernel.size) // 2 + local_gain_px // 2
    data = _valid_complex(scene)
    threshold = point_target_factor * model.median_intensity
    deramped, ramp = deramp(data, model.azimuth_drift, model.drift_centre_line)
    whitened = apply_overlapped(
        deramped,
        whiten_block,
        halo=halo,
        parameters={
            "azimuth_kernel": azimuth_kernel,
            "range_kernel": range_kernel,
            "threshold": threshold,
            "median": model.median_intensity,
            "local_gain_px": local_gain_px,
        },
    )
    if ramp is not None:
        # Reramp; point targets are taken from the input itself, since a phase ramp there and back
        # is exact only to rounding.
        targets = da.isfinite(data) & (da.absolute(data) ** 2 >= threshold)
        whitened = da.where(targets, data, whitened * da.conj(ramp))
    out = scene.copy(data=whitened)
    out.encoding = {k: v for k, v in scene.encoding.items() if not k.startswith("despeckle_source")}
    out.attrs["decorrelation"] = json.dumps(model.describe() | {"local_gain_px": local_gain_px})
    out.attrs.pop("_FillValue", None)
    return out
