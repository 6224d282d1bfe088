"""The despeckle command line, run as a real process: results, JSON progress, clear errors."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

import engine
from engine.synthetic import synthetic_scene
from tests.conftest import write_geotiff


@pytest.fixture
def cli(despeckle_cli: list[str], tmp_path: Path):
    def run(*args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*despeckle_cli, *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
        if expect is not None:
            assert done.returncode == expect, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return run


@pytest.fixture(scope="module")
def scene_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scene") / "scene.tif"
    engine.write_scene(synthetic_scene((300, 280), seed=2, chunk_px=128), path)
    return path


def test_methods__json_lists_every_method_with_parameters(cli) -> None:
    contract = json.loads(cli("methods", "--json").stdout)
    assert contract["contract_version"] == 1 and contract["engine_version"] == engine.__version__
    assert contract["input_domains"] == ["complex", "intensity", "amplitude", "db", "display"] and "none" in contract["compressions"]
    described = contract["methods"]
    assert {d["name"] for d in described} == set(engine.list_methods())
    assert [d["name"] for d in described if d["default"]] == [contract["default_method"]]
    lee = next(d for d in described if d["name"] == "lee")
    assert [p["name"] for p in lee["parameters"]] == ["window_size_px", "looks"]
    assert not any(p["advanced"] for p in lee["parameters"])
    sigma = next(d for d in described if d["name"] == "lee-sigma")
    assert [p["name"] for p in sigma["parameters"] if p["advanced"]] == ["z98"] and sigma["scene_statistics"] == ["z98"]
    assert [d["name"] for d in json.loads(cli("methods", "lee", "--json").stdout)["methods"]] == ["lee"]
    assert "Refined Lee" in cli("methods", "refined-lee").stdout


def test_info__json(cli, scene_path: Path, tmp_path: Path) -> None:
    info = json.loads(cli("info", scene_path, "--json").stdout)
    assert info["shape"] == [1, 300, 280] and info["crs"] == "EPSG:32631" and info["domain"] == "intensity"
    assert info["looks_estimate"] == pytest.approx(1.0, abs=0.2)
    # Unstated looks: said to be assumed, naming every model that estimates them instead.
    unstated = write_geotiff(tmp_path / "unstated.tif", np.random.default_rng(0).exponential(1.0, (64, 64)).astype(np.float32))
    assumed = next(line for line in cli("info", unstated, "--domain", "intensity").stdout.splitlines() if line.startswith("looks "))
    assert "assumed" in assumed and "looks-unet and mdn-cl estimate the looks instead" in assumed
    assert info["despeckled"] is None  # not an output of the engine


@pytest.mark.parametrize("output", ["out.tif", "out.zarr"])
def test_info__says_how_an_output_was_made(cli, scene_path: Path, output: str) -> None:
    cli("run", scene_path, output, "--method", "lee", "--window-size-px", "5", "--progress", "none")
    made = json.loads(cli("info", output, "--json").stdout)["despeckled"]
    assert made["method"] == "lee" and made["version"] == engine.__version__
    assert made["parameters"] == {"window_size_px": 5, "looks": 1.0}
    assert (made["input_looks"], made["input_looks_source"]) == (1.0, "stated")  # the synthetic scene states its looks
    lines = cli("info", output).stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("despeckled "))
    assert lines[at].endswith(f"with lee (despeckle {engine.__version__})") and "parameters: looks 1, window_size_px 5" in lines[at + 1]
    assert lines[at + 2].strip() == "input looks: 1 (stated by the input's metadata or the caller)"


def test_info__the_input_looks_of_an_output_are_a_number_and_say_how_they_were_known(cli, tmp_path: Path) -> None:
    unstated = write_geotiff(tmp_path / "unstated.tif", np.random.default_rng(0).exponential(1.0, (96, 96)).astype(np.float32))
    cli("run", unstated, "lee.tif", "--method", "lee", "--domain", "intensity", "--progress", "none")
    assert json.loads(cli("info", "lee.tif", "--json").stdout)["despeckled"]["input_looks_source"] == "assumed"
    looks_line = next(line for line in cli("info", "lee.tif").stdout.splitlines() if line.startswith("looks "))
    assert "assumed if despeckled again" in looks_line  # an output's own looks are not its input's
    again = write_geotiff(tmp_path / "again.tif", np.random.default_rng(1).exponential(1.0, (96, 96)).astype(np.float32))
    cli("stack", unstated, again, "-o", "dates", "--method", "quegan", "--domain", "intensity", "--looks", "2", "--progress", "none")
    made = json.loads(cli("info", next((tmp_path / "dates").glob("*.tif")), "--json").stdout)["despeckled"]
    assert (made["method"], made["dates"], made["input_looks"], made["input_looks_source"]) == ("quegan", 2, 2.0, "stated")


def test_run__writes_a_georeferenced_result_equal_to_the_library(cli, scene_path: Path, tmp_path: Path) -> None:
    cli("run", scene_path, "out.tif", "--method", "lee", "--window-size-px", "5", "--looks", "1", "--chunk-size", "100")
    expected = engine.despeckle(engine.open_scene(scene_path), "lee", window_size_px=5, looks=1).values
    with rasterio.open(tmp_path / "out.tif") as out, rasterio.open(scene_path) as src:
        assert (out.crs, out.transform, out.shape) == (src.crs, src.transform, src.shape)
        np.testing.assert_array_equal(out.read(), expected)


def test_run__a_model_like_a_filter(cli, scene_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    done = cli("run", scene_path, "out.tif", "--method", "looks-unet", "--device", "cpu", "--chunk-size", "128", "--progress", "json")
    assert [json.loads(line)["event"] for line in done.stdout.splitlines()][-1] == "result"
    # The library on one chunk: the model's tiles reproduce the whole-scene result (1e-4, fp32).
    expected = engine.despeckle(engine.open_scene(scene_path, chunk_px=1024), "looks-unet", device="cpu").values
    with rasterio.open(tmp_path / "out.tif") as out, rasterio.open(scene_path) as src:
        assert (out.crs, out.transform, out.shape) == (src.crs, src.transform, src.shape)
        assert out.tags()["DESPECKLE_METHOD"] == "looks-unet"
        np.testing.assert_allclose(out.read(), expected, rtol=1e-4)


def test_run__progress_json_lines(cli, scene_path: Path) -> None:
    done = cli("run", scene_path, "out.zarr", "--method", "lee-sigma", "--progress", "json")
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "result" and "progress" in kinds
    fractions = [e["fraction"] for e in events if e["event"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert events[-1]["path"] == "out.zarr" and "z98" in events[-1]["statistics"]


def test_run__db_input_and_nodata(cli, tmp_path: Path, rng: np.random.Generator) -> None:
    data = (10 * np.log10(rng.gamma(1, 1, (80, 90)) + 0.01)).astype(np.float32)
    data[:, :10] = -99.0
    write_geotiff(tmp_path / "db.tif", data, nodata=-99.0)
    done = cli("run", "db.tif", "out.tif", expect=2)
    assert "negative intensity values" in done.stderr and "--domain db" in done.stderr
    assert not (tmp_path / "out.tif").exists()
    cli("run", "db.tif", "out.tif", "--domain", "db", "--method", "frost")
    with rasterio.open(tmp_path / "out.tif") as out:
        values = out.read(1)
    assert (values[:, :10] == -99.0).all() and (values[:, 10:] > -60).all()


@pytest.mark.parametrize("case", ["corrupt", "truncated", "unsupported_dtype", "all_nan", "exists", "no_folder", "bad_method", "bad_parameter"])
def test_run__user_errors_are_one_clear_line(cli, tmp_path: Path, scene_path: Path, rng: np.random.Generator, case: str) -> None:
    source, target, extra, match = scene_path, "out.tif", [], ""
    if case == "corrupt":
        source = tmp_path / "bad.tif"
        source.write_bytes(b"not a tiff at all" * 100)
        match = "cannot read"
    elif case == "truncated":
        source = write_geotiff(tmp_path / "t.tif", rng.random((256, 256)).astype(np.float32))
        source.write_bytes(source.read_bytes()[:100_000])
        match = "truncated"
    elif case == "unsupported_dtype":
        source = tmp_path / "b.npy"
        np.save(source, np.ones((8, 8), bool))
        match = "dtype bool"
    elif case == "all_nan":
        source = write_geotiff(tmp_path / "n.tif", np.full((40, 40), np.nan, np.float32))
        match = "no valid pixels"
    elif case == "exists":
        (tmp_path / "out.tif").write_text("previous result")
        match = "already exists"
    elif case == "no_folder":
        target = "missing/out.tif"
        match = "does not exist; create it first"
    elif case == "bad_method":
        extra, match = ["--method", "frosty"], "Did you mean frost"
    elif case == "bad_parameter":
        extra, match = ["--method", "lee", "--window-size-px", "8"], "odd integer"
    done = cli("run", source, target, "--domain", "intensity", *extra, expect=2)
    assert match in done.stderr
    assert len([line for line in done.stderr.splitlines() if "error" in line]) == 1
    if case == "exists":
        assert (tmp_path / "out.tif").read_text() == "previous result"
    else:
        assert not (tmp_path / target).exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (37, 1)])
def test_run__tiny_scenes(cli, tmp_path: Path, shape: tuple[int, int]) -> None:
    write_geotiff(tmp_path / "tiny.tif", np.full(shape, 2.0, np.float32))
    cli("run", "tiny.tif", "out.tif", "--domain", "intensity", "--method", "refined-lee")
    with rasterio.open(tmp_path / "out.tif") as out:
        np.testing.assert_allclose(out.read(1), 2.0)


def test_run__warnings_are_shown_and_the_run_goes_on(cli, tmp_path: Path, rng: np.random.Generator) -> None:
    image = rng.gamma(1, 1, (60, 60)).astype(np.float32)
    image[20:30, 20:30] = np.nan
    write_geotiff(tmp_path / "plain.tif", image, crs=None)
    done = cli("run", "plain.tif", "out.tif", "--method", "lee", "--chunk-size", "16")
    assert "no CRS" in done.stderr
    assert "assuming intensity" in done.stderr
    with rasterio.open(tmp_path / "out.tif") as out:
        values = out.read(1)
        assert out.crs is None
    assert np.isnan(values[20:30, 20:30]).all() and np.isfinite(values[:20]).all()
    # 2-pixel chunks (smaller than the halo) give the whole-image result.
    np.testing.assert_array_equal(values, engine.despeckle(image, "lee", domain="intensity").values)


def test_tile_and_mosaic_commands(cli, scene_path: Path, tmp_path: Path) -> None:
    cli("tile", scene_path, "tiles", "--size", "160", "--overlap", "3")
    index = json.loads((tmp_path / "tiles" / "index.geojson").read_text())
    (tmp_path / "done").mkdir()
    for feature in index["features"]:
        name = feature["properties"]["file"]
        cli("run", f"tiles/{name}", f"done/{name}", "--method", "lee", "--progress", "none")
    cli("mosaic", "tiles/index.geojson", "mosaic.tif", "--tiles", "done")
    cli("run", scene_path, "whole.tif", "--method", "lee")
    with rasterio.open(tmp_path / "mosaic.tif") as m, rasterio.open(tmp_path / "whole.tif") as w:
        np.testing.assert_array_equal(m.read(), w.read())


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("output", ["out.tif", "out.zarr"])
def test_run__interrupted_leaves_no_output(despeckle_cli: list[str], tmp_path: Path, sig: int, output: str) -> None:
    big = tmp_path / "big.tif"
    engine.write_scene(synthetic_scene((2048, 2048), seed=5, chunk_px=512), big)
    process = subprocess.Popen(
        [*despeckle_cli, "run", str(big), output, "--method", "median", "--workers", "1", "--chunk-size", "256", "--progress", "json"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell's background jobs inherit SIGINT ignored (and Python keeps it so): give the run
        # the default disposition a terminal's Ctrl-C meets, whatever started the test suite.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    for line in process.stdout:  # wait until blocks are being written
        event = json.loads(line)
        if event["event"] == "progress" and event["done"] > 0:
            break
    time.sleep(0.5)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not (tmp_path / output).exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("big.tif",)]
    # A Zarr run keeps its partial store so that --resume can continue it; a GeoTIFF leaves nothing.
    assert leftovers == (["out.zarr.partial"] if output.endswith(".zarr") else [])
    if output.endswith(".zarr"):
        subprocess.run([*despeckle_cli, "run", str(big), output, "--method", "median", "--chunk-size", "256", "--resume", "--progress", "none"], cwd=tmp_path, check=True, timeout=600)
        expected = engine.despeckle(engine.open_scene(big, chunk_px=256), "median").values
        np.testing.assert_array_equal(engine.open_scene(tmp_path / output).values, expected)


@pytest.mark.parametrize("args, message", [
    (["--method", "lee", "--looks", "abc"], "looks must be a number, got 'abc'"),
    (["--method", "boxcar", "--workers", "-2"], "must be at least 1, got -2"),
])
def test_run__bad_numbers_are_one_line_errors(despeckle_cli: list[str], scene_path: Path, tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run([*despeckle_cli, "run", str(scene_path), str(tmp_path / "o.tif"), *args], capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o.tif").exists()


def test_info__an_output_made_from_an_output_says_only_its_own_run(cli, scene_path: Path, tmp_path: Path) -> None:
    cli("run", scene_path, "first.tif", "--method", "lee-sigma", "--progress", "none")  # records z98 among its statistics
    cli("run", "first.tif", "second.zarr", "--method", "lee", "--progress", "none")
    made = json.loads(cli("info", "second.zarr", "--json").stdout)["despeckled"]
    assert made["method"] == "lee" and "statistics" not in made, made  # lee uses none: lee-sigma's are not lee's
    import xarray as xr

    assert not [k for k in xr.open_zarr(tmp_path / "second.zarr").attrs if k.startswith("DESPECKLE_")]


def test_info__hostile_provenance_tags_never_break_it(cli, tmp_path: Path, rng: np.random.Generator) -> None:
    path = write_geotiff(tmp_path / "odd.tif", rng.gamma(1.0, 1.0, (40, 40)).astype(np.float32))
    with rasterio.open(path, "r+") as dataset:
        dataset.update_tags(DESPECKLE_METHOD="lee\ncrs  EPSG:4326", DESPECKLE_PARAMETERS="[" * 50000 + "]" * 50000,
                            DESPECKLE_STATISTICS='{"z98": NaN, "odd": "\\ud800"}', DESPECKLE_INPUT_LOOKS="many")
    text = cli("info", path, "--domain", "intensity").stdout
    assert "with lee\\ncrs  EPSG:4326" in text and "\\ud800" in text  # one line each, escaped
    made = json.loads(cli("info", path, "--domain", "intensity", "--json").stdout, parse_constant=pytest.fail)["despeckled"]
    assert made["statistics"]["z98"] == "nan" and made["input_looks"] is None
