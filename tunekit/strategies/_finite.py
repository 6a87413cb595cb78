"""The capability of a strategy that runs out of points (grid): the worker loop asks it."""

from __future__ import annotations

import abc

import optuna
from optuna.samplers import BaseSampler


class FiniteSampler(BaseSampler):
    """A sampler with a finite set of points: it says how many no trial has taken yet."""

    @abc.abstractmethod
    def remaining(self, study: optuna.Study) -> int:
        """How many points no trial has taken yet (0: the strategy is exhausted)."""


def points_left(sampler: BaseSampler, study: optuna.Study) -> int | None:
    """Points ``sampler`` has left in ``study``; None for a strategy that never runs out.

    Example:
        >>> points_left(optuna.samplers.RandomSampler(), optuna.create_study()) is None
        True
    """
    return sampler.remaining(study) if isinstance(sampler, FiniteSampler) else None
