"""Scale-out on a real dask.distributed LocalCluster of worker processes: identical output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

import engine
from engine.scheduling import open_runner
from engine.synthetic import synthetic_scene

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


@pytest.fixture(scope="module")
def scene_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dist") / "scene.tif"
    engine.write_scene(synthetic_scene((700, 650), seed=9, chunk_px=256), path)
    return path


@pytest.mark.parametrize("method", ["lee", "lee-sigma"])
@pytest.mark.parametrize("suffix", [".tif", ".zarr"])
def test_local_cluster__output_identical_to_single_process(tmp_path: Path, scene_path: Path, method: str, suffix: str) -> None:
    scene = engine.open_scene(scene_path, chunk_px=128)
    with open_runner(2) as runner:
        assert runner.description == "LocalCluster of 2 worker processes"
        engine.write_scene(engine.despeckle(scene, method), tmp_path / f"cluster{suffix}", runner=runner)
    engine.write_scene(engine.despeckle(scene, method), tmp_path / f"local{suffix}", runner=engine.scheduling.LocalRunner("sync"))
    np.testing.assert_array_equal(
        engine.open_scene(tmp_path / f"cluster{suffix}").values, engine.open_scene(tmp_path / f"local{suffix}").values
    )


def test_cli_scheduler_option(despeckle_cli: list[str], tmp_path: Path, scene_path: Path) -> None:
    subprocess.run([*despeckle_cli, "run", str(scene_path), "cluster.tif", "--scheduler", "local:2", "--chunk-size", "200", "--progress", "json"], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    subprocess.run([*despeckle_cli, "run", str(scene_path), "threads.tif", "--progress", "none"], cwd=tmp_path, check=True, timeout=300)
    with rasterio.open(tmp_path / "cluster.tif") as a, rasterio.open(tmp_path / "threads.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.crs == b.crs and a.transform == b.transform


def test_open_runner__bad_specs() -> None:
    with pytest.raises(engine.exceptions.ParameterError, match="unknown scheduler"):
        with open_runner("lots"):
            pass
    with pytest.raises(engine.exceptions.ParameterError, match="at least one worker"):
        with open_runner("local:0"):
            pass


@pytest.mark.parametrize("moment", ["while the cluster starts", "while it closes after the run"])
def test_a_signal_while_a_cluster_starts_or_closes_is_handled_cleanly(tmp_path: Path, scene_path: Path, moment: str) -> None:
    """SIGTERM landing inside LocalCluster's start-up (the cluster is real; the signal is sent as
    its worker's nanny is made, so that it lands there every time) stops the run with the one-line
    message and no traceback from distributed's exit hook; landing while the cluster closes after
    a finished run, it leaves the run successful with its output in place."""
    cls, hook = ("Nanny", "__init__") if moment == "while the cluster starts" else ("LocalCluster", "close")
    script = f"""
import os, signal, sys
import distributed
original = getattr(distributed.{cls}, {hook!r})
def signalled(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return original(self, *args, **kwargs)
setattr(distributed.{cls}, {hook!r}, signalled)
from engine.cli import main
sys.exit(main(["run", {str(scene_path)!r}, "out.tif", "--method", "lee", "--scheduler", "local:1", "--progress", "none"]))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    if cls == "Nanny":
        assert done.returncode == 130 and done.stderr.strip().startswith("despeckle: error: interrupted")
        assert not (tmp_path / "out.tif").exists()
    else:
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "out.tif").exists()
