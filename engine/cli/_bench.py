"""``despeckle bench SUITE``: run a benchmark suite from a source checkout (see benchmarks/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.exceptions import ParameterError
from engine.progress import Reporter


def add_parser(subparsers: argparse._SubParsersAction, argv: list[str]) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("bench")
    parser.add_argument("suite", nargs="?", help="suite name, or 'all'; without one, list the suites")
    parser.add_argument("--workdir", type=Path, help="folder for generated scenes (default: a temporary folder)")
    parser.set_defaults(handler=handle, progress="none")


def handle(args: argparse.Namespace, reporter: Reporter) -> int:
    try:
        from benchmarks.__main__ import SUITES, main
    except ImportError:
        raise ParameterError("the benchmark suites ship with the source checkout (benchmarks/); run this from it") from None
    if args.suite is not None and args.suite not in (*SUITES, "all"):
        raise ParameterError(f"unknown suite {args.suite!r}; suites: {', '.join(SUITES)}, all")
    return main(([args.suite] if args.suite else ["--list"]) + (["--workdir", str(args.workdir)] if args.workdir else []))
