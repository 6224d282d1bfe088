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
from engine.models._runtime import default_subtile
from engine.models._weights import load_card
from engine.synthetic import reflectivity, speckle
from tests.models.conftest import method_for, perturbed_network


def scene(array: np.ndarray, chunks) -> xr.DataArray:
    return xr.DataArray(da.from_array(array, chunks=chunks), dims=("y", "x"), attrs={"domain": "intensity", "looks": 1.0})


def speckled(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (reflectivity(shape, rng) * speckle(shape, 1.0, rng)).astype(np.float32)


def test_models__are_registered_as_methods() -> None:
    assert set(engine.list_methods(kind="model")) == {"fast-cnn", "lite-unet", "speckle2void", "speckle2void-ultrasound", "mdn-cl"}
    for name in SPECS:
        described = engine.get_method(name).describe()
        assert described["kind"] == "model" and described["domain"] == "intensity"
        assert described["halo_px_at_defaults"] % described["alignment_px"] == 0


def test_models__without_weights_are_listed_as_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("engine.models._weights.WEIGHTS_DIR", tmp_path)
    method = model_method(SPECS["fast-cnn"])
    assert method.describe()["available"] is False
    with pytest.raises(MethodUnavailableError, match="no trained weights are installed"):
        engine.despeckle(np.ones((32, 32), np.float32), method, domain="intensity")


def test_models__without_torch_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    method = model_method(SPECS["fast-cnn"], Weights.in_memory({}, "none"))
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


def test_runtime__identity_model_reproduces_its_input() -> None:
    spec = ModelSpec("identity", "Identity", "tests.models.dummy:IdentityNet", "tests.models.dummy:IdentityConfig", 0, "test")
    method = model_method(spec, Weights.in_memory({"unused": torch.zeros(1)}, "identity"))
    image = speckled((200, 150))
    image[20:30, 40:50] = np.nan
    for chunks in [(-1, -1), (64, 48)]:
        out = engine.despeckle(scene(image, chunks), method, subtile_px=32, batch_size=3).values
        np.testing.assert_allclose(out, image, rtol=2e-6)


def test_runtime__sub_tiles_and_batches_do_not_change_the_result() -> None:
    method = method_for("fast-cnn")
    image = speckled((180, 140))
    reference = engine.despeckle(scene(image, -1), method, device="cpu", subtile_px=512).values
    for subtile, batch in [(32, 1), (48, 5), (100, 2)]:
        out = engine.despeckle(scene(image, -1), method, device="cpu", subtile_px=subtile, batch_size=batch).values
        np.testing.assert_allclose(out, reference, rtol=1e-5)


@pytest.mark.parametrize("core, halo, stride, bytes_per_px, batch, budget", [
    (1024, 22, 1, 400, 1, 2**31), (2048, 96, 16, 2050, 1, 2**31), (2048, 96, 16, 1025, 4, 40 * 2**30),
    (1000, 31, 1, 1450, 2, 2**28), (37, 96, 16, 2050, 1, 2**31), (5000, 96, 16, 2050, 1, 2**20),
])
def test_runtime__default_sub_tiles_fit_the_memory_budget_and_split_the_block_evenly(core, halo, stride, bytes_per_px, batch, budget) -> None:
    size = default_subtile(core, halo, stride, bytes_per_px, batch, budget)
    assert size % stride == 0 and size >= stride
    smallest = size == stride
    assert smallest or batch * (size + 2 * halo) ** 2 * bytes_per_px <= budget
    pieces = -(-core // size)
    assert size < core + stride and pieces * size - core < pieces * stride  # even split, waste below one stride per piece
    if not smallest and core > size:  # one stride more per piece would not fit, or would not save a piece
        bigger = size + stride
        assert batch * (bigger + 2 * halo) ** 2 * bytes_per_px > budget or -(-core // bigger) == pieces


@pytest.mark.parametrize(("height", "width"), [(3, 3), (15, 15), (1, 15), (15, 1), (5, 9)])
def test_box_mean__is_the_average_pooling_the_weights_were_trained_with(height: int, width: int) -> None:
    import torch.nn.functional as F

    from engine.models.nets._layers import box_mean

    x = torch.randn(2, 4, 37, 53, generator=torch.Generator().manual_seed(0))
    pooled = F.avg_pool2d(x, (height, width), stride=1, padding=(height // 2, width // 2), count_include_pad=False)
    assert torch.allclose(box_mean(x, height, width), pooled, rtol=0, atol=1e-6)


def test_runtime__bf16_on_cpu_stays_close_to_fp32() -> None:
    method = method_for("fast-cnn")
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
])
def test_runtime__bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        engine.despeckle(scene(speckled((64, 64)), -1), method_for("fast-cnn"), **kwargs).compute()


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
    method = method_for("fast-cnn")
    out = engine.despeckle(scene(speckled((80, 80)), 40), method)
    assert out.attrs["despeckle_method"] == "fast-cnn"
    median = float(out.encoding["despeckle_statistics"]["scene_median"].compute())
    assert median == pytest.approx(float(np.median(speckled((80, 80)))), rel=0.01)


def test_lite_unet__refuses_sizes_off_its_stride() -> None:
    network = SPECS["lite-unet"].build()
    with pytest.raises(ValueError, match="multiples of 8"):
        network(torch.zeros(1, 1, 64, 60))
    assert network(torch.zeros(1, 1, 64, 56)).shape == (1, 1, 64, 56)
