"""The method contract and its registry: one interface for classical filters and deep models.

A leaf of the engine: it imports no method until asked for one. The first lookup loads the
catalogs (``engine.filters._catalog``, ``engine.models._catalog``, ``engine.stack._catalog``),
which register their methods with their kernels deferred (:class:`Deferred`): listing methods
imports no numerical library.
"""

from engine.methods._choice import AUTO_PREFERENCE as AUTO_PREFERENCE
from engine.methods._choice import DISPLAY_AUTO_PREFERENCE as DISPLAY_AUTO_PREFERENCE
from engine.methods._choice import choose_method as choose_method
from engine.methods._parameters import Parameter as Parameter
from engine.methods._registry import IMAGERY as IMAGERY
from engine.methods._registry import Method as Method
from engine.methods._registry import get_method as get_method
from engine.methods._registry import list_methods as list_methods
from engine.methods._registry import load_catalogs as load_catalogs
from engine.methods._registry import refuse_if_retired as refuse_if_retired
from engine.methods._registry import register_method as register_method
from engine.methods._registry import retire_method as retire_method
from engine.methods._registry import retired_methods as retired_methods
from engine.methods._shared import LOOKS as LOOKS
from engine.methods._shared import Deferred as Deferred
from engine.methods._shared import window_radius as window_radius
from engine.methods._shared import window_size as window_size
from engine.methods._stack import DEFAULT_STACK_METHOD as DEFAULT_STACK_METHOD
from engine.methods._stack import StackMethod as StackMethod
from engine.methods._stack import get_stack_method as get_stack_method
from engine.methods._stack import is_stack_method as is_stack_method
from engine.methods._stack import list_stack_methods as list_stack_methods
from engine.methods._stack import register_stack_method as register_stack_method

__all__ = [
    "AUTO_PREFERENCE",
    "DISPLAY_AUTO_PREFERENCE",
    "DEFAULT_STACK_METHOD",
    "Deferred",
    "IMAGERY",
    "LOOKS",
    "Method",
    "Parameter",
    "StackMethod",
    "choose_method",
    "get_method",
    "get_stack_method",
    "is_stack_method",
    "list_methods",
    "list_stack_methods",
    "load_catalogs",
    "refuse_if_retired",
    "register_method",
    "register_stack_method",
    "retire_method",
    "retired_methods",
    "window_radius",
    "window_size",
]
