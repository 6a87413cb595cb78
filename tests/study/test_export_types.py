"""Issue 11 items 7 and 23: exported trials keep their types (nullable ints, lists, timestamps).

The study is written to a real SQLite file with tunekit's own space attribute; its trials are
created directly (no training needed to test the export's types).
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd
import pyarrow.parquet as pq
import pytest
from optuna.trial import TrialState

from tests.conftest import invoke, stored_study
from tunekit import trials_frame
from tunekit.space import Bool, Choice, Float, Int, PerLayer, Space

SPACE = Space({
    "n_layers": Int(1, 2),
    "units": PerLayer(Int(4, 64, log=True)),
    "learning_rate": Float(1e-4, 1e-1, log=True),
    "batch_size": Choice([16, 32, 64]),
    "activation": Choice(["relu", "tanh"]),
    "batch_norm": Bool(),
})


@pytest.fixture
def study(db_url: str) -> optuna.Study:
    """'typed': a one-layer trial (no units_1), a two-layer trial and a failed trial without a curve."""
    one = {"n_layers": 1, "units_0": 8, "learning_rate": 0.01, "batch_size": 32, "activation": "relu", "batch_norm": True}
    two = {**one, "n_layers": 2, "units_1": 16, "batch_size": 64, "batch_norm": False}
    done = {"epochs_run": 2, "param_count": 35}
    return stored_study(db_url, "typed", SPACE, [
        dict(params=one, value=0.8, intermediate_values={0: 0.5, 1: 0.8}, user_attrs=done),
        dict(params=two, value=0.9, intermediate_values={0: 0.6, 1: 0.9}, user_attrs=done),
        dict(params=one, state=TrialState.FAIL, user_attrs={"fail_reason": "loss became nan at epoch 1"}),
    ])


def _export(db_url: str, path: Path) -> Path:
    result = invoke("export", "typed", "--storage", db_url, "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_trials_frame_uses_the_stored_space_for_dtypes(study: optuna.Study) -> None:
    df = trials_frame(study, curves=True)
    assert str(df["params_units_1"].dtype) == "Int64"
    assert df["params_units_1"].isna().tolist() == [True, False, True]
    assert df.loc[1, "params_units_1"] == 16
    assert str(df["params_n_layers"].dtype) == "Int64"
    assert str(df["params_batch_size"].dtype) == "Int64"  # a Choice of ints
    assert str(df["params_batch_norm"].dtype) == "boolean"
    assert df["params_batch_norm"].tolist()[:2] == [True, False]
    assert str(df["params_learning_rate"].dtype) == "float64"
    assert str(df["user_attrs_param_count"].dtype) == "Int64"  # absent on the failed trial


def test_trials_frame_curve_is_a_list_of_numbers(study: optuna.Study) -> None:
    df = trials_frame(study, curves=True)
    assert df["curve"].tolist() == [[0.5, 0.8], [0.6, 0.9], []]


def test_parquet_keeps_lists_nullable_ints_and_timestamps(study: optuna.Study, db_url: str, tmp_path: Path) -> None:
    path = _export(db_url, tmp_path / "out.parquet")
    schema = pq.read_schema(path)
    assert str(schema.field("curve").type) == "list<element: double>"
    assert str(schema.field("datetime_start").type).startswith("timestamp")
    assert str(schema.field("params_units_1").type) == "int64"
    df = pd.read_parquet(path)
    assert str(df["params_units_1"].dtype) == "Int64"
    assert str(df["params_batch_norm"].dtype) == "boolean"
    assert pd.api.types.is_datetime64_any_dtype(df["datetime_start"])
    assert list(df.loc[0, "curve"]) == [0.5, 0.8]


def test_json_has_lists_and_integers(study: optuna.Study, db_url: str, tmp_path: Path) -> None:
    records = json.loads(_export(db_url, tmp_path / "out.json").read_text())
    assert records[0]["curve"] == [0.5, 0.8] and records[2]["curve"] == []
    assert records[0]["params_units_1"] is None
    assert records[1]["params_units_1"] == 16 and isinstance(records[1]["params_units_1"], int)
    assert records[0]["params_batch_norm"] is True
    assert pd.Timestamp(records[0]["datetime_start"]).year >= 2024  # an ISO date a reader can parse
    df = pd.read_json(path_or_buf=tmp_path / "out.json")
    assert df.loc[1, "curve"] == pytest.approx([0.6, 0.9])


def test_csv_writes_integers_without_decimals(study: optuna.Study, db_url: str, tmp_path: Path) -> None:
    path = _export(db_url, tmp_path / "out.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert df["params_units_1"].tolist() == ["", "16", ""]
    assert df["params_batch_size"].tolist() == ["32", "64", "32"]
    assert json.loads(df.loc[0, "curve"]) == [0.5, 0.8]  # CSV has no lists: a JSON string
    assert pd.Timestamp(df.loc[0, "datetime_start"]).year >= 2024


def test_trials_command_shows_an_absent_parameter_as_a_dash(study: optuna.Study, db_url: str) -> None:
    result = invoke("trials", "typed", "--storage", db_url)
    assert result.exit_code == 0, result.output
    assert "<NA>" not in result.output
    row = result.output.splitlines()[1].split()  # trial 0: one layer, no units_1
    assert row[0] == "0" and "-" in row


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_a_study_without_trials_exports_an_empty_table(db_url: str, tmp_path: Path, suffix: str) -> None:
    optuna.create_study(study_name="typed", storage=db_url)
    path = _export(db_url, tmp_path / f"empty{suffix}")
    assert path.exists()
    if suffix == ".parquet":
        assert pq.read_table(path).num_rows == 0
