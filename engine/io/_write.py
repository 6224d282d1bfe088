"""``write_scene``: stream a (lazy) scene to GeoTIFF, COG or Zarr, atomically."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from rasterio.errors import RasterioError

from engine._options import FORMATS, get_option
from engine.conventions import TAG_PREFIX
from engine.exceptions import InputError, OutputError, OutputExistsError, ParameterError
from engine.io import _geotiff, _zarr
from engine.io._atomic import (
    CANCELLED,
    check_output_path,
    check_space,
    commit,
    exclusive,
    made_by_us,
    remove,
    resumable_sibling,
    temporary_sibling,
    writing,
)
from engine.io._blocks import BlockStats, require_valid_pixels, write_blocks
from engine.io._metadata import output_tags
from engine.progress import Reporter
from engine.scene import georeference_of, nodata_of, statistics_of
from engine.scheduling import LocalRunner, Runner


@dataclass
class WriteResult:
    """What was written: where, how many valid pixels, the value range and scene statistics."""

    path: Path
    format: str
    shape: tuple[int, ...]
    stats: BlockStats
    statistics: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "shape": list(self.shape),
            **self.stats.as_dict(),
            "statistics": self.statistics,
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass(frozen=True)
class _Job:
    """What every writer of one ``write_scene`` call shares: where and how it computes, the scene
    statistics to record, the lock that cancels its blocks, and whether it may replace."""

    runner: Runner
    reporter: Reporter
    lazy_stats: dict[str, Any]
    lock_name: str
    phase: str
    started: float
    overwrite: bool


def infer_format(path: Path, requested: str | None) -> str:
    suffix = path.suffix.lower()
    if requested is not None:
        fmt = requested.lower()
        if fmt not in FORMATS:
            raise ParameterError(f"output format must be one of {', '.join(FORMATS)}, got {requested!r}")
        if fmt == "picture" and suffix not in _geotiff.PICTURE_DRIVERS:
            raise ParameterError(f"picture output needs a {'/'.join(_geotiff.PICTURE_DRIVERS)} name, got {path.name!r}")
        if fmt != "picture" and suffix in _geotiff.PICTURE_DRIVERS:
            raise ParameterError(f"a {fmt} output named {path.name!r} would be a raster under a picture's name: name it .tif (or .zarr)")
        return fmt
    if suffix == ".zarr":
        return "zarr"
    if suffix in (".tif", ".tiff"):
        return "gtiff"
    if suffix in _geotiff.PICTURE_DRIVERS:
        return "picture"
    raise ParameterError(
        f"cannot tell the output format from {path.name!r}: use a .tif/.tiff (GeoTIFF) or .zarr "
        "name (.png/.jpg/.bmp for display images), or give the format (cog for a Cloud-Optimized GeoTIFF)"
    )


def _aligned(data: da.Array, tile_px: int) -> da.Array:
    """Rechunk so that spatial chunks are whole GeoTIFF tiles: every tile is written once."""
    spatial = {}
    for axis in (-2, -1):
        chunks = data.chunks[axis]
        if len(chunks) > 1 and any(c % tile_px for c in chunks[:-1]):
            spatial[data.ndim + axis] = max(tile_px, int(round(chunks[0] / tile_px)) * tile_px)
    return data.rechunk(spatial) if spatial else data


def _output_nodata(scene: xr.DataArray) -> float:
    """The nodata value the output declares: the scene's (:func:`engine.scene.nodata_of`, the
    value the pipeline masks), else NaN."""
    value = nodata_of(scene)
    return value if value is not None else float("nan")


def writer_settings(
    runner: Runner | None, reporter: Reporter | None, compress: str | None, tile_px: int | None
) -> tuple[Runner, Reporter, str, int]:
    """The writers' defaults (local threads, silent, ``get_option`` compression and tile size),
    with the compression checked."""
    compress = compress or get_option("compress")
    if compress not in _geotiff.COMPRESSION:
        raise ParameterError(f"compress must be one of {', '.join(_geotiff.COMPRESSION)}, got {compress!r}")
    return (runner or LocalRunner(num_workers=get_option("num_workers")), reporter or Reporter(), compress,
            int(tile_px or get_option("geotiff_tile_px")))


def write_scene(
    scene: xr.DataArray,
    path: str | Path,
    *,
    format: str | None = None,  # noqa: A002 - the natural name, as in rasterio
    overwrite: bool = False,
    compress: str | None = None,
    tile_px: int | None = None,
    runner: Runner | None = None,
    reporter: Reporter | None = None,
    resume: bool = False,
    run_manifest: dict[str, Any] | None = None,
    phase: str = "write",
    inputs: tuple[Path, ...] = (),
) -> WriteResult:
    """Compute ``scene`` block by block and write it to ``path``, in bounded memory.

    Parameters
    ----------
    scene
        DataArray with dims ``(y, x)`` or ``(band, y, x)``, usually lazy (dask).
    path
        Output path; ``.tif``/``.tiff`` for GeoTIFF, ``.zarr`` for Zarr.
    format
        ``gtiff``, ``cog`` (Cloud-Optimized GeoTIFF with overviews) or ``zarr``; default from
        the suffix.
    overwrite
        Replace an existing output. Without it an existing output is an error.
    compress
        GeoTIFF compression (``deflate``, ``zstd``, ``lzw``, ``none``); default
        ``get_option("compress")``.
    tile_px
        GeoTIFF tile size; default ``get_option("geotiff_tile_px")``.
    runner
        Where to compute (``engine.scheduling.open_runner``); default local threads.
    reporter
        Progress receiver (``engine.progress``); default silent.
    resume
        Zarr only: continue an interrupted run of the same job (same ``run_manifest``).
    run_manifest
        Zarr only: what identifies the job for ``resume`` (input, method, parameters).
    inputs
        Files the output must not replace (besides the scene's own ``source``).

    Returns
    -------
    WriteResult
        Path, format, shape, valid-pixel statistics and the scene statistics that were used.

    Notes
    -----
    The output is written under a temporary name in the target's folder and moved into place
    only when complete; after a failure nothing is left at ``path``.
    """
    started = time.monotonic()
    if resume and not overwrite and Path(path).exists() and not resumable_sibling(Path(path)).exists():
        raise OutputExistsError(f"{path} already exists and no interrupted run of it waits to be resumed (there is no "
                                f"{resumable_sibling(Path(path)).name}); pass overwrite=True (--overwrite) to compute it again")
    target = check_output_path(
        Path(path),
        overwrite=overwrite,
        inputs=(*inputs, *((Path(scene.attrs["source"]),) if "source" in scene.attrs else ())),
    )
    fmt = infer_format(target, format)
    if resume and fmt != "zarr":
        raise ParameterError("resume is only possible for Zarr output")
    runner, reporter, compress, tile = writer_settings(runner, reporter, compress, tile_px)
    if not isinstance(scene.data, da.Array):
        scene = scene.chunk({dim: get_option("chunk_size_px") for dim in scene.dims[-2:]})
    job = _Job(runner, reporter, statistics_of(scene), f"despeckle-write-{uuid.uuid4().hex}", phase, started, overwrite)
    try:
        if fmt == "zarr":
            with exclusive(target):
                return _write_zarr(scene, target, job, resume, run_manifest)
        if fmt == "picture":
            return _write_picture(scene, target, job)
        return _write_geotiff(scene, target, fmt, compress, tile, job)
    except RasterioError as error:
        raise InputError(
            f"GDAL failed while reading or writing raster data: {error}. If the input is truncated "
            "or corrupt, fix or re-download it; if the disk is full, free some space"
        ) from None


def _write_geotiff(
    scene: xr.DataArray,
    target: Path,
    fmt: str,
    compress: str,
    tile: int,
    job: _Job,
) -> WriteResult:
    data = scene.data if scene.ndim == 3 else scene.data[np.newaxis]
    if data.ndim != 3:
        raise ParameterError(f"GeoTIFF output needs (y, x) or (band, y, x) data, got dims {scene.dims}")
    data = _aligned(data, tile)
    nodata = _output_nodata(scene)
    temporary = temporary_sibling(target)
    cog_temporary = temporary_sibling(target)
    georeference = georeference_of(scene)
    band_names = tuple(scene.attrs.get("band_names") or ())

    def create() -> None:
        _geotiff.create_geotiff(
            temporary, shape=data.shape, dtype=np.dtype(np.float32), georeference=georeference, nodata=nodata,
            tags=output_tags(scene), band_names=band_names, units="dB" if scene.attrs.get("domain") == "db" else None,
            tile_px=tile, compress=compress,
        )

    def finish(statistics: dict[str, float]) -> Path:
        if statistics:
            _geotiff.update_tags(temporary, output_tags(scene, statistics))
        _geotiff.check_written(temporary)
        if fmt != "cog":
            return temporary
        _geotiff.convert_to_cog(temporary, cog_temporary, compress=compress, tile_px=tile, dtype=np.dtype(np.float32))
        remove(temporary)
        _geotiff.check_written(cog_temporary)
        return cog_temporary

    if compress == "none":  # every tile is stored whole, the scene's edge tiles included
        bands, height, width = data.shape
        check_space(target, bands * -(-height // tile) * tile * -(-width // tile) * tile * 4)
    try:
        writing(target, create)
        writer = partial(
            _geotiff.write_geotiff_block, path=str(temporary), target=str(target), lock_name=job.lock_name, nodata=nodata, dtype="float32"
        )
        stats, values = write_blocks(data, writer, runner=job.runner, reporter=job.reporter, phase=job.phase, extra=list(job.lazy_stats.values()))
        require_valid_pixels(stats)
        statistics = {name: float(v) for name, v in zip(job.lazy_stats, values, strict=True)}
        finished = writing(target, partial(finish, statistics))
        writing(target, partial(commit, finished, target, overwrite=job.overwrite))
    except BaseException:
        CANCELLED.add(job.lock_name)
        remove(temporary)
        remove(cog_temporary)
        raise
    return WriteResult(target, fmt, tuple(scene.shape), stats, statistics, time.monotonic() - job.started)


def _write_picture(scene: xr.DataArray, target: Path, job: _Job) -> WriteResult:
    """A display image as an 8-bit picture: streamed into a hidden GeoTIFF (the pictures' drivers
    cannot write block by block), then converted beside the target and moved into place."""
    domain = scene.attrs.get("domain")
    if domain != "display":
        raise ParameterError(
            f"{target.suffix} files hold 8-bit display images (B-mode, OCT grey levels 0-255); this output holds {domain} values: "
            "write a GeoTIFF (.tif)"
        )
    bands = 1 if scene.ndim == 2 else scene.shape[0]
    if scene.ndim > 3 or bands not in (1, 3):
        raise ParameterError(f"a picture holds one grey band or three colour bands, this output has dims {dict(scene.sizes)}")
    staging = temporary_sibling(target)
    staging = staging.with_name(staging.name + ".tif")  # still a temporary of target's (stale ones are removed)
    picture = temporary_sibling(target)
    try:
        written = _write_geotiff(scene, staging, "gtiff", "deflate", 256, replace(job, overwrite=False))
        writing(target, partial(_geotiff.convert_to_picture, staging, picture, driver=_geotiff.PICTURE_DRIVERS[target.suffix.lower()]))
        remove(staging)
        writing(target, partial(commit, picture, target, overwrite=job.overwrite))
    except BaseException:
        remove(staging)
        remove(picture)
        raise
    return WriteResult(target, "picture", written.shape, written.stats, written.statistics, time.monotonic() - job.started)


def _size_text(folder: Path) -> str:
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return f"{size / 2**20:.1f} MiB"


def _regular(data: da.Array) -> da.Array:
    """Zarr chunks are regular: every chunk but the last of an axis has the same size."""
    if all(len(set(c[:-1])) <= 1 and c[-1] <= c[0] for c in data.chunks):
        return data
    return data.rechunk({axis: max(c) for axis, c in enumerate(data.chunks)})


def _write_zarr(scene: xr.DataArray, target: Path, job: _Job, resume: bool, run_manifest: dict[str, Any] | None) -> WriteResult:
    scene = scene.copy(data=_regular(scene.data))
    variable = str(scene.name) if scene.name is not None else str(scene.attrs.get("domain", "data"))
    partial_store = resumable_sibling(target)
    manifest = {
        "run": run_manifest or {"id": uuid.uuid4().hex},
        "shape": list(scene.shape),
        "chunks": [list(c) for c in scene.data.chunks],
        "variable": variable,
    }
    resuming = resume and partial_store.exists() and _zarr.resumable(partial_store, manifest)
    if not resuming:
        if partial_store.exists() or partial_store.is_symlink():
            if not (partial_store.is_dir() and made_by_us(partial_store)):
                raise OutputExistsError(f"{partial_store} exists and despeckle did not make it; it is never replaced. Move it away")
            remove(partial_store)
        template = scene.copy()
        if "spatial_ref" in template.coords:
            template.attrs["grid_mapping"] = "spatial_ref"
        try:
            writing(target, partial(_zarr.create_zarr, partial_store, template, variable=variable, manifest=manifest))
        except OutputError:
            remove(partial_store)  # nothing written yet: nothing to resume
            raise
    writer = partial(_zarr.write_zarr_block, store=str(partial_store), target=str(target), variable=variable, lock_name=job.lock_name)
    skip = partial(_zarr.finished_block, partial_store) if resuming else (lambda index: None)
    try:
        stats, values = write_blocks(
            scene.data, writer, runner=job.runner, reporter=job.reporter, phase=job.phase, skip=skip, extra=list(job.lazy_stats.values())
        )
        require_valid_pixels(stats)
    except InputError:
        CANCELLED.add(job.lock_name)
        remove(partial_store)  # bad data: resuming would not help
        raise
    except OutputError as error:
        CANCELLED.add(job.lock_name)  # the disk or the folder failed: the partial store can resume once that is mended
        done = _zarr.finished_count(partial_store)
        if not done:
            remove(partial_store)
            raise
        raise OutputError(f"{error}. The {done} chunk(s) written so far are kept in {partial_store} ({_size_text(partial_store)}) "
                          "for --resume; remove that folder to free the space") from None
    except BaseException:
        CANCELLED.add(job.lock_name)  # interrupted or failed: keep the partial store for resume
        raise
    statistics = {name: float(v) for name, v in zip(job.lazy_stats, values, strict=True)}
    attrs = {TAG_PREFIX + "STATISTICS": json.dumps(statistics)} if statistics else {}
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a Zarr store")
    try:
        writing(target, partial(_zarr.finalize_zarr, partial_store, variable=variable, attrs=attrs))
    except OutputError as error:
        raise OutputError(f"{error}. Every chunk was written and is kept in {partial_store}: run again with --resume "
                          "to finish") from None
    writing(target, partial(commit, partial_store, target, overwrite=job.overwrite))
    return WriteResult(target, "zarr", tuple(scene.shape), stats, statistics, time.monotonic() - job.started)
