"""Worker processes for ``run(..., workers=N)``: start, watch, forward Ctrl-C, collect errors.

Each worker is forked from a server process that imported TensorFlow once and never ran an op
(``tunekit.execution._forkserver``; a fresh interpreter, ``spawn``, where that cannot be). It
runs in its own session, so a terminal's Ctrl-C reaches only the parent, which forwards one
SIGINT to every worker; a worker whose parent disappears stops after its current trial.
TensorFlow's thread pools are sized before TensorFlow's first op, so N workers share the
cores (``tunekit.execution._tf.thread_budget``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import tempfile
import time
from typing import Any

import cloudpickle
import optuna

from tunekit._errors import ConfigError, TunekitError
from tunekit._records import FINISHED, budget
from tunekit._seeds import TRAINING_SEED_LIMIT, derive_seed
from tunekit.execution._bootstrap import WorkerPlan
from tunekit.execution._forkserver import (START_SIGNALS, InheritedFd, ParentWatch, adopt, context, ensure_server,
                                            parent_state)
from tunekit.execution._loop import OnTrial
from tunekit.execution._resilient import DatabaseUnreachable, connection_error, db_retry_seconds
from tunekit.execution._signals import Interrupts
from tunekit.strategies import get_strategy

_STOP_SECONDS = 60.0
_AS_IS = 3  # an error whose message is shown as it is (not "worker N: ...")


def worker_seed(strategy: str, seed: int, *salt: int | str) -> int:
    """The sampler seed of one worker: the study's seed for a strategy whose points depend on
    the trial, not on the worker (``Strategy.shares_seed``: grid, random), else a distinct seed
    derived from ``salt`` (so workers do not all propose the same first points)."""
    if get_strategy(strategy).shares_seed or not any(salt):
        return seed
    return derive_seed(seed, *salt, below=TRAINING_SEED_LIMIT)


def worker_count(requested: int, remaining: int, cores: int | None = None) -> tuple[int, list[str]]:
    """How many worker processes to start for ``remaining`` trials, and the lines that say so:
    a ``note:`` when capped at the trials left, a ``warning:`` above the CPU cores."""
    cores = cores or os.cpu_count() or 1
    n = max(1, min(requested, remaining))
    lines = []
    if n < requested:
        lines.append(f"note: {requested} workers asked for, {remaining} trial{'s' if remaining != 1 else ''} "
                     f"left to run: starting {n} worker{'s' if n != 1 else ''}")
    if n > cores:
        lines.append(f"warning: {n} workers on {cores} CPU cores share them and each trains slower; "
                     f"--workers {cores} or fewer is usually faster")
    return n, lines


def _child(plan_path: str, index: int, n_workers: int, parent: Any, errors: Any,
           environ: dict[str, str], stdio: list[InheritedFd | None]) -> None:
    """A worker process. It starts with SIGINT and SIGTERM blocked (inherited from the fork
    server, or the parent, started with them blocked), so no signal interrupts it before its own
    handlers are in place. ``parent``: the read end of a ``ParentWatch`` pipe."""
    adopt(environ, stdio)
    os.setsid()  # the terminal's Ctrl-C goes to the parent only; it forwards one SIGINT
    code = 0
    try:
        with Interrupts() as interrupts:
            interrupts.enter_trial()  # until the worker loop starts, a signal stops it at once
            signal.pthread_sigmask(signal.SIG_UNBLOCK, START_SIGNALS)
            from tunekit.execution._tf import limit_tf_threads, quiet_optuna, thread_budget

            limit_tf_threads(thread_budget(n_workers))  # before the plan: a study file's build(hp) loads Keras
            with open(plan_path, "rb") as handle:
                plan: WorkerPlan = pickle.load(handle)
            quiet_optuna()
            study, storage = plan.open(worker_seed(plan.strategy, plan.seed, index))  # the one bootstrap
            runner = plan.runner()
            interrupts.leave_trial()
            plan.work(study, storage, runner, interrupts=interrupts, keep_going=lambda: ParentWatch.alive(parent))
    except KeyboardInterrupt:
        code = 130
    except ConfigError as exc:
        errors.send((index, 2, str(exc)))
        code = 2
    except DatabaseUnreachable as exc:  # its message says it all, in the user's terms
        errors.send((index, _AS_IS, str(exc)))
        code = 1
    except TunekitError as exc:  # e.g. WorkerStopped: "worker N: <why>"
        errors.send((index, 1, str(exc)))
        code = 1
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        from tunekit.storage._storage import disk_full

        full = disk_full(exc)  # a full disk: "disk full (N bytes free at PATH)", not Optuna's guess
        errors.send((index, _AS_IS, str(full)) if full else (index, 1, f"{type(exc).__name__}: {exc}"))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _Errors:
    """The workers' error reports, one pipe each: no semaphore (a ``SimpleQueue`` has one), so
    a parent killed with SIGKILL leaves no ``resource_tracker: leaked semaphore`` warning."""

    def __init__(self, ctx: Any, n_workers: int) -> None:
        pairs = [ctx.Pipe(duplex=False) for _ in range(n_workers)]
        self._readers = [reader for reader, _ in pairs]
        self.writers = [writer for _, writer in pairs]

    def _ready(self) -> Any:
        for reader in self._readers:
            try:
                if reader.poll():
                    return reader
            except (EOFError, OSError):
                continue
        return None

    def empty(self) -> bool:
        return self._ready() is None

    def get(self) -> tuple[int, int, str]:
        """The first waiting report (call after ``empty`` said False)."""
        return self._ready().recv()

    def close(self) -> None:
        for end in self._readers + self.writers:
            end.close()


def _report(study: optuna.Study, seen: set[int], on_trial: OnTrial | None) -> None:
    """Call ``on_trial`` for trials finished since the last call; skipped while the database
    is unreachable (the workers ride the outage out, or report it)."""
    try:
        for trial in sorted(study.get_trials(deepcopy=False, states=FINISHED), key=lambda t: t.number):
            if trial.number not in seen:
                if on_trial is not None:
                    on_trial(study, trial)
                seen.add(trial.number)
    except Exception as exc:
        # Progress lines are best effort: the workers own the trials and report their own errors;
        # a read that meets a restarting database server is skipped, whatever wraps its cause.
        if connection_error(exc) is None and not isinstance(exc, optuna.exceptions.StorageInternalError):
            raise


def _interrupt(procs: list[Any]) -> None:
    for p in procs:
        if p.is_alive() and p.pid:
            try:
                os.kill(p.pid, signal.SIGINT)
            except ProcessLookupError:
                pass


def _stop(procs: list[Any]) -> None:
    """One SIGINT to every live worker, then wait; SIGKILL what does not stop in time. A
    further Ctrl-C meanwhile is forwarded (a worker's second signal stops it at once)."""
    _interrupt(procs)
    deadline = time.monotonic() + _STOP_SECONDS
    for p in procs:
        while True:
            try:
                p.join(max(0.0, deadline - time.monotonic()))
                break
            except KeyboardInterrupt:
                _interrupt(procs)
        if p.is_alive():
            p.kill()
            p.join()


def _spawn(ctx: Any, procs: list[Any], started: list[Any], interrupts: Interrupts) -> None:
    """Start the worker processes, each with SIGINT/SIGTERM blocked (the child inherits the
    mask and unblocks once its handlers are set); a signal stops the spawning between two.
    Multiprocessing's resource tracker is started first: started lazily inside ``p.start()`` it
    would unblock SIGINT/SIGTERM in this thread (its own spawn does) before the worker is spawned.
    The fork server, where one is used, starts with them blocked (its forks inherit its mask)."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    ensure_server(ctx)
    for p in procs:
        interrupts.check()
        signal.pthread_sigmask(signal.SIG_BLOCK, START_SIGNALS)
        try:
            p.start()
            started.append(p)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, START_SIGNALS)
    interrupts.check()


def run_processes(plan: WorkerPlan, n_workers: int, study: optuna.Study, *, on_trial: OnTrial | None = None) -> None:
    """Run ``n_workers`` worker processes on ``study`` until its budget is reached.

    ``on_trial`` is called in this process for every trial that finishes (polled about
    twice a second). Raises KeyboardInterrupt after the workers have marked their running
    trials FAIL ``interrupted``; a worker's configuration error stops the others and is
    raised here as ConfigError (a database unreachable past ``plan.db_retry`` as its own
    one-line TunekitError, once the other workers stopped on the outage too, not by a SIGINT). Starts no more workers than trials are left to run (a ``note:``
    line on stderr says so) and warns above the CPU cores (``worker_count``).
    """
    n_workers, lines = worker_count(n_workers, plan.target - budget(study.get_trials(deepcopy=False)).counted)
    for line in lines:
        print(line, file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="tunekit-") as folder:
        plan_path = os.path.join(folder, "plan.pickle")
        with open(plan_path, "wb") as handle:  # not through the spawn pipe: a big data set would block it
            cloudpickle.dump(plan, handle)  # a study file's build(hp) and HyperModel classes by value
        _supervise(plan_path, n_workers, study, on_trial, outage_wait=db_retry_seconds(plan.db_retry) + plan.heartbeat + 10)


def _outage(failure: tuple[int, int, str] | None) -> bool:
    """Whether a worker stopped because the database stayed unreachable past --db-retry."""
    return failure is not None and failure[1] == _AS_IS and failure[2].startswith("database unreachable")


def _await_own_stop(procs: list[Any], seconds: float, interrupts: Interrupts) -> None:
    """Let the other workers meet the same outage and stop on it themselves (exit 1, the
    outage as cause), not as a Ctrl-C: each does within its heartbeat and --db-retry."""
    deadline = time.monotonic() + seconds
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline and not interrupts.requested:
        try:
            interrupts.sleep(0.2)
        except KeyboardInterrupt:
            return


def _supervise(plan_path: str, n_workers: int, study: optuna.Study, on_trial: OnTrial | None,
               outage_wait: float = 0.0) -> None:
    ctx = context()
    errors = _Errors(ctx, n_workers)
    watch = ParentWatch(ctx)
    environ, stdio = parent_state()
    seen = {t.number for t in study.get_trials(deepcopy=False, states=FINISHED)}
    procs = [
        ctx.Process(target=_child, name=f"tunekit-worker-{i}",
                    args=(plan_path, i, n_workers, watch.for_child(), errors.writers[i], environ, stdio))
        for i in range(n_workers)
    ]
    failure: tuple[int, int, str] | None = None
    interrupted = False
    started: list[Any] = []
    # the pipe closed on every way out, after the joins: a worker that started sees its parent gone
    with Interrupts() as interrupts, contextlib.closing(watch):
        try:
            _spawn(ctx, procs, started, interrupts)
            procs = started
            while True:
                _report(study, seen, on_trial)
                if not errors.empty():
                    failure = errors.get()
                    break
                if not any(p.is_alive() for p in procs):
                    break
                interrupts.sleep(0.5)
        except KeyboardInterrupt:
            interrupted = True
            procs = started  # only the processes that did start
        if _outage(failure) and not interrupted:
            _await_own_stop(procs, outage_wait, interrupts)
        if interrupted or failure:
            _stop(procs)
        for p in procs:
            p.join()
    _report(study, seen, on_trial)
    if interrupted:
        raise KeyboardInterrupt
    if failure is None and not errors.empty():
        failure = errors.get()
    errors.close()
    if failure is not None:
        index, code, message = failure
        raise (ConfigError if code == 2 else TunekitError)(f"worker {index}: {message}" if code == 1 else message)
    codes = [p.exitcode for p in procs]
    if 0 not in codes:
        described = ", ".join("killed by signal %d" % -c if c is not None and c < 0 else f"exit {c}" for c in codes)
        raise TunekitError(f"every worker stopped before the study was done ({described}); run the same command again to resume")
