"""The other dimensions: Choice, Bool, Fixed, and PerLayer (one dimension per layer)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

from optuna.distributions import CategoricalDistribution
from optuna.trial import BaseTrial

from tunekit._errors import ConfigError
from tunekit.space._condition import _SCALARS, Scalar, is_scalar, same
from tunekit.space._dimension import Dimension, as_tuple


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
        object.__setattr__(self, "values", as_tuple(self.values))

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
