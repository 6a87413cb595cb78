"""Search strategies and pruners: each strategy an Optuna sampler, looked up by name in an
explicit registry; pruners by name. Used by the execution and study layers."""

from __future__ import annotations

from tunekit.strategies._finite import FiniteSampler, points_left
from tunekit.strategies._pruning import PRUNERS, make_pruner
from tunekit.strategies._registry import (
    STRATEGIES,
    Strategy,
    check_options,
    get_strategy,
    make_sampler,
    register,
)

__all__ = [
    "PRUNERS", "STRATEGIES", "FiniteSampler", "Strategy", "check_options", "get_strategy", "make_pruner",
    "make_sampler", "points_left", "register",
]
