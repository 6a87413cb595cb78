"""The one unit-box encoding of Optuna distributions (used by the skopt and Metropolis strategies).

Numeric distributions map to ``[0, 1]``:

- ``FloatDistribution``: linear, or linear in ``log(value)`` when ``log=True``. With a
  ``step``, the ``n`` lattice points ``low + k * step`` each own a cell of width ``1 / n``
  and encode to the cell centre ``(k + 0.5) / n``; decoding rounds ``u`` to its cell.
- ``IntDistribution``: the same cells over ``low, low + step, ..., high``; with ``log=True``
  the cells are ``[log(v - 0.5), log(v + 0.5)]`` scaled to ``[0, 1]`` (as Optuna does), so
  every integer keeps the share of the box a log-uniform draw gives it. Decoding gives an
  ``int`` in bounds.

So a uniform ``u`` decodes to the distribution's own uniform (or log-uniform) law, a small
step in ``u`` is a small step in the value, and ``decode(d, encode(d, v)) == v`` for every
``v`` the distribution contains (lattice floats decode to the clean decimal ``low + k * step``,
so ``0.30000000000000004`` comes back as ``0.3``). ``u`` outside ``[0, 1]`` is clipped.

``CategoricalDistribution`` uses **index encoding**: ``encode`` gives the index of the value
in ``choices`` as a float, and ``decode`` takes that index (an ``int``, or an integral float)
and returns ``choices[index]``. A non-integral or out-of-range index is a ``ValueError``: a
categorical has no order, so no point of ``[0, 1]`` stands for a choice.

Example:
    >>> from optuna.distributions import FloatDistribution, IntDistribution
    >>> d = FloatDistribution(1e-4, 1e-0, log=True)
    >>> round(encode(d, 1e-2), 6), round(decode(d, 0.5), 6)
    (0.5, 0.01)
    >>> decode(IntDistribution(0, 9), 0.0), decode(IntDistribution(0, 9), 0.999)
    (0, 9)
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = ["decode", "encode", "is_numeric", "n_levels"]


def is_numeric(dist: BaseDistribution) -> bool:
    """True for Float and Int distributions (encoded to ``[0, 1]``), False for categoricals."""
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        return True
    if isinstance(dist, CategoricalDistribution):
        return False
    raise TypeError(f"unsupported distribution {dist!r}")


def n_levels(dist: BaseDistribution) -> int | None:
    """How many values a discrete distribution has (None for a continuous Float)."""
    if isinstance(dist, CategoricalDistribution):
        return len(dist.choices)
    if isinstance(dist, IntDistribution):
        return (dist.high - dist.low) // dist.step + 1
    if isinstance(dist, FloatDistribution):
        if dist.step is None:
            return 1 if dist.low == dist.high else None
        return int(round((dist.high - dist.low) / dist.step)) + 1
    raise TypeError(f"unsupported distribution {dist!r}")


def _log_int_bounds(dist: IntDistribution) -> tuple[float, float]:
    return math.log(dist.low - 0.5), math.log(dist.high + 0.5)


def _encode_one(dist: BaseDistribution, value: Any) -> float:
    if isinstance(dist, CategoricalDistribution):
        return float(_index(dist, value))
    n = n_levels(dist)
    if n == 1:
        return 0.5
    if isinstance(dist, IntDistribution) and dist.log:
        lo, hi = _log_int_bounds(dist)
        return _clip01((math.log(value) - lo) / (hi - lo))
    if n is not None:  # a lattice: Int or Float with a step
        k = round((float(value) - dist.low) / dist.step)
        return (min(max(k, 0), n - 1) + 0.5) / n
    assert isinstance(dist, FloatDistribution)
    if dist.log:
        lo, hi = math.log(dist.low), math.log(dist.high)
        return _clip01((math.log(value) - lo) / (hi - lo))
    return _clip01((float(value) - dist.low) / (dist.high - dist.low))


def _decode_one(dist: BaseDistribution, u: Any) -> Any:
    if isinstance(dist, CategoricalDistribution):
        index = float(u)
        if not index.is_integer() or not 0 <= index < len(dist.choices):
            raise ValueError(
                f"a categorical decodes an index in 0..{len(dist.choices) - 1}, got {u!r} "
                f"(choices {list(dist.choices)!r})"
            )
        return dist.choices[int(index)]
    u = _clip01(float(u))
    n = n_levels(dist)
    if n == 1:
        return int(dist.low) if isinstance(dist, IntDistribution) else float(dist.low)
    if isinstance(dist, IntDistribution) and dist.log:
        lo, hi = _log_int_bounds(dist)
        return int(min(max(round(math.exp(lo + u * (hi - lo))), dist.low), dist.high))
    if n is not None:
        k = min(int(u * n), n - 1)
        if isinstance(dist, IntDistribution):
            return int(dist.low + k * dist.step)
        # decimal arithmetic: 0.1 + 2 * 0.1 decodes to 0.3, not 0.30000000000000004
        value = float(Decimal(repr(dist.low)) + k * Decimal(repr(dist.step)))
        return min(max(value, dist.low), dist.high)
    assert isinstance(dist, FloatDistribution)
    if u in (0.0, 1.0):  # the bounds exactly, without a round trip through exp/log
        return dist.high if u else dist.low
    if dist.log:
        lo, hi = math.log(dist.low), math.log(dist.high)
        return float(min(max(math.exp(lo + u * (hi - lo)), dist.low), dist.high))
    return float(min(max(dist.low + u * (dist.high - dist.low), dist.low), dist.high))


def _index(dist: CategoricalDistribution, value: Any) -> int:
    # Optuna's own rule (1 == 1.0 == True are one choice), with a clear error otherwise.
    try:
        return int(dist.to_internal_repr(value))
    except ValueError:
        raise ValueError(f"{value!r} is not one of the choices {list(dist.choices)!r}") from None


def _clip01(u: float) -> float:
    if math.isnan(u):
        raise ValueError("cannot decode NaN")
    return min(max(u, 0.0), 1.0)


def encode(dist: BaseDistribution, value: Any) -> float | np.ndarray:
    """Map a value of ``dist`` to the unit box (a categorical to its index, as a float).

    An ``np.ndarray`` of values gives an array of the same shape.
    """
    if isinstance(value, np.ndarray):
        return np.array([_encode_one(dist, v) for v in value.ravel()], dtype=float).reshape(value.shape)
    return _encode_one(dist, value)


def decode(dist: BaseDistribution, u: Any) -> Any:
    """Map ``u`` back to a value of ``dist`` with its Python type (float, int or the choice).

    For a numeric ``dist``, ``u`` is a point of ``[0, 1]`` (clipped); for a categorical it is
    the index of the choice. An ``np.ndarray`` gives a list of values in flat order.
    """
    if isinstance(u, np.ndarray):
        return [_decode_one(dist, x) for x in u.ravel()]
    return _decode_one(dist, u)
