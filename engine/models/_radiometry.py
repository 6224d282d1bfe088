"""What a network's estimate must respect, whatever it learnt: zeros, strong scatterers, and
the brightness of its neighbourhood.

A network trained on speckled natural scenes has never seen an exact zero (a no-data border of
an SLC), a corner reflector 30 dB above its surroundings, or a scene whose statistics are not
speckle's; on such input its estimate can be anything. Three rules make its output safe:

- **Zeros stay zero.** An exact zero is not an intensity a log-domain network can read (log 0);
  it is fed as the scene median, like no-data, and written back as 0.
- **Strong scatterers pass through.** A pixel that L-look speckle around the network's estimate
  could produce only with probability below ``POINT_TARGET_PFA`` is a point target (a ship, a
  building corner): it is kept as measured, as Lee sigma keeps its point targets. Neither
  flattened nor amplified.
- **No estimate above its neighbourhood.** A reflectivity estimate above every measured pixel
  within ``CAP_RADIUS_PX`` cannot come from the data; it is capped at their maximum (under
  single-look speckle, 81 pixels all below their mean happen with probability 0.63^81).

Each rule looks at most ``CAP_RADIUS_PX`` pixels away, far less than any model's halo, so tiled
inference still equals whole-scene inference.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, special

#: False-alarm probability of the point-target test under L-look Gamma speckle.
POINT_TARGET_PFA = 1e-4
#: The estimate is capped at the largest input within this radius (a 9 x 9 window).
CAP_RADIUS_PX = 4


def speckle_threshold(looks: float, pfa: float = POINT_TARGET_PFA) -> float:
    """x such that P(S > x) = ``pfa`` for unit-mean L-look Gamma speckle S.

    Examples
    --------
    >>> round(speckle_threshold(1.0), 2)  # -log(1e-4)
    9.21
    """
    looks = max(float(looks), 0.1)
    return float(special.gammainccinv(looks, pfa) / looks)


def guard(block: np.ndarray, estimate: np.ndarray, *, looks: float, keep_point_targets: bool = True) -> np.ndarray:
    """Apply the three rules to a network's ``estimate`` of ``block`` (both intensity, same
    shape, NaN where there is no pixel); returns a new array."""
    valid = np.isfinite(block)
    measured = np.where(valid, block, 0.0)
    out = np.minimum(estimate, ndimage.maximum_filter(measured, size=2 * CAP_RADIUS_PX + 1, mode="nearest"))
    if keep_point_targets:
        targets = measured > speckle_threshold(looks) * out
        out = np.where(targets, measured, out)
    out = np.where(measured == 0.0, 0.0, out)
    return np.where(valid, out, np.nan).astype(np.float32)
