"""Grid enumeration of a space: the values of each dimension, the points, and their count.

Per dimension (``grid_values``): Choice/Bool all values, Fixed its value, ``grid=`` the
explicit values; Int every value by step when there are at most ``resolution`` of them,
else ``resolution`` evenly spaced ints (log-spaced when ``log``), deduplicated; Float with
a step likewise on its step lattice; a continuous Float ``resolution`` points including
both ends (log-spaced when ``log``).

Points (``enumerate_grid``) are full parameter dicts as ``Space.sample`` would produce
them: a dimension whose condition does not hold is absent, and only multiplies the
branches where it is active. The first declared dimension varies slowest.
``count_grid`` returns the same number without building the points.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tunekit._errors import ConfigError
from tunekit.space._choice import Choice, Fixed
from tunekit.space._dimension import Dimension
from tunekit.space._numeric import Float, Int

Items = Sequence[tuple[str, Dimension]]


def check_resolution(resolution: Any) -> int:
    """Return ``resolution`` if it is an int >= 2, else raise ConfigError."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ConfigError(
            f"grid resolution must be an int >= 2 (both ends of a range), got {resolution!r}"
        )
    return resolution


def _dedupe(values: list[Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return tuple(out)


def _clean(x: float, low: float, high: float) -> float:
    """Round float noise away (12 significant digits) and stay inside ``[low, high]``."""
    return min(max(float(f"{x:.12g}"), low), high)


def _spaced(low: float, high: float, n: int, log: bool) -> list[float]:
    """``n >= 2`` points from ``low`` to ``high`` inclusive, linear or geometric."""
    if log:
        a, b = math.log(low), math.log(high)
        return [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)]
    return [low + (high - low) * i / (n - 1) for i in range(n)]


def _lattice_indices(count: int, resolution: int) -> list[int]:
    """All of ``range(count)`` if it fits in ``resolution``, else evenly spaced indices."""
    if count <= resolution:
        return list(range(count))
    return [math.floor(i * (count - 1) / (resolution - 1) + 0.5) for i in range(resolution)]


def grid_values(dim: Dimension, resolution: int = 5) -> tuple[Any, ...]:
    """The values a grid takes for ``dim``, in a deterministic order.

    Example:
        >>> grid_values(Float(1e-4, 1e-1, log=True), 4)
        (0.0001, 0.001, 0.01, 0.1)
    """
    if isinstance(dim, Choice):
        return tuple(dim.values)
    if isinstance(dim, Fixed):
        return (dim.value,)
    if isinstance(dim, (Int, Float)) and dim.grid is not None:
        return tuple(dim.grid)
    if isinstance(dim, Int):
        count = (dim.high - dim.low) // dim.step + 1
        if dim.log and count > resolution:
            points = _spaced(dim.low, dim.high, resolution, log=True)
            return _dedupe([min(max(math.floor(p + 0.5), dim.low), dim.high) for p in points])
        return tuple(dim.low + k * dim.step for k in _lattice_indices(count, resolution))
    if isinstance(dim, Float):
        if dim.low == dim.high:
            return (dim.low,)
        if dim.step is not None:
            low, step = Decimal(repr(dim.low)), Decimal(repr(dim.step))
            count = round((dim.high - dim.low) / dim.step) + 1
            ks = _lattice_indices(count, resolution)
            return _dedupe([_clean(float(low + k * step), dim.low, dim.high) for k in ks])
        points = _spaced(dim.low, dim.high, resolution, dim.log)
        points[0], points[-1] = dim.low, dim.high
        return _dedupe([_clean(p, dim.low, dim.high) for p in points])
    raise TypeError(f"no grid rule for {type(dim).__name__}")


def enumerate_grid(items: Items, resolution: int = 5) -> list[dict[str, Any]]:
    """Every grid point of the dimensions ``items`` (declared order; first varies slowest)."""
    check_resolution(resolution)
    points: list[dict[str, Any]] = [{}]
    for name, dim in items:
        values = grid_values(dim, resolution)
        grown: list[dict[str, Any]] = []
        for p in points:
            if dim.when is not None and not dim.when.holds(p):
                grown.append(p)
            else:
                grown.extend({**p, name: v} for v in values)
        points = grown
    return points


def count_grid(items: Items, resolution: int = 5) -> int:
    """``len(enumerate_grid(items, resolution))`` without building the points.

    A counting pass keeps only the values of parents that a later condition still reads,
    with the number of partial points sharing them; every other dimension just multiplies.
    """
    check_resolution(resolution)
    last_read: dict[str, int] = {}
    for i, (_, dim) in enumerate(items):
        if dim.when is not None:
            last_read[dim.when.param] = i
    states: dict[tuple[tuple[str, Any], ...], int] = {(): 1}
    for i, (name, dim) in enumerate(items):
        values = grid_values(dim, resolution)
        read_later = last_read.get(name, -1) > i
        grown: dict[tuple[tuple[str, Any], ...], int] = defaultdict(int)
        for state, n in states.items():
            if dim.when is not None and not dim.when.holds(dict(state)):
                grown[state] += n
            elif read_later:
                for v in values:
                    grown[state + ((name, v),)] += n
            else:
                grown[state] += n * len(values)
        done = {p for p, j in last_read.items() if j == i}
        if done:  # parents no later condition reads: merge the states they split
            merged: dict[tuple[tuple[str, Any], ...], int] = defaultdict(int)
            for state, n in grown.items():
                merged[tuple(kv for kv in state if kv[0] not in done)] += n
            grown = merged
        states = grown
    return sum(states.values())
