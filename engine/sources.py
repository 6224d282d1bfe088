"""Scene sources: where a scene's pixels come from, able to read any region again, anywhere.

Every format in ``engine.io`` has a *reader*: a small, frozen, picklable object naming a
file (and its variable, band layout...) that reads any region of it. A :class:`SceneSource`
puts a reader behind a scene: the band selection and the spatial origin of that scene inside
the file. Being small, it travels to dask workers, and it lets the overlap executor read each
block *with its halo* straight from the file: blocks need no data from their neighbours, memory
stays at a few blocks per worker whatever the scene size, and a cluster moves no halo data.

A scene remembers its source (:func:`scene_from_source`). :func:`source_of` finds it again,
also after the scene was *selected* (bands, spatial slices: ``isel``/``sel``; the selection is
located from the dask graph, not from coordinates a caller may relabel); :func:`locate_source`
also says why not when the scene's pixels are no longer what the file holds. A file changed
after its scene was opened is refused when read.

The Sentinel-1 reader is xarray-sentinel's (``engine.io._sentinel1``): its bursts are cropped
and debursted by dask, so those scenes share halos between chunks through dask.overlap.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from engine.exceptions import InputError

#: The encoding key under which an opened scene remembers where it came from (:class:`Origin`).
SOURCE_ENCODING = "despeckle_source"

#: dask layers that select or re-chunk pixels without changing them.
_SELECTING_LAYERS = ("getitem-", "rechunk-")

_open_lock = threading.Lock()


@dataclass(frozen=True)
class FileReader:
    """The base of the formats' readers (``engine.io``): a file and its stamp (modification
    time, size, inode) when the scene was opened. Subclasses add what their format needs (a
    variable, a band layout...) as fields, and define ``open()``, the lazily indexed array
    behind the file (opened once per process, see :func:`opened`), and ``read(opened, index)``,
    the pixels of ``index`` (one slice, or for the band axis an integer array, per dimension)."""

    path: str
    stamp: tuple[int, ...]

    @classmethod
    def of(cls, path: str | os.PathLike[str], *values: Any, **fields: Any) -> Any:
        # Absolute: a scene must read the same file after os.chdir, and in workers started elsewhere.
        absolute = os.path.abspath(path)
        return cls(absolute, _stamp(absolute), *values, **fields)

    def open(self) -> Any:
        raise NotImplementedError

    def read(self, opened: Any, index: tuple[Any, ...]) -> np.ndarray:
        raise NotImplementedError

    def check_unchanged(self) -> None:
        """Refuse to read a file replaced or rewritten since the scene was opened: its pixels
        would no longer match the scene's shape and metadata (and a truncated memory-mapped
        file would crash the process)."""
        try:
            current = _stamp(self.path)
        except OSError:
            raise InputError(f"{self.path} is gone: it was removed or renamed after the scene was opened") from None
        if current != self.stamp:
            raise InputError(f"{self.path} changed after the scene was opened; open it again")


def _stamp(path: str) -> tuple[int, ...]:
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


@lru_cache(maxsize=32)
def _opened(reader: FileReader) -> Any:
    return reader.open()


def opened(reader: FileReader) -> Any:
    """``reader.open()``, once per process (readers are frozen dataclasses carrying the file's
    stamp, so a changed file is a different key)."""
    with _open_lock:
        return _opened(reader)


@dataclass(frozen=True)
class SceneSource:
    """A re-readable scene: ``read(index)`` returns the pixels of ``index`` (slices per dim).

    Parameters
    ----------
    reader
        The format's reader (``engine.io``).
    shape, dtype
        Of the scene as the engine sees it (after band selection and slicing).
    bands
        Positions of the scene's bands along the reader's band axis; None: all of them.
    origin
        (row, column) of the scene's first pixel in the reader's image.
    band_dropped
        The scene is 2-D: the single band ``bands[0]`` of a (band, y, x) reader.
    """

    reader: FileReader
    shape: tuple[int, ...]
    dtype: str
    bands: tuple[int, ...] | None = None
    origin: tuple[int, int] = (0, 0)
    band_dropped: bool = False
    _read_ndim: int = field(default=0, repr=False)

    @classmethod
    def of(cls, reader: FileReader, shape: tuple[int, ...], dtype: Any, *, bands: tuple[int, ...] | None = None) -> SceneSource:
        return cls(reader, tuple(int(n) for n in shape), np.dtype(dtype).str, bands=bands, _read_ndim=len(shape))

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.reader, self.shape, self.dtype, self.bands, self.origin, self.band_dropped)

    def read(self, index: tuple[slice, ...]) -> np.ndarray:
        """Pixels of ``index`` (one slice per dimension of :attr:`shape`), clipped to the scene."""
        rows, cols = (_clip(s, n, o) for s, n, o in zip(index[-2:], self.shape[-2:], self.origin, strict=True))
        leading: tuple[Any, ...] = tuple(index[:-2])  # (time, band, ...) of a many-dimensional store: as asked
        if self._read_ndim == 3:
            wanted = index[0] if not self.band_dropped else slice(0, 1)
            positions = np.arange(self.shape[0] if not self.band_dropped else 1)[wanted]
            if self.bands is not None:
                positions = np.asarray(self.bands)[positions]
            contiguous = positions.size and np.all(np.diff(positions) == 1)
            leading = (slice(int(positions[0]), int(positions[-1]) + 1) if contiguous else positions,)
        self.reader.check_unchanged()
        failure = None
        try:
            data = self.reader.read(opened(self.reader), (*leading, rows, cols))
        except OSError as error:
            # rasterio's wording points at an exception the user never sees: GDAL's own words
            # (a decoding error, a VRT's missing source) are that exception's, said here instead.
            said = str(error).replace("See previous exception for details.", "").strip().rstrip(".")
            cause = error.__cause__ or error.__context__
            why = " ".join(str(cause).split()).rstrip(".") if cause is not None and str(cause).strip() else ""
            said += f" ({why})" if why and why not in said else ""
            failure = InputError(f"reading {self.reader.path} failed: {said}. Is the file complete, and still there?")
        if failure is not None:  # raised without GDAL's exception as context, which dask.distributed cannot unpickle
            raise failure
        if self.band_dropped:
            data = data[0]
        return np.asarray(data).astype(np.dtype(self.dtype), copy=False)

    def selected(self, bands: tuple[int, ...] | None, band_dropped: bool, rows: tuple[int, int], cols: tuple[int, int]) -> SceneSource:
        """The source of a selection of this scene: ``bands`` (positions among this scene's
        bands), the rows [start, stop) and columns [start, stop) of this scene."""
        positions = self.bands
        if bands is not None:
            base = np.asarray(self.bands) if self.bands is not None else np.arange(self.shape[0])
            positions = tuple(int(b) for b in base[list(bands)])
        spatial = (rows[1] - rows[0], cols[1] - cols[0])
        leading = () if band_dropped or self._read_ndim == 2 else (len(positions) if positions is not None else self.shape[0],)
        return replace(self, shape=(*leading, *spatial), bands=positions, band_dropped=band_dropped,
                       origin=(self.origin[0] + rows[0], self.origin[1] + cols[0]))

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


def _clip(s: slice, size: int, origin: int) -> slice:
    start, stop = max(0, s.start or 0), min(size, size if s.stop is None else s.stop)
    return slice(origin + start, origin + stop)


def _read_block(source: SceneSource, block_info: Any = None) -> np.ndarray:
    location = block_info[None]["array-location"]
    return source.read(tuple(slice(start, stop) for start, stop in location))


@dataclass(frozen=True)
class Origin:
    """What an opened scene remembers: its source, the dask array that read it (name, chunks)
    and its dims, to recognise the scene, or a selection of it, later."""

    source: SceneSource
    array: str
    chunks: tuple[tuple[int, ...], ...]
    dims: tuple[str, ...]


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
    scene.encoding[SOURCE_ENCODING] = Origin(source, data.name, data.chunks, tuple(map(str, scene.dims)))
    return scene


def source_of(scene: Any) -> SceneSource | None:
    """The source a scene can be re-read from, if its pixels are still exactly what was read."""
    return locate_source(scene)[0]


def locate_source(scene: Any) -> tuple[SceneSource | None, str]:
    """(the scene's source, "") or (None, why not): the scene was not read from a file, its
    pixels were changed after opening, or the selection cannot be located in the file."""
    origin = scene.encoding.get(SOURCE_ENCODING)
    if not isinstance(origin, Origin):
        return None, "the scene carries no file source (built in memory, or an xarray operation such as where, astype or arithmetic dropped it)"
    if not isinstance(scene.data, da.Array):
        return None, "the scene's pixels are in memory"
    if scene.data.name == origin.array:
        return origin.source, ""
    layers = scene.data.__dask_graph__().layers
    changed = [name for name in layers if name != origin.array and not name.startswith(_SELECTING_LAYERS)]
    if origin.array not in layers or changed:
        return None, "the scene's pixels were changed after opening (arithmetic, type conversion or reordering)"
    return _selection(scene, origin)


def _selection(scene: Any, origin: Origin) -> tuple[SceneSource | None, str]:
    """The source of a band and spatial selection of the opened scene.

    Where the selected pixels lie in the file is read from the selection itself, not from the
    coordinates (which a caller may have relabelled): the scene's graph is replayed with the
    read replaced by one that yields each pixel's position in the file, over the first row and
    column of the selection only."""
    source = origin.source
    if len(origin.dims) > 3:
        return None, f"the file's variable has dims {origin.dims}; halo reads select (band, y, x) only"
    if tuple(scene.dims[-2:]) != origin.dims[-2:] or scene.ndim > len(origin.dims):
        return None, f"the scene's dims {tuple(scene.dims)} are no longer the file's {origin.dims}"
    probe = _position_probe(scene.data, origin.array, source.shape, origin.chunks)
    lead = (0,) * (scene.ndim - 2)
    row_codes, col_codes, band_codes = dask.compute(
        probe[(*lead, slice(None), 0)], probe[(*lead, 0, slice(None))],
        probe[:, 0, 0] if scene.ndim == 3 else probe[0:1, 0], scheduler="sync",
    )
    height, width = source.shape[-2:]
    rows, cols = (row_codes // width) % height, col_codes % width
    if not (_forward_run(rows) and _forward_run(cols)):
        return None, "the scene's selection is not a contiguous, forward run of the file's rows and columns"
    bands = tuple(int(b) for b in band_codes // (width * height)) if len(source.shape) == 3 else None
    return source.selected(bands, scene.ndim == 2 and len(source.shape) == 3, (int(rows[0]), int(rows[-1]) + 1),
                           (int(cols[0]), int(cols[-1]) + 1)), ""


def _forward_run(positions: np.ndarray) -> bool:
    return positions.size > 0 and bool(np.all(np.diff(positions) == 1))


def _position_probe(data: da.Array, read_name: str, shape: tuple[int, ...], chunks: tuple[tuple[int, ...], ...]) -> da.Array:
    """``data``'s graph with the read layer ``read_name`` replaced by one whose pixels are their
    own positions in the file, coded (band * height + row) * width + column."""
    positions = da.map_blocks(_position_block, chunks=chunks, dtype=np.int64, name=read_name, shape=shape,
                              meta=np.empty((0,) * len(shape), dtype=np.int64))
    graph = data.__dask_graph__()
    replacement = positions.__dask_graph__()
    layers = {**graph.layers, **replacement.layers}
    dependencies = {**graph.dependencies, **replacement.dependencies}
    return da.Array(HighLevelGraph(layers, dependencies), data.name, data.chunks, meta=np.empty((0,) * data.ndim, dtype=np.int64))


def _position_block(shape: tuple[int, ...], block_info: Any = None) -> np.ndarray:
    location = block_info[None]["array-location"]
    axes = np.ix_(*(np.arange(start, stop, dtype=np.int64) for start, stop in location))
    height, width = shape[-2:]
    band = axes[0] if len(shape) == 3 else 0
    return (band * height + axes[-2]) * width + axes[-1]
