"""Run code right after a module is first imported (a post-import hook, PEP 369's idea).

The engine registers its ``.despeckle`` accessor on xarray's classes, which needs xarray
imported; importing xarray costs 0.35 s that ``despeckle --help``, ``despeckle methods`` and
QGIS's provider (which calls the engine for every algorithm) do not need. So the accessor is
registered when xarray is imported, by whoever imports it, or at once if it already is.
wrapt's ``register_post_import_hook`` does the same, but importing wrapt costs more (about
70 ms) than this start-up can spare.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

_lock = threading.Lock()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: on the first import of ``name`` it leaves ``sys.meta_path`` and
    makes the real loader call ``then`` once the module has run."""

    def __init__(self, name: str, then: Callable[[ModuleType], Any]) -> None:
        self._name = name
        self._then = then

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self._name:
            return None
        with _lock:
            if self not in sys.meta_path:  # another thread got here first
                return None
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # through the other finders
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            # Once: the loader gets back what it had (a reload runs the module only), which may be
            # another hook's wrapper when two wait for the same module (the engine reloaded).
            loader.exec_module = run  # type: ignore[method-assign]
            run(module)
            self._then(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def when_imported(name: str, then: Callable[[ModuleType], Any]) -> None:
    """Call ``then(module)`` right after the top-level module ``name`` is imported, or now if it
    already is."""
    module = sys.modules.get(name)
    if module is not None:
        then(module)
        return
    sys.meta_path.insert(0, _AfterImport(name, then))
