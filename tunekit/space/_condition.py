"""Conditions (``when=``) and the small value predicates shared by the space modules."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from tunekit._errors import ConfigError

Scalar = Union[str, int, float, bool, None]
OPS = ("==", "!=", "in", ">", ">=", "<", "<=")
_ORDER_OPS = frozenset((">", ">=", "<", "<="))
_SCALARS = "str, int, float, bool or None"


def is_number(x: Any) -> bool:
    """A finite real number that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def is_int(x: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_scalar(x: Any) -> bool:
    """A value Optuna storages keep exactly and JSON writes canonically."""
    if isinstance(x, float):
        return math.isfinite(x)
    return x is None or isinstance(x, (str, bool, int))


def same(a: Any, b: Any) -> bool:
    """Equality that keeps bools apart from numbers (``True`` is not ``1``)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def on_lattice(x: float, low: float, step: float) -> bool:
    """True when ``x = low + k * step`` for an integer ``k`` (up to float noise)."""
    k = (x - low) / step
    return abs(k - round(k)) <= 1e-8 * max(1.0, abs(k))


def _condition_problem(param: Any, op: Any, value: Any) -> str | None:
    if not isinstance(param, str) or not param:
        return f"parent must be a parameter name (a non-empty str), got {param!r}"
    if op not in OPS:
        return f"op must be one of {list(OPS)}, got {op!r}"
    if op == "in":
        if not isinstance(value, (list, tuple)) or not value:
            return f"'in' needs a non-empty list or tuple of values, got {value!r}"
        bad = [v for v in value if not is_scalar(v)]
        if bad:
            return f"values must be {_SCALARS}, got {bad[0]!r}"
    elif op in _ORDER_OPS:
        if not is_number(value):
            return f"{op!r} needs a finite number, got {value!r}"
    elif not is_scalar(value):
        return f"value must be {_SCALARS}, got {value!r}"
    return None


@dataclass(frozen=True, repr=False)
class Condition:
    """``param op value`` on an earlier parameter; a dimension is active only when it holds.

    Example:
        >>> Condition("optimizer", "==", "sgd").holds({"optimizer": "sgd"})
        True
        >>> Condition("n_layers", ">", 1).holds({})  # parent absent (inactive)
        False
    """

    param: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        problem = _condition_problem(self.param, self.op, self.value)
        if problem:
            raise ConfigError(f"Condition on {self.param!r}: {problem}")
        if self.op == "in":
            object.__setattr__(self, "value", tuple(self.value))

    def holds(self, params: Mapping[str, Any]) -> bool:
        """Whether the condition holds; False when the parent is absent from ``params``."""
        if self.param not in params:
            return False
        x, op, v = params[self.param], self.op, self.value
        if op in ("==", "!="):
            return same(x, v) == (op == "==")
        if op == "in":
            return any(same(x, w) for w in v)
        return is_number(x) and {">": x > v, ">=": x >= v, "<": x < v, "<=": x <= v}[op]

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if self.op == "in" else self.value
        return {"param": self.param, "op": self.op, "value": value}

    def __str__(self) -> str:
        value = list(self.value) if self.op == "in" else self.value
        return f"{self.param} {self.op} {value!r}"

    def __repr__(self) -> str:
        return f"Condition({self.param!r}, {self.op!r}, {self.value!r})"


def as_condition(when: Any, owner: str) -> Condition:
    """Normalise ``when=`` sugar to a Condition, with errors prefixed by ``owner``.

    ``("opt", "sgd")`` -> ``opt == 'sgd'``; ``("opt", ["sgd", "adam"])`` -> ``opt in (...)``;
    ``("n_layers", ">", 1)``; a ``{"param", "op", "value"}`` mapping; or a Condition.
    """
    if isinstance(when, Condition):
        return when
    if isinstance(when, Mapping) and set(when) == {"param", "op", "value"}:
        param, op, value = when["param"], when["op"], when["value"]
    elif isinstance(when, (tuple, list)) and len(when) == 2:
        param, value = when
        op = "in" if isinstance(value, (list, tuple)) else "=="
    elif isinstance(when, (tuple, list)) and len(when) == 3:
        param, op, value = when
    else:
        raise ConfigError(f"{owner}: when= must be (param, value), (param, op, value) or a Condition, got {when!r}")
    problem = _condition_problem(param, op, value)
    if problem:
        raise ConfigError(f"{owner}: when {problem}")
    return Condition(param, op, value)
