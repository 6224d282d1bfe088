"""What an input format is to ``open_scene``: which files it claims, how it opens them, which of
``open_scene``'s options it uses. Each format module (``_geotiff``, ``_zarr``, ``_sentinel1``,
``_hdf5``, ``_ultrasound_rf``, ``_raw``, ``_npy``) defines one :class:`InputFormat` and a
reader (``engine.sources.FileReader``; Sentinel-1 excepted, see there); ``_open.INPUT_FORMATS`` lists them in the order they
are tried. A new format is one module and one line in that list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

#: ``open_scene``'s per-format options, with the command-line flag that sets each.
OPTION_FLAGS = {
    "bands": "--band",
    "complex_pairs": "--complex-pairs",
    "variable": "--variable",
    "shape": "--shape",
    "dtype": "--dtype",
    "header_bytes": "--header-bytes",
    "swath": "--swath",
    "polarisation": "--polarisation",
    "burst": "--burst",
}
#: Values that mean "not given".
_UNSET: dict[str, Any] = {"complex_pairs": False, "header_bytes": 0}


@dataclass(frozen=True)
class OpenRequest:
    """What the caller asked ``open_scene`` for, beyond the path."""

    chunk_px: int
    bands: list[int] | None = None
    variable: str | None = None
    complex_pairs: bool = False
    shape: str | tuple[int, int] | None = None
    dtype: str | None = None
    header_bytes: int = 0
    swath: str | None = None
    polarisation: str | None = None
    burst: int | None = None

    def given(self) -> list[str]:
        """The per-format options the caller set."""
        return [name for name in OPTION_FLAGS if getattr(self, name) not in (None, (), [], _UNSET.get(name))]


@dataclass(frozen=True)
class InputFormat:
    """One input format.

    ``description`` names it in messages ("a Zarr store"); ``claims(path, request)`` says
    whether it reads ``path``; ``open(path, request)`` returns the lazy scene; ``options`` are
    the :data:`OPTION_FLAGS` it uses (any other given option is refused); ``georeferenced(path)``
    says whether such a file normally carries georeferencing (a warning when it does not)."""

    description: str
    claims: Callable[[Path, OpenRequest], bool]
    open: Callable[[Path, OpenRequest], xr.DataArray]
    options: tuple[str, ...] = ()
    georeferenced: Callable[[Path], bool] = lambda path: False
