"""The ``despeckle`` command line: thin wrappers over the engine's functions (parse, call, report).

``add_progress_option``, ``make_reporter``, ``run_handler`` and ``print_json`` are public for
commands defined outside the engine (``despeckle train`` in ``training``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

from engine._version import __version__
from engine.cli import _bench, _demo, _info, _methods, _run, _stack, _stats, _tiles, _train
from engine.cli._common import add_progress_option as add_progress_option
from engine.cli._common import make_reporter as make_reporter
from engine.cli._common import print_json as print_json
from engine.cli._common import run_handler as run_handler

_COMMANDS = (_run, _stack, _methods, _info, _stats, _tiles, _demo, _train, _bench)


def _wants_json(argv: list[str]) -> bool:
    return "--progress=json" in argv or any(a == "--progress" and b == "json" for a, b in zip(argv, argv[1:], strict=False))


class _Parser(argparse.ArgumentParser):
    """argparse, whose usage errors also reach programs reading ``--progress json``: an ``error``
    event like every other failure's (QGIS shows it instead of a bare exit status)."""

    json_errors = False

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        if self.json_errors:
            print(json.dumps({"event": "error", "message": f"{self.prog}: {message}"}), flush=True)
        super().error(message)


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    _Parser.json_errors = _wants_json(argv)
    parser = _Parser(
        prog="despeckle",
        description="Despeckle SAR and ultrasound scenes with classical filters and deep models.",
    )
    parser.add_argument("--version", action="version", version=f"despeckle {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(subparsers, argv)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``despeckle`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args, unknown = parser.parse_known_args(arguments)
    if unknown:  # said with what the command does take (a method's options are per method)
        hint = getattr(args, "options_hint", "")
        parser.error(f"unrecognized arguments: {' '.join(unknown)}" + (f"; {hint}" if hint else ""))
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return run_handler(args.handler, args, make_reporter(args.progress))


if __name__ == "__main__":  # python -m engine.cli
    sys.exit(main())
