"""The QGIS plugin in a real QGIS (Debian's python3-qgis, offscreen), driven through
tests/qgis/harness.py in QGIS's own Python, and through qgis_process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

import engine
from engine.methods import retired_methods
from tests.conftest import require, write_geotiff
from tests.qgis.conftest import harness

pytestmark = [pytest.mark.qgis, pytest.mark.slow]
GEOTIFF = "sar/geotiff/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"
DB = 3  # index of "db" in the algorithms' input-domain choices


def test_provider__lists_every_engine_method_and_the_tools(qgis_python: str, qgis_env: dict) -> None:
    listed = harness(qgis_python, qgis_env, command="list")
    expected = {f"despeckle:{name.replace('-', '_')}" for name in [*engine.list_methods(), *retired_methods()]}
    assert expected | {"despeckle:speckle_statistics", "despeckle:tile_scene", "despeckle:mosaic_tiles", "despeckle:despeckle_stack", "despeckle:setup_engine"} == set(listed["algorithms"])
    # Experimental and study models apart from the recommended ones, the default named as such.
    assert "Despeckle raster (experimental and study models)" in listed["groups"]
    assert listed["names"]["despeckle:looks_unet"].endswith("(default)") and listed["groups_of"]["despeckle:mdn_cl"].startswith("Despeckle raster (experimental")
    # The model made for ultrasound and OCT in a group of its own.
    assert listed["groups_of"]["despeckle:ultrasound_unet"] == "Despeckle ultrasound and OCT images (deep models)"


def test_provider__builds_dialogs_from_the_engine_contract(qgis_python: str, qgis_env: dict, engine_executable: str, tmp_path: Path) -> None:
    """A parameter added to a method appears in QGIS without touching the plugin: an engine whose
    contract gives Lee one more (advanced) parameter and another compression gets them in the
    dialog; an engine speaking an unknown contract version is refused with a clear message."""
    fake = tmp_path / "despeckle"
    fake.write_text(
        "#!/usr/bin/python3\nimport json, subprocess, sys\n"
        f"real = {engine_executable!r}\n"
        "if sys.argv[1:3] != ['methods', '--json']:\n    sys.exit(subprocess.call([real, *sys.argv[1:]]))\n"
        "contract = json.loads(subprocess.run([real, 'methods', '--json'], capture_output=True, text=True, check=True).stdout)\n"
        "lee = next(m for m in contract['methods'] if m['name'] == 'lee')\n"
        "lee['parameters'].append({**lee['parameters'][0], 'name': 'new_knob', 'advanced': True, 'help': 'a new knob'})\n"
        "contract['compressions'].append('lerc')\n"
        "contract['contract_version'] = int(__import__('os').environ.get('FAKE_CONTRACT', contract['contract_version']))\n"
        "print(json.dumps(contract))\n"
    )
    fake.chmod(0o755)
    env = {**qgis_env, "DESPECKLE_EXECUTABLE": str(fake)}
    built = harness(qgis_python, env, command="parameters", algorithm="despeckle:lee")["parameters"]
    assert built["NEW_KNOB"]["advanced"] is True and built["WINDOW_SIZE_PX"]["advanced"] is False
    assert built["COMPRESS"]["options"][-1] == "lerc" and built["INPUT_DOMAIN"]["options"][3] == "db"
    # Choices added later come after the old ones: indices saved in models keep their meaning.
    assert built["INPUT_DOMAIN"]["options"][4:] == ["complex", "display"] and built["DYNAMIC_RANGE"]["advanced"] is True
    real = harness(qgis_python, qgis_env, command="parameters", algorithm="despeckle:lee_sigma")["parameters"]
    assert real["Z98"]["advanced"] is True
    # A method's own choices are saved by name (they are the engine's and may grow), the dialog's fixed lists by position.
    model = harness(qgis_python, qgis_env, command="parameters", algorithm="despeckle:looks_unet")["parameters"]
    assert model["PRECISION"]["by_name"] is True and model["PRECISION"]["options"][0] == "auto" and model["INPUT_DOMAIN"]["by_name"] is False
    unknown = harness(qgis_python, {**env, "FAKE_CONTRACT": "99"}, command="list")
    # Listed from the plugin's own method list, each saying why it cannot run.
    assert "despeckle:lee" in unknown["algorithms"]
    assert unknown["can_execute"]["despeckle:lee"][0] is False and "contract version 99" in unknown["can_execute"]["despeckle:lee"][1]


def test_processing_run__equals_the_command_line_and_keeps_georeferencing(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path, engine_executable: str) -> None:
    source = shared_data / GEOTIFF
    params = {"INPUT": str(source), "INPUT_DOMAIN": DB, "WINDOW_SIZE_PX": 11, "LOOKS": 4, "OUTPUT": str(tmp_path / "qgis.tif")}
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:refined_lee", parameters=params)
    assert outcome["result"]["OUTPUT"] == str(tmp_path / "qgis.tif"), outcome
    assert outcome["progress"] and outcome["progress"][-1] == 100.0
    subprocess.run([engine_executable, "run", str(source), str(tmp_path / "cli.tif"), "--method", "refined-lee", "--domain", "db",
                    "--window-size-px", "11", "--looks", "4", "--progress", "none"], check=True)
    with rasterio.open(tmp_path / "qgis.tif") as q, rasterio.open(tmp_path / "cli.tif") as c, rasterio.open(source) as s:
        assert (q.crs, q.transform, q.shape) == (s.crs, s.transform, s.shape)
        np.testing.assert_array_equal(q.read(), c.read())


def test_processing_run__a_model_runs_like_a_filter(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path, engine_executable: str) -> None:
    pytest.importorskip("torch")
    source = shared_data / GEOTIFF
    params = {"INPUT": str(source), "INPUT_DOMAIN": DB, "DEVICE": "cpu", "OUTPUT": str(tmp_path / "qgis.tif")}
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:looks_unet", parameters=params)
    assert outcome["result"]["OUTPUT"] == str(tmp_path / "qgis.tif"), outcome
    subprocess.run([engine_executable, "run", str(source), str(tmp_path / "cli.tif"), "--method", "looks-unet", "--domain", "db",
                    "--device", "cpu", "--progress", "none"], check=True)
    with rasterio.open(tmp_path / "qgis.tif") as q, rasterio.open(tmp_path / "cli.tif") as c, rasterio.open(source) as s:
        assert (q.crs, q.transform, q.shape) == (s.crs, s.transform, s.shape)
        assert q.tags()["DESPECKLE_METHOD"] == "looks-unet"
        # Not bit for bit: the CPU's convolution kernels may sum in another order in each process.
        np.testing.assert_allclose(q.read(), c.read(), rtol=1e-5)


def test_qgis_process__runs_the_algorithm(qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    binary = shutil.which("qgis_process.bin", path="/usr/bin:/usr/lib/qgis")
    require(binary is not None, "qgis_process (Debian qgis) is not installed")
    subprocess.run([binary, "plugins", "enable", "despeckle"], env=qgis_env, check=True, capture_output=True, timeout=300)
    listed = subprocess.run([binary, "list"], env=qgis_env, capture_output=True, text=True, timeout=300).stdout
    assert "despeckle:lee_sigma" in listed
    output = tmp_path / "qp.tif"
    done = subprocess.run(
        # As in the README: the domain by name.
        [binary, "run", "despeckle:lee", "--", f"INPUT={shared_data / GEOTIFF}", "INPUT_DOMAIN=db", "WINDOW_SIZE_PX=7", f"OUTPUT={output}"],
        env=qgis_env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ResourceWarning" not in done.stderr  # the plugin leaves no file open (it said so on every run)
    assert "assumes 1 look; its speckle measures about 3.5 looks" in done.stdout + done.stderr  # the GRD states no looks
    with pytest.warns(engine.exceptions.LooksAssumedWarning):
        expected = engine.despeckle(engine.open_scene(shared_data / GEOTIFF, domain="db"), "lee", window_size_px=7).values
    with rasterio.open(output) as out:
        np.testing.assert_allclose(out.read(), np.where(np.isnan(expected), out.nodata, expected), rtol=1e-6)


def test_cancel__stops_the_engine_and_leaves_no_output(qgis_python: str, qgis_env: dict, tmp_path: Path) -> None:
    scene = tmp_path / "big.tif"
    engine.write_scene(engine.synthetic.synthetic_scene((2048, 2048), seed=1, chunk_px=512), scene)
    output = tmp_path / "out.tif"
    params = {"INPUT": str(scene), "WINDOW_SIZE_PX": 11, "CHUNK_SIZE": 256, "OUTPUT": str(output)}
    outcome = harness(qgis_python, qgis_env, command="cancel", algorithm="despeckle:median", parameters=params, cancel_at=5)
    assert outcome["stopped_after_cancel"] is not None and outcome["stopped_after_cancel"] < 30
    assert any("cancelled" in text for level, text in outcome["messages"] if level == "error")
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_invalid_parameter_is_a_clear_error(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    params = {"INPUT": str(shared_data / GEOTIFF), "INPUT_DOMAIN": DB, "WINDOW_SIZE_PX": 6, "OUTPUT": str(tmp_path / "o.tif")}
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters=params)
    assert "must be an odd number of pixels" in outcome["error"]
    # A value only the engine can judge: dB data read as intensity.
    params.update(INPUT_DOMAIN=1, WINDOW_SIZE_PX=5)
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters=params)
    assert "negative intensity values" in outcome["error"] and "set 'The input holds' to db" in outcome["error"]
    assert not (tmp_path / "o.tif").exists()


def test_retired_method__a_saved_model_naming_it_is_told_what_replaces_it(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    assert "fast-cnn" in retired_methods()
    listed = harness(qgis_python, qgis_env, command="list")
    assert listed["names"]["despeckle:fast_cnn"] == "fast-cnn (retired)"
    usable, why = listed["can_execute"]["despeckle:fast_cnn"]
    assert usable is False and "fast-cnn was retired" in why and "use looks-unet" in why
    params = {"INPUT": str(shared_data / GEOTIFF), "INPUT_DOMAIN": DB, "DEVICE": "cpu", "OUTPUT": str(tmp_path / "o.tif")}
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:fast_cnn", parameters=params)
    assert "fast-cnn was retired" in outcome["error"] and "use looks-unet" in outcome["error"]
    assert not (tmp_path / "o.tif").exists()


def test_missing_engine_is_a_clear_error(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    env = {**qgis_env, "DESPECKLE_EXECUTABLE": ""}
    listed = harness(qgis_python, env, command="list")
    # Every algorithm stays listed (from the method list the plugin ships) and says what is missing.
    expected = {f"despeckle:{name.replace('-', '_')}" for name in [*engine.list_methods(), *retired_methods()]}
    assert expected | {"despeckle:speckle_statistics", "despeckle:tile_scene", "despeckle:mosaic_tiles", "despeckle:despeckle_stack", "despeckle:setup_engine"} == set(listed["algorithms"])
    outcome = harness(qgis_python, env, command="run", algorithm="despeckle:lee",
                      parameters={"INPUT": str(shared_data / GEOTIFF), "OUTPUT": str(tmp_path / "o.tif")})
    assert "despeckle engine was not found" in outcome["error"] and not (tmp_path / "o.tif").exists()
    assert listed["can_execute"]["despeckle:lee"][0] is False and "despeckle engine was not found" in listed["can_execute"]["despeckle:lee"][1]
    # Said once in the Log Messages panel, however often QGIS reloads the provider's algorithms.
    assert len([text for text in listed["log"] if "despeckle engine was not found" in text]) == 1, listed["log"]
    params = {"INPUT": str(shared_data / GEOTIFF), "SIZE": 100, "OVERLAP": 4, "OUTPUT": str(tmp_path / "tiles")}
    outcome = harness(qgis_python, env, command="run", algorithm="despeckle:tile_scene", parameters=params)
    assert "despeckle engine was not found" in outcome["error"] and "Settings > Options > Processing" in outcome["error"]
    broken = tmp_path / "despeckle"
    broken.write_text("not a program")
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:tile_scene", parameters=params, executable=str(broken))
    assert "is not an executable file" in outcome["error"]


def test_engine_on_the_path_is_found(qgis_python: str, qgis_env: dict, tmp_path: Path, engine_executable: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "despeckle").symlink_to(engine_executable)
    env = {**qgis_env, "DESPECKLE_EXECUTABLE": "", "PATH": f"/usr/bin:/bin:{bin_dir}"}
    assert "despeckle:lee" in harness(qgis_python, env, command="list")["algorithms"]


def test_tile_statistics_and_mosaic_algorithms(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / GEOTIFF
    tiled = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:tile_scene", parameters={"INPUT": str(source), "SIZE": 100, "OVERLAP": 8, "OUTPUT": str(tmp_path / "tiles")})
    assert tiled["result"]["INDEX"].endswith("index.geojson")
    temporary = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:tile_scene", parameters={"INPUT": str(source), "SIZE": 100, "OUTPUT": "TEMPORARY_OUTPUT"})
    # No folder chosen: Processing's temporary one (gone when QGIS exits, so only the run is checked).
    assert "result" in temporary, temporary.get("error")
    assert temporary["result"]["INDEX"].endswith("/OUTPUT/index.geojson")
    harness(qgis_python, qgis_env, command="run", algorithm="despeckle:mosaic_tiles", parameters={"INDEX": tiled["result"]["INDEX"], "OUTPUT": str(tmp_path / "m.tif")})
    with rasterio.open(tmp_path / "m.tif") as m, rasterio.open(source) as s:
        np.testing.assert_array_equal(m.read(), s.read())
    subprocess.run([str(Path(sys.executable).parent / "despeckle"), "run", str(source), str(tmp_path / "f.tif"), "--domain", "db", "--progress", "none"], check=True)
    stats = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:speckle_statistics", parameters={"INPUT": str(tmp_path / "f.tif"), "REFERENCE": str(source), "BAND": 1, "DOMAIN": DB})
    assert stats["result"]["RATIO_MEAN"] == pytest.approx(1.0, abs=0.1) and stats["result"]["LOOKS_ESTIMATE"] > 2


def test_dialog_renders_offscreen(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    png = tmp_path / "dialog.png"
    outcome = harness(qgis_python, qgis_env, command="dialog", algorithm="despeckle:lee_sigma", layer=str(shared_data / GEOTIFF), png=str(png))
    assert outcome["saved"] and outcome["title"].startswith("Lee sigma")
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (900, 760) and len(np.unique(np.asarray(image.convert("L")))) > 20


def test_named_domain_values_and_refused_output_formats(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    params = {"INPUT": str(shared_data / GEOTIFF), "INPUT_DOMAIN": "db", "WINDOW_SIZE_PX": 5, "OUTPUT": str(tmp_path / "o.tif")}
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters=params)
    assert "error" not in outcome, outcome
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.tags()["DESPECKLE_DOMAIN"] == "db"
    for wrong in ("o.img", "o.gpkg", "o.sdat"):
        outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters={**params, "OUTPUT": str(tmp_path / wrong)})
        assert "the engine writes GeoTIFF" in outcome["error"] and not (tmp_path / wrong).exists()
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters={**params, "INPUT_DOMAIN": "decibels"})
    assert "INPUT_DOMAIN must be one of" in outcome["error"]


def test_display_images_in_and_pictures_out(qgis_python: str, qgis_env: dict, shared_data: Path, tmp_path: Path) -> None:
    """A B-mode PNG through a filter into a PNG, as the command line does it; a SAR scene cannot
    become a picture, said by the engine before anything is written."""
    from PIL import Image

    from engine.bmode import BModeImaging

    grey = BModeImaging().simulate(np.ones((200, 200)), np.random.default_rng(0)).display
    Image.fromarray(grey.astype(np.uint8)).save(tmp_path / "bmode.png")
    params = {"INPUT": str(tmp_path / "bmode.png"), "OUTPUT": str(tmp_path / "smooth.png")}
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters=params)
    assert "error" not in outcome, outcome
    with Image.open(tmp_path / "smooth.png") as image:
        smooth = np.asarray(image, dtype=np.float64)
    assert image.mode == "L" and abs(smooth.mean() - grey.mean()) < 0.05 * grey.mean() and smooth.std() < grey.std()
    sar = {"INPUT": str(shared_data / GEOTIFF), "INPUT_DOMAIN": "db", "OUTPUT": str(tmp_path / "sar.png")}
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters=sar)
    assert "8-bit display images" in outcome["error"] and not (tmp_path / "sar.png").exists()


def test_a_model_run_cancels_within_5_s_and_its_progress_is_monotone_to_100(qgis_python: str, qgis_env: dict, tmp_path: Path) -> None:
    scene = tmp_path / "big.tif"
    engine.write_scene(engine.synthetic.synthetic_scene((3072, 3072), seed=1, chunk_px=512), scene)
    output = tmp_path / "out.tif"
    params = {"INPUT": str(scene), "OUTPUT": str(output)}
    outcome = harness(qgis_python, qgis_env, command="cancel", algorithm="despeckle:looks_unet", parameters=params, cancel_at=3)
    assert outcome["stopped_after_cancel"] is not None and outcome["stopped_after_cancel"] < 5, outcome["stopped_after_cancel"]
    assert not output.exists() and [p.name for p in tmp_path.iterdir() if "out.tif" in p.name or "partial" in p.name] == []
    small = tmp_path / "small.tif"
    engine.write_scene(engine.synthetic.synthetic_scene((600, 500), seed=2, chunk_px=256), small)
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:looks_unet", parameters={"INPUT": str(small), "OUTPUT": str(tmp_path / "s.tif")})
    assert "error" not in outcome, outcome
    assert outcome["progress"] == sorted(outcome["progress"]) and outcome["progress"][-1] == 100.0


@pytest.mark.parametrize("algorithm", ["despeckle:lee_sigma", "despeckle:despeckle_stack"])
def test_help__plain_text_in_the_dialogs_words(qgis_python: str, qgis_env: dict, algorithm: str) -> None:
    outcome = harness(qgis_python, qgis_env, command="help", algorithm=algorithm)
    assert "<" not in outcome["help"] and "&nbsp;" not in outcome["help"]  # qgis_process help prints it as it is
    # The method's settings are named as the dialog labels them (with the command line's name beside).
    shared = [label for label in outcome["labels"] if label and label in outcome["help"]]
    assert len(shared) >= 2, (outcome["labels"], outcome["help"])



def test_complex_pairs_and_cog_options(qgis_python: str, qgis_env: dict, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pairs = rng.normal(size=(2, 64, 64)).astype("float32")  # one SLC stored as (real, imaginary) bands
    source = write_geotiff(tmp_path / "slc_pairs.tif", pairs)
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee",
                      parameters={"INPUT": str(source), "COMPLEX_PAIRS": True, "COG": True, "OUTPUT": str(tmp_path / "o.tif")})
    assert "error" not in outcome, outcome
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.count == 1  # one complex image -> one intensity band
        assert out.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        expected = np.abs(pairs[0] + 1j * pairs[1]) ** 2
        assert abs(float(out.read(1).mean()) / float(expected.mean()) - 1) < 0.05


def test_engine_hints_are_said_in_the_dialogs_words(qgis_python: str, qgis_env: dict, tmp_path: Path) -> None:
    source = write_geotiff(tmp_path / "sigma0_db.tif", np.full((32, 32), -12.0, dtype="float32"))  # dB values, not said
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee", parameters={"INPUT": str(source), "OUTPUT": str(tmp_path / "o.tif")})
    assert "set 'The input holds' to db" in outcome["error"] and "--domain" not in outcome["error"]


def test_assumed_looks_are_said_with_the_scenes_measure(qgis_python: str, qgis_env: dict, tmp_path: Path) -> None:
    """A multi-look scene without looks metadata: the run goes on with 1 look (as SNAP and OTB
    assume) and the log says what its speckle measures, in the dialog's words."""
    speckle = np.random.default_rng(5).gamma(4.0, 1.0 / 4.0, (256, 256)).astype("float32")  # 4-look speckle
    source = write_geotiff(tmp_path / "grd_like.tif", speckle)
    outcome = harness(qgis_python, qgis_env, command="run", algorithm="despeckle:lee",
                      parameters={"INPUT": str(source), "INPUT_DOMAIN": "intensity", "OUTPUT": str(tmp_path / "o.tif")})
    assert "error" not in outcome, outcome
    warnings = [text for level, text in outcome["messages"] if level == "warning" and "assumes 1 look" in text]
    assert len(warnings) == 1, outcome["messages"]
    measured = float(warnings[0].split("measures about ")[1].split()[0])
    assert 3.3 < measured < 4.7
    assert "set 'Equivalent number of looks (ENL) of the input' to" in warnings[0] and "--looks" not in warnings[0]
