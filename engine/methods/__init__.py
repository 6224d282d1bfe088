"""The method contract and its registry: one interface for classical filters and deep models.

A leaf of the engine: it imports no method. ``engine/__init__`` imports ``engine.filters`` and
``engine.models``, whose modules register their methods (as timm's model modules do).
"""

from engine.methods._parameters import Parameter as Parameter
from engine.methods._registry import IMAGERY as IMAGERY
from engine.methods._registry import Method as Method
from engine.methods._registry import get_method as get_method
from engine.methods._registry import list_methods as list_methods
from engine.methods._registry import register_method as register_method
from engine.methods._shared import LOOKS as LOOKS
from engine.methods._shared import window_radius as window_radius
from engine.methods._shared import window_size as window_size

__all__ = ["IMAGERY", "LOOKS", "Method", "Parameter", "get_method", "list_methods", "register_method", "window_radius", "window_size"]
