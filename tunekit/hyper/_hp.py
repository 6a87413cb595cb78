"""``HyperParameters``: the ``hp`` a keras-tuner ``build(hp)`` receives, backed by tunekit.

The same calls and the same answers as ``keras_tuner.HyperParameters`` (1.4): ``hp.Int``,
``hp.Float``, ``hp.Choice``, ``hp.Boolean``, ``hp.Fixed`` return the parameter's value for this
trial, ``None`` for one declared inside a ``conditional_scope`` (or with ``parent_name=``)
whose condition does not hold; ``hp.get``, ``hp[name]``, ``name in hp``, ``hp.values``,
``hp.name_scope``. Where the value comes from is the caller's: ``values`` given up front (the
parameters the study's strategy sampled for the trial), else ``ask(dim)`` (an Optuna
suggestion, define-by-run, for a parameter the recorded space did not have), else
keras-tuner's default (recording the space: ``tunekit.hyper.record_space``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Iterator, Mapping

from tunekit._errors import ConfigError
from tunekit.hyper._declare import bool_dim, choice_dim, fixed_dim, float_dim, int_dim, kt_default
from tunekit.space import Condition, Dimension, Fixed

#: One ``conditional_scope``: (parent name, the parent's values that activate it).
Scope = tuple[str, tuple[Any, ...]]


def _holds(scope: Scope, values: Mapping[str, Any]) -> bool:
    parent, allowed = scope
    if parent not in values:
        return False
    value = values[parent]
    return any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed)


def check_same(first: Dimension, again: Dimension) -> None:
    """ConfigError when ``again`` declares ``first``'s name with another range, values or kind
    (keras-tuner silently keeps the first; a repeated identical declaration is fine)."""
    if dataclasses.replace(again, when=first.when) != first:
        raise ConfigError(f"hp {first.name!r} is declared twice, as {first._repr(False)} then as "
                          f"{again._repr(False)}; keras-tuner would silently use the first: give the second "
                          "its own name, or declare both alike")


class HyperParameters:
    """A keras-tuner compatible ``hp``; each declaration is recorded as a tunekit dimension.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Int("units", 32, 128, step=32), hp.Choice("act", ["relu", "tanh"])
        (32, 'relu')
        >>> with hp.conditional_scope("act", ["tanh"]):
        ...     hp.Float("slope", 0.1, 0.3) is None  # inactive: act is relu
        True
        >>> hp.values
        {'units': 32, 'act': 'relu'}
        >>> hp.declared["slope"].when
        Condition('act', 'in', ('tanh',))
    """

    def __init__(self, values: Mapping[str, Any] | None = None, *,
                 ask: Callable[[Dimension], Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self.declared: dict[str, Dimension] = {}
        self.scopes: dict[str, tuple[Scope, ...]] = {}
        self.asked: list[str] = []
        self.active_scopes: list[tuple[Scope, ...]] = []
        self.inactive_scopes: list[tuple[Scope, ...]] = []
        self._ask = ask
        self._stack: list[Scope] = []
        self._prefix: list[str] = []

    # ------------------------------------------------------------------ keras-tuner's calls

    def Int(self, name: str, min_value: int, max_value: int, step: int | None = None, sampling: str = "linear",
            default: int | None = None, parent_name: str | None = None, parent_values: Any = None) -> Any:
        """An integer in [min_value, max_value] (max included), by ``step``."""
        with self._maybe_scope(parent_name, parent_values):
            full = self._name(name)
            return self._retrieve(full, lambda: int_dim(full, min_value, max_value, step, sampling, default))

    def Float(self, name: str, min_value: float, max_value: float, step: float | None = None,
              sampling: str = "linear", default: float | None = None, parent_name: str | None = None,
              parent_values: Any = None) -> Any:
        """A real number in [min_value, max_value]; ``sampling="log"`` for rates."""
        with self._maybe_scope(parent_name, parent_values):
            full = self._name(name)
            return self._retrieve(full, lambda: float_dim(full, min_value, max_value, step, sampling, default))

    def Choice(self, name: str, values: Any, ordered: bool | None = None, default: Any = None,
               parent_name: str | None = None, parent_values: Any = None) -> Any:
        """One of ``values`` (``ordered`` is accepted for compatibility)."""
        with self._maybe_scope(parent_name, parent_values):
            full = self._name(name)
            return self._retrieve(full, lambda: choice_dim(full, values, default))

    def Boolean(self, name: str, default: bool | None = None, parent_name: str | None = None,
                parent_values: Any = None) -> Any:
        """True or False."""
        with self._maybe_scope(parent_name, parent_values):
            full = self._name(name)
            return self._retrieve(full, lambda: bool_dim(full, default))

    def Fixed(self, name: str, value: Any, parent_name: str | None = None, parent_values: Any = None) -> Any:
        """A constant, recorded with the trial."""
        with self._maybe_scope(parent_name, parent_values):
            full = self._name(name)
            return self._retrieve(full, lambda: fixed_dim(full, value))

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Parameters declared inside are active only while ``parent_name`` is one of
        ``parent_values``; the code inside runs either way (as in keras-tuner)."""
        parent = self._name(parent_name)
        if parent not in self.declared:
            raise ConfigError(f"hp.conditional_scope: parent {parent_name!r} is not declared yet; "
                              f"declare it (hp.Choice({parent_name!r}, ...)) before the scope")
        allowed = tuple(parent_values) if isinstance(parent_values, (list, tuple)) else (parent_values,)
        self._stack.append((parent, allowed))
        scopes = tuple(self._stack)
        (self.active_scopes if all(_holds(s, self.values) for s in scopes) else self.inactive_scopes).append(scopes)
        try:
            yield
        finally:
            self._stack.pop()

    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[None]:
        """Prefix the names declared inside with ``name/``."""
        self._prefix.append(str(name))
        try:
            yield
        finally:
            self._prefix.pop()

    def get(self, name: str) -> Any:
        """The value of an active parameter; ValueError when inactive, KeyError when unknown."""
        full = self._name(name)
        if full in self.values:
            return self.values[full]
        if full in self.declared:
            raise ValueError(f"{full} is currently inactive.")
        raise KeyError(f"{full} does not exist.")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        try:
            self.get(str(name))
        except (KeyError, ValueError):
            return False
        return True

    def is_active(self, name: str) -> bool:
        """Whether every condition of ``name`` holds on the values so far."""
        return all(_holds(s, self.values) for s in self.scopes.get(name, ()))

    # ------------------------------------------------------------------ internals

    def _name(self, name: Any) -> str:
        return "/".join([*self._prefix, str(name)])

    @contextlib.contextmanager
    def _maybe_scope(self, parent_name: str | None, parent_values: Any) -> Iterator[None]:
        if parent_name is None:
            yield
        else:
            with self.conditional_scope(parent_name, parent_values):
                yield

    def _retrieve(self, name: str, declare: Callable[[], Dimension]) -> Any:
        """Record ``name``'s dimension (first declaration wins) and return its value, or None when
        one of its conditions does not hold."""
        if any(parent == name for parent, _ in self._stack):
            raise ConfigError(f"hp {name!r}: a conditional parameter cannot have the name of its parent")
        if name in self.declared:
            check_same(self.declared[name], declare())
        else:
            dim = declare()
            if self._stack:
                parent, allowed = self._stack[-1]
                dim = dataclasses.replace(dim, when=Condition(parent, "in", allowed))
            self.declared[name] = dim
            self.scopes[name] = tuple(self._stack)
        if not all(_holds(s, self.values) for s in self._stack):
            return None
        if name not in self.values:
            dim = self.declared[name]
            if self._ask is None or isinstance(dim, Fixed):  # a Fixed value is its declaration's, never asked
                self.values[name] = kt_default(dim)
            else:
                self.values[name] = self._ask(dim)
                self.asked.append(name)
        return self.values[name]
