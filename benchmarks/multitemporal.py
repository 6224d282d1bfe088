"""Multi-temporal despeckling: stack methods against single-date methods, and memory against scene size.

Quality: synthetic stacks of N = 4, 8 and 16 dates built from the clean references of
``sar-synthetic`` (256 x 256 crops of the pseudo-clean Sentinel-1 averages in ``sar/clean``, which
the models were trained on, and the four clean references of ``sar/pairs``, which they never saw:
the verdict uses these). Each date is the reference times independent L-look Gamma speckle; two
changes are drawn in: a bright field appearing (x6 intensity from date N/2 on) and a flooded area
(smooth, dark water from date N/4 to 3N/4). Every date is scored against its own reference in
amplitude (PSNR, data range = the clean amplitude's max - min), outside the changed areas and
inside them, and by the radiometric bias inside them (mean estimate / mean reference, dB).
Compared: single-date filters and models (each date alone, told the looks), Quegan's filter with
two spatial estimators, and the ratio method (with the default model, and filters only).

Memory: ``despeckle stack`` (quegan, boxcar) on 16 generated dates at 2048^2, 4096^2 and 8192^2,
each run in a fresh process whose peak RSS is read from the kernel; and its wall time as a ratio
to 16 single-date ``despeckle run --method boxcar`` runs in the same script.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import engine
from benchmarks._quality import display
from benchmarks._report import markdown_table, pyplot, save_figure, write_results
from benchmarks.memory import _peak_rss_mib
from benchmarks.sar_synthetic import references
from engine.exceptions import DespeckleWarning
from engine.synthetic import speckle

SUITE = "multitemporal"
DATES = (4, 8, 16)
LOOKS = 1.0
SEED = 20261129
MEMORY_DATES = 16
MEMORY_SIZES = (2048, 4096, 8192)
HELD_OUT = "pairs/"


def synthetic_stack(clean: np.ndarray, dates: int, looks: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(references, changed mask, noisy) stacks of ``dates`` dates, (dates, h, w) each."""
    height, width = clean.shape
    refs = np.repeat(clean[None], dates, axis=0).astype(np.float64)
    changed = np.zeros(refs.shape, dtype=bool)
    field = (slice(int(0.15 * height), int(0.4 * height)), slice(int(0.55 * width), int(0.85 * width)))
    flood = (slice(int(0.6 * height), int(0.9 * height)), slice(int(0.1 * width), int(0.45 * width)))
    for t in range(dates // 2, dates):
        refs[t][field] *= 6.0
        changed[t][field] = True
    for t in range(dates // 4, max(dates // 4 + 1, 3 * dates // 4)):
        refs[t][flood] = 0.05 * float(np.median(clean))
        changed[t][flood] = True
    noisy = np.stack([refs[t] * speckle(clean.shape, looks, rng, dtype=np.float64) for t in range(dates)])
    return refs, changed, noisy.astype(np.float32)


def scores(clean: np.ndarray, refs: np.ndarray, changed: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """Amplitude PSNR outside and inside the changed areas (data range of the unchanged
    reference), averaged over dates, and the bias inside them (dB)."""
    data_range = float(np.sqrt(clean).max() - np.sqrt(clean).min())
    outside, inside, bias = [], [], []
    for t in range(refs.shape[0]):
        reference, found = np.sqrt(refs[t]), np.sqrt(np.maximum(estimate[t], 0.0))
        for mask, into in ((~changed[t], outside), (changed[t], inside)):
            if mask.any():
                into.append(10.0 * np.log10(data_range**2 / np.mean((reference[mask] - found[mask]) ** 2)))
        if changed[t].any():
            bias.append(10.0 * np.log10(np.mean(estimate[t][changed[t]]) / np.mean(refs[t][changed[t]])))
    return {"psnr_outside_db": float(np.mean(outside)), "psnr_inside_db": float(np.mean(inside)), "bias_inside_db": float(np.mean(bias))}


def _single(method: str, **parameters: Any) -> Callable[[np.ndarray, float], np.ndarray]:
    def run(noisy: np.ndarray, looks: float) -> np.ndarray:
        return np.stack([engine.despeckle(noisy[t], method, domain="intensity", looks=looks, **parameters).values for t in range(noisy.shape[0])])

    return run


def _stack(method: str, **parameters: Any) -> Callable[[np.ndarray, float], np.ndarray]:
    def run(noisy: np.ndarray, looks: float) -> np.ndarray:
        stack = xr.DataArray(noisy, dims=("time", "y", "x"), attrs={"domain": "intensity", "looks": looks}).chunk({"y": 128, "x": 128})
        return engine.despeckle_stack(stack, method, **parameters).values

    return run


def methods() -> dict[str, tuple[str, Callable[[np.ndarray, float], np.ndarray]]]:
    """label -> (kind, run). Models only where their weights and PyTorch are here."""
    found: dict[str, tuple[str, Callable[[np.ndarray, float], np.ndarray]]] = {
        "lee 7x7 (each date)": ("single-date filter", _single("lee")),
        "refined-lee (each date)": ("single-date filter", _single("refined-lee")),
        "lee-sigma (each date)": ("single-date filter", _single("lee-sigma")),
    }
    for model in ("looks-unet", "lite-unet"):
        if engine.get_method(model).unavailable_reason is None:
            found[f"{model} (each date)"] = ("single-date model", _single(model))
    found["quegan, boxcar 7x7"] = ("stack", _stack("quegan", spatial="boxcar"))
    found["quegan, refined-lee"] = ("stack", _stack("quegan", spatial="refined-lee"))
    found["ratio, lee (filters only)"] = ("stack", _stack("ratio", ratio_method="lee", super_image_method="lee"))
    if engine.get_method("looks-unet").unavailable_reason is None:
        found["ratio, looks-unet (default)"] = ("stack", _stack("ratio"))
    return found


def quality() -> tuple[dict[str, Any], dict[str, Any]]:
    """{N: {method: {set: mean scores}}} and images for the figure."""
    refs = references()
    table: dict[str, Any] = {}
    panel: dict[str, Any] = {}
    for dates in DATES:
        rng = np.random.default_rng(SEED + dates)
        per_method: dict[str, dict[str, list[dict[str, float]]]] = {}
        for name, clean in refs.items():
            truth, changed, noisy = synthetic_stack(clean, dates, LOOKS, rng)
            held = "held-out" if name.startswith(HELD_OUT) else "trained-on"
            per_method.setdefault("noisy", {}).setdefault(held, []).append(scores(clean, truth, changed, noisy))
            for label, (_, run) in methods().items():
                estimate = run(noisy, LOOKS)
                per_method.setdefault(label, {}).setdefault(held, []).append(scores(clean, truth, changed, estimate))
                if dates == 8 and name == f"{HELD_OUT}marais2_10_0":
                    panel[label] = estimate[dates - 1]
            if dates == 8 and name == f"{HELD_OUT}marais2_10_0":
                panel["clean (last date)"], panel["noisy (last date)"] = truth[dates - 1], noisy[dates - 1]
        table[str(dates)] = {
            label: {held: {k: float(np.mean([s[k] for s in rows])) for k in rows[0]} for held, rows in sets.items()}
            for label, sets in per_method.items()
        }
    return table, panel


def _write_dates(folder: Path, size: int, dates: int) -> list[Path]:
    """``dates`` GeoTIFFs of one generated scene (same reflectivity, independent 1-look speckle)."""
    paths = [folder / f"date_{size}_2026{1 + k // 28:02d}{1 + k % 28:02d}.tif" for k in range(dates)]
    if all(p.exists() for p in paths):
        return paths
    code = (
        "import numpy as np, engine\n"
        "from engine.synthetic import synthetic_scene, speckle\n"
        f"clean = synthetic_scene(({size}, {size}), seed={SEED}, clean=True, chunk_px=1024)\n"
        f"for k, path in enumerate({[str(p) for p in paths]!r}):\n"
        "    noisy = clean.copy(data=clean.data.map_blocks(lambda b, block_info=None, k=k: (b * speckle(b.shape, 1.0, "
        "np.random.default_rng([k, *block_info[0]['chunk-location']]))).astype('float32'), dtype='float32'))\n"
        "    engine.write_scene(noisy, path, compress='none')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    return paths


def memory(folder: Path) -> dict[str, Any]:
    script = Path(sys.executable).parent / "despeckle"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]
    results: dict[str, Any] = {}
    for size in MEMORY_SIZES:
        paths = _write_dates(folder, size, MEMORY_DATES)
        out = folder / f"stack_{size}"
        peak, seconds = _peak_rss_mib([*cli, "stack", *map(str, paths), "-o", str(out), "--overwrite", "--progress", "none"])
        results[str(size)] = {"peak_rss_mib": peak, "wall_s": seconds, "input_mib": sum(p.stat().st_size for p in paths) / 2**20}
    size = MEMORY_SIZES[1]
    paths = _write_dates(folder, size, MEMORY_DATES)
    started = time.perf_counter()
    for path in paths:  # the reference: each date alone through the same spatial filter
        subprocess.run([*cli, "run", str(path), str(folder / "single.tif"), "--method", "boxcar", "--overwrite", "--progress", "none"], check=True)
    single = time.perf_counter() - started
    results["speed"] = {"size": size, "stack_s": results[str(size)]["wall_s"], "single_dates_s": single,
                        "ratio": results[str(size)]["wall_s"] / single}
    return results


def _figure(table: dict[str, Any], panel: dict[str, Any]) -> str:
    plt = pyplot()
    fig = plt.figure(figsize=(15, 8))
    grid = fig.add_gridspec(2, 6)
    ax = fig.add_subplot(grid[0, :3])
    labels = [m for m in table[str(DATES[0])] if m != "noisy"]
    for label in labels:
        style = "-o" if "quegan" in label or "ratio" in label else "--s"
        ax.plot(DATES, [table[str(n)][label]["held-out"]["psnr_outside_db"] for n in DATES], style, label=label)
    ax.set_xlabel("dates in the stack")
    ax.set_ylabel("PSNR outside changes (dB, held-out)")
    ax.set_xticks(DATES)
    ax.legend(fontsize=7)
    ax2 = fig.add_subplot(grid[0, 3:])
    n8 = table["8"]
    ax2.barh(labels, [n8[m]["held-out"]["psnr_inside_db"] for m in labels])
    ax2.set_xlabel("PSNR inside the changed areas (dB, 8 dates, held-out)")
    ax2.tick_params(axis="y", labelsize=7)
    shown = ["clean (last date)", "noisy (last date)", *(m for m in ("looks-unet (each date)", "refined-lee (each date)") if m in panel),
             "quegan, boxcar 7x7", *(m for m in ("ratio, looks-unet (default)", "ratio, lee (filters only)") if m in panel)][:6]
    for i, label in enumerate(shown):
        axis = fig.add_subplot(grid[1, i])
        axis.imshow(display(np.sqrt(np.maximum(panel[label], 0))), cmap="gray")
        axis.set_title(label, fontsize=8)
        axis.axis("off")
    fig.tight_layout()
    return save_figure(fig, SUITE)


def run(*, workdir: Path | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DespeckleWarning)
        table, panel = quality()
    folder = Path(workdir or tempfile.mkdtemp(prefix="despeckle-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    mem = memory(folder)
    rows = []
    for dates in DATES:
        for label, sets in table[str(dates)].items():
            held, trained = sets["held-out"], sets["trained-on"]
            rows.append([dates, label, held["psnr_outside_db"], held["psnr_inside_db"], held["bias_inside_db"],
                         trained["psnr_outside_db"], trained["psnr_inside_db"]])
    quality_table = markdown_table(
        ["dates", "method", "PSNR outside (held-out)", "PSNR inside changes (held-out)", "bias inside dB (held-out)",
         "PSNR outside (trained-on)", "PSNR inside (trained-on)"], rows)
    memory_table = markdown_table(
        ["16 dates of", "input MiB", "peak RSS MiB", "wall s"],
        [[f"{s} x {s}", f"{mem[str(s)]['input_mib']:.0f}", f"{mem[str(s)]['peak_rss_mib']:.0f}", f"{mem[str(s)]['wall_s']:.1f}"] for s in MEMORY_SIZES])
    n8 = table["8"]
    singles = {m: v["held-out"] for m, v in n8.items() if "(each date)" in m}
    stacks = {m: v["held-out"] for m, v in n8.items() if "quegan" in m or "ratio" in m}
    best_single = max(singles, key=lambda m: singles[m]["psnr_outside_db"])
    best_stack = max(stacks, key=lambda m: stacks[m]["psnr_outside_db"])
    gain_out = stacks[best_stack]["psnr_outside_db"] - singles[best_single]["psnr_outside_db"]
    gain_in = stacks[best_stack]["psnr_inside_db"] - singles[best_single]["psnr_inside_db"]
    growth = mem[str(MEMORY_SIZES[-1])]["peak_rss_mib"] / mem[str(MEMORY_SIZES[0])]["peak_rss_mib"] - 1.0
    summary = (
        f"On 8-date stacks at L = {LOOKS:g} (held-out references), the best stack method, **{best_stack}**, scores "
        f"**{gain_out:+.2f} dB** PSNR outside the changed areas and **{gain_in:+.2f} dB** inside them against the best "
        f"single-date method, **{best_single}** (target: at least +3 dB outside, no loss inside). Quegan's filter keeps "
        "every change's radiometry but, with a boxcar or refined-Lee local mean, gives about the looks of the dates "
        "averaged, which a single-date model already beats at 8 dates; the ratio method adds the model's spatial "
        "regularisation to the temporal gain.\n\n"
        f"Memory: `despeckle stack` (quegan, default 1024 px chunks) on {MEMORY_DATES} dates peaks at "
        f"{mem[str(MEMORY_SIZES[0])]['peak_rss_mib']:.0f} MiB at {MEMORY_SIZES[0]}^2 and "
        f"{mem[str(MEMORY_SIZES[-1])]['peak_rss_mib']:.0f} MiB at {MEMORY_SIZES[-1]}^2 ({growth:+.0%} for "
        f"{(MEMORY_SIZES[-1] // MEMORY_SIZES[0]) ** 2}x the pixels; target: independent of the scene size). Each date's "
        "spatial filter reads its blocks with their halos straight from the date's file, and a block's dates meet only "
        "where they are combined, so the peak follows chunk x dates x workers. "
        f"Speed: {MEMORY_DATES} dates of {mem['speed']['size']}^2 through quegan take {mem['speed']['ratio']:.2f}x the time "
        "of running the boxcar filter on each date alone (the same spatial work, plus one pass over the stack).\n\n"
        "Real data: no real multi-date stack is available here (`../shared/data` holds a single Sentinel-1 GRD date and "
        "single SLC crops), so the methods are measured on synthetic stacks only; a real Sentinel-1 series is the "
        "evaluation still to make."
    )
    figure = _figure(table, panel)
    return write_results(SUITE, summary=summary, tables=[quality_table, memory_table], figures=[figure],
                         data={"looks": LOOKS, "quality": table, "memory": mem, "best_stack": best_stack, "best_single": best_single,
                               "gain_outside_db": gain_out, "gain_inside_db": gain_in})
