"""Issue 11 item 25: a study records which data it ran on (file name, rows, a hash of the bytes),
and the report shows that instead of the path as written in the study file."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from tests.conftest import invoke
from tunekit.data import load_data
from tunekit.report import read_study


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "noise": rng.normal(size=n), "kind": np.where(x > 0, "pos", "neg")})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_describe_names_the_file_its_rows_and_hash(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / f"houses{suffix}"
    _table().to_csv(path, index=False) if suffix == ".csv" else _table().to_parquet(path, index=False)
    described = load_data(f"data/houses{suffix}", target="kind", base_dir=tmp_path).describe()
    assert described["file"] == f"houses{suffix}"
    assert described["file_rows"] == 60 and described["rows"] == 60
    assert described["sha256"] == _sha(path) and re.fullmatch(r"[0-9a-f]{12}", described["sha256"])
    assert json.loads(json.dumps(described)) == described


def test_a_changed_file_has_another_hash_and_max_rows_keeps_the_file_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    before = load_data(str(path), target="kind", max_rows=20).describe()
    assert (before["rows"], before["file_rows"]) == (20, 60)
    _table(61).to_csv(path, index=False)
    after = load_data(str(path), target="kind").describe()
    assert after["sha256"] != before["sha256"] and after["file_rows"] == 61


def test_summary_line_in_the_users_terms() -> None:
    from tunekit.data import data_summary

    assert data_summary({"file": "houses.csv", "file_rows": 506, "rows": 506, "sha256": "0123456789ab"},
                        "../../data/houses.csv") == "houses.csv (506 rows, sha256 0123456789ab)"
    assert data_summary({"file": "h.csv", "file_rows": 500, "rows": 100, "sha256": "0123456789ab"},
                        "h.csv") == "h.csv (500 rows, sha256 0123456789ab; 100 used: max_rows)"
    assert data_summary(load_data("iris").describe(), "iris") == "iris (built-in, 150 rows)"
    assert data_summary({}, "../old.csv") == "../old.csv"  # a study recorded before file identities


@pytest.mark.slow  # trains several real models
def test_report_and_best_json_show_file_rows_and_hash(tmp_path: Path, db_url: str) -> None:
    """A real one-trial study on a CSV addressed as '../data/houses.csv' from its study file's folder."""
    (tmp_path / "data").mkdir()
    (tmp_path / "studies" / "deep").mkdir(parents=True)
    csv = tmp_path / "data" / "houses.csv"
    _table().to_csv(csv, index=False)
    study_file = tmp_path / "studies" / "deep" / "houses.py"
    study_file.write_text(
        "from tunekit import StudySpec, Float\n"
        "spec = StudySpec(data='../../data/houses.csv', target='kind', space={'learning_rate': Float(1e-3, 1e-1, log=True)},\n"
        "                 fixed={'n_layers': 1, 'units': 4}, epochs=1)\n"
    )
    result = invoke("run", str(study_file), "--trials", "1", "--strategy", "random", "--storage", db_url, "-q")
    assert result.exit_code == 0, result.output
    expected = f"houses.csv (60 rows, sha256 {_sha(csv)})"
    study = optuna.load_study(study_name="houses", storage=db_url)
    assert dict(read_study(study).summary())["data"] == expected
    result = invoke("report", "houses", "--storage", db_url, "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text()
    assert f"<td>{expected}</td>" in page and "../../data/houses.csv" not in page
    best = invoke("best", "houses", "--storage", db_url, "--json")
    assert best.exit_code == 0, best.output
    assert json.loads(best.output)["data"] == expected


def test_report_of_a_builtin_shows_its_name_and_rows(db_url: str) -> None:
    s = optuna.create_study(study_name="b", storage=db_url, direction="maximize")
    s.set_user_attr("data", "iris")
    s.set_user_attr("dataset", json.dumps(load_data("iris").describe()))
    s.add_trial(create_trial(params={"lr": 0.01}, distributions={"lr": FloatDistribution(1e-3, 0.1)}, value=0.9))
    assert dict(read_study(s).summary())["data"] == "iris (built-in, 150 rows)"
