"""The Dask worker's side of a trial (``run --dask``): the study's own runner on the worker.

A task gets the scattered ``WorkerPlan`` (sent once per worker, not once per trial: the data
set travels with it), the trial's number and the parameters the client's strategy chose, and a
snapshot of the study's finished trials. It runs the trial through the same ``TrialRunner``
as a local worker, on an in-memory Optuna study holding that snapshot: the parameters are
enqueued (so the runner's sampling returns them), and the study's pruner decides on the
snapshot's curves, so pruning happens on the cluster with no database there. The result (state,
value, curve, attributes, parameters) goes back to the client, which alone writes the study
database (an SQLite file works: the workers never open it).
"""

from __future__ import annotations

import copy
import os
import socket
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial

from tunekit._errors import ConfigError, TrialError
from tunekit._records import FAIL_REASON, WORKER_ATTR
from tunekit.execution import _own_model
from tunekit.execution._own_model import SPACE_ADDED
from tunekit.strategies._random import TrialSeededRandomSampler

#: One runner per plan in each worker process: its data pipelines and TensorFlow set up once.
_RUNNERS: dict[int, Any] = {}


class _Numbered(optuna.Trial):
    """An in-memory trial that answers with the study's trial number (the training seed is
    derived from it); otherwise the asked trial itself (``study.tell`` takes it)."""

    def __init__(self, trial: optuna.Trial, number: int) -> None:  # the asked trial's state, not a new ask
        self.__dict__.update(trial.__dict__)
        self._study_number = number

    @property
    def number(self) -> int:
        return self._study_number


def _runner(plan: Any, n_workers: int) -> Any:
    if id(plan) not in _RUNNERS:
        from tunekit.execution._tf import limit_tf_threads, quiet_optuna, thread_budget

        limit_tf_threads(thread_budget(n_workers))
        quiet_optuna()
        _own_model.notes_here = False  # the client prints a parameter's first-met note, once
        _RUNNERS.clear()
        _RUNNERS[id(plan)] = plan.runner()
    return _RUNNERS[id(plan)]


def _where() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


class _FirstMet(TrialSeededRandomSampler):
    """The in-memory study's sampler: what draws a parameter the client had no value for (met here
    first). At random, as the random strategy draws for study trial ``number``: seeded by the
    study's seed, that number and the name."""

    def __init__(self, seed: int | None, number: int) -> None:
        super().__init__(seed=seed)
        self._number = number

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        numbered = copy.copy(trial)
        numbered.number = self._number  # the in-memory trial's own number counts the snapshot
        return super().sample_independent(study, numbered, param_name, param_distribution)


def remote_trial(plan: Any, number: int, params: dict[str, Any], snapshot: list[FrozenTrial],
                 direction: str, n_workers: int, marks: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run trial ``number`` with ``params`` on this worker; what the client records. ``marks``: the
    trial's ``confirms`` / ``repeats`` attributes (such a run is never pruned). ``params`` may hold
    values for parameters the model asks for only on the way (``_dask._offers``): the trial takes
    those it is asked for.

    ``state`` is COMPLETE, PRUNED, FAIL or CONFIG (a ConfigError: the client stops the run)."""
    runner = _runner(plan, n_workers)
    study = optuna.create_study(direction=direction, pruner=plan.pruner, sampler=_FirstMet(plan.seed, number))
    study.add_trials(snapshot)
    study.enqueue_trial(params, user_attrs=marks or None, skip_if_exists=False)
    trial = study.ask()
    trial.set_user_attr(WORKER_ATTR, f"dask {_where()}")
    state, value, error = "COMPLETE", None, None
    try:  # no process_scope: as in a local worker process, the collector's freeze lasts (a new
        # freeze per task would be a full collection of TensorFlow's heap, some 0.3 s a trial)
        value = runner(_Numbered(trial, number))
    except optuna.TrialPruned:
        state = "PRUNED"
    except ConfigError as exc:
        state, error = "CONFIG", str(exc)
    except TrialError as exc:
        state, error = "FAIL", str(exc)
    return _result(study, trial, state, value, error)


def _result(study: optuna.Study, trial: optuna.Trial, state: str, value: float | None,
            error: str | None) -> dict[str, Any]:
    """What the client records of ``trial`` (``_dask._record``)."""
    frozen = study._storage.get_trial(trial._trial_id)
    added = study.user_attrs.get(SPACE_ADDED)  # parameters met here first (build(hp)): the client merges them
    return {"state": state, "value": value, "error": error, "user_attrs": dict(frozen.user_attrs), "space_added": added,
            "intermediate": dict(frozen.intermediate_values), "params": dict(frozen.params),
            "distributions": dict(frozen.distributions)}


def remote_batch(plan: Any, numbers: list[int], params: list[dict[str, Any]], snapshot: list[FrozenTrial],
                 direction: str, n_workers: int, marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run trials ``numbers`` (``run --dask --fuse K``: one task per claimed batch) on this worker,
    one result per trial as ``remote_trial``'s. One trial runs as ``remote_trial``; more train
    as a local fused batch does (``_fused._Batch``: grouped, each group one network, each member
    its own trial, pruned on the snapshot's curves). A ConfigError: every trial's state is CONFIG."""
    if len(numbers) == 1:
        return [remote_trial(plan, numbers[0], params[0], snapshot, direction, n_workers, marks[0])]
    from tunekit.execution._fused import _Batch
    from tunekit.execution._signals import Interrupts

    runner = _runner(plan, n_workers)
    study = optuna.create_study(direction=direction, pruner=plan.pruner, sampler=_FirstMet(plan.seed, numbers[0]))
    study.add_trials(snapshot)
    trials = []
    for number, values, mark in zip(numbers, params, marks):
        study.enqueue_trial(values, user_attrs=mark or None, skip_if_exists=False)
        trials.append(_Numbered(study.ask(), number))
    config = None
    with Interrupts() as interrupts:  # no signal handlers off the main thread: only its bookkeeping
        try:
            for _ in _Batch(study, study._storage, runner, trials, (TrialError,), None, interrupts, 0.0).run():
                pass
        except ConfigError as exc:  # the client names the trials that stopped the run
            config = str(exc.__cause__ or exc)
    where, results = f"dask {_where()}", []
    for trial in trials:
        frozen = study._storage.get_trial(trial._trial_id)
        state = "CONFIG" if config is not None else frozen.state.name
        error = config if config is not None else frozen.user_attrs.get(FAIL_REASON)
        result = _result(study, trial, state, frozen.value, error)
        result["user_attrs"][WORKER_ATTR] = where
        results.append(result)
    return results
