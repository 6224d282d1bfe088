"""despeckle's engine: stream huge speckled scenes through classical filters and deep models.

``open_scene`` -> ``despeckle`` (lazy) -> ``write_scene``, or ``despeckle_file`` for the whole
file-to-file run. Importing the package registers the filters and models (the registry itself
imports none) and the ``.despeckle`` accessor.

Examples
--------
>>> import engine
>>> "lee" in engine.list_methods()
True
"""

import rioxarray as _rioxarray  # noqa: F401 - the .rio accessor, used on every scene

from engine import accessor as _accessor  # noqa: F401 - registers da.despeckle / ds.despeckle
from engine import filters as _filters  # noqa: F401 - registers the classical filters
from engine import models as _models  # noqa: F401 - registers the deep models
from engine import stack as _stack  # noqa: F401 - registers the stack methods (quegan, ratio)
from engine._options import get_option as get_option
from engine._options import set_options as set_options
from engine._version import __version__ as __version__
from engine.domain import to_domain as to_domain
from engine.io import describe_scene as describe_scene
from engine.io import open_scene as open_scene
from engine.io import write_scene as write_scene
from engine.methods import Method as Method
from engine.methods import Parameter as Parameter
from engine.methods import get_method as get_method
from engine.methods import list_methods as list_methods
from engine.methods import list_stack_methods as list_stack_methods
from engine.methods import register_method as register_method
from engine.pipeline import despeckle as despeckle
from engine.run import despeckle_file as despeckle_file
from engine.scheduling import open_runner as open_runner
from engine.stack import despeckle_stack as despeckle_stack
from engine.stack import open_stack as open_stack

__all__ = [
    "Method",
    "Parameter",
    "__version__",
    "describe_scene",
    "despeckle",
    "despeckle_file",
    "despeckle_stack",
    "get_method",
    "get_option",
    "list_methods",
    "list_stack_methods",
    "open_runner",
    "open_scene",
    "open_stack",
    "register_method",
    "set_options",
    "to_domain",
    "write_scene",
]
