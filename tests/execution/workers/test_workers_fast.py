"""The worker loop in real processes with a cheap objective (no Keras): exact trial counts
under contention, grid points claimed once, a SIGKILLed worker's trial retried, Ctrl-C.
Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import collections
import os
import signal

import optuna
import pytest
from optuna.trial import TrialState

from workers_helpers import CHEAP, finish, running_trial, start, trials, wait_for, worker_pid
from tunekit._records import budget

pytestmark = pytest.mark.slow  # starts real worker processes (each imports tunekit)


def _create(url: str, name: str) -> None:
    from tunekit.storage._storage import open_storage

    optuna.create_study(storage=open_storage(url, create=True), study_name=name)


def test_four_processes_reach_the_exact_count(any_url: str) -> None:
    _create(any_url, "fast")
    procs = [start([*CHEAP, any_url, "fast", "40"]) for _ in range(4)]
    results = [finish(p) for p in procs]
    for code, out, err in results:
        assert code == 0, err
        assert "locked" not in err.lower() and "error" not in err.lower(), err
        assert out.strip() == "done"
    states = collections.Counter(t.state for t in trials(any_url, "fast"))
    assert states == {TrialState.COMPLETE: 40}
    workers = {t.user_attrs["worker"] for t in trials(any_url, "fast")}
    assert len(workers) >= 2  # the work was shared


def test_grid_with_two_workers_evaluates_each_point_once(any_url: str) -> None:
    _create(any_url, "grid")
    procs = [start([*CHEAP, any_url, "grid", "100", "--grid", "--sleep", "0.05"]) for _ in range(2)]
    results = [finish(p) for p in procs]
    assert all(code == 0 for code, _, _ in results), results
    assert sorted(out.strip() for _, out, _ in results) == ["exhausted", "exhausted"]
    done = trials(any_url, "grid")
    assert all(t.state == TrialState.COMPLETE for t in done)
    points = collections.Counter((t.params["a"], t.params["b"]) for t in done)
    assert len(points) == 12 and set(points.values()) == {1}
    assert sorted(t.system_attrs["tunekit:grid_id"] for t in done) == list(range(12))


def test_sigkilled_worker_trial_fails_and_is_retried(any_url: str) -> None:
    _create(any_url, "kill")
    procs = [start([*CHEAP, any_url, "kill", "4", "--sleep", "1.5"]) for _ in range(2)]
    running = running_trial(any_url, "kill")  # killed once both parameters are drawn (not between them)
    victim = wait_for("a running trial", lambda: (t := running()) is not None and len(t.params) == 2 and t, procs=procs)
    os.kill(worker_pid(victim), signal.SIGKILL)
    results = {p.pid: finish(p) for p in procs}
    assert results[worker_pid(victim)][0] == -signal.SIGKILL
    survivor = [r for pid, r in results.items() if pid != worker_pid(victim)][0]
    assert survivor[0] == 0, survivor[2]
    everything = trials(any_url, "kill")
    lost = [t for t in everything if t.number == victim.number][0]
    assert lost.state == TrialState.FAIL
    retry = [t for t in everything if t.system_attrs.get("retry_history") == [victim.number]]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == lost.params
    assert budget(everything).counted == 4
    assert not [t for t in everything if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_sigint_marks_the_trial_interrupted_and_resume_completes(any_url: str) -> None:
    _create(any_url, "intr")
    proc = start([*CHEAP, any_url, "intr", "3", "--sleep", "2"])
    victim = wait_for("a running trial", running_trial(any_url, "intr"), procs=[proc])
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    stopped = [t for t in trials(any_url, "intr") if t.number == victim.number][0]
    assert stopped.state == TrialState.FAIL and stopped.user_attrs["fail_reason"] == "interrupted"
    assert not [t for t in trials(any_url, "intr") if t.state == TrialState.RUNNING]
    code, out, err = finish(start([*CHEAP, any_url, "intr", "3"]))
    assert code == 0 and out.strip() == "done", err
    everything = trials(any_url, "intr")
    assert budget(everything).counted == 3
    assert sum(t.state == TrialState.COMPLETE for t in everything) == 3
