"""Training patches, drawn reproducibly from one seeded generator.

Images are small (a few MB each) and loaded once; patches are random crops with one of the
eight flips/transposes. For synthetic training the speckle is drawn per patch, L-look Gamma or
correlated through a SAR transfer function; for simulated B-mode (``bmode-synthetic``) the clean
images and random tissue phantoms are echogenicity maps imaged by a random scanner setting
(:mod:`engine.bmode`). Everything is float32 intensity.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.bmode import BModeImaging, tissue_phantom
from engine.domain import NOMINAL_DISPLAY_RANGE_DB, display_to_intensity
from engine.exceptions import InputError
from engine.speckle import estimate_looks
from engine.synthetic import GRDSpeckle, correlated_speckle, speckle
from training.config import DataConfig


def load_intensity(path: Path) -> np.ndarray:
    """An image as intensity: PNG/JPEG/BMP values are amplitude (squared); .npy real arrays are
    amplitude too; (H, W, 2) real/imaginary or complex .npy arrays are SLC (|z|^2)."""
    if path.suffix.lower() == ".npy":
        array = np.load(path)
        if np.iscomplexobj(array):
            return (np.abs(array) ** 2).astype(np.float32)
        if array.ndim == 3 and array.shape[-1] == 2:
            return (array[..., 0].astype(np.float64) ** 2 + array[..., 1].astype(np.float64) ** 2).astype(np.float32)
        return (array.astype(np.float64) ** 2).astype(np.float32)
    if path.suffix.lower() == ".slc":
        raise InputError(f"{path}: raw .slc files need their shape; use the SLC readers of the engine")
    with Image.open(path) as image:
        values = np.asarray(image.convert("L"), dtype=np.float64)
    return (values**2).astype(np.float32)


def resolve_sources(root: Path, patterns: tuple[Any, ...]) -> list[Path]:
    return [path for path, _ in resolve_source_options(root, patterns)]


def resolve_source_options(root: Path, patterns: tuple[Any, ...]) -> list[tuple[Path, dict[str, Any]]]:
    """(path, open_scene options) for every file the configured sources match."""
    found_all: list[tuple[Path, dict[str, Any]]] = []
    for entry in patterns:
        options = dict(entry) if isinstance(entry, dict) else {"path": entry}
        pattern = options.pop("path")
        found = sorted(Path(p) for p in glob.glob(str(root / pattern)))
        if not found:
            raise InputError(f"no training data matches {root / pattern}")
        found_all += [(path, options) for path in found]
    return found_all


def load_decorrelated_slc(path: Path, options: dict[str, Any]) -> list[np.ndarray]:
    """Real SLC as the engine reads it, decorrelated (each band separately), as intensity."""
    import warnings

    import engine
    import engine.slc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.exceptions.DespeckleWarning)
        scene = engine.open_scene(path, **options)
    if scene.attrs["domain"] != "complex":
        raise InputError(f"{path} is not complex (SLC) data; self-supervised SLC training needs complex input")
    planes = [scene] if scene.ndim == 2 else [scene.isel({scene.dims[0]: i}) for i in range(scene.shape[0])]
    return [(np.abs(np.nan_to_num(engine.slc.decorrelate(p).values)) ** 2).astype(np.float32) for p in planes]


def dihedral(patch: np.ndarray, k: int) -> np.ndarray:
    """One of the eight rotations/flips of a square patch."""
    out = np.rot90(patch, k % 4)
    return np.ascontiguousarray(out.T if k >= 4 else out)


#: Side of the generated tissue phantoms, and the most a B-mode point-spread function reaches.
_PHANTOM_PX = 384
_BMODE_MARGIN_PX = 24

#: GRD-like processors drawn once per run (each one's looks estimated on a 384-px field).
_PROCESSORS = 48


@dataclass
class Batch:
    """noisy: (N, 1, P, P) intensity; clean: the same without speckle (None if self-supervised);
    looks: per patch; weight: 1 where the loss applies (0 on point targets); reference: (N, 1, 1, 1)
    intensity each patch is normalised by (its source image's median), None to use its own."""

    noisy: np.ndarray
    clean: np.ndarray | None
    looks: np.ndarray
    weight: np.ndarray
    reference: np.ndarray | None = None


class PatchSampler:
    """Draws batches of patches from the configured images, deterministically from ``rng``."""

    def __init__(self, config: DataConfig, root: Path, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        if config.kind == "slc":
            self.images = [i for path, options in resolve_source_options(root, config.sources) for i in load_decorrelated_slc(path, options)]
        else:
            self.images = [load_intensity(p) for p in resolve_sources(root, config.sources)]
        size = config.patch_px
        if config.kind == "bmode-synthetic":
            # Echogenicity maps: the configured clean images and random tissue phantoms, with
            # room around every patch for the point-spread function.
            self.images += [tissue_phantom((_PHANTOM_PX, _PHANTOM_PX), rng) for _ in range(config.phantoms)]
            size += 2 * _BMODE_MARGIN_PX
        if config.kind in ("synthetic", "bmode-synthetic"):
            # Clean references smaller than a patch are padded by reflection (speckle comes after).
            self.images = [np.pad(image, [(0, max(0, size - image.shape[0])), (0, max(0, size - image.shape[1]))], mode="reflect") for image in self.images]
        else:
            # Real speckle must not be mirrored: a blind-spot network would learn to copy the
            # mirror image of the pixel it cannot see. Images smaller than a patch are left out.
            self.images = [image for image in self.images if min(image.shape) >= size]
            if not self.images:
                raise InputError(f"no training image is at least {size} pixels on each side; lower data.patch_px")
        areas = np.array([image.size for image in self.images], dtype=np.float64)
        self.weights = areas / areas.sum()
        # The engine divides by the median of the scene's valid intensity; "image" does the same.
        self.medians = [float(np.median(image[np.isfinite(image) & (image > 0)])) for image in self.images]
        # GRD-like processors, each with the looks the engine would estimate for its speckle.
        self.processors = [
            (processor, estimate_looks(processor.draw((384, 384), rng)) or 1.0)
            for processor in (GRDSpeckle.random(rng) for _ in range(_PROCESSORS if config.grd_fraction else 0))
        ]

    def crop(self, size: int) -> tuple[np.ndarray, int]:
        """A random crop (random dihedral transform) and the index of the image it comes from."""
        index = int(self.rng.choice(len(self.images), p=self.weights))
        image = self.images[index]
        r = self.rng.integers(0, image.shape[0] - size + 1)
        c = self.rng.integers(0, image.shape[1] - size + 1)
        return dihedral(image[r : r + size, c : c + size], int(self.rng.integers(0, 8))), index

    def looks(self) -> float:
        low_high = self.config.looks_range
        if low_high:
            return float(np.exp(self.rng.uniform(np.log(low_high[0]), np.log(low_high[1]))))
        return float(self.config.looks[int(self.rng.integers(0, len(self.config.looks)))])

    def speckle(self, shape: tuple[int, int], looks: float) -> tuple[np.ndarray, float]:
        """Unit-mean speckle and the looks a network is told it has."""
        cfg = self.config
        # No draw when only white speckle is configured: older configs keep their random stream.
        draw = self.rng.random() if cfg.grd_fraction or cfg.correlated_fraction else 1.0
        if draw < cfg.grd_fraction:
            processor, looks = self.processors[int(self.rng.integers(0, len(self.processors)))]
            field = processor.draw(shape, self.rng)
        elif draw < cfg.grd_fraction + cfg.correlated_fraction:
            field = correlated_speckle(shape, max(1, int(looks)), self.rng)
        else:
            field = speckle(shape, looks, self.rng)
        if cfg.looks_jitter:
            looks *= float(np.exp(self.rng.normal(0.0, cfg.looks_jitter)))
        return field, looks

    def batch(self, size: int | None = None, crops: int = 1) -> Batch:
        """A batch; with ``crops`` = 2, consecutive patch pairs come from one region (two crops)."""
        cfg = self.config
        p = size or cfg.patch_px
        n = cfg.batch_size
        noisy = np.empty((n, 1, p, p), np.float32)
        clean = np.empty((n, 1, p, p), np.float32)
        looks = np.empty(n, np.float32)
        reference = np.empty((n, 1, 1, 1), np.float32)
        if cfg.kind == "bmode-synthetic":
            return self._bmode_batch(p, n)
        for i in range(0, n, crops):
            region, index = self.crop(2 * p if crops == 2 else p)
            for j in range(crops):
                if i + j >= n:
                    break
                reference[i + j] = self.medians[index]
                if crops == 2:
                    r, c = self.rng.integers(0, p + 1, size=2)
                    patch = region[r : r + p, c : c + p]
                else:
                    patch = region
                looks[i + j] = self.looks()
                clean[i + j, 0] = np.maximum(patch, 1.0)  # 8-bit references hold exact zeros
                noisy[i + j, 0] = clean[i + j, 0]
                if cfg.kind == "synthetic":
                    field, looks[i + j] = self.speckle((p, p), float(looks[i + j]))
                    noisy[i + j, 0] *= field
        self_supervised = cfg.kind != "synthetic"
        weight = np.ones_like(noisy)
        if self_supervised:
            # Point targets (far above the patch median) follow no speckle model: no loss there.
            medians = np.median(noisy, axis=(1, 2, 3), keepdims=True)
            weight[noisy >= cfg.point_target_factor * medians] = 0.0
        return Batch(noisy=noisy, clean=None if self_supervised else clean, looks=looks, weight=weight,
                     reference=reference if cfg.normalise_by == "image" else None)

    def _bmode_batch(self, p: int, n: int) -> Batch:
        """Simulated B-mode patches: each crop imaged by its own random scanner setting; the noisy
        display and its reference as a display model reads them (intensity on the nominal scale)."""
        noisy = np.empty((n, 1, p, p), np.float32)
        clean = np.empty((n, 1, p, p), np.float32)
        for i in range(n):
            imaging = BModeImaging.random(self.rng)
            m = imaging.margin_px
            if m > _BMODE_MARGIN_PX:
                raise ValueError(f"a point-spread function reaching {m} px exceeds the patch margin {_BMODE_MARGIN_PX}")
            region, _ = self.crop(p + 2 * m)
            image = imaging.simulate(np.maximum(region, 1e-3 * max(float(np.median(region)), 1e-6)), self.rng)
            noisy[i, 0] = display_to_intensity(image.display, NOMINAL_DISPLAY_RANGE_DB)
            clean[i, 0] = display_to_intensity(image.reference, NOMINAL_DISPLAY_RANGE_DB)
        return Batch(noisy=noisy, clean=clean, looks=np.ones(n, np.float32), weight=np.ones_like(noisy))
