"""Ctrl-C and SIGTERM become ``KeyboardInterrupt``, but never in the middle of an import.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, and a command spends
its first second importing numpy, dask, xarray, rasterio (and PyTorch for a model). Raised inside
an import, it can leave a module half initialised in ``sys.modules`` (numpy then fails every later
import with a misleading "you should not import numpy from its source directory") or swallowed by
a library's import-time ``except:``, so the run goes on and ends with status 0 as if never asked
to stop. Both were seen with SIGTERM (what QGIS's Cancel sends) timed into a command's first second.

So the handler looks at where the main thread is: outside the import machinery it raises at once;
inside, it notes the signal and looks again every 20 ms (SIGALRM), raising as soon as the import
is over. A second Ctrl-C or SIGTERM raises at once, so an import that hangs can still be stopped.
Only the standard library is imported here: the launcher installs this before anything else.

Once the command's work is done (``work_done``), a stop signal interrupts nothing; the console
script then ends its process itself (``end_process``), so that neither a thread left behind nor
Python's slow teardown can make a finished run hang or die by the signal.

``interrupts_held`` is the stricter policy for a step that must not be cut at all (starting or
closing a dask LocalCluster): the signals are only recorded, and the caller decides afterwards.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, NoReturn

_IMPORT_MACHINERY = frozenset({"<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>"})
_RECHECK_S = 0.02
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: The stop signals received and not yet raised (the main thread was importing).
_pending: list[int] = []
#: Set by ``work_done``: the command's work is over (its outputs are in place), so a stop signal
#: is no interruption of it.
_done = False
#: Set by ``end_process``: the exit status a stop signal ends the process with.
_exit_status: int | None = None


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename in _IMPORT_MACHINERY:
            return True
        frame = frame.f_back
    return False


#: SIGALRM's handler before a re-check took it (restored when nothing waits any more).
_alarm_before: list[Any] = []


def _recheck_soon() -> None:
    """Look again in 20 ms: SIGALRM is taken only while a signal waits, then given back."""
    if not _alarm_before:
        _alarm_before.append(signal.getsignal(signal.SIGALRM))
        signal.signal(signal.SIGALRM, _stop_or_defer)
    signal.setitimer(signal.ITIMER_REAL, _RECHECK_S)


def _stop_waiting() -> None:
    if _alarm_before:
        signal.setitimer(signal.ITIMER_REAL, 0)
        previous = _alarm_before.pop()
        if previous is not None:
            signal.signal(signal.SIGALRM, previous)
    _pending.clear()


def _stop_or_defer(signum: int, frame: FrameType | None) -> None:
    if signum in _STOP_SIGNALS and _exit_status is not None:
        _exit_now()
    if signum in _STOP_SIGNALS and _done:
        return  # nothing left to interrupt: the command returns its status as it is
    if signum in _STOP_SIGNALS:
        _pending.append(signum)
    if not _pending:  # an alarm left from a signal already raised
        return
    # A second signal stops a hanging import at once, but not from inside the import machinery's own
    # code (its module-lock callbacks run during every import, and an exception there is swallowed).
    in_machinery = frame is not None and frame.f_code.co_filename in _IMPORT_MACHINERY
    if (len(_pending) > 1 and not in_machinery) or not _importing(frame):
        _stop_waiting()
        raise KeyboardInterrupt
    _recheck_soon()


def _handled(numbers: tuple[int, ...]) -> tuple[int, ...]:
    """The stop signals to take over: not one the parent process set to be ignored (``cmd &`` in a
    script ignores Ctrl-C), which stays ignored."""
    return tuple(n for n in numbers if signal.getsignal(n) is not signal.SIG_IGN)


@contextlib.contextmanager
def interrupts_outside_imports() -> Iterator[None]:
    """Within, SIGINT and SIGTERM raise ``KeyboardInterrupt`` as soon as the main thread is not
    importing (SIGALRM is borrowed for the re-check while a signal waits). Work that finished
    while a signal waited for an import to end is not turned into an interruption: leaving the
    block normally forgets it. Outside the main thread (embedded use), where signals cannot be
    handled, nothing changes."""
    global _done
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _done = False
    previous = {number: signal.getsignal(number) for number in _handled(_STOP_SIGNALS)}
    for number in previous:
        signal.signal(number, _stop_or_defer)
    try:
        yield
    finally:
        _stop_waiting()
        for number, handler in previous.items():
            if handler is not None:  # None: installed outside Python, cannot be put back from here
                signal.signal(number, handler)


def work_done() -> None:
    """Within ``interrupts_outside_imports``: the command's work is over, its outputs in place. A
    stop signal from here to the end of the block is not raised: the work it would interrupt is done."""
    global _done
    _done = True


def end_process(status: int) -> NoReturn:
    """End the console script's process with ``status``, its command over: the libraries' own
    ``atexit`` clean-up runs, what was printed is flushed, and the process ends there, without
    Python's usual end. That end joins every worker thread left (an interruption that lands while
    a thread pool starts a thread leaves one that nobody stops: the process hung), then tears down
    every module (a quarter to half a second after a model run) with the stop signals back at the
    system's defaults, so that a Cancel then killed a finished run (status -15)."""
    global _exit_status
    _exit_status = status
    if threading.current_thread() is threading.main_thread():
        for number in _handled(_STOP_SIGNALS):  # from here a stop signal ends the process at once, with this status
            signal.signal(number, _stop_or_defer)
    atexit._run_exitfuncs()  # CPython's own call at exit; stop signals during it end the process at once
    _exit_now()


def _exit_now() -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing more can be said there
            stream.flush()
    os._exit(_exit_status if _exit_status is not None else 0)


@contextlib.contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """SIGINT and SIGTERM arriving inside are recorded in the list it yields instead of
    interrupting (the caller decides what they mean once it is safe); a second one interrupts at
    once. Outside the main thread, where signals cannot be handled, nothing changes."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    held.extend(_pending)  # a signal that was waiting for an import to end: now held, decided on afterwards
    _stop_waiting()
    previous = {number: signal.getsignal(number) for number in _handled(_STOP_SIGNALS)}

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
            if handler is not None:
                signal.signal(number, handler)
