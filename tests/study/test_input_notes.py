"""Inputs that did nothing or did something else than asked, silently: each is now refused in one
line or said in one ``note:`` line (issue 27, items 19 and 25)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tests.conftest import TINY_STUDY, invoke, one_error_line


def _study(tmp_path: Path, text: str) -> str:
    (tmp_path / "s.py").write_text(text)
    return "s.py"


def test_repeats_without_confirm_is_refused(tiny_study_file: Path, db_url: str) -> None:
    line = one_error_line(invoke("run", str(tiny_study_file), "--repeats", "3", "--storage", db_url))
    assert line == "error: --repeats 3 has no effect without --confirm K; add --confirm K (e.g. --confirm 3) or drop --repeats"
    assert not Path(db_url.removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize("args", [("run", "s.py"), ("worker", "s.py")])
def test_an_empty_study_name_is_refused(tmp_path: Path, db_url: str, args: tuple[str, ...]) -> None:
    _study(tmp_path, TINY_STUDY)
    for name in ("", "  "):
        line = one_error_line(invoke(*args, "--study-name", name, "--storage", db_url))
        assert line == f"error: --study-name {name!r} is empty; give a name, or leave --study-name out to use the study file's name"
    assert not Path(db_url.removeprefix("sqlite:///")).exists()


def test_an_empty_study_name_is_refused_by_import_kt(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "kt").mkdir()
    line = one_error_line(invoke("import-kt", str(tmp_path / "kt"), "--study-name", "", "--storage", db_url))
    assert line.startswith("error: --study-name '' is empty; give a name")
    assert not Path(db_url.removeprefix("sqlite:///")).exists()


@pytest.mark.slow  # trains one model
def test_cmaes_on_a_space_of_only_choices_says_it_models_nothing(tmp_path: Path, db_url: str) -> None:
    text = TINY_STUDY.replace("'units': Int(4, 32, log=True), 'learning_rate': Float(0.001, 0.1, log=True), ", "")
    assert "'activation': Choice" in text and "Int(" not in text.split("space=")[1].split("}")[0]
    result = invoke("run", _study(tmp_path, text), "--strategy", "cmaes", "--trials", "1", "--storage", db_url)
    assert result.exit_code == 0, result.output
    assert ("note: --strategy cmaes models Float and Int parameters and this space has none (activation): "
            "its trials are random draws; --strategy tpe or grid search choices") in result.output
    result = invoke("run", str(tmp_path / "s.py"), "--strategy", "tpe", "--trials", "1", "--storage", db_url,
                    "--study-name", "tpe")
    assert result.exit_code == 0 and "note: --strategy" not in result.output


@pytest.mark.slow  # trains two models
def test_a_batch_size_above_the_training_rows_is_noted(tmp_path: Path, db_url: str) -> None:
    fixed = _study(tmp_path, TINY_STUDY.replace("'batch_size': 32", "'batch_size': 500"))
    result = invoke("run", fixed, "--trials", "1", "--storage", db_url)
    assert result.exit_code == 0, result.output
    rows = optuna.load_study(study_name="s", storage=db_url).user_attrs["dataset"]
    import json

    train = json.loads(rows)["train_rows"]
    assert f"note: batch_size 500 is more than the {train} training rows: every epoch is one step on all {train} rows" in result.output
    searched = TINY_STUDY.replace("'activation': Choice", "'batch_size': Choice([16, 400, 800]), 'activation': Choice")
    result = invoke("run", _study(tmp_path, searched.replace(", 'batch_size': 32", "")), "--trials", "1",
                    "--storage", db_url, "--study-name", "searched")
    assert result.exit_code == 0, result.output
    assert f"note: batch_size values 400, 800 are more than the {train} training rows: they train as one step on all {train} rows" in result.output
    result = invoke("run", _study(tmp_path, TINY_STUDY), "--trials", "1", "--storage", db_url, "--study-name", "fine")
    assert result.exit_code == 0 and "note: batch_size" not in result.output


@pytest.mark.slow  # trains a few models
def test_a_grid_exhausted_below_the_trial_budget_says_so(tmp_path: Path, db_url: str) -> None:
    text = TINY_STUDY.replace("'units': Int(4, 32, log=True), 'learning_rate': Float(0.001, 0.1, log=True), ", "")
    text = text.replace("Choice(['relu', 'tanh'])", "Choice(['relu', 'tanh', 'elu'])")
    result = invoke("run", _study(tmp_path, text), "--strategy", "grid", "--trials", "5", "--storage", db_url)
    assert result.exit_code == 0, result.output
    assert "note: the grid is exhausted: all 3 points tried, 3 of --trials 5 (the study is complete)" in result.output
    assert len(optuna.load_study(study_name="s", storage=db_url).trials) == 3
    again = invoke("run", "s.py", "--strategy", "grid", "--trials", "5", "--storage", db_url)
    assert again.exit_code == 0 and "the grid is exhausted: all 3 points tried" in again.output
    full = invoke("run", "s.py", "--strategy", "grid", "--trials", "3", "--storage", db_url, "--study-name", "exact")
    assert full.exit_code == 0 and "grid is exhausted" not in full.output
