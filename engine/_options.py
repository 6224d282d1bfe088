"""Scoped engine options: ``engine.set_options(...)`` globally or as a context manager.

Names and values are validated when set, so a typo fails at once with the list of valid names
instead of being silently ignored deep inside a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.exceptions import ParameterError

#: GeoTIFF compressions the writers offer (``despeckle methods --json`` tells the QGIS plugin).
COMPRESSIONS = ("deflate", "zstd", "lzw", "none")
#: Output formats the writers know (``engine.io.write_scene``); here so that listing them imports no writer.
FORMATS = ("gtiff", "cog", "zarr", "picture")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _optional_positive_int(value: Any) -> bool:
    return value is None or _positive_int(value)


def _tile_size(value: Any) -> bool:
    # GeoTIFF tiles must be multiples of 16 pixels.
    return _positive_int(value) and value % 16 == 0


_VALIDATORS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "chunk_size_px": (_positive_int, "a positive integer number of pixels"),
    "num_workers": (_optional_positive_int, "None (all cores) or a positive integer"),
    "default_method": (lambda v: isinstance(v, str) and bool(v), "a registered method name or 'auto'"),
    "geotiff_tile_px": (_tile_size, "a positive multiple of 16 pixels"),
    "compress": (lambda v: v in COMPRESSIONS, f"one of {', '.join(COMPRESSIONS)}"),
}

OPTIONS: dict[str, Any] = {
    # 1024 px chunks keep a block (and a model's windows) a few tens of MB while leaving
    # halos of a few pixels a negligible overhead.
    "chunk_size_px": 1024,
    "num_workers": None,
    # "auto": the best available model for SAR (see ``engine.methods.AUTO_PREFERENCE``).
    "default_method": "auto",
    "geotiff_tile_px": 512,
    "compress": "deflate",
}


def get_option(name: str) -> Any:
    """Return the current value of one option."""
    if name not in OPTIONS:
        raise ParameterError(f"unknown option {name!r}; valid options: {', '.join(sorted(OPTIONS))}")
    return OPTIONS[name]


class set_options:  # noqa: N801 - used like a function, as in xarray and rioxarray
    """Set engine options globally, or for a ``with`` block.

    Parameters
    ----------
    chunk_size_px : int
        Default dask chunk size (pixels per side) when opening scenes. Default 1024.
    num_workers : int or None
        Threads of the local scheduler; None uses every core.
    default_method : str
        Method used when none is given. Default ``"auto"``: the best available deep model
        (``looks-unet``), or Lee when PyTorch or its weights are missing and for 8-bit display
        images.
    geotiff_tile_px : int
        Internal tile size of written GeoTIFFs. Default 512.
    compress : {"deflate", "zstd", "lzw", "none"}
        Compression of written GeoTIFFs. Default ``"deflate"`` (readable everywhere).

    Examples
    --------
    >>> import engine
    >>> with engine.set_options(chunk_size_px=512):
    ...     engine.get_option("chunk_size_px")
    512
    >>> engine.get_option("chunk_size_px")
    1024
    """

    def __init__(self, **kwargs: Any) -> None:
        self._previous: dict[str, Any] = {}
        for name, value in kwargs.items():
            if name not in _VALIDATORS:
                raise ParameterError(
                    f"unknown option {name!r}; valid options: {', '.join(sorted(OPTIONS))}"
                )
            check, expected = _VALIDATORS[name]
            if not check(value):
                raise ParameterError(f"option {name} must be {expected}, got {value!r}")
        for name, value in kwargs.items():
            self._previous[name] = OPTIONS[name]
            OPTIONS[name] = value

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        OPTIONS.update(self._previous)
