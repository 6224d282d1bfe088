"""Tile sets: cut a scene into overlapping georeferenced tiles, and mosaic processed tiles back.

Words: a *tile* is a file of a tile set (this module); a *chunk* is a dask block of a scene
(``engine.overlap``); a *window* is a model's input piece inside a chunk (``engine.models``).

``tile_scene`` writes GeoTIFF tiles whose cores partition the scene and which overlap their
neighbours by ``overlap_px``, plus ``index.geojson`` (a layer GIS tools can open: one feature per
tile core, in the scene's CRS, with the scene's size and georeferencing). ``mosaic_tiles`` keeps
each processed tile's core. With an overlap of at least a method's halo, tiling, processing
each tile and mosaicking gives exactly the result of processing the whole scene.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import dask
import numpy as np
import rasterio
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import CRSError, NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from engine._gdal import configure_gdal
from engine._options import get_option
from engine.conventions import DOMAIN_TAG, SCENE_STATISTICS_TAG
from engine.domain import check_domain
from engine.exceptions import DespeckleWarning, DisplayImageAssumedWarning, DomainAssumedWarning, InputError, ParameterError
from engine.io._atomic import check_output_path, check_space, commit, mark_as_ours, remove, temporary_sibling, writing
from engine.io._geotiff import check_complete, check_written, create_geotiff, numpy_dtype
from engine.methods import get_method, list_methods
from engine.progress import Reporter
from engine.scene import Georeference, valid_values

INDEX_NAME = "index.geojson"
#: Internal block size of tile files.
TILE_BLOCK_PX = 256
_INDEX_VERSION = 1


def _windows(height: int, width: int, size: int, overlap: int) -> Iterator[tuple[int, int, Window, Window]]:
    for row, row_off in enumerate(range(0, height, size)):
        for col, col_off in enumerate(range(0, width, size)):
            core = Window(col_off, row_off, min(size, width - col_off), min(size, height - row_off))
            top, left = max(0, row_off - overlap), max(0, col_off - overlap)
            bottom = min(height, row_off + core.height + overlap)
            right = min(width, col_off + core.width + overlap)
            yield row, col, core, Window(left, top, right - left, bottom - top)


#: The smallest tile ``tile_scene`` cuts.
MIN_TILE_PX = 32


#: Overlap of ``tile_scene`` by default: the largest halo of the recommended methods (mdn-cl's
#: 128 px is experimental; give it explicitly).
DEFAULT_OVERLAP_PX = 80


def _window_list(window: Window) -> list[int]:
    return [int(window.row_off), int(window.col_off), int(window.height), int(window.width)]


def _window_of(values: list[int]) -> Window:
    row_off, col_off, height, width = values
    return Window(col_off, row_off, width, height)


def _footprint(transform: Affine | None, window: Window) -> dict[str, Any] | None:
    if transform is None:
        return None
    c0, r0 = window.col_off, window.row_off
    c1, r1 = c0 + window.width, r0 + window.height
    ring = [transform * (c, r) for c, r in ((c0, r0), (c1, r0), (c1, r1), (c0, r1), (c0, r0))]
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def _shifted_gcps(gcps: list[GroundControlPoint], window: Window) -> list[GroundControlPoint]:
    return [
        GroundControlPoint(g.row - window.row_off, g.col - window.col_off, g.x, g.y, g.z, g.id, g.info)
        for g in gcps
    ]


def tile_scene(
    path: str | Path,
    output_dir: str | Path,
    *,
    size_px: int = 2048,
    overlap_px: int = DEFAULT_OVERLAP_PX,
    overwrite: bool = False,
    compress: str | None = None,
    reporter: Reporter | None = None,
    domain: str | None = None,
) -> Path:
    """Cut a raster into overlapping GeoTIFF tiles in ``output_dir``; return the index path.

    Each tile holds its core (``size_px`` square, smaller at the scene's right and bottom edges)
    plus up to ``overlap_px`` pixels of its neighbours on each side; it keeps the scene's CRS
    (with its own transform), GCPs (shifted), nodata, band names, units and metadata tags, and
    the statistics of the whole scene that methods would otherwise compute on each tile alone
    (scene median, Z98, looks; in the index and in every tile's ``DESPECKLE_SCENE_STATISTICS``
    tag, when the scene or ``domain`` says what its values are), so that tiles despeckle as the
    scene does. ``domain`` is also written into every tile.
    """
    if size_px < MIN_TILE_PX or overlap_px < 0:
        raise ParameterError(
            f"tile size must be at least {MIN_TILE_PX} pixels and the overlap 0 or more, got {size_px} and {overlap_px} "
            "(smaller tiles make a file per few pixels: a 16384-px scene in 1-px tiles is 268 million files)"
        )
    if overlap_px > max(size_px, DEFAULT_OVERLAP_PX):
        raise ParameterError(f"the overlap ({overlap_px} px) is larger than the tile ({size_px} px): every tile would hold its neighbours "
                             "whole. The overlap only needs to cover the method's halo ('despeckle methods')")
    source = Path(path)
    if not source.is_file():
        raise InputError(f"{source} does not exist or is not a file")
    target = check_output_path(Path(output_dir), overwrite=overwrite, inputs=(source,), folder=True)
    reporter = reporter or Reporter()
    compress = compress or get_option("compress")
    configure_gdal()
    statistics = _scene_statistics(source, domain)
    temporary = temporary_sibling(target)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(source)
    except RasterioError as error:
        raise InputError(f"cannot read {source} as a raster: {error}") from None
    try:
        check_complete(source, src)
    except BaseException:
        src.close()
        raise
    try:
        with src:
            gcps, gcp_crs = src.gcps
            georeference = Georeference.of(src.crs or gcp_crs, src.transform, gcps)
            crs, transform = georeference.crs, georeference.transform
            writing(target, temporary.mkdir)
            writing(target, partial(mark_as_ours, temporary))
            windows = list(_windows(src.height, src.width, size_px, overlap_px))
            if compress == "none":
                check_space(target, sum(int(w.height * w.width) for _, _, _, w in windows) * src.count * numpy_dtype(src.dtypes[0]).itemsize)
            tile_tags = {**src.tags(), **({SCENE_STATISTICS_TAG: json.dumps(statistics)} if statistics else {}),
                         **({DOMAIN_TAG: check_domain(domain)} if domain else {})}
            features = []
            reporter.start("tile", len(windows))
            for done, (row, col, core, window) in enumerate(windows, start=1):
                name = f"tile_r{row:04d}_c{col:04d}.tif"
                pixels = src.read(window=window)
                tile_georeference = Georeference(crs, rasterio.windows.transform(window, transform) if transform is not None else None,
                                                 tuple(_shifted_gcps(gcps, window)))
                writing(target, partial(
                    _write_tile, temporary / name, pixels, georeference=tile_georeference, nodata=src.nodata, tags=tile_tags,
                    band_names=src.descriptions, units=src.units, compress=compress,
                ))
                features.append(
                    {
                        "type": "Feature",
                        "geometry": _footprint(transform, core),
                        "properties": {
                            "file": name,
                            "row": row,
                            "col": col,
                            "core": _window_list(core),
                            "window": _window_list(window),
                        },
                    }
                )
                reporter.update(done, len(windows))
            reporter.finish()
            index = {
                "type": "FeatureCollection",
                "name": source.stem + "_tiles",
                "despeckle": {
                    "version": _INDEX_VERSION,
                    "source": str(source),
                    "width": src.width,
                    "height": src.height,
                    "count": src.count,
                    "crs_wkt": crs.to_wkt() if crs else None,
                    "transform": list(transform)[:6] if transform is not None else None,
                    "gcps": [[g.row, g.col, g.x, g.y, g.z] for g in gcps],
                    "tile_size_px": size_px,
                    "scene_statistics": statistics,
                    "overlap_px": overlap_px,
                },
                "features": features,
            }
            if crs is not None and transform is not None:
                # Pre-RFC 7946 'crs' member: GDAL and QGIS read it, so the index opens in place.
                index["crs"] = {"type": "name", "properties": {"name": crs.to_string()}}
            writing(target, partial((temporary / INDEX_NAME).write_text, json.dumps(index, indent=1)))
        writing(target, partial(commit, temporary, target, overwrite=overwrite))
    except RasterioError as error:  # the writes raise OutputError: this is the input failing
        remove(temporary)
        raise InputError(f"reading {source} failed: {error}. Is the file complete and readable?") from None
    except BaseException:
        remove(temporary)
        raise
    return target / INDEX_NAME


def _scene_statistics(source: Path, domain: str | None) -> dict[str, float]:
    """Every statistic a registered method computes over its whole input, on this scene; none,
    with a warning, when neither the scene nor ``domain`` says what its values are (intensity
    statistics of dB values would mislead every tile)."""
    from engine.io._open import open_scene

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DespeckleWarning)
        warnings.simplefilter("error", DomainAssumedWarning)
        try:
            scene = open_scene(source, domain=domain)
        except DisplayImageAssumedWarning:
            scene = None
            domain = "display"
        except DomainAssumedWarning:
            scene = None
    if domain == "display" or (scene is not None and scene.attrs["domain"] == "display"):
        raise ParameterError(f"{source.name} is a display image (B-mode, OCT grey levels): pictures are despeckled whole "
                             "(despeckle run), not tiled")
    if scene is None:
        warnings.warn(
            f"{source.name} does not say whether it holds intensity, amplitude or dB values: the tiles carry no scene "
            "statistics, so a model or Lee sigma run tile by tile will differ from the whole scene. Give the domain "
            "(--domain) to record them",
            DomainAssumedWarning,
            stacklevel=3,
        )
        return {}
    wanted: dict[str, Any] = {}
    for name in list_methods():
        for parameter in get_method(name).parameters:
            if parameter.statistic is not None:
                wanted.setdefault(parameter.name, parameter.statistic)
    values = valid_values(scene, "intensity")
    computed = dask.compute(*(statistic(values) for statistic in wanted.values()))
    return {name: float(value) for name, value in zip(wanted, computed, strict=True) if np.isfinite(value)}


def _write_tile(path: Path, pixels: np.ndarray, **profile: Any) -> None:
    create_geotiff(path, shape=pixels.shape, dtype=pixels.dtype, tile_px=TILE_BLOCK_PX, **profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "r+") as dst:
            dst.write(pixels)
    check_written(path)


def _read_index(index_path: Path) -> dict[str, Any]:
    try:
        index = json.loads(index_path.read_text())
        meta = index["despeckle"]
        if meta.get("version") != _INDEX_VERSION:
            raise KeyError("version")
        index["features"]  # noqa: B018 - presence check
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        raise InputError(f"{index_path} is not a tile index written by 'despeckle tile' ({type(error).__name__}: {error})") from None
    return index


@dataclass(frozen=True)
class _Layout:
    """A tile index, checked: the scene's size and georeferencing, each tile's file, core and window."""

    width: int
    height: int
    count: int
    crs: CRS | None
    transform: Affine | None
    gcps: tuple[GroundControlPoint, ...]
    tiles: tuple[tuple[Path, Window, Window], ...]


def _layout(index: dict[str, Any], index_path: Path, folder: Path) -> _Layout:
    """Check an index before anything is written: it is edited by hand, cut by other tools,
    or hostile. Tiles are plain file names inside ``folder``, each named once; every window lies
    in the scene and holds its core; the cores cover the scene exactly once."""
    try:
        meta = index["despeckle"]
        width, height, count = int(meta["width"]), int(meta["height"]), int(meta["count"])
        crs = CRS.from_wkt(meta["crs_wkt"]) if meta.get("crs_wkt") else None
        transform = Affine(*map(float, meta["transform"][:6])) if meta.get("transform") is not None else None
        gcps = tuple(GroundControlPoint(*map(float, g[:5])) for g in meta.get("gcps") or ())
        tiles = []
        for feature in index["features"]:
            props = feature["properties"]
            name = props["file"]
            if not isinstance(name, str) or Path(name).name != name or name in ("", ".", "..") or "\x00" in name:
                raise ValueError(f"tile file {name!r} is not a plain file name in the tile folder")
            tiles.append((folder / name, _window_of([int(v) for v in props["core"]]), _window_of([int(v) for v in props["window"]])))
    except (KeyError, IndexError, TypeError, ValueError, OverflowError, CRSError, RecursionError) as error:
        raise InputError(f"{index_path} is not a valid tile index ({type(error).__name__}: {error})") from None
    if width < 1 or height < 1 or count < 1 or not tiles:
        raise InputError(f"{index_path} describes an empty scene ({count} x {height} x {width}, {len(tiles)} tiles)")
    names = [path.name for path, _, _ in tiles]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{index_path} names tile(s) {', '.join(repeated[:3])} more than once")
    for path, core, window in tiles:
        inside_scene = (window.row_off >= 0 and window.col_off >= 0
                        and window.row_off + window.height <= height and window.col_off + window.width <= width)
        holds_core = (window.row_off <= core.row_off and window.col_off <= core.col_off and core.height > 0 and core.width > 0
                      and core.row_off + core.height <= window.row_off + window.height
                      and core.col_off + core.width <= window.col_off + window.width)
        if not (inside_scene and holds_core):
            raise InputError(f"{index_path}: tile {path.name} has core {_window_list(core)} and window {_window_list(window)} "
                             f"(row, col, height, width), not a window inside the {height} x {width} scene holding its core")
    _check_cover(index_path, [core for _, core, _ in tiles], height, width)
    return _Layout(width, height, count, crs, transform, gcps, tuple(tiles))


def _check_cover(index_path: Path, cores: list[Window], height: int, width: int) -> None:
    """The cores cover every pixel of the scene exactly once (on the grid of their edges)."""
    rows = np.unique([0, height] + [int(c.row_off) for c in cores] + [int(c.row_off + c.height) for c in cores])
    cols = np.unique([0, width] + [int(c.col_off) for c in cores] + [int(c.col_off + c.width) for c in cores])
    if (len(rows) - 1) * (len(cols) - 1) > 50_000_000:
        raise InputError(f"{index_path}: {len(cores)} tiles on a {len(rows)} x {len(cols)} grid is not a tile set this tool cuts")
    cover = np.zeros((len(rows) - 1, len(cols) - 1), dtype=np.int32)
    for core in cores:
        r0, r1 = np.searchsorted(rows, [core.row_off, core.row_off + core.height])
        c0, c1 = np.searchsorted(cols, [core.col_off, core.col_off + core.width])
        cover[r0:r1, c0:c1] += 1
    if (cover != 1).any():
        r, c = np.argwhere(cover != 1)[0]
        what = "no tile covers" if cover[r, c] == 0 else f"{cover[r, c]} tiles cover"
        raise InputError(f"{index_path}: the tiles' cores do not cover the {height} x {width} scene exactly once: "
                         f"{what} rows {rows[r]}-{rows[r + 1]}, columns {cols[c]}-{cols[c + 1]}")


def _check_tile(path: Path, src: Any, window: Window, layout: _Layout) -> None:
    if (src.height, src.width, src.count) != (window.height, window.width, layout.count):
        raise InputError(
            f"tile {path.name} is {src.count}x{src.height}x{src.width}; expected "
            f"{layout.count}x{window.height}x{window.width} as cut by 'despeckle tile'"
        )
    if layout.crs is not None and src.crs is not None and src.crs != layout.crs:
        raise InputError(f"tile {path.name} is in {src.crs.to_string()}, the scene in {layout.crs.to_string()}: "
                         "it was reprojected after tiling")
    if layout.transform is not None and src.crs is not None:
        expected = rasterio.windows.transform(window, layout.transform)
        if not src.transform.almost_equals(expected):
            raise InputError(f"tile {path.name} lies elsewhere than its window in the scene (its geotransform changed after tiling)")


def mosaic_tiles(
    index_path: str | Path,
    output: str | Path,
    *,
    tiles_dir: str | Path | None = None,
    overwrite: bool = False,
    compress: str | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """Assemble processed tiles (same file names as in the index) into one GeoTIFF.

    Each tile contributes only its core; the halo it shares with its neighbours is dropped. The
    output has the scene's size and georeferencing (from the index) and the processed tiles'
    data type, nodata, band names, units and metadata.
    """
    index_path = Path(index_path)
    if index_path.is_dir():
        index_path = index_path / INDEX_NAME
    index = _read_index(index_path)
    folder = Path(tiles_dir) if tiles_dir is not None else index_path.parent
    layout = _layout(index, index_path, folder)
    # Neither the index, nor a tile (processed, or as cut), nor a folder holding them may be replaced.
    own = (index_path, *(path for path, _, _ in layout.tiles), *(index_path.parent / path.name for path, _, _ in layout.tiles))
    target = check_output_path(Path(output), overwrite=overwrite, inputs=own)
    reporter = reporter or Reporter()
    compress = compress or get_option("compress")
    configure_gdal()
    missing = [path.name for path, _, _ in layout.tiles if not path.is_file()]
    if missing:
        raise InputError(f"{len(missing)} tile(s) missing in {folder}, for example {missing[0]}")
    temporary = temporary_sibling(target)
    try:
        dtypes, nodatas, domains, described = [], set(), set(), []
        for path, _, window in layout.tiles:  # all checked before a byte is written
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as src:
                    _check_tile(path, src, window, layout)
                    tags = src.tags()
                    dtypes.append(numpy_dtype(src.dtypes[0]))
                    nodatas.add("nan" if src.nodata is not None and np.isnan(src.nodata) else src.nodata)
                    domains.add(tags.get(DOMAIN_TAG))
                    if not described:  # the first tile's metadata become the mosaic's
                        described = [src.nodata, tags, src.descriptions, src.units]
        if len(domains - {None}) > 1:
            raise InputError(f"the tiles hold different kinds of values ({', '.join(sorted(domains - {None}))}): they were processed "
                             "differently; mosaic tiles of one run")
        # The type that holds every tile's values (8-bit tiles beside float tiles give float).
        dtype = np.result_type(*dtypes)
        if len(nodatas) > 1 and dtype.kind != "f":
            raise InputError(f"the tiles mark nodata differently ({', '.join(map(str, nodatas))}) and hold integers: convert them alike first")
        if compress == "none":
            check_space(target, layout.count * layout.height * layout.width * dtype.itemsize)
        nodata, tags, descriptions, units = described
        if len(nodatas) > 1:
            nodata = float("nan")  # each tile's own nodata becomes NaN below
        writing(target, partial(
            create_geotiff, temporary, shape=(layout.count, layout.height, layout.width), dtype=dtype,
            georeference=Georeference(layout.crs, layout.transform, layout.gcps),
            nodata=nodata, tags=tags, band_names=descriptions, units=units, tile_px=get_option("geotiff_tile_px"), compress=compress,
        ))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(temporary, "r+") as dst:
                reporter.start("mosaic", len(layout.tiles))
                for done, (path, core, window) in enumerate(layout.tiles, start=1):
                    with rasterio.open(path) as src:
                        inner = Window(core.col_off - window.col_off, core.row_off - window.row_off, core.width, core.height)
                        pixels = src.read(window=inner).astype(dtype, copy=False)
                        if len(nodatas) > 1 and src.nodata is not None and not np.isnan(src.nodata):
                            pixels[pixels == src.nodata] = np.nan
                    writing(target, partial(dst.write, pixels, window=core))
                    reporter.update(done, len(layout.tiles))
                reporter.finish()
        writing(target, partial(check_written, temporary))
        writing(target, partial(commit, temporary, target, overwrite=overwrite))
    except RasterioError as error:
        remove(temporary)
        raise InputError(f"cannot mosaic the tiles: {error}") from None
    except BaseException:
        remove(temporary)
        raise
    return target
