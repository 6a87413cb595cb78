"""The numeric dimensions: Float and Int (bounds, log scale, step lattice, grid values)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from decimal import Decimal
from typing import Any, ClassVar

from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import BaseTrial

from tunekit._errors import ConfigError
from tunekit.space._condition import is_int, is_number, on_lattice
from tunekit.space._dimension import Dimension, as_tuple


class _Range(Dimension):
    """What Float and Int share: bounds, log, step lattice and explicit grid values."""

    # Subclasses define the fields low, high, log, step, grid and _KIND, _ok, _coerce, _check_step.

    def _normalise(self) -> None:
        if self.has_default:
            object.__setattr__(self, "default", self._coerce(self.default))
        for attr in ("low", "high", "step"):
            object.__setattr__(self, attr, self._coerce(getattr(self, attr)))
        grid = as_tuple(self.grid)
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
