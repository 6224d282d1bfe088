"""Requests that cannot end well are refused at once, in one line, with nothing written:
absurd chunk and tile sizes, a header that declares more pixels than its file holds, output
names the file system cannot take; and of two runs racing to one output, one fails."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio

import engine
from engine.exceptions import OutputExistsError
from engine.io._atomic import commit, temporary_sibling
from tests.conftest import write_geotiff


@pytest.fixture
def scene(tmp_path: Path, rng: np.random.Generator) -> Path:
    return write_geotiff(tmp_path / "in.tif", rng.gamma(1.0, 1.0, (80, 70)).astype(np.float32))


def _sparse(folder: Path) -> Path:
    path = folder / "sparse.tif"
    with rasterio.open(path, "w", driver="GTiff", width=200_000, height=200_000, count=1, dtype="float32",
                       tiled=True, blockxsize=1024, blockysize=1024, SPARSE_OK=True):
        pass  # a header, and no pixel written
    return path


def _huge_vrt(folder: Path, source: Path) -> Path:
    """A VRT declaring a 200000^2 canvas around a small source: nearly all of it nodata."""
    path = folder / "canvas.vrt"
    path.write_text(f"""<VRTDataset rasterXSize="200000" rasterYSize="200000">
  <VRTRasterBand dataType="Float32" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="0">{source}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="70" ySize="80"/>
      <DstRect xOff="0" yOff="0" xSize="70" ySize="80"/>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
""")
    return path


def test_a_vrt_over_remote_sources_is_not_judged_by_its_local_bytes(tmp_path: Path) -> None:
    """A VRT mosaic of remote COGs is legitimate however large: only local sources are counted."""
    from engine.io._geotiff import check_plausible

    vrt = _huge_vrt(tmp_path, Path("/vsicurl/https://example.invalid/cog.tif"))
    with rasterio.open(vrt) as src:
        check_plausible(vrt, src)  # no error


@pytest.mark.parametrize("command, message", [
    (["run", "{in}", "o.tif", "--method", "lee", "--chunk-size", "1"], "chunk size must be at least 16"),
    (["run", "{in}", "o.tif", "--method", "lee", "--chunk-size", "0"], "chunk size must be at least 16"),
    (["tile", "{in}", "tiles", "--size", "1"], "tile size must be at least 32"),
    (["run", "{sparse}", "o.tif", "--method", "lee"], "declares 1 x 200000 x 200000 pixels"),
    (["run", "{vrt}", "o.tif", "--method", "lee", "--domain", "intensity"], "declares 1 x 200000 x 200000 pixels"),
    (["run", "{in}", "a" * 250 + ".tif", "--method", "lee"], "choose a shorter name"),
    # A retired method named with the model options a saved command line gave it: why, not "unrecognized".
    (["run", "{in}", "o.tif", "--method", "fast-cnn", "--device", "cpu", "--overwrite"], "method 'fast-cnn' was retired"),
    (["run", "{in}", "o.tif", "--method", "lle", "--window-size-px", "5"], "unknown method 'lle'. Did you mean lee?"),
    (["stack", "{in}", "{again}", "-o", "s.tif", "--method", "ratio", "--ratio-method", "fast-cnn"], "method 'fast-cnn' was retired"),
    (["stack", "{in}", "{again}", "-o", "s.tif", "--method", "fast_cnn"], "method 'fast-cnn' was retired"),
], ids=["chunk 1", "chunk 0", "tile 1", "sparse header", "VRT canvas", "long name", "retired method", "unknown method",
        "retired ratio method", "retired stack method"])
def test_absurd_requests_are_refused_in_one_line(despeckle_cli: list[str], scene: Path, tmp_path: Path, command: list[str], message: str) -> None:
    made = {"in": scene, "sparse": _sparse(tmp_path) if "{sparse}" in command else "",
            "vrt": _huge_vrt(tmp_path, scene) if "{vrt}" in command else "",
            "again": shutil.copy(scene, tmp_path / "again.tif") if "{again}" in command else ""}
    arguments = [a.format(**made) for a in command]
    before = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run([*despeckle_cli, *arguments, "--progress", "none"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr.strip().splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_of_two_runs_finishing_on_one_output_the_second_fails_and_keeps_the_first(scene: Path, tmp_path: Path) -> None:
    target = tmp_path / "o.tif"
    first, second = temporary_sibling(target), temporary_sibling(target)
    first.write_bytes(b"first run")
    second.write_bytes(b"second run")
    commit(first, target, overwrite=False)
    with pytest.raises(OutputExistsError, match="appeared while this run was writing"):
        commit(second, target, overwrite=False)
    assert target.read_bytes() == b"first run"
    # And through the engine: the output exists by the time the second run commits.
    engine.despeckle_file(scene, tmp_path / "p.tif", "boxcar", domain="intensity", window_size_px=3)
    with pytest.raises(OutputExistsError):
        engine.despeckle_file(scene, tmp_path / "p.tif", "boxcar", domain="intensity", window_size_px=3)


def test_the_contract_lists_retired_methods_apart(despeckle_cli: list[str]) -> None:
    contract = json.loads(subprocess.run([*despeckle_cli, "methods", "--json"], capture_output=True, text=True, check=True, timeout=60).stdout)
    assert "use looks-unet" in contract["retired_methods"]["fast-cnn"]
    assert "fast-cnn" not in {m["name"] for m in contract["methods"]}


def test_unknown_method_options_name_the_options_the_method_takes(despeckle_cli: list[str], scene: Path, tmp_path: Path) -> None:
    done = subprocess.run([*despeckle_cli, "run", str(scene), "o.tif", "--method", "lee", "--windw", "3"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unrecognized arguments: --windw 3; method 'lee' takes --window-size-px, --looks" in done.stderr


def test_domain_names_are_case_blind(despeckle_cli: list[str], scene: Path, tmp_path: Path) -> None:
    done = subprocess.run([*despeckle_cli, "run", str(scene), "o.tif", "--method", "lee", "--domain", "Intensity", "--progress", "none"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_python_callers_are_read_as_they_mean(rng: np.random.Generator) -> None:
    import xarray as xr

    image = rng.gamma(1.0, 1.0, (64, 64)).astype(np.float32)
    with pytest.raises(engine.exceptions.InputError, match="looks like bands last"):
        engine.despeckle(np.stack([image] * 3, axis=-1), "lee", domain="intensity")
    assert engine.despeckle(image, "lee", domain="intensity", window_size_px=np.int64(7)).shape == (64, 64)
    ds = xr.Dataset({"vv": (("y", "x"), image), "vh": (("y", "x"), image)})
    out = ds.despeckle(method="lee", variables="vv", domain="intensity")
    assert not np.array_equal(out["vv"].values, image) and np.array_equal(out["vh"].values, image)


def test_version_answers_without_importing_the_engine() -> None:
    import sys

    done = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['despeckle', '--version']; import despeckle_launcher; "
                           "code = despeckle_launcher.main(); print('engine' in sys.modules, code)"], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["despeckle", engine.__version__, "False", "0"], done.stdout + done.stderr


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_while_starting_is_an_interruption_not_a_traceback(despeckle_cli: list[str], scene: Path, tmp_path: Path, sig: str) -> None:
    import signal
    import time

    process = subprocess.Popen([*despeckle_cli, "run", str(scene), "o.tif", "--method", "lee", "--progress", "none"], cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # The moment the launcher handles SIGTERM (its first step), the engine's imports begin (a second):
    # the signal comes while it starts.
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None and not int(re.search(r"SigCgt:\s*([0-9a-f]+)", status.read_text())[1], 16) & (1 << (signal.SIGTERM - 1)):
        time.sleep(0.005)
    process.send_signal(getattr(signal, sig))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert not (tmp_path / "o.tif").exists()


def test_progress_none_still_shows_warnings(despeckle_cli: list[str], tmp_path: Path, rng: np.random.Generator) -> None:
    write_geotiff(tmp_path / "plain.tif", rng.gamma(1.0, 1.0, (60, 60)).astype(np.float32), crs=None)
    done = subprocess.run([*despeckle_cli, "run", "plain.tif", "o.tif", "--method", "lee", "--progress", "none"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "despeckle: warning:" in done.stderr and "assuming intensity" in done.stderr


@pytest.mark.parametrize("arguments", [["run", "--bogus"], ["stack", "a.tif"], ["run", "--workers", "0"]])
def test_usage_errors_reach_json_readers_as_an_error_event(despeckle_cli: list[str], tmp_path: Path, arguments: list[str]) -> None:
    done = subprocess.run([*despeckle_cli, *arguments, "x.tif", "--progress", "json"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["event"] for e in events] == ["error"] and events[0]["message"]
