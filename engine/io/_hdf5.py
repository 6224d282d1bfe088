"""HDF5 files: NISAR/UAVSAR products (their SLC found by the layout), a file holding a single
2-D image dataset, or the dataset named by ``variable``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine.exceptions import InputError, UnsupportedDtypeError
from engine.io._formats import InputFormat
from engine.sources import FileReader, SceneSource, scene_from_source

HDF5_SUFFIXES = (".h5", ".hdf5", ".he5")
#: Where NISAR RSLC and UAVSAR (NISAR-format) SLC products keep their images.
HDF5_LAYOUTS = (
    "science/LSAR/RSLC/swaths/frequency{f}/{pol}",
    "science/LSAR/SLC/swaths/frequency{f}/{pol}",
    "science/SSAR/RSLC/swaths/frequency{f}/{pol}",
)
POLARISATIONS = ("HH", "VV", "HV", "VH")


@dataclass(frozen=True)
class Hdf5Reader(FileReader):
    """Reader of one dataset of an HDF5 file."""

    dataset: str

    def open(self) -> Any:
        import h5py

        return h5py.File(self.path, "r")[self.dataset]

    def read(self, opened: Any, index: tuple[Any, ...]) -> np.ndarray:
        return np.asarray(opened[index])


def hdf5_dataset(path: Path, variable: str | None) -> str:
    """The HDF5 dataset holding the SLC: an explicit path, a polarisation, or the first found."""
    import h5py

    with h5py.File(path, "r") as f:
        if variable and variable in f:
            if not isinstance(f[variable], h5py.Dataset):
                raise InputError(f"{path}:{variable} is a group, not a dataset; name the image dataset inside it")
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
    if variable is None and len(found) == 1:
        return found[0]  # the only image in the file
    raise InputError(
        f"{path} has no SLC{' for ' + repr(variable) if variable else ''} in the NISAR/UAVSAR layout "
        f"(science/LSAR/[R]SLC/swaths/frequencyA/<pol>); its 2-D datasets: {', '.join(found) or 'none'}. "
        "Give the dataset path with --variable"
    )


def open_hdf5(path: Path, *, variable: str | None, chunk_px: int) -> xr.DataArray:
    import h5py

    try:
        name = hdf5_dataset(path, variable)
        with h5py.File(path, "r") as f:
            shape, dtype = f[name].shape, f[name].dtype
    except (OSError, KeyError) as error:
        raise InputError(f"cannot read {path} as HDF5 (truncated or corrupt?): {error}") from None
    if dtype.kind not in "uifc" or len(shape) != 2:
        raise UnsupportedDtypeError(f"{path}:{name} is {dtype} with shape {shape}; expected a 2-D numeric image")
    scene = scene_from_source(SceneSource.of(Hdf5Reader.of(path, name), shape, dtype), chunk_px)
    scene.attrs["hdf5_dataset"] = name
    return scene


FORMAT = InputFormat(
    "an HDF5 file (NISAR, UAVSAR)",
    claims=lambda path, request: path.is_file() and path.suffix.lower() in HDF5_SUFFIXES,
    open=lambda path, r: open_hdf5(path, variable=r.variable, chunk_px=r.chunk_px),
    options=("variable",),
)
