"""Studies of the user's own Keras model (``build=`` / ``hypermodel=``), trained for real on digits."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import tunekit
from tunekit._errors import ConfigError
from tunekit._records import budget
from tunekit._spec import load_spec
from tunekit.strategies import STRATEGIES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "execution" / "workers"))
from workers_helpers import trials  # noqa: E402

pytestmark = pytest.mark.slow

BUILD = '''
import keras

from tunekit import StudySpec


def build(hp):
    model = keras.Sequential([keras.Input((64,))])
    kind = hp.Choice("kind", ["mlp", "wide"])
    for i in range(hp.Int("num_layers", 1, 2)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 16, 32, step=16), activation=hp.Choice("activation", ["relu", "tanh"])))
    with hp.conditional_scope("kind", ["wide"]):
        if kind == "wide":
            model.add(keras.layers.Dense(hp.Int("wide_units", 64, 128, step=64), activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-2, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


spec = StudySpec(data="digits", build=build, epochs=EPOCHS, max_rows=250, fixed={"batch_size": BATCH})
'''

HYPERMODEL = '''
import keras
import keras_tuner as kt

from tunekit import StudySpec


class Conv(kt.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Reshape((8, 8, 1)),
                                  keras.layers.Conv2D(hp.Int("filters", 4, 8, step=4), 3, activation="relu"),
                                  keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 64]), **kwargs)


spec = StudySpec(data="digits", hypermodel=Conv(), epochs=2, max_rows=500)
'''


def write(tmp_path: Path, text: str, name: str = "own", **values: object) -> Path:
    for key, value in {"EPOCHS": 2, "BATCH": 32, **values}.items():
        text = text.replace(key, str(value))
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_runs_a_build_study(strategy: str, tmp_path: Path, db_url: str) -> None:
    if strategy == "gp":
        pytest.importorskip("torch")
    spec = load_spec(write(tmp_path, BUILD))
    study = tunekit.run(spec, strategy=strategy, n_trials=2, storage=db_url, seed=3)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 2, [(t.number, t.state, t.user_attrs.get("fail_reason")) for t in study.trials]
    # seed 3: the two trials take both sides of both conditions (kind, num_layers) with every strategy
    assert {t.params["kind"] for t in done} == {"mlp", "wide"} and {t.params["num_layers"] for t in done} == {1, 2}
    for t in done:
        assert {"kind", "num_layers", "units_0", "activation", "lr"} <= set(t.params)  # the user's names
        assert ("wide_units" in t.params) == (t.params["kind"] == "wide")  # conditional, as declared
        assert ("units_1" in t.params) == (t.params["num_layers"] == 2)  # met in a trial: define-by-run
        assert 0.0 <= t.value <= 1.0 and t.user_attrs["val_accuracy"] == t.value and t.user_attrs["param_count"] > 0
        assert t.user_attrs["health"]  # the health probe walks the user's Sequential model too
    assert study.user_attrs["model"] == "build(hp)" and study.user_attrs["study_file"] == str(tmp_path / "own.py")
    assert "units_1" not in json.loads(study.user_attrs["space"])  # recorded with each parameter's default


def test_grid_enumerates_a_build_space_exactly(tmp_path: Path, db_url: str) -> None:
    text = (BUILD.replace('hp.Float("lr", 1e-3, 1e-2, sampling="log")', '0.01')
            .replace("range(hp.Int(\"num_layers\", 1, 2))", "range(1)")
            .replace('hp.Int(f"units_{i}", 16, 32, step=16)', '16')
            .replace('hp.Choice("activation", ["relu", "tanh"])', '"relu"'))  # 3 points: each one is a trial
    spec = load_spec(write(tmp_path, text, EPOCHS=1))
    assert spec.space.grid_size() == 1 + 2  # kind=mlp: one point; kind=wide: x wide_units (conditional)
    study = tunekit.run(spec, strategy="grid", n_trials=50, storage=db_url)
    points = [tuple(sorted(t.params.items())) for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(points) == len(set(points)) == spec.space.grid_size()
    assert sorted(points) == sorted(tuple(sorted(p.items())) for p in spec.space.grid())


def test_a_hypermodel_fit_tunes_the_batch_size(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("keras_tuner")
    from tunekit.execution import _own_model

    monkeypatch.setattr(_own_model, "_noted", set())  # the note is printed once per process: not yet in this one
    spec = load_spec(write(tmp_path, HYPERMODEL, name="conv"))
    assert spec.space.names == ("filters",)  # fit is not called while recording (as in keras-tuner)
    study = tunekit.run(spec, strategy="skopt", n_trials=3, storage=db_url)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 3
    assert {t.params["batch_size"] for t in done} <= {16, 64}
    steps = {t.params["batch_size"]: t for t in done}
    for batch, t in steps.items():
        assert t.user_attrs["epochs_run"] == 2
    assert json.loads(study.user_attrs["space_added"]) == {"batch_size": {"type": "choice", "values": [16, 64],
                                                                         "when": None}}
    assert "Conv.fit(hp, model, ...) asked for 'batch_size'" in capsys.readouterr().err
    assert study.user_attrs["model"] == "Conv.build(hp)"


def test_best_retrains_the_users_model_and_resume_checks_the_recorded_space(tmp_path: Path, db_url: str) -> None:
    """One study file for both (what is checked is the retraining and the space, not the training)."""
    from tests.conftest import invoke

    path = write(tmp_path, BUILD, EPOCHS=1)
    tunekit.run(load_spec(path), strategy="tpe", n_trials=1, storage=db_url)  # one trial: best retrains it
    result = invoke("best", "own", "--storage", db_url, "--save-model", str(tmp_path / "best.keras"))
    assert result.exit_code == 0, result.output
    assert "reproduces the trial" in result.output and (tmp_path / "best.keras").is_file()
    study = tunekit.run(load_spec(path), strategy="tpe", n_trials=2, storage=db_url)  # resumed: one trial more
    assert budget(study.trials).counted == 2
    path.write_text(path.read_text().replace('"tanh"]', '"elu"]'))
    before = [(t.number, t.state) for t in trials(db_url, "own")]
    with pytest.raises(ConfigError, match=r"exists with another search space \('activation': Choice"):
        tunekit.run(load_spec(path), strategy="tpe", n_trials=3, storage=db_url)
    assert [(t.number, t.state) for t in trials(db_url, "own")] == before
    path.unlink()
    gone = invoke("best", "own", "--storage", db_url, "--save-model", str(tmp_path / "again.keras"))
    assert gone.exit_code == 2 and "that file is gone; restore it" in gone.output


@pytest.mark.parametrize("declared, message", [
    ("build=build, hypermodel=object()", "give build= or hypermodel=, not both"),
    ("build=3", "build= must be a function build(hp)"),
    ("hypermodel=Model", "hypermodel= needs an instance, got the class Model"),
    ("build=build, fixed={'optimizer': 'adam'}", "fixed= may hold only batch_size, epochs; set optimizer inside build(hp)"),
    ("build=lambda hp: None", "declares no hyperparameter"),
])
def test_bad_declarations_stop_at_the_study_file(tmp_path: Path, declared: str, message: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text("from tunekit import StudySpec\nclass Model:\n    def build(self, hp): hp.Int('u', 1, 2)\n"
                    "def build(hp):\n    hp.Int('u', 1, 2)\n"
                    f"spec = StudySpec(data='digits', {declared})\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_spec(path)
    assert "\n" not in str(info.value)


COMPILE = "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])"


@pytest.mark.parametrize("body, message", [
    ("return None", "build(hp) returned NoneType, not a keras.Model; return the compiled model"),
    ("return {'model': model}", "build(hp) returned dict, not a keras.Model; return the compiled model"),
    ("return model", "is not compiled; call model.compile"),
    ("model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation='softmax')])\n    "
     + COMPILE.replace("['accuracy']", "[]") + "\n    return model",
     "metric 'val_accuracy' is not computed for this model (available: loss, val_loss)"),
    (COMPILE + "\n    return model", None),  # 3 outputs for 10 classes
    ("model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(10, activation='softmax')])\n    "
     + COMPILE + "\n    return model", "build(hp) makes a model for 30 features, but the data has 64"),
])
def test_a_build_that_cannot_train_on_the_data_stops_before_the_database(tmp_path: Path, db_url: str, body: str,
                                                                         message: str | None) -> None:
    from tests.conftest import invoke, one_error_line

    message = message or "build(hp) makes a model with 3 outputs, but the data has 10 classes"
    path = tmp_path / "wrong.py"
    path.write_text("import keras\nfrom tunekit import StudySpec\n"
                    "def build(hp):\n"
                    "    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Int('u', 3, 5))])\n"
                    f"    {body}\n"
                    "spec = StudySpec(data='digits', build=build, epochs=1, max_rows=200)\n")
    result = invoke("run", str(path), "--storage", db_url, "--trials", "3")
    assert result.exit_code == 2, result.output
    assert message in one_error_line(result)
    assert not (tmp_path / "study.db").exists()  # checked before anything is written: no study, no trial 0
    other = tmp_path / "other.db"  # an existing database stays exactly as it was
    optuna.create_study(study_name="kept", storage=f"sqlite:///{other}").set_user_attr("metric", "val_accuracy")
    before = other.read_bytes()
    assert invoke("run", str(path), "--storage", f"sqlite:///{other}", "--trials", "3").exit_code == 2
    assert other.read_bytes() == before


def test_a_missing_keras_tuner_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # what an install without the extra raises
    with pytest.raises(ConfigError) as info:
        load_spec(write(tmp_path, HYPERMODEL, name="conv"))
    assert "imports 'keras_tuner', which is not installed (at " in str(info.value)
    assert str(info.value).endswith("pip install 'tunekit[keras-tuner]' (keras-tuner and the TensorBoard it imports)")


def test_a_metric_the_model_does_not_compute_stops_the_run_with_the_ones_it_does(tmp_path: Path, db_url: str) -> None:
    from tests.conftest import invoke

    path = write(tmp_path, BUILD.replace('metrics=["accuracy"]', 'metrics=[]'), name="nometric")
    result = invoke("run", str(path), "--storage", db_url, "--trials", "2")
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert "metric 'val_accuracy' is not computed for this model (available: loss, val_loss)" in line


def test_a_model_that_fails_in_training_fails_its_trial_with_tensorflows_cause(tmp_path: Path, db_url: str) -> None:
    path = write(tmp_path, BUILD.replace('metrics=["accuracy"]', 'metrics=["accuracy", "mae"]'), name="shapes")
    study = tunekit.run(load_spec(path), strategy="random", n_trials=2, storage=db_url)
    reasons = [t.user_attrs["fail_reason"] for t in study.trials]
    assert len(reasons) == 2 and all(t.state == TrialState.FAIL for t in study.trials)
    for reason in reasons:  # not TensorFlow's first line ("Graph execution error:"), its cause and where
        assert reason.startswith("InvalidArgumentError: Incompatible shapes: [32] vs. [32,10]"), reason
        assert "in mean_absolute_error" in reason


FIXED = '''
import keras

from tunekit import StudySpec


def build(hp):
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(keras.layers.Dense(8, activation="relu"))
        model.add(keras.layers.Dropout(hp.Fixed(f"drop_{i}", 0.0)))  # drop_1: met in a trial only
    model.add(keras.layers.Dense(hp.Fixed("classes", 10), activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


spec = StudySpec(data="digits", build=build, epochs=1, max_rows=300)
'''


def test_best_retrains_a_build_that_uses_fixed_values(tmp_path: Path, db_url: str) -> None:
    from tests.conftest import invoke

    from tunekit.study._best import _retrain, _runner, rebuild_dataset

    path = write(tmp_path, FIXED, name="fixed")
    study = tunekit.run(load_spec(path), strategy="grid", n_trials=2, storage=db_url)
    done = {t.params["layers"]: t for t in study.trials if t.state == TrialState.COMPLETE}
    assert sorted(done) == [1, 2], [t.user_attrs for t in study.trials]
    assert "space_added" not in study.user_attrs  # a Fixed value is never "asked": it is the declaration's
    result = invoke("best", "fixed", "--storage", db_url, "--save-model", str(tmp_path / "best.keras"))
    assert result.exit_code == 0, result.output
    assert "reproduces the trial" in result.output and (tmp_path / "best.keras").is_file()
    if study.best_trial.params["layers"] == 1:  # retrain the two-layer one too: drop_1 is declared in a trial only
        two, keep = done[2], []
        runner = _runner(study, two, rebuild_dataset(study), keep)
        model, record = _retrain(runner, two, runner.params_for(dict(two.params)), study.direction, keep)
        assert len(model.layers) == 5 and record.user_attrs["val_accuracy"] == pytest.approx(two.value, abs=1e-6)
