"""Issue 11, items 2, 4, 6, 15 and 22 through the CLI: what ``run`` and ``worker`` print and
their exit codes. Real tiny studies (iris, 1 epoch) in real SQLite files."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from tests.conftest import invoke, one_error_line

ALWAYS_FAILS = (
    "from tunekit import StudySpec, Int\n"
    "spec = StudySpec(data='iris', space={'units': Int(4, 8)},\n"
    "                 fixed={'n_layers': 2, 'optimizer': 'sgd', 'learning_rate': 1e12, 'batch_size': 16}, epochs=1)\n"
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow  # trains several real models
def test_changed_epochs_refused_in_one_line_and_a_changed_strategy_noted(tiny_study_file: Path, db_url: str, tmp_path: Path) -> None:
    first = invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "random", "--trials", "1", "--epochs", "1")
    assert first.exit_code == 0, first.output
    before = _digest(tmp_path / "study.db")
    line = one_error_line(invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "random",
                                 "--trials", "2", "--epochs", "2"))
    assert "'tiny'" in line and "1 epoch" in line and "--epochs 2" in line and "--study-name NEW" in line, line
    assert _digest(tmp_path / "study.db") == before
    resumed = invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "tpe", "--trials", "2")
    assert resumed.exit_code == 0, resumed.output
    notes = [x for x in resumed.output.splitlines() if x.startswith("note: ")]
    assert notes == ["note: study 'tiny' continues with strategy tpe (was random) and 1 epoch per trial as it started "
                     "(--epochs 1; the study file says 2)"], resumed.output
    trials = optuna.load_study(study_name="tiny", storage=db_url).trials
    assert [t.user_attrs["strategy"] for t in trials] == ["random", "tpe"]
    assert [t.user_attrs["epochs_run"] for t in trials] == [1, 1]


@pytest.mark.slow  # trains several real models
def test_a_worker_with_other_epochs_in_its_study_file_is_refused(tiny_study_file: Path, db_url: str, tmp_path: Path) -> None:
    first = invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "random", "--trials", "1")
    assert first.exit_code == 0, first.output
    (tmp_path / "elsewhere").mkdir()
    edited = tmp_path / "elsewhere" / "tiny.py"
    edited.write_text(tiny_study_file.read_text().replace("epochs=2", "epochs=3"))
    before = _digest(tmp_path / "study.db")
    line = one_error_line(invoke("worker", str(edited), "--storage", db_url, "--trials", "2"))
    assert "2 epochs" in line and "epochs=3" in line and "--study-name NEW" in line, line
    assert _digest(tmp_path / "study.db") == before


@pytest.mark.slow  # trains several real models
def test_summary_says_which_trials_count_and_rounds_floats(tiny_study_file: Path, db_url: str) -> None:
    first = invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "random", "--trials", "2", "--epochs", "1")
    assert first.exit_code == 0, first.output
    study = optuna.load_study(study_name="tiny", storage=db_url)
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "interrupted"}))
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "ValueError: boom"}))
    result = invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "random", "--trials", "3")
    assert result.exit_code == 0, result.output
    summary = f"study 'tiny' in {db_url}: 3 finished trials count toward --trials (2 complete, 1 failed; not counted: 1 interrupted)"
    assert summary in result.output.splitlines(), result.output
    params = dict(line.strip().split(": ", 1) for line in result.output.splitlines() if line.startswith("  "))
    assert set(params) == {"units", "learning_rate", "activation"}, result.output
    assert params["learning_rate"] == f"{float(params['learning_rate']):.4g}", result.output


def test_every_trial_failed_exits_1_from_run_and_worker(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "fails.py"
    study_file.write_text(ALWAYS_FAILS)
    result = invoke("run", str(study_file), "--storage", db_url, "--strategy", "random", "--trials", "1")
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last == f"error: no trial completed; see the failure reasons with: tunekit trials fails --storage {db_url}", result.output
    assert [t.state for t in optuna.load_study(study_name="fails", storage=db_url).trials] == [TrialState.FAIL]
    worker = invoke("worker", str(study_file), "--storage", db_url)
    assert worker.exit_code == 1, worker.output
    assert "no trial completed" in worker.output


def test_interrupted_says_how_to_resume(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "stop.py"
    study_file.write_text("raise KeyboardInterrupt\n")  # as if Ctrl-C came while the study file loads
    result = invoke("run", str(study_file), "--storage", db_url)
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines()[-1] == "interrupted: run the same command to resume"


@pytest.mark.slow  # trains several real models
def test_best_prints_short_floats_and_keeps_scores_apart_from_trial_facts(tiny_study_file: Path, db_url: str) -> None:
    """`tunekit best` (the README's second command): parameters to 4 significant digits, the
    scores under `metrics:`, the seed, strategy and worker under `trial:`; --json keeps every digit."""
    assert invoke("run", str(tiny_study_file), "--storage", db_url, "--strategy", "random", "--trials", "1").exit_code == 0
    out = invoke("best", "tiny", "--storage", db_url)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    lr = next(x for x in lines if x.strip().startswith("learning_rate:"))
    shown = lr.split(":")[1].strip()
    assert shown == f"{float(shown):.4g}", lr
    metrics, trial = lines.index("metrics:"), lines.index("trial:")
    scores = [x.split(":")[0].strip() for x in lines[metrics + 1:trial]]
    facts = [x.split(":")[0].strip() for x in lines[trial + 1:]]
    assert scores and all(k.startswith(("val_", "train_")) for k in scores), scores
    assert {"seed", "strategy", "epochs_run"} <= set(facts), facts
    assert any(x.startswith("data: iris") for x in lines), lines
    full = __import__("json").loads(invoke("best", "tiny", "--storage", db_url, "--json").output)
    assert len(repr(full["params"]["learning_rate"])) > 8


def test_a_closed_pipe_is_not_an_error() -> None:
    """`tunekit strategies | head -1`: the reader stops reading; tunekit stops quietly (exit 141, as
    a shell reports SIGPIPE), with no 'unexpected BrokenPipeError' line."""
    tunekit = Path(sys.executable).with_name("tunekit")
    proc = subprocess.Popen([str(tunekit), "strategies"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before tunekit writes
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert stderr == "", stderr


@pytest.mark.slow
def test_sigterm_before_the_run_has_its_own_handlers_exits_130(tiny_study_file: Path, db_url: str) -> None:
    """SIGTERM while the run still loads TensorFlow and the data ends it as Ctrl-C does (exit 130,
    one line), not by the signal's default action (-15)."""
    import signal
    import time

    tunekit = Path(sys.executable).with_name("tunekit")
    proc = subprocess.Popen([str(tunekit), "run", str(tiny_study_file), "--storage", db_url, "--trials", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)  # the CLI has started; TensorFlow and the data are still loading
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip().splitlines()[-1].startswith("interrupted"), err
    assert "Traceback" not in err, err
