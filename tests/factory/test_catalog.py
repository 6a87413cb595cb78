"""The factory's vocabulary: names, defaults, validation messages. No Keras needed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tunekit._errors import ConfigError
from tunekit.factory import CATALOG, TASKS, default_metric, resolve_params, validate_value
from tunekit.factory._catalog import LOSSES_BY_TASK, layer_dropout, layer_units


def test_catalog_matches_the_design_table() -> None:
    assert CATALOG["activation"] == (
        "relu", "leaky_relu", "prelu", "elu", "selu", "gelu",
        "swish", "silu", "tanh", "sigmoid", "softplus", "linear",
    )
    assert CATALOG["initializer"] == (
        "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
        "lecun_uniform", "lecun_normal", "random_normal", "zeros", "ones",
    )
    assert CATALOG["optimizer"] == (
        "sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "nadam"
    )
    assert set(CATALOG["schedule"]) == {
        "constant", "step", "exponential", "cosine", "time", "plateau", "warmup"
    }
    assert CATALOG["batch_norm"] == ("none", "before", "after")
    assert CATALOG["shape"] == ("constant", "funnel")
    assert CATALOG["loss"] == ("bce", "hinge", "sparse_ce", "mse", "mae", "huber")
    assert TASKS == ("binary", "multiclass", "regression")
    with pytest.raises(TypeError):
        CATALOG["activation"] = ("relu",)  # type: ignore[index]


def test_default_metric() -> None:
    assert default_metric("binary") == ("val_accuracy", "maximize")
    assert default_metric("multiclass") == ("val_accuracy", "maximize")
    assert default_metric("regression") == ("val_rmse", "minimize")
    message = r"^unknown task 'ranking'; valid: binary, multiclass, regression$"
    with pytest.raises(ConfigError, match=message):
        default_metric("ranking")


def test_resolve_fills_the_design_defaults() -> None:
    p = resolve_params({}, task="regression")
    expected = {
        "n_layers": 2, "units": 64, "shape": "constant", "activation": "relu",
        "leaky_alpha": 0.2, "initializer": "glorot_uniform", "init_stddev": 0.05,
        "batch_norm": "none", "dropout": 0.0, "l1": 0.0, "l2": 0.0, "optimizer": "adam",
        "learning_rate": 1e-3, "momentum": 0.0, "nesterov": False, "weight_decay": 1e-4,
        "schedule": "constant", "decay_epochs": 10, "warmup_epochs": 2, "clipnorm": None,
        "clipvalue": None, "batch_size": 32, "epochs": 20, "patience": 0, "loss": "mse",
    }
    assert {k: p[k] for k in expected} == expected


@pytest.mark.parametrize(("task", "loss"), [("binary", "bce"), ("multiclass", "sparse_ce"),
                                            ("regression", "mse")])
def test_default_loss_by_task(task: str, loss: str) -> None:
    assert resolve_params({}, task=task)["loss"] == loss


@pytest.mark.parametrize(("schedule", "rate"), [("step", 0.5), ("exponential", 0.9),
                                                ("time", 0.5), ("plateau", 0.5)])
def test_default_decay_rate_by_schedule(schedule: str, rate: float) -> None:
    assert resolve_params({"schedule": schedule}, task="binary")["decay_rate"] == rate


def test_resolve_normalises_and_is_idempotent() -> None:
    given = {"batch_norm": True, "units": np.int64(32), "learning_rate": 1, "units_0": 8,
             "nesterov": np.bool_(True), "dropout_3": 0.5, "activation": "swish"}
    p = resolve_params(given, task="binary")
    assert p["batch_norm"] == "after"
    assert resolve_params({"batch_norm": False}, task="binary")["batch_norm"] == "none"
    assert type(p["units"]) is int and p["units"] == 32
    assert type(p["learning_rate"]) is float
    assert p["nesterov"] is True
    assert p["units_0"] == 8 and p["dropout_3"] == 0.5  # per-layer keys kept, even past n_layers
    assert p["activation"] == "swish"
    assert resolve_params(p, task="binary") == p
    assert given["batch_norm"] is True  # input not mutated


def test_layer_units_per_layer_and_funnel() -> None:
    def units(**kw: object) -> list[int]:
        return layer_units(resolve_params(kw, task="binary"))

    assert units(n_layers=3, units=16) == [16, 16, 16]
    assert units(n_layers=4, units=32, shape="funnel") == [32, 16, 8, 4]
    assert units(n_layers=3, units=8, shape="funnel") == [8, 4, 4]  # at least 4
    assert units(n_layers=2, units=2, shape="funnel") == [2, 2]  # never more than units
    assert units(n_layers=3, units=32, shape="funnel", units_1=5) == [32, 5, 8]
    assert units(n_layers=0) == []
    p = resolve_params({"dropout": 0.1, "dropout_1": 0.4}, task="binary")
    assert [layer_dropout(p, i) for i in range(2)] == [0.1, 0.4]


@pytest.mark.parametrize("key", ["activation", "initializer", "optimizer", "schedule",
                                 "batch_norm", "shape", "loss"])
def test_every_catalog_name_validates(key: str) -> None:
    for name in CATALOG[key]:
        validate_value(key, name)
    validate_value("batch_norm", True)


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        validate_value("activation", "relux")
    assert str(err.value) == (
        "unknown activation 'relux'; valid: relu, leaky_relu, prelu, elu, selu, gelu, "
        "swish, silu, tanh, sigmoid, softplus, linear"
    )
    with pytest.raises(ConfigError, match=r"^unknown optimizer 'Adam'; valid: sgd, adagrad, "):
        resolve_params({"optimizer": "Adam"}, task="binary")
    with pytest.raises(ConfigError, match=r"^unknown batch_norm 1; valid: none, before, after$"):
        validate_value("batch_norm", 1)


@pytest.mark.parametrize("task", TASKS)
def test_loss_is_checked_against_the_task(task: str) -> None:
    for loss in CATALOG["loss"]:
        if loss in LOSSES_BY_TASK[task]:
            validate_value("loss", loss, task=task)
            continue
        valid = ", ".join(LOSSES_BY_TASK[task])
        with pytest.raises(ConfigError) as err:
            validate_value("loss", loss, task=task)
        assert str(err.value) == f"loss '{loss}' is not valid for task '{task}'; valid: {valid}"


def test_unknown_loss_and_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"^unknown loss 'l2'; valid: bce, hinge$"):
        resolve_params({"loss": "l2"}, task="binary")
    with pytest.raises(ConfigError, match=r"^unknown parameter 'learnig_rate' \(did you mean "
                                          r"'learning_rate'\?\); valid: n_layers, units, "):
        resolve_params({"learnig_rate": 0.1}, task="binary")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("dropout", 1.2, "dropout must be in [0, 1), got 1.2"),
    ("dropout_1", -0.1, "dropout_1 must be in [0, 1), got -0.1"),
    ("learning_rate", 0, "learning_rate must be > 0, got 0"),
    ("learning_rate", -1e-3, "learning_rate must be > 0, got -0.001"),
    ("learning_rate", float("nan"), "learning_rate must be > 0, got nan"),
    ("learning_rate", True, "learning_rate must be > 0, got True"),
    ("learning_rate", "fast", "learning_rate must be > 0, got 'fast'"),
    ("batch_size", 0, "batch_size must be an integer >= 1, got 0"),
    ("n_layers", -1, "n_layers must be an integer >= 0, got -1"),
    ("n_layers", 2.5, "n_layers must be an integer >= 0, got 2.5"),
    ("units_2", 0, "units_2 must be an integer >= 1, got 0"),
    ("l2", -0.01, "l2 must be >= 0, got -0.01"),
    ("momentum", 1.0, "momentum must be in [0, 1), got 1.0"),
    ("clipnorm", 0.0, "clipnorm must be > 0 or None, got 0.0"),
    ("nesterov", "yes", "nesterov must be True or False, got 'yes'"),
])
def test_bad_values_name_the_key_and_value(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_value(key, value)
    assert str(err.value) == message
    with pytest.raises(ConfigError):
        resolve_params({key: value}, task="binary")


def test_cross_key_rules() -> None:
    validate_value("clipnorm", None)
    with pytest.raises(ConfigError, match=r"^set only one of clipnorm and clipvalue, got "
                                          r"clipnorm=1.0, clipvalue=0.5$"):
        resolve_params({"clipnorm": 1.0, "clipvalue": 0.5}, task="binary")
    with pytest.raises(ConfigError, match=r"^decay_rate must be <= 1 for schedule 'step', "
                                          r"got 2.0$"):
        resolve_params({"schedule": "step", "decay_rate": 2.0}, task="binary")
    with pytest.raises(ConfigError, match=r"^decay_rate must be < 1 for schedule 'plateau'"):
        resolve_params({"schedule": "plateau", "decay_rate": 1.0}, task="binary")
    time_decay = resolve_params({"schedule": "time", "decay_rate": 2.0}, task="binary")
    assert time_decay["decay_rate"] == 2.0
    with pytest.raises(ConfigError, match=r"^unknown task 'clf'"):
        resolve_params({}, task="clf")


def test_vocabulary_import_does_not_load_keras() -> None:
    code = "import sys, tunekit.factory as f; f.CATALOG; assert 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
