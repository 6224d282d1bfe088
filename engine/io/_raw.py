"""Raw headerless files (ISCE/ROI_PAC .slc, GAMMA...) of a shape and sample type the user states.
(Raw files with an ENVI .hdr or a GDAL .vrt beside them open through GDAL, see ``_geotiff``.)"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine.exceptions import InputError, UnsupportedDtypeError
from engine.io._formats import InputFormat
from engine.sources import FileReader, SceneSource, scene_from_source

#: Suffixes of raw files, which need --shape and --dtype unless a GDAL header lies beside them.
RAW_SUFFIXES = (".slc", ".raw", ".bin", ".dat")


@dataclass(frozen=True)
class RawReader(FileReader):
    """Reader of a raw file: a memory map of ``shape`` samples of ``dtype`` after
    ``offset`` bytes."""

    dtype: str
    offset: int
    shape: tuple[int, int]

    def open(self) -> np.memmap:
        return np.memmap(self.path, dtype=np.dtype(self.dtype), mode="r", offset=self.offset, shape=self.shape)

    def read(self, opened: np.memmap, index: tuple[Any, ...]) -> np.ndarray:
        return np.asarray(opened[index])


def has_gdal_header(path: Path) -> bool:
    return any(path.with_name(path.name + suffix).exists() or path.with_suffix(suffix).exists() for suffix in (".hdr", ".vrt"))


def claims_raw(path: Path, shape: Any, dtype: Any) -> bool:
    """A raw file: its shape or dtype is given, or its suffix says raw and no header explains it."""
    return shape is not None or dtype is not None or (path.suffix.lower() in RAW_SUFFIXES and not has_gdal_header(path))


def parse_shape(text: str | tuple[int, int]) -> tuple[int, int]:
    """``"500x400"`` or ``(500, 400)`` -> (rows, columns)."""
    if isinstance(text, (tuple, list)):
        if len(text) != 2:
            raise InputError(f"shape must be (rows, columns), got {text!r}")
        rows, cols = (int(v) for v in text)
    else:
        try:
            rows, cols = (int(v) for v in str(text).lower().replace(",", "x").split("x"))
        except ValueError:
            raise InputError(f"shape must be ROWSxCOLUMNS (e.g. 500x400), got {text!r}") from None
    if rows < 1 or cols < 1:
        raise InputError(f"shape must be positive, got {rows}x{cols}")
    return rows, cols


def open_raw(path: Path, *, shape: Any, dtype: str | None, offset: int, chunk_px: int) -> xr.DataArray:
    """A headerless raw file of known shape and dtype.

    The size is checked exactly: a wrong shape or dtype, or a truncated file, is an error before
    any pixel is read.
    """
    if shape is None or dtype is None:
        if shape is None and dtype is None:
            raise InputError(
                f"{path} looks like a raw file without a header (.hdr/.vrt/.xml): give its --shape ROWSxCOLS "
                "and --dtype (complex64 for most SLC files)"
            )
        raise InputError("a raw file needs both its shape (--shape ROWSxCOLS) and its dtype (--dtype)")
    rows, cols = parse_shape(shape)
    if offset < 0:
        raise InputError(f"--header-bytes must be 0 or more, got {offset}")
    try:
        kind = np.dtype(dtype)
    except TypeError:
        raise UnsupportedDtypeError(f"unknown dtype {dtype!r}; e.g. complex64, >c8 (big-endian), int16, float32") from None
    if kind.kind not in "uifc":
        raise UnsupportedDtypeError(f"raw files must hold numbers, got dtype {kind}")
    expected = rows * cols * kind.itemsize
    size = os.path.getsize(path)
    if offset >= size:
        raise InputError(f"{path} has {size} bytes; a {offset}-byte header leaves nothing to read")
    actual = size - offset
    if actual != expected:
        problem = "is truncated" if actual < expected else "is larger"
        raise InputError(
            f"{path} holds {actual} bytes after the {offset}-byte header but a {rows}x{cols} {kind} image needs "
            f"{expected}: the file {problem}, or the shape or dtype is wrong"
        )
    native = kind.newbyteorder("=") if kind.byteorder not in "=|" else kind
    reader = RawReader.of(path, kind.str, int(offset), (rows, cols))
    return scene_from_source(SceneSource.of(reader, (rows, cols), native), chunk_px)


FORMAT = InputFormat(
    "a raw headerless file",
    claims=lambda path, r: path.is_file() and claims_raw(path, r.shape, r.dtype),
    open=lambda path, r: open_raw(path, shape=r.shape, dtype=r.dtype, offset=r.header_bytes, chunk_px=r.chunk_px),
    options=("shape", "dtype", "header_bytes"),
)
