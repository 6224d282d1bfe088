"""The stack methods: what they compute, that chunking does not change it, and how they treat
speckle statistics, changes and missing dates."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import engine
from engine.exceptions import ParameterError
from engine.stack import enl_map, temporal_mean
from engine.stack._dates import temporal_weights
from tests.stack.conftest import reflectivity


def _stack(values: np.ndarray, *, looks: float = 1.0, chunk: int | None = None, days: list[int] | None = None) -> xr.DataArray:
    times = np.datetime64("2020-01-01") + np.array(days if days is not None else range(values.shape[0])) * np.timedelta64(12, "D")
    stack = xr.DataArray(values.astype(np.float32), dims=("time", "y", "x"), coords={"time": times},
                         attrs={"domain": "intensity", "looks": looks})
    return stack.chunk({"y": chunk, "x": chunk}) if chunk else stack.chunk()


def _speckled(dates: int, *, looks: float = 1.0, seed: int = 0, clean: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = reflectivity() if clean is None else clean
    refs = np.repeat(base[None], dates, axis=0)
    return refs, refs * rng.gamma(looks, 1.0 / looks, refs.shape)


def test_quegan__is_the_local_mean_times_the_mean_ratio_leaving_out_missing_dates() -> None:
    _, noisy = _speckled(5)
    noisy[1, :20] = np.nan  # a date without pixels there
    out = engine.despeckle_stack(_stack(noisy), "quegan", spatial="lee").values
    local = np.stack([engine.despeckle(noisy[t].astype(np.float32), "lee", domain="intensity").values for t in range(5)])
    ratio = noisy / local
    expected = local * np.nanmean(ratio, axis=0)  # dates without a pixel are left out of the mean
    expected[np.isnan(noisy)] = np.nan
    np.testing.assert_allclose(out, expected, rtol=2e-5, equal_nan=True)


def test_temporal_window__keeps_the_nearest_dates() -> None:
    weights = temporal_weights([0.0, 12.0, 24.0, 36.0, 400.0], 3)
    assert weights[0].tolist() == [1, 1, 1, 0, 0]
    assert weights[3].tolist() == [0, 1, 1, 1, 0]  # 24 and 12 are nearer than 400
    assert weights[4].tolist() == [0, 0, 1, 1, 1]
    assert (temporal_weights([0.0, 1.0], 0) == 1).all() and (temporal_weights([0.0, 1.0], 5) == 1).all()


def test_temporal_window__a_late_change_does_not_reach_early_dates_through_the_window() -> None:
    refs, noisy = _speckled(6, seed=3)
    noisy[4:, 30:60, 80:120] *= 20.0  # a strong late change
    windowed = engine.despeckle_stack(_stack(noisy), "quegan", spatial="boxcar", temporal_window=2).values
    every = engine.despeckle_stack(_stack(noisy), "quegan", spatial="boxcar").values
    region = (slice(35, 55), slice(85, 115))
    # Quegan keeps each date's radiometry either way; the window also keeps the late dates' texture
    # out of the early dates' average.
    assert abs(np.mean(windowed[0][region]) / np.mean(refs[0][region]) - 1) < 0.25
    assert np.std(windowed[0][region] - every[0][region]) > 0


@pytest.mark.parametrize("method, parameters", [
    ("quegan", {"spatial": "refined-lee"}),
    ("quegan", {"spatial": "lee-sigma", "temporal_window": 3}),
    ("ratio", {"ratio_method": "lee", "super_image_method": "refined-lee"}),
    ("ratio", {"ratio_method": "kuan", "super_image_method": "lee", "temporal_window": 2}),
])
def test_chunk_size_does_not_change_the_result(method: str, parameters: dict) -> None:
    _, noisy = _speckled(4, seed=1)
    noisy[2, 5:30, 40:70] = np.nan
    whole = engine.despeckle_stack(_stack(noisy), method, **parameters).values
    for chunk in (32, 40, 57):
        tiled = engine.despeckle_stack(_stack(noisy, chunk=chunk), method, **parameters).values
        np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-7, equal_nan=True)


def test_ratio_with_a_model__is_chunk_invariant(tiny_model_available) -> None:
    _, noisy = _speckled(3, seed=2, clean=reflectivity(96, 96))
    whole = engine.despeckle_stack(_stack(noisy), "ratio", ratio_method=tiny_model_available, super_image_method="none").values
    tiled = engine.despeckle_stack(_stack(noisy, chunk=48), "ratio", ratio_method=tiny_model_available, super_image_method="none").values
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-6)


@pytest.fixture
def tiny_model_available() -> str:
    method = engine.get_method("looks-unet")
    if method.unavailable_reason is not None:
        pytest.skip(f"looks-unet is not available here: {method.unavailable_reason}")
    return "looks-unet"


@pytest.mark.parametrize("method, parameters", [("quegan", {"spatial": "boxcar"}), ("ratio", {"ratio_method": "lee", "super_image_method": "none"})])
def test_on_a_flat_scene__the_looks_grow_with_the_dates_and_the_mean_is_kept(method: str, parameters: dict) -> None:
    dates = 8
    refs, noisy = _speckled(dates, seed=4, clean=np.ones((128, 128)))
    out = engine.despeckle_stack(_stack(noisy, chunk=64), method, **parameters).values[:, 8:-8, 8:-8]
    assert abs(out.mean() - 1.0) < 0.03
    enl = out.mean() ** 2 / out.var()
    # On a flat scene both average the dates' speckle (1/dates) and keep the noise of a 7x7 local
    # mean (1/49): about 6.9 looks for 8 one-look dates.
    expected = 1.0 / (1.0 / dates + 1.0 / 49.0)
    assert 0.9 * expected < enl < 1.2 * expected


def test_changes__keep_their_radiometry() -> None:
    refs, noisy = _speckled(8, seed=5)
    field = (slice(5, 20), slice(70, 110))
    for t in range(4, 8):
        refs[t][field] *= 6.0
        noisy[t][field] *= 6.0
    for method, parameters in (("quegan", {"spatial": "refined-lee"}), ("ratio", {"ratio_method": "lee", "super_image_method": "lee"})):
        out = engine.despeckle_stack(_stack(noisy), method, **parameters).values
        inner = (slice(8, 17), slice(75, 105))
        for t in (1, 6):
            assert abs(out[t][inner].mean() / refs[t][inner].mean() - 1.0) < 0.15, (method, t)


def test_db_stack__comes_back_in_db_with_nodata_kept() -> None:
    _, noisy = _speckled(3, seed=6)
    db = 10 * np.log10(noisy)
    db[0, :4] = np.nan
    stack = xr.DataArray(db.astype(np.float32), dims=("time", "y", "x"), attrs={"domain": "db", "looks": 1.0})
    out = engine.despeckle_stack(stack, "quegan")
    assert out.attrs["domain"] == "db" and out.attrs["units"] == "dB"
    values = out.values
    assert np.isnan(values[0, :4]).all() and np.isfinite(values[0, 4:]).all()
    assert abs(np.nanmean(values) - np.nanmean(db)) < 3.0  # dB of a smoothed mean, not of intensity


def test_accessor__routes_stack_methods_and_keeps_coordinates() -> None:
    _, noisy = _speckled(3)
    stack = _stack(noisy)
    via_accessor = stack.despeckle(method="quegan", spatial="refined-lee")
    np.testing.assert_array_equal(via_accessor.values, engine.despeckle_stack(stack, "quegan", spatial="refined-lee").values)
    assert (via_accessor["time"].values == stack["time"].values).all()
    assert via_accessor.attrs["despeckle_method"] == "quegan"
    dataset = xr.Dataset({"vv": stack}).despeckle(method="quegan")
    assert dataset["vv"].attrs["despeckle_method"] == "quegan"


def test_the_provenance_says_which_methods_ran() -> None:
    _, noisy = _speckled(3)
    out = engine.despeckle_stack(_stack(noisy), "ratio", ratio_method="auto", super_image_method="none")
    assert '"ratio_method": "auto"' not in out.attrs["despeckle_parameters"]


def test_names__one_name_space_and_clear_refusals() -> None:
    with pytest.raises(ParameterError, match="stack of dates.*despeckle stack"):
        engine.get_method("quegan")
    with pytest.raises(ParameterError, match="despeckles one image.*spatial='lee'"):
        engine.despeckle_stack(_stack(np.ones((2, 8, 8))), "lee")
    with pytest.raises(ParameterError, match="spatial must be one of"):
        engine.despeckle_stack(_stack(np.ones((2, 8, 8))), "quegan", spatial="looks-unet")
    assert engine.list_stack_methods() == ["quegan", "ratio"]


def test_extras__temporal_mean_and_enl() -> None:
    dates = 8
    _, noisy = _speckled(dates, seed=7, clean=np.ones((64, 64)))
    stack = _stack(noisy, chunk=32)
    mean = temporal_mean(stack).values
    np.testing.assert_allclose(mean, noisy.mean(axis=0), rtol=1e-5)
    enl = enl_map(stack, window_size_px=7).values
    # The temporal mean of 8 one-look dates has about 8 looks (a 7x7 estimate scatters around it).
    assert 5.5 < np.nanmedian(enl) < 11
    np.testing.assert_allclose(enl_map(_stack(noisy), window_size_px=7).values, enl, rtol=1e-4)


def test_quegan__reading_halos_from_the_files_equals_sharing_blocks(dates_on_disk) -> None:
    stack = engine.open_stack(dates_on_disk(3, holes={1: (slice(0, 9), slice(None))}), chunk_px=40)
    from_files = engine.despeckle_stack(stack, "quegan", spatial="refined-lee").values
    changed = stack.copy(data=stack.data * 1.0)  # any change: the halos come from the neighbouring blocks instead
    from engine.stack._open import date_scenes

    assert date_scenes(stack) is not None and date_scenes(changed) is None
    np.testing.assert_allclose(engine.despeckle_stack(changed, "quegan", spatial="refined-lee").values, from_files, rtol=2e-6, equal_nan=True)


def test_assumed_looks__multi_look_dates_are_said_what_they_measure() -> None:
    """Dates that do not state their looks are taken as 1 look, as single scenes are; where the
    first date's speckle measures clearly more, the stack says so once, with the figure."""
    from engine.scene import LOOKS_SOURCE

    rng = np.random.default_rng(3)
    values = rng.gamma(4.0, 1.0 / 4.0, (3, 300, 300)).astype(np.float32)
    dates = xr.DataArray(values, dims=("time", "y", "x"), coords={"time": np.arange(3)},
                         attrs={"domain": "intensity", "looks": 1.0, LOOKS_SOURCE: "assumed"})
    with pytest.warns(engine.exceptions.LooksAssumedWarning, match=r"the dates do not state their number of looks, so quegan assumes 1 look; "
                      r"its speckle measures about (3\.[5-9]|4\.[0-4]) looks") as caught:
        engine.despeckle_stack(dates, "quegan", spatial="lee")
    assert len(caught) == 1
    stated = dates.assign_attrs(looks=4.0)
    del stated.attrs[LOOKS_SOURCE]
    engine.despeckle_stack(stated, "quegan", spatial="lee")  # stated: nothing said (warnings are errors here)
