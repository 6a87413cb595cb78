"""Trials lost with their worker (``tunekit.execution._lost``): a fused group's members are lost and
retried together. Each member beats from its own thread, so their last heartbeats differ; a rerun
that found only some of them stale retried one group as two (a CI failure of
``test_fused_loop.py::test_a_killed_fused_worker_s_members_are_all_retried``). A real SQLite file;
the heartbeats' ages are set in it as a dead worker would have left them."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tunekit._records import FAIL_REASON, WORKER_ATTR
from tunekit.execution._lost import fail_stale, retry_lost_trial
from tunekit.storage._storage import open_storage

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # study.ask with heartbeats

DEAD = "nowhere-host:4194999"  # a host:pid no process of this machine has


def _age(db: Path, trial_id: int, seconds: float) -> None:
    with closing(sqlite3.connect(db, timeout=30)) as con, con:
        con.execute(f"UPDATE trial_heartbeats SET heartbeat = datetime('now', '-{seconds} seconds') WHERE trial_id = ?",
                    (trial_id,))


@pytest.fixture
def study(tmp_path: Path) -> tuple[optuna.Study, Path, optuna.storages.RDBStorage]:
    storage = open_storage(f"sqlite:///{tmp_path / 'lost.db'}", create=True, heartbeat_interval=1, grace_period=3,
                           on_lost_trial=retry_lost_trial)
    return optuna.create_study(storage=storage), tmp_path / "lost.db", storage


def _running(study: optuna.Study, worker: str, age: float, db: Path) -> int:
    trial = study.ask()
    trial.set_user_attr(WORKER_ATTR, worker)
    study._storage.record_heartbeat(trial._trial_id)
    _age(db, trial._trial_id, age)
    return trial.number


def test_the_members_of_a_stale_trial_s_worker_that_missed_a_beat_are_lost_with_it(study) -> None:
    study, db, rdb = study
    stale = _running(study, DEAD, 5, db)  # past the grace period (3 s)
    members = [_running(study, DEAD, age, db) for age in (2.5, 2)]  # a beat missed (1 s), not stale yet
    beating = _running(study, DEAD, 0, db)  # the same host:pid beating now (a pid used again): alive
    other = _running(study, "elsewhere:1", 2, db)  # another worker's trial: not stale, not its sibling
    fail_stale(study, rdb)
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    for number in (stale, *members):
        assert by_number[number].state == TrialState.FAIL
        assert by_number[number].user_attrs[FAIL_REASON] == "worker lost (pid 4194999 on host nowhere-host)"
    assert by_number[beating].state == by_number[other].state == TrialState.RUNNING
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert sorted(t.system_attrs["failed_trial"] for t in waiting) == sorted((stale, *members))  # all three at once


def test_without_a_stale_trial_no_trial_is_lost(study) -> None:
    study, db, rdb = study
    for age in (2, 2.5):  # beats missed, none past the grace period
        _running(study, DEAD, age, db)
    fail_stale(study, rdb)
    assert {t.state for t in study.get_trials(deepcopy=False)} == {TrialState.RUNNING}
