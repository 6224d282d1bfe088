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

from engine.pipeline import despeckle
from engine.stack._common import despeckle_plane, weights_of


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
