"""Strategy facts live in the registry (issue 12, defect 4): which strategies share the study's
seed across workers, which try the space's defaults first, and which run out of points. A
registered strategy declares them; no other layer names a strategy."""

from __future__ import annotations

import ast
from pathlib import Path

import optuna
import pytest

from tunekit import StudySpec
from tunekit.execution import worker_seed
from tunekit.execution._loop import _decide
from tunekit.space import Choice, Float, Int, Space
from tunekit.strategies import STRATEGIES, FiniteSampler, Strategy, make_sampler, points_left, register

PACKAGE = Path(__file__).resolve().parents[2] / "tunekit"
SPACE = Space({"units": Int(4, 32, default=8), "activation": Choice(["relu", "tanh"])})


class _TwoPoints(FiniteSampler, optuna.samplers.RandomSampler):
    """A plug-in strategy with two points in all."""

    def remaining(self, study: optuna.Study) -> int:
        return max(0, 2 - len(study.get_trials(deepcopy=False)))


@pytest.fixture
def plug_in():
    """Register a plug-in strategy for one test, and take it out again."""
    names = []

    def add(name: str, **facts) -> Strategy:
        strategy = Strategy(name=name, factory=lambda *, space, seed: _TwoPoints(seed=seed), description="test",
                            options={}, **facts)
        register(strategy)
        names.append(name)
        return strategy

    yield add
    for name in names:
        STRATEGIES.pop(name, None)


def test_built_in_facts() -> None:
    assert {n for n, s in STRATEGIES.items() if s.shares_seed} == {"grid", "random"}
    assert {n for n, s in STRATEGIES.items() if not s.tries_defaults} == {"grid"}


def test_a_registered_strategy_that_shares_its_seed_gets_the_studys_seed_in_every_worker(plug_in) -> None:
    plug_in("shared_points", shares_seed=True)
    plug_in("own_points")
    assert [worker_seed("shared_points", 5, i) for i in (1, 2)] == [5, 5]
    own = [worker_seed("own_points", 5, i) for i in (1, 2)]
    assert own[0] != own[1] and 5 not in own


def test_a_registered_strategy_that_decides_every_point_skips_the_defaults(plug_in) -> None:
    from tunekit.study._open import _enqueue_defaults

    spec = StudySpec(data="iris", space=SPACE, epochs=1)
    plug_in("no_defaults", tries_defaults=False)
    plug_in("with_defaults")
    skipped, tried = optuna.create_study(), optuna.create_study()
    _enqueue_defaults(skipped, spec, "no_defaults")
    _enqueue_defaults(tried, spec, "with_defaults")
    assert skipped.get_trials() == []
    assert [t.system_attrs["fixed_params"] for t in tried.get_trials()] == [{"units": 8}]


def test_the_loop_asks_the_declared_capability_not_an_attribute_name() -> None:
    study = optuna.create_study(sampler=_TwoPoints(seed=0))
    assert points_left(study.sampler, study) == 2
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert points_left(study.sampler, study) == 0
    assert _decide(study, study._storage, target=10, grace=60) == "exhausted"

    class HasRemaining(optuna.samplers.RandomSampler):  # an attribute called so is not a capability
        def remaining(self, study: optuna.Study) -> int:
            return 0

    other = optuna.create_study(sampler=HasRemaining())
    assert points_left(other.sampler, other) is None
    assert _decide(other, other._storage, target=10, grace=60) == "run"


def test_grid_declares_it_runs_out_of_points() -> None:
    sampler = make_sampler("grid", space=Space({"act": Choice(["relu", "tanh"])}), seed=0)
    study = optuna.create_study(sampler=sampler)
    assert isinstance(sampler, FiniteSampler) and points_left(sampler, study) == 2
    study.optimize(lambda t: float(t.suggest_categorical("act", ["relu", "tanh"]) == "relu"), n_trials=2)
    assert points_left(sampler, study) == 0
    assert _decide(study, study._storage, target=10, grace=60) == "exhausted"


def test_strategies_import_no_name_from_the_layers_above() -> None:
    """The grid once took two strings from the runner and the worker modules: shared names
    come from ``tunekit._records`` now."""
    for path in (PACKAGE / "strategies").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("tunekit.execution", "tunekit.study")), (path.name, node.module)
    from tunekit._records import GRID_POINT
    from tunekit.strategies._grid import GRID_ID_KEY

    assert GRID_POINT == GRID_ID_KEY == "tunekit:grid_id"


def test_no_layer_names_a_strategy() -> None:
    """Outside strategies/ (and the CLI's defaults and help), no module compares a strategy name."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "strategies" in path.parts or "cli" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                names = {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
                if names & {"grid", "random"}:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, offenders


def test_make_sampler_of_a_plug_in(plug_in) -> None:
    plug_in("plug")
    assert isinstance(make_sampler("plug", space=Space({"x": Float(0, 1)}), seed=1), _TwoPoints)
