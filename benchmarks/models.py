"""Deep models: size, arithmetic, peak memory, CPU throughput and the engine's overhead.

Per model: trainable parameters; multiply-accumulates per output pixel (convolutions and matrix
products, counted by ``torch.utils.flop_counter`` on a 256 x 256 tile; elementwise operations
are not counted); the peak memory of one fp32 forward pass per input pixel (resident-set growth
of a fresh process running a 1024 x 1024 tile through the network as the runtime loads it: the
figure the runtime sizes its windows by, checked here against the value the model declares); and
two throughputs on the same 1024 x 1024 scene (one chunk for every model):

- raw forward: the network alone on the scene already in memory as normalised log intensity,
  cut into the non-overlapping pieces the engine's windows output, in batches of the engine's
  default batch size: the ceiling for any tiled runner;
- engine: GeoTIFF in, GeoTIFF out with default settings (scene-median pass, the model's
  preferred chunks and their halos, windows, stitching, writing), as ``despeckle run`` does.

Their ratio is the engine's efficiency (target 0.8). It is bounded by the halo: a window that
does not end at the scene's edge recomputes a margin of the model's reach, so the ratio cannot
exceed the output pixels over the pixels the windows hold (the "halo bound"). On this one-chunk
scene windows stop at the scene's edges; a chunk in the middle of a large scene needs the halo on
every side, and the "interior bound" column gives the same share for a chunk of the model's
preferred size there. Raw and engine runs alternate; medians are reported. GPU figures appear
only when the suite ran on a machine with a CUDA device.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import engine
from benchmarks._report import markdown_table, pyplot, save_figure, write_results
from benchmarks._scenes import benchmark_scene
from benchmarks._throughput import engine_file_to_file_s
from engine.models import (
    DEFAULT_BATCH,
    SPECS,
    Span,
    Weights,
    autocast_dtype,
    declared_halo,
    load_card,
    load_network,
    memory_budget,
    plan_windows,
    select_device,
)

SUITE = "models"
# The peak is Linux's high-water mark of the resident set (VmHWM), reset just before the forward
# pass (writing 5 to /proc/self/clear_refs): the process's lifetime maximum (ru_maxrss) can be
# set earlier, by start-up or loading, and once read 0 for a model whose forward stayed below it.
_MEMORY_PROBE = """
import json, sys, torch
from pathlib import Path
from engine.models import SPECS, Weights
from engine.models import load_card, load_network

def status_kib(field):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field + ":"))
    return int(line.split()[1])

spec, size = SPECS[sys.argv[1]], int(sys.argv[2])
card = load_card(spec.name) or {}
network = load_network(spec, Weights.shipped(spec.name), torch.device("cpu"), card.get("architecture_config"))
x = torch.zeros(1, 1, size, size)
Path("/proc/self/clear_refs").write_text("5")
before = status_kib("VmRSS")
with torch.inference_mode():
    network.finish(network.body(x), x, 1.0)
after = status_kib("VmHWM")
print(json.dumps({"bytes_per_px": (after - before) * 1024 / size / size}))
"""


def _macs_per_px(network: Any) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 1, 256, 256)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        network.finish(network.body(x), x, 1.0)
    return counter.get_total_flops() / 2 / x.numel()


def _peak_bytes_per_px(name: str, size: int = 1024) -> float:
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, name, str(size)], check=True, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    return float(json.loads(done.stdout.strip().splitlines()[-1])["bytes_per_px"])


def _raw_forward_s(network: Any, log_image: np.ndarray, rows: Sequence[Span], cols: Sequence[Span], batch: int, device: Any) -> float:
    """The network over the scene cut into the windows' cores (no overlap), ``batch`` at a time."""
    import torch

    tiles = [log_image[r.core_start : r.core_start + r.core_length, c.core_start : c.core_start + c.core_length]
             for r in rows for c in cols]
    started = time.perf_counter()
    with torch.inference_mode():
        for shape in {t.shape for t in tiles}:
            same = [t for t in tiles if t.shape == shape]
            for i in range(0, len(same), batch):
                inputs = torch.from_numpy(np.stack(same[i : i + batch])[:, None]).to(device)
                network.finish(network.body(inputs), inputs, 1.0).float().cpu()
    return time.perf_counter() - started


def _output_share(rows: Sequence[Span], cols: Sequence[Span]) -> float:
    """Output pixels over the pixels the windows hold: what halos leave of a tiled runner's speed."""
    output = sum(r.core_length for r in rows) * sum(c.core_length for c in cols)
    return output / (sum(r.padded_length for r in rows) * sum(c.padded_length for c in cols))


def _measure(name: str, source: Path, folder: Path, repeats: int, device_name: str, precision: str) -> dict[str, Any]:
    import rasterio

    spec, card = SPECS[name], load_card(name)
    method = engine.get_method(name)
    device = select_device(device_name)
    network = load_network(spec, Weights.shipped(name), device, card.get("architecture_config") if card else None)
    halo = declared_halo(spec, card)
    chunk = method.preferred_chunk_px or engine.get_option("chunk_size_px")
    batch = DEFAULT_BATCH[device.type]
    dtype = autocast_dtype(precision, device)
    bytes_per_px = spec.activation_bytes_per_px // (2 if dtype is not None else 1)
    with rasterio.open(source) as f:
        image = f.read(1)
    stride = spec.stride_px
    h, w = image.shape[0] // stride * stride, image.shape[1] // stride * stride
    budget = memory_budget(device)
    # The windows the runtime chooses for this one-chunk scene (in scene coordinates), so that raw
    # and engine run the network on the same pieces; and those of a preferred-size chunk in the
    # middle of a large scene.
    rows, cols = plan_windows((h + 2 * halo, w + 2 * halo), halo, stride, outside=(halo,) * 4,
                              bytes_per_px=bytes_per_px, batch=batch, budget=budget)
    rows, cols = ([Span(s.core_start - halo, s.core_length, s.window_start - halo, s.window_length, s.padded_length) for s in spans]
                  for spans in (rows, cols))
    interior = plan_windows((chunk + 2 * halo,) * 2, halo, stride, bytes_per_px=bytes_per_px, batch=batch, budget=budget)
    log_image = np.log(np.maximum(image[:h, :w], 1e-30) / np.median(image)).astype(np.float32)
    params = {"device": device_name, "precision": precision}

    import torch

    def raw() -> float:
        with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
            return _raw_forward_s(network, log_image, rows, cols, batch, device)

    raw(), engine_file_to_file_s(name, source, folder / f"{name}.tif", params)  # warm-up
    raw_times, engine_times = [], []
    for _ in range(repeats):
        raw_times.append(raw())
        engine_times.append(engine_file_to_file_s(name, source, folder / f"{name}.tif", params))
    megapixels_raw, megapixels = h * w / 1e6, image.size / 1e6
    raw_mpix_s = megapixels_raw / statistics.median(raw_times)
    engine_mpix_s = megapixels / statistics.median(engine_times)
    return {
        "device": str(device), "precision": "fp32" if dtype is None else str(dtype).removeprefix("torch."),
        "halo_px": halo, "chunk_px": chunk, "batch": batch,
        "windows": [f"{r.padded_length}x{c.padded_length}" for r in rows for c in cols],
        "halo_bound": _output_share(rows, cols), "interior_bound": _output_share(*interior),
        "raw_forward_mpix_s": raw_mpix_s, "engine_mpix_s": engine_mpix_s, "ratio": engine_mpix_s / raw_mpix_s,
        "raw_runs_s": raw_times, "engine_runs_s": engine_times,
    }


def run(*, size_px: int = 1024, repeats: int = 3, workdir: Path | None = None) -> Path:
    import torch

    folder = Path(workdir or tempfile.mkdtemp(prefix="despeckle-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = benchmark_scene(folder, size_px)
    devices = [("cpu", "fp32")] + ([("cuda", "fp32"), ("cuda", "bf16")] if torch.cuda.is_available() else [])
    results: dict[str, Any] = {}
    rows, unavailable = [], []
    for name, spec in SPECS.items():
        reason = engine.get_method(name).availability()
        if reason:
            unavailable.append(f"{name}: {reason}")
            continue
        network = spec.build((load_card(name) or {}).get("architecture_config")).eval()
        measured_bytes = _peak_bytes_per_px(name)
        r = results[name] = {
            "parameters": sum(p.numel() for p in network.parameters()),
            "mmac_per_px": _macs_per_px(network) / 1e6,
            "peak_bytes_per_px_measured": measured_bytes,
            "peak_bytes_per_px_declared": spec.activation_bytes_per_px,
            "runs": {f"{d}/{p}": _measure(name, source, folder, repeats, d, p) for d, p in devices},
        }
        for key, m in r["runs"].items():
            rows.append([name, f"{r['parameters']:,}", r["mmac_per_px"], f"{measured_bytes:.0f} ({spec.activation_bytes_per_px})",
                         key, _windows(m["windows"]), m["halo_px"], m["raw_forward_mpix_s"], m["engine_mpix_s"], m["ratio"],
                         m["halo_bound"], m["interior_bound"]])

    figure = _plot(results)
    ratios = ", ".join(f"{n} {r['runs']['cpu/fp32']['ratio']:.2f}" for n, r in results.items())
    summary = (
        f"{size_px} x {size_px} float32 GeoTIFF, default settings, median of {repeats} alternating runs. Engine file-to-file "
        f"throughput as a fraction of the raw batched forward pass on the CPU: {ratios} (target 0.8). The halo bound "
        "column is the share of the pixels the network runs on that are output: what a tiled runner reaches if the "
        "network's speed per pixel does not depend on the window size; the rest is reading, the scene-median pass, "
        "normalisation and writing. Windows stop at the scene's edges, so on this one-chunk scene only the seams between "
        "windows cost a halo; the interior bound is the same share for a chunk of the model's preferred size in the middle "
        "of a large scene, where every side needs its halo."
        + ("" if torch.cuda.is_available() else " No GPU was available to this run: GPU figures are absent, not estimated.")
    )
    if unavailable:
        summary += " Not measured (no weights installed): " + "; ".join(unavailable) + "."
    table = markdown_table(
        ["model", "parameters", "MMAC/px", "peak B/px measured (declared)", "device/precision", "windows px", "halo px",
         "raw forward MPix/s", "engine MPix/s", "engine / raw", "halo bound", "interior bound"],
        rows,
    )
    return write_results(SUITE, summary=summary, tables=[table], figures=[figure] if figure else [],
                         data={"size_px": size_px, "repeats": repeats, "results": results, "unavailable": unavailable})


def _windows(shapes: list[str]) -> str:
    """``2 x 1024x640``: how many windows of which padded shape."""
    return ", ".join(f"{shapes.count(shape)} x {shape}" for shape in dict.fromkeys(shapes))


def _plot(results: dict[str, Any]) -> str | None:
    if not results:
        return None
    plt = pyplot()

    keys = [(n, k) for n, r in results.items() for k in r["runs"]]
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    raw = [results[n]["runs"][k]["raw_forward_mpix_s"] for n, k in keys]
    eng = [results[n]["runs"][k]["engine_mpix_s"] for n, k in keys]
    ax.bar(x - 0.2, raw, 0.4, label="raw batched forward (in memory)")
    ax.bar(x + 0.2, eng, 0.4, label="engine, GeoTIFF to GeoTIFF")
    ax.set_xticks(x, [f"{n}\n{k}" for n, k in keys])
    ax.set_yscale("log")
    ax.set_ylabel("MPix/s (log scale)")
    ax.set_title("Deep models: throughput")
    ax.legend()
    return save_figure(fig, SUITE)
