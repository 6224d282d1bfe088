"""Scene sources: where a scene's pixels come from, able to read any window again, anywhere.

A :class:`SceneSource` names a file (and band selection or variable) and reads arbitrary
windows of it through rioxarray, xarray-zarr or NumPy. Being small and picklable, it travels to
dask workers; it is the reader behind every scene ``open_scene`` returns, and it lets the tiler
read each block *with its halo* straight from the file. Blocks then need no data from their
neighbours: memory stays at a few blocks per worker whatever the scene size, and a cluster
moves no halo data between workers.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from rasterio.errors import NotGeoreferencedWarning

from engine._gdal import bound_gdal_cache

#: Encoding keys under which an opened scene remembers its source and the dask array it read.
SOURCE_ENCODING = "despeckle_source"
SOURCE_NAME_ENCODING = "despeckle_source_array"

_open_lock = threading.Lock()


@lru_cache(maxsize=32)
def _lazy(kind: str, path: str, variable: str | None, stamp: tuple[float, int], options: tuple[tuple[str, Any], ...]) -> Any:
    """The lazily indexed (not yet read) array behind a file, opened once per process: an
    xarray Variable (rasters, Zarr), a memory map (.npy, raw) or an HDF5 dataset; slicing reads
    only that window."""
    settings = dict(options)
    if kind == "npy":
        return np.load(path, mmap_mode="r", allow_pickle=False)
    if kind == "raw":
        return np.memmap(path, dtype=np.dtype(settings["dtype"]), mode="r", offset=settings["offset"], shape=tuple(settings["shape"]))
    if kind == "ultrasound-rf":  # channel RF, beamformed once per process (a few MB)
        from engine.ultrasound import beamformed_frame

        return beamformed_frame(path, variable)
    if kind == "hdf5":
        import h5py

        return h5py.File(path, "r")[variable]
    if kind == "zarr":
        import xarray as xr

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return xr.open_zarr(path, decode_coords="all", mask_and_scale=False, chunks=None)[variable].variable
    import rioxarray

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        # lock=False: every read opens its own handle, so threads read in parallel.
        return rioxarray.open_rasterio(path, lock=False, cache=False, masked=False).variable


@dataclass(frozen=True)
class SceneSource:
    """A re-readable scene: ``read(index)`` returns the pixels of ``index`` (slices per dim).

    Parameters
    ----------
    kind
        ``raster`` (anything GDAL reads), ``zarr``, ``npy``, ``raw``, ``hdf5`` or
        ``ultrasound-rf`` (channel RF, beamformed when first read).
    path
        The file or store.
    shape, dtype
        Of the whole scene as the engine sees it (after band selection).
    bands
        0-based positions of the selected bands in the file (rasters), or None for all.
    variable
        The Zarr variable.
    """

    kind: str
    path: str
    shape: tuple[int, ...]
    dtype: str
    bands: tuple[int, ...] | None = None
    variable: str | None = None
    stamp: tuple[float, int] = field(default=(0.0, 0))
    #: Kind-specific settings as (name, value) pairs: raw files' dtype, offset and shape;
    #: ``complex_pairs`` for rasters whose bands hold (real, imaginary) pairs;
    #: ``reim_last`` for arrays whose last axis holds (real, imaginary).
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def for_file(cls, kind: str, path: str, shape: tuple[int, ...], dtype: Any, **kw: Any) -> SceneSource:
        stat = os.stat(path)
        return cls(kind, str(path), tuple(shape), np.dtype(dtype).str, stamp=(stat.st_mtime, stat.st_size), **kw)

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.kind, self.path, self.shape, self.dtype, self.bands, self.variable, self.stamp, self.options)

    def read(self, index: tuple[slice, ...]) -> np.ndarray:
        """Pixels of ``index`` (one slice per dimension of :attr:`shape`), clipped to the scene."""
        bound_gdal_cache()
        with _open_lock:
            lazy = _lazy(self.kind, self.path, self.variable, self.stamp, self.options)
        settings = dict(self.options)
        if settings.get("reim_last"):
            pair = np.asarray(lazy[(*index, slice(None))], dtype=np.float32)
            data = pair[..., 0] + 1j * pair[..., 1]
        elif settings.get("complex_pairs"):
            positions = np.asarray(self.bands if self.bands is not None else range(2 * self.shape[0]))
            re = positions[0::2][index[0]]
            pair = np.asarray(lazy[(np.stack([re, re + 1], axis=1).ravel(), *index[1:])], dtype=np.float32)
            data = pair[0::2] + 1j * pair[1::2]
        elif self.bands is not None:
            positions = np.asarray(self.bands)[index[0]]
            contiguous = positions.size and np.all(np.diff(positions) == 1)
            leading: Any = slice(int(positions[0]), int(positions[-1]) + 1) if contiguous else positions
            data = np.asarray(lazy[(leading, *index[1:])])
        else:
            data = np.asarray(lazy[index])
        return data.astype(np.dtype(self.dtype), copy=False)

    def to_dask(self, chunks: tuple[tuple[int, ...], ...]) -> da.Array:
        """The whole scene as a dask array with ``chunks``, one read per block."""
        return da.map_blocks(
            _read_block,
            source=self,
            chunks=chunks,
            dtype=np.dtype(self.dtype),
            meta=np.empty((0,) * len(self.shape), dtype=np.dtype(self.dtype)),
            name=f"read-{tokenize(self, chunks)}",
        )


def _read_block(source: SceneSource, block_info: Any = None) -> np.ndarray:
    location = block_info[None]["array-location"]
    return source.read(tuple(slice(start, stop) for start, stop in location))


def source_of(scene: Any) -> SceneSource | None:
    """The source a scene can be re-read from, if its data are still exactly what was read."""
    source = scene.encoding.get(SOURCE_ENCODING)
    if source is None or not isinstance(scene.data, da.Array):
        return None
    return source if scene.data.name == scene.encoding.get(SOURCE_NAME_ENCODING) else None


def scene_from_source(source: SceneSource, chunk_px: int, template: Any = None) -> Any:
    """A dask-backed scene read block by block from ``source``, which it remembers for halo
    reads. ``template``: a lazily opened DataArray whose coordinates and attributes it keeps;
    without one the dims are (y, x) or (band, y, x)."""
    import xarray as xr

    chunks = da.core.normalize_chunks((1,) * (len(source.shape) - 2) + (chunk_px, chunk_px), source.shape)
    data = source.to_dask(chunks)
    if template is not None:
        scene = template.copy(data=data)
    else:
        scene = xr.DataArray(data, dims=("y", "x") if data.ndim == 2 else ("band", "y", "x"))
    scene.encoding[SOURCE_ENCODING] = source
    scene.encoding[SOURCE_NAME_ENCODING] = data.name
    return scene
