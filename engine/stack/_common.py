"""What the stack methods share: dates as single scenes for the spatial pipeline, and temporal
weighted means along time computed block by block (time is one chunk, space as chunked)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from engine.pipeline import despeckle
from engine.stack._dates import temporal_weights, time_values


def weights_of(stack: xr.DataArray, window: int) -> np.ndarray:
    times = stack["time"].values if "time" in stack.coords else np.arange(stack.sizes["time"])
    return temporal_weights(time_values(np.asarray(times)), window)


def date_scene(stack: xr.DataArray, values: da.Array, looks: float) -> xr.DataArray:
    """One (y, x) plane of intensities as a scene on the stack's grid, for the single-image pipeline."""
    coords = {n: c for n, c in stack.coords.items() if "time" not in c.dims and n != "time"}
    return xr.DataArray(values, dims=stack.dims[1:], coords=coords, attrs={"domain": "intensity", "looks": float(looks)})


def despeckle_plane(stack: xr.DataArray, values: da.Array, method: str, looks: float, parameters: Mapping[str, Any]) -> da.Array:
    """A plane through a registered single-image method: the stack's spatial steps are exactly the
    single-scene pipeline's, so chunk invariance carries over. Returned with the chunks of
    ``values`` (a model with a large reach merges small chunks), so planes combine block by block."""
    return despeckle(date_scene(stack, values, looks), method, **parameters).data.rechunk(values.chunks)


def _weighted_mean_block(values: np.ndarray, *, weights: np.ndarray) -> np.ndarray:
    valid = np.isfinite(values)
    total = np.tensordot(weights, np.where(valid, values, 0.0), axes=(1, 0))
    count = np.tensordot(weights, valid.astype(np.float32), axes=(1, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)


def weighted_means(values: da.Array, weights: np.ndarray) -> da.Array:
    """``out[k] = mean of values[t] over the dates t with weights[k, t] = 1 that have a pixel``
    (NaN where none has); ``weights`` (K, T)."""
    values = values.rechunk({0: -1})  # a spatial block's dates together, and only those
    return values.map_blocks(
        _weighted_mean_block, weights=weights, chunks=((weights.shape[0],), *values.chunks[1:]), dtype=np.float32,
        meta=np.empty((0, 0, 0), dtype=np.float32),
    )
