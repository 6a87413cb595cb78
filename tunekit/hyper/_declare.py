"""keras-tuner's hyperparameter declarations as tunekit dimensions.

keras-tuner's ``hp.Int(name, min_value, max_value, step=None, sampling="linear", default=None)``
and its siblings become the immutable dimensions of ``tunekit.space`` (so the strategies, the
grid, the stored space and the resume checks treat them as any declared space), with
keras-tuner's own rules where they differ from Optuna's:

- a ``max_value`` off the ``step`` lattice is lowered to the last reachable value;
- ``sampling="log"`` with a ``step`` is keras-tuner's multiplicative step (16, 32, 64, ...):
  a Choice of those values; ``"reverse_log"`` is searched as ``"log"``;
- ``default=`` becomes the dimension's ``default=`` (the study's first trial) only when given;
  without it keras-tuner's implicit default (the minimum, the first value, False) is what a
  recording call returns (``kt_default``).
"""

from __future__ import annotations

import math
from typing import Any

from tunekit._errors import ConfigError
from tunekit.space import Bool, Choice, Dimension, Fixed, Float, Int

SAMPLINGS = ("linear", "log", "reverse_log")


def _sampling(name: str, sampling: Any) -> bool:
    """Whether ``sampling`` is logarithmic; ConfigError for an unknown one."""
    sampling = "linear" if sampling is None else str(sampling).lower()
    if sampling not in SAMPLINGS:
        raise ConfigError(f"hp {name!r}: sampling must be one of {list(SAMPLINGS)}, got {sampling!r}")
    return sampling != "linear"


def _geometric(name: str, low: float, high: float, factor: float, cast: type) -> Choice:
    """keras-tuner's log sampling with a step: low, low*factor, ... up to high."""
    if not factor > 1:
        raise ConfigError(f"hp {name!r}: with sampling='log' the step is a factor and must be > 1, got {factor!r}")
    values, value = [], float(low)
    while value <= high * (1 + 1e-9):
        values.append(cast(round(value) if cast is int else value))
        value *= factor
    return Choice(values, name=name)


def int_dim(name: str, min_value: Any, max_value: Any, step: Any = None, sampling: Any = "linear",
            default: Any = None) -> Dimension:
    """``hp.Int`` as an Int (or a Choice for a multiplicative log step).

    >>> int_dim("units", 16, 100, step=16)
    Int(16, 96, step=16, name='units')
    >>> int_dim("units", 16, 128, step=2, sampling="log").values
    (16, 32, 64, 128)
    """
    log = _sampling(name, sampling)
    for label, value in (("min_value", min_value), ("max_value", max_value)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise ConfigError(f"hp.Int {name!r}: {label} must be an int, got {value!r}")
    low, high = int(min_value), int(max_value)
    if log and step not in (None, 1):
        return _with_default(_geometric(name, low, high, float(step), int), default)
    step = 1 if step is None else step
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ConfigError(f"hp.Int {name!r}: step must be an int >= 1, got {step!r}")
    if high >= low:
        high = low + (high - low) // step * step
    return _with_default(Int(low, high, step=step, log=log, name=name), default)


def float_dim(name: str, min_value: Any, max_value: Any, step: Any = None, sampling: Any = "linear",
              default: Any = None) -> Dimension:
    """``hp.Float`` as a Float (or a Choice for a multiplicative log step).

    >>> float_dim("lr", 1e-4, 1e-2, sampling="log")
    Float(0.0001, 0.01, log=True, name='lr')
    >>> float_dim("dropout", 0.0, 0.55, step=0.1).high
    0.5
    """
    log = _sampling(name, sampling)
    for label, value in (("min_value", min_value), ("max_value", max_value)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"hp.Float {name!r}: {label} must be a finite number, got {value!r}")
    low, high = float(min_value), float(max_value)
    if step is not None and log:
        return _with_default(_geometric(name, low, high, float(step), float), default)
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0:
            raise ConfigError(f"hp.Float {name!r}: step must be a number > 0, got {step!r}")
        if high >= low:
            high = low + math.floor((high - low) / step + 1e-9) * step
        step = float(step)
    return _with_default(Float(low, high, step=step, log=log, name=name), default)


def choice_dim(name: str, values: Any, default: Any = None) -> Dimension:
    """``hp.Choice`` as a Choice (``ordered`` is keras-tuner's hint for its own oracles; unused)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ConfigError(f"hp.Choice {name!r}: values must be a list, got {values!r}")
    return _with_default(Choice(list(values), name=name), default)


def bool_dim(name: str, default: Any = None) -> Dimension:
    """``hp.Boolean`` as a Bool."""
    return _with_default(Bool(name=name), default)


def fixed_dim(name: str, value: Any) -> Dimension:
    """``hp.Fixed`` as a Fixed."""
    return Fixed(value, name=name)


def _with_default(dim: Dimension, default: Any) -> Dimension:
    """``dim`` with ``default=`` when one was given (checked against the dimension)."""
    if default is None:
        return dim
    import dataclasses

    if isinstance(dim, Int) and isinstance(default, float) and default.is_integer():
        default = int(default)
    if not dim.contains(default):
        raise ConfigError(f"hp {dim.name!r}: default {default!r} is not one of its values ({dim._repr(False)})")
    return dataclasses.replace(dim, default=default)


def kt_default(dim: Dimension) -> Any:
    """The value keras-tuner returns for ``dim`` before any search: its ``default=``, else the
    minimum, the first value, False or the fixed value.

    >>> kt_default(int_dim("n", 2, 8)), kt_default(choice_dim("act", ["tanh", "relu"]))
    (2, 'tanh')
    """
    if isinstance(dim, Fixed):
        return dim.value
    if dim.has_default:
        return dim.default
    if isinstance(dim, Choice):
        return None if None in dim.values else dim.values[0]
    return dim.low
