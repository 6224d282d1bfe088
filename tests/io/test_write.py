"""engine.write_scene: streamed, atomic GeoTIFF/COG/Zarr output with georeferencing intact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint

import engine
from engine.exceptions import InputError, OutputError, OutputExistsError, ParameterError
from engine.progress import Reporter
from engine.synthetic import synthetic_scene
from tests.conftest import write_geotiff


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene((300, 260), chunk_px=128, seed=1)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name or p.name.startswith("."))


def test_write_scene__geotiff_round_trip(tmp_path: Path, scene) -> None:
    out = engine.despeckle(scene, "lee")
    result = engine.write_scene(out, tmp_path / "o.tif")
    with rasterio.open(tmp_path / "o.tif") as dst:
        assert dst.crs == scene.rio.crs and dst.transform == scene.rio.transform()
        assert (dst.height, dst.width, dst.count, dst.dtypes[0]) == (300, 260, 1, "float32")
        assert dst.profile["tiled"] and dst.compression.name == "deflate"
        assert dst.tags()["DESPECKLE_METHOD"] == "lee" and dst.tags()["DESPECKLE_DOMAIN"] == "intensity"
        np.testing.assert_array_equal(dst.read(1), out.values)
    assert result.stats.valid == 300 * 260
    assert leftovers(tmp_path) == []


def test_write_scene__keeps_nodata_and_db_units(tmp_path: Path, rng: np.random.Generator) -> None:
    data = (10 * np.log10(rng.gamma(1, 1, (64, 64)))).astype(np.float32)
    data[:10] = -99.0
    source = write_geotiff(tmp_path / "db.tif", data, nodata=-99.0)
    out = engine.despeckle(engine.open_scene(source, domain="db"), "lee")
    engine.write_scene(out, tmp_path / "o.tif")
    with rasterio.open(tmp_path / "o.tif") as dst:
        assert dst.nodata == -99.0 and dst.units == ("dB",)
        values = dst.read(1)
    assert (values[:10] == -99.0).all() and (values[10:] > -60).all()


def test_write_scene__gcps_round_trip(tmp_path: Path) -> None:
    gcps = [GroundControlPoint(0, 0, 3.0, 50.0, 0), GroundControlPoint(0, 39, 3.1, 50.0, 0), GroundControlPoint(29, 0, 3.0, 49.9, 0)]
    source = write_geotiff(tmp_path / "g.tif", np.ones((30, 40), np.float32), gcps=gcps, crs="EPSG:4326")
    engine.write_scene(engine.despeckle(engine.open_scene(source, domain="intensity"), "lee"), tmp_path / "o.tif")
    with rasterio.open(tmp_path / "o.tif") as dst:
        written, crs = dst.gcps
    assert crs.to_epsg() == 4326
    assert [(g.row, g.col, g.x, g.y) for g in written] == [(g.row, g.col, g.x, g.y) for g in gcps]


def test_write_scene__cog(tmp_path: Path, scene) -> None:
    engine.write_scene(engine.despeckle(scene, "boxcar"), tmp_path / "c.tif", format="cog", tile_px=128)
    with rasterio.open(tmp_path / "c.tif") as dst:
        assert dst.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert dst.overviews(1) == [2, 4]  # until the smallest overview fits in one 128 px tile
        assert dst.crs == scene.rio.crs
    assert leftovers(tmp_path) == []


def test_write_scene__zarr_round_trip(tmp_path: Path, scene) -> None:
    out = engine.despeckle(scene, "lee-sigma")
    result = engine.write_scene(out, tmp_path / "o.zarr")
    back = engine.open_scene(tmp_path / "o.zarr")
    assert back.rio.crs == scene.rio.crs and back.rio.transform() == scene.rio.transform()
    assert back.attrs["domain"] == "intensity" and back.attrs["despeckle_method"] == "lee-sigma"
    assert json.loads(back.attrs["DESPECKLE_STATISTICS"]) == result.statistics
    np.testing.assert_array_equal(back.values, out.values)
    assert not (tmp_path / "o.zarr" / ".despeckle").exists()


class Interrupt:
    """Raise KeyboardInterrupt the first time block ``at`` is computed, as Ctrl-C would."""

    def __init__(self, at: tuple[int, int]) -> None:
        self.at, self.fired = at, False

    def __call__(self, block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if block_info and tuple(block_info[0]["chunk-location"]) == self.at and not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return block


class CountingReporter(Reporter):
    def __init__(self) -> None:
        self.totals: list[int] = []

    def start(self, phase: str, total: int) -> None:
        self.totals.append(total)


def test_write_scene__zarr_resumes_an_interrupted_run(tmp_path: Path, scene) -> None:
    out = engine.despeckle(scene, "lee")
    manifest = {"job": "resume-test"}
    interrupted = out.copy(data=out.data.map_blocks(Interrupt((2, 1)), dtype=np.float32))
    with pytest.raises(KeyboardInterrupt):
        engine.write_scene(interrupted, tmp_path / "o.zarr", run_manifest=manifest, runner=engine.scheduling.LocalRunner("sync"))
    assert not (tmp_path / "o.zarr").exists()
    assert (tmp_path / "o.zarr.partial").is_dir()
    reporter = CountingReporter()
    engine.write_scene(out, tmp_path / "o.zarr", resume=True, run_manifest=manifest, reporter=reporter)
    assert 0 < reporter.totals[-1] < out.size  # the pixels of the missing blocks only
    np.testing.assert_array_equal(engine.open_scene(tmp_path / "o.zarr").values, out.values)
    assert not (tmp_path / "o.zarr.partial").exists()
    # resumed again: the output is complete, nothing waits to be resumed, and it is said so
    with pytest.raises(engine.exceptions.OutputExistsError, match="no interrupted run of it waits to be resumed"):
        engine.write_scene(out, tmp_path / "o.zarr", resume=True, run_manifest=manifest)


def test_write_scene__resume_refuses_a_different_run(tmp_path: Path, scene) -> None:
    out = engine.despeckle(scene, "lee")
    interrupted = out.copy(data=out.data.map_blocks(Interrupt((1, 0)), dtype=np.float32))
    with pytest.raises(KeyboardInterrupt):
        engine.write_scene(interrupted, tmp_path / "o.zarr", run_manifest={"job": 1}, runner=engine.scheduling.LocalRunner("sync"))
    with pytest.raises(OutputError, match="partial output of a different run"):
        engine.write_scene(out, tmp_path / "o.zarr", resume=True, run_manifest={"job": 2})


@pytest.mark.parametrize("target", ["o.tif", "o.zarr"])
def test_write_scene__a_failure_leaves_nothing_at_the_target(tmp_path: Path, scene, target: str) -> None:
    def poison(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        return block * np.inf if block_info and tuple(block_info[0]["chunk-location"]) == (2, 1) else block

    bad = scene.copy(data=scene.data.map_blocks(poison, dtype=np.float32))
    with pytest.raises(InputError, match="infinite"):
        engine.write_scene(engine.despeckle(bad, "lee"), tmp_path / target)
    assert sorted(os.listdir(tmp_path)) == []


def test_write_scene__all_nan_scene_is_an_error_and_leaves_nothing(tmp_path: Path, scene) -> None:
    empty = scene.copy(data=da.full(scene.shape, np.nan, dtype=np.float32, chunks=128))
    with pytest.raises(InputError, match="no valid pixels"):
        engine.write_scene(engine.despeckle(empty, "lee"), tmp_path / "o.tif")
    assert os.listdir(tmp_path) == []


def test_write_scene__refuses_existing_output_unless_overwrite(tmp_path: Path, scene) -> None:
    (tmp_path / "o.tif").write_text("keep me")
    with pytest.raises(OutputExistsError, match="already exists.*--overwrite"):
        engine.write_scene(scene, tmp_path / "o.tif")
    assert (tmp_path / "o.tif").read_text() == "keep me"
    engine.write_scene(scene, tmp_path / "o.tif", overwrite=True)
    with rasterio.open(tmp_path / "o.tif") as dst:
        assert dst.shape == (300, 260)


def test_write_scene__output_folder_must_exist(tmp_path: Path, scene) -> None:
    with pytest.raises(OutputError, match="does not exist; create it first"):
        engine.write_scene(scene, tmp_path / "missing" / "o.tif")


def test_write_scene__output_cannot_be_the_input(tmp_path: Path) -> None:
    source = write_geotiff(tmp_path / "a.tif", np.ones((8, 8), np.float32))
    with pytest.raises(OutputError, match="is the input"):
        engine.write_scene(engine.open_scene(source, domain="intensity"), source, overwrite=True)


@pytest.mark.parametrize("kwargs, match", [
    ({"format": "png"}, "output format must be one of"),
    ({"compress": "jpeg"}, "compress must be one of"),
    ({"resume": True}, "only possible for Zarr"),
])
def test_write_scene__option_errors(tmp_path: Path, scene, kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        engine.write_scene(scene, tmp_path / "o.tif", **kwargs)


def test_write_scene__unknown_extension(tmp_path: Path, scene) -> None:
    with pytest.raises(ParameterError, match="cannot tell the output format"):
        engine.write_scene(scene, tmp_path / "o.gpkg")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["o.png", "o.jpg", "o.bmp"])
def test_write_scene__pictures_hold_display_images_only(tmp_path: Path, scene, name: str) -> None:
    with pytest.raises(ParameterError, match="8-bit display images.*this output holds intensity"):
        engine.write_scene(scene, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::engine.exceptions.MissingGeoreferenceWarning")
def test_write_scene__zarr_v3_input_to_zarr_output(tmp_path: Path, rng: np.random.Generator) -> None:
    import warnings

    import xarray as xr

    values = rng.gamma(1.0, 1.0, (60, 50)).astype(np.float32)
    xr.Dataset({"vv": (("y", "x"), values)}, coords={"y": np.arange(60.0), "x": np.arange(50.0)}).to_zarr(tmp_path / "in.zarr", zarr_format=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing said about our ownership marker, either
        warnings.filterwarnings("ignore", category=engine.exceptions.MissingGeoreferenceWarning)
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        engine.despeckle_file(tmp_path / "in.zarr", tmp_path / "out.zarr", "lee", domain="intensity")
    out = xr.open_zarr(tmp_path / "out.zarr")
    np.testing.assert_array_equal(out["vv"].values, engine.despeckle(xr.DataArray(values, dims=("y", "x"), attrs={"domain": "intensity"}), "lee").values)


def test_write_scene__a_second_run_on_one_zarr_output_fails_clearly_and_a_stale_lock_is_taken_over(tmp_path: Path, scene) -> None:
    import subprocess

    from engine.io._atomic import _HOST, exclusive

    out = engine.despeckle(scene, "lee")
    with exclusive(tmp_path / "o.zarr"), pytest.raises(OutputError, match="another despeckle run .* is writing"):
        engine.write_scene(out, tmp_path / "o.zarr")  # another run holds the output
    assert not (tmp_path / "o.zarr").exists() and not (tmp_path / "o.zarr.partial").exists()
    killed = subprocess.Popen(["sleep", "0"])
    killed.wait()
    (tmp_path / ".o.zarr.lock").write_text(f"{_HOST}-{killed.pid}")  # left by a killed run
    engine.write_scene(out, tmp_path / "o.zarr")
    assert (tmp_path / "o.zarr").is_dir() and not (tmp_path / ".o.zarr.lock").exists()


def test_write_scene__an_unreadable_resume_record_or_a_foreign_partial_folder_is_refused(tmp_path: Path, scene) -> None:
    out = engine.despeckle(scene, "lee")
    (tmp_path / "o.zarr.partial" / ".despeckle").mkdir(parents=True)
    (tmp_path / "o.zarr.partial" / ".despeckle" / "manifest.json").write_text("{not json")
    with pytest.raises(OutputError, match="unreadable resume record"):
        engine.write_scene(out, tmp_path / "o.zarr", resume=True, run_manifest={"job": 1})
    with pytest.raises(OutputExistsError, match="despeckle did not make it"):
        engine.write_scene(out, tmp_path / "o.zarr")
    assert (tmp_path / "o.zarr.partial" / ".despeckle" / "manifest.json").is_file()  # nothing of the user's removed
