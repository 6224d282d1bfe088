"""Radiometric domains and the conversions between them (complex, intensity, amplitude, dB,
display).

The functions here work on NumPy and dask arrays alike (block-wise, lazily for dask). Intensity
is the hub: every domain converts to and from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from engine.conventions import DOMAIN_ATTRS, DOMAINS
from engine.exceptions import ParameterError

#: Grey levels of a display image (B-mode ultrasound, OCT): 0 is the bottom of the dynamic range.
DISPLAY_MAX = 255.0
#: Dynamic range assumed for display images when nobody states it and the speckle cannot say.
DEFAULT_DYNAMIC_RANGE_DB = 60.0
#: How models made for display images read grey levels as intensity: one fixed scale whatever
#: the image's dynamic range (a normalisation, not a statement about the image), so that they
#: see the grey levels they were trained on.
NOMINAL_DISPLAY_RANGE_DB = 60.0
#: Mean of 10*log10 of fully developed (exponential) speckle intensity, relative to its mean:
#: -10*log10(e)*Euler's gamma. A despeckled display is shifted by it, so that a speckle region
#: keeps the grey level it had (what a sonographer expects of a smoothed image).
LOG_SPECKLE_MEAN_DB = -2.5068


def display_to_intensity(grey: Any, dynamic_range_db: float) -> Any:
    """Intensity (relative to the display's top) of log-compressed grey levels: grey level
    ``DISPLAY_MAX`` is 0 dB and 0 is ``-dynamic_range_db``."""
    return 10.0 ** ((grey / DISPLAY_MAX - 1.0) * (dynamic_range_db / 10.0))


def intensity_to_display(intensity: Any, dynamic_range_db: float) -> Any:
    """Grey levels of intensity relative to the display's top, clipped to the display's range
    (zero intensity is black)."""
    positive = intensity > 0
    db = 10.0 * np.log10(np.where(positive, intensity, 1.0))
    grey = np.where(positive, DISPLAY_MAX * (1.0 + db / dynamic_range_db), 0.0)
    grey = np.where(np.isnan(intensity), np.nan, np.clip(grey, 0.0, DISPLAY_MAX))  # no pixel stays no pixel
    return grey.astype(getattr(intensity, "dtype", np.float64))


def check_domain(domain: Any, *, allow_complex: bool = True) -> str:
    """Validate a domain name; return it lowercased."""
    name = str(domain).lower() if domain is not None else ""
    allowed = DOMAINS if allow_complex else tuple(d for d in DOMAINS if d != "complex")
    if name not in allowed:
        raise ParameterError(f"domain must be one of {', '.join(allowed)}, got {domain!r}")
    return name


def _dynamic_range(dynamic_range_db: float | None) -> float:
    if dynamic_range_db is None:
        raise ParameterError(
            "display grey levels (B-mode, OCT) become intensity only with their dynamic range, which this step was not given: "
            "despeckle them with despeckle run or engine.despeckle (which measure it), or state it (dynamic_range_db=)"
        )
    return float(dynamic_range_db)


def to_intensity(x: Any, domain: str, dynamic_range_db: float | None = None) -> Any:
    """Intensity |z|^2 from data in ``domain``; float32 for float32/complex64 input. Display grey
    levels become intensity relative to the display's top (``dynamic_range_db`` needed)."""
    if domain == "display":
        return display_to_intensity(x, _dynamic_range(dynamic_range_db)).astype(getattr(x, "dtype", np.float64))
    if domain == "intensity":
        return x
    if domain == "amplitude":
        return x * x
    if domain == "db":
        return 10.0 ** (x / 10.0)
    if domain == "complex":
        return x.real * x.real + x.imag * x.imag
    raise ParameterError(f"unknown domain {domain!r}")


def from_intensity(intensity: Any, domain: str, dynamic_range_db: float | None = None) -> Any:
    """Data in ``domain`` from intensity. Zero intensity has no dB value: it becomes NaN (nodata);
    in the display domain it is black, and grey levels are clipped to the display's range."""
    if domain == "display":
        return intensity_to_display(intensity, _dynamic_range(dynamic_range_db))
    if domain == "intensity":
        return intensity
    if domain == "amplitude":
        return np.sqrt(intensity)
    if domain == "db":
        positive = intensity > 0
        return np.where(positive, 10.0 * np.log10(np.where(positive, intensity, 1.0)), np.nan).astype(
            intensity.dtype
        )
    raise ParameterError(f"cannot convert intensity to domain {domain!r}")


def convert(x: Any, source: str, target: str, dynamic_range_db: float | None = None) -> Any:
    """Convert an array from one domain to another (through intensity); ``dynamic_range_db`` is
    the display's when either domain is ``display``."""
    if source == target:
        return x
    if target == "complex":
        raise ParameterError("cannot convert to the complex domain: the phase is not known")
    return from_intensity(to_intensity(x, source, dynamic_range_db), target, dynamic_range_db)


def to_domain(da: xr.DataArray, domain: str) -> xr.DataArray:
    """Return ``da`` converted to ``domain``, with ``attrs["domain"]``, units and long_name set.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> a = xr.DataArray(np.array([[1.0, 100.0]]), dims=("y", "x"), attrs={"domain": "intensity"})
    >>> to_domain(a, "db").values.tolist()
    [[0.0, 20.0]]
    """
    source = check_domain(da.attrs.get("domain"))
    target = check_domain(domain)
    dynamic_range = da.attrs.get("dynamic_range_db")
    out = xr.apply_ufunc(convert, da, kwargs={"source": source, "target": target, "dynamic_range_db": dynamic_range},
                         dask="allowed", keep_attrs=True)
    out.attrs.update(DOMAIN_ATTRS[target], domain=target)
    return out
