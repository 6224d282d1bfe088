"""Georeferencing and radiometric metadata carried by DataArrays (rioxarray conventions)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from engine.conventions import DOMAIN_TAG, LOOKS_TAG, SNAP_BAND_PREFIXES, SNAP_DB_SUFFIX, TAG_PREFIX
from engine.pipeline import STATISTICS_ENCODING


@dataclass(frozen=True)
class Georeference:
    """How a raster sits on the Earth: a CRS with an affine transform, or GCPs, or nothing."""

    crs: CRS | None
    transform: Affine | None
    gcps: tuple[GroundControlPoint, ...] = ()

    @property
    def is_georeferenced(self) -> bool:
        return self.crs is not None or bool(self.gcps)


def georeference_of(scene: xr.DataArray) -> Georeference:
    """Read the CRS, transform and GCPs rioxarray attached to ``scene``.

    A transform without a CRS that is the identity (plain images, NumPy arrays) is no
    georeferencing at all and is reported as None.
    """
    crs = scene.rio.crs
    spatial_ref = scene.coords["spatial_ref"].attrs if "spatial_ref" in scene.coords else {}
    gcps = tuple(scene.rio.get_gcps() or ()) if "gcps" in spatial_ref else ()
    transform = None
    if not gcps:
        try:
            transform = scene.rio.transform()
        except Exception:  # rioxarray's MissingSpatialDimensionError: no usable x/y dims
            transform = None
        if crs is None and transform == Affine.identity():
            transform = None
    return Georeference(crs=crs, transform=transform, gcps=gcps)


def domain_from_metadata(attrs: Mapping[str, Any], band_names: tuple[str, ...]) -> str | None:
    """The domain a file declares: our own tag, dB units, or SNAP's band-name conventions."""
    tagged = attrs.get(DOMAIN_TAG) or attrs.get("domain")
    if tagged:
        return str(tagged).lower()
    units = attrs.get("units")
    if isinstance(units, str) and units.strip().lower() == "db":
        return "db"
    found = set()
    for name in band_names:
        lowered = name.lower()
        if lowered.endswith(SNAP_DB_SUFFIX):
            found.add("db")
            continue
        for prefix, domain in SNAP_BAND_PREFIXES.items():
            if lowered.startswith(prefix):
                found.add(domain)
    return found.pop() if len(found) == 1 else None


def looks_from_metadata(attrs: Mapping[str, Any]) -> float | None:
    value = attrs.get(LOOKS_TAG)
    return float(value) if value is not None else None


def output_tags(scene: xr.DataArray, statistics: Mapping[str, float] | None = None) -> dict[str, str]:
    """Dataset-level metadata tags for a written scene: domain, looks and provenance."""
    tags = {DOMAIN_TAG: str(scene.attrs.get("domain", ""))}
    if "looks" in scene.attrs:
        tags[LOOKS_TAG] = str(scene.attrs["looks"])
    for key, value in scene.attrs.items():
        if key.startswith("despeckle_") or key in ("input_looks", "decorrelation"):
            tags[TAG_PREFIX + key.removeprefix("despeckle_").upper()] = str(value)
    if statistics:
        tags[TAG_PREFIX + "STATISTICS"] = json.dumps({k: float(v) for k, v in statistics.items()})
    if "AREA_OR_POINT" in scene.attrs:
        tags["AREA_OR_POINT"] = str(scene.attrs["AREA_OR_POINT"])
    return tags


def lazy_statistics(scene: xr.DataArray) -> dict[str, Any]:
    """Scene statistics a pipeline attached lazily (computed while writing)."""
    return dict(scene.encoding.get(STATISTICS_ENCODING, {}))
