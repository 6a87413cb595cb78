"""`tunekit best --save-model`: the best configuration retrained with its seed, saved, loaded and checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest

from tests.conftest import invoke, one_error_line

pytestmark = pytest.mark.slow  # the shared results_db fixture trains a real tiny study


def test_saved_model_loads_and_predicts_with_the_stored_accuracy(results_db: str, tmp_path: Path) -> None:
    import keras

    from tunekit.data import load_data
    from tunekit.predict import raw_split

    out = tmp_path / "best.keras"
    result = invoke("best", "tiny", "--storage", results_db, "--save-model", str(out), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output[result.output.index("{"):])  # after the "retraining ..." progress line
    meta = json.loads((tmp_path / "best.json").read_text())
    assert printed["saved_model"]["json"] == str(tmp_path / "best.json")

    study = optuna.load_study(study_name="tiny", storage=results_db)
    best = study.best_trial
    assert meta["trial"] == best.number and meta["params"] == best.params
    assert meta["fixed"] == {"n_layers": 1, "batch_size": 32}
    assert meta["seed"] == best.user_attrs["seed"]  # retrained with the trial's stored seed
    assert meta["model"] == "best.keras" and meta["metric"] == "val_accuracy"
    assert meta["trial_metrics"]["val_accuracy"] == pytest.approx(best.value)

    # The same data split the study used (iris, the spec's seed 0 and val_fraction 0.2).
    ds = load_data("iris", seed=0)
    model = keras.models.load_model(out)
    raw = raw_split("iris", seed=0)  # the same validation rows as raw columns: the saved model takes them by name
    val = raw.features.iloc[raw.val]
    predicted = np.argmax(model.predict({name: val[name].to_numpy() for name in val}, verbose=0), axis=1)
    accuracy = float(np.mean(predicted == ds.y_val))
    assert accuracy == pytest.approx(meta["validation_accuracy"], abs=1e-4)
    # Seeded, deterministic CPU training reproduces the trial itself.
    assert meta["reproduced"] is True
    assert accuracy == pytest.approx(best.value, abs=1e-4)
    assert len(meta["curve"]) == meta["epochs_run"] == 2


@pytest.mark.parametrize(
    ("study", "path", "message"),
    [
        ("nope", "best.keras", "error: no study named 'nope' in "),
        ("failed", "best.keras", "error: study 'failed' has no finished trial (1 failed, 0 pruned, 0 running)"),
        ("tiny", "missing/best.keras", "error: cannot write the model 'missing/best.keras': folder 'missing' does not exist"),
        ("tiny", "best.h5", "error: cannot write the model 'best.h5': use a file name ending .keras"),
        ("tiny", "adir.keras", "error: cannot write the model 'adir.keras': it is a folder; pass a file name"),
    ],
)
def test_bad_input_one_line_exit_2(results_db: str, tmp_path: Path, study: str, path: str, message: str) -> None:
    (tmp_path / "adir.keras").mkdir()
    line = one_error_line(invoke("best", study, "--storage", results_db, "--save-model", path))
    assert message in line
    if study == "nope":
        assert "studies there: tiny, one, failed" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.keras"]  # nothing written


def _recorded_study(url: str, *, data: str, dataset: dict) -> None:
    """A study with tunekit's attributes and one complete trial, without training anything."""
    from tunekit.space import Int, Space

    study = optuna.create_study(study_name="recorded", storage=url, direction="maximize")
    attrs = {"data": data, "dataset": json.dumps(dataset), "space": Space({"units": Int(4, 8)}).to_json(),
             "task": "multiclass", "metric": "val_accuracy", "direction": "maximize", "seed": 0, "epochs": 1,
             "fixed": "{}"}
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    study.add_trial(optuna.trial.create_trial(
        params={"units": 4}, distributions={"units": optuna.distributions.IntDistribution(4, 8)}, value=0.5))


def test_data_that_cannot_be_found_or_changed(db_url: str, tmp_path: Path) -> None:
    iris = {"name": "iris", "target": "target", "rows": 150, "train_rows": 120, "val_rows": 30, "features": 4,
            "n_classes": 3, "classes": ["setosa", "versicolor", "virginica"]}
    _recorded_study(db_url, data="data/mine.csv", dataset={**iris, "name": "mine"})
    line = one_error_line(invoke("best", "recorded", "--storage", db_url, "--save-model", "m.keras"))
    assert "was trained on 'data/mine.csv', a path relative to its study file's folder; run this command from that folder" in line
    optuna.delete_study(study_name="recorded", storage=db_url)
    _recorded_study(db_url, data="iris", dataset={**iris, "features": 5})
    line = one_error_line(invoke("best", "recorded", "--storage", db_url, "--save-model", "m.keras"))
    assert "the data of study 'recorded' (iris) differs from what the study ran on (features: 5 then, 4 now)" in line
    assert not (tmp_path / "m.keras").exists()
