"""Ultrasound channel RF (PyBF/PICMUS-style HDF5): each frame beamformed into a complex image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine.exceptions import InputError
from engine.io._formats import InputFormat
from engine.io._hdf5 import HDF5_SUFFIXES
from engine.sources import FileReader, SceneSource, scene_from_source
from engine.ultrasound import beamformed_frame, beamformed_shape, frame_dataset, is_pybf_rf


@dataclass(frozen=True)
class BeamformedReader(FileReader):
    """Reader of one RF frame: beamformed once per process (a few MB), then sliced."""

    frame: str

    def open(self) -> np.ndarray:
        return beamformed_frame(self.path, self.frame)

    def read(self, opened: np.ndarray, index: tuple[Any, ...]) -> np.ndarray:
        return opened[index]


def claims_ultrasound_rf(path: Path) -> bool:
    return path.suffix.lower() in HDF5_SUFFIXES and is_pybf_rf(path)


def open_ultrasound_rf(path: Path, *, variable: str | None, chunk_px: int) -> xr.DataArray:
    try:
        name = frame_dataset(path, variable)
        shape = beamformed_shape(path, name)
    except (KeyError, IndexError, ValueError) as error:
        raise InputError(f"{path} looks like ultrasound channel RF (data/rf_data) but is incomplete: {error!r} is missing or empty") from None
    reader = BeamformedReader.of(path, name)
    scene = scene_from_source(SceneSource.of(reader, shape, np.complex64), chunk_px)
    scene.attrs["hdf5_dataset"] = name
    scene.attrs["beamforming"] = "0-degree plane-wave delay-and-sum (engine.ultrasound); rows 0.1 mm from 3 mm depth, one column per element"
    return scene


FORMAT = InputFormat(
    "an ultrasound channel-RF HDF5 file",
    claims=lambda path, request: path.is_file() and claims_ultrasound_rf(path),
    open=lambda path, r: open_ultrasound_rf(path, variable=r.variable, chunk_px=r.chunk_px),
    options=("variable",),
)
