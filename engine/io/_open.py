"""``open_scene``: any supported file to a lazy, georeferenced DataArray with a known domain."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from engine._options import get_option
from engine.exceptions import (
    DisplayImageAssumedWarning,
    DomainAssumedWarning,
    InputError,
    MissingGeoreferenceWarning,
    ParameterError,
)
from engine.io import _geotiff, _hdf5, _npy, _raw, _sentinel1, _ultrasound_rf, _zarr
from engine.io._formats import OPTION_FLAGS, InputFormat, OpenRequest
from engine.io._geotiff import PICTURE_DRIVERS
from engine.io._metadata import domain_from_metadata, dynamic_range_from_metadata, looks_from_metadata, provenance_from_metadata
from engine.scene import as_scene, georeference_of

#: Below this, a scene's chunks cost more to schedule than to compute.
MIN_CHUNK_PX = 16

#: The input formats, in the order they are tried: the first that claims a path reads it.
INPUT_FORMATS: tuple[InputFormat, ...] = (
    _sentinel1.FORMAT,
    _zarr.FORMAT,
    _npy.FORMAT,
    _ultrasound_rf.FORMAT,
    _hdf5.FORMAT,
    _raw.FORMAT,
    _geotiff.FORMAT,  # last: GDAL reads almost anything else
)


def format_of(path: Path, request: OpenRequest) -> InputFormat:
    """The format that reads ``path``; the options ``request`` gives that it cannot use are
    refused with a clear message, never ignored."""
    found = next((f for f in INPUT_FORMATS if f.claims(path, request)), None)
    if found is None:
        if path.is_dir():
            raise InputError(f"{path} is a folder but neither a Zarr store nor a Sentinel-1 SAFE product")
        raise InputError(f"{path} is not a file, a Zarr store or a Sentinel-1 product")
    for name in request.given():
        if name not in found.options:
            users = " or ".join(f.description for f in INPUT_FORMATS if name in f.options)
            raise ParameterError(f"{OPTION_FLAGS[name]} does not apply to {path.name} ({found.description}); it is for {users}")
    return found


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
        GeoTIFF/COG or any raster GDAL reads (PNG, JPEG, BMP...), a Zarr store, a Sentinel-1 SLC
        product, an HDF5 file (NISAR/UAVSAR, ultrasound channel RF), a raw file or a ``.npy``
        array (see :data:`INPUT_FORMATS`). Options a format cannot use are refused.
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
    chunk = int(chunk_px if chunk_px is not None else get_option("chunk_size_px"))
    if chunk < MIN_CHUNK_PX:
        raise InputError(
            f"chunk size must be at least {MIN_CHUNK_PX} pixels, got {chunk_px}: smaller chunks cost more in scheduling "
            "than in computing (millions of tasks for one scene); the default is 1024"
        )
    if not path.exists():
        raise InputError(f"{path} does not exist")
    request = OpenRequest(chunk, bands=bands, variable=variable, complex_pairs=complex_pairs, shape=shape, dtype=dtype,
                          header_bytes=header_bytes, swath=swath, polarisation=polarisation, burst=burst)
    found = format_of(path, request)
    scene = found.open(path, request)
    if any(size == 0 for size in scene.shape):
        raise InputError(f"{path} is empty (shape {dict(zip(scene.dims, scene.shape, strict=True))})")
    if nodata is not None:
        scene.attrs["_FillValue"] = nodata
    band_names = scene.attrs.get("band_names") or scene.attrs.get("long_name") or ()
    declared = domain or domain_from_metadata(scene.attrs, tuple(band_names) if not isinstance(band_names, str) else (band_names,))
    georeferenced = georeference_of(scene).is_georeferenced
    if path.suffix.lower() in PICTURE_DRIVERS and _geotiff.has_palette(path) and not complex_pairs:
        raise InputError(
            f"{path.name} is an indexed-colour (palette) picture: its values are colour numbers, not grey levels or intensities. "
            "Save it as a greyscale picture first (e.g. with PIL: Image.open(path).convert('L').save(...))"
        )
    if declared is None and path.suffix.lower() in PICTURE_DRIVERS and scene.dtype == np.uint8 and not georeferenced:
        # An 8-bit picture without a map is what scanners export: a display image.
        warnings.warn(
            f"{path.name}: an 8-bit picture, read as a display image (log-compressed grey levels: B-mode ultrasound, OCT). "
            "If it holds SAR amplitude (a quick-look), pass domain='amplitude' (--domain amplitude)",
            DisplayImageAssumedWarning,
            stacklevel=2,
        )
        declared = "display"
    if declared == "display" and bands is None and scene.ndim == 3 and scene.shape[0] in (2, 3, 4):
        scene = _grey_of_picture(scene, path)
    if found.georeferenced(path) and not georeferenced:
        warnings.warn(
            f"{path} has no CRS, geotransform or GCPs; the output will not be georeferenced either",
            MissingGeoreferenceWarning,
            stacklevel=2,
        )
    scene = as_scene(scene, domain=declared, looks=looks if looks is not None else looks_from_metadata(scene.attrs))
    scene.attrs["source"] = str(path)
    stated_range = dynamic_range_from_metadata(scene.attrs)
    if stated_range is not None and scene.attrs["domain"] == "display":
        scene.attrs["dynamic_range_db"] = stated_range
    return scene


def _grey_of_picture(scene: xr.DataArray, path: Path) -> xr.DataArray:
    """A display image saved as grey + alpha, RGB or RGBA: the grey band when the colour channels
    agree (a grey screenshot), without its alpha; otherwise the colour channels, said."""
    count = scene.shape[0]
    colours = 1 if count == 2 else 3
    values = np.asarray(scene.isel({scene.dims[0]: slice(0, colours)}).values).astype(np.int16)  # a picture: small
    # JPEG's colour compression leaves a few levels between the channels of a grey picture.
    if colours == 1 or all(np.mean(np.abs(values[0] - values[i]) > 4) < 1e-3 for i in range(1, colours)):
        grey = scene.isel({scene.dims[0]: [0]})
        if isinstance(grey.attrs.get("band_names"), (list, tuple)):
            grey.attrs["band_names"] = list(grey.attrs["band_names"])[:1]
        return grey
    warnings.warn(
        f"{path.name}: a colour picture (its channels differ: coloured annotations or Doppler?); each colour channel is "
        "despeckled on its own" + (" and the alpha channel is left out" if count == 4 else "")
        + ". For the grey image alone choose a channel (--band 1)",
        DomainAssumedWarning,
        stacklevel=3,
    )
    return scene.isel({scene.dims[0]: slice(0, 3)})


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
        # How the engine made this file (None: not one of its outputs).
        "despeckled": provenance_from_metadata(scene.attrs),
    }
