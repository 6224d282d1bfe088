"""``open_scene``: any supported file to a lazy, georeferenced DataArray with a known domain."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine._options import get_option
from engine.exceptions import InputError, MissingGeoreferenceWarning, UnsupportedDtypeError
from engine.io._complex import open_hdf5, open_raw
from engine.io._geotiff import open_raster
from engine.io._metadata import domain_from_metadata, looks_from_metadata
from engine.io._sentinel1 import deburst, is_sentinel1, sentinel1_bursts, with_product_gcps
from engine.io._zarr import open_zarr_scene
from engine.scene import as_scene, georeference_of
from engine.sources import SceneSource, scene_from_source

#: Formats that normally carry georeferencing: a scene without it gets a warning.
_GEOSPATIAL_SUFFIXES = (".tif", ".tiff", ".gtiff", ".vrt", ".img", ".jp2", ".nc", ".zarr")


def is_zarr(path: Path) -> bool:
    return path.is_dir() and (
        path.suffix == ".zarr" or any((path / name).exists() for name in (".zgroup", ".zarray", "zarr.json"))
    )


def _open_npy(path: Path, *, chunk_px: int) -> xr.DataArray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error).lower() or "python objects" in str(error).lower():
            raise UnsupportedDtypeError(f"{path} holds Python objects, not numbers") from None
        raise InputError(f"cannot read {path} as a .npy array (truncated or corrupt?): {error}") from None
    if array.dtype.kind not in "uifc" or array.dtype.names:
        raise UnsupportedDtypeError(
            f"{path} holds values of dtype {array.dtype}; expected integers, floats or complex numbers"
        )
    if array.ndim not in (2, 3):
        raise InputError(f"{path} has shape {array.shape}; expected (y, x) or (band, y, x)")
    if array.ndim == 3 and array.shape[-1] == 2 and array.dtype.kind in "uif":
        # (rows, columns, 2): real and imaginary parts, a common way to store SLC crops.
        source = SceneSource.for_file("npy", str(path), array.shape[:2], np.complex64, options=(("reim_last", True),))
        return scene_from_source(source, chunk_px)
    source = SceneSource.for_file("npy", str(path), array.shape, array.dtype)
    return scene_from_source(source, chunk_px)


def open_scene(
    path: str | Path,
    *,
    chunk_px: int | None = None,
    domain: str | None = None,
    looks: float | None = None,
    bands: list[int] | None = None,
    variable: str | None = None,
    nodata: float | None = None,
    complex_pairs: bool = False,
    shape: str | tuple[int, int] | None = None,
    dtype: str | None = None,
    header_bytes: int = 0,
    swath: str | None = None,
    polarisation: str | None = None,
    burst: int | None = None,
) -> xr.DataArray:
    """Open a scene lazily as a dask-backed, georeferenced :class:`xarray.DataArray`.

    Parameters
    ----------
    path
        GeoTIFF/COG or any raster GDAL reads (PNG, JPEG, BMP...), a Zarr store, or a ``.npy`` file.
    chunk_px
        Spatial chunk size; default ``get_option("chunk_size_px")``.
    domain
        ``intensity``, ``amplitude``, ``db`` or ``complex``, when the file does not say
        (the engine reads its own tags, ``dB`` units and SNAP band names like ``Sigma0_VV_db``).
    looks
        Number of looks, when the file does not say (default 1).
    bands
        1-based band numbers to keep (rasters only); default all.
    variable
        The variable of a Zarr store, or the dataset (path or polarisation) of an HDF5 file.
    nodata
        Nodata value overriding the file's.
    complex_pairs
        The raster's bands are (real, imaginary) pairs of complex images (e.g. Sentinel-1
        chips stored as float32 bands).
    shape, dtype, header_bytes
        For raw headerless files (``.slc``, ``.raw``...): ``"rows x columns"``, the sample type
        (``complex64``, ``>c8`` for big-endian...) and bytes to skip. Raw files with an ENVI
        ``.hdr`` or a GDAL ``.vrt`` beside them need none of these.
    swath, polarisation, burst
        Sentinel-1 SLC products (SAFE folder or .zip): which sub-swath (default the first),
        polarisation (default the first) and burst (0-based; default: all, debursted).

    Returns
    -------
    xarray.DataArray
        dims ``(band, y, x)`` for rasters; CRS, transform and GCPs as rioxarray attaches them,
        ``attrs["domain"]``, ``attrs["looks"]`` and ``attrs["source"]``.
    """
    path = Path(path).expanduser()
    chunk = int(chunk_px or get_option("chunk_size_px"))
    if chunk < 1:
        raise InputError(f"chunk size must be a positive number of pixels, got {chunk_px}")
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if is_sentinel1(path):
        scenes = sentinel1_bursts(path, swath=swath, polarisation=polarisation, bursts=None if burst is None else [burst], chunk_px=chunk)
        scene = scenes[0] if len(scenes) == 1 else with_product_gcps(path, deburst(scenes))
    elif is_zarr(path):
        scene = open_zarr_scene(path, chunk_px=chunk, variable=variable)
    elif path.suffix.lower() == ".npy":
        scene = _open_npy(path, chunk_px=chunk)
    elif path.suffix.lower() in (".h5", ".hdf5", ".he5"):
        scene = open_hdf5(path, variable=variable, chunk_px=chunk)
    elif path.is_dir():
        raise InputError(f"{path} is a folder but neither a Zarr store nor a Sentinel-1 SAFE product")
    elif shape is not None or dtype is not None:
        if shape is None or dtype is None:
            raise InputError("a raw file needs both its shape (--shape ROWSxCOLS) and its dtype (--dtype)")
        scene = open_raw(path, shape=shape, dtype=dtype, offset=header_bytes, chunk_px=chunk)
    elif path.suffix.lower() in (".slc", ".raw", ".bin", ".dat") and not _has_gdal_header(path):
        raise InputError(
            f"{path} looks like a raw file without a header (.hdr/.vrt/.xml): give its --shape ROWSxCOLS "
            "and --dtype (complex64 for most SLC files)"
        )
    else:
        scene = open_raster(path, chunk_px=chunk, bands=bands, complex_pairs=complex_pairs)
    if any(size == 0 for size in scene.shape):
        raise InputError(f"{path} is empty (shape {dict(zip(scene.dims, scene.shape, strict=True))})")
    if nodata is not None:
        scene.attrs["_FillValue"] = nodata
    band_names = scene.attrs.get("band_names") or scene.attrs.get("long_name") or ()
    declared = domain or domain_from_metadata(scene.attrs, tuple(band_names) if not isinstance(band_names, str) else (band_names,))
    if (path.suffix.lower() in _GEOSPATIAL_SUFFIXES or is_zarr(path)) and not georeference_of(scene).is_georeferenced:
        warnings.warn(
            f"{path} has no CRS, geotransform or GCPs; the output will not be georeferenced either",
            MissingGeoreferenceWarning,
            stacklevel=2,
        )
    scene = as_scene(scene, domain=declared, looks=looks if looks is not None else looks_from_metadata(scene.attrs))
    scene.attrs["source"] = str(path)
    return scene


def _has_gdal_header(path: Path) -> bool:
    return any(path.with_name(path.name + suffix).exists() or path.with_suffix(suffix).exists() for suffix in (".hdr", ".vrt"))


def describe_scene(scene: xr.DataArray) -> dict[str, Any]:
    """What the engine sees in a scene, for ``despeckle info``."""
    georef = georeference_of(scene)
    return {
        "source": scene.attrs.get("source"),
        "dims": list(scene.dims),
        "shape": list(scene.shape),
        "dtype": str(scene.dtype),
        "domain": scene.attrs.get("domain"),
        "looks": scene.attrs.get("looks"),
        "nodata": scene.attrs.get("_FillValue"),
        "crs": georef.crs.to_string() if georef.crs is not None else None,
        "transform": list(georef.transform)[:6] if georef.transform is not None else None,
        "gcps": len(georef.gcps),
        "chunks": [list(c) for c in (scene.chunks or ())][-2:],
        "band_names": list(scene.attrs.get("band_names") or ()),
    }
