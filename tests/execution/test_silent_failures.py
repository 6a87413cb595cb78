"""Issue 12, defect 5: no silent failures in a worker.

A heartbeat that cannot be recorded is said once (``warning: ...``) and, after the grace
period, stops the worker (its trial FAIL with the reason, not counted; exit 1 with one line)
instead of letting another worker run the same trial while it still runs. The search for
orphan trials says once why it cannot look instead of answering ``[]`` in silence. The
failures are real: the study database's heartbeat table taken away under a running worker.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import invoke
from tunekit._errors import TunekitError
from tunekit._records import FAIL_REASON, counted_trials
from tunekit.execution import Interrupts, work
from tunekit.execution._lost import orphans


def _break_heartbeats(db_url: str) -> None:
    """Another process's schema change: the heartbeat table is gone (renamed away)."""
    with closing(sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)) as con, con:
        con.execute("ALTER TABLE trial_heartbeats RENAME TO heartbeats_gone")


def test_a_heartbeat_that_cannot_be_recorded_stops_the_worker(db_url: str, capsys: pytest.CaptureFixture) -> None:
    storage = optuna.storages.RDBStorage(db_url, heartbeat_interval=1, grace_period=2)
    study = optuna.create_study(storage=storage)

    def objective(trial: optuna.Trial) -> float:
        _break_heartbeats(db_url)
        end = time.monotonic() + 30  # a long trial: the stop interrupts it
        while time.monotonic() < end:
            time.sleep(0.05)
        return 1.0

    with Interrupts() as interrupts:
        with pytest.raises(TunekitError, match="heartbeat of trial 0 could not be recorded for 2 s"):
            work(study, storage, objective, target=3, heartbeat=1, grace_period=2, interrupts=interrupts)
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.FAIL]
    assert "no such table: trial_heartbeats" in trials[0].user_attrs[FAIL_REASON]
    assert counted_trials(study) == 0  # stopped, not failed by its parameters
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "cannot record the heartbeat of trial 0" in warnings[0], warnings


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
def test_orphans_says_once_why_it_cannot_look(db_url: str, capsys: pytest.CaptureFixture) -> None:
    storage = optuna.storages.RDBStorage(db_url, heartbeat_interval=1, grace_period=2)
    study = optuna.create_study(storage=storage)
    study.ask()
    _break_heartbeats(db_url)
    assert orphans(storage, study._study_id, 0) == []
    assert orphans(storage, study._study_id, 0) == []
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("warning: cannot look for running trials") and "no such table" in err[0]


@pytest.mark.slow
def test_cli_run_stops_with_one_line_when_its_heartbeat_cannot_be_recorded(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "long.py"
    study_file.write_text(
        "from tunekit import StudySpec, Int\n"
        "spec = StudySpec(data='iris', space={'units': Int(4, 8)}, fixed={'n_layers': 1, 'batch_size': 32},\n"
        "                 epochs=100000, name='long')\n"  # minutes of training: only the stop ends it
    )

    def break_once_training() -> None:
        end = time.monotonic() + 300
        while not _training(db_url) and time.monotonic() < end:
            time.sleep(0.2)
        _break_heartbeats(db_url)

    breaker = threading.Thread(target=break_once_training, daemon=True)
    breaker.start()
    result = invoke("run", str(study_file), "--strategy", "random", "--trials", "2", "--heartbeat", "1",
                    "--grace-period", "2", "--storage", db_url)
    breaker.join()
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], result.output
    assert "heartbeat of trial 0 could not be recorded" in lines[-1] and "Traceback" not in result.output
    assert sum(line.startswith("warning: cannot record the heartbeat") for line in lines) == 1, result.output
    # The table back before Optuna opens the file: else its create_all re-creates it (a write,
    # "database is locked" once in CI on a loaded machine).
    with closing(sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)) as con, con:
        con.execute("ALTER TABLE heartbeats_gone RENAME TO trial_heartbeats")
    trials = optuna.load_study(study_name="long", storage=db_url).get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.FAIL]
    assert "no such table" in trials[0].user_attrs[FAIL_REASON]


def _training(db_url: str) -> bool:
    """True once a trial runs and has reported an epoch (it trains); read-only, creates nothing."""
    path = Path(db_url.removeprefix("sqlite:///"))
    if not path.exists():
        return False
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as con:
            query = ("SELECT count(*) FROM trials t JOIN trial_intermediate_values v ON v.trial_id = t.trial_id "
                     "WHERE t.state = 'RUNNING'")
            return con.execute(query).fetchone()[0] > 0
    except sqlite3.OperationalError:  # the tables are not there yet
        return False
