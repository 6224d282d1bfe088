"""What the QGIS tests share: QGIS's own Python, the engine of this environment, a clean QGIS
environment with the plugin installed, and tests/qgis/harness.py to drive QGIS with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require

HARNESS = Path(__file__).with_name("harness.py")


@pytest.fixture(scope="session")
def qgis_python() -> str:
    done = subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    require(done.returncode == 0, "QGIS's Python bindings (Debian python3-qgis) are not installed")
    return "/usr/bin/python3"


@pytest.fixture(scope="session")
def engine_executable() -> str:
    script = Path(sys.executable).parent / "despeckle"
    require(script.exists(), "the despeckle console script is not installed in this environment")
    return str(script)


@pytest.fixture
def qgis_env(tmp_path: Path, engine_executable: str) -> dict[str, str]:
    """A clean environment: no virtual environment on the PATH (QGIS would load the wrong Python
    library), an isolated QGIS profile, the plugin installed as 'despeckle'."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "despeckle").symlink_to(ROOT / "qgis_plugin")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    return {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime),
        "QGIS_PLUGINPATH": str(plugins), "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "profile"), "DESPECKLE_EXECUTABLE": engine_executable,
    }


def harness(python: str, env: dict[str, str], **request: object) -> dict:
    """One request to harness.py in QGIS's own Python (its docstring lists the commands): the outcome."""
    done = subprocess.run([python, str(HARNESS), json.dumps(request)], capture_output=True, text=True, env=env, timeout=600)
    assert done.stdout.strip(), done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
