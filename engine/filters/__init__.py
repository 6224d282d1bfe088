"""Classical speckle filters. Importing this package registers each of them as a method.

Every filter consumes intensity, ignores NaN (nodata and outside the scene) and has a halo equal
to what its window needs, so tiled output equals whole-image output. Use them through
:func:`engine.despeckle` or ``da.despeckle(method=...)``; ``despeckle methods`` lists them.
"""

# Explicit imports, one per module: each registers its filters (no scanning of file names).
from engine.filters import _frost as _frost
from engine.filters import _lee_sigma as _lee_sigma
from engine.filters import _median as _median
from engine.filters import _moment_filters as _moment_filters
from engine.filters import _refined_lee as _refined_lee
from engine.filters._lee_sigma import sigma_range as sigma_range

__all__ = ["sigma_range"]
