"""GDAL's settings in every process that reads or writes rasters (the main one and every dask
worker: they are per process), applied once by :func:`configure_gdal`.

- The block cache is bounded. GDAL's default is 5 % of the machine's memory, and it fills with
  every tile read or written: a 16k x 16k scene then costs over 1.5 GB of RAM for no speed gain,
  since the engine reads and writes each tile once. A GDAL_CACHEMAX set by the user wins.
- libtiff's default error handler is silenced. Where GDAL has not installed its own handler
  (writing a block, for one), libtiff prints straight to stderr: one ``_tiffWriteProc: No space
  left on device.`` line per block on a full disk, before the engine's one-line error that says
  it, and in QGIS's log. GDAL still sees the failed write (and the engine checks every block);
  only the duplicate printout goes. Found through ``/proc/self/maps`` (Linux): the libtiff GDAL
  really uses, which may be a copy bundled with rasterio, not the system's.
"""

from __future__ import annotations

import ctypes
import os

from rasterio.env import set_gdal_config

CACHE_MB = 64
_done_in_pid: int | None = None


def _loaded_libtiff() -> str | None:
    """The libtiff beside the GDAL this process loaded (other packages bundle their own copies:
    pyproj does), or None where that cannot be told."""
    try:
        with open("/proc/self/maps") as maps:
            libraries = {line.split()[-1] for line in maps if "/" in line}
    except OSError:  # not Linux
        return None
    gdal = [p for p in libraries if os.path.basename(p).startswith("libgdal")]
    tiffs = [p for p in libraries if os.path.basename(p).startswith("libtiff")]
    if len(gdal) == 1:
        tiffs = [p for p in tiffs if os.path.dirname(p) == os.path.dirname(gdal[0])]
    return tiffs[0] if len(tiffs) == 1 else None


def _silence_libtiff_stderr() -> None:
    path = _loaded_libtiff()
    if path is None:
        return
    try:
        library = ctypes.CDLL(path)  # the library already loaded: the same instance GDAL calls
        library.TIFFSetErrorHandler.restype = ctypes.c_void_p
        library.TIFFSetErrorHandler.argtypes = [ctypes.c_void_p]
        library.TIFFSetErrorHandler(None)
    except (OSError, AttributeError):
        return


def configure_gdal() -> None:
    """Bound GDAL's block cache to :data:`CACHE_MB` and silence libtiff's own error printout, in
    this process, once."""
    global _done_in_pid  # noqa: PLW0603 - one flag per process, as GDAL's settings are per process
    if _done_in_pid == os.getpid():
        return
    if "GDAL_CACHEMAX" not in os.environ:
        set_gdal_config("GDAL_CACHEMAX", CACHE_MB * 2**20)
    _silence_libtiff_stderr()
    _done_in_pid = os.getpid()
