"""Overlapped execution: run a method's kernel over the *chunks* of a dask array, each with its
halo, so that the result does not depend on the chunking.

Vocabulary (used throughout the engine): a *chunk* is a dask block of a scene (this module); a
*window* is a model's input piece inside a chunk (``engine.models``); a *tile* is a file of a
tile set cut by ``despeckle tile`` (``engine.io``).

Each chunk is extended by the method's halo with its neighbours' pixels (``dask.array.overlap``)
and, at the scene's border, with NaN: the kernels treat NaN as "no pixel here", so a pixel sees
exactly the same neighbourhood whether it sits in the middle of a chunk, at a chunk seam or at
the edge of the scene. Kernels that ask (``edges=True``) are also told how many of the block's
pixels on each side lie outside the scene (``outside_px=(top, bottom, left, right)``), so that
they can tell the scene's edge from nodata. The kernel's output is then trimmed back to the chunk.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import dask.array as da
import numpy as np
from dask.array.overlap import overlap, trim_internal

from engine.exceptions import ChunkSizeWarning
from engine.progress import kernel_plane

SPATIAL_AXES = (-2, -1)


def _kernel_keywords(
    parameters: Mapping[str, Any], names: tuple[str, ...], statistics: tuple[Any, ...], outside: tuple[int, ...] | None
) -> dict[str, Any]:
    keywords = dict(parameters)
    keywords.update({name: float(value) for name, value in zip(names, statistics, strict=True)})
    if outside is not None:
        keywords["outside_px"] = tuple(int(v) for v in outside)
    return keywords


def _outside_scene(start: int, stop: int, size: int, halo: int) -> tuple[int, int]:
    """Pixels of the halo before and after the block's core ``[start, stop)`` outside ``[0, size)``."""
    return max(0, halo - start), max(0, stop + halo - size)


def _apply_to_planes(extended: np.ndarray, kernel: Callable[..., np.ndarray], keywords: Mapping[str, Any], halo: int) -> np.ndarray:
    """Run the 2-D kernel on every plane (leading dims: bands) of a block that carries its halo
    (its core pixels are counted as progress). Real data are handed over as float32, complex
    data as complex64."""
    dtype = np.complex64 if np.iscomplexobj(extended) else np.float32
    core_px = max(0, extended.shape[-2] - 2 * halo) * max(0, extended.shape[-1] - 2 * halo)

    def run(plane: np.ndarray) -> np.ndarray:
        plane = np.ascontiguousarray(plane, dtype=dtype)
        with kernel_plane(core_px):
            result = kernel(plane, **keywords)
        if result.shape != plane.shape:
            raise RuntimeError(f"kernel returned shape {result.shape} for a block of shape {plane.shape}")
        return result

    if extended.ndim == 2:  # one plane: its result is the block's (no copy into a new array)
        return np.asarray(run(extended), dtype=dtype)
    out = np.empty(extended.shape, dtype=dtype)
    for index in np.ndindex(extended.shape[:-2]):
        out[index] = run(extended[index])
    return out


def _run_kernel(
    block: np.ndarray,
    *statistics: np.ndarray,
    kernel: Callable[..., np.ndarray],
    parameters: Mapping[str, Any],
    statistic_names: tuple[str, ...],
    self_padded: tuple[bool, bool],
    halo: int,
    core_bounds: tuple[tuple[tuple[int, int], ...], ...] | None = None,
    shape: tuple[int, int] = (0, 0),
    block_info: Any = None,
) -> np.ndarray:
    """Kernel on a block from ``dask.array.overlap``; axes that are one chunk wide got no halo
    from dask, so they are padded here with NaN, as at the scene border, and cropped after.
    ``core_bounds`` (per spatial axis, each chunk's [start, stop) in the scene) asks for the
    kernel to be told what lies outside the scene."""
    pad = [(0, 0)] * (block.ndim - 2) + [(halo, halo) if p else (0, 0) for p in self_padded]
    extended = np.pad(block, pad, constant_values=np.nan) if any(self_padded) else block
    outside = None
    if core_bounds is not None:
        location = block_info[0]["chunk-location"][-2:]
        outside = sum(
            (_outside_scene(*bounds[index], size, halo) for bounds, index, size in zip(core_bounds, location, shape, strict=True)), ()
        )
    out = _apply_to_planes(extended, kernel, _kernel_keywords(parameters, statistic_names, statistics, outside), halo)
    crop = tuple(slice(None) for _ in range(block.ndim - 2)) + tuple(
        slice(halo, out.shape[axis] - halo) if p else slice(None)
        for axis, p in zip(SPATIAL_AXES, self_padded, strict=True)
    )
    return out[crop]


def aligned_chunks(chunks: tuple[tuple[int, ...], ...], alignment: int) -> tuple[tuple[int, ...], ...]:
    """Chunks whose spatial blocks start at multiples of ``alignment`` (a network's stride):
    the chunk size is rounded up to a multiple of it where needed."""
    if alignment <= 1:
        return chunks
    out = list(chunks)
    for axis in SPATIAL_AXES:
        sizes = chunks[axis]
        if any(c % alignment for c in sizes[:-1]):
            size = -(-sizes[0] // alignment) * alignment
            total = sum(sizes)
            out[axis] = tuple(min(size, total - start) for start in range(0, total, size))
    return tuple(out)


def apply_overlapped(
    data: da.Array,
    kernel: Callable[..., np.ndarray],
    *,
    halo: int,
    parameters: Mapping[str, Any],
    statistics: Mapping[str, da.Array] | None = None,
    edges: bool = False,
) -> da.Array:
    """Run ``kernel`` over the last two axes of ``data`` with ``halo`` pixels of context.

    Parameters
    ----------
    data
        float32 (or complex64) dask array (..., y, x), NaN where there is no valid pixel.
    kernel
        ``kernel(plane, **parameters, **statistics) -> plane`` on padded 2-D float32 planes.
    halo
        Pixels of context the kernel needs on each side.
    parameters
        Keyword arguments for the kernel.
    statistics
        Scene-level 0-d dask arrays handed to every block as floats (computed once).
    edges
        Also hand the kernel ``outside_px=(top, bottom, left, right)``: the pixels of its block
        on each side that lie outside the scene (a model's windows stop at the scene's edge).

    Returns
    -------
    float32 dask array with the chunks of ``data`` (after any rechunking described below).

    Notes
    -----
    An axis with one chunk, or one too short to carry the halo (a 1 x N scene), is processed as a
    single chunk and padded with NaN by the kernel wrapper. A chunk smaller than the halo cannot
    carry it: the axis is rechunked to twice the halo and a :class:`ChunkSizeWarning` says so; a
    last chunk smaller than the halo is merged into the one before it.
    """
    statistics = dict(statistics or {})
    if halo < 0:
        raise ValueError(f"halo must be >= 0, got {halo}")
    rechunk: dict[int, Any] = {}
    self_padded = []
    for axis in SPATIAL_AXES:
        size = data.shape[axis]
        chunks = data.chunks[axis]
        if len(chunks) > 1 and size > 2 * halo:
            if min(chunks[:-1]) < halo:
                warnings.warn(
                    f"chunks of {min(chunks[:-1])} px along axis {data.ndim + axis} are smaller than the "
                    f"method's halo of {halo} px; rechunked to {2 * halo} px",
                    ChunkSizeWarning,
                    stacklevel=3,
                )
                chunks = tuple(min(2 * halo, size - start) for start in range(0, size, 2 * halo))
            if chunks[-1] < halo:
                # The scene's last sliver joins its neighbour: dask would otherwise move the
                # chunk boundary itself, off the multiples of a network's stride.
                chunks = (*chunks[:-2], chunks[-2] + chunks[-1])
        single = len(chunks) == 1 or size <= 2 * halo
        if single:
            chunks = (size,)
        if chunks != data.chunks[axis]:
            rechunk[data.ndim + axis] = chunks
        self_padded.append(single and halo > 0)
    if rechunk:
        data = data.rechunk(rechunk)
    depth = {axis: 0 for axis in range(data.ndim)}
    boundary: dict[int, Any] = {axis: "none" for axis in range(data.ndim)}
    for axis, padded in zip(SPATIAL_AXES, self_padded, strict=True):
        if not padded and halo > 0:
            depth[data.ndim + axis] = halo
            boundary[data.ndim + axis] = np.nan
    names = tuple(statistics)
    extended = overlap(data, depth=depth, boundary=boundary) if any(depth.values()) else data
    core_bounds = None
    if edges:  # the chunks under the overlap (dask may have merged chunks smaller than the halo)
        core_bounds = tuple(
            tuple(zip(starts[:-1], starts[1:], strict=True))
            for axis in SPATIAL_AXES
            for starts in [np.cumsum((0, *(c - 2 * depth[data.ndim + axis] for c in extended.chunks[axis]))).tolist()]
        )
    dtype = np.complex64 if np.issubdtype(data.dtype, np.complexfloating) else np.float32
    result = da.map_blocks(
        _run_kernel,
        extended,
        *(statistics[n] for n in names),
        kernel=kernel,
        parameters=dict(parameters),
        statistic_names=names,
        self_padded=tuple(self_padded),
        halo=halo,
        core_bounds=core_bounds,
        shape=tuple(data.shape[-2:]),
        dtype=dtype,
        meta=np.empty((0,) * data.ndim, dtype=dtype),
    )
    if any(depth.values()):
        result = trim_internal(result, depth, boundary=boundary)
    return result


def _read_and_run(
    *statistics: np.ndarray,
    read: Callable[[tuple[slice, ...]], np.ndarray],
    prepare: Callable[..., np.ndarray],
    kernel: Callable[..., np.ndarray],
    parameters: Mapping[str, Any],
    statistic_names: tuple[str, ...],
    halo: int,
    shape: tuple[int, ...],
    edges: bool,
    block_info: Any = None,
) -> np.ndarray:
    location = block_info[None]["array-location"]
    (r0, r1), (c0, c1) = location[-2:]
    height, width = shape[-2:]
    top, bottom = max(0, r0 - halo), min(height, r1 + halo)
    left, right = max(0, c0 - halo), min(width, c1 + halo)
    window = tuple(slice(a, b) for a, b in location[:-2]) + (slice(top, bottom), slice(left, right))
    values = prepare(read(window), origin=(top, left))
    pad = [(0, 0)] * (len(shape) - 2) + [(halo - (r0 - top), halo - (bottom - r1)), (halo - (c0 - left), halo - (right - c1))]
    extended = np.pad(values, pad, constant_values=np.nan)
    outside = (*pad[-2], *pad[-1]) if edges else None
    out = _apply_to_planes(extended, kernel, _kernel_keywords(parameters, statistic_names, statistics, outside), halo)
    return out[..., halo : out.shape[-2] - halo, halo : out.shape[-1] - halo]


def apply_with_halo_reads(
    read: Callable[[tuple[slice, ...]], np.ndarray],
    prepare: Callable[..., np.ndarray],
    kernel: Callable[..., np.ndarray],
    *,
    shape: tuple[int, ...],
    chunks: tuple[tuple[int, ...], ...],
    halo: int,
    parameters: Mapping[str, Any],
    statistics: Mapping[str, da.Array] | None = None,
    edges: bool = False,
) -> da.Array:
    """Like :func:`apply_overlapped`, but each block reads its own window *extended by the halo*
    from the source (``read(slices)``) instead of taking it from neighbouring chunks.

    ``prepare(raw, origin=(row, col))`` turns raw pixels into the kernel's float32 domain (NaN
    where invalid). Blocks share nothing, so memory stays at one block per running task and a
    cluster moves no halo data between workers; outside the scene the block is padded with NaN,
    exactly as :func:`apply_overlapped` does, so both give the same result.
    """
    statistics = dict(statistics or {})
    names = tuple(statistics)
    return da.map_blocks(
        _read_and_run,
        *(statistics[n] for n in names),
        read=read,
        prepare=prepare,
        kernel=kernel,
        parameters=dict(parameters),
        statistic_names=names,
        halo=halo,
        shape=tuple(shape),
        edges=edges,
        chunks=chunks,
        dtype=np.float32,
        meta=np.empty((0,) * len(shape), dtype=np.float32),
    )
