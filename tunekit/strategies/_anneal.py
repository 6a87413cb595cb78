"""Simulated annealing: the Metropolis chain of ``_metropolis`` with a cooling temperature."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunekit.strategies._metropolis import ChainState, MetropolisSampler, _check_range

if TYPE_CHECKING:
    from tunekit.space import Space


class AnnealSampler(MetropolisSampler):
    """Simulated annealing with geometric cooling and reheating restarts.

    The ``k``-th proposal after a chain (re)starts runs at
    ``T = initial_temperature * spread * cooling**k * reheat**restarts``, where ``spread`` is
    the interquartile range of the values of the first ``n_startup_trials`` (random) trials:
    at the start, a move that is worse by one spread is accepted with probability about
    ``exp(-1 / initial_temperature)``. A chain that has not improved for ``patience`` proposals
    restarts from the study's best trial at a temperature lowered by ``reheat``. Everything
    else (proposals, storage of the chain, resume, several workers) is ``MetropolisSampler``'s.

    Example:
        >>> from tunekit.space import Space, Int
        >>> sampler = AnnealSampler(space=Space({"n": Int(1, 9)}), seed=0, cooling=0.9)
    """

    def __init__(
        self,
        *,
        space: "Space | None" = None,
        seed: int | None = None,
        initial_temperature: float = 0.1,
        cooling: float = 0.9,
        reheat: float = 0.5,
        **options: Any,
    ) -> None:
        _check_range("initial_temperature", initial_temperature, 0.0, 1e6, low_open=True)
        _check_range("cooling", cooling, 0.0, 1.0, low_open=True)
        _check_range("reheat", reheat, 0.0, 1.0, low_open=True)
        super().__init__(space=space, seed=seed, temperature=initial_temperature, **options)
        self._cooling = float(cooling)
        self._reheat = float(reheat)

    def temperature(self, state: ChainState, scale: float) -> float:
        return self._temperature * scale * self._cooling**state.since_restart * self._reheat**state.restarts
