"""``despeckle info IN``: what the engine sees in a file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.cli._common import print_json
from engine.cli._run import add_complex_input_options, complex_input_options
from engine.conventions import DOMAINS
from engine.display import SPECKLE_QUARTILES_DB, display_values, estimate_dynamic_range
from engine.exceptions import InputError
from engine.io import describe_scene, is_sentinel1, open_scene, swath_polarisations
from engine.models import SPECS
from engine.progress import Reporter
from engine.scene import looks_stated, valid_values
from engine.speckle import central_looks


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("info",
                                   description="Describe a scene as the engine reads it: size, bands, domain, georeferencing, and what "
                                   "its values say (the looks of SAR data, the dynamic range of a display image).")
    parser.add_argument("input", help="a scene file (GeoTIFF, Zarr, SLC, RF, PNG/JPEG/BMP...)")
    parser.add_argument("--domain", type=str.lower, choices=DOMAINS, help="what the input holds, if its metadata do not say")
    parser.add_argument("--band", type=int, action="append", help="1-based band(s) to describe")
    parser.add_argument("--variable", help="variable of a Zarr store, or dataset/polarisation of an HDF5 file")
    add_complex_input_options(parser.add_argument_group("complex (SLC) input"))
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=handle, progress="none")


def looks_estimate(scene: object) -> float | None:
    """Median local ENL over the central 1024 x 1024 pixels of the first band (intensity)."""
    return central_looks(valid_values(scene, "intensity"))  # type: ignore[arg-type]


#: How the input's looks were known, as ``despeckle info`` says it.
_LOOKS_SOURCES = {"stated": "stated by the input's metadata or the caller", "assumed": "assumed: the input did not say",
                  "estimated": "estimated from the scene: median ENL of 9x9 windows"}


def _provenance_lines(provenance: dict[str, Any], width: int) -> list[str]:
    """How the file was made, one fact per line under ``despeckled``."""
    version = f" (despeckle {provenance['version']})" if "version" in provenance else ""
    dates = f" over {provenance['dates']} dates" if "dates" in provenance else ""
    lines = [f"{'despeckled':<{width}}  with {provenance['method']}{dates}{version}"]
    for key, value in provenance.items():
        if key in ("method", "version", "dates", "input_looks_source"):
            continue
        if key == "input_looks":
            source = provenance.get("input_looks_source")
            value = ("unknown" if value is None else _short(value)) + (f" ({_LOOKS_SOURCES.get(source, source)})" if source else "")
        elif isinstance(value, dict):
            value = ", ".join(f"{name} {_short(v)}" for name, v in value.items() if v is not None) or "defaults"
        lines.append(f"{'':<{width}}  {key.replace('_', ' ')}: {value}")
    return lines


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _printable(text: str) -> str:
    """``text`` on one line, whatever a file's metadata hold: line breaks and other control or
    unencodable characters (a lone surrogate) written as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    path = Path(args.input)
    scene = open_scene(args.input, domain=args.domain, bands=args.band, variable=args.variable, **complex_input_options(args))
    info = describe_scene(scene)
    info["looks_stated"] = looks_stated(scene)
    if is_sentinel1(path):
        info["sentinel1_swaths"] = swath_polarisations(path)
        info["bursts"] = scene.attrs.get("burst", "all (debursted)")
    if scene.attrs["domain"] == "display":
        # Grey levels: what a display image says is its dynamic range, not a number of looks.
        info["dynamic_range_db"] = scene.attrs.get("dynamic_range_db")
        info["dynamic_range_estimate"] = estimate_dynamic_range(display_values(scene))
    else:
        try:
            info["looks_estimate"] = looks_estimate(scene)
        except InputError as problem:  # e.g. dB values read as intensity: say so, still describe
            info["looks_estimate"] = None
            info["problem"] = str(problem)
    info["despeckled"] = info.pop("despeckled")  # last: after the looks lines, which describe the file itself
    if args.json:
        print_json(info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if key == "despeckled":
            if value is not None:
                print("\n".join(_printable(line) for line in _provenance_lines(value, width)))
            continue
        if key == "looks" and scene.attrs["domain"] == "display":
            continue  # grey levels: their dynamic range says what looks say of SAR data
        if key == "looks" and not looks_stated(scene) and info["despeckled"] is not None:
            value = (f"{value} (assumed if despeckled again: the file does not say; its input's looks are under 'despeckled', "
                     "the speckle left in it is what looks_estimate measures)")
        elif key == "looks" and not looks_stated(scene):
            told = " and ".join(name for name, spec in SPECS.items() if spec.looks_conditioned)
            value = f"{value} (assumed: the file does not say; filters use it, {told} estimate the looks instead)"
        if key == "dynamic_range_estimate" and value is not None:
            value = f"{value:.1f} dB (at which its speckle is fully developed: quartiles {SPECKLE_QUARTILES_DB:.2f} dB apart in 16x16 windows)"
        if key == "looks_estimate" and value is not None:
            value = f"{value:.2f} (median local ENL in 9x9 windows; a lower bound on textured scenes)"
        print(_printable(f"{key:<{width}}  {value}"))
    return 0
