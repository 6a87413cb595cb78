"""``run --dask ADDRESS``: trials as Dask tasks on a cluster; the study database stays here.

The client process is the only one that opens the study database (the default SQLite file
works on a cluster without a database server): it claims trials under the study lock as a
local worker does (``_loop._decide``: the budget, grid points, confirmation), lets the strategy
choose their parameters, and submits each as a task (``_remote.remote_trial``) with the
scattered plan, at most ``--workers`` at a time. It keeps the running trials' heartbeats,
records each result as it arrives, and:

- a Dask worker that dies mid-trial (``KilledWorker``): the trial is failed ``worker lost (dask
  worker ADDRESS)`` and retried once, as a trial lost with a local worker;
- Ctrl-C: the tasks are cancelled, their trials marked FAIL ``interrupted``, KeyboardInterrupt;
- a scheduler that goes away: the running trials are marked interrupted and the run stops with
  one line (exit 1); the same command resumes.
"""

from __future__ import annotations

import copy
from concurrent.futures import CancelledError
import json
import os
import shutil
import sys
import time
import warnings
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from tunekit._errors import ConfigError, TunekitError
from tunekit._records import CONFIRMS, FAIL_REASON, INTERRUPTED, REPEATS, WORKER_ATTR
from tunekit._storage import study_lock
from tunekit.execution._loop import OnTrial, _decide
from tunekit.execution._own_model import ADDED_NOTE, SPACE_ADDED
from tunekit.execution._signals import Interrupts
from tunekit.execution._lost import retry_lost_trial
from tunekit.execution._trial import one_line

#: Seconds to wait for a scheduler to answer before the address is called unreachable.
CONNECT_TIMEOUT = 10
#: Seconds ``--dask slurm`` (pbs, sge, lsf) waits for the first batch job's worker.
JOB_WAIT = 600
#: Seconds a run waits for a scheduler that went away to come back before it stops (exit 1).
RECONNECT = 20


#: Evaluated on every worker before the run: whether it can import tunekit.
_CAN_IMPORT = "__import__('importlib.util').util.find_spec('tunekit') is not None"


def connect(address: str, n_workers: int) -> tuple[Any, Any]:
    """(client, cluster or None) for ``--dask ADDRESS``: ``local`` or ``local:N`` starts a
    ``LocalCluster`` (N processes, one thread each; default ``n_workers``); ``slurm``, ``pbs``,
    ``sge`` or ``lsf`` a dask-jobqueue cluster of ``n_workers`` batch jobs; else the scheduler at
    ``ADDRESS`` (``tcp://host:8786``). ConfigError, one line, when it cannot be reached or its
    workers cannot import tunekit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--dask needs Dask: pip install 'dask[distributed]'") from None
    cluster = None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by a local cluster's worker processes
    if address == "local" or address.startswith("local:"):
        count = address.partition(":")[2]
        if count and (not count.isdigit() or int(count) < 1):
            raise ConfigError(f"--dask {address}: write local or local:N with N >= 1 worker processes")
        import dask

        # allowed-failures 0: a dead worker takes our retry path, once. The worker's statistical
        # profiler (a stack sample every 10 ms) competes with Keras' Python loop for the GIL.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0, "distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=int(count or n_workers), threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=50)
        client = Client(cluster)
    elif address in JOBQUEUES:
        cluster = _jobqueue(address, n_workers)
        client = Client(cluster)
        try:
            client.wait_for_workers(1, timeout=JOB_WAIT)
        except TimeoutError:
            client.close()
            cluster.close()
            raise ConfigError(f"--dask {address}: no worker job started within {JOB_WAIT // 60} minutes; see the "
                              "queue (squeue, qstat, bjobs) and the jobs' logs") from None
    else:
        if "://" not in address:
            raise ConfigError(f"--dask {address!r} is not a scheduler address; write tcp://HOST:8786 or local[:N]")
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}); start one "
                              "(dask scheduler) or pass --dask local") from None
    try:
        answers = client.run(eval, _CAN_IMPORT)  # a builtin: a worker without tunekit can still run it
    except Exception as exc:  # noqa: BLE001 - a worker that cannot even run the check
        client.close()
        raise ConfigError(f"the Dask workers at {address} cannot run tunekit's check ({exc})") from None
    missing = sorted(w for w, ok in answers.items() if not ok)
    if missing or not answers:
        client.close()
        if cluster is not None:
            cluster.close()
        what = f"workers {', '.join(missing)} cannot import tunekit" if missing else "the cluster has no worker"
        raise ConfigError(f"Dask at {address}: {what}; install tunekit in the workers' environment and start them")
    return client, cluster


#: ``--dask NAME`` -> the dask-jobqueue cluster class that submits the workers as batch jobs.
JOBQUEUES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}


def _jobqueue(name: str, n_workers: int) -> Any:
    """A dask-jobqueue cluster configured the ecosystem's way (``~/.config/dask/jobqueue.yaml``, or the
    file ``DASK_CONFIG`` points to), scaled to ``n_workers`` workers."""
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError(f"--dask {name} needs dask-jobqueue: pip install 'tunekit[cluster]'") from None
    kind = getattr(dask_jobqueue, JOBQUEUES[name])
    try:
        cluster = kind()
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"--dask {name}: the jobqueue configuration is incomplete ({' '.join(str(exc).split())}); fill in "
                          f"jobqueue.{name} in ~/.config/dask/jobqueue.yaml") from None
    submit = kind.job_cls.submit_command
    if shutil.which(submit) is None:  # else every job submission fails in the background and we wait
        cluster.close()
        raise ConfigError(f"--dask {name}: {submit} is not on this machine's PATH; run tunekit where {name} jobs "
                          f"can be submitted (the cluster's login node)")
    cluster.scale(n_workers)
    print(f"dask: asked {name} for {n_workers} worker job(s); waiting for the first to start", file=sys.stderr,
          flush=True)
    return cluster


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
            print(f"note: trial {number} (on a Dask worker) asked for {name!r}, {ADDED_NOTE}", file=sys.stderr,
                  flush=True)


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
    from distributed import KilledWorker, wait
    from distributed.client import FuturesCancelledError

    from tunekit._quiet_tf import import_keras_quietly

    client.run(import_keras_quietly)  # TensorFlow loaded on every worker without its start-up lines
    scattered = client.scatter(plan, broadcast=True)  # the data set travels once per worker
    direction = study.direction.name.lower()
    confirm = (plan.confirm, plan.repeats) if plan.confirm else None
    grace = float(plan.grace_period or 3 * plan.heartbeat)
    running: dict[Any, optuna.Trial] = {}
    asked: list[optuna.Trial] = []  # asked but not yet submitted: a Ctrl-C here must fail it too
    started, away, beaten = time.monotonic(), 0.0, time.monotonic()
    try:
        while True:
            interrupts.check()  # a Ctrl-C noted since the last step
            timed_out = plan.timeout is not None and time.monotonic() - started >= plan.timeout
            decision = "wait"
            while not timed_out and len(running) < n_workers:
                with study_lock(storage, study._study_id), warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "heartbeat ... with Study.optimize": beaten here
                    decision = _decide(study, storage, plan.target, grace, confirm)
                    trial = study.ask() if decision == "run" else None
                    if trial is not None:
                        asked.append(trial)
                        storage.record_heartbeat(trial._trial_id)
                if trial is None:
                    break
                params = plan.spec.space.sample(trial)
                snapshot = _curves(study) if not isinstance(plan.pruner, optuna.pruners.NopPruner) else []
                marks = {k: trial.user_attrs[k] for k in (CONFIRMS, REPEATS) if k in trial.user_attrs}
                key = f"tunekit-{study.study_name}-{trial.number}-{time.time_ns()}"
                future = client.submit(_remote_trial(), scattered, trial.number, params, snapshot, direction,
                                       n_workers, marks, pure=False, key=key)
                running[future] = trial
                asked.clear()
            if not running:
                return "timeout" if timed_out else decision if decision in ("done", "exhausted") else "done"
            try:
                wait(list(running), timeout=poll, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished within ``poll``: heartbeats, then wait again
                pass
            except (CancelledError, FuturesCancelledError):  # Dask cancels them all when the scheduler is gone
                raise OSError("the connection to the scheduler was lost") from None
            if client.status != "running":
                away = away or time.monotonic()
                if client.status != "connecting" or time.monotonic() - away > RECONNECT:
                    raise OSError(f"no answer from the scheduler for {time.monotonic() - away:.0f} s")
            else:
                away = 0.0
            done = [f for f in running if f.done()]
            if time.monotonic() - beaten >= plan.heartbeat / 2:  # a running trial's heartbeat, as a local worker's
                beaten = time.monotonic()
                for trial in running.values():
                    storage.record_heartbeat(trial._trial_id)
            for future in done:
                trial = running.pop(future)
                try:
                    result = future.result()
                except KilledWorker as exc:
                    address = getattr(getattr(exc, "last_worker", None), "address", None)
                    trial.set_user_attr(WORKER_ATTR, f"dask {address}" if address else "dask")
                    _fail(study, trial, f"worker lost (dask worker {address or '?'})")
                    retry_lost_trial(study, study._storage.get_trial(trial._trial_id))
                    continue
                except Exception as exc:  # noqa: BLE001
                    if future.status == "cancelled" or isinstance(exc, CancelledError):
                        running[future] = trial  # marked interrupted with the others below
                        raise OSError(f"its task {future.key} was cancelled") from None
                    _fail(study, trial, f"the Dask task failed: {one_line(exc)}")  # e.g. the plan did not unpickle
                    continue
                if result["state"] == "CONFIG":
                    _record(study, trial, {**result, "state": "FAIL"})
                    raise ConfigError(f"{result['error']} (trial {trial.number} stopped the run)")
                frozen = _record(study, trial, result)
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


def _abandon(study: optuna.Study, client: Any, running: dict[Any, optuna.Trial], asked: list[optuna.Trial], *,
             cancel: bool = True) -> None:
    """Cancel the running tasks and mark their trials, and any asked but not yet submitted, FAIL
    ``interrupted`` (they do not count)."""
    if cancel:
        try:
            client.cancel(list(running))
        except Exception:  # noqa: BLE001 - the scheduler may be gone already
            pass
    for trial in [*running.values(), *asked]:
        try:
            _fail(study, trial, INTERRUPTED)
        except Exception:  # noqa: BLE001 - keep marking the others
            pass
    running.clear()
    asked.clear()


def _remote_trial() -> Callable[..., dict[str, Any]]:
    from tunekit.execution._remote import remote_trial

    return remote_trial
