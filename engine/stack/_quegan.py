"""Quegan & Yu's multi-temporal filter, with any registered spatial method as the local mean.

``J_k = E[I_k] * mean over dates i of I_i / E[I_i]``: each date's ratio to its own local mean is
(nearly) pure speckle where the scene is stationary, so averaging the ratios over N dates divides
the speckle variance by about N, while ``E[I_k]`` keeps each date's own radiometry (changes are
not averaged away). Dates without a pixel at a place (nodata, another footprint) are left out of
that place's sum. What SNAP's *Multi-Temporal Speckle Filter* and OTB's ``MultitempFiltering``
(S1Tiling) compute, with the spatial estimator chosen from the engine's filters and the average
optionally restricted to the N dates nearest in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from engine.methods import Parameter, StackMethod, register_stack_method
from engine.pipeline import despeckle
from engine.stack._common import TEMPORAL_WINDOW, despeckle_plane, filter_choices, method_halo, weights_of


def _combine_block(intensity: np.ndarray, local_mean: np.ndarray, *, weights: np.ndarray) -> np.ndarray:
    valid = np.isfinite(intensity) & (local_mean > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(valid, intensity / np.where(valid, local_mean, 1.0), 0.0)
    total = np.tensordot(weights, ratio, axes=(1, 0))
    count = np.tensordot(weights, valid.astype(np.float32), axes=(1, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(count > 0, total / count, 1.0)
    # A date's own pixel decides where it has one; a zero local mean gives zero, as it should.
    out = np.where(np.isfinite(intensity), local_mean * average, np.nan)
    return out.astype(np.float32)


def run_quegan(
    stack: xr.DataArray, *, looks: float, spatial: str, temporal_window: int, spatial_parameters: Mapping[str, Any],
    date_scenes: tuple[xr.DataArray, ...] | None = None,
) -> da.Array:
    values = stack.data
    if date_scenes is not None:  # straight from the files, each block with its halo
        planes = [despeckle(scene, spatial, looks=looks, output_domain="intensity", **spatial_parameters).data.rechunk(values[t].chunks)
                  for t, scene in enumerate(date_scenes)]
    else:
        planes = [despeckle_plane(stack, values[t], spatial, looks, spatial_parameters) for t in range(values.shape[0])]
    local_means = da.stack(planes, axis=0)
    weights = weights_of(stack, temporal_window)
    # Each date filtered on its own above; a spatial block's dates meet only here.
    together = values.rechunk({0: -1})
    return da.map_blocks(
        _combine_block, together, local_means.rechunk(together.chunks), weights=weights, dtype=np.float32,
        meta=np.empty((0, 0, 0), dtype=np.float32),
    )


QUEGAN = register_stack_method(StackMethod(
    name="quegan",
    title="Quegan-Yu multi-temporal filter",
    run=run_quegan,
    halo=lambda p: method_halo(p["spatial"], {}),
    parameters=(
        Parameter("spatial", str, "boxcar", "the single-image filter that estimates each date's local mean E[I]",
                  choices=filter_choices()),
        TEMPORAL_WINDOW,
    ),
    description=(
        "Each date becomes its local mean times the average, over the dates, of every date's ratio to its own local "
        "mean (Quegan & Yu 2001): on a stationary scene the speckle variance drops by about the number of dates, "
        "at full resolution, and each date keeps its own radiometry, so changes stay. Dates without a pixel at a "
        "place are left out there. The local mean is any of the engine's filters (boxcar as in OTB/S1Tiling; "
        "refined-lee or lee-sigma keep edges sharper); a temporal window averages only the N nearest dates."
    ),
    references=(
        "S. Quegan and J. J. Yu, Filtering of multichannel SAR images, IEEE TGRS 39(11), 2001.",
        "S. Quegan, T. Le Toan, J. J. Yu, F. Ribbes, N. Floury, Multitemporal ERS SAR analysis applied to forest "
        "mapping, IEEE TGRS 38(2), 2000.",
    ),
))
