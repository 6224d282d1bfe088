"""`despeckle run` on complex input: every method, intensity or amplitude out, georeferencing
(GCPs included) kept, Sentinel-1 bursts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint

import engine
from engine.synthetic import synthetic_slc
from tests.slc.test_readers import S1_IW


@pytest.fixture(scope="module")
def slc_tif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CInt16 GeoTIFF with GCPs, as SLC products are delivered."""
    z = synthetic_slc((160, 140), seed=7) * 100
    path = tmp_path_factory.mktemp("slc") / "slc.tif"
    gcps = [GroundControlPoint(0, 0, 3.0, 50.0, 10), GroundControlPoint(0, 139, 3.1, 50.0, 11), GroundControlPoint(159, 0, 3.0, 49.9, 12), GroundControlPoint(159, 139, 3.1, 49.9, 13)]
    with rasterio.open(path, "w", driver="GTiff", width=140, height=160, count=1, dtype="complex_int16") as dst:
        dst.write(np.round(z).astype(np.complex64), 1)
        dst.gcps = (gcps, rasterio.crs.CRS.from_epsg(4326))
    return path


def run(cli: list[str], *args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*cli, "run", *map(str, args), "--progress", "none"], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("method", engine.list_methods(kind="filter"))
@pytest.mark.parametrize("output_domain", ["intensity", "amplitude"])
def test_run__complex_geotiff_with_every_filter(despeckle_cli: list[str], slc_tif: Path, tmp_path: Path, method: str, output_domain: str) -> None:
    run(despeckle_cli, slc_tif, "out.tif", "--method", method, "--output-domain", output_domain, cwd=tmp_path)
    with rasterio.open(tmp_path / "out.tif") as out, rasterio.open(slc_tif) as src:
        assert out.shape == src.shape and out.dtypes[0] == "float32"
        assert [(g.row, g.col, g.x, g.y, g.z) for g in out.gcps[0]] == [(g.row, g.col, g.x, g.y, g.z) for g in src.gcps[0]]
        assert out.tags()["DESPECKLE_DOMAIN"] == output_domain
        values = out.read(1)
        intensity = np.abs(src.read(1).astype(np.complex64)) ** 2
    expected = engine.despeckle(intensity, method, domain="intensity").values
    np.testing.assert_allclose(values, expected if output_domain == "intensity" else np.sqrt(expected), rtol=2e-4)


@pytest.mark.parametrize("method", engine.list_methods(kind="model"))
def test_despeckle__complex_input_with_every_model(method: str) -> None:
    pytest.importorskip("torch")
    from tests.models.conftest import method_for

    z = synthetic_slc((96, 80), seed=8)
    chosen = method_for(method)
    out = engine.despeckle(z, chosen, device="cpu")
    assert out.attrs["domain"] == "intensity" and np.isfinite(out.values).all()
    assert ("decorrelation" in out.attrs) == chosen.wants_decorrelated  # speckle2void whitens first


def test_run__decorrelate_and_multilook_flags(despeckle_cli: list[str], slc_tif: Path, tmp_path: Path) -> None:
    run(despeckle_cli, slc_tif, "ml.tif", "--multilook", "2x2", "--decorrelate", "--method", "lee", cwd=tmp_path)
    with rasterio.open(tmp_path / "ml.tif") as out:
        assert out.shape == (80, 70) and "DESPECKLE_DECORRELATION" in out.tags() and out.tags()["DESPECKLE_INPUT_LOOKS"] == "4.0"
        assert out.gcps[0][0].row == -0.25


@pytest.mark.slow
def test_run__sentinel1_burst_keeps_gcps(despeckle_cli: list[str], sentinel1_products: Path, tmp_path: Path) -> None:
    run(despeckle_cli, sentinel1_products / (S1_IW + ".SAFE"), "burst.tif", "--swath", "IW1", "--polarisation", "VV", "--burst", "2", "--method", "boxcar", "--window-size-px", "3", cwd=tmp_path)
    with rasterio.open(tmp_path / "burst.tif") as out:
        assert out.height > 1400 and len(out.gcps[0]) > 10 and out.gcps[1].to_epsg() == 4326


def test_run__bad_raw_input_is_a_clear_error(despeckle_cli: list[str], tmp_path: Path) -> None:
    (tmp_path / "x.slc").write_bytes(np.zeros(1000, np.complex64).tobytes())
    done = subprocess.run([*despeckle_cli, "run", "x.slc", "o.tif", "--shape", "40x40", "--dtype", "complex64"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2 and "needs 12800" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([*despeckle_cli, "info", str(tmp_path / "x.slc")], capture_output=True, text=True)
    assert done.returncode == 2 and "--shape ROWSxCOLS" in done.stderr
    assert json.loads(subprocess.run([*despeckle_cli, "info", "x.slc", "--shape", "25x40", "--dtype", "complex64", "--json"], cwd=tmp_path, capture_output=True, text=True).stdout)["domain"] == "complex"
