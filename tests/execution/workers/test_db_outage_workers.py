"""Issue 27, item 22: an outage longer than --db-retry stops every worker with the outage as its
cause (exit 1, ``database unreachable for N s``), never as a Ctrl-C (``interrupted``, exit 130).
Issue 11, item 16: the process that trains in itself (a joined ``tunekit worker``: the same
in-process loop as a one-process ``tunekit run``) stops with exit 1 and the cause in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_db_outage import _PASSWORD, PrivatePostgres, private_postgres, trial_study  # noqa: F401  (fixtures)
from workers_helpers import TUNEKIT, finish, start, study_exists, trials, wait_for, worker_pid


@pytest.mark.slow
def test_every_worker_stops_on_an_outage_as_an_outage(private_postgres: PrivatePostgres,
                                                      trial_study: tuple[Path, Path]) -> None:
    """The run's two workers and a joined worker, each in a trial (the marker never written: they
    train until the outage), all stop with the outage as the cause."""
    url, (study, _) = private_postgres.url, trial_study
    run = start([*TUNEKIT, "run", str(study), "--storage", url, "--trials", "200", "--workers", "2",
                 "--strategy", "random", "--db-retry", "3", "-q"])
    # the joined worker starts once the study exists, while the run starts its workers (both import TensorFlow)
    wait_for("the study", lambda: study_exists(url, "outage"), timeout=240, procs=[run])
    joined = start([*TUNEKIT, "worker", str(study), "--storage", url, "--db-retry", "3", "-q"])

    def running_in(own: bool) -> list:
        return [t for t in trials(url, "outage") if t.state.name == "RUNNING" and "worker" in t.user_attrs
                and t.params and (worker_pid(t) == joined.pid) == own]

    wait_for("a running trial of the run's workers", lambda: running_in(False), timeout=240, procs=[run, joined])
    wait_for("a running trial of the joined worker", lambda: running_in(True), timeout=240, procs=[run, joined])
    private_postgres.stop()
    results = [finish(proc, timeout=120) for proc in (run, joined)]
    for code, out, err in results:
        assert code == 1, results
        assert "interrupted" not in err and "Traceback" not in err, err
        assert _PASSWORD not in out + err, err
        assert "database unreachable, retrying for 3 s" in err, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: ") and "database unreachable for 3 s: " in last, err
    err = results[1][2]  # the joined worker: the outage's cause and the masked URL, in one line
    assert err.strip().splitlines()[-1] == (f"error: database unreachable for 3 s: connection refused "
                                            f"(postgresql+psycopg://tunekit:***@127.0.0.1:{private_postgres.port}/tunekit)"), err
