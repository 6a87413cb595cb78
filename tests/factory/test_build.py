"""build_model / training_callbacks with real (tiny) Keras models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from tunekit._errors import ConfigError
from tunekit.factory import CATALOG, build_model, resolve_params, training_callbacks
from tunekit.factory._build import ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS
from tunekit.factory._catalog import LOSSES_BY_TASK
from tunekit.factory._schedules import SCHEDULES, make_learning_rate

SMALL: dict[str, Any] = {"n_layers": 1, "units": 4}


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    keras.backend.clear_session()
    yield


def build(task: str = "binary", n_classes: int | None = None, steps_per_epoch: int = 1,
          **params: Any) -> keras.Sequential:
    return build_model({**SMALL, **params}, input_shape=(8,), task=task, n_classes=n_classes,
                       steps_per_epoch=steps_per_epoch)


def kinds(model: keras.Sequential) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def dense_units(model: keras.Sequential) -> list[int]:
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_every_catalog_name_has_a_builder() -> None:
    assert set(ACTIVATIONS) == set(CATALOG["activation"])
    assert set(INITIALIZERS) == set(CATALOG["initializer"])
    assert set(OPTIMIZERS) == set(CATALOG["optimizer"])
    assert set(SCHEDULES) == set(CATALOG["schedule"])
    assert set(LOSSES) == set(CATALOG["loss"])


@pytest.mark.parametrize("activation", CATALOG["activation"])
def test_every_activation_builds(activation: str) -> None:
    model = build(activation=activation)
    expected = {"prelu": "PReLU", "leaky_relu": "LeakyReLU"}.get(activation, "Activation")
    assert kinds(model) == ["Dense", expected, "Dense"]
    assert model.compiled
    assert model(np.ones((2, 8), "float32")).shape == (2, 1)


def test_leaky_alpha_sets_the_negative_slope() -> None:
    model = build(activation="leaky_relu", leaky_alpha=0.1)
    assert model.get_layer("act_0").negative_slope == pytest.approx(0.1)
    prelu = build(activation="prelu", leaky_alpha=0.25).get_layer("act_0")
    assert np.allclose(keras.ops.convert_to_numpy(prelu.alpha), 0.25)


@pytest.mark.parametrize("initializer", CATALOG["initializer"])
def test_every_initializer_builds(initializer: str) -> None:
    model = build(initializer=initializer, n_layers=2)
    names = ("dense_0", "dense_1", "output")
    kernels = [keras.ops.convert_to_numpy(model.get_layer(n).kernel) for n in names]
    if initializer in ("zeros", "ones"):
        value = 1.0 if initializer == "ones" else 0.0
        assert all(np.all(k == value) for k in kernels)  # the symmetry lesson: really constant
    else:
        assert not np.array_equal(kernels[0][:4], kernels[1])  # a fresh initializer per layer


def test_random_normal_uses_init_stddev() -> None:
    model = build(initializer="random_normal", init_stddev=0.5, units=64)
    kernel = keras.ops.convert_to_numpy(model.get_layer("dense_0").kernel)
    assert 0.4 < kernel.std() < 0.6


@pytest.mark.parametrize("optimizer", CATALOG["optimizer"])
def test_every_optimizer_builds(optimizer: str) -> None:
    model = build(optimizer=optimizer, learning_rate=0.01)
    assert type(model.optimizer).__name__.lower() == optimizer
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_optimizer_options() -> None:
    sgd = build(optimizer="sgd", momentum=0.9, nesterov=True).optimizer
    assert sgd.momentum == 0.9 and sgd.nesterov is True
    assert build(optimizer="adamw", weight_decay=0.01).optimizer.weight_decay == 0.01
    assert build(clipnorm=1.0).optimizer.clipnorm == 1.0
    clipped = build(clipvalue=0.5).optimizer
    assert clipped.clipvalue == 0.5 and clipped.clipnorm is None


@pytest.mark.parametrize("schedule", CATALOG["schedule"])
def test_every_schedule_builds(schedule: str) -> None:
    model = build(schedule=schedule, steps_per_epoch=5, epochs=4)
    lr = model.optimizer._learning_rate
    is_schedule = isinstance(lr, keras.optimizers.schedules.LearningRateSchedule)
    assert is_schedule == (schedule not in ("constant", "plateau"))


def lr_at(steps: list[int], steps_per_epoch: int = 5, **params: Any) -> list[float]:
    schedule = make_learning_rate(resolve_params(params, task="binary"), steps_per_epoch)
    if isinstance(schedule, float):
        return [schedule for _ in steps]
    return [float(schedule(step)) for step in steps]


def test_schedule_values() -> None:
    assert lr_at([0, 100], learning_rate=0.1) == [0.1, 0.1]
    assert lr_at([0, 100], learning_rate=0.1, schedule="plateau") == [0.1, 0.1]
    # step: halve every decay_epochs * steps_per_epoch = 10 steps
    assert lr_at([0, 9, 10, 19, 20], learning_rate=0.1, schedule="step", decay_epochs=2) == \
        pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    # exponential: decay_rate per epoch, smooth unless staircase
    assert lr_at([5, 10, 7], learning_rate=0.1, schedule="exponential") == \
        pytest.approx([0.09, 0.081, 0.1 * 0.9 ** 1.4])
    stairs = lr_at([7], learning_rate=0.1, schedule="exponential", staircase=True)
    assert stairs == pytest.approx([0.09])
    # time: lr / (1 + decay_rate * epoch)
    time_decay = lr_at([4, 5, 10], learning_rate=0.1, schedule="time", decay_rate=0.5)
    assert time_decay == pytest.approx([0.1, 0.1 / 1.5, 0.1 / 2])
    # cosine over epochs * steps_per_epoch
    assert lr_at([0, 10, 20, 30], learning_rate=0.1, schedule="cosine", epochs=4) == \
        pytest.approx([0.1, 0.05, 0.0, 0.0], abs=1e-7)
    # warmup: linear ramp over warmup_epochs, then cosine down to 0 at the end of epochs
    warm = lr_at([0, 5, 10, 20, 30], learning_rate=0.1, schedule="warmup", warmup_epochs=2,
                 epochs=6)
    assert warm == pytest.approx([0.0, 0.05, 0.1, 0.05, 0.0], abs=1e-7)
    assert lr_at([0], learning_rate=0.1, schedule="warmup", warmup_epochs=0) == pytest.approx([0.1])


@pytest.mark.parametrize(("task", "loss"), [(t, loss) for t in LOSSES_BY_TASK
                                            for loss in LOSSES_BY_TASK[t]])
def test_every_task_and_loss_builds(task: str, loss: str) -> None:
    model = build(task=task, loss=loss, n_classes=3 if task == "multiclass" else None)
    output = model.get_layer("output")
    expected = {"binary": (1, "sigmoid"), "multiclass": (3, "softmax"), "regression": (1, "linear")}
    assert (output.units, output.activation.__name__) == expected[task]
    assert isinstance(model.loss, LOSSES[loss])
    assert model.compiled


def test_hinge_converts_binary_labels_itself() -> None:
    y_pred = np.array([[0.9], [0.2]], "float32")
    with_01 = keras.losses.Hinge()(np.array([[1.0], [0.0]]), y_pred)
    with_pm1 = keras.losses.Hinge()(np.array([[1.0], [-1.0]]), y_pred)
    assert float(with_01) == pytest.approx(float(with_pm1))


@pytest.mark.parametrize(("batch_norm", "dropout", "expected"), [
    ("none", 0.0, ["Dense", "Activation", "Dense"]),
    ("before", 0.0, ["Dense", "BatchNormalization", "Activation", "Dense"]),
    ("after", 0.0, ["Dense", "Activation", "BatchNormalization", "Dense"]),
    (True, 0.5, ["Dense", "Activation", "BatchNormalization", "Dropout", "Dense"]),
    ("none", 0.5, ["Dense", "Activation", "Dropout", "Dense"]),
])
def test_layer_order(batch_norm: Any, dropout: float, expected: list[str]) -> None:
    model = build(batch_norm=batch_norm, dropout=dropout)
    assert kinds(model) == expected
    assert model.get_layer("dense_0").use_bias is (batch_norm != "before")


def test_layer_names_and_per_layer_dropout() -> None:
    model = build(n_layers=2, batch_norm="before", dropout_1=0.3)
    assert [layer.name for layer in model.layers] == [
        "dense_0", "bn_0", "act_0", "dense_1", "bn_1", "act_1", "dropout_1", "output"]
    assert model.get_layer("dropout_1").rate == 0.3
    assert kinds(build(n_layers=0)) == ["Dense"]


def test_units_per_layer_and_funnel() -> None:
    assert dense_units(build(n_layers=3, units=16)) == [16, 16, 16, 1]
    assert dense_units(build(n_layers=3, units=16, shape="funnel")) == [16, 8, 4, 1]
    assert dense_units(build(n_layers=2, units=16, units_0=7, units_1=3, units_5=99)) == [7, 3, 1]
    assert dense_units(build(task="multiclass", n_classes=5)) == [4, 5]


def test_l1_l2_kernel_penalties() -> None:
    model = build(l1=0.01, l2=0.02)
    for name in ("dense_0", "output"):
        reg = model.get_layer(name).kernel_regularizer
        assert isinstance(reg, keras.regularizers.L1L2)
        assert (float(reg.l1), float(reg.l2)) == pytest.approx((0.01, 0.02))
    assert build().get_layer("dense_0").kernel_regularizer is None


def test_rank2_inputs_are_flattened() -> None:
    model = build_model(SMALL, input_shape=(2, 4), task="regression")
    assert kinds(model)[0] == "Flatten"


def test_build_errors() -> None:
    with pytest.raises(ConfigError, match=r"^unknown activation 'relux'; valid: relu, "):
        build(activation="relux")
    with pytest.raises(ConfigError, match=r"^loss 'bce' is not valid for task 'regression'"):
        build(task="regression", loss="bce")
    with pytest.raises(ConfigError, match=r"^n_classes must be an integer >= 2 for task "
                                          r"'multiclass', got None$"):
        build(task="multiclass")
    with pytest.raises(ConfigError, match=r"^task 'binary' needs 2 classes, got n_classes=3"):
        build(task="binary", n_classes=3)
    with pytest.raises(ConfigError, match=r"^input_shape must be a tuple of positive integers"):
        build_model(SMALL, input_shape=(0,), task="binary")
    with pytest.raises(ConfigError, match=r"^steps_per_epoch must be an integer >= 1, got 0$"):
        build(steps_per_epoch=0)


def test_training_callbacks() -> None:
    assert training_callbacks({}, monitor="val_loss", mode="minimize") == []
    (stop,) = training_callbacks({"patience": 3}, monitor="val_accuracy", mode="maximize")
    assert isinstance(stop, keras.callbacks.EarlyStopping)
    assert (stop.patience, stop.restore_best_weights, stop.monitor) == (3, True, "val_accuracy")
    stop, plateau = training_callbacks({"patience": 2, "schedule": "plateau", "decay_rate": 0.2,
                                        "plateau_patience": 1}, monitor="val_loss", mode="min")
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.factor, plateau.patience, plateau.mode) == (0.2, 1, "min")
    with pytest.raises(ConfigError, match=r"^unknown mode 'up'; valid: min, max, minimize, "):
        training_callbacks({}, monitor="val_loss", mode="up")
    with pytest.raises(ConfigError, match=r"^patience must be an integer >= 0, got -1$"):
        training_callbacks({"patience": -1}, monitor="val_loss", mode="min")


def test_fit_regression_history_has_the_metrics() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.normal(size=(64,)).astype("float32")
    model = build(task="regression", loss="huber", batch_norm="before", dropout=0.1)
    history = model.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0)
    assert {"loss", "mae", "mse", "val_loss", "val_mae", "val_mse"} <= set(history.history)


def test_hinge_fit_and_save_load_with_a_schedule(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 2, 64).astype("float32")
    model = build(loss="hinge", activation="prelu", l2=0.01, schedule="warmup", warmup_epochs=1,
                  epochs=3, steps_per_epoch=4)
    history = model.fit(x, y, epochs=1, batch_size=16, validation_data=(x[:16], y[:16]), verbose=0)
    assert np.isfinite(history.history["loss"][0]) and "val_accuracy" in history.history
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert loaded.optimizer._learning_rate.get_config() == schedule.get_config()
    np.testing.assert_allclose(loaded.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0),
                               rtol=1e-5)
