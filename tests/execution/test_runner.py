"""The trial runner, with real (tiny) Keras training: reports, attributes, failures, pruning."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from tunekit import Choice, ConfigError, Float, Int, StudySpec, TrialError
from tunekit._records import FAIL_REASON
from tunekit.execution import Speedups, TrialRunner, default_speedups, trial_seed
from tunekit.data import load_data

pytestmark = pytest.mark.slow

IRIS = load_data("iris", seed=0)


def _runner(space, *, fixed=None, epochs=3, speedups=None, seed=0) -> TrialRunner:
    spec = StudySpec(data="iris", space=space, fixed=fixed or {"n_layers": 1, "units": 8}, epochs=epochs)
    return TrialRunner(spec=spec, dataset=IRIS, metric="val_accuracy", seed=seed, speedups=speedups)


def _study(db_url: str, pruner=None) -> optuna.Study:
    return optuna.create_study(storage=db_url, direction="maximize", pruner=pruner,
                               sampler=optuna.samplers.RandomSampler(seed=0))


def test_reports_every_epoch_and_stores_the_attributes(db_url: str) -> None:
    runner = _runner({"learning_rate": Float(1e-2, 5e-2, log=True)}, epochs=3, seed=5)
    study = _study(db_url)
    study.optimize(runner, n_trials=1)
    trial = optuna.load_study(study_name=study.study_name, storage=db_url).trials[0]
    assert trial.state == TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [0, 1, 2]
    attrs = trial.user_attrs
    assert attrs["epochs_run"] == 3
    assert attrs["train_seconds"] > 0
    assert attrs["seed"] == trial_seed(5, trial.number)
    assert attrs["param_count"] == 4 * 8 + 8 + 8 * 3 + 3  # Dense(8) on 4 features, softmax over 3 classes
    assert {"val_accuracy", "val_loss", "train_accuracy", "train_loss"} <= set(attrs)
    assert trial.value == pytest.approx(attrs["val_accuracy"])
    # the last epoch's validation and the final evaluation see the same weights and rows
    assert trial.intermediate_values[2] == pytest.approx(attrs["val_accuracy"])


def test_nan_loss_fails_the_trial_with_its_reason(db_url: str) -> None:
    runner = _runner({"learning_rate": Choice([1e12])}, fixed={"n_layers": 2, "units": 16, "optimizer": "sgd"}, epochs=2)
    study = _study(db_url)
    study.optimize(runner, n_trials=1, catch=(TrialError,))
    trial = study.trials[0]
    assert trial.state == TrialState.FAIL
    reason = trial.user_attrs[FAIL_REASON]
    assert reason.startswith("loss became") or "diverged" in reason


def test_an_error_while_building_fails_the_trial_with_its_reason(db_url: str, monkeypatch) -> None:
    from tunekit.factory import _build

    def broken(*args, **kwargs):
        raise ValueError("layer dense_0 cannot be built\nsecond line")

    monkeypatch.setattr(_build, "build_model", broken)
    runner = _runner({"units": Int(4, 8)}, fixed={"n_layers": 1})
    study = _study(db_url)
    study.optimize(runner, n_trials=2, catch=(TrialError,))
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]  # the study went on
    assert study.trials[0].user_attrs[FAIL_REASON] == "ValueError: layer dense_0 cannot be built"


def test_a_real_pruner_prunes_a_bad_trial_and_keeps_its_curve(db_url: str) -> None:
    space = {"learning_rate": Choice([0.05, 1e-7]), "optimizer": Choice(["adam", "sgd"])}
    runner = _runner(space, fixed={"n_layers": 1, "units": 32}, epochs=6)
    study = _study(db_url, pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=1))
    study.enqueue_trial({"learning_rate": 0.05, "optimizer": "adam"})  # learns: the reference curve
    study.enqueue_trial({"learning_rate": 1e-7, "optimizer": "sgd"})   # cannot learn: below the median
    study.optimize(runner, n_trials=2)
    good, bad = optuna.load_study(study_name=study.study_name, storage=db_url).trials
    assert good.state == TrialState.COMPLETE and sorted(good.intermediate_values) == list(range(6))
    assert bad.state == TrialState.PRUNED
    assert sorted(bad.intermediate_values) == [0, 1]  # pruned at the first step after the warm-up
    assert bad.intermediate_values[1] < good.intermediate_values[1]


@pytest.mark.parametrize("speedups", [Speedups(), Speedups.none()], ids=["default", "none"])
def test_same_seed_same_curve(speedups: Speedups) -> None:
    curves = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
        study.optimize(_runner({"learning_rate": Float(1e-2, 1e-1, log=True)}, epochs=2, speedups=speedups, seed=9),
                       n_trials=1)
        curves.append(study.trials[0].intermediate_values)
    assert curves[0] == curves[1]


def test_speedups_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TUNEKIT_SPEEDUPS", "none")
    assert default_speedups() == Speedups.none()
    monkeypatch.setenv("TUNEKIT_SPEEDUPS", "")
    assert default_speedups() == Speedups()
    monkeypatch.setenv("TUNEKIT_SPEEDUPS", "fast")
    with pytest.raises(ConfigError, match=r"TUNEKIT_SPEEDUPS must be 'none' or 'default', got 'fast'"):
        default_speedups()


def _custom_gradients() -> set[str]:
    from tunekit.execution._tf import _gradient_registry

    registry = _gradient_registry()
    assert registry is not None, "TensorFlow's gradient registry moved; tunekit.execution._tf needs updating"
    return {k for k in registry if str(k).startswith("CustomGradient-")}


def test_trials_leave_no_traced_graph_behind(db_url: str) -> None:
    """Each traced train step registers a custom gradient holding its graph (~6 MB);
    the runner removes what its trials added, so memory stays flat over many trials."""
    import keras

    from tunekit.execution._tf import released_custom_gradients

    x, y = IRIS.x_train, IRIS.y_train
    before = _custom_gradients()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with released_custom_gradients():
        model.fit(x, y, epochs=1, verbose=0)
        added_inside = _custom_gradients() - before
    assert added_inside, "a plain fit no longer registers custom gradients: the workaround may be obsolete"
    assert _custom_gradients() == before

    study = _study(db_url)
    study.optimize(_runner({"units": Choice([4, 8])}, fixed={"n_layers": 1}, epochs=1), n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert _custom_gradients() == before


def test_on_model_receives_each_trained_model(db_url: str) -> None:
    got = []
    spec = StudySpec(data="iris", space={"units": Choice([4, 8])}, fixed={"n_layers": 1}, epochs=2)
    runner = TrialRunner(spec=spec, dataset=IRIS, metric="val_accuracy", seed=0, on_model=got.append)
    study = _study(db_url)
    study.optimize(runner, n_trials=2)
    assert len(got) == 2 and got[0] is not got[1]
    for model, trial in zip(got, study.trials):
        assert model.count_params() == trial.user_attrs["param_count"]
        accuracy = model.evaluate(IRIS.x_val, IRIS.y_val, verbose=0, return_dict=True)["accuracy"]
        assert accuracy == pytest.approx(trial.value)  # the trained weights, not a fresh model


@pytest.mark.parametrize("max_val_batch, eager_epochs", [(None, 12), (None, 0), (10, 12)],
                         ids=["one-batch-eager", "one-batch-traced", "three-batches"])
def test_validation_in_one_step_only_where_it_is_one_batch(db_url: str, monkeypatch, max_val_batch, eager_epochs) -> None:
    """Validation of one batch runs through a function of one step (not Keras' epoch loop): eager for
    a trial of at most ``eager_validation_epochs`` epochs, else traced. Where the validation rows make
    several batches (iris: 30 rows, batches of 10), Keras' own loop stays, so that every batch is
    evaluated. Either way each epoch's and the final value are those of every row, and the model
    leaves the runner with Keras' own evaluate."""
    from tunekit.execution import _runner

    if max_val_batch is not None:
        monkeypatch.setattr(_runner, "MAX_VAL_BATCH", max_val_batch)
    one_step, real = [], _runner.one_step_evaluation
    monkeypatch.setattr(_runner, "one_step_evaluation", lambda model, eager: one_step.append(eager) or real(model, eager=eager))
    got = []
    spec = StudySpec(data="iris", space={"units": Choice([8])}, fixed={"n_layers": 1}, epochs=2)
    runner = TrialRunner(spec=spec, dataset=IRIS, metric="val_accuracy", seed=0, on_model=got.append,
                         speedups=Speedups(eager_validation_epochs=eager_epochs))
    study = _study(db_url)
    study.optimize(runner, n_trials=1)
    (model,), (trial,) = got, study.trials
    assert one_step == ([] if max_val_batch else [eager_epochs >= 2])
    assert model.steps_per_execution == 4  # training: a whole epoch (120 rows, batch 32) per call
    assert not getattr(model.test_function, "one_step", False) and not model.run_eagerly
    every_row = model.evaluate(IRIS.x_val, IRIS.y_val, batch_size=7, verbose=0, return_dict=True)
    assert trial.value == pytest.approx(every_row["accuracy"])
    assert trial.user_attrs["val_loss"] == pytest.approx(every_row["loss"], rel=1e-5)
    assert trial.intermediate_values[1] == pytest.approx(trial.value)


@pytest.mark.parametrize("eager", [False, True], ids=["traced", "eager"])
def test_one_step_evaluation_is_keras_evaluate_on_one_batch(eager: bool) -> None:
    import keras
    import tensorflow as tf

    from tunekit.execution._speedups import keras_functions, one_step_evaluation

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=4)
    model.fit(IRIS.x_train, IRIS.y_train, epochs=1, verbose=0)
    one_batch = tf.data.Dataset.from_tensor_slices((IRIS.x_val, IRIS.y_val)).batch(len(IRIS.x_val)).cache()
    keras_own = model.evaluate(one_batch, verbose=0, return_dict=True)
    one_step_evaluation(model, eager=eager)
    assert model.test_function.one_step and not model.run_eagerly
    for _ in range(2):  # made once, called again
        assert model.evaluate(one_batch, verbose=0, return_dict=True) == pytest.approx(keras_own, rel=1e-6)
        assert model.steps_per_execution == 4
    keras_functions(model)
    assert model.test_function is None  # made again by the next evaluate, by Keras
    several = model.evaluate(IRIS.x_val, IRIS.y_val, batch_size=7, verbose=0, return_dict=True)
    assert several == pytest.approx(keras_own, rel=1e-5)


def test_a_trial_of_few_steps_trains_eagerly_as_it_trains_traced(db_url: str, monkeypatch) -> None:
    """A trial of at most ``eager_training_steps`` optimizer steps in all (iris: 4 an epoch, here 2
    epochs: 8) runs Keras' train step eagerly, untraced: the same loss, metric and weights as the
    traced step gives; one more step over the limit is traced. The model leaves the runner with
    Keras' own fit, which a later ``fit`` traces."""
    import numpy as np

    from tunekit.execution import _runner

    eager, real = [], _runner.eager_training
    monkeypatch.setattr(_runner, "eager_training", lambda model: eager.append(model) or real(model))
    spec = StudySpec(data="iris", space={"units": Choice([8])}, fixed={"n_layers": 1}, epochs=2)
    results = {}
    for limit in (0, 7, 8):
        got: list = []
        runner = TrialRunner(spec=spec, dataset=IRIS, metric="val_accuracy", seed=0, on_model=got.append,
                             speedups=Speedups(eager_training_steps=limit))
        study = _study(db_url)
        del eager[:]
        study.optimize(runner, n_trials=1)
        (model,), (trial,) = got, study.trials
        assert len(eager) == (limit >= 8), limit
        assert not getattr(model.train_function, "eager", False) and not model.run_eagerly
        results[limit] = (trial, model.get_weights())
    traced, (trial, weights) = results[0], results[8]
    assert trial.params == traced[0].params and trial.user_attrs["seed"] == traced[0].user_attrs["seed"]
    assert trial.value == traced[0].value
    for key in ("val_loss", "train_loss"):
        assert trial.user_attrs[key] == pytest.approx(traced[0].user_attrs[key], rel=1e-5), key
    for mine, theirs in zip(weights, traced[1]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    model = got[0]  # the eager trial's
    assert model.train_function is None
    model.fit(IRIS.x_train, IRIS.y_train, epochs=1, verbose=0)  # a later fit: Keras' own, traced
    assert model.train_function is not None and not getattr(model.train_function, "eager", False)
