"""Single-look complex (SLC) processing: speckle decorrelation and multilooking.

``decorrelate`` whitens the speckle of complex data inside the SAR system's band (per burst for
Sentinel-1 TOPS), keeping point targets bit-identical; ``multilook`` averages intensity over
azimuth x range boxes.
"""

from engine.slc._decorrelate import SpectralModel as SpectralModel
from engine.slc._decorrelate import decorrelate as decorrelate
from engine.slc._decorrelate import estimate_spectrum as estimate_spectrum
from engine.slc._multilook import multilook as multilook

__all__ = ["SpectralModel", "decorrelate", "estimate_spectrum", "multilook"]


def despeckle_bursts(bursts: list, method: object = None, **kwargs: object) -> object:
    """Despeckle the bursts of a TOPS image one by one (each decorrelated on its own spectrum
    when asked), then deburst: the result is one lazy image. ``bursts`` come from
    :func:`engine.io.sentinel1_bursts`; keyword arguments go to :func:`engine.despeckle`."""
    from engine.io._sentinel1 import deburst
    from engine.pipeline import despeckle

    return deburst([despeckle(burst, method, **kwargs) for burst in bursts])


__all__ += ["despeckle_bursts"]
