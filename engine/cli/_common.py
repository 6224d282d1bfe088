"""What every subcommand shares: progress reporters, error and signal handling, warnings."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from engine.exceptions import DespeckleError
from engine.progress import BarReporter, JsonReporter, MessagesOnly, Reporter

PROGRESS_CHOICES = ("bar", "json", "none")

Handler = Callable[[argparse.Namespace, Reporter], int]


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        choices=PROGRESS_CHOICES,
        default="bar",
        help="progress display: a bar on stderr for people, JSON lines on stdout for programs, or none",
    )


def make_reporter(kind: str) -> Reporter:
    if kind == "json":
        return JsonReporter()
    if kind == "bar":
        return BarReporter()
    return MessagesOnly()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (how QGIS and job schedulers cancel) cleans up exactly like Ctrl-C."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _warnings_to(reporter: Reporter) -> Iterator[None]:
    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        reporter.log("warning", str(message))

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _error(reporter: Reporter, message: str) -> None:
    reporter.abort()
    if isinstance(reporter, JsonReporter):
        reporter.emit("error", message=message)
    print(f"despeckle: error: {message}", file=sys.stderr)


def run_handler(handler: Handler, args: argparse.Namespace, reporter: Reporter) -> int:
    """Run a subcommand: user errors become one clear line (exit 2), never a traceback."""
    try:
        with _terminate_as_interrupt(), _warnings_to(reporter):
            return handler(args, reporter)
    except DespeckleError as error:
        _error(reporter, str(error))
        return 2
    except KeyboardInterrupt:
        _error(reporter, "interrupted; nothing was written to the target path (an existing file there is unchanged; "
                         "an interrupted Zarr output is kept as OUTPUT.partial for --resume)")
        return 130
    except BrokenPipeError:
        # Whoever read our output went away (| head): stop quietly, as Unix tools do. Python would
        # fail again flushing stdout at exit, so it points at /dev/null from here on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))
