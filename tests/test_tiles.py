"""tile -> process each tile -> mosaic equals processing the whole scene."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint

import engine
from engine.exceptions import InputError
from engine.io import INDEX_NAME, mosaic_tiles, tile_scene
from tests.conftest import write_geotiff


@pytest.fixture
def scene_path(tmp_path: Path) -> Path:
    scene = engine.synthetic.synthetic_scene((230, 190), seed=4, chunk_px=64)
    path = tmp_path / "scene.tif"
    engine.write_scene(scene, path)
    return path


def despeckle_file(source: Path, target: Path, method: str) -> None:
    engine.write_scene(engine.despeckle(engine.open_scene(source), method), target)


def process_tiles(index: Path, out_dir: Path, method: str) -> None:
    out_dir.mkdir()
    for feature in json.loads(index.read_text())["features"]:
        name = feature["properties"]["file"]
        despeckle_file(index.parent / name, out_dir / name, method)


@pytest.mark.parametrize("method", ["lee", "refined-lee", "median"])
def test_tile_process_mosaic__equals_whole_scene_processing(tmp_path: Path, scene_path: Path, method: str) -> None:
    index = tile_scene(scene_path, tmp_path / "tiles", size_px=64, overlap_px=3)
    process_tiles(index, tmp_path / "done", method)
    mosaic_tiles(index, tmp_path / "mosaic.tif", tiles_dir=tmp_path / "done")
    despeckle_file(scene_path, tmp_path / "whole.tif", method)
    with rasterio.open(tmp_path / "mosaic.tif") as m, rasterio.open(tmp_path / "whole.tif") as w:
        assert (m.crs, m.transform, m.shape) == (w.crs, w.transform, w.shape)
        np.testing.assert_array_equal(m.read(), w.read())
        assert m.tags()["DESPECKLE_METHOD"] == method


def test_tile_process_mosaic__an_overlap_below_the_halo_shows_seams(tmp_path: Path, scene_path: Path) -> None:
    index = tile_scene(scene_path, tmp_path / "tiles", size_px=64, overlap_px=1)
    process_tiles(index, tmp_path / "done", "lee")
    mosaic_tiles(index, tmp_path / "mosaic.tif", tiles_dir=tmp_path / "done")
    despeckle_file(scene_path, tmp_path / "whole.tif", "lee")
    with rasterio.open(tmp_path / "mosaic.tif") as m, rasterio.open(tmp_path / "whole.tif") as w:
        assert not np.array_equal(m.read(), w.read())


def test_tile_scene__tiles_are_georeferenced_and_indexed(tmp_path: Path, scene_path: Path) -> None:
    index_path = tile_scene(scene_path, tmp_path / "tiles", size_px=100, overlap_px=10)
    index = json.loads(index_path.read_text())
    assert len(index["features"]) == 3 * 2
    with rasterio.open(scene_path) as src:
        for feature in index["features"]:
            props = feature["properties"]
            row_off, col_off, height, width = props["window"]
            with rasterio.open(index_path.parent / props["file"]) as tile:
                assert tile.crs == src.crs
                assert tile.transform == src.transform * src.transform.translation(col_off, row_off)
                np.testing.assert_array_equal(tile.read(), src.read(window=((row_off, row_off + height), (col_off, col_off + width))))
                assert tile.tags()["DESPECKLE_DOMAIN"] == "intensity"
            r0, c0, h, w = props["core"]
            corner = src.transform * (c0, r0)
            assert feature["geometry"]["coordinates"][0][0] == pytest.approx(list(corner))
    assert index["crs"]["properties"]["name"] == "EPSG:32631"


def test_tile_and_mosaic__keep_gcps(tmp_path: Path, rng: np.random.Generator) -> None:
    gcps = [GroundControlPoint(0, 0, 3.0, 50.0, 0), GroundControlPoint(0, 79, 3.1, 50.0, 0), GroundControlPoint(59, 0, 3.0, 49.9, 0)]
    source = write_geotiff(tmp_path / "g.tif", rng.random((60, 80)).astype(np.float32), gcps=gcps, crs="EPSG:4326")
    index = tile_scene(source, tmp_path / "tiles", size_px=40, overlap_px=5, domain="intensity")
    with rasterio.open(index.parent / "tile_r0001_c0001.tif") as tile:
        shifted = tile.gcps[0][0]
    assert (shifted.row, shifted.col) == (0 - 35, 0 - 35)
    mosaic_tiles(index, tmp_path / "m.tif")
    with rasterio.open(tmp_path / "m.tif") as m, rasterio.open(source) as s:
        assert [(g.row, g.col, g.x, g.y) for g in m.gcps[0]] == [(g.row, g.col, g.x, g.y) for g in s.gcps[0]]
        np.testing.assert_array_equal(m.read(), s.read())


def test_mosaic_tiles__missing_or_wrong_tiles(tmp_path: Path, scene_path: Path) -> None:
    index = tile_scene(scene_path, tmp_path / "tiles", size_px=100, overlap_px=4)
    (index.parent / "tile_r0001_c0000.tif").unlink()
    with pytest.raises(InputError, match="1 tile\\(s\\) missing"):
        mosaic_tiles(index, tmp_path / "m.tif")
    write_geotiff(index.parent / "tile_r0001_c0000.tif", np.ones((5, 5), np.float32))
    with pytest.raises(InputError, match="is 1x5x5; expected 1x108x104"):
        mosaic_tiles(index, tmp_path / "m.tif")
    assert not (tmp_path / "m.tif").exists()
    (tmp_path / "not_index.json").write_text("{}")
    with pytest.raises(InputError, match="not a tile index"):
        mosaic_tiles(tmp_path / "not_index.json", tmp_path / "m.tif")


def test_tile_scene__refuses_an_existing_folder(tmp_path: Path, scene_path: Path) -> None:
    """An existing folder is refused; --overwrite replaces a tile set this tool made, never a
    folder it did not make."""
    (tmp_path / "tiles").mkdir()
    (tmp_path / "tiles" / "precious.txt").write_text("keep")
    with pytest.raises(engine.exceptions.OutputExistsError, match="already exists"):
        tile_scene(scene_path, tmp_path / "tiles")
    with pytest.raises(engine.exceptions.OutputExistsError, match="did not make"):
        tile_scene(scene_path, tmp_path / "tiles", overwrite=True)
    assert (tmp_path / "tiles" / "precious.txt").read_text() == "keep"
    assert tile_scene(scene_path, tmp_path / "ours", size_px=500).name == INDEX_NAME
    assert (tile_scene(scene_path, tmp_path / "ours", overwrite=True, size_px=400)).name == INDEX_NAME


# A model with a stride (lite-unet, tiles on its 8-px grid) and one without (speckle2void, overlap
# one pixel above its 31-px halo).
@pytest.mark.parametrize("method, size_px, overlap_px", [("lite-unet", 128, 64), ("speckle2void", 96, 32)])
def test_tile_process_mosaic__a_model_given_the_scene_median_equals_whole_scene_processing(
    tmp_path: Path, scene_path: Path, method: str, size_px: int, overlap_px: int
) -> None:
    pytest.importorskip("torch")
    median = float(np.nanmedian(engine.open_scene(scene_path).values))
    index = tile_scene(scene_path, tmp_path / "tiles", size_px=size_px, overlap_px=overlap_px)  # origins on the stride
    (tmp_path / "done").mkdir()
    for feature in json.loads(index.read_text())["features"]:
        name = feature["properties"]["file"]
        engine.write_scene(engine.despeckle(engine.open_scene(index.parent / name), method, scene_median=median), tmp_path / "done" / name)
    mosaic_tiles(index, tmp_path / "mosaic.tif", tiles_dir=tmp_path / "done")
    engine.write_scene(engine.despeckle(engine.open_scene(scene_path), method, scene_median=median), tmp_path / "whole.tif")
    with rasterio.open(tmp_path / "mosaic.tif") as m, rasterio.open(tmp_path / "whole.tif") as w:
        np.testing.assert_allclose(m.read(), w.read(), rtol=1e-4)


@pytest.mark.parametrize("method, size_px, overlap_px", [("looks-unet", 128, 72), ("mdn-cl", 192, 128), ("lee-sigma", 64, 8)])
def test_tile_process_mosaic__tiles_carry_the_scene_statistics_and_models_use_them(
    tmp_path: Path, scene_path: Path, method: str, size_px: int, overlap_px: int
) -> None:
    """No scene median, Z98 or looks given by hand: the tiles carry the whole scene's, and each
    tile despeckles as the whole scene does (without them a model's tiles differ by up to 0.9 dB)."""
    if engine.get_method(method).kind == "model":
        pytest.importorskip("torch")
    index = tile_scene(scene_path, tmp_path / "tiles", size_px=size_px, overlap_px=overlap_px)
    recorded = json.loads(index.read_text())["despeckle"]["scene_statistics"]
    assert {"scene_median", "z98", "looks"} <= set(recorded)
    process_tiles(index, tmp_path / "done", method)
    mosaic_tiles(index, tmp_path / "mosaic.tif", tiles_dir=tmp_path / "done")
    despeckle_file(scene_path, tmp_path / "whole.tif", method)
    with rasterio.open(tmp_path / "mosaic.tif") as m, rasterio.open(tmp_path / "whole.tif") as w:
        np.testing.assert_allclose(m.read(), w.read(), rtol=1e-4)


@pytest.mark.parametrize("tag", ['{"scene_median": -5}', '{"scene_median": 0}', '{"looks": true}', '[1, 2]', "null", '{"z98": 1e308}',
                                 "[" * 5000 + "]" * 5000, "not json"])
def test_an_edited_scene_statistics_tag_is_refused(tmp_path: Path, scene_path: Path, tag: str) -> None:
    index = tile_scene(scene_path, tmp_path / "tiles", size_px=64)
    tile = index.parent / json.loads(index.read_text())["features"][0]["properties"]["file"]
    with rasterio.open(tile, "r+") as dst:
        dst.update_tags(DESPECKLE_SCENE_STATISTICS=tag)
    with pytest.raises(InputError, match="must be a JSON object of positive numbers"):
        engine.despeckle(engine.open_scene(tile), "lee-sigma").values  # noqa: B018


def test_tile__a_scene_without_a_domain_warns_and_takes_one(tmp_path: Path, rng: np.random.Generator) -> None:
    source = write_geotiff(tmp_path / "plain.tif", rng.gamma(1.0, 1.0, (100, 90)).astype(np.float32))
    with pytest.warns(engine.exceptions.DomainAssumedWarning, match="the tiles carry no scene statistics"):
        index = tile_scene(source, tmp_path / "a", size_px=64)
    assert json.loads(index.read_text())["despeckle"]["scene_statistics"] == {}
    index = tile_scene(source, tmp_path / "b", size_px=64, domain="intensity")
    assert json.loads(index.read_text())["despeckle"]["scene_statistics"]
    with rasterio.open(index.parent / "tile_r0000_c0000.tif") as tile:
        assert tile.tags()["DESPECKLE_DOMAIN"] == "intensity"
    with pytest.raises(engine.exceptions.ParameterError, match="larger than the tile"):
        tile_scene(source, tmp_path / "c", size_px=64, overlap_px=100_000, domain="intensity")
