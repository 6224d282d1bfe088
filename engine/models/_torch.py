"""PyTorch is optional: deep models need it, classical filters do not."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from engine.exceptions import MethodUnavailableError

INSTALL_HINT = "PyTorch is not installed; install the model extra: pip install 'despeckle[models]'"


def torch_available() -> bool:
    """Whether torch can be imported, without importing it (that takes a second)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    return importlib.util.find_spec("torch") is not None


def require_torch() -> Any:
    """Import torch, or raise an error that says how to install it."""
    try:
        import torch
    except ImportError:
        raise MethodUnavailableError(INSTALL_HINT) from None
    return torch
