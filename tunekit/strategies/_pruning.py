"""Pruners by name: stop unpromising trials early from their per-epoch validation curve."""

from __future__ import annotations

import optuna

from tunekit._errors import ConfigError

PRUNERS = ("none", "median", "halving", "hyperband")


def make_pruner(name: str | None, *, max_epochs: int | None = None) -> optuna.pruners.BasePruner:
    """The Optuna pruner called ``name`` (none, median, halving, hyperband).

    Example:
        >>> make_pruner("hyperband", max_epochs=20)  # doctest: +ELLIPSIS
        <optuna.pruners._hyperband.HyperbandPruner object at ...>
    """
    if name in (None, "none"):
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs or "auto", reduction_factor=3)
    raise ConfigError(f"unknown pruner {name!r}; valid: {', '.join(PRUNERS)}")
