"""Timing: the engine file to file in this process (open, despeckle, write), and commands."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.run import despeckle_file


def engine_file_to_file_s(method: str, source: Path, target: Path, params: Mapping[str, Any], *, chunk_px: int | None = None,
                          compress: str = "none") -> float:
    """Seconds for one run of the CLI's file-to-file path (``engine.run.despeckle_file``)."""
    started = time.perf_counter()
    despeckle_file(source, target, method, domain="intensity", chunk_px=chunk_px, overwrite=True, compress=compress, **params)
    return time.perf_counter() - started


def command_seconds(command: list[str]) -> float:
    """Wall seconds of one run of an external command (which must succeed)."""
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def median_seconds(run: Callable[[], float], repeats: int, *, warm_up: bool = True) -> float:
    if warm_up:
        run()
    return statistics.median(run() for _ in range(repeats))
