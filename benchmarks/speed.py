"""Speed of every method, file to file, against OTB's Lee 7 × 7 on the same file in the same run.

One 2048 × 2048 float32 GeoTIFF (the generated benchmark scene). Each available method runs with
its defaults, in this process, as ``despeckle run`` would (open, despeckle, write, the method's
preferred chunks); classical filters three times (median), models once after a warm-up on a
small scene. OTB's ``otbcli_Despeckle`` Lee 7 × 7 runs three times on the same file; its
start-up (measured on a 64-pixel scene) is subtracted so both columns are streaming speed. The
last column is each method's speed as a multiple of OTB Lee's: the figure that survives these
noisy machines. GPU rows appear when the suite runs where CUDA is available. The engine's
overhead against a model's raw forward pass is the ``models`` suite's subject.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._quality import available_methods
from benchmarks._report import markdown_table, pyplot, save_figure, write_results
from benchmarks._scenes import benchmark_scene
from benchmarks._throughput import command_seconds, engine_file_to_file_s, median_seconds
from benchmarks.filters_vs_otb import otb_command
from engine.methods import get_method

SUITE = "speed"
SIZE_PX = 2048


def _otb_lee_s(otb: str, source: Path, folder: Path, repeats: int) -> float:
    def once(path: Path) -> float:
        return command_seconds(otb_command(otb, "lee", path, str(folder / "otb.tif")))

    startup = statistics.median(once(benchmark_scene(folder, 64)) for _ in range(repeats))
    return statistics.median(once(source) for _ in range(repeats)) - startup


def _devices() -> list[str]:
    try:
        import torch

        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    except ImportError:
        return ["cpu"]


def _plot(rows: list[dict[str, Any]]) -> str:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(8, 4))
    names = [f"{r['method']} ({r['device']})" if r["device"] != "cpu" else r["method"] for r in rows]
    ax.barh(names, [r["mpix_s"] for r in rows], color=["tab:blue" if r["kind"] == "filter" else "tab:orange" for r in rows])
    ax.set_xscale("log")
    ax.set_xlabel("megapixels per second, file to file (log scale)")
    ax.invert_yaxis()
    fig.tight_layout()
    return save_figure(fig, SUITE, dpi=110)


def run(*, size_px: int = SIZE_PX, repeats: int = 3, workdir: Path | None = None) -> Path:
    otb = shutil.which("otbcli_Despeckle")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        folder = Path(tmp)
        source, small = benchmark_scene(folder, size_px), benchmark_scene(folder, 256)
        megapixels = size_px * size_px / 1e6
        otb_s = _otb_lee_s(otb, source, folder, repeats) if otb else None
        rows: list[dict[str, Any]] = []
        for method in available_methods():
            kind = get_method(method).kind
            for device in _devices() if kind == "model" else ["cpu"]:
                params = {"device": device} if kind == "model" else {}
                target = folder / f"{method}-{device}.tif"
                if kind == "model":
                    engine_file_to_file_s(method, small, target, params)  # loads the weights, warms the kernels
                    seconds = engine_file_to_file_s(method, source, target, params)
                else:
                    seconds = median_seconds(lambda m=method, p=params, t=target: engine_file_to_file_s(m, source, t, p), repeats)
                rows.append({"method": method, "kind": kind, "device": device, "seconds": seconds, "mpix_s": megapixels / seconds,
                             "times_otb_lee": (otb_s / seconds) if otb_s else None})
    rows.sort(key=lambda r: -r["mpix_s"])
    figure = _plot(rows)
    table = markdown_table(["method", "kind", "device", "seconds", "MPix/s", "× OTB Lee"],
                           [[r["method"], r["kind"], r["device"], r["seconds"], r["mpix_s"], r["times_otb_lee"] if r["times_otb_lee"] else "–"] for r in rows])
    otb_line = f"OTB Lee 7 × 7 streamed {megapixels / otb_s:.2f} MPix/s on the same file." if otb_s else "OTB was not installed: no reference column."
    summary = f"Every available method on a {size_px} × {size_px} float32 GeoTIFF, file to file. {otb_line}"
    return write_results(SUITE, summary=summary, tables=[table], figures=[figure],
                         data={"size_px": size_px, "otb_lee_streaming_s": otb_s, "rows": rows})
