"""The classical filters as methods: what the engine and its interfaces need to know about each
(domain, halo, parameters, description). The numerical kernels live in the sibling modules and
are imported when a filter first runs (numba costs 0.15 s to import; listing the methods, the
command line's help and QGIS's provider need none of it).

Every filter consumes intensity, ignores NaN (nodata and outside the scene) and has a halo equal
to what its window needs, so tiled output equals whole-image output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from engine.methods import LOOKS, Deferred, Method, Parameter, register_method, window_radius, window_size
from engine.scene_statistics import intensity_quantile


def _lee_sigma_halo(params: Mapping[str, Any]) -> int:
    """The main window's radius, or twice the target window's: point targets are detected on
    windows around each pixel of the target window."""
    return max(int(params["window_size_px"]) // 2, 2 * (int(params["target_window_size_px"]) // 2))


def _register_filter(
    *, name: str, title: str, kernel: str, parameters: tuple[Parameter, ...], description: str,
    halo: Callable[[Mapping[str, Any]], int] = window_radius, references: tuple[str, ...] = (),
) -> None:
    """Register a filter: intensity in and out; ``kernel`` is ``"module:function"`` in this
    package, imported when the filter first runs; the halo is the window's radius unless given."""
    register_method(Method(name=name, title=title, kind="filter", domain="intensity", kernel=Deferred(f"engine.filters.{kernel}"),
                           halo=halo, parameters=parameters, description=description, references=references))

_register_filter(
    name="boxcar",
    title="Boxcar",
    kernel="_moment_filters:boxcar_kernel",
    parameters=(window_size(7),),
    description=(
        "Mean of the valid intensities in a square window (SNAP 'Boxcar'/'Mean'). Averaging "
        "N independent L-look intensities gives about N*L looks and keeps the mean "
        "radiometry, at the cost of resolution: edges and point targets are smeared."
    ),
)

_register_filter(
    name="lee",
    title="Lee",
    kernel="_moment_filters:lee_kernel",
    parameters=(window_size(7), LOOKS),
    description=(
        "Lee's local MMSE filter: x = m + w (y - m), w = 1 - Cu^2/Ci^2 (0 where Ci < Cu), "
        "with m and Ci the local mean and coefficient of variation and Cu^2 = 1/looks. "
        "Same formula as OTB's 'lee' and SNAP's 'Lee'. OTB pads the scene by repeating its "
        "edge pixels; this engine uses only pixels inside the scene (and never nodata)."
    ),
    references=(
        "J.-S. Lee, 'Digital image enhancement and noise filtering by use of local "
        "statistics', IEEE TPAMI 2(2), 1980.",
    ),
)

_register_filter(
    name="kuan",
    title="Kuan",
    kernel="_moment_filters:kuan_kernel",
    parameters=(window_size(7), LOOKS),
    description=(
        "Kuan's adaptive filter: Lee's form with weight w = (1 - Cu^2/Ci^2) / (1 + Cu^2), "
        "derived for a non-stationary mean and variance. Same formula as OTB's 'kuan'."
    ),
    references=(
        "D. T. Kuan, A. A. Sawchuk, T. C. Strand, P. Chavel, 'Adaptive noise smoothing filter "
        "for images with signal-dependent noise', IEEE TPAMI 7(2), 1985.",
    ),
)

_register_filter(
    name="gamma-map",
    title="Gamma-MAP",
    kernel="_moment_filters:gamma_map_kernel",
    parameters=(window_size(7), LOOKS),
    description=(
        "Gamma-MAP: the local mean where Ci < Cu, the pixel itself where Ci >= sqrt(2) Cu, "
        "and between them the maximum a posteriori estimate under Gamma-distributed "
        "reflectivity and L-look Gamma speckle. Same formula as OTB's 'gammamap' and SNAP's "
        "'Gamma Map'."
    ),
    references=(
        "A. Lopes, E. Nezry, R. Touzi, H. Laur, 'Maximum a posteriori speckle filtering and "
        "first order texture models in SAR images', IGARSS 1990.",
    ),
)

_register_filter(
    name="enhanced-lee",
    title="Enhanced Lee",
    kernel="_moment_filters:enhanced_lee_kernel",
    parameters=(
        window_size(7),
        LOOKS,
        Parameter(
            "damping",
            float,
            1.0,
            "how fast smoothing stops as heterogeneity grows (ENVI's 'damping factor')",
            minimum=0.0,
            maximum=100.0,
        ),
    ),
    description=(
        "Enhanced Lee (Lopes et al. 1990): the local mean where Ci <= Cu = 1/sqrt(L), the "
        "pixel itself where Ci >= Cmax = sqrt(1 + 2/L), and in between the weight "
        "exp(-damping (Ci - Cu) / (Cmax - Ci)) between them. Neither OTB nor SNAP has it; "
        "ENVI's 'Enhanced Lee' uses the same regimes and damping."
    ),
    references=(
        "A. Lopes, R. Touzi, E. Nezry, 'Adaptive speckle filters and scene heterogeneity', "
        "IEEE TGRS 28(6), 1990.",
    ),
)

_register_filter(
    name="median",
    title="Median",
    kernel="_median:median_kernel",
    parameters=(window_size(7),),
    description=(
        "Median of the valid pixels in a square window (SNAP 'Median'); with an even number "
        "of valid pixels (next to nodata) the two middle values are averaged. Robust to "
        "outliers but biased on speckle: the median of 1-look intensity is ln 2 = 0.69 times "
        "its mean, so the output is darker than the input by up to 1.6 dB at 1 look."
    ),
)

_register_filter(
    name="frost",
    title="Frost",
    kernel="_frost:frost_kernel",
    parameters=(
        window_size(7),
        Parameter(
            "damping",
            float,
            2.0,
            "exponential damping: weights are exp(-damping * Ci^2 * distance)",
            minimum=0.0,
            maximum=100.0,
            snap="dampingFactor (default 2)",
            otb="deramp (default 0.1)",
        ),
    ),
    description=(
        "Frost's filter: a weighted mean over the window with weights "
        "exp(-damping * Ci^2 * d), d the distance to the centre and Ci^2 the local squared "
        "coefficient of variation. Homogeneous areas (small Ci) get a near-uniform mean, "
        "edges keep the centre pixel. Same weights as OTB's 'frost' (whose 'deramp' is this "
        "damping; OTB's default is 0.1, SNAP's 2, used here)."
    ),
    references=(
        "V. S. Frost, J. A. Stiles, K. S. Shanmugan, J. C. Holtzman, 'A model for radar "
        "images and its application to adaptive digital filtering of multiplicative noise', "
        "IEEE TPAMI 4(2), 1982.",
    ),
)

_register_filter(
    name="refined-lee",
    title="Refined Lee",
    kernel="_refined_lee:refined_lee_kernel",
    parameters=(window_size(7, choices=(7, 11, 15, 19)), LOOKS),
    description=(
        "Refined Lee (Lee 1981): MMSE on one of eight edge-aligned half windows, chosen "
        "from gradients of a 3x3 grid of sub-window means, so edges and lines stay sharp "
        "while homogeneous areas are smoothed. SNAP's 'Refined Lee' is the 7x7 case (its "
        "default); OTB has no equivalent."
    ),
    references=(
        "J.-S. Lee, 'Refined filtering of image noise using local statistics', Computer "
        "Graphics and Image Processing 15(4), 1981.",
    ),
)

_register_filter(
    name="lee-sigma",
    title="Lee sigma (improved)",
    kernel="_lee_sigma:lee_sigma_kernel",
    halo=_lee_sigma_halo,
    parameters=(
        window_size(7),
        Parameter(
            "target_window_size_px",
            int,
            3,
            "window used to detect point targets (pixels)",
            choices=(3, 5),
            snap="targetWindowSizeStr",
        ),
        Parameter(
            "sigma",
            float,
            0.9,
            "probability mass of the speckle distribution inside the sigma range",
            minimum=0.5,
            maximum=0.99,
            snap="sigmaStr",
        ),
        LOOKS,
        Parameter(
            "z98",
            float,
            None,
            "98th intensity percentile used for point targets (default: computed over the scene)",
            minimum=0.0,
            statistic=partial(intensity_quantile, q=0.98),
            advanced=True,
        ),
    ),
    description=(
        "Improved Lee sigma filter (Lee et al. 2009): keeps point targets (bright clusters "
        "above the scene's 98th percentile), then averages only the window pixels that lie "
        "in an unbiased sigma range around a 3x3 MMSE estimate. SNAP's 'Lee Sigma' (default "
        "7x7 window, 3x3 target window, sigma 0.9)."
    ),
    references=(
        "J.-S. Lee, J.-H. Wen, T. L. Ainsworth, K.-S. Chen, A. J. Chen, 'Improved sigma "
        "filter for speckle filtering of SAR imagery', IEEE TGRS 47(1), 2009.",
    ),
)
