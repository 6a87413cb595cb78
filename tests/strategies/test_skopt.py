"""The scikit-optimize adapter: what the model sees, estimators, repeats, cost at 1,000 trials."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from tunekit.space import Choice, Float, Int, Space
from tunekit.strategies import make_sampler
from tunekit.strategies._skopt import SkoptSampler

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = Space({"x": Float(-2.0, 2.0), "lr": Float(1e-4, 1e-1, log=True), "n": Int(1, 9), "act": Choice(["a", "b"])})


def objective(trial: optuna.Trial) -> float:
    p = SPACE.sample(trial)
    return (p["x"] - 0.5) ** 2 + (np.log10(p["lr"]) + 2) ** 2 + abs(p["n"] - 4) + (p["act"] == "b")


@pytest.mark.parametrize("estimator", ["GP", "RF", "ET"])
@pytest.mark.parametrize("acq_func", ["EI", "LCB"])
@pytest.mark.slow  # six skopt configurations, 18 model fits each
def test_estimators_and_acquisitions_improve_on_the_start(estimator: str, acq_func: str) -> None:
    sampler = make_sampler("skopt", space=SPACE, seed=0, options={
        "base_estimator": estimator, "acq_func": acq_func, "n_initial_points": 6})
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=18)
    start = min(t.value for t in study.trials[:6])
    assert min(t.value for t in study.trials[6:]) < start


def test_model_sees_completed_and_pruned_not_failed_and_maximize_is_negated() -> None:
    study = optuna.create_study(direction="maximize")
    dist = {"x": FloatDistribution(0.0, 1.0)}
    study.add_trial(create_trial(params={"x": 0.1}, distributions=dist, value=2.0))
    study.add_trial(create_trial(params={"x": 0.2}, distributions=dist, state=TrialState.FAIL))
    study.add_trial(create_trial(params={"x": 0.3}, distributions=dist, state=TrialState.PRUNED,
                                 intermediate_values={0: 0.5, 3: 1.5}))
    study.add_trial(create_trial(params={"x": 0.4}, distributions=dist, value=float("-inf")))
    observed = SkoptSampler(seed=0)._observations(study)
    assert [(t.params["x"], y) for t, y in observed] == [(0.1, -2.0), (0.3, -1.5), (0.4, -1.5)]


def test_window_keeps_the_best_half_and_the_most_recent() -> None:
    sampler = SkoptSampler(seed=0, window=10)
    study = optuna.create_study()
    dist = {"x": FloatDistribution(0.0, 1.0)}
    for i in range(30):
        study.add_trial(create_trial(params={"x": i / 30}, distributions=dist, value=float(i % 7)))
    kept = sampler._windowed(sampler._observations(study))
    numbers = sorted(t.number for t, _ in kept)
    assert len(kept) == 10
    best5 = sorted(t.number for t in sorted(study.trials, key=lambda t: (t.value, t.number))[:5])
    assert set(best5) <= set(numbers)
    rest = [n for n in numbers if n not in best5]
    assert rest == [n for n in range(29, -1, -1) if n not in best5][:5][::-1]


def test_conditional_parameters_come_from_the_random_fallback() -> None:
    space = Space({"opt": Choice(["adam", "sgd"]), "m": Float(0.0, 0.9, when=("opt", "sgd")), "x": Float(0.0, 1.0)})
    sampler = make_sampler("skopt", space=space, seed=0, options={"n_initial_points": 4})
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: sum(v for v in space.sample(t).values() if isinstance(v, float)), n_trials=10)
    assert sampler.infer_relative_search_space(study, study.trials[-1]).keys() == {"opt", "x"}
    assert all(("m" in t.params) == (t.params["opt"] == "sgd") for t in study.trials)


def test_model_suggestions_are_new_points() -> None:
    space = Space({"a": Int(0, 3), "b": Choice(["x", "y", "z"])})
    sampler = make_sampler("skopt", space=space, seed=0, options={"n_initial_points": 3})
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(lambda t: float(space.sample(t)["a"]), n_trials=12)
    keys = [(t.params["a"], t.params["b"]) for t in study.trials]
    for i in range(3, 12):
        assert keys[i] not in keys[:i], (i, keys)


def test_the_window_bounds_what_the_model_sees_at_1000_trials() -> None:
    """Cost control: at 1,000 trials the model is fitted on at most `window` of them,
    the best half plus the most recent (speed itself is measured in benchmarks/sampler_cost.py)."""
    rng = np.random.default_rng(0)
    dists = {"x": FloatDistribution(-2.0, 2.0), "lr": FloatDistribution(1e-4, 1e-1, log=True),
             "n": IntDistribution(1, 9), "act": CategoricalDistribution(["a", "b"])}
    sampler = SkoptSampler(seed=0, window=150)
    study = optuna.create_study(sampler=sampler)
    trials = []
    for _ in range(1000):
        params = {"x": float(rng.uniform(-2, 2)), "lr": float(10 ** rng.uniform(-4, -1)),
                  "n": int(rng.integers(1, 10)), "act": str(rng.choice(["a", "b"]))}
        value = (params["x"] - 0.5) ** 2 + abs(params["n"] - 4) + float(rng.normal(0, 0.1))
        trials.append(create_trial(params=params, distributions=dists, value=value))
    study.add_trials(trials)
    observed = sampler._observations(study)
    window = sampler._windowed(observed)
    assert len(observed) == 1000 and len(window) == 150
    values = sorted(v for _, v in observed)
    assert sorted(v for _, v in window)[:75] == values[:75]  # the best half is kept
    newest = max(t.number for t, _ in observed)
    assert newest in {t.number for t, _ in window}  # and the most recent
    trial = study.ask(dists)
    assert SPACE.validate_params(trial.params) is None
