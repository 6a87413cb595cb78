"""``run --dask ADDRESS``: trials as Dask tasks on a cluster; the study database stays here.

The client process is the only one that opens the study database (the default SQLite file
works on a cluster without a database server): it claims trials under the study lock as a
local worker does (``_loop._decide``: the budget, grid points, confirmation), lets the strategy
choose their parameters, and submits each as a task (``_remote.remote_batch``) with the
scattered plan, at most ``--workers`` at a time; with ``--fuse K`` a task is a batch of up to
K trials claimed together, trained on its worker as a local fused batch is (its groups one
network each, every member its own trial). It keeps the running trials' heartbeats,
records each result as it arrives, and:

- a Dask worker that dies mid-trial (``KilledWorker``): the trial is failed ``worker lost (dask
  worker ADDRESS)`` and retried once, as a trial lost with a local worker;
- Ctrl-C: the tasks are cancelled, their trials marked FAIL ``interrupted``, KeyboardInterrupt;
- a scheduler that goes away (at any point of the run): the running trials are marked
  interrupted and the run stops with one line (exit 1) within ``RECONNECT`` seconds; the same
  command resumes. Dask's own log lines are kept out of the way (``quiet_dask``);
- an address where no scheduler answers (nothing listens, or something that is not Dask): one
  line (exit 2) within ``CONNECT_TIMEOUT`` seconds, before the database is touched.

Parameters a worker meets first (a ``build(hp)`` loop, ``HyperModel.fit``) join the study's
``space_added``; from then on the client draws them with the study's strategy before dispatch
(``_offers``) and the worker takes those values when asked (the first trials to meet one draw it
there, seeded by the study's seed, the trial number and the name, as the random strategy does).
"""

from __future__ import annotations

import copy
from concurrent.futures import CancelledError
import json
import sys
import time
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from tunekit._errors import ConfigError, TunekitError
from tunekit._records import CONFIRMS, FAIL_REASON, INTERRUPTED, REPEATS, WORKER_ATTR
from tunekit.execution._dask_cluster import (  # noqa: F401 - the connecting half, re-exported
    CONNECT_TIMEOUT, JOB_WAIT, JOBQUEUES, announce, connect, quiet_dask, spawns_here)
from tunekit.execution._fused import claim_batch
from tunekit.execution._loop import OnTrial
from tunekit.execution._own_model import SPACE_ADDED
from tunekit.execution._signals import Interrupts
from tunekit.execution._lost import retry_lost_trial
from tunekit.execution._trial import one_line

#: Seconds a run waits for a scheduler that went away to come back before it stops (exit 1).
RECONNECT = 20
#: The note on a parameter a Dask worker met first (after "trial N (on a Dask worker) asked for NAME, ").
DASK_ADDED_NOTE = ("which recording the space (build(hp) with each parameter's default) did not meet; added to the "
                   "study's space. The trials that met it first drew it on their worker at random (seeded by the "
                   "study's seed, the trial number and the name); from now on this process draws it with the "
                   "study's strategy before each task: tpe and random learn it as they go; grid, skopt, gp, cmaes, "
                   "metropolis and anneal draw it at random. Declare it in build(hp), before any loop or branch, "
                   "to search it with them.")


def _fail(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    trial.set_user_attr(FAIL_REASON, reason[:1000])
    study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)


def _curves(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """What a pruner on a worker needs of the finished trials: states, values, curves and system
    attributes (successive halving's rungs), without the user attributes (half a trial's bytes)."""
    out = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        slim = copy.copy(t)
        slim.user_attrs = {}
        out.append(slim)
    return out


def _merge_space_added(study: optuna.Study, number: int, met: dict[str, Any]) -> None:
    """Parameters a worker met that the recorded space lacks: into the study's ``space_added``, with
    the note a local run prints (once per name)."""
    stored = json.loads(study.user_attrs.get(SPACE_ADDED) or "{}")
    new = {name: dim for name, dim in met.items() if name not in stored}
    if new:
        study.set_user_attr(SPACE_ADDED, json.dumps({**stored, **new}, sort_keys=True))
        for name in sorted(new):
            print(f"note: trial {number} (on a Dask worker) asked for {name!r}, {DASK_ADDED_NOTE}", file=sys.stderr,
                  flush=True)


def _offers(study: optuna.Study, trial: optuna.Trial) -> dict[str, Any]:
    """Values the study's strategy draws now, as ``trial.suggest`` would, for the parameters workers
    met first (the study's ``space_added``): sent with the task, taken by the trial only if the
    model asks for them (and then stored with it). A parameter the strategy cannot draw here is
    left to the worker."""
    from optuna.pruners import _filter_study

    from tunekit.space import Dimension

    offers: dict[str, Any] = {}
    met = json.loads(study.user_attrs.get(SPACE_ADDED) or "{}")
    frozen = trial._get_latest_trial() if met else None
    for name, fields in met.items():
        if name in trial.params:
            continue
        try:
            dist = Dimension.from_dict({**fields, "name": name, "when": None}).to_distribution()
            if name in trial._fixed_params:  # an enqueued trial (a retry) keeps its values
                offers[name] = trial._fixed_params[name]
            elif trial._is_relative_param(name, dist):
                offers[name] = trial.relative_params[name]
            else:
                offers[name] = study.sampler.sample_independent(_filter_study(study, frozen), frozen, name, dist)
        except Exception:  # noqa: BLE001 - a strategy that cannot draw it: the worker does
            continue
    return offers


def _record(study: optuna.Study, trial: optuna.Trial, result: dict[str, Any]) -> optuna.trial.FrozenTrial:
    """Write a finished task's result on the study's trial and tell it."""
    storage = study._storage
    for name, value in result["params"].items():
        if name not in trial.params:  # met on the worker (a build(hp) parameter): stored like any
            dist = result["distributions"][name]
            storage.set_trial_param(trial._trial_id, name, dist.to_internal_repr(value), dist)
    for key, value in result["user_attrs"].items():
        trial.set_user_attr(key, value)
    for step, value in sorted(result["intermediate"].items()):
        trial.report(value, step)
    if result.get("space_added"):
        _merge_space_added(study, trial.number, json.loads(result["space_added"]))
    state = result["state"]
    if state == "COMPLETE":
        return study.tell(trial, result["value"])
    if state == "PRUNED":
        return study.tell(trial, state=TrialState.PRUNED)
    if result["error"] and FAIL_REASON not in result["user_attrs"]:
        trial.set_user_attr(FAIL_REASON, result["error"][:1000])
    return study.tell(trial, state=TrialState.FAIL)


def _collect(study: optuna.Study, future: Any, running: dict[Any, list[optuna.Trial]],
             sent: dict[Any, Any]) -> list[optuna.trial.FrozenTrial]:
    """Record a finished task's trials; the frozen trials to report. A worker that died: its
    trials fail ``worker lost`` and are retried once; a task that failed: each trial with the
    reason; a ConfigError on the worker: the trials are recorded failed and the run stops."""
    from distributed import KilledWorker

    trials = running.pop(future)
    sent.pop(future, None)
    try:
        results = future.result()
    except KilledWorker as exc:
        future.release()
        address = getattr(getattr(exc, "last_worker", None), "address", None)
        for trial in trials:
            trial.set_user_attr(WORKER_ATTR, f"dask {address}" if address else "dask")
            _fail(study, trial, f"worker lost (dask worker {address or '?'})")
            retry_lost_trial(study, study._storage.get_trial(trial._trial_id))
        return []
    except Exception as exc:  # noqa: BLE001
        if future.status == "cancelled" or isinstance(exc, CancelledError):
            running[future] = trials  # marked interrupted with the others
            raise OSError(f"its task {future.key} was cancelled") from None
        future.release()
        for trial in trials:  # e.g. the plan did not unpickle
            _fail(study, trial, f"the Dask task failed: {one_line(exc)}")
        return []
    future.release()  # else a worker that dies holding the result makes Dask compute it again
    config = next((r["error"] for r in results if r["state"] == "CONFIG"), None)
    if config is not None:
        for trial, result in zip(trials, results):
            _record(study, trial, {**result, "state": "FAIL"})
        numbers = ", ".join(str(t.number) for t in trials)
        raise ConfigError(f"{config} (trial{'s' if len(trials) > 1 else ''} {numbers} stopped the run)")
    return [_record(study, trial, result) for trial, result in zip(trials, results)]


def run_on_dask(study: optuna.Study, storage: Any, plan: Any, client: Any, n_workers: int, *,
                on_trial: OnTrial | None = None, poll: float = 0.5) -> str:
    """Run ``plan``'s trials as Dask tasks until the budget (and any confirmation) is done.

    The first Ctrl-C is noted and acted on between two steps (a second one raises at once): a
    KeyboardInterrupt inside a storage write or a Dask call could leave either half done."""
    with Interrupts() as interrupts:
        return _drive(study, storage, plan, client, n_workers, interrupts, on_trial=on_trial, poll=poll)


def _drive(study: optuna.Study, storage: Any, plan: Any, client: Any, n_workers: int, interrupts: Interrupts, *,
           on_trial: OnTrial | None, poll: float) -> str:
    """``run_on_dask``'s loop: submit, wait, record; ``interrupts.check()`` at the top of every step."""
    from distributed import wait
    from distributed.client import FuturesCancelledError

    from tunekit._quiet_tf import import_keras_quietly

    direction = study.direction.name.lower()
    confirm = (plan.confirm, plan.repeats) if plan.confirm else None
    grace = float(plan.grace_period or 3 * plan.heartbeat)
    fuse = int(plan.fuse) if plan.fuse > 1 and plan.spec.model is None else 1  # trials per task
    running: dict[Any, list[optuna.Trial]] = {}  # each task's trials
    sent: dict[Any, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}  # each task's params and marks
    asked: list[optuna.Trial] = []  # asked but not yet submitted: a Ctrl-C here must fail them too
    started, away, beaten = time.monotonic(), 0.0, time.monotonic()
    try:
        client.run(import_keras_quietly)  # TensorFlow loaded on every worker without its start-up lines
        scattered = client.scatter(plan, broadcast=True, hash=False)  # the data set travels once per worker

        def submit(trials: list[optuna.Trial], params: list[dict[str, Any]], marks: list[dict[str, Any]]) -> Any:
            snapshot = _curves(study) if not isinstance(plan.pruner, optuna.pruners.NopPruner) else []
            key = f"tunekit-{study.study_name}-{trials[0].number}-{time.time_ns()}"
            future = client.submit(_remote_batch(), scattered, [t.number for t in trials], params, snapshot, direction,
                                   n_workers, marks, pure=False, key=key)
            sent[future] = (params, marks)
            return future

        while True:
            interrupts.check()  # a Ctrl-C noted since the last step
            timed_out = plan.timeout is not None and time.monotonic() - started >= plan.timeout
            decision = "wait"
            while not timed_out and len(running) < n_workers:
                claim: dict[str, Any] = {"trials": asked}  # up to ``fuse`` trials, under the study lock
                claim_batch(claim, study, storage, plan.target, grace, plan.heartbeat, confirm, fuse)
                decision = claim.get("decision", "wait")
                if not asked:
                    break
                params = [{**_offers(study, t), **plan.spec.space.sample(t)} for t in asked]
                marks = [{k: t.user_attrs[k] for k in (CONFIRMS, REPEATS) if k in t.user_attrs} for t in asked]
                running[submit(list(asked), params, marks)] = list(asked)
                asked.clear()
            if not running:
                return "timeout" if timed_out else decision if decision in ("done", "exhausted") else "done"
            try:
                wait(list(running), timeout=poll, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished within ``poll``: heartbeats, then wait again
                pass
            except (CancelledError, FuturesCancelledError):  # Dask cancels them all when the scheduler is gone
                if client.status != "running":
                    raise OSError("the connection to the scheduler was lost") from None
            lost = [f for f in running if f.cancelled()]
            if lost and client.status == "running":  # a dead worker held the plan's last copy (Dask's memory
                scattered = client.scatter(plan, broadcast=True, hash=False)  # manager keeps one): send it again
                for f in lost:
                    trials = running.pop(f)
                    f.release()
                    running[submit(trials, *sent.pop(f))] = trials
            if client.status != "running":
                away = away or time.monotonic()
                if client.status != "connecting" or time.monotonic() - away > RECONNECT:
                    raise OSError(f"no answer from the scheduler for {time.monotonic() - away:.0f} s")
            else:
                away = 0.0
            # a task cancelled since ``lost`` was read (its worker just died) is resubmitted at the next step,
            # not collected: collecting a cancelled task means the scheduler is gone
            done = [f for f in running if f.done() and not (f.cancelled() and client.status == "running")]
            if time.monotonic() - beaten >= plan.heartbeat / 2:  # a running trial's heartbeat, as a local worker's
                beaten = time.monotonic()
                for trial in (t for batch in running.values() for t in batch):
                    storage.record_heartbeat(trial._trial_id)
            for future in done:
                for frozen in _collect(study, future, running, sent):
                    if on_trial is not None:
                        on_trial(study, frozen)
    except KeyboardInterrupt:
        _abandon(study, client, running, asked)
        raise
    except (ConfigError, TunekitError):
        _abandon(study, client, running, asked)
        raise
    except (OSError, TimeoutError) as exc:  # the scheduler went away
        _abandon(study, client, running, asked, cancel=False)
        raise TunekitError(f"lost the Dask scheduler ({type(exc).__name__}: {exc}); the finished trials are kept: "
                           "run the same command again to resume") from None


def _abandon(study: optuna.Study, client: Any, running: dict[Any, list[optuna.Trial]], asked: list[optuna.Trial], *,
             cancel: bool = True) -> None:
    """Cancel the running tasks and mark their trials, and any asked but not yet submitted, FAIL
    ``interrupted`` (they do not count)."""
    if cancel:
        try:
            client.cancel(list(running))
        except Exception:  # noqa: BLE001 - the scheduler may be gone already
            pass
    for trial in [*(t for batch in running.values() for t in batch), *asked]:
        try:
            _fail(study, trial, INTERRUPTED)
        except Exception:  # noqa: BLE001 - keep marking the others
            pass
    running.clear()
    asked.clear()


def _remote_batch() -> Callable[..., list[dict[str, Any]]]:
    from tunekit.execution._remote import remote_batch

    return remote_batch
