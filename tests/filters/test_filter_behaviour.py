"""What each filter is for, checked on purpose-built images, and the formulas against direct
NumPy transcriptions of the published equations."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.filters import sigma_range
from engine.synthetic import speckle


def despeckle(image: np.ndarray, method: str, **kw: object) -> np.ndarray:
    return np.asarray(engine.despeckle(image, method, domain="intensity", **kw).values)


def window_stats(image: np.ndarray, i: int, j: int, r: int) -> tuple[float, float, np.ndarray]:
    w = image[i - r : i + r + 1, j - r : j + r + 1].astype(np.float64)
    return float(w.mean()), float(w.var(ddof=1)), w


def reference(method: str, image: np.ndarray, r: int, looks: float = 1.0, damping: float = 1.0) -> np.ndarray:
    """Slow, literal transcription of each formula, for interior pixels."""
    out = np.full(image.shape, np.nan)
    cu2 = 1.0 / looks
    for i in range(r, image.shape[0] - r):
        for j in range(r, image.shape[1] - r):
            mean, var, window = window_stats(image, i, j, r)
            y = float(image[i, j])
            ci2 = var / mean**2
            if method == "boxcar":
                out[i, j] = mean
            elif method == "median":
                out[i, j] = np.median(window)
            elif method == "lee":
                out[i, j] = mean if ci2 < cu2 else mean + (1 - cu2 / ci2) * (y - mean)
            elif method == "kuan":
                out[i, j] = mean if ci2 < cu2 else mean + (1 - cu2 / ci2) / (1 + cu2) * (y - mean)
            elif method == "enhanced-lee":
                cu, cmax, ci = np.sqrt(cu2), np.sqrt(1 + 2 / looks), np.sqrt(ci2)
                if ci <= cu:
                    out[i, j] = mean
                elif ci >= cmax:
                    out[i, j] = y
                else:
                    w = np.exp(-damping * (ci - cu) / (cmax - ci))
                    out[i, j] = mean * w + y * (1 - w)
            elif method == "frost":
                dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
                weights = np.exp(-damping * ci2 * np.hypot(dy, dx))
                out[i, j] = (weights * window).sum() / weights.sum()
    return out


@pytest.mark.parametrize(
    "method, kw",
    [
        ("boxcar", {}),
        ("median", {}),
        ("lee", {"looks": 2.0}),
        ("kuan", {"looks": 2.0}),
        ("enhanced-lee", {"looks": 2.0, "damping": 1.5}),
        ("frost", {"damping": 1.5}),
    ],
)
def test_filter__matches_the_published_formula(method: str, kw: dict[str, float], speckled: np.ndarray) -> None:
    image = speckled[:40, 20:60]
    r = 2
    expected = reference(method, image, r, looks=kw.get("looks", 1.0), damping=kw.get("damping", 1.0))
    got = despeckle(image, method, window_size_px=2 * r + 1, **kw)
    np.testing.assert_allclose(got[r:-r, r:-r], expected[r:-r, r:-r], rtol=2e-6)


def edge_width(profile: np.ndarray, low: float, high: float) -> int:
    """Pixels between 10 % and 90 % of a rising step."""
    normalised = (profile - low) / (high - low)
    return int(np.sum((normalised > 0.1) & (normalised < 0.9)))


def test_refined_lee__keeps_edges_sharper_than_lee_and_boxcar() -> None:
    rng = np.random.default_rng(5)
    clean = np.ones((200, 200), np.float32)
    clean[:, 100:] = 10.0
    image = clean * speckle(clean.shape, 4.0, rng)
    widths = {}
    for method in ("boxcar", "lee", "refined-lee"):
        out = despeckle(image, method, **({} if method == "boxcar" else {"looks": 4.0}))
        profile = np.median(out[20:180], axis=0)
        widths[method] = edge_width(profile[80:120], 1.0, 10.0)
    assert widths["refined-lee"] < widths["lee"] <= widths["boxcar"], widths
    assert widths["refined-lee"] <= 2


def test_refined_lee__smooths_homogeneous_areas_like_a_half_window() -> None:
    image = speckle((200, 200), 1.0, np.random.default_rng(6))
    out = despeckle(image, "refined-lee", looks=1.0)[10:-10, 10:-10]
    # A 28-pixel half window averages ~28 looks at best; the MMSE keeps some of the pixel.
    assert 8 < out.mean() ** 2 / out.var() < 40


def test_lee_sigma__keeps_point_targets_exactly() -> None:
    rng = np.random.default_rng(8)
    image = speckle((120, 120), 1.0, rng)
    image[60:63, 60:63] = 5000.0  # a 3x3 corner-reflector-like cluster, far above Z98
    out = despeckle(image, "lee-sigma", looks=1.0)
    np.testing.assert_array_equal(out[60:63, 60:63], image[60:63, 60:63])
    # Lee (no point-target handling) smears the cluster into its neighbourhood.
    assert despeckle(image, "lee", looks=1.0)[60, 64] > 10 * out[60, 64]


def test_lee_sigma__uses_the_scene_98th_percentile_unless_given(speckled: np.ndarray) -> None:
    result = engine.despeckle(speckled, "lee-sigma", domain="intensity")
    z98 = float(result.encoding["despeckle_statistics"]["z98"].compute())
    assert z98 == pytest.approx(np.quantile(speckled, 0.98), rel=0.005)
    explicit = despeckle(speckled, "lee-sigma", z98=z98)
    np.testing.assert_array_equal(result.values, explicit)


@pytest.mark.parametrize("looks", [1.0, 2.0, 4.0])
@pytest.mark.parametrize("sigma", [0.5, 0.8, 0.9, 0.95])
def test_sigma_range__holds_sigma_of_the_speckle_and_keeps_its_mean(looks: float, sigma: float) -> None:
    low, high, variance = sigma_range(looks, sigma)
    sample = speckle((2_000_000,), looks, np.random.default_rng(9), dtype=np.float64)
    inside = sample[(sample >= low) & (sample <= high)]
    assert inside.size / sample.size == pytest.approx(sigma, abs=0.002)
    assert inside.mean() == pytest.approx(1.0, abs=0.003)
    assert inside.var() == pytest.approx(variance, rel=0.01)
    assert low < 1.0 < high


def test_sigma_range__matches_lee_2009_table_for_one_look() -> None:
    # Lee et al. (2009), Table I, intensity, 1 look, sigma = 0.9: I1 = 0.084, I2 = 3.941.
    low, high, _ = sigma_range(1.0, 0.9)
    assert low == pytest.approx(0.084, abs=0.001)
    assert high == pytest.approx(3.94, abs=0.02)


def test_median__uses_only_valid_pixels_and_averages_an_even_count() -> None:
    image = np.array([[1, 2, 3], [4, 5, 6], [7, 8, np.nan]], np.float32)
    out = despeckle(image, "median", window_size_px=3)
    assert out[1, 1] == pytest.approx(4.5)  # median of 1..8
    assert np.isnan(out[2, 2])


def test_gamma_map__keeps_pixels_in_strongly_heterogeneous_windows() -> None:
    image = np.ones((15, 15), np.float32)
    image[7, 7] = 1000.0  # Ci far above sqrt(2) Cu: a point target
    assert despeckle(image, "gamma-map", window_size_px=5, looks=1.0)[7, 7] == 1000.0
