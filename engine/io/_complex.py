"""Complex (SLC) formats without GDAL drivers of their own: raw headerless files and NISAR/UAVSAR
HDF5. (Complex GeoTIFFs, raw files with an ENVI .hdr and ISCE .vrt files open through GDAL.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine.exceptions import InputError, UnsupportedDtypeError
from engine.sources import SceneSource, scene_from_source

#: Where NISAR RSLC and UAVSAR (NISAR-format) SLC products keep their images.
HDF5_LAYOUTS = (
    "science/LSAR/RSLC/swaths/frequency{f}/{pol}",
    "science/LSAR/SLC/swaths/frequency{f}/{pol}",
    "science/SSAR/RSLC/swaths/frequency{f}/{pol}",
)
POLARISATIONS = ("HH", "VV", "HV", "VH")


def parse_shape(text: str | tuple[int, int]) -> tuple[int, int]:
    """``"500x400"`` or ``(500, 400)`` -> (rows, columns)."""
    if isinstance(text, tuple):
        rows, cols = text
    else:
        try:
            rows, cols = (int(v) for v in str(text).lower().replace(",", "x").split("x"))
        except ValueError:
            raise InputError(f"shape must be ROWSxCOLUMNS (e.g. 500x400), got {text!r}") from None
    if rows < 1 or cols < 1:
        raise InputError(f"shape must be positive, got {rows}x{cols}")
    return rows, cols


def open_raw(path: Path, *, shape: Any, dtype: str, offset: int, chunk_px: int) -> xr.DataArray:
    """A headerless raw file (ISCE/ROI_PAC .slc, GAMMA, ...) of known shape and dtype.

    The size is checked exactly: a wrong shape or dtype, or a truncated file, is an error before
    any pixel is read.
    """
    rows, cols = parse_shape(shape)
    try:
        kind = np.dtype(dtype)
    except TypeError:
        raise UnsupportedDtypeError(f"unknown dtype {dtype!r}; e.g. complex64, >c8 (big-endian), int16, float32") from None
    if kind.kind not in "uifc":
        raise UnsupportedDtypeError(f"raw files must hold numbers, got dtype {kind}")
    expected = rows * cols * kind.itemsize
    actual = os.path.getsize(path) - offset
    if actual != expected:
        problem = "is truncated" if actual < expected else "is larger"
        raise InputError(
            f"{path} holds {actual} bytes after the {offset}-byte header but a {rows}x{cols} {kind} image needs "
            f"{expected}: the file {problem}, or the shape or dtype is wrong"
        )
    source = SceneSource.for_file(
        "raw", str(path), (rows, cols), kind.newbyteorder("=") if kind.byteorder not in "=|" else kind,
        options=(("dtype", kind.str), ("offset", int(offset)), ("shape", (rows, cols))),
    )
    return scene_from_source(source, chunk_px)


def hdf5_dataset(path: Path, variable: str | None) -> str:
    """The HDF5 dataset holding the SLC: an explicit path, a polarisation, or the first found."""
    import h5py

    with h5py.File(path, "r") as f:
        if variable and variable in f:
            return variable
        wanted = [variable.upper()] if variable else list(POLARISATIONS)
        for layout in HDF5_LAYOUTS:
            for frequency in ("A", "B"):
                for pol in wanted:
                    name = layout.format(f=frequency, pol=pol)
                    if name in f:
                        return name
        found: list[str] = []
        f.visititems(lambda name, obj: found.append(name) if getattr(obj, "ndim", 0) == 2 else None)
    raise InputError(
        f"{path} has no SLC {'for ' + repr(variable) if variable else ''} in the NISAR/UAVSAR layout "
        f"(science/LSAR/[R]SLC/swaths/frequencyA/<pol>); its 2-D datasets: {', '.join(found) or 'none'}. "
        "Give the dataset path with --variable"
    )


def open_hdf5(path: Path, *, variable: str | None, chunk_px: int) -> xr.DataArray:
    import h5py

    from engine.ultrasound import beamformed_shape, frame_dataset, is_pybf_rf

    if is_pybf_rf(path):  # ultrasound channel RF: beamformed into a complex image
        name = frame_dataset(path, variable)
        source = SceneSource.for_file("ultrasound-rf", str(path), beamformed_shape(path, name), np.complex64, variable=name)
        scene = scene_from_source(source, chunk_px)
        scene.attrs["hdf5_dataset"] = name
        scene.attrs["beamforming"] = "0-degree plane-wave delay-and-sum (engine.ultrasound); rows 0.1 mm from 3 mm depth, one column per element"
        return scene
    try:
        name = hdf5_dataset(path, variable)
        with h5py.File(path, "r") as f:
            shape, dtype = f[name].shape, f[name].dtype
    except OSError as error:
        raise InputError(f"cannot read {path} as HDF5 (truncated or corrupt?): {error}") from None
    if dtype.kind not in "uifc" or len(shape) != 2:
        raise UnsupportedDtypeError(f"{path}:{name} is {dtype} with shape {shape}; expected a 2-D numeric image")
    source = SceneSource.for_file("hdf5", str(path), shape, dtype, variable=name)
    scene = scene_from_source(source, chunk_px)
    scene.attrs["hdf5_dataset"] = name
    return scene
