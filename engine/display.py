"""Display images (B-mode ultrasound, OCT): what their grey levels say about the speckle.

A display image is log-compressed: grey level g shows 10*log10(I / top) = (g / 255 - 1) * DR,
with DR the dynamic range (dB) the scanner's 256 grey levels span. Two figures come from the
image itself:

- **Its dynamic range**, when nobody states it. Fully developed speckle has a fixed spread in
  dB, whatever the tissue: the quartiles of 10*log10 of exponential intensity lie 6.83 dB apart.
  The median interquartile range of the grey levels over 16 x 16 windows is that spread on the
  display, so DR = 6.83 * 255 / that. Interpolation blur and JPEG narrow the spread, so the
  estimate is the dynamic range at which the image's speckle is fully developed: what methods
  that assume one-look speckle need.
- **The grey-level offset of despeckling.** A method that estimates the mean intensity makes a
  speckle region brighter on the display than its speckle was (the mean of log speckle lies
  below the log of its mean: 2.51 dB for fully developed speckle; less for a small window over
  correlated speckle). The engine measures the shift between the despeckled image and its input
  (:func:`brightness_offset`) and takes it back, so that a despeckled region keeps its grey
  level, as sonographers expect. This needs the whole estimate before the output: display
  images (pictures of a few megapixels) are computed at once, not lazily.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from engine.domain import (
    DEFAULT_DYNAMIC_RANGE_DB,
    DISPLAY_MAX,
    NOMINAL_DISPLAY_RANGE_DB,
    convert,
    display_to_intensity,
)
from engine.exceptions import DomainAssumedWarning, ParameterError
from engine.scene import valid_values

#: Standard deviation (dB) of 10*log10 of fully developed (exponential) speckle intensity.
SPECKLE_SPREAD_DB = 10.0 / math.log(10.0) * math.pi / math.sqrt(6.0)
#: Its interquartile range (dB): 10*log10(ln 4 / ln(4/3)). The quartiles are what the estimate
#: uses: unlike the standard deviation they do not see the few pixels clipped to black.
SPECKLE_QUARTILES_DB = 10.0 * math.log10(math.log(4.0) / math.log(4.0 / 3.0))
#: Side of the windows both estimates are measured in.
WINDOW_PX = 16
#: Fewer usable windows than this and the image cannot say (the caller's default holds).
MIN_WINDOWS = 10
#: Above this an estimate says more about the scanner's smoothing than about its dynamic range.
SMOOTHED_ABOVE_DB = 90.0
#: Estimates outside this are clamped: no scanner shows less or more.
DYNAMIC_RANGE_LIMITS_DB = (20.0, 120.0)


def _windows(values: np.ndarray) -> np.ndarray:
    """Non-overlapping WINDOW_PX x WINDOW_PX windows from the top-left corner, one per row
    (every band's)."""
    planes = values.reshape((-1, *values.shape[-2:]))
    h, w = (n - n % WINDOW_PX for n in planes.shape[-2:])
    cut = planes[:, :h, :w].reshape(planes.shape[0], h // WINDOW_PX, WINDOW_PX, w // WINDOW_PX, WINDOW_PX)
    return cut.transpose(0, 1, 3, 2, 4).reshape(-1, WINDOW_PX * WINDOW_PX)


def _speckle_quartile_spread(grey: Any) -> float | None:
    """The median interquartile range (grey levels) of the image's speckle over 16 x 16 windows
    (no pixel missing, at most a fifth clipped to black or white, quartiles inside the range), or
    None when fewer than :data:`MIN_WINDOWS` windows are usable."""
    windows = _windows(np.asarray(grey, dtype=np.float64))
    windows = windows[np.all(np.isfinite(windows), axis=1)]
    if len(windows) == 0:
        return None
    low, high = np.percentile(windows, [25, 75], axis=1)
    clipped = ((windows <= 0) | (windows >= DISPLAY_MAX)).mean(axis=1)
    spread = (high - low)[(low > 0) & (high < DISPLAY_MAX) & (clipped <= 0.2)]
    if len(spread) < MIN_WINDOWS or float(np.median(spread)) <= 0:
        return None
    return float(np.median(spread))


def estimate_dynamic_range(grey: Any) -> float | None:
    """The dynamic range (dB) at which the image's speckle is fully developed, or None when the
    image holds too little speckle to say."""
    spread = _speckle_quartile_spread(grey)
    if spread is None:
        return None
    return float(np.clip(SPECKLE_QUARTILES_DB * DISPLAY_MAX / spread, *DYNAMIC_RANGE_LIMITS_DB))


def _paired_window_means(before: Any, after: Any, positive_after: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean of each 16 x 16 window of two images of one grid, over the windows where both hold
    every pixel, the first inside the display's range (or only positive when ``positive_after``:
    intensities); None when fewer than :data:`MIN_WINDOWS` are usable."""
    first = _windows(np.asarray(before, dtype=np.float64))
    second = _windows(np.asarray(after, dtype=np.float64))
    usable = np.isfinite(first) & np.isfinite(second) & (first > 0)
    usable &= (second > 0) if positive_after else (first < DISPLAY_MAX)
    rows = np.all(usable, axis=1)
    if rows.sum() < MIN_WINDOWS:
        return None
    return first[rows].mean(axis=1), second[rows].mean(axis=1)


def brightness_offset(grey_in: Any, grey_out: Any) -> float:
    """How many grey levels a despeckled image lost against its input where both show tissue:
    the median over 16 x 16 windows (no pixel missing or clipped in the input) of the difference
    of their mean grey levels. A method that estimates the mean intensity shows speckle brighter
    than it was (the log of a mean exceeds the mean of the logs: 2.5 dB for fully developed
    speckle), less so where its window holds few independent samples of correlated speckle;
    measured, the shift holds for any method, window and speckle. 0 when no window is usable."""
    means = _paired_window_means(grey_in, grey_out)
    return 0.0 if means is None else float(np.median(means[0] - means[1]))


@dataclass(frozen=True)
class DisplayPlan:
    """How one run converts display grey levels: the dynamic range of its conversions, the factor
    its intensity estimate is multiplied by before the output conversion, what the output's
    brightness is matched to (``grey``: the input's grey levels, :func:`brightness_offset`;
    ``intensity``: the input's intensity, :func:`intensity_ratio`), and what the output's
    attributes say."""

    dynamic_range_db: float | None = None
    output_scale: float = 1.0
    attrs: dict[str, Any] = field(default_factory=dict)
    grey: np.ndarray | None = None
    intensity: np.ndarray | None = None

    @property
    def matches_brightness(self) -> bool:
        return self.grey is not None or self.intensity is not None


def plan_display(scene: xr.DataArray, *, display_native: bool, source: str, target: str, method: str) -> DisplayPlan:
    """The display conversions of despeckling ``scene`` (domain ``source``) into ``target`` with
    a method that estimates the mean intensity, or (``display_native``) a model trained on
    display images, whose estimates already keep the grey level of speckle (it reads grey levels
    on the nominal scale, :data:`engine.domain.NOMINAL_DISPLAY_RANGE_DB`, or a narrower measured
    one)."""
    if target == "display" and source != "display":
        raise ParameterError(
            f"display output needs display input: grey levels are relative to a display's top and dynamic range, which "
            f"{source} data do not have; write intensity, amplitude or dB (a GeoTIFF) instead"
        )
    if display_native:
        if source == "display" and target != "display":
            raise ParameterError(
                f"{method!r} turns display grey levels into display grey levels; for {target} output give it intensity "
                "or complex (beamformed IQ) data"
            )
        if source == "display":
            # It reads grey levels on the nominal scale, or on the image's own measured range where
            # that is narrower: no speckle then looks wider than fully developed speckle, which it
            # handles poorly (simulated fine grain at 45 dB: 27 dB PSNR on the nominal scale, 33 on
            # the measured one). Trained to keep the grey level of speckle, it is
            # measured and held to it all the same, as every method is.
            grey = display_values(scene)
            if scene.attrs.get("dynamic_range_db"):
                warnings.warn(
                    f"{method!r} measures the spread of the image's speckle itself: the stated dynamic range is recorded, "
                    "not used", DomainAssumedWarning, stacklevel=3,
                )
            measured = estimate_dynamic_range(grey)
            scale = min(measured, NOMINAL_DISPLAY_RANGE_DB) if measured is not None else NOMINAL_DISPLAY_RANGE_DB
            attrs = {"dynamic_range_db": scene.attrs["dynamic_range_db"]} if scene.attrs.get("dynamic_range_db") else {}
            return DisplayPlan(scale, 1.0, {**attrs, "grey_scale_db": round(scale, 2)}, grey)
        # Its estimate keeps the grey level of speckle; the mean intensity is brighter (by the
        # mean of log speckle where the speckle is fully developed): measured on this scene.
        return DisplayPlan(None, 1.0, {}, None, _computed(scene, "intensity"))
    if source != "display":
        return DisplayPlan()
    stated = scene.attrs.get("dynamic_range_db")
    attrs: dict[str, Any] = {}
    grey = display_values(scene) if stated is None or target == "display" else None
    if stated is not None:
        try:
            dynamic_range, how = positive_dynamic_range(stated), "stated"
        except ParameterError as error:
            where = f" of {scene.attrs['source']}" if scene.attrs.get("source") else ""
            raise ParameterError(f"the dynamic range{where} (its DESPECKLE_DYNAMIC_RANGE_DB tag or dynamic_range_db attribute) is "
                                 f"unusable: {error}. State the right one (--dynamic-range)") from None
    else:
        found = estimate_dynamic_range(grey)
        if found is None:
            warnings.warn(
                f"the image holds too little speckle to measure its dynamic range; assuming {DEFAULT_DYNAMIC_RANGE_DB:g} dB "
                "(state it with dynamic_range_db= / --dynamic-range)",
                DomainAssumedWarning,
                stacklevel=3,
            )
            dynamic_range, how = DEFAULT_DYNAMIC_RANGE_DB, "assumed"
        else:
            dynamic_range, how = found, "estimated from the speckle"
            if found > SMOOTHED_ABOVE_DB:
                warnings.warn(
                    f"the speckle of this image is smoother than fully developed speckle at any usual dynamic range (estimate "
                    f"{found:.0f} dB): the scanner smoothed or interpolated it. Filters will treat it as fully developed speckle "
                    "at that range; if you know the scanner's setting (often printed on screen), state it (--dynamic-range)",
                    DomainAssumedWarning,
                    stacklevel=3,
                )
    attrs.update(dynamic_range_db=round(dynamic_range, 2), dynamic_range_source=how)
    return DisplayPlan(dynamic_range, 1.0, attrs, grey if target == "display" else None)


def matched(plan: DisplayPlan, estimate: np.ndarray, method_domain: str) -> tuple[DisplayPlan, np.ndarray]:
    """The plan with the intensity factor that gives ``estimate`` (in ``method_domain``) the input's
    brightness, and the estimate as intensity."""
    intensity = convert(estimate, method_domain, "intensity", plan.dynamic_range_db)
    if plan.intensity is not None:
        factor = intensity_ratio(plan.intensity, intensity)
        # Scaled, but as the models' radiometric guard holds it: pixels passed through as measured
        # (point targets, zeros) stay so, and no estimate rises above the largest input within
        # 4 px (engine/models/_radiometry.py).
        measured = np.nan_to_num(plan.intensity, nan=0.0)
        passed = intensity == measured
        ceiling = ndimage.maximum_filter(measured, size=9, mode="nearest")
        intensity = np.where(passed, intensity, np.minimum(intensity * factor, ceiling)).astype(np.float32)
        return DisplayPlan(plan.dynamic_range_db, 1.0, {**plan.attrs, "intensity_factor": round(factor, 4)}), intensity
    assert plan.grey is not None and plan.dynamic_range_db is not None
    offset = brightness_offset(plan.grey, convert(intensity, "intensity", "display", plan.dynamic_range_db))
    offset_db = offset * plan.dynamic_range_db / DISPLAY_MAX
    attrs = {**plan.attrs, "display_offset_db": round(offset_db, 3)}
    return DisplayPlan(plan.dynamic_range_db, float(10 ** (offset_db / 10)), attrs), intensity


def tissue_median(plan: DisplayPlan) -> np.float64:
    """The median intensity (on the plan's scale) of the pixels a display image shows as tissue:
    black, below the display's range, is left out. A scan's black surroundings (sector scans,
    screenshots) would otherwise pull the median a model normalises by far below the tissue's."""
    assert plan.grey is not None and plan.dynamic_range_db is not None
    tissue = plan.grey[np.isfinite(plan.grey) & (plan.grey > 0)]
    grey = float(np.median(tissue)) if tissue.size else DISPLAY_MAX / 2
    return np.float64(display_to_intensity(grey, plan.dynamic_range_db))


def intensity_ratio(intensity_in: Any, intensity_out: Any) -> float:
    """The factor that gives an estimate its input's mean intensity: the median over 16 x 16
    windows (every pixel valid and positive in both) of the ratio of their means; 1 when no
    window is usable."""
    means = _paired_window_means(intensity_in, intensity_out, positive_after=True)
    return 1.0 if means is None else float(np.median(means[0] / means[1]))


def display_values(scene: xr.DataArray) -> np.ndarray:
    """All grey levels of a display image (a picture of a few megapixels), checked, NaN where
    there is no pixel."""
    return _computed(scene, "display")


def _computed(scene: xr.DataArray, domain: str) -> np.ndarray:
    """The whole scene's valid values in ``domain``, in memory (display images and beamformed
    frames: small)."""
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # pictures have no map
        return np.asarray(valid_values(scene, domain).compute(), dtype=np.float64)


def positive_dynamic_range(value: Any) -> float:
    """A stated dynamic range, checked: a finite number of dB within what scanners show."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"the dynamic range must be a number of dB, got {value!r}") from None
    low, high = 1.0, 200.0
    if not low <= number <= high:
        raise ParameterError(f"the dynamic range must be between {low:g} and {high:g} dB, got {value!r}")
    return number
