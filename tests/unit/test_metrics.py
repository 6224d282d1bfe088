"""Quality metrics against answers known in closed form or by construction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from engine import metrics
from engine.synthetic import speckle


def _blocks(rng: np.random.Generator, cells: int = 16, cell_px: int = 16) -> np.ndarray:
    """A piecewise-constant scene of strong contrasts (1, 4, 16): homogeneous cells and edges."""
    return np.kron(rng.choice([1.0, 4.0, 16.0], (cells, cells)), np.ones((cell_px, cell_px)))


@pytest.mark.parametrize("looks", [1, 2, 4])
def test_enl__of_pure_speckle_is_the_number_of_looks(looks: int) -> None:
    rng = np.random.default_rng(looks)
    assert metrics.enl(5.0 * speckle((512, 512), looks, rng)) == pytest.approx(looks, rel=0.03)


def test_homogeneous_boxes__are_found_in_the_flat_part_and_give_the_looks() -> None:
    rng = np.random.default_rng(0)
    scene = np.ones((256, 256))
    scene[:, 128:] = np.linspace(1.0, 8.0, 128)[None, :]  # the right half is a ramp: never homogeneous
    noisy = scene * speckle(scene.shape, 3, rng)
    boxes = metrics.homogeneous_boxes(noisy, box_px=32, count=6)
    assert len(boxes) == 6 and all(box[1].stop <= 128 for box in boxes)
    assert metrics.enl_auto(noisy, boxes=boxes) == pytest.approx(3.0, rel=0.1)


def test_homogeneous_boxes__skip_invalid_pixels_and_refuse_a_tiny_image() -> None:
    noisy = speckle((64, 64), 1, np.random.default_rng(1)).astype(np.float64)
    noisy[:32, :32] = np.nan
    assert (slice(0, 32), slice(0, 32)) not in metrics.homogeneous_boxes(noisy, box_px=32, count=4)
    with pytest.raises(ValueError, match="smaller than one"):
        metrics.homogeneous_boxes(noisy[:10, :10], box_px=32)


def test_ratio_statistics__of_the_true_backscatter_are_those_of_speckle() -> None:
    rng = np.random.default_rng(2)
    scene = _blocks(rng)
    stats = metrics.ratio_statistics(scene * speckle(scene.shape, 4, rng), scene)
    assert stats["mean"] == pytest.approx(1.0, abs=0.01) and stats["std"] == pytest.approx(0.5, rel=0.03)


def test_m_index__is_near_zero_for_the_ideal_filter_and_grows_with_over_smoothing() -> None:
    rng = np.random.default_rng(3)
    scene = _blocks(rng)
    noisy = scene * speckle(scene.shape, 1, rng)
    boxes = metrics.homogeneous_boxes(noisy, box_px=16, count=8)
    ideal = metrics.m_index(noisy, scene, boxes=boxes)
    mild = metrics.m_index(noisy, ndimage.uniform_filter(noisy, 5), boxes=boxes)
    strong = metrics.m_index(noisy, ndimage.uniform_filter(noisy, 9), boxes=boxes)
    assert ideal["m_index"] < 1.5 and ideal["r_enl_mean"] < 0.06
    assert ideal["m_index"] < mild["m_index"] < strong["m_index"]
    assert metrics.m_index(noisy, noisy)["m_index"] == float("inf")  # the identity removes nothing


def test_m_index__is_reproducible_with_its_seed() -> None:
    rng = np.random.default_rng(4)
    noisy = _blocks(rng) * speckle((256, 256), 1, rng)
    smooth = ndimage.uniform_filter(noisy, 5)
    assert metrics.m_index(noisy, smooth, seed=7) == metrics.m_index(noisy, smooth, seed=7)


def test_epd_roa__is_one_for_kept_edges_and_drops_when_edges_are_blurred() -> None:
    step = np.array([[1.0, 1.0, 4.0, 4.0]])
    assert metrics.epd_roa(step, 3.0 * step)["horizontal"] == pytest.approx(1.0)
    # ratios of neighbours 1, 1/4, 1 (sum 2.25) against a constant output's 1, 1, 1 (sum 3)
    assert metrics.epd_roa(step, np.full_like(step, 2.5))["horizontal"] == pytest.approx(3 / 2.25)
    rng = np.random.default_rng(5)
    amplitude = np.sqrt(_blocks(rng))
    blurred = [metrics.epd_roa(amplitude, ndimage.uniform_filter(amplitude, size))["vertical"] for size in (3, 7)]
    assert 1.0 > blurred[0] > blurred[1]


def test_snr__of_fully_developed_speckle_envelope_is_1_91() -> None:
    rng = np.random.default_rng(6)
    envelope = np.abs(rng.normal(size=(400, 400)) + 1j * rng.normal(size=(400, 400)))
    assert metrics.snr(envelope, np.s_[:, :]) == pytest.approx(np.sqrt(np.pi / (4 - np.pi)), rel=0.02)


def test_cnr_and_gcnr__for_known_distributions() -> None:
    rng = np.random.default_rng(7)
    image = np.concatenate([rng.normal(0.0, 1.0, (200, 200)), rng.normal(2.0, 1.0, (200, 200))], axis=1)
    target, background = np.s_[:, 200:], np.s_[:, :200]
    assert metrics.cnr(image, target, background) == pytest.approx(2 / np.sqrt(2), rel=0.03)
    # two unit Gaussians 2 apart overlap by 2·Φ(−1) = 0.3173: gCNR = 0.6827
    assert metrics.gcnr(image, target, background, bins=100) == pytest.approx(0.6827, abs=0.02)
    mask = np.zeros(image.shape, bool)
    mask[:, 200:] = True  # a boolean mask works as a region too
    assert metrics.gcnr(image, background, background) == pytest.approx(0.0)
    assert metrics.gcnr(np.where(mask, image + 100, image), mask, ~mask) == pytest.approx(1.0)


def _band_limited_speckle(rng: np.random.Generator, size: int, band: float) -> tuple[np.ndarray, float]:
    """Circular Gaussian speckle whose azimuth (row) spectrum is flat over a share ``band`` and zero
    outside, and its lag-1 complex correlation (sinc(band) on a continuous spectrum)."""
    white = (rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))) / np.sqrt(2)
    frequencies = np.fft.fftfreq(size)
    keep = np.abs(frequencies) < band / 2
    return np.fft.ifft(np.fft.fft(white, axis=0) * keep[:, None], axis=0), abs(np.exp(2j * np.pi * frequencies[keep]).mean())


@pytest.mark.parametrize("band", [1.0, 0.9, 0.8, 0.6])
def test_speckle_coherence__of_band_limited_speckle_is_sinc_of_the_band(band: float) -> None:
    field, correlation = _band_limited_speckle(np.random.default_rng(7), 512, band)
    assert correlation == pytest.approx(abs(np.sinc(band)), abs=0.01)
    assert metrics.speckle_coherence(field, 0) == pytest.approx(correlation, abs=0.015)
    assert metrics.speckle_coherence(field, 1) < 0.01  # range stays white
    # The intensity measure reads low (its local mean shares the pair's pixels): the documented bias.
    assert 0.01 < correlation**2 - metrics.speckle_correlation(np.abs(field) ** 2, 0) < 0.08


def test_speckle_coherence__does_not_see_texture_that_the_intensity_correlation_counts() -> None:
    rng = np.random.default_rng(8)
    white, _ = _band_limited_speckle(rng, 512, 1.0)
    texture = np.kron(rng.gamma(2.0, 0.5, (256, 256)), np.ones((2, 2)))  # K-distributed clutter, 2-px cells
    field = np.sqrt(texture) * white
    assert metrics.speckle_correlation(np.abs(field) ** 2, 0) > 0.05
    assert metrics.speckle_coherence(field, 0) ** 2 < 0.001
    # Bright targets and their azimuth sidelobes (the same phase over 5 lines) are left out, as in
    # the intensity measure; counted, they would stand in for correlated speckle.
    for r, c in np.ndindex(32, 32):
        field[5 + 16 * r : 10 + 16 * r, 8 + 16 * c] = 30.0 * np.exp(1j * r * c)
    assert metrics.speckle_coherence(field, 0) ** 2 < 0.001
    assert metrics.speckle_coherence(field, 0, bright_factor=1e9) ** 2 > 0.01
