"""The contract every registered strategy keeps, one parametrized suite over the registry.

Objectives are cheap analytic functions of the unit-box encoding (never Keras); parameters
come from ``Space.sample(trial)`` as in a real study.
"""

from __future__ import annotations

import importlib.util
import math
import os
import statistics
import warnings

import optuna
import pytest

from tunekit import ConfigError
from tunekit.space import Bool, Choice, Fixed, Float, Int, PerLayer, Space
from tunekit.space._unit import encode, is_numeric
from tunekit.strategies import STRATEGIES, make_sampler

optuna.logging.set_verbosity(optuna.logging.ERROR)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning", "ignore::UserWarning")

NAMES = list(STRATEGIES)
# Fresh samplers with the same seed on the same trials give the same next suggestion.
# Every strategy derives its draws from the seed and the stored trials (TPE and GP reseed per trial).
RESUMABLE = NAMES
# Strategies whose default start-up phase is random for 10 trials: run past it.
N_TRIALS = 16
# GP and skopt refit a model on every suggestion: their cases of the contract are marked slow.
PARAMS = [pytest.param(n, marks=pytest.mark.slow) if n in ("gp", "skopt") else n for n in NAMES]
# Where a test only compares runs (same seed; resumed), 10 trials: still 6 past the longest start-up
# phase (4, FAST), and the resumed run's first trial (the 8th) too; GP and skopt refit on each.
COMPARED_TRIALS = 10
FAST = {"gp": {"n_startup_trials": 4}, "skopt": {"n_initial_points": 4}, "tpe": {"n_startup_trials": 4},
        "metropolis": {"n_startup_trials": 4}, "anneal": {"n_startup_trials": 4}}


def _torch_or_skip(name: str) -> None:
    """gp runs for real when PyTorch is installed; CI (TUNEKIT_REQUIRE_SERVICES=1) requires it."""
    if name != "gp" or importlib.util.find_spec("torch") is not None:
        return
    how = "install the gp extra: pip install torch (CPU build), see the Makefile"
    if os.environ.get("TUNEKIT_REQUIRE_SERVICES", "") not in ("", "0"):
        pytest.fail(f"PyTorch is required for strategy 'gp' (TUNEKIT_REQUIRE_SERVICES=1): {how}")
    pytest.skip(f"PyTorch not installed, strategy 'gp' untested: {how}")


def sampler_for(name: str, space: Space, seed: int | None = 0, **options):
    _torch_or_skip(name)
    return make_sampler(name, space=space, seed=seed, options={**FAST.get(name, {}), **options})


ALL_KINDS = Space({
    "lr": Float(1e-5, 1e-1, log=True),
    "dropout": Float(0.0, 0.5),
    "momentum": Float(0.0, 0.9, step=0.3),
    "units": Int(8, 256, log=True),
    "layers": Int(1, 4),
    "batch": Int(16, 64, step=16),
    "activation": Choice(["relu", "tanh", "elu"]),
    "width": Choice([32, 64, 128]),
    "batch_norm": Bool(),
    "epochs": Fixed(3),
})
TYPES = {"lr": float, "dropout": float, "momentum": float, "units": int, "layers": int, "batch": int,
         "activation": str, "width": int, "batch_norm": bool, "epochs": int}
CONDITIONAL = Space({
    "optimizer": Choice(["adam", "sgd"]),
    "momentum": Float(0.0, 0.9, when=("optimizer", "sgd")),
    "nesterov": Bool(when=("optimizer", "sgd")),
    "n_layers": Int(1, 3),
    "units": PerLayer(Int(4, 64, log=True)),
    "lr": Float(1e-4, 1e-1, log=True),
})


def objective_for(space: Space, fail_on: set[int] = frozenset()):
    dists = space.distributions()

    def objective(trial: optuna.Trial) -> float:
        params = space.sample(trial)
        if trial.number in fail_on:
            raise ValueError("planned failure")
        total = 0.0
        for name, value in params.items():
            dist = dists.get(name)
            if dist is None:
                continue
            if is_numeric(dist):
                total += (encode(dist, value) - 0.3) ** 2
            else:
                total += 0.1 * encode(dist, value)
        return total

    return objective


def run(name: str, space: Space, n_trials: int = N_TRIALS, *, seed: int | None = 0, storage=None,
        direction: str = "minimize", fail_on: set[int] = frozenset(), study_name: str | None = None,
        load: bool = False, **options) -> optuna.Study:
    sampler = sampler_for(name, space, seed, **options)
    if load:
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
    else:
        study = optuna.create_study(sampler=sampler, storage=storage, direction=direction, study_name=study_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective_for(space, fail_on), n_trials=n_trials, catch=(ValueError,))
    return study


def sequence(study: optuna.Study) -> list[dict]:
    return [t.params for t in sorted(study.trials, key=lambda t: t.number)]


@pytest.mark.parametrize("name", PARAMS)
def test_samples_in_bounds_with_the_right_types(name: str) -> None:
    study = run(name, ALL_KINDS, resolution=3) if name == "grid" else run(name, ALL_KINDS)
    assert len(study.trials) == N_TRIALS
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert set(t.params) == set(ALL_KINDS.distributions()), t.params
        for key, value in t.params.items():
            assert type(value) is TYPES[key], (name, key, value)
            assert ALL_KINDS[key].contains(value), (name, key, value)
    # what the objective saw (Space.sample) has the same types, Fixed included
    trial = optuna.create_study(sampler=sampler_for(name, ALL_KINDS, resolution=3) if name == "grid"
                                else sampler_for(name, ALL_KINDS)).ask()
    params = ALL_KINDS.sample(trial)
    assert {k: type(v) for k, v in params.items()} == TYPES


@pytest.mark.parametrize("name", PARAMS)
def test_same_seed_same_sequence(name: str) -> None:
    opts = {"resolution": 3} if name == "grid" else {}
    first = sequence(run(name, ALL_KINDS, COMPARED_TRIALS, seed=7, **opts))
    second = sequence(run(name, ALL_KINDS, COMPARED_TRIALS, seed=7, **opts))
    assert first == second and len(first) == COMPARED_TRIALS
    assert sequence(run(name, ALL_KINDS, COMPARED_TRIALS, seed=8, **opts)) != first


@pytest.mark.parametrize("name", PARAMS)
def test_a_space_of_one_point(name: str) -> None:
    space = Space({"act": Choice(["relu"]), "units": Int(32, 32), "lr": Float(0.01, 0.01, log=True),
                   "epochs": Fixed(2)})
    study = run(name, space, n_trials=6)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done, "no trial completed"
    assert all(t.params == {"act": "relu", "units": 32, "lr": 0.01} for t in done)
    if name == "grid":  # one grid point: the grid strategy stops after it
        assert len(done) == 1


@pytest.mark.parametrize("name", PARAMS)
def test_failed_trials_do_not_break_the_next_suggestion(name: str) -> None:
    fail_on = {0, 2, 5, 6, 9}  # in the random start-up and after it
    opts = {"resolution": 3} if name == "grid" else {}
    study = run(name, ALL_KINDS, n_trials=14, fail_on=fail_on, **opts)
    states = [t.state for t in sorted(study.trials, key=lambda t: t.number)]
    assert [i for i, s in enumerate(states) if s == optuna.trial.TrialState.FAIL] == sorted(fail_on)
    assert states.count(optuna.trial.TrialState.COMPLETE) == 14 - len(fail_on)


@pytest.mark.parametrize("name", PARAMS)
def test_conditional_parameters_are_respected(name: str) -> None:
    study = run(name, CONDITIONAL, n_trials=N_TRIALS, **({"resolution": 2} if name == "grid" else {}))
    assert len(study.trials) == N_TRIALS
    seen_sgd = seen_adam = False
    for t in study.trials:
        p = t.params
        sgd = p["optimizer"] == "sgd"
        seen_sgd |= sgd
        seen_adam |= not sgd
        assert ("momentum" in p) == sgd and ("nesterov" in p) == sgd, p
        for i in range(3):
            assert (f"units_{i}" in p) == (i < p["n_layers"]), p
        CONDITIONAL.validate_params(p)
    assert seen_sgd and seen_adam


# A smooth deterministic objective to MAXIMIZE (optimum 0 at x=0.7, y=0.5, lr=10**-2.5, units=40).
SEARCH = Space({"x": Float(0.0, 1.0), "y": Float(-2.0, 2.0), "lr": Float(1e-4, 1e-1, log=True), "units": Int(4, 64)})
SEEDS = range(5)
# GP and skopt refit every trial: 12 trials each (past their 4 start-up trials), 20 for the others.
BUDGET = {"gp": 12, "skopt": 12}


def _peak(trial: optuna.Trial) -> float:
    p = SEARCH.sample(trial)
    return -((p["x"] - 0.7) ** 2 + ((p["y"] - 0.5) / 4) ** 2 + ((math.log10(p["lr"]) + 2.5) / 3) ** 2
             + ((p["units"] - 40) / 60) ** 2)


def _median_best(name: str, n_trials: int) -> float:
    """The median over SEEDS of the best value ``name`` finds in ``n_trials`` (seeded: deterministic)."""
    bests = []
    for seed in SEEDS:
        study = optuna.create_study(sampler=sampler_for(name, SEARCH, seed), direction="maximize")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.optimize(_peak, n_trials=n_trials)
        bests.append(study.best_value)
    return statistics.median(bests)


@pytest.mark.parametrize("name", [p for p in PARAMS if getattr(p, "values", (p,))[0] not in ("random", "grid")])
def test_maximize_beats_random_search(name: str) -> None:
    """Each guided strategy, maximizing, beats random search's median best on the same budget
    and seeds (a strategy that ignored the direction or its history would not)."""
    n_trials = BUDGET.get(name, 20)
    ours, random_search = _median_best(name, n_trials), _median_best("random", n_trials)
    assert ours > random_search, (name, ours, random_search)


def test_grid_reaches_the_optimum_grid_point() -> None:
    """Grid visits every point: maximizing, it finds the one point with value 0 (every other is < 0)."""
    space = Space({"x": Float(-1.0, 1.0), "lr": Float(1e-4, 1e-2, log=True), "act": Choice(["relu", "tanh"])})

    def objective(trial: optuna.Trial) -> float:
        p = space.sample(trial)
        return -(p["x"] ** 2 + (math.log10(p["lr"]) + 3) ** 2 + (p["act"] != "tanh"))

    study = optuna.create_study(sampler=sampler_for("grid", space, resolution=3), direction="maximize")
    study.optimize(objective, n_trials=30)
    assert len(study.trials) == 18  # 3 x 3 x 2 points, each once, then the grid stops
    assert study.best_value == pytest.approx(0.0) and study.best_params["act"] == "tanh"


@pytest.mark.parametrize("name", RESUMABLE)
@pytest.mark.slow  # three SQLite studies per strategy (SQLite writes dominate)
def test_resume_from_sqlite_gives_the_uninterrupted_suggestion(name: str, tmp_path) -> None:
    opts = {"resolution": 3} if name == "grid" else {}
    whole = run(name, ALL_KINDS, n_trials=COMPARED_TRIALS, storage=f"sqlite:///{tmp_path / 'whole.db'}", study_name="s",
                **opts)
    url = f"sqlite:///{tmp_path / 'resumed.db'}"
    run(name, ALL_KINDS, n_trials=COMPARED_TRIALS - 3, storage=url, study_name="s", **opts)
    resumed = run(name, ALL_KINDS, n_trials=3, storage=url, study_name="s", load=True, **opts)
    assert sequence(resumed) == sequence(whole)


@pytest.mark.parametrize("name", NAMES)
def test_options_that_do_not_apply_are_a_config_error(name: str) -> None:
    _torch_or_skip(name)
    with pytest.raises(ConfigError, match=f"option 'no_such_option' does not apply to strategy '{name}'"):
        make_sampler(name, space=ALL_KINDS, options={"no_such_option": 1})


def test_bad_option_values_and_unknown_strategy_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown strategy 'nope'; valid: grid, random, tpe, skopt, gp"):
        make_sampler("nope", space=ALL_KINDS)
    with pytest.raises(ConfigError, match="option 'acq_func' does not apply to strategy 'random'"):
        make_sampler("random", space=ALL_KINDS, options={"acq_func": "EI"})
    bad = [("skopt", {"acq_func": "gp_hedge"}, "acq_func must be one of EI, PI, LCB"),
           ("skopt", {"base_estimator": "GBRT"}, "base_estimator must be one of GP, RF, ET"),
           ("skopt", {"window": 3}, "window must be an int >= 10"),
           ("metropolis", {"temperature": 0}, r"temperature must be a number in \(0"),
           ("metropolis", {"target_accept": 1.5}, "target_accept must be a number"),
           ("anneal", {"cooling": 1.5}, "cooling must be a number"),
           ("anneal", {"patience": 0}, "patience must be an int >= 1")]
    for name, options, message in bad:
        with pytest.raises(ConfigError, match=message):
            make_sampler(name, space=ALL_KINDS, options=options)


def test_every_strategy_is_tested_here() -> None:
    assert set(NAMES) >= {"grid", "random", "tpe", "skopt", "gp", "metropolis", "anneal"}
