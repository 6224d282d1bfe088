"""engine.despeckle: domains, nodata, value checks, laziness, provenance."""

from __future__ import annotations

import json

import dask.array as da
import numpy as np
import pytest
import xarray as xr

import engine
from engine.exceptions import DomainAssumedWarning, InputError, ParameterError, UnsupportedDtypeError


def intensity_scene(array: np.ndarray, **attrs: object) -> xr.DataArray:
    return xr.DataArray(da.from_array(array, chunks=32), dims=("y", "x"), attrs={"domain": "intensity", **attrs})


@pytest.mark.parametrize("domain, encode", [
    ("amplitude", np.sqrt),
    ("db", lambda i: 10 * np.log10(i)),
])
def test_despeckle__works_in_intensity_and_returns_the_input_domain(domain: str, encode, speckled: np.ndarray) -> None:
    expected = engine.despeckle(intensity_scene(speckled), "lee").values
    out = engine.despeckle(intensity_scene(encode(speckled).astype(np.float32), domain=domain), "lee")
    assert out.attrs["domain"] == domain
    np.testing.assert_allclose(out.values, encode(expected), rtol=2e-5, atol=2e-5)
    back = engine.despeckle(intensity_scene(encode(speckled).astype(np.float32), domain=domain), "lee", output_domain="intensity")
    np.testing.assert_allclose(back.values, expected, rtol=2e-5)


def test_despeckle__complex_input_gives_intensity(rng: np.random.Generator) -> None:
    z = (rng.standard_normal((40, 40)) + 1j * rng.standard_normal((40, 40))).astype(np.complex64)
    out = engine.despeckle(z, "boxcar", window_size_px=3)
    assert out.attrs["domain"] == "intensity"
    intensity = (np.abs(z) ** 2).astype(np.float32)
    np.testing.assert_allclose(out.values, engine.despeckle(intensity, "boxcar", domain="intensity", window_size_px=3).values, rtol=1e-5)
    with pytest.raises(ParameterError, match="domain must be one of"):
        engine.despeckle(z, "boxcar", output_domain="complex")


def test_despeckle__is_lazy_for_dask_input_and_eager_for_numpy(speckled: np.ndarray) -> None:
    lazy = engine.despeckle(intensity_scene(speckled), "lee")
    assert isinstance(lazy.data, da.Array)
    eager = engine.despeckle(speckled, "lee", domain="intensity")
    assert isinstance(eager.data, np.ndarray)
    np.testing.assert_array_equal(lazy.values, eager.values)


def test_despeckle__adds_provenance_and_drops_stale_attributes(speckled: np.ndarray) -> None:
    out = engine.despeckle(intensity_scene(speckled, looks=2.0, STATISTICS_MEAN=3.0, title="x"), "lee", window_size_px=5)
    assert out.attrs["despeckle_method"] == "lee"
    assert json.loads(out.attrs["despeckle_parameters"]) == {"looks": 2.0, "window_size_px": 5}
    assert out.attrs["despeckle_version"] == engine.__version__
    assert out.attrs["input_looks"] == 2.0
    assert out.attrs["title"] == "x"
    assert "STATISTICS_MEAN" not in out.attrs and "looks" not in out.attrs


def test_despeckle__looks_default_from_the_scene(speckled: np.ndarray) -> None:
    from_attr = engine.despeckle(intensity_scene(speckled, looks=4.0), "lee").values
    explicit = engine.despeckle(intensity_scene(speckled), "lee", looks=4.0).values
    np.testing.assert_array_equal(from_attr, explicit)


def test_despeckle__warns_when_the_domain_is_assumed(speckled: np.ndarray) -> None:
    with pytest.warns(DomainAssumedWarning, match="assuming intensity"):
        engine.despeckle(speckled, "lee")


def test_despeckle__negative_intensities_are_refused_with_a_hint(speckled: np.ndarray) -> None:
    bad = speckled.copy()
    bad[5, 7] = -2.0
    with pytest.raises(InputError, match=r"negative intensity values .*--domain db"):
        engine.despeckle(intensity_scene(bad), "lee").compute()


def test_despeckle__infinite_values_are_refused(speckled: np.ndarray) -> None:
    bad = speckled.copy()
    bad[70, 3] = np.inf
    with pytest.raises(InputError, match=r"infinite values in rows 64-95"):
        engine.despeckle(intensity_scene(bad), "lee").compute()


def test_despeckle__zero_intensity_is_valid_and_has_no_db(speckled: np.ndarray) -> None:
    image = speckled.copy()
    image[:20] = 0.0
    out = engine.despeckle(intensity_scene(image), "lee").values
    assert (out[:15] == 0).all()
    db = engine.despeckle(intensity_scene(image), "lee", output_domain="db").values
    assert np.isnan(db[:15]).all() and np.isfinite(db[30:]).all()


def test_despeckle__integer_input_is_accepted(rng: np.random.Generator) -> None:
    counts = rng.integers(0, 1000, (30, 30)).astype(np.uint16)
    out = engine.despeckle(counts, "boxcar", domain="amplitude")
    assert out.dtype == np.float32


@pytest.mark.parametrize("data, error, match", [
    (np.ones((4, 4), bool), UnsupportedDtypeError, "dtype bool"),
    (np.array([["a"]]), UnsupportedDtypeError, "dtype <U1"),
    (np.ones((4,)), InputError, "expected a 2-D"),
    (np.ones((0, 5), np.float32), InputError, "empty"),
])
def test_despeckle__bad_arrays(data: np.ndarray, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        engine.despeckle(data, "lee", domain="intensity")


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "no-such"}, "unknown method 'no-such'"),
    ({"method": "lee", "looks": -1}, "looks must be a finite number > 0"),
    ({"method": "lee", "window_size_px": 203}, "window_size_px must be <= 101"),
    ({"method": "lee", "window_size_px": "seven"}, "must be a number"),
    ({"method": "lee", "domain": "phase"}, "domain must be one of"),
    ({"method": "lee", "output_domain": "sigma"}, "domain must be one of"),
])
def test_despeckle__parameter_errors(kwargs: dict, match: str, speckled: np.ndarray) -> None:
    kwargs = {"domain": "intensity", **kwargs}
    with pytest.raises(ParameterError, match=match):
        engine.despeckle(speckled, **kwargs)


def test_despeckle__spatial_dims_must_come_last(speckled: np.ndarray) -> None:
    scene = xr.DataArray(speckled, dims=("y", "x"), attrs={"domain": "intensity"}).expand_dims(band=2).transpose("y", "band", "x")
    with pytest.raises(InputError, match=r"must be the last two.*transpose"):
        engine.despeckle(scene, "lee")


@pytest.mark.parametrize("method", engine.list_methods(kind="filter"))
def test_despeckle__file_scenes_read_their_halos_and_match_in_memory_processing(tmp_path, method: str, speckled: np.ndarray) -> None:
    from engine.sources import source_of
    from tests.conftest import write_geotiff

    stack = np.stack([speckled, speckled[::-1] * 5]).astype(np.float32)
    stack[:, 10:20, 30:50] = -1.0
    path = write_geotiff(tmp_path / "s.tif", stack, nodata=-1.0)
    scene = engine.open_scene(path, domain="intensity", chunk_px=23)
    assert source_of(scene) is not None  # blocks read their own halo from the file
    from_file = engine.despeckle(scene, method).values
    in_memory = np.where(stack == -1.0, np.nan, stack)
    expected = engine.despeckle(xr.DataArray(da.from_array(in_memory, chunks=(1, 40, 33)), dims=("band", "y", "x"), attrs={"domain": "intensity"}), method).values
    np.testing.assert_array_equal(from_file, expected)
    assert source_of(scene * 1.0) is None  # changed data are no longer what the file holds


def _speckle(looks: float, shape: tuple[int, int] = (600, 600)) -> np.ndarray:
    return np.random.default_rng(11).gamma(looks, 1.0 / looks, shape).astype(np.float32)


def test_assumed_looks__a_multi_look_scene_is_said_what_its_speckle_measures() -> None:
    from engine.exceptions import LooksAssumedWarning

    scene = xr.DataArray(da.from_array(_speckle(4.0), chunks=200), dims=("y", "x"), attrs={"domain": "intensity"})
    with pytest.warns(LooksAssumedWarning, match=r"lee assumes 1 look; its speckle measures about (3\.[5-9]|4\.[0-4]) looks") as caught:
        out = engine.despeckle(scene, "lee")
    assert len(caught) == 1 and "--looks" in str(caught[0].message)
    assert caught[0].filename == __file__  # pointed at the caller, not at engine code
    # the run goes on with 1 look, as SNAP and OTB assume
    np.testing.assert_array_equal(out.values, engine.despeckle(scene, "lee", looks=1.0).values)


@pytest.mark.parametrize("case", ["one look", "stated", "metadata", "estimating model", "display"])
def test_assumed_looks__nothing_said_where_nothing_is_wrong(case: str) -> None:
    import warnings

    from engine.exceptions import LooksAssumedWarning

    attrs: dict[str, object] = {"domain": "intensity"}
    method, parameters = "lee", {}
    values = _speckle(4.0)
    if case == "one look":
        values = _speckle(1.0)
    elif case == "stated":
        parameters = {"looks": 4.0}
    elif case == "metadata":
        attrs["looks"] = 4.0
    elif case == "estimating model":
        pytest.importorskip("torch")
        method = "looks-unet"
    else:
        attrs = {"domain": "display", "dynamic_range_db": 60.0}
        values = np.clip(128 + 10 * np.log10(values), 0, 255).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LooksAssumedWarning)
        engine.despeckle(xr.DataArray(values, dims=("y", "x"), attrs=attrs), method, **parameters)


def test_assumed_looks__a_tile_is_told_its_whole_scenes_measure() -> None:
    """A tile cut by 'despeckle tile' carries the whole scene's looks: the heads-up quotes them,
    not the tile's own sample (following it tile by tile would make tiles differ)."""
    from engine.conventions import SCENE_STATISTICS_TAG
    from engine.exceptions import LooksAssumedWarning

    tile = xr.DataArray(_speckle(4.0, (200, 200)), dims=("y", "x"), attrs={"domain": "intensity", SCENE_STATISTICS_TAG: json.dumps({"looks": 7.25})})
    with pytest.warns(LooksAssumedWarning, match=r"measures about 7\.2 looks \(median ENL of the whole scene this tile was cut from"):
        engine.despeckle(tile, "kuan")
