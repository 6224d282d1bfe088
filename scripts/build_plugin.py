"""Build the QGIS-installable plugin archive: dist/despeckle-qgis-<version>.zip holding the
plugin folder as 'despeckle/' (QGIS names a plugin after its folder).

``--refresh-contract`` first rewrites qgis_plugin/shipped_contract.json from this engine's
``despeckle methods --json``: the method list the plugin shows when QGIS cannot find an engine
(a test fails when the committed file differs from the engine's)."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(output_dir: Path = ROOT / "dist") -> Path:
    source = ROOT / "qgis_plugin"
    metadata = configparser.ConfigParser()
    metadata.read(source / "metadata.txt")
    version = metadata["general"]["version"]
    output_dir.mkdir(exist_ok=True)
    archive = output_dir / f"despeckle-qgis-{version}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                z.write(path, Path("despeckle") / path.relative_to(source))
    return archive


SHIPPED_CONTRACT = ROOT / "qgis_plugin" / "shipped_contract.json"


def shipped_contract(contract: dict) -> dict:
    """The engine's contract as the plugin ships it: what this machine happens to have installed
    (PyTorch, weights) is not part of it."""
    methods = [{k: v for k, v in m.items() if k not in ("available", "unavailable_reason")} for m in contract["methods"]]
    return {**contract, "methods": methods}


def refresh_contract() -> Path:
    done = subprocess.run([sys.executable, "-m", "engine.cli", "methods", "--json"], capture_output=True, text=True, check=True, cwd=ROOT)
    SHIPPED_CONTRACT.write_text(json.dumps(shipped_contract(json.loads(done.stdout)), indent=1, sort_keys=True) + "\n")
    return SHIPPED_CONTRACT


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--refresh-contract" in arguments:
        arguments.remove("--refresh-contract")
        print(refresh_contract())
    print(build(Path(arguments[0]) if arguments else ROOT / "dist"))
