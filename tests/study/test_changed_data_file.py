"""A data file changed in place (same path, other bytes) is refused on resume once a trial trained on it."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tests.conftest import invoke, one_error_line

pytestmark = pytest.mark.slow

STUDY = ("from tunekit import StudySpec, Int\n"
         "spec = StudySpec(data='table.csv', target='y', space={'units': Int(2, 8)},\n"
         "                 fixed={'n_layers': 1, 'batch_size': 16}, epochs=1)\n")


def _table(rows: int) -> str:
    return "a,b,y\n" + "".join(f"{i},{(i * 7) % 11},{i % 2}\n" for i in range(rows))


def test_a_data_file_changed_in_place_is_refused_naming_the_change(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "table.py").write_text(STUDY)
    data = tmp_path / "table.csv"
    data.write_text(_table(40))
    assert invoke("run", "table.py", "--trials", "1", "--storage", db_url).exit_code == 0
    db = Path(db_url.removeprefix("sqlite:///"))
    before = db.read_bytes()

    with data.open("a") as fh:  # rows appended, same path
        fh.write("".join(f"{i},{i % 5},{i % 2}\n" for i in range(40, 50)))
    for command in ("run", "worker"):
        line = one_error_line(invoke(command, "table.py", "--trials", "2", "--storage", db_url))
        assert "table.csv" in line and "40 rows" in line and "50 rows" in line and "--study-name NEW" in line, line
    assert db.read_bytes() == before  # the database as it was

    data.write_text(_table(40))  # restored: resumes
    assert invoke("run", "table.py", "--trials", "2", "--storage", db_url).exit_code == 0
    assert len(optuna.load_study(study_name="table", storage=db_url).trials) == 2


def test_a_data_file_changed_before_any_trial_trained_is_taken_with_a_note(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "table.py").write_text(STUDY)
    data = tmp_path / "table.csv"
    data.write_text(_table(40))
    from tunekit.study import load_spec
    from tunekit.study._run import _resolve

    spec = load_spec("table.py")
    dataset, *_ = _resolve(spec)
    import json

    study = optuna.create_study(study_name="table", storage=db_url, direction="maximize")
    for key, value in {"space": spec.space.to_json(), "data": spec.describe_data(), "metric": "val_accuracy",
                       "direction": "maximize", "task": "classification", "epochs": 1,
                       "dataset": json.dumps(dataset.describe(), sort_keys=True, default=str)}.items():
        study.set_user_attr(key, value)
    data.write_text(_table(50))  # corrected before any trial trained
    result = invoke("run", "table.py", "--trials", "1", "--storage", db_url)
    assert result.exit_code == 0, result.output
    assert "note: study 'table' continues on table.csv (50 rows" in result.output
    stored = json.loads(optuna.load_study(study_name="table", storage=db_url).user_attrs["dataset"])
    assert stored["file_rows"] == 50
