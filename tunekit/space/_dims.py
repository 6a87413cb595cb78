"""Dimension value objects: Float, Int, Choice, Bool, Fixed and PerLayer.

Dimensions are frozen dataclasses. They validate themselves as soon as they have a name
(``Space`` gives each one its dict key with ``dataclasses.replace(dim, name=key)``), and
every problem is a one-line :class:`ConfigError` naming the parameter, the rule and the
values, e.g. ``Float 'lr': log=True needs low > 0, got low=0.0``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import BaseTrial

from tunekit._errors import ConfigError

from tunekit.space._condition import (  # noqa: F401  (Condition, is_int re-exported)
    Condition,
    Scalar,
    _SCALARS,
    as_condition,
    is_int,
    is_number,
    is_scalar,
    on_lattice,
    same,
)


# ---------------------------------------------------------------------------- dimensions


class _NoDefault:
    """The ``default`` of a dimension that declares none (``None`` is a valid Choice value)."""

    _instance: "_NoDefault | None" = None

    def __new__(cls) -> "_NoDefault":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"

    def __reduce__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True, kw_only=True, repr=False)
class Dimension:
    """Base of every dimension: an optional ``when`` condition, the parameter ``name`` and an
    optional ``default``: the value the study's first trial uses (as keras-tuner's ``default=``)."""

    when: Condition | None = None
    name: str | None = None
    default: Any = NO_DEFAULT

    type_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self._normalise()
        if self.when is not None and not isinstance(self.when, Condition):
            try:
                object.__setattr__(self, "when", as_condition(self.when, self.label))
            except ConfigError:
                if self.name is not None:
                    raise  # unnamed: validate() reports it once the dim has its name
        if self.name is not None:
            self.validate()

    @property
    def has_default(self) -> bool:
        """Whether a ``default=`` was declared."""
        return self.default is not NO_DEFAULT

    @property
    def label(self) -> str:
        """``Float 'lr'``: how messages name this dimension."""
        kind = type(self).__name__
        return f"{kind} {self.name!r}" if self.name is not None else kind

    def validate(self) -> None:
        """Raise ConfigError naming the parameter if a rule does not hold."""
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ConfigError(f"{type(self).__name__}: name must be a non-empty str, got name={self.name!r}")
        if self.when is not None:
            as_condition(self.when, self.label)
        self._check()
        if self.has_default and not self.contains(self.default):
            raise ConfigError(
                f"{self.label}: default {self.default!r} is not a value of "
                f"{dataclasses.replace(self, default=NO_DEFAULT)._repr(with_name=False)}; "
                "pick a default inside the dimension or drop default="
            )

    def _normalise(self) -> None:
        """Coerce well-typed inputs to canonical types (list -> tuple, int -> float ...)."""

    def _check(self) -> None:
        raise NotImplementedError

    def to_distribution(self) -> BaseDistribution | None:
        """The Optuna distribution this dimension suggests from (None for Fixed)."""
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a value this dimension can take."""
        raise NotImplementedError

    def suggest(self, trial: BaseTrial) -> Any:
        """Ask ``trial`` for this parameter (by its name)."""
        raise NotImplementedError

    def _fields(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict with a ``"type"`` key; ``Dimension.from_dict`` reads it back.

        Example:
            >>> Float(0.0, 0.5).to_dict()["type"]
            'float'
        """
        d: dict[str, Any] = {"type": self.type_name, **self._fields()}
        when = self.when
        d["when"] = when.to_dict() if isinstance(when, Condition) else when
        if self.has_default:
            d["default"] = self.default
        if self.name is not None:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Dimension:
        """Build (and validate) a dimension from ``to_dict()`` output.

        Example:
            >>> Dimension.from_dict({"type": "int", "low": 1, "high": 3})
            Int(1, 3)
        """
        kind = _TYPES.get(d.get("type")) if isinstance(d, Mapping) and isinstance(d.get("type"), str) else None
        if kind is None:
            raise ConfigError(f"Dimension.from_dict needs a mapping with a 'type' in {sorted(_TYPES)}, got {d!r}")
        kw = {k: v for k, v in d.items() if k != "type"}
        allowed = {f.name for f in dataclasses.fields(kind) if f.init}
        extra = sorted(set(kw) - allowed)
        if extra:
            raise ConfigError(f"{kind.__name__}: unexpected keys {extra}; allowed keys are {sorted(allowed)}")
        try:
            dim = kind(**kw)
        except TypeError as e:
            raise ConfigError(f"{kind.__name__}: {e}") from None
        dim.validate()
        return dim

    def _args(self) -> list[str]:
        raise NotImplementedError

    def _repr(self, with_name: bool = True) -> str:
        args = self._args()
        if self.when is not None:
            w = self.when
            args.append(f"when={(w.param, w.op, w.value)!r}" if isinstance(w, Condition) else f"when={w!r}")
        if self.has_default:
            args.append(f"default={self.default!r}")
        if with_name and self.name is not None:
            args.append(f"name={self.name!r}")
        return f"{type(self).__name__}({', '.join(args)})"

    def __repr__(self) -> str:
        return self._repr()


def _tuple(x: Any) -> Any:
    return tuple(x) if isinstance(x, list) else x


class _Range(Dimension):
    """What Float and Int share: bounds, log, step lattice and explicit grid values."""

    # Subclasses define the fields low, high, log, step, grid and _KIND, _ok, _coerce, _check_step.

    def _normalise(self) -> None:
        if self.has_default:
            object.__setattr__(self, "default", self._coerce(self.default))
        for attr in ("low", "high", "step"):
            object.__setattr__(self, attr, self._coerce(getattr(self, attr)))
        grid = _tuple(self.grid)
        object.__setattr__(self, "grid", tuple(map(self._coerce, grid)) if isinstance(grid, tuple) else grid)

    def _check(self) -> None:
        L, low, high, step, grid = self.label, self.low, self.high, self.step, self.grid
        for attr, v in (("low", low), ("high", high)):
            if not self._ok(v):
                raise ConfigError(f"{L}: {attr} must be {self._KIND}, got {attr}={v!r}")
        if not isinstance(self.log, bool):
            raise ConfigError(f"{L}: log must be True or False, got log={self.log!r}")
        if low > high:
            raise ConfigError(f"{L}: low <= high must hold, got low={low!r}, high={high!r}")
        self._check_step()
        if self.log and low <= 0:
            raise ConfigError(f"{L}: log=True needs low > 0, got low={low!r}")
        if step is not None and not on_lattice(high, low, step):
            raise ConfigError(
                f"{L}: (high - low) must be a multiple of step, got low={low!r}, high={high!r}, step={step!r}"
            )
        if grid is None:
            return
        if not isinstance(grid, tuple) or not grid:
            shown = list(grid) if isinstance(grid, tuple) else grid
            raise ConfigError(f"{L}: grid= needs a non-empty list or tuple of values, got {shown!r}")
        for i, v in enumerate(grid):
            if not self._ok(v):
                raise ConfigError(f"{L}: grid values must be {self._KIND}, got {v!r} in {list(grid)!r}")
            if not low <= v <= high:
                raise ConfigError(f"{L}: grid values must lie in [low, high], got {v!r} outside [{low!r}, {high!r}]")
            if step is not None and not on_lattice(v, low, step):
                raise ConfigError(
                    f"{L}: grid values must be on the lattice low + k*step, got {v!r} with low={low!r}, step={step!r}"
                )
            if v in grid[:i]:
                raise ConfigError(f"{L}: grid values must be unique, got {v!r} twice in {list(grid)!r}")

    def contains(self, value: Any) -> bool:
        if not self._ok(value) or not self.low <= value <= self.high:
            return False
        return self.step is None or on_lattice(value, self.low, self.step)

    def _fields(self) -> dict[str, Any]:
        grid = list(self.grid) if isinstance(self.grid, tuple) else self.grid
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step, "grid": grid}

    def _args(self) -> list[str]:
        args = [repr(self.low), repr(self.high)] + (["log=True"] if self.log else [])
        if self.step != type(self).__dataclass_fields__["step"].default:
            args.append(f"step={self.step!r}")
        if self.grid is not None:
            args.append(f"grid={list(self.grid)!r}" if isinstance(self.grid, tuple) else f"grid={self.grid!r}")
        return args


@dataclass(frozen=True, repr=False)
class Float(_Range):
    """A real parameter in ``[low, high]``, optionally log-scaled or on a ``step`` lattice.

    Example:
        >>> Float(1e-4, 1e-1, log=True, name="lr").to_distribution()
        FloatDistribution(high=0.1, log=True, low=0.0001, step=None)
    """

    low: float
    high: float
    _: KW_ONLY
    log: bool = False
    step: float | None = None
    grid: tuple[float, ...] | None = None

    type_name: ClassVar[str] = "float"
    _KIND: ClassVar[str] = "a finite number"
    _ok = staticmethod(is_number)

    @staticmethod
    def _coerce(x: Any) -> Any:
        return float(x) if is_number(x) else x

    def _normalise(self) -> None:
        super()._normalise()
        low, high, step = self.low, self.high, self.step
        if is_number(low) and is_number(high) and is_number(step) and step > 0 and on_lattice(high, low, step):
            # snap float noise (0.1 * 3 = 0.30000000000000004) onto the decimal lattice Optuna uses
            k = round((high - low) / step)
            object.__setattr__(self, "high", float(Decimal(repr(low)) + k * Decimal(repr(step))))

    def _check_step(self) -> None:
        if self.log and self.step is not None:
            raise ConfigError(
                f"{self.label}: log=True and step are exclusive (Optuna rule), got log=True, step={self.step!r}"
            )
        if self.step is not None and not (is_number(self.step) and self.step > 0):
            raise ConfigError(f"{self.label}: step > 0 must hold, got step={self.step!r}")

    def to_distribution(self) -> FloatDistribution:
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial: BaseTrial) -> float:
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)


@dataclass(frozen=True, repr=False)
class Int(_Range):
    """An integer parameter in ``[low, high]`` by ``step``, optionally log-scaled.

    Example:
        >>> Int(16, 256, log=True, name="units").contains(64)
        True
    """

    low: int
    high: int
    _: KW_ONLY
    log: bool = False
    step: int = 1
    grid: tuple[int, ...] | None = None

    type_name: ClassVar[str] = "int"
    _KIND: ClassVar[str] = "an int (not a bool or float)"
    _ok = staticmethod(is_int)

    @staticmethod
    def _coerce(x: Any) -> Any:
        return int(x) if is_int(x) else x

    def _check_step(self) -> None:
        if not is_int(self.step) or self.step < 1:
            raise ConfigError(f"{self.label}: step >= 1 must hold, got step={self.step!r}")
        if self.log and self.step != 1:
            raise ConfigError(f"{self.label}: log=True needs step=1 (Optuna rule), got step={self.step!r}")

    def to_distribution(self) -> IntDistribution:
        return IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial: BaseTrial) -> int:
        return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True, repr=False)
class Choice(Dimension):
    """One of a fixed set of values (str, int, float, bool or None), stored as a tuple.

    Example:
        >>> Choice(["relu", "tanh"], name="activation").values
        ('relu', 'tanh')
    """

    values: tuple[Scalar, ...]

    type_name: ClassVar[str] = "choice"

    def _normalise(self) -> None:
        object.__setattr__(self, "values", _tuple(self.values))

    def _check(self) -> None:
        L, values = self.label, self.values
        if not isinstance(values, tuple):
            raise ConfigError(f"{L}: values must be a list or tuple, got {values!r}")
        if not values:
            raise ConfigError(f"{L}: needs at least one value, got []")
        for i, v in enumerate(values):
            if not is_scalar(v):
                raise ConfigError(
                    f"{L}: values must be {_SCALARS} (finite), got {v!r} of type "
                    f"{type(v).__name__} in {list(values)!r}"
                )
            for w in values[:i]:
                if w == v:  # Optuna cannot tell 1, 1.0 and True apart either
                    got = f"{v!r} twice" if repr(v) == repr(w) else f"{w!r} and {v!r} (equal)"
                    raise ConfigError(f"{L}: values must be unique, got {got} in {list(values)!r}")

    def to_distribution(self) -> CategoricalDistribution:
        return CategoricalDistribution(self.values)

    def contains(self, value: Any) -> bool:
        return any(same(value, v) for v in self.values)

    def suggest(self, trial: BaseTrial) -> Scalar:
        return trial.suggest_categorical(self.name, list(self.values))

    def _fields(self) -> dict[str, Any]:
        return {"values": list(self.values) if isinstance(self.values, tuple) else self.values}

    def _args(self) -> list[str]:
        return [repr(list(self.values)) if isinstance(self.values, tuple) else repr(self.values)]


@dataclass(frozen=True, repr=False)
class Bool(Choice):
    """``False`` or ``True``: a Choice of ``(False, True)``.

    Example:
        >>> Bool(name="nesterov").values
        (False, True)
    """

    values: tuple[bool, ...] = field(default=(False, True), init=False)

    type_name: ClassVar[str] = "bool"

    def _fields(self) -> dict[str, Any]:
        return {}

    def _args(self) -> list[str]:
        return []


@dataclass(frozen=True, repr=False)
class Fixed(Dimension):
    """A constant: never suggested to Optuna, yet present in sampled params.

    Example:
        >>> Fixed(20, name="epochs").contains(20)
        True
    """

    value: Scalar

    type_name: ClassVar[str] = "fixed"

    def _check(self) -> None:
        if not is_scalar(self.value):
            raise ConfigError(
                f"{self.label}: value must be {_SCALARS} (finite), got {self.value!r} "
                f"of type {type(self.value).__name__}"
            )
        if self.has_default:
            raise ConfigError(f"{self.label}: a Fixed value takes no default= (it is always {self.value!r})")

    def to_distribution(self) -> None:
        return None

    def contains(self, value: Any) -> bool:
        return same(value, self.value)

    def suggest(self, trial: BaseTrial) -> Scalar:
        return self.value

    def _fields(self) -> dict[str, Any]:
        return {"value": self.value}

    def _args(self) -> list[str]:
        return [repr(self.value)]


@dataclass(frozen=True)
class PerLayer:
    """One dimension per layer: ``Space`` expands key ``units`` to ``units_0, units_1, ...``.

    Layer ``i`` gets ``when=Condition(count, ">", i)``, for ``i`` below the maximum of the
    ``count`` parameter (an Int or a Fixed int declared earlier).

    Example:
        >>> PerLayer(Choice([32, 64]), count="n_layers").count
        'n_layers'
    """

    dim: Dimension
    _: KW_ONLY
    count: str = "n_layers"


_TYPES: dict[str, type[Dimension]] = {
    c.type_name: c for c in (Float, Int, Choice, Bool, Fixed)
}
