"""End-to-end through the library: real Keras training on tiny data into a real SQLite file."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState

import tunekit
from tests.conftest import TINY_SPEC
from tunekit import Choice, ConfigError, Float, Int, StudySpec

TINY = TINY_SPEC  # the suite's one tiny study (tests/conftest.py)


@pytest.mark.slow  # trains several real models
def test_run_records_everything(db_url: str) -> None:
    study = tunekit.run(StudySpec(**TINY, name="tiny"), strategy="random", n_trials=2, storage=db_url, seed=1)
    loaded = optuna.load_study(study_name="tiny", storage=db_url)
    trials = loaded.get_trials()
    assert len(trials) == 2 and all(t.state == TrialState.COMPLETE for t in trials)
    for t in trials:
        assert sorted(t.intermediate_values) == [0, 1]  # one value per epoch
        assert 0.0 <= t.value <= 1.0
        assert t.user_attrs["epochs_run"] == 2
        assert t.user_attrs["param_count"] > 0
        assert t.user_attrs["train_seconds"] > 0
        assert t.value == pytest.approx(t.user_attrs["val_accuracy"])
        assert "val_loss" in t.user_attrs and "train_loss" in t.user_attrs
    attrs = loaded.user_attrs
    assert attrs["strategy"] == "random" and attrs["seed"] == 1 and attrs["data"] == "iris"
    assert attrs["task"] == "multiclass" and attrs["metric"] == "val_accuracy"
    assert attrs["tunekit_version"] == tunekit.__version__
    assert tunekit.Space.from_json(attrs["space"]) == tunekit.Space(TINY["space"])
    assert json.loads(attrs["dataset"])["name"] == "iris"


@pytest.mark.slow  # trains several real models
def test_resume_counts_finished_trials(db_url: str) -> None:
    spec = StudySpec(**TINY, name="resume")
    tunekit.run(spec, strategy="tpe", n_trials=1, storage=db_url)
    study = tunekit.run(spec, strategy="tpe", n_trials=2, storage=db_url)
    assert len(study.trials) == 2  # one more, not two
    again = tunekit.run(spec, strategy="tpe", n_trials=2, storage=db_url)
    assert len(again.trials) == 2  # already there: nothing more to do


@pytest.mark.slow  # trains several real models
def test_same_seed_same_params_and_results(tmp_path) -> None:
    spec = StudySpec(**TINY, name="det")
    a = tunekit.run(spec, strategy="random", n_trials=2, storage=f"sqlite:///{tmp_path / 'a.db'}", seed=7)
    b = tunekit.run(spec, strategy="random", n_trials=2, storage=f"sqlite:///{tmp_path / 'b.db'}", seed=7)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.intermediate_values for t in a.trials] == [t.intermediate_values for t in b.trials]
    c = tunekit.run(spec, strategy="random", n_trials=1, storage=f"sqlite:///{tmp_path / 'c.db'}", seed=8)
    assert c.trials[0].params != a.trials[0].params


@pytest.mark.slow  # trains several real models
def test_nan_loss_fails_that_trial_and_the_study_goes_on(db_url: str) -> None:
    spec = StudySpec(
        data="iris",
        space={"learning_rate": Choice([1e12, 0.05])},
        fixed={"n_layers": 2, "units": 16, "optimizer": "sgd", "batch_size": 16},
        epochs=2,
        name="nan",
    )
    study = tunekit.run(spec, strategy="grid", n_trials=5, storage=db_url)
    by_lr = {t.params["learning_rate"]: t for t in study.trials}
    assert len(study.trials) == 2  # grid of two points: stops when exhausted
    assert by_lr[1e12].state == TrialState.FAIL
    assert "loss became nan" in by_lr[1e12].user_attrs["fail_reason"].lower() or "diverged" in by_lr[1e12].user_attrs["fail_reason"]
    assert by_lr[0.05].state == TrialState.COMPLETE


@pytest.mark.slow  # trains several real models
def test_changed_space_is_refused_and_nothing_written(db_url: str) -> None:
    tunekit.run(StudySpec(**TINY, name="s"), strategy="random", n_trials=1, storage=db_url)
    changed = dict(TINY, space={"units": Int(4, 64, log=True), "learning_rate": Float(1e-3, 1e-1, log=True)})
    with pytest.raises(ConfigError, match=r"study 's' exists with another search space \('units': Int\(4, 32"):
        tunekit.run(StudySpec(**changed, name="s"), strategy="random", n_trials=2, storage=db_url)
    assert len(optuna.load_study(study_name="s", storage=db_url).trials) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_trials=0), r"n_trials must be an integer >= 1, got 0"),
        (dict(strategy="bayes"), r"unknown strategy 'bayes'; valid: grid, random, tpe"),
        (dict(strategy="random", options={"n_startup_trials": 3}), r"option 'n_startup_trials' does not apply to strategy 'random'"),
    ],
)
def test_bad_run_arguments(db_url: str, kwargs: dict, message: str, tmp_path) -> None:
    with pytest.raises(ConfigError, match=message):
        tunekit.run(StudySpec(**TINY), storage=db_url, **kwargs)
    assert not (tmp_path / "study.db").exists()


@pytest.mark.parametrize("strategy", ["tpe", "random", "metropolis"])
@pytest.mark.slow  # trains several real models
def test_first_trial_of_a_new_study_tries_the_declared_defaults(db_url: str, strategy: str) -> None:
    space = {"units": Int(4, 32, log=True, default=8), "learning_rate": Float(1e-3, 1e-1, log=True, default=0.02),
             "activation": Choice(["relu", "tanh"])}
    spec = StudySpec(**{**TINY, "space": space}, name=f"defaults-{strategy}")
    (first,) = tunekit.run(spec, strategy=strategy, n_trials=1, storage=db_url, seed=3).trials
    assert first.params["units"] == 8 and first.params["learning_rate"] == 0.02
    assert first.params["activation"] in ("relu", "tanh")  # no default: the strategy samples it
    assert first.user_attrs["start"] == "defaults"
    # resuming: not tried again (a defaults trial queued twice would wait in the database and run now)
    again = tunekit.run(spec, strategy=strategy, n_trials=2, storage=db_url, seed=3)
    assert len(again.trials) == 2 and "start" not in again.trials[1].user_attrs
    assert [t.user_attrs.get("start") for t in again.trials].count("defaults") == 1
    assert [t.state for t in again.trials] == [TrialState.COMPLETE] * 2


@pytest.mark.slow  # trains several real models
def test_grid_ignores_defaults(db_url: str) -> None:
    space = {"units": Choice([4, 8], default=8), "learning_rate": Choice([0.05])}  # a default and a parameter without
    study = tunekit.run(StudySpec(**{**TINY, "space": space}, name="grid-defaults"), strategy="grid", n_trials=3,
                        storage=db_url)  # a defaults trial queued would take a place of the two-point grid
    assert sorted((t.params["units"], t.params["learning_rate"]) for t in study.trials) == [(4, 0.05), (8, 0.05)]
    assert all("start" not in t.user_attrs for t in study.trials)
