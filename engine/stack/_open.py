"""``open_stack``: co-registered dates (files, a folder, a glob, a Zarr store or xarray object with
``time``) to one lazy ``(time, y, x)`` DataArray, chunked in space, every date on one grid.

Each date keeps its own nodata: the stack holds float32 values in the dates' domain, NaN where a
date has no pixel, so dates with different footprints combine pixel by pixel. Dates on different
grids are refused (with what differs), or reprojected onto the first date's grid with ``align``
(GDAL's warper, through a warped VRT per date, read lazily window by window like any raster).
"""

from __future__ import annotations

import atexit
import glob
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import rasterio
import xarray as xr
from rasterio.enums import Resampling
from rasterio.transform import array_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds

from engine._options import get_option
from engine.exceptions import InputError, ParameterError
from engine.io import open_scene
from engine.scene import LOOKS_SOURCE, as_scene, georeference_of, looks_stated, nodata_of, valid_values
from engine.stack._dates import date_in_name

#: File names a folder given as a stack is searched for.
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")
TIME = "time"
#: Attributes of a date's file that say nothing true of the stack (its values are NaN-marked float32).
PER_DATE_ATTRS = ("source", "_FillValue", "nodata", "scale_factor", "add_offset")
#: ``stack.encoding`` key: (dask name of the stack, the dates as opened), see :func:`date_scenes`.
DATES_ENCODING = "despeckle_dates"


def _expand(sources: Sequence[str | Path]) -> list[Path]:
    """Paths, one folder (its rasters, in name order) or glob patterns -> the dates' paths."""
    paths: list[Path] = []
    for source in sources:
        text = str(source)
        path = Path(text).expanduser()
        if any(c in text for c in "*?[") and not path.exists():
            found = sorted(glob.glob(str(path)))
            if not found:
                raise InputError(f"no file matches {text!r}")
            paths.extend(Path(f) for f in found)
        elif path.is_dir() and not _is_store(path):
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in RASTER_SUFFIXES and not p.name.startswith("."))
            if not found:
                raise InputError(f"the folder {path} holds no raster ({', '.join(RASTER_SUFFIXES)})")
            paths.extend(found)
        elif not path.exists():
            raise InputError(f"{path} does not exist")
        else:
            paths.append(path)
    # The same file twice (also through a link or another path) is one date, not two.
    identities = [(p.stat().st_dev, p.stat().st_ino) for p in paths]
    twice = sorted({str(p) for p, i in zip(paths, identities, strict=True) if identities.count(i) > 1})
    if twice:
        raise InputError(f"the same file is given more than once: {', '.join(twice)}")
    return paths


def stack_inputs(sources: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files (or the Zarr store) ``open_stack`` reads for ``sources``: what an output must not
    replace, and what identifies a run for resuming."""
    return _expand([sources] if isinstance(sources, (str, Path)) else list(sources))


def _is_store(path: Path) -> bool:
    return (path / ".zgroup").exists() or (path / "zarr.json").exists() or (path / ".zattrs").exists()


def _as_plane(scene: xr.DataArray, path: Path) -> xr.DataArray:
    if scene.ndim == 3 and scene.shape[0] == 1:
        return scene.isel({scene.dims[0]: 0}, drop=True)
    if scene.ndim != 2:
        raise InputError(f"{path.name} holds {scene.shape[0]} bands; a stack takes one image per date: choose one with "
                         "bands=[n] (--band N)")
    return scene


def _grid_difference(first: xr.DataArray, other: xr.DataArray) -> str | None:
    a, b = georeference_of(first), georeference_of(other)
    if first.shape != other.shape:
        return f"its size is {other.shape[1]}x{other.shape[0]} px, the first date's {first.shape[1]}x{first.shape[0]}"
    if a.crs != b.crs:
        return f"its CRS is {b.crs}, the first date's {a.crs}"
    if (a.transform is None) != (b.transform is None) or (
        a.transform is not None and b.transform is not None and not a.transform.almost_equals(b.transform, precision=1e-6)
    ):
        return f"its grid (transform {tuple(b.transform or ())[:6]}) differs from the first date's ({tuple(a.transform or ())[:6]})"
    if a.gcps or b.gcps:
        return "dates georeferenced by ground control points cannot be checked to share a grid: orthorectify them first"
    return None


_WARPED_FOLDERS: list[str] = []


def _remove_warped_folders() -> None:
    for folder in _WARPED_FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


def _warped(path: Path, grid: xr.DataArray, folder: Path) -> Path:
    """A VRT file that reads ``path`` reprojected onto ``grid`` (GDAL's warper, done window by
    window when read); outside the date's footprint it reads as nodata. Nearest neighbour: it
    keeps each pixel's value, so the speckle statistics (looks) and the radiometry hold in any
    domain; bilinear would average dB values (biased low) and correlate the speckle."""
    reference = georeference_of(grid)
    if reference.crs is None or reference.transform is None:
        raise InputError("the first date has no CRS and transform, so the others cannot be aligned onto it")
    with rasterio.open(path) as src:
        if src.crs is None:
            raise InputError(f"{path.name} has no CRS: it cannot be reprojected onto the first date's grid")
        west, south, east, north = transform_bounds(src.crs, reference.crs, *src.bounds)
        left, bottom, right, top = array_bounds(grid.shape[-2], grid.shape[-1], reference.transform)
        if west >= right or east <= left or south >= top or north <= bottom:
            raise InputError(f"{path.name} does not overlap the first date's footprint: aligned, it would hold no pixel. "
                             "Are the dates of the same place?")
        nodata = src.nodata if src.nodata is not None else (np.nan if np.dtype(src.dtypes[0]).kind == "f" else 0)
        with WarpedVRT(
            src, crs=reference.crs, transform=reference.transform, width=grid.shape[-1], height=grid.shape[-2],
            resampling=Resampling.nearest, nodata=nodata,
        ) as vrt:
            target = folder / f"{len(list(folder.iterdir())):04d}_{path.stem}.vrt"
            rasterio.shutil.copy(vrt, target, driver="VRT")
    return target


def open_stack(
    sources: str | Path | Sequence[str | Path] | xr.DataArray | xr.Dataset,
    *,
    dates: Sequence[Any] | None = None,
    align: bool = False,
    chunk_px: int | None = None,
    domain: str | None = None,
    looks: float | None = None,
    nodata: float | None = None,
    band: int | None = None,
    variable: str | None = None,
) -> xr.DataArray:
    """Open co-registered dates as one lazy ``(time, y, x)`` stack.

    Parameters
    ----------
    sources
        GeoTIFF (or any raster) paths, one per date; one folder (its rasters); glob patterns
        (``"s1/*_VV.tif"``); a Zarr store whose variable has a ``time`` dimension; or a DataArray
        / Dataset with ``time``.
    dates
        The dates' times, in the order of ``sources``; default: read from the file names
        (``20150309`` or ``20150309T173017``), else the order given. Dates are sorted by time.
    align
        Reproject every date onto the earliest date's grid (nearest neighbour, which keeps the
        speckle statistics) instead of refusing dates on different grids; outside a date's
        footprint its pixels are nodata.
    chunk_px
        Spatial chunk size; each date is its own chunk along time (memory is bounded by chunk x
        dates whatever the scene size).
    domain, looks, nodata, band, variable
        As for :func:`engine.open_scene`, applied to every date.

    Returns
    -------
    xarray.DataArray
        float32, dims ``(time, y, x)``, NaN wherever a date has no pixel, in the dates' domain,
        with the first date's coordinates and CRS, ``attrs["domain"]``, ``attrs["looks"]`` and a
        ``source`` coordinate along time (the dates' files, where there are files).
    """
    if isinstance(sources, (xr.DataArray, xr.Dataset)):
        return as_stack(sources, variable=variable, domain=domain, looks=looks, nodata=nodata, chunk_px=chunk_px, dates=dates)
    chunk = int(chunk_px if chunk_px is not None else get_option("chunk_size_px"))  # 0 is refused by open_scene, not the default
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not items:
        raise InputError("no dates given: a stack needs at least 2")
    paths = _expand(items)
    if len(paths) == 1 and _is_store(paths[0]):
        opened = open_scene(paths[0], chunk_px=chunk, domain=domain, looks=looks, nodata=nodata, variable=variable)
        return as_stack(opened, chunk_px=chunk, dates=dates)
    if len(paths) < 2:
        raise InputError(f"a stack needs at least 2 dates, got one ({paths[0].name}); to despeckle one scene use 'despeckle run'")
    if dates is not None and len(dates) != len(paths):
        raise ParameterError(f"{len(dates)} dates given for {len(paths)} files")
    options: dict[str, Any] = {"chunk_px": chunk, "domain": domain, "looks": looks, "nodata": nodata}
    if band is not None:
        options["bands"] = [band]
    if variable is not None:
        options["variable"] = variable  # refused by formats that have no variables, never ignored
    times = list(dates) if dates is not None else [date_in_name(p) for p in paths]
    undated = [p.name for p, t in zip(paths, times, strict=True) if t is None]
    if dates is None and undated and len(undated) < len(paths):
        raise InputError(f"no date found in the name of {', '.join(undated[:3])}{'...' if len(undated) > 3 else ''} while the "
                         "other names have one (20150309 or 20150309T173017): put a valid date in every name, or in none "
                         "(the dates are then taken in the order given)")
    if all(t is not None for t in times):
        # In time order from here on: "the first date" (whose grid --align keeps) is the earliest.
        order = np.argsort(np.array(times, dtype="datetime64[s]") if dates is None else np.array(times), kind="stable")
        paths, times = [paths[i] for i in order], [times[i] for i in order]
    elif dates is None:
        warnings.warn(f"no dates in the file names ({paths[0].name}...): the dates are combined in the order given, the first "
                      "one's grid kept. Put the date in each name (20150309 or 20150309T173017), or give dates=[...]", stacklevel=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenes = _open_dates(paths, options, align)
    # Said once for the stack, not once per date (every date of a series usually shares the reason).
    for message in dict.fromkeys((type(w.message), str(w.message)) for w in caught):
        warnings.warn(message[1], message[0], stacklevel=2)
    return _stacked(scenes, times, chunk)


def _open_dates(paths: list[Path], options: dict[str, Any], align: bool) -> list[xr.DataArray]:
    first = _as_plane(open_scene(paths[0], **options), paths[0])
    scenes = [first]
    folder: Path | None = None
    for path in paths[1:]:
        scene = _as_plane(open_scene(path, **options), path)
        why = _grid_difference(first, scene)
        if why is not None:
            if not align:
                raise InputError(f"{path.name} is not on the first date's grid ({paths[0].name}): {why}. Dates must be "
                                 "co-registered on one grid; pass align=True (--align) to reproject them onto the first date's grid")
            if folder is None:
                folder = Path(tempfile.mkdtemp(prefix="despeckle-align-"))
                if not _WARPED_FOLDERS:
                    atexit.register(_remove_warped_folders)
                _WARPED_FOLDERS.append(str(folder))
            # The warped VRT does not carry the date's metadata: what it holds is what the date holds.
            stated = {"domain": scene.attrs["domain"], "looks": scene.attrs["looks"] if looks_stated(scene) else options["looks"]}
            scene = _as_plane(open_scene(_warped(path, first, folder), **{**options, **stated}), path)
            scene.attrs["source"] = str(path)
        scenes.append(scene)
    return scenes


def refuse_display(domain: str) -> None:
    """Stacks are calibrated SAR time series; display images (B-mode, OCT) have no common scale
    between acquisitions (each has its own gain and dynamic range)."""
    if domain == "display":
        raise InputError("time series of display images (B-mode, OCT grey levels) are not supported: each frame has its own "
                         "gain and dynamic range. Despeckle the frames one by one (despeckle run), or give calibrated data")


def _stacked(scenes: list[xr.DataArray], times: list[Any], chunk: int) -> xr.DataArray:
    """Dates (2-D scenes on one grid) -> the stack, sorted by time, NaN where a date has no pixel."""
    domains = {s.attrs["domain"] for s in scenes}
    if len(domains) > 1:
        raise InputError(f"the dates hold different kinds of values ({', '.join(sorted(domains))}); give domain=... (--domain) "
                         "if their metadata are wrong, or convert them to one first")
    (source_domain,) = domains
    refuse_display(source_domain)
    target = "intensity" if source_domain == "complex" else source_domain
    looks = sorted({float(s.attrs["looks"]) for s in scenes})
    if len(looks) > 1:
        warnings.warn(f"the dates have different looks ({', '.join(f'{v:g}' for v in looks)}); the stack uses the "
                      f"smallest, {looks[0]:g}", stacklevel=3)
    # The scenes come in time order (open_stack sorts the paths before opening them).
    known = all(t is not None for t in times)
    values = np.array(times, dtype="datetime64[s]") if known and all(isinstance(t, np.datetime64) for t in times) else (
        np.array(times) if known else np.arange(len(scenes)))
    if known and len(np.unique(values)) < len(values):
        warnings.warn("two dates have the same time: they are kept, side by side", stacklevel=3)
    planes = [valid_values(scene, target, label=Path(str(scene.attrs.get("source", f"date {i}"))).name).rechunk(chunk)
              for i, scene in enumerate(scenes)]
    # One chunk per date: each date is read and filtered on its own; the methods bring a spatial
    # block's dates together only where they combine them (memory: chunk x dates).
    data = da.stack(planes, axis=0)
    first = scenes[0]
    coords = {name: coord for name, coord in first.coords.items() if set(coord.dims) <= {first.dims[0], first.dims[1]}}
    # Named: given no name, xarray would take the dask array's task name.
    stack = xr.DataArray(data, dims=(TIME, *first.dims), coords={**coords, TIME: values}, name=target)
    sources = [s.attrs.get("source") for s in scenes]
    if all(sources):
        stack = stack.assign_coords(source=(TIME, [str(source) for source in sources]))
    attrs = {k: v for k, v in first.attrs.items() if k not in PER_DATE_ATTRS}
    attrs.update(domain=target, looks=looks[0])
    if not all(looks_stated(s) for s in scenes):
        attrs[LOOKS_SOURCE] = "assumed"
    if not known:
        attrs["time_note"] = "no dates in the file names: the dates are in the order given"
    stack.attrs = attrs
    fill = nodata_of(first)
    if fill is not None and source_domain != "complex":
        stack.encoding["_FillValue"] = np.float32(fill)
    stack.encoding[DATES_ENCODING] = (data.name, tuple(scenes))
    return stack


def date_scenes(stack: xr.DataArray) -> tuple[xr.DataArray, ...] | None:
    """The dates as opened from their files, when ``stack`` is still exactly what ``open_stack``
    made (same dask graph): the spatial steps then read each block with its halo straight from
    the date's file, as single scenes do, instead of sharing neighbouring blocks through dask
    (which holds a whole stack's blocks in memory). None after any change to the stack."""
    recorded = stack.encoding.get(DATES_ENCODING)
    if recorded is None or not isinstance(stack.data, da.Array) or stack.data.name != recorded[0]:
        return None
    return recorded[1]


def as_stack(
    data: xr.DataArray | xr.Dataset,
    *,
    variable: str | None = None,
    domain: str | None = None,
    looks: float | None = None,
    nodata: float | None = None,
    chunk_px: int | None = None,
    dates: Sequence[Any] | None = None,
) -> xr.DataArray:
    """A DataArray (or a Dataset's variable) with a ``time`` dimension as a stack: (time, y, x),
    float32, NaN where a date has no pixel."""
    if isinstance(data, xr.Dataset):
        candidates = [n for n, v in data.data_vars.items() if TIME in v.dims and v.ndim == 3]
        name = variable if variable is not None else (candidates[0] if len(candidates) == 1 else None)
        if name is None:
            raise InputError(f"the dataset has {len(candidates)} variables with a time dimension "
                             f"({', '.join(map(str, candidates)) or 'none'}); choose one with variable=... (--variable)")
        if name not in data.data_vars:
            raise InputError(f"the dataset has no variable {name!r}")
        data = data[name]
    if TIME not in data.dims:
        raise InputError(f"a stack needs a 'time' dimension; this array has dims {data.dims}. Several files: "
                         "open_stack([path, ...]); an array of dates: rename its date dimension to 'time'")
    if data.ndim != 3:
        raise InputError(f"a stack is (time, y, x); this array has dims {data.dims}: select one band or polarisation first")
    if data.sizes[TIME] < 2:
        raise InputError(f"a stack needs at least 2 dates, got {data.sizes[TIME]}; to despeckle one scene use 'despeckle run'")
    if dates is not None:
        if len(dates) != data.sizes[TIME]:
            raise ParameterError(f"{len(dates)} dates given for {data.sizes[TIME]} dates in the array")
        data = data.assign_coords({TIME: list(dates)})
    spatial = [d for d in data.dims if d != TIME]
    scene = as_scene(data.transpose(TIME, *spatial), domain=domain, looks=looks)
    if nodata is not None:
        scene.attrs["_FillValue"] = nodata
    if TIME in scene.coords:
        scene = scene.sortby(TIME)
    refuse_display(scene.attrs["domain"])
    target = "intensity" if scene.attrs["domain"] == "complex" else scene.attrs["domain"]
    values = valid_values(scene, target)
    # Space as the caller chunked it (or chunk_px); time as it comes (the methods merge a spatial
    # block's dates only where they combine them).
    spatial = scene.chunks[1:] if scene.chunks and chunk_px is None else (int(chunk_px or get_option("chunk_size_px")),) * 2
    values = values.rechunk({1: spatial[0], 2: spatial[1]})
    stack = xr.DataArray(values, dims=scene.dims, coords=scene.coords, name=scene.name if scene.name is not None else target)
    stack.attrs = {k: v for k, v in scene.attrs.items() if k not in PER_DATE_ATTRS}
    stack.attrs["domain"] = target
    fill = nodata_of(scene)
    if fill is not None and scene.attrs["domain"] != "complex":
        stack.encoding["_FillValue"] = np.float32(fill)
    return stack
