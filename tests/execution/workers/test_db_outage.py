"""Issue 11, item 16: workers ride out a PostgreSQL outage, and say so; a longer outage
stops them with exit 1 and the real cause in one line (that one: ``test_db_outage_workers.py``,
which stops a run's worker processes, then a one-process run and a joined ``tunekit worker``).

A private throw-away PostgreSQL server (initdb + pg_ctl, run as user ``postgres``) is
stopped and started under real ``tunekit run`` processes training tiny Keras models.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from optuna.trial import TrialState

from tests.conftest import invoke, need_service, one_error_line
from tunekit.execution._resilient import DEFAULT_DB_RETRY, db_retry_seconds
from workers_helpers import TUNEKIT, finish, running_trial, start, trials, wait_for

_PASSWORD = "outage-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A PostgreSQL server of one test: its own data folder and loopback port."""

    def __init__(self, bindir: Path, folder: Path) -> None:
        self.bindir, self.folder, self.port = bindir, folder, _free_port()
        self.data = folder / "data"
        self.url = f"postgresql+psycopg://tunekit:{_PASSWORD}@127.0.0.1:{self.port}/tunekit"

    def _as_postgres(self, command: str) -> None:
        as_root = os.geteuid() == 0
        args = ["su", "postgres", "-s", "/bin/bash", "-c", command] if as_root else ["bash", "-c", command]
        done = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{command!r} failed ({done.returncode}): {done.stderr.strip()}")

    def init(self) -> None:
        self.folder.chmod(0o755)
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        pwfile = self.folder / "pw"
        pwfile.write_text(_PASSWORD + "\n")
        pwfile.chmod(0o644)
        self._as_postgres(f"{self.bindir}/initdb -D {self.data} -U tunekit --pwfile={pwfile} -A scram-sha-256")
        self.start()
        self._as_postgres(f"PGPASSWORD={_PASSWORD} {self.bindir}/createdb -h 127.0.0.1 -p {self.port} -U tunekit tunekit")

    def start(self) -> None:
        self._as_postgres(
            f"{self.bindir}/pg_ctl -D {self.data} -l {self.data}/log -w "
            f"-o '-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c fsync=off -c max_connections=200' start"
        )

    def stop(self) -> None:
        self._as_postgres(f"{self.bindir}/pg_ctl -D {self.data} -m fast -w stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL server the test may stop and start (skipped locally without the
    binaries). Its folder is outside pytest's tmp_path, which user ``postgres`` cannot enter."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    need_service("PostgreSQL server binaries", bool(found), "apt-get install postgresql (initdb, pg_ctl)")
    server = PrivatePostgres(Path(found[-1]).parent, Path(tempfile.mkdtemp(prefix="tunekit-pg-")))
    try:
        server.init()
        yield server
    finally:
        try:
            server.stop()
        except RuntimeError:  # already stopped
            pass
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def trial_study(marked_study: Callable[..., tuple[Path, Path]]) -> tuple[Path, Path]:
    """A tiny Keras study ``outage`` on iris whose trials train (and report an epoch about every
    0.3 s) until the test writes the marker: seen RUNNING, and reporting epochs through the
    outage, however loaded the machine (fixed lengths were not: 25 epochs, about 1 s a trial,
    let a run of 3 finish before the test saw one running; so did 100 epochs once in CI).
    (the study file, the marker)."""
    return marked_study("outage")


@pytest.mark.slow
def test_workers_ride_out_an_outage_and_quick_restarts(private_postgres: PrivatePostgres,
                                                       trial_study: tuple[Path, Path]) -> None:
    """Two workers' trials span a 4 s outage and three quick restarts; they then end (the marker),
    and a third trial is claimed and trained after it: all three complete, exit 0."""
    url, (study, marker) = private_postgres.url, trial_study
    proc = start([*TUNEKIT, "run", str(study), "--storage", url, "--trials", "3", "--workers", "2",
                  "--strategy", "random", "--db-retry", "60", "-q"])
    try:
        # 240 s: the parent builds the first model (importing TensorFlow) before it starts the workers
        wait_for("a running trial", running_trial(url, "outage"), timeout=240, procs=[proc])
        private_postgres.stop()
        time.sleep(4)  # the outage: longer than a pooled connection's retry, shorter than --db-retry
        private_postgres.start()
        for _ in range(3):  # then three quick restarts in a row
            private_postgres.stop()
            private_postgres.start()
    finally:
        marker.touch()  # the running trials end after their epoch; the third trains one
    code, out, err = finish(proc, timeout=240)
    assert code == 0, err
    assert "Traceback" not in err and "error:" not in err, err
    assert "database unreachable, retrying for 60 s" in err
    assert "3 finished trials" in out
    everything = trials(url, "outage")
    assert not [t for t in everything if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert sum(t.state == TrialState.COMPLETE for t in everything) >= 3


def test_db_retry_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert db_retry_seconds() == DEFAULT_DB_RETRY == 120
    monkeypatch.setenv("TUNEKIT_DB_RETRY", "30")
    assert db_retry_seconds() == 30 and db_retry_seconds(5) == 5


def test_a_bad_db_retry_is_refused_before_the_database_is_touched(
    monkeypatch: pytest.MonkeyPatch, tiny_study_file: Path, db_url: str
) -> None:
    assert "--db-retry" in one_error_line(invoke("run", str(tiny_study_file), "--storage", db_url, "--db-retry", "-1"))
    monkeypatch.setenv("TUNEKIT_DB_RETRY", "soon")
    line = one_error_line(invoke("run", str(tiny_study_file), "--storage", db_url))
    assert line == "error: TUNEKIT_DB_RETRY must be a number of seconds >= 0 (for example 120), got 'soon'"
    assert not (Path(db_url.removeprefix("sqlite:///"))).exists()
