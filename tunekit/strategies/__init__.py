"""Search strategies: each one an Optuna sampler, looked up by name in an explicit registry."""

from __future__ import annotations

from tunekit.strategies._registry import (
    STRATEGIES,
    Strategy,
    check_options,
    get_strategy,
    make_sampler,
    register,
)

__all__ = ["STRATEGIES", "Strategy", "check_options", "get_strategy", "make_sampler", "register"]
