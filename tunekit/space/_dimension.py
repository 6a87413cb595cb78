"""The base of every dimension: ``Dimension`` and ``NO_DEFAULT``.

Dimensions are frozen dataclasses. They validate themselves as soon as they have a name
(``Space`` gives each one its dict key with ``dataclasses.replace(dim, name=key)``), and
every problem is a one-line :class:`ConfigError` naming the parameter, the rule and the
values, e.g. ``Float 'lr': log=True needs low > 0, got low=0.0``. Each concrete dimension
registers its ``type_name`` here, which ``Dimension.from_dict`` reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from optuna.distributions import BaseDistribution
from optuna.trial import BaseTrial

from tunekit._errors import ConfigError
from tunekit.space._condition import Condition, as_condition


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


#: ``type_name`` -> dimension class, filled as the classes are defined (``__init_subclass__``).
_TYPES: dict[str, type[Dimension]] = {}


@dataclass(frozen=True, kw_only=True, repr=False)
class Dimension:
    """Base of every dimension: an optional ``when`` condition, the parameter ``name`` and an
    optional ``default``: the value the study's first trial uses (as keras-tuner's ``default=``)."""

    when: Condition | None = None
    name: str | None = None
    default: Any = NO_DEFAULT

    type_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass that names its own ``type_name`` is what ``from_dict`` builds for that type."""
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type_name"):
            _TYPES[cls.type_name] = cls

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
            >>> from tunekit.space import Float
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


def as_tuple(x: Any) -> Any:
    """A list as a tuple; anything else as it is (validation reports it)."""
    return tuple(x) if isinstance(x, list) else x
