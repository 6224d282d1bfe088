"""Ctrl-C and SIGTERM are raised only outside imports (``engine._interrupts``).

Each case runs in its own interpreter: a module whose body signals its own process stands for
QGIS cancelling a command while it imports numpy or PyTorch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_RUNNER = """
    import sys, time
    sys.path.insert(0, {folder!r})
    from engine._interrupts import interrupts_outside_imports
    try:
        with interrupts_outside_imports():
            import signalling_module
            print("imported whole:", signalling_module.WHOLE, flush=True)
            {after}
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted; imported whole:", getattr(sys.modules.get("signalling_module"), "WHOLE", False), flush=True)
"""


def _run(tmp_path: Path, module_body: str, after: str = "time.sleep(30)") -> str:
    (tmp_path / "signalling_module.py").write_text(textwrap.dedent(module_body))
    code = textwrap.dedent(_RUNNER).format(folder=str(tmp_path), after=after)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_during_an_import_waits_for_its_end(tmp_path: Path, sig: str) -> None:
    out = _run(tmp_path, f"""
        import os, signal, time
        os.kill(os.getpid(), signal.{sig})
        time.sleep(0.3)  # a long import: still nothing raised half-way
        WHOLE = True
    """)
    assert out.splitlines() == ["imported whole: True", "interrupted; imported whole: True"]


def test_a_second_signal_stops_a_hanging_import_at_once(tmp_path: Path) -> None:
    out = _run(tmp_path, """
        import os, signal, time
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
        WHOLE = True
    """)
    assert out.splitlines() == ["interrupted; imported whole: False"]


def test_work_that_finished_while_a_signal_waited_is_not_an_interruption(tmp_path: Path) -> None:
    # The signal arrives during the block's last statement, an import: leaving the block (microseconds
    # later, long before the 20 ms re-check) forgets it, and no re-check alarm outlives the block.
    (tmp_path / "signalling_module.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\nWHOLE = True\n")
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        from engine._interrupts import interrupts_outside_imports
        with interrupts_outside_imports():
            import signalling_module
        time.sleep(0.2)
        print("finished", signalling_module.WHOLE)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["finished", "True"], (done.returncode, done.stdout, done.stderr)
