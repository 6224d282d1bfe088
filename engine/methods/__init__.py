"""The method registry: one interface for classical filters and deep models."""

from engine.methods._parameters import Parameter as Parameter
from engine.methods._registry import IMAGERY as IMAGERY
from engine.methods._registry import Method as Method
from engine.methods._registry import get_method as get_method
from engine.methods._registry import list_methods as list_methods
from engine.methods._registry import register_method as register_method

__all__ = ["IMAGERY", "Method", "Parameter", "get_method", "list_methods", "register_method"]
