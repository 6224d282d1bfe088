"""The engine's wheel (what QGIS's set-up and ``pip install`` get) carries every data file the
engine and its commands read: each shipped model's weights and card, the training configs that
reproduce them, the benchmarks' committed regions; and nothing the repository does not track."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_FOLDERS = ("engine/weights/", "training/configs/", "benchmarks/data/")


def test_the_wheel_ships_exactly_the_tracked_data_files(tmp_path: Path) -> None:
    from scripts.build_plugin import engine_wheel

    with zipfile.ZipFile(engine_wheel(tmp_path)) as wheel:
        shipped = {name for name in wheel.namelist() if name.startswith(DATA_FOLDERS)}
        assert not [name for name in wheel.namelist() if "__pycache__" in name]
    tracked = subprocess.run(["git", "ls-files", *DATA_FOLDERS], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not tracked:  # an unpacked source archive, not a checkout: what is on disk is what was released
        tracked = [str(p.relative_to(ROOT)) for folder in DATA_FOLDERS for p in (ROOT / folder).iterdir() if p.is_file()]
    assert shipped == set(tracked)
    assert {Path(name).stem for name in shipped if name.endswith(".safetensors")} >= {"looks-unet", "lite-unet", "mdn-cl"}
