"""A study keeps its fixed parameters once a trial trained with them; a corrected file may change them before."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tests.conftest import TINY_STUDY, invoke, one_error_line

pytestmark = pytest.mark.slow


def test_changed_fixed_parameters_are_refused_after_a_trained_trial(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "tiny.py"
    study_file.write_text(TINY_STUDY)
    assert invoke("run", str(study_file), "--trials", "1", "--storage", db_url).exit_code == 0
    before = Path(db_url.removeprefix("sqlite:///")).read_bytes()

    study_file.write_text(TINY_STUDY.replace("'n_layers': 1", "'n_layers': 2"))
    line = one_error_line(invoke("run", str(study_file), "--trials", "2", "--storage", db_url))
    assert "trained with other fixed parameters (n_layers: 1 -> 2)" in line and "--study-name NEW" in line
    line = one_error_line(invoke("worker", str(study_file), "--trials", "2", "--storage", db_url))
    assert "n_layers: 1 -> 2" in line
    assert Path(db_url.removeprefix("sqlite:///")).read_bytes() == before  # the database as it was

    study_file.write_text(TINY_STUDY)  # restored: resumes
    assert invoke("run", str(study_file), "--trials", "2", "--storage", db_url).exit_code == 0
    assert len(optuna.load_study(study_name="tiny", storage=db_url).trials) == 2
