"""``despeckle``: a scene in, the despeckled scene out, lazily, in the scene's own domain.

The data flow (see DESIGN.md): nodata and NaN become "no pixel"; values are checked and
converted to the method's domain; scene statistics are taken once; the kernel runs over
overlapped chunks; the result is converted back to the requested domain and carries the input's
coordinates, CRS and attributes plus provenance.
"""

from __future__ import annotations

import json
import logging
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from engine._version import __version__
from engine.conventions import DOMAIN_ATTRS, PROVENANCE_ATTRS, SCENE_STATISTICS_TAG, is_earlier_run_record
from engine.display import matched, plan_display, positive_dynamic_range, tissue_median
from engine.domain import check_domain, convert
from engine.exceptions import (
    DespeckleError,
    InputError,
    LooksAssumedWarning,
    NotSpeckleWarning,
    ParameterError,
    warn_at_caller,
)
from engine.methods import Method, choose_method
from engine.overlap import aligned_chunks, apply_overlapped, apply_with_halo_reads
from engine.scene import (
    LOOKS_SOURCE,
    as_scene,
    burst_pieces,
    join_pieces,
    looks_stated,
    nodata_of,
    prepare_block,
    recorded_statistics,
    valid_values,
    with_statistics,
    working_dtype,
)
from engine.scene_statistics import SPECKLE_LOOKS_LIMIT
from engine.sources import SOURCE_ENCODING, locate_source
from engine.speckle import CENTRAL_WINDOW_PX, central_looks

logger = logging.getLogger(__name__)

#: A scene whose speckle measures at least this many looks, despeckled as 1 look because nobody
#: said otherwise, is told so (1.5: well above what 1-look speckle measures, about 1).
LOOKS_WORTH_SAYING = 1.5


def _say_measured_looks(method: Method, resolved: dict[str, Any], intensity: da.Array, recorded: dict[str, float]) -> None:
    """A method told nothing about the looks uses 1, as SNAP and OTB do: say so, with what the
    scene's speckle measures (``despeckle info``'s estimate; for a tile, its whole scene's), when
    that is clearly more (multi-looked data, a Sentinel-1 GRD)."""
    looks = next((p for p in method.parameters if p.name == "looks"), None)
    if looks is None or looks.statistic is not None or resolved.get("looks") != 1.0:  # models that estimate it do
        return
    measured, where = recorded.get("looks"), "the whole scene this tile was cut from, 9x9 windows"
    if measured is None:
        try:
            measured, where = central_looks(intensity), f"9x9 windows over its central {CENTRAL_WINDOW_PX} x {CENTRAL_WINDOW_PX} pixels"
        except DespeckleError:  # values the run refuses: it says where
            return
    say_assumed_looks("the scene does not state its number of looks", method.name, measured, where)


def say_assumed_looks(what: str, method: str, measured: float | None, where: str) -> None:
    """Warn (at the user's call) that ``method`` assumes 1 look where the speckle ``measured``
    clearly more."""
    if measured is None or not LOOKS_WORTH_SAYING <= measured <= SPECKLE_LOOKS_LIMIT:
        return
    warn_at_caller(
        f"{what}, so {method} assumes 1 look; its speckle measures about {measured:.1f} looks (median ENL of {where}, as "
        f"'despeckle info' reports; texture makes it a lower bound). If the data are multi-looked, pass looks={measured:.1f} "
        f"(--looks {measured:.1f})",
        LooksAssumedWarning,
    )


def _stale_after_filtering(attribute: str) -> bool:
    """Attributes that describe the input's values and would be false on the output."""
    return (attribute in ("looks", LOOKS_SOURCE, "_FillValue", "nodata", "scale_factor", "add_offset", SCENE_STATISTICS_TAG)
            or attribute.startswith("STATISTICS_") or is_earlier_run_record(attribute))


def _finish_block(block: np.ndarray, *, source: str, target: str, dynamic_range_db: float | None, scale: float) -> np.ndarray:
    if scale != 1.0:
        block = convert(block, source, "intensity", dynamic_range_db) * np.float32(scale)
        source = "intensity"
    return np.asarray(convert(block, source, target, dynamic_range_db), dtype=np.float32)


def despeckle(
    data: Any,
    method: str | Method | None = None,
    *,
    domain: str | None = None,
    looks: float | None = None,
    output_domain: str | None = None,
    decorrelate: bool | None = None,
    dynamic_range_db: float | None = None,
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
        ``complex``, ``display``).
    looks
        Number of looks of ``data`` if its attributes do not say (default 1).
    output_domain
        Domain of the result; default the input's (``intensity`` for complex input).
    decorrelate
        Complex input only: whiten the speckle first (:func:`engine.slc.decorrelate`, which
        estimates the SAR spectrum in a first pass). Default: when the method needs uncorrelated
        speckle (blind-spot models).
    dynamic_range_db
        Display images: the dynamic range their grey levels span, if their attributes do not say
        (default: measured on the speckle, :mod:`engine.display`).
    **parameters
        The method's parameters (``despeckle methods`` lists them).

    Returns
    -------
    xarray.DataArray
        float32, lazy if ``data`` was dask-backed (computed otherwise; display images, whose
        brightness is matched on the whole estimate, are computed at once), with the input's dims,
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
    if dynamic_range_db is not None:
        if scene.attrs["domain"] != "display":
            raise ParameterError(
                f"a dynamic range describes display images (B-mode, OCT grey levels); this scene holds {scene.attrs['domain']} "
                "values: leave dynamic_range_db (--dynamic-range) out, or say the input is a display image (--domain display)"
            )
        scene.attrs["dynamic_range_db"] = positive_dynamic_range(dynamic_range_db)
    pieces = burst_pieces(scene)
    if len(pieces) > 1:
        # Sentinel-1 TOPS bursts one by one, whichever door the scene came through: each burst is
        # decorrelated on its own spectrum and normalised by its own statistics.
        return join_pieces([
            despeckle(piece, method, output_domain=output_domain, decorrelate=decorrelate, dynamic_range_db=dynamic_range_db, **parameters)
            for piece in pieces
        ])
    chosen: Method = method if isinstance(method, Method) else choose_method(method, scene)
    chosen.require_available()
    if decorrelate is None:
        decorrelate = chosen.wants_decorrelated and scene.attrs["domain"] == "complex"
    if decorrelate:
        from engine.slc import decorrelate as whiten

        if scene.attrs["domain"] != "complex":
            raise ParameterError("decorrelation needs complex (SLC) input; this scene holds " + scene.attrs["domain"])
        scene = as_scene(whiten(scene))
    if chosen.display_native and scene.attrs["domain"] == "display" and "point_targets" not in parameters:
        # The bright speckle of a smoothed, log-compressed picture is no point target (passed through
        # it left white dots); a display model learnt its specular reflectors. Said in its help.
        parameters = {**parameters, "point_targets": False}
    # Assumed looks are no statement: a method that estimates the looks does so.
    assumed = not looks_stated(scene)
    resolved = chosen.resolve(parameters, {k: v for k, v in scene.attrs.items() if not (assumed and k == "looks")})
    halo = chosen.halo_px(resolved)
    if halo % chosen.alignment_px:
        raise ValueError(f"method {chosen.name!r} declares a halo of {halo} px, not a multiple of its alignment {chosen.alignment_px}")
    kernel_parameters = {**resolved, "halo": halo} if chosen.edge_aware else resolved
    source = scene.attrs["domain"]
    target = check_domain(output_domain or ("intensity" if source == "complex" else source), allow_complex=False)
    working_dtype(scene.dtype)  # fail early, before building the graph, on unusable dtypes
    if any(size == 0 for size in scene.shape):
        raise InputError(f"the scene is empty (shape {dict(zip(scene.dims, scene.shape, strict=True))})")

    if chosen.kind == "model" and "sar" in chosen.imagery and source == "display":
        warnings.warn(
            f"{chosen.name!r} is a SAR model and the scene is a display image (B-mode, OCT): it was not trained on such "
            "speckle. Use a model made for that imagery (despeckle methods --imagery ultrasound) or a filter",
            NotSpeckleWarning,
            stacklevel=2,
        )
    elif chosen.kind == "model" and "sar" in chosen.imagery and scene.dtype == np.uint8 and source in ("intensity", "amplitude"):
        warnings.warn(
            f"{chosen.name!r} is a SAR model, and 8-bit {source} values look like a display image (B-mode, OCT, a "
            "rendered quick-look), not SAR data: its output may be meaningless. Use a filter, or a model made for that imagery "
            "(despeckle methods --imagery ultrasound)",
            NotSpeckleWarning,
            stacklevel=2,
        )
    lazy = isinstance(scene.data, da.Array)
    nodata = nodata_of(scene)
    label = Path(str(scene.attrs["source"])).name if scene.attrs.get("source") else None  # errors name the file
    display = plan_display(scene, display_native=chosen.display_native, source=source, target=target, method=chosen.name)
    prepared = valid_values(scene, chosen.domain, label=label, dynamic_range_db=display.dynamic_range_db)
    if assumed and "looks" not in parameters and source not in ("display", "complex"):
        _say_measured_looks(chosen, resolved, prepared, recorded_statistics(scene))
    statistics = chosen.scene_statistics(prepared, resolved, recorded_statistics(scene))
    if "scene_median" in statistics and display.grey is not None and chosen.display_native:
        statistics["scene_median"] = da.asarray(tissue_median(display))  # black surroundings are not tissue
    chunks = aligned_chunks(prepared.chunks, chosen.alignment_px)
    reader, why_not = locate_source(scene)
    if reader is None and SOURCE_ENCODING in scene.encoding:
        # Said, not silent: a scene changed after it was opened no longer matches its file, so
        # its blocks share halos through dask.overlap instead of re-reading them.
        logger.info("%s: %s; blocks take their halos from their neighbours (dask.overlap) instead of re-reading "
                    "them from the file", chosen.name, why_not)
    if reader is not None:
        # Read straight from the file, each block with its halo: no data shared between blocks.
        prepare = partial(prepare_block, nodata=nodata, source=scene.attrs["domain"], target=chosen.domain, label=label,
                          dynamic_range_db=display.dynamic_range_db)
        filtered = apply_with_halo_reads(
            reader.read, prepare, chosen.kernel, shape=scene.shape, chunks=chunks,
            halo=halo, parameters=kernel_parameters, statistics=statistics, edges=chosen.edge_aware,
        )
    else:
        filtered = apply_overlapped(
            prepared.rechunk(chunks), chosen.kernel, halo=halo, parameters=kernel_parameters, statistics=statistics,
            edges=chosen.edge_aware,
        )
    method_domain = chosen.domain
    if display.matches_brightness:
        # The shift back to the input's brightness is measured on the whole estimate.
        display, estimate = matched(display, np.asarray(filtered.compute()), chosen.domain)
        filtered, method_domain = da.from_array(estimate, chunks=filtered.chunks), "intensity"
    result = filtered.map_blocks(
        _finish_block, source=method_domain, target=target, dynamic_range_db=display.dynamic_range_db, scale=display.output_scale,
        dtype=np.float32,
        meta=np.empty((0,) * prepared.ndim, dtype=np.float32),
    )

    attrs = {k: v for k, v in scene.attrs.items() if not _stale_after_filtering(k)}
    attrs.update(DOMAIN_ATTRS[target], domain=target)
    attrs.update(display.attrs)
    attrs.update(zip(PROVENANCE_ATTRS, (chosen.name, json.dumps(resolved, sort_keys=True), __version__), strict=True))
    if "looks" in statistics:
        attrs["input_looks"] = "estimated from the scene (median ENL of 9x9 windows; value in the statistics)"
        attrs["input_looks_source"] = "estimated"
    else:
        attrs["input_looks"] = float(resolved.get("looks") or scene.attrs["looks"])
        attrs["input_looks_source"] = "stated" if looks_stated(scene) else "assumed"
    out = xr.DataArray(result, coords=scene.coords, dims=scene.dims, attrs=attrs)
    # Named explicitly: given no name, xarray would take the dask array's task name.
    out.name = scene.name if scene.name is not None else target
    if nodata is not None and target == source:
        out.encoding["_FillValue"] = np.float32(nodata)
    with_statistics(out, statistics)
    if not lazy:
        out = out.compute()
    return out
