"""Issue 27, item 22: an outage longer than --db-retry stops every worker with the outage as its
cause (exit 1, ``database unreachable for N s``), never as a Ctrl-C (``interrupted``, exit 130).
Issue 11, item 16: a process that trains in itself (a one-process ``tunekit run``, a joined
``tunekit worker``: the same in-process loop) stops with exit 1 and the cause in one line.

Two tests, one private server each: the run's worker processes; the processes that train in
themselves, started together on a study this process made. (One test of all three took up to 88 s
on a loaded machine: the joined worker could only start, and import TensorFlow, once the run had
imported it and made the study.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import invoke
from test_db_outage import _PASSWORD, PrivatePostgres, private_postgres, trial_study  # noqa: F401  (fixtures)
from workers_helpers import TUNEKIT, finish, start, trials, wait_for, worker_pid


def _running_in(url: str, pid: int | None) -> list:
    """The study's running trials (parameters drawn, worker recorded) of the process ``pid``,
    or of any process (None)."""
    return [t for t in trials(url, "outage") if t.state.name == "RUNNING" and "worker" in t.user_attrs
            and t.params and (pid is None or worker_pid(t) == pid)]


def _stopped_by_the_outage(procs: list[subprocess.Popen]) -> list[str]:
    """Each process's stderr, once each has exited 1 with the outage as its cause, in one last line."""
    results = [finish(proc, timeout=120) for proc in procs]
    for code, out, err in results:
        assert code == 1, results
        assert "interrupted" not in err and "Traceback" not in err, err
        assert _PASSWORD not in out + err, err
        assert "database unreachable, retrying for 3 s" in err, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: ") and "database unreachable for 3 s: " in last, err
    return [err for _, _, err in results]


@pytest.mark.slow
def test_every_worker_process_of_a_run_stops_on_an_outage_as_an_outage(
        private_postgres: PrivatePostgres, trial_study: tuple[Path, Path]) -> None:
    """The run's two worker processes train (the marker never written: until the outage); the
    run then stops with the outage as the cause, not as an interrupted run."""
    url, (study, _) = private_postgres.url, trial_study
    run = start([*TUNEKIT, "run", str(study), "--storage", url, "--trials", "200", "--workers", "2",
                 "--strategy", "random", "--db-retry", "3", "-q"])
    wait_for("a running trial of each worker",
             lambda: len({worker_pid(t) for t in _running_in(url, None)}) == 2, timeout=240, procs=[run])
    private_postgres.stop()
    _stopped_by_the_outage([run])


@pytest.mark.slow
def test_processes_that_train_in_themselves_stop_on_an_outage_in_one_line(
        private_postgres: PrivatePostgres, trial_study: tuple[Path, Path]) -> None:
    """A one-process run (resuming the study) and a joined worker, each in a trial, both stop with
    the outage's cause and the masked URL in one line. The study is made first, in this process
    (one trial of one epoch), so that both start at once: the worker needs the study to exist."""
    url, (study, marker) = private_postgres.url, trial_study
    marker.touch()  # this first trial trains one epoch
    made = invoke("run", str(study), "--storage", url, "--trials", "1", "--strategy", "random")
    assert made.exit_code == 0, made.output
    marker.unlink()  # the next trials train until the outage
    more = ["--trials", "200", "--db-retry", "3", "-q"]
    run = start([*TUNEKIT, "run", str(study), "--storage", url, "--strategy", "random", *more])
    joined = start([*TUNEKIT, "worker", str(study), "--storage", url, *more])
    for proc in (run, joined):
        wait_for(f"a running trial of process {proc.pid}", lambda: _running_in(url, proc.pid), timeout=240,
                 procs=[run, joined])
    private_postgres.stop()
    expected = (f"error: database unreachable for 3 s: connection refused "
                f"(postgresql+psycopg://tunekit:***@127.0.0.1:{private_postgres.port}/tunekit)")
    for err in _stopped_by_the_outage([run, joined]):
        assert err.strip().splitlines()[-1] == expected, err
