"""Where the work runs: dask's local threads, a LocalCluster of processes, or a remote scheduler.

``open_runner(spec)`` turns a ``--scheduler`` value into a :class:`Runner`; the same task graph
runs on each. No home-made job system: this only chooses and drives a dask scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dask
import dask.local
import dask.threaded
from dask.callbacks import Callback

from engine._interrupts import interrupts_held
from engine.exceptions import ParameterError
from engine.progress import Reporter, cancellable, work_stopped

SCHEDULER_HELP = (
    "'threads' (default: local threads), 'sync' (one thread, for debugging), an integer N or "
    "'local:N' (a dask.distributed LocalCluster of N worker processes), or a scheduler address "
    "such as tcp://10.0.0.5:8786"
)

_local_locks: dict[str, threading.Lock] = {}
_local_locks_guard = threading.Lock()


def named_lock(name: str) -> Any:
    """A lock shared by every task writing one output: a distributed lock on a cluster worker,
    a process-wide threading lock otherwise. Tasks carry only the name, so they pickle."""
    # A worker process has imported distributed; asking anywhere else would import it (0.2 s).
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        try:
            distributed.get_worker()
            return distributed.Lock(name)
        except ValueError:  # this process is no worker (a client, or a plain run after one)
            pass
    with _local_locks_guard:
        return _local_locks.setdefault(name, threading.Lock())


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


class Runner:
    """Computes a list of dask objects and reports progress."""

    description = "local threads"

    def compute(self, tasks: Sequence[Any], reporter: Reporter) -> list[Any]:
        raise NotImplementedError


class LocalRunner(Runner):
    def __init__(self, scheduler: str = "threads", num_workers: int | None = None) -> None:
        self.scheduler = scheduler
        self.num_workers = num_workers
        self.description = "one thread" if scheduler == "sync" else "local threads"

    def compute(self, tasks: Sequence[Any], reporter: Reporter) -> list[Any]:
        # The scheduler function itself, not its name: given a name, dask imports
        # dask.distributed (0.3 s) just to look for a default client.
        if self.scheduler == "sync":
            with DaskProgress(reporter):
                return list(dask.compute(*tasks, scheduler=dask.local.get_sync))
        # Our own pool, so that after a failure or Ctrl-C the blocks still being computed finish
        # (and see the run is cancelled) before the caller removes the partial output.
        # cancellable: model kernels running in the pool stop at their next batch of windows.
        pool = ThreadPoolExecutor(self.num_workers or os.cpu_count() or 1)
        try:
            with cancellable(), DaskProgress(reporter):
                return list(dask.compute(*tasks, scheduler=dask.threaded.get, pool=pool))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            work_stopped()


class DistributedRunner(Runner):
    def __init__(self, client: Any, description: str) -> None:
        self.client = client
        self.description = description

    def compute(self, tasks: Sequence[Any], reporter: Reporter) -> list[Any]:
        from distributed import as_completed

        futures = self.client.compute(list(tasks))
        try:
            done = 0
            for _ in as_completed(futures):
                done += 1
                reporter.update(done, len(futures))
            return list(self.client.gather(futures))
        except BaseException:
            self.client.cancel(futures)
            raise


@contextlib.contextmanager
def open_runner(spec: str | int | None = None, *, num_workers: int | None = None) -> Iterator[Runner]:
    """Start (and afterwards stop) what ``spec`` names; see :data:`SCHEDULER_HELP`."""
    text = "threads" if spec is None else str(spec).strip()
    if text in ("threads", "sync", "synchronous"):
        yield LocalRunner("sync" if text != "threads" else "threads", num_workers)
        return
    match = re.fullmatch(r"(?:local:)?(\d+)", text)
    if match:
        workers = int(match.group(1))
        if workers < 1:
            raise ParameterError(f"a local cluster needs at least one worker, got {text!r}")
        from distributed import Client, LocalCluster

        # Started and stopped with Ctrl-C and SIGTERM held: a cluster interrupted half started is
        # left to distributed's exit hook, which fails on it with a traceback; one interrupted while
        # it closes after a finished run would make that run look interrupted.
        with interrupts_held() as held:
            # silence_logs: a task's error reaches the caller as an exception, said once and clearly;
            # the workers' own logs would print it again as tracebacks.
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.CRITICAL
            )
            try:
                client = Client(cluster)
            except BaseException:
                cluster.close()
                raise
        try:
            if held:
                raise KeyboardInterrupt
            yield DistributedRunner(client, f"LocalCluster of {workers} worker processes")
        finally:
            with interrupts_held():
                client.close()
                cluster.close()
        return
    if re.fullmatch(r"(tcp|tls|ws|wss|inproc|ucx)://\S+", text):
        from distributed import Client

        try:
            client = Client(text, timeout="20s")
        except OSError as error:
            raise ParameterError(f"cannot reach the dask scheduler at {text}: {error}") from None
        with client:
            yield DistributedRunner(client, f"dask scheduler at {text}")
        return
    raise ParameterError(f"unknown scheduler {spec!r}; use {SCHEDULER_HELP}")
