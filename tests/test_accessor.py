"""da.despeckle / ds.despeckle: lazy in, lazy out, coordinates, CRS and attributes kept."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import engine
from engine.exceptions import ParameterError
from engine.synthetic import synthetic_scene


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene((96, 80), looks=1.0, seed=3, chunk_px=40)


def test_dataarray_accessor__lazy_with_coordinates_crs_and_provenance(scene) -> None:
    out = scene.despeckle(method="refined-lee", looks=1.0)
    assert isinstance(out.data, da.Array)
    assert out.rio.crs == scene.rio.crs
    assert out.rio.transform() == scene.rio.transform()
    np.testing.assert_array_equal(out.x, scene.x)
    np.testing.assert_array_equal(out.y, scene.y)
    assert out.attrs["despeckle_method"] == "refined-lee"
    assert out.attrs["long_name"] == scene.attrs["long_name"]
    np.testing.assert_array_equal(out.values, engine.despeckle(scene, "refined-lee", looks=1.0).values)


def test_dataarray_accessor__runs_a_model_like_a_filter(scene) -> None:
    pytest.importorskip("torch")
    out = scene.despeckle(method="looks-unet", device="cpu")
    assert isinstance(out.data, da.Array) and out.rio.crs == scene.rio.crs and out.rio.transform() == scene.rio.transform()
    assert out.attrs["despeckle_method"] == "looks-unet"
    # Chunks of 40 px, below the model's halo: the same as the library on the whole scene at once.
    np.testing.assert_allclose(out.values, engine.despeckle(scene.chunk(-1), "looks-unet", device="cpu").values, rtol=1e-4)


@pytest.mark.filterwarnings("ignore::engine.exceptions.MethodFallbackWarning")
def test_dataarray_accessor__default_method(scene) -> None:
    """No method: the default ("auto"), the best available model, the same as naming it."""
    default = engine.pipeline.choose_method(None, scene)
    out = scene.despeckle()
    assert out.attrs["despeckle_method"] == default.name
    np.testing.assert_array_equal(out.values, engine.despeckle(scene, default.name).values)


def test_dataset_accessor__despeckles_raster_variables_only(scene) -> None:
    ds = scene.to_dataset(name="vv")
    ds["vh"] = scene * 0.3
    ds["vh"].attrs = dict(scene.attrs)
    ds["quality"] = ("x", np.arange(scene.sizes["x"]))
    out = ds.despeckle(method="boxcar", window_size_px=3)
    assert out["vv"].attrs["despeckle_method"] == "boxcar"
    assert out["vh"].attrs["despeckle_method"] == "boxcar"
    np.testing.assert_array_equal(out["quality"], ds["quality"])
    only = ds.despeckle(method="boxcar", variables=["vh"])
    assert "despeckle_method" not in only["vv"].attrs
    with pytest.raises(ParameterError, match="no data variable"):
        ds.despeckle(variables=["hh"])
