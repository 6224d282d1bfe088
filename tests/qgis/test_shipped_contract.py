"""The method list the QGIS plugin ships (shown while QGIS cannot find an engine) is this engine's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from build_plugin import SHIPPED_CONTRACT, shipped_contract  # noqa: E402


def test_the_shipped_method_list_is_the_engines() -> None:
    done = subprocess.run([sys.executable, "-m", "engine.cli", "methods", "--json"], capture_output=True, text=True, check=True, timeout=120)
    current = shipped_contract(json.loads(done.stdout))
    assert json.loads(SHIPPED_CONTRACT.read_text()) == json.loads(json.dumps(current)), (
        "qgis_plugin/shipped_contract.json is stale: run `make plugin` (or scripts/build_plugin.py --refresh-contract)"
    )
