"""``despeckle stats IN [--reference NOISY]``: speckle statistics of a scene."""

from __future__ import annotations

import argparse

import dask.array as da
import numpy as np

from engine.cli._common import add_progress_option, print_json
from engine.cli._info import looks_estimate
from engine.conventions import DOMAINS
from engine.exceptions import InputError
from engine.io import open_scene
from engine.progress import JsonReporter, Reporter
from engine.scene import valid_values


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "stats",
        description="Estimate the equivalent number of looks of a scene (median local ENL in 9x9 windows) and, "
        "with --reference (the noisy original of a despeckled scene), the mean and standard deviation of the "
        "ratio image reference / scene: a mean of 1 means no radiometric bias, a standard deviation near "
        "1/sqrt(looks) means only speckle was removed.",
    )
    parser.add_argument("input")
    parser.add_argument("--reference", help="the noisy original, for the ratio image")
    parser.add_argument("--band", type=int, default=1, help="1-based band (default 1)")
    parser.add_argument("--domain", type=str.lower, choices=DOMAINS, help="what the input holds, if its metadata do not say")
    parser.add_argument("--reference-domain", choices=DOMAINS, help="what the reference holds, if its metadata do not say")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_progress_option(parser)
    parser.set_defaults(handler=handle)


def ratio_moments(reference: da.Array, scene: da.Array) -> tuple[float, float]:
    """Mean and standard deviation of reference / scene over pixels valid in both (streamed)."""
    ratio = reference / scene
    valid = da.isfinite(ratio) & (scene > 0)
    count, total, squares = da.compute(valid.sum(), da.where(valid, ratio, 0).sum(), da.where(valid, ratio * ratio, 0).sum())
    if count == 0:
        raise InputError("the two scenes have no valid pixel in common")
    mean = total / count
    return float(mean), float(np.sqrt(max(squares / count - mean * mean, 0.0)))


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    scene = open_scene(args.input, domain=args.domain, bands=[args.band])
    result: dict[str, object] = {
        "input": args.input,
        "band": args.band,
        "domain": scene.attrs["domain"],
        "looks_attribute": scene.attrs.get("looks"),
        "looks_estimate": looks_estimate(scene),
    }
    if args.reference:
        reference = open_scene(args.reference, domain=args.reference_domain, bands=[args.band])
        if reference.shape[-2:] != scene.shape[-2:]:
            raise InputError(f"the reference is {reference.shape[-2:]} pixels, the scene {scene.shape[-2:]}: they must match")
        mean, std = ratio_moments(valid_values(reference, "intensity"), valid_values(scene, "intensity"))
        result.update(ratio_mean=mean, ratio_std=std)
    reporter.result(**result)
    if isinstance(reporter, JsonReporter):
        return 0
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            print(f"{key:<16} {value}")
    return 0
