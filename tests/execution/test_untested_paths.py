"""Issue 12: the execution paths that had no test (``--timeout``, ``worker --threads``, the
worker-process error paths), and defect 8 (the runner's trial Protocol). Real tiny studies."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import invoke

TUNEKIT = str(Path(sys.executable).with_name("tunekit"))
LONG_STUDY = (  # minutes of training per trial: only a signal or a stop ends it
    "from tunekit import StudySpec, Int\n"
    "spec = StudySpec(data='iris', space={'units': Int(4, 8)}, fixed={'n_layers': 1, 'batch_size': 32},\n"
    "                 epochs=100000, name='long')\n"
)


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def _training_workers(db_url: str) -> list[str]:
    """``host:pid`` of the workers whose trial runs and has reported an epoch; read-only."""
    path = Path(db_url.removeprefix("sqlite:///"))
    if not path.exists():
        return []
    query = ("SELECT DISTINCT a.value_json FROM trials t JOIN trial_user_attributes a ON a.trial_id = t.trial_id "
             "JOIN trial_intermediate_values v ON v.trial_id = t.trial_id WHERE t.state = 'RUNNING' AND a.key = 'worker'")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as con:
            return [json.loads(row[0]) for row in con.execute(query)]
    except sqlite3.OperationalError:  # no tables yet
        return []


def _two_long_workers(tmp_path: Path, db_url: str, on_training=None) -> tuple[subprocess.Popen, list[str]]:
    """``tunekit run --workers 2`` on the long study, once both workers train (each passed to
    ``on_training`` as soon as it is seen training)."""
    study_file = tmp_path / "long.py"
    study_file.write_text(LONG_STUDY)
    proc = subprocess.Popen([TUNEKIT, "run", str(study_file), "--strategy", "random", "--trials", "4", "--workers", "2",
                             "--heartbeat", "1", "--grace-period", "2", "--storage", db_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 300
    seen: list[str] = []
    while len(seen) < 2:
        for worker in _training_workers(db_url):
            if worker not in seen:
                seen.append(worker)
                if on_training is not None:
                    on_training(worker)
        if len(seen) < 2 and (proc.poll() is not None or time.monotonic() > end):
            proc.kill()
            raise AssertionError(f"the two workers did not start training: {proc.communicate()}")
        time.sleep(0.2)
    return proc, seen


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and err.strip().splitlines()[-1] == lines[0], err
    assert "Traceback" not in err, err
    return lines[0]


def test_timeout_stops_starting_trials(tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "--strategy", "random", "--trials", "50", "--timeout", "1",
                    "--study-name", "t", "--storage", db_url)
    assert result.exit_code == 0, result.output
    trials = _trials(db_url, "t")
    assert 1 <= len(trials) < 50  # the first trial alone outlasts the timeout
    assert all(t.state == TrialState.COMPLETE for t in trials)
    counts = "trial counts" if len(trials) == 1 else "trials count"
    assert f"{len(trials)} finished {counts} toward --trials" in result.output


@pytest.mark.slow
def test_worker_threads_sets_tensorflow_threads(tiny_study_file: Path, db_url: str) -> None:
    from tunekit.execution._trial import TF_THREADS

    first = invoke("run", str(tiny_study_file), "--strategy", "random", "--trials", "1", "--study-name", "t",
                   "--storage", db_url)
    assert first.exit_code == 0, first.output
    done = subprocess.run([TUNEKIT, "worker", str(tiny_study_file), "--study-name", "t", "--storage", db_url,
                           "--trials", "2", "--threads", "1"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    trials = _trials(db_url, "t")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert trials[1].system_attrs[TF_THREADS] == 1  # set in the worker process before TensorFlow started


@pytest.mark.slow
def test_every_worker_killed_by_a_signal_is_one_line(tmp_path: Path, db_url: str) -> None:
    def kill(worker: str) -> None:  # each worker as soon as it trains: the first need not train on meanwhile
        os.kill(int(worker.rpartition(":")[2]), signal.SIGKILL)

    proc, _ = _two_long_workers(tmp_path, db_url, on_training=kill)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    line = _error_line(err)
    assert "every worker stopped before the study was done (killed by signal 9, killed by signal 9)" in line
    assert "run the same command again to resume" in line


@pytest.mark.slow
def test_a_worker_process_that_fails_is_named_with_its_cause(tmp_path: Path, db_url: str) -> None:
    proc, _ = _two_long_workers(tmp_path, db_url)
    try:
        with closing(sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)) as con, con:
            con.execute("ALTER TABLE trial_heartbeats RENAME TO heartbeats_gone")  # a real database failure
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    line = _error_line(err)
    assert line.startswith("error: worker ") and "could not be recorded" in line, line
    assert "no such table: trial_heartbeats" in line
    trials = _trials(db_url, "long")
    assert len(trials) == 2 and all(t.state == TrialState.FAIL for t in trials)


# --- Issue 12, defect 8: the runner's trial is a declared Protocol, not a fake Optuna trial ---


def test_the_runner_declares_what_it_needs_from_a_trial() -> None:
    import inspect

    from tunekit.execution import RunnerTrial, TrialRunner, _runner
    from tunekit.study import _best

    annotation = inspect.signature(TrialRunner.train).parameters["trial"].annotation
    assert eval(annotation, vars(_runner)) is RunnerTrial  # the runner is typed with the Protocol
    study = optuna.create_study(direction="minimize")
    assert isinstance(study.ask(), RunnerTrial)  # a real Optuna trial is one
    stand_in = _best._RetrainTrial(7, optuna.study.StudyDirection.MAXIMIZE)
    assert isinstance(stand_in, RunnerTrial)
    assert stand_in.number == 7 and stand_in.study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert type(stand_in.study).__module__ == _best.__name__  # a small real class, not a SimpleNamespace
    stand_in.report(0.5, 0)
    stand_in.set_user_attr("seed", 3)
    assert stand_in.curve == {0: 0.5} and stand_in.user_attrs == {"seed": 3} and not stand_in.should_prune()
