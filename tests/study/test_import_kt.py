"""Issue 15, item 4: a keras-tuner project folder imported into the study database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tests.conftest import invoke, one_error_line
from tunekit.study import import_keras_tuner


@pytest.fixture(scope="module")
def kt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real keras-tuner 1.4 RandomSearch on 200 digits rows: 3 trials of 1 epoch, with an Int
    with a step, a log Float, a Choice, a Boolean with a conditional Float, and a Fixed."""
    from benchmarks._kt import ensure_tensorboard_importable

    ensure_tensorboard_importable()
    import keras
    import keras_tuner as kt
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x, y = x[:200] / 16.0, y[:200]

    def build(hp: kt.HyperParameters) -> keras.Model:
        model = keras.Sequential([keras.Input((64,))])
        model.add(keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation=hp.Choice("act", ["relu", "tanh"])))
        if hp.Boolean("dropout"):
            with hp.conditional_scope("dropout", [True]):
                model.add(keras.layers.Dropout(hp.Float("rate", 0.1, 0.5)))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hp.Fixed("batch", 32)
        return model

    folder = tmp_path_factory.mktemp("kt")
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=3, directory=str(folder),
                            project_name="search", seed=3, overwrite=True)
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    return folder / "search"


def _trial_docs(project: Path) -> dict[str, dict]:
    return {json.loads(p.read_text())["trial_id"]: json.loads(p.read_text()) for p in project.glob("trial_*/trial.json")}


@pytest.mark.slow
def test_every_keras_tuner_trial_becomes_a_trial_with_its_names_values_and_score(kt_project: Path, db_url: str) -> None:
    result = import_keras_tuner(kt_project.parent, study_name="old", storage=db_url)  # the tuner's directory= works
    assert (result.objective, result.direction) == ("val_accuracy", "maximize")
    docs = _trial_docs(kt_project)
    study = optuna.load_study(study_name="old", storage=db_url)
    assert result.counts == {"complete": len(docs), "failed": 0, "pruned": 0} and len(study.trials) == len(docs)
    for trial in study.trials:
        doc = docs[trial.user_attrs["kt_trial_id"]]
        assert trial.params == doc["hyperparameters"]["values"]  # the user's names, values as keras-tuner drew them
        assert trial.value == pytest.approx(doc["score"])
        assert ("rate" in trial.params) == trial.params["dropout"]  # conditional: only where its parent is on
        assert isinstance(trial.distributions["lr"], FloatDistribution) and trial.distributions["lr"].log
        assert trial.distributions["units"] == IntDistribution(8, 32, step=8)
        assert trial.distributions["batch"] == CategoricalDistribution([32])
        assert trial.intermediate_values  # the objective at keras-tuner's best epoch
        assert {"val_loss", "accuracy"} <= set(trial.user_attrs)
    assert study.best_value == max(d["score"] for d in docs.values())
    assert study.metric_names == ["val_accuracy"]


@pytest.mark.slow
def test_cli_import_then_trials_and_export_show_the_search(kt_project: Path, db_url: str, tmp_path: Path) -> None:
    result = invoke("import-kt", str(kt_project), "--study-name", "old", "--storage", db_url)
    assert result.exit_code == 0, result.output
    assert "imported 3 complete, 0 failed and 0 stopped trial(s) into study 'old' (objective val_accuracy" in result.output
    listing = invoke("trials", "old", "--storage", db_url)
    assert listing.exit_code == 0 and "units" in listing.output and "lr" in listing.output
    out = tmp_path / "old.csv"
    assert invoke("export", "old", "--storage", db_url, "--output", str(out)).exit_code == 0
    assert "params_units" in out.read_text().splitlines()[0]
    again = one_error_line(invoke("import-kt", str(kt_project), "--study-name", "old", "--storage", db_url))
    assert "already exists" in again and "--study-name" in again
    assert len(optuna.load_study(study_name="old", storage=db_url).trials) == 3  # not imported twice


def _project(tmp_path: Path, trials: list[dict], space: list[dict] | None = None) -> Path:
    """A hand-written keras-tuner project folder."""
    project = tmp_path / "proj"
    project.mkdir()
    space = space or [{"class_name": "Int", "config": {"name": "units", "min_value": 8, "max_value": 64, "step": 8,
                                                       "sampling": "linear", "default": None, "conditions": []}}]
    (project / "oracle.json").write_text(json.dumps({"hyperparameters": {"space": space, "values": {}}}))
    for t in trials:
        folder = project / f"trial_{t['trial_id']}"
        folder.mkdir()
        (folder / "trial.json").write_text(json.dumps(t))
    return project


def _kt_trial(trial_id: str, status: str, score: float | None, values: dict, loss: float = 0.5) -> dict:
    metrics = {"val_loss": {"direction": "min", "observations": [{"value": [loss], "step": 2}]}} if score is not None \
        else {}
    return {"trial_id": trial_id, "hyperparameters": {"space": [], "values": values}, "metrics": {"metrics": metrics},
            "score": score, "best_step": 2, "status": status,
            "message": "Traceback (most recent call last):\nValueError: Input 0 is incompatible" if status == "FAILED"
            else None}


def test_failed_stopped_and_unfinished_trials_and_hyperband_bookkeeping(tmp_path: Path, db_url: str) -> None:
    project = _project(tmp_path, [
        _kt_trial("0", "COMPLETED", 0.5, {"units": 16, "tuner/epochs": 3}, loss=0.5),
        _kt_trial("1", "FAILED", None, {"units": 24}),
        _kt_trial("2", "STOPPED", 0.7, {"units": 8}, loss=0.7),
        _kt_trial("3", "RUNNING", None, {"units": 32}),
        _kt_trial("10", "COMPLETED", 0.4, {"units": 64}, loss=0.4),
    ])
    result = import_keras_tuner(project, study_name="hb", storage=db_url)
    assert (result.objective, result.direction) == ("val_loss", "minimize")
    assert result.counts == {"complete": 2, "failed": 1, "pruned": 1} and result.skipped == ["3"]
    study = optuna.load_study(study_name="hb", storage=db_url)
    by_id = {t.user_attrs["kt_trial_id"]: t for t in study.trials}
    assert [t.user_attrs["kt_trial_id"] for t in study.trials] == ["0", "1", "2", "10"]  # trial_10 after trial_2
    assert by_id["1"].state.name == "FAIL" and by_id["1"].user_attrs["fail_reason"] == (
        "ValueError: Input 0 is incompatible")
    assert by_id["2"].state.name == "PRUNED"
    assert by_id["0"].user_attrs["kt:tuner/epochs"] == 3 and "tuner/epochs" not in by_id["0"].params
    assert study.best_trial.user_attrs["kt_trial_id"] == "10"
    assert "1 unfinished keras-tuner trial(s) left out" in invoke(
        "import-kt", str(project), "--study-name", "hb2", "--storage", db_url).output


def test_bad_folders_are_one_line_and_leave_the_database_as_it_was(tmp_path: Path, db_url: str) -> None:
    good = _project(tmp_path, [_kt_trial("0", "COMPLETED", 0.5, {"units": 16})])
    assert invoke("import-kt", str(good), "--study-name", "kept", "--storage", db_url).exit_code == 0
    before = [(s.study_name, s.n_trials) for s in optuna.get_all_study_summaries(db_url)]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no oracle.json" in one_error_line(invoke("import-kt", str(empty), "--study-name", "x", "--storage", db_url))
    assert "is not a folder" in one_error_line(
        invoke("import-kt", str(tmp_path / "missing"), "--study-name", "x", "--storage", db_url))
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    (broken / "trial_0" / "trial.json").write_text("{not json")
    line = one_error_line(invoke("import-kt", str(broken), "--study-name", "x", "--storage", db_url))
    assert "trial_0/trial.json" in line and "cannot read" in line
    line = one_error_line(invoke("import-kt", str(good), "--study-name", "x", "--storage", db_url,
                                 "--objective", "val_auc"))
    assert "--objective 'val_auc' is not a metric" in line and "val_loss" in line
    assert [(s.study_name, s.n_trials) for s in optuna.get_all_study_summaries(db_url)] == before


def test_a_score_that_matches_no_metric_asks_for_the_objective(tmp_path: Path, db_url: str) -> None:
    project = _project(tmp_path, [_kt_trial("0", "COMPLETED", 0.9, {"units": 16}, loss=0.5)])
    line = one_error_line(invoke("import-kt", str(project), "--study-name", "x", "--storage", db_url))
    assert "pass --objective NAME" in line
    result = import_keras_tuner(project, study_name="x", storage=db_url, objective="val_loss")
    assert result.study.trials[0].value == 0.5  # the named metric at keras-tuner's best step


def test_a_stepped_float_keeps_its_whole_range_and_keras_tuners_values(tmp_path: Path, db_url: str) -> None:
    """keras-tuner draws min + k * step: 0.8999999999999999 for Float(0, 0.9, step=0.3), 0.7000000000000001
    for Float(0.1, 0.75, step=0.2); they are the range's 0.9 and 0.7, as Optuna and tunekit step them."""
    from tunekit.hyper import record_space
    from tunekit.study._warm import plan_warm_start

    kt = pytest.importorskip("keras_tuner")
    kt_hp = kt.HyperParameters()
    kt_hp.Float("momentum", 0.0, 0.9, step=0.3)
    kt_hp.Float("rate", 0.1, 0.75, step=0.2)
    space = [{"class_name": type(hp).__name__, "config": hp.get_config()} for hp in kt_hp.space]
    drawn = [{hp.name: hp.prob_to_value(p) for hp in kt_hp.space} for p in (0.1, 0.4, 0.99)]
    assert drawn[-1] == {"momentum": 0.8999999999999999, "rate": 0.7000000000000001}  # keras-tuner's own values
    project = _project(tmp_path, [_kt_trial(str(i), "COMPLETED", 0.5 + i / 10, values, loss=0.5 + i / 10)
                                  for i, values in enumerate(drawn)], space=space)
    import_keras_tuner(project, study_name="kt", storage=db_url)
    study = optuna.load_study(study_name="kt", storage=db_url)
    for trial in study.trials:
        assert trial.distributions["momentum"] == FloatDistribution(0.0, 0.9, step=0.3)
        assert trial.distributions["rate"] == FloatDistribution(0.1, 0.7, step=0.2)
        assert not [k for k in trial.user_attrs if k.startswith("kt:")]  # nothing moved out of the parameters
    assert [t.params for t in study.trials] == [{k: round(v, 12) for k, v in d.items()} for d in drawn]
    mine = record_space(lambda hp: (hp.Float("momentum", 0.0, 0.9, step=0.3), hp.Float("rate", 0.1, 0.75, step=0.2)))
    plan = plan_warm_start(optuna.storages.RDBStorage(db_url), "kt", study_name="new", space=mine,
                           metric="val_loss", direction="minimize", strategy="tpe")
    assert [t.params for t in plan.trials] == [t.params for t in study.trials]  # every trial, every parameter


def _round(trial_id: str, units: int, epochs: int, bracket: int, round_: int, loss: float) -> dict:
    """A Hyperband trial as keras-tuner 1.4 writes it (``tuner/*`` values: keras_tuner/src/tuners/hyperband.py)."""
    values = {"units": units, "tuner/epochs": epochs, "tuner/initial_epoch": 0 if round_ == 0 else 1,
              "tuner/bracket": bracket, "tuner/round": round_}
    return _kt_trial(trial_id, "COMPLETED", loss, values, loss=loss)


def test_hyperband_rounds_keep_their_epochs_and_warm_start_takes_the_final_rounds(tmp_path: Path, db_url: str) -> None:
    """Hyperband (max_epochs=3, factor=3): a bracket of 1-epoch rounds, their best continued to 3 epochs."""
    from tunekit.hyper import record_space
    from tunekit.study._warm import plan_warm_start

    project = _project(tmp_path, [_round("0", 8, 1, 1, 0, 0.9), _round("1", 16, 1, 1, 0, 0.2),  # 1 epoch: not final
                                  _round("2", 24, 1, 1, 0, 0.8), _round("3", 16, 3, 1, 1, 0.5),
                                  _round("4", 32, 3, 0, 0, 0.6)])
    import_keras_tuner(project, study_name="hb", storage=db_url)
    study = optuna.load_study(study_name="hb", storage=db_url)
    assert [t.user_attrs["epochs_run"] for t in study.trials] == [1, 1, 1, 3, 3]  # in `tunekit trials`, the report
    assert "epochs_run" in invoke("trials", "hb", "--storage", db_url).output
    plan = plan_warm_start(optuna.storages.RDBStorage(db_url), "hb", study_name="new",
                           space=record_space(lambda hp: hp.Int("units", 8, 64, step=8)), metric="val_loss",
                           direction="minimize", strategy="tpe")
    assert sorted(t.user_attrs["kt_trial_id"] for t in plan.trials) == ["3", "4"]  # not trial 1's 1-epoch 0.2
    assert "2 complete trials of 'hb' copied" in plan.note
    assert "3 trained for fewer epochs than the 3 of keras-tuner's final rounds left out" in plan.note
