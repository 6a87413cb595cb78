"""Optuna's CmaEsSampler (CMA-ES, needs the ``cmaes`` package), made resumable.

CMA-ES models the numeric parameters (float and int, log scale included) jointly. It has no
model of categorical parameters (``Choice``, ``Bool``), nor of conditional ones that not every
trial has: those come from tunekit's per-trial seeded random sampler, independently of the
rest. Optuna keeps the CMA-ES state in the trials' system attributes (a resumed study picks
it up); its random state is reseeded from ``(seed, trial number)`` before each trial here,
so a resumed study makes the suggestion an uninterrupted one would have made.

Batches (trials asked before any is told, a fused group): every member is drawn from the
current generation's distribution, and the generation is updated once ``popsize`` of its
trials are told (members beyond ``popsize`` are evaluated but not used by the update). The
option ``popsize=K`` makes one fused group of K one generation.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import cmaes  # noqa: F401  (the dependency: fail here, at import, when it is missing)
import optuna
from optuna.samplers import CmaEsSampler
from optuna.trial import FrozenTrial

from tunekit._seeds import derive_seed
from tunekit.strategies._private import has_private
from tunekit.strategies._random import TrialSeededRandomSampler


class CmaEsStrategySampler(CmaEsSampler):
    """Optuna's CmaEsSampler, seeded per trial; categoricals sampled independently (seeded).

    Args:
        seed: seed of every trial's draws (a random one when None).
        **kwargs: passed to ``optuna.samplers.CmaEsSampler``.

    Example:
        >>> sampler = CmaEsStrategySampler(seed=0, n_startup_trials=1)
    """

    def __init__(self, *, seed: int | None = None, **kwargs: Any) -> None:
        self._tunekit_seed = seed if seed is not None else secrets.randbits(32)
        with warnings.catch_warnings():  # with_margin / separable are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            super().__init__(seed=self._tunekit_seed, warn_independent_sampling=False,
                             independent_sampler=TrialSeededRandomSampler(seed=self._tunekit_seed), **kwargs)

    def reseed_rng(self) -> None:  # draws are seeded per trial; nothing to reseed
        pass

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if has_private(self, "_cma_rng", "resumable CMA-ES suggestions"):
            self._cma_rng.rng.seed(derive_seed(self._tunekit_seed, trial.number, 13))
        super().before_trial(study, trial)
