"""NumPy ``.npy`` arrays: (y, x), (band, y, x), or (y, x, 2) real and imaginary parts (a common
way to store SLC crops), memory-mapped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine.exceptions import InputError, UnsupportedDtypeError
from engine.io._formats import InputFormat
from engine.sources import FileReader, SceneSource, scene_from_source


@dataclass(frozen=True)
class NpyReader(FileReader):
    """Reader of a ``.npy`` file; ``reim_last``: its last axis holds (real, imaginary)."""

    reim_last: bool = False

    def open(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="r", allow_pickle=False)

    def read(self, opened: np.ndarray, index: tuple[Any, ...]) -> np.ndarray:
        if not self.reim_last:
            return np.asarray(opened[index])
        pair = np.asarray(opened[(*index, slice(None))], dtype=np.float32)
        return pair[..., 0] + 1j * pair[..., 1]


def open_npy(path: Path, *, chunk_px: int) -> xr.DataArray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error).lower() or "python objects" in str(error).lower():
            raise UnsupportedDtypeError(f"{path} holds Python objects, not numbers") from None
        raise InputError(f"cannot read {path} as a .npy array (truncated or corrupt?): {error}") from None
    if array.dtype.kind not in "uifc" or array.dtype.names:
        raise UnsupportedDtypeError(
            f"{path} holds values of dtype {array.dtype}; expected integers, floats or complex numbers"
        )
    if array.ndim not in (2, 3):
        raise InputError(f"{path} has shape {array.shape}; expected (y, x) or (band, y, x)")
    if array.ndim == 3 and array.shape[-1] == 2 and array.dtype.kind in "uif":
        source = SceneSource.of(NpyReader.of(path, reim_last=True), array.shape[:2], np.complex64)
    else:
        source = SceneSource.of(NpyReader.of(path), array.shape, array.dtype)
    return scene_from_source(source, chunk_px)


FORMAT = InputFormat(
    "a NumPy .npy array",
    claims=lambda path, request: path.is_file() and path.suffix.lower() == ".npy",
    open=lambda path, r: open_npy(path, chunk_px=r.chunk_px),
)
