"""mosaic never trusts its index: every edit of a tile index that would read files from elsewhere,
leave holes, overlap, write an absurd size, mix CRSs, truncate types or replace its own input
is a clear error before anything is written (library and command line, no traceback)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

import engine
from engine.exceptions import DespeckleError
from engine.io import INDEX_NAME, mosaic_tiles, tile_scene


@pytest.fixture
def tiles(tmp_path: Path) -> Path:
    scene = engine.synthetic.synthetic_scene((130, 110), seed=4, chunk_px=64)
    engine.write_scene(scene, tmp_path / "scene.tif")
    tile_scene(tmp_path / "scene.tif", tmp_path / "tiles", size_px=50, overlap_px=8)
    return tmp_path / "tiles"


def _edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        index = json.loads((folder / INDEX_NAME).read_text())
        change(index)
        (folder / INDEX_NAME).write_text(json.dumps(index))
    return edit


def _props(i: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda index: index["features"][i]["properties"].update(values)


def _reproject_tile(folder: Path) -> None:
    with rasterio.open(folder / "tile_r0000_c0000.tif", "r+") as dst:
        dst.crs = "EPSG:4326"


def _shift_tile(folder: Path) -> None:
    with rasterio.open(folder / "tile_r0000_c0001.tif", "r+") as dst:
        dst.transform = dst.transform * rasterio.Affine.translation(3, 0)


EDITS = {
    "absolute path": (_edit(_props(0, file="/etc/hostname")), "not a plain file name"),
    "parent folder": (_edit(_props(0, file="../scene.tif")), "not a plain file name"),
    "absurd size": (_edit(lambda i: i["despeckle"].update(width=2_000_000, height=2_000_000)), "do not cover"),
    "dropped tile": (_edit(lambda i: i["features"].pop(3)), "no tile covers"),
    "duplicated tile": (_edit(lambda i: i["features"].append(i["features"][0])), "more than once"),
    "core outside": (_edit(_props(1, core=[0, 0, 500, 500])), "not a window inside"),
    "core overlaps": (_edit(_props(1, file="tile_r0000_c0001.tif", core=[0, 40, 42, 20])), "cover|not a window"),
    "not a list": (_edit(lambda i: i.update(features={"a": 1})), "not a valid tile index"),
    "short core": (_edit(_props(0, core=[0, 0])), "not a valid tile index"),
    "garbage crs": (_edit(lambda i: i["despeckle"].update(crs_wkt="not a crs")), "not a valid tile index"),
    "deep nesting": (lambda f: (f / INDEX_NAME).write_text("[" * 100_000 + "]" * 100_000), "not a tile index"),
    "reprojected tile": (_reproject_tile, "reprojected after tiling"),
    "shifted tile": (_shift_tile, "geotransform changed"),
}


@pytest.mark.parametrize("name", EDITS)
def test_an_edited_index_is_refused_before_anything_is_written(tiles: Path, name: str) -> None:
    edit, match = EDITS[name]
    edit(tiles)
    with pytest.raises(DespeckleError, match=match):
        mosaic_tiles(tiles / INDEX_NAME, tiles.parent / "mosaic.tif")
    assert not (tiles.parent / "mosaic.tif").exists()
    assert not [p for p in tiles.parent.iterdir() if p.name.startswith(".")]


def test_the_command_line_refuses_them_in_one_line(tiles: Path, despeckle_cli: list[str]) -> None:
    for name in ("parent folder", "dropped tile", "deep nesting", "reprojected tile"):
        EDITS[name][0](tiles)
        done = subprocess.run([*despeckle_cli, "mosaic", str(tiles / INDEX_NAME), str(tiles.parent / "m.tif")], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.startswith("despeckle: error:"), (name, done.stderr)


def test_the_mosaic_may_not_replace_its_tiles_or_their_folder(tiles: Path) -> None:
    processed = tiles.parent / "processed"
    processed.mkdir()
    for tile in tiles.glob("tile_*.tif"):
        (processed / tile.name).write_bytes(tile.read_bytes())
    for output in (tiles / "tile_r0000_c0000.tif", processed / "tile_r0000_c0001.tif", tiles / INDEX_NAME):
        with pytest.raises(DespeckleError, match="is the input"):
            mosaic_tiles(tiles / INDEX_NAME, output, tiles_dir=processed, overwrite=True)
    for folder in (tiles, processed):  # a tile folder replaced by the mosaic, tiles and all
        with pytest.raises(DespeckleError, match="is a folder holding the input"):
            mosaic_tiles(tiles / INDEX_NAME, folder, tiles_dir=processed, overwrite=True)
    assert (tiles / "tile_r0000_c0000.tif").is_file() and (processed / "tile_r0000_c0001.tif").is_file()


def test_tile_may_not_replace_the_folder_holding_its_input(tmp_path: Path) -> None:
    scene = engine.synthetic.synthetic_scene((130, 110), seed=4, chunk_px=64)
    (tmp_path / "t").mkdir()
    engine.write_scene(scene, tmp_path / "t" / "scene.tif")
    tile_scene(tmp_path / "t" / "scene.tif", tmp_path / "tiles", size_px=64)
    (tmp_path / "tiles" / "scene.tif").write_bytes((tmp_path / "t" / "scene.tif").read_bytes())
    with pytest.raises(DespeckleError, match="is a folder holding the input"):
        tile_scene(tmp_path / "tiles" / "scene.tif", tmp_path / "tiles", size_px=64, overwrite=True)
    assert (tmp_path / "tiles" / "scene.tif").is_file()


def test_tiles_of_different_types_mosaic_in_a_type_that_holds_them_all(tiles: Path) -> None:
    first = tiles / "tile_r0000_c0000.tif"
    with rasterio.open(first) as src:
        profile, data = src.profile, src.read()
    profile.update(dtype="uint8", nodata=None)
    first.unlink()
    with rasterio.open(first, "w", **profile) as dst:  # an 8-bit tile first, float tiles after
        dst.write(np.clip(data, 0, 255).astype(np.uint8))
    mosaic_tiles(tiles / INDEX_NAME, tiles.parent / "mosaic.tif")
    core = json.loads((tiles / INDEX_NAME).read_text())["features"][0]["properties"]["core"]
    with rasterio.open(tiles.parent / "mosaic.tif") as m, rasterio.open(tiles.parent / "scene.tif") as scene:
        mosaic, expected = m.read(1), scene.read(1)
        assert m.dtypes[0] == "float32"  # not truncated to the first tile's uint8
    rows, cols = slice(core[0], core[0] + core[2]), slice(core[1], core[1] + core[3])
    expected[rows, cols] = np.clip(expected[rows, cols], 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(mosaic, expected)


def test_tiles_processed_differently_or_marking_nodata_differently(tiles: Path) -> None:
    first = tiles / "tile_r0000_c0000.tif"
    with rasterio.open(first, "r+") as dst:
        dst.update_tags(DESPECKLE_DOMAIN="db")
    with rasterio.open(tiles / "tile_r0000_c0001.tif", "r+") as dst:
        dst.update_tags(DESPECKLE_DOMAIN="intensity")
    with pytest.raises(DespeckleError, match="hold different kinds of values"):
        mosaic_tiles(tiles / INDEX_NAME, tiles.parent / "m.tif")
    with rasterio.open(first, "r+") as dst:
        dst.update_tags(DESPECKLE_DOMAIN="intensity")
        values = dst.read()
        dst.nodata = float(values[0, 0, 0])  # a valid-looking value marked nodata in this tile only
    mosaic_tiles(tiles / INDEX_NAME, tiles.parent / "m.tif")
    with rasterio.open(tiles.parent / "m.tif") as m:
        mosaic = m.read(1)
        assert np.isnan(m.nodata) and np.isnan(mosaic[0, 0]) and np.isfinite(mosaic[-1, -1])
