"""engine.open_scene: every input format, with its georeferencing and metadata, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint

import engine
from engine.exceptions import DomainAssumedWarning, InputError, MissingGeoreferenceWarning, UnsupportedDtypeError
from tests.conftest import write_geotiff


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"])
def test_open_scene__any_real_dtype(tmp_path: Path, dtype: str) -> None:
    data = (np.arange(40 * 30).reshape(40, 30) % 100).astype(dtype)
    scene = engine.open_scene(write_geotiff(tmp_path / "a.tif", data), domain="amplitude")
    assert scene.dtype == np.dtype(dtype)
    out = engine.despeckle(scene, "boxcar", window_size_px=3).values
    assert out.dtype == np.float32 and np.isfinite(out).all()


def test_open_scene__is_lazy_and_georeferenced(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rng.random((2, 50, 60)).astype(np.float32)
    path = write_geotiff(tmp_path / "a.tif", data, nodata=-1.0, tags={"DESPECKLE_DOMAIN": "amplitude", "DESPECKLE_LOOKS": "3"}, descriptions=("VV", "VH"))
    scene = engine.open_scene(path, chunk_px=16)
    assert scene.chunks == ((1, 1), (16, 16, 16, 2), (16, 16, 16, 12))
    with rasterio.open(path) as src:
        assert scene.rio.crs == src.crs and scene.rio.transform() == src.transform
    assert scene.attrs["domain"] == "amplitude" and scene.attrs["looks"] == 3.0
    assert engine.scene.nodata_of(scene) == -1.0
    assert scene.attrs["band_names"] == ("VV", "VH")
    np.testing.assert_array_equal(engine.open_scene(path, bands=[2]).values[0], data[1])


@pytest.mark.parametrize("descriptions, tags, expected", [
    (("Sigma0_VV_db",), {}, "db"),
    (("Amplitude_VV",), {}, "amplitude"),
    (("Intensity_HH",), {}, "intensity"),
    (("Sigma0_VV",), {}, "intensity"),
    (("band",), {"DESPECKLE_DOMAIN": "db"}, "db"),
])
def test_open_scene__reads_the_domain_from_metadata(tmp_path: Path, descriptions, tags, expected) -> None:
    path = write_geotiff(tmp_path / "a.tif", np.ones((8, 8), np.float32), descriptions=descriptions, tags=tags)
    assert engine.open_scene(path).attrs["domain"] == expected


def test_open_scene__without_domain_metadata_assumes_intensity_with_a_warning(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "a.tif", np.ones((8, 8), np.float32))
    with pytest.warns(DomainAssumedWarning):
        assert engine.open_scene(path).attrs["domain"] == "intensity"


def test_open_scene__gcps_travel_with_the_scene(tmp_path: Path) -> None:
    gcps = [GroundControlPoint(0, 0, 3.0, 50.0, 0), GroundControlPoint(0, 39, 3.1, 50.0, 0), GroundControlPoint(29, 0, 3.0, 49.9, 0)]
    path = write_geotiff(tmp_path / "g.tif", np.ones((30, 40), np.float32), gcps=gcps, crs="EPSG:4326")
    scene = engine.open_scene(path, domain="intensity")
    got = scene.rio.get_gcps()
    assert [(g.row, g.col, g.x, g.y) for g in got] == [(g.row, g.col, g.x, g.y) for g in gcps]


def test_open_scene__missing_georeferencing_warns_but_works(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "plain.tif", np.ones((8, 8), np.float32), crs=None)
    with pytest.warns(MissingGeoreferenceWarning, match="no CRS"):
        scene = engine.open_scene(path, domain="intensity")
    assert engine.despeckle(scene, "lee").shape == (1, 8, 8)


def test_open_scene__plain_images(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(tmp_path / "u.png")
    scene = engine.open_scene(tmp_path / "u.png", domain="amplitude")  # no georeferencing warning
    assert scene.shape == (1, 8, 8) and scene.dtype == np.uint8


def test_open_scene__npy(tmp_path: Path, rng: np.random.Generator) -> None:
    np.save(tmp_path / "a.npy", rng.random((20, 30)).astype(np.float32))
    assert engine.open_scene(tmp_path / "a.npy", domain="intensity").dims == ("y", "x")
    np.save(tmp_path / "z.npy", (rng.random((20, 30)) + 1j).astype(np.complex64))
    assert engine.open_scene(tmp_path / "z.npy").attrs["domain"] == "complex"


@pytest.mark.parametrize("array, match", [
    (np.ones((4, 4), bool), "dtype bool"),
    (np.array([np.datetime64("2020-01-01")] * 4).reshape(2, 2), "dtype datetime64"),
    (np.zeros((3, 3), dtype=[("a", "f4"), ("b", "f4")]), "dtype"),
])
def test_open_scene__unsupported_dtypes(tmp_path: Path, array: np.ndarray, match: str) -> None:
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(UnsupportedDtypeError, match=match):
        engine.open_scene(tmp_path / "x.npy", domain="intensity")


def test_open_scene__object_npy_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    with pytest.raises(UnsupportedDtypeError, match="Python objects"):
        engine.open_scene(tmp_path / "o.npy")


def test_open_scene__corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.tif"
    path.write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="cannot read .*bad.tif as a raster"):
        engine.open_scene(path)


def test_open_scene__truncated_geotiff(tmp_path: Path, rng: np.random.Generator) -> None:
    path = write_geotiff(tmp_path / "t.tif", rng.random((256, 256)).astype(np.float32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError, match="truncated"):
        engine.open_scene(path, domain="intensity")


def test_open_scene__truncated_npy(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", np.ones((100, 100), np.float32))
    (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:5000])
    with pytest.raises(InputError, match="truncated or corrupt"):
        engine.open_scene(tmp_path / "t.npy")


@pytest.mark.parametrize("make, match", [
    (lambda p: p / "missing.tif", "does not exist"),
    (lambda p: (p / "folder").mkdir() or p / "folder", "neither a Zarr store nor a Sentinel-1 SAFE product"),
])
def test_open_scene__paths_that_are_not_scenes(tmp_path: Path, make, match: str) -> None:
    with pytest.raises(InputError, match=match):
        engine.open_scene(make(tmp_path))


def test_open_scene__bands_that_do_not_exist(tmp_path: Path) -> None:
    path = write_geotiff(tmp_path / "a.tif", np.ones((8, 8), np.float32))
    with pytest.raises(InputError, match=r"bands 1-1; band\(s\) \[3\]"):
        engine.open_scene(path, bands=[3], domain="intensity")


def test_open_scene__zarr_with_several_variables_needs_a_choice(tmp_path: Path) -> None:
    import xarray as xr

    ds = xr.Dataset({"vv": (("y", "x"), np.ones((8, 8))), "vh": (("y", "x"), np.ones((8, 8)))})
    ds.to_zarr(tmp_path / "s.zarr", zarr_format=2, consolidated=False)
    with pytest.raises(InputError, match="choose one with variable"):
        engine.open_scene(tmp_path / "s.zarr")
    with pytest.warns(MissingGeoreferenceWarning):
        assert engine.open_scene(tmp_path / "s.zarr", variable="vh", domain="intensity").shape == (8, 8)
