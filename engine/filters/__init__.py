"""Classical speckle filters: their registry entries in ``_catalog`` (loaded by the method
registry on first use), their numba kernels in the other modules (loaded when a filter runs).

Every filter consumes intensity, ignores NaN (nodata and outside the scene) and has a halo equal
to what its window needs, so tiled output equals whole-image output. Use them through
:func:`engine.despeckle` or ``da.despeckle(method=...)``; ``despeckle methods`` lists them.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(__name__, submod_attrs={"_lee_sigma": ["sigma_range"]})
