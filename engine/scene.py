"""What a scene is: a DataArray of (band,) y, x with its domain, looks, nodata, valid pixels and
the scene-level statistics a pipeline computed, read and written in one place.

Everything that must ride on the DataArray is read through the functions here, never by poking
``attrs`` or ``encoding`` elsewhere:

- ``attrs["domain"]`` (intensity, amplitude, db, complex) and ``attrs["looks"]``; a scene whose
  looks nobody stated carries ``attrs[LOOKS_SOURCE] == "assumed"`` (1 look), so that a method
  able to estimate them does (:func:`looks_stated`).
- nodata: rioxarray's conventions (``_FillValue`` encoded or in the attributes), plus a GDAL-style
  ``attrs["nodata"]`` (:func:`nodata_of`). Readers and writers agree on it.
- valid pixels: finite, not nodata, and checked (no infinity, no negative intensity)
  (:func:`valid_values`).
- georeferencing: CRS with transform, or GCPs, as rioxarray attaches them (:func:`georeference_of`).
- statistics: the scene-level numbers (``scene_median``, ``z98``, estimated ``looks``) a
  pipeline computed lazily, for writers to record (:func:`statistics_of`, :func:`with_statistics`).

This module sits below io and the pipeline: both import it, it imports neither.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from engine.conventions import SCENE_STATISTICS_TAG
from engine.domain import DISPLAY_MAX, check_domain, convert
from engine.exceptions import DomainAssumedWarning, InputError, ParameterError, UnsupportedDtypeError

#: Encoding key of the scene-level statistics a pipeline stage computed (lazily), for writers.
STATISTICS_ENCODING = "despeckle_statistics"
#: ``attrs[LOOKS_SOURCE] == "assumed"`` marks a scene whose looks nobody stated (1 by default).
LOOKS_SOURCE = "looks_source"


def as_scene(data: Any, *, domain: str | None = None, looks: float | None = None) -> xr.DataArray:
    """Return ``data`` as a DataArray with ``attrs["domain"]`` and ``attrs["looks"]`` set.

    NumPy arrays become DataArrays with dims ``(y, x)`` or ``(band, y, x)``. Without a domain
    in the arguments or the attributes, complex data are ``complex`` and real data are assumed
    to be ``intensity`` (with a :class:`DomainAssumedWarning`).
    """
    if isinstance(data, xr.DataArray):
        scene = data.copy(deep=False)
        scene.attrs = dict(data.attrs)
    elif isinstance(data, (np.ndarray, da.Array)):
        if data.ndim not in (2, 3):
            raise InputError(f"expected a 2-D (y, x) or 3-D (band, y, x) array, got {data.ndim} dimensions")
        if data.ndim == 3 and data.shape[-1] <= 4 < min(data.shape[:2]):
            # An RGB(A)-like image, or bands stored last: read as (band, y, x) it would be a
            # stack of thin strips, despeckled without a word.
            raise InputError(
                f"a 3-D array is read as (band, y, x); this one is {data.shape}, which looks like bands last. "
                "Pass np.moveaxis(array, -1, 0), or a DataArray with named dims"
            )
        dims = ("y", "x") if data.ndim == 2 else ("band", "y", "x")
        scene = xr.DataArray(data, dims=dims)
    else:
        raise TypeError(f"expected an xarray.DataArray or an array, got {type(data).__name__}")
    if scene.ndim < 2:
        raise InputError(f"a scene needs two spatial dimensions, got dims {scene.dims}")
    y_dim, x_dim = scene.dims[-2:]
    for dim_names in (("y", "x"), ("lat", "lon"), ("latitude", "longitude"), ("rows", "cols")):
        if set(dim_names) <= set(scene.dims) and (y_dim, x_dim) != dim_names:
            raise InputError(
                f"the spatial dimensions {dim_names} must be the last two, got {scene.dims}; "
                f"use .transpose(..., {dim_names[0]!r}, {dim_names[1]!r})"
            )
    if domain is not None:
        scene.attrs["domain"] = check_domain(domain)
    elif "domain" in scene.attrs:
        scene.attrs["domain"] = check_domain(scene.attrs["domain"])
    elif np.issubdtype(scene.dtype, np.complexfloating):
        scene.attrs["domain"] = "complex"
    else:
        warnings.warn(
            "the scene does not say whether it holds intensity, amplitude or dB values; assuming "
            "intensity (pass domain=... or --domain to say otherwise)",
            DomainAssumedWarning,
            stacklevel=3,
        )
        scene.attrs["domain"] = "intensity"
    if scene.attrs["domain"] == "complex" and not np.issubdtype(scene.dtype, np.complexfloating):
        raise InputError(f"domain 'complex' needs complex data, got dtype {scene.dtype}")
    if scene.attrs["domain"] != "complex" and np.issubdtype(scene.dtype, np.complexfloating):
        raise InputError(
            f"the scene holds complex values, but its domain was given as {scene.attrs['domain']!r}: complex data are "
            "read as complex (SLC); leave the domain out, or choose the output with --output-domain"
        )
    if looks is not None:
        try:
            scene.attrs["looks"] = float(looks)
        except (TypeError, ValueError):
            raise ParameterError(f"looks must be a number, got {looks!r}") from None
        scene.attrs.pop(LOOKS_SOURCE, None)
    if "looks" not in scene.attrs:
        # Nobody said: 1 look for the filters, as SNAP and OTB assume; methods that can
        # estimate the looks do (see ``despeckle``).
        scene.attrs["looks"] = 1.0
        scene.attrs[LOOKS_SOURCE] = "assumed"

    if not 0 < float(scene.attrs["looks"]) < float("inf"):
        raise ParameterError(f"looks must be a finite number > 0, got {scene.attrs['looks']!r}")
    return scene


def working_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if np.issubdtype(dtype, np.complexfloating):
        return np.dtype(np.complex64)
    if dtype.kind in "uif":
        return np.dtype(np.float32)
    raise UnsupportedDtypeError(
        f"cannot despeckle data of dtype {dtype}: expected integer, floating or complex values"
    )


def nodata_of(scene: xr.DataArray) -> float | None:
    """The scene's nodata value, or None: rioxarray's (``_FillValue`` encoded or in the
    attributes, ``.rio.encoded_nodata`` / ``.rio.nodata``), else a GDAL-style ``attrs["nodata"]``.
    The pipeline masks these pixels and writers declare the same value."""
    for value in (scene.encoding.get("_FillValue"), scene.attrs.get("_FillValue"), scene.attrs.get("nodata")):
        if value is not None:
            return float(np.asarray(value).real)
    return None


def prepare_block(
    block: np.ndarray,
    *,
    nodata: float | None,
    source: str,
    target: str,
    origin: tuple[int, int] | None = None,
    label: str | None = None,
    dynamic_range_db: float | None = None,
    block_info: Any = None,
) -> np.ndarray:
    """Nodata to NaN, values checked, converted to the method's domain, as float32.

    ``origin`` (or dask's ``block_info``) locates the block in the scene for error messages;
    ``label`` names the scene there (a stack's date file). ``dynamic_range_db``: that of
    display grey levels.
    """
    work = block.astype(working_dtype(block.dtype), copy=True)
    if nodata is not None and not np.isnan(nodata):
        work[block == nodata] = np.nan
    values = work.real if np.iscomplexobj(work) else work
    if origin is None and block_info and block_info.get(0):
        origin = tuple(start for start, _ in block_info[0]["array-location"][-2:])  # type: ignore[assignment]
    where = ""
    if origin is not None:
        rows, cols = block.shape[-2:]
        where = f" in rows {origin[0]}-{origin[0] + rows - 1}, columns {origin[1]}-{origin[1] + cols - 1}"
    if label:
        where += f" of {label}"
    if np.isinf(work).any():
        raise InputError(f"the scene holds infinite values{where}; mark them as nodata or fix the file")
    if source in ("intensity", "amplitude"):
        negative = values < 0
        if negative.any():
            raise InputError(
                f"the scene holds negative {source} values (minimum {np.nanmin(values):.4g}){where}, "
                f"but {source} cannot be negative. If the file holds dB values, pass "
                "domain='db' (--domain db); if negative values mark missing data, declare them as nodata"
            )
    if source == "display" and ((values < 0) | (values > DISPLAY_MAX)).any():
        raise InputError(
            f"the scene holds grey levels outside 0-{DISPLAY_MAX:g} (from {np.nanmin(values):.4g} to {np.nanmax(values):.4g}){where}, "
            "so it is not a display image; state what it holds (--domain intensity, amplitude or db)"
        )
    return np.asarray(convert(work, source, target, dynamic_range_db), dtype=np.float32)


def valid_values(scene: xr.DataArray, domain: str, *, label: str | None = None, dynamic_range_db: float | None = None) -> da.Array:
    """The scene's values in ``domain`` as a lazy float32 dask array, NaN where there is no valid
    pixel (nodata, NaN), checked block by block (infinite values, negative intensities); errors
    name ``label`` (a file) when given."""
    raw = scene.data if isinstance(scene.data, da.Array) else da.from_array(scene.data, chunks=-1)
    return raw.map_blocks(
        prepare_block,
        nodata=nodata_of(scene),
        source=scene.attrs["domain"],
        target=domain,
        label=label,
        dynamic_range_db=dynamic_range_db if dynamic_range_db is not None else scene.attrs.get("dynamic_range_db"),
        dtype=np.float32,
        meta=np.empty((0,) * raw.ndim, dtype=np.float32),
    )


#: Coordinate along ``y`` of a debursted Sentinel-1 TOPS image: the burst each line comes from.
BURST_COORD = "burst"


def burst_pieces(scene: xr.DataArray) -> list[xr.DataArray]:
    """The scene cut where its ``burst`` coordinate changes (TOPS bursts, each with its own
    Doppler history and spectrum); ``[scene]`` when it holds one burst or none."""
    if BURST_COORD not in scene.coords or scene.coords[BURST_COORD].dims != (scene.dims[-2],):
        return [scene]
    labels = np.asarray(scene.coords[BURST_COORD].values)
    cuts = [0, *(np.flatnonzero(labels[1:] != labels[:-1]) + 1).tolist(), labels.size]
    if len(cuts) == 2:
        return [scene]
    y = scene.dims[-2]
    return [scene.isel({y: slice(a, b)}) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def join_pieces(pieces: list[xr.DataArray]) -> xr.DataArray:
    """The inverse of :func:`burst_pieces` for processed pieces (same attributes as the first)."""
    if len(pieces) == 1:
        return pieces[0]
    y = pieces[0].dims[-2]
    return xr.concat(pieces, dim=y, coords="minimal", compat="override", combine_attrs="override")


@dataclass(frozen=True)
class Georeference:
    """How a raster sits on the Earth: a CRS with an affine transform, or GCPs, or nothing."""

    crs: CRS | None
    transform: Affine | None
    gcps: tuple[GroundControlPoint, ...] = ()

    @property
    def is_georeferenced(self) -> bool:
        return self.crs is not None or bool(self.gcps)

    @classmethod
    def of(cls, crs: CRS | None, transform: Affine | None, gcps: Any = ()) -> Georeference:
        """The one rule for every reader and writer: GCPs win over a transform, and an identity
        transform without a CRS (plain images, NumPy arrays) is no georeferencing at all."""
        gcps = tuple(gcps or ())
        if gcps or (crs is None and transform == Affine.identity()):
            transform = None
        return cls(crs=crs, transform=transform, gcps=gcps)


def georeference_of(scene: xr.DataArray) -> Georeference:
    """Read the CRS, transform and GCPs rioxarray attached to ``scene``.

    A transform without a CRS that is the identity (plain images, NumPy arrays) is no
    georeferencing at all and is reported as None.
    """
    spatial_ref = scene.coords["spatial_ref"].attrs if "spatial_ref" in scene.coords else {}
    gcps = tuple(scene.rio.get_gcps() or ()) if "gcps" in spatial_ref else ()
    transform = None
    if not gcps:
        try:
            transform = scene.rio.transform()
        except Exception:  # rioxarray's MissingSpatialDimensionError: no usable x/y dims
            transform = None
    return Georeference.of(scene.rio.crs, transform, gcps)


def looks_stated(scene: xr.DataArray) -> bool:
    """Whether the scene's looks were stated (metadata, the caller), not assumed."""
    return scene.attrs.get(LOOKS_SOURCE) != "assumed"


def recorded_statistics(scene: xr.DataArray) -> dict[str, float]:
    """Statistics of a larger scene this one was cut from (``despeckle tile``), by parameter name."""
    text = scene.attrs.get(SCENE_STATISTICS_TAG)
    if not text:
        return {}
    problem = f"the scene's {SCENE_STATISTICS_TAG} tag must be a JSON object of positive numbers (written by 'despeckle tile')"
    try:
        values = json.loads(text) if isinstance(text, str) else text
        if not isinstance(values, dict):
            raise ValueError(problem)
        recorded = {str(k): float(v) for k, v in values.items() if not isinstance(v, bool)}
    except (TypeError, ValueError, RecursionError):
        raise InputError(f"{problem}, got {str(text)[:80]!r}") from None
    wrong = {k: v for k, v in recorded.items() if not (np.isfinite(v) and 0 < v < 1e30)}
    if wrong or len(recorded) != len(values):
        raise InputError(f"{problem}, got {str(text)[:80]!r}; remove the tag or tile the scene again")
    return recorded


def statistics_of(scene: xr.DataArray) -> dict[str, Any]:
    """The scene-level statistics a pipeline attached (lazy 0-d arrays), for writers to record."""
    return dict(scene.encoding.get(STATISTICS_ENCODING, {}))


def with_statistics(scene: xr.DataArray, statistics: Mapping[str, Any]) -> xr.DataArray:
    """``scene`` carrying ``statistics`` (in place; returned for chaining)."""
    if statistics:
        scene.encoding[STATISTICS_ENCODING] = dict(statistics)
    return scene
