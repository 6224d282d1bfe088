"""``despeckle``: a scene in, the despeckled scene out, lazily, in the scene's own domain.

The data flow (see DESIGN.md): nodata and NaN become "no pixel"; values are checked and
converted to the method's domain; scene statistics are taken once; the kernel runs over
overlapped chunks; the result is converted back to the requested domain and carries the input's
coordinates, CRS and attributes plus provenance.
"""

from __future__ import annotations

import json
import warnings
from functools import partial
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from engine._options import get_option
from engine._version import __version__
from engine.conventions import DOMAIN_ATTRS, PROVENANCE_ATTRS
from engine.domain import check_domain, convert
from engine.exceptions import (
    DomainAssumedWarning,
    InputError,
    MethodFallbackWarning,
    MethodUnavailableError,
    NotSpeckleWarning,
    ParameterError,
    UnsupportedDtypeError,
)
from engine.methods import Method, get_method
from engine.sources import source_of
from engine.tiling import aligned_chunks, apply_overlapped, apply_with_halo_reads

#: Scene-level statistics of the last pipeline stage, kept lazily for writers to record.
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
    if looks is not None:
        scene.attrs["looks"] = float(looks)
        scene.attrs.pop(LOOKS_SOURCE, None)
    if "looks" not in scene.attrs:
        # Nobody said: 1 look for the filters, as SNAP and OTB assume; methods that can
        # estimate the looks do (see ``despeckle``).
        scene.attrs["looks"] = 1.0
        scene.attrs[LOOKS_SOURCE] = "assumed"

    if not float(scene.attrs["looks"]) > 0:
        raise ParameterError(f"looks must be > 0, got {scene.attrs['looks']!r}")
    return scene


#: What ``method="auto"`` runs, best first: the first available method is used. The model is
#: measured against the filters in ``benchmarks/results/sar_synthetic.md``.
AUTO_PREFERENCE = ("looks-unet", "lee")


def choose_method(name: str | None = None, scene: xr.DataArray | None = None) -> Method:
    """The method ``name`` (default ``set_options(default_method)``); ``"auto"`` is the first
    available method of :data:`AUTO_PREFERENCE`, a classical filter for 8-bit display images
    (which SAR models were not made for). Falling back from the preferred model warns."""
    name = name or get_option("default_method")
    if name != "auto":
        return get_method(name)
    if scene is not None and scene.dtype == np.uint8:
        return get_method(AUTO_PREFERENCE[-1])
    reasons = []
    for candidate in AUTO_PREFERENCE:
        method = get_method(candidate)
        if method.unavailable_reason is None:
            if reasons:
                warnings.warn(
                    f"using {candidate!r}: " + "; ".join(reasons), MethodFallbackWarning, stacklevel=3
                )
            return method
        reasons.append(f"{candidate!r} is not available ({method.unavailable_reason})")
    raise MethodUnavailableError("no method is available for 'auto': " + "; ".join(reasons))


def _working_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if np.issubdtype(dtype, np.complexfloating):
        return np.dtype(np.complex64)
    if dtype.kind in "uif":
        return np.dtype(np.float32)
    raise UnsupportedDtypeError(
        f"cannot despeckle data of dtype {dtype}: expected integer, floating or complex values"
    )


def nodata_of(scene: xr.DataArray) -> float | None:
    """The scene's nodata value (rioxarray conventions: encoded or not), or None."""
    for value in (scene.encoding.get("_FillValue"), scene.attrs.get("_FillValue"), scene.attrs.get("nodata")):
        if value is not None:
            return float(np.asarray(value).real)
    return None


def _prepare_block(
    block: np.ndarray,
    *,
    nodata: float | None,
    source: str,
    target: str,
    origin: tuple[int, int] | None = None,
    block_info: Any = None,
) -> np.ndarray:
    """Nodata to NaN, values checked, converted to the method's domain, as float32.

    ``origin`` (or dask's ``block_info``) locates the block in the scene for error messages.
    """
    work = block.astype(_working_dtype(block.dtype), copy=True)
    if nodata is not None and not np.isnan(nodata):
        work[block == nodata] = np.nan
    values = work.real if np.iscomplexobj(work) else work
    if origin is None and block_info and block_info.get(0):
        origin = tuple(start for start, _ in block_info[0]["array-location"][-2:])  # type: ignore[assignment]
    where = ""
    if origin is not None:
        rows, cols = block.shape[-2:]
        where = f" in rows {origin[0]}-{origin[0] + rows - 1}, columns {origin[1]}-{origin[1] + cols - 1}"
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
    return np.asarray(convert(work, source, target), dtype=np.float32)


def _stale_after_filtering(attribute: str) -> bool:
    """Attributes that describe the input's values and would be false on the output."""
    return attribute in ("looks", LOOKS_SOURCE, "_FillValue", "nodata", "scale_factor", "add_offset") or attribute.startswith(
        "STATISTICS_"
    )


def valid_values(scene: xr.DataArray, domain: str) -> da.Array:
    """The scene's values in ``domain`` as a lazy float32 dask array, NaN where there is no valid
    pixel (nodata, NaN), checked block by block (infinite values, negative intensities)."""
    raw = scene.data if isinstance(scene.data, da.Array) else da.from_array(scene.data, chunks=-1)
    return raw.map_blocks(
        _prepare_block,
        nodata=nodata_of(scene),
        source=scene.attrs["domain"],
        target=domain,
        dtype=np.float32,
        meta=np.empty((0,) * raw.ndim, dtype=np.float32),
    )


def _finish_block(block: np.ndarray, *, source: str, target: str) -> np.ndarray:
    return np.asarray(convert(block, source, target), dtype=np.float32)


def despeckle(
    data: Any,
    method: str | Method | None = None,
    *,
    domain: str | None = None,
    looks: float | None = None,
    output_domain: str | None = None,
    decorrelate: bool | None = None,
    **parameters: Any,
) -> xr.DataArray:
    """Despeckle a scene with any registered method.

    Parameters
    ----------
    data
        DataArray (dask-backed for large scenes; dims ``(..., y, x)``) or NumPy array.
    method
        Registered method name (``engine.list_methods()``) or a :class:`Method` (for example a
        model bound to a training checkpoint), or ``"auto"`` (:func:`choose_method`); default
        ``set_options(default_method)``, itself ``"auto"``.
    domain
        Domain of ``data`` if its attributes do not say (``intensity``, ``amplitude``, ``db``,
        ``complex``).
    looks
        Number of looks of ``data`` if its attributes do not say (default 1).
    output_domain
        Domain of the result; default the input's (``intensity`` for complex input).
    decorrelate
        Complex input only: whiten the speckle first (:func:`engine.slc.decorrelate`, which
        estimates the SAR spectrum in a first pass). Default: when the method needs uncorrelated
        speckle (blind-spot models).
    **parameters
        The method's parameters (``despeckle methods`` lists them).

    Returns
    -------
    xarray.DataArray
        float32, lazy if ``data`` was dask-backed (computed otherwise), with the input's dims,
        coordinates (CRS included) and attributes, NaN where there is no valid pixel (the input's
        nodata value is kept as the encoded ``_FillValue``), and provenance attributes.

    Examples
    --------
    >>> import numpy as np, engine
    >>> noisy = np.random.default_rng(0).gamma(1.0, 1.0, (64, 64)).astype("float32")
    >>> out = engine.despeckle(noisy, "lee", domain="intensity", window_size_px=5)
    >>> out.shape, str(out.dtype), out.attrs["despeckle_method"]
    ((64, 64), 'float32', 'lee')
    """
    scene = as_scene(data, domain=domain, looks=looks)
    chosen: Method = method if isinstance(method, Method) else choose_method(method, scene)
    chosen.require_available()
    if decorrelate is None:
        decorrelate = chosen.wants_decorrelated and scene.attrs["domain"] == "complex"
    if decorrelate:
        from engine.slc import decorrelate as whiten

        if scene.attrs["domain"] != "complex":
            raise ParameterError("decorrelation needs complex (SLC) input; this scene holds " + scene.attrs["domain"])
        scene = as_scene(whiten(scene))
    # Assumed looks are no statement: a method that estimates the looks does so.
    assumed = scene.attrs.get(LOOKS_SOURCE) == "assumed"
    resolved = chosen.resolve(parameters, {k: v for k, v in scene.attrs.items() if not (assumed and k == "looks")})
    halo = chosen.halo_px(resolved)
    if halo % chosen.alignment_px:
        raise ValueError(f"method {chosen.name!r} declares a halo of {halo} px, not a multiple of its alignment {chosen.alignment_px}")
    kernel_parameters = {**resolved, "halo": halo} if chosen.wants_halo else resolved
    source = scene.attrs["domain"]
    target = check_domain(output_domain or ("intensity" if source == "complex" else source), allow_complex=False)
    _working_dtype(scene.dtype)  # fail early, before building the graph, on unusable dtypes
    if any(size == 0 for size in scene.shape):
        raise InputError(f"the scene is empty (shape {dict(zip(scene.dims, scene.shape, strict=True))})")

    if chosen.kind == "model" and "sar" in chosen.imagery and scene.dtype == np.uint8 and source in ("intensity", "amplitude"):
        warnings.warn(
            f"{chosen.name!r} is a SAR model, and 8-bit {source} values look like a display image (B-mode, OCT, a "
            "rendered quick-look), not SAR data: its output may be meaningless. Use a filter, or a model made for that imagery "
            "(despeckle methods --imagery ultrasound)",
            NotSpeckleWarning,
            stacklevel=2,
        )
    lazy = isinstance(scene.data, da.Array)
    nodata = nodata_of(scene)
    prepared = valid_values(scene, chosen.domain)
    statistics = chosen.scene_statistics(prepared, resolved) if chosen.scene_statistics else {}
    chunks = aligned_chunks(prepared.chunks, chosen.alignment_px)
    reader = source_of(scene)
    if reader is not None:
        # Read straight from the file, each block with its halo: no data shared between blocks.
        prepare = partial(_prepare_block, nodata=nodata, source=scene.attrs["domain"], target=chosen.domain)
        filtered = apply_with_halo_reads(
            reader.read, prepare, chosen.kernel, shape=scene.shape, chunks=chunks,
            halo=halo, parameters=kernel_parameters, statistics=statistics, edges=chosen.wants_halo,
        )
    else:
        filtered = apply_overlapped(
            prepared.rechunk(chunks), chosen.kernel, halo=halo, parameters=kernel_parameters, statistics=statistics,
            edges=chosen.wants_halo,
        )
    result = filtered.map_blocks(
        _finish_block, source=chosen.domain, target=target, dtype=np.float32,
        meta=np.empty((0,) * prepared.ndim, dtype=np.float32),
    )

    attrs = {k: v for k, v in scene.attrs.items() if not _stale_after_filtering(k)}
    attrs.update(DOMAIN_ATTRS[target], domain=target)
    attrs.update(zip(PROVENANCE_ATTRS, (chosen.name, json.dumps(resolved, sort_keys=True), __version__), strict=True))
    if "looks" in statistics:
        attrs["input_looks"] = "estimated from the scene (median ENL of 9x9 windows; value in the statistics)"
    else:
        attrs["input_looks"] = float(resolved.get("looks") or scene.attrs["looks"])
    out = xr.DataArray(result, coords=scene.coords, dims=scene.dims, name=scene.name, attrs=attrs)
    if nodata is not None and target == source:
        out.encoding["_FillValue"] = np.float32(nodata)
    if statistics:
        out.encoding[STATISTICS_ENCODING] = dict(statistics)
    if not lazy:
        out = out.compute()
    return out
