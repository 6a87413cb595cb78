"""Issue 16, item 3: noise-aware search (the strategy option ``intensify=R``)."""

from __future__ import annotations

import statistics
from pathlib import Path

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

import tunekit
from tests.conftest import TINY_SPEC, invoke, one_error_line
from tunekit._confirm import confirmed_best
from tunekit._records import CONFIRMS, REPEATS, budget
from tunekit.space import Float, Space
from tunekit.strategies import get_strategy, make_sampler
from tunekit.strategies._intensify import IntensifiedSampler, _MeanStudy, mean_view, next_repeat


def _trials(rows: list[tuple]) -> list:
    """(u, value or None for RUNNING[, attrs]) -> FrozenTrials numbered in order."""
    out = []
    for i, row in enumerate(rows):
        u, value = row[:2]
        attrs = row[2] if len(row) > 2 else {}
        state = TrialState.COMPLETE if value is not None else TrialState.RUNNING
        t = create_trial(state=state, value=value, params={"u": u}, distributions={"u": IntDistribution(1, 99)},
                         user_attrs=attrs)
        t.number = i
        out.append(t)
    return out


def test_a_challenger_is_run_until_it_has_the_incumbent_s_runs() -> None:
    # u=1 has two runs (mean 0.55): the incumbent; u=2's single 0.9 beats it: run u=2 again
    rows = [(1, 0.5), (1, 0.6, {REPEATS: 0}), (2, 0.9), (3, 0.1)]
    assert next_repeat(_trials(rows), runs=3, maximize=True) == ({"u": 2}, 2)
    # minimizing, u=3's 0.1 is the challenger instead
    assert next_repeat(_trials(rows), runs=3, maximize=False) == ({"u": 3}, 3)
    # a repeat of u=2 already running: u=2 has as many runs planned as the incumbent: nothing more
    running = rows + [(2, None, {REPEATS: 2})]
    assert next_repeat(_trials(running), runs=3, maximize=True) is None
    # u=2 at two runs with a better mean: it is the incumbent now, and u=1 is no challenger
    both = rows + [(2, 0.8, {REPEATS: 2})]
    assert next_repeat(_trials(both), runs=3, maximize=True) is None


def test_the_incumbent_is_repeated_once_every_period_up_to_r_runs() -> None:
    ones = [(u, 0.1 * u) for u in range(1, 10)]
    assert next_repeat(_trials(ones), runs=3, maximize=True, period=10) is None  # 9 trials: not yet
    ten = [(u, 0.1 * u) for u in range(1, 11)]
    assert next_repeat(_trials(ten), runs=3, maximize=True, period=10) == ({"u": 10}, 9)  # its second run
    assert next_repeat(_trials(ten), runs=1, maximize=True, period=10) is None  # R=1: never
    again = ten + [(10, 0.95, {REPEATS: 9})]
    assert next_repeat(_trials(again), runs=3, maximize=True, period=10) is None  # the third waits for 20 trials
    later = again + [(u, 0.01) for u in range(20, 29)]
    assert next_repeat(_trials(later), runs=3, maximize=True, period=10) == ({"u": 10}, 9)
    # a duplicate proposal makes an incumbent too: u=1 run twice, every better single run challenges it
    assert next_repeat(_trials(ones + [(1, 0.05)]), runs=3, maximize=True) == ({"u": 9}, 8)
    # the incumbent at R runs is not run again; confirmations and warm-start copies are not the search's
    full = [(9, 0.9), (9, 0.9, {REPEATS: 0}), (9, 0.9, {REPEATS: 0})] + [(u, 0.1) for u in range(30, 60)]
    assert next_repeat(_trials(full), runs=3, maximize=True) is None
    assert next_repeat(_trials([(4, 0.99, {CONFIRMS: 0})] + full), runs=3, maximize=True) is None
    assert next_repeat(_trials([(4, 0.99, {"warm_start": "old"})] + full), runs=3, maximize=True) is None


def test_the_strategy_sees_each_configuration_once_at_its_mean() -> None:
    ts = _trials([(1, 0.5), (2, 0.9), (1, 0.7, {REPEATS: 0}), (2, None, {REPEATS: 1}), (3, None)])
    view = mean_view(ts)
    assert [(t.number, t.value) for t in view] == [(0, pytest.approx(0.6)), (1, 0.9), (4, None)]
    assert ts[0].value == 0.5  # the stored trials are untouched
    study = optuna.create_study()
    study.add_trials(_trials([(1, 0.5), (1, 0.7, {REPEATS: 0})]))
    assert [t.value for t in _MeanStudy(study).get_trials()] == [pytest.approx(0.6)]
    assert [t.value for t in _MeanStudy(study)._get_trials(states=(TrialState.COMPLETE,))] == [pytest.approx(0.6)]


def test_every_strategy_but_grid_takes_the_option() -> None:
    space = Space({"x": Float(0.0, 1.0)})
    sampler = make_sampler("tpe", space=space, seed=0, options={"intensify": "3"})
    assert isinstance(sampler, IntensifiedSampler) and sampler.runs == 3
    assert not isinstance(make_sampler("tpe", space=space, seed=0, options={"intensify": 0}), IntensifiedSampler)
    assert "intensify" in get_strategy("metropolis").options and "intensify" not in get_strategy("grid").options
    with pytest.raises(tunekit.ConfigError, match="does not apply to strategy 'grid'"):
        make_sampler("grid", space=space, seed=0, options={"intensify": 3})
    with pytest.raises(tunekit.ConfigError, match="intensify"):
        make_sampler("tpe", space=space, seed=0, options={"intensify": -1})


@pytest.mark.parametrize("strategy", ["random", "tpe", "skopt", "metropolis", "anneal", "cmaes"])
def test_a_noisy_search_repeats_with_the_same_parameters_inside_its_budget(strategy: str) -> None:
    space = Space({"x": Float(0.0, 1.0)})
    study = optuna.create_study(direction="maximize",
                                sampler=make_sampler(strategy, space=space, seed=1, options={"intensify": 3}))
    noise = iter(statistics.NormalDist(0, 0.05).samples(200, seed=4))
    study.optimize(lambda t: -(space.sample(t)["x"] - 0.3) ** 2 + next(noise), n_trials=40)
    trials = study.trials
    repeats = [t for t in trials if REPEATS in t.user_attrs]
    assert 2 <= len(repeats) < 20 and budget(trials).counted == 40  # repeats are trials of the budget
    for t in repeats:
        assert t.params == trials[t.user_attrs[REPEATS]].params and t.number > t.user_attrs[REPEATS]
    best = confirmed_best(trials, maximize=True)
    assert best is not None and 2 <= best.n <= 3  # the best is chosen by the mean of a repeated configuration


@pytest.mark.slow
def test_a_real_noise_aware_study_from_the_cli(tiny_study_file: Path, db_url: str) -> None:
    # 11 trials: the 11th is the incumbent's second run at the latest (once every PERIOD = 10 trials)
    result = invoke("run", str(tiny_study_file), "--strategy", "random", "--trials", "11", "--storage", db_url,
                    "--study-name", "noisy", "--seed", "2", "-O", "intensify=3")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="noisy", storage=db_url)
    repeats = [t for t in study.trials if REPEATS in t.user_attrs]
    assert repeats and len(study.trials) == 11  # the repeats are inside --trials 11
    assert all(t.state == TrialState.COMPLETE for t in repeats)  # never pruned
    assert any(f"(repeats trial {t.user_attrs[REPEATS]})" in result.output for t in repeats)
    best = confirmed_best(study.trials, maximize=True)
    shown = invoke("best", "noisy", "--storage", db_url)
    assert shown.exit_code == 0, shown.output
    assert f"best trial {best.trial.number}" in shown.output or f"trial {best.trial.number}" in shown.output
    assert "+/-" in shown.output
    bad = invoke("run", str(tiny_study_file), "--strategy", "grid", "--trials", "4", "--storage", db_url,
                 "--study-name", "grid", "-O", "intensify=3")
    assert "does not apply to strategy 'grid'" in one_error_line(bad)
