"""Shared fixtures: synthetic data by default, real samples from ../shared/data when present.

Tests that need OTB, QGIS or the shared data skip with a reason on a developer's machine without
them, and fail in CI (CI=true), where ``.ci/run`` installs them: there they must run.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.errors import NotGeoreferencedWarning

ROOT = Path(__file__).resolve().parents[1]
# Runs inside QGIS's own Python (tests/qgis/test_plugin.py starts it); pytest must not import it.
collect_ignore = ["qgis/harness.py"]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"
UTM31 = "EPSG:32631"


def require(condition: bool, reason: str) -> None:
    """Skip (developer machine) or fail (CI) when a real component is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED_DATA.is_dir(), f"the shared sample data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def otb() -> str:
    path = shutil.which("otbcli_Despeckle")
    require(path is not None, "otbcli_Despeckle (Debian package otb-bin) is not installed")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def sentinel1_products() -> Path:
    """Real Sentinel-1 SAFE products (real annotation XML, placeholder pixels) from the test data
    that xarray-sentinel's source distribution ships. Downloaded once from PyPI into .cache/."""
    from importlib import metadata

    version = metadata.version("xarray-sentinel")
    folder = ROOT / ".cache" / f"xarray_sentinel-{version}" / "tests" / "data"
    if not folder.is_dir():
        import subprocess
        import tarfile
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", f"xarray-sentinel=={version}", "-d", tmp],
                capture_output=True, text=True,
            )
            archives = list(Path(tmp).glob("*.tar.gz"))
            require(done.returncode == 0 and bool(archives), f"cannot download the xarray-sentinel sdist from PyPI: {done.stderr[-300:]}")
            with tarfile.open(archives[0]) as archive:
                members = [m for m in archive.getmembers() if "/tests/data/" in m.name]
                archive.extractall(ROOT / ".cache", members=members, filter="data")
    return folder


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def despeckle_cli() -> list[str]:
    """The installed console script (falls back to the module when run from a source tree)."""
    script = Path(sys.executable).parent / "despeckle"
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]


def write_geotiff(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = UTM31,
    transform: Affine | None = Affine(10.0, 0.0, 600_000.0, 0.0, -10.0, 5_000_000.0),
    nodata: float | None = None,
    gcps: list[GroundControlPoint] | None = None,
    tags: dict[str, str] | None = None,
    descriptions: tuple[str, ...] | None = None,
    tiled: bool = True,
) -> Path:
    """Write a test GeoTIFF with rasterio directly (independently of the engine's writer)."""
    array = data if data.ndim == 3 else data[np.newaxis]
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": array.shape[2],
        "height": array.shape[1],
        "count": array.shape[0],
        "dtype": array.dtype.name,
        "nodata": nodata,
    }
    if tiled and array.shape[1] >= 16 and array.shape[2] >= 16:
        profile.update(tiled=True, blockxsize=16 * max(1, min(array.shape[2], 256) // 16), blockysize=16 * max(1, min(array.shape[1], 256) // 16))
    if gcps is None and crs is not None:
        profile.update(crs=crs, transform=transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # some tests want no georeferencing
        dst = rasterio.open(path, "w", **profile)
    with dst:
        dst.write(array)
        if gcps is not None:
            dst.gcps = (gcps, rasterio.crs.CRS.from_string(crs or "EPSG:4326"))
        if tags:
            dst.update_tags(**tags)
        if descriptions:
            dst.descriptions = descriptions
    return path


@pytest.fixture
def geotiff_factory(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def make(data: np.ndarray, name: str | None = None, **kwargs: Any) -> Path:
        return write_geotiff(tmp_path / (name or f"input_{next(counter)}.tif"), data, **kwargs)

    return make


@pytest.fixture(scope="module")
def speckled() -> np.ndarray:
    """A 1-look speckled intensity image (float32) with edges and a bright target."""
    rng = np.random.default_rng(42)
    clean = np.full((96, 80), 1.0, dtype=np.float32)
    clean[:, 40:] = 8.0
    clean[20:24, 10:14] = 400.0
    return (clean * rng.gamma(1.0, 1.0, clean.shape)).astype(np.float32)
