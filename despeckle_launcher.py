"""The ``despeckle`` console script: starts fast, and is interruptible from its first instant.

The commands that compute import the engine's numerical libraries (xarray, dask, rasterio,
numba: about a second); QGIS pays it on every run. This launcher answers ``--version`` without
importing even the engine's package, and turns Ctrl-C or SIGTERM during those imports into the
same one-line message and exit status 130 as during a run, instead of a traceback (SIGINT) or a
silent status 143 (SIGTERM), raised only once the import under way is over
(``engine._interrupts`` says why). Everything else is ``engine.cli.main`` (which imports only the
chosen command's module). It lives outside the ``engine`` package on purpose: importing
``engine.cli`` imports ``engine``.
"""

from __future__ import annotations

import signal
import sys

INTERRUPTED = "despeckle: error: interrupted while starting; nothing was written"


#: Stop signals that came before the engine's handler was in place (its import takes ~15 ms).
_early: list[int] = []


def main() -> int:
    """Run the command line; a command ends the process itself (``engine._interrupts.end_process``)."""
    arguments = sys.argv[1:]
    if arguments in (["--version"], ["-V"]):
        from importlib.metadata import version

        print(f"despeckle {version('despeckle')}")
        return 0
    for number in (signal.SIGINT, signal.SIGTERM):  # from the first instant: noted, acted on below
        if signal.getsignal(number) is not signal.SIG_IGN:  # ignored by whoever started us (cmd & in a script): stays so
            signal.signal(number, lambda signum, frame: _early.append(signum))
    from engine._interrupts import end_process, interrupts_outside_imports  # the standard library only

    with interrupts_outside_imports():
        try:
            if _early:
                raise KeyboardInterrupt
            from engine.cli import main as engine_main

            status = engine_main(arguments)
        except KeyboardInterrupt:  # before the command ran (a running command says so itself)
            print(INTERRUPTED, file=sys.stderr)
            status = 130
    end_process(status)


if __name__ == "__main__":
    sys.exit(main())
