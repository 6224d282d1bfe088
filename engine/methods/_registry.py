"""The single registry of despeckling methods, classical filters and deep models alike.

A method is a kernel plus what the engine must know to run it over a huge scene: the domain it
consumes, its halo (how far a pixel's output looks), its parameters and, for methods that need
them, scene-level statistics computed once before tiling.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.conventions import DOMAINS
from engine.exceptions import MethodUnavailableError, ParameterError
from engine.methods._parameters import Parameter, resolve_parameters

#: ``kernel(block, **parameters, **statistics) -> block``. ``block`` is a 2-D float32 array
#: padded by ``halo`` pixels on every side, NaN wherever there is no valid pixel (nodata and
#: outside the scene). The kernel returns an array of the same shape; only the inner part is kept.
Kernel = Callable[..., np.ndarray]

#: Kinds of coherent imagery a method can be meant for.
IMAGERY = ("sar", "ultrasound")
MATURITIES = ("recommended", "experimental", "study")


def _always_available() -> str | None:
    return None


@dataclass(frozen=True)
class Method:
    """A despeckling method as the engine sees it.

    Parameters
    ----------
    name
        Registry name, lowercase with hyphens (``"refined-lee"``).
    title
        Human name (``"Refined Lee"``).
    kind
        ``"filter"`` (classical) or ``"model"`` (deep network).
    domain
        The domain the kernel consumes; the engine converts to it and back.
    kernel
        See :data:`Kernel`.
    halo
        Pixels of context the kernel needs on each side, as a function of the resolved
        parameters. Tiled processing with this halo equals whole-image processing.
    parameters
        The method's :class:`Parameter` declarations.
    description
        One paragraph: what it does, how it differs from SNAP/OTB where it matters.
    references
        Publications.
    preferred_chunk_px
        Chunk size that suits the method (large halos want larger chunks): the command line
        uses it unless ``--chunk-size`` is given; the Python API keeps the scene's chunks.
    needs_gpu
        True when the method is impractically slow without a GPU.
    maturity, maturity_note
        ``recommended`` (the default), ``experimental`` (works, but a better method exists or it
        is undertrained; the note says which and why) or ``study`` (kept for a benchmark or a
        paper's comparison, not for production). Interfaces group and flag the latter two.
    availability
        Returns None when the method can run here, otherwise the reason it cannot.
    alignment_px
        Blocks (with their halos) must start at multiples of this in scene coordinates: the
        total stride of a network that downsamples, so every chunk sees the same pixel grid.
    edge_aware
        The kernel receives ``halo=`` (the pixels of context around its block's core) and
        ``outside_px=`` (how many of them lie outside the scene, per side: top, bottom, left,
        right), so that it can treat the scene's edge differently from nodata.
    wants_decorrelated
        The method assumes spatially uncorrelated speckle (blind-spot networks): complex input is
        decorrelated first unless the caller says otherwise.
    imagery
        The imagery the method is meant for (:data:`IMAGERY`): a classical filter suits any
        speckle, a model the imagery it was trained on.
    display_native
        A model trained on display images (B-mode, OCT): it reads grey levels on one nominal
        scale whatever their dynamic range, and its estimate keeps the grey level of speckle
        regions instead of estimating the mean intensity (see :mod:`engine.display`).
    """

    name: str
    title: str
    kind: str
    domain: str
    kernel: Kernel
    halo: Callable[[Mapping[str, Any]], int]
    parameters: tuple[Parameter, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    preferred_chunk_px: int | None = None
    needs_gpu: bool = False
    maturity: str = "recommended"
    maturity_note: str = ""
    availability: Callable[[], str | None] = field(default=_always_available)
    alignment_px: int = 1
    edge_aware: bool = False
    wants_decorrelated: bool = False
    imagery: tuple[str, ...] = IMAGERY
    display_native: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("filter", "model"):
            raise ValueError(f"method kind must be 'filter' or 'model', got {self.kind!r}")
        if self.domain not in DOMAINS or self.domain == "complex":
            raise ValueError(f"method domain must be intensity, amplitude or db, got {self.domain!r}")
        if self.maturity not in MATURITIES:
            raise ValueError(f"method maturity must be one of {', '.join(MATURITIES)}, got {self.maturity!r}")
        if not self.imagery or not set(self.imagery) <= set(IMAGERY):
            raise ValueError(f"method imagery must be some of {', '.join(IMAGERY)}, got {self.imagery!r}")

    def resolve(self, given: Mapping[str, Any], attrs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate ``given`` parameters and complete them with defaults."""
        return resolve_parameters(self.name, self.parameters, given, attrs or {})

    def scene_statistics(self, values: Any, resolved: Mapping[str, Any], recorded: Mapping[str, float] | None = None) -> dict[str, Any]:
        """The parameters left unset that the engine computes over the whole scene (lazily):
        ``{name: 0-d dask array}``, each declared by its :class:`Parameter`'s ``statistic``.
        ``recorded``: values measured on a larger scene this one was cut from, used instead."""
        import dask.array as da

        recorded = recorded or {}
        return {
            p.name: da.asarray(np.float64(recorded[p.name])) if p.name in recorded else p.statistic(values)
            for p in self.parameters if p.statistic is not None and resolved.get(p.name) is None
        }

    def halo_px(self, resolved: Mapping[str, Any]) -> int:
        return int(self.halo(resolved))

    @property
    def unavailable_reason(self) -> str | None:
        return self.availability()

    def require_available(self) -> None:
        reason = self.unavailable_reason
        if reason is not None:
            raise MethodUnavailableError(f"method {self.name!r} is not available: {reason}")

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description, used by ``despeckle methods --json`` and QGIS."""
        defaults = self.resolve({}, {})
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "domain": self.domain,
            "halo_px_at_defaults": self.halo_px(defaults),
            "needs_gpu": self.needs_gpu,
            "maturity": self.maturity,
            "maturity_note": self.maturity_note,
            "preferred_chunk_px": self.preferred_chunk_px,
            "imagery": list(self.imagery),
            "display_native": self.display_native,
            "alignment_px": self.alignment_px,
            "scene_statistics": [p.name for p in self.parameters if p.statistic is not None],
            "available": self.unavailable_reason is None,
            "unavailable_reason": self.unavailable_reason,
            "description": self.description,
            "references": list(self.references),
            "parameters": [p.describe() for p in self.parameters],
        }


_METHODS: dict[str, Method] = {}
#: Names registered elsewhere in the same name space (stack methods), with how to use them.
NAMED_ELSEWHERE: dict[str, str] = {}
#: Methods that were part of the engine and are no longer, with why and what to use instead:
#: a saved script or QGIS model naming one gets that, not "unknown method".
RETIRED: dict[str, str] = {}


def retire_method(name: str, why: str) -> None:
    """Record that method ``name`` was withdrawn, ``why`` saying why and what replaces it."""
    RETIRED[normalise_name(name)] = why


def retired_methods() -> dict[str, str]:
    """The withdrawn methods' names, each with why and what replaces it."""
    load_catalogs()
    return dict(sorted(RETIRED.items()))


def refuse_if_retired(name: str, noun: str = "method") -> None:
    """Raise the one message for a retired method (``noun``: what the caller calls it)."""
    load_catalogs()
    key = normalise_name(name)
    if key in RETIRED:
        raise ParameterError(f"{noun} {key!r} was retired: {RETIRED[key]}")


def normalise_name(name: str) -> str:
    """``"Gamma Map"``, ``"gamma_map"`` and ``"gamma-map"`` all name the same method."""
    return "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


#: Modules whose import registers the engine's own methods, in this order (the stack methods
#: offer the filters and models by name).
CATALOGS = ("engine.filters._catalog", "engine.models._catalog", "engine.stack._catalog")
_catalogs = {"loaded": False, "loading": False}
_catalogs_lock = threading.RLock()


def load_catalogs() -> None:
    """Register the engine's own methods, once, on the registry's first use (the catalogs
    register through this module: their calls back here return at once)."""
    if _catalogs["loaded"]:
        return
    with _catalogs_lock:  # a second thread waits for the first to finish
        if _catalogs["loaded"] or _catalogs["loading"]:
            return
        _catalogs["loading"] = True
        try:
            for module in CATALOGS:
                importlib.import_module(module)
        finally:
            _catalogs["loading"] = False
        _catalogs["loaded"] = True


def register_method(method: Method) -> Method:
    """Add a method to the registry (the engine's own are registered by its catalogs, loaded
    first, so that a name clash is found whichever comes first)."""
    load_catalogs()
    if normalise_name(method.name) != method.name:
        raise ValueError(f"method names are lowercase with hyphens, got {method.name!r}")
    if method.name in _METHODS or method.name in NAMED_ELSEWHERE:
        raise ValueError(f"a method named {method.name!r} is already registered")
    _METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """Return the registered method called ``name``.

    Raises
    ------
    ParameterError
        If no method has that name; the message lists the valid names and close matches.
    """
    load_catalogs()
    key = normalise_name(name)
    if key in _METHODS:
        return _METHODS[key]
    if key in NAMED_ELSEWHERE:
        raise ParameterError(f"{key!r} is {NAMED_ELSEWHERE[key]}")
    refuse_if_retired(key)
    close = difflib.get_close_matches(key, list(_METHODS), n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ParameterError(
        f"unknown method {name!r}.{hint} Available methods: {', '.join(sorted(_METHODS))}"
    )


def list_methods(pattern: str | None = None, *, kind: str | None = None, imagery: str | None = None) -> list[str]:
    """Names of the registered methods, optionally filtered by a glob pattern, kind and the
    imagery they are meant for."""
    load_catalogs()
    names = sorted(_METHODS)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern.lower())]
    if kind is not None:
        if kind not in ("filter", "model"):
            raise ParameterError(f"kind must be 'filter' or 'model', got {kind!r}")
        names = [n for n in names if _METHODS[n].kind == kind]
    if imagery is not None:
        if imagery not in IMAGERY:
            raise ParameterError(f"imagery must be one of {', '.join(IMAGERY)}, got {imagery!r}")
        names = [n for n in names if imagery in _METHODS[n].imagery]
    return names
