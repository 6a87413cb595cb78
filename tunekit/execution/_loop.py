"""One worker's loop on a study: the trial budget, claiming trials, heartbeats, retries.

The budget (``--trials N``) is the number of *finished* trials of the whole study, summed
over every worker; what counts is in ``tunekit._records`` (interrupted trials and trials
lost with a dead worker do not). Every worker counts and claims under the study lock
(``tunekit._storage.study_lock``): it starts a trial only while ``counted + running < N``,
so the study ends with exactly ``N`` counted trials however many workers race for the last
ones. A worker whose budget is full while other trials still run waits for them (one of
them may be lost and retried, ``tunekit.execution._lost``). Signals: ``_signals.Interrupts``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from typing import Any, Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._errors import ConfigError, TrialError
from tunekit._records import FAIL_REASON, INTERRUPTED, WORKER_ATTR, budget
from tunekit._storage import study_lock
from tunekit.execution._lost import fail_stale, orphans, retry_lost_trial, say_waiting
from tunekit.execution._signals import Interrupts

DEFAULT_HEARTBEAT = 10
OnTrial = Callable[[optuna.Study, FrozenTrial], None]


class _Heartbeat:
    """Record a trial's heartbeat every ``interval`` seconds from a background thread."""

    def __init__(self, storage: Any, trial_id: int, interval: int | None) -> None:
        self._storage, self._trial_id, self._interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> None:
        if self._interval:  # the first beat was recorded when the trial was claimed
            self._thread = threading.Thread(target=self._beat, name="tunekit-heartbeat", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._storage.record_heartbeat(self._trial_id)
            except Exception:  # a transient database error: try again at the next beat
                pass

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _decide(study: optuna.Study, storage: Any, target: int, grace: float) -> str:
    """``run``, ``wait``, ``done`` or ``exhausted`` (a grid with no point left); under the lock."""
    fail_stale(study)
    trials = study.get_trials(deepcopy=False)
    has_running = any(t.state == TrialState.RUNNING for t in trials)
    left = budget(trials, orphans(storage, study._study_id, grace) if has_running else ())
    if left.counted >= target:
        return "done"
    if left.counted + left.running >= target:
        return "wait"
    free = getattr(study.sampler, "remaining", None)
    if left.waiting == 0 and free is not None and free(study) <= 0:
        return "wait" if left.running else "exhausted"
    return "run"


def _run_one(
    study: optuna.Study, storage: Any, trial: optuna.Trial, objective: Callable[[optuna.Trial], float],
    catch: tuple[type[Exception], ...], heartbeat: int | None, interrupts: Interrupts,
) -> FrozenTrial | None:
    """Run one claimed trial and tell its result; None when another worker declared it lost."""
    value: float | None = None
    state: TrialState | None = None
    error: BaseException | None = None
    trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
    with _Heartbeat(storage, trial._trial_id, heartbeat):
        interrupts.enter_trial()
        try:
            interrupts.check()
            value = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except KeyboardInterrupt as exc:
            state, error = TrialState.FAIL, exc
        except optuna.exceptions.UpdateFinishedTrialError:
            return None  # failed as stale by another worker, which queued its retry
        except catch:
            state = TrialState.FAIL
        except Exception as exc:
            state, error = TrialState.FAIL, exc
        finally:
            interrupts.leave_trial()
    if state == TrialState.FAIL and interrupts.requested:
        # Failed after Ctrl-C: the interrupt may have surfaced as another error inside a library.
        error = error if isinstance(error, KeyboardInterrupt) else KeyboardInterrupt()
    try:
        if isinstance(error, KeyboardInterrupt):
            trial.set_user_attr(FAIL_REASON, INTERRUPTED)
        frozen = study.tell(trial, value if state is None else None, state=state, skip_if_finished=True)
    except optuna.exceptions.UpdateFinishedTrialError:
        return None
    if error is not None:
        raise error
    return frozen


def work(
    study: optuna.Study,
    storage: Any,
    objective: Callable[[optuna.Trial], float],
    *,
    target: int,
    timeout: float | None = None,
    catch: tuple[type[Exception], ...] = (TrialError,),
    on_trial: OnTrial | None = None,
    heartbeat: int | None = DEFAULT_HEARTBEAT,
    grace_period: int | None = None,
    interrupts: Interrupts | None = None,
    keep_going: Callable[[], bool] | None = None,
    poll: float = 1.0,
    db_retry: float | None = None,
) -> str:
    """Run trials of ``study`` until it has ``target`` counted trials (one worker's loop).

    Returns why it stopped: ``done``, ``exhausted`` (grid), ``timeout`` or ``stopped``
    (``keep_going`` said no). Raises KeyboardInterrupt after marking the running trial
    FAIL ``interrupted``. ``storage`` is the RDBStorage ``study`` was loaded from; while the
    loop runs, a database server that is unreachable is retried for ``db_retry`` seconds
    (``tunekit.execution._resilient``), then DatabaseUnreachable is raised.

    Example:
        >>> work(study, storage, objective, target=100)  # doctest: +SKIP
        'done'
    """
    from tunekit.execution._resilient import retrying

    interrupts = interrupts or Interrupts()
    grace = float(grace_period or 3 * (heartbeat or DEFAULT_HEARTBEAT))
    poll = min(poll, float(heartbeat or poll))
    started = time.monotonic()
    said: set[int] = set()
    with retrying(storage, db_retry, interrupts.check) as retry:
        while True:
            interrupts.check()
            if timeout is not None and time.monotonic() - started >= timeout:
                return "timeout"
            if keep_going is not None and not keep_going():
                return "stopped"
            claim: dict[str, Any] = {}
            retry.call(_claim, claim, study, storage, target, grace, heartbeat)
            decision, trial = claim["decision"], claim.get("trial")
            if decision in ("done", "exhausted"):
                return decision
            if trial is None:
                if heartbeat:
                    say_waiting(study, storage, heartbeat, grace, said)
                interrupts.sleep(poll)
                continue
            frozen = _run_one(study, storage, trial, objective, catch, heartbeat, interrupts)
            if frozen is not None and on_trial is not None:
                on_trial(study, frozen)


def _claim(claim: dict[str, Any], study: optuna.Study, storage: Any, target: int, grace: float, heartbeat: int | None) -> None:
    """Under the study lock, decide and maybe ask for a trial; results go into ``claim``, so a
    retry after a connection lost while releasing the lock does not ask for a second trial."""
    if "trial" in claim:
        return
    with study_lock(storage, study._study_id):
        claim["decision"] = _decide(study, storage, target, grace)
        if claim["decision"] == "run":
            with warnings.catch_warnings():  # "heartbeat ... supposed to be used with Study.optimize":
                warnings.simplefilter("ignore", UserWarning)  # this loop runs the heartbeat itself
                claim["trial"] = study.ask()
            if heartbeat:  # from now on a death of this worker is noticed
                storage.record_heartbeat(claim["trial"]._trial_id)


def join_study(
    url: str, name: str, *, sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner | None,
    heartbeat: int | None = DEFAULT_HEARTBEAT, grace_period: int | None = None, db_retry: float | None = None,
) -> tuple[optuna.Study, Any]:
    """Open an existing study as a worker: heartbeats on, lost trials retried, a database
    server that is down waited for ``db_retry`` seconds (``tunekit.execution._resilient``).

    A ConfigError names the studies that do exist when ``name`` is not one of them.
    """
    from tunekit.execution._resilient import open_retrying
    from tunekit._storage import mask, study_names

    storage, retry = open_retrying(url, db_retry, create=False, heartbeat_interval=heartbeat,
                                   grace_period=grace_period, on_lost_trial=retry_lost_trial)
    names = retry.call(study_names, storage)
    if name not in names:
        listed = ", ".join(names) if names else "none"
        raise ConfigError(
            f"no study named {name!r} in '{mask(url)}' (studies there: {listed}); "
            "start it with `tunekit run STUDY_FILE --storage URL` or pass --study-name"
        )
    return retry.call(optuna.load_study, study_name=name, storage=storage, sampler=sampler, pruner=pruner), storage
