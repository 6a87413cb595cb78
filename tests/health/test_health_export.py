"""Issue 13: ``trials_frame`` and ``tunekit export`` give a trial's health as typed columns
(numbers as numbers, lists as lists), in place of the raw ``user_attrs_health_series`` dict."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import invoke
from tunekit import trials_frame

pytestmark = pytest.mark.slow

SCALARS = ["health", "health_layer", "health_reason", "health_grad_ratio", "health_dead", "health_saturated"]
SERIES = ["health_layers", "health_epochs", "health_loss", "health_epoch_loss", "health_grad_norm", "health_weight_norm", "health_update_ratio",
          "health_act_mean", "health_act_std", "health_dead_layers", "health_saturated_layers", "health_symmetric",
          "health_unit_spread"]


def _export(url: str, study: str, path: Path) -> Path:
    result = invoke("export", study, "--storage", url, "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_frame_has_typed_health_scalars_and_no_raw_attributes(health_db: str) -> None:
    df = trials_frame(optuna.load_study(study_name="h", storage=health_db))
    assert not [c for c in df.columns if c.startswith("user_attrs_health")]
    assert [c for c in df.columns if c.startswith("health")] == SCALARS  # no lists without curves=True
    assert sorted(df["health"]) == ["ok"] * 3 + ["symmetric"] * 4 + ["vanishing"]
    for col in ("health_grad_ratio", "health_dead", "health_saturated"):
        assert str(df[col].dtype) == "float64", col
    vanishing = df[df["health"] == "vanishing"].iloc[0]
    assert vanishing["health_layer"] == "dense_0" and vanishing["health_grad_ratio"] < 1e-3
    assert "gradient norm" in vanishing["health_reason"]
    assert pd.isna(vanishing["health_dead"])  # sigmoid: no ReLU unit to die
    relu = df[(df["params_activation"] == "relu") & (df["health"] == "ok")].iloc[0]
    assert 0.0 <= relu["health_dead"] <= 1.0 and pd.isna(relu["health_saturated"])
    assert df.loc[df["health"] == "ok", "health_layer"].isna().all()


def test_frame_with_curves_has_the_series_as_lists(health_db: str) -> None:
    df = trials_frame(optuna.load_study(study_name="h", storage=health_db), curves=True)
    assert [c for c in df.columns if c.startswith("health")] == SCALARS + SERIES
    row = df[(df["params_n_layers"] == 8)].iloc[0]
    assert row["health_layers"] == [f"dense_{i}" for i in range(8)] + ["output"]
    assert row["health_epochs"] == [0, 1, 3]  # the start, epoch 1 (the powers of four below 3) and the last
    assert len(row["health_loss"]) == 3 and all(isinstance(v, float) for v in row["health_loss"])
    assert len(row["health_epoch_loss"]) == 3 and all(isinstance(v, float) for v in row["health_epoch_loss"])
    assert len(row["health_grad_norm"]) == 3 and all(len(probe) == 9 for probe in row["health_grad_norm"])
    assert row["health_update_ratio"][0] == [None] * 9  # nothing to compare the start with
    assert all(isinstance(v, bool) for v in row["health_symmetric"][-1])
    assert len(row["curve"]) == 3  # the per-epoch metric, beside the 3 probes (the start, epochs 1 and 3)


def test_parquet_has_list_columns_and_floats(health_db: str, tmp_path: Path) -> None:
    path = _export(health_db, "h", tmp_path / "h.parquet")
    schema = pq.read_schema(path)
    assert str(schema.field("health").type) in ("string", "large_string")
    assert str(schema.field("health_grad_ratio").type) == "double"
    assert str(schema.field("health_layers").type) == "list<element: string>"
    assert str(schema.field("health_loss").type) == "list<element: double>"
    assert str(schema.field("health_grad_norm").type) == "list<element: list<element: double>>"
    assert str(schema.field("health_symmetric").type) == "list<element: list<element: bool>>"
    df = pd.read_parquet(path)
    row = df[df["health"] == "vanishing"].iloc[0]
    assert list(row["health_layers"])[0] == "dense_0"
    first, output = row["health_grad_norm"][-1][0], row["health_grad_norm"][-1][-1]
    assert first < 1e-2 * output


def test_csv_writes_lists_as_json_text(health_db: str, tmp_path: Path) -> None:
    df = pd.read_csv(_export(health_db, "h", tmp_path / "h.csv"))
    assert str(df["health_grad_ratio"].dtype) == "float64"
    assert set(df["health"]) == {"ok", "symmetric", "vanishing"}
    grads = json.loads(df.loc[0, "health_grad_norm"])
    assert len(grads) == 3 and all(isinstance(g, (float, int)) or g is None for g in grads[-1])
    assert json.loads(df.loc[0, "health_layers"])[-1] == "output"


def test_json_round_trip(health_db: str, tmp_path: Path) -> None:
    records = json.loads(_export(health_db, "h", tmp_path / "h.json").read_text())
    vanishing = next(r for r in records if r["health"] == "vanishing")
    assert vanishing["health_layer"] == "dense_0" and isinstance(vanishing["health_grad_ratio"], float)
    assert vanishing["health_layers"][-1] == "output" and len(vanishing["health_grad_norm"]) == 3
    assert "user_attrs_health_series" not in vanishing


def test_trials_without_health_get_empty_columns(health_db: str, tmp_path: Path) -> None:
    df = trials_frame(optuna.load_study(study_name="plain", storage=health_db), curves=True)
    assert [c for c in df.columns if c.startswith("health")] == SCALARS  # no series to list
    assert df["health"].isna().all() and df["health_grad_ratio"].isna().all()
    mixed = trials_frame(optuna.load_study(study_name="mixed", storage=health_db), curves=True)
    assert mixed["health"].tolist()[0] == "symmetric" and pd.isna(mixed["health"].tolist()[1])
    assert mixed["health_layers"].tolist()[1] is None
    for suffix in (".csv", ".parquet", ".json"):
        for name in ("plain", "mixed"):
            assert _export(health_db, name, tmp_path / f"{name}{suffix}").exists()
    assert pd.read_parquet(tmp_path / "mixed.parquet")["health_layers"].tolist()[1] is None
    csv = pd.read_csv(tmp_path / "mixed.csv", dtype=str, keep_default_na=False)
    assert json.loads(csv["health_layers"][0])[0] == "dense_0" and csv["health_layers"][1] == ""
