"""Metropolis-Hastings and simulated annealing: the chain as stored in the trials."""

from __future__ import annotations

import optuna
import pytest

from tunekit.space import Choice, Float, Int, Space
from tunekit.strategies import make_sampler
from tunekit.strategies._metropolis import (
    ACCEPTANCE_ATTR,
    ACCEPTED_KEY,
    CHAIN_KEY,
    FROM_KEY,
    STEP_KEY,
    TEMPERATURE_KEY,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = Space({"x": Float(-2.0, 2.0), "n": Int(1, 32, log=True), "act": Choice(["relu", "tanh", "elu"])})
STARTUP = 5


def objective(trial: optuna.Trial) -> float:
    p = SPACE.sample(trial)
    return (p["x"] - 0.5) ** 2 + abs(p["n"] - 8) / 8 + (0.0 if p["act"] == "tanh" else 0.3)


def study_of(name: str, direction: str = "minimize", storage=None, **options) -> optuna.Study:
    sampler = make_sampler(name, space=SPACE, seed=3, options={"n_startup_trials": STARTUP, **options})
    return optuna.create_study(sampler=sampler, direction=direction, storage=storage, study_name="mh")


@pytest.mark.parametrize("name", ["metropolis", "anneal"])
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_every_proposal_records_its_chain_and_only_worse_ones_are_rejected(name: str, direction: str) -> None:
    study = study_of(name, direction)
    study.optimize(objective, n_trials=40)
    by_number = {t.number: t for t in study.trials}
    sign = 1 if direction == "minimize" else -1
    rejected = 0
    for t in study.trials:
        if t.number < STARTUP:
            assert CHAIN_KEY not in t.system_attrs  # the random start-up belongs to no chain
            continue
        attrs = t.system_attrs
        assert attrs[CHAIN_KEY] == 0
        assert attrs[TEMPERATURE_KEY] > 0 and 0 < attrs[STEP_KEY] <= 0.5
        source = by_number[attrs[FROM_KEY]]
        assert source.number < t.number and source.state == optuna.trial.TrialState.COMPLETE
        if not attrs[ACCEPTED_KEY]:
            rejected += 1
            assert sign * (t.value - source.value) > 0, (t.number, t.value, source.value)
    assert rejected > 0
    summary = study.user_attrs[ACCEPTANCE_ATTR]["0"]
    accepted = sum(t.system_attrs.get(ACCEPTED_KEY, False) for t in study.trials)
    assert summary["proposals"] == 40 - STARTUP and summary["accepted"] == accepted
    assert summary["rate"] == pytest.approx(accepted / (40 - STARTUP), abs=1e-4)


def test_metropolis_temperature_is_fixed_and_anneal_cools() -> None:
    fixed = study_of("metropolis", patience=1000)
    fixed.optimize(objective, n_trials=20)
    temps = [t.system_attrs[TEMPERATURE_KEY] for t in fixed.trials[STARTUP:]]
    assert len(set(temps)) == 1
    cooled = study_of("anneal", patience=1000, cooling=0.8)
    cooled.optimize(objective, n_trials=20)
    temps = [t.system_attrs[TEMPERATURE_KEY] for t in cooled.trials[STARTUP:]]
    assert all(b == pytest.approx(a * 0.8) for a, b in zip(temps, temps[1:]))
    # T0 comes from the spread of the start-up values: scaling the objective scales it
    scaled = study_of("anneal", patience=1000, cooling=0.8)
    scaled.optimize(lambda t: 10 * objective(t), n_trials=STARTUP + 1)
    assert scaled.trials[STARTUP].system_attrs[TEMPERATURE_KEY] == pytest.approx(10 * temps[0])


def test_a_stuck_chain_restarts_from_the_best_trial() -> None:
    study = study_of("metropolis", patience=3)
    study.optimize(lambda t: objective(t) if t.number < STARTUP else 5.0 + SPACE.sample(t)["x"] * 0, n_trials=15)
    best = min(study.trials[:STARTUP], key=lambda t: t.value)
    assert study.user_attrs[ACCEPTANCE_ATTR]["0"]["restarts"] >= 2
    froms = [t.system_attrs[FROM_KEY] for t in study.trials[STARTUP:]]
    assert froms[0] == best.number  # chain 0 starts from the best start-up trial
    assert froms.count(best.number) >= 3  # ... and returns to it at each restart


def test_failed_proposals_are_rejected_and_the_chain_goes_on() -> None:
    study = study_of("anneal")

    def flaky(trial: optuna.Trial) -> float:
        value = objective(trial)
        if trial.number in (STARTUP, STARTUP + 1, STARTUP + 4):
            raise ValueError("planned failure")
        return value

    study.optimize(flaky, n_trials=12, catch=(ValueError,))
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 3 and all(t.system_attrs[ACCEPTED_KEY] is False for t in failed)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials if t not in failed)


@pytest.mark.slow  # two samplers on one SQLite study, many trials
def test_two_workers_run_two_chains_and_a_resumed_worker_continues_its_chain(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'mh.db'}"
    first = study_of("metropolis", storage=url)
    first.optimize(objective, n_trials=STARTUP)
    second = optuna.load_study(study_name="mh", storage=url, sampler=make_sampler(
        "metropolis", space=SPACE, seed=3, options={"n_startup_trials": STARTUP}))
    for _ in range(4):  # interleaved: each asks while the other's trial is running
        a = first.ask()
        objective_a = objective(a)
        b = second.ask()
        objective_b = objective(b)
        first.tell(a, objective_a)
        second.tell(b, objective_b)
        chains = {t.number: t.system_attrs[CHAIN_KEY] for t in first.get_trials()[-2:]}
        assert chains == {a.number: 0, b.number: 1}
    rates = optuna.load_study(study_name="mh", storage=url).user_attrs[ACCEPTANCE_ATTR]
    assert set(rates) == {"0", "1"} and rates["0"]["proposals"] == rates["1"]["proposals"] == 4
    # chain 1 started from the second-best start-up trial
    startup = sorted(first.trials[:STARTUP], key=lambda t: t.value)
    chain1 = [t for t in first.get_trials() if t.system_attrs.get(CHAIN_KEY) == 1]
    assert chain1[0].system_attrs[FROM_KEY] == startup[1].number
    # a new process on the same study continues chain 0 from where it stood
    resumed = optuna.load_study(study_name="mh", storage=url, sampler=make_sampler(
        "metropolis", space=SPACE, seed=3, options={"n_startup_trials": STARTUP}))
    resumed.optimize(objective, n_trials=1)
    last = resumed.trials[-1]
    chain0 = [t for t in resumed.trials[:-1] if t.system_attrs.get(CHAIN_KEY) == 0]
    assert last.system_attrs[CHAIN_KEY] == 0
    assert last.system_attrs[FROM_KEY] in {t.number for t in chain0} | {startup[0].number}


def test_proposals_are_new_points_in_a_small_space() -> None:
    space = Space({"a": Int(0, 3), "b": Choice(["x", "y", "z"])})
    sampler = make_sampler("metropolis", space=space, seed=0, options={"n_startup_trials": 2})
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: space.sample(t)["a"] * 1.0, n_trials=12)
    keys = [(t.params["a"], t.params["b"]) for t in study.trials]
    assert len(set(keys)) == 12  # 12 of the 12 points, none repeated
