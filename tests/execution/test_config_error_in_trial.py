"""Issue 12, defect 1: a configuration error inside a trial stops the run after that trial.

The trial is marked FAILED with its reason and does not count toward --trials, so the
corrected command runs the whole budget; the CLI says it in one ``error:`` line, exit 2.
Real tiny studies (iris, 1 epoch), real SQLite files, real worker processes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import invoke, one_error_line
from tunekit import ConfigError, Int, StudySpec
from tunekit._records import FAIL_REASON, counted_trials
from tunekit.data import load_data
from tunekit.execution import TrialRunner, work

pytestmark = pytest.mark.slow

STUDY = (
    "from tunekit import StudySpec, Int\n"
    "spec = StudySpec(data='iris', space={'units': Int(4, 16)},\n"
    "                 fixed={'n_layers': 1, 'batch_size': 32, %s}, epochs=1, name='conf')\n"
)
BROKEN = STUDY % "'clipnorm': 1.0, 'clipvalue': 0.5"  # each valid alone, refused together in the trial
FIXED = STUDY % "'clipnorm': 1.0"


def _trials(url: str, name: str = "conf") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def _assert_one_stopped_trial(url: str) -> None:
    trials = _trials(url)
    assert len(trials) == 1, [(t.number, t.state) for t in trials]
    assert trials[0].state == TrialState.FAIL
    assert "clipnorm and clipvalue" in trials[0].user_attrs[FAIL_REASON]
    assert counted_trials(optuna.load_study(study_name="conf", storage=url)) == 0


def test_metric_keras_never_produces_stops_the_loop_after_one_trial(db_url: str) -> None:
    spec = StudySpec(data="iris", space={"units": Int(4, 16)}, fixed={"n_layers": 1}, epochs=1)
    runner = TrialRunner(spec=spec, dataset=load_data("iris", seed=0), metric="val_auc", seed=0)
    storage = optuna.storages.RDBStorage(db_url)
    study = optuna.create_study(storage=storage, direction="maximize")
    with pytest.raises(ConfigError, match="val_auc"):
        work(study, storage, runner, target=5, heartbeat=None)
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.FAIL]
    assert "'val_auc' is not computed" in trials[0].user_attrs[FAIL_REASON]
    assert counted_trials(study) == 0  # the corrected run still runs its whole budget


def test_cli_stops_with_one_line_and_the_corrected_command_runs_the_budget(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "conf.py"
    study_file.write_text(BROKEN)
    line = one_error_line(invoke("run", str(study_file), "--strategy", "random", "--trials", "2", "--storage", db_url))
    assert "clipnorm and clipvalue" in line
    _assert_one_stopped_trial(db_url)
    study_file.write_text(FIXED)
    done = invoke("run", str(study_file), "--strategy", "random", "--trials", "1", "--storage", db_url)
    assert done.exit_code == 0, done.output
    trials = _trials(db_url)
    assert [t.state for t in trials[1:]] == [TrialState.COMPLETE]  # the stopped trial took no part of --trials 1
    assert "1 finished trial counts toward --trials" in done.output


def test_a_worker_joining_stops_with_one_line(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "conf.py"
    study_file.write_text(BROKEN)  # the run stops at its first trial; a worker then joins the study
    assert "clipnorm and clipvalue" in one_error_line(
        invoke("run", str(study_file), "--strategy", "random", "--trials", "3", "--storage", db_url))
    line = one_error_line(invoke("worker", str(study_file), "--storage", db_url, "--trials", "5"))
    assert "clipnorm and clipvalue" in line
    trials = _trials(db_url)
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]  # one trial each, then stopped
    assert counted_trials(optuna.load_study(study_name="conf", storage=db_url)) == 0


def test_a_worker_whose_file_changed_the_fixed_parameters_is_refused(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "conf.py"
    study_file.write_text(FIXED)
    assert invoke("run", str(study_file), "--strategy", "random", "--trials", "1", "--storage", db_url).exit_code == 0
    study_file.write_text(BROKEN)  # adds clipvalue to the fixed parameters a trial trained without
    line = one_error_line(invoke("worker", str(study_file), "--storage", db_url, "--trials", "5"))
    assert "trained with other fixed parameters (clipvalue: '(unset)' -> 0.5)" in line
    assert [t.state for t in _trials(db_url)] == [TrialState.COMPLETE]


def test_two_worker_processes_stop_at_the_first_configuration_error(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "conf.py"
    study_file.write_text(BROKEN)
    tunekit = str(Path(sys.executable).with_name("tunekit"))
    done = subprocess.run([tunekit, "run", str(study_file), "--strategy", "random", "--trials", "6",
                           "--workers", "2", "--storage", db_url], capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "clipnorm and clipvalue" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    trials = _trials(db_url)
    assert 1 <= len(trials) <= 2  # at most one trial per worker
    assert all(t.state == TrialState.FAIL for t in trials)
    assert counted_trials(optuna.load_study(study_name="conf", storage=db_url)) == 0


def _faulty_strategy_file(tmp_path: Path, hook: str) -> Path:
    path = tmp_path / "faulty.py"
    path.write_text(
        "import optuna\n"
        "from tunekit import StudySpec, Int\n"
        "from tunekit.strategies import Strategy, register, STRATEGIES\n"
        "class Faulty(optuna.samplers.RandomSampler):\n"
        f"    def {hook}(self, study, trial, *args):\n"
        "        raise ValueError('the plug-in has no model yet')\n"
        "if 'faulty' not in STRATEGIES:\n"
        "    register(Strategy('faulty', lambda *, space, seed: Faulty(seed=seed), 'broken plug-in', {}))\n"
        "spec = StudySpec(data='iris', space={'units': Int(4, 16)}, fixed={'n_layers': 1}, epochs=1, name='conf')\n"
    )
    return path


@pytest.mark.parametrize("hook", ["sample_independent", "sample_relative", "before_trial"])
def test_a_failing_strategy_stops_the_run_with_its_reason(tmp_path: Path, db_url: str, hook: str) -> None:
    from tunekit.strategies import STRATEGIES

    try:
        line = one_error_line(invoke("run", str(_faulty_strategy_file(tmp_path, hook)), "--strategy", "faulty",
                                     "--trials", "3", "--storage", db_url))
    finally:
        STRATEGIES.pop("faulty", None)
    assert "strategy 'faulty' failed: ValueError: the plug-in has no model yet" in line
    trials = _trials(db_url)
    assert [t.state for t in trials] == [TrialState.FAIL]
    assert trials[0].user_attrs[FAIL_REASON].startswith("strategy 'faulty' failed: ValueError")
    assert counted_trials(optuna.load_study(study_name="conf", storage=db_url)) == 0
