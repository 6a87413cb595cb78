"""Worker processes for ``run(..., workers=N)``: spawn, watch, forward Ctrl-C, collect errors.

Each worker is a fresh interpreter (``spawn``: TensorFlow is not fork-safe) in its own
session, so a terminal's Ctrl-C reaches only the parent, which forwards one SIGINT to
every worker; a worker whose parent disappears stops after its current trial. TensorFlow's
thread pools are sized before TensorFlow loads, so N workers share the cores
(``tunekit._workers.thread_budget``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.trial import TrialState

from tunekit._errors import ConfigError, TunekitError
from tunekit._workers import Interrupts, OnTrial

if TYPE_CHECKING:
    from tunekit._spec import StudySpec
    from tunekit.data import Dataset

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
_STOP_SECONDS = 60.0


def worker_seed(strategy: str, seed: int, *salt: int) -> int:
    """The sampler seed of one worker: the study's seed for grid and random (whose points
    depend on the trial, not on the worker), a distinct derived seed for model-based
    strategies (so workers do not all propose the same first points)."""
    if strategy in ("grid", "random") or not any(salt):
        return seed
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, *salt]).generate_state(1)[0] % (2**31 - 1))


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a worker process needs (pickled to it)."""

    spec: "StudySpec"
    dataset: "Dataset"
    metric: str
    strategy: str
    options: dict[str, Any]
    seed: int
    epochs: int | None
    pruner: optuna.pruners.BasePruner | None
    url: str
    study_name: str
    target: int
    timeout: float | None
    heartbeat: int
    grace_period: int | None


def _child(plan: WorkerPlan, index: int, n_workers: int, parent: int, errors: Any) -> None:
    os.setsid()  # the terminal's Ctrl-C goes to the parent only; it forwards one SIGINT
    code = 0
    try:
        with Interrupts() as interrupts:
            from tunekit._runner import TrialRunner
            from tunekit._study import quiet_optuna
            from tunekit._workers import join_study, limit_tf_threads, thread_budget, work
            from tunekit.strategies import make_sampler

            limit_tf_threads(thread_budget(n_workers))
            quiet_optuna()
            sampler = make_sampler(plan.strategy, space=plan.spec.space,
                                   seed=worker_seed(plan.strategy, plan.seed, index), options=plan.options)
            study, storage = join_study(plan.url, plan.study_name, sampler=sampler, pruner=plan.pruner,
                                        heartbeat=plan.heartbeat, grace_period=plan.grace_period)
            runner = TrialRunner(spec=plan.spec, dataset=plan.dataset, metric=plan.metric, seed=plan.seed, epochs=plan.epochs)
            work(study, storage, runner, target=plan.target, timeout=plan.timeout, heartbeat=plan.heartbeat,
                 grace_period=plan.grace_period, interrupts=interrupts, keep_going=lambda: os.getppid() == parent)
    except KeyboardInterrupt:
        code = 130
    except ConfigError as exc:
        errors.put((index, 2, str(exc)))
        code = 2
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        errors.put((index, 1, f"{type(exc).__name__}: {exc}"))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _report(study: optuna.Study, seen: set[int], on_trial: OnTrial | None) -> None:
    for trial in sorted(study.get_trials(deepcopy=False, states=_FINISHED), key=lambda t: t.number):
        if trial.number not in seen:
            seen.add(trial.number)
            if on_trial is not None:
                on_trial(study, trial)


def _stop(procs: list[Any]) -> None:
    """One SIGINT to every live worker, then wait; SIGKILL what does not stop in time."""
    for p in procs:
        if p.is_alive() and p.pid:
            try:
                os.kill(p.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    for p in procs:
        p.join(_STOP_SECONDS)
        if p.is_alive():
            p.kill()
            p.join()


def run_processes(plan: WorkerPlan, n_workers: int, study: optuna.Study, *, on_trial: OnTrial | None = None) -> None:
    """Run ``n_workers`` worker processes on ``study`` until its budget is reached.

    ``on_trial`` is called in this process for every trial that finishes (polled about
    twice a second). Raises KeyboardInterrupt after the workers have marked their running
    trials FAIL ``interrupted``; a worker's configuration error stops the others and is
    raised here as ConfigError.
    """
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.SimpleQueue()
    seen = {t.number for t in study.get_trials(deepcopy=False, states=_FINISHED)}
    procs = [
        ctx.Process(target=_child, args=(plan, i, n_workers, os.getpid(), errors), name=f"tunekit-worker-{i}")
        for i in range(n_workers)
    ]
    failure: tuple[int, int, str] | None = None
    interrupted = False
    with Interrupts() as interrupts:
        try:
            for p in procs:
                p.start()
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
        if interrupted or failure:
            _stop(procs)
        for p in procs:
            p.join()
    _report(study, seen, on_trial)
    if interrupted:
        raise KeyboardInterrupt
    if failure is None and not errors.empty():
        failure = errors.get()
    if failure is not None:
        index, code, message = failure
        raise (ConfigError if code == 2 else TunekitError)(f"worker {index}: {message}" if code != 2 else message)
    codes = [p.exitcode for p in procs]
    if 0 not in codes:
        described = ", ".join("killed by signal %d" % -c if c is not None and c < 0 else f"exit {c}" for c in codes)
        raise TunekitError(f"every worker stopped before the study was done ({described}); run the same command again to resume")
