"""Classical filter throughput, file to file, against OTB's otbcli_Despeckle in the same run.

Both tools read the same float32 tiled GeoTIFF and write float32 with the same filter and window
(7 x 7: OTB radius 3), uncompressed and, for Lee, DEFLATE-compressed and tiled too. Runs
alternate between the tools; medians are reported. Every run writes a new file (the previous
output is removed before the clock starts: replacing a 1 GiB file costs the file system a
second, for either tool). Three comparisons:

- streaming, 4096 x 4096: the engine's ``despeckle_file`` in this process (warmed up) against
  OTB's wall time minus its start-up: the rate at which each tool turns input pixels into output
  pixels;
- end to end, 16384 x 16384 (1 GiB of float32): wall time of each command line, start-up
  included, as a user or QGIS runs it;
- start-up: each command on a 64 x 64 scene, and the engine's commands that compute nothing
  (``--version``, ``--help``, ``methods --json``, which QGIS calls to build its dialogs).

The outputs are checked to agree, away from the border where OTB repeats edge pixels.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from benchmarks._report import markdown_table, pyplot, save_figure, write_results
from benchmarks._scenes import benchmark_scene
from benchmarks._throughput import command_seconds, engine_file_to_file_s, median_seconds

SUITE = "filters-vs-otb"
FILTERS = {  # engine name: (OTB name, OTB extra parameters, engine extra parameters)
    "lee": ("lee", ["-filter.lee.nblooks", "1"], ["--looks", "1"]),
    "frost": ("frost", ["-filter.frost.deramp", "2"], ["--damping", "2"]),
    "gamma-map": ("gammamap", ["-filter.gammamap.nblooks", "1"], ["--looks", "1"]),
    "kuan": ("kuan", ["-filter.kuan.nblooks", "1"], ["--looks", "1"]),
}
WINDOW_PX = 7
DEFLATE_OTB = "?&gdal:co:COMPRESS=DEFLATE&gdal:co:PREDICTOR=3&gdal:co:TILED=YES&gdal:co:BLOCKXSIZE=512&gdal:co:BLOCKYSIZE=512"


def _despeckle_command() -> list[str]:
    script = Path(sys.executable).parent / "despeckle"
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]


def otb_command(otb: str, name: str, source: Path, target: str) -> list[str]:
    otb_name, otb_params, _ = FILTERS[name]
    return [otb, "-in", str(source), "-out", target, "float", "-filter", otb_name, f"-filter.{otb_name}.rad", str(WINDOW_PX // 2), *otb_params]


def _engine_command(name: str, source: Path, target: Path, compress: str, progress: str = "none") -> list[str]:
    return [*_despeckle_command(), "run", str(source), str(target), "--method", name, "--window-size-px", str(WINDOW_PX),
            *FILTERS[name][2], "--compress", compress, "--progress", progress, "--domain", "intensity"]


def _fresh(command: list[str], target: Path) -> float:
    """Seconds of one run of ``command`` writing ``target``, which is removed first (untimed)."""
    target.unlink(missing_ok=True)
    return command_seconds(command)


def _max_interior_difference(a: Path, b: Path) -> float:
    with rasterio.open(a) as x, rasterio.open(b) as y:
        u, v = x.read(1).astype(np.float64), y.read(1).astype(np.float64)
    inner = (slice(WINDOW_PX, -WINDOW_PX), slice(WINDOW_PX, -WINDOW_PX))
    return float(np.max(np.abs(u[inner] - v[inner]) / np.maximum(np.abs(v[inner]), 1e-30)))


def _in_process_seconds(name: str, source: Path, target: Path, repeats: int, compress: str) -> float:
    """Median seconds of ``despeckle_file`` in this process (after a warm-up run), each run
    writing a new file."""
    params: dict[str, Any] = {"window_size_px": WINDOW_PX}
    params.update({"looks": 1.0} if name != "frost" else {"damping": 2.0})

    def once() -> float:
        target.unlink(missing_ok=True)
        return engine_file_to_file_s(name, source, target, params, compress=compress)

    seconds = median_seconds(once, repeats)
    target.unlink()
    return seconds


def _streaming(otb: str, folder: Path, size_px: int, repeats: int, otb_startup_s: float) -> tuple[list[list[Any]], dict[str, Any]]:
    source = benchmark_scene(folder, size_px)
    megapixels = size_px * size_px / 1e6
    rows, results = [], {}
    for name, compress in [(name, "none") for name in FILTERS] + [("lee", "deflate")]:
        otb_target, engine_target = folder / "otb.tif", folder / "engine.tif"
        otb_options = DEFLATE_OTB if compress == "deflate" else ""
        otb_times, engine_times = [], []
        for _ in range(repeats):
            otb_times.append(_fresh(otb_command(otb, name, source, str(otb_target) + otb_options), otb_target))
            engine_times.append(_fresh(_engine_command(name, source, engine_target, compress), engine_target))
        otb_s, engine_s = statistics.median(otb_times), statistics.median(engine_times)
        otb_stream_s = otb_s - otb_startup_s
        in_process_s = _in_process_seconds(name, source, folder / "inproc.tif", repeats, compress)
        difference = _max_interior_difference(engine_target, otb_target)
        r = results[f"{name}/{compress}"] = {
            "otb_wall_s": otb_s,
            "engine_cli_wall_s": engine_s,
            "ratio_end_to_end": otb_s / engine_s,
            "otb_streaming_mpix_s": megapixels / otb_stream_s,
            "engine_streaming_mpix_s": megapixels / in_process_s,
            "ratio_streaming": otb_stream_s / in_process_s,
            "max_interior_relative_difference": difference,
            "otb_runs_s": otb_times,
            "engine_cli_runs_s": engine_times,
        }
        rows.append([name, compress, r["otb_streaming_mpix_s"], r["engine_streaming_mpix_s"], r["ratio_streaming"],
                     otb_s, engine_s, r["ratio_end_to_end"], f"{difference:.1e}"])
    return rows, results


def _end_to_end(otb: str, folder: Path, size_px: int, repeats: int) -> dict[str, Any]:
    """Lee 7x7 on a large scene, command line against command line; the engine also in this
    process, so that its start-up shows as the difference."""
    source = benchmark_scene(folder, size_px)
    otb_target, engine_target = folder / "otb_large.tif", folder / "engine_large.tif"
    otb_times, engine_times = [], []
    for _ in range(repeats):
        otb_times.append(_fresh(otb_command(otb, "lee", source, str(otb_target)), otb_target))
        engine_times.append(_fresh(_engine_command("lee", source, engine_target, "none"), engine_target))
    difference = _max_interior_difference(engine_target, otb_target)
    for target in (otb_target, engine_target):
        target.unlink()
    in_process_s = _in_process_seconds("lee", source, folder / "inproc_large.tif", max(1, repeats - 1), "none")
    source.unlink()  # 1 GiB: generated again when needed
    otb_s, engine_s = statistics.median(otb_times), statistics.median(engine_times)
    return {"size_px": size_px, "otb_wall_s": otb_s, "engine_cli_wall_s": engine_s, "ratio_end_to_end": otb_s / engine_s,
            "engine_in_process_s": in_process_s, "otb_runs_s": otb_times, "engine_cli_runs_s": engine_times,
            "max_interior_relative_difference": difference, "megapixels": size_px * size_px / 1e6}


def _ready_s(command: list[str], target: Path) -> float:
    """Seconds from starting ``command`` (``despeckle run ... --progress json``) to its first
    ``start`` event: the engine has opened the scene, planned the work and starts reading pixels."""
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    ready = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if ready is None and json.loads(line).get("event") == "start":
                ready = time.perf_counter() - started
    if process.returncode != 0 or ready is None:
        raise RuntimeError(f"{' '.join(command)} failed or reported no start")
    return ready


def _startup(otb: str, folder: Path, repeats: int) -> dict[str, float]:
    """Median wall seconds of each command at start-up (a 64 x 64 scene for the runs)."""
    tiny = benchmark_scene(folder, 64)
    engine, out = _despeckle_command(), folder / "tiny_engine.tif"
    commands = {
        "otbcli_Despeckle, Lee 7x7, 64 x 64": lambda: _fresh(otb_command(otb, "lee", tiny, str(folder / "tiny_otb.tif")), folder / "tiny_otb.tif"),
        "despeckle run, Lee 7x7, 64 x 64": lambda: _fresh(_engine_command("lee", tiny, out, "none"), out),
        "despeckle run: ready to read pixels (its first progress event)": lambda: _ready_s(_engine_command("lee", tiny, out, "none", "json"), out),
        "despeckle --version": lambda: command_seconds([*engine, "--version"]),
        "despeckle --help": lambda: command_seconds([*engine, "--help"]),
        "despeckle methods --json": lambda: command_seconds([*engine, "methods", "--json"]),
    }
    return {label: median_seconds(run, repeats) for label, run in commands.items()}


def run(*, size_px: int = 4096, large_px: int = 16384, repeats: int = 5, large_repeats: int = 3, workdir: Path | None = None) -> Path:
    otb = shutil.which("otbcli_Despeckle")
    if otb is None:
        raise SystemExit("otbcli_Despeckle is not installed (Debian package otb-bin): run `make system-deps`")
    folder = Path(workdir or tempfile.mkdtemp(prefix="despeckle-bench-"))
    folder.mkdir(parents=True, exist_ok=True)

    startup = _startup(otb, folder, repeats)
    otb_startup_s = startup["otbcli_Despeckle, Lee 7x7, 64 x 64"]
    rows, results = _streaming(otb, folder, size_px, repeats, otb_startup_s)
    large = _end_to_end(otb, folder, large_px, large_repeats)

    figure = _plot(results)
    lee = results["lee/none"]
    summary = (
        f"Window {WINDOW_PX} x {WINDOW_PX}, both tools on all cores, medians of alternating runs, every run writing a new file. "
        f"**End to end, Lee 7x7 on a {large_px} x {large_px} float32 GeoTIFF ({large['megapixels']:.0f} MPix, 1 GiB): "
        f"`despeckle run` takes {large['engine_cli_wall_s']:.1f} s and `otbcli_Despeckle` {large['otb_wall_s']:.1f} s, "
        f"{large['ratio_end_to_end']:.1f}x as fast, start-up included** (target 5x); the same run in-process takes "
        f"{large['engine_in_process_s']:.1f} s, so the command line's start-up costs "
        f"{large['engine_cli_wall_s'] - large['engine_in_process_s']:.1f} s of it. "
        f"On {size_px} x {size_px} the engine streams {lee['ratio_streaming']:.1f}x as many pixels per second as OTB with Lee "
        f"and is {lee['ratio_end_to_end']:.1f}x as fast end to end. Start-up: `despeckle run` on a 64 x 64 scene "
        f"{startup['despeckle run, Lee 7x7, 64 x 64']:.2f} s against OTB's {otb_startup_s:.2f} s, ready to read pixels after "
        f"{startup['despeckle run: ready to read pixels (its first progress event)']:.2f} s (target 1.5 s); `despeckle --help` "
        f"{startup['despeckle --help']:.2f} s and `methods --json` {startup['despeckle methods --json']:.2f} s (target 0.5 s). "
        "The outputs equal OTB's to float32 rounding away from the border (max. relative difference column)."
    )
    table = markdown_table(
        ["filter", "output compression", "OTB MPix/s", "engine MPix/s", "streaming ratio", "OTB wall s", "engine CLI wall s",
         "end-to-end ratio", "max rel. diff."],
        rows,
    )
    large_table = markdown_table(
        ["scene", "filter", "OTB wall s", "engine CLI wall s", "end-to-end ratio", "engine in-process s", "max rel. diff."],
        [[f"{large_px} x {large_px}", "lee", large["otb_wall_s"], large["engine_cli_wall_s"], large["ratio_end_to_end"],
          large["engine_in_process_s"], f"{large['max_interior_relative_difference']:.1e}"]],
    )
    startup_table = markdown_table(["command (start-up)", "wall s"], [[label, seconds] for label, seconds in startup.items()])
    return write_results(SUITE, summary=summary, tables=[large_table, table, startup_table], figures=[figure],
                         data={"size_px": size_px, "window_px": WINDOW_PX, "repeats": repeats, "otb_startup_s": otb_startup_s,
                               "results": results, "end_to_end_large": large, "startup_s": startup})


def _plot(results: dict[str, Any]) -> str:
    plt = pyplot()

    names = list(results)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    ax.bar(x - 0.2, [results[n]["otb_streaming_mpix_s"] for n in names], 0.4, label="otbcli_Despeckle")
    ax.bar(x + 0.2, [results[n]["engine_streaming_mpix_s"] for n in names], 0.4, label="despeckle engine")
    ax.set_xticks(x, names)
    ax.set_ylabel("streaming throughput, MPix/s")
    ax.set_title("Classical filters, 7x7, file to file")
    ax.legend()
    return save_figure(fig, SUITE)
