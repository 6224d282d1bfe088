"""GDAL's block cache, bounded in every process that reads or writes rasters.

GDAL's default cache is 5 % of the machine's memory, and it fills with every tile read or
written: a 16k x 16k scene then costs over 1.5 GB of RAM for no speed gain, since the engine
reads and writes each tile once. Each process (the main one and every dask worker) sets the
limit itself, because the setting is per process. A GDAL_CACHEMAX set by the user wins.
"""

from __future__ import annotations

import os

from rasterio.env import set_gdal_config

CACHE_MB = 64
_done_in_pid: int | None = None


def bound_gdal_cache() -> None:
    """Limit GDAL's block cache to :data:`CACHE_MB` in this process, once."""
    global _done_in_pid  # noqa: PLW0603 - one flag per process, as GDAL's cache is per process
    if _done_in_pid == os.getpid():
        return
    if "GDAL_CACHEMAX" not in os.environ:
        set_gdal_config("GDAL_CACHEMAX", CACHE_MB * 2**20)
    _done_in_pid = os.getpid()
