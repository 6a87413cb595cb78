"""The parameter vocabulary of the model factory: names, defaults and validation.

This module is pure Python (no Keras import), so a study file or a search space can be
checked against the catalog without paying for the TensorFlow import. The Keras objects
behind each name live in ``_build.py`` and ``_schedules.py``; a test keeps both in sync.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from tunekit._errors import ConfigError
from tunekit._records import METRICS_BY_TASK, TASKS

LOSSES_BY_TASK: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "binary": ("bce", "hinge"),
        "multiclass": ("sparse_ce",),
        "regression": ("mse", "mae", "huber"),
    }
)

CATALOG: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "activation": (
            "relu", "leaky_relu", "prelu", "elu", "selu", "gelu",
            "swish", "silu", "tanh", "sigmoid", "softplus", "linear",
        ),
        "initializer": (
            "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
            "lecun_uniform", "lecun_normal", "random_normal", "zeros", "ones",
        ),
        "optimizer": ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "nadam"),
        "schedule": ("constant", "step", "exponential", "cosine", "time", "plateau", "warmup"),
        "batch_norm": ("none", "before", "after"),
        "shape": ("constant", "funnel"),
        "loss": tuple(name for names in LOSSES_BY_TASK.values() for name in names),
    }
)

# The DESIGN.md table, in its order. ``loss`` and ``decay_rate`` depend on the task and
# the schedule and are filled in by ``resolve_params``.
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "n_layers": 2,
        "units": 64,
        "shape": "constant",
        "activation": "relu",
        "leaky_alpha": 0.2,
        "initializer": "glorot_uniform",
        "init_stddev": 0.05,
        "batch_norm": "none",
        "dropout": 0.0,
        "l1": 0.0,
        "l2": 0.0,
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "momentum": 0.0,
        "nesterov": False,
        "weight_decay": 1e-4,
        "schedule": "constant",
        "decay_rate": None,
        "decay_epochs": 10,
        "warmup_epochs": 2,
        "staircase": False,
        "plateau_patience": 3,
        "clipnorm": None,
        "clipvalue": None,
        "batch_size": 32,
        "epochs": 20,
        "patience": 0,
        "loss": None,
    }
)

DEFAULT_LOSS: Mapping[str, str] = MappingProxyType(
    {"binary": "bce", "multiclass": "sparse_ce", "regression": "mse"}
)
DEFAULT_DECAY_RATE: Mapping[str, float] = MappingProxyType(
    {"step": 0.5, "exponential": 0.9, "time": 0.5, "plateau": 0.5}
)

_INT_MIN: dict[str, int] = {
    "n_layers": 0, "units": 1, "decay_epochs": 1, "warmup_epochs": 0,
    "batch_size": 1, "epochs": 1, "patience": 0, "plateau_patience": 0,
}
# key -> (low, low inclusive, high, high inclusive); None = unbounded.
_FLOAT_BOUNDS: dict[str, tuple[float, bool, float | None, bool]] = {
    "learning_rate": (0.0, False, None, False),
    "init_stddev": (0.0, False, None, False),
    "decay_rate": (0.0, False, None, False),
    "clipnorm": (0.0, False, None, False),
    "clipvalue": (0.0, False, None, False),
    "leaky_alpha": (0.0, True, None, False),
    "l1": (0.0, True, None, False),
    "l2": (0.0, True, None, False),
    "weight_decay": (0.0, True, None, False),
    "dropout": (0.0, True, 1.0, False),
    "momentum": (0.0, True, 1.0, False),
}
_OPTIONAL = frozenset({"clipnorm", "clipvalue"})
_BOOLS = frozenset({"nesterov", "staircase"})
_PER_LAYER = re.compile(r"^(units|dropout)_(\d+)$")


def default_metric(task: str) -> tuple[str, str]:
    """The metric a study optimises by default for ``task``, with its direction.

    Regression optimises ``val_rmse`` in the target's own units (what users compare with a
    baseline); it is monotone in the standardised MSE, so the search is the same.

    >>> default_metric("binary")
    ('val_accuracy', 'maximize')
    >>> default_metric("regression")
    ('val_rmse', 'minimize')
    """
    _check_task(task)
    metric = METRICS_BY_TASK[task][0]
    return metric, "minimize" if task == "regression" else "maximize"


def validate_value(key: str, value: Any, *, task: str | None = None) -> None:
    """Raise ``ConfigError`` unless ``value`` is a valid value of parameter ``key``.

    Works for every key of the vocabulary (names, numbers, booleans, ``units_<i>`` and
    ``dropout_<i>``); a ``loss`` is checked against ``task`` when given, else against
    every task. Meant for each value of a ``Choice`` before the first trial.

    >>> validate_value("activation", "gelu")
    >>> validate_value("activation", "relux")
    Traceback (most recent call last):
    ...
    tunekit._errors.ConfigError: unknown activation 'relux'; valid: relu, leaky_relu, prelu, elu, selu, gelu, swish, silu, tanh, sigmoid, softplus, linear
    """
    if task is not None:
        _check_task(task)
    _normalize(key, value, task)


class Resolved(Mapping[str, Any]):
    """A trial's parameters validated once, with every default filled in: read-only.

    Only ``resolve_params`` makes one. The builders (``build_model``, ``training_callbacks``,
    ``count_params``, the schedules) use a ``Resolved`` as it is and resolve anything else
    first, so a trial validates its parameters once however many builders read them.
    ``task`` is the task its ``loss`` was checked against (None: any task).
    """

    __slots__ = ("_values", "task")

    def __init__(self, values: Mapping[str, Any], task: str | None, *, _token: object = None) -> None:
        if _token is not _TOKEN:
            raise TypeError("Resolved is made by resolve_params(params, task=...)")
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))
        object.__setattr__(self, "task", task)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("resolved parameters are read-only")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Resolved({dict(self._values)!r}, task={self.task!r})"


_TOKEN = object()


def resolve_params(params: Mapping[str, Any], *, task: str) -> Resolved:
    """Validate a trial's parameters and fill in every default, once: a read-only ``Resolved``.

    Normalises ``batch_norm`` (True -> "after", False -> "none"), numbers (int / float)
    and fills ``loss`` from the task and ``decay_rate`` from the schedule. Idempotent: a
    ``Resolved`` of the same task comes back as it is, not validated again.
    ``units_<i>`` / ``dropout_<i>`` are kept as given (also those past ``n_layers``).

    >>> p = resolve_params({"batch_norm": True, "schedule": "step"}, task="binary")
    >>> p["batch_norm"], p["loss"], p["decay_rate"], p["units"]
    ('after', 'bce', 0.5, 64)
    >>> resolve_params(p, task="binary") is p
    True
    """
    _check_task(task)
    return as_resolved(params, task)


def as_resolved(params: Mapping[str, Any], task: str | None) -> Resolved:
    """``params`` as it is when already resolved for ``task`` (or for any task when ``task`` is
    None), else resolved now; without a task the loss is checked against every task."""
    if isinstance(params, Resolved) and (task is None or params.task == task):
        return params
    return Resolved(_resolve(params, task), task, _token=_TOKEN)


def _resolve(params: Mapping[str, Any], task: str | None) -> dict[str, Any]:
    """Validate and fill in ``params`` (a new dict); see ``resolve_params``."""
    given = {key: _normalize(key, value, task) for key, value in params.items()}
    out = {key: given.get(key, default) for key, default in DEFAULTS.items()}
    out.update((key, value) for key, value in given.items() if key not in DEFAULTS)
    if out["loss"] is None and task is not None:
        out["loss"] = DEFAULT_LOSS[task]
    if out["decay_rate"] is None:
        out["decay_rate"] = DEFAULT_DECAY_RATE.get(out["schedule"], 0.5)
    rate, schedule = out["decay_rate"], out["schedule"]
    if schedule in ("step", "exponential") and rate > 1:
        raise ConfigError(f"decay_rate must be <= 1 for schedule {schedule!r}, got {rate!r}")
    if schedule == "plateau" and rate >= 1:
        raise ConfigError(f"decay_rate must be < 1 for schedule 'plateau', got {rate!r}")
    if out["clipnorm"] is not None and out["clipvalue"] is not None:
        raise ConfigError(
            "set only one of clipnorm and clipvalue, "
            f"got clipnorm={out['clipnorm']!r}, clipvalue={out['clipvalue']!r}"
        )
    return out


def layer_units(params: Mapping[str, Any]) -> list[int]:
    """Units of each hidden layer of resolved ``params``: ``units_<i>`` else ``units``.

    With ``shape == "funnel"`` layer i has ``units // 2**i``, at least 4 (never more than
    ``units``). An explicit ``units_<i>`` always wins.
    """
    units, funnel = params["units"], params["shape"] == "funnel"
    sizes = []
    for i in range(params["n_layers"]):
        base = min(units, max(4, units // 2**i)) if funnel else units
        sizes.append(params.get(f"units_{i}", base))
    return sizes


def layer_dropout(params: Mapping[str, Any], i: int) -> float:
    """Dropout rate of hidden layer ``i``: ``dropout_<i>`` else ``dropout``."""
    return params.get(f"dropout_{i}", params["dropout"])


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")


def _normalize(key: str, value: Any, task: str | None) -> Any:
    """The canonical form of ``value`` for ``key``, or ``ConfigError``."""
    per_layer = _PER_LAYER.match(key) if isinstance(key, str) else None
    rule_key = per_layer.group(1) if per_layer else key
    if rule_key == "loss":
        valid = LOSSES_BY_TASK[task] if task is not None else CATALOG["loss"]
        if value not in CATALOG["loss"] or value in valid:
            return _name(key, value, valid)
        raise ConfigError(
            f"loss {value!r} is not valid for task {task!r}; valid: {', '.join(valid)}"
        )
    if rule_key == "batch_norm" and isinstance(value, bool):
        return "after" if value else "none"
    if rule_key in CATALOG:
        return _name(key, value, CATALOG[rule_key])
    if rule_key in _INT_MIN:
        low = _INT_MIN[rule_key]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")
        return int(value)
    if rule_key in _FLOAT_BOUNDS:
        if value is None and rule_key in _OPTIONAL:
            return None
        return _float(key, value, _FLOAT_BOUNDS[rule_key], rule_key in _OPTIONAL)
    if rule_key in _BOOLS:
        if not _is_bool(value):
            raise ConfigError(f"{key} must be True or False, got {value!r}")
        return bool(value)
    raise ConfigError(f"unknown parameter {key!r}{_suggest(key)}; valid: {_known_keys()}")


def _name(key: str, value: Any, valid: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in valid:
        return value
    raise ConfigError(f"unknown {key} {value!r}; valid: {', '.join(valid)}")


def _float(key: str, value: Any, bounds: tuple[float, bool, float | None, bool],
           optional: bool) -> float:
    low, low_inc, high, high_inc = bounds
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(value)
        and (value >= low if low_inc else value > low)
        and (high is None or (value <= high if high_inc else value < high))
    )
    if ok:
        return float(value)
    if high is None:
        rule = f"{'>=' if low_inc else '>'} {low:g}"
    else:
        rule = f"in {'[' if low_inc else '('}{low:g}, {high:g}{']' if high_inc else ')'}"
    rule += " or None" if optional else ""
    raise ConfigError(f"{key} must be {rule}, got {value!r}")


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _known_keys() -> str:
    return ", ".join([*DEFAULTS, "units_<i>", "dropout_<i>"])


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(str(key), [*DEFAULTS], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
