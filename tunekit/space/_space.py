"""Space: an ordered, validated mapping of parameter names to dimensions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.trial import BaseTrial

from tunekit._errors import ConfigError
from tunekit.space._choice import Choice, Fixed, PerLayer
from tunekit.space._condition import Condition, is_int
from tunekit.space._dimension import NO_DEFAULT, Dimension
from tunekit.space._numeric import Float, Int
from tunekit.space._grid import count_grid, enumerate_grid


def _domain(dim: Dimension) -> str:
    """How a condition error describes the values a parent can take."""
    if isinstance(dim, Choice):
        return f"its values are {list(dim.values)!r}"
    if isinstance(dim, Fixed):
        return f"it is fixed at {dim.value!r}"
    step = f" by step {dim.step!r}" if isinstance(dim, (Int, Float)) and dim.step not in (None, 1) else ""
    return f"its range is [{dim.low!r}, {dim.high!r}]{step}"


def _never_holds(cond: Condition, parent: Dimension) -> bool:
    """Whether no value of ``parent`` satisfies ``cond`` (ordering ops)."""
    if isinstance(parent, (Choice, Fixed)):
        values = parent.values if isinstance(parent, Choice) else (parent.value,)
        return not any(cond.holds({cond.param: v}) for v in values)
    probe = parent.high if cond.op in (">", ">=") else parent.low
    return not cond.holds({cond.param: probe})


class Space(Mapping[str, Dimension]):
    """An ordered search space; declaring it validates every dimension and condition.

    Example:
        >>> space = Space({
        ...     "optimizer": Choice(["adam", "sgd"]),
        ...     "momentum": Float(0.0, 0.9, when=("optimizer", "sgd")),
        ...     "n_layers": Int(1, 3),
        ...     "units": PerLayer(Choice([32, 64])),
        ... })
        >>> space.names
        ('optimizer', 'momentum', 'n_layers', 'units_0', 'units_1', 'units_2')
        >>> space.grid_size(), space.is_active("momentum", {"optimizer": "adam"})
        (84, False)
    """

    def __init__(self, dims: Mapping[str, Dimension | PerLayer] | Space) -> None:
        if not isinstance(dims, Mapping):
            raise ConfigError(f"Space needs a mapping of name -> dimension, got {dims!r}")
        self._dims: dict[str, Dimension] = {}
        for key, dim in dims.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"Space: parameter names must be non-empty str, got {key!r}")
            if isinstance(dim, PerLayer):
                self._expand(key, dim)
            else:
                self._add(key, dim)
        for name, dim in self._dims.items():
            if dim.when is not None:
                self._check_condition(name, dim.when)

    # ------------------------------------------------------------------ construction

    def _add(self, key: str, dim: Any) -> None:
        if not isinstance(dim, Dimension):
            raise ConfigError(
                f"Space {key!r}: expected a dimension (Float, Int, Choice, Bool, Fixed) or "
                f"PerLayer, got {dim!r}; wrap a constant in Fixed({dim!r})"
            )
        if dim.name is not None and dim.name != key:
            raise ConfigError(f"Space {key!r}: the dimension is named {dim.name!r}; drop name= or use {key!r}")
        if key in self._dims:
            raise ConfigError(f"Space {key!r}: declared twice (a PerLayer key expands to {key!r})")
        self._dims[key] = dim if dim.name == key else dataclasses.replace(dim, name=key)

    def _expand(self, key: str, per: PerLayer) -> None:
        count, inner = per.count, per.dim
        if not isinstance(inner, Dimension):
            raise ConfigError(f"PerLayer {key!r}: needs a dimension, got {inner!r}")
        if inner.when is not None:
            raise ConfigError(
                f"PerLayer {key!r}: the inner dimension cannot have when= (layer i gets "
                f"when=({count!r}, '>', i)), got when={inner.when!r}"
            )
        parent = self._dims.get(count) if isinstance(count, str) else None
        if parent is None:
            raise ConfigError(
                f"PerLayer {key!r}: count {count!r} must be declared before {key!r}; "
                f"declared so far: {list(self._dims)}"
            )
        if isinstance(parent, Int):
            n = parent.high
        elif isinstance(parent, Fixed) and is_int(parent.value):
            n = parent.value
        else:
            raise ConfigError(f"PerLayer {key!r}: count {count!r} must be an Int or a Fixed int, got {parent!r}")
        if n < 1:
            raise ConfigError(f"PerLayer {key!r}: count {count!r} is at most {n!r}, so no layer would be declared")
        for i in range(n):
            self._add(f"{key}_{i}", dataclasses.replace(inner, name=None, when=Condition(count, ">", i)))

    def _check_condition(self, name: str, cond: Condition) -> None:
        label = f"Condition {name!r}"
        names = list(self._dims)
        parent = self._dims.get(cond.param)
        if parent is None:
            raise ConfigError(f"{label}: parent {cond.param!r} is not declared; declared parameters are {names}")
        if names.index(cond.param) >= names.index(name):
            raise ConfigError(f"{label}: parent {cond.param!r} must be declared before {name!r}")
        if cond.op in ("==", "!=", "in"):
            values = cond.value if cond.op == "in" else (cond.value,)
            for v in values:
                if not parent.contains(v):
                    raise ConfigError(f"{label}: parent {cond.param!r} never takes {v!r}; {_domain(parent)}")
        elif _never_holds(cond, parent):
            raise ConfigError(f"{label}: {cond} never holds for parent {cond.param!r}; {_domain(parent)}")

    # ------------------------------------------------------------------ mapping

    def __getitem__(self, name: str) -> Dimension:
        try:
            return self._dims[name]
        except KeyError:
            raise KeyError(f"{name!r} is not in the space; its parameters are {list(self._dims)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def __contains__(self, name: object) -> bool:
        return name in self._dims

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return list(self._dims.items()) == list(other._dims.items())

    def __hash__(self) -> int:
        return hash(tuple(self._dims.items()))

    def __repr__(self) -> str:
        if not self._dims:
            return "Space({})"
        lines = "".join(f"    {n!r}: {d._repr(with_name=False)},\n" for n, d in self._dims.items())
        return "Space({\n" + lines + "})"

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in declared order (PerLayer keys expanded)."""
        return tuple(self._dims)

    # ------------------------------------------------------------------ sampling

    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna distributions of the suggested parameters (Fixed excluded)."""
        return {n: d.to_distribution() for n, d in self._dims.items() if not isinstance(d, Fixed)}

    def sample(self, trial: BaseTrial) -> dict[str, Any]:
        """Suggest every active parameter from ``trial`` in declared order (define-by-run).

        A dimension whose condition does not hold on the values sampled so far is absent
        from the result; Fixed values are included without being suggested.

        Example:
            >>> import optuna
            >>> space = Space({"act": Choice(["relu"]), "epochs": Fixed(5)})
            >>> space.sample(optuna.create_study().ask())
            {'act': 'relu', 'epochs': 5}
        """
        params: dict[str, Any] = {}
        for name, dim in self._dims.items():
            if dim.when is None or dim.when.holds(params):
                params[name] = dim.suggest(trial)
        return params

    def defaults(self) -> dict[str, Any]:
        """The declared ``default=`` values that apply together, in declared order.

        A dimension whose condition is false under the defaults before it is left out; one
        whose condition depends on a parameter without a default is kept (the strategy
        samples that parameter, and Optuna ignores a default it never asks for).

        Example:
            >>> Space({"opt": Choice(["adam", "sgd"], default="sgd"),
            ...        "momentum": Float(0.0, 0.9, when=("opt", "sgd"), default=0.9)}).defaults()
            {'opt': 'sgd', 'momentum': 0.9}
        """
        known: dict[str, Any] = {}
        out: dict[str, Any] = {}
        for name, dim in self._dims.items():
            if dim.when is not None and dim.when.param in known and not dim.when.holds(known):
                continue
            value = dim.value if isinstance(dim, Fixed) else dim.default
            if isinstance(dim, Fixed) or dim.has_default:
                known[name] = value
                if not isinstance(dim, Fixed):
                    out[name] = value
        return out

    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether ``name``'s condition holds on ``params`` (always True without one)."""
        if name not in self._dims:
            raise ConfigError(f"Space has no parameter {name!r}; its parameters are {list(self._dims)}")
        when = self._dims[name].when
        return when is None or when.holds(params)

    def validate_params(self, params: Mapping[str, Any]) -> None:
        """Raise ConfigError, naming the parameter, if ``params`` cannot come from this space.

        Checks that every key is declared, every value lies in its dimension, and no
        inactive parameter is given. Missing parameters are allowed (e.g. Fixed ones
        that ``trial.params`` leaves out).
        """
        for name, value in params.items():
            dim = self._dims.get(name)
            if dim is None:
                raise ConfigError(f"Param {name!r} is not in the space; its parameters are {list(self._dims)}")
            if not dim.contains(value):
                raise ConfigError(f"Param {name!r}: {value!r} is outside {dim._repr(with_name=False)}")
            if dim.when is not None and not dim.when.holds(params):
                got = params.get(dim.when.param, "<absent>")
                raise ConfigError(
                    f"Param {name!r} is given but inactive: {dim.when} does not hold "
                    f"({dim.when.param}={got!r})"
                )

    # ------------------------------------------------------------------ grid

    def grid(self, resolution: int = 5) -> list[dict[str, Any]]:
        """Every grid point as a params dict (see ``tunekit.space._grid``); first dim slowest.

        Example:
            >>> Space({"act": Choice(["relu", "tanh"]), "lr": Float(0.1, 0.3)}).grid(2)[1]
            {'act': 'relu', 'lr': 0.3}
        """
        return enumerate_grid(list(self._dims.items()), resolution)

    def grid_size(self, resolution: int = 5) -> int:
        """``len(self.grid(resolution))``, counted without enumerating the points."""
        return count_grid(list(self._dims.items()), resolution)

    # ------------------------------------------------------------------ persistence

    def to_json(self) -> str:
        """Canonical JSON: ``{name: dim}`` in declared order, keys sorted inside each dim.

        Example:
            >>> Space({"units": Int(16, 64)}).to_json()
            '{"units": {"grid": null, "high": 64, "log": false, "low": 16, "step": 1, "type": "int", "when": null}}'
        """
        parts = []
        for name, dim in self._dims.items():
            d = dim.to_dict()
            d.pop("name", None)
            parts.append(f"{json.dumps(name)}: {json.dumps(d, sort_keys=True)}")
        return "{" + ", ".join(parts) + "}"

    @classmethod
    def from_json(cls, s: str) -> Space:
        """Read ``to_json()`` output back (validated); ``Space.from_json(sp.to_json()) == sp``."""
        try:
            data = json.loads(s)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"Space.from_json: not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"Space.from_json: expected a JSON object of name -> dimension, got {s!r}")
        dims = {}
        for name, d in data.items():
            if not isinstance(d, dict):
                raise ConfigError(f"Space.from_json {name!r}: expected a dimension object, got {d!r}")
            dims[name] = Dimension.from_dict({**d, "name": name})
        return cls(dims)

    def diff(self, other: Space) -> list[str]:
        """Human-readable differences from ``self`` to ``other``; empty when equal.

        Only what can be sampled counts: a changed ``default=`` is not a difference (it
        chooses the first trial of a new study, nothing else).

        Example:
            >>> Space({"lr": Float(1e-4, 0.1, log=True)}).diff(Space({"lr": Float(1e-3, 0.1, log=True)}))
            ["'lr': Float(0.0001, 0.1, log=True) -> Float(0.001, 0.1, log=True)"]
        """
        lines = []
        for name, dim in self._dims.items():
            if name not in other:
                lines.append(f"{name!r} removed")
            elif _sampled(other[name]) != _sampled(dim):
                lines.append(f"{name!r}: {dim._repr(False)} -> {other[name]._repr(False)}")
        lines += [f"{name!r} added" for name in other if name not in self._dims]
        if not lines and self.names != other.names:
            lines.append(f"order changed: {list(self.names)} -> {list(other.names)}")
        return lines


def _sampled(dim: Dimension) -> Dimension:
    """``dim`` without its default: what the search can sample."""
    return dataclasses.replace(dim, default=NO_DEFAULT) if dim.has_default else dim
