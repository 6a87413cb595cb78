"""The explicit registry from strategy name to sampler factory.

Every strategy is an Optuna ``BaseSampler``; its factory takes keyword arguments only:
``factory(*, space, seed, **options)``. Options a strategy does not accept are a
configuration error, not silently ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from tunekit._errors import ConfigError
from tunekit.strategies._options import Option

if TYPE_CHECKING:
    import optuna

    from tunekit.space import Space


@dataclass(frozen=True)
class Strategy:
    """One entry of the registry.

    ``options`` maps each accepted option name to its declared ``Option`` (type, default,
    range or choices, one-line help); a plain help text declares an untyped option.
    ``extra`` names the optional dependency group the strategy needs, if any.
    ``startup_option`` names the option that counts the random trials drawn before the
    strategy's model is used (None: the strategy has no start-up phase).
    ``shares_seed``: every worker gets the study's seed, because the points depend on the
    trial, not on the worker (otherwise each worker gets its own seed, so workers do not
    all propose the same first points). ``tries_defaults``: a new study's first trial tries
    the space's declared ``default=`` values (False: the strategy decides every point).
    ``noise_aware``: the strategy takes the option ``intensify`` (``INTENSIFY``: repeats of the
    incumbent and its challengers, the strategy told each configuration's mean); False for a
    strategy that visits each point once (grid).
    A strategy whose sampler runs out of points subclasses ``FiniteSampler``.
    """

    name: str
    factory: Callable[..., "optuna.samplers.BaseSampler"]
    description: str
    options: Mapping[str, Option]
    extra: str | None = None
    startup_option: str | None = None
    shares_seed: bool = False
    tries_defaults: bool = True
    noise_aware: bool = True

    def __post_init__(self) -> None:
        declared = {k: o if isinstance(o, Option) else Option(None, None, str(o)) for k, o in self.options.items()}
        if self.noise_aware:
            declared.setdefault("intensify", INTENSIFY)
        object.__setattr__(self, "options", declared)

    def startup_trials(self, options: Mapping[str, Any] | None = None) -> int:
        """Random trials before the model is used, with these options (0: no start-up phase)."""
        if self.startup_option is None:
            return 0
        given = check_options(self.name, {k: v for k, v in (options or {}).items() if k == self.startup_option})
        return int(given.get(self.startup_option, self.options[self.startup_option].default))

    def defaults(self) -> dict[str, Any]:
        """The default of every declared (typed) option."""
        return {k: o.default for k, o in self.options.items() if o.kind is not None}


#: The option every strategy but grid takes: noise-aware search (``tunekit.strategies._intensify``).
INTENSIFY = Option(int, 0, "noise-aware search: most runs of one configuration (the incumbent and the challengers "
                   "that could replace it are trained again with new seeds, within --trials; the strategy sees "
                   "each configuration's mean, e.g. intensify=3); 0: off", low=0, high=20)


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


def _cmaes(*, space: "Space", seed: int | None, popsize: int = 0, **options: Any) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._cmaes import CmaEsStrategySampler

    return CmaEsStrategySampler(seed=seed, popsize=popsize or None, **options)


def _metropolis(*, space: "Space", seed: int | None, **options: Any) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._metropolis import MetropolisSampler

    return MetropolisSampler(space=space, seed=seed, **options)


def _anneal(*, space: "Space", seed: int | None, **options: Any) -> "optuna.samplers.BaseSampler":
    from tunekit.strategies._anneal import AnnealSampler

    return AnnealSampler(space=space, seed=seed, **options)


_STARTUP = "random trials before the model is used"
_CHAIN_OPTIONS = {
    "n_startup_trials": Option(int, 10, "random trials before the chains start", low=1),
    "step": Option(float, 0.4, "initial Gaussian step in the unit box, adapted toward target_accept",
                   low=0.0, high=1.0, low_open=True),
    "target_accept": Option(float, 0.3, "acceptance rate the step size adapts toward",
                            low=0.0, high=1.0, low_open=True, high_open=True),
    "p_categorical": Option(float, 0.2, "probability of resampling each categorical in a proposal", low=0.0, high=1.0),
    "patience": Option(int, 30, "proposals without improvement before a chain restarts from the best trial", low=1),
}

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            name="grid",
            factory=_grid,
            description="every grid point exactly once (continuous dimensions at a resolution); stops when exhausted",
            options={"resolution": Option(int, 5, "points per continuous dimension", low=2)},
            shares_seed=True,
            tries_defaults=False,
            noise_aware=False,
        ),
        Strategy(
            name="random",
            factory=_random,
            description="independent uniform sampling, seeded per trial (resumable, parallel-safe)",
            options={},
            shares_seed=True,
        ),
        Strategy(
            name="tpe",
            factory=_tpe,
            description="Optuna's Tree-structured Parzen Estimator (multivariate, grouped for conditional spaces)",
            options={
                "n_startup_trials": Option(int, 10, _STARTUP, low=0),
                "multivariate": Option(bool, True, "model parameters jointly"),
                "constant_liar": Option(bool, True, "avoid duplicate suggestions across parallel workers"),
            },
            startup_option="n_startup_trials",
        ),
        Strategy(
            name="skopt",
            factory=_skopt,
            description="scikit-optimize Bayesian optimization (ask/tell), refit from the study's trials on a window",
            options={
                "base_estimator": Option(str, "GP", "surrogate model: Gaussian process, random forest or extra trees",
                                         choices=("GP", "RF", "ET")),
                "acq_func": Option(str, "EI", "acquisition function: expected improvement, probability of "
                                   "improvement or lower confidence bound", choices=("EI", "PI", "LCB")),
                "n_initial_points": Option(int, 10, _STARTUP, low=1),
                "window": Option(int, 150, "most trials the model is fitted on: the best half and the most recent",
                                 low=10),
            },
            startup_option="n_initial_points",
        ),
        Strategy(
            name="gp",
            factory=_gp,
            description="Optuna's Gaussian-process sampler (needs PyTorch), seeded per trial",
            options={
                "n_startup_trials": Option(int, 10, _STARTUP, low=1),
                "deterministic_objective": Option(bool, False, "model the objective as noise-free"),
            },
            extra="gp",
            startup_option="n_startup_trials",
        ),
        Strategy(
            name="cmaes",
            factory=_cmaes,
            description="Optuna's CMA-ES on the numeric parameters (categorical and conditional ones sampled "
                        "independently, seeded per trial), resumable",
            options={
                "n_startup_trials": Option(int, 1, _STARTUP, low=0),
                "with_margin": Option(bool, False, "keep integer and stepped parameters from collapsing (CMA-ES "
                                      "with margin)"),
                "use_separable_cma": Option(bool, False, "diagonal covariance: cheaper, for many parameters"),
                "popsize": Option(int, 0, "trials per generation (0: CMA-ES's own 4 + 3 ln n); with --fuse K, "
                                  "popsize=K makes one fused group one generation", low=0),
            },
            startup_option="n_startup_trials",
        ),
        Strategy(
            name="metropolis",
            factory=_metropolis,
            description="Metropolis-Hastings chains at a fixed temperature, one chain per worker, resumable",
            options={
                "temperature": Option(float, 0.01, "temperature as a fraction of the startup trials' value spread",
                                      low=0.0, high=math.inf, low_open=True),
                **_CHAIN_OPTIONS,
            },
            startup_option="n_startup_trials",
        ),
        Strategy(
            name="anneal",
            factory=_anneal,
            description="simulated annealing: Metropolis chains whose temperature cools from the startup spread",
            options={
                "initial_temperature": Option(float, 0.1, "starting temperature as a fraction of the startup spread",
                                              low=0.0, high=1e6, low_open=True),
                "cooling": Option(float, 0.9, "temperature factor per proposal", low=0.0, high=1.0, low_open=True),
                "reheat": Option(float, 0.5, "temperature factor applied at each restart",
                                 low=0.0, high=1.0, low_open=True),
                **_CHAIN_OPTIONS,
            },
            startup_option="n_startup_trials",
        ),
    )
}


_BUILT_IN = frozenset(STRATEGIES)


def register(strategy: Strategy) -> None:
    """Add a strategy (used by plug-ins; built-ins are listed above). Registering a plug-in's
    name again replaces it, so a notebook cell or a study file can run twice; a built-in's
    name is refused."""
    if strategy.name in _BUILT_IN:
        raise ConfigError(f"strategy {strategy.name!r} is built in; register yours under another name")
    STRATEGIES[strategy.name] = strategy


def get_strategy(name: str) -> Strategy:
    """The registry entry for ``name``, or a ConfigError listing the valid names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        valid = ", ".join(STRATEGIES)
        raise ConfigError(f"unknown strategy {name!r}; valid: {valid}") from None


def check_options(name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options of strategy ``name`` coerced to their declared types (text such as
    ``"False"`` or ``"5"`` included); ConfigError when one does not apply or does not fit.

    Example:
        >>> check_options("tpe", {"multivariate": "False", "n_startup_trials": "5"})
        {'multivariate': False, 'n_startup_trials': 5}
    """
    strategy = get_strategy(name)
    coerced: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key not in strategy.options:
            accepted = ", ".join(strategy.options) or "none"
            raise ConfigError(
                f"option {key!r} does not apply to strategy {name!r}; its options: {accepted}"
            )
        try:
            coerced[key] = strategy.options[key].coerce(key, value)
        except ValueError as exc:
            raise ConfigError(f"strategy {name!r}: {exc}; see the options with: tunekit strategies") from None
    return coerced


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
    given = check_options(name, options)
    runs = given.pop("intensify", 0)
    try:
        sampler = strategy.factory(space=space, seed=seed, **{k: v for k, v in {**strategy.defaults(), **given}.items()
                                                               if k != "intensify"})
    except ImportError as exc:
        if strategy.extra:
            raise ConfigError(
                f"strategy {name!r} needs the optional dependency group {strategy.extra!r} "
                f"({exc.name or exc}); install it with: pip install 'tunekit[{strategy.extra}]'"
            ) from exc
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"strategy {name!r}: bad option value: {exc}") from exc
    if runs > 1:
        from tunekit.strategies._intensify import IntensifiedSampler

        return IntensifiedSampler(base=sampler, runs=runs)
    return sampler
