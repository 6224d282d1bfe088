"""Multilooking: averaging intensity over azimuth x range boxes (looks), the classical way to
reduce speckle and square the pixels of an SLC."""

from __future__ import annotations

import numpy as np
import xarray as xr
from affine import Affine
from rasterio.control import GroundControlPoint

from engine.domain import convert
from engine.exceptions import ParameterError
from engine.scene import LOOKS_SOURCE, burst_pieces, georeference_of, join_pieces, nodata_of


def multilook(scene: xr.DataArray, azimuth_looks: int, range_looks: int) -> xr.DataArray:
    """Average intensity over ``azimuth_looks`` x ``range_looks`` boxes (trailing partial boxes
    dropped), NaN and nodata skipped. The result is intensity with ``attrs["looks"]`` multiplied by
    the number of pixels averaged (nominal: neighbouring SLC pixels are correlated, so the
    effective number of looks is lower; ``despeckle info`` estimates it). A transform is scaled
    and GCPs are moved to the new pixel grid.
    """
    if azimuth_looks < 1 or range_looks < 1:
        raise ParameterError(f"looks must be >= 1, got {azimuth_looks}x{range_looks}")
    pieces = burst_pieces(scene)
    if len(pieces) > 1:  # TOPS: boxes never straddle two bursts
        return join_pieces([multilook(piece, azimuth_looks, range_looks) for piece in pieces])
    y_dim, x_dim = scene.dims[-2:]
    nodata = nodata_of(scene)
    domain = scene.attrs.get("domain", "complex" if np.iscomplexobj(scene.data) else "intensity")
    intensity = xr.apply_ufunc(
        lambda v: np.asarray(convert(np.where(v == nodata, np.nan, v) if nodata is not None else v, domain, "intensity"), dtype=np.float32),
        scene,
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    out = intensity.coarsen({y_dim: azimuth_looks, x_dim: range_looks}, boundary="trim").mean()
    # The looks are now stated: the nominal number of pixels averaged times the input's.
    out.attrs = {k: v for k, v in scene.attrs.items() if k not in ("_FillValue", LOOKS_SOURCE)}
    out.attrs.update(domain="intensity", looks=float(scene.attrs.get("looks", 1.0)) * azimuth_looks * range_looks)
    georef = georeference_of(scene)
    if georef.gcps:
        moved = [GroundControlPoint((g.row + 0.5) / azimuth_looks - 0.5, (g.col + 0.5) / range_looks - 0.5, g.x, g.y, g.z, g.id) for g in georef.gcps]
        out = out.rio.write_gcps(moved, georef.crs)
    elif georef.transform is not None:
        out = out.rio.write_transform(georef.transform * Affine.scale(range_looks, azimuth_looks))
    return out
