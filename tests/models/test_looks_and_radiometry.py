"""Models told the number of looks (stated or estimated), and the radiometric guard every model's
output goes through (zeros, point targets, no estimate above its neighbourhood)."""

from __future__ import annotations

import sys
import warnings

import dask.array as da
import numpy as np
import pytest
import torch
import xarray as xr

import engine
from engine.exceptions import MethodFallbackWarning, NotSpeckleWarning
from engine.models import SPECS, Weights, model_method
from engine.models._radiometry import CAP_RADIUS_PX, guard, speckle_threshold
from engine.scene_statistics import scene_looks
from engine.speckle import estimate_looks
from engine.synthetic import reflectivity, speckle
from tests.models.conftest import method_for, perturbed_network


def speckled(shape: tuple[int, int], looks: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (reflectivity(shape, rng) * speckle(shape, looks, rng)).astype(np.float32)


def unstated(array: np.ndarray, chunks) -> xr.DataArray:
    """A scene whose looks nobody states (no ``looks`` attribute)."""
    return xr.DataArray(da.from_array(array, chunks=chunks), dims=("y", "x"), attrs={"domain": "intensity"})


@pytest.mark.parametrize("looks", [1.0, 4.0, 12.0])
def test_scene_looks__is_the_estimate_whatever_the_chunking(looks: float) -> None:
    noise = speckle((700, 650), looks, np.random.default_rng(3))
    expected = estimate_looks(noise)
    for chunks in [(-1, -1), (100, 77), (333, 650)]:
        got = float(scene_looks(da.from_array(noise, chunks=chunks)).compute())
        assert got == pytest.approx(expected, rel=0.003), chunks  # the histogram's bin width
    assert expected == pytest.approx(looks, rel=0.15)


def test_scene_looks__smooth_input_warns_that_it_is_not_speckle() -> None:
    smooth = 100.0 + np.random.default_rng(0).normal(0.0, 1.0, (200, 200))
    with pytest.warns(NotSpeckleWarning, match="far smoother than SAR speckle"):
        scene_looks(da.from_array(smooth, chunks=100)).compute()


@pytest.mark.parametrize("name", [name for name, spec in SPECS.items() if spec.looks_conditioned])
def test_looks_conditioned_models__are_told_the_looks_and_they_change_their_output(name: str) -> None:
    network = perturbed_network(name)
    x = torch.from_numpy(np.log(speckled((64, 64), 1.0))[None, None])
    one, sixteen = network.body(x, 1.0), network.body(x, 16.0)
    assert not torch.allclose(one, sixteen)
    per_image = network.body(x.repeat(2, 1, 1, 1), torch.tensor([1.0, 16.0]))
    torch.testing.assert_close(per_image[0], one[0])
    torch.testing.assert_close(per_image[1], sixteen[0])


def test_looks_unet__stated_looks_win_and_unstated_looks_are_estimated() -> None:
    method = method_for("looks-unet")
    image = speckled((256, 240), 4.0)
    estimated = engine.despeckle(unstated(image, 128), method, device="cpu")
    statistics = estimated.encoding["despeckle_statistics"]
    assert float(statistics["looks"].compute()) == pytest.approx(estimate_looks(image), rel=0.003)
    assert "estimated" in estimated.attrs["input_looks"]
    assert "looks_source" not in estimated.attrs
    told = engine.despeckle(unstated(image, 128), method, device="cpu", looks=float(statistics["looks"].compute()))
    np.testing.assert_allclose(estimated.values, told.values, rtol=1e-5)
    stated = unstated(image, 128)
    stated.attrs["looks"] = 1.0  # metadata say 1 look: no estimate
    from_metadata = engine.despeckle(stated, method, device="cpu")
    assert "looks" not in from_metadata.encoding["despeckle_statistics"] and from_metadata.attrs["input_looks"] == 1.0
    assert not np.allclose(from_metadata.values, told.values)


@pytest.mark.slow
def test_looks_unet__tiles_equal_the_whole_scene_with_estimated_looks() -> None:
    method = method_for("looks-unet")
    image = speckled((512, 384), 3.0)
    image[100:130, 50:90] = np.nan
    whole = engine.despeckle(unstated(image, -1), method, device="cpu", precision="fp32").values
    for chunks in [(144, 160), (200, 136)]:
        tiled = engine.despeckle(unstated(image, chunks), method, device="cpu", precision="fp32").values
        np.testing.assert_allclose(tiled, whole, rtol=1e-4, err_msg=str(chunks))


def test_guard__zeros_stay_zero_and_nothing_exceeds_its_neighbourhood() -> None:
    block = speckled((64, 64), 1.0)
    block[:, :6] = 0.0  # an SLC's no-data border
    estimate = block * 0 + 1e12  # a network gone wild next to the zeros
    out = guard(block, estimate, looks=1.0)
    assert (out[:, :6] == 0).all()
    from scipy import ndimage

    assert (out <= ndimage.maximum_filter(block, size=2 * CAP_RADIUS_PX + 1) + 1e-6).all()
    assert out.max() <= block.max()


def test_guard__point_targets_pass_through_and_speckle_does_not() -> None:
    rng = np.random.default_rng(1)
    background = speckle((200, 200), 1.0, rng)
    block = background.copy()
    block[50, 60] = block[120, 30] = 500.0  # 27 dB above the unit background
    estimate = np.ones_like(block)
    out = guard(block, estimate, looks=1.0)
    assert out[50, 60] == 500.0 and out[120, 30] == 500.0
    passed = (out == block) & (block > 0)
    assert passed.sum() <= 2 + 20  # the targets, and speckle at its false-alarm rate: 1e-4 x 40 000 = 4 expected
    assert speckle_threshold(1.0) == pytest.approx(-np.log(1e-4), rel=1e-6)
    assert speckle_threshold(16.0) < speckle_threshold(4.0) < speckle_threshold(1.0)
    off = guard(block, estimate, looks=1.0, keep_point_targets=False)
    assert off[50, 60] == 1.0


@pytest.mark.parametrize("name", sorted(SPECS))
def test_models__zero_border_gives_no_outliers(name: str) -> None:
    """Real SLC products have exact-zero borders (Envisat: 3.8 % of the crop); no model may turn
    them into outliers (mdn-cl once wrote 3e12 next to them)."""
    method = method_for(name)
    image = speckled((160, 160), 1.0)
    image[:, :12] = 0.0
    image[150:] = 0.0
    out = engine.despeckle(xr.DataArray(image, dims=("y", "x"), attrs={"domain": "intensity", "looks": 1.0}), method, device="cpu").values
    assert (out[:, :12] == 0).all() and (out[150:] == 0).all()
    assert np.nanmax(out) <= 1.5 * image.max()


def test_choose_method__auto_prefers_the_model_and_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.methods import AUTO_PREFERENCE, choose_method

    assert AUTO_PREFERENCE[0] == "looks-unet" and AUTO_PREFERENCE[-1] == "lee"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MethodFallbackWarning)
        preferred = choose_method("auto").name
    expected = "looks-unet" if engine.get_method("looks-unet").unavailable_reason is None else "lee"
    assert preferred == expected
    assert choose_method("auto", xr.DataArray(np.zeros((4, 4), np.uint8))).name == "lee"  # display images
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.warns(MethodFallbackWarning, match=r"using 'lee'.*'looks-unet' is not available.*PyTorch"):
        assert choose_method(None).name == "lee"


def test_sar_models__warn_on_8_bit_display_images() -> None:
    image = np.clip(speckled((96, 96), 4.0) * 40, 0, 255).astype(np.uint8)
    method = model_method(SPECS["looks-unet"], Weights.in_memory(perturbed_network("looks-unet").state_dict(), "w"))
    with pytest.warns(NotSpeckleWarning, match="display image"):
        engine.despeckle(image, method, domain="amplitude", device="cpu")
