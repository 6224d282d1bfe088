"""The deep models: registry, reach (halo), tile-exactness, runtime options, ONNX export."""

from __future__ import annotations

import sys
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import torch
import xarray as xr

import engine
from engine.exceptions import MethodUnavailableError, ParameterError
from engine.models import SPECS, ModelSpec, Weights, measure_halo, model_method
from engine.models._halo import probe_size_px
from engine.models._radiometry import guard
from engine.models._runtime import _FLOOR, load_network
from engine.models._weights import load_card
from engine.models._windows import even_piece, plan_windows, split_axis
from engine.synthetic import reflectivity, speckle
from tests.models.conftest import method_for, perturbed_network


def scene(array: np.ndarray, chunks) -> xr.DataArray:
    return xr.DataArray(da.from_array(array, chunks=chunks), dims=("y", "x"), attrs={"domain": "intensity", "looks": 1.0})


def speckled(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (reflectivity(shape, rng) * speckle(shape, 1.0, rng)).astype(np.float32)


def test_models__are_registered_as_methods() -> None:
    assert set(engine.list_methods(kind="model")) == {"lite-unet", "looks-unet", "speckle2void", "speckle2void-ultrasound", "ultrasound-unet", "mdn-cl"}
    for name in SPECS:
        described = engine.get_method(name).describe()
        assert described["kind"] == "model" and described["domain"] == "intensity"
        assert described["halo_px_at_defaults"] % described["alignment_px"] == 0


def test_models__without_weights_are_listed_as_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("engine.models._weights.WEIGHTS_DIR", tmp_path)
    method = model_method(SPECS["looks-unet"])
    assert method.describe()["available"] is False
    with pytest.raises(MethodUnavailableError, match="no trained weights are installed"):
        engine.despeckle(np.ones((32, 32), np.float32), method, domain="intensity")


def test_models__without_torch_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    method = model_method(SPECS["looks-unet"], Weights.in_memory({}, "none"))
    assert "pip install 'despeckle[models]'" in method.describe()["unavailable_reason"]
    with pytest.raises(MethodUnavailableError, match=r"PyTorch is not installed.*despeckle\[models\]"):
        engine.despeckle(np.ones((32, 32), np.float32), method, domain="intensity")


@pytest.mark.slow
def test_halo__measured_reach_is_the_declared_halo(model_name: str) -> None:
    spec = SPECS[model_name]
    card = load_card(model_name)
    if card is not None:  # shipped weights: the card's halo was measured on them
        network = spec.build(card.get("architecture_config"))
        network.load_state_dict(Weights.shipped(model_name).state_dict())
        declared = card["halo_px"]
    else:
        network, declared = perturbed_network(model_name), spec.halo_px
    size = probe_size_px(spec.halo_px, spec.stride_px)
    measured = measure_halo(network, stride=spec.stride_px, size_px=size, seeds=(0,))
    if spec.stride_px == 1:
        assert measured == declared  # pure convolution stacks: the exact receptive field
    else:
        assert measured <= declared


def _chunkings(halo: int, stride: int) -> list[tuple[int, int]]:
    def aligned(n: int) -> int:
        return -(-n // stride) * stride

    return [(aligned(2 * halo), aligned(2 * halo + 3 * stride)), (aligned(3 * halo + 50), aligned(2 * halo + 70)), (1024, 768)]


@pytest.mark.slow
def test_models__tiled_inference_equals_whole_image_inference(model_name: str) -> None:
    method = method_for(model_name)
    image = speckled((1024, 768))
    image[300:340, 200:260] = np.nan
    halo = method.halo_px(method.resolve({}))
    whole = engine.despeckle(scene(image, -1), method, device="cpu", precision="fp32").values
    assert np.isnan(whole[300:340, 200:260]).all() and np.isfinite(whole[:300]).all()
    for chunks in _chunkings(halo, method.alignment_px)[:-1]:
        tiled = engine.despeckle(scene(image, chunks), method, device="cpu", precision="fp32").values
        relative = np.nanmax(np.abs(tiled - whole) / np.abs(whole))
        assert relative < 1e-4, f"chunks {chunks}: relative difference {relative:.2e}"


@pytest.mark.slow
def test_models__equal_the_network_run_on_the_whole_scene_at_once(model_name: str, geotiff_factory) -> None:
    """At the scene's edge the network's own padding is the border condition, as in training:
    the engine's tiles give what one forward pass over the whole scene gives."""
    method = method_for(model_name)
    if method.display_native:
        pytest.skip("a display model's intensity estimate is scaled to its input's mean intensity by a factor measured on the "
                    "whole scene (tests/test_display.py); its network runs through the same windows as lite-unet's")
    stride, halo = method.alignment_px, method.halo_px(method.resolve({}))
    image = speckled((2 * halo + 3 * stride + 5, 2 * halo + 7))  # ragged: the far edges pad to the stride
    image[10:20, 30:45] = np.nan  # nodata is the scene median, not an edge
    median = float(np.nanmedian(image))
    x = np.zeros((1, 1, -(-image.shape[0] // stride) * stride, -(-image.shape[1] // stride) * stride), np.float32)
    x[0, 0, : image.shape[0], : image.shape[1]] = np.log(np.nan_to_num(np.maximum(image, median * _FLOOR) / median, nan=1.0))
    network = load_network(method.kernel.spec, method.kernel.weights, torch.device("cpu"), method.kernel.config)
    with torch.inference_mode():
        inputs = torch.from_numpy(x)
        raw = network.body(inputs, 1.0) if getattr(network, "conditioned_on_looks", False) else network.body(inputs)
        expected = network.finish(raw, inputs, 1.0).numpy()[0, 0, : image.shape[0], : image.shape[1]] * median
    expected = guard(image, expected, looks=1.0)  # zeros, point targets, the neighbourhood's maximum
    for chunks in [-1, (halo + stride, 2 * halo)]:  # in memory: halos from the neighbouring chunks
        got = engine.despeckle(scene(image, chunks), method, device="cpu", precision="fp32", scene_median=median).values
        np.testing.assert_allclose(got, expected, rtol=1e-4, err_msg=f"chunks {chunks}")
    # From a file: every block reads its own halo, cut short by the scene's edge.
    opened = engine.open_scene(geotiff_factory(image), domain="intensity", chunk_px=halo + 2 * stride)
    got = engine.despeckle(opened, method, device="cpu", precision="fp32", scene_median=median, looks=1.0).values[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, err_msg="read from a GeoTIFF")


def test_runtime__identity_model_reproduces_its_input() -> None:
    spec = ModelSpec("identity", "Identity", "tests.models.dummy:IdentityNet", "tests.models.dummy:IdentityConfig", 0, "test")
    method = model_method(spec, Weights.in_memory({"unused": torch.zeros(1)}, "identity"))
    image = speckled((200, 150))
    image[20:30, 40:50] = np.nan
    for chunks in [(-1, -1), (64, 48)]:
        out = engine.despeckle(scene(image, chunks), method, subtile_px=32, batch_size=3).values
        np.testing.assert_allclose(out, image, rtol=2e-6)


def test_runtime__sub_tiles_and_batches_do_not_change_the_result() -> None:
    method = method_for("looks-unet")
    image = speckled((180, 140))
    reference = engine.despeckle(scene(image, -1), method, device="cpu", subtile_px=512).values
    for subtile, batch in [(32, 1), (48, 5), (100, 2)]:
        out = engine.despeckle(scene(image, -1), method, device="cpu", subtile_px=subtile, batch_size=batch).values
        np.testing.assert_allclose(out, reference, rtol=1e-5)


def _cost(rows, cols) -> int:
    return sum(r.padded_length for r in rows) * sum(c.padded_length for c in cols)


@pytest.mark.parametrize("shape, halo, stride, outside, bytes_per_px, batch, budget", [
    ((1068, 1068), 22, 1, (22, 22, 22, 22), 400, 1, 2**31),  # one chunk: one window, no halo computed
    ((1280, 1280), 128, 16, (128, 128, 128, 128), 2300, 1, 2**31),  # a one-chunk 1024^2 scene that needs two windows
    ((2304, 2304), 128, 16, (0, 0, 0, 0), 2300, 1, 2**31),  # an interior chunk
    ((2304, 2256), 128, 16, (128, 0, 0, 117), 2300, 4, 40 * 2**30),
    ((1062, 1000), 31, 1, (0, 31, 31, 0), 1850, 2, 2**28),
    ((229, 229), 96, 16, (0, 0, 0, 0), 2300, 1, 2**31),
    ((5192, 5192), 96, 16, (0, 0, 0, 0), 2300, 1, 2**20),  # nothing fits: the smallest windows
])
def test_windows__cover_the_core_fit_the_budget_and_compute_the_fewest_pixels(shape, halo, stride, outside, bytes_per_px, batch, budget) -> None:
    rows, cols = plan_windows(shape, halo, stride, outside=outside, bytes_per_px=bytes_per_px, batch=batch, budget=budget)
    for spans, length, (before, after) in ((rows, shape[0], outside[:2]), (cols, shape[1], outside[2:])):
        assert [s.core_start for s in spans] == list(np.cumsum([halo] + [s.core_length for s in spans[:-1]]))
        assert spans[-1].core_start + spans[-1].core_length == length - halo  # the core, exactly covered
        for s in spans:
            assert s.window_start % stride == 0 and s.padded_length % stride == 0 and s.padded_length >= s.window_length
            assert s.window_start >= before and s.window_start + s.window_length <= length - after  # never outside the scene
            # the halo on each side, unless the scene ends first
            assert s.window_start == max(before, s.core_start - halo)
            assert s.window_start + s.window_length == min(length - after, s.core_start + s.core_length + halo)
    tallest, widest = max(r.padded_length for r in rows), max(c.padded_length for c in cols)
    smallest = all(s.core_length <= stride for s in rows + cols)
    assert smallest or batch * tallest * widest * bytes_per_px <= budget
    if not smallest:  # no layout of equal pieces that fits computes fewer pixels
        for pieces_y in range(1, 12):
            for pieces_x in range(1, 12):
                other = [split_axis(n, halo, stride, even_piece(n - 2 * halo, p, stride), o)
                         for n, p, o in ((shape[0], pieces_y, outside[:2]), (shape[1], pieces_x, outside[2:]))]
                fits = batch * max(s.padded_length for s in other[0]) * max(s.padded_length for s in other[1]) * bytes_per_px <= budget
                assert not fits or _cost(*other) >= _cost(rows, cols)


def test_windows__windows_stop_at_the_scene_edge_and_only_there() -> None:
    # A one-chunk 1024^2 scene too large for one window: two, no halo computed beyond the scene.
    rows, cols = plan_windows((1280, 1280), 128, 16, outside=(128, 128, 128, 128), bytes_per_px=2300, batch=1, budget=2**31)
    assert _cost(rows, cols) == 1024 * 1280
    # The same block inside a larger scene needs the halo on every side.
    rows, cols = plan_windows((1280, 1280), 128, 16, bytes_per_px=2300, batch=1, budget=2**31)
    assert all(s.window_length == s.core_length + 256 for s in rows + cols)


@pytest.mark.parametrize(("height", "width"), [(3, 3), (15, 15), (1, 15), (15, 1), (5, 9)])
def test_box_mean__is_the_average_pooling_the_weights_were_trained_with(height: int, width: int) -> None:
    import torch.nn.functional as F

    from engine.models.nets._layers import box_mean

    x = torch.randn(2, 4, 37, 53, generator=torch.Generator().manual_seed(0))
    pooled = F.avg_pool2d(x, (height, width), stride=1, padding=(height // 2, width // 2), count_include_pad=False)
    assert torch.allclose(box_mean(x, height, width), pooled, rtol=0, atol=1e-6)


def test_runtime__bf16_on_cpu_stays_close_to_fp32() -> None:
    method = method_for("looks-unet")
    image = speckled((96, 96))
    fp32 = engine.despeckle(scene(image, -1), method, device="cpu", precision="fp32").values
    bf16 = engine.despeckle(scene(image, -1), method, device="cpu", precision="bf16").values
    assert np.median(np.abs(bf16 - fp32) / fp32) < 0.02


@pytest.mark.parametrize("kwargs, match", [
    ({"device": "tpu"}, "unknown device 'tpu'"),
    ({"device": "cuda:7"}, "not available here"),
    ({"device": "cpu", "precision": "fp16"}, "fp16 needs a GPU"),
    ({"precision": "fp8"}, "precision must be one of"),
    ({"subtile_px": -1}, "subtile_px must be >= 0"),
    ({"subtile_px": 1}, "subtile_px must be 0 .* or at least 32"),
])
def test_runtime__bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        engine.despeckle(scene(speckled((64, 64)), -1), method_for("looks-unet"), **kwargs).compute()


def test_speckle2void__never_sees_the_pixel_it_estimates() -> None:
    network = perturbed_network("speckle2void")
    x = torch.from_numpy(np.log(speckled((64, 64)))[None, None]).requires_grad_(True)
    raw = network.body(x)
    (gradient,) = torch.autograd.grad(raw[0, :, 32, 32].sum(), x)
    assert gradient[0, 0, 32, 32] == 0.0  # the blind spot
    assert gradient[0, 0, 31, 32] != 0.0 and gradient[0, 0, 32, 31] != 0.0
    hidden = network.body(x, hide_vertical=True)
    (gradient,) = torch.autograd.grad(hidden[0, :, 32, 32].sum(), x)
    assert gradient[0, 0, 31, 32] == 0.0 and gradient[0, 0, 33, 32] == 0.0


def test_speckle2void__posterior_mean_follows_the_formula() -> None:
    network = perturbed_network("speckle2void")
    x = torch.from_numpy(np.log(speckled((32, 32)))[None, None])
    raw = network.body(x)
    alpha, beta = network.prior(raw)
    looks = 3.0
    expected = (beta + looks * torch.exp(x)) / (alpha + looks - 1.0)
    torch.testing.assert_close(network.finish(raw, x, looks), expected)


@pytest.mark.slow
def test_onnx__export_runs_in_onnxruntime_like_torch(model_name: str, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from engine.models._onnx import export_onnx

    network = perturbed_network(model_name)
    path = export_onnx(model_name, tmp_path / f"{model_name}.onnx", weights=Weights.in_memory(network.state_dict(), "onnx"))
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert metadata["despeckle.model"] == model_name and int(metadata["despeckle.halo_px"]) >= SPECS[model_name].halo_px
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    stride = SPECS[model_name].stride_px
    x = np.log(speckled((96, 96))).astype(np.float32)[None, None].repeat(3, axis=0)[:, :, : 96 // stride * stride, :80 // stride * stride]
    feeds = {"log_intensity": x}
    if "looks" in [i.name for i in session.get_inputs()]:
        feeds["looks"] = np.array(2.0, dtype=np.float32)
    (got,) = session.run(None, feeds)
    with torch.no_grad():
        expected = network(torch.from_numpy(x), 2.0).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_models__provenance_and_statistics(tmp_path: Path) -> None:
    method = method_for("looks-unet")
    out = engine.despeckle(scene(speckled((80, 80)), 40), method)
    assert out.attrs["despeckle_method"] == "looks-unet"
    median = float(out.encoding["despeckle_statistics"]["scene_median"].compute())
    assert median == pytest.approx(float(np.median(speckled((80, 80)))), rel=0.01)


def test_lite_unet__refuses_sizes_off_its_stride() -> None:
    network = SPECS["lite-unet"].build()
    with pytest.raises(ValueError, match="multiples of 8"):
        network(torch.zeros(1, 1, 64, 60))
    assert network(torch.zeros(1, 1, 64, 56)).shape == (1, 1, 64, 56)
