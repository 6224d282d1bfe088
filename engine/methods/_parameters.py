"""Typed method parameters: one declaration gives validation, CLI options, QGIS widgets and docs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.exceptions import ParameterError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a despeckling method.

    Parameters
    ----------
    name
        Python/keyword name, with units in it where it has units (``window_size_px``).
    type
        ``int``, ``float``, ``str`` or ``bool``.
    default
        Value used when the caller gives none. ``None`` together with ``from_attr`` means
        "take it from the scene's attributes" (for example the number of looks).
    help
        One sentence for ``despeckle methods``, ``--help`` and the QGIS dialog.
    minimum, maximum
        Inclusive bounds for numbers.
    choices
        Allowed values, when the set is small.
    odd
        The value must be an odd integer (window sizes).
    from_attr
        Attribute of the input scene giving the default (``"looks"``).
    advanced
        A setting most users leave alone (device, batch size, scene statistics): front ends
        (the QGIS dialog) show it under *Advanced*.
    statistic
        ``statistic(values) -> 0-d dask array``: when the parameter is neither given nor taken
        from the scene's attributes, the engine computes it over the whole scene in a first pass
        (``values``: the scene in the method's domain, a dask array, NaN where invalid) and
        passes it to every chunk, so that the result does not depend on the chunking (Lee
        sigma's ``z98``, a network's ``scene_median``, a model's estimated ``looks``).
    snap, otb
        Name of the same parameter in SNAP's Speckle-Filter operator and in OTB's
        ``otbcli_Despeckle``, for users coming from those tools.
    """

    name: str
    type: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    odd: bool = False
    from_attr: str | None = None
    advanced: bool = False
    statistic: Callable[[Any], Any] | None = None
    snap: str | None = None
    otb: str | None = None

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def coerce(self, value: Any) -> Any:
        """Convert a value given as text (CLI, QGIS) or Python to this parameter's type."""
        if isinstance(value, str) and self.type is not str:
            text = value.strip().lower()
            if self.type is bool:
                if text in _TRUE:
                    return True
                if text in _FALSE:
                    return False
                raise self._error(value, "true or false")
            try:
                number = float(text)
            except ValueError:
                raise self._error(value, f"a number ({self.type.__name__})") from None
            if self.type is int:
                if not number.is_integer():
                    raise self._error(value, "an integer")
                return int(number)
            return number
        if isinstance(value, np.generic) and not isinstance(value, np.bool_):
            value = value.item()  # numpy scalars (np.int64(7), np.float32(2.5)) as the Python numbers they are
        elif isinstance(value, np.bool_):
            value = bool(value)
        if self.type is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if self.type is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if self.type is int and isinstance(value, bool):
            raise self._error(value, "an integer")
        if not isinstance(value, self.type):
            raise self._error(value, f"a {self.type.__name__}")
        return value

    def validate(self, value: Any) -> Any:
        """Coerce and check one value; raise :class:`ParameterError` saying what was expected."""
        value = self.coerce(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise self._error(value, "a finite number")
        if self.choices is not None and value not in self.choices:
            raise self._error(value, "one of " + ", ".join(str(c) for c in self.choices))
        if self.minimum is not None and value < self.minimum:
            raise self._error(value, f">= {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise self._error(value, f"<= {self.maximum:g}")
        if self.odd and value % 2 != 1:
            raise self._error(value, "an odd integer (the window has a centre pixel)")
        return value

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description (``despeckle methods --json``, the QGIS plugin)."""
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "from_attr": self.from_attr,
            "help": self.help,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices) if self.choices is not None else None,
            "odd": self.odd,
            "computed_over_the_scene": self.statistic is not None,
            "advanced": self.advanced,
            "snap": self.snap,
            "otb": self.otb,
        }

    def _error(self, value: Any, expected: str) -> ParameterError:
        return ParameterError(f"parameter {self.name} must be {expected}, got {value!r}")


def resolve_parameters(
    method_name: str,
    parameters: tuple[Parameter, ...],
    given: Mapping[str, Any],
    attrs: Mapping[str, Any],
) -> dict[str, Any]:
    """Validate ``given`` against ``parameters`` and fill in defaults (from ``attrs`` if declared)."""
    known = {p.name: p for p in parameters}
    unknown = sorted(set(given) - set(known))
    if unknown:
        valid = ", ".join(known) or "none"
        raise ParameterError(
            f"method {method_name!r} has no parameter {', '.join(unknown)}; its parameters: {valid}"
        )
    resolved: dict[str, Any] = {}
    for p in parameters:
        if given.get(p.name) is not None:
            resolved[p.name] = p.validate(given[p.name])
        elif p.from_attr is not None and attrs.get(p.from_attr) is not None:
            resolved[p.name] = p.validate(attrs[p.from_attr])
        else:
            resolved[p.name] = p.validate(p.default) if p.default is not None else None
    return resolved
