from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from engine.domain import convert, to_domain
from engine.exceptions import ParameterError


@pytest.mark.parametrize("domain", ["intensity", "amplitude", "db"])
def test_convert__round_trips_through_intensity(domain: str, rng: np.random.Generator) -> None:
    intensity = rng.gamma(1.0, 1.0, 100) + 1e-3
    np.testing.assert_allclose(convert(convert(intensity, "intensity", domain), domain, "intensity"), intensity, rtol=1e-12)


def test_convert__known_values() -> None:
    assert convert(np.array([100.0]), "intensity", "db")[0] == pytest.approx(20.0)
    assert convert(np.array([3.0]), "amplitude", "intensity")[0] == 9.0
    assert convert(np.array([3 + 4j]), "complex", "amplitude")[0] == pytest.approx(5.0)
    assert np.isnan(convert(np.array([0.0]), "intensity", "db")[0])


def test_convert__cannot_invent_a_phase() -> None:
    with pytest.raises(ParameterError, match="phase"):
        convert(np.ones(2), "intensity", "complex")


def test_to_domain__sets_attributes() -> None:
    a = xr.DataArray(np.array([[4.0]]), dims=("y", "x"), attrs={"domain": "intensity", "title": "t"})
    out = to_domain(a, "amplitude")
    assert out.attrs["domain"] == "amplitude" and out.attrs["title"] == "t" and out.values[0, 0] == 2.0
    assert to_domain(a, "db").attrs["units"] == "dB"
