"""Simulated B-mode images with a speckle-free reference: what a scanner shows of known tissue.

The physics, pixel by pixel on the display grid: diffuse scatterers with a local echogenicity
R (a circular complex Gaussian field of variance R), convolved with the point-spread function
(Gaussian envelope, wider laterally than axially, tilted as a sector scan tilts it), envelope
detection (intensity |h * s|^2, fully developed and spatially correlated speckle), log
compression to a dynamic range and 8-bit grey levels, then what scan conversion and storage add
(interpolation blur, JPEG). The speckle-free reference is the expected intensity
E|h * s|^2 = |h|^2 * R shown on the same display, darkened by the mean of log speckle (the
engine's display convention: despeckling keeps the grey level of a speckle region, see
:data:`engine.domain.LOG_SPECKLE_MEAN_DB`). Blur and JPEG keep the mean grey level, so the
offset holds for them too.

Used by ``training/`` (``data.kind: bmode-synthetic``) and by ``benchmarks/ultrasound.py``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from engine.domain import DISPLAY_MAX, LOG_SPECKLE_MEAN_DB, intensity_to_display


@dataclass(frozen=True)
class BModeImaging:
    """How one scanner setting turns echogenicity into displayed grey levels.

    ``axial_px``/``lateral_px``: standard deviation of the amplitude point-spread function
    (pixels of the display grid); ``tilt_deg``: its rotation (sector scans); ``dynamic_range_db``:
    the log compression (``DISPLAY_MAX`` grey levels span it); ``median_grey``: the grey level
    given to the median echo (the gain); ``blur_px``: scan-conversion interpolation;
    ``jpeg_quality``: 0 for lossless storage.
    """

    axial_px: float = 1.0
    lateral_px: float = 2.0
    tilt_deg: float = 0.0
    dynamic_range_db: float = 60.0
    median_grey: float = 100.0
    blur_px: float = 0.0
    jpeg_quality: int = 0

    @classmethod
    def random(cls, rng: np.random.Generator) -> BModeImaging:
        """A setting drawn over what clinical scanners and OCT systems show (grain of 1-8 px,
        40-80 dB, with or without interpolation and JPEG)."""
        axial = float(rng.uniform(0.6, 2.2))
        return cls(
            axial_px=axial,
            lateral_px=float(axial * rng.uniform(1.0, 2.5)),
            tilt_deg=float(rng.uniform(-30, 30)) if rng.random() < 0.5 else 0.0,
            dynamic_range_db=float(rng.uniform(40, 80)),
            median_grey=float(rng.uniform(50, 170)),
            blur_px=float(rng.uniform(0.3, 1.0)) if rng.random() < 0.5 else 0.0,
            jpeg_quality=int(rng.integers(70, 96)) if rng.random() < 0.4 else 0,
        )

    @property
    def margin_px(self) -> int:
        """Pixels the point-spread function reaches: simulate that much beyond the kept area."""
        return int(math.ceil(3 * max(self.axial_px, self.lateral_px) + 2 * self.blur_px)) + 1

    def psf(self) -> np.ndarray:
        """The amplitude point-spread function, normalised to unit energy (sum |h|^2 = 1)."""
        half = int(math.ceil(3 * max(self.axial_px, self.lateral_px)))
        y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
        t = math.radians(self.tilt_deg)
        axial = y * math.cos(t) + x * math.sin(t)
        lateral = -y * math.sin(t) + x * math.cos(t)
        h = np.exp(-0.5 * ((axial / self.axial_px) ** 2 + (lateral / self.lateral_px) ** 2))
        return h / math.sqrt((h * h).sum())

    def simulate(self, echogenicity: np.ndarray, rng: np.random.Generator) -> BModeImage:
        """The displayed B-mode image of ``echogenicity`` (linear, > 0) and its reference, on the
        grid of ``echogenicity`` less ``margin_px`` on every side."""
        m = self.margin_px
        if min(echogenicity.shape) <= 2 * m:
            raise ValueError(f"echogenicity map {echogenicity.shape} is too small for a margin of {m} px")
        r = np.maximum(echogenicity.astype(np.float64), 1e-12)
        scatterers = np.sqrt(r / 2) * (rng.standard_normal(r.shape) + 1j * rng.standard_normal(r.shape))
        h = self.psf()
        field = _convolve(scatterers, h)
        intensity = (field.real**2 + field.imag**2)[m:-m, m:-m]
        expected = _convolve(r, h * h).real[m:-m, m:-m]
        # The gain: the median echo at median_grey. Intensities are relative to the display's top.
        top = float(np.median(expected)) * 10 ** ((1 - self.median_grey / DISPLAY_MAX) * self.dynamic_range_db / 10)
        grey = intensity_to_display(intensity / top, self.dynamic_range_db)
        if self.blur_px:
            grey = ndimage.gaussian_filter(grey, self.blur_px, mode="reflect")
        grey = _store(grey, self.jpeg_quality)
        # The reference: the expected intensity shown at the grey level of its speckle.
        clean_db = 10 * np.log10(np.maximum(expected / top, 1e-30))
        reference = np.clip(DISPLAY_MAX * (1 + (clean_db + LOG_SPECKLE_MEAN_DB) / self.dynamic_range_db), 0, DISPLAY_MAX)
        return BModeImage(grey.astype(np.float32), reference.astype(np.float32), self)


@dataclass(frozen=True)
class BModeImage:
    """``display``: noisy grey levels (whole numbers 0-255); ``reference``: the speckle-free
    display, at the grey level of the speckle (:data:`engine.domain.LOG_SPECKLE_MEAN_DB`)."""

    display: np.ndarray
    reference: np.ndarray
    imaging: BModeImaging


def _convolve(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve

    return fftconvolve(a, kernel, mode="same")


def _store(grey: np.ndarray, quality: int) -> np.ndarray:
    """8-bit grey levels as the scanner stores them: rounded, or through JPEG at ``quality``."""
    levels = np.clip(np.rint(grey), 0, DISPLAY_MAX).astype(np.uint8)
    if not quality:
        return levels.astype(np.float64)
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def tissue_phantom(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random echogenicity map (linear, median about 1): tissue layers with wavy boundaries,
    slow background variation, anechoic cysts, hypo- and hyperechoic lesions with soft edges,
    bright specular lines and isolated point scatterers."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    size = float(max(h, w))
    db = ndimage.gaussian_filter(rng.standard_normal(shape), size / 10, mode="wrap")
    db *= rng.uniform(1.0, 4.0) / max(float(db.std()), 1e-9)
    for _ in range(int(rng.integers(0, 4))):  # layers: everything below a wavy boundary
        depth = rng.uniform(0.1, 0.9) * h
        wave = rng.uniform(0, 0.08) * h * np.sin(2 * np.pi * x / (rng.uniform(0.3, 2.0) * w) + rng.uniform(0, 2 * np.pi))
        db += np.where(y > depth + wave, rng.uniform(-8, 8), 0.0)
    for _ in range(int(rng.integers(1, 6))):  # inclusions
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ay, ax = rng.uniform(3, size / 4, size=2)
        t = rng.uniform(0, np.pi)
        u = ((y - cy) * np.cos(t) + (x - cx) * np.sin(t)) / ay
        v = (-(y - cy) * np.sin(t) + (x - cx) * np.cos(t)) / ax
        kind = rng.random()
        level = rng.uniform(-45, -25) if kind < 0.3 else rng.uniform(-12, -4) if kind < 0.65 else rng.uniform(4, 12)
        inside = (u * u + v * v <= 1).astype(np.float64)
        db += level * ndimage.gaussian_filter(inside, rng.uniform(0.3, 2.0))
    for _ in range(int(rng.integers(0, 4))):  # specular lines (fascia, vessel walls)
        y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
        t = rng.uniform(-0.4, 0.4) + (np.pi / 2 if rng.random() < 0.2 else 0.0)
        length, width = rng.uniform(0.2, 0.8) * size, rng.uniform(0.6, 1.6)
        along = (x - x0) * np.cos(t) + (y - y0) * np.sin(t)
        across = -(x - x0) * np.sin(t) + (y - y0) * np.cos(t)
        line = np.exp(-0.5 * (across / width) ** 2) * (np.abs(along) <= length / 2)
        db = np.maximum(db, line * rng.uniform(10, 20))
    linear = 10 ** (db / 10)
    for _ in range(int(rng.integers(0, 6))):  # point scatterers
        linear[rng.integers(0, h), rng.integers(0, w)] *= 10 ** (rng.uniform(15, 30) / 10)
    return (linear / np.median(linear)).astype(np.float32)
