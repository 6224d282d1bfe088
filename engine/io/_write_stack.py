"""``write_stack``: several rasters on one grid (a stack's dates, its temporal mean, its ENL map)
into one folder of GeoTIFFs/COGs, in one streamed pass, atomically.

All layers are computed together, block by block (a block holds every layer of one spatial
chunk), because a stack method's dates share their work: writing date by date would compute the
whole stack once per date. The folder is written under a temporary name and moved into place
only when every file is complete; ``overwrite`` replaces only a folder this tool made.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from engine._options import get_option
from engine.exceptions import ParameterError
from engine.io import _geotiff
from engine.io._atomic import CANCELLED, check_output_path, check_space, commit, mark_as_ours, remove, temporary_sibling, writing
from engine.io._blocks import BlockStats, require_valid_pixels, write_blocks
from engine.io._metadata import output_tags
from engine.io._write import _aligned, _output_nodata, writer_settings
from engine.progress import Reporter
from engine.scene import georeference_of
from engine.scheduling import Runner

#: The file in a stack folder that says what is in it (dates, inputs, method, files).
STACK_MANIFEST = "stack.json"


@dataclass
class StackWriteResult:
    """What was written: the folder, each layer's file, and the valid-pixel statistics."""

    folder: Path
    format: str
    files: dict[str, Path]
    shape: tuple[int, ...]
    stats: BlockStats
    elapsed_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "format": self.format, "files": {k: str(v) for k, v in self.files.items()},
                "shape": list(self.shape), **self.stats.as_dict(), "elapsed_s": round(self.elapsed_s, 3)}


def _write_layers(block: np.ndarray, *, index: tuple[int, ...], region: tuple[slice, ...], paths: Sequence[str], target: str,
                  lock_name: str, nodata: Sequence[float]) -> BlockStats:
    _, rows, cols = region
    parts = [
        _geotiff.write_geotiff_block(block[i : i + 1], index=index, region=(slice(0, 1), rows, cols), path=path, target=target,
                                     lock_name=lock_name, nodata=value, dtype="float32")
        for i, (path, value) in enumerate(zip(paths, nodata, strict=True))
    ]
    return BlockStats.combine(parts)


def write_stack(
    layers: Sequence[tuple[str, xr.DataArray]],
    folder: str | Path,
    *,
    format: str = "gtiff",  # noqa: A002 - as in write_scene
    overwrite: bool = False,
    compress: str | None = None,
    tile_px: int | None = None,
    runner: Runner | None = None,
    reporter: Reporter | None = None,
    manifest: dict[str, Any] | None = None,
    inputs: Sequence[Path] = (),
    phase: str = "write",
) -> StackWriteResult:
    """Write each ``(file name, 2-D DataArray)`` of ``layers`` as a GeoTIFF (``format="cog"``:
    Cloud-Optimized) into the new folder ``folder``, with ``manifest`` (plus the files) as
    ``stack.json``. The layers share one grid; each keeps its own nodata, tags and units."""
    started = time.monotonic()
    if format not in ("gtiff", "cog"):
        raise ParameterError(f"a folder of dates is written as gtiff or cog, got {format!r} (Zarr: one store, write_scene)")
    names = [name for name, _ in layers]
    if len(set(names)) != len(names) or any("/" in n or n.startswith(".") for n in names):
        raise ParameterError(f"the output file names must be distinct plain names, got {names}")
    too_long = [n for n in names if len(f".{n}.cog".encode()) > 255]  # the longest name written in the folder
    if too_long:
        raise ParameterError(f"the output file name {too_long[0]!r} is too long for the file system ({len(too_long[0].encode())} "
                             "bytes, at most 250): shorten the input names")
    target = check_output_path(Path(folder), overwrite=overwrite, inputs=tuple(inputs), folder=True)
    runner, reporter, compress, tile = writer_settings(runner, reporter, compress, tile_px)
    first = layers[0][1]
    chunks = first.data.chunks if isinstance(first.data, da.Array) else ((get_option("chunk_size_px"),) * 2)
    data = _aligned(da.stack([da.asarray(layer.data).rechunk(chunks) for _, layer in layers], axis=0).rechunk({0: -1}), tile)
    nodata = [_output_nodata(layer) for _, layer in layers]
    temporary = temporary_sibling(target)
    georeference = georeference_of(first)
    lock_name = f"despeckle-write-{uuid.uuid4().hex}"

    def create() -> None:
        temporary.mkdir()
        mark_as_ours(temporary)
        for (name, layer), value in zip(layers, nodata, strict=True):
            _geotiff.create_geotiff(
                temporary / name, shape=(1, *data.shape[1:]), dtype=np.dtype(np.float32), georeference=georeference, nodata=value,
                tags=output_tags(layer), band_names=(str(layer.name),) if layer.name is not None else (),
                units="dB" if layer.attrs.get("domain") == "db" else None, tile_px=tile, compress=compress,
            )

    def finish() -> None:
        for name, _ in layers:
            path = temporary / name
            _geotiff.check_written(path)
            if format == "cog":
                converted = temporary / f".{name}.cog"
                _geotiff.convert_to_cog(path, converted, compress=compress, tile_px=tile, dtype=np.dtype(np.float32))
                _geotiff.check_written(converted)
                converted.replace(path)
        record = {**(manifest or {}), "format": format, "files": names}
        (temporary / STACK_MANIFEST).write_text(json.dumps(record, indent=1, default=str))

    if compress == "none":
        check_space(target, int(np.prod(data.shape)) * 4)
    try:
        writing(target, create)
        writer = partial(_write_layers, paths=[str(temporary / n) for n in names], target=str(target), lock_name=lock_name, nodata=nodata)
        stats, _ = write_blocks(data, writer, runner=runner, reporter=reporter, phase=phase)
        require_valid_pixels(stats)
        writing(target, finish)
        writing(target, partial(commit, temporary, target, overwrite=overwrite))
    except BaseException:
        CANCELLED.add(lock_name)
        remove(temporary)
        raise
    return StackWriteResult(target, format, {n: target / n for n in names}, tuple(data.shape), stats, time.monotonic() - started)
