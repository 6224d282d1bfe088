"""Setting up the engine from QGIS alone: a virtual environment under the QGIS profile, with the
engine installed from the wheel shipped in the plugin ZIP and its dependencies from the package
index, the way the Deepness or OTB plugins install what they need.

A failed or cancelled set-up leaves nothing half-installed (and an earlier environment, kept
aside meanwhile, comes back); an existing folder is replaced only when this plugin made it (it
holds ``MARKER``).
"""

import glob
import os
import shutil
import subprocess
import sys
import threading
import uuid
from queue import Empty, Queue

from qgis.core import QgsApplication, QgsProcessingException

from .engine_cli import clean_environment, query_methods

#: A folder this plugin made for the engine holds this file.
MARKER = ".despeckle-engine"
WHEELS = os.path.join(os.path.dirname(__file__), "engine")


def default_folder():
    """``<QGIS profile>/despeckle-engine``: per profile, writable, removed with the profile."""
    return os.path.join(QgsApplication.qgisSettingsDirPath(), "despeckle-engine")


def bundled_wheel():
    """The engine wheel shipped in the plugin ZIP (``make plugin`` puts it there), or None."""
    found = sorted(glob.glob(os.path.join(WHEELS, "despeckle-*.whl")))
    return found[-1] if found else None


def base_python():
    """A Python (3.10 or later) to create the environment with: not QGIS's own interpreter, whose
    site-packages the engine must never see, but a system one (Windows: the one QGIS ships)."""
    candidates = [shutil.which(name) for name in ("python3", "python")]
    if os.name == "nt":
        candidates.insert(0, os.path.join(sys.exec_prefix, "python3.exe"))
    for candidate in filter(None, candidates):
        try:
            done = subprocess.run([candidate, "-c", "import sys, venv; print(sys.version_info >= (3, 10))"], capture_output=True,
                                  text=True, timeout=60, env=clean_environment())
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == "True":
            return candidate
    raise QgsProcessingException(
        "no Python 3.10 or later with the venv module was found to create the engine's environment. Install one "
        "(Debian/Ubuntu: sudo apt install python3-venv) and run this again"
    )


def executable_in(folder):
    return os.path.join(folder, "Scripts", "despeckle.exe") if os.name == "nt" else os.path.join(folder, "bin", "despeckle")


def _python_in(folder):
    return os.path.join(folder, "Scripts", "python.exe") if os.name == "nt" else os.path.join(folder, "bin", "python")


def _pump(stream, queue):
    for line in iter(stream.readline, ""):
        queue.put(line)
    queue.put(None)


def _run(command, feedback, start, stop):
    """Run ``command``, its output to the log, progress from ``start`` to ``stop`` as pip reports
    packages; a cancel stops it. Returns False when cancelled."""
    feedback.pushCommandInfo(" ".join(command))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_environment(), bufsize=1)
    lines = Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    steps, tail = 0, []
    with process:
        while True:
            if feedback.isCanceled():
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                return False
            try:
                line = lines.get(timeout=0.2)
            except Empty:
                continue
            if line is None:
                break
            text = line.rstrip()
            tail = (tail + [text])[-20:]
            feedback.pushConsoleInfo(text)
            if text.startswith(("Collecting", "Processing", "Installing", "Successfully")):
                steps += 1  # about 60 packages for the filters, more with PyTorch: approach stop, never pass it
                feedback.setProgress(start + (stop - start) * steps / (steps + 20.0))
        process.wait()
    if process.returncode != 0:
        raise QgsProcessingException(f"{os.path.basename(command[0])} failed (exit status {process.returncode}):\n" + "\n".join(tail))
    return True


def set_up_engine(folder, feedback, *, wheel=None, models=False, index_url=None):
    """Create a virtual environment at ``folder`` with the engine installed (``models``: with
    PyTorch for the deep models, the CPU build), check that it answers, and return its
    ``despeckle`` executable; None when cancelled (nothing is left)."""
    folder = os.path.abspath(os.path.expanduser(folder))
    wheel = wheel or bundled_wheel()
    if not wheel or not os.path.isfile(wheel):
        raise QgsProcessingException(f"the engine wheel {wheel or '(none shipped in this plugin)'} is missing: give the path of a "
                                     "despeckle-*.whl, or build the plugin with 'make plugin', which ships one")
    if os.path.lexists(folder) and not os.path.isfile(os.path.join(folder, MARKER)):
        raise QgsProcessingException(f"{folder} exists and was not made by this plugin; it is never replaced. Choose another folder")
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    # A venv's scripts name its own path, so it is built in place; an earlier one (ours) waits
    # aside and comes back if this set-up fails or is cancelled.
    previous = None
    if os.path.lexists(folder):
        previous = os.path.join(parent, f".{os.path.basename(folder)}.{uuid.uuid4().hex[:8]}.previous")
        os.replace(folder, previous)
    finished = False
    try:
        if not _run([base_python(), "-m", "venv", folder], feedback, 0, 10):
            return None
        with open(os.path.join(folder, MARKER), "w", encoding="utf-8") as handle:
            handle.write("made by the despeckle QGIS plugin ('Set up the despeckle engine'); it may replace this folder\n")
        # PyTorch from its CPU index: the package index's default build is the multi-GB CUDA one.
        extras = ["--extra-index-url", "https://download.pytorch.org/whl/cpu"] if models else []
        index = ["--index-url", index_url] if index_url else []
        target = f"{wheel}[models]" if models else wheel
        if not _run([_python_in(folder), "-m", "pip", "install", "--disable-pip-version-check", *index, *extras, target], feedback, 10, 97):
            return None
        executable = executable_in(folder)
        query_methods(executable)  # raises, with the reason, when the engine does not answer
        finished = True
    finally:
        if not finished:
            shutil.rmtree(folder, ignore_errors=True)
            if previous is not None:
                os.replace(previous, folder)
        elif previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    feedback.setProgress(100)
    return executable
