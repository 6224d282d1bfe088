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
from engine.methods._stack import DEFAULT_STACK_METHOD as DEFAULT_STACK_METHOD
from engine.methods._stack import StackMethod as StackMethod
from engine.methods._stack import get_stack_method as get_stack_method
from engine.methods._stack import is_stack_method as is_stack_method
from engine.methods._stack import list_stack_methods as list_stack_methods
from engine.methods._stack import register_stack_method as register_stack_method

__all__ = [
    "DEFAULT_STACK_METHOD",
    "IMAGERY",
    "LOOKS",
    "Method",
    "Parameter",
    "StackMethod",
    "get_method",
    "get_stack_method",
    "is_stack_method",
    "list_methods",
    "list_stack_methods",
    "register_method",
    "register_stack_method",
    "window_radius",
    "window_size",
]
