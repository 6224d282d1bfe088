"""Single-look complex (SLC) processing: speckle decorrelation and multilooking.

``decorrelate`` whitens the speckle of complex data inside the SAR system's band (per burst for
Sentinel-1 TOPS), keeping point targets bit-identical; ``multilook`` averages intensity over
azimuth x range boxes.
"""

from engine.slc._decorrelate import SpectralModel as SpectralModel
from engine.slc._decorrelate import decorrelate as decorrelate
from engine.slc._decorrelate import estimate_spectrum as estimate_spectrum
from engine.slc._drift import deramp as deramp
from engine.slc._multilook import multilook as multilook
from engine.slc._spectrum import AxisResponse as AxisResponse

__all__ = ["AxisResponse", "SpectralModel", "decorrelate", "deramp", "estimate_spectrum", "multilook"]

