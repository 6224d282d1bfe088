"""Display images (B-mode, OCT): the display domain, its dynamic range and brightness
convention, pictures in and out, and the simulated B-mode images the ultrasound model learns from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from PIL import Image

import engine
from engine.bmode import BModeImaging, tissue_phantom
from engine.display import SPECKLE_QUARTILES_DB, SPECKLE_SPREAD_DB, brightness_offset, estimate_dynamic_range
from engine.domain import convert, display_to_intensity, intensity_to_display
from engine.exceptions import DomainAssumedWarning, InputError, NotSpeckleWarning, ParameterError


def bmode(seed: int = 0, size: int = 320, **imaging: float) -> tuple[np.ndarray, np.ndarray]:
    """A simulated B-mode image of a homogeneous region (grey levels) and its reference."""
    rng = np.random.default_rng(seed)
    image = BModeImaging(**imaging).simulate(np.ones((size, size)), rng)
    return image.display, image.reference


def test_display__grey_levels_and_intensity_convert_both_ways() -> None:
    grey = np.arange(0, 256, dtype=np.float64)
    intensity = display_to_intensity(grey, 60.0)
    assert intensity[-1] == 1.0 and np.isclose(intensity[0], 1e-6)
    np.testing.assert_allclose(intensity_to_display(intensity, 60.0), grey, atol=1e-9)
    # Outside the display's range: clipped, zero intensity black.
    assert intensity_to_display(np.array([0.0, 1e-9, 4.0]), 60.0).tolist() == [0.0, 0.0, 255.0]
    np.testing.assert_allclose(convert(convert(grey, "display", "db", 40.0), "db", "display", 40.0), grey, atol=1e-9)
    with pytest.raises(ParameterError, match="become intensity only with their dynamic range"):
        convert(grey, "display", "intensity")


@pytest.mark.parametrize("dynamic_range", [45.0, 60.0, 75.0])
def test_display__dynamic_range_is_measured_on_fully_developed_speckle(dynamic_range: float) -> None:
    grey, _ = bmode(dynamic_range_db=dynamic_range, median_grey=140)
    assert estimate_dynamic_range(grey) == pytest.approx(dynamic_range, rel=0.08)


def test_display__without_speckle_the_dynamic_range_is_not_measured() -> None:
    assert estimate_dynamic_range(np.full((100, 100), 255.0)) is None  # saturated
    assert estimate_dynamic_range(np.full((20, 20), 100.0)) is None  # too few windows


def test_display__speckle_spread_constants_are_those_of_fully_developed_speckle() -> None:
    speckle = np.random.default_rng(1).exponential(1.0, (512, 512))
    assert SPECKLE_SPREAD_DB == pytest.approx(np.std(10 * np.log10(speckle)), rel=0.02)
    assert SPECKLE_QUARTILES_DB == pytest.approx(np.subtract(*np.percentile(10 * np.log10(speckle), [75, 25])), rel=0.02)


def test_display__brightness_offset_is_measured_where_both_images_show_tissue() -> None:
    grey = np.random.default_rng(2).uniform(20, 200, (256, 256))
    assert brightness_offset(grey, grey - 7.0) == pytest.approx(7.0)
    # Clipped or missing input pixels do not count; too little left: no shift.
    assert brightness_offset(np.zeros((256, 256)), grey) == 0.0
    with_holes = grey.copy()
    with_holes[:128] = np.nan
    assert brightness_offset(with_holes, grey - 3.0) == pytest.approx(3.0)


@pytest.mark.parametrize("method, tolerance", [("lee", 0.02), ("boxcar", 0.02), ("refined-lee", 0.02)])
def test_display__filters_keep_the_grey_level_of_speckle_and_the_display_range(method: str, tolerance: float) -> None:
    grey, reference = bmode(seed=2, dynamic_range_db=50, median_grey=120)
    out = engine.despeckle(grey.astype(np.uint8), method, domain="display")
    values = out.values
    assert out.attrs["domain"] == "display" and out.attrs["dynamic_range_source"] == "estimated from the speckle"
    assert out.attrs["dynamic_range_db"] == pytest.approx(50, rel=0.08)
    assert values.min() >= 0 and values.max() <= 255
    inner = (slice(20, -20), slice(20, -20))
    assert values[inner].mean() == pytest.approx(grey[inner].mean(), rel=tolerance)
    assert values[inner].std() < 0.5 * grey[inner].std()
    assert np.abs(values - reference)[inner].mean() < np.abs(grey - reference)[inner].mean()


def test_display__a_stated_dynamic_range_is_used_and_recorded() -> None:
    grey, _ = bmode(seed=3)
    out = engine.despeckle(grey, "lee", domain="display", dynamic_range_db=42)
    assert out.attrs["dynamic_range_db"] == 42 and out.attrs["dynamic_range_source"] == "stated"
    with pytest.raises(ParameterError, match="between 1 and 200 dB"):
        engine.despeckle(grey, "lee", domain="display", dynamic_range_db=0)


def test_display__bad_values_and_impossible_conversions_are_refused() -> None:
    with pytest.raises(InputError, match="grey levels outside 0-255"):
        engine.despeckle(np.full((64, 64), 300.0, np.float32), "lee", domain="display", dynamic_range_db=60).compute()
    with pytest.raises(ParameterError, match="display output needs display input"):
        engine.despeckle(np.ones((64, 64), np.float32), "lee", domain="intensity", output_domain="display")
    frames = xr.DataArray(np.full((2, 32, 32), 100.0, np.float32), dims=("time", "y", "x"), attrs={"domain": "display"})
    with pytest.raises(InputError, match="time series of display images"):
        engine.open_stack(frames)


def test_display__intensity_output_of_a_display_image_is_the_mean_intensity() -> None:
    grey, _ = bmode(seed=4, dynamic_range_db=60)
    out = engine.despeckle(grey, "boxcar", domain="display", dynamic_range_db=60, output_domain="intensity", window_size_px=9)
    inner = (slice(20, -20), slice(20, -20))
    assert np.nanmean(out.values[inner]) == pytest.approx(display_to_intensity(grey, 60.0)[inner].mean(), rel=0.05)


@pytest.fixture()
def picture(tmp_path: Path) -> Path:
    grey, _ = bmode(seed=5, size=200)
    path = tmp_path / "scan.png"
    Image.fromarray(grey.astype(np.uint8)).save(path)
    return path


def test_pictures__are_read_as_display_images(picture: Path, tmp_path: Path) -> None:
    with pytest.warns(DomainAssumedWarning, match="read as a display image"):
        scene = engine.open_scene(picture)
    assert scene.attrs["domain"] == "display"
    assert engine.open_scene(picture, domain="amplitude").attrs["domain"] == "amplitude"  # said otherwise: no guess


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_pictures__command_line_writes_an_8_bit_picture_and_nothing_else(picture: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    done = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(picture), str(out), "--method", "lee"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "geotransform" not in done.stderr
    with Image.open(out) as image:
        written = np.asarray(image)
        assert image.mode == "L" and written.shape == (200 - 2 * BModeImaging().margin_px,) * 2
    with Image.open(picture) as image:
        grey = np.asarray(image, dtype=np.float64)
    assert abs(written.mean() - grey.mean()) < 0.03 * grey.mean()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["scan.png", out.name])  # no temporaries, no .aux.xml
    again = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(picture), str(out), "--method", "lee"],
                           capture_output=True, text=True, check=False)
    assert again.returncode != 0 and "exists" in again.stderr


def test_pictures__hold_display_images_only(picture: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(picture), str(tmp_path / "o.png"), "--method", "lee",
                           "--output-domain", "intensity"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "8-bit display images" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o.png").exists()


def test_bmode__reference_has_the_grey_level_of_the_speckle_whatever_the_scanner() -> None:
    for imaging in ({}, {"blur_px": 0.8}, {"jpeg_quality": 80}, {"tilt_deg": 25.0, "lateral_px": 3.0}):
        grey, reference = bmode(seed=6, **imaging)
        assert grey.mean() == pytest.approx(reference.mean(), abs=1.0)
        assert set(np.unique(grey)) <= set(range(256))


def test_bmode__point_spread_function_has_unit_energy_and_sets_the_grain() -> None:
    narrow, wide = BModeImaging(axial_px=0.8, lateral_px=1.0), BModeImaging(axial_px=2.0, lateral_px=4.0)
    for imaging in (narrow, wide):
        assert float((imaging.psf() ** 2).sum()) == pytest.approx(1.0)

    def lag_correlation(grey: np.ndarray) -> float:
        x = grey - grey.mean()
        return float((x[:, 1:] * x[:, :-1]).mean() / x.var())

    assert lag_correlation(bmode(seed=7, axial_px=2.0, lateral_px=4.0)[0]) > lag_correlation(bmode(seed=7, axial_px=0.8, lateral_px=1.0)[0]) + 0.3


def test_bmode__phantoms_are_reproducible_and_varied() -> None:
    a = tissue_phantom((128, 128), np.random.default_rng(0))
    b = tissue_phantom((128, 128), np.random.default_rng(0))
    c = tissue_phantom((128, 128), np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and a.min() > 0 and np.median(a) == pytest.approx(1.0, rel=0.01)


@pytest.fixture()
def ultrasound_model() -> str:
    pytest.importorskip("torch")
    reason = engine.get_method("ultrasound-unet").unavailable_reason
    if reason:
        pytest.skip(f"ultrasound-unet cannot run here: {reason}")
    return "ultrasound-unet"


def _psnr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((reference - estimate) ** 2)))


def test_ultrasound_model__despeckles_display_images_in_their_range_and_brightness(ultrasound_model: str) -> None:
    rng = np.random.default_rng(11)
    image = BModeImaging(axial_px=1.2, lateral_px=2.5, dynamic_range_db=60).simulate(tissue_phantom((300, 300), rng), rng)
    out = engine.despeckle(image.display, ultrasound_model, domain="display").values
    assert out.min() >= 0 and out.max() <= 255
    assert _psnr(image.reference, out) > _psnr(image.reference, image.display) + 6
    flat, _ = bmode(seed=12, size=300)
    assert engine.despeckle(flat, ultrasound_model, domain="display").values.mean() == pytest.approx(flat.mean(), rel=0.05)


def test_ultrasound_model__tiled_equals_whole_and_ignores_the_stated_range(ultrasound_model: str) -> None:
    grey, _ = bmode(seed=13, size=300)
    whole = engine.despeckle(grey, ultrasound_model, domain="display").values
    tiled = engine.despeckle(xr.DataArray(grey, dims=("y", "x")).chunk(96), ultrasound_model, domain="display").compute().values
    np.testing.assert_allclose(tiled, whole, atol=1e-3)
    # It measures the speckle's spread itself: a stated dynamic range changes nothing, and it says so.
    with pytest.warns(DomainAssumedWarning, match="recorded, not used"):
        stated = engine.despeckle(grey, ultrasound_model, domain="display", dynamic_range_db=45).values
    np.testing.assert_array_equal(stated, whole)


def test_ultrasound_model__a_black_surround_does_not_change_the_tissue(ultrasound_model: str) -> None:
    """Sector scans and screenshots are framed in black: the model's normalisation ignores it."""
    grey, _ = bmode(seed=16, size=260)
    framed = np.zeros((grey.shape[0] + 200, grey.shape[1] + 200), np.float32)
    framed[100:-100, 100:-100] = grey
    alone = engine.despeckle(grey, ultrasound_model, domain="display").values
    inside = engine.despeckle(framed, ultrasound_model, domain="display").values[100:-100, 100:-100]
    core = (slice(70, -70), slice(70, -70))  # beyond the model's reach of the black
    assert np.abs(inside[core] - alone[core]).mean() < 2.5  # the brightness match sees the frame's edge; 8 levels before


def test_ultrasound_model__is_chosen_for_display_images_and_sar_models_warn(ultrasound_model: str, picture: Path) -> None:
    with pytest.warns(DomainAssumedWarning):
        scene = engine.open_scene(picture)
    out = scene.despeckle()
    assert out.attrs["despeckle_method"] == ultrasound_model and out.attrs["domain"] == "display"
    with pytest.warns(NotSpeckleWarning, match="SAR model and the scene is a display image"):
        engine.despeckle(scene, "looks-unet")
    with pytest.raises(ParameterError, match="display grey levels into display grey levels"):
        engine.despeckle(scene, ultrasound_model, output_domain="intensity")


@pytest.mark.shared_data
def test_ultrasound_model__runs_on_beamformed_rf_as_mean_intensity(ultrasound_model: str, shared_data: Path) -> None:
    scene = engine.open_scene(shared_data / "ultrasound" / "rf" / "muscle_invivo_rf.hdf5", variable="frame_1")
    out = scene.despeckle(method=ultrasound_model)
    assert out.attrs["domain"] == "intensity"
    intensity = np.abs(scene.values) ** 2
    rows = slice(100, 300)  # muscle below the fascia: developed speckle
    assert np.nanmean(out.values[rows]) == pytest.approx(intensity[rows].mean(), rel=0.2)


def test_pictures__palette_alpha_colour_and_killed_writes(tmp_path: Path) -> None:
    grey, _ = bmode(seed=14, size=120)
    levels = grey.astype(np.uint8)
    Image.fromarray(levels).quantize(16).save(tmp_path / "palette.png")
    with pytest.raises(InputError, match="palette"):
        engine.open_scene(tmp_path / "palette.png")
    # A grey screenshot saved as RGB(A) or grey + alpha is one grey band; a colour one says so.
    Image.fromarray(np.stack([levels] * 3 + [np.full_like(levels, 255)], axis=-1), "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.stack([levels, np.full_like(levels, 255)], axis=-1), "LA").save(tmp_path / "la.png")
    for name in ("rgba.png", "la.png"):
        with pytest.warns(DomainAssumedWarning):
            assert engine.open_scene(tmp_path / name).shape[0] == 1
    coloured = np.stack([levels] * 3, axis=-1)
    coloured[:10, :10] = (255, 0, 0)
    Image.fromarray(coloured).save(tmp_path / "colour.png")
    with pytest.warns(DomainAssumedWarning) as said:
        assert engine.open_scene(tmp_path / "colour.png").shape[0] == 3
    assert any("colour picture" in str(w.message) for w in said)
    # A temporary left by a killed picture write (its staging GeoTIFF's own temporary) is removed
    # by the next run to that name.
    from engine.io._atomic import _HOST  # how temporaries name this host

    stale = tmp_path / f"..out.png.{_HOST}-999999-abcd1234.partial.tif.{_HOST}-999999-efgh5678.partial"
    stale.write_bytes(b"left by a killed run")
    out = engine.despeckle(engine.open_scene(tmp_path / "la.png", domain="display"), "lee")
    engine.write_scene(out, tmp_path / "out.png")
    assert not stale.exists() and (tmp_path / "out.png").exists()


def test_pictures__missing_pixels_stay_missing_and_names_match_formats(tmp_path: Path) -> None:
    grey, _ = bmode(seed=15, size=120)
    holes = grey.astype(np.float32)
    holes[:8] = np.nan
    out = engine.despeckle(holes, "lee", domain="display")
    assert np.isnan(out.values[:8]).all() and np.isfinite(out.values[20:]).all()
    with pytest.raises(ParameterError, match="picture's name"):
        engine.write_scene(out, tmp_path / "o.png", format="gtiff")
    with pytest.raises(InputError, match="no valid pixels"):
        engine.write_scene(engine.despeckle(np.full((64, 64), np.nan, np.float32), "lee", domain="display", dynamic_range_db=60),
                           tmp_path / "nan.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(ParameterError, match="dynamic range describes display images"):
        engine.despeckle(np.ones((32, 32), np.float32), "lee", domain="intensity", dynamic_range_db=60)
    tagged = xr.DataArray(grey, dims=("y", "x"), attrs={"domain": "display", "dynamic_range_db": "inf"})
    with pytest.raises(ParameterError, match="dynamic range.*unusable"):
        engine.despeckle(tagged, "lee")
