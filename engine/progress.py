"""Progress reporting, owned by the caller: a bar for people, JSON lines for programs.

The engine itself never prints. Writers take a :class:`Reporter`; the CLI picks one from
``--progress``. Local runs feed it from a dask callback, distributed runs from completed futures.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO


class Reporter:
    """Receives progress events; the base class ignores them (``--progress none``)."""

    def start(self, phase: str, total: int) -> None:
        """A phase (``"despeckle"``, ``"tile"``...) begins with ``total`` units of work."""

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` units are finished."""

    def finish(self) -> None:
        """The current phase is finished."""

    def log(self, level: str, message: str) -> None:
        """A message for the user (warnings, notes)."""

    def result(self, **info: Any) -> None:
        """The final outcome (output path, statistics)."""

    def abort(self) -> None:
        """The run stops early (error, interrupt): leave the display tidy."""


class MessagesOnly(Reporter):
    """No progress display, but the messages (warnings) still reach the user, on stderr
    (``--progress none``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr

    def log(self, level: str, message: str) -> None:
        self._stream.write(f"despeckle: {level}: {message}\n")
        self._stream.flush()


class BarReporter(Reporter):
    """A one-line text progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self._stream = stream or sys.stderr
        self._width = width
        self._phase = ""
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._line_open = False
        self._lock = threading.Lock()

    def start(self, phase: str, total: int) -> None:
        self._phase = phase
        self._started = time.monotonic()
        self.update(0, total)

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        with self._lock:
            if done < total and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            fraction = done / total if total else 1.0
            filled = int(round(self._width * fraction))
            bar = "#" * filled + " " * (self._width - filled)
            elapsed = now - self._started
            self._stream.write(f"\r{self._phase:<12} [{bar}] {fraction:6.1%} {elapsed:6.1f} s")
            self._stream.flush()
            self._line_open = True

    def finish(self) -> None:
        self.abort()

    def abort(self) -> None:
        if self._line_open:
            self._stream.write("\n")
            self._stream.flush()
            self._line_open = False

    def log(self, level: str, message: str) -> None:
        self.abort()
        self._stream.write(f"despeckle: {level}: {message}\n")
        self._stream.flush()


class JsonReporter(Reporter):
    """One JSON object per line on stdout: ``{"event": "progress", "fraction": 0.42, ...}``.

    Events: ``start`` (phase, total), ``progress`` (phase, done, total, fraction, elapsed_s),
    ``finish`` (phase, elapsed_s), ``log`` (level, message), ``result`` (path and details) and,
    from the CLI, ``error`` (message). Progress lines come at most twenty times a second.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._phase = ""
        self._started = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        with self._lock:
            self._stream.write(json.dumps({"event": event, **fields}, default=str) + "\n")
            self._stream.flush()

    def start(self, phase: str, total: int) -> None:
        self._phase = phase
        self._started = time.monotonic()
        self.emit("start", phase=phase, total=total)

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.05:
            return
        self._last = now
        self.emit(
            "progress",
            phase=self._phase,
            done=done,
            total=total,
            fraction=round(done / total, 4) if total else 1.0,
            elapsed_s=round(now - self._started, 3),
        )

    def finish(self) -> None:
        self.emit("finish", phase=self._phase, elapsed_s=round(time.monotonic() - self._started, 3))

    def log(self, level: str, message: str) -> None:
        self.emit("log", level=level, message=message)

    def result(self, **info: Any) -> None:
        self.emit("result", **info)


class WorkCancelled(Exception):
    """Raised inside a kernel when the local run it belongs to was cancelled (Ctrl-C, SIGTERM,
    an error elsewhere): the block stops between model windows instead of running to its end."""


_cancelled = threading.Event()
_meter: WorkMeter | None = None


class WorkMeter(Reporter):
    """Progress that follows the real work: the fraction of the output's pixels despeckled,
    counted by the kernels as they go (every plane of every chunk, and inside a model's chunk
    every batch of windows), so that a run of few, slow chunks still moves steadily.

    It stands between the runner and the caller's reporter: when no kernel counts pixels in
    this process (a plain write, a dask.distributed cluster), it passes on the runner's count
    of finished tasks. What it reports never goes back, and ends at 100 %."""

    def __init__(self, reporter: Reporter, total_px: int) -> None:
        self._reporter = reporter
        self._total = max(1, int(total_px))
        self._done_px = 0
        self._partial: dict[int, tuple[int, float]] = {}  # thread -> (plane pixels, fraction done)
        self._task_fraction = 0.0
        self._shown = 0
        self._lock = threading.Lock()

    def update(self, done: int, total: int) -> None:  # the runner's tasks
        self._task_fraction = done / total if total else 1.0
        self._show()

    def plane_started(self, pixels: int) -> None:
        with self._lock:
            self._partial[threading.get_ident()] = (pixels, 0.0)

    def plane_progress(self, fraction: float) -> None:
        with self._lock:
            pixels, _ = self._partial.get(threading.get_ident(), (0, 0.0))
            self._partial[threading.get_ident()] = (pixels, min(1.0, fraction))
        self._show()

    def plane_finished(self) -> None:
        with self._lock:
            pixels, _ = self._partial.pop(threading.get_ident(), (0, 0.0))
            self._done_px += pixels
        self._show()

    def complete(self) -> None:
        self._shown = self._total
        self._reporter.update(self._total, self._total)

    def _show(self) -> None:
        with self._lock:
            counted = self._done_px + sum(p * f for p, f in self._partial.values())
            fraction = counted / self._total if counted or self._partial else self._task_fraction
            done = min(self._total, max(self._shown, int(fraction * self._total)))
            if done == self._shown and done:
                return
            self._shown = done
        self._reporter.update(done, self._total)


@contextlib.contextmanager
def metered(reporter: Reporter, total_px: int) -> Iterator[WorkMeter]:
    """Count the kernels' pixels into a :class:`WorkMeter` while the body runs (one local run at a
    time per process; a nested or concurrent one falls back to counting tasks)."""
    global _meter  # noqa: PLW0603 - the kernels run in pool threads: they find the meter here
    meter = WorkMeter(reporter, total_px)
    outer = _meter
    _meter = meter if outer is None else None
    try:
        yield meter
    finally:
        _meter = outer


@contextlib.contextmanager
def kernel_plane(pixels: int) -> Iterator[None]:
    """A kernel works on one plane of ``pixels`` core pixels (see :class:`WorkMeter`)."""
    raise_if_cancelled()
    meter = _meter
    if meter is None:
        yield
        return
    meter.plane_started(pixels)
    try:
        yield
    finally:
        meter.plane_finished()


def kernel_progress(fraction: float) -> None:
    """A kernel is ``fraction`` through its plane; it stops here if its run was cancelled."""
    raise_if_cancelled()
    meter = _meter
    if meter is not None:
        meter.plane_progress(fraction)


@contextlib.contextmanager
def cancellable() -> Iterator[None]:
    """Run local work that, if the body fails or is interrupted, stops its kernels at their next
    check (:func:`kernel_progress`) instead of letting them finish their chunks."""
    try:
        yield
    except BaseException:
        _cancelled.set()
        raise


def work_stopped() -> None:
    """The cancelled work has stopped (its pool is shut down): later runs may start."""
    _cancelled.clear()


def raise_if_cancelled() -> None:
    if _cancelled.is_set():
        raise WorkCancelled("the run was cancelled")
