"""One worker's loop on a study: the trial budget, claiming trials, heartbeats, retries.

The budget (``--trials N``) is the number of *finished* trials of the whole study, summed
over every worker; what counts is in ``tunekit._records`` (interrupted trials and trials
lost with a dead worker do not). Every worker counts and claims under the study lock
(``tunekit.storage._storage.study_lock``): it starts a trial only while ``counted + running < N``,
so the study ends with exactly ``N`` counted trials however many workers race for the last
ones. A worker whose budget is full while other trials still run waits for them (one of
them may be lost and retried, ``tunekit.execution._lost``). Signals: ``_signals.Interrupts``.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import warnings
from typing import Any, Callable, Iterable, NoReturn

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._errors import ConfigError, TrialError
from tunekit._records import CONFIRMS, FAIL_REASON, INTERRUPTED, STOPPED_RUN, WORKER_ATTR, budget
from tunekit.storage._storage import study_lock
from tunekit.execution._lost import error_text, fail_stale, orphans, retry_lost_trial, say_waiting
from tunekit.execution._signals import Interrupts, WorkerStopped
from tunekit.strategies import points_left

DEFAULT_HEARTBEAT = 10
OnTrial = Callable[[optuna.Study, FrozenTrial], None]


class _Heartbeat:
    """Record a trial's heartbeat every ``interval`` seconds from a background thread.

    A failed write is said once on stderr (``warning: ...``) and tried again at the next
    beat; after ``grace`` seconds without one (other workers then take the trial for lost
    and retry it), or when the database stayed unreachable past ``--db-retry``
    (``DatabaseUnreachable``: during a shorter outage the write waits inside the storage's
    retry), the worker is stopped through ``interrupts.stop``.
    """

    def __init__(self, storage: Any, trial: optuna.Trial, interval: int | None, grace: float,
                 interrupts: Interrupts) -> None:
        self._storage, self._trial, self._interval, self._grace = storage, trial, interval, grace
        self._interrupts = interrupts
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> None:
        if self._interval:  # the first beat was recorded when the trial was claimed
            self._thread = threading.Thread(target=self._beat, name="tunekit-heartbeat", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        from tunekit.execution._resilient import DatabaseUnreachable

        last = time.monotonic()
        warned = False
        while not self._stop.wait(self._interval):
            try:
                self._storage.record_heartbeat(self._trial._trial_id)
                last = time.monotonic()
                continue
            except DatabaseUnreachable as exc:  # the outage outlasted --db-retry
                self._interrupts.stop(str(exc))
                return
            except Exception as exc:
                reason = error_text(exc)
            silent = time.monotonic() - last
            if not warned:
                warned = True
                print(f"warning: cannot record the heartbeat of trial {self._trial.number} ({reason}); "
                      f"this worker stops if it cannot for {self._grace:g} s", file=sys.stderr, flush=True)
            if silent >= self._grace and not self._stop.is_set():
                self._interrupts.stop(
                    f"the heartbeat of trial {self._trial.number} could not be recorded for {silent:.0f} s ({reason}); "
                    "the worker stopped so that no other worker runs the trial twice: check the study database"
                )
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _decide(study: optuna.Study, storage: Any, target: int, grace: float, confirm: tuple[int, int] | None = None) -> str:
    """``run``, ``wait``, ``done`` or ``exhausted`` (a grid with no point left); under the lock.
    Once the budget is reached, ``confirm`` (K, R) queues the confirmation trials still missing
    (``tunekit._confirm``) and keeps the workers at them until every one has finished."""
    fail_stale(study, storage)
    trials = study.get_trials(deepcopy=False)
    has_running = any(t.state == TrialState.RUNNING for t in trials)
    left = budget(trials, orphans(storage, study._study_id, grace) if has_running else ())
    if left.counted >= target:
        return "done" if confirm is None else _confirming(study, trials, confirm)
    if left.counted + left.running >= target:
        return "wait"
    free = points_left(study.sampler, study) if left.waiting == 0 else None
    if free is not None and free <= 0:
        return "wait" if left.running else "exhausted"
    return "run"


def _confirming(study: optuna.Study, trials: list[FrozenTrial], confirm: tuple[int, int]) -> str:
    """The confirmation phase: queue what is missing; ``run`` while any is queued, ``wait`` while
    one runs, then ``done``."""
    from tunekit._confirm import confirmation_plan

    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    for params, number in confirmation_plan(trials, k=confirm[0], repeats=confirm[1], maximize=maximize):
        study.enqueue_trial(params, user_attrs={CONFIRMS: number})
    pending = [t.state for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))
               if CONFIRMS in t.user_attrs]
    if TrialState.WAITING in pending:
        return "run"
    return "wait" if pending else "done"


def _run_one(
    study: optuna.Study, storage: Any, trial: optuna.Trial, objective: Callable[[optuna.Trial], float],
    catch: tuple[type[Exception], ...], heartbeat: int | None, interrupts: Interrupts, grace: float,
) -> FrozenTrial | None:
    """Run one claimed trial and tell its result; None when another worker declared it lost.
    A ConfigError of the trial is raised after it is told FAIL (it stops the run)."""
    value: float | None = None
    state: TrialState | None = None
    error: BaseException | None = None
    trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
    with _Heartbeat(storage, trial, heartbeat, grace, interrupts):
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
    if interrupts.stop_reason is not None:  # its heartbeat could not be recorded
        _tell_stopped(study, trial, value if state is None else None, interrupts.stop_reason)
    if state == TrialState.FAIL and interrupts.requested:
        # Failed after Ctrl-C: the interrupt may have surfaced as another error inside a library.
        error = error if isinstance(error, KeyboardInterrupt) else KeyboardInterrupt()
    try:
        if isinstance(error, KeyboardInterrupt):
            trial.set_user_attr(FAIL_REASON, INTERRUPTED)
        frozen = study.tell(trial, value if state is None else None, state=state, skip_if_finished=True)
    except optuna.exceptions.UpdateFinishedTrialError:
        return None
    if isinstance(error, ConfigError):  # the same in every trial: stop the run here
        raise ConfigError(f"{error} (trial {trial.number} stopped the run; it does not count toward --trials)") from error
    if error is not None:
        raise error
    return frozen


def _tell_stopped(study: optuna.Study, trial: optuna.Trial, value: float | None, reason: str) -> NoReturn:
    """The worker stops (``Interrupts.stop``): tell its trial (FAIL with ``reason`` and
    ``STOPPED_RUN`` unless it completed) as far as the database lets, then raise WorkerStopped.
    A trial the database does not take stays RUNNING and is retried as lost, elsewhere."""
    from tunekit.execution._trial import stop_run

    try:
        if value is None:
            stop_run(trial, reason)
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        else:
            study.tell(trial, value, skip_if_finished=True)
    except Exception:  # noqa: BLE001 - the database refused the heartbeat; the reason is raised below
        pass
    raise WorkerStopped(reason)


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
    confirm: tuple[int, int] | None = None,
) -> str:
    """Run trials of ``study`` until it has ``target`` counted trials (one worker's loop), then,
    with ``confirm=(K, R)``, the confirmation trials of the K best configurations (R each).

    Returns why it stopped: ``done``, ``exhausted`` (grid), ``timeout`` or ``stopped``
    (``keep_going`` said no). Raises KeyboardInterrupt after marking the running trial
    FAIL ``interrupted``. ``storage`` is the RDBStorage ``study`` was loaded from; while the
    loop runs, the calls of a database server's storage (as ``open_storage`` and ``join_study``
    open it: a ``RetryingRDBStorage``) are retried through an outage for ``db_retry`` seconds
    (``tunekit.execution._resilient``), then DatabaseUnreachable is raised. A ConfigError
    inside a trial stops the loop after that trial (failed, not counted); a heartbeat that
    cannot be recorded for ``grace_period`` seconds raises WorkerStopped.

    Example:
        >>> work(study, storage, objective, target=100)  # doctest: +SKIP
        'done'
    """
    def claim(retry: Any, grace: float) -> tuple[str, list[optuna.Trial]]:
        found: dict[str, Any] = {}
        retry.call(_claim, found, study, storage, target, grace, heartbeat, confirm)
        return found["decision"], [found["trial"]] if found.get("trial") is not None else []

    def run(trials: list[optuna.Trial], interrupts: Interrupts, grace: float) -> list[FrozenTrial]:
        frozen = _run_one(study, storage, trials[0], objective, catch, heartbeat, interrupts, grace)
        return [] if frozen is None else [frozen]

    return drive(study, storage, claim, run, timeout=timeout, on_trial=on_trial, heartbeat=heartbeat,
                 grace_period=grace_period, interrupts=interrupts, keep_going=keep_going, poll=poll, db_retry=db_retry)


def drive(
    study: optuna.Study, storage: Any,
    claim: Callable[[Any, float], tuple[str, list[optuna.Trial]]],
    run: Callable[[list[optuna.Trial], Interrupts, float], Iterable[FrozenTrial]],
    *, timeout: float | None, on_trial: OnTrial | None, heartbeat: int | None, grace_period: int | None,
    interrupts: Interrupts | None, keep_going: Callable[[], bool] | None, poll: float, db_retry: float | None,
) -> str:
    """One worker's loop, whatever it trains at a time (``work``: one trial; ``work_fused``: a
    batch): until ``claim(retry, grace)`` decides ``done``/``exhausted``, the ``timeout`` passes or
    ``keep_going`` says no, train what it claimed with ``run(trials, interrupts, grace)`` and call
    ``on_trial`` for each finished trial as ``run`` yields it (a fused batch: when its group ends);
    with nothing to claim yet, say what it waits for and poll.
    The claim goes through the storage's retries (``tunekit.execution._resilient``)."""
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
            decision, trials = claim(retry, grace)
            if not trials:
                if decision in ("done", "exhausted"):
                    return decision
                if heartbeat:
                    say_waiting(study, storage, heartbeat, grace, said)
                interrupts.sleep(poll)
                continue
            finished = run(trials, interrupts, grace)  # a batch's trials come as each is told
            try:
                for frozen in finished:
                    if on_trial is not None:
                        on_trial(study, frozen)
            finally:  # an on_trial that raised: the batch's untrained trials are failed now, not at GC
                close = getattr(finished, "close", None)
                if close is not None:
                    close()


def _claim(claim: dict[str, Any], study: optuna.Study, storage: Any, target: int, grace: float, heartbeat: int | None,
           confirm: tuple[int, int] | None = None) -> None:
    """Under the study lock, decide and maybe ask for a trial; results go into ``claim``, so a
    retry after a connection lost while releasing the lock does not ask for a second trial."""
    if "trial" in claim:
        return
    with study_lock(storage, study._study_id):
        claim["decision"] = _decide(study, storage, target, grace, confirm)
        if claim["decision"] == "run":
            with warnings.catch_warnings():  # "heartbeat ... supposed to be used with Study.optimize":
                warnings.simplefilter("ignore", UserWarning)  # this loop runs the heartbeat itself
                claim["trial"] = _ask(study)
            if heartbeat:  # from now on a death of this worker is noticed
                storage.record_heartbeat(claim["trial"]._trial_id)


def _ask(study: optuna.Study) -> optuna.Trial:
    """``study.ask()`` under the study lock. An error of the strategy while it starts the trial
    (``before_trial``) stops the run: the trial it leaves RUNNING, the newest, is failed with
    ``strategy 'x' failed: ...`` (not counted) and ConfigError raised."""
    from tunekit.execution._resilient import connection_error
    from tunekit.execution._trial import one_line

    try:
        return study.ask()
    except Exception as exc:
        if connection_error(exc) is not None:
            raise  # a database outage: retried by the caller
        name = study.user_attrs.get("strategy") or type(study.sampler).__name__
        reason = f"strategy {name!r} failed: {one_line(exc)}"
        trials = study.get_trials(deepcopy=False)
        if trials and trials[-1].state == TrialState.RUNNING and WORKER_ATTR not in trials[-1].user_attrs:
            for key, value in ((FAIL_REASON, reason[:1000]), (STOPPED_RUN, True)):
                study._storage.set_trial_user_attr(trials[-1]._trial_id, key, value)
            study._storage.set_trial_state_values(trials[-1]._trial_id, state=TrialState.FAIL)
        raise ConfigError(reason) from exc


def join_study(
    url: str, name: str, *, sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner | None,
    heartbeat: int | None = DEFAULT_HEARTBEAT, grace_period: int | None = None, db_retry: float | None = None,
) -> tuple[optuna.Study, Any]:
    """Open an existing study as a worker: heartbeats on, lost trials retried, a database
    server that is down waited for ``db_retry`` seconds (``tunekit.execution._resilient``).

    A ConfigError names the studies that do exist when ``name`` is not one of them.
    """
    from tunekit.execution._resilient import open_retrying
    from tunekit.storage._storage import no_study, study_names

    storage, retry = open_retrying(url, db_retry, create=False, heartbeat_interval=heartbeat,
                                   grace_period=grace_period, on_lost_trial=retry_lost_trial)
    names = retry.call(study_names, storage)
    if name not in names:
        raise no_study(name, url, names)
    return retry.call(optuna.load_study, study_name=name, storage=storage, sampler=sampler, pruner=pruner), storage
