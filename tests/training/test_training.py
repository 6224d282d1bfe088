"""The training package: configurations, losses, every trainer for a few iterations on the CPU,
exact resume, export into a weights folder the engine loads."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import engine  # noqa: E402
from engine.exceptions import ParameterError  # noqa: E402
from engine.models import SPECS, Weights, load_network, measure_halo, model_method, probe_size_px  # noqa: E402
from training.config import load_config  # noqa: E402
from training.data import PatchSampler  # noqa: E402
from training.export import revalidate  # noqa: E402
from training.loop import train  # noqa: E402
from training.losses import blindspot_nll, nt_xent, sobel  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
SMOKE = ["smoke-supervised.yaml", "smoke-contrastive.yaml", "smoke-blindspot.yaml"]
pytestmark = pytest.mark.shared_data


def test_load_config__rejects_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("model: looks-unet\ndata: {patch: 3}\n")
    with pytest.raises(ParameterError, match=r"unknown key\(s\) patch in c.yaml.data; valid keys: kind, sources"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("model: unet\n")
    with pytest.raises(ParameterError, match="unknown model 'unet'"):
        load_config(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("model: Fast CNN\n")
    with pytest.raises(ParameterError, match="model 'fast-cnn' was retired: .* use looks-unet"):
        load_config(tmp_path / "e.yaml")


def test_load_config__normalise_by_is_checked(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("model: looks-unet\ndata: {normalise_by: scene}\n")
    with pytest.raises(ParameterError, match="normalise_by must be 'patch' or 'image'"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("model: looks-unet\ndata: {kind: synthetic, normalise_by: image}\n")
    with pytest.raises(ParameterError, match="needs real noisy images"):
        load_config(tmp_path / "d.yaml")


def test_sampler__image_normalisation_divides_by_the_source_image_median(shared_data: Path) -> None:
    """As the engine divides by the scene's median: a dark patch stays dark (negative log)
    instead of being lifted to 0 by its own median."""
    from training.trainers import normalised_log

    config = load_config(CONFIGS / "smoke-blindspot.yaml", data_root=str(shared_data))
    assert config.data.normalise_by == "image"
    sampler = PatchSampler(config.data, shared_data, np.random.default_rng(0))
    batch = sampler.batch(size=32)
    (image,) = sampler.images
    assert batch.reference is not None and np.allclose(batch.reference, np.median(image[image > 0]))
    x, used = normalised_log(batch.noisy, batch.reference)
    np.testing.assert_allclose(x.numpy(), np.log(batch.noisy / used), rtol=1e-5, atol=1e-5)
    own, _ = normalised_log(batch.noisy)
    assert np.allclose(np.median(own.numpy(), axis=(1, 2, 3)), 0, atol=1e-5)
    assert not np.allclose(np.median(x.numpy(), axis=(1, 2, 3)), 0, atol=0.05)


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_configurations_load(name: str) -> None:
    config = load_config(CONFIGS / name)
    assert config.iterations > 0


def test_nt_xent__low_for_matching_pairs_high_for_mixed() -> None:
    generator = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(4, 32, generator=generator), dim=1)
    matching = torch.repeat_interleave(a, 2, dim=0)
    mixed = torch.nn.functional.normalize(torch.randn(8, 32, generator=generator), dim=1)
    assert nt_xent(matching, temperature=0.1) < 0.05 and nt_xent(mixed, temperature=0.1) > 1.0


def test_blindspot_nll__is_the_compound_gamma_inverse_gamma_likelihood() -> None:
    from scipy import integrate, stats

    alpha, beta, looks, y = 3.0, 2.0, 2.0, 0.7
    density, _ = integrate.quad(
        lambda x: stats.gamma.pdf(y, looks, scale=x / looks) * stats.invgamma.pdf(x, alpha, scale=beta), 0, np.inf
    )
    t = torch.tensor
    got = blindspot_nll(t([[alpha]]), t([[beta]]), t([[y]]), t(looks), t([[1.0]]))
    assert float(got) == pytest.approx(-np.log(density), rel=1e-5)


def test_sobel__of_a_ramp_is_constant() -> None:
    ramp = torch.arange(10.0).repeat(10, 1)[None, None]
    gradients = sobel(ramp)
    assert torch.allclose(gradients[0, 0], torch.full((8, 8), 8.0)) and torch.allclose(gradients[0, 1], torch.zeros(8, 8))


@pytest.mark.parametrize("name", SMOKE)
def test_trainer__smoke_run_logs_validates_and_checkpoints(name: str, tmp_path: Path, shared_data: Path) -> None:
    config = load_config(CONFIGS / name, output=str(tmp_path / "run"), data_root=str(shared_data))
    summary = train(config)
    assert summary["iteration"] == config.iterations and np.isfinite(summary["loss"])
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(rows) == config.iterations + 1
    assert 0.5 < summary["validation"]["ratio_mean"] < 2.0
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_trainer__bmode_smoke_run_trains_on_simulated_images_and_scores_them(tmp_path: Path, shared_data: Path) -> None:
    config = load_config(CONFIGS / "smoke-bmode.yaml", output=str(tmp_path / "run"), data_root=str(shared_data))
    sampler = PatchSampler(config.data, config.data_dir(), np.random.default_rng(0))
    batch = sampler.batch()
    assert batch.noisy.shape == batch.clean.shape == (4, 1, 32, 32)
    # Grey levels on the display models' nominal scale: intensities within its 60 dB.
    for values in (batch.noisy, batch.clean):
        assert values.min() >= 10 ** -6 * 0.999 and values.max() <= 1.0
    summary = train(config)
    assert summary["iteration"] == config.iterations and np.isfinite(summary["loss"])
    scores = summary["validation"]
    assert set(scores) == {"bmode_psnr_db", "bmode_ssim", "bmode_input_psnr_db"} and all(np.isfinite(v) for v in scores.values())


@pytest.mark.parametrize("name", [*SMOKE, "smoke-bmode.yaml"])
def test_trainer__resume_gives_the_same_weights_as_an_uninterrupted_run(name: str, tmp_path: Path, shared_data: Path) -> None:
    base = load_config(CONFIGS / name, data_root=str(shared_data))
    base = replace(base, validation=replace(base.validation, slc=(), pairs=None, bmode_images=0))
    straight = replace(base, output=str(tmp_path / "straight"))
    train(straight)
    interrupted = replace(base, output=str(tmp_path / "interrupted"))
    half = base.iterations // 2
    assert train(interrupted, max_iterations=half)["iteration"] == half
    train(interrupted, resume=True)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)["network"]
    b = torch.load(tmp_path / "interrupted" / "checkpoint.pt", weights_only=False)["network"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    logs = [list(csv.DictReader((tmp_path / run / "metrics.csv").open())) for run in ("straight", "interrupted")]
    assert len(logs[1]) == base.iterations  # rows after the checkpoint were not duplicated
    # Every value sits under its own column, also where a later phase logs other loss terms.
    without_time = [[{k: v for k, v in row.items() if k != "elapsed_s"} for row in log] for log in logs]
    assert without_time[0] == without_time[1] and all(None not in row for row in logs[1])


def test_export__writes_weights_and_a_card_the_engine_loads(tmp_path: Path, shared_data: Path) -> None:
    config = load_config(CONFIGS / "smoke-supervised.yaml", output=str(tmp_path / "run"), data_root=str(shared_data))
    config = replace(config, export=True, export_dir=str(tmp_path / "weights"))
    summary = train(config)
    card = json.loads((tmp_path / "weights" / "looks-unet.json").read_text())
    # The reach measured on these weights (six iterations in, the far paths of the U-Net weigh less
    # than the threshold: shorter than the architecture allows, never longer).
    spec = SPECS["looks-unet"]
    exported = load_network(spec, Weights(path=summary["weights"], identity="exported"), torch.device("cpu"))
    assert card["halo_px"] == measure_halo(exported, stride=spec.stride_px, size_px=probe_size_px(spec.halo_px, spec.stride_px))
    assert 0 < card["halo_px"] <= spec.halo_px
    assert card["training"]["iterations"] == config.iterations and card["training"]["config"].endswith("smoke-supervised.yaml")
    assert card["weights_dtype"] in ("float16", "float32") and "ratio_mean" in card["metrics"]
    method = model_method(SPECS["looks-unet"], Weights(path=summary["weights"], identity="exported"))
    out = engine.despeckle(np.full((48, 48), 3.0, np.float32), method, domain="intensity").values
    assert np.isfinite(out).all()

    # Re-measuring the card's metrics with the engine as it is: the same numbers (to the fp16
    # rounding of the exported weights), the weights untouched.
    weights_before = Path(summary["weights"]).read_bytes()
    metrics = revalidate(replace(config, notes="Measured again: see the figures."))
    revalidated = json.loads((tmp_path / "weights" / "looks-unet.json").read_text())
    assert revalidated["notes"] == "Measured again: see the figures."  # the configuration's notes, refreshed
    assert revalidated["metrics"] == metrics and revalidated["training"]["metrics_at_training"] == card["metrics"]
    assert metrics == pytest.approx(card["metrics"], rel=1e-3)
    assert revalidated["metrics_measured"]["command"].endswith("smoke-supervised.yaml --revalidate")
    assert Path(summary["weights"]).read_bytes() == weights_before


def test_sampler__continuous_looks_and_grd_speckle_carry_the_looks_the_engine_would_estimate(shared_data: Path) -> None:
    config = load_config(CONFIGS / "looks-unet.yaml", data_root=str(shared_data))
    data = replace(config.data, batch_size=64, looks_jitter=0.0)
    sampler = PatchSampler(data, shared_data, np.random.default_rng(0))
    assert len(sampler.processors) > 0
    for processor, looks in sampler.processors:
        # The label is the engine's estimate on a field of that processor's speckle.
        assert looks == pytest.approx(engine.metrics.estimate_looks(processor.draw((384, 384), np.random.default_rng(1))), rel=0.25)
    batch = sampler.batch()
    assert batch.looks.min() >= 0.5 and batch.looks.max() <= 64
    white = {round(float(v), 6) for v in batch.looks} - {round(float(looks), 6) for _, looks in sampler.processors}
    assert white and min(white) >= 1.0 and max(white) <= 16.0
    assert len(white) > 10  # continuous, not a few fixed values


def test_load_config__looks_range_is_checked(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("model: looks-unet\ndata: {looks_range: [4, 1]}\n")
    with pytest.raises(ParameterError, match="looks_range must be"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("model: looks-unet\ndata: {grd_fraction: 0.8, correlated_fraction: 0.3}\n")
    with pytest.raises(ParameterError, match="at most 1"):
        load_config(tmp_path / "d.yaml")


def test_init_from__a_second_stage_starts_from_the_finished_first_stage(tmp_path: Path, shared_data: Path) -> None:
    import yaml

    smoke = yaml.safe_load((CONFIGS / "smoke-supervised.yaml").read_text())
    first = tmp_path / "first.yaml"
    first.write_text(yaml.safe_dump({**smoke, "output": str(tmp_path / "first"), "data_root": str(shared_data)}))
    second = tmp_path / "second.yaml"
    # Learning rate 0: the second stage's weights stay exactly those it started from.
    second.write_text(yaml.safe_dump({**smoke, "output": str(tmp_path / "second"), "data_root": str(shared_data),
                                      "init_from": str(first), "optim": {"learning_rate": 0.0}}))
    with pytest.raises(ParameterError, match="no checkpoint at .*run `python -m training"):
        train(load_config(second))
    train(load_config(first), max_iterations=2)
    with pytest.raises(ParameterError, match="stopped at iteration 2 of 6; finish it with --resume"):
        train(load_config(second))
    train(load_config(first), resume=True)
    train(load_config(second))
    a = torch.load(tmp_path / "first" / "checkpoint.pt", weights_only=False)["network"]
    b = torch.load(tmp_path / "second" / "checkpoint.pt", weights_only=False)["network"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
