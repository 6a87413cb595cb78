"""Regression results in the target's own units (issue 11, item 20).

The diabetes target (disease progression, about 25..346) is standardised for training; the
recorded RMSE / MAE must be in its units, equal to a recomputation from the model's
predictions, and every place that shows a metric must say its units.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest

from tests.conftest import invoke
from tunekit import Int, StudySpec
from tunekit.execution import TrialRunner
from tunekit.data import load_data

DIABETES_STUDY = (
    "from tunekit import StudySpec, Int\n"
    "spec = StudySpec(\n"
    "    data='diabetes',{metric}\n"
    "    space={{'units': Int(8, 16)}},\n"
    "    fixed={{'n_layers': 1, 'batch_size': 32, 'learning_rate': 0.01}},\n"
    "    epochs=2,\n"
    ")\n"
)


@pytest.mark.slow  # trains several real models
def test_recorded_val_rmse_and_mae_equal_a_recomputation_in_target_units(db_url: str) -> None:
    spec = StudySpec(data="diabetes", space={"units": Int(8, 16)},
                     fixed={"n_layers": 1, "batch_size": 32, "learning_rate": 0.01, "loss": "mse"}, epochs=2)
    metric, direction = spec.resolved_metric("regression")
    assert (metric, direction) == ("val_rmse", "minimize")  # the default objective is in the user's units
    ds = load_data("diabetes", seed=0)
    mean, std = ds.target_scale
    predictions: list[np.ndarray] = []
    runner = TrialRunner(spec=spec, dataset=ds, metric=metric, seed=0,
                         on_model=lambda model: predictions.append(model.predict(ds.x_val, verbose=0)))
    study = optuna.create_study(storage=db_url, direction=direction)
    study.optimize(runner, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE, trial.user_attrs

    y_val = ds.y_val.astype(np.float64) * std + mean  # the target in its own units (~25..346)
    assert 20 < y_val.min() and y_val.max() < 350
    predicted = predictions[0][:, 0].astype(np.float64) * std + mean
    rmse = float(np.sqrt(np.mean((predicted - y_val) ** 2)))
    mae = float(np.mean(np.abs(predicted - y_val)))
    attrs = trial.user_attrs
    assert attrs["val_rmse"] == pytest.approx(rmse, rel=1e-4)
    assert attrs["val_mae"] == pytest.approx(mae, rel=1e-4)
    assert attrs["val_mse"] == pytest.approx(rmse**2, rel=1e-4)
    assert trial.value == pytest.approx(rmse, rel=1e-4)  # the objective is val_rmse in target units
    assert attrs["val_rmse"] > 10  # not the standardised ~0.8
    # The Keras loss (MSE on the standardised target) stays standardised: it is what the optimizer minimised.
    assert attrs["val_loss"] == pytest.approx((rmse / std) ** 2, rel=1e-3)
    assert {"train_rmse", "train_mae", "train_mse", "train_loss"} <= set(attrs)
    assert attrs["train_rmse"] > 10
    assert attrs["target"] == "target"  # the column the units belong to
    assert [round(v, 6) for v in trial.intermediate_values.values()][-1] > 10  # pruning sees target units too


@pytest.mark.slow  # trains several real models
def test_cli_lines_best_and_report_say_the_units(tmp_path: Path, db_url: str) -> None:
    from tunekit.report._facts import read_study

    study_file = tmp_path / "diab.py"
    study_file.write_text(DIABETES_STUDY.format(metric=""))
    ran = invoke("run", str(study_file), "--strategy", "random", "--trials", "1", "--storage", db_url)
    assert ran.exit_code == 0, ran.output
    line = next(text for text in ran.output.splitlines() if text.startswith("trial "))
    study = optuna.load_study(study_name="diab", storage=db_url)
    attrs = study.trials[0].user_attrs
    assert study.user_attrs["metric"] == "val_rmse"
    assert f"val_rmse={attrs['val_rmse']:.4f} target units" in line, line
    assert f"val_loss={attrs['val_loss']:.4f} (standardised)" in line, line
    assert f"best val_rmse = {attrs['val_rmse']:.4f} target units (trial 0)" in ran.output  # the run's summary

    best = invoke("best", "diab", "--storage", db_url)
    assert best.exit_code == 0, best.output
    assert f"best val_rmse = {attrs['val_rmse']:.4f} target units (trial 0)" in best.output
    assert f"  val_mae: {attrs['val_mae']:.4f} target units" in best.output
    assert f"  val_loss: {attrs['val_loss']:.4f} (standardised)" in best.output
    as_json = json.loads(invoke("best", "diab", "--storage", db_url, "--json").output)
    assert as_json["units"]["val_rmse"] == "target units" and as_json["units"]["val_loss"] == "standardised"

    summary = dict(read_study(study).summary())
    assert "target units" in summary["metric"] and "target units" in summary["best"]

    # The retrained, saved model: its predictions de-standardised give the recorded RMSE.
    import keras

    from tunekit.predict import raw_split

    saved = invoke("best", "diab", "--storage", db_url, "--save-model", str(tmp_path / "best.keras"))
    assert saved.exit_code == 0, saved.output
    assert f"(val_rmse {attrs['val_rmse']:.4f} target units; reproduces the trial)" in saved.output
    meta = json.loads((tmp_path / "best.json").read_text())
    assert meta["units"]["val_rmse"] == "target units" and meta["units"]["val_loss"] == "standardised"
    ds = load_data("diabetes", seed=0)
    mean, std = ds.target_scale
    raw = raw_split("diabetes", seed=0)  # the saved model takes raw columns by name and returns target units
    val = raw.features.iloc[raw.val]
    predicted = keras.models.load_model(tmp_path / "best.keras").predict({c: val[c].to_numpy() for c in val}, verbose=0)[:, 0]
    rmse = float(np.sqrt(np.mean((predicted - (ds.y_val.astype(np.float64) * std + mean)) ** 2)))
    assert rmse == pytest.approx(attrs["val_rmse"], rel=1e-4)


@pytest.mark.slow  # trains several real models
def test_val_mae_objective_still_accepted_and_in_target_units(tmp_path: Path, db_url: str) -> None:
    study_file = tmp_path / "diab.py"
    study_file.write_text(DIABETES_STUDY.format(metric="\n    metric='val_mae',"))
    ran = invoke("run", str(study_file), "--strategy", "random", "--trials", "1", "--storage", db_url)
    assert ran.exit_code == 0, ran.output
    trial = optuna.load_study(study_name="diab", storage=db_url).trials[0]
    assert trial.value == pytest.approx(trial.user_attrs["val_mae"]) and trial.value > 10
    line = next(text for text in ran.output.splitlines() if text.startswith("trial "))
    assert f"val_mae={trial.value:.4f} target units" in line and "val_rmse=" in line, line


@pytest.mark.slow  # trains several real models
def test_a_study_started_on_val_loss_resumes_on_it_when_the_file_names_no_metric(tmp_path: Path, db_url: str) -> None:
    """Regression studies made before val_rmse became the default recorded val_loss; a study
    file that names no metric resumes them on val_loss instead of refusing a 'changed metric'."""
    old = tmp_path / "old.py"
    old.write_text(DIABETES_STUDY.format(metric="\n    metric='val_loss',"))
    assert invoke("run", str(old), "--trials", "1", "--storage", db_url, "--study-name", "d", "--strategy", "random").exit_code == 0
    now = tmp_path / "now.py"
    now.write_text(DIABETES_STUDY.format(metric=""))
    result = invoke("run", str(now), "--trials", "2", "--storage", db_url, "--study-name", "d", "--strategy", "random")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="d", storage=db_url)
    assert study.user_attrs["metric"] == "val_loss"
    second = study.trials[1]
    assert second.value == pytest.approx(second.user_attrs["val_loss"])
