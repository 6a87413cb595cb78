"""How a Metropolis chain reads the study's trials: outcomes (finished, a score signed so that
lower is better), the running best, and the spread of the startup values (the temperature's unit)."""

from __future__ import annotations

import math

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def outcomes(trials: list[FrozenTrial], direction: StudyDirection,
             ended: dict[int, tuple[TrialState, list[float] | None]]) -> dict[int, tuple[bool, float | None]]:
    """Per trial number: (finished, score), the score signed so that lower is better (None for a
    trial without a finite value). ``ended`` overrides the stored state and values of trials."""
    sign = 1.0 if direction == StudyDirection.MINIMIZE else -1.0
    out: dict[int, tuple[bool, float | None]] = {}
    for t in trials:
        st, vals = ended.get(t.number, (t.state, t.values))
        if st not in _FINISHED:
            out[t.number] = (False, None)
        elif st != TrialState.COMPLETE or not vals or not math.isfinite(vals[0]):
            out[t.number] = (True, None)
        else:
            out[t.number] = (True, sign * vals[0])
    return out


def running_best(trials: list[FrozenTrial], scored: dict[int, float | None]) -> dict[int, FrozenTrial]:
    """For each trial number n, the study's best finished trial numbered <= n."""
    out: dict[int, FrozenTrial] = {}
    best: FrozenTrial | None = None
    for t in sorted(trials, key=lambda t: t.number):
        s = scored[t.number]
        if s is not None and (best is None or s < scored[best.number]):
            best = t
        if best is not None:
            out[t.number] = best
    return out


def spread(trials: list[FrozenTrial], n_startup: int) -> float:
    """Interquartile range of the startup trials' values (the temperature's unit)."""
    values = np.array(
        [t.value for t in trials if t.number < n_startup and t.state == TrialState.COMPLETE and math.isfinite(t.value)]
    )
    if values.size >= 2:
        q25, q75 = np.percentile(values, [25, 75])
        if q75 > q25:
            return float(q75 - q25)
        if values.std() > 0:
            return float(values.std())
    if values.size:
        return max(abs(float(values.mean())) * 0.1, 1e-12)
    return 1.0
