"""Radiometric domains and the conversions between them (complex, intensity, amplitude, dB).

The functions here work on NumPy and dask arrays alike (block-wise, lazily for dask). Intensity
is the hub: every domain converts to and from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from engine.conventions import DOMAIN_ATTRS, DOMAINS
from engine.exceptions import ParameterError


def check_domain(domain: Any, *, allow_complex: bool = True) -> str:
    """Validate a domain name; return it lowercased."""
    name = str(domain).lower() if domain is not None else ""
    allowed = DOMAINS if allow_complex else tuple(d for d in DOMAINS if d != "complex")
    if name not in allowed:
        raise ParameterError(f"domain must be one of {', '.join(allowed)}, got {domain!r}")
    return name


def to_intensity(x: Any, domain: str) -> Any:
    """Intensity |z|^2 from data in ``domain``; float32 for float32/complex64 input."""
    if domain == "intensity":
        return x
    if domain == "amplitude":
        return x * x
    if domain == "db":
        return 10.0 ** (x / 10.0)
    if domain == "complex":
        return x.real * x.real + x.imag * x.imag
    raise ParameterError(f"unknown domain {domain!r}")


def from_intensity(intensity: Any, domain: str) -> Any:
    """Data in ``domain`` from intensity. Zero intensity has no dB value: it becomes NaN (nodata)."""
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


def convert(x: Any, source: str, target: str) -> Any:
    """Convert an array from one domain to another (through intensity)."""
    if source == target:
        return x
    if target == "complex":
        raise ParameterError("cannot convert to the complex domain: the phase is not known")
    return from_intensity(to_intensity(x, source), target)


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
    out = xr.apply_ufunc(convert, da, kwargs={"source": source, "target": target}, dask="allowed", keep_attrs=True)
    out.attrs.update(DOMAIN_ATTRS[target], domain=target)
    return out
