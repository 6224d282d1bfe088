"""Readers: every format re-reads any window exactly, and the halo-read fast path survives
selections of bands and spatial slices (or says why not)."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import engine
from engine.io._open import INPUT_FORMATS
from engine.sources import locate_source, source_of
from tests.conftest import write_geotiff


def _stack(rng: np.random.Generator) -> np.ndarray:
    return (rng.gamma(1.0, 1.0, (3, 70, 90)) * np.array([1.0, 4.0, 9.0])[:, None, None]).astype(np.float32)


def _files(tmp_path: Path, rng: np.random.Generator) -> dict[str, tuple[Path, dict]]:
    """One scene per format that can be written here, with the options that open it."""
    stack = _stack(rng)
    z = (rng.normal(size=(70, 90)) + 1j * rng.normal(size=(70, 90))).astype(np.complex64)
    np.save(tmp_path / "a.npy", stack)
    np.save(tmp_path / "reim.npy", np.stack([z.real, z.imag], axis=-1))
    z.astype(">c8").tofile(tmp_path / "a.slc")
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["science/LSAR/RSLC/swaths/frequencyA/HH"] = z
    xr.Dataset({"vv": (("band", "y", "x"), stack)}, coords={"band": [1, 2, 3], "y": np.arange(70.0), "x": np.arange(90.0)}).to_zarr(tmp_path / "a.zarr")
    pairs = np.stack([z.real, z.imag, 2 * z.real, 2 * z.imag]).astype(np.float32)
    return {
        "geotiff": (write_geotiff(tmp_path / "a.tif", stack), {}),
        "geotiff bands": (write_geotiff(tmp_path / "b.tif", stack), {"bands": [3, 1]}),
        "complex pairs": (write_geotiff(tmp_path / "pairs.tif", pairs), {"complex_pairs": True}),
        "npy": (tmp_path / "a.npy", {}),
        "npy (re, im) last": (tmp_path / "reim.npy", {}),
        "raw": (tmp_path / "a.slc", {"shape": "70x90", "dtype": ">c8"}),
        "hdf5": (tmp_path / "a.h5", {}),
        "zarr": (tmp_path / "a.zarr", {}),
    }


@pytest.mark.filterwarnings("ignore::engine.exceptions.DespeckleWarning")
def test_every_reader_rereads_any_window_exactly(tmp_path: Path, rng: np.random.Generator) -> None:
    for name, (path, options) in _files(tmp_path, rng).items():
        scene = engine.open_scene(path, chunk_px=32, domain="complex" if "pair" in name or "im" in name or name in ("raw", "hdf5") else "intensity", **options)
        source = source_of(scene)
        assert source is not None, name
        whole = scene.values
        for rows, cols in [(slice(0, 70), slice(0, 90)), (slice(13, 41), slice(50, 89)), (slice(69, 70), slice(0, 1))]:
            index = (*((slice(None),) if scene.ndim == 3 else ()), rows, cols)
            np.testing.assert_array_equal(source.read(index), whole[index], err_msg=name)


def test_every_format_is_listed_once_and_the_raster_reader_comes_last() -> None:
    descriptions = [f.description for f in INPUT_FORMATS]
    assert len(set(descriptions)) == len(descriptions)
    assert "GDAL" in descriptions[-1]


@pytest.mark.parametrize("select", [
    lambda s: s.isel(band=[2, 0], y=slice(9, 61), x=slice(17, 80)),
    lambda s: s.isel(band=1),  # 2-D: the band dimension dropped
    lambda s: s.isel(y=slice(0, 35)).isel(x=slice(40, None)),  # selections of selections
    lambda s: s.sel(x=slice(600_100.0, 600_500.0)).chunk({"x": 17}),  # by coordinate, then re-chunked
], ids=["bands and window", "one band", "twice", "sel and rechunk"])
def test_selected_scenes_keep_reading_their_halos_from_the_file(tmp_path: Path, rng: np.random.Generator, select) -> None:
    stack = _stack(rng)
    scene = engine.open_scene(write_geotiff(tmp_path / "a.tif", stack), domain="intensity", chunk_px=24)
    selected = select(scene)
    source = source_of(selected)
    assert source is not None
    np.testing.assert_array_equal(source.read((slice(None),) * selected.ndim), selected.values)
    in_memory = xr.DataArray(selected.values, dims=selected.dims, attrs=selected.attrs).chunk(24)
    for method in ("lee", "frost"):
        np.testing.assert_array_equal(engine.despeckle(selected, method).values, engine.despeckle(in_memory, method).values)


def test_changed_or_reordered_scenes_say_why_they_cannot_read_from_the_file(tmp_path: Path, rng: np.random.Generator, caplog) -> None:
    scene = engine.open_scene(write_geotiff(tmp_path / "a.tif", _stack(rng)), domain="intensity", chunk_px=24)
    assert locate_source(scene.copy(data=scene.data * 2.0))[1].startswith("the scene's pixels were changed")
    assert locate_source(scene * 2.0)[1] == "the scene was not opened from a file"  # arithmetic drops the encoding
    assert "contiguous, forward run" in locate_source(scene.isel(y=slice(None, None, -1)))[1]
    assert "contiguous" in locate_source(scene.isel(x=[0, 2, 4]))[1]
    with caplog.at_level(logging.INFO, logger="engine"):
        flipped = scene.isel(y=slice(None, None, -1))
        expected = engine.despeckle(flipped.compute().chunk(24), "lee").values
        np.testing.assert_array_equal(engine.despeckle(flipped, "lee").values, expected)
    assert "contiguous, forward run" in caplog.text and "dask.overlap" in caplog.text
