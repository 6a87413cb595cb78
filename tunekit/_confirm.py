"""Confirmation: the best configurations trained again with new seeds, the best chosen by mean.

A study's best single trial is the maximum of many noisy measurements, so it tends to be a
lucky draw (the winner's curse). ``run --confirm K --repeats R`` trains the K best distinct
configurations of the search R more times each, with new seeds, as trials marked ``confirms``
(the number of the search trial whose configuration they repeat), and the study's best is then
the confirmed configuration with the best mean over all its runs. Pure functions over Optuna's
``FrozenTrial`` (a leaf: the worker loop, the summaries, the frames and the benchmarks share them).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from optuna.trial import FrozenTrial, TrialState

from tunekit._records import CONFIRMS, FAIL_REASON, INTERRUPTED, REPEATS, STOPPED_RUN, WARM_START, retried_numbers

#: Study user attr: the confirmed best and the noise level, as JSON (what the dashboard shows).
CONFIRMED_ATTR = "confirmed_best"


def config_key(params: dict[str, Any]) -> str:
    """One configuration's identity: its parameters as canonical JSON."""
    return json.dumps(params, sort_keys=True, default=str)


def _search(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """The complete trials of the search itself (not confirmations, not warm-start copies)."""
    return [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
            and CONFIRMS not in t.user_attrs and not t.user_attrs.get(WARM_START)]


def _settled(trial: FrozenTrial, retried: set[int]) -> bool:
    """A confirmation trial that took its turn: finished (not interrupted, stopped or lost with its
    worker: those are queued again, or retried), running or queued."""
    if trial.state == TrialState.FAIL:
        return (trial.user_attrs.get(FAIL_REASON) != INTERRUPTED and not trial.user_attrs.get(STOPPED_RUN)
                and trial.number not in retried)
    return True


def chosen(trials: Sequence[FrozenTrial], *, k: int, maximize: bool) -> list[FrozenTrial]:
    """The search trials of the ``k`` best distinct configurations, best first (one trial each:
    the best run of its configuration; ties by trial number, so a resumed study chooses alike)."""
    best: dict[str, FrozenTrial] = {}
    for t in sorted(_search(trials), key=lambda t: ((-t.value if maximize else t.value), t.number)):
        best.setdefault(config_key(t.params), t)
    return list(best.values())[:k]


def confirmation_plan(trials: Sequence[FrozenTrial], *, k: int, repeats: int,
                      maximize: bool) -> list[tuple[dict[str, Any], int]]:
    """``(params, number)`` of the confirmation trials to queue now, so that each of the ``k`` best
    configurations has ``repeats`` of them (interrupted ones are queued again, nothing twice).

    Example:
        >>> from optuna.trial import create_trial
        >>> from optuna.distributions import IntDistribution
        >>> d = {"u": IntDistribution(1, 9)}
        >>> ts = [create_trial(value=v, params={"u": u}, distributions=d) for u, v in [(1, .5), (2, .9), (3, .7)]]
        >>> for i, t in enumerate(ts): t.number = i
        >>> confirmation_plan(ts, k=2, repeats=2, maximize=True)
        [({'u': 2}, 1), ({'u': 2}, 1), ({'u': 3}, 2), ({'u': 3}, 2)]
    """
    have: dict[int, int] = {}
    retried = retried_numbers(trials)
    for t in trials:
        if CONFIRMS in t.user_attrs and _settled(t, retried):
            have[int(t.user_attrs[CONFIRMS])] = have.get(int(t.user_attrs[CONFIRMS]), 0) + 1
    plan = []
    for t in chosen(trials, k=k, maximize=maximize):
        plan += [(dict(t.params), t.number)] * max(0, repeats - have.get(t.number, 0))
    return plan


@dataclass(frozen=True)
class Confirmed:
    """A configuration's runs: the search trial it was chosen by, its values, mean, sd and n."""

    trial: FrozenTrial
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.values) if self.n > 1 else 0.0


def confirmed(trials: Sequence[FrozenTrial]) -> list[Confirmed]:
    """Every configuration trained again (confirmation runs, or a noise-aware search's repeats):
    its first trial and all its complete values (the search's runs of it included)."""
    groups: dict[int, list[FrozenTrial]] = {}
    for t in trials:
        for attr in (CONFIRMS, REPEATS):
            if attr in t.user_attrs:
                groups.setdefault(int(t.user_attrs[attr]), [])
    by_number = {t.number: t for t in trials}
    out = []
    for number in sorted(groups):
        head = by_number.get(number)
        if head is None:
            continue
        key = config_key(head.params)
        runs = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
                and config_key(t.params) == key and not t.user_attrs.get(WARM_START)]
        if any(CONFIRMS in t.user_attrs or REPEATS in t.user_attrs for t in runs):
            out.append(Confirmed(trial=head, values=tuple(float(t.value) for t in runs)))
    return out


def confirmed_best(trials: Sequence[FrozenTrial], *, maximize: bool) -> Confirmed | None:
    """The confirmed configuration with the best mean, or None when nothing was confirmed."""
    runs = confirmed(trials)
    if not runs:
        return None
    return sorted(runs, key=lambda c: ((-c.mean if maximize else c.mean), c.trial.number))[0]


def noise_sd(trials: Sequence[FrozenTrial]) -> float | None:
    """The study's noise level: the pooled standard deviation of repeated configurations
    (sqrt of the sum of squared deviations over the sum of degrees of freedom), None without repeats."""
    ss, df = 0.0, 0
    for c in confirmed(trials):
        if c.n > 1:
            ss += (c.n - 1) * c.sd ** 2
            df += c.n - 1
    return math.sqrt(ss / df) if df else None
