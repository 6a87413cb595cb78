"""Issue 11, items 13, 24 and 15: many workers, signals while workers start, lost workers.

Real ``tunekit run --workers`` processes, real signals sent to the whole process group (what
a terminal's Ctrl-C or ``timeout``/systemd's SIGTERM do), real SIGKILL of a worker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import psutil
import pytest
from optuna.trial import TrialState

from workers_helpers import CHEAP, TUNEKIT, finish, running_trial, start, trials, wait_for


def test_worker_count_is_capped_at_the_trials_left_and_warned_above_the_cores() -> None:
    from tunekit.execution import worker_count

    assert worker_count(500, remaining=1, cores=2) == (1, ["note: 500 workers asked for, 1 trial left to run: starting 1 worker"])
    n, lines = worker_count(6, remaining=10, cores=2)
    assert n == 6 and len(lines) == 1 and lines[0].startswith("warning: 6 workers on 2 CPU cores")
    assert worker_count(2, remaining=10, cores=2) == (2, [])


# ``run --workers 500`` for one trial starting one worker (with its note) in a real run:
# test_workers_cli.py::test_ctrl_c_exits_130_and_rerun_resumes[500], which runs it anyway.


@pytest.fixture
def digits_study(tmp_path: Path) -> Path:
    """A tiny study on digits: a data set big enough (~1 MB pickled) that handing it to a
    worker process through the spawn pipe blocks until the worker reads it."""
    path = tmp_path / "tinydigits.py"
    path.write_text(
        "from tunekit import StudySpec, Int\n"
        "spec = StudySpec(data='digits', space={'units': Int(4, 16)}, fixed={'n_layers': 1}, epochs=1)\n"
    )
    return path


def _spawning(proc) -> bool:
    """True once the ``run`` process has started a worker process: one forked from its fork server
    (the server itself starts first thing, before the data are loaded, and is not a worker), or a
    spawned one (``TUNEKIT_WORKER_START=spawn``)."""
    try:
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                command = " ".join(child.cmdline())
                if "spawn_main" in command or ("forkserver" in command and child.ppid() != proc.pid):
                    return True
            except psutil.Error:  # a child that exited meanwhile
                continue
    except psutil.Error:
        return False
    return False


def _signal_while_spawning(db_url: str, study: Path, signals: list[int]) -> tuple[int, str]:
    proc = start([*TUNEKIT, "run", str(study), "--storage", db_url, "--trials", "4", "--workers", "2",
                  "--strategy", "random", "-q"], start_new_session=True)
    wait_for("a worker process", lambda: _spawning(proc), procs=[proc])
    children = psutil.Process(proc.pid).children(recursive=True)
    for sig in signals:
        os.killpg(proc.pid, sig)  # the whole foreground group, as a terminal or `timeout` does
    try:
        code, _, err = finish(proc, timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("`tunekit run` hung after the signal") from None
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], "worker processes left behind"
    everything = trials(db_url, study.stem)
    assert not [t for t in everything if t.state in (TrialState.RUNNING,)], [(t.number, t.state) for t in everything]
    assert all(t.user_attrs.get("fail_reason") == "interrupted" for t in everything if t.state == TrialState.FAIL)
    return code, err


@pytest.mark.slow
def test_sigterm_while_workers_start_exits_130(db_url: str, digits_study: Path) -> None:
    code, err = _signal_while_spawning(db_url, digits_study, [signal.SIGTERM])
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("interrupted"), err


@pytest.mark.slow
def test_ctrl_c_twice_while_workers_start_exits_130(db_url: str, digits_study: Path) -> None:
    code, err = _signal_while_spawning(db_url, digits_study, [signal.SIGINT, signal.SIGINT])
    assert code == 130, err
    assert "Traceback" not in err and "AssertionError" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("interrupted"), err


def _create(url: str, name: str) -> None:
    import optuna

    from tunekit.storage._storage import open_storage

    optuna.create_study(storage=open_storage(url, create=True), study_name=name)


@pytest.mark.slow  # kills a real worker process
def test_rerun_after_a_killed_worker_says_why_it_waits_and_records_the_lost_worker(db_url: str) -> None:
    _create(db_url, "lost")
    # heartbeat 1 s, grace period 8 s: the rerun must find the lost trial not yet stale, so its start-up
    # (Python, Optuna, tunekit) has to fit in the grace period; with 3 s it did not once in CI
    grace = ["--grace-period", "8"]
    victim_proc = start([*CHEAP, db_url, "lost", "1", "--sleep", "60", *grace])
    victim = wait_for("a running trial", running_trial(db_url, "lost"), procs=[victim_proc])
    os.kill(victim_proc.pid, signal.SIGKILL)
    assert finish(victim_proc)[0] == -signal.SIGKILL
    code, out, err = finish(start([*CHEAP, db_url, "lost", "1", *grace]))
    assert code == 0 and out.strip() == "done", err
    waits = [line for line in err.splitlines() if line.startswith("waiting ")]
    assert len(waits) == 1, err
    assert waits[0].endswith(f"s for trial {victim.number} of a worker that stopped"), waits
    assert 1 <= int(waits[0].split()[1]) <= 8, waits
    lost = [t for t in trials(db_url, "lost") if t.number == victim.number][0]
    assert lost.state == TrialState.FAIL
    assert lost.user_attrs["fail_reason"] == f"worker lost (pid {victim_proc.pid} on host {socket.gethostname()})"
    retry = [t for t in trials(db_url, "lost") if t.system_attrs.get("retry_history") == [victim.number]]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE and "fail_reason" not in retry[0].user_attrs

    import optuna

    from tunekit.cli._run import _trial_line

    line = _trial_line(optuna.load_study(study_name="lost", storage=db_url), lost, 0.0)
    assert f"failed: worker lost (pid {victim_proc.pid} on host " in line, line
