"""Build the QGIS-installable plugin archive: dist/despeckle-qgis-<version>.zip holding the
plugin folder as 'despeckle/' (QGIS names a plugin after its folder), with the engine's wheel in
'despeckle/engine/' for the plugin's 'Set up the despeckle engine'.

``--refresh-contract`` first rewrites qgis_plugin/shipped_contract.json from this engine's
``despeckle methods --json``: the method list the plugin shows when QGIS cannot find an engine
(a test fails when the committed file differs from the engine's)."""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tracked_files() -> list[str] | None:
    """The files git tracks here (with their working-tree content), or None outside a checkout."""
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    return [name for name in done.stdout.decode().split("\0") if name] if done.returncode == 0 else None


def engine_wheel(output_dir: Path) -> Path:
    """The engine as a wheel (no dependencies bundled: pip fetches them when the plugin installs it).

    Built from a copy of the files git tracks: never weights a training run exported beside the
    shipped ones, a scratch config, or the files of an earlier build (setuptools' build/ kept a
    retired model's weights, which a wheel built in place shipped). Outside a checkout (an unpacked
    source archive), from the tree as it is."""
    with tempfile.TemporaryDirectory() as scratch:
        source = ROOT
        tracked = _tracked_files()
        if tracked is not None:
            source = Path(scratch) / "source"
            for name in tracked:
                if (ROOT / name).is_file():  # deleted but not yet committed: not shipped
                    (source / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / name, source / name)
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(output_dir),
                               str(source)], capture_output=True, text=True)
    if done.returncode != 0:  # setuptools' chatter only when it fails
        raise RuntimeError(f"building the engine wheel failed:\n{done.stderr[-3000:]}")
    (wheel,) = sorted(output_dir.glob("despeckle-*.whl"))
    return wheel


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
        with tempfile.TemporaryDirectory() as folder:
            wheel = engine_wheel(Path(folder))
            z.write(wheel, Path("despeckle") / "engine" / wheel.name)
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
    import argparse

    parser = argparse.ArgumentParser(description="Build the QGIS plugin archive (Plugins > Install from ZIP).")
    parser.add_argument("output_dir", nargs="?", type=Path, default=ROOT / "dist", help="where the ZIP goes (default: dist/)")
    parser.add_argument("--refresh-contract", action="store_true", help="first rewrite the plugin's method list from this engine")
    args = parser.parse_args()
    if args.refresh_contract:
        print(f"method list refreshed from this engine: {refresh_contract()}")
    print(f"plugin archive: {build(args.output_dir)} (QGIS: Plugins > Manage and Install Plugins > Install from ZIP)")
