"""What the data allows a model that knows nothing: the loss of the best constant predictor on the
training labels, for the losses tunekit builds (and Keras' usual names for a model of your own).

- cross-entropy (binary, categorical, sparse): the entropy of the labels' prior;
- mean squared error: the labels' variance; mean absolute error: their mean distance to the median;
- Huber (delta 1): the better of the mean and the median as the constant;
- hinge (labels 0/1 or -1/1): ``2 * min(p, 1 - p)``, predicting the majority class.

None for any other loss: the rules then fall back to judging the loss against its start.

Example:
    >>> round(constant_loss("binary_crossentropy", np.array([0, 1, 1, 1])), 4)
    0.5623
    >>> constant_loss("mse", np.array([1.0, 3.0]))
    1.0
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np


def loss_name(loss: Any) -> str:
    """A loss as a snake_case name: ``"bce"``/``BinaryCrossentropy()``/``binary_crossentropy`` ->
    ``binary_crossentropy``."""
    if isinstance(loss, str):
        name = loss
    else:
        name = getattr(loss, "__name__", None) or type(loss).__name__
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    aliases = {"bce": "binary_crossentropy", "mean_squared_error": "mse", "mean_absolute_error": "mae",
               "sparse_ce": "sparse_categorical_crossentropy", "categorical_ce": "categorical_crossentropy"}
    return aliases.get(name, name)


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def constant_loss(loss: Any, y: np.ndarray) -> float | None:
    """The loss ``loss`` of the best constant prediction for the labels ``y``; None when unknown."""
    name = loss_name(loss)
    y = np.asarray(y, dtype="float64")
    if y.size == 0 or not np.all(np.isfinite(y)):
        return None
    if name == "binary_crossentropy":
        if not np.all((y == 0) | (y == 1)):
            return None
        p = y.reshape(len(y), -1).mean(axis=0)
        return float(np.mean([_entropy(np.array([q, 1 - q])) for q in p]))
    if name == "sparse_categorical_crossentropy":
        _, counts = np.unique(y.astype("int64"), return_counts=True)
        return _entropy(counts / counts.sum())
    if name == "categorical_crossentropy":
        return _entropy(y.reshape(len(y), -1).mean(axis=0))
    y2 = y.reshape(len(y), -1)
    if name == "mse":
        return float(np.mean(y2.var(axis=0)))
    if name == "mae":
        return float(np.mean(np.abs(y2 - np.median(y2, axis=0))))
    if name == "huber":
        def huber(c: np.ndarray) -> float:
            d = np.abs(y2 - c)
            return float(np.mean(np.where(d <= 1, 0.5 * d**2, d - 0.5)))
        return min(huber(y2.mean(axis=0)), huber(np.median(y2, axis=0)))
    if name == "hinge":
        if not np.all(np.isin(y, (-1, 0, 1))):
            return None
        p = float(np.mean(y > 0))
        return 2 * min(p, 1 - p)
    return None


def finite_or_none(value: float | None) -> float | None:
    """``value`` rounded to 4 significant digits, None when missing or not finite."""
    return None if value is None or not math.isfinite(value) else float(f"{value:.4g}")
