"""Noise-aware search (the strategy option ``intensify=R``): repeats spent where they can change
the answer, and the strategy told each configuration's mean.

A trial's value is one noisy draw, so a search that trains every configuration once ends on a
lucky draw (the winner's curse; ``run --confirm`` corrects it after the search). Intensification,
as SMAC's, corrects it during the search, inside the same ``--trials`` budget:

* the **incumbent** is the configuration with the most finished runs, the best mean among those;
* a **challenger** (a configuration with fewer runs whose mean is better than the incumbent's)
  is trained again, with a new seed, until it has as many runs as the incumbent: it replaces
  the incumbent only then, if its mean is still better;
* the incumbent itself is trained again once every ``period`` trials, up to ``R`` runs;
* otherwise the strategy proposes a new configuration, and it sees every configuration once,
  with the mean of its runs as its value (``mean_view``).

A repeat is a trial like any other (it counts toward ``--trials``; its training seed follows from
its number), with the fixed parameters of the configuration it repeats and the user attribute
``repeats`` (that configuration's first trial): it is never pruned, and the study's best is chosen
as after ``--confirm``, by the mean of the repeated configurations (``tunekit._confirm``). All of
it is derived from the trials in storage: parallel workers and a resumed study agree.
"""

from __future__ import annotations

import copy
import statistics
from typing import Any, Sequence

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from tunekit._confirm import config_key
from tunekit._records import CONFIRMS, REPEATS, WARM_START

#: Trials between two extra runs of the same incumbent (its n-th run waits for ``n * PERIOD`` trials).
PERIOD = 10
_PENDING = (TrialState.RUNNING, TrialState.WAITING)


def _own(trial: FrozenTrial) -> bool:
    """A trial of the search itself (not a confirmation after it, not a warm-start copy)."""
    return CONFIRMS not in trial.user_attrs and not trial.user_attrs.get(WARM_START)


def next_repeat(trials: Sequence[FrozenTrial], *, runs: int, maximize: bool,
                period: int = PERIOD) -> tuple[dict[str, Any], int] | None:
    """``(params, number)`` of the configuration to train again now (``number``: its first trial),
    or None when the strategy should propose a new one.

    Example:
        >>> from optuna.distributions import IntDistribution
        >>> from optuna.trial import create_trial
        >>> d = {"u": IntDistribution(1, 9)}
        >>> ts = [create_trial(value=v, params={"u": u}, distributions=d) for u, v in [(1, .5), (1, .6), (2, .9)]]
        >>> for i, t in enumerate(ts): t.number = i
        >>> next_repeat(ts, runs=3, maximize=True)  # u=2's one run beats u=1's mean over two: run it again
        ({'u': 2}, 2)
    """
    done: dict[str, list[float]] = {}
    pending: dict[str, int] = {}
    head: dict[str, FrozenTrial] = {}
    for t in sorted(trials, key=lambda t: t.number):
        if not _own(t) or not t.params:
            continue
        key = config_key(t.params)
        if t.state == TrialState.COMPLETE and t.value is not None:
            done.setdefault(key, []).append(float(t.value))
            head.setdefault(key, t)
        elif t.state in _PENDING:
            pending[key] = pending.get(key, 0) + 1
    if not done:
        return None
    sign = -1.0 if maximize else 1.0
    mean = {k: statistics.fmean(v) for k, v in done.items()}
    incumbent = min(done, key=lambda k: (-len(done[k]), sign * mean[k], head[k].number))
    n_inc = len(done[incumbent])
    challengers = [k for k in done if k != incumbent and len(done[k]) + pending.get(k, 0) < n_inc
                   and sign * mean[k] < sign * mean[incumbent]]
    if challengers:
        k = min(challengers, key=lambda k: (sign * mean[k], head[k].number))
        return dict(head[k].params), head[k].number
    planned = n_inc + pending.get(incumbent, 0)
    counted = sum(1 for t in trials if _own(t) and t.state != TrialState.WAITING)
    if planned < runs and counted >= planned * period:
        return dict(head[incumbent].params), head[incumbent].number
    return None


def mean_view(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """``trials`` as the strategy should see them: each configuration once, its first complete
    trial carrying the mean of its complete runs; other runs and pending repeats left out.

    Example:
        >>> from optuna.distributions import IntDistribution
        >>> from optuna.trial import create_trial
        >>> d = {"u": IntDistribution(0, 3)}
        >>> ts = [create_trial(value=v, params={"u": 1}, distributions=d) for v in (.5, .7)]
        >>> [t.value for t in mean_view(ts)]
        [0.6]
    """
    values: dict[str, list[float]] = {}
    for t in trials:
        if _own(t) and t.state == TrialState.COMPLETE and t.value is not None and t.params:
            values.setdefault(config_key(t.params), []).append(float(t.value))
    out, seen = [], set()
    for t in trials:
        key = config_key(t.params) if t.params else None
        if t.state == TrialState.COMPLETE and key in values and _own(t):
            if key in seen:
                continue
            seen.add(key)
            if len(values[key]) > 1:
                t = copy.copy(t)
                t.value = statistics.fmean(values[key])
        elif REPEATS in t.user_attrs:
            continue  # a repeat still running, pruned or failed: not a point of its own
        out.append(t)
    return out


class _MeanStudy:
    """The study as the wrapped strategy sees it: its trials through ``mean_view``."""

    def __init__(self, study: optuna.Study) -> None:
        self._study = study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[FrozenTrial]:
        return mean_view(self._study.get_trials(deepcopy=False, states=states))

    def _get_trials(self, deepcopy: bool = True, states: Any = None, use_cache: bool = False) -> list[FrozenTrial]:
        return mean_view(self._study._get_trials(deepcopy=False, states=states, use_cache=use_cache))

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


def _repeat_of(trial: FrozenTrial) -> bool:
    return REPEATS in trial.user_attrs


class IntensifiedSampler(BaseSampler):
    """A strategy made noise-aware: ``base`` proposes new configurations from the means, and
    repeats go to the incumbent and to the challengers that could replace it (module docstring).

    Example:
        >>> sampler = IntensifiedSampler(base=optuna.samplers.RandomSampler(seed=0), runs=3)
    """

    def __init__(self, *, base: BaseSampler, runs: int = 3, period: int = PERIOD) -> None:
        self.base = base
        self.runs = runs
        self.period = period

    def reseed_rng(self) -> None:
        self.base.reseed_rng()

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if "fixed_params" not in trial.system_attrs:  # not a queued trial (defaults, retry, confirmation)
            maximize = study.direction == StudyDirection.MAXIMIZE
            repeat = next_repeat(study.get_trials(deepcopy=False), runs=self.runs, maximize=maximize,
                                 period=self.period)
            if repeat is not None:
                params, number = repeat
                study._storage.set_trial_system_attr(trial._trial_id, "fixed_params", params)
                study._storage.set_trial_user_attr(trial._trial_id, REPEATS, number)
                trial.system_attrs["fixed_params"] = params  # the Trial reads its fixed params from this copy
                trial.user_attrs[REPEATS] = number
                return
        self.base.before_trial(_MeanStudy(study), trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if _repeat_of(trial):
            return {}
        return self.base.infer_relative_search_space(_MeanStudy(study), trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if _repeat_of(trial):
            return {}
        return self.base.sample_relative(_MeanStudy(study), trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.base.sample_independent(_MeanStudy(study), trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self.base.after_trial(_MeanStudy(study), trial, state, values)
