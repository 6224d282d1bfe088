"""The ultrasound suite's simulated part: B-mode images with a speckle-free reference.

Echogenicity maps none of the models was trained on (tissue phantoms drawn from other seeds than
the training's, and the four held-out clean SAR references as natural structure) are imaged by
``engine.bmode`` with several point-spread functions and dynamic ranges; each image comes with
its reference (the expected intensity at the grey level of its speckle). Every method gets the
8-bit display image as a display image (domain ``display``): filters and SAR models work on the
intensity the engine converts it to (its dynamic range measured on the speckle, as a user's run
would), the ultrasound model on the grey levels. A flat region per setting measures the mean
brightness a method gives speckle.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import engine
from benchmarks._quality import data_folder
from benchmarks.sar_synthetic import SECOND, WINDOWS
from engine.bmode import BModeImaging, tissue_phantom
from engine.exceptions import DespeckleWarning
from engine.methods import get_method
from engine.metrics import psnr, ssim

#: Scanner settings: fine, medium and coarse grain (axial, lateral PSF in pixels), each at a
#: narrow and a wide dynamic range, half of them with scan-conversion blur.
SETTINGS = {
    "fine grain, 45 dB": BModeImaging(axial_px=0.8, lateral_px=1.2, dynamic_range_db=45, median_grey=120),
    "fine grain, 70 dB, blurred": BModeImaging(axial_px=0.8, lateral_px=1.2, dynamic_range_db=70, median_grey=120, blur_px=0.6),
    "medium grain, 45 dB, blurred": BModeImaging(axial_px=1.4, lateral_px=2.8, dynamic_range_db=45, median_grey=110, blur_px=0.6),
    "medium grain, 70 dB": BModeImaging(axial_px=1.4, lateral_px=2.8, dynamic_range_db=70, median_grey=110),
    "coarse grain, 55 dB, tilted": BModeImaging(axial_px=2.0, lateral_px=4.5, dynamic_range_db=55, median_grey=100, tilt_deg=20),
    "coarse grain, 80 dB, JPEG": BModeImaging(axial_px=2.0, lateral_px=4.5, dynamic_range_db=80, median_grey=100, jpeg_quality=85),
}
SIZE_PX = 256
#: Phantoms from seeds the training (seed 0's stream) never drew.
PHANTOM_SEEDS = (90_001, 90_002)
SEED = 20261129


def echogenicity_maps() -> dict[str, np.ndarray]:
    """Held-out maps, with room for any setting's point-spread function around them."""
    margin = max(s.margin_px for s in SETTINGS.values())
    side = SIZE_PX + 2 * margin
    maps = {f"phantom {seed}": tissue_phantom((side, side), np.random.default_rng(seed)) for seed in PHANTOM_SEEDS}
    for path in sorted(data_folder("sar", "pairs", "clean").glob("*_0.npy")):
        amplitude = np.load(path).astype(np.float64)
        maps[f"natural {path.stem}"] = np.pad(amplitude**2, margin, mode="reflect")[: side, : side]
    maps["flat"] = np.ones((side, side))
    return maps


def simulated_set() -> list[dict[str, Any]]:
    """Every held-out map imaged by every setting: name, setting, display, reference."""
    rng = np.random.default_rng(SEED)
    images = []
    margin = max(s.margin_px for s in SETTINGS.values())
    for setting, imaging in SETTINGS.items():
        for name, echogenicity in echogenicity_maps().items():
            cut = margin - imaging.margin_px
            region = echogenicity[cut : cut + SIZE_PX + 2 * imaging.margin_px, cut : cut + SIZE_PX + 2 * imaging.margin_px]
            image = imaging.simulate(region, rng)
            images.append({"map": name, "setting": setting, "display": image.display, "reference": image.reference})
    return images


def despeckle_display(grey: np.ndarray, method: str, **parameters: Any) -> np.ndarray:
    """A display image through ``method`` as a user's run does it (domain display), grey levels out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DespeckleWarning)  # SAR models on display images say so; measured here anyway
        return np.asarray(engine.despeckle(grey.astype(np.float32), method, domain="display", **parameters).values, dtype=np.float64)


def scores(image: dict[str, Any], output: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM against the reference (grey levels, 255 the range); on the flat map, the
    mean brightness relative to the input's (1 when a speckle region keeps its grey level)."""
    out = {"psnr_db": psnr(image["reference"], output, data_range=255.0), "ssim": ssim(image["reference"], output, data_range=255.0),
           "low": float(np.nanmin(output)), "high": float(np.nanmax(output))}
    if image["map"] == "flat":
        out["brightness"] = float(np.nanmean(output) / np.mean(image["display"]))
    return out


def _mean(rows: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in rows if key in r]
    return float(np.mean(values)) if values else float("nan")


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over the structured images (PSNR, SSIM), the flat ones (brightness), extremes over all."""
    structured = [r for r in rows if "brightness" not in r]
    return {"psnr_db": _mean(structured, "psnr_db"), "ssim": _mean(structured, "ssim"), "brightness": _mean(rows, "brightness"),
            "low": min(r["low"] for r in rows), "high": max(r["high"] for r in rows)}


def tuned_filter(method: str, images: list[dict[str, Any]]) -> dict[str, Any]:
    """A classical filter at its best setting on these very images (an oracle tuning that favours
    the filters): the baseline the ultrasound model must beat."""
    window = next(p for p in get_method(method).parameters if p.name == "window_size_px")
    name, values = SECOND.get(method, ("", (None,)))
    grid = [{"window_size_px": w, **({name: v} if name else {})} for w in (window.choices or (3, *WINDOWS)) for v in values]
    tried = []
    for params in grid:
        rows = [scores(image, despeckle_display(image["display"], method, **params)) for image in images]
        tried.append((params, summarise(rows)))
    params, best = max(tried, key=lambda t: t[1]["psnr_db"])
    return {"best": params, **best, "settings_tried": len(tried)}


def simulated_part(methods: list[str]) -> dict[str, Any]:
    """Every method at its defaults and every filter tuned, on the simulated set; per setting too."""
    images = simulated_set()
    per_method = {m: [scores(image, despeckle_display(image["display"], m)) for image in images] for m in methods}
    per_method["input"] = [scores(image, image["display"]) for image in images]
    settings = list(SETTINGS)
    by_setting = {
        m: {s: summarise([r for r, image in zip(rows, images, strict=True) if image["setting"] == s]) for s in settings}
        for m, rows in per_method.items()
    }
    filters = [m for m in methods if get_method(m).kind == "filter"]
    return {
        "settings": {s: vars(imaging) for s, imaging in SETTINGS.items()},
        "maps": sorted({image["map"] for image in images}),
        "defaults": {m: summarise(rows) for m, rows in per_method.items()},
        "by_setting": by_setting,
        "tuned_filters": {m: tuned_filter(m, images) for m in filters},
        "example": {"display": images[2]["display"], "reference": images[2]["reference"], "map": images[2]["map"],
                    "setting": images[2]["setting"]},
    }
