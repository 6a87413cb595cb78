"""Regression metrics in the target's own units, and how to label any metric's units.

A regression model is trained on the target standardised with the training part's
``(mean, std)`` (``tunekit.data``), so Keras' ``mse``/``mae`` come out in standard
deviations. Users compare results with baselines in their own units (an RMSE of 24.3
price units, not 0.0177), so every regression metric is recorded de-standardised:
``rmse`` and ``mae`` in target units, ``mse`` in squared target units. Only the Keras
``loss`` (what the optimizer minimises) stays standardised, and it is labelled so.

>>> to_target_units({"loss": 0.25, "mse": 0.25, "mae": 0.4}, std=10.0)
{'loss': 0.25, 'mse': 25.0, 'mae': 4.0, 'rmse': 5.0}
>>> unit_label("val_rmse", {"task": "regression", "dataset": '{"target": "price"}'})
'price units'
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import keras

STANDARDISED = "standardised"


def to_target_units(metrics: Mapping[str, Any], std: float) -> dict[str, Any]:
    """``metrics`` (Keras names, optionally ``val_``-prefixed) with ``mse``/``mae`` mapped
    from the standardised target back to its units and ``rmse`` added; ``loss`` unchanged."""
    out = dict(metrics)
    for prefix in ("", "val_"):
        mse = metrics.get(f"{prefix}mse")
        mae = metrics.get(f"{prefix}mae")
        if mse is not None:
            out[f"{prefix}mse"] = float(mse) * std * std
            out[f"{prefix}rmse"] = math.sqrt(max(float(mse), 0.0)) * std
        if mae is not None:
            out[f"{prefix}mae"] = float(mae) * std
    return out


def target_units_callback(std: float) -> "keras.callbacks.Callback":
    """A callback that rewrites each epoch's logs into target units; put it first, so the
    pruner, early stopping and the history see ``val_rmse`` in the user's units."""
    import keras

    class TargetUnits(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if logs is not None:
                logs.update(to_target_units(logs, std))

    return TargetUnits()


def target_name(attrs: Mapping[str, Any]) -> str | None:
    """The target column of a regression study (its user attributes), else None."""
    if attrs.get("task") != "regression":
        return None
    try:
        described = json.loads(attrs.get("dataset") or "{}")
    except (TypeError, json.JSONDecodeError):
        described = {}
    return str(described.get("target") or "target")


def unit_label(metric: str, attrs: Mapping[str, Any]) -> str | None:
    """The units of ``metric`` in a study with user attributes ``attrs``: ``"price units"``,
    ``"price units²"``, ``"standardised"`` (the loss), or None (classification, counts)."""
    target = target_name(attrs)
    if target is None:
        return None
    name = metric.removeprefix("val_").removeprefix("train_")
    if name == "loss":
        return STANDARDISED
    if name in ("rmse", "mae"):
        return f"{target} units"
    if name == "mse":
        return f"{target} units²"
    return None


def with_unit(value: float, metric: str, attrs: Mapping[str, Any], fmt: str = ".4f") -> str:
    """``value`` formatted and followed by its units: ``24.3012 price units``, ``0.0177 (standardised)``."""
    unit = unit_label(metric, attrs)
    text = format(value, fmt)
    if unit is None:
        return text
    return f"{text} ({unit})" if unit == STANDARDISED else f"{text} {unit}"


def units_table(metrics: Mapping[str, Any], attrs: Mapping[str, Any]) -> dict[str, str]:
    """``{metric: units}`` for the metrics that have units (empty for classification)."""
    labels = {name: unit_label(name, attrs) for name in metrics}
    return {name: unit for name, unit in labels.items() if unit is not None}
