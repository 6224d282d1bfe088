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


def test_a_signal_once_the_work_is_done_interrupts_nothing(tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import os, signal, time
        from engine._interrupts import interrupts_outside_imports, work_done
        with interrupts_outside_imports():
            work_done()
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
        print("finished")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["finished"], (done.returncode, done.stdout, done.stderr)


def test_end_process__runs_the_clean_up_and_ends_though_a_worker_thread_never_stops() -> None:
    # A thread nobody stops (as a thread pool's, when an interruption lands while it starts one):
    # Python's own end would wait for it for ever.
    code = textwrap.dedent("""
        import atexit, threading
        from engine._interrupts import end_process
        threading.Thread(target=threading.Event().wait).start()
        atexit.register(lambda: print("clean-up ran", flush=True))
        print("work done", end="\\n")
        end_process(3)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and done.stdout.splitlines() == ["work done", "clean-up ran"], (done.returncode, done.stdout, done.stderr)


def test_an_interruption_says_which_outputs_are_already_complete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from engine.cli import run_handler
    from engine.io._atomic import commit, temporary_sibling
    from engine.progress import MessagesOnly

    first, second = tmp_path / "date1.tif", tmp_path / "date2.tif"

    def writes_one_then_is_stopped(args: argparse.Namespace, reporter: object) -> int:
        temporary = temporary_sibling(first)
        temporary.write_bytes(b"complete")
        commit(temporary, first, overwrite=False)
        raise KeyboardInterrupt  # before the second date

    assert run_handler(writes_one_then_is_stopped, argparse.Namespace(output=str(tmp_path)), MessagesOnly()) == 130
    said = capsys.readouterr().err
    assert f"interrupted after writing {first} (complete); nothing else was written" in said and not second.exists()

    second.write_bytes(b"the user's")

    def stopped_at_once(args: argparse.Namespace, reporter: object) -> int:
        raise KeyboardInterrupt

    # Another command in the same process: the first one's output is not this one's.
    assert run_handler(stopped_at_once, argparse.Namespace(output=str(second)), MessagesOnly()) == 130
    assert f"interrupted; nothing was written to {second} (what was there is unchanged)" in capsys.readouterr().err


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_a_signal_waiting_for_an_import_is_held_by_a_section_that_must_not_be_cut(tmp_path: Path) -> None:
    # As when a Cancel comes while distributed is imported and the LocalCluster then starts: the
    # waiting signal joins the held ones, and is not raised half-way through the start.
    (tmp_path / "signalling_module.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    done = _python(f"""
        import signal, sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        from engine._interrupts import interrupts_held, interrupts_outside_imports
        with interrupts_outside_imports():
            import signalling_module
            with interrupts_held() as held:
                time.sleep(0.2)  # ten re-checks' time
                print("held whole:", held == [signal.SIGTERM], flush=True)
        print("finished")
    """)
    assert done.returncode == 0 and done.stdout.splitlines() == ["held whole: True", "finished"], (done.stdout, done.stderr)


def test_the_callers_alarm_and_ignored_signals_are_left_alone() -> None:
    done = _python("""
        import os, signal, time
        from engine._interrupts import interrupts_outside_imports
        mine = lambda signum, frame: print("the caller's alarm", flush=True)
        signal.signal(signal.SIGALRM, mine)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `cmd &` in a script
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with interrupts_outside_imports():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.3)
        print("finished", signal.getsignal(signal.SIGALRM) is mine, signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
    """)
    assert done.returncode == 0 and done.stdout.splitlines() == ["the caller's alarm", "finished True True"], (done.stdout, done.stderr)
