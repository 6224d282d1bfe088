"""What every subcommand shares: progress reporters, error and signal handling, warnings."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine._interrupts import interrupts_outside_imports, work_done
from engine._options import COMPRESSIONS
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


def peek_method_name(argv: list[str]) -> str | None:
    """The ``--method`` named on the command line, read before the full parser exists (a
    method's parameters become options of the command)."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("-m", "--method")
    return peek.parse_known_args(argv)[0].method


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_compress_option(group: Any) -> None:
    group.add_argument("--compress", choices=COMPRESSIONS, help="GeoTIFF compression (default deflate)")


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """Where the work runs and how progress is shown: the same for every command that computes."""
    from engine.scheduling import SCHEDULER_HELP  # dask: only for the commands that compute

    run = parser.add_argument_group("execution")
    run.add_argument("--scheduler", help=SCHEDULER_HELP)
    run.add_argument("--workers", type=positive_int, help="threads of the local scheduler (default: all cores)")
    add_progress_option(run)


def make_reporter(kind: str) -> Reporter:
    if kind == "json":
        return JsonReporter()
    if kind == "bar":
        return BarReporter()
    return MessagesOnly()


@contextlib.contextmanager
def _warnings_to(reporter: Reporter) -> Iterator[None]:
    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        reporter.log("warning", str(message))

    with warnings.catch_warnings():
        warnings.showwarning = show
        # rasterio's NotGeoreferencedWarning, matched by its words (importing rasterio to name it
        # would cost commands that read no raster 0.1 s): GDAL says it whenever a file without a map
        # is opened (every block of a picture or a .npy output); the engine says once, with the
        # file's name, when georeferencing is missing.
        warnings.filterwarnings("ignore", message="Dataset has no geotransform")
        yield


def _error(reporter: Reporter, message: str) -> None:
    reporter.abort()
    if isinstance(reporter, JsonReporter):
        reporter.emit("error", message=message)
    print(f"despeckle: error: {message}", file=sys.stderr)


def _committed() -> tuple[Any, ...]:
    """The outputs this process has put in place (none while the writers are not even imported:
    nothing to import now, while starting or stopping)."""
    atomic = sys.modules.get("engine.io._atomic")
    return atomic.committed_outputs() if atomic else ()


def _interrupted(args: argparse.Namespace, already: int) -> str:
    """What an interruption left, said truthfully: the outputs this command already put in place
    (the process's first ``already`` are earlier commands'), else what stands at the target
    (unchanged) and the part of a resumable Zarr output kept for --resume."""
    written = _committed()[already:]
    if written:
        names = ", ".join(str(path) for path in written)
        return f"interrupted after writing {names} (complete); nothing else was written"
    target = getattr(args, "output", None) or getattr(args, "output_dir", None)
    if not target:
        return "interrupted"
    message = f"interrupted; nothing was written to {target}"
    atomic = sys.modules.get("engine.io._atomic")  # imported: a writer ran, and may have kept a part
    partial = atomic.resumable_sibling(Path(target)) if atomic else None
    if partial is not None and partial.exists():
        return f"{message} (the part written so far is kept as {partial}: run again with --resume to finish it)"
    if Path(target).exists():
        return f"{message} (what was there is unchanged)"
    return message


def run_handler(handler: Handler, args: argparse.Namespace, reporter: Reporter) -> int:
    """Run a subcommand: user errors become one clear line (exit 2), never a traceback."""
    already = len(_committed())
    try:
        with interrupts_outside_imports(), _warnings_to(reporter):
            status = handler(args, reporter)
            work_done()  # a stop signal from here on interrupts nothing
            return status
    except DespeckleError as error:
        _error(reporter, str(error))
        return 2
    except KeyboardInterrupt:
        _error(reporter, _interrupted(args, already))
        return 130
    except BrokenPipeError:
        # Whoever read our output went away (| head): stop quietly, as Unix tools do. Python would
        # fail again flushing stdout at exit, so it points at /dev/null from here on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as strings ("nan", "inf"): JSON has no such numbers, and
    Python's would write them bare, which other readers refuse."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def print_json(value: Any) -> None:
    print(json.dumps(_finite(value), indent=2, default=str, allow_nan=False))
