"""The CLI in-process (click's CliRunner): a real tiny study, the inspection commands, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from tests.conftest import TINY_STUDY, invoke


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def _ran_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One real 3-trial study per module; each test gets its own copy of the database."""
    folder = tmp_path_factory.mktemp("ran")
    study = folder / "tiny.py"
    study.write_text(TINY_STUDY)
    result = invoke("run", str(study), "--strategy", "random", "--trials", "3", "--storage", f"sqlite:///{folder / 'study.db'}", "--seed", "3")
    assert result.exit_code == 0, result.output
    return folder / "study.db", result.output


@pytest.fixture
def ran(_ran_once: tuple[Path, str], tiny_study_file: Path, tmp_path: Path) -> str:
    shutil.copy(_ran_once[0], tmp_path / "study.db")
    return _ran_once[1]


def test_run_end_to_end(ran: str, db_url: str) -> None:
    assert "study 'tiny' in sqlite:///" in ran and "3 finished trials" in ran
    assert "best val_accuracy = " in ran and "open the dashboard" in ran
    assert ran.count("trial ") >= 3  # a line per trial when not on a terminal
    study = optuna.load_study(study_name="tiny", storage=db_url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert all(len(t.intermediate_values) == 2 for t in study.trials)
    assert study.user_attrs["strategy"] == "random"


def test_rerun_resumes_same_study(ran: str, tiny_study_file: Path, db_url: str) -> None:
    result = invoke("run", str(tiny_study_file), "--strategy", "random", "--trials", "4", "--storage", db_url, "--seed", "3")
    assert result.exit_code == 0, result.output
    assert len(optuna.load_study(study_name="tiny", storage=db_url).trials) == 4


def test_inspection_commands(ran: str, db_url: str, tmp_path: Path) -> None:
    out = invoke("studies", "--storage", db_url)
    assert out.exit_code == 0 and "tiny" in out.output and "random" in out.output
    out = invoke("trials", "tiny", "--storage", db_url)
    assert out.exit_code == 0 and "units" in out.output and "COMPLETE" in out.output
    out = invoke("best", "tiny", "--storage", db_url, "--json")
    assert out.exit_code == 0
    best = json.loads(out.output)
    assert set(best["params"]) == {"units", "learning_rate", "activation"}
    assert best["fixed"] == {"n_layers": 1, "batch_size": 32}
    assert best["value"] == pytest.approx(best["metrics"]["val_accuracy"])
    for suffix in (".csv", ".parquet", ".json"):
        target = tmp_path / f"out{suffix}"
        out = invoke("export", "tiny", "--storage", db_url, "-o", str(target))
        assert out.exit_code == 0, out.output
        df = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".json": pd.read_json}[suffix](target)
        assert len(df) == 3 and "params_units" in df.columns and "user_attrs_val_accuracy" in df.columns
    assert "tpe" in invoke("strategies").output


def test_env_var_storage(tiny_study_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("TUNEKIT_STORAGE", url)
    assert invoke("run", str(tiny_study_file), "--trials", "1", "--strategy", "random").exit_code == 0
    assert (tmp_path / "env.db").exists()
    assert "tiny" in invoke("studies").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.py"], "error: study file 'missing.py' does not exist"),
        (["run", "{study}", "--trials", "0"], "error: Invalid value for '--trials': 0 is not in the range x>=1."),
        (["run", "{study}", "--trials", "-3"], "error: Invalid value for '--trials': -3 is not in the range x>=1."),
        (["run", "{study}", "--strategy", "bayes"], "error: unknown strategy 'bayes'; valid: grid, random, tpe"),
        (["run", "{study}", "--storage", "nonsense"], "error: malformed storage URL 'nonsense'"),
        (["run", "{study}", "--storage", "postgresql+psycopg://u:pw@127.0.0.1:1/x"], "error: cannot open storage 'postgresql+psycopg://u:***@127.0.0.1:1/x'"),
        (["run", "{study}", "-O", "resolution"], "error: strategy option 'resolution' is not KEY=VALUE"),
        (["best", "nope"], "error: no study named 'nope'"),
        (["export", "tiny", "-o", "out.xlsx"], "error: cannot export to 'out.xlsx': use a file ending .csv, .parquet or .json"),
    ],
)
def test_bad_input_one_line_exit_2_database_untouched(args: list[str], message: str, ran: str, tiny_study_file: Path, db_url: str, tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    before = digest(db)
    args = [a.replace("{study}", str(tiny_study_file)) for a in args]
    if "--storage" not in args:
        args += ["--storage", db_url]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith(message), result.output
    assert "Traceback" not in result.output
    assert digest(db) == before


def test_bad_study_files(tmp_path: Path, db_url: str) -> None:
    cases = {
        "syntax.py": ("spec = (\n", "line "),
        "lowhigh.py": ("from tunekit import *\nspec = StudySpec(data='iris', space={'units': Int(64, 16)})\n", "Int 'units': low <= high must hold, got low=64, high=16"),
        "log.py": ("from tunekit import *\nspec = StudySpec(data='iris', space={'learning_rate': Float(0.0, 1.0, log=True)})\n", "Float 'learning_rate': log=True needs low > 0, got low=0.0"),
        "empty.py": ("from tunekit import *\nspec = StudySpec(data='iris', space={'activation': Choice([])})\n", "Choice 'activation'"),
        "act.py": ("from tunekit import *\nspec = StudySpec(data='iris', space={'activation': Choice(['relu', 'rleu'])})\n", "unknown activation 'rleu'; valid:"),
        "init.py": ("from tunekit import *\nspec = StudySpec(data='iris', space={'initializer': Choice(['he'])})\n", "unknown initializer 'he'; valid:"),
        "opt.py": ("from tunekit import *\nspec = StudySpec(data='iris', space={'optimizer': Choice(['adam', 'lion'])})\n", "unknown optimizer 'lion'; valid:"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        result = invoke("run", str(path), "--storage", db_url)
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1, (name, result.output)
    assert not (tmp_path / "study.db").exists()


def test_bad_csv_inputs(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "nan.csv").write_text("a,b,y\n" + "\n".join(f"{i},{'' if i == 3 else i},{i % 2}" for i in range(40)))
    (tmp_path / "one.csv").write_text("a,b,y\n" + "\n".join(f"{i},{i * 2},1" for i in range(40)))
    (tmp_path / "ok.csv").write_text("a,b,y\n" + "\n".join(f"{i},{i * 2},{i % 2}" for i in range(40)))
    cases = {
        "target.py": ("ok.csv", "price", "has no column 'price'"),
        "nan.py": ("nan.csv", "y", "missing values in 1 column(s): b"),
        "single.py": ("one.csv", "y", "has a single value 1"),
    }
    for name, (csv, target, message) in cases.items():
        (tmp_path / name).write_text(
            f"from tunekit import *\nspec = StudySpec(data={csv!r}, target={target!r}, space={{'units': Int(4, 8)}}, epochs=1)\n"
        )
        result = invoke("run", str(tmp_path / name), "--storage", db_url)
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1, (name, result.output)
    assert not (tmp_path / "study.db").exists()


def test_debug_shows_traceback(tmp_path: Path, db_url: str) -> None:
    result = invoke("--debug", "run", "missing.py", "--storage", db_url)
    assert result.exit_code == 2
    assert "Traceback" in result.output and "does not exist" in result.output
