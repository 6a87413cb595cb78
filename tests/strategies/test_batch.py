"""Batches of suggestions: K trials asked back to back before any is told, as a fused group is.

Every strategy hands out K distinct points where the space allows, deterministically under the
study's seed and the same after a resume; model-based strategies spread a batch (their running
trials are pending points), grid never hands a point out twice, and the Metropolis chains run
side by side, one pending proposal per chain, each with the sequential acceptance rule.
Objectives are synthetic (no Keras).
"""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState

from tests.strategies.test_contract import sampler_for
from tunekit.space import Bool, Choice, Float, Int, Space
from tunekit.space._unit import encode, is_numeric
from tunekit.strategies import STRATEGIES, points_left
from tunekit.strategies._metropolis import ACCEPTANCE_ATTR, ACCEPTED_KEY, CHAIN_KEY, FROM_KEY

optuna.logging.set_verbosity(optuna.logging.ERROR)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning", "ignore::UserWarning")

K = 8
NAMES = list(STRATEGIES)
PARAMS = [pytest.param(n, marks=pytest.mark.slow) if n in ("gp", "skopt") else n for n in NAMES]
MODEL_BASED = ("tpe", "skopt", "gp", "cmaes", "metropolis", "anneal")
SPACE = Space({
    "lr": Float(1e-4, 1e-1, log=True),
    "dropout": Float(0.0, 0.5),
    "units": Int(8, 256, log=True),
    "activation": Choice(["relu", "tanh", "elu"]),
    "batch_norm": Bool(),
})  # grid at resolution 3: 162 points
DISTS = SPACE.distributions()


def value(params: dict) -> float:
    """A synthetic objective to minimize: distance to a point in the unit box."""
    return sum((encode(DISTS[n], v) - 0.3) ** 2 if is_numeric(DISTS[n]) else 0.1 * encode(DISTS[n], v)
               for n, v in params.items())


def make(name: str, seed: int = 0, storage=None, load: bool = False, **options) -> optuna.Study:
    opts = {"resolution": 3, **options} if name == "grid" else options
    sampler = sampler_for(name, SPACE, seed, **opts)
    if load:
        return optuna.load_study(study_name="b", storage=storage, sampler=sampler)
    return optuna.create_study(sampler=sampler, storage=storage, study_name="b")


def ask_batch(study: optuna.Study, k: int = K) -> list[tuple[optuna.Trial, dict]]:
    """K trials asked back to back, each with its parameters drawn (RUNNING, none told)."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(k):
            trial = study.ask()
            out.append((trial, SPACE.sample(trial)))
    return out


def tell(study: optuna.Study, batch: list[tuple[optuna.Trial, dict]]) -> None:
    for trial, params in batch:
        study.tell(trial, value(params))


def key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


@pytest.mark.parametrize("name", PARAMS)
def test_a_batch_is_distinct_and_the_next_one_too(name: str) -> None:
    study = make(name)
    first = ask_batch(study)
    assert all(t.number == i for i, (t, _) in enumerate(first))
    assert len({key(p) for _, p in first}) == K, [p for _, p in first]
    assert all(s.state == TrialState.RUNNING for s in study.get_trials())
    tell(study, first)
    rounds = 1 if name == "gp" else 2  # past every strategy's start-up phase (4 trials in sampler_for)
    for _ in range(rounds):
        incumbent = study.best_params
        batch = ask_batch(study)
        keys = [key(p) for _, p in batch]
        assert len(set(keys)) == K, [p for _, p in batch]
        if name in MODEL_BASED:
            assert key(incumbent) not in keys
        tell(study, batch)
    assert len({key(t.params) for t in study.trials}) == (rounds + 1) * K  # none repeats an earlier point


@pytest.mark.parametrize("name", PARAMS)
def test_batches_are_deterministic_and_the_same_after_a_resume(name: str) -> None:
    """Same seed, same batches; a new sampler (a resumed process) on the same storage asks the
    batch the uninterrupted one would have asked."""
    k = 4 if name == "gp" else K  # gp: ~0.5 s of CPU per suggestion (q-batch EI)
    whole, storage = make(name, seed=5), InMemoryStorage()
    cut = make(name, seed=5, storage=storage)
    tell(whole, ask_batch(whole))  # past the start-up phase (4 trials in sampler_for)
    tell(cut, ask_batch(cut))
    resumed = make(name, seed=5, storage=storage, load=True)
    second = [p for _, p in ask_batch(whole, k)]
    assert [p for _, p in ask_batch(resumed, k)] == second
    again, other = make(name, seed=5), make(name, seed=6)
    tell(again, ask_batch(again))
    tell(other, ask_batch(other))
    assert [p for _, p in ask_batch(again, k)] == second
    assert [p for _, p in ask_batch(other, k)] != second


def _spread(points: list[dict]) -> float:
    """Mean distance from each point to its nearest neighbour in the batch (unit box)."""
    x = np.array([[encode(DISTS[n], p[n]) for n in DISTS] for p in points], dtype=float)
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return float(d.min(axis=1).mean())


def _sequential_twin(study: optuna.Study) -> list[dict]:
    """K suggestions from the same history without pending trials: each is asked and failed
    before the next is asked (a FAIL is no observation and no pending point)."""
    out = []
    for _ in range(K):
        (trial, params), = ask_batch(study, 1)
        study.tell(trial, state=TrialState.FAIL)
        out.append(params)
    return out


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in ("gp", "skopt") else n
                                  for n in ("tpe", "skopt", "gp")])
def test_pending_trials_spread_a_model_based_batch(name: str) -> None:
    """The running trials of a batch are pending points (constant liar for tpe and skopt,
    q-batch expected improvement for gp): the batch is more spread than K suggestions from
    the same history that ignore each other."""
    batched, alone = [], []
    for seed in range(1 if name == "gp" else 3):  # gp: ~0.5 s of CPU per suggestion (q-batch EI)
        with_pending, without = make(name, seed=seed), make(name, seed=seed)
        for study in (with_pending, without):
            tell(study, ask_batch(study, 12))
        batched.append(_spread([p for _, p in ask_batch(with_pending)]))
        alone.append(_spread(_sequential_twin(without)))
    assert np.mean(batched) > 1.5 * np.mean(alone), (batched, alone)


def test_grid_never_hands_out_a_point_twice() -> None:
    space = Space({"a": Int(0, 2), "b": Choice(["x", "y"]), "c": Float(0.0, 1.0)})  # 3 x 2 x 3 = 18 points
    sampler = sampler_for("grid", space, 0, resolution=3)
    study = optuna.create_study(sampler=sampler)
    first = [study.ask() for _ in range(K)]
    points = [key(space.sample(t)) for t in first]
    assert len(set(points)) == K and points_left(sampler, study) == 18 - K
    for t in first:
        study.tell(t, 0.0)
    rest = [study.ask() for _ in range(18 - K)]
    points += [key(space.sample(t)) for t in rest]
    assert len(set(points)) == 18 and points_left(sampler, study) == 0


@pytest.mark.parametrize("name", ["metropolis", "anneal"])
def test_chains_run_side_by_side_with_their_own_acceptance_rule(name: str) -> None:
    study = make(name, seed=1)
    tell(study, ask_batch(study, 4))  # the random start-up (4 trials in sampler_for)
    current: dict[int, int] = {}  # chain -> its last accepted trial, replayed from the stored decisions
    for _ in range(4):
        batch = ask_batch(study)
        chains = [study._storage.get_trial_system_attrs(t._trial_id)[CHAIN_KEY] for t, _ in batch]
        assert sorted(chains) == list(range(K))  # one pending proposal per chain
        tell(study, batch)
        by_number = {t.number: t for t in study.trials}
        for trial, _ in batch:
            t = by_number[trial.number]
            chain, source = t.system_attrs[CHAIN_KEY], by_number[t.system_attrs[FROM_KEY]]
            # a chain's proposal branches from the chain's own last accepted state
            assert source.number == current.get(chain, source.number)
            if t.value <= source.value:
                assert t.system_attrs[ACCEPTED_KEY] is True  # better: always accepted
            if t.system_attrs[ACCEPTED_KEY] is False:
                assert t.value > source.value  # rejected: only a worse one
            current[chain] = t.number if t.system_attrs[ACCEPTED_KEY] else source.number
    summary = study.user_attrs[ACCEPTANCE_ATTR]
    assert set(summary) == {str(c) for c in range(K)}
    assert all(s["proposals"] == 4 and s["restarts"] == 0 for s in summary.values())
    accepted = sum(bool(t.system_attrs.get(ACCEPTED_KEY)) for t in study.trials)
    assert 0 < sum(s["accepted"] for s in summary.values()) == accepted < 4 * K


def test_cmaes_population_can_be_one_batch() -> None:
    """A generation ends when ``popsize`` of its trials are told, so a batch of K asked-before-told
    trials is one generation when ``popsize=K``; with ``popsize=2K`` a generation takes two batches."""

    def generations(popsize: int) -> list[set[int]]:
        study, out = make("cmaes", popsize=popsize), []
        for _ in range(4):  # the first batch: the random start-up (no trial told yet)
            batch = ask_batch(study)
            tell(study, batch)
            by_number = {t.number: t for t in study.trials}
            out.append({v for t, _ in batch for k, v in by_number[t.number].system_attrs.items()
                        if k.endswith("generation")})
        return out

    assert generations(K) == [set(), {0}, {1}, {2}]
    assert generations(2 * K) == [set(), {0}, {0}, {1}]
