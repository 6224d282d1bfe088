"""Validation through the engine itself (tiling, normalisation and all): PSNR and SSIM on the
clean/noisy pairs (amplitude, data range = the clean image's max - min), the mean and
standard deviation of the ratio image on real single-look SLC crops (no reference needed), and
PSNR and SSIM of grey levels on simulated B-mode images against their references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import engine
from engine.methods import Method
from engine.metrics import psnr, ratio_statistics, ssim
from training.config import ValidationConfig
from training.data import load_intensity, resolve_source_options

#: Seed of the simulated B-mode validation images: no training run draws from it.
BMODE_VALIDATION_SEED = 424_242
BMODE_VALIDATION_PX = 256


def load_pairs(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The clean/noisy pairs in ``folder`` (clean/, noisy/; amplitude .npy) as intensity, by name."""
    found = {p.stem: (np.load(p).astype(np.float64) ** 2, np.load(folder / "noisy" / p.name).astype(np.float64) ** 2)
             for p in sorted((folder / "clean").glob("*.npy"))}
    if not found:
        raise FileNotFoundError(f"no validation pairs in {folder}")
    return found


def reference_scores(clean_intensity: np.ndarray, estimate_intensity: np.ndarray) -> dict[str, float]:
    """Amplitude PSNR and SSIM of an estimate against its clean reference, with the data range of
    the clean amplitude (max - min): the figures every model card and benchmark reports."""
    clean = np.sqrt(clean_intensity)
    amplitude = np.sqrt(np.maximum(estimate_intensity, 0.0))
    data_range = float(clean.max() - clean.min())
    return {"psnr_db": psnr(clean, amplitude, data_range=data_range), "ssim": ssim(clean, amplitude, data_range=data_range)}


def evaluate_pairs(method: Method | str, folder: Path, **parameters: Any) -> dict[str, float]:
    """Mean amplitude PSNR/SSIM of ``method`` over the pairs in ``folder`` (clean/, noisy/)."""
    scores = [
        reference_scores(clean, engine.despeckle(noisy.astype(np.float32), method, domain="intensity", **parameters).values)
        for clean, noisy in load_pairs(folder).values()
    ]
    return {key: float(np.mean([s[key] for s in scores])) for key in scores[0]}


def evaluate_ratio(method: Method | str, sources: list[tuple[Path, dict[str, Any]]], **parameters: Any) -> dict[str, float]:
    """Mean over images of the ratio image's mean and standard deviation (single-look SLC,
    opened as the engine opens it: a method that needs decorrelated speckle gets it)."""
    import warnings

    means, stds = [], []
    for path, options in sources:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", engine.exceptions.DespeckleWarning)
            scene = engine.open_scene(path, **options)
        scene = scene.isel({scene.dims[0]: 0}) if scene.ndim == 3 else scene
        noisy = np.abs(scene.values) ** 2 if scene.attrs["domain"] == "complex" else load_intensity(path)
        estimate = engine.despeckle(scene, method, **parameters).values
        stats = ratio_statistics(noisy, estimate)
        means.append(stats["mean"])
        stds.append(stats["std"])
    return {"ratio_mean": float(np.mean(means)), "ratio_std": float(np.mean(stds))}


def evaluate_bmode(method: Method | str, count: int, **parameters: Any) -> dict[str, float]:
    """Mean PSNR/SSIM (grey levels, range 255) of ``method`` on ``count`` simulated B-mode images
    (random phantoms, random scanner settings), given as display images; the input's beside."""
    from engine.bmode import BModeImaging, tissue_phantom

    rng = np.random.default_rng(BMODE_VALIDATION_SEED)
    scores: dict[str, list[float]] = {"bmode_psnr_db": [], "bmode_ssim": [], "bmode_input_psnr_db": []}
    for _ in range(count):
        imaging = BModeImaging.random(rng)
        side = BMODE_VALIDATION_PX + 2 * imaging.margin_px
        image = imaging.simulate(tissue_phantom((side, side), rng), rng)
        estimate = engine.despeckle(image.display, method, domain="display", **parameters).values
        scores["bmode_psnr_db"].append(psnr(image.reference, estimate, data_range=255.0))
        scores["bmode_ssim"].append(ssim(image.reference, estimate, data_range=255.0))
        scores["bmode_input_psnr_db"].append(psnr(image.reference, image.display, data_range=255.0))
    return {key: float(np.mean(values)) for key, values in scores.items()}


def validate(method: Method, root: Path, validation: ValidationConfig, **parameters: Any) -> dict[str, float]:
    results: dict[str, float] = {}
    if validation.pairs:
        results.update(evaluate_pairs(method, root / validation.pairs, **parameters))
    if validation.slc:
        results.update(evaluate_ratio(method, resolve_source_options(root, validation.slc), **parameters))
    if validation.bmode_images:
        results.update(evaluate_bmode(method, validation.bmode_images, **parameters))
    return results
