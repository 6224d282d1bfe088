"""Zarr stores: lazy opening and streamed, resumable writing.

Writing records every finished chunk (a small JSON file with its statistics) under
``.despeckle/done/`` inside the store being written, together with a manifest describing the
run. A later run with ``resume=True`` and the same manifest skips the recorded chunks; Zarr
chunks are independent objects, so a chunk is either recorded and complete or rewritten.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine.exceptions import InputError, OutputError
from engine.io._atomic import CANCELLED, mark_as_ours, writing
from engine.io._blocks import BlockStats
from engine.io._formats import InputFormat
from engine.sources import FileReader, SceneSource, scene_from_source

_STATE = ".despeckle"


@dataclass(frozen=True)
class ZarrReader(FileReader):
    """Reader of one variable of a Zarr store (its chunks read on demand)."""

    variable: str

    def open(self) -> xr.Variable:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return xr.open_zarr(self.path, decode_coords="all", mask_and_scale=False, chunks=None)[self.variable].variable

    def read(self, opened: xr.Variable, index: tuple[Any, ...]) -> np.ndarray:
        return np.asarray(opened[index])


def is_zarr(path: Path) -> bool:
    return path.is_dir() and (
        path.suffix == ".zarr" or any((path / name).exists() for name in (".zgroup", ".zarray", "zarr.json"))
    )


def open_zarr_scene(path: Path, *, chunk_px: int, variable: str | None) -> xr.DataArray:
    """Open one variable of a Zarr store lazily, with its coordinates and CRS."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "consolidated metadata not found"
            ds = xr.open_zarr(path, decode_coords="all", mask_and_scale=False, chunks=None)
    except Exception as error:  # zarr raises several unrelated types for broken stores
        raise InputError(f"cannot read {path} as a Zarr store: {error}") from None
    candidates = [name for name, var in ds.data_vars.items() if var.ndim >= 2]
    if variable is None:
        if len(candidates) != 1:
            raise InputError(
                f"{path} holds {len(candidates)} raster variables ({', '.join(map(str, candidates)) or 'none'}); "
                "choose one with variable=... (--variable)"
            )
        variable = str(candidates[0])
    if variable not in ds.data_vars:
        raise InputError(f"{path} has no variable {variable!r}; it has {', '.join(map(str, ds.data_vars))}")
    lazy = ds[variable]
    source = SceneSource.of(ZarrReader.of(path, str(variable)), lazy.shape, lazy.dtype)
    return scene_from_source(source, chunk_px, template=lazy)


def _state_dir(store: Path) -> Path:
    return store / _STATE


def _done_marker(store: Path, index: tuple[int, ...]) -> Path:
    return _state_dir(store) / "done" / "_".join(map(str, index))


def create_zarr(store: Path, scene: xr.DataArray, *, variable: str, manifest: Mapping[str, Any]) -> None:
    """Create the store's metadata and coordinates (no data chunks) and the resume manifest."""
    template = scene.to_dataset(name=variable)
    chunks = tuple(c[0] for c in scene.chunks or ())
    encoding = {variable: {"chunks": chunks, "_FillValue": np.float32(np.nan), "dtype": "float32"}}
    for name in template.variables:  # an input store's own encodings (Zarr v3 codecs...) do not apply to v2
        template[name].encoding = {}
    # Marked as ours before anything else: a run interrupted while the metadata are written (seconds
    # for a long stack) leaves a partial store the next run may replace or resume.
    store.mkdir(parents=True)
    mark_as_ours(store)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*despeckle-output.*")  # zarr lists the store: our marker is no array
        template.to_zarr(store, mode="a", compute=False, encoding=encoding, zarr_format=2, consolidated=False)
    (_state_dir(store) / "done").mkdir(parents=True, exist_ok=True)
    (_state_dir(store) / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, default=str))


def resumable(store: Path, manifest: Mapping[str, Any]) -> bool:
    """True when ``store`` is a partial output of the same run (same manifest)."""
    path = _state_dir(store) / "manifest.json"
    if not path.is_file():
        return False
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        raise OutputError(
            f"{store} holds an unreadable resume record ({path.name}); it cannot be resumed safely: "
            "delete it, or run without --resume to start over"
        ) from None
    if previous != json.loads(json.dumps(manifest, sort_keys=True, default=str)):
        raise OutputError(
            f"{store} is a partial output of a different run (other input, method, parameters or "
            "chunking); delete it or run without resume"
        )
    return True


def finished_block(store: Path, index: tuple[int, ...]) -> BlockStats | None:
    marker = _done_marker(store, index)
    if not marker.is_file():
        return None
    return BlockStats(**json.loads(marker.read_text()))


def finished_count(store: Path) -> int:
    """How many chunks an interrupted run recorded as written."""
    folder = _state_dir(store) / "done"
    return sum(1 for p in folder.iterdir() if p.suffix != ".tmp") if folder.is_dir() else 0


def write_zarr_block(
    block: np.ndarray, *, index: tuple[int, ...], region: tuple[slice, ...], store: str, target: str, variable: str, lock_name: str
) -> BlockStats:
    stats = BlockStats.of(block)
    if lock_name in CANCELLED:
        return stats
    import zarr  # imported on use: 0.3 s that runs without Zarr output need not pay

    def write() -> None:
        array = zarr.open_array(store=store, path=variable, mode="r+")
        array[region] = block.astype(np.float32, copy=False)
        marker = _done_marker(Path(store), index)
        temporary = marker.with_suffix(".tmp")
        temporary.write_text(json.dumps(stats.__dict__))
        temporary.replace(marker)  # the record appears only once the chunk is written

    writing(Path(target), write)
    return stats


def finalize_zarr(store: Path, *, variable: str, attrs: Mapping[str, Any]) -> None:
    """Record final attributes, drop the resume state and consolidate the metadata."""
    import zarr

    group = zarr.open_group(store, mode="r+")
    group[variable].attrs.update(dict(attrs))
    with warnings.catch_warnings():
        # Our ownership marker (engine.io._atomic.OWNER_MARKER) is not a Zarr object; said, harmlessly.
        warnings.filterwarnings("ignore", message=".*is not recognized as a component of a Zarr hierarchy")
        warnings.filterwarnings("ignore", message=".*\\.despeckle.*")
        zarr.consolidate_metadata(str(store))
    shutil.rmtree(_state_dir(store), ignore_errors=True)  # last: a failure before it leaves a resumable store


FORMAT = InputFormat(
    "a Zarr store",
    claims=lambda path, request: is_zarr(path),
    open=lambda path, r: open_zarr_scene(path, chunk_px=r.chunk_px, variable=r.variable),
    options=("variable",),
    georeferenced=lambda path: True,
)
