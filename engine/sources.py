"""Scene sources: where a scene's pixels come from, able to read any region again, anywhere.

Every format in ``engine.io`` has a *reader*: a small, frozen, picklable object naming a
file (and its variable, band layout...) that reads any region of it. A :class:`SceneSource`
puts a reader behind a scene: the band selection and the spatial origin of that scene inside
the file. Being small, it travels to dask workers, and it lets the overlap executor read each
block *with its halo* straight from the file: blocks need no data from their neighbours, memory
stays at a few blocks per worker whatever the scene size, and a cluster moves no halo data.

A scene remembers its source (:func:`scene_from_source`). :func:`source_of` finds it again,
also after the scene was *selected* (bands, spatial slices: ``isel``/``sel``), and says why not
when the scene's pixels are no longer what the file holds.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

import dask.array as da
import numpy as np
from dask.base import tokenize

#: Encoding keys under which an opened scene remembers its source, the dask array it read and
#: the coordinates it had (to locate a selection of it in the file).
SOURCE_ENCODING = "despeckle_source"
SOURCE_NAME_ENCODING = "despeckle_source_array"
SOURCE_COORDS_ENCODING = "despeckle_source_coords"

#: dask layers that select or re-chunk pixels without changing them.
_SELECTING_LAYERS = ("getitem-", "rechunk-")

_open_lock = threading.Lock()


class FormatReader(Protocol):
    """What a format provides to re-read regions of its files (see ``engine.io``).

    ``open()`` returns the lazily indexed array behind the file (opened once per process and
    per file version, see :func:`opened`); ``read(opened, index)`` reads ``index`` (one
    slice, or for the band axis an integer array, per dimension of ``shape``)."""

    def open(self) -> Any: ...

    def read(self, opened: Any, index: tuple[Any, ...]) -> np.ndarray: ...


@dataclass(frozen=True)
class FileReader:
    """The base of the formats' readers: the file, and its stamp (modification time, size), so
    that a file rewritten in place is opened again, not served stale. Subclasses add what
    their format needs (a variable, a band layout...) as fields."""

    path: str
    stamp: tuple[float, int]

    @classmethod
    def of(cls, path: str | os.PathLike[str], *values: Any, **fields: Any) -> Any:
        stat = os.stat(path)
        return cls(str(path), (stat.st_mtime, stat.st_size), *values, **fields)


@lru_cache(maxsize=32)
def _opened(reader: FormatReader) -> Any:
    return reader.open()


def opened(reader: FormatReader) -> Any:
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

    reader: Any
    shape: tuple[int, ...]
    dtype: str
    bands: tuple[int, ...] | None = None
    origin: tuple[int, int] = (0, 0)
    band_dropped: bool = False
    _read_ndim: int = field(default=0, repr=False)

    @classmethod
    def of(cls, reader: FormatReader, shape: tuple[int, ...], dtype: Any, *, bands: tuple[int, ...] | None = None) -> SceneSource:
        return cls(reader, tuple(int(n) for n in shape), np.dtype(dtype).str, bands=bands, _read_ndim=len(shape))

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.reader, self.shape, self.dtype, self.bands, self.origin, self.band_dropped)

    def read(self, index: tuple[slice, ...]) -> np.ndarray:
        """Pixels of ``index`` (one slice per dimension of :attr:`shape`), clipped to the scene."""
        rows, cols = (_clip(s, n, o) for s, n, o in zip(index[-2:], self.shape[-2:], self.origin, strict=True))
        leading: tuple[Any, ...] = ()
        if self._read_ndim == 3:
            wanted = index[0] if not self.band_dropped else slice(0, 1)
            positions = np.arange(self.shape[0] if not self.band_dropped else 1)[wanted]
            if self.bands is not None:
                positions = np.asarray(self.bands)[positions]
            contiguous = positions.size and np.all(np.diff(positions) == 1)
            leading = (slice(int(positions[0]), int(positions[-1]) + 1) if contiguous else positions,)
        data = self.reader.read(opened(self.reader), (*leading, rows, cols))
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


def scene_from_source(source: SceneSource, chunk_px: int, template: Any = None) -> Any:
    """A dask-backed scene read block by block from ``source``, which it remembers for halo
    reads. ``template``: a lazily opened DataArray whose coordinates and attributes it keeps;
    without one the dims are (y, x) or (band, y, x) with integer coordinates."""
    import xarray as xr

    chunks = da.core.normalize_chunks((1,) * (len(source.shape) - 2) + (chunk_px, chunk_px), source.shape)
    data = source.to_dask(chunks)
    if template is not None:
        scene = template.copy(data=data)
    else:
        dims = ("y", "x") if data.ndim == 2 else ("band", "y", "x")
        first = 1 if data.ndim == 3 else 0  # bands are numbered from 1, as GDAL's
        coords = {d: np.arange(first if d == "band" else 0, n + (first if d == "band" else 0)) for d, n in zip(dims, data.shape, strict=True)}
        scene = xr.DataArray(data, dims=dims, coords=coords)
    scene.encoding[SOURCE_ENCODING] = source
    scene.encoding[SOURCE_NAME_ENCODING] = data.name
    scene.encoding[SOURCE_COORDS_ENCODING] = {d: np.asarray(scene[d].values) for d in scene.dims if d in scene.coords}
    return scene


def source_of(scene: Any) -> SceneSource | None:
    """The source a scene can be re-read from, if its pixels are still exactly what was read."""
    return locate_source(scene)[0]


def locate_source(scene: Any) -> tuple[SceneSource | None, str]:
    """(the scene's source, "") or (None, why not): the scene was not read from a file, its
    pixels were changed after opening, or the selection cannot be located in the file."""
    source = scene.encoding.get(SOURCE_ENCODING)
    if source is None:
        return None, "the scene was not opened from a file"
    if not isinstance(scene.data, da.Array):
        return None, "the scene's pixels are in memory"
    if scene.data.name == scene.encoding.get(SOURCE_NAME_ENCODING):
        return source, ""
    layers = scene.data.__dask_graph__().layers
    read = scene.encoding.get(SOURCE_NAME_ENCODING)
    changed = [name for name in layers if name != read and not name.startswith(_SELECTING_LAYERS)]
    if read not in layers or changed:
        return None, "the scene's pixels were changed after opening (arithmetic, type conversion or reordering)"
    return _selection(scene, source)


def _selection(scene: Any, source: SceneSource) -> tuple[SceneSource | None, str]:
    """The source of a band and spatial selection of the opened scene, located by coordinates."""
    original = scene.encoding.get(SOURCE_COORDS_ENCODING) or {}
    spans = []
    for dim in scene.dims[-2:]:
        if dim not in original or dim not in scene.coords:
            return None, f"the scene was sliced and its {dim!r} coordinate cannot place the slice in the file"
        start = _contiguous_run(original[dim], np.asarray(scene[dim].values))
        if start is None:
            return None, f"the scene's {dim!r} selection is not a contiguous, forward run of the file's {dim!r}"
        spans.append((start, start + scene.sizes[dim]))
    bands: tuple[int, ...] | None = None
    dropped = scene.ndim == 2 and len(source.shape) == 3
    if len(source.shape) == 3:
        if "band" not in original or "band" not in scene.coords:
            return None, "the scene's bands were selected and have no 'band' coordinate to find them in the file"
        wanted = np.atleast_1d(scene["band"].values)
        found = [np.flatnonzero(original["band"] == b) for b in wanted]
        if any(f.size != 1 for f in found):
            return None, "the scene's band coordinate does not identify its bands in the file"
        bands = tuple(int(f[0]) for f in found)
    return source.selected(bands, dropped, spans[0], spans[1]), ""


def _contiguous_run(original: np.ndarray, selected: np.ndarray) -> int | None:
    """Where ``selected`` starts in ``original`` if it is original[k:k + n], else None."""
    if selected.size == 0 or selected.size > original.size:
        return None
    starts = np.flatnonzero(original == selected[0])
    for k in starts:
        if k + selected.size <= original.size and np.array_equal(original[k : k + selected.size], selected):
            return int(k)
    return None
