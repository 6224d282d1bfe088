"""Every name a package exports (``__all__``, lazily attached) resolves: ``from package import *``
works and no export outlives the object it named (as FAST_CNN did after fast-cnn was retired)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["engine", "engine.methods", "engine.models", "engine.stack", "engine.filters"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)  # noqa: S102 - the statement under test
