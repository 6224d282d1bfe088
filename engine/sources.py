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
def _lazy(kind: str, path: str, variable: str | None, stamp: tuple[float, int]) -> Any:
    """The lazily indexed (not yet read) array behind a file, opened once per process: an
    xarray Variable (rasters, Zarr) or a memory map (.npy); slicing reads only that window."""
    if kind == "npy":
        return np.load(path, mmap_mode="r", allow_pickle=False)
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
        ``raster`` (anything GDAL reads), ``zarr`` or ``npy``.
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

    @classmethod
    def for_file(cls, kind: str, path: str, shape: tuple[int, ...], dtype: Any, **kw: Any) -> SceneSource:
        stat = os.stat(path)
        return cls(kind, str(path), tuple(shape), np.dtype(dtype).str, stamp=(stat.st_mtime, stat.st_size), **kw)

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.kind, self.path, self.shape, self.dtype, self.bands, self.variable, self.stamp)

    def read(self, index: tuple[slice, ...]) -> np.ndarray:
        """Pixels of ``index`` (one slice per dimension of :attr:`shape`), clipped to the scene."""
        bound_gdal_cache()
        with _open_lock:
            lazy = _lazy(self.kind, self.path, self.variable, self.stamp)
        if self.bands is not None:
            band_slice = index[0]
            positions = np.asarray(self.bands)[band_slice]
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


def scene_from_source(lazy: Any, source: SceneSource, chunk_px: int) -> Any:
    """A dask-backed scene: the lazily opened DataArray's coordinates and attributes, its data
    read block by block from ``source``, which the scene remembers for halo reads."""
    chunks = da.core.normalize_chunks((1,) * (len(source.shape) - 2) + (chunk_px, chunk_px), source.shape)
    data = source.to_dask(chunks)
    scene = lazy.copy(data=data)
    scene.encoding[SOURCE_ENCODING] = source
    scene.encoding[SOURCE_NAME_ENCODING] = data.name
    return scene
