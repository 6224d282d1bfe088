"""Metadata as data: the radiometric domains and the attributes and tags that describe them.

A despeckling method consumes one domain; scenes say which domain they hold in
``attrs["domain"]``. This module is the single table of what each domain means and how it is
labelled in xarray attributes and GeoTIFF tags.
"""

from __future__ import annotations

from typing import Final

#: Every domain an array can be in. ``complex`` is single-look complex (SLC) data z;
#: ``intensity`` is |z|^2, ``amplitude`` is |z| and ``db`` is 10*log10(|z|^2); ``display`` is
#: log-compressed grey levels 0-255 spanning a dynamic range (B-mode ultrasound, OCT; see
#: :mod:`engine.display`).
DOMAINS: Final = ("complex", "intensity", "amplitude", "db", "display")

#: CF-style attributes written on arrays in each domain.
DOMAIN_ATTRS: Final[dict[str, dict[str, str]]] = {
    "complex": {"units": "1", "long_name": "single-look complex backscatter"},
    "intensity": {"units": "1", "long_name": "backscatter intensity (|z|^2)"},
    "amplitude": {"units": "1", "long_name": "backscatter amplitude (|z|)"},
    "db": {"units": "dB", "long_name": "backscatter intensity in decibels (10*log10|z|^2)"},
    "display": {"units": "1", "long_name": "log-compressed grey level (0-255 over the dynamic range)"},
}

#: Prefix of the GeoTIFF metadata tags (and Zarr attributes) the engine writes and reads back.
TAG_PREFIX: Final = "DESPECKLE_"
DOMAIN_TAG: Final = TAG_PREFIX + "DOMAIN"
LOOKS_TAG: Final = TAG_PREFIX + "LOOKS"
#: Dynamic range (dB) that the grey levels of a display image span.
DYNAMIC_RANGE_TAG: Final = TAG_PREFIX + "DYNAMIC_RANGE_DB"
#: Statistics of the whole scene a tile was cut from (JSON {parameter: value}): a method that
#: would compute them over its input (scene median, Z98, looks) uses them instead, so tiles
#: despeckle as the whole scene does.
SCENE_STATISTICS_TAG: Final = TAG_PREFIX + "SCENE_STATISTICS"

#: Band-name conventions of SNAP exports, the most common source of speckled GeoTIFFs:
#: ``Amplitude_VV``, ``Intensity_VH``, ``Sigma0_VV_db``... (checked case-insensitively).
SNAP_BAND_PREFIXES: Final = {
    "amplitude": "amplitude",
    "intensity": "intensity",
    "sigma0": "intensity",
    "gamma0": "intensity",
    "beta0": "intensity",
}
SNAP_DB_SUFFIX: Final = "_db"

#: Provenance attributes added to every despeckled array.
PROVENANCE_ATTRS: Final = (
    "despeckle_method",
    "despeckle_parameters",
    "despeckle_version",
)
#: What a run records of itself besides its provenance: its input's looks and how they were known,
#: the dates a stack combined (``decorrelation``, recorded on the input by the SLC whitening, and
#: the statistics, kept under the tag prefix, are records too).
RUN_RECORDS: Final = ("input_looks", "input_looks_source", "dates")


def is_earlier_run_record(attribute: str) -> bool:
    """An attribute an input carries from the run that made it (its method, parameters,
    statistics, or a tag this engine wrote): false on a new output, which records its own."""
    return attribute.startswith(TAG_PREFIX) or attribute in PROVENANCE_ATTRS or attribute in RUN_RECORDS
