"""What the quality suites share: where the sample data is, which methods run, and how a method
is applied to an image held in memory (through ``engine.despeckle``, tiling and all)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import engine
from engine.exceptions import DespeckleWarning
from engine.methods import get_method, list_methods

DATA = Path(os.environ.get("DESPECKLE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def data_folder(*parts: str) -> Path:
    folder = DATA.joinpath(*parts)
    if not folder.exists():
        raise FileNotFoundError(f"{folder} is absent: the quality suites read the sample data in ../shared/data (or $DESPECKLE_DATA)")
    return folder


def available_methods(imagery: str | None = None) -> list[str]:
    """Every registered method that can run here (models without installed weights are left
    out), optionally only those meant for ``imagery``."""
    return [name for name in list_methods(imagery=imagery) if get_method(name).unavailable_reason is None]


def despeckle_intensity(intensity: np.ndarray, method: str, *, looks: float = 1.0, **parameters: Any) -> np.ndarray:
    """Intensity in, intensity out, with each method's default parameters unless given."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DespeckleWarning)  # no CRS: these are plain arrays
        return np.asarray(engine.despeckle(intensity.astype(np.float32), method, domain="intensity", looks=looks, **parameters).values)


def display(image: np.ndarray, *, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """An image stretched to [0, 1] between two percentiles, for figures."""
    lo, hi = np.nanpercentile(image, [low, high])
    return np.clip((image - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
