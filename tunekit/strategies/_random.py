"""Random search whose draws depend only on (seed, trial number, parameter name)."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial

from tunekit._seeds import derive_seed


class IndependentSampler(BaseSampler):
    """A sampler that draws every parameter on its own (no relative search space)."""

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}


class TrialSeededRandomSampler(IndependentSampler):
    """Uniform independent sampling, deterministic per trial.

    Because each draw is seeded by ``(seed, trial.number, parameter name)``, a resumed study
    or several workers sharing one study get exactly the suggestions an uninterrupted single
    process would have made, with no state outside the storage.

    Example:
        >>> sampler = TrialSeededRandomSampler(seed=0)
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self._seed = seed
        self._fallback = RandomSampler(seed=seed)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        if self._seed is None:
            return self._fallback.sample_independent(study, trial, param_name, param_distribution)
        seed = derive_seed(self._seed, trial.number, param_name)
        return RandomSampler(seed=seed).sample_independent(study, trial, param_name, param_distribution)
