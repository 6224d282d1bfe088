"""Properties every classical filter must have, driven by the registry: a new filter gets all of
them automatically (chunk invariance, nodata, tiny scenes, radiometry, speckle reduction)."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.exceptions import ChunkSizeWarning
from engine.speckle import local_enl
from engine.synthetic import speckle

FILTERS = engine.list_methods(kind="filter")


def scene(array: np.ndarray | da.Array, **attrs: object) -> xr.DataArray:
    dims = ("y", "x") if array.ndim == 2 else ("band", "y", "x")
    return xr.DataArray(array, dims=dims, attrs={"domain": "intensity", "looks": 1.0, **attrs})


def run(array: np.ndarray | da.Array, method: str, **kw: object) -> np.ndarray:
    return np.asarray(engine.despeckle(scene(array), method, **kw).values)


def test_registry__lists_every_required_filter() -> None:
    required = {"boxcar", "median", "lee", "enhanced-lee", "refined-lee", "lee-sigma", "frost", "gamma-map", "kuan"}
    assert required <= set(FILTERS)


@pytest.mark.parametrize("method", FILTERS)
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_filter__output_does_not_depend_on_chunking(method: str, data: st.DataObject) -> None:
    height = data.draw(st.integers(1, 70), label="height")
    width = data.draw(st.integers(1, 70), label="width")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    chunk_y = data.draw(st.integers(1, height), label="chunk_y")
    chunk_x = data.draw(st.integers(1, width), label="chunk_x")
    rng = np.random.default_rng(seed)
    image = (rng.gamma(1.0, 1.0, (height, width)) * rng.choice([1.0, 20.0], size=(height, width))).astype(np.float32)
    image[rng.random((height, width)) < 0.05] = np.nan
    whole = run(da.from_array(image, chunks=-1), method)
    with warnings.catch_warnings():
        # Chunks smaller than the halo are rechunked with a ChunkSizeWarning (tested in tiling).
        warnings.simplefilter("ignore", ChunkSizeWarning)
        tiled = run(da.from_array(image, chunks=(chunk_y, chunk_x)), method)
    np.testing.assert_array_equal(tiled, whole)


@pytest.mark.parametrize("method", FILTERS)
def test_filter__nodata_never_leaks_and_stays_nodata(method: str, speckled: np.ndarray) -> None:
    with_nan = speckled.copy()
    with_nan[30:50, 30:60] = np.nan
    with_nodata = speckled.copy()
    with_nodata[30:50, 30:60] = -9999.0
    expected = run(with_nan, method)
    got = np.asarray(engine.despeckle(scene(with_nodata, _FillValue=-9999.0), method).values)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[30:50, 30:60]).all()
    assert np.isfinite(got[:30]).all() and np.isfinite(got[50:]).all()


@pytest.mark.parametrize("method", FILTERS)
def test_filter__pixels_next_to_nodata_ignore_its_values(method: str, speckled: np.ndarray) -> None:
    a = speckled.copy()
    b = speckled.copy()
    a[40:44, :] = np.nan
    b[40:44, :] = np.nan
    b[:40] *= 1000.0  # everything above the nodata band changes...
    out_a, out_b = run(a, method), run(b, method)
    # ...but nothing below it can see those pixels through the nodata band only if the band is
    # wider than the halo; with a 4-row band and halo 3 the rows from 47 on are untouched.
    np.testing.assert_array_equal(out_a[47:], out_b[47:])


@pytest.mark.parametrize("method", FILTERS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 2), (3, 50)])
def test_filter__tiny_scenes(method: str, shape: tuple[int, int]) -> None:
    image = np.random.default_rng(1).gamma(1.0, 1.0, shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChunkSizeWarning)
        out = run(da.from_array(image, chunks=1), method)
    assert out.shape == shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()


@pytest.mark.parametrize("method", FILTERS)
def test_filter__constant_and_zero_scenes_are_unchanged(method: str) -> None:
    for value in (0.0, 3.5):
        image = np.full((20, 20), value, dtype=np.float32)
        np.testing.assert_allclose(run(image, method), image, rtol=1e-6)


@pytest.mark.parametrize("method", FILTERS)
def test_filter__bands_are_processed_independently(method: str, speckled: np.ndarray) -> None:
    stack = np.stack([speckled, speckled[::-1] * 3.0])
    out = run(da.from_array(stack, chunks=(1, 40, 40)), method)
    np.testing.assert_array_equal(out[1], run(speckled[::-1] * 3.0, method))


@pytest.mark.parametrize("method", FILTERS)
def test_filter__reduces_speckle_and_keeps_radiometry(method: str) -> None:
    looks = 4.0
    image = speckle((300, 300), looks, np.random.default_rng(7))
    kw = {"looks": looks} if any(p.name == "looks" for p in engine.get_method(method).parameters) else {}
    out = run(image, method, **kw)[10:-10, 10:-10]
    enl_in = np.median(local_enl(image, 9))
    enl_out = np.median(local_enl(out, 9))
    assert enl_out > 10 * enl_in, f"{method}: ENL {enl_in:.1f} -> {enl_out:.1f}"
    ratio = out.mean() / image[10:-10, 10:-10].mean()
    if method == "median":
        # The median of L-look Gamma speckle is below its mean (documented bias).
        from scipy.stats import gamma

        assert ratio == pytest.approx(gamma(looks, scale=1 / looks).median(), abs=0.02)
    else:
        assert ratio == pytest.approx(1.0, abs=0.03), f"{method} is biased: mean ratio {ratio:.3f}"


@pytest.mark.parametrize("method", FILTERS)
def test_filter__parameters_are_validated(method: str) -> None:
    with pytest.raises(engine.exceptions.ParameterError, match="no parameter"):
        run(np.ones((8, 8), np.float32), method, not_a_parameter=1)
    with pytest.raises(engine.exceptions.ParameterError, match="window_size_px must be"):
        run(np.ones((8, 8), np.float32), method, window_size_px=4)
