"""How each parameter's axis is drawn, read from the study's stored search space.

A log-scale dimension gets a log axis, a ``Choice`` one category per value (in the space's
order), an integer dimension integer ticks. Trials are coloured by number on viridis, and
the best trial in a colour viridis does not contain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

#: Sequential colour map for trial numbers: perceptually uniform and readable in grey.
TRIAL_CMAP = "viridis"
#: The best trial's colour: red, which viridis (purple -> green -> yellow) never reaches.
BEST_COLOR = "#d62728"
#: With at most this many steps on an axis of trial numbers or epochs, a tick on every one.
TICK_EVERY_UP_TO = 10


@dataclass(frozen=True)
class ParamAxis:
    """One parameter's axis: log scale, integer ticks, or categories (labels in order)."""

    log: bool = False
    integer: bool = False
    categories: tuple[str, ...] | None = None
    bounds: tuple[float, float] | None = None  # the dimension's [low, high], when the space is known

    def position(self, value: Any) -> Any:
        """Where ``value`` goes on this axis (its category's index, or the value itself)."""
        return self.categories.index(label(value)) if self.categories is not None else value


def label(value: Any) -> str:
    """A parameter value as an axis label: ``16``, ``relu``, ``True``, ``None``."""
    return str(value)


def _from_space(dim: dict[str, Any]) -> ParamAxis | None:
    kind = dim.get("type")
    if kind in ("int", "float"):
        low, high = dim.get("low"), dim.get("high")
        bounds = (float(low), float(high)) if isinstance(low, (int, float)) and isinstance(high, (int, float)) else None
        return ParamAxis(log=bool(dim.get("log")), integer=kind == "int", bounds=bounds)
    if kind == "bool":
        return ParamAxis(categories=("False", "True"))
    if kind == "choice":
        return ParamAxis(categories=tuple(label(v) for v in dim.get("values") or ()))
    if kind == "fixed":
        return ParamAxis(categories=(label(dim.get("value")),))
    return None


def _from_values(values: Sequence[Any]) -> ParamAxis:
    """A guess for a parameter the stored space does not describe (a study made outside tunekit)."""
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        numeric = [float(v) for v in values]
        log = min(numeric) > 0 and max(numeric) / min(numeric) >= 100
        return ParamAxis(log=log, integer=all(isinstance(v, int) for v in values))
    return ParamAxis(categories=tuple(sorted({label(v) for v in values})))


def param_axes(attrs: dict[str, Any], trials: Iterable[Any]) -> dict[str, ParamAxis]:
    """Every parameter of ``trials`` -> its axis, from the stored ``space`` attribute where it has one.

    Categories seen in trials but missing from the space (an older space) are appended, sorted.
    """
    try:
        space = json.loads(attrs.get("space") or "{}")
    except (TypeError, ValueError):
        space = {}
    values: dict[str, list[Any]] = {}
    for t in trials:
        for name, value in t.params.items():
            values.setdefault(name, []).append(value)
    out = {}
    for name, seen in values.items():
        dim = space.get(name) if isinstance(space, dict) else None
        axis = _from_space(dim) if isinstance(dim, dict) else None
        if axis is None:
            axis = _from_values(seen)
        if axis.categories is not None:
            extra = sorted({label(v) for v in seen} - set(axis.categories))
            axis = ParamAxis(categories=axis.categories + tuple(extra))
        out[name] = axis
    return out


def trial_colors(numbers: Sequence[int]) -> dict[int, str]:
    """Trial number -> a hex colour on ``TRIAL_CMAP`` (the first trial dark, the last light)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[TRIAL_CMAP]
    lo, hi = (min(numbers), max(numbers)) if numbers else (0, 0)
    return {n: to_hex(cmap((n - lo) / (hi - lo) if hi > lo else 0.0)) for n in numbers}
