"""`tunekit predict`: raw rows in, key columns and predictions out; the columns checked first (one
line, exit 2, nothing written); large files streamed in batches; no overwrite without --force."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import invoke, one_error_line
from tests.predict._studies import raw_val_rows, run_study, write_houses

pytestmark = pytest.mark.slow  # one tiny real study, its best trial retrained and saved


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The houses study (target: band), its best model saved, and new.csv: the validation rows as
    the data has them, with an id column and the true band, columns in another order."""
    import optuna

    folder = tmp_path_factory.mktemp("predict")
    url = f"sqlite:///{folder / 'study.db'}"
    run_study(url, "houses", str(write_houses(folder)), target="band")
    result = invoke("best", "houses", "--storage", url, "--save-model", str(folder / "best.keras"))
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="houses", storage=url)
    rows, truth = raw_val_rows(study)
    new = rows.assign(band=truth.to_numpy(), id=np.arange(len(rows)) + 1000)[["id", "garden", "band", "rooms", "city", "size"]]
    new.to_csv(folder / "new.csv", index=False)
    return {"folder": folder, "url": url, "value": study.best_value, "model": folder / "best.keras", "new": folder / "new.csv"}


def _copy_model(saved: dict, here: Path) -> Path:
    for name in ("best.keras", "best.json"):
        shutil.copy(saved["folder"] / name, here / name)
    shutil.copy(saved["new"], here / "new.csv")
    return here / "best.keras"


def test_predictions_with_keys_labels_and_probabilities_reproduce_the_trial(saved: dict, tmp_path: Path) -> None:
    _copy_model(saved, tmp_path)
    result = invoke("predict", "--model", "best.keras", "new.csv", "-o", "p.csv")
    assert result.exit_code == 0, result.output
    assert "note: ignored by the model (not among its inputs): id, band; copied to the output: id, band" in result.output
    out = pd.read_csv("p.csv")
    assert list(out.columns) == ["id", "band", "predicted_band", "probability_cheap", "probability_dear", "probability_mid"]
    new = pd.read_csv("new.csv")
    assert out["id"].tolist() == new["id"].tolist() and len(out) == len(new)
    probs = out[["probability_cheap", "probability_dear", "probability_mid"]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (out["predicted_band"] == np.array(["cheap", "dear", "mid"])[probs.argmax(axis=1)]).all()
    assert float((out["predicted_band"] == out["band"]).mean()) == pytest.approx(saved["value"], abs=1e-6)
    assert f"wrote {len(new)} predictions (class labels and probabilities) to p.csv" in result.output


def test_streamed_in_batches_gives_the_same_file_and_the_study_form_retrains_the_same_model(saved: dict, tmp_path: Path) -> None:
    _copy_model(saved, tmp_path)
    assert invoke("predict", "--model", "best.keras", "new.csv", "-o", "one.csv", "--key", "id").exit_code == 0
    streamed = invoke("predict", "--model", "best.keras", "new.csv", "-o", "many.csv", "--key", "id", "--batch-rows", "7")
    assert streamed.exit_code == 0, streamed.output
    assert "predicting" in streamed.stderr  # the progress bar, on stderr, when there is more than one batch
    # the same rows, keys and labels; probabilities equal to float rounding: without oneDNN (off in a process that
    # trains the factory's networks, as this one) a matmul's last bit can depend on how many rows it holds
    many, one = pd.read_csv("many.csv"), pd.read_csv("one.csv")
    assert many[["id", "predicted_band"]].equals(one[["id", "predicted_band"]])
    pd.testing.assert_frame_equal(many, one, check_exact=False, atol=1e-6, rtol=0)
    assert list(pd.read_csv("one.csv").columns)[:2] == ["id", "predicted_band"]
    retrained = invoke("predict", "houses", "new.csv", "-o", "study.csv", "--key", "id", "--storage", saved["url"])
    assert retrained.exit_code == 0, retrained.output
    assert retrained.stderr.startswith("retraining trial 0")
    pd.testing.assert_frame_equal(pd.read_csv("study.csv"), pd.read_csv("one.csv"), atol=1e-6)


def _edit(path: Path, change) -> None:
    frame = pd.read_csv(path)
    change(frame)
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(("change", "args", "message"), [
    (lambda f: f.drop(columns=["city", "rooms"], inplace=True), [],
     "error: CSV 'new.csv' lacks the column(s) the model takes: city, rooms; add them (the model takes: size, city, rooms, garden)"),
    (lambda f: f.__setitem__("size", ["big"] + list(f["size"][1:])), [],
     "error: CSV 'new.csv': column 'size' should hold numbers (as in training), but data row 1 has 'big'; fix that value"),
    (lambda f: f.__setitem__("garden", ["maybe"] + list(f["garden"][1:])), [],
     "error: CSV 'new.csv': column 'garden' should hold true/false (or 1/0) (as in training), but data row 1 has 'maybe'"),
    (lambda f: f.__setitem__("rooms", [None, None] + list(f["rooms"][2:])), [],
     "error: CSV 'new.csv' has missing values in rooms (2 missing); the model needs a value in every input column"),
    (None, ["--key", "zip"], "error: --key zip: no such column in CSV 'new.csv'; its columns are: id, garden, band,"),
    (lambda f: f.drop(f.index, inplace=True), [], "error: CSV 'new.csv' has a header but no data rows; add the rows"),
    (lambda f: f.__setitem__("predicted_band", "x"), [],
     "error: CSV 'new.csv' has the column(s) predicted_band, named as the predictions are; rename them"),
    (None, ["other"], "error: the model 'best.keras' is of study 'houses', not 'other'; drop STUDY or pass"),
])
def test_bad_rows_one_line_exit_2_nothing_written(saved: dict, tmp_path: Path, change, args, message: str) -> None:
    _copy_model(saved, tmp_path)
    if change is not None:
        _edit(tmp_path / "new.csv", change)
    study, options = (args, []) if args == ["other"] else ([], args)
    line = one_error_line(invoke("predict", "--model", "best.keras", *study, "new.csv", "-o", "p.csv", *options))
    assert line.startswith(message), line
    assert not Path("p.csv").exists() and not list(tmp_path.glob(".p.csv*"))


def test_refuses_to_overwrite_without_force_and_a_model_without_card(saved: dict, tmp_path: Path) -> None:
    _copy_model(saved, tmp_path)
    Path("p.csv").write_text("mine\n")
    line = one_error_line(invoke("predict", "--model", "best.keras", "new.csv", "-o", "p.csv"))
    assert "cannot write the predictions 'p.csv': it already exists; pass --force" in line
    assert Path("p.csv").read_text() == "mine\n"
    assert invoke("predict", "--model", "best.keras", "new.csv", "-o", "p.csv", "--force").exit_code == 0
    Path("best.json").unlink()
    line = one_error_line(invoke("predict", "--model", "best.keras", "new.csv", "-o", "q.csv"))
    assert "no model card 'best.json' beside the model 'best.keras'" in line and not Path("q.csv").exists()


def test_the_study_form_checks_the_columns_before_retraining(saved: dict, tmp_path: Path) -> None:
    _copy_model(saved, tmp_path)
    _edit(tmp_path / "new.csv", lambda f: f.drop(columns=["city"], inplace=True))
    result = invoke("predict", "houses", "new.csv", "-o", "p.csv", "--storage", saved["url"])
    assert one_error_line(result).startswith("error: CSV 'new.csv' lacks the column(s) the model takes: city; add them")
    assert "retraining" not in result.stderr and not Path("p.csv").exists()
