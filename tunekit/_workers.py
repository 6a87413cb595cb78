"""Many workers on one study: the trial budget, claiming trials, heartbeats and interrupts.

The budget (``--trials N``) is the number of *finished* trials of the whole study, summed
over every worker. A trial counts when it is COMPLETE, PRUNED or FAIL, except a FAIL lost
to the infrastructure rather than to its own parameters:

* **interrupted** (Ctrl-C or SIGTERM): marked FAIL with ``fail_reason`` ``interrupted``;
  it does not count, so running the same command again runs one more trial instead.
* **lost with its worker** (killed, machine gone): its heartbeat stops, and the next worker
  that looks, after the grace period, marks it FAIL (``fail_reason`` ``worker lost (pid P
  on host H)``, see ``tunekit._lost``) and queues a retry, a WAITING copy with
  the same parameters. The lost trial does not count; the retry counts when it finishes. A
  trial lost more than ``MAX_RETRIES`` times is not retried again and counts as one failure.

Every worker counts and claims under the study lock (``tunekit._storage.study_lock``): it
starts a trial only while ``counted + running < N``, so the study ends with exactly ``N``
counted trials however many workers race for the last ones. A worker whose budget is full
while other trials still run waits for them (one of them may be lost and retried).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._errors import ConfigError, TrialError
from tunekit._lost import WORKER_ATTR, fail_stale, orphans, say_waiting
from tunekit._runner import FAIL_REASON
from tunekit._storage import study_lock

INTERRUPTED = "interrupted"
MAX_RETRIES = 3
RETRY_HISTORY = "retry_history"  # the system attributes Optuna's retry callback uses
FAILED_TRIAL = "failed_trial"
DEFAULT_HEARTBEAT = 10
OnTrial = Callable[[optuna.Study, FrozenTrial], None]


@dataclass(frozen=True)
class Budget:
    """Trials of a study as the budget sees them."""

    counted: int
    running: int
    waiting: int


def budget(trials: Sequence[FrozenTrial], ignore_running: Iterable[int] = ()) -> Budget:
    """Count ``trials`` by the rules in the module docstring.

    Example:
        >>> budget(study.get_trials(deepcopy=False)).counted  # doctest: +SKIP
        12
    """
    retried: set[int] = set()
    for t in trials:
        retried.update(t.system_attrs.get(RETRY_HISTORY, ()))
    ignore = set(ignore_running)
    counted = running = waiting = 0
    for t in trials:
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            counted += 1
        elif t.state == TrialState.FAIL:
            counted += int(t.user_attrs.get(FAIL_REASON) != INTERRUPTED and t.number not in retried)
        elif t.state == TrialState.RUNNING:
            running += int(t._trial_id not in ignore)
        elif t.state == TrialState.WAITING:
            waiting += 1
    return Budget(counted, running, waiting)


def counted_trials(study: optuna.Study) -> int:
    """Trials that count toward the study's ``--trials`` budget."""
    return budget(study.get_trials(deepcopy=False)).counted


def retry_lost_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat-stale callback: queue a WAITING copy of a trial lost with its worker.

    Uses the same system attributes as Optuna's ``RetryHeartbeatStaleTrialCallback``
    (``failed_trial``, ``retry_history``), so its ``retried_trial_number`` works on them.
    """
    history = [*trial.system_attrs.get(RETRY_HISTORY, []), trial.number]
    if len(history) > MAX_RETRIES:
        return
    system_attrs = {**trial.system_attrs, FAILED_TRIAL: history[0], RETRY_HISTORY: history}
    user_attrs = {k: v for k, v in trial.user_attrs.items() if k != FAIL_REASON}
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING, params=trial.params, distributions=trial.distributions,
            user_attrs=user_attrs, system_attrs=system_attrs,
        )
    )


class Interrupts:
    """SIGINT / SIGTERM handling for a worker (a context manager; main thread only).

    The first signal raises KeyboardInterrupt only while a trial trains (the runner marks it
    FAIL ``interrupted``); anywhere else (claiming, storage writes) it is noted and the loop
    stops at its next safe point. A second signal raises at once. Python drops an exception
    raised while it runs a finalizer or a weakref callback, so while the trial goes on the
    KeyboardInterrupt is raised again every half second (SIGALRM) until it lands.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.in_trial = False
        self._previous: dict[int, Any] = {}
        self._unraisable = sys.unraisablehook

    def __enter__(self) -> "Interrupts":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
                self._previous[sig] = signal.signal(sig, self._handle)
            self._unraisable = sys.unraisablehook
            sys.unraisablehook = self._quiet_unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        self.leave_trial()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self._previous:
            sys.unraisablehook = self._unraisable
        self._previous.clear()

    def _quiet_unraisable(self, info: Any) -> None:
        """A KeyboardInterrupt of ours dropped in a finalizer: no traceback, it is raised again."""
        if not (self.requested and isinstance(info.exc_value, KeyboardInterrupt)):
            self._unraisable(info)

    def enter_trial(self) -> None:
        self.in_trial = True

    def leave_trial(self) -> None:
        self.in_trial = False
        if self._previous:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _handle(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGALRM:
            if self.in_trial:
                raise KeyboardInterrupt
            return
        again = self.signum is not None
        self.signum = signum
        if self.in_trial:
            signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
            raise KeyboardInterrupt
        if again:
            raise KeyboardInterrupt

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal arrived."""
        if self.signum is not None:
            raise KeyboardInterrupt

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early (with KeyboardInterrupt) when a signal arrives."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check()
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        self.check()


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
    (``tunekit._resilient``), then DatabaseUnreachable is raised.

    Example:
        >>> work(study, storage, objective, target=100)  # doctest: +SKIP
        'done'
    """
    from tunekit._resilient import retrying

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


def available_cores() -> int:
    """CPU cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def thread_budget(n_workers: int, cores: int | None = None) -> int:
    """TensorFlow intra-op threads per worker so ``n_workers`` processes share the cores."""
    return max(1, (cores or available_cores()) // max(1, n_workers))


def limit_tf_threads(threads: int) -> None:
    """Size TensorFlow's thread pools; call before TensorFlow runs its first op."""
    for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    from tunekit._tf import import_keras_quietly

    import_keras_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this process: the env vars apply
        pass


def join_study(
    url: str, name: str, *, sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner | None,
    heartbeat: int | None = DEFAULT_HEARTBEAT, grace_period: int | None = None, db_retry: float | None = None,
) -> tuple[optuna.Study, Any]:
    """Open an existing study as a worker: heartbeats on, lost trials retried, a database
    server that is down waited for ``db_retry`` seconds (``tunekit._resilient``).

    A ConfigError names the studies that do exist when ``name`` is not one of them.
    """
    from tunekit._resilient import open_retrying
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
