"""``open_stack``: files, folders, globs, Zarr stores and xarray objects to one (time, y, x) stack."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

import engine
from engine.exceptions import DomainAssumedWarning, InputError
from tests.stack.conftest import ORIGIN, reflectivity, write_date


def test_files__become_one_lazy_stack_sorted_by_date_with_nodata_per_date(dates_on_disk) -> None:
    paths = dates_on_disk(4, holes={2: (slice(0, 10), slice(None))})
    stack = engine.open_stack(list(reversed(paths)), chunk_px=32)
    assert stack.dims == ("time", "y", "x") and stack.dtype == np.float32
    assert stack.data.chunks[0] == (1, 1, 1, 1) and stack.data.chunks[1][0] == 32  # each date its own chunk, space as asked
    assert list(stack["time"].values) == sorted(stack["time"].values)
    assert [Path(s).name for s in stack["source"].values] == [p.name for p in paths]
    values = stack.values
    assert np.isnan(values[2, :10]).all() and np.isfinite(values[2, 10:]).all() and np.isfinite(values[[0, 1, 3]]).all()
    with rasterio.open(paths[0]) as src:
        np.testing.assert_array_equal(values[0], src.read(1))
        assert stack.rio.crs == src.crs and stack.rio.transform() == src.transform
    assert stack.attrs["domain"] == "intensity" and stack.encoding["_FillValue"] == -99.0


def test_folder_glob_and_list__give_the_same_stack(dates_on_disk) -> None:
    paths = dates_on_disk(3)
    folder = paths[0].parent
    by_list = engine.open_stack(paths).values
    np.testing.assert_array_equal(engine.open_stack(folder).values, by_list)
    np.testing.assert_array_equal(engine.open_stack(str(folder / "*_VV.tif")).values, by_list)


def test_zarr_store_and_xarray_objects_with_time(dates_on_disk, tmp_path: Path) -> None:
    stack = engine.open_stack(dates_on_disk(3))
    store = tmp_path / "series.zarr"
    stack.to_dataset(name="sigma0").to_zarr(store)
    from_store = engine.open_stack(store)
    np.testing.assert_array_equal(from_store.values, stack.values)
    assert from_store.dims == ("time", "y", "x")
    as_dataset = xr.Dataset({"sigma0": stack.compute(), "other": stack.isel(time=0, drop=True).compute()})
    np.testing.assert_array_equal(engine.open_stack(as_dataset).values, stack.values)


def test_a_single_date_is_refused_with_the_command_for_one_scene(dates_on_disk) -> None:
    path = dates_on_disk(1)[0]
    with pytest.raises(InputError, match="at least 2 dates.*despeckle run"):
        engine.open_stack([path])
    one = xr.DataArray(np.ones((1, 8, 8), "float32"), dims=("time", "y", "x"), attrs={"domain": "intensity"})
    with pytest.raises(InputError, match="at least 2 dates"):
        engine.open_stack(one)


def test_an_array_without_time_or_with_bands_is_refused() -> None:
    with pytest.raises(InputError, match="'time' dimension"):
        engine.open_stack(xr.DataArray(np.ones((3, 8, 8), "float32"), dims=("band", "y", "x")))
    with pytest.raises(InputError, match=r"\(time, y, x\)"):
        engine.open_stack(xr.DataArray(np.ones((2, 2, 8, 8), "float32"), dims=("time", "band", "y", "x")))


def test_dates_on_other_grids__are_refused_saying_what_differs_or_aligned(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    clean = reflectivity()
    first = write_date(tmp_path / "a_20200101.tif", (clean * rng.gamma(1, 1, clean.shape)).astype("float32"))
    # The second date covers a footprint 8 px further east (same pixel grid, shifted extent).
    shifted = ORIGIN * ORIGIN.translation(8, 0)
    second = write_date(tmp_path / "b_20200113.tif", (clean * rng.gamma(1, 1, clean.shape)).astype("float32"), transform=shifted)
    with pytest.raises(InputError, match="not on the first date's grid.*align"):
        engine.open_stack([first, second])
    stack = engine.open_stack([first, second], align=True).values
    with rasterio.open(second) as src:
        original = src.read(1)
    # Outside the second date's footprint: no pixel there, and only there; inside: its own pixels.
    assert np.isnan(stack[1][:, :8]).all()
    np.testing.assert_allclose(stack[1][:, 8:], original[:, :-8], rtol=1e-6)
    assert np.isfinite(stack[0]).all()


def test_other_crs_is_refused(tmp_path: Path) -> None:
    values = np.ones((16, 16), "float32")
    a = write_date(tmp_path / "a_20200101.tif", values)
    b = write_date(tmp_path / "b_20200113.tif", values, crs="EPSG:32632")
    with pytest.raises(InputError, match="CRS"):
        engine.open_stack([a, b])


def test_dates_of_different_kinds_are_refused(tmp_path: Path) -> None:
    values = np.ones((16, 16), "float32")
    a = write_date(tmp_path / "a_20200101.tif", values, domain="intensity")
    b = write_date(tmp_path / "b_20200113.tif", values, domain="db")
    with pytest.raises(InputError, match="different kinds of values"):
        engine.open_stack([a, b])


def test_a_missing_domain_is_said_once_for_the_stack_not_once_per_date(tmp_path: Path) -> None:
    paths = [write_date(tmp_path / f"d_2020010{k + 1}.tif", np.ones((16, 16), "float32"), domain=None) for k in range(4)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.open_stack(paths)
    assert sum(issubclass(w.category, DomainAssumedWarning) for w in caught) == 1


def test_names_without_dates_keep_the_order_given(tmp_path: Path) -> None:
    paths = [write_date(tmp_path / name, np.full((8, 8), k + 1.0, "float32")) for k, name in enumerate(["north.tif", "east.tif", "west.tif"])]
    with pytest.warns(UserWarning, match="order given"):
        stack = engine.open_stack(paths)
    assert list(stack.values[:, 0, 0]) == [1.0, 2.0, 3.0]
    assert "order given" in stack.attrs["time_note"]


def test_the_same_file_twice_and_an_empty_glob_are_refused(dates_on_disk, tmp_path: Path) -> None:
    path = dates_on_disk(2)[0]
    with pytest.raises(InputError, match="more than once"):
        engine.open_stack([path, path])
    with pytest.raises(InputError, match="no file matches"):
        engine.open_stack(str(tmp_path / "nothing*.tif"))


def test_align__keeps_each_dates_values_in_db_and_uses_the_earliest_dates_grid(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    clean = reflectivity()
    db = [(10 * np.log10(clean * rng.gamma(1, 1, clean.shape))).astype("float32") for _ in range(2)]
    late = write_date(tmp_path / "late_20200213.tif", db[1], crs="EPSG:32632", domain="db",
                      transform=rasterio.Affine(20.0, 0.0, 13_000.0, 0.0, -20.0, 4_818_000.0))
    early = write_date(tmp_path / "early_20200101.tif", db[0], domain="db")
    stack = engine.open_stack([late, early], align=True)  # the later date first: the earliest date's grid is kept
    assert stack.rio.crs.to_epsg() == 32631 and stack.shape[1:] == db[0].shape
    aligned = stack.values[1]
    found = aligned[np.isfinite(aligned)]
    assert found.size > 0.2 * aligned.size
    # Nearest neighbour: every value is one of the date's own (no dB averaging, no smoothed speckle).
    assert np.isin(found, db[1]).all()


def test_names_without_dates__are_said_to_keep_the_order_given(tmp_path: Path) -> None:
    paths = [write_date(tmp_path / name, np.ones((8, 8), "float32")) for name in ["north.tif", "east.tif"]]
    with pytest.warns(UserWarning, match="no dates in the file names"):
        engine.open_stack(paths)
