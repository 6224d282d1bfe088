"""Agreement with the reference implementation: OTB's otbcli_Despeckle on real SAR images.

Lee, Kuan, Gamma-MAP and Frost use the same formulas as OTB (unbiased window variance, OTB's
'deramp' = our 'damping'). Away from the scene border they must agree to float32 rounding; within
the halo of the border they differ on purpose: OTB repeats edge pixels (zero-flux Neumann), the
engine uses only pixels inside the scene.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio

import engine
from tests.conftest import write_geotiff

pytestmark = [pytest.mark.otb, pytest.mark.shared_data]

# (engine name, OTB name, OTB parameter, engine parameter)
CASES = [
    ("lee", "lee", "nblooks", "looks"),
    ("kuan", "kuan", "nblooks", "looks"),
    ("gamma-map", "gammamap", "nblooks", "looks"),
    ("frost", "frost", "deramp", "damping"),
]
#: float32 output: relative differences up to a few ulps where summation orders differ.
RELATIVE_TOLERANCE = 1e-5


def _real_images(shared: Path) -> dict[str, np.ndarray]:
    reim = np.load(shared / "sar/slc/tsx_crop_256_reim.npy")
    with rasterio.open(shared / "sar/geotiff/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif") as src:
        grd_db = src.read(1)
    return {
        "terrasar-x-slc-intensity": (reim[..., 0] ** 2 + reim[..., 1] ** 2).astype(np.float32),
        "sentinel-1-grd-intensity": (10.0 ** (grd_db / 10.0)).astype(np.float32),
    }


@pytest.fixture(scope="module")
def real_images(shared_data: Path) -> dict[str, np.ndarray]:
    return _real_images(shared_data)


@pytest.mark.parametrize("radius", [1, 3])
@pytest.mark.parametrize("value", [1.0, 4.0])
@pytest.mark.parametrize("ours, otb_name, otb_param, our_param", CASES)
@pytest.mark.parametrize("image_name", ["terrasar-x-slc-intensity", "sentinel-1-grd-intensity"])
def test_filter__agrees_with_otb_away_from_the_border(
    tmp_path: Path,
    otb: str,
    real_images: dict[str, np.ndarray],
    image_name: str,
    ours: str,
    otb_name: str,
    otb_param: str,
    our_param: str,
    radius: int,
    value: float,
) -> None:
    image = real_images[image_name]
    source = write_geotiff(tmp_path / "in.tif", image)
    reference_path = tmp_path / "otb.tif"
    subprocess.run(
        [otb, "-in", str(source), "-out", str(reference_path), "float", "-filter", otb_name,
         f"-filter.{otb_name}.rad", str(radius), f"-filter.{otb_name}.{otb_param}", str(value)],
        check=True, capture_output=True,
    )
    with rasterio.open(reference_path) as src:
        reference = src.read(1).astype(np.float64)
    got = engine.despeckle(
        engine.open_scene(source, domain="intensity"), ours, window_size_px=2 * radius + 1, **{our_param: value}
    ).values[0].astype(np.float64)
    inner = (slice(radius, -radius), slice(radius, -radius))
    relative = np.abs(got[inner] - reference[inner]) / np.maximum(np.abs(reference[inner]), 1e-30)
    assert relative.max() <= RELATIVE_TOLERANCE, f"max relative difference {relative.max():.3g}"
    # The border differs (edge replication in OTB), which shows this test can tell them apart.
    assert not np.allclose(got, reference, rtol=RELATIVE_TOLERANCE)
