"""Streaming a lazy array to storage block by block, with bounded memory.

Each dask block becomes one task that writes itself (GeoTIFF window or Zarr chunk) and returns
small statistics, so nothing but those statistics comes back to the caller; memory stays at a
few blocks per worker whatever the scene size. The same tasks run on local threads or on a
dask.distributed cluster (see ``engine.scheduling``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numba
import numpy as np

from engine.exceptions import InputError
from engine.progress import Reporter, metered
from engine.scheduling import Runner


@numba.njit(nogil=True, cache=True)
def _finite_summary(values):  # type: ignore[no-untyped-def]
    """(count, minimum, maximum, float64 sum) of the finite values; (0, inf, -inf, 0) for none."""
    count = 0
    minimum = np.inf
    maximum = -np.inf
    total = 0.0
    for v in values:
        if np.isfinite(v):
            count += 1
            minimum = min(minimum, v)
            maximum = max(maximum, v)
            total += np.float64(v)
    return count, minimum, maximum, total


@dataclass(frozen=True)
class BlockStats:
    """What a block write reports: valid pixel count and the range and sum of valid values."""

    valid: int
    total: int
    minimum: float
    maximum: float
    sum: float

    @classmethod
    def of(cls, block: np.ndarray) -> BlockStats:
        if block.dtype.kind == "f":  # one pass, no copy of the finite values (every block written)
            valid, minimum, maximum, total = _finite_summary(block.ravel())
            return cls(int(valid), int(block.size), float(minimum), float(maximum), float(total))
        finite = block[np.isfinite(block)]
        if finite.size == 0:
            return cls(0, int(block.size), np.inf, -np.inf, 0.0)
        return cls(
            int(finite.size), int(block.size), float(finite.min()), float(finite.max()), float(finite.sum(dtype=np.float64))
        )

    @classmethod
    def combine(cls, parts: Sequence[BlockStats]) -> BlockStats:
        return cls(
            sum(p.valid for p in parts),
            sum(p.total for p in parts),
            min((p.minimum for p in parts), default=np.inf),
            max((p.maximum for p in parts), default=-np.inf),
            sum(p.sum for p in parts),
        )

    def as_dict(self) -> dict[str, Any]:
        valid = self.valid > 0
        return {
            "valid_pixels": self.valid,
            "total_pixels": self.total,
            "minimum": self.minimum if valid else None,
            "maximum": self.maximum if valid else None,
            "mean": self.sum / self.valid if valid else None,
        }


def block_regions(chunks: tuple[tuple[int, ...], ...]) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Yield (block index, slices into the full array) for every block."""
    offsets = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in chunks]
    for index in itertools.product(*(range(len(c)) for c in chunks)):
        yield index, tuple(slice(int(o[i]), int(o[i + 1])) for o, i in zip(offsets, index, strict=True))


WriteBlock = Callable[..., BlockStats]


def _write_and_summarise(block: np.ndarray, *, write_block: WriteBlock, block_info: Any = None) -> np.ndarray:
    info = block_info[0]
    region = tuple(slice(start, stop) for start, stop in info["array-location"])
    stats = write_block(block, index=tuple(info["chunk-location"]), region=region)
    out = np.empty((1,) * block.ndim, dtype=object)
    out.flat[0] = stats
    return out


def write_blocks(
    data: da.Array,
    write_block: WriteBlock,
    *,
    runner: Runner,
    reporter: Reporter,
    phase: str,
    skip: Callable[[tuple[int, ...]], BlockStats | None] = lambda index: None,
    extra: Sequence[Any] = (),
) -> tuple[BlockStats, list[Any]]:
    """Write every block of ``data`` with ``write_block(block, index=, region=)``.

    The write is fused into the task that computes the block (``map_blocks``), so a worker
    writes each block before it starts another: however slow the disk, no computed block waits
    in memory for its turn. ``skip(index)`` returns the stats of a block already written
    (resume) or None. ``extra`` dask objects (scene statistics to record) are computed in the
    same pass, sharing the graph. Returns the combined block statistics and the ``extra`` values.
    """
    written = data.map_blocks(
        _write_and_summarise,
        write_block=write_block,
        chunks=tuple((1,) * n for n in data.numblocks),
        dtype=object,
        meta=np.empty((0,) * data.ndim, dtype=object),
    )
    per_block = written.to_delayed(optimize_graph=True)
    tasks: list[Any] = []
    done: list[BlockStats] = []
    for index, _ in block_regions(data.chunks):
        previous = skip(index)
        if previous is not None:
            done.append(previous)
        else:
            tasks.append(per_block[index])
    total_px = sum(int(np.prod([c[i] for c, i in zip(data.chunks, index, strict=True)])) for index, _ in block_regions(data.chunks)
                   if skip(index) is None)
    reporter.start(phase, total_px)
    with metered(reporter, total_px) as meter:
        results = runner.compute([*tasks, *extra], meter) if tasks or extra else []
    meter.complete()
    reporter.finish()
    stats = BlockStats.combine(done + [np.asarray(r).flat[0] for r in results[: len(tasks)]])
    return stats, list(results[len(tasks) :])


def require_valid_pixels(stats: BlockStats) -> None:
    if stats.valid == 0:
        raise InputError(
            "the scene has no valid pixels: every pixel is NaN or nodata, so there is nothing to "
            "despeckle (check the band, the nodata value and the input file)"
        )
