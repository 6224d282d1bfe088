"""Progress reporting, owned by the caller: a bar for people, JSON lines for programs.

The engine itself never prints. Writers take a :class:`Reporter`; the CLI picks one from
``--progress``. Local runs feed it from a dask callback, distributed runs from completed futures.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from dask.callbacks import Callback


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


class DaskProgress(Callback):  # type: ignore[misc]
    """Feed a :class:`Reporter` from the local dask scheduler: one unit per finished task."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self._reporter = reporter
        self._total = 0
        self._done = 0

    def _start_state(self, dsk: Any, state: Any) -> None:
        self._total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self._done = len(state["finished"])

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self._done += 1
        self._reporter.update(self._done, self._total)
