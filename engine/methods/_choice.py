"""Which method runs when none is named: ``method="auto"`` (the default) picks the best
available one for the scene."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from engine._options import get_option
from engine.exceptions import MethodFallbackWarning, MethodUnavailableError
from engine.methods._registry import Method, get_method

if TYPE_CHECKING:
    import xarray as xr

#: What ``method="auto"`` runs, best first: the first available method is used. The model is
#: measured against the filters in ``benchmarks/results/sar_synthetic.md``.
AUTO_PREFERENCE = ("looks-unet", "lee")
#: The same for display images (B-mode, OCT), measured in ``benchmarks/results/ultrasound.md``.
DISPLAY_AUTO_PREFERENCE = ("ultrasound-unet", "lee")


def choose_method(name: str | None = None, scene: xr.DataArray | None = None) -> Method:
    """The method ``name`` (default ``set_options(default_method)``); ``"auto"`` is the first
    available method of :data:`AUTO_PREFERENCE`, of :data:`DISPLAY_AUTO_PREFERENCE` for display
    images, and a classical filter for other 8-bit images (which SAR models were not made
    for). Falling back from the preferred model warns."""
    name = name or get_option("default_method")
    if name != "auto":
        return get_method(name)
    preference = AUTO_PREFERENCE
    if scene is not None and scene.attrs.get("domain") == "display":
        preference = DISPLAY_AUTO_PREFERENCE
    elif scene is not None and scene.dtype == np.uint8:
        return get_method(AUTO_PREFERENCE[-1])
    reasons = []
    for candidate in preference:
        method = get_method(candidate)
        if method.unavailable_reason is None:
            if reasons:
                warnings.warn(
                    f"using {candidate!r}: " + "; ".join(reasons), MethodFallbackWarning, stacklevel=3
                )
            return method
        reasons.append(f"{candidate!r} is not available ({method.unavailable_reason})")
    raise MethodUnavailableError("no method is available for 'auto': " + "; ".join(reasons))
