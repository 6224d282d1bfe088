"""Multi-temporal despeckling: stacks of co-registered dates, streamed like single scenes.

``open_stack`` -> ``despeckle_stack`` (lazy, ``(time, y, x)``) -> ``write_stack`` (one file per
date, or one Zarr store with ``time``). The stack methods (``quegan``, ``ratio``) are registered
by ``_catalog`` (loaded by the method registry); they build on the single-image pipeline for
their spatial steps, so this package sits above it.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_despeckle": ["despeckle_stack", "enl_map", "temporal_mean"],
        "_open": ["as_stack", "open_stack", "stack_inputs"],
    },
)
