"""Issue 28: raw data -> study -> saved model -> predictions on the raw validation rows reproduce the
trial's metric, for binary, multiclass, regression and a CSV with a string column whose validation
rows hold categories that training never saw. Plain ``keras.models.load_model``, no custom objects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import invoke
from tests.predict._studies import (
    as_inputs,
    metric_on_rows,
    raw_val_rows,
    run_study,
    write_houses,
)

pytestmark = pytest.mark.slow  # each test trains a tiny real study, then retrains its best trial


def _round_trip(db_url: str, name: str, out: Path) -> tuple[dict, float, float]:
    """``best --save-model`` through the CLI, then the saved model on the raw validation rows (columns
    reversed: order is irrelevant): (card, metric from the predictions, the trial's value)."""
    import keras
    import optuna

    saved = invoke("best", name, "--storage", db_url, "--save-model", str(out))
    assert saved.exit_code == 0, saved.output
    assert f"saved the retrained model to {out}" in saved.output and f"wrote {out.with_suffix('.json')}" in saved.output
    card = json.loads(out.with_suffix(".json").read_text())
    study = optuna.load_study(study_name=name, storage=db_url)
    rows, truth = raw_val_rows(study)
    predicted = keras.models.load_model(out).predict(as_inputs(rows[rows.columns[::-1]]), verbose=0)
    return card, metric_on_rows(predicted, truth, card["classes"]), study.best_value


def test_binary_built_in_with_tunekit_best_model_from_python(db_url: str, tmp_path: Path) -> None:
    import tunekit

    run_study(db_url, "cancer", "breast_cancer")
    out = tmp_path / "cancer.keras"
    model = tunekit.best_model("cancer", out, storage=db_url)
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["task"] == "binary" and card["classes"] == ["malignant", "benign"]
    assert len(card["inputs"]) == 30 and all(c["type"] == "number" for c in card["inputs"])
    import optuna

    study = optuna.load_study(study_name="cancer", storage=db_url)
    rows, truth = raw_val_rows(study)
    predicted = model.predict(as_inputs(rows), verbose=0)
    assert predicted.shape == (len(rows), 2) and np.allclose(predicted.sum(axis=1), 1.0, atol=1e-6)
    assert metric_on_rows(predicted, truth, card["classes"]) == pytest.approx(study.best_value, abs=1e-6)


def test_multiclass_built_in(db_url: str, tmp_path: Path) -> None:
    run_study(db_url, "iris", "iris")
    card, measured, trial = _round_trip(db_url, "iris", tmp_path / "best.keras")
    assert card["classes"] == ["setosa", "versicolor", "virginica"] and card["metric"] == "val_accuracy"
    assert card["returns"] == "one probability per class, in the order of classes"
    assert measured == pytest.approx(trial, abs=1e-6)


def test_regression_in_target_units(db_url: str, tmp_path: Path) -> None:
    run_study(db_url, "diab", "diabetes")
    card, measured, trial = _round_trip(db_url, "diab", tmp_path / "best.keras")
    assert card["metric"] == "val_rmse" and card["target"] == "target" and card["classes"] is None
    assert measured == pytest.approx(trial, rel=1e-4)  # RMSE in the target's units, not standardised
    assert measured > 10  # diabetes progression: tens of units, far from a standardised RMSE near 1


def test_csv_with_string_bool_and_unseen_categories(db_url: str, tmp_path: Path) -> None:
    import optuna

    csv = write_houses(tmp_path)
    run_study(db_url, "houses", str(csv), target="band")
    card, measured, trial = _round_trip(db_url, "houses", tmp_path / "best.keras")
    assert measured == pytest.approx(trial, abs=1e-6)
    kinds = {c["name"]: c["type"] for c in card["inputs"]}
    assert kinds == {"size": "number", "city": "string", "rooms": "number", "garden": "bool"}
    seen = next(c["categories"] for c in card["inputs"] if c["name"] == "city")
    rows, _ = raw_val_rows(optuna.load_study(study_name="houses", storage=db_url))
    assert set(rows["city"]) - set(seen), "the validation rows should hold a city that training never saw"
    assert sorted(card["classes"]) == ["cheap", "dear", "mid"]
    import hashlib

    assert card["data_sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert set(card["versions"]) == {"tunekit", "tensorflow", "keras"} and card["format"] == "keras"
    assert card["study"] == "houses" and card["metric_summary"].startswith("val_accuracy ")
