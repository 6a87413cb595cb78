"""The model factory: resolved parameters -> a compiled ``keras.Sequential``.

Layer layout (every hidden layer ``i < n_layers``; the activation is always its own layer
``act_i``, so the order is visible in ``model.layers``):

- ``batch_norm="none"``:   ``dense_i -> act_i [-> dropout_i]``
- ``batch_norm="before"``: ``dense_i (no bias) -> bn_i -> act_i [-> dropout_i]``
- ``batch_norm="after"``:  ``dense_i -> act_i -> bn_i [-> dropout_i]``

then ``output``: Dense(1, sigmoid) for binary, Dense(n_classes, softmax) for multiclass,
Dense(1, linear) for regression. ``act_i`` is an ``Activation`` layer, a ``LeakyReLU``
(slope ``leaky_alpha``) or a ``PReLU`` (slope learned, starting at ``leaky_alpha``). The
initializer and the L1/L2 kernel penalty apply to every Dense layer, the output included
(a fresh initializer object per layer: Keras' unseeded random initializers repeat their
values when one object is reused). Inputs of rank > 1 are flattened first (``flatten``).

``hinge`` (binary) is applied to the sigmoid output; Keras' hinge converts 0/1 labels to
-1/1 itself (``keras.losses.hinge`` -> ``convert_binary_labels_to_hinge``), so the labels
stay 0/1 and ``accuracy`` keeps its 0.5 threshold.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

import keras

from tunekit._errors import ConfigError
from tunekit.factory._catalog import (
    as_resolved,
    layer_dropout,
    layer_units,
    resolve_params,
)
from tunekit.factory._schedules import make_learning_rate

Params = Mapping[str, Any]
_L = keras.layers
_I = keras.initializers
_O = keras.optimizers


def _act(name: str) -> Callable[[Params, str], keras.layers.Layer]:
    return lambda p, layer_name: _L.Activation(name, name=layer_name)


ACTIVATIONS: dict[str, Callable[[Params, str], keras.layers.Layer]] = {
    "relu": _act("relu"),
    "leaky_relu": lambda p, n: _L.LeakyReLU(negative_slope=p["leaky_alpha"], name=n),
    "prelu": lambda p, n: _L.PReLU(alpha_initializer=_I.Constant(p["leaky_alpha"]), name=n),
    "elu": _act("elu"),
    "selu": _act("selu"),
    "gelu": _act("gelu"),
    "swish": _act("silu"),  # the same function under two names
    "silu": _act("silu"),
    "tanh": _act("tanh"),
    "sigmoid": _act("sigmoid"),
    "softplus": _act("softplus"),
    "linear": _act("linear"),
}

INITIALIZERS: dict[str, Callable[[Params], keras.initializers.Initializer]] = {
    "glorot_uniform": lambda p: _I.GlorotUniform(),
    "glorot_normal": lambda p: _I.GlorotNormal(),
    "he_uniform": lambda p: _I.HeUniform(),
    "he_normal": lambda p: _I.HeNormal(),
    "lecun_uniform": lambda p: _I.LecunUniform(),
    "lecun_normal": lambda p: _I.LecunNormal(),
    "random_normal": lambda p: _I.RandomNormal(stddev=p["init_stddev"]),
    "zeros": lambda p: _I.Zeros(),
    "ones": lambda p: _I.Ones(),
}

OPTIMIZERS: dict[str, Callable[..., keras.optimizers.Optimizer]] = {
    "sgd": lambda lr, p, **clip: _O.SGD(
        lr, momentum=p["momentum"], nesterov=p["nesterov"], **clip
    ),
    "adagrad": lambda lr, p, **clip: _O.Adagrad(lr, **clip),
    "adadelta": lambda lr, p, **clip: _O.Adadelta(lr, **clip),
    "rmsprop": lambda lr, p, **clip: _O.RMSprop(lr, **clip),
    "adam": lambda lr, p, **clip: _O.Adam(lr, **clip),
    "adamw": lambda lr, p, **clip: _O.AdamW(lr, weight_decay=p["weight_decay"], **clip),
    "nadam": lambda lr, p, **clip: _O.Nadam(lr, **clip),
}

LOSSES: dict[str, Callable[[], keras.losses.Loss]] = {
    "bce": keras.losses.BinaryCrossentropy,
    "hinge": keras.losses.Hinge,
    "sparse_ce": keras.losses.SparseCategoricalCrossentropy,
    "mse": keras.losses.MeanSquaredError,
    "mae": keras.losses.MeanAbsoluteError,
    "huber": keras.losses.Huber,
}


def build_model(
    params: Params,
    *,
    input_shape: tuple[int, ...],
    task: str,
    n_classes: int | None = None,
    steps_per_epoch: int = 1,
) -> keras.Sequential:
    """Build and compile the MLP that ``params`` describe. Pure: no fitting, no globals.

    ``params`` may be partial (then it is resolved here, see ``resolve_params``) or a
    ``Resolved`` of ``task``, used as it is; ``steps_per_epoch`` turns the epoch-based
    learning-rate schedules into optimizer steps.

    >>> model = build_model({"n_layers": 1, "units": 4}, input_shape=(8,), task="binary")
    >>> [layer.name for layer in model.layers]
    ['dense_0', 'act_0', 'output']
    """
    p = resolve_params(params, task=task)
    shape = _check_input_shape(input_shape)
    if not _is_int(steps_per_epoch) or steps_per_epoch < 1:
        raise ConfigError(f"steps_per_epoch must be an integer >= 1, got {steps_per_epoch!r}")
    n_out, out_activation = _output(task, n_classes)
    layers: list[Any] = [keras.Input(shape=shape, name="input")]
    if len(shape) > 1:
        layers.append(_L.Flatten(name="flatten"))
    for i, units in enumerate(layer_units(p)):
        layers.extend(_hidden_block(p, i, units))
    layers.append(_dense(p, n_out, name="output", activation=out_activation))
    model = keras.Sequential(layers, name=f"tunekit_{task}")
    model.compile(
        optimizer=_optimizer(p, int(steps_per_epoch)),
        loss=LOSSES[p["loss"]](),
        metrics=_metrics(task),
    )
    return model


def training_callbacks(
    params: Params, *, monitor: str, mode: str
) -> list[keras.callbacks.Callback]:
    """The callbacks ``params`` ask for: early stopping and the plateau schedule.

    ``EarlyStopping(patience, restore_best_weights=True)`` when ``patience > 0``;
    ``ReduceLROnPlateau(factor=decay_rate, patience=plateau_patience)`` when
    ``schedule == "plateau"``. ``mode`` is "min"/"max" or "minimize"/"maximize".
    ``params`` is resolved here unless it is a ``Resolved`` already.

    >>> cbs = training_callbacks({"patience": 3}, monitor="val_loss", mode="minimize")
    >>> [type(cb).__name__ for cb in cbs]
    ['EarlyStopping']
    """
    p = as_resolved(params, None)
    keras_mode = {"min": "min", "minimize": "min", "max": "max", "maximize": "max"}.get(mode)
    if keras_mode is None:
        raise ConfigError(f"unknown mode {mode!r}; valid: min, max, minimize, maximize")
    if not isinstance(monitor, str) or not monitor:
        raise ConfigError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
    callbacks: list[keras.callbacks.Callback] = []
    if p["patience"] > 0:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, mode=keras_mode, patience=p["patience"],
            restore_best_weights=True,
        ))
    if p["schedule"] == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode=keras_mode, factor=p["decay_rate"],
            patience=p["plateau_patience"],
        ))
    return callbacks


def _hidden_block(p: Params, i: int, units: int) -> list[keras.layers.Layer]:
    bn = p["batch_norm"]
    dense = _dense(p, units, name=f"dense_{i}", use_bias=bn != "before")
    act = ACTIVATIONS[p["activation"]](p, f"act_{i}")
    block = [dense]
    if bn == "before":
        block += [_L.BatchNormalization(name=f"bn_{i}"), act]
    elif bn == "after":
        block += [act, _L.BatchNormalization(name=f"bn_{i}")]
    else:
        block.append(act)
    rate = layer_dropout(p, i)
    if rate > 0:
        block.append(_L.Dropout(rate, name=f"dropout_{i}"))
    return block


def _dense(p: Params, units: int, *, name: str, activation: str | None = None,
           use_bias: bool = True) -> keras.layers.Dense:
    regularizer = None
    if p["l1"] > 0 or p["l2"] > 0:
        regularizer = keras.regularizers.L1L2(l1=p["l1"], l2=p["l2"])
    return _L.Dense(
        units, activation=activation, use_bias=use_bias, name=name,
        kernel_initializer=INITIALIZERS[p["initializer"]](p),
        kernel_regularizer=regularizer,
    )


def _optimizer(p: Params, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    clip = {key: p[key] for key in ("clipnorm", "clipvalue") if p[key] is not None}
    lr = make_learning_rate(p, steps_per_epoch)
    return OPTIMIZERS[p["optimizer"]](lr, p, **clip)


def _output(task: str, n_classes: int | None) -> tuple[int, str]:
    if task == "regression":
        return 1, "linear"
    if task == "binary":
        if n_classes not in (None, 2):
            raise ConfigError(
                f"task 'binary' needs 2 classes, got n_classes={n_classes!r}; "
                "use task 'multiclass'"
            )
        return 1, "sigmoid"
    if not _is_int(n_classes) or n_classes < 2:
        raise ConfigError(
            f"n_classes must be an integer >= 2 for task 'multiclass', got {n_classes!r}"
        )
    return int(n_classes), "softmax"


def _metrics(task: str) -> list[keras.metrics.Metric]:
    if task == "binary":
        return [keras.metrics.BinaryAccuracy(name="accuracy")]
    if task == "multiclass":
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    return [keras.metrics.MeanAbsoluteError(name="mae"),
            keras.metrics.MeanSquaredError(name="mse")]


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if not shape or any(not _is_int(d) or d < 1 for d in shape):
        raise ConfigError(
            f"input_shape must be a tuple of positive integers such as (8,), got {input_shape!r}"
        )
    return tuple(int(d) for d in shape)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
