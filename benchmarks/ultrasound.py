"""Ultrasound: which method is the most promising, decided where a reference exists.

Two parts, every method run in the domain it is meant for (display images as display images:
filters and SAR models on the intensity the engine converts them to, the ultrasound model on
the grey levels; beamformed RF as complex data):

- **Simulated B-mode with a reference** (``benchmarks/_ultrasound_simulated.py``): held-out
  tissue phantoms and natural textures imaged with six scanner settings (point-spread function,
  dynamic range, blur, JPEG). PSNR and SSIM against the speckle-free reference; every classical
  filter also at its best setting on these images (window and its second parameter, an oracle
  tuning); the mean brightness of a flat speckle region relative to the input's.
- **Real images without a reference**: regions of interest committed in
  ``benchmarks/data/ultrasound_rois.json`` (drawn by eye): a homogeneous tissue region
  ("speckle") and a target/background pair. SNR (mean / std of the envelope amplitude, the grey
  levels read with a 60 dB display range) and ENL of the speckle region; CNR and gCNR between
  target and background on the grey levels (what a reader sees); EPD-ROA against the input
  (edges kept); the mean grey level of the speckle region relative to the input's. The muscle is
  beamformed from channel RF by the engine and given to the methods as complex data, as SLC is
  (its frame 1 was held out of the blind-spot model's training).

The recommendation is the best reference-based PSNR among the methods that keep every real
image's gCNR at least the input's, the brightness of speckle within 5 % and every output in
the display's range.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import engine
from benchmarks._quality import available_methods, data_folder
from benchmarks._report import markdown_table, pyplot, save_figure, write_results
from benchmarks._ultrasound_data import beamformed, bmode_to_intensity, intensity_to_bmode, load_bmode
from benchmarks._ultrasound_simulated import despeckle_display, simulated_part
from engine.exceptions import DespeckleWarning
from engine.methods import get_method
from engine.metrics import cnr, enl, epd_roa, gcnr, snr

SUITE = "ultrasound"
ROIS = Path(__file__).resolve().parent / "data" / "ultrasound_rois.json"


def _box(values: list[int]) -> tuple[slice, slice]:
    r0, r1, c0, c1 = values
    return np.s_[r0:r1, c0:c1]


def images() -> dict[str, tuple[np.ndarray | xr.DataArray, np.ndarray]]:
    """Per image with regions of interest: what the methods get (B-mode grey levels, or the
    beamformed complex image) and the input's grey levels."""
    out: dict[str, tuple[np.ndarray | xr.DataArray, np.ndarray]] = {}
    for name in json.loads(ROIS.read_text()):
        if name.startswith("_"):
            continue
        if name.endswith(".hdf5"):
            scene = beamformed(data_folder("ultrasound", "rf") / name, frame=1)
            out[name] = (scene, intensity_to_bmode(np.abs(np.asarray(scene.values, dtype=np.complex128)) ** 2))
        else:
            grey = load_bmode(data_folder("ultrasound", "bmode") / name)
            out[name] = (grey, grey)
    return out


def despeckled(source: np.ndarray | xr.DataArray, method: str) -> np.ndarray:
    """Grey levels out: a B-mode as a display image; the beamformed image as complex data, its
    intensity shown on the display scale it was normalised to."""
    if isinstance(source, xr.DataArray):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DespeckleWarning)
            estimate = np.asarray(engine.despeckle(source, method, output_domain="intensity").values, dtype=np.float64)
        return intensity_to_bmode(estimate)
    return despeckle_display(source, method)


def measure(grey_in: np.ndarray, grey: np.ndarray, rois: dict[str, Any]) -> dict[str, float]:
    target, background, speckle = _box(rois["target"]), _box(rois["background"]), _box(rois["speckle"])
    edges = epd_roa(grey_in, grey)
    intensity = bmode_to_intensity(grey)
    return {
        "snr": snr(np.sqrt(intensity), speckle),
        "enl": enl(intensity, speckle),
        "cnr": cnr(grey, target, background),
        "gcnr": gcnr(grey, target, background),
        "epd_roa": (edges["horizontal"] + edges["vertical"]) / 2,
        "brightness": float(np.mean(grey[speckle]) / np.mean(grey_in[speckle])),
        "low": float(np.nanmin(grey)),
        "high": float(np.nanmax(grey)),
    }


def _figure(examples: dict[str, dict[str, np.ndarray]]) -> str:
    """Rows of images (grey levels), one column per method."""
    plt = pyplot()

    names = list(examples)
    columns = list(dict.fromkeys(c for row in examples.values() for c in row))
    fig, axes = plt.subplots(len(names), len(columns), figsize=(2.6 * len(columns), 2.4 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        for j, column in enumerate(columns):
            axes[i, j].axis("off")
            if column in examples[name]:
                axes[i, j].imshow(examples[name][column], cmap="gray", vmin=0, vmax=255)
            axes[i, j].set_title(column if i == 0 else "", fontsize=9)
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
            f" On the held-out muscle frame, the complex data it was trained for, the speckle region's brightness is "
            f"{muscle['brightness']:.2f} of the input's "
            f"and its gCNR {muscle['gcnr']:.3f} (input {given['gcnr']:.3f}), but the speckle SNR "
            + _snr_verdict(muscle["snr"], given["snr"])
        )
    return text


_TOO_LITTLE_DATA = (
    " One 470×192 frame, whose lateral speckle stays correlated after whitening so that the blind spot must also hide "
    "the nearest neighbours, does not teach it enough: blind-spot training is not the promising route for ultrasound "
    "until far more beamformed data is available."
)


def _snr_verdict(snr: float, given: float) -> str:
    """The speckle SNR against the input's, in words (within 2 %: unchanged)."""
    if snr < 0.98 * given:
        return (f"falls to {snr:.2f} (input {given:.2f}): the estimate it draws from the context around the blind spot is "
                "noisier than the speckle it replaces." + _TOO_LITTLE_DATA)
    if snr <= 1.02 * given:
        return f"stays at {snr:.2f} (input {given:.2f}): it keeps the speckle rather than removing it." + _TOO_LITTLE_DATA
    return f"rises to {snr:.2f} (input {given:.2f})."


def _qualifies(method: str, simulated: dict[str, Any], results: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """What keeps ``method`` from being recommended (empty when nothing does)."""
    problems = []
    lost = [name for name, per in results.items() if per[method]["gcnr"] < per["input"]["gcnr"] - 1e-3]
    if lost:
        problems.append(f"gCNR below the input's on {', '.join(lost)}")
    brightness = simulated["defaults"][method]["brightness"]
    if not 0.95 <= brightness <= 1.05:
        problems.append(f"speckle brightness {brightness:.3f} of the input's")
    low = min(simulated["defaults"][method]["low"], *(per[method]["low"] for per in results.values()))
    high = max(simulated["defaults"][method]["high"], *(per[method]["high"] for per in results.values()))
    if low < 0 or high > 255:
        problems.append(f"output from {low:.4g} to {high:.4g}, outside the display's 0-255")
    return problems


def _summary(simulated: dict[str, Any], results: dict[str, dict[str, dict[str, float]]], mean: dict[str, dict[str, float]],
             methods: list[str]) -> tuple[str, str | None]:
    defaults, tuned = simulated["defaults"], simulated["tuned_filters"]
    ranked = sorted(methods, key=lambda m: -defaults[m]["psnr_db"])
    problems = {m: _qualifies(m, simulated, results) for m in methods}
    qualified = [m for m in ranked if not problems[m]]
    best = qualified[0] if qualified else None
    best_filter = max(tuned, key=lambda m: tuned[m]["psnr_db"]) if tuned else None
    lines = [f"Which method is the most promising on ultrasound? Judged against a speckle-free reference on "
             f"{len(simulated['maps']) - 1} held-out images × {len(simulated['settings'])} scanner settings (PSNR; SSIM beside), "
             f"among the methods that keep every real image's gCNR, the brightness of speckle (±5 %) and the display's range: "
             + (f"**{best}**, {defaults[best]['psnr_db']:.2f} dB (SSIM {defaults[best]['ssim']:.3f}; input "
                f"{defaults['input']['psnr_db']:.2f} dB)." if best else "**none qualifies**.")]
    if best_filter:
        lines.append(f"The best classical filter, tuned on these very images, is {best_filter} "
                     f"({', '.join(f'{k} {v}' for k, v in tuned[best_filter]['best'].items())}): {tuned[best_filter]['psnr_db']:.2f} dB.")
    if "ultrasound-unet" in defaults and best_filter:
        margin = defaults["ultrasound-unet"]["psnr_db"] - tuned[best_filter]["psnr_db"]
        lines.append(f"The ultrasound model (ultrasound-unet, at its defaults) is {margin:+.2f} dB from that tuned filter; "
                     f"speckle brightness {defaults['ultrasound-unet']['brightness']:.3f} of the input's; gCNR "
                     + ", ".join(f"{results[n]['ultrasound-unet']['gcnr']:.3f} (input {results[n]['input']['gcnr']:.3f})" for n in results)
                     + " on the real images.")
    sar = [m for m in ranked if "sar" in get_method(m).imagery and get_method(m).kind == "model"]
    if sar:
        lines.append(f"The SAR models, given the display images as intensity, reach {defaults[sar[0]]['psnr_db']:.2f} dB at best ({sar[0]}): "
                     "they were trained on white or SAR-correlated speckle, not on a scanner's point-spread function and log compression.")
    excluded = [f"{m} ({'; '.join(problems[m])})" for m in ranked[:6] if problems[m]]
    if excluded:
        lines.append("Left out of the recommendation: " + "; ".join(excluded) + ".")
    lines.append("gCNR alone, the figure this suite once decided by, rewards any method that keeps a target's histogram apart "
                 "from its background's, blur included; the reference says how close to the tissue a method gets.")
    text = " ".join(lines)
    if "speckle2void-ultrasound" in methods:
        text += "\n\n" + _blind_spot_paragraph(mean, results)
    return text, best


def run(*, workdir: Path | None = None) -> Path:
    rois = json.loads(ROIS.read_text())
    methods = available_methods()
    simulated = simulated_part(methods)
    example = simulated.pop("example")
    scenes = images()
    results: dict[str, dict[str, dict[str, float]]] = {}
    outputs: dict[str, dict[str, np.ndarray]] = {}
    for name, (source, grey) in scenes.items():
        outputs[name] = {"input": grey, **{m: despeckled(source, m) for m in methods}}
        results[name] = {m: measure(grey, out, rois[name]) for m, out in outputs[name].items()}

    keys = ("snr", "enl", "cnr", "gcnr", "epd_roa", "brightness")
    mean = {m: {k: float(np.mean([results[n][m][k] for n in scenes])) for k in keys} for m in ["input", *methods]}
    summary, best = _summary(simulated, results, mean, methods)

    ranked = sorted(methods, key=lambda m: -simulated["defaults"][m]["psnr_db"])
    shown = ["input", *ranked[:3]]
    tuned = simulated["tuned_filters"]
    best_filter = max(tuned, key=lambda m: tuned[m]["psnr_db"]) if tuned else None
    if best_filter and best_filter not in shown:
        shown.append(best_filter)
    simulated_row = {"input": example["display"], "reference": example["reference"]}
    simulated_row.update({m: despeckle_display(example["display"], m) for m in shown[1:]})
    figure = _figure({f"simulated ({example['setting']})": simulated_row, **{n: {c: outputs[n][c] for c in shown} for n in scenes}})

    sim_header = ["method", "PSNR (dB)", "SSIM", "brightness", "lowest", "highest"]
    sim_rows = [[m, *(simulated["defaults"][m][k] for k in ("psnr_db", "ssim", "brightness", "low", "high"))] for m in ["input", *ranked]]
    tuned_rows = [[m, ", ".join(f"{k} {v}" for k, v in t["best"].items()), t["psnr_db"], t["ssim"], t["brightness"]]
                  for m, t in sorted(tuned.items(), key=lambda kv: -kv[1]["psnr_db"])]
    settings = list(simulated["settings"])
    per_setting = [[m, *(simulated["by_setting"][m][s]["psnr_db"] for s in settings)] for m in ["input", *ranked]]
    tables = [
        "### Simulated B-mode against the reference: every method at its defaults\n\n" + markdown_table(sim_header, sim_rows),
        "### Simulated B-mode: classical filters at their best setting on these images\n\n"
        + markdown_table(["filter", "best setting", "PSNR (dB)", "SSIM", "brightness"], tuned_rows),
        "### Simulated B-mode: PSNR (dB) per scanner setting\n\n" + markdown_table(["method", *settings], per_setting),
    ]
    header = ["method", "SNR", "ENL", "CNR", "gCNR", "EPD-ROA", "brightness"]
    rows = [[m, *(mean[m][k] for k in keys)] for m in ["input", *ranked]]
    tables.append("### Real images: mean over the images\n\n" + markdown_table(header, rows))
    for name in scenes:
        rows = [[m, *(results[name][m][k] for k in keys)] for m in ["input", *ranked]]
        tables.append(f"### {name}: {rois[name]['what']}\n\n" + markdown_table(header, rows))
    return write_results(SUITE, summary=summary, tables=tables, figures=[figure],
                         data={"rois": str(ROIS.relative_to(ROIS.parents[2])), "simulated": simulated, "results": results, "mean": mean,
                               "most_promising": best})
