"""How ``run(..., workers=N)`` and a ``--dask local`` cluster start their worker processes: forked
from one server process that imported TensorFlow once, not each a fresh interpreter importing it again.

Python's ``forkserver`` start method runs one clean server process per parent (it imports
``tunekit.execution._preload``: TensorFlow, Keras and the worker's code) and forks every worker
from it. ``run(workers=N)`` starts it first thing (``start_early``), so that its import overlaps
the run's own start (data, database, strategy); one no worker came from is stopped at exit.
TensorFlow is not fork-safe once it has run an op, and the server never runs one: importing
starts no TensorFlow thread, so each forked worker sizes its own thread pools as a spawned one
would. The N workers of a run then cost one TensorFlow import, not N (about 5 CPU s each on a
2-core machine), share its memory pages, and a later run from the same program (a notebook)
reuses the server.

A forked worker is made to match a spawned one where the server differs from the parent at
the time of the run: it takes the parent's environment and its stdout and stderr as they are
now (``adopt``), and it watches the parent through a pipe (``ParentWatch``), since its own
parent process is the server. TensorFlow reads some environment variables once, when it is
imported (``TF_ENABLE_ONEDNN_OPTS``, ``TF_CPP_MIN_LOG_LEVEL``): a run whose ``TF_*`` /
``KERAS_*`` variables differ from those the server imported TensorFlow with spawns fresh
workers instead, as it does off Linux, or where the environment says
``TUNEKIT_WORKER_START=spawn`` (the old way, to rule the fork server out when a worker
misbehaves, and for ``benchmarks/worker_start.py``).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
from collections.abc import Mapping
from multiprocessing import reduction
from typing import Any

#: The module the server imports before it forks a worker.
PRELOAD = "tunekit.execution._preload"
#: Environment variables whose value TensorFlow or Keras may read when they are imported.
_IMPORT_TIME = ("TF_", "KERAS_", "CUDA_", "TUNEKIT_TF_")

_server_environment: dict[str, str] | None = None  # the import-time variables the server started with


def _import_time(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith(_IMPORT_TIME)}


def context() -> Any:
    """The multiprocessing context for this run's workers: ``forkserver`` with TensorFlow
    preloaded, or ``spawn`` off Linux (macOS forbids forking after some of its system frameworks
    are loaded, as numpy's may be), where the environment asks for it, or where the server imported
    TensorFlow under other ``TF_*`` settings than this process has now."""
    global _server_environment
    if (os.environ.get("TUNEKIT_WORKER_START", "").strip().lower() == "spawn" or not sys.platform.startswith("linux")
            or "forkserver" not in multiprocessing.get_all_start_methods()):
        return multiprocessing.get_context("spawn")
    now = _import_time(os.environ)
    if _server_environment is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([PRELOAD])  # read when the server starts (the first worker's start)
        _server_environment = now
        return ctx
    return multiprocessing.get_context("forkserver" if now == _server_environment else "spawn")


#: Blocked while the fork server starts: its forks inherit the mask, so that a Ctrl-C to the
#: process group reaches a worker only once its own handlers are set (it unblocks them then).
START_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def ensure_server(ctx: Any, *, early: bool = False) -> None:
    """Start the fork server where ``ctx`` forks from one and it is not running yet, with
    ``START_SIGNALS`` blocked: the server keeps them blocked (a Ctrl-C or SIGTERM to the process group
    does not end it), and each fork starts with them blocked until its own handlers are set. Called
    before the server's first fork (a server ``start_early`` started is in use from then on), and by
    ``start_early`` (``early``: not in use yet)."""
    global _early
    _early = early
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver, resource_tracker

    resource_tracker.ensure_running()  # first: started inside ensure_running below it would unblock them
    signal.pthread_sigmask(signal.SIG_BLOCK, START_SIGNALS)
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, START_SIGNALS)


_early = False  # the server was started by start_early, and no worker was forked from it yet


def start_early() -> None:
    """Start the fork server now, where the run's workers will be forked from it: its TensorFlow
    import (most of a worker's start) then overlaps what this process does before it starts
    them (loading the data, opening the database, the strategy). A server no worker was forked from
    is stopped when this process exits (a run that stopped on a bad input), not left importing.
    Nothing where the server runs already (a notebook's second run) or workers are spawned."""
    from multiprocessing import forkserver

    ctx = context()
    server = forkserver._forkserver
    if ctx.get_start_method() != "forkserver" or getattr(server, "_forkserver_pid", None) is not None:
        return
    # first: a Ctrl-C that lands as the server starts (when its signals are unblocked again) ends this
    # process with a server already running, which would hold its stdout and stderr until its import ends
    atexit.register(_stop_unused)
    ensure_server(ctx, early=True)


def _stop_unused() -> None:
    """At exit: end the server ``start_early`` started if no worker was forked from it (it blocks
    SIGTERM, and would finish importing TensorFlow before it saw this process gone)."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if not _early or pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
        forkserver._forkserver._stop()  # reaps it and removes its socket
    except (OSError, AttributeError):
        pass


class InheritedFd:
    """A file descriptor of the parent, passed to the worker (pickled as multiprocessing
    passes a pipe's end); in the worker, ``fd()`` is its number there."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return _rebuilt, (reduction.DupFd(self._fd),)

    def fd(self) -> int:
        return self._fd


def _rebuilt(dup: Any) -> InheritedFd:
    return InheritedFd(dup.detach())


def parent_state() -> tuple[dict[str, str], list[InheritedFd | None]]:
    """What ``adopt`` gives the worker: this process's environment, stdout and stderr now."""
    stdio: list[InheritedFd | None] = []
    for fd in (1, 2):
        try:
            os.fstat(fd)
            stdio.append(InheritedFd(fd))
        except OSError:  # closed: the worker keeps its own
            stdio.append(None)
    return dict(os.environ), stdio


def adopt(environ: dict[str, str], stdio: list[InheritedFd | None]) -> None:
    """In the worker, first thing: the parent's environment (what the server's own import set,
    TensorFlow's log level, kept where the parent has none) and its stdout and stderr."""
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ.clear()
    os.environ.update(environ)
    if level is not None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", level)
    for target, inherited in zip((1, 2), stdio):
        if inherited is not None and inherited.fd() != target:
            (sys.stdout if target == 1 else sys.stderr).flush()
            os.dup2(inherited.fd(), target)
            os.close(inherited.fd())


class ParentWatch:
    """Whether the process that started this worker still runs: the read end of a pipe whose
    only write end that process holds (the worker's parent process is the fork server, which
    outlives it while any worker runs, so ``os.getppid()`` cannot tell)."""

    def __init__(self, ctx: Any) -> None:
        self._reader, self._writer = ctx.Pipe(duplex=False)

    def for_child(self) -> Any:
        return self._reader

    def close(self) -> None:
        self._writer.close()
        self._reader.close()

    @staticmethod
    def alive(reader: Any) -> bool:
        """In the worker: False once the parent has exited (its end closed: the pipe reads EOF)."""
        try:
            return not reader.poll()
        except (EOFError, OSError):
            return False
