"""`best --format savedmodel`: a SavedModel folder that TensorFlow loads (``tf.saved_model.load``)
and whose serving signature takes raw rows; `--format onnx` is refused with one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import invoke, one_error_line
from tests.predict._studies import metric_on_rows, raw_val_rows, run_study, write_houses


@pytest.mark.slow  # trains a tiny real study, retrains its best trial
def test_savedmodel_serving_signature_on_raw_rows_reproduces_the_trial(db_url: str, tmp_path: Path) -> None:
    import optuna
    import tensorflow as tf

    run_study(db_url, "houses", str(write_houses(tmp_path)), target="band")
    out = tmp_path / "served"
    saved = invoke("best", "houses", "--storage", db_url, "--save-model", str(out), "--format", "savedmodel")
    assert saved.exit_code == 0, saved.output
    assert (out / "saved_model.pb").is_file() and json.loads((tmp_path / "served.json").read_text())["format"] == "savedmodel"
    serve = tf.saved_model.load(str(out)).signatures["serving_default"]
    study = optuna.load_study(study_name="houses", storage=db_url)
    rows, truth = raw_val_rows(study)
    feeds = {name: tf.constant(rows[name].astype(str if name == "city" else np.float32).to_numpy()[:, None])
             for name in rows}
    probabilities = next(iter(serve(**feeds).values())).numpy()
    classes = json.loads((tmp_path / "served.json").read_text())["classes"]
    assert metric_on_rows(probabilities, truth, classes) == pytest.approx(study.best_value, abs=1e-6)
    rows.assign(id=range(len(rows))).to_csv("new.csv", index=False)
    predicted = invoke("predict", "--model", str(out), "new.csv", "-o", "p.csv")  # the CLI reads SavedModels too
    assert predicted.exit_code == 0, predicted.output
    labels = pd.read_csv("p.csv")["predicted_band"].to_numpy(dtype=object)
    assert (labels == np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]).all()
    again = invoke("best", "houses", "--storage", db_url, "--save-model", str(out), "--format", "savedmodel")
    assert "already exists; pass --force" in one_error_line(again)


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "onnx"], "--format onnx is not available with Keras 3.15: its converter (tf2onnx 1.17"),
    (["--format", "savedmodel"], "cannot write the SavedModel 'best.keras': it is a folder, so give a name without a suffix"),
])
def test_format_refusals_are_one_line_and_write_nothing(db_url: str, tmp_path: Path, args: list[str], message: str) -> None:
    from tests.conftest import stored_study
    from tunekit import Int, Space

    stored_study(db_url, "s", Space({"units": Int(4, 8)}), [{"params": {"units": 4}, "value": 0.5}])
    line = one_error_line(invoke("best", "s", "--storage", db_url, "--save-model", "best.keras", *args))
    assert message in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.db"]
