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
  below the log of its mean). The engine shifts such estimates back by the offset measured on
  the image (median over the same windows of 10*log10(mean I) - mean(10*log10 I)), so that a
  despeckled region keeps its grey level, as sonographers expect.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from engine.domain import (
    DEFAULT_DYNAMIC_RANGE_DB,
    DISPLAY_MAX,
    LOG_SPECKLE_MEAN_DB,
    NOMINAL_DISPLAY_RANGE_DB,
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
#: Estimates outside this are clamped: no scanner shows less or more.
DYNAMIC_RANGE_LIMITS_DB = (20.0, 120.0)


def _windows(values: np.ndarray) -> np.ndarray:
    """Non-overlapping WINDOW_PX x WINDOW_PX windows from the top-left corner, one per row
    (every band's)."""
    planes = values.reshape((-1, *values.shape[-2:]))
    h, w = (n - n % WINDOW_PX for n in planes.shape[-2:])
    cut = planes[:, :h, :w].reshape(planes.shape[0], h // WINDOW_PX, WINDOW_PX, w // WINDOW_PX, WINDOW_PX)
    return cut.transpose(0, 1, 3, 2, 4).reshape(-1, WINDOW_PX * WINDOW_PX)


def estimate_dynamic_range(grey: Any) -> float | None:
    """The dynamic range (dB) at which the image's speckle is fully developed, or None when
    fewer than :data:`MIN_WINDOWS` windows are usable (no pixel missing, at most a fifth clipped
    to black or white, quartiles inside the range)."""
    windows = _windows(np.asarray(grey, dtype=np.float64))
    windows = windows[np.all(np.isfinite(windows), axis=1)]
    if len(windows) == 0:
        return None
    low, high = np.percentile(windows, [25, 75], axis=1)
    clipped = ((windows <= 0) | (windows >= DISPLAY_MAX)).mean(axis=1)
    spread = (high - low)[(low > 0) & (high < DISPLAY_MAX) & (clipped <= 0.2)]
    if len(spread) < MIN_WINDOWS or float(np.median(spread)) <= 0:
        return None
    return float(np.clip(SPECKLE_QUARTILES_DB * DISPLAY_MAX / float(np.median(spread)), *DYNAMIC_RANGE_LIMITS_DB))


def despeckling_offset_db(intensity: Any) -> float:
    """How much brighter (dB) the mean intensity of a speckle region shows than its speckle:
    the median over windows of 10*log10(mean I) - mean(10*log10 I); 0 when no window is usable."""
    windows = _windows(np.asarray(intensity, dtype=np.float64))
    usable = windows[np.all(np.isfinite(windows) & (windows > 0), axis=1)]
    if len(usable) < MIN_WINDOWS:
        return 0.0
    gaps = 10 * np.log10(usable.mean(axis=1)) - (10 * np.log10(usable)).mean(axis=1)
    return float(np.median(gaps))


@dataclass(frozen=True)
class DisplayPlan:
    """How one run converts display grey levels: the dynamic range of its conversions, the factor
    its intensity estimate is multiplied by before the output conversion, and what the output's
    attributes say about both."""

    dynamic_range_db: float | None = None
    output_scale: float = 1.0
    attrs: dict[str, Any] = field(default_factory=dict)


def plan_display(scene: xr.DataArray, *, display_native: bool, source: str, target: str, method: str) -> DisplayPlan:
    """The display conversions of despeckling ``scene`` (domain ``source``) into ``target`` with
    a method that estimates the mean intensity, or (``display_native``) a model trained on
    display images, whose estimates already keep the grey level of speckle (it reads grey levels
    on the nominal scale, :data:`engine.domain.NOMINAL_DISPLAY_RANGE_DB`)."""
    if target == "display" and source != "display":
        raise ParameterError(
            f"display output needs display input: grey levels are relative to a display's top and dynamic range, which "
            f"{source} data do not have; choose another output domain"
        )
    if display_native:
        if source == "display" and target != "display":
            raise ParameterError(
                f"{method!r} turns display grey levels into display grey levels; for {target} output give it intensity "
                "or complex (beamformed IQ) data"
            )
        if source == "display":
            return DisplayPlan(NOMINAL_DISPLAY_RANGE_DB, 1.0, {"dynamic_range_db": scene.attrs.get("dynamic_range_db")} if scene.attrs.get("dynamic_range_db") else {})
        # Its estimate keeps the grey level of speckle; the mean intensity is brighter by the
        # mean of log speckle.
        return DisplayPlan(None, float(10 ** (-LOG_SPECKLE_MEAN_DB / 10)))
    if source != "display":
        return DisplayPlan()
    stated = scene.attrs.get("dynamic_range_db")
    attrs: dict[str, Any] = {}
    grey = display_values(scene)
    if stated is not None:
        dynamic_range, how = float(stated), "stated"
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
    attrs.update(dynamic_range_db=round(dynamic_range, 2), dynamic_range_source=how)
    scale = 1.0
    if target == "display":
        offset = despeckling_offset_db(display_to_intensity(grey, dynamic_range))
        scale = float(10 ** (-offset / 10))
        attrs["display_offset_db"] = round(-offset, 3)
    return DisplayPlan(dynamic_range, scale, attrs)


def display_values(scene: xr.DataArray) -> np.ndarray:
    """All grey levels of a display image (a picture of a few megapixels), checked, NaN where
    there is no pixel."""
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # pictures have no map
        return np.asarray(valid_values(scene, "display").compute(), dtype=np.float64)


def positive_dynamic_range(value: Any) -> float:
    """A stated dynamic range, checked: a finite number of dB within what scanners show."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"the dynamic range must be a number of dB, got {value!r}") from None
    low, high = 1.0, 200.0
    if not low <= number <= high:
        raise ParameterError(f"the dynamic range must be between {low:g} and {high:g} dB, got {value!r}")
    return number
