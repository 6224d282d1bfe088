"""``despeckle_stack``: a stack in, every date despeckled out, lazily, in the stack's domain; and
the optional extra outputs (temporal mean, ENL map)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from engine._version import __version__
from engine.conventions import DOMAIN_ATTRS, PROVENANCE_ATTRS, is_earlier_run_record
from engine.domain import check_domain, convert
from engine.exceptions import DespeckleError
from engine.methods import StackMethod, get_stack_method
from engine.pipeline import despeckle, say_assumed_looks
from engine.scene import LOOKS_SOURCE, looks_stated
from engine.speckle import CENTRAL_WINDOW_PX, central_looks
from engine.stack._common import date_scene, weighted_means
from engine.stack._open import TIME, as_stack, date_scenes


def _converted(values: da.Array, source: str, target: str) -> da.Array:
    return convert(values, source, target).astype(np.float32)  # convert is lazy on dask arrays


def _mean_intensity(prepared: xr.DataArray) -> da.Array:
    """The mean intensity of the dates at every pixel, dates without a pixel left out."""
    intensity = _converted(prepared.data, prepared.attrs["domain"], "intensity")
    return weighted_means(intensity, np.ones((1, prepared.sizes[TIME]), dtype=np.float32))[0]


def _prepared(stack: Any, domain: str | None, looks: float | None) -> xr.DataArray:
    """The stack as (time, y, x) float32 NaN-marked values (what ``open_stack`` returns)."""
    if isinstance(stack, (xr.DataArray, xr.Dataset)) and not (
        isinstance(stack, xr.DataArray) and stack.dims and stack.dims[0] == TIME and stack.dtype == np.float32
        and isinstance(stack.data, da.Array) and domain is None and looks is None and "domain" in stack.attrs
    ):
        return as_stack(stack, domain=domain, looks=looks)
    if not isinstance(stack, xr.DataArray):
        raise TypeError(f"expected a (time, y, x) DataArray (engine.open_stack), got {type(stack).__name__}")
    return stack


def _output(stack: xr.DataArray, values: da.Array, target: str, attrs: Mapping[str, Any], name: str) -> xr.DataArray:
    coords = {n: c for n, c in stack.coords.items() if set(c.dims) <= set(stack.dims[-values.ndim:])}
    out = xr.DataArray(values, dims=stack.dims[-values.ndim:], coords=coords, attrs=dict(attrs), name=name)
    out.attrs.update(DOMAIN_ATTRS[target], domain=target)
    if "_FillValue" in stack.encoding and target == stack.attrs["domain"]:
        out.encoding["_FillValue"] = stack.encoding["_FillValue"]
    return out


def despeckle_stack(
    stack: Any,
    method: str | StackMethod | None = None,
    *,
    domain: str | None = None,
    looks: float | None = None,
    output_domain: str | None = None,
    spatial_parameters: Mapping[str, Any] | None = None,
    **parameters: Any,
) -> xr.DataArray:
    """Despeckle every date of a stack with a multi-temporal method.

    Parameters
    ----------
    stack
        ``(time, y, x)`` DataArray (:func:`engine.open_stack`), or any DataArray/Dataset with a
        ``time`` dimension (``domain`` and ``looks`` as for :func:`engine.despeckle`).
    method
        A stack method (``engine.list_stack_methods()``: ``quegan``, ``ratio``); default quegan.
    output_domain
        Domain of the result; default the stack's.
    spatial_parameters
        Parameters of the single-image method used inside (Quegan's spatial estimator, the ratio
        method's ratio despeckler), e.g. ``{"window_size_px": 9}``.
    **parameters
        The stack method's parameters (``despeckle methods``).

    Returns
    -------
    xarray.DataArray
        float32 ``(time, y, x)``, lazy, NaN exactly where a date had no pixel, with the stack's
        coordinates and CRS and provenance attributes.

    Examples
    --------
    >>> import numpy as np, xarray as xr, engine
    >>> rng = np.random.default_rng(0)
    >>> dates = xr.DataArray(rng.gamma(1.0, 1.0, (4, 32, 32)).astype("float32"), dims=("time", "y", "x"),
    ...                      attrs={"domain": "intensity", "looks": 1})
    >>> out = engine.despeckle_stack(dates, "quegan", spatial="boxcar")
    >>> out.dims, float(out.std()) < float(dates.std())
    (('time', 'y', 'x'), True)
    """
    chosen = method if isinstance(method, StackMethod) else get_stack_method(method)
    prepared = _prepared(stack, domain, looks)
    dates = date_scenes(prepared)
    resolved = chosen.resolve(parameters)
    inner = dict(spatial_parameters or {})
    source = prepared.attrs["domain"]
    target = check_domain(output_domain or source, allow_complex=False)
    intensity = prepared.copy(data=_converted(prepared.data, source, "intensity"))
    looks_value = float(prepared.attrs.get("looks", 1.0))
    if not looks_stated(prepared):
        try:
            measured = central_looks(intensity.data[0])
        except DespeckleError:  # values the run refuses: it says where
            measured = None
        say_assumed_looks("the dates do not state their number of looks", chosen.name, measured,
                          f"9x9 windows over the first date's central {CENTRAL_WINDOW_PX} x {CENTRAL_WINDOW_PX} pixels")
    filtered = chosen.run(intensity, looks=looks_value, spatial_parameters=inner, date_scenes=dates, **resolved)
    attrs = {k: v for k, v in prepared.attrs.items() if k not in ("looks", LOOKS_SOURCE, "time_note") and not is_earlier_run_record(k)}
    recorded = {**resolved, **({"spatial_parameters": inner} if inner else {})}
    attrs.update(zip(PROVENANCE_ATTRS, (chosen.name, json.dumps(recorded, sort_keys=True), __version__), strict=True))
    attrs["input_looks"] = looks_value
    attrs["input_looks_source"] = "stated" if looks_stated(prepared) else "assumed"
    attrs["dates"] = int(prepared.sizes[TIME])
    return _output(prepared, _converted(filtered, "intensity", target), target, attrs, target)


def temporal_mean(stack: Any, *, domain: str | None = None, looks: float | None = None, output_domain: str | None = None) -> xr.DataArray:
    """The mean intensity of the dates at every pixel (dates without a pixel left out), in the
    stack's domain (or ``output_domain``); ``attrs["looks"]``: the looks it has where every date
    has a pixel."""
    prepared = _prepared(stack, domain, looks)
    target = check_domain(output_domain or prepared.attrs["domain"], allow_complex=False)
    mean = _mean_intensity(prepared)
    attrs = {"looks": float(prepared.attrs.get("looks", 1.0)) * prepared.sizes[TIME], "despeckle_method": "temporal-mean",
             "dates": int(prepared.sizes[TIME])}
    return _output(prepared, _converted(mean, "intensity", target), target, attrs, "temporal_mean")


def _enl_block(mean: np.ndarray, mean_of_squares: np.ndarray) -> np.ndarray:
    variance = mean_of_squares.astype(np.float64) - mean.astype(np.float64) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(variance > 0, mean.astype(np.float64) ** 2 / variance, np.nan).astype(np.float32)


def enl_map(stack: Any, *, window_size_px: int = 7, domain: str | None = None, looks: float | None = None) -> xr.DataArray:
    """The equivalent number of looks of the temporal mean, estimated in a moving window
    (mean^2 / variance of its intensity): about dates x looks where the scene is homogeneous and
    stable, lower on edges, texture and changes; NaN where the window has no variance."""
    prepared = _prepared(stack, domain, looks)
    mean = _mean_intensity(prepared)
    # The boxcar filter: NaN-aware window means, exact whatever the chunking.
    local = despeckle(date_scene(prepared, mean, 1.0), "boxcar", window_size_px=window_size_px).data
    squares = despeckle(date_scene(prepared, mean * mean, 1.0), "boxcar", window_size_px=window_size_px).data
    enl = da.map_blocks(_enl_block, local, squares, dtype=np.float32)
    attrs = {"units": "1", "long_name": f"equivalent number of looks of the temporal mean ({window_size_px}x{window_size_px} window)",
             "despeckle_method": "enl", "window_size_px": window_size_px}
    out = xr.DataArray(enl, dims=prepared.dims[1:], coords={n: c for n, c in prepared.coords.items() if TIME not in c.dims},
                       attrs=attrs, name="enl")
    return out
