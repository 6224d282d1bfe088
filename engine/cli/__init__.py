"""The ``despeckle`` command line: thin wrappers over the engine's functions (parse, call, report).

Only the module of the command being run is imported: ``despeckle --help`` and ``despeckle
methods`` never load the numerical libraries (dask, xarray, numba, PyTorch), which the
commands that compute import themselves. ``add_progress_option``, ``make_reporter``,
``run_handler`` and ``print_json`` are public for commands defined outside the engine
(``despeckle train`` in ``training``)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any, NoReturn

from engine._version import __version__
from engine.cli._common import add_progress_option as add_progress_option
from engine.cli._common import make_reporter as make_reporter
from engine.cli._common import print_json as print_json
from engine.cli._common import run_handler as run_handler

#: Each command's module (in this package; its ``add_parser(subparsers, argv)`` defines the
#: command) and its one-line summary, in the order ``despeckle --help`` lists them.
COMMANDS = {
    "run": ("_run", "despeckle a scene, file to file"),
    "stack": ("_stack", "despeckle a time series of co-registered dates"),
    "methods": ("_methods", "list the despeckling methods and their parameters"),
    "info": ("_info", "describe a scene as the engine reads it"),
    "stats": ("_stats", "speckle statistics: looks estimate, and the ratio image against the noisy original"),
    "tile": ("_tiles", "cut a scene into overlapping georeferenced GeoTIFF tiles with an index"),
    "mosaic": ("_tiles", "join processed tiles back into one scene, dropping their overlaps"),
    "demo": ("_demo", "run the built-in demo (no data needed)"),
    "train": ("_train", "train a model from a configuration (see training/configs/)"),
    "bench": ("_bench", "run a benchmark suite; results go to benchmarks/results/"),
}


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


def _chosen_command(argv: list[str]) -> str | None:
    """The command named on the command line: the first word that is not an option (the
    top-level options take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


class _OneCommand:
    """The subparsers as a command's module sees them: it defines only the chosen command (a
    module may define several, as tile and mosaic), whose summary comes from :data:`COMMANDS`."""

    def __init__(self, subparsers: Any, chosen: str) -> None:
        self._subparsers = subparsers
        self._chosen = chosen

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name != self._chosen:
            return argparse.ArgumentParser(add_help=False)  # defined by its module only when chosen
        return self._subparsers.add_parser(name, help=COMMANDS[name][1], **kwargs)  # type: ignore[no-any-return]


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    _Parser.json_errors = _wants_json(argv)
    parser = _Parser(
        prog="despeckle",
        description="Despeckle SAR and ultrasound scenes with classical filters and deep models.",
    )
    parser.add_argument("--version", action="version", version=f"despeckle {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    chosen = _chosen_command(argv)
    for name, (module, summary) in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"{__name__}.{module}").add_parser(_OneCommand(subparsers, name), argv)
        else:  # listed by --help and in usage errors; defined only when chosen
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``despeckle`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args, unknown = parser.parse_known_args(arguments)
    if unknown and getattr(args, "method_problem", ""):  # the method's options are unknown because the method is
        parser.error(args.method_problem)
    if unknown:  # said with what the command does take (a method's options are per method)
        hint = getattr(args, "options_hint", "")
        parser.error(f"unrecognized arguments: {' '.join(unknown)}" + (f"; {hint}" if hint else ""))
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return run_handler(args.handler, args, make_reporter(args.progress))


if __name__ == "__main__":  # python -m engine.cli
    sys.exit(main())
