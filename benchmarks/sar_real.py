"""SAR without a reference: every method on the real SLC crops and the Sentinel-1 GeoTIFF.

No clean image exists for real data, so each method is judged by what it removed: the ratio
image noisy / filtered. Per scene and method: the ENL of homogeneous boxes (16 × 16, the eight
most homogeneous of the noisy image, the same boxes for every method), mean and standard
deviation of the ratio (1 and 1/√L for pure L-look speckle), the M-index (0 ideal; Gomez et al.
2017) and EPD-ROA in amplitude against the noisy input (1 keeps every edge). The ratio images
of one scene are drawn: structure visible in them is signal a method took away.

Scenes: the TerraSAR-X-type crop, Envisat, the two UAVSAR crops (complex, through the engine's
SLC path: Speckle2Void gets decorrelated speckle there), the Sentinel-1 GRD GeoTIFF (dB, ~4.4
looks; converted to intensity) and, as a peer, the published MERLIN output for the TerraSAR-X
crop that ships with the sample data (a result we cannot rerun here: marked as such).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import engine
from benchmarks._quality import available_methods, data_folder, display
from benchmarks._report import markdown_table, pyplot, save_figure, write_results
from engine.domain import to_intensity
from engine.exceptions import DespeckleWarning
from engine.metrics import enl_auto, epd_roa, homogeneous_boxes, m_index, ratio_statistics

SUITE = "sar-real"
MERLIN = "MERLIN (published output)"
BLOCK_PX = 32
#: The classical reference a model is held to on real scenes (issue: M-index at most, ENL at least).
REFERENCE_FILTER = "lee-sigma"


def scenes() -> dict[str, xr.DataArray]:
    slc = data_folder("sar", "slc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DespeckleWarning)
        found = {
            "TerraSAR-X crop": engine.open_scene(slc / "tsx_crop_256_reim.npy"),
            "Envisat ASAR": engine.open_scene(slc / "envisat_500x500_complex64.slc", shape="500x500", dtype="complex64", nodata=0),
            "UAVSAR winnipeg": engine.open_scene(slc / "winnipeg.h5"),
            "UAVSAR SanAnd_138": engine.open_scene(slc / "SanAnd_138.h5"),
            "Sentinel-1 GRD (GeoTIFF, dB)": engine.open_scene(next(data_folder("sar", "geotiff").glob("*.tif")), domain="db"),
        }
    return {k: (v.isel({v.dims[0]: 0}) if v.ndim == 3 else v) for k, v in found.items()}


def noisy_intensity(scene: xr.DataArray) -> np.ndarray:
    return np.asarray(to_intensity(np.asarray(scene.values), scene.attrs["domain"]), dtype=np.float64)


def filtered_intensity(scene: xr.DataArray, method: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DespeckleWarning)
        return np.asarray(engine.despeckle(scene, method, output_domain="intensity").values, dtype=np.float64)


def block_mean_deviation(noisy: np.ndarray, filtered: np.ndarray, block_px: int = BLOCK_PX) -> float:
    """The largest |mean(filtered) / mean(noisy) - 1| over the non-overlapping ``block_px``² blocks
    with only valid, non-zero-mean pixels: radiometry kept area by area, bright targets included
    (the per-pixel ratio mean does not see a flattened target)."""
    rows, cols = noisy.shape[0] // block_px, noisy.shape[1] // block_px
    worst = 0.0
    for r in range(rows):
        for c in range(cols):
            window = (slice(r * block_px, (r + 1) * block_px), slice(c * block_px, (c + 1) * block_px))
            a, b = noisy[window], filtered[window]
            if not (np.isfinite(a).all() and np.isfinite(b).all()) or a.mean() <= 0 or (a == 0).mean() > 0.5:
                continue
            worst = max(worst, abs(float(b.mean() / a.mean()) - 1.0))
    return worst


def measure(noisy: np.ndarray, filtered: np.ndarray, boxes: list[Any]) -> dict[str, float]:
    ratio = ratio_statistics(noisy, filtered)
    m = m_index(noisy, filtered, boxes=boxes)
    edges = epd_roa(np.sqrt(noisy), np.sqrt(np.maximum(filtered, 0)))
    return {
        "enl": enl_auto(filtered, boxes=boxes),
        "ratio_mean": ratio["mean"],
        "ratio_std": ratio["std"],
        "m_index": m["m_index"],
        "delta_h": m["delta_h"],
        "epd_roa": (edges["horizontal"] + edges["vertical"]) / 2,
        "worst_block_mean_deviation": block_mean_deviation(noisy, filtered),
        "max_over_input_max": float(np.nanmax(filtered) / np.nanmax(noisy)),
    }


def _figure(noisy: np.ndarray, outputs: dict[str, np.ndarray]) -> str:
    plt = pyplot()

    fig, axes = plt.subplots(2, len(outputs) + 1, figsize=(2.3 * (len(outputs) + 1), 4.8), squeeze=False)
    axes[0, 0].imshow(display(np.sqrt(noisy)), cmap="gray")
    axes[0, 0].set_title("input (amplitude)", fontsize=8)
    axes[1, 0].axis("off")
    axes[0, 0].axis("off")
    for j, (name, filtered) in enumerate(outputs.items(), start=1):
        axes[0, j].imshow(display(np.sqrt(np.maximum(filtered, 0))), cmap="gray")
        axes[1, j].imshow(np.clip(noisy / np.maximum(filtered, 1e-12), 0, 3), cmap="gray", vmin=0, vmax=3)
        axes[0, j].set_title(name, fontsize=8)
        axes[0, j].axis("off")
        axes[1, j].axis("off")
    fig.suptitle("TerraSAR-X crop: outputs (top) and ratio images noisy / filtered, 0–3 (bottom)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, SUITE)


def _slc_ratio_table(results: dict[str, dict[str, dict[str, float]]], slc_scenes: list[str], methods: list[str]) -> str:
    """Radiometric bias on real single-look data, in one line per method: the mean over the SLC
    crops of each crop's ratio mean (1 for a filter that neither adds nor removes power)."""
    rows = []
    for m in methods:
        means = [results[s][m]["ratio_mean"] for s in slc_scenes]
        overall = float(np.mean(means))
        rows.append([m, overall, min(means), max(means), "yes" if abs(overall - 1) <= 0.05 else "no"])
    rows.sort(key=lambda r: abs(r[1] - 1))
    return (f"### Mean of ratio over the {len(slc_scenes)} real SLC crops\n\n"
            + markdown_table(["method", "mean of ratio", "lowest crop", "highest crop", "within 1 ± 0.05"], rows))


def acceptance(results: dict[str, dict[str, dict[str, float]]], methods: list[str]) -> dict[str, dict[str, Any]]:
    """Per model and scene, the issue's targets: ratio mean 1 ± 0.03, M-index at most and ENL at
    least Lee sigma's, every 32² block's mean within ± 3 %, no output above 1.5 × the input max."""
    from engine.methods import get_method

    if REFERENCE_FILTER not in methods:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for model in (m for m in methods if get_method(m).kind == "model"):
        for scene, r in results.items():
            mine, ref = r[model], r[REFERENCE_FILTER]
            checks = {
                "ratio_mean": abs(mine["ratio_mean"] - 1.0) <= 0.03,
                "m_index": mine["m_index"] <= ref["m_index"],
                "enl": mine["enl"] >= ref["enl"],
                "block_mean": mine["worst_block_mean_deviation"] <= 0.03,
                "no_outliers": mine["max_over_input_max"] <= 1.5,
            }
            out.setdefault(model, {})[scene] = {"checks": checks, "all": all(checks.values())}
    return out


def _acceptance_table(verdicts: dict[str, dict[str, Any]]) -> str:
    rows = []
    for model, per_scene in verdicts.items():
        for scene, v in per_scene.items():
            rows.append([model, scene, *("yes" if ok else "no" for ok in v["checks"].values()), "all" if v["all"] else "-"])
    return ("### Targets per model and scene (ratio mean 1 ± 0.03; M-index ≤ and ENL ≥ lee-sigma 7×7; "
            f"every {BLOCK_PX}² block's mean within ± 3 %; max ≤ 1.5 × input max)\n\n"
            + markdown_table(["model", "scene", "ratio mean", "M-index", "ENL", f"{BLOCK_PX}² means", "no outliers", "verdict"], rows))


def run(*, workdir: Path | None = None) -> Path:
    methods = available_methods("sar")
    results: dict[str, dict[str, dict[str, float]]] = {}
    figure: dict[str, np.ndarray] = {}
    tables = []
    slc_scenes = []
    for name, scene in scenes().items():
        if scene.attrs["domain"] == "complex":
            slc_scenes.append(name)
        noisy = noisy_intensity(scene)
        boxes = homogeneous_boxes(noisy, box_px=16, count=8)
        outputs = {m: filtered_intensity(scene, m) for m in methods}
        if name == "TerraSAR-X crop":
            merlin = np.load(data_folder("sar", "slc") / "tsx_crop_256_merlin_amplitude.npy").astype(np.float64) ** 2
            # MERLIN's amplitude is on its own scale: bring it to the input's mean before the ratio.
            outputs[MERLIN] = merlin * noisy.mean() / merlin.mean()
            figure = {"input": noisy, **outputs}
        results[name] = {"(noisy input)": {"enl": enl_auto(noisy, boxes=boxes)}, **{m: measure(noisy, out, boxes) for m, out in outputs.items()}}
        rows = [[m, r["enl"], r.get("ratio_mean", ""), r.get("ratio_std", ""), r.get("m_index", ""), r.get("epd_roa", ""),
                 r.get("worst_block_mean_deviation", ""), r.get("max_over_input_max", "")]
                for m, r in results[name].items()]
        tables.append(f"### {name} ({noisy.shape[0]}×{noisy.shape[1]})\n\n" + markdown_table(
            ["method", "ENL", "ratio mean", "ratio std", "M-index", "EPD-ROA", f"worst {BLOCK_PX}² mean dev.", "max / input max"], rows))
    verdicts = acceptance(results, methods)
    tables.insert(0, _slc_ratio_table(results, slc_scenes, methods))
    if verdicts:
        tables.insert(0, _acceptance_table(verdicts))
    figures = []
    if figure:
        noisy = figure.pop("input")
        figures.append(_figure(noisy, figure))
    summary = (
        "Real data, no reference. A good despeckler has a ratio mean near 1, a low M-index (pure speckle in the ratio image), "
        "a high ENL on homogeneous ground, and EPD-ROA not far below 1. The MERLIN row is the published output shipped "
        "with the sample data, rescaled to the input's mean (its own radiometric scale is unknown), not a run of ours. "
        "The M-index is infinite for a method that returns its input."
    )
    return write_results(SUITE, summary=summary, tables=tables, figures=figures, data={"results": results, "acceptance": verdicts})
