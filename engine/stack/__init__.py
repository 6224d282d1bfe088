"""Multi-temporal despeckling: stacks of co-registered dates, streamed like single scenes.

``open_stack`` -> ``despeckle_stack`` (lazy, ``(time, y, x)``) -> ``write_stack`` (one file per
date, or one Zarr store with ``time``). The stack methods (``quegan``, ``ratio``) register here;
they build on the single-image pipeline for their spatial steps, so this package sits above it.
"""

from engine.stack import _quegan as _quegan  # noqa: F401 - registers quegan
from engine.stack import _ratio as _ratio  # noqa: F401 - registers ratio
from engine.stack._despeckle import despeckle_stack as despeckle_stack
from engine.stack._despeckle import enl_map as enl_map
from engine.stack._despeckle import temporal_mean as temporal_mean
from engine.stack._open import as_stack as as_stack
from engine.stack._open import open_stack as open_stack
from engine.stack._open import stack_inputs as stack_inputs

__all__ = ["as_stack", "despeckle_stack", "enl_map", "open_stack", "stack_inputs", "temporal_mean"]
