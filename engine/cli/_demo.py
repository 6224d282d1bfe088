"""``despeckle demo``: generate, despeckle and plot a synthetic georeferenced scene."""

from __future__ import annotations

import argparse

from engine.cli._common import add_progress_option
from engine.progress import Reporter


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("demo")
    parser.add_argument("output_dir", nargs="?", default="demo_output", help="folder for the results (default demo_output)")
    parser.add_argument("--size", type=int, default=2048, metavar="PX", help="scene size in pixels (default 2048)")
    parser.add_argument("-m", "--method", help="method shown beside Lee (default: the default method, the best available model)")
    parser.add_argument("--looks", type=float, default=1.0, help="looks of the simulated speckle (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    add_progress_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    from engine.demo import run_demo  # scipy and matplotlib only when the demo runs

    result = run_demo(args.output_dir, size_px=args.size, method=args.method, looks=args.looks, seed=args.seed, reporter=reporter)
    reporter.result(scene=str(result.scene), despeckled=str(result.despeckled), figure=str(result.figure), method=result.method)
    print(f"speckled scene:    {result.scene}")
    for name, path in result.outputs.items():
        print(f"despeckled ({name}{', the default' if name == result.method else ''}): {path}")
    print(f"before/after:      {result.figure}")
    return 0
