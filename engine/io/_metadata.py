"""What files say about their values, read and written: domain and looks tags, dB units, SNAP
band names, and the tags an output carries (domain, looks, provenance, statistics)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr

from engine.conventions import (
    DOMAIN_TAG,
    DYNAMIC_RANGE_TAG,
    LOOKS_TAG,
    PROVENANCE_ATTRS,
    RUN_RECORDS,
    SNAP_BAND_PREFIXES,
    SNAP_DB_SUFFIX,
    TAG_PREFIX,
)


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


def dynamic_range_from_metadata(attrs: Mapping[str, Any]) -> float | None:
    value = attrs.get(DYNAMIC_RANGE_TAG, attrs.get("dynamic_range_db"))
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def output_tags(scene: xr.DataArray, statistics: Mapping[str, float] | None = None) -> dict[str, str]:
    """Dataset-level metadata tags for a written scene: domain, looks and provenance."""
    tags = {DOMAIN_TAG: str(scene.attrs.get("domain", ""))}
    if "looks" in scene.attrs:
        tags[LOOKS_TAG] = str(scene.attrs["looks"])
    if scene.attrs.get("domain") == "display" and scene.attrs.get("dynamic_range_db") is not None:
        tags[DYNAMIC_RANGE_TAG] = str(scene.attrs["dynamic_range_db"])
    for key, value in scene.attrs.items():
        if key.startswith("despeckle_") or key in (*RUN_RECORDS, "decorrelation"):
            tags[TAG_PREFIX + key.removeprefix("despeckle_").upper()] = str(value)
    if statistics:
        tags[TAG_PREFIX + "STATISTICS"] = json.dumps({k: float(v) for k, v in statistics.items()})
    if "AREA_OR_POINT" in scene.attrs:
        tags["AREA_OR_POINT"] = str(scene.attrs["AREA_OR_POINT"])
    return tags





def provenance_from_metadata(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """How a file the engine wrote was made (method, its parameters, engine version, the input's
    looks and statistics it used), read back from its GeoTIFF tags or Zarr attributes; None for a
    file the engine did not despeckle."""
    found: dict[str, Any] = {}
    # Each as ``output_tags`` wrote it: a GeoTIFF tag (DESPECKLE_INPUT_LOOKS) or a Zarr attribute (input_looks).
    for name in (*PROVENANCE_ATTRS, *RUN_RECORDS, "decorrelation", "statistics"):
        short = name.removeprefix("despeckle_")
        value = attrs.get(name, attrs.get(TAG_PREFIX + short.upper()))
        if value is None:
            continue
        if short in ("parameters", "statistics") and isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                pass  # written by another tool (or nested beyond reason): shown as it is
        found[short] = value
    if "method" not in found:
        return None
    # The input's looks as a number wherever the file has it, and how they were known: stated (metadata,
    # the caller), assumed (1, nobody said) or estimated (their value is then among the statistics).
    looks, statistics = found.get("input_looks"), found.get("statistics")
    if isinstance(looks, str) and looks.startswith("estimated"):
        found["input_looks_source"] = "estimated"
        looks = statistics.get("looks") if isinstance(statistics, dict) else None
    try:
        found["input_looks"] = float(looks) if looks is not None else None
    except (TypeError, ValueError):
        found["input_looks"] = None  # not a number this engine wrote
    if "dates" in found:
        try:
            found["dates"] = int(found["dates"])
        except (TypeError, ValueError):
            pass
    return found
