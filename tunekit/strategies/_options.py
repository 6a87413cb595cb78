"""The declared schema of a strategy option: its type, default, range or choices, and help.

Values are coerced from the declared type, the same way for text typed on the command line
(``-O multivariate=False``) and for Python values (``options={"multivariate": "False"}``):
a value that does not fit is a ValueError naming the option, what it takes and what it got.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Any

TRUE = ("true", "yes", "1")
FALSE = ("false", "no", "0")


@dataclass(frozen=True)
class Option:
    """One option of a strategy.

    ``kind`` is ``bool``, ``int``, ``float`` or ``str`` (``None``: untyped, for plug-ins that
    register help texts only; its text is read as JSON when it parses). Numbers may have a
    ``low`` / ``high`` bound (``low_open`` / ``high_open`` exclude it); ``str`` options
    have ``choices``, matched without regard to case.

    Example:
        >>> Option(int, 10, "random trials first", low=1).coerce("n", "12")
        12
    """

    kind: type | None
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """What the option takes and its default, e.g. ``int >= 1, default 10``."""
        if self.kind is None:
            return "any value"
        if self.kind is bool:
            what = "true or false"
        elif self.kind is str:
            what = "one of " + ", ".join(self.choices)
        else:
            what = self._range()
        return f"{what}, default {_show(self.default)}"

    def coerce(self, name: str, value: Any) -> Any:
        """``value`` as the declared type, or ValueError ``"<name> must be ..., got <value>"``."""
        if self.kind is None:
            return _json_or_text(value)
        if self.kind is bool:
            return self._bool(name, value)
        if self.kind is str:
            return self._choice(name, value)
        number = self._int(value) if self.kind is int else self._float(value)
        if number is None or not self._in_range(number):
            raise ValueError(f"{name} must be {self._range()}, got {value!r}")
        return number

    # ------------------------------------------------------------------ helpers

    def _range(self) -> str:
        noun = "an int" if self.kind is int else "a number"
        if self.high is None:
            return f"{noun} {'>' if self.low_open else '>='} {_show(self.low)}" if self.low is not None else noun
        lo = ("(" if self.low_open else "[") + _show(self.low if self.low is not None else -math.inf)
        hi = _show(self.high) + (")" if self.high_open or math.isinf(self.high) else "]")
        return f"{noun} in {lo}, {hi}"

    def _in_range(self, x: float) -> bool:
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        if self.high is not None and (x >= self.high if self.high_open else x > self.high):
            return False
        return True

    @staticmethod
    def _int(value: Any) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("+-").isdigit() and text.count("-") + text.count("+") <= 1:
                return int(text)
        return None

    @staticmethod
    def _float(value: Any) -> float | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, numbers.Real):
            x = float(value)
        elif isinstance(value, str):
            try:
                x = float(value.strip())
            except ValueError:
                return None
        else:
            return None
        return x if math.isfinite(x) else None

    @staticmethod
    def _bool(name: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and int(value) in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
            return value.strip().lower() in TRUE
        raise ValueError(f"{name} must be true or false (also yes/no, 1/0), got {value!r}")

    def _choice(self, name: str, value: Any) -> str:
        if isinstance(value, str):
            for choice in self.choices:
                if value.strip().lower() == choice.lower():
                    return choice
        raise ValueError(f"{name} must be one of {', '.join(self.choices)}, got {value!r}")


def _show(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
