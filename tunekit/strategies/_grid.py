"""Grid search over the space's own enumeration (conditional parameters included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from tunekit._records import FAIL_REASON, GRID_POINT, INTERRUPTED
from tunekit.strategies._finite import FiniteSampler
from tunekit.strategies._random import IndependentSampler, TrialSeededRandomSampler

if TYPE_CHECKING:
    from tunekit.space import Space

GRID_ID_KEY = GRID_POINT  # the name this module exported before


class GridStrategySampler(IndependentSampler, FiniteSampler):
    """Evaluate every point of ``space.grid(resolution)`` once, in a seeded order.

    The point a trial evaluates is stored in the trial's system attributes, so a resumed
    study continues with the points not yet taken. A point is taken by any trial except one
    interrupted by Ctrl-C (it goes back to the pool); a trial lost with a dead worker is
    retried as a WAITING copy that keeps its point.

    With several workers the claim is atomic because tunekit's workers claim trials under
    the study lock (``tunekit.storage._storage.study_lock``): reading the taken points (here, in
    ``before_trial``, called by ``study.ask()``) and writing the new claim happen while no
    other worker can claim. In a plain ``study.optimize`` loop the study is stopped when
    every point is taken.

    Example:
        >>> from tunekit.space import Space, Choice
        >>> sampler = GridStrategySampler(space=Space({"act": Choice(["relu", "tanh"])}), seed=0)
    """

    def __init__(self, *, space: "Space", seed: int | None = None, resolution: int = 5) -> None:
        self._points = space.grid(resolution)
        self._names = frozenset(space.names)
        self._outside = TrialSeededRandomSampler(seed=seed)
        order = np.arange(len(self._points))
        if seed is not None:
            order = np.random.default_rng(seed).permutation(order)
        self._order = [int(i) for i in order]

    @property
    def size(self) -> int:
        """How many grid points there are."""
        return len(self._points)

    def taken(self, study: optuna.Study) -> set[int]:
        """Grid ids already given to a trial (in any state)."""
        ids = set()
        for t in study.get_trials(deepcopy=False):
            gid = t.system_attrs.get(GRID_ID_KEY)
            if gid is not None and not _released(t):
                ids.add(int(gid))
        return ids

    def remaining(self, study: optuna.Study) -> int:
        """How many grid points no trial has taken yet."""
        return self.size - len(self.taken(study))

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if GRID_ID_KEY in trial.system_attrs:  # enqueued or retried trial
            return
        taken = self.taken(study)
        free = [i for i in self._order if i not in taken]
        if not free:
            _stop(study)
            return
        study._storage.set_trial_system_attr(trial._trial_id, GRID_ID_KEY, free[0])

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        gid = trial.system_attrs.get(GRID_ID_KEY)
        if gid is None:
            raise RuntimeError("grid exhausted: no grid point left for this trial")
        point = self._points[int(gid)]
        if param_name not in self._names:  # met in a trial, not declared up front (a build(hp) study): at random
            return self._outside.sample_independent(study, trial, param_name, param_distribution)
        if param_name not in point:
            raise RuntimeError(f"grid point {gid} has no value for {param_name!r}")
        return point[param_name]

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: Any, values: Any) -> None:
        if self.remaining(study) <= 0:
            _stop(study)


def _released(trial: FrozenTrial) -> bool:
    """An interrupted trial gives its point back (it did not evaluate it)."""
    return trial.state == TrialState.FAIL and trial.user_attrs.get(FAIL_REASON) == INTERRUPTED


def _stop(study: optuna.Study) -> None:
    """``study.stop()`` inside ``optimize``; outside it (ask/tell workers) the caller checks ``remaining``."""
    try:
        study.stop()
    except RuntimeError:
        pass
