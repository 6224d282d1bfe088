"""Ctrl-C and SIGTERM become ``KeyboardInterrupt``, but never in the middle of an import.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, and a command spends
its first second importing numpy, dask, xarray, rasterio (and PyTorch for a model). Raised inside
an import, it can leave a module half initialised in ``sys.modules`` (numpy then fails every later
import with a misleading "you should not import numpy from its source directory") or swallowed by
a library's import-time ``except:``, so the run goes on and ends with status 0 as if never asked
to stop, or with an import lock held, so the process hangs. All three were seen when QGIS (which
cancels with SIGTERM) stopped a command in its first second.

So the handler looks at where the main thread is: outside the import machinery it raises at once;
inside, it notes the signal and looks again every 20 ms (SIGALRM), raising as soon as the import
is over. A second Ctrl-C or SIGTERM raises at once, so an import that hangs can still be stopped.
Only the standard library is imported here: the launcher installs this before anything else.

``interrupts_held`` is the stricter policy for a step that must not be cut at all (starting or
closing a dask LocalCluster): the signals are only recorded, and the caller decides afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

_IMPORT_MACHINERY = frozenset({"<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>"})
_RECHECK_S = 0.02
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: The stop signals received and not yet raised (the main thread was importing).
_pending: list[int] = []


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename in _IMPORT_MACHINERY:
            return True
        frame = frame.f_back
    return False


def _stop_or_defer(signum: int, frame: FrameType | None) -> None:
    if signum in _STOP_SIGNALS:
        _pending.append(signum)
    if not _pending:  # an alarm left from a signal already raised
        return
    if len(_pending) > 1 or not _importing(frame):
        _pending.clear()
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise KeyboardInterrupt
    signal.setitimer(signal.ITIMER_REAL, _RECHECK_S)


@contextlib.contextmanager
def interrupts_outside_imports() -> Iterator[None]:
    """Within, SIGINT and SIGTERM raise ``KeyboardInterrupt`` as soon as the main thread is not
    importing (SIGALRM is taken for the re-check). Work that finished while a signal waited for
    an import to end is not turned into an interruption: leaving the block normally forgets it.
    Outside the main thread (embedded use), where signals cannot be handled, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = (*_STOP_SIGNALS, signal.SIGALRM)
    previous = {number: signal.getsignal(number) for number in handled}
    for number in handled:
        signal.signal(number, _stop_or_defer)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _pending.clear()
        for number, handler in previous.items():
            if handler is not None:  # None: installed outside Python, cannot be put back from here
                signal.signal(number, handler)


@contextlib.contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """SIGINT and SIGTERM arriving inside are recorded in the list it yields instead of
    interrupting (the caller decides what they mean once it is safe); a second one interrupts at
    once. Outside the main thread, where signals cannot be handled, nothing changes."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def hold(signum: int, frame: Any) -> None:
        held.append(signum)
        if len(held) > 1:  # asked twice (a start that hangs): stop now, whatever is left half done
            raise KeyboardInterrupt

    for number in previous:
        signal.signal(number, hold)
    try:
        yield held
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
