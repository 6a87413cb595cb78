"""The explicit registry from strategy name to sampler factory.

Every strategy is an Optuna ``BaseSampler``; its factory takes keyword arguments only:
``factory(*, space, seed, **options)``. Options a strategy does not accept are a
configuration error, not silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from tunekit._errors import ConfigError

if TYPE_CHECKING:
    import optuna

    from tunekit.space import Space


@dataclass(frozen=True)
class Strategy:
    """One entry of the registry.

    ``options`` maps each accepted option name to a one-line description.
    ``extra`` names the optional dependency group the strategy needs, if any.
    """

    name: str
    factory: Callable[..., "optuna.samplers.BaseSampler"]
    description: str
    options: Mapping[str, str]
    extra: str | None = None


def _grid(*, space: "Space", seed: int | None, resolution: int = 5) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._grid import GridStrategySampler

    return GridStrategySampler(space=space, seed=seed, resolution=resolution)


def _random(*, space: "Space", seed: int | None) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._random import TrialSeededRandomSampler

    return TrialSeededRandomSampler(seed=seed)


def _tpe(
    *,
    space: "Space",
    seed: int | None,
    n_startup_trials: int = 10,
    multivariate: bool = True,
    constant_liar: bool = True,
) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._tpe import TPEStrategySampler

    return TPEStrategySampler(
        seed=seed,
        n_startup_trials=n_startup_trials,
        multivariate=multivariate,
        group=multivariate,  # group decomposition handles conditional parameters
        constant_liar=constant_liar,
    )


def _skopt(
    *,
    space: "Space",
    seed: int | None,
    base_estimator: str = "GP",
    acq_func: str = "EI",
    n_initial_points: int = 10,
    window: int = 150,
) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._skopt import SkoptSampler

    return SkoptSampler(
        space=space,
        seed=seed,
        base_estimator=base_estimator,
        acq_func=acq_func,
        n_initial_points=n_initial_points,
        window=window,
    )


def _gp(
    *, space: "Space", seed: int | None, n_startup_trials: int = 10, deterministic_objective: bool = False
) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._gp import GPStrategySampler  # ImportError without torch: extra "gp"

    return GPStrategySampler(
        seed=seed, n_startup_trials=n_startup_trials, deterministic_objective=deterministic_objective
    )


def _metropolis(*, space: "Space", seed: int | None, **options: Any) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._metropolis import MetropolisSampler

    return MetropolisSampler(space=space, seed=seed, **options)


def _anneal(*, space: "Space", seed: int | None, **options: Any) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._anneal import AnnealSampler

    return AnnealSampler(space=space, seed=seed, **options)


_CHAIN_OPTIONS = {
    "n_startup_trials": "random trials before the chains start (default 10)",
    "step": "initial Gaussian step in the unit box, adapted toward target_accept (default 0.4)",
    "target_accept": "acceptance rate the step size adapts toward (default 0.3)",
    "p_categorical": "probability of resampling each categorical in a proposal (default 0.2)",
    "patience": "proposals without improvement before a chain restarts from the best trial (default 30)",
}

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            name="grid",
            factory=_grid,
            description="every grid point exactly once (continuous dimensions at a resolution); stops when exhausted",
            options={"resolution": "points per continuous dimension (default 5)"},
        ),
        Strategy(
            name="random",
            factory=_random,
            description="independent uniform sampling, seeded per trial (resumable, parallel-safe)",
            options={},
        ),
        Strategy(
            name="tpe",
            factory=_tpe,
            description="Optuna's Tree-structured Parzen Estimator (multivariate, grouped for conditional spaces)",
            options={
                "n_startup_trials": "random trials before the model is used (default 10)",
                "multivariate": "model parameters jointly (default true)",
                "constant_liar": "avoid duplicate suggestions across parallel workers (default true)",
            },
        ),
        Strategy(
            name="skopt",
            factory=_skopt,
            description="scikit-optimize Bayesian optimization (ask/tell), refit from the study's trials on a window",
            options={
                "base_estimator": "surrogate model: GP, RF or ET (default GP)",
                "acq_func": "acquisition function: EI, PI or LCB (default EI)",
                "n_initial_points": "random trials before the model is used (default 10)",
                "window": "most trials the model is fitted on: the best half and the most recent (default 150)",
            },
        ),
        Strategy(
            name="gp",
            factory=_gp,
            description="Optuna's Gaussian-process sampler (needs PyTorch), seeded per trial",
            options={
                "n_startup_trials": "random trials before the model is used (default 10)",
                "deterministic_objective": "model the objective as noise-free (default false)",
            },
            extra="gp",
        ),
        Strategy(
            name="metropolis",
            factory=_metropolis,
            description="Metropolis-Hastings chains at a fixed temperature, one chain per worker, resumable",
            options={
                "temperature": "temperature as a fraction of the startup trials' value spread (default 0.01)",
                **_CHAIN_OPTIONS,
            },
        ),
        Strategy(
            name="anneal",
            factory=_anneal,
            description="simulated annealing: Metropolis chains whose temperature cools from the startup spread",
            options={
                "initial_temperature": "starting temperature as a fraction of the startup spread (default 0.1)",
                "cooling": "temperature factor per proposal (default 0.9)",
                "reheat": "temperature factor applied at each restart (default 0.5)",
                **_CHAIN_OPTIONS,
            },
        ),
    )
}


def register(strategy: Strategy) -> None:
    """Add a strategy (used by plug-ins; built-ins are listed above)."""
    if strategy.name in STRATEGIES:
        raise ConfigError(f"strategy {strategy.name!r} is already registered")
    STRATEGIES[strategy.name] = strategy


def get_strategy(name: str) -> Strategy:
    """The registry entry for ``name``, or a ConfigError listing the valid names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        valid = ", ".join(STRATEGIES)
        raise ConfigError(f"unknown strategy {name!r}; valid: {valid}") from None


def check_options(name: str, options: Mapping[str, Any] | None) -> None:
    """ConfigError when an option does not apply to the strategy ``name``."""
    strategy = get_strategy(name)
    for key in options or {}:
        if key not in strategy.options:
            accepted = ", ".join(strategy.options) or "none"
            raise ConfigError(
                f"option {key!r} does not apply to strategy {name!r}; its options: {accepted}"
            )


def make_sampler(
    name: str,
    *,
    space: "Space",
    seed: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> "optuna.samplers.BaseSampler":
    """Build the sampler of strategy ``name``.

    Example:
        >>> from tunekit.space import Space, Float
        >>> sampler = make_sampler("tpe", space=Space({"lr": Float(1e-4, 1e-1, log=True)}), seed=0)
    """
    strategy = get_strategy(name)
    check_options(name, options)
    try:
        return strategy.factory(space=space, seed=seed, **dict(options or {}))
    except ImportError as exc:
        if strategy.extra:
            raise ConfigError(
                f"strategy {name!r} needs the optional dependency group {strategy.extra!r} "
                f"({exc.name or exc}); install it with: pip install 'tunekit[{strategy.extra}]'"
            ) from exc
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"strategy {name!r}: bad option value: {exc}") from exc
