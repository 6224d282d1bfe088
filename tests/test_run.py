"""``engine.run.despeckle_file``: the one file-to-file path (CLI, demo, benchmarks, QGIS), the
same computation as ``open_scene(...).despeckle()``, Sentinel-1 bursts one by one whichever door
the scene came through, options refused where they do not apply, one nodata everywhere."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

import engine
from engine.exceptions import ParameterError
from engine.io import deburst
from engine.run import despeckle_file
from engine.scene import BURST_COORD, burst_pieces, nodata_of
from engine.synthetic import synthetic_slc

S1_IW = "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4"


def test_despeckle_file__is_open_scene_then_despeckle(geotiff_factory, speckled: np.ndarray, tmp_path: Path) -> None:
    path = geotiff_factory(speckled)
    result = despeckle_file(path, tmp_path / "out.tif", "refined-lee", domain="intensity", looks=2.0, chunk_px=40)
    assert result.method == "refined-lee" and result.written.path == tmp_path / "out.tif"
    expected = engine.open_scene(path, domain="intensity", looks=2.0, chunk_px=40).despeckle(method="refined-lee").values
    with rasterio.open(tmp_path / "out.tif") as out:
        np.testing.assert_array_equal(out.read(), expected)


def _bursts(count: int = 3, lines: int = 300, cols: int = 64) -> list[xr.DataArray]:
    out = []
    for index in range(count):
        z = synthetic_slc((lines, cols), point_targets=0, seed=index, shift=(0.1 * index, 0.0))
        burst = xr.DataArray(z, dims=("y", "x"), attrs={"domain": "complex", "looks": 1.0, "burst": index})
        out.append(burst.chunk(40))
    return out


def test_bursts__a_debursted_mosaic_is_processed_burst_by_burst() -> None:
    """Decorrelation, multilooking and despeckling never cross a TOPS burst boundary, and slicing
    the mosaic keeps the bursts it holds."""
    mosaic = deburst(_bursts())
    pieces = burst_pieces(mosaic)
    assert len(pieces) == 3 and [int(p[BURST_COORD][0]) for p in pieces] == [0, 1, 2]
    got = engine.despeckle(mosaic, "lee", window_size_px=7).values
    expected = np.concatenate([engine.despeckle(p, "lee", window_size_px=7).values for p in pieces])
    np.testing.assert_array_equal(got, expected)
    across = engine.despeckle(mosaic.drop_vars(BURST_COORD), "lee", window_size_px=7).values
    boundary = pieces[0].sizes["y"]
    assert not np.allclose(across[boundary - 3 : boundary + 3], got[boundary - 3 : boundary + 3])  # the bursts' edges differ
    np.testing.assert_array_equal(across[10:boundary - 4], got[10:boundary - 4])  # inside a burst: the same
    sliced = mosaic.isel(y=slice(boundary - 20, boundary + 20))
    assert [p.sizes["y"] for p in burst_pieces(sliced)] == [20, 20]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.exceptions.DespeckleWarning)
        whitened = engine.slc.decorrelate(mosaic)
    assert whitened.attrs["decorrelation"].count("band_fraction") == 2 * 3  # one spectrum per burst
    looked = engine.slc.multilook(mosaic, 4, 2)
    assert looked.sizes["y"] == sum(p.sizes["y"] // 4 for p in pieces)  # no box straddles two bursts


@pytest.mark.slow
def test_sentinel1__command_line_equals_open_scene_then_despeckle(despeckle_cli: list[str], sentinel1_products: Path, tmp_path: Path) -> None:
    product = sentinel1_products / (S1_IW + ".SAFE")
    done = subprocess.run([*despeckle_cli, "run", str(product), "out.tif", "--swath", "IW1", "--polarisation", "VV", "--burst", "2",
                           "--method", "boxcar", "--window-size-px", "3", "--looks", "2", "--progress", "none"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.exceptions.DespeckleWarning)
        scene = engine.open_scene(product, swath="IW1", polarisation="VV", burst=2, looks=2)
        expected = scene.despeckle(method="boxcar", window_size_px=3)
    with rasterio.open(tmp_path / "out.tif") as out:
        np.testing.assert_array_equal(out.read(1), expected.values)
        assert out.tags()["DESPECKLE_INPUT_LOOKS"] == "2.0"  # --looks reaches a SAFE product too
        assert len(out.gcps[0]) == len(scene.rio.get_gcps())


@pytest.mark.parametrize("kwargs, match", [
    ({"swath": "IW1"}, r"--swath does not apply to scene.tif \(a raster GDAL reads .*\); it is for a Sentinel-1 SLC product"),
    ({"variable": "vv"}, r"--variable does not apply to scene.tif \(.*\); it is for a Zarr store or an ultrasound channel-RF HDF5 file or an HDF5 file"),
    ({"header_bytes": 16}, "--header-bytes does not apply"),
    ({"multilook": "2x2"}, "--multilook needs complex"),
    ({"decorrelate": True}, "--decorrelate needs complex"),
    ({"multilook": "2by2"}, "multilook must be AZxRG"),
])
def test_despeckle_file__options_that_do_not_apply_are_refused(geotiff_factory, speckled: np.ndarray, tmp_path: Path, kwargs, match) -> None:
    path = geotiff_factory(speckled, name="scene.tif")
    with pytest.raises(ParameterError, match=match):
        despeckle_file(path, tmp_path / "out.tif", "lee", domain="intensity", **kwargs)
    assert not (tmp_path / "out.tif").exists()


def test_despeckle_file__bands_do_not_apply_to_npy(tmp_path: Path, speckled: np.ndarray) -> None:
    np.save(tmp_path / "scene.npy", speckled)
    with pytest.raises(ParameterError, match=r"--band does not apply to scene.npy \(a NumPy .npy array\)"):
        despeckle_file(tmp_path / "scene.npy", tmp_path / "out.tif", "lee", domain="intensity", bands=[1])


def test_nodata__the_pipeline_and_the_writer_agree(tmp_path: Path, speckled: np.ndarray) -> None:
    """``attrs["nodata"] = -1``: the pipeline masks -1 and a written scene declares -1 (the writer
    once declared NaN while the pipeline masked -1)."""
    data = speckled.copy()
    data[:5] = -1.0
    scene = xr.DataArray(data, dims=("y", "x"), attrs={"domain": "intensity", "nodata": -1.0})
    assert nodata_of(scene) == -1.0
    out = engine.despeckle(scene, "lee")
    assert np.isnan(out.values[:5]).all() and np.isfinite(out.values[5:]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.exceptions.DespeckleWarning)
        engine.write_scene(scene, tmp_path / "in.tif")
        engine.write_scene(out, tmp_path / "out.tif")
    with rasterio.open(tmp_path / "in.tif") as written:
        assert written.nodata == -1.0 and (written.read(1)[:5] == -1).all()
    with rasterio.open(tmp_path / "out.tif") as written:
        assert written.nodata == -1.0 and (written.read(1)[:5] == -1).all()


def test_overwrite__never_replaces_a_folder_the_tool_did_not_make(geotiff_factory, speckled: np.ndarray, tmp_path: Path) -> None:
    path = geotiff_factory(speckled)
    for name in ("out.tif", "out.zarr"):
        foreign = tmp_path / name
        foreign.mkdir()
        (foreign / "keep").write_text("precious")
        with pytest.raises(engine.exceptions.OutputExistsError, match="folder despeckle did not make"):
            despeckle_file(path, foreign, "lee", domain="intensity", overwrite=True)
        assert (foreign / "keep").read_text() == "precious"
    ours = tmp_path / "ours.zarr"
    despeckle_file(path, ours, "lee", domain="intensity")
    despeckle_file(path, ours, "boxcar", domain="intensity", overwrite=True)  # its own output: replaced
    assert xr.open_zarr(ours)["intensity"].attrs["despeckle_method"] == "boxcar"  # named by its domain


def test_despeckle_file__auto_falls_back_once_and_burst_0_is_refused(geotiff_factory, speckled: np.ndarray, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = geotiff_factory(speckled, name="scene.tif")
    with pytest.raises(ParameterError, match="--burst does not apply to scene.tif"):
        despeckle_file(path, tmp_path / "o.tif", "lee", domain="intensity", burst=0)
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = despeckle_file(path, tmp_path / "auto.tif", domain="intensity")
    fallbacks = [w for w in caught if issubclass(w.category, engine.exceptions.MethodFallbackWarning)]
    assert result.method == "lee" and len(fallbacks) == 1


def test_complex_data_given_a_real_domain_is_refused() -> None:
    z = synthetic_slc((32, 32), point_targets=0)
    with pytest.raises(engine.exceptions.InputError, match="holds complex values, but its domain was given as 'db'"):
        engine.despeckle(z, "lee", domain="db")
