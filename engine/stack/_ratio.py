"""The ratio method (RABASAR's idea, with the engine's single-image methods): despeckle each
date's ratio to the temporal super-image, then multiply back.

The super-image (the mean intensity of the dates, over the temporal window) has about N*L looks;
despeckled itself (told those looks), it is a sharp, nearly clean picture of what does not
change. Each date's ratio to it is then nearly stationary: speckle times whatever changed, which
a single-image method despeckles far better than the scene itself. ``date = super-image *
despeckled ratio`` keeps every change the ratio shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from engine.stack._catalog import NO_DESPECKLING, resolved_name
from engine.stack._common import despeckle_plane, weighted_means, weights_of


def _ratio_block(intensity: np.ndarray, reference: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        # Where the super-image is 0 the date is 0 too (a mean of non-negative values): ratio 1.
        return np.where(reference > 0, intensity / np.where(reference > 0, reference, 1.0), np.where(np.isfinite(intensity), 1.0, np.nan)).astype(np.float32)


def _product_block(reference: np.ndarray, ratio: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(intensity), reference * ratio, np.nan).astype(np.float32)


def run_ratio(
    stack: xr.DataArray,
    *,
    looks: float,
    ratio_method: str,
    super_image_method: str,
    temporal_window: int,
    spatial_parameters: Mapping[str, Any],
    date_scenes: tuple[xr.DataArray, ...] | None = None,  # noqa: ARG001 - its planes are ratios, not the files' pixels
) -> da.Array:
    values = stack.data
    dates = values.shape[0]
    weights = weights_of(stack, temporal_window)
    # One super-image when every date averages every date; one per date with a temporal window.
    shared = bool((weights == weights[0]).all())
    rows = weights[:1] if shared else weights
    means = weighted_means(values, rows)
    super_looks = float(looks) * float(rows.sum(axis=1).min())
    if super_image_method != NO_DESPECKLING:
        method = resolved_name(super_image_method)
        references = da.stack([despeckle_plane(stack, means[k], method, super_looks, {}) for k in range(rows.shape[0])], axis=0)
        ratio_looks = float(looks)  # the despeckled super-image is nearly clean: the ratio's speckle is the date's
    else:
        references = means
        ratio_looks = 1.0 / (1.0 / float(looks) + 1.0 / super_looks)  # product of two independent speckles
    method = resolved_name(ratio_method)
    out = []
    for t in range(dates):
        reference = references[0 if shared else t]
        ratio = da.map_blocks(_ratio_block, values[t], reference, dtype=np.float32, meta=np.empty((0, 0), dtype=np.float32))
        despeckled = despeckle_plane(stack, ratio, method, ratio_looks, spatial_parameters)
        out.append(da.map_blocks(_product_block, reference, despeckled, values[t], dtype=np.float32,
                                 meta=np.empty((0, 0), dtype=np.float32)))
    return da.stack(out, axis=0).rechunk({0: -1})
