"""Build the QGIS-installable plugin archive: dist/despeckle-qgis-<version>.zip holding the
plugin folder as 'despeckle/' (QGIS names a plugin after its folder)."""

from __future__ import annotations

import configparser
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


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"))
