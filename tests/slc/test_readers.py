"""Complex (SLC) readers: GeoTIFF CInt16/CFloat32 and (re, im) pairs, raw files (with and
without an ENVI header), NISAR/UAVSAR HDF5, .npy, Sentinel-1 SAFE and .zip."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio

import engine
import engine.slc
from engine.exceptions import InputError
from tests.conftest import write_geotiff

S1_IW = "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4"


@pytest.mark.parametrize("dtype", ["complex_int16", "complex64"])
def test_open_scene__complex_geotiff(tmp_path: Path, rng: np.random.Generator, dtype: str) -> None:
    z = (rng.integers(-500, 500, (40, 50)) + 1j * rng.integers(-500, 500, (40, 50))).astype(np.complex64)
    path = tmp_path / "slc.tif"
    with rasterio.open(path, "w", driver="GTiff", width=50, height=40, count=1, dtype=dtype, crs="EPSG:32631", transform=rasterio.transform.from_origin(0, 0, 1, 1)) as dst:
        dst.write(z, 1)
    scene = engine.open_scene(path)
    assert scene.attrs["domain"] == "complex" and scene.dtype == np.complex64
    np.testing.assert_array_equal(scene.values[0], z)


@pytest.mark.filterwarnings("ignore::engine.exceptions.MissingGeoreferenceWarning")
def test_open_scene__real_imaginary_band_pairs(shared_data: Path) -> None:
    path = shared_data / "sar/slc/s1_chips/Cargo_x25172_y8683.tif"
    with rasterio.open(path) as src:
        bands = src.read()
    scene = engine.open_scene(path, complex_pairs=True)
    assert scene.shape == (bands.shape[0] // 2, *bands.shape[1:]) and scene.attrs["domain"] == "complex"
    np.testing.assert_array_equal(scene.values[0], bands[0] + 1j * bands[1])


@pytest.mark.filterwarnings("ignore::engine.exceptions.MissingGeoreferenceWarning")
def test_open_scene__complex_pairs_need_an_even_band_count(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "three.tif", np.ones((3, 8, 8), np.float32))
    with pytest.raises(InputError, match="even number of real bands"):
        engine.open_scene(path, complex_pairs=True)


def test_open_scene__raw_slc(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "sar/slc/envisat_500x500_complex64.slc"
    scene = engine.open_scene(path, shape="500x500", dtype="complex64")
    np.testing.assert_array_equal(scene.values, np.fromfile(path, dtype="<c8").reshape(500, 500))
    with pytest.raises(InputError, match="needs 1600000: the file is larger, or the shape or dtype is wrong"):
        engine.open_scene(path, shape="500x400", dtype="complex64")
    with pytest.raises(InputError, match="give its --shape ROWSxCOLS and --dtype"):
        engine.open_scene(path)
    truncated = tmp_path / "cut.slc"
    truncated.write_bytes(path.read_bytes()[:1_500_000])
    with pytest.raises(InputError, match="the file is truncated"):
        engine.open_scene(truncated, shape="500x500", dtype="complex64")


def test_open_scene__raw_slc_with_an_envi_header_opens_through_gdal(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "envisat.slc"
    shutil.copy(shared_data / "sar/slc/envisat_500x500_complex64.slc", path)
    (tmp_path / "envisat.slc.hdr").write_text(
        "ENVI\nsamples = 500\nlines = 500\nbands = 1\nheader offset = 0\nfile type = ENVI Standard\n"
        "data type = 6\ninterleave = bsq\nbyte order = 0\n"
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.exceptions.MissingGeoreferenceWarning)
        scene = engine.open_scene(path)
    assert scene.attrs["domain"] == "complex"
    np.testing.assert_array_equal(scene.values[0], np.fromfile(path, dtype="<c8").reshape(500, 500))


@pytest.mark.parametrize("name, shape", [("winnipeg.h5", (250, 250)), ("SanAnd_138.h5", (150, 400))])
def test_open_scene__uavsar_hdf5(shared_data: Path, name: str, shape: tuple[int, int]) -> None:
    scene = engine.open_scene(shared_data / "sar/slc" / name)
    assert scene.shape == shape and scene.attrs["domain"] == "complex"
    assert scene.attrs["hdf5_dataset"] == "science/LSAR/SLC/swaths/frequencyA/HH"
    with pytest.raises(InputError, match="has no SLC for 'VV'.*--variable"):
        engine.open_scene(shared_data / "sar/slc" / name, variable="VV")


def test_open_scene__npy_real_imaginary(shared_data: Path) -> None:
    reim = np.load(shared_data / "sar/slc/tsx_crop_256_reim.npy")
    scene = engine.open_scene(shared_data / "sar/slc/tsx_crop_256_reim.npy")
    np.testing.assert_array_equal(scene.values, reim[..., 0] + 1j * reim[..., 1])


@pytest.mark.parametrize("suffix", [".SAFE", ".zip"])
def test_sentinel1__bursts_swaths_and_gcps(sentinel1_products: Path, suffix: str) -> None:
    product = sentinel1_products / (S1_IW + suffix)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = engine.open_scene(product, swath="IW1", polarisation="VH", burst=3)
    assert any("extracting the IW1/VH measurement" in str(w.message) for w in caught) == (suffix == ".zip")
    assert scene.dims == ("y", "x") and scene.dtype == np.complex64 and scene.attrs["burst"] == 3
    assert scene.attrs["swath"] == "IW1" and scene.attrs["polarisation"] == "VH" and engine.scene.nodata_of(scene) == 0
    gcps = scene.rio.get_gcps()
    assert len(gcps) > 10 and scene.rio.crs.to_epsg() == 4326
    assert all(-2 <= g.row <= scene.sizes["y"] + 2 for g in gcps)


def test_sentinel1__debursted_swath(sentinel1_products: Path) -> None:
    bursts = engine.io.sentinel1_bursts(sentinel1_products / (S1_IW + ".SAFE"), swath="IW1", polarisation="VH", bursts=None, chunk_px=1024)
    mosaic = engine.io.deburst(bursts)
    lines = [b.sizes["y"] for b in bursts]
    crop = engine.io._sentinel1.BURST_OVERLAP_CROP
    assert mosaic.sizes["y"] == sum(lines) - 2 * crop * (len(bursts) - 1)
    times = mosaic["azimuth_time"].values
    assert np.all(np.diff(times.astype("int64")) > 0)  # azimuth order, no overlap left
    located = engine.io.with_product_gcps(sentinel1_products / (S1_IW + ".SAFE"), mosaic).rio.get_gcps()
    assert min(g.row for g in located) <= 1 and max(g.row for g in located) >= mosaic.sizes["y"] - 2


@pytest.mark.parametrize("kwargs, match", [
    ({"swath": "IW4"}, "has no swath IW4; available swaths and polarisations: IW1: VH, VV"),
    ({"swath": "IW1", "polarisation": "HH"}, "has no polarisation HH in IW1"),
    ({"burst": 12}, r"has bursts 0-8; burst\(s\) \[12\] do not exist"),
])
def test_sentinel1__missing_swath_polarisation_or_burst(sentinel1_products: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        engine.open_scene(sentinel1_products / (S1_IW + ".SAFE"), **kwargs)


def test_sentinel1__an_all_zero_burst_is_a_clear_error(sentinel1_products: Path, tmp_path: Path) -> None:
    # xarray-sentinel's IW 1SDH test product has all-zero placeholder pixels.
    product = next(sentinel1_products.glob("S1A_IW_SLC__1SDH_*.SAFE"))
    scene = engine.open_scene(product, burst=0)
    with pytest.raises(InputError, match="no valid pixels"):
        engine.write_scene(engine.despeckle(scene.isel(y=slice(0, 300), x=slice(0, 400)), "lee"), tmp_path / "o.tif")
    with pytest.raises(InputError, match="no valid \\(non-zero\\) complex samples"):
        engine.slc.estimate_spectrum(scene.isel(y=slice(0, 300), x=slice(0, 400)))
