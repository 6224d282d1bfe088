"""Ultrasound: every method on clinical B-mode images and on a B-mode beamformed from channel RF.

Regions of interest are committed in ``benchmarks/data/ultrasound_rois.json`` (drawn by eye):
a homogeneous tissue region ("speckle") and a target/background pair. Per image and method:

- SNR (mean / std) of the speckle region and its ENL, on the envelope intensity;
- CNR and gCNR between target and background, on the displayed grey levels (what a reader sees;
  the gCNR does not depend on that choice, up to binning);
- EPD-ROA against the input (horizontal and vertical averaged): how much of the image's edges
  a method keeps; smoothing everything raises SNR and ruins it.

B-mode grey levels are turned into intensity with an assumed 60 dB display range and back (see
``_ultrasound_data``). The muscle is beamformed from channel RF by the engine and given to the
methods as complex data, as SLC is (the blind-spot models get it decorrelated; its frame 1 was
held out of the ultrasound model's training). The methods run with their defaults and
``looks`` = 1: scan conversion and resizing correlate clinical speckle, which the filters'
statistics and the SAR-trained models do not expect — part of what this suite shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import engine
from benchmarks._quality import available_methods, data_folder, despeckle_intensity
from benchmarks._report import markdown_table, pyplot, save_figure, write_results
from benchmarks._ultrasound_data import beamformed, bmode_to_intensity, intensity_to_bmode, load_bmode
from engine.metrics import cnr, enl, epd_roa, gcnr, ratio_statistics, snr

SUITE = "ultrasound"
HEADER = ["method", "SNR", "ENL", "CNR", "gCNR", "EPD-ROA", "ratio mean"]
ROIS = Path(__file__).resolve().parent / "data" / "ultrasound_rois.json"


def _box(values: list[int]) -> tuple[slice, slice]:
    r0, r1, c0, c1 = values
    return np.s_[r0:r1, c0:c1]


def images() -> dict[str, tuple[np.ndarray | xr.DataArray, np.ndarray]]:
    """Per image with regions of interest: what the methods get (B-mode intensity, or the
    beamformed complex image) and the input's envelope intensity."""
    out: dict[str, tuple[np.ndarray | xr.DataArray, np.ndarray]] = {}
    for name in json.loads(ROIS.read_text()):
        if name.startswith("_"):
            continue
        if name.endswith(".hdf5"):
            scene = beamformed(data_folder("ultrasound", "rf") / name, frame=1)
            out[name] = (scene, np.abs(np.asarray(scene.values, dtype=np.complex128)) ** 2)
        else:
            intensity = bmode_to_intensity(load_bmode(data_folder("ultrasound", "bmode") / name))
            out[name] = (intensity, intensity)
    return out


def despeckled(source: np.ndarray | xr.DataArray, method: str) -> np.ndarray:
    if isinstance(source, xr.DataArray):  # complex: intensity out, decorrelated first where a model needs it
        return np.asarray(engine.despeckle(source, method, output_domain="intensity").values, dtype=np.float64)
    return despeckle_intensity(source, method)


def measure(intensity: np.ndarray, estimate: np.ndarray, rois: dict[str, Any]) -> dict[str, float]:
    grey, grey_in = intensity_to_bmode(estimate), intensity_to_bmode(intensity)
    target, background, speckle = _box(rois["target"]), _box(rois["background"]), _box(rois["speckle"])
    edges = epd_roa(grey_in, grey)
    return {
        "snr": snr(np.sqrt(estimate), speckle),
        "enl": enl(estimate, speckle),
        "cnr": cnr(grey, target, background),
        "gcnr": gcnr(grey, target, background),
        "epd_roa": (edges["horizontal"] + edges["vertical"]) / 2,
        # Radiometric bias in developed speckle: the mean of input / output (1 when unbiased).
        # Over the whole image it would be ruled by the black, near-zero background of the scans.
        "ratio_mean": ratio_statistics(intensity[speckle], estimate[speckle])["mean"],
    }


def _figure(examples: dict[str, dict[str, np.ndarray]]) -> str:
    plt = pyplot()

    names = list(examples)
    columns = list(next(iter(examples.values())))
    fig, axes = plt.subplots(len(names), len(columns), figsize=(2.6 * len(columns), 2.4 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        for j, column in enumerate(columns):
            axes[i, j].imshow(intensity_to_bmode(examples[name][column]), cmap="gray", vmin=0, vmax=255)
            axes[i, j].set_title(column if i == 0 else "", fontsize=9)
            axes[i, j].axis("off")
        axes[i, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, SUITE)


def _blind_spot_paragraph(mean: dict[str, dict[str, float]], results: dict[str, dict[str, dict[str, float]]]) -> str:
    """What the ultrasound-trained blind-spot model shows, from the numbers measured."""
    us = mean["speckle2void-ultrasound"]
    text = (
        "The self-supervised blind-spot model trained on ultrasound (speckle2void-ultrasound: one beamformed frame of "
        f"the muscle, the other frame evaluated here) reaches a mean gCNR of {us['gcnr']:.3f} and EPD-ROA {us['epd_roa']:.2f}."
    )
    muscle, given = results.get("muscle_invivo_rf.hdf5", {}).get("speckle2void-ultrasound"), results.get("muscle_invivo_rf.hdf5", {}).get("input")
    if muscle and given:
        text += (
            f" On the held-out muscle frame, the complex data it was trained for, its mean of ratio in the speckle region is "
            f"{muscle['ratio_mean']:.2f} "
            f"and its gCNR {muscle['gcnr']:.3f} (input {given['gcnr']:.3f}), but the speckle SNR "
            + _snr_verdict(muscle["snr"], given["snr"])
        )
    return text + (
        " On the scan-converted clinical images it meets correlated speckle without phase, which it was not trained for."
    )


_TOO_LITTLE_DATA = (
    " One 470×192 frame, whose lateral speckle stays correlated after whitening so that the blind spot must also hide "
    "the nearest neighbours, does not teach it enough; on this evidence blind-spot training is not the promising route "
    "for ultrasound until far more beamformed data is available."
)


def _snr_verdict(snr: float, given: float) -> str:
    """The speckle SNR against the input's, in words (within 2 %: unchanged)."""
    if snr < 0.98 * given:
        return (f"falls to {snr:.2f} (input {given:.2f}): the estimate it draws from the context around the blind spot is "
                "noisier than the speckle it replaces." + _TOO_LITTLE_DATA)
    if snr <= 1.02 * given:
        return f"stays at {snr:.2f} (input {given:.2f}): it keeps the speckle rather than removing it." + _TOO_LITTLE_DATA
    return f"rises to {snr:.2f} (input {given:.2f})."


def run(*, workdir: Path | None = None) -> Path:
    rois = json.loads(ROIS.read_text())
    methods = available_methods()
    scenes = images()
    results: dict[str, dict[str, dict[str, float]]] = {}
    outputs: dict[str, dict[str, np.ndarray]] = {}
    for name, (source, intensity) in scenes.items():
        outputs[name] = {"input": intensity, **{m: despeckled(source, m) for m in methods}}
        results[name] = {m: measure(intensity, out, rois[name]) for m, out in outputs[name].items()}

    keys = ("snr", "enl", "cnr", "gcnr", "epd_roa", "ratio_mean")
    mean = {m: {k: float(np.mean([results[n][m][k] for n in scenes])) for k in keys} for m in ["input", *methods]}
    snr_gain = {m: mean[m]["snr"] / mean["input"]["snr"] for m in methods}
    # Most promising: the best detectability (gCNR) among methods that keep most of the edges.
    keeping = [m for m in methods if mean[m]["epd_roa"] >= 0.8] or methods
    best = max(keeping, key=lambda m: mean[m]["gcnr"])
    smoothest = max(methods, key=lambda m: snr_gain[m])
    ranked = sorted(methods, key=lambda m: -mean[m]["gcnr"])
    figure_columns = ["input", *ranked[:3]]
    if smoothest not in figure_columns:
        figure_columns.append(smoothest)
    figure = _figure({n: {c: outputs[n][c] for c in figure_columns} for n in scenes})

    rows = [[m, *(mean[m][k] for k in keys)] for m in ["input", *ranked]]
    tables = ["### Mean over the images\n\n" + markdown_table(HEADER, rows)]
    for name in scenes:
        rows = [[m, *(results[name][m][k] for k in keys)] for m in ["input", *ranked]]
        tables.append(f"### {name}: {rois[name]['what']}\n\n" + markdown_table(HEADER, rows))
    summary = (
        f"Which method is the most promising on ultrasound? On these {len(scenes)} images, **{best}**: the highest mean gCNR "
        f"({mean[best]['gcnr']:.3f} against {mean['input']['gcnr']:.3f} for the input) among the methods that keep most edges "
        f"(EPD-ROA ≥ 0.8; {best}: {mean[best]['epd_roa']:.2f}), with the speckle SNR raised {snr_gain[best]:.2f}× and a mean of "
        f"ratio in the speckle regions of {mean[best]['ratio_mean']:.2f} (1 when the mean intensity is kept). "
        f"The largest SNR gain, {snr_gain[smoothest]:.2f}×, is {smoothest}'s, with a gCNR of {mean[smoothest]['gcnr']:.3f} "
        f"and EPD-ROA {mean[smoothest]['epd_roa']:.2f}. "
        "gCNR is the figure that says whether a target can be told from its background, so it decides; SNR alone "
        "rewards blur."
    )
    if "speckle2void-ultrasound" in methods:
        summary += "\n\n" + _blind_spot_paragraph(mean, results)
    else:
        summary += (
            "\n\nNot measured: the ultrasound-trained blind-spot model (speckle2void-ultrasound) has no weights in this "
            "installation; `despeckle train training/configs/speckle2void-ultrasound.yaml` trains them."
        )
    return write_results(SUITE, summary=summary, tables=tables, figures=[figure],
                         data={"rois": str(ROIS.relative_to(ROIS.parents[2])), "results": results, "mean": mean, "most_promising": best})
