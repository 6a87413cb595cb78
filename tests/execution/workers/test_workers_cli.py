"""Real ``tunekit run --workers`` and ``tunekit worker`` processes training real (tiny) Keras
models: a worker killed with SIGKILL mid-trial, Ctrl-C with exit 130 and resume."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable

import pytest
from optuna.trial import TrialState

from tests.conftest import invoke
from tunekit._records import budget
from workers_helpers import TUNEKIT, finish, running_trial, start, trials, wait_for, worker_pid

pytestmark = pytest.mark.slow
FAST_HEARTBEAT = ["--heartbeat", "1", "--grace-period", "3"]


def _check_lost_and_retried(url: str, name: str, victim_number: int, target: int) -> None:
    everything = trials(url, name)
    lost = [t for t in everything if t.number == victim_number][0]
    assert lost.state == TrialState.FAIL
    retry = [t for t in everything if victim_number in t.system_attrs.get("retry_history", [])]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE, [(t.number, t.state) for t in everything]
    assert lost.params and lost.params.items() <= retry[0].params.items()  # the lost configuration, retried as it was
    assert budget(everything).counted == target
    assert not [t for t in everything if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_run_workers_survives_a_sigkilled_worker(db_url: str, marked_study: Callable[..., tuple[Path, Path]]) -> None:
    """A worker of ``run --workers 2`` SIGKILLed in its trial (trials last until the marker, then
    train one epoch): the trial fails and is retried with its configuration, the run reaches the
    count. The study is the user's own model (``MARKED_STUDY``: a ``HyperModel`` whose ``build(hp)``
    asks its parameters), as a killed worker on a build study must be too."""
    study, marker = marked_study("tinylong")
    proc = start([*TUNEKIT, "run", str(study), "--storage", db_url, "--trials", "3",
                  "--workers", "2", "--strategy", "random", *FAST_HEARTBEAT])
    try:
        victim = wait_for("a running trial", running_trial(db_url, "tinylong"), procs=[proc])
        assert worker_pid(victim) != proc.pid  # a worker process, not the parent
        os.kill(worker_pid(victim), signal.SIGKILL)
    finally:
        marker.touch()
    code, out, err = finish(proc)
    assert code == 0, err
    assert "3 finished trials" in out
    _check_lost_and_retried(db_url, "tinylong", victim.number, 3)


def test_worker_command_killed_on_postgres(postgres_url: str, marked_study: Callable[..., tuple[Path, Path]]) -> None:
    """A ``tunekit worker`` process joins a study and is SIGKILLed in its trial (trials last until
    the marker): the trial fails and is retried by the next worker to join (in this process), which
    reaches the count. (Two worker processes at once, one the survivor, took up to 50 s in CI:
    two TensorFlow imports side by side; what is tested is the lost trial, found and retried.)"""
    study, marker = marked_study("tinylong")
    marker.touch()  # this first trial trains one epoch
    started = invoke("run", str(study), "--storage", postgres_url, "--trials", "1", "--strategy", "random",
                     *FAST_HEARTBEAT)  # the study, made in this process: the workers joining it are what is tested
    assert started.exit_code == 0, started.output
    marker.unlink()  # the worker's trial lasts until the kill
    killed = start([*TUNEKIT, "worker", str(study), "--storage", postgres_url, "--trials", "3"])
    try:
        victim = wait_for("a trial of the joined worker", running_trial(postgres_url, "tinylong"), timeout=240,
                          procs=[killed])
        assert worker_pid(victim) == killed.pid
        os.kill(killed.pid, signal.SIGKILL)
    finally:
        marker.touch()
    assert finish(killed)[0] == -signal.SIGKILL
    survivor = invoke("worker", str(study), "--storage", postgres_url, "--trials", "3")
    assert survivor.exit_code == 0, survivor.output
    out = survivor.output
    assert "3 finished trials" in out and ":***@127.0.0.1" in out
    assert "wk-pass" not in out and "tunekit-ci-pass" not in out
    _check_lost_and_retried(postgres_url, "tinylong", victim.number, 3)


@pytest.mark.parametrize("workers", ["1", "500"])
def test_ctrl_c_exits_130_and_rerun_resumes(db_url: str, tiny_long_study: Path, workers: str) -> None:
    """Ctrl-C in one process, and in the one worker process of ``--workers 500`` for one trial (the
    count capped at the trials left, with a note; issue 11, item 13), then the same command resumes."""
    command = [*TUNEKIT, "run", str(tiny_long_study), "--storage", db_url, "--trials", "1", "--epochs", "50",
               "--strategy", "random", "--workers", workers]
    proc = start(command)
    victim = wait_for("a running trial", running_trial(db_url, "tinylong"), procs=[proc])
    if workers != "1":
        assert worker_pid(victim) != proc.pid  # a worker process, not the parent
    proc.send_signal(signal.SIGINT)  # what the terminal sends to the foreground process
    code, _, err = finish(proc)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "interrupted: run the same command to resume"
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    capped = ["note: 500 workers asked for, 1 trial left to run: starting 1 worker"]
    assert notes == (capped if workers == "500" else []), err
    everything = trials(db_url, "tinylong")
    assert not [t for t in everything if t.state == TrialState.RUNNING]
    interrupted = [t for t in everything if t.state == TrialState.FAIL]
    assert interrupted and all(t.user_attrs.get("fail_reason") == "interrupted" for t in interrupted), [t.user_attrs for t in interrupted]
    resumed = invoke(*command[1:])  # the rerun in this process: what it finds in the database is tested
    assert resumed.exit_code == 0, resumed.output
    out = resumed.output
    everything = trials(db_url, "tinylong")
    assert budget(everything).counted == 1
    assert sum(t.state == TrialState.COMPLETE for t in everything) == 1
    assert "1 finished trial counts toward --trials" in out
    assert [line for line in out.splitlines() if line.startswith("note: ")] == (capped if workers == "500" else [])
    assert len(everything) == 2  # the interrupted trial and its rerun: one worker, not 500
