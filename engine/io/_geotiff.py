"""GeoTIFF and COG (and any other raster GDAL reads): lazy opening and streamed writing."""

from __future__ import annotations

import errno
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import rioxarray
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from engine._gdal import configure_gdal
from engine.exceptions import InputError, UnsupportedDtypeError
from engine.io._atomic import CANCELLED, nearly_full, writing
from engine.io._blocks import BlockStats
from engine.io._formats import InputFormat
from engine.scene import Georeference
from engine.scheduling import named_lock
from engine.sources import FileReader, SceneSource, opened, scene_from_source

#: GDAL creation options per compression name; PREDICTOR is chosen per data type.
COMPRESSION = {
    "deflate": {"compress": "deflate", "zlevel": 6},
    "zstd": {"compress": "zstd", "zstd_level": 3},
    "lzw": {"compress": "lzw"},
    "none": {},
}


def numpy_dtype(gdal_name: str) -> np.dtype[Any]:
    """The numpy type a GDAL band type reads as (GDAL's CInt16 has none: it reads as complex64)."""
    return np.dtype("complex64" if gdal_name == "complex_int16" else gdal_name)


#: A file smaller than its pixels by more than this cannot hold them, even compressed: constant
#: images compress about 1000-fold with DEFLATE.
_MAX_COMPRESSION = 100_000


def _vrt_sources(path: Path) -> list[str]:
    """The files a VRT's bands read (``SourceFilename``), relative ones resolved."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError):
        return []
    return [os.path.join(path.parent, element.text.strip()) if element.get("relativeToVRT") == "1" else element.text.strip()
            for element in root.iter("SourceFilename") if element.text]


def _pixel_bytes(path: Path, src: rasterio.DatasetReader) -> int | None:
    """Bytes of the local files that hold a raster's pixels; None when some are not local files
    (a VRT over remote or nested sources), whose size cannot be judged."""
    if src.driver in ("GTiff", "COG"):
        return os.path.getsize(path)
    if src.driver == "VRT":
        files = _vrt_sources(path)  # the VRT's own XML holds no pixel
        if not files or any(not os.path.isfile(f) or f.lower().endswith(".vrt") for f in files):
            return None
    else:  # an ENVI file and its header, a PNG...: what GDAL lists
        files = [f for f in (src.files or []) if os.path.isfile(f)]
        if not files:
            return None
    return sum(os.path.getsize(f) for f in {os.path.realpath(f) for f in files})


def check_plausible(path: Path, src: rasterio.DatasetReader) -> None:
    """Refuse a raster whose header declares far more pixels than its files could hold (a
    corrupt or hostile header, or a VRT declaring a canvas its local sources do not fill):
    reading it would make gigabytes of zeros, slowly. A raster with sources that are not local
    files (a VRT of remote COGs) is not judged."""
    declared = src.width * src.height * src.count * numpy_dtype(src.dtypes[0]).itemsize
    size = _pixel_bytes(path, src)
    if size is not None and declared > _MAX_COMPRESSION * max(size, 1) and declared > 2**30:
        raise InputError(
            f"{path} declares {src.count} x {src.height} x {src.width} pixels ({declared / 2**30:.0f} GiB) but its files "
            f"hold {size} bytes: its header is corrupt, or its pixels were never written"
        )


def _blocks(src: rasterio.DatasetReader) -> Iterator[tuple[int, int, int, int | None, int | None]]:
    """(band, row, column, byte offset, byte length) of every block of a GeoTIFF; the offset is
    None for a block never written (GDAL 3 gives the offset of every block that was)."""
    bands = [1] if src.interleaving and src.interleaving.name == "pixel" else list(src.indexes)
    for band in bands:
        for (row, col), _ in src.block_windows(band):
            offset = src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=band)
            length = src.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=band)
            yield band, row, col, int(offset) if offset else None, int(length) if length else None


def check_complete(path: Path, src: rasterio.DatasetReader) -> None:
    """Refuse a GeoTIFF whose blocks point past the end of the file (a truncated download).

    Without this check a truncated file opens fine and fails, or silently reads zeros, deep
    inside a long run. Blocks never written are allowed in inputs (sparse files)."""
    if src.driver != "GTiff":
        return
    size = os.path.getsize(path)
    for band, row, col, offset, length in _blocks(src):
        if offset is not None and length is not None and offset + length > size:
            raise InputError(
                f"{path} is truncated: block ({row}, {col}) of band {band} ends at byte "
                f"{offset + length} but the file has only {size} bytes"
            )


@dataclass(frozen=True)
class RasterReader(FileReader):
    """Reader of a raster GDAL reads. ``pairs``: the file's band positions holding the
    real parts of (real, imaginary) band pairs, whose reader bands are then complex."""

    pairs: tuple[int, ...] | None = None

    def open(self) -> xr.DataArray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            warnings.simplefilter("ignore", DeprecationWarning)  # affine's '*' deprecation inside rioxarray
            # lock=False: every read opens its own handle, so threads read in parallel.
            lazy = rioxarray.open_rasterio(self.path, lock=False, cache=False, masked=False)
        assert isinstance(lazy, xr.DataArray)
        return lazy

    def read(self, opened: xr.DataArray, index: tuple[Any, ...]) -> np.ndarray:
        with warnings.catch_warnings():
            # rioxarray opens the file again for each read; open() has said what it had to.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return self._read(opened, index)

    def _read(self, opened: xr.DataArray, index: tuple[Any, ...]) -> np.ndarray:
        bands, rows, cols = index
        if self.pairs is None:
            return np.asarray(opened.variable[bands, rows, cols])
        real = np.asarray(self.pairs)[bands]
        pair = np.asarray(opened.variable[np.stack([real, real + 1], axis=1).ravel(), rows, cols], dtype=np.float32)
        return pair[0::2] + 1j * pair[1::2]


def _describe(path: Path) -> tuple[set[str], int, tuple[str, ...]]:
    """(band dtypes, band count, band descriptions) of a raster, refused when GDAL cannot read
    it or its blocks point past the end of the file; one open of the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # reported by open_scene
            with rasterio.open(path) as src:
                check_plausible(path, src)
                check_complete(path, src)
                return set(src.dtypes), src.count, tuple(d or "" for d in src.descriptions)
    except RasterioError as error:
        raise InputError(f"cannot read {path} as a raster: {error}. Is it a complete, valid image file?") from None


def open_raster(path: Path, *, chunk_px: int, bands: list[int] | None = None, complex_pairs: bool = False) -> xr.DataArray:
    """Open any GDAL raster lazily as a dask-backed (band, y, x) DataArray: the file is opened
    once to be checked and once (per process) by its reader, whose lazily indexed array
    also gives the coordinates and attributes."""
    dtypes, count, descriptions = _describe(path)
    if len(dtypes) > 1:
        raise UnsupportedDtypeError(f"{path} mixes band data types {sorted(dtypes)}; convert it to one type first")
    dtype = dtypes.pop()
    if complex_pairs and (count % 2 or np.dtype(dtype.replace("complex_int16", "complex64")).kind == "c"):
        raise InputError(f"{path} has {count} {dtype} bands; complex pairs need an even number of real bands (re, im, re, im...)")
    if bands is not None:
        wrong = [b for b in bands if not 1 <= b <= count]
        if wrong:
            raise InputError(f"{path} has bands 1-{count}; band(s) {wrong} do not exist")
    positions = tuple(b - 1 for b in bands) if bands is not None else tuple(range(count))
    if complex_pairs:
        if len(positions) % 2 or any(im != re + 1 for re, im in zip(positions[0::2], positions[1::2], strict=True)):
            raise InputError(
                f"--complex-pairs needs (real, imaginary) band pairs, each imaginary band right after its real band "
                f"(e.g. --band 1 --band 2 --band 5 --band 6); got bands {[p + 1 for p in positions]}"
            )
        # (re, im) band pairs become one complex band each; GDAL's CInt16 reads as complex64.
        reader = RasterReader.of(path, pairs=positions[0::2])
        template = opened(reader).isel(band=list(positions[0::2])).astype(np.complex64)
        template = template.assign_coords(band=np.arange(1, len(positions) // 2 + 1))
        template.attrs["band_names"] = tuple(descriptions[p] for p in positions[0::2])
        source = SceneSource.of(reader, template.shape, np.complex64)
        return scene_from_source(source, chunk_px, template=template)
    reader = RasterReader.of(path)
    template = opened(reader).copy(deep=False)
    if bands is not None:
        template = template.isel(band=list(positions))
    template.attrs["band_names"] = tuple(descriptions[p] for p in positions)
    source = SceneSource.of(reader, template.shape, template.dtype, bands=positions if bands is not None else None)
    return scene_from_source(source, chunk_px, template=template)


def _predictor(dtype: np.dtype[Any]) -> int:
    return 3 if dtype.kind == "f" else 2


def create_geotiff(
    path: Path,
    *,
    shape: tuple[int, int, int],
    dtype: np.dtype[Any],
    georeference: Georeference,
    nodata: float | None,
    tags: Mapping[str, str],
    band_names: tuple[str | None, ...],
    units: str | tuple[str | None, ...] | None,
    tile_px: int,
    compress: str,
) -> None:
    """Create an empty tiled GeoTIFF with all metadata (``units``: one for every band, or one
    per band); blocks are written into it afterwards. The one GeoTIFF profile of the engine:
    scenes, tile sets and COG sources are all created here."""
    configure_gdal()
    count, height, width = shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": np.dtype(dtype).name,
        "tiled": True,
        "blockxsize": tile_px,
        "blockysize": tile_px,
        "interleave": "band",
        "BIGTIFF": "IF_SAFER",
        # Blocks are written when computed: without SPARSE_OK, GDAL first fills an uncompressed
        # file with zeros (1 GiB for a 16384^2 float32 scene, a third of a second of serial I/O)
        # and a block that then fails to write would read as zeros; check_written finds it now.
        "SPARSE_OK": True,
        "nodata": nodata,
        **COMPRESSION[compress],
    }
    if compress != "none":
        profile["predictor"] = _predictor(np.dtype(dtype))
    if georeference.transform is not None:
        profile["transform"] = georeference.transform
        profile["crs"] = georeference.crs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            if georeference.gcps:
                dst.gcps = (list(georeference.gcps), georeference.crs)
            dst.update_tags(**tags)
            for band, name in enumerate(band_names[:count], start=1):
                if name:
                    dst.set_band_description(band, name)
            if units:
                dst.units = (units,) * count if isinstance(units, str) else tuple(u or "" for u in units[:count])


def write_geotiff_block(
    block: np.ndarray,
    *,
    index: tuple[int, ...],
    region: tuple[slice, ...],
    path: str,
    target: str,
    lock_name: str,
    nodata: float | None,
    dtype: str,
) -> BlockStats:
    """Write one (band, y, x) block into an existing GeoTIFF; open and close it under a lock,
    so several threads or processes never hold stale views of the file's directory."""
    stats = BlockStats.of(block)
    if lock_name in CANCELLED:
        return stats
    configure_gdal()
    data = block
    if nodata is not None and not np.isnan(nodata):
        data = np.where(np.isnan(block), nodata, block)
    data = data.astype(dtype, copy=False)
    bands, rows, cols = region
    window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
    with named_lock(lock_name):
        if lock_name in CANCELLED:
            return stats
        writing(Path(target), partial(_write_window, path, data, list(range(bands.start + 1, bands.stop + 1)), window))
    return stats


def _write_window(path: str, data: np.ndarray, indexes: list[int], window: Window) -> None:
    # NUM_THREADS: GDAL compresses the block's tiles in parallel (~13 % faster with DEFLATE).
    with warnings.catch_warnings():
        # Said once by open_scene; a cluster's workers would print it again for every block.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "r+", NUM_THREADS="ALL_CPUS") as dst:
            dst.write(data, indexes=indexes, window=window)


def check_written(path: Path) -> None:
    """Refuse to commit an output GDAL could not complete: with compression, a block that did
    not fit on the disk is dropped when the file is closed, with no error raised (libtiff prints
    one), and would read as nodata. Every block of an output the engine wrote must be there."""
    size = os.path.getsize(path)
    with rasterio.open(path) as src:
        for band, row, col, offset, length in _blocks(src):
            if offset is None or length is None or offset + length > size:
                raise OSError(errno.ENOSPC if nearly_full(path.parent) else errno.EIO,
                              f"block ({row}, {col}) of band {band} was not written")


def update_tags(path: Path, tags: Mapping[str, str]) -> None:
    def update() -> None:
        with rasterio.open(path, "r+") as dst:
            dst.update_tags(**tags)

    _as_os_error(update)


def _as_os_error(call: Any) -> None:
    """``call()``, GDAL's own failures (``CPLE_*`` errors, e.g. a directory that does not fit on the
    disk) raised as the OSError they are, which the writers report in one clear line."""
    try:
        call()
    except (OSError, RasterioError):
        raise
    except Exception as error:  # noqa: BLE001 - rasterio does not export GDAL's CPLE_* classes
        failure = OSError(errno.EIO, f"GDAL failed: {error}")
    else:
        return
    raise failure


def convert_to_cog(source: Path, target: Path, *, compress: str, tile_px: int, dtype: np.dtype[Any]) -> None:
    """Rewrite a finished tiled GeoTIFF as a Cloud-Optimized GeoTIFF (with overviews)."""
    options: dict[str, Any] = {"BLOCKSIZE": tile_px, "BIGTIFF": "IF_SAFER", "OVERVIEWS": "AUTO"}
    if compress != "none":
        options["COMPRESS"] = compress.upper()
        options["PREDICTOR"] = _predictor(np.dtype(dtype))
    _as_os_error(partial(rasterio.shutil.copy, source, target, driver="COG", **options))


#: Picture formats the engine writes display images to (8-bit grey or RGB), by suffix.
PICTURE_DRIVERS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}
#: JPEG quality of written pictures: near-lossless, a despeckled image has little to spare.
_JPEG_QUALITY = 95


def has_palette(path: Path) -> bool:
    """Whether a raster's first band holds colour-table indices (a palette PNG, GIF, BMP)."""
    from rasterio.enums import ColorInterp

    try:
        with warnings.catch_warnings(), rasterio.open(path) as src:
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return src.colorinterp[0] == ColorInterp.palette
    except (RasterioError, IndexError):
        return False


def convert_to_picture(source: Path, target: Path, *, driver: str) -> None:
    """Rewrite a finished float GeoTIFF of display grey levels as an 8-bit picture (GDAL's PNG,
    JPEG or BMP ``driver``): rounded, clipped to 0-255, no pixel (NaN) black. Nothing is written
    beside it (no .aux.xml)."""
    with warnings.catch_warnings(), rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(source) as src:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # pictures have no georeferencing
        grey = np.clip(np.rint(np.nan_to_num(src.read(), nan=0.0)), 0, 255).astype(np.uint8)
        options = {"QUALITY": _JPEG_QUALITY} if driver == "JPEG" else {}

        def write() -> None:
            with rasterio.open(target, "w", driver=driver, width=src.width, height=src.height, count=src.count,
                               dtype="uint8", **options) as dst:
                dst.write(grey)

        _as_os_error(write)


#: Suffixes of rasters that normally carry georeferencing (a PNG or JPEG need not).
GEOSPATIAL_SUFFIXES = (".tif", ".tiff", ".gtiff", ".vrt", ".img", ".jp2", ".nc")

FORMAT = InputFormat(
    "a raster GDAL reads (GeoTIFF, COG, VRT, PNG...)",
    claims=lambda path, request: path.is_file(),
    open=lambda path, r: open_raster(path, chunk_px=r.chunk_px, bands=r.bands, complex_pairs=r.complex_pairs),
    options=("bands", "complex_pairs"),
    georeferenced=lambda path: path.suffix.lower() in GEOSPATIAL_SUFFIXES,
)
