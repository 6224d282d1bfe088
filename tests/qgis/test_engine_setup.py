"""The plugin sets up its own engine from QGIS alone (real QGIS, offscreen): a virtual environment
from the engine's wheel, used by the provider afterwards; a cancelled set-up leaves nothing, and a
folder the plugin did not make is never replaced. Filters only (no PyTorch), to keep CI time sane."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_geotiff
from tests.qgis.conftest import harness

pytestmark = [pytest.mark.qgis, pytest.mark.slow]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scripts.build_plugin import engine_wheel

    return engine_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def without_engine(qgis_env: dict[str, str]) -> dict[str, str]:
    """QGIS with no engine anywhere; the machine's pip settings (index, caches) kept for pip."""
    env = {k: v for k, v in qgis_env.items() if k != "DESPECKLE_EXECUTABLE"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return env


def test_set_up_the_engine__then_the_provider_runs_it(qgis_python: str, without_engine: dict[str, str], wheel: Path, tmp_path: Path) -> None:
    listed = harness(qgis_python, without_engine, command="list")
    assert "despeckle:setup_engine" in listed["algorithms"]
    assert "Set up the despeckle engine" in listed["can_execute"]["despeckle:lee"][1]  # the way out is named
    folder = tmp_path / "profile-engine"
    done = harness(qgis_python, without_engine, command="run", algorithm="despeckle:setup_engine",
                   parameters={"FOLDER": str(folder), "WHEEL": str(wheel), "MODELS": False})
    assert "error" not in done, done
    executable = Path(done["result"]["EXECUTABLE"])
    assert executable.parent.parent == folder and (folder / ".despeckle-engine").is_file()
    assert subprocess.run([executable, "--version"], capture_output=True, text=True, check=True).stdout.startswith("despeckle ")
    assert done["progress"] == sorted(done["progress"]) and done["progress"][-1] == 100
    # The provider found it on its own (the setting it saved): a filter runs through it.
    scene = tmp_path / "scene.tif"
    write_geotiff(scene, np.random.default_rng(0).gamma(1.0, 1.0, (48, 48)).astype("float32"))
    ran = harness(qgis_python, without_engine, command="run", algorithm="despeckle:lee",
                  parameters={"INPUT": str(scene), "INPUT_DOMAIN": "intensity", "OUTPUT": str(tmp_path / "lee.tif")})
    assert "error" not in ran, ran
    assert (tmp_path / "lee.tif").is_file()


def test_set_up__never_replaces_a_folder_it_did_not_make(qgis_python: str, without_engine: dict[str, str], wheel: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-folder"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep")
    done = harness(qgis_python, without_engine, command="run", algorithm="despeckle:setup_engine",
                   parameters={"FOLDER": str(mine), "WHEEL": str(wheel)})
    assert "not made by this plugin" in done["error"]
    assert (mine / "thesis.tex").read_text() == "keep"


def test_set_up__cancelled_leaves_nothing(qgis_python: str, without_engine: dict[str, str], wheel: Path, tmp_path: Path) -> None:
    folder = tmp_path / "engine"
    done = harness(qgis_python, without_engine, command="cancel", algorithm="despeckle:setup_engine", cancel_at=12,
                   parameters={"FOLDER": str(folder), "WHEEL": str(wheel)})
    assert done["stopped_after_cancel"] is not None and done["stopped_after_cancel"] < 30
    assert not folder.exists() and list(tmp_path.glob(".engine*")) == []
