"""Timing: the engine file to file in this process (open, despeckle, write), and commands."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import engine


def engine_file_to_file_s(method: str, source: Path, target: Path, params: Mapping[str, Any], *, chunk_px: int | None = None,
                          compress: str = "none") -> float:
    """Seconds for one ``open_scene`` -> ``despeckle`` -> ``write_scene`` run, as the CLI does it."""
    started = time.perf_counter()
    chunk = chunk_px or engine.get_method(method).preferred_chunk_px
    scene = engine.open_scene(source, domain="intensity", chunk_px=chunk)
    engine.write_scene(engine.despeckle(scene, method, **params), target, overwrite=True, compress=compress)
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
