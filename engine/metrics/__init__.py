"""Image-quality metrics for despeckling, with the domain and data range always explicit.

- With a clean reference (``_reference``): PSNR and SSIM, in the domain of the arrays given.
- Without one, on SAR (``_no_reference``): the equivalent number of looks of homogeneous areas
  (given or found automatically), the statistics of the ratio image noisy / filtered, the
  M-index of Gomez et al. (2017) and the EPD-ROA edge-preservation degree.
- On ultrasound (``_ultrasound``): SNR, CNR and gCNR between regions of interest.
"""

from engine.metrics._homogeneous import enl, enl_auto, homogeneous_boxes
from engine.metrics._no_reference import epd_roa, m_index, ratio_statistics, speckle_coherence, speckle_correlation
from engine.metrics._reference import psnr, ssim
from engine.metrics._ultrasound import cnr, gcnr, snr
from engine.speckle import estimate_looks

__all__ = [
    "cnr",
    "enl",
    "enl_auto",
    "epd_roa",
    "estimate_looks",
    "gcnr",
    "homogeneous_boxes",
    "m_index",
    "psnr",
    "ratio_statistics",
    "snr",
    "speckle_coherence",
    "speckle_correlation",
    "ssim",
]
