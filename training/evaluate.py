"""Validation through the engine itself (tiling, normalisation and all): PSNR and SSIM on the
clean/noisy pairs (amplitude, data range = the clean image's max - min), and the mean and
standard deviation of the ratio image on real single-look SLC crops (no reference needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import engine
from engine.methods import Method
from engine.metrics import psnr, ratio_statistics, ssim
from training.data import load_intensity, resolve_source_options


def evaluate_pairs(method: Method | str, folder: Path, **parameters: Any) -> dict[str, float]:
    """Mean amplitude PSNR/SSIM of ``method`` over the pairs in ``folder`` (clean/, noisy/)."""
    scores: dict[str, list[float]] = {"psnr_db": [], "ssim": []}
    for clean_path in sorted((folder / "clean").glob("*.npy")):
        clean = np.load(clean_path).astype(np.float64)
        noisy = np.load(folder / "noisy" / clean_path.name).astype(np.float32)
        estimate = engine.despeckle(noisy**2, method, domain="intensity", **parameters).values
        amplitude = np.sqrt(np.maximum(estimate, 0.0))
        data_range = float(clean.max() - clean.min())
        scores["psnr_db"].append(psnr(clean, amplitude, data_range=data_range))
        scores["ssim"].append(ssim(clean, amplitude, data_range=data_range))
    if not scores["psnr_db"]:
        raise FileNotFoundError(f"no validation pairs in {folder}")
    return {k: float(np.mean(v)) for k, v in scores.items()}


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


def validate(method: Method, root: Path, pairs: str | None, slc: tuple[Any, ...], **parameters: Any) -> dict[str, float]:
    results: dict[str, float] = {}
    if pairs:
        results.update(evaluate_pairs(method, root / pairs, **parameters))
    if slc:
        results.update(evaluate_ratio(method, resolve_source_options(root, slc), **parameters))
    return results
