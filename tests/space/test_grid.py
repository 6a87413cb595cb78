"""Grid enumeration: per-dimension values, conditional counting, order, and a property loop."""

from __future__ import annotations

import random
import re

import optuna
import pytest

from tunekit._errors import ConfigError
from tunekit.space import Bool, Choice, Fixed, Float, Int, PerLayer, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)


def values(dim, resolution=5):
    """The grid values of one dimension, through the public Space API."""
    return tuple(p["x"] for p in Space({"x": dim}).grid(resolution))


# ----------------------------------------------------------------------------- one dimension


def test_choice_bool_fixed_take_all_their_values():
    assert values(Choice(["relu", "tanh", "elu"])) == ("relu", "tanh", "elu")
    assert values(Bool()) == (False, True)
    assert values(Fixed("adam")) == ("adam",)


def test_continuous_float_is_resolution_points_including_both_ends():
    assert values(Float(0.0, 1.0)) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert values(Float(0.1, 0.3), 3) == (0.1, 0.2, 0.3)
    assert values(Float(0.5, 0.5)) == (0.5,)


def test_log_float_is_log_spaced():
    assert values(Float(1e-4, 1e-1, log=True), 4) == (1e-4, 1e-3, 1e-2, 1e-1)
    got = values(Float(1e-5, 1.0, log=True), 6)
    assert got == (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    ratios = [b / a for a, b in zip(got, got[1:])]
    assert all(r == pytest.approx(10.0) for r in ratios)


def test_float_with_step_uses_its_lattice():
    assert values(Float(0.0, 0.5, step=0.1), 10) == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # all: 6 <= 10
    assert values(Float(0.0, 1.0, step=0.1), 5) == (0.0, 0.3, 0.5, 0.8, 1.0)  # k = 0, 2.5->3, 5, 7.5->8, 10
    dim = Float(0.0, 1.0, step=0.1, name="x")
    assert all(dim.contains(v) for v in values(dim, 4))


def test_int_takes_all_values_when_few_else_evenly_spaced():
    assert values(Int(1, 4)) == (1, 2, 3, 4)
    assert values(Int(16, 64, step=16)) == (16, 32, 48, 64)
    assert values(Int(1, 100)) == (1, 26, 51, 75, 100)
    assert values(Int(0, 100, step=10), 3) == (0, 50, 100)
    assert values(Int(0, 90, step=10), 4) == (0, 30, 60, 90)
    assert all(type(v) is int for v in values(Int(1, 100)))


def test_log_int_is_log_spaced_and_deduplicated():
    assert values(Int(1, 1000, log=True), 4) == (1, 10, 100, 1000)
    assert values(Int(16, 256, log=True), 5) == (16, 32, 64, 128, 256)
    assert values(Int(1, 6, log=True), 5) == (1, 2, 4, 6)  # 1, 1.57, 2.45, 3.83, 6 -> 1, 2, 2, 4, 6
    small = values(Int(1, 8, log=True), 7)  # geometric points 1, 1.41, 2, 2.83, 4, 5.66, 8 -> 1, 1, 2, 3, 4, 6, 8
    assert small == (1, 2, 3, 4, 6, 8)


def test_explicit_grid_values_win_and_keep_their_order():
    assert values(Float(1e-4, 1e-1, log=True, grid=[1e-2, 1e-3])) == (1e-2, 1e-3)
    assert values(Int(1, 512, grid=[64, 128]), 9) == (64, 128)


def test_float_points_are_python_floats_within_bounds():
    for dim in (Float(0.1, 0.7), Float(1e-3, 0.3, log=True), Float(0.05, 0.95, step=0.05)):
        got = values(dim, 7)
        assert all(type(v) is float and dim.low <= v <= dim.high for v in got)
        assert len(set(got)) == len(got)


def test_resolution_must_be_an_int_of_at_least_2():
    space = Space({"x": Float(0.0, 1.0)})
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ConfigError, match=re.escape(f"grid resolution must be an int >= 2 (both ends of a range), got {bad!r}")):
            space.grid(bad)
        with pytest.raises(ConfigError, match="grid resolution"):
            space.grid_size(bad)


# ----------------------------------------------------------------------------- whole space


def test_conditional_perlayer_counts_only_active_branches():
    space = Space({"n_layers": Int(1, 3), "units": PerLayer(Choice([32, 64]))})
    points = space.grid()
    assert space.grid_size() == len(points) == 2 + 4 + 8 == 14
    for p in points:
        assert set(p) == {"n_layers"} | {f"units_{i}" for i in range(p["n_layers"])}
    assert sum(p["n_layers"] == 1 for p in points) == 2


def test_conditional_choice_branches():
    space = Space(
        {
            "optimizer": Choice(["adam", "sgd", "rmsprop"]),
            "momentum": Float(0.0, 0.9, when=("optimizer", ["sgd", "rmsprop"])),
            "nesterov": Bool(when=("optimizer", "sgd")),
            "epochs": Fixed(10),
        }
    )
    # adam: 1; sgd: 5 momentum x 2 nesterov; rmsprop: 5 momentum
    assert space.grid_size() == len(space.grid()) == 1 + 10 + 5
    assert space.grid()[0] == {"optimizer": "adam", "epochs": 10}
    assert space.grid_size(3) == len(space.grid(3)) == 1 + 6 + 3


def test_first_declared_dim_varies_slowest_and_grid_is_deterministic():
    space = Space({"a": Choice(["x", "y"]), "b": Int(1, 3), "c": Bool()})
    points = space.grid()
    assert [(p["a"], p["b"], p["c"]) for p in points[:4]] == [("x", 1, False), ("x", 1, True), ("x", 2, False), ("x", 2, True)]
    assert [p["a"] for p in points] == ["x"] * 6 + ["y"] * 6
    assert space.grid() == points and Space.from_json(space.to_json()).grid() == points
    assert all(list(p) == ["a", "b", "c"] for p in points)


def test_points_are_what_sample_would_produce():
    space = Space(
        {
            "lr": Float(1e-4, 1e-1, log=True),
            "optimizer": Choice(["adam", "sgd"]),
            "momentum": Float(0.0, 0.9, when=("optimizer", "sgd")),
            "n_layers": Int(1, 2),
            "units": PerLayer(Int(16, 64, step=16)),
            "epochs": Fixed(5),
        }
    )
    for point in space.grid(3):
        space.validate_params(point)
        assert point["epochs"] == 5
        assert list(point) == [n for n in space.names if space.is_active(n, point)]
        # replaying the point through Optuna gives back the same dict
        trial = optuna.trial.FixedTrial({k: v for k, v in point.items() if k != "epochs"})
        assert space.sample(trial) == point


def test_grid_size_counts_without_enumerating():
    deep = Space({"n_layers": Int(1, 10), "units": PerLayer(Choice([16, 32, 64, 128]))})
    wide = Space({f"p{i}": Bool() for i in range(40)})
    # 2**40 points could never be enumerated: getting the count at all shows it is computed
    assert deep.grid_size(10) == sum(4**k for k in range(1, 11))  # 1,398,100 points
    assert wide.grid_size() == 2**40


def test_grid_size_with_conditions_on_continuous_and_chained_parents():
    space = Space(
        {
            "schedule": Choice(["constant", "step", "exponential"]),
            "decay_rate": Float(0.1, 0.9, when=("schedule", ["step", "exponential"])),
            "decay_epochs": Int(1, 20, when=("schedule", "step")),
            "big": Bool(when=("decay_rate", ">", 0.5)),  # 0.7 and 0.9 of (0.1, 0.3, 0.5, 0.7, 0.9)
            "flag": Bool(),
        }
    )
    # flag x (constant: 1; step: decay_rate (3 x 1 + 2 x 2 big) x 5 decay_epochs; exponential: 3 + 2 x 2)
    assert space.grid_size() == len(space.grid()) == 2 * (1 + (3 + 2 * 2) * 5 + (3 + 2 * 2)) == 86


def test_empty_space_has_one_empty_point():
    assert Space({}).grid() == [{}] and Space({}).grid_size() == 1


# ----------------------------------------------------------------------------- property loop


def random_space(rng: random.Random) -> Space:
    """A random valid space with conditions, PerLayer and every dimension kind."""
    dims: dict = {}
    pool = ["a", "b", "c", 1, 2.5, None, False]

    def pick_condition():
        parents = [n for n, d in dims.items() if isinstance(d, (Choice, Int, Fixed))]
        if not parents or rng.random() < 0.5:
            return None
        name = rng.choice(parents)
        parent = dims[name]
        if isinstance(parent, Choice):
            vals = list(parent.values)
            return (name, rng.choice(vals)) if rng.random() < 0.6 else (name, rng.sample(vals, rng.randint(1, len(vals))))
        if isinstance(parent, Int):
            value = rng.choice(range(parent.low, parent.high + 1, parent.step))
            ops = ["==", ">=", "<="] + ([">"] if value < parent.high else []) + (["<"] if value > parent.low else [])
            return (name, rng.choice(ops), value)
        return (name, parent.value)

    for i in range(rng.randint(1, 6)):
        kind = rng.choice(["float", "logfloat", "stepfloat", "int", "logint", "choice", "bool", "fixed", "perlayer"])
        when = pick_condition()
        key = f"d{i}"
        if kind == "float":
            low = rng.uniform(-5, 5)
            dims[key] = Float(low, low + rng.uniform(0, 3), when=when)
        elif kind == "logfloat":
            dims[key] = Float(10 ** rng.uniform(-6, -1), 10 ** rng.uniform(-1, 2), log=True, when=when)
        elif kind == "stepfloat":
            step = rng.choice([0.05, 0.1, 0.25])
            dims[key] = Float(0.0, step * rng.randint(0, 12), step=step, when=when)
        elif kind == "int":
            step = rng.randint(1, 4)
            low = rng.randint(-10, 10)
            dims[key] = Int(low, low + step * rng.randint(0, 8), step=step, when=when)
        elif kind == "logint":
            dims[key] = Int(rng.randint(1, 8), rng.randint(8, 300), log=True, when=when)
        elif kind == "choice":
            dims[key] = Choice(rng.sample(pool, rng.randint(1, 4)), when=when)
        elif kind == "bool":
            dims[key] = Bool(when=when)
        elif kind == "fixed":
            dims[key] = Fixed(rng.choice([3, "x", None, 0.5]), when=when)
        else:
            dims["n_layers" + key] = Int(rng.randint(0, 1), rng.randint(1, 3))
            dims[key] = PerLayer(Choice([8, 16, 32][: rng.randint(1, 3)]), count="n_layers" + key)
    return Space(dims)


def test_property_loop_over_random_spaces():
    rng = random.Random(20240601)
    for _ in range(150):
        space = random_space(rng)
        resolution = rng.randint(2, 4)
        points = space.grid(resolution)
        assert space.grid_size(resolution) == len(points), space
        assert len({repr(sorted(p.items(), key=str)) for p in points}) == len(points)  # no duplicate points
        for p in points[:50]:
            space.validate_params(p)
        again = Space.from_json(space.to_json())
        assert again == space and again.diff(space) == [] and again.grid(resolution) == points
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=rng.randint(0, 10**6)))
        for _ in range(5):
            params = space.sample(study.ask())
            space.validate_params(params)
            assert list(params) == [n for n in space.names if n in params]
            for name in space.names:
                assert (name in params) == space.is_active(name, params)
