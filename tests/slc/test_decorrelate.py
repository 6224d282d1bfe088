"""engine.slc: decorrelation on SLC data with a known spectrum and on the real crops, and
multilooking."""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from affine import Affine

import engine
import engine.slc
from engine.exceptions import InputError, ParameterError
from engine.metrics import speckle_coherence, speckle_correlation
from engine.synthetic import synthetic_slc


def complex_scene(z: np.ndarray, chunks=-1) -> xr.DataArray:
    return xr.DataArray(da.from_array(z, chunks=chunks), dims=("y", "x"), attrs={"domain": "complex"})


def assert_whitened(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Point targets identical, mean intensity within 1 %, |rho| < 0.05 in both axes; returns
    the output's intensity."""
    before, after = np.abs(z) ** 2, np.abs(out) ** 2
    targets = before >= 50 * np.median(before)
    np.testing.assert_array_equal(out[targets], z[targets])
    assert after[~targets].mean() / before[~targets].mean() == pytest.approx(1.0, abs=0.01)
    assert max(abs(speckle_correlation(after, 0)), abs(speckle_correlation(after, 1))) < 0.05
    return after


@pytest.fixture(scope="module")
def known() -> np.ndarray:
    return synthetic_slc((512, 384), band=(0.8, 0.85), shift=(0.15, 0.0), hamming=0.75, point_targets=12, seed=1)


def test_estimate_spectrum__finds_the_band_and_its_shift(known: np.ndarray) -> None:
    model = engine.slc.estimate_spectrum(complex_scene(known))
    # The band is where the power stands within 25 dB of the peak: a Hamming-0.75 band of 0.80
    # reads slightly wider, never narrower.
    assert 0.79 <= model.azimuth.fraction <= 0.9 and 0.84 <= model.range.fraction <= 0.94
    assert model.azimuth.centre == pytest.approx(0.15, abs=0.01) and model.range.centre == pytest.approx(0.0, abs=0.01)


def test_decorrelate__whitens_keeps_the_mean_and_the_point_targets(known: np.ndarray) -> None:
    out = engine.slc.decorrelate(complex_scene(known, chunks=(100, 77)))
    whitened = out.values
    before, after = np.abs(known) ** 2, np.abs(whitened) ** 2
    targets = before >= 50 * np.median(before)
    assert targets.sum() >= 8
    np.testing.assert_array_equal(whitened[targets], known[targets])
    assert after[~targets].mean() / before[~targets].mean() == pytest.approx(1.0, abs=0.01)
    for axis in (0, 1):
        assert speckle_correlation(before, axis) > 0.1
        assert abs(speckle_correlation(after, axis)) < 0.05
        # The same in the measure free of the intensity measure's low bias (see engine.metrics).
        assert speckle_coherence(known, axis) ** 2 > 0.1
        assert speckle_coherence(whitened, axis) ** 2 < 0.04
    assert json.loads(out.attrs["decorrelation"])["azimuth"]["band_centre"] == pytest.approx(0.15, abs=0.01)


def test_decorrelate__does_not_depend_on_the_chunking(known: np.ndarray) -> None:
    whole = engine.slc.decorrelate(complex_scene(known)).values
    tiled = engine.slc.decorrelate(complex_scene(known, chunks=(64, 90))).values
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("drift", [0.006, -0.013])
def test_estimate_spectrum__finds_the_azimuth_drift_of_tops_data(drift: float) -> None:
    z = synthetic_slc((512, 384), azimuth_drift=drift, seed=1)
    assert engine.slc.estimate_spectrum(complex_scene(z, chunks=(100, 77))).azimuth_drift == pytest.approx(drift, abs=1e-4)


def test_estimate_spectrum__finds_no_drift_in_stripmap_data(known: np.ndarray) -> None:
    assert abs(engine.slc.estimate_spectrum(complex_scene(known)).azimuth_drift) < 1e-4


def test_decorrelate__deramps_a_drifting_azimuth_spectrum(known: np.ndarray) -> None:
    """TOPS: the same scene with its Doppler centroid drifting 0.006 cycles per line is whitened
    as well as without the drift, which an average periodogram alone cannot do."""
    z = synthetic_slc((512, 384), azimuth_drift=0.006, seed=1)
    scene = complex_scene(z, chunks=(100, 77))
    out = engine.slc.decorrelate(scene).values
    after = assert_whitened(z, out)
    stationary = np.abs(engine.slc.decorrelate(complex_scene(known)).values) ** 2
    for axis in (0, 1):  # (not pixel for pixel: targets' stand-in samples depend on their phase)
        assert speckle_correlation(after, axis) == pytest.approx(speckle_correlation(stationary, axis), abs=0.01)
    without = np.abs(engine.slc.decorrelate(scene, azimuth_drift=0.0).values) ** 2
    assert speckle_correlation(without, 0) > 0.1
    tiled = engine.slc.decorrelate(complex_scene(z, chunks=(64, 90))).values
    np.testing.assert_allclose(tiled, out, rtol=1e-4, atol=1e-5)


def test_decorrelate__rejects_an_impossible_drift(known: np.ndarray) -> None:
    with pytest.raises(ParameterError, match="azimuth_drift"):
        engine.slc.decorrelate(complex_scene(known), azimuth_drift=0.3)


def test_decorrelate__band_override(known: np.ndarray) -> None:
    model = engine.slc.estimate_spectrum(complex_scene(known), azimuth_band=(0.8, 0.15), range_band=(0.85, 0.0))
    assert model.azimuth.fraction == pytest.approx(0.8, abs=0.01) and model.range.fraction == pytest.approx(0.85, abs=0.01)


def test_decorrelate__nodata_stays_nodata(known: np.ndarray) -> None:
    z = known.copy()
    z[:, :20] = 0
    scene = complex_scene(z)
    scene.attrs["_FillValue"] = 0
    out = engine.slc.decorrelate(scene).values
    assert np.isnan(out[:, :20]).all() and np.isfinite(out[:, 20:]).all()


@pytest.mark.parametrize("shape", [(37, 301), (301, 37), (45, 45)])
def test_decorrelate__odd_and_non_square_sizes(shape: tuple[int, int]) -> None:
    z = synthetic_slc(shape, point_targets=0, seed=4)
    out = engine.slc.decorrelate(complex_scene(z)).values
    assert out.shape == shape and np.isfinite(out).all()
    assert (np.abs(out) ** 2).mean() / (np.abs(z) ** 2).mean() == pytest.approx(1.0, abs=0.03)


def test_decorrelate__needs_complex_data() -> None:
    with pytest.raises(InputError, match="decorrelation needs complex"):
        engine.slc.decorrelate(xr.DataArray(np.ones((32, 32), np.float32), dims=("y", "x"), attrs={"domain": "intensity"}))
    with pytest.raises(ParameterError, match="decorrelation needs complex"):
        engine.despeckle(np.ones((32, 32), np.float32), "lee", domain="intensity", decorrelate=True)


@pytest.mark.shared_data
@pytest.mark.parametrize("name, kwargs", [
    ("tsx_crop_256_reim.npy", {}),
    ("winnipeg.h5", {}),
])
def test_decorrelate__real_crops_that_follow_the_model(shared_data: Path, name: str, kwargs: dict) -> None:
    """TerraSAR-X and UAVSAR crops: well sampled stripmap data, decorrelated below 0.05. (The
    benchmark 'decorrelation' reports every crop, the ones the method cannot whiten included.)"""
    scene = engine.open_scene(shared_data / "sar/slc" / name, **kwargs)
    assert_whitened(scene.values, engine.slc.decorrelate(scene).values)


@pytest.mark.shared_data
def test_decorrelate__every_real_crop_keeps_targets_and_mean(shared_data: Path) -> None:
    from benchmarks.decorrelation import measure, real_crops

    for name, scene in real_crops(shared_data / "sar/slc").items():
        result = measure(scene)
        assert result["targets_identical"], name
        tolerance = 0.01 if min(result["shape"]) >= 90 else 0.03  # small chips are mostly filter border
        assert result["mean_ratio"] == pytest.approx(1.0, abs=tolerance), name


@pytest.mark.shared_data
def test_decorrelate__sentinel1_chips_drift_like_tops(shared_data: Path) -> None:
    """The Sentinel-1 IW chips: every chip of 60 lines or more shows the IW Doppler-centroid drift
    (about 0.006 cycles/line^2, i.e. 1.3-1.7 kHz/s at 2.06 ms per line), and deramping it lowers
    the azimuth correlation left after whitening."""
    from benchmarks.decorrelation import real_crops

    chips = {k: v for k, v in real_crops(shared_data / "sar/slc").items() if k.startswith("Sentinel-1") and v.shape[0] >= 60}
    assert len(chips) >= 5
    with_drift, without_drift = [], []
    for name, scene in chips.items():
        assert 0.0055 <= engine.slc.estimate_spectrum(scene).azimuth_drift <= 0.0070, name
        for drift, results in ((None, with_drift), (0.0, without_drift)):
            results.append(speckle_correlation(np.abs(engine.slc.decorrelate(scene, azimuth_drift=drift).values) ** 2, 0))
    assert np.mean(with_drift) < 0.6 * np.mean(without_drift)


def test_multilook__averages_intensity_and_records_looks() -> None:
    z = synthetic_slc((120, 90), point_targets=0, seed=5)
    scene = xr.DataArray(z, dims=("y", "x"), coords={"y": -1.0 - 2.0 * np.arange(120), "x": 1.5 + 3.0 * np.arange(90)}, attrs={"domain": "complex", "looks": 1.0})
    scene = scene.rio.write_crs("EPSG:32631").rio.write_transform(Affine(3.0, 0, 0, 0, -2.0, 0))
    out = engine.slc.multilook(scene, 2, 3)
    assert out.shape == (60, 30) and out.attrs["domain"] == "intensity" and out.attrs["looks"] == 6.0
    np.testing.assert_allclose(out.values[0, 0], (np.abs(z[:2, :3]) ** 2).mean(), rtol=1e-5)
    assert out.rio.transform() == Affine(9.0, 0, 0, 0, -4.0, 0)
    assert engine.speckle.estimate_looks(out.values) > 2 * engine.speckle.estimate_looks(np.abs(z) ** 2)
    with pytest.raises(ParameterError, match="looks must be >= 1"):
        engine.slc.multilook(scene, 0, 2)


def test_multilook__moves_gcps() -> None:
    from rasterio.control import GroundControlPoint

    scene = xr.DataArray(np.ones((40, 40), np.complex64), dims=("y", "x"), attrs={"domain": "complex"})
    scene = scene.rio.write_gcps([GroundControlPoint(9.5, 19.5, 3.0, 50.0, 0), GroundControlPoint(0, 0, 3.1, 50.1, 0), GroundControlPoint(39, 0, 3.2, 50.2, 0)], "EPSG:4326")
    gcps = engine.slc.multilook(scene, 2, 4).rio.get_gcps()
    assert (gcps[0].row, gcps[0].col) == (4.5, 4.5)


def test_decorrelate__keeps_local_means_beside_bright_areas() -> None:
    """Whitening undoes the point-spread function and its sidelobe leakage into dark areas; the
    local gain keeps 15-px mean intensities, which the scene-wide gain alone moves by 20 % and more."""
    from scipy import ndimage

    reflectivity = np.full((256, 256), 1e-4)
    reflectivity[:, 96:160] = 1.0  # 40 dB brighter strip
    z = synthetic_slc((256, 256), band=(0.5, 0.5), shift=(0, 0), hamming=1.0, point_targets=0, reflectivity_map=reflectivity, seed=3)
    before = np.abs(z) ** 2
    dark_columns = np.r_[40:80, 180:220]  # more than a window from the strip and the scene border

    def local_mean_error(local_gain_px: int) -> float:
        after = np.abs(engine.slc.decorrelate(complex_scene(z, chunks=(100, 70)), local_gain_px=local_gain_px).values) ** 2
        ratio = ndimage.uniform_filter(after, 15) / ndimage.uniform_filter(before, 15)
        return float(np.max(np.abs(np.median(ratio[:, dark_columns], axis=0) - 1)))

    with_gain, without = local_mean_error(15), local_mean_error(0)
    assert with_gain < 0.05 and without > 0.1, (with_gain, without)


@pytest.mark.parametrize("size", [-1, 1, 2])
def test_decorrelate__rejects_a_local_gain_window_that_cannot_work(known: np.ndarray, size: int) -> None:
    with pytest.raises(ParameterError, match="local_gain_px"):
        engine.slc.decorrelate(complex_scene(known), local_gain_px=size)
