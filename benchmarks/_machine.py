"""What a benchmark ran on: hardware, operating system and the versions that matter."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from importlib import metadata
from typing import Any

import psutil


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _otb_version() -> str | None:
    path = shutil.which("otbcli_Despeckle")
    if path is None:
        return None
    done = subprocess.run([path, "-help"], capture_output=True, text=True)
    text = done.stdout + done.stderr
    match = re.search(r"version (\S+)", text)
    return match.group(1).rstrip(",") if match else "unknown"


def describe_machine() -> dict[str, Any]:
    versions = {}
    for package in ("despeckle", "numpy", "numba", "dask", "distributed", "xarray", "rioxarray", "rasterio", "zarr", "torch"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    import rasterio

    versions["GDAL"] = rasterio.__gdal_version__
    otb = _otb_version()
    if otb:
        versions["OTB"] = otb
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


def machine_markdown(machine: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    return (
        f"- Machine: {machine['cpu']}, {machine['logical_cores']} logical cores, {machine['memory_gib']} GiB RAM\n"
        f"- System: {machine['os']}, Python {machine['python']}\n"
        f"- Versions: {versions}\n"
    )
