"""Outputs appear complete or not at all.

Everything is written under a temporary name beside the target (same folder, so the final move
is an atomic rename on one file system) and moved into place only when complete. After a
failure or an interruption the temporary file is removed; a Zarr store being written with resume
support is kept (as ``<name>.partial``) so the run can continue.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from engine.exceptions import OutputError, OutputExistsError

T = TypeVar("T")

#: Blocks still being written when a run is cancelled check this set and stop writing.
CANCELLED: set[str] = set()
#: A folder this tool made (a Zarr store, a tile set) holds this file: ``overwrite`` may replace
#: such a folder, never one it did not make.
OWNER_MARKER = ".despeckle-output"


def mark_as_ours(folder: Path) -> None:
    """Record that ``folder`` (an output being written) was made by this tool."""
    (folder / OWNER_MARKER).write_text("written by despeckle; 'despeckle ... --overwrite' may replace this folder\n")


def made_by_us(folder: Path) -> bool:
    return (folder / OWNER_MARKER).is_file()


def check_output_path(target: Path, *, overwrite: bool, inputs: tuple[Path, ...] = (), folder: bool = False) -> Path:
    """Refuse, before any work starts, an output that cannot or must not be written (``folder``:
    the output is a folder, which never replaces a file)."""
    target = Path(target).expanduser()
    parent = target.parent.resolve()
    if not parent.is_dir():
        raise OutputError(f"the output folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"the output folder {parent} is not writable")
    resolved = (parent / target.name).resolve()
    for source in inputs:
        source = Path(source).resolve()
        if source == resolved:
            raise OutputError(f"the output {target} is the input; choose another output path")
        if resolved in source.parents:  # replacing the folder would delete the input
            raise OutputError(f"the output {target} is a folder holding the input {source.name}; choose another output path")
    _check_name_length(target, parent)
    if target.is_symlink() and not target.exists() and not overwrite:
        raise OutputExistsError(f"{target} is a dangling symbolic link; pass overwrite=True (--overwrite) to replace the link")
    if _empty_folder(target):
        return target  # nothing to lose: an empty folder (made in a folder picker) takes the output
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} already exists; pass overwrite=True (--overwrite) to replace it")
    if folder and target.exists() and not target.is_dir():
        raise OutputExistsError(f"{target} is a file; the output is a folder, which never replaces a file. Choose another output path")
    if target.is_dir() and not target.is_symlink() and not made_by_us(target):
        raise OutputExistsError(
            f"{target} is a folder despeckle did not make; it is never replaced, even with --overwrite. "
            "Choose another output path, or remove the folder yourself"
        )
    return target


def _empty_folder(target: Path) -> bool:
    try:
        return target.is_dir() and not target.is_symlink() and not any(target.iterdir())
    except OSError:
        return False


def _check_name_length(target: Path, parent: Path) -> None:
    try:
        limit = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    size = len(target.name.encode())
    # The longest temporary name: the largest process number Linux gives (2^22).
    extra = len(_temporary_name(target.name, f"{_HOST}-{2**22}").encode()) - size
    if size + extra > limit:
        raise OutputError(
            f"the output name is {size} bytes long; this file system allows {limit}, and despeckle needs "
            f"{extra} more for the temporary name it writes under: choose a shorter name"
        )


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


#: This machine, in temporary names: a process may only judge the liveness of its own host's.
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _owner() -> str:
    """This host and process, as temporaries and locks name their writer."""
    return f"{_HOST}-{os.getpid()}"


def _owner_gone(owner: str) -> bool:
    """Whether the writer an owner tag names ran on this host and is no longer running."""
    host, _, pid = owner.partition("-")
    return host == _HOST and pid.isdigit() and not _running(int(pid))


def _temporary_name(name: str, owner: str) -> str:
    return f".{name}.{owner}-{uuid.uuid4().hex[:8]}.partial"


def temporary_sibling(target: Path) -> Path:
    """A hidden, unique name beside ``target``, naming the host and process that write it.

    Temporaries a killed run left beside ``target`` (same host, process gone) are removed first:
    nobody else can finish them, and they may be large."""
    remove_stale_temporaries(target)
    return target.parent / _temporary_name(target.name, _owner())


def remove_stale_temporaries(target: Path) -> None:
    """Remove the temporaries of ``target`` (and GDAL's files beside them) whose writer is gone."""
    prefix = f".{target.name}."
    try:
        # Also the temporaries of its temporaries (".<target's temporary>.<owner>..."): a picture's staging GeoTIFF.
        candidates = [p for p in target.parent.iterdir() if p.name.lstrip(".").startswith(prefix[1:]) and ".partial" in p.name]
    except OSError:
        return
    for candidate in candidates:
        first = candidate.name.lstrip(".")[len(prefix) - 1 :].split(".partial")[0]
        if _owner_gone(first.rsplit("-", 1)[0]):  # host-pid, before the random part of the outermost name
            remove(candidate)


@contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """Hold ``target`` for this process while the body writes it (a lock file beside it naming
    this host and process): a second run on the same output fails at once with a clear error
    instead of overwriting the first one's partial output. A lock whose process is gone (a
    killed run, on this host) is taken over."""
    lock = target.parent / f".{target.name}.lock"
    while True:
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                holder = lock.read_text().strip()
            except OSError:
                holder = ""
            if not _owner_gone(holder):
                pid = holder.partition("-")[2]
                raise OutputError(f"another despeckle run ({'process ' + pid if pid else 'unknown'}) is writing {target}; "
                                  "wait for it to finish, or choose another output") from None
            lock.unlink(missing_ok=True)  # left by a killed run: take it over
    with os.fdopen(descriptor, "w") as handle:
        handle.write(_owner())
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


#: What a failed write most likely means, by errno.
_WRITE_HINTS = {
    errno.ENOSPC: "the disk is full; free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied; write to a folder you may write to",
    errno.EPERM: "permission denied; write to a folder you may write to",
    errno.EROFS: "the file system is read-only",
}


def writing(target: Path, write: Callable[[], T]) -> T:
    """``write()``, with an operating-system error while writing ``target`` turned into a clear
    :class:`OutputError` (also inside dask workers, where it travels back to the caller)."""
    try:
        return write()
    except OutputError:
        raise
    except OSError as error:
        hint = _WRITE_HINTS.get(error.errno or 0)
        if hint is None and nearly_full(target.parent):
            # GDAL reports "Write failed" without the errno (libtiff printed it to stderr).
            hint = _WRITE_HINTS[errno.ENOSPC]
        failure = OutputError(f"writing {target} failed: {hint or error}; nothing was left at {target}")
    # Raised here, outside the handler, so without GDAL's exception as its context: dask.distributed
    # cannot unpickle that one, and would hand the caller a bare Exception instead.
    raise failure


def check_space(target: Path, needed_bytes: int) -> None:
    """Refuse, before writing, an output that cannot fit: GDAL defers uncompressed writes to when
    the file is closed, where a full disk goes unreported (libtiff prints it; no error is raised)."""
    try:
        free = shutil.disk_usage(target.parent).free
    except OSError:
        return
    if needed_bytes > free:
        raise OutputError(f"writing {target} needs {needed_bytes / 2**20:.1f} MiB and its disk has {free / 2**20:.1f} MiB free: "
                          "the disk is full; free some space or write elsewhere")


def nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 16 * 2**20
    except OSError:
        return False


def resumable_sibling(target: Path) -> Path:
    """A fixed name beside ``target`` that a later run can find and continue."""
    return target.parent / f"{target.name}.partial"


#: Every output this process has moved into place, in order: an interruption after some of them
#: says which are there (complete) instead of "nothing was written".
_COMMITTED: list[Path] = []


def committed_outputs() -> tuple[Path, ...]:
    """The outputs this process has moved into place so far (each complete)."""
    return tuple(_COMMITTED)


def commit(temporary: Path, target: Path, *, overwrite: bool) -> None:
    """Move a finished output into place; replace ``target`` only with ``overwrite``."""
    _move_into_place(temporary, target, overwrite=overwrite)
    _COMMITTED.append(target)


def _move_into_place(temporary: Path, target: Path, *, overwrite: bool) -> None:
    """``commit``'s move.

    Without it, an output that appeared while this run was writing (another run on the same
    path) is not clobbered: this run fails instead of both reporting success. An empty folder at
    ``target`` is taken, with or without ``overwrite``: nothing is lost."""
    if not overwrite:
        if _empty_folder(target):
            if temporary.is_dir():
                os.rename(temporary, target)  # POSIX: a folder replaces an empty folder atomically
                return
            target.rmdir()
        if temporary.is_dir():
            if target.exists() or target.is_symlink():
                raise _appeared(target)
            os.rename(temporary, target)
            return
        try:
            os.link(temporary, target)  # atomic: fails if the target exists
        except FileExistsError:
            raise _appeared(target) from None
        except OSError:  # no hard links on this file system
            if target.exists() or target.is_symlink():
                raise _appeared(target) from None
            os.replace(temporary, target)
            return
        os.unlink(temporary)
        return
    # Checked again here, not only before the run: what stands at the target now may have
    # appeared meanwhile, and only what this tool made (or a link, or nothing) is replaced.
    if target.is_symlink():
        target.unlink()  # the link, never what it points to
    elif target.is_dir() and not made_by_us(target) and not _empty_folder(target):
        raise OutputExistsError(f"{target} is a folder despeckle did not make (it appeared while this run was writing); it "
                                "was left as it is and this run's result was not kept")
    elif temporary.is_dir() and target.exists() and not target.is_dir():
        raise OutputExistsError(f"{target} is a file; a folder output never replaces a file. Choose another output path")
    if temporary.is_dir():
        if target.exists():
            # Directories cannot be replaced atomically: move the old one aside first.
            old = temporary_sibling(target)  # a killed run leaves a stale temporary, which the next run removes
            os.replace(target, old)
            os.replace(temporary, target)
            remove(old)
        else:
            os.replace(temporary, target)
    else:
        if target.is_dir():
            remove(target)
        os.replace(temporary, target)


def _appeared(target: Path) -> OutputExistsError:
    return OutputExistsError(f"{target} appeared while this run was writing it (another run on the same output?); "
                             "it was left as it is and this run's result was not kept")
