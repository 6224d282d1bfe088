"""Peers side by side: OTB's Despeckle and the published MERLIN and SAR2SAR weights.

What GIS and SAR users run today, on the same inputs as this engine's methods:

- ``otbcli_Despeckle`` (Debian ``otb-bin``), Lee 7 × 7, 1 look, through GeoTIFF files;
- MERLIN (Dalsasso et al. 2021; TerraSAR-X spotlight and stripmap weights) and SAR2SAR
  (Dalsasso et al. 2021) from the PyPI package ``deepdespeckling``, run in their own virtual
  environment (``make peers-venv``: the package pins its own torch and needs GDAL's Python
  bindings) through ``benchmarks/peers/run_deepdespeckling.py``.

Two inputs: the real 1-look Sentinel-1 pairs (amplitude PSNR/SSIM against the multitemporal
reference, mean of ratio; MERLIN needs complex data, so only SAR2SAR runs there), and the
TerraSAR-X-type SLC crop, the data MERLIN was made for (no reference: ENL of homogeneous boxes,
ratio mean/std, M-index, EPD-ROA, as in ``sar-real``). The MERLIN output published with the
sample data is compared with our rerun of the same weights.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

import engine
import engine.slc
from benchmarks._quality import available_methods, data_folder, despeckle_intensity
from benchmarks._report import markdown_table, write_results
from benchmarks.filters_vs_otb import otb_command
from benchmarks.sar_real import filtered_intensity, measure, noisy_intensity
from benchmarks.sar_synthetic import SEED, conditions, real_pairs, references, score
from engine.exceptions import DespeckleWarning
from engine.metrics import homogeneous_boxes

SUITE = "peers"
REPO = Path(__file__).resolve().parents[1]
PEERS_PYTHON = Path(os.environ.get("DESPECKLE_PEERS_PYTHON", REPO / ".cache" / "peers-venv" / "bin" / "python"))
RUNNER = Path(__file__).resolve().parent / "peers" / "run_deepdespeckling.py"
# SAR2SAR normalises log-amplitude with fixed global constants, so its output depends on the
# input's scale: the pairs are also run scaled by these factors (and the output scaled back).
SAR2SAR_SCALES = (0.1, 1.0, 10.0, 100.0)


def deepdespeckling(model: str, image: np.ndarray, folder: Path) -> tuple[np.ndarray, float]:
    """Despeckled amplitude from a published model, and the wall time of its process."""
    source, target = folder / "in.npy", folder / "out.npy"
    np.save(source, image)
    started = time.perf_counter()
    subprocess.run([str(PEERS_PYTHON), str(RUNNER), model, str(source), str(target)], check=True, capture_output=True)
    return np.load(target).astype(np.float64), time.perf_counter() - started


def otb_lee(intensity: np.ndarray, folder: Path) -> np.ndarray:
    source, target = folder / "otb_in.tif", folder / "otb_out.tif"
    profile = {"driver": "GTiff", "width": intensity.shape[1], "height": intensity.shape[0], "count": 1, "dtype": "float32"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(source, "w", **profile) as f:
            f.write(intensity.astype(np.float32), 1)
        subprocess.run(otb_command(shutil.which("otbcli_Despeckle") or "otbcli_Despeckle", "lee", source, str(target)), check=True, capture_output=True)
        with rasterio.open(target) as f:
            return f.read(1).astype(np.float64)


def _ours() -> list[str]:
    return [m for m in available_methods("sar") if m in ("lee", "kuan", "frost", "lite-unet", "looks-unet", "speckle2void", "mdn-cl")]


def synthetic_part(folder: Path, have_peers: bool) -> dict[str, dict[str, dict[str, float]]]:
    """SAR2SAR (a published GRD-era model, through its amplitude interface) against the engine's
    models on the held-out references of ``sar-synthetic`` with white L-look and GRD-like speckle:
    per condition, method -> mean scores over the four references."""
    rng = np.random.default_rng(SEED + 1)
    refs = {k: v for k, v in references().items() if k.startswith("pairs/")}
    models = [m for m in _ours() if engine.get_method(m).kind == "model"]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for condition, looks, draw in conditions():
        noisy = {k: ref * draw(ref.shape, rng) for k, ref in refs.items()}
        rows: dict[str, list[dict[str, float]]] = {m: [score(ref, noisy[k], despeckle_intensity(noisy[k], m, looks=looks)) for k, ref in refs.items()]
                                                   for m in models}
        if have_peers:
            rows["SAR2SAR (deepdespeckling)"] = [score(ref, noisy[k], deepdespeckling("sar2sar", np.sqrt(noisy[k]), folder)[0] ** 2)
                                                 for k, ref in refs.items()]
        out[condition] = {m: {key: float(np.mean([r[key] for r in rs])) for key in rs[0]} for m, rs in rows.items()}
    return out


def synthetic_verdict(synthetic: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Per condition: the best engine model against SAR2SAR (target +0.5 dB for 2 looks and more)."""
    verdict = {}
    for condition, rows in synthetic.items():
        peer = rows.get("SAR2SAR (deepdespeckling)")
        ours = {m: r for m, r in rows.items() if not m.startswith("SAR2SAR")}
        if peer is None or not ours:
            continue
        best = max(ours, key=lambda m: ours[m]["psnr_db"])
        margin = ours[best]["psnr_db"] - peer["psnr_db"]
        verdict[condition] = {"best_model": best, "best_model_psnr_db": ours[best]["psnr_db"], "sar2sar_psnr_db": peer["psnr_db"],
                              "margin_db": margin, "target_margin_db": None if condition == "1-look" else 0.5,
                              "met": None if condition == "1-look" else margin >= 0.5}
    return verdict


def run(*, workdir: Path | None = None) -> Path:
    have_peers = PEERS_PYTHON.exists()
    have_otb = shutil.which("otbcli_Despeckle") is not None
    pairs_results: dict[str, dict[str, float]] = {}
    tsx_results: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        folder = Path(tmp)
        pairs = real_pairs()
        for method in _ours():
            rows = [score(c, n, despeckle_intensity(n, method)) for c, n in pairs.values()]
            pairs_results[method] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        if have_otb:
            rows = [score(c, n, otb_lee(n, folder)) for c, n in pairs.values()]
            pairs_results["OTB Lee 7×7"] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        synthetic = synthetic_part(folder, have_peers)
        sar2sar_scaled: dict[float, dict[str, float]] = {}
        if have_peers:
            for scale in SAR2SAR_SCALES:
                rows, spent = [], 0.0
                for c, n in pairs.values():
                    amplitude, s = deepdespeckling("sar2sar", np.sqrt(n) * scale, folder)
                    rows.append(score(c, n, (amplitude / scale) ** 2))
                    spent += s
                sar2sar_scaled[scale] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
                if scale == 1.0:
                    pairs_results["SAR2SAR (deepdespeckling)"] = sar2sar_scaled[scale]
                    seconds["SAR2SAR, 4 pairs"] = spent

        slc = data_folder("sar", "slc") / "tsx_crop_256_reim.npy"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DespeckleWarning)
            scene = engine.open_scene(slc)
        reim = np.load(slc).astype(np.float32)  # MERLIN's input: (rows, columns, 2)
        noisy = noisy_intensity(scene)
        boxes = homogeneous_boxes(noisy, box_px=16, count=8)
        outputs: dict[str, np.ndarray] = {m: filtered_intensity(scene, m) for m in _ours()}
        if have_otb:
            outputs["OTB Lee 7×7"] = otb_lee(noisy, folder)
        published = np.load(data_folder("sar", "slc") / "tsx_crop_256_merlin_amplitude.npy").astype(np.float64)
        outputs["MERLIN, published output"] = published**2
        agreement: dict[str, float] = {}
        if have_peers:
            for model in ("spotlight", "stripmap"):
                amplitude, seconds[f"MERLIN {model}, TSX crop"] = deepdespeckling(model, reim, folder)
                outputs[f"MERLIN {model} (deepdespeckling)"] = amplitude**2
                agreement[model] = float(np.corrcoef(amplitude.ravel(), published.ravel())[0, 1])
            amplitude, seconds["SAR2SAR, TSX crop"] = deepdespeckling("sar2sar", np.sqrt(noisy), folder)
            outputs["SAR2SAR (deepdespeckling)"] = amplitude**2
            # SAR2SAR was trained on TerraSAR-X whose speckle had been whitened: the same crop
            # decorrelated by the engine first.
            whitened = np.abs(engine.slc.decorrelate(scene).values) ** 2
            amplitude, _ = deepdespeckling("sar2sar", np.sqrt(whitened), folder)
            outputs["SAR2SAR on the decorrelated crop"] = amplitude**2
        tsx_results = {name: measure(noisy, out, boxes) for name, out in outputs.items()}

    tables = [
        "### Real Sentinel-1 pairs (amplitude PSNR, data range of the reference)\n\n"
        + markdown_table(["method", "PSNR dB", "SSIM", "ratio mean"], [[m, r["psnr_db"], r["ssim"], r["ratio_mean"]] for m, r in sorted(pairs_results.items(), key=lambda kv: -kv[1]["psnr_db"])]),
        "### TerraSAR-X-type SLC crop (no reference)\n\n"
        + markdown_table(["method", "ENL", "ratio mean", "ratio std", "M-index", "EPD-ROA"],
                         [[m, r["enl"], r["ratio_mean"], r["ratio_std"], r["m_index"], r["epd_roa"]] for m, r in tsx_results.items()]),
    ]
    verdicts = synthetic_verdict(synthetic)
    if verdicts:
        tables.insert(0, "### Synthetic speckle on the held-out references: the best engine model against SAR2SAR (target +0.5 dB from 2 looks)\n\n"
                      + markdown_table(["speckle", "best model", "PSNR dB", "SAR2SAR PSNR dB", "margin dB", "target"],
                                       [[c, v["best_model"], v["best_model_psnr_db"], v["sar2sar_psnr_db"], f"{v['margin_db']:+.2f}",
                                         "-" if v["met"] is None else ("met" if v["met"] else "not met")] for c, v in verdicts.items()]))
    for condition, rows in synthetic.items():
        tables.append(f"### Synthetic {condition} speckle, held-out references\n\n"
                      + markdown_table(["method", "PSNR dB", "SSIM", "ratio mean"],
                                       [[m, r["psnr_db"], r["ssim"], r["ratio_mean"]] for m, r in sorted(rows.items(), key=lambda kv: -kv[1]["psnr_db"])]))
    if sar2sar_scaled:
        tables.insert(1, "### SAR2SAR against the scale of its input (pairs, amplitude times the factor, output divided by it)\n\n"
                      + markdown_table(["input x", "PSNR dB", "SSIM", "ratio mean"], [[k, r["psnr_db"], r["ssim"], r["ratio_mean"]] for k, r in sar2sar_scaled.items()]))
    if seconds:
        tables.append("### Wall time of the peers' processes (start-up and model loading included)\n\n" + markdown_table(["run", "seconds"], [[k, v] for k, v in seconds.items()]))
    notes = []
    if not have_peers:
        notes.append(f"MERLIN and SAR2SAR were not run: no peers environment at {PEERS_PYTHON} (`make peers-venv`).")
    if not have_otb:
        notes.append("OTB was not run: otbcli_Despeckle is not installed (`make system-deps`).")
    if agreement:
        notes.append("Our rerun of MERLIN against the output published with the sample data: correlation "
                     + ", ".join(f"{k} {v:.3f}" for k, v in agreement.items())
                     + " (the published output's settings are not documented; neither rerun reproduces it exactly).")
    summary = (
        "The published deep despecklers, run here with their own code and weights, beside this engine's methods. "
        "SAR2SAR and MERLIN were trained on TerraSAR-X; the Sentinel-1 pairs are outside their training domain, the "
        "TerraSAR-X-type crop is inside it. OTB's Lee equals the engine's `lee` away from the border (see filters-vs-otb). "
        "SAR2SAR runs through the package's documented amplitude interface. On synthetic multi-look speckle it is strongest at "
        "4 looks and weaker at 2, 8 and 16; on the real 1-look data it despeckles weakly. "
        "Measured causes: it maps log-amplitude to its input range with fixed global constants, so its output changes "
        "with the input's scale (second table: no scale of the pairs brings it near the filters), and on the "
        "TerraSAR-X-type crop it expects whitened speckle (it was trained on spectrally equalised data): decorrelating "
        "the crop first brings its ratio std from above 1 (artefacts) to about 0.8 but its ENL stays low. These are "
        "the package's published weights as the package runs them, not a tuned result, and they do not reproduce the "
        "paper's figures here.\n\n"
        + " ".join(notes)
    )
    data: dict[str, Any] = {"synthetic": synthetic, "synthetic_verdict": verdicts, "pairs": pairs_results, "sar2sar_input_scale": {str(k): v for k, v in sar2sar_scaled.items()}, "tsx_crop": tsx_results, "seconds": seconds, "merlin_agreement": agreement, "peers_python": str(PEERS_PYTHON) if have_peers else None}
    return write_results(SUITE, summary=summary, tables=tables, data=data)
