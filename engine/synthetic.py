"""Synthetic speckle and synthetic SAR-like scenes, for the demo, tests and benchmarks.

A clean reflectivity map (fields, forest texture, a river, roads, built-up areas with point
targets) is multiplied by L-look Gamma speckle. Everything is generated from a seed: no data is
downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401 - the .rio accessor (synthetic scenes are georeferenced)
import xarray as xr

from engine.conventions import DOMAIN_ATTRS


def speckle(shape: tuple[int, ...], looks: float, rng: np.random.Generator, *, dtype: Any = np.float32) -> np.ndarray:
    """Unit-mean L-look intensity speckle: Gamma(shape=L, scale=1/L), so mean 1 and CV 1/sqrt(L).

    Examples
    --------
    >>> s = speckle((512, 512), 4, np.random.default_rng(0))
    >>> round(float(s.mean()), 2), round(float(s.std() / s.mean()), 2)
    (1.0, 0.5)
    """
    if looks <= 0:
        raise ValueError(f"looks must be > 0, got {looks}")
    return rng.gamma(looks, 1.0 / looks, size=shape).astype(dtype)


def correlated_speckle(
    shape: tuple[int, int],
    looks: int,
    rng: np.random.Generator,
    *,
    bandwidth: tuple[float, float] = (0.8, 0.8),
    dtype: Any = np.float32,
) -> np.ndarray:
    """Unit-mean intensity speckle with the spatial correlation of a real SAR system.

    Each look is a circular complex Gaussian field passed through a band-limited transfer
    function: a Hamming window over the fraction ``bandwidth`` (azimuth, range) of the spectrum, as
    SAR processors apply. Its intensity |z|^2 is normalised to mean 1, and ``looks`` independent
    looks are averaged. With bandwidth 1 and no window the speckle would be uncorrelated.
    """
    if looks < 1 or int(looks) != looks:
        raise ValueError(f"correlated speckle needs a whole number of looks, got {looks}")
    height, width = shape
    transfer = np.outer(_band(height, bandwidth[0]), _band(width, bandwidth[1]))
    total = np.zeros(shape)
    for _ in range(int(looks)):
        field = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        z = np.fft.ifft2(np.fft.fft2(field) * transfer)
        intensity = np.abs(z) ** 2
        total += intensity / intensity.mean()
    return (total / looks).astype(dtype)


@dataclass(frozen=True)
class GRDSpeckle:
    """How a ground-range detected (GRD) product's speckle is made, in single-look pixels.

    A circular complex Gaussian field is band-limited per axis (azimuth, range) by a generalised
    Hamming window over 1 / ``oversampling`` of the spectrum; its intensity is averaged over
    ``looks`` = (azimuth, range) single-look pixels (a moving boxcar, as spatial multilooking
    does) and resampled with bilinear interpolation to output pixels ``spacing`` single-look
    pixels apart, as a GRD processor resamples to its ground grid. The defaults follow Sentinel-1
    IW GRDH (oversampling 1.2, Hamming 0.75, 1 x 5 looks, 10 m pixels from 14 x 3.5 m ones); their
    speckle has an ENL of about 5.3 (the real product's 4.4 comes from overlapping sub-band looks).
    """

    oversampling: tuple[float, float] = (1.2, 1.2)
    hamming: float = 0.75
    looks: tuple[int, int] = (1, 5)
    spacing: tuple[float, float] = (0.7, 2.9)

    @classmethod
    def random(cls, rng: np.random.Generator) -> GRDSpeckle:
        """A random processor within the range of real SAR products: oversampling 1.1-1.3,
        Hamming 0.54-0.8, 1-5 looks per axis, output pixels 0.5-1.1 look cells apart."""
        looks = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        return cls(
            oversampling=(float(rng.uniform(1.1, 1.3)), float(rng.uniform(1.1, 1.3))),
            hamming=float(rng.uniform(0.54, 0.8)),
            looks=looks,
            spacing=(looks[0] * float(rng.uniform(0.5, 1.1)), looks[1] * float(rng.uniform(0.5, 1.1))),
        )

    def draw(self, shape: tuple[int, int], rng: np.random.Generator, *, dtype: Any = np.float32) -> np.ndarray:
        """Unit-mean intensity speckle of ``shape`` output pixels."""
        from scipy import ndimage

        height, width = shape
        fine = tuple(int(np.ceil(n * s)) + la + 3 for n, s, la in zip(shape, self.spacing, self.looks, strict=True))
        transfer = np.outer(
            _window(fine[0], 1.0 / self.oversampling[0], 0.0, self.hamming),
            _window(fine[1], 1.0 / self.oversampling[1], 0.0, self.hamming),
        )
        field = rng.standard_normal(fine) + 1j * rng.standard_normal(fine)
        intensity = np.abs(np.fft.ifft2(np.fft.fft2(field) * transfer)) ** 2
        multilooked = ndimage.uniform_filter(intensity, size=self.looks, mode="wrap")
        offset = rng.uniform(0.0, 1.0, size=2)
        rows = offset[0] + np.arange(height) * self.spacing[0]
        cols = offset[1] + np.arange(width) * self.spacing[1]
        grid = np.meshgrid(rows, cols, indexing="ij")
        out = ndimage.map_coordinates(multilooked, grid, order=1, mode="grid-wrap")
        return (out / multilooked.mean()).astype(dtype)


def synthetic_slc(
    shape: tuple[int, int],
    *,
    band: tuple[float, float] = (0.8, 0.85),
    shift: tuple[float, float] = (0.15, 0.0),
    hamming: float = 0.75,
    point_targets: int = 12,
    point_target_db: float = 30.0,
    reflectivity_map: np.ndarray | None = None,
    azimuth_drift: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """A single-look complex image with a known spectrum: the SAR transfer function of this module.

    A circular complex Gaussian field, modulated by ``reflectivity_map`` (default constant 1), is
    filtered per axis (azimuth, range) by a generalised Hamming window (coefficient ``hamming``;
    1 would be rectangular). The window covers a fraction ``band`` of the spectrum and is centred
    at ``shift`` cycles per pixel (the Doppler centroid in azimuth). ``point_targets`` isolated
    scatterers ``point_target_db`` above the background get the system's impulse response, with
    its sidelobes. The mean intensity of the background is 1 (times the reflectivity).
    ``azimuth_drift`` k (cycles per line per line) makes the Doppler centroid move along azimuth
    as in TOPS: line n is multiplied by exp(i pi k (n - n0)^2), n0 the middle line.
    """
    rng = np.random.default_rng(seed)
    rows, cols = shape
    transfer = np.outer(_window(rows, band[0], shift[0], hamming), _window(cols, band[1], shift[1], hamming))
    power = transfer.astype(float) ** 2
    field = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)
    if reflectivity_map is not None:
        field = field * np.sqrt(reflectivity_map)
    z = np.fft.ifft2(np.fft.fft2(field) * transfer) / np.sqrt(power.mean())
    impulse = np.zeros(shape, complex)
    for _ in range(point_targets):
        r, c = rng.integers(8, rows - 8), rng.integers(8, cols - 8)
        impulse[r, c] = 10.0 ** (point_target_db / 20.0) * np.sqrt(rows * cols * power.mean()) * np.exp(2j * np.pi * rng.random())
    z = z + np.fft.ifft2(np.fft.fft2(impulse) * transfer) / np.sqrt(rows * cols * power.mean()) * np.sqrt(power.mean())
    if azimuth_drift:
        lines = np.arange(rows) - (rows - 1) / 2.0
        z = z * np.exp(1j * np.pi * azimuth_drift * lines**2)[:, None]
    return z.astype(np.complex64)


def _window(n: int, fraction: float, centre: float, hamming: float) -> np.ndarray:
    """Generalised Hamming weighting over ``fraction`` of n frequencies, centred at ``centre``."""
    frequencies = (np.fft.fftfreq(n) - centre + 0.5) % 1.0 - 0.5
    inside = np.abs(frequencies) <= fraction / 2.0
    out = np.zeros(n)
    out[inside] = hamming + (1.0 - hamming) * np.cos(2.0 * np.pi * frequencies[inside] / fraction)
    return out


def _band(n: int, fraction: float) -> np.ndarray:
    """Hamming-windowed pass band covering ``fraction`` of the n frequencies, centred on 0."""
    frequencies = np.fft.fftfreq(n)
    half = fraction / 2.0
    inside = np.abs(frequencies) <= half
    window = np.zeros(n)
    window[inside] = 0.54 + 0.46 * np.cos(np.pi * frequencies[inside] / max(half, 1e-12))
    return window


def reflectivity(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A speckle-free, SAR-like intensity map (float32, values about 0.005 to 50).

    Parcels with constant backscatter (a Voronoi partition), textured forest parcels, a dark
    meandering river, dark roads, and bright built-up blocks with strong point scatterers.
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width]
    n_parcels = max(4, int(height * width / 90_000))
    seeds = rng.uniform([0, 0], [height, width], size=(n_parcels, 2))
    _, owner = cKDTree(seeds).query(np.column_stack([yy.ravel(), xx.ravel()]))
    levels_db = rng.uniform(-18.0, -4.0, size=n_parcels)
    image = (10.0 ** (levels_db[owner] / 10.0)).reshape(shape)

    # Forest: multiplicative texture on a third of the parcels.
    textured = rng.random(n_parcels) < 0.33
    texture = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=3.0)
    texture /= texture.std() + 1e-12
    image = np.where(textured[owner].reshape(shape), image * np.exp(0.35 * texture), image)

    # A meandering river (very dark, like calm water).
    centre = width * (0.5 + 0.25 * np.sin(yy[:, 0] / max(height, 1) * 2.0 * np.pi * 1.5))
    river = np.abs(xx - centre[:, None]) < max(3.0, width / 120.0)
    image[river] = 10.0 ** (-24.0 / 10.0)

    # Straight roads, three pixels wide.
    for _ in range(max(1, (height + width) // 1500)):
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(-0.3, 0.3) * min(height, width)
        distance = (xx - width / 2) * np.sin(angle) - (yy - height / 2) * np.cos(angle) - offset
        image[np.abs(distance) < 1.5] = 10.0 ** (-20.0 / 10.0)

    # Built-up blocks: bright, with a lattice of very strong point scatterers.
    for _ in range(max(1, n_parcels // 6)):
        y0, x0 = rng.integers(0, max(1, height - 64)), rng.integers(0, max(1, width - 64))
        h, w = rng.integers(24, 64), rng.integers(24, 64)
        block = (slice(y0, y0 + h), slice(x0, x0 + w))
        image[block] = 10.0 ** (-2.0 / 10.0)
        image[y0 : y0 + h : 6, x0 : x0 + w : 6] = 10.0 ** (17.0 / 10.0)
    return image.astype(np.float32)


def _speckled_block(block: np.ndarray, looks: float, seed: int, block_id: tuple[int, ...] = ()) -> np.ndarray:
    rng = np.random.default_rng([seed, *block_id])
    return (block * speckle(block.shape, looks, rng)).astype(np.float32)


def synthetic_scene(
    shape: tuple[int, int] = (2048, 2048),
    *,
    looks: float = 1.0,
    seed: int = 0,
    chunk_px: int = 1024,
    base_px: int = 2048,
    crs: str = "EPSG:32631",
    pixel_size_m: float = 10.0,
    origin_m: tuple[float, float] = (600_000.0, 5_000_000.0),
    clean: bool = False,
) -> xr.DataArray:
    """A georeferenced, lazily generated speckled intensity scene (dims ``y, x``).

    The reflectivity is generated once at up to ``base_px`` square and repeated to fill larger
    scenes; speckle is drawn block by block from ``seed`` and the block index, so any size is
    generated in bounded memory (a 16k x 16k benchmark scene included).

    Parameters
    ----------
    shape
        (rows, columns).
    looks
        Number of looks of the speckle.
    seed
        Seed of the reflectivity and speckle.
    chunk_px
        Dask chunk size.
    base_px
        Size of the reflectivity tile that is repeated.
    crs, pixel_size_m, origin_m
        Georeferencing: a north-up grid with square pixels whose top-left corner is ``origin_m``.
    clean
        Return the speckle-free reflectivity instead.
    """
    height, width = shape
    base = reflectivity((min(height, base_px), min(width, base_px)), np.random.default_rng(seed))
    reps = (-(-height // base.shape[0]), -(-width // base.shape[1]))
    tiled = da.tile(da.from_array(base, chunks=chunk_px), reps)[:height, :width].rechunk(chunk_px)
    data = tiled if clean else tiled.map_blocks(_speckled_block, looks=float(looks), seed=seed, dtype=np.float32)
    x0, y0 = origin_m
    scene = xr.DataArray(
        data,
        dims=("y", "x"),
        coords={
            "y": y0 - (np.arange(height) + 0.5) * pixel_size_m,
            "x": x0 + (np.arange(width) + 0.5) * pixel_size_m,
        },
        name="intensity",
        attrs={**DOMAIN_ATTRS["intensity"], "domain": "intensity", "looks": float(looks)},
    )
    return scene.rio.write_crs(crs).rio.write_transform(
        scene.rio.transform(recalc=True)
    )
