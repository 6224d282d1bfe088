"""The README's demo runs on built-in defaults and writes what it promises."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import rasterio
from PIL import Image

import engine.pipeline


@pytest.mark.filterwarnings("ignore::engine.exceptions.MethodFallbackWarning")
def test_demo__writes_georeferenced_geotiffs_and_a_figure(despeckle_cli: list[str], tmp_path: Path) -> None:
    done = subprocess.run([*despeckle_cli, "demo", "demo", "--size", "512", "--progress", "none"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "demo"
    default = engine.pipeline.choose_method(None).name
    assert f"despeckled ({default}, the default)" in done.stdout
    for name in {default, "lee"}:  # the default model beside the classical reference
        with rasterio.open(folder / "scene.tif") as noisy, rasterio.open(folder / f"scene_{name}.tif") as clean:
            assert noisy.crs.to_epsg() == 32631 and clean.crs == noisy.crs and clean.transform == noisy.transform
            assert clean.shape == (512, 512)
            assert clean.read(1).std() < noisy.read(1).std()
    with Image.open(folder / "before_after.png") as figure:
        assert figure.size[0] > 500
