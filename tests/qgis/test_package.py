"""The plugin archive QGIS installs (no QGIS needed)."""

from __future__ import annotations

import configparser
import importlib.util
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_build_plugin__zip_holds_the_plugin_folder(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_plugin", ROOT / "scripts" / "build_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    archive = module.build(tmp_path)
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        metadata = configparser.ConfigParser()
        metadata.read_string(z.read("despeckle/metadata.txt").decode())
    assert {"despeckle/__init__.py", "despeckle/provider.py", "despeckle/algorithms/despeckle.py", "despeckle/icon.svg"} <= names
    assert not any("__pycache__" in n for n in names)
    general = metadata["general"]
    assert general["hasProcessingProvider"] == "yes" and general["qgisMinimumVersion"] == "3.22" and general["icon"] == "icon.svg"
