"""Optuna's TPESampler, made resumable: its random state is reseeded per trial.

Optuna's TPE keeps one random state in memory for the life of the sampler, so a resumed
study (a new process) draws differently from an uninterrupted run with the same seed. Here
the state is reseeded from ``(seed, trial number)`` before each trial, and the startup /
fallback random draws come from tunekit's per-trial seeded random sampler, so trial N's
suggestion depends only on the seed and the trials already in storage.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import optuna
from optuna.samplers import TPESampler
from optuna.trial import FrozenTrial

from tunekit._seeds import derive_seed
from tunekit.strategies._private import has_private
from tunekit.strategies._random import TrialSeededRandomSampler


class TPEStrategySampler(TPESampler):
    """Optuna's TPESampler, seeded per trial.

    Args:
        seed: seed of every trial's draws (a random one when None).
        **kwargs: passed to ``optuna.samplers.TPESampler``.

    Example:
        >>> sampler = TPEStrategySampler(seed=0, n_startup_trials=10, multivariate=True)
    """

    def __init__(self, *, seed: int | None = None, **kwargs: Any) -> None:
        self._tunekit_seed = seed if seed is not None else secrets.randbits(32)
        with warnings.catch_warnings():  # `group` is "experimental" in Optuna: said once per sampler, not ours to say
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            super().__init__(seed=self._tunekit_seed, **kwargs)
        self._random_sampler = TrialSeededRandomSampler(seed=self._tunekit_seed)

    def reseed_rng(self) -> None:  # draws are seeded per trial; nothing to reseed
        pass

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if has_private(self, "_rng", "resumable TPE suggestions"):
            self._rng.rng.seed(derive_seed(self._tunekit_seed, trial.number, 7))
        super().before_trial(study, trial)
