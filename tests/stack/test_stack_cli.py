"""``despeckle stack`` end to end: real GeoTIFFs in, a folder of dates (or a Zarr store) out,
georeferenced, atomic, with the errors a user meets said in one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

import engine
from engine.exceptions import OutputError
from engine.progress import Reporter
from tests.stack.conftest import ORIGIN, write_date


@pytest.fixture
def cli(despeckle_cli: list[str], tmp_path: Path):
    def run(*args: object, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*despeckle_cli, "stack", *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert done.returncode == expect, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return run


def _result(done: subprocess.CompletedProcess[str]) -> dict:
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return next(e for e in events if e["event"] == "result")


def test_stack__one_georeferenced_file_per_date_with_each_dates_nodata_and_the_extras(cli, dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(4, holes={1: (slice(0, 12), slice(None))})
    done = cli(*reversed(paths), "-o", tmp_path / "out", "--spatial", "refined-lee", "--mean", "--enl", "--progress", "json")
    result = _result(done)
    assert [Path(p).name for p in result["outputs"]] == [p.stem + "_quegan.tif" for p in paths]  # date order
    assert result["dates"][0] == "2020-01-01T06:00:00" and result["count"] == 4
    for k, (source, output) in enumerate(zip(paths, result["outputs"], strict=True)):
        with rasterio.open(source) as src, rasterio.open(output) as out:
            assert (out.crs, out.transform, out.shape, out.nodata) == (src.crs, src.transform, src.shape, src.nodata)
            values = out.read(1)
            assert ((values == -99) == (src.read(1) == -99)).all(), k  # nodata exactly where that date has none
            assert out.tags()["DESPECKLE_METHOD"] == "quegan"
    with rasterio.open(result["mean"]) as mean, rasterio.open(result["enl"]) as enl:
        assert mean.transform == ORIGIN and enl.read(1).dtype == np.float32
    manifest = json.loads((tmp_path / "out" / "stack.json").read_text())
    assert manifest["parameters"] == {"spatial": "refined-lee", "temporal_window": 0}
    assert len(manifest["inputs"]) == 4 and len(manifest["files"]) == 6


def test_stack__same_result_as_the_python_api(cli, dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(3)
    cli(*paths, "-o", tmp_path / "out", "--chunk-size", "40", "--progress", "none")
    expected = engine.despeckle_stack(engine.open_stack(paths), "quegan").values
    for k, path in enumerate(paths):
        with rasterio.open(tmp_path / "out" / f"{path.stem}_quegan.tif") as out:
            np.testing.assert_allclose(out.read(1), expected[k], rtol=1e-6)


def test_stack__zarr_output_with_time_and_spatial_options(cli, dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(3)
    cli(*paths, "-o", tmp_path / "series.zarr", "--spatial", "lee", "--spatial-option", "window_size_px=5", "--progress", "none")
    opened = xr.open_zarr(tmp_path / "series.zarr")
    (name,) = opened.data_vars
    assert opened[name].dims == ("time", "y", "x") and opened.sizes["time"] == 3
    expected = engine.despeckle_stack(engine.open_stack(paths), "quegan", spatial="lee", spatial_parameters={"window_size_px": 5})
    np.testing.assert_allclose(opened[name].values, expected.values, rtol=1e-6, equal_nan=True)


def test_stack__refusals_are_one_clear_line(cli, dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(2)
    one = cli(paths[0], "-o", tmp_path / "o", "--progress", "json", expect=2)
    assert "at least 2 dates" in one.stderr and '"event": "error"' in one.stdout
    other_grid = write_date(tmp_path / "shifted_20200301.tif", np.ones((96, 128), "float32"), transform=ORIGIN * ORIGIN.translation(3, 0))
    assert "--align" in cli(*paths, other_grid, "-o", tmp_path / "o", expect=2).stderr
    assert "zarr" in cli(*paths, "-o", tmp_path / "o.zarr", "--mean", expect=2).stderr.lower()
    assert "despeckles one image" in cli(*paths, "-o", tmp_path / "o", "--method", "lee", expect=2).stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.zarr").exists()
    cli(*paths, other_grid, "-o", tmp_path / "aligned", "--align", "--progress", "none")
    assert len(list((tmp_path / "aligned").glob("*.tif"))) == 3


def test_stack__an_empty_folder_takes_the_output_and_a_tif_name_is_refused(cli, dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(2)
    (tmp_path / "picked").mkdir()  # as a folder picker leaves it
    cli(*paths, "-o", tmp_path / "picked", "--progress", "none")
    assert len(list((tmp_path / "picked").glob("*.tif"))) == 2
    assert "folder of dates" in cli(*paths, "-o", tmp_path / "series.tif", expect=2).stderr
    assert not (tmp_path / "series.tif").exists()


def test_stack__existing_outputs_overwrite_only_what_it_wrote(cli, dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(2)
    out = tmp_path / "out"
    cli(*paths, "-o", out, "--progress", "none")
    assert "already exists" in cli(*paths, "-o", out, expect=2).stderr
    cli(*paths, "-o", out, "--method", "ratio", "--ratio-method", "lee", "--super-image-method", "lee", "--overwrite", "--progress", "none")
    assert sorted(p.name for p in out.glob("*.tif")) == sorted(p.stem + "_ratio.tif" for p in paths)  # replaced, not mixed
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert "did not make" in cli(*paths, "-o", mine, "--overwrite", expect=2).stderr
    assert (mine / "notes.txt").read_text() == "keep me"
    assert "holding the input" in cli(*paths, "-o", paths[0].parent, "--overwrite", expect=2).stderr


def test_stack__a_failed_write_leaves_nothing(dates_on_disk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = dates_on_disk(3)
    from engine.io import _geotiff

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_geotiff, "_write_window", fail)  # the disk fills while blocks are written
    with pytest.raises(OutputError, match="disk is full"):
        engine.run.despeckle_stack_files(paths, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    (tmp_path / "out").mkdir()  # an empty folder given as the output stays as it was
    with pytest.raises(OutputError, match="disk is full"):
        engine.run.despeckle_stack_files(paths, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_stack__an_interrupted_zarr_output_resumes(dates_on_disk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = dates_on_disk(3)
    target = tmp_path / "s.zarr"
    from engine.io import _zarr

    real, written = _zarr.write_zarr_block, []

    def interrupted(*args, **kwargs):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_zarr, "write_zarr_block", interrupted)
    with pytest.raises(KeyboardInterrupt):
        engine.run.despeckle_stack_files(paths, target, chunk_px=32, scheduler="sync")
    assert not target.exists() and (tmp_path / "s.zarr.partial").is_dir()
    monkeypatch.setattr(_zarr, "write_zarr_block", real)

    class Totals(Reporter):
        totals: list[int] = []

        def start(self, phase: str, total: int) -> None:
            self.totals.append(total)

    engine.run.despeckle_stack_files(paths, target, chunk_px=32, resume=True, reporter=Totals())
    assert 0 < Totals.totals[-1] < 3 * 96 * 128  # only the blocks that were missing
    expected = engine.despeckle_stack(engine.open_stack(paths, chunk_px=32), "quegan").values
    np.testing.assert_allclose(engine.open_stack(target).values, expected, rtol=1e-6)


def test_stack__interrupted_while_the_zarr_metadata_are_written__the_next_run_goes_on(
    dates_on_disk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = dates_on_disk(2)
    target = tmp_path / "s.zarr"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(xr.Dataset, "to_zarr", interrupted)
        with pytest.raises(KeyboardInterrupt):
            engine.run.despeckle_stack_files(paths, target)
    result = engine.run.despeckle_stack_files(paths, target, resume=True)  # not "despeckle did not make it"
    assert result.folder == target and not (tmp_path / "s.zarr.partial").exists()


def test_stack__a_hundred_small_dates(dates_on_disk, tmp_path: Path) -> None:
    clean = np.full((256, 256), 0.2)
    clean[100:150, 60:200] = 1.0
    paths = dates_on_disk(100, clean=clean)
    result = engine.run.despeckle_stack_files(paths, tmp_path / "out", chunk_px=128)
    assert len(result.outputs) == 100 and len(set(result.outputs)) == 100
    with rasterio.open(result.outputs[50]) as out:
        flat = out.read(1)[10:90, 10:240]
    assert flat.std() / flat.mean() < 0.2  # ~1-look speckle (CV 1) averaged over 100 dates


def test_stack__on_a_local_cluster(dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(3)
    result = engine.run.despeckle_stack_files(paths, tmp_path / "out", scheduler="local:2", chunk_px=48)
    expected = engine.despeckle_stack(engine.open_stack(paths), "quegan").values
    with rasterio.open(result.outputs[2]) as out:
        np.testing.assert_allclose(out.read(1), expected[2], rtol=1e-6)


def test_stack__outputs_never_replace_what_the_tool_did_not_make(cli, dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(2)
    (tmp_path / "notes.txt").write_text("mine")
    assert "never replaces a file" in cli(*paths, "-o", tmp_path / "notes.txt", "--overwrite", expect=2).stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
    store = tmp_path / "series.zarr"
    cli(*paths, "-o", store, "--progress", "none")
    assert "is the input" in cli(store, "-o", store, "--overwrite", expect=2).stderr
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    cli(*paths, "-o", tmp_path / "dangling", "--overwrite", "--progress", "none")
    assert (tmp_path / "dangling").is_dir() and not (tmp_path / "dangling").is_symlink()


def test_commit__a_foreign_folder_that_appears_during_the_run_is_kept(tmp_path: Path) -> None:
    from engine.io._atomic import commit, mark_as_ours

    built = tmp_path / ".out.partial"
    built.mkdir()
    mark_as_ours(built)
    target = tmp_path / "out"
    target.mkdir()
    (target / "thesis.tex").write_text("keep")  # made by someone while the run was writing
    with pytest.raises(OutputError, match="did not make"):
        commit(built, target, overwrite=True)
    assert (target / "thesis.tex").read_text() == "keep"


def test_stack__dates_and_values_errors_name_the_file(dates_on_disk, tmp_path: Path) -> None:
    paths = dates_on_disk(3)
    undated = paths[1].with_name("scene_without_date.tif")
    paths[1].rename(undated)
    with pytest.raises(engine.exceptions.InputError, match="no date found in the name of scene_without_date.tif"):
        engine.open_stack([paths[0], undated, paths[2]])
    bad = paths[2]
    with rasterio.open(bad, "r+") as dst:
        values = dst.read(1)
        values[5, 5] = np.inf
        dst.write(values, 1)
    with pytest.raises(engine.exceptions.InputError, match=f"infinite values.*of {bad.name}"):
        engine.despeckle_stack(engine.open_stack([paths[0], bad]), "quegan").compute()


def test_stack__a_changed_input_is_not_resumed_into_an_old_partial_output(dates_on_disk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = dates_on_disk(2)
    target = tmp_path / "s.zarr"
    from engine.io import _zarr

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(_zarr, "write_zarr_block", interrupted)
        with pytest.raises(KeyboardInterrupt):
            engine.run.despeckle_stack_files(paths, target, chunk_px=32, scheduler="sync")
    with rasterio.open(paths[0], "r+") as dst:
        dst.write(dst.read(1) * 10, 1)
    with pytest.raises(OutputError, match="different run"):
        engine.run.despeckle_stack_files(paths, target, chunk_px=32, resume=True)


def test_align__a_date_that_does_not_overlap_is_refused(tmp_path: Path) -> None:
    near = write_date(tmp_path / "near_20200101.tif", np.ones((16, 16), "float32"))
    far = write_date(tmp_path / "far_20200113.tif", np.ones((16, 16), "float32"), transform=ORIGIN * ORIGIN.translation(5000, 0))
    with pytest.raises(engine.exceptions.InputError, match="does not overlap"):
        engine.open_stack([near, far], align=True)

