"""Trials lost with their worker: found, explained and waited for.

A worker that dies (killed, machine gone) leaves its trial RUNNING with a heartbeat that
stops. After the grace period the next worker marks it FAIL with ``fail_reason``
``worker lost (pid P on host H)`` (from the ``worker`` user attr every trial gets when it
starts) and queues its retry (``retry_lost_trial``). A worker that waits for
such a trial says so once: ``waiting N s for trial K of a worker that stopped``.
"""

from __future__ import annotations

import copy
import datetime
import os
import socket
import sys
import warnings
import weakref
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunekit._records import FAIL_REASON, WORKER_ATTR

MAX_RETRIES = 3  # a trial lost more often is not retried again and counts as one failure


def orphans(storage: Any, study_id: int, grace: float) -> list[int]:
    """RUNNING trials older than ``grace`` that never had a heartbeat (started by a process
    without heartbeats that then died): left as they are, but not waited for."""
    import sqlalchemy

    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=grace)
    query = sqlalchemy.text(
        "SELECT t.trial_id FROM trials t LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE t.study_id = :study AND t.state = 'RUNNING' AND h.trial_id IS NULL AND t.datetime_start < :cutoff"
    )
    try:
        with storage.engine.connect() as con:
            return [int(r[0]) for r in con.execute(query, {"study": study_id, "cutoff": cutoff})]
    except Exception as exc:
        from tunekit.storage._retry import connection_error, retries_now

        if retries_now(storage) and connection_error(exc) is not None:
            raise  # a database outage: the worker's retry waits for the server (``_resilient``)
        warn_once(storage, "orphans", f"cannot look for running trials that never recorded a heartbeat "
                  f"({error_text(exc)}); this worker waits for every running trial instead")
        return []


_WARNED: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


def warn_once(storage: Any, key: str, message: str) -> None:
    """Print ``warning: message`` on stderr the first time ``key`` is warned about for ``storage``."""
    said = _WARNED.setdefault(storage, set())
    if key not in said:
        said.add(key)
        print(f"warning: {message}", file=sys.stderr, flush=True)


def error_text(exc: BaseException) -> str:
    """``Type: first line`` of the database driver's error behind ``exc`` (Optuna wraps it), else of ``exc``."""
    seen: BaseException | None = exc
    while seen is not None and getattr(seen, "orig", None) is None:
        seen = seen.__cause__
    cause = getattr(seen, "orig", None) or exc
    text = str(cause).strip()
    return f"{type(cause).__name__}: {text.splitlines()[0] if text else ''}"


def _optuna_retry() -> Any:
    """Optuna's own retry callback (``RetryHeartbeatStaleTrialCallback`` since Optuna 4.9,
    ``RetryFailedTrialCallback`` before), allowing ``MAX_RETRIES`` retries."""
    with warnings.catch_warnings():  # experimental (and, under its old name, deprecated) in Optuna
        warnings.simplefilter("ignore")
        cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
        return cls(max_retry=MAX_RETRIES, inherit_intermediate_values=False)


_RETRY = _optuna_retry()


def retry_lost_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat-stale callback: queue a WAITING copy of a trial lost with its worker.

    Optuna's retry callback (``failed_trial``, ``retry_history``; a trial lost more than
    ``MAX_RETRIES`` times is not retried), given the trial without its ``fail_reason``: the
    copy starts with none.
    """
    lost = copy.deepcopy(trial)  # Optuna's callback appends to the trial's retry_history list
    lost.user_attrs = {k: v for k, v in trial.user_attrs.items() if k != FAIL_REASON}
    _RETRY(study, lost)


def lost_reason(trial: FrozenTrial) -> str:
    """The ``fail_reason`` of a trial lost with its worker: ``worker lost (pid P on host H)``."""
    host, _, pid = str(trial.user_attrs.get(WORKER_ATTR, "")).rpartition(":")
    return f"worker lost (pid {pid} on host {host})" if host and pid else "worker lost (its heartbeat stopped)"


def fail_stale(study: optuna.Study, rdb: Any) -> None:
    """Optuna's ``fail_stale_trials``, and each lost trial's ``fail_reason`` written first
    (a finished trial's attributes cannot be changed). With a stale trial go the other trials of
    its worker that have missed a heartbeat too (``_lost_siblings``): a fused group's members,
    each beating from its own thread, are lost and retried together, as one group. ``rdb``: the
    study's RDB storage (its engine reads the heartbeats)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    storage = study._storage
    if not is_heartbeat_enabled(storage):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        failed = []
        stale = list(storage._get_stale_trial_ids(study._study_id))
        for trial_id in stale + _lost_siblings(study, rdb, stale):
            try:
                storage.set_trial_user_attr(trial_id, FAIL_REASON, lost_reason(storage.get_trial(trial_id)))
                if storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                    failed.append(trial_id)
            except optuna.exceptions.UpdateFinishedTrialError:  # finished meanwhile
                pass
        getter = getattr(storage, "get_heartbeat_stale_trial_callback", None) or storage.get_failed_trial_callback
        callback = getter()
        for trial_id in failed if callback is not None else ():
            callback(study, storage.get_trial(trial_id))


def _heartbeat_ages(study: optuna.Study, storage: Any) -> dict[int, float]:
    """Seconds since the last heartbeat of each RUNNING trial that has one, by trial id, on the
    database's clock; empty when the database does not answer."""
    import sqlalchemy
    import sqlalchemy.exc
    from optuna.storages._rdb import models

    trials, beats = models.TrialModel.__table__, models.TrialHeartbeatModel.__table__
    query = (sqlalchemy.select(trials.c.trial_id, beats.c.heartbeat)
             .join(beats, beats.c.trial_id == trials.c.trial_id)
             .where(trials.c.study_id == study._study_id, trials.c.state == TrialState.RUNNING))
    try:
        with storage.engine.connect() as con:
            now = con.execute(sqlalchemy.select(sqlalchemy.func.now())).scalar().replace(tzinfo=None)
            return {int(r[0]): (now - r[1].replace(tzinfo=None)).total_seconds() for r in con.execute(query)}
    except sqlalchemy.exc.SQLAlchemyError:
        return {}


def _lost_siblings(study: optuna.Study, rdb: Any, stale: list[int]) -> list[int]:
    """RUNNING trials of the worker (``host:pid``) of a stale trial that are not stale yet but have
    missed a heartbeat: lost with it. Each member of a fused group beats from its own thread, so
    their last beats differ by up to an interval; without this a rerun could find some members
    stale and the rest a moment later, and retry one group as two. A live worker's trials, beating
    every interval, are never taken (the missed beat guards against a pid used again)."""
    if not stale:
        return []
    workers = {str(rdb.get_trial(trial_id).user_attrs.get(WORKER_ATTR, "")) for trial_id in stale} - {""}
    interval = rdb.get_heartbeat_interval()
    if not workers or not interval:
        return []
    ages = _heartbeat_ages(study, rdb)
    return [t._trial_id for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t._trial_id not in stale and str(t.user_attrs.get(WORKER_ATTR, "")) in workers
            and ages.get(t._trial_id, 0.0) > interval]


def _silent_trials(study: optuna.Study, storage: Any, heartbeat: int) -> list[tuple[FrozenTrial, float]]:
    """RUNNING trials whose worker stopped (its process is gone from this host, or its
    heartbeat is two beats late), each with the seconds since its last heartbeat; none when
    the database does not answer (they are only for a message)."""
    ages = _heartbeat_ages(study, storage)  # none when the database does not answer: the message waits
    out = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        age = ages.get(trial._trial_id)
        if age is not None and (age > 2 * heartbeat or _gone(str(trial.user_attrs.get(WORKER_ATTR, "")))):
            out.append((trial, age))
    return out


def _gone(worker: str) -> bool:
    """True when ``host:pid`` names a process of this host that no longer runs."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def say_waiting(study: optuna.Study, storage: Any, heartbeat: int, grace: float, said: set[int]) -> None:
    """Print once per trial: ``waiting N s for trial K of a worker that stopped``."""
    for trial, age in _silent_trials(study, storage, heartbeat):
        if trial.number not in said:
            said.add(trial.number)
            left = max(1, int(grace - age + 0.999))
            print(f"waiting {left} s for trial {trial.number} of a worker that stopped", file=sys.stderr, flush=True)
