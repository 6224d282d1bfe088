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
    # Relabelled coordinates do not mislead it: positions come from the selection, not the labels.
    lambda s: s.isel(x=slice(40, 90), band=[2]).assign_coords(x=s.x[:50], band=[1]),
], ids=["bands and window", "one band", "twice", "sel and rechunk", "relabelled"])
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
    assert locate_source(scene * 2.0)[1].startswith("the scene carries no file source")  # arithmetic drops the encoding
    assert "contiguous, forward run" in locate_source(scene.isel(y=slice(None, None, -1)))[1]
    assert "contiguous" in locate_source(scene.isel(x=[0, 2, 4]))[1]
    with caplog.at_level(logging.INFO, logger="engine"):
        flipped = scene.isel(y=slice(None, None, -1))
        expected = engine.despeckle(flipped.compute().chunk(24), "lee").values
        np.testing.assert_array_equal(engine.despeckle(flipped, "lee").values, expected)
    assert "contiguous, forward run" in caplog.text and "dask.overlap" in caplog.text


def test_selections_that_drop_a_spatial_dimension_do_not_read_from_the_file(tmp_path: Path, rng: np.random.Generator) -> None:
    scene = engine.open_scene(write_geotiff(tmp_path / "a.tif", _stack(rng)), domain="intensity", chunk_px=24)
    assert "no longer the file's" in locate_source(scene.isel(y=0))[1]


def test_a_file_changed_or_removed_after_opening_is_refused_when_read(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "a.npy"
    np.save(path, _stack(rng))
    scene = engine.open_scene(path, domain="intensity")
    scene.values  # noqa: B018 - opened and cached by the reader
    np.save(path, np.ones((30, 20), np.float32))  # truncated in place: a stale memory map would crash the process
    with pytest.raises(engine.exceptions.InputError, match="changed after the scene was opened"):
        scene.values  # noqa: B018
    path.unlink()
    with pytest.raises(engine.exceptions.InputError, match="is gone"):
        scene.values  # noqa: B018


def test_relative_paths_keep_reading_the_same_file_after_a_change_of_folder(tmp_path: Path, rng: np.random.Generator, monkeypatch) -> None:
    stack = _stack(rng)
    for folder, scale in (("a", 1.0), ("b", 2.0)):
        (tmp_path / folder).mkdir()
        np.save(tmp_path / folder / "s.npy", stack * scale)
    monkeypatch.chdir(tmp_path / "a")
    scene = engine.open_scene("s.npy", domain="intensity")
    monkeypatch.chdir(tmp_path / "b")
    np.testing.assert_array_equal(scene.values, stack)


@pytest.mark.filterwarnings("ignore::engine.exceptions.MissingGeoreferenceWarning")
def test_many_dimensional_zarr_variables_read_whole(tmp_path: Path, rng: np.random.Generator) -> None:
    values = rng.random((2, 3, 40, 30)).astype(np.float32)
    xr.Dataset({"v": (("t", "band", "y", "x"), values)}).to_zarr(tmp_path / "z.zarr")
    scene = engine.open_scene(tmp_path / "z.zarr", domain="intensity", chunk_px=16)
    np.testing.assert_array_equal(scene.values, values)
    # looks stated: uniform noise is no speckle, and what it measures is beside the point here
    np.testing.assert_array_equal(engine.despeckle(scene.isel(t=1), "lee", looks=1.0).values,
                                  engine.despeckle(xr.DataArray(values[1], dims=("band", "y", "x"), attrs=scene.attrs).chunk(16), "lee",
                                                   looks=1.0).values)


@pytest.mark.parametrize("make, options, match", [
    (lambda p, z: write_geotiff(p / "c.tif", np.stack([z.real, z.imag, z.real, z.imag]).astype(np.float32)),
     {"complex_pairs": True, "bands": [1, 3]}, "each imaginary band right after its real band"),
    (lambda p, z: z.astype(np.complex64).tofile(p / "a.slc") or p / "a.slc", {"shape": (40,), "dtype": "complex64"}, r"shape must be \(rows, columns\)"),
    (lambda p, z: z.astype(np.complex64).tofile(p / "a.slc") or p / "a.slc", {"shape": "70x90", "dtype": "complex64", "header_bytes": -16},
     "must be 0 or more"),
    (lambda p, z: z.astype(np.complex64).tofile(p / "a.slc") or p / "a.slc", {"shape": "70x90", "dtype": "complex64", "header_bytes": 10**9},
     "leaves nothing to read"),
    (lambda p, z: np.save(p / "a.npy", z.real) or p / "a.npy", {"chunk_px": 0}, "chunk size must be at least 16"),
], ids=["pairs not adjacent", "raw shape", "negative header", "header past the end", "chunk 0"])
def test_impossible_reading_options_are_refused_clearly(tmp_path: Path, rng: np.random.Generator, make, options, match) -> None:
    z = rng.normal(size=(70, 90)) + 1j * rng.normal(size=(70, 90))
    with pytest.raises(engine.exceptions.DespeckleError, match=match):
        engine.open_scene(make(tmp_path, z), domain="complex", **options)


def test_hdf5_opens_its_only_image_and_refuses_a_group(tmp_path: Path, rng: np.random.Generator) -> None:
    image = rng.random((30, 20)).astype(np.float32)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["data/image"] = image
        f["data/profile"] = np.arange(5.0)
    np.testing.assert_array_equal(engine.open_scene(tmp_path / "a.h5", domain="intensity").values, image)
    with pytest.raises(engine.exceptions.InputError, match="is a group, not a dataset"):
        engine.open_scene(tmp_path / "a.h5", variable="data", domain="intensity")
