"""Methods over time: despeckling a stack of co-registered dates (multi-temporal filters).

A stack method is registered beside the single-image methods, in the same name space (a name
means one method), and declares its parameters the same way; it differs in what it runs on: a
``(time, y, x)`` stack in intensity, NaN where a date has no pixel. Its implementation builds on
the single-image pipeline (the spatial estimators it uses are registered methods), so it lives
above it, in ``engine.stack``; this module is only the contract and the registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.exceptions import ParameterError
from engine.methods._parameters import Parameter, resolve_parameters
from engine.methods._registry import _METHODS, NAMED_ELSEWHERE, load_catalogs, normalise_name, refuse_if_retired

#: ``run(stack, looks, spatial_parameters, date_scenes, **resolved) -> stack``: ``stack`` a lazy
#: (time, y, x) intensity DataArray (float32, NaN where a date has no pixel, time in order),
#: ``looks`` its dates' looks, ``spatial_parameters`` those of the single-image method used inside,
#: ``date_scenes`` the dates as opened from their files (or None), for spatial steps that read
#: their halos from the files; returns the despeckled intensities, same shape, NaN exactly where
#: the input had none.
StackRun = Callable[..., Any]


@dataclass(frozen=True)
class StackMethod:
    """A multi-temporal despeckling method (``despeckle stack``, ``stack.despeckle(...)``).

    ``halo`` is the reach in pixels of its spatial steps at the resolved parameters; along time
    it uses every date (or the temporal window its parameters give)."""

    name: str
    title: str
    run: StackRun
    halo: Callable[[Mapping[str, Any]], int]
    parameters: tuple[Parameter, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    #: Completes resolved parameters with what is decided where it runs ("auto" -> the method it
    #: picks here), so that the provenance says what ran.
    settle: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        for value in given.values():  # a retired single-image method among the choices: say why, and what replaces it
            if isinstance(value, str):
                refuse_if_retired(value)
        resolved = resolve_parameters(self.name, self.parameters, given, {})
        return self.settle(resolved) if self.settle is not None else resolved

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description (``despeckle methods --json`` "stack_methods")."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "references": list(self.references),
            "halo_px_at_defaults": int(self.halo(self.resolve({}))),
            "parameters": [p.describe() for p in self.parameters],
        }


_STACK_METHODS: dict[str, StackMethod] = {}
#: What ``despeckle stack`` runs without ``--method``.
DEFAULT_STACK_METHOD = "quegan"


def register_stack_method(method: StackMethod) -> StackMethod:
    load_catalogs()
    if normalise_name(method.name) != method.name:
        raise ValueError(f"method names are lowercase with hyphens, got {method.name!r}")
    if method.name in _STACK_METHODS or method.name in _METHODS:
        raise ValueError(f"a method named {method.name!r} is already registered")
    _STACK_METHODS[method.name] = method
    NAMED_ELSEWHERE[method.name] = (
        "a method over a stack of dates, not one image: run it with 'despeckle stack', engine.despeckle_stack or "
        f"stack.despeckle(method={method.name!r}) on a (time, y, x) DataArray (engine.open_stack)"
    )
    return method


def get_stack_method(name: str | None) -> StackMethod:
    """The stack method ``name`` (default :data:`DEFAULT_STACK_METHOD`); a single-image method's
    name is refused with the way to use it on a stack (as a spatial estimator)."""
    load_catalogs()
    key = normalise_name(name or DEFAULT_STACK_METHOD)
    if key in _STACK_METHODS:
        return _STACK_METHODS[key]
    refuse_if_retired(key)
    if key in _METHODS:
        raise ParameterError(
            f"{key!r} despeckles one image, not a stack of dates; stack methods: {', '.join(sorted(_STACK_METHODS))}. "
            f"Use it inside one, e.g. method='quegan', spatial={key!r} (--spatial {key})"
        )
    close = difflib.get_close_matches(key, list(_STACK_METHODS), n=2)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ParameterError(f"unknown stack method {name!r}.{hint} Stack methods: {', '.join(sorted(_STACK_METHODS))}")


def list_stack_methods() -> list[str]:
    load_catalogs()
    return sorted(_STACK_METHODS)


def is_stack_method(name: Any) -> bool:
    load_catalogs()
    return isinstance(name, str) and normalise_name(name) in _STACK_METHODS
