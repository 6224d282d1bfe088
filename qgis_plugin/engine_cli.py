"""Finding and running the despeckle engine's command line, out of process.

The engine lives in its own Python environment (numpy 2, dask, torch) and must not be imported
into QGIS's Python. The provider runs the ``despeckle`` executable instead, the way QGIS runs
GRASS or OTB: it reads JSON progress lines, forwards messages to the Processing log, and
terminates the process on cancel (the engine then removes its partial output).
"""

import json
import os
import re
import shutil
import subprocess
import threading
from queue import Empty, Queue

from qgis.core import QgsProcessingException

SETTING = "DESPECKLE_EXECUTABLE"
INSTALL_HINT = (
    "The despeckle engine was not found. Run 'Set up the despeckle engine' (Processing Toolbox > Despeckle > Engine): "
    "it installs the engine in its own environment under your QGIS profile. Or install it yourself "
    "(python3 -m venv ~/despeckle-env && ~/despeckle-env/bin/pip install '/path/to/despeckle[models]') and set "
    "~/despeckle-env/bin/despeckle in Settings > Options > Processing > Providers > Despeckle > 'despeckle executable', "
    "or in the DESPECKLE_EXECUTABLE environment variable, or put it on the PATH."
)


def configured_executable():
    """The executable: the Processing setting, else $DESPECKLE_EXECUTABLE, else the PATH."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        value = ProcessingConfig.getSetting(SETTING)
    except Exception:  # settings not registered yet (provider loading)
        value = None
    return value or os.environ.get(SETTING) or shutil.which("despeckle") or ""


def clean_environment():
    """The environment for the engine: without QGIS's Python paths, which would make the
    engine's Python load QGIS's numpy and GDAL bindings."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def check_executable(path):
    if not path:
        raise QgsProcessingException(INSTALL_HINT)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise QgsProcessingException(f"'{path}' is not an executable file. {INSTALL_HINT}")
    return path


#: Versions of the engine's ``despeckle methods --json`` contract this plugin understands.
CONTRACT_VERSIONS = (1,)


def query_methods(path, timeout=120):
    """The engine's contract (``despeckle methods --json``: methods, domains, compressions...) and
    version; raises on a broken engine or a contract this plugin does not know."""
    check_executable(path)
    try:
        done = subprocess.run([path, "methods", "--json"], capture_output=True, text=True, timeout=timeout, env=clean_environment())
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=timeout, env=clean_environment())
    except (OSError, subprocess.TimeoutExpired) as error:
        raise QgsProcessingException(f"the despeckle engine at '{path}' does not run: {error}. {INSTALL_HINT}") from None
    if done.returncode != 0:
        raise QgsProcessingException(f"the despeckle engine at '{path}' failed: {done.stderr.strip()[-500:]}. {INSTALL_HINT}")
    try:
        contract = json.loads(done.stdout)
    except ValueError:
        raise QgsProcessingException(f"the despeckle engine at '{path}' printed no method list. {INSTALL_HINT}") from None
    found = contract.get("contract_version") if isinstance(contract, dict) else None
    if found not in CONTRACT_VERSIONS:
        raise QgsProcessingException(
            f"the despeckle engine at '{path}' speaks contract version {found}; this plugin understands "
            f"{', '.join(map(str, CONTRACT_VERSIONS))}. Install matching versions of the plugin and the engine."
        )
    return contract, version.stdout.strip()


def _pump(stream, queue):
    try:
        for line in iter(stream.readline, ""):
            queue.put(line)
    except (OSError, ValueError):  # the pipe was closed: the run is over
        pass
    queue.put(None)


#: The engine's hints name Python arguments and command-line flags (``pass domain='db' (--domain
#: db)``); in QGIS they are said with the dialog's labels instead.
_HINT = re.compile(r"pass (\w+)=['\"]?([\w.+-]+)['\"]? \((--[\w-]+)[^)]*\)")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")


def in_dialog_words(message, labels):
    """``message`` with the flags that have a dialog label (``labels``: flag -> label) said as
    the dialog says them: "pass domain='db' (--domain db)" -> "set 'The input holds' to db"."""
    if not message or not labels:
        return message

    def hint(match):
        label = labels.get(match.group(3))
        return f"set '{label}' to {match.group(2)}" if label else match.group(0)

    message = _HINT.sub(hint, message)
    return _FLAG.sub(lambda m: f"'{labels[m.group(1)]}'" if m.group(1) in labels else m.group(0), message)


def run_engine(arguments, feedback, *, phase_weights=None, labels=None):
    """Run ``despeckle ARGUMENTS --progress json``; return the 'result' event (a dict).
    ``labels`` (flag -> dialog label) turn the engine's hints into the dialog's words.

    Progress events drive ``feedback.setProgress``; log lines and warnings go to the Processing
    log; cancelling terminates the engine, which removes its partial output before exiting.
    """
    path = check_executable(configured_executable())
    command = [path, *[str(a) for a in arguments], "--progress", "json"]
    feedback.pushCommandInfo(" ".join(command))
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_environment(), bufsize=1)
    except OSError as error:
        raise QgsProcessingException(f"cannot start the despeckle engine '{path}': {error}. {INSTALL_HINT}") from None
    with process:  # closes the pipes whichever way the run ends
        return _follow(process, feedback, labels or {})


def _follow(process, feedback, labels):
    """Map the engine's JSON events to ``feedback`` until it exits (or is cancelled)."""
    lines, errors = Queue(), Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    threading.Thread(target=_pump, args=(process.stderr, errors), daemon=True).start()
    result, error_message, finished_streams = None, None, 0
    phases_seen = []
    shown = 0.0  # the bar never goes back, even when a new phase starts
    while finished_streams < 1:
        if feedback.isCanceled():
            process.terminate()  # the engine treats SIGTERM like Ctrl-C: clean up, exit
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            feedback.reportError("cancelled: the despeckle engine was stopped and left no output", False)
            return None
        try:
            line = lines.get(timeout=0.1)
        except Empty:
            continue
        if line is None:
            finished_streams += 1
            continue
        try:
            event = json.loads(line)
        except ValueError:
            feedback.pushConsoleInfo(line.rstrip())
            continue
        kind = event.get("event")
        if kind == "start" and event.get("phase") not in phases_seen:
            phases_seen.append(event.get("phase"))
            feedback.pushInfo(f"{event.get('phase')}: {event.get('total')} steps")
        elif kind == "progress":
            done_before = max(0, len(phases_seen) - 1)
            fraction = (done_before + float(event.get("fraction", 0.0))) / max(1, len(phases_seen))
            shown = max(shown, 100.0 * min(1.0, fraction))
            feedback.setProgress(shown)
        elif kind == "log":
            message = in_dialog_words(event.get("message", ""), labels)  # hints said with the dialog's labels
            (feedback.reportError if event.get("level") == "error" else feedback.pushWarning if event.get("level") == "warning" else feedback.pushInfo)(message)
        elif kind == "error":
            error_message = in_dialog_words(event.get("message"), labels)
        elif kind == "result":
            result = event
    process.wait()
    while not errors.empty():
        line = errors.get()
        if line and not line.startswith("despeckle: error:"):
            feedback.pushConsoleInfo(line.rstrip())
    if process.returncode != 0:
        raise QgsProcessingException(error_message or f"the despeckle engine failed (exit status {process.returncode})")
    feedback.setProgress(100.0)
    return result or {}
