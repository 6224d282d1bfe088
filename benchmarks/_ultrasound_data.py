"""Ultrasound inputs of the ultrasound suite: clinical B-mode images, and the in-vivo channel RF
of a calf muscle, which the engine beamforms into a complex image (``engine.ultrasound``).

B-mode images are log-compressed for display. The methods work on speckle intensity, so a
B-mode grey level g (0–255) is read as g / 255 · D − D decibels of envelope, with an assumed
display dynamic range D = 60 dB (the scanners' settings are unknown), i.e. intensity
10^((g/255 · D − D)/10); results go back to grey levels the same way. The beamformed image
needs no such assumption: its complex values are known, and methods get them as they get SLC
data (the blind-spot models decorrelated first).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

import engine
from engine.exceptions import DespeckleWarning

DYNAMIC_RANGE_DB = 60.0


def bmode_to_intensity(grey: np.ndarray, dynamic_range_db: float = DYNAMIC_RANGE_DB) -> np.ndarray:
    decibels = np.asarray(grey, dtype=np.float64) / 255.0 * dynamic_range_db - dynamic_range_db
    return 10.0 ** (decibels / 10.0)


def intensity_to_bmode(intensity: np.ndarray, dynamic_range_db: float = DYNAMIC_RANGE_DB) -> np.ndarray:
    decibels = 10.0 * np.log10(np.maximum(intensity, 1e-30))
    return np.clip((decibels + dynamic_range_db) / dynamic_range_db * 255.0, 0.0, 255.0)


def load_bmode(path: Path) -> np.ndarray:
    """A B-mode image as grey levels (colour images, e.g. with coloured annotations, as luminance)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def beamformed(path: Path, frame: int = 1) -> xr.DataArray:
    """One RF frame beamformed by the engine, complex, scaled so that its 99.9th intensity
    percentile is 1 (0 dB on the display scale)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DespeckleWarning)  # no georeferencing in ultrasound
        scene = engine.open_scene(path, variable=f"frame_{frame}")
    iq = np.asarray(scene.values)
    scale = np.sqrt(np.percentile(np.abs(iq) ** 2, 99.9))
    return xr.DataArray((iq / scale).astype(np.complex64), dims=("y", "x"), attrs={"domain": "complex", "looks": 1.0})
