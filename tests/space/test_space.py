"""Space: names, PerLayer expansion, condition checks, sampling with Optuna, JSON, diff."""

from __future__ import annotations

import json
import re

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tunekit._errors import ConfigError
from tunekit.space import Bool, Choice, Condition, Fixed, Float, Int, PerLayer, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)


def mlp_space() -> Space:
    return Space(
        {
            "learning_rate": Float(1e-4, 1e-1, log=True),
            "optimizer": Choice(["adam", "sgd"]),
            "momentum": Float(0.0, 0.9, when=("optimizer", "sgd")),
            "nesterov": Bool(when=("optimizer", "sgd")),
            "n_layers": Int(1, 3),
            "units": PerLayer(Int(16, 256, log=True)),
            "dropout": Float(0.0, 0.5, step=0.1),
            "batch_size": Choice([32, 64, 128]),
            "epochs": Fixed(20),
        }
    )


# ----------------------------------------------------------------------------- construction


def test_names_order_and_perlayer_expansion():
    space = mlp_space()
    assert space.names == (
        "learning_rate", "optimizer", "momentum", "nesterov", "n_layers",
        "units_0", "units_1", "units_2", "dropout", "batch_size", "epochs",
    )  # fmt: skip
    for i in range(3):
        dim = space[f"units_{i}"]
        assert dim == Int(16, 256, log=True, when=Condition("n_layers", ">", i), name=f"units_{i}")
    assert all(space[n].name == n for n in space)


def test_perlayer_count_from_a_fixed_int_and_custom_count_name():
    space = Space({"depth": Fixed(2), "drop": PerLayer(Float(0.0, 0.5), count="depth")})
    assert space.names == ("depth", "drop_0", "drop_1")
    assert space["drop_1"].when == Condition("depth", ">", 1)


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ({"units": PerLayer(Choice([1]))}, "PerLayer 'units': count 'n_layers' must be declared before 'units'"),
        (
            {"n_layers": Choice([1, 2]), "units": PerLayer(Choice([1]))},
            "PerLayer 'units': count 'n_layers' must be an Int or a Fixed int, got Choice([1, 2], name='n_layers')",
        ),
        (
            {"n_layers": Int(1, 2), "units": PerLayer(Choice([1], when=("n_layers", 2)))},
            "PerLayer 'units': the inner dimension cannot have when=",
        ),
        ({"n_layers": Int(0, 0), "units": PerLayer(Choice([1]))}, "count 'n_layers' is at most 0"),
        (
            {"n_layers": Int(1, 2), "units_1": Int(1, 2), "units": PerLayer(Choice([1]))},
            "Space 'units_1': declared twice",
        ),
        ({"n_layers": Int(1, 2), "units": PerLayer(Int(0, 4, log=True))}, "Int 'units_0': log=True needs low > 0"),
    ],
)
def test_perlayer_errors(dims, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Space(dims)


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        (
            {"optimizer": Choice(["adam", "sgd"]), "momentum": Float(0.0, 0.9, when=("optimizer", "sgdd"))},
            "Condition 'momentum': parent 'optimizer' never takes 'sgdd'; its values are ['adam', 'sgd']",
        ),
        (
            {"optimizer": Choice(["adam", "sgd"]), "m": Float(0.0, 0.9, when=("optimizer", ["sgd", "rms"]))},
            "Condition 'm': parent 'optimizer' never takes 'rms'; its values are ['adam', 'sgd']",
        ),
        (
            {"momentum": Float(0.0, 0.9, when=("optimizer", "sgd")), "optimizer": Choice(["adam", "sgd"])},
            "Condition 'momentum': parent 'optimizer' must be declared before 'momentum'",
        ),
        (
            {"momentum": Float(0.0, 0.9, when=("optimzer", "sgd"))},
            "Condition 'momentum': parent 'optimzer' is not declared; declared parameters are ['momentum']",
        ),
        (
            {"n": Int(1, 3), "x": Float(0.0, 1.0, when=("n", ">", 3))},
            "Condition 'x': n > 3 never holds for parent 'n'; its range is [1, 3]",
        ),
        (
            {"n": Int(1, 3), "x": Float(0.0, 1.0, when=("n", "<", 1))},
            "Condition 'x': n < 1 never holds for parent 'n'; its range is [1, 3]",
        ),
        (
            {"n": Int(2, 8, step=2), "x": Float(0.0, 1.0, when=("n", 3))},
            "Condition 'x': parent 'n' never takes 3; its range is [2, 8] by step 2",
        ),
        (
            {"bn": Bool(), "x": Float(0.0, 1.0, when=("bn", 1))},
            "Condition 'x': parent 'bn' never takes 1; its values are [False, True]",
        ),
        (
            {"e": Fixed(5), "x": Float(0.0, 1.0, when=("e", ">=", 6))},
            "Condition 'x': e >= 6 never holds for parent 'e'; it is fixed at 5",
        ),
        (
            {"act": Choice(["relu", "tanh"]), "x": Float(0.0, 1.0, when=("act", ">", 1))},
            "Condition 'x': act > 1 never holds for parent 'act'; its values are ['relu', 'tanh']",
        ),
    ],
)
def test_condition_errors(dims, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Space(dims)


def test_space_validates_every_dim_at_declaration():
    with pytest.raises(ConfigError, match=re.escape("Float 'lr': log=True needs low > 0, got low=0.0")):
        Space({"lr": Float(0, 1, log=True)})
    with pytest.raises(ConfigError, match=re.escape("Float 'm': when= must be (param, value)")):
        Space({"m": Float(0, 1, when="sgd")})


def test_space_rejects_non_dimensions_and_mismatched_names():
    with pytest.raises(ConfigError, match=re.escape("Space 'lr': expected a dimension (Float, Int, Choice, Bool, Fixed)")):
        Space({"lr": 0.1})
    with pytest.raises(ConfigError, match=re.escape("Space 'lr': the dimension is named 'rate'")):
        Space({"lr": Float(0.1, 1.0, name="rate")})
    with pytest.raises(ConfigError, match=re.escape("Space: parameter names must be non-empty str, got ''")):
        Space({"": Float(0.1, 1.0)})
    with pytest.raises(ConfigError, match="Space needs a mapping"):
        Space([("lr", Float(0.1, 1.0))])  # type: ignore[arg-type]


def test_mapping_behaviour_and_copy():
    space = mlp_space()
    assert len(space) == 11 and "momentum" in space and "units" not in space
    assert list(space) == list(space.names)
    assert [n for n, _ in space.items()] == list(space.names)
    with pytest.raises(KeyError, match="'units' is not in the space"):
        space["units"]
    assert Space(space) == space and Space(space) is not space
    assert hash(Space(space)) == hash(space)
    assert Space({"a": Int(1, 2), "b": Int(1, 2)}) != Space({"b": Int(1, 2), "a": Int(1, 2)})  # ordered


def test_distributions_exclude_fixed():
    dists = mlp_space().distributions()
    assert "epochs" not in dists
    assert dists["learning_rate"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["units_2"] == IntDistribution(16, 256, log=True)
    assert dists["nesterov"] == CategoricalDistribution((False, True))
    assert dists["dropout"] == FloatDistribution(0.0, 0.5, step=0.1)


# ----------------------------------------------------------------------------- sampling


def test_sample_respects_conditions_bounds_and_types_over_50_trials():
    space = mlp_space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    seen_layers, seen_opt = set(), set()
    for _ in range(50):
        trial = study.ask()
        params = space.sample(trial)
        study.tell(trial, 0.0)
        n = params["n_layers"]
        seen_layers.add(n)
        seen_opt.add(params["optimizer"])
        assert ("units_2" in params) == (n > 2)
        assert ("units_1" in params) == (n > 1)
        assert "units_0" in params
        assert ("momentum" in params) == (params["optimizer"] == "sgd")
        assert ("nesterov" in params) == (params["optimizer"] == "sgd")
        assert params["epochs"] == 20 and "epochs" not in trial.params
        assert set(trial.params) == set(params) - {"epochs"}
        assert list(params) == [name for name in space.names if name in params]  # declared order
        for name, value in params.items():
            assert space[name].contains(value), (name, value)
            assert space.is_active(name, params)
        assert type(params["learning_rate"]) is float and 1e-4 <= params["learning_rate"] <= 1e-1
        assert type(n) is int and type(params["units_0"]) is int and 16 <= params["units_0"] <= 256
        assert type(params["batch_size"]) is int
        if "nesterov" in params:
            assert type(params["nesterov"]) is bool
        space.validate_params(params)
    assert seen_layers == {1, 2, 3} and seen_opt == {"adam", "sgd"}


def test_sample_is_deterministic_for_a_seed():
    def run(seed):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        return [mlp_space().sample(study.ask()) for _ in range(5)]

    assert run(3) == run(3) and run(3) != run(4)


def test_sample_with_optuna_optimize_and_chained_conditions():
    space = Space(
        {
            "schedule": Choice(["constant", "step", "exponential"]),
            "decay_rate": Float(0.1, 0.9, when=("schedule", ["step", "exponential"])),
            "decay_epochs": Int(1, 20, when=("schedule", "step")),
            "big_decay": Bool(when=("decay_rate", ">", 0.5)),  # parent itself conditional
        }
    )
    seen = []

    def objective(trial):
        params = space.sample(trial)
        seen.append(params)
        return params.get("decay_rate", 0.0)

    optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).optimize(objective, n_trials=40)
    for p in seen:
        assert ("decay_rate" in p) == (p["schedule"] != "constant")
        assert ("decay_epochs" in p) == (p["schedule"] == "step")
        assert ("big_decay" in p) == (p.get("decay_rate", 0.0) > 0.5)


def test_is_active():
    space = mlp_space()
    assert space.is_active("learning_rate", {})
    assert space.is_active("momentum", {"optimizer": "sgd"})
    assert not space.is_active("momentum", {"optimizer": "adam"})
    assert not space.is_active("units_1", {})
    assert space.is_active("units_1", {"n_layers": 2})
    with pytest.raises(ConfigError, match=re.escape("Space has no parameter 'units'")):
        space.is_active("units", {})


def test_validate_params_names_the_parameter():
    space = mlp_space()
    ok = {"learning_rate": 0.01, "optimizer": "sgd", "momentum": 0.5, "n_layers": 1, "units_0": 32}
    space.validate_params(ok)
    with pytest.raises(ConfigError, match=re.escape("Param 'learning_rate': 0.5 is outside Float(0.0001, 0.1, log=True)")):
        space.validate_params({**ok, "learning_rate": 0.5})
    with pytest.raises(ConfigError, match=re.escape("Param 'units_0': 32.0 is outside Int(16, 256, log=True")):
        space.validate_params({**ok, "units_0": 32.0})
    with pytest.raises(ConfigError, match=re.escape("Param 'dropout': 0.25 is outside Float(0.0, 0.5, step=0.1)")):
        space.validate_params({**ok, "dropout": 0.25})
    with pytest.raises(ConfigError, match=re.escape("Param 'epochs': 10 is outside Fixed(20)")):
        space.validate_params({**ok, "epochs": 10})
    with pytest.raises(ConfigError, match=re.escape("Param 'units' is not in the space")):
        space.validate_params({**ok, "units": 32})
    with pytest.raises(
        ConfigError,
        match=re.escape("Param 'momentum' is given but inactive: optimizer == 'sgd' does not hold (optimizer='adam')"),
    ):
        space.validate_params({**ok, "optimizer": "adam"})
    with pytest.raises(ConfigError, match=re.escape("Param 'units_2' is given but inactive: n_layers > 2")):
        space.validate_params({**ok, "units_2": 32})


# ----------------------------------------------------------------------------- JSON, diff, repr


def test_json_round_trip_and_canonical_form():
    space = mlp_space()
    text = space.to_json()
    data = json.loads(text)
    assert list(data) == list(space.names)  # order of dims kept
    for d in data.values():
        assert list(d) == sorted(d)  # keys sorted inside each dim
        assert "name" not in d
    again = Space.from_json(text)
    assert again == space and again.to_json() == text
    assert data["momentum"]["when"] == {"op": "==", "param": "optimizer", "value": "sgd"}
    assert data["units_1"]["when"] == {"op": ">", "param": "n_layers", "value": 1}
    assert data["epochs"] == {"type": "fixed", "value": 20, "when": None}


def test_json_round_trip_keeps_in_conditions_and_grids():
    space = Space(
        {
            "opt": Choice(["adam", "sgd", "rmsprop"]),
            "m": Float(0.0, 0.9, grid=[0.0, 0.9], when=("opt", ["sgd", "rmsprop"])),
            "flag": Choice([None, True, 2.5, "x"]),
        }
    )
    assert Space.from_json(space.to_json()) == space


def test_from_json_errors():
    with pytest.raises(ConfigError, match=re.escape("Space.from_json: not valid JSON")):
        Space.from_json("{nope")
    with pytest.raises(ConfigError, match=re.escape("Space.from_json: expected a JSON object")):
        Space.from_json("[]")
    with pytest.raises(ConfigError, match=re.escape("Float 'lr': log=True needs low > 0, got low=0.0")):
        Space.from_json('{"lr": {"type": "float", "low": 0, "high": 1, "log": true}}')


def test_diff():
    old = Space({"lr": Float(1e-4, 0.1, log=True), "dropout": Float(0.0, 0.5), "act": Choice(["relu"])})
    new = Space({"lr": Float(1e-3, 0.1, log=True), "act": Choice(["relu"]), "units": Int(16, 64)})
    assert old.diff(new) == [
        "'lr': Float(0.0001, 0.1, log=True) -> Float(0.001, 0.1, log=True)",
        "'dropout' removed",
        "'units' added",
    ]
    assert old.diff(old) == [] and old.diff(Space.from_json(old.to_json())) == []
    swapped = Space({"act": Choice(["relu"]), "lr": Float(1e-4, 0.1, log=True), "dropout": Float(0.0, 0.5)})
    assert old.diff(swapped) == ["order changed: ['lr', 'dropout', 'act'] -> ['act', 'lr', 'dropout']"]
    cond = Space({"o": Choice(["a", "b"]), "m": Float(0.0, 1.0, when=("o", "a"))})
    cond2 = Space({"o": Choice(["a", "b"]), "m": Float(0.0, 1.0, when=("o", "b"))})
    assert cond.diff(cond2) == ["'m': Float(0.0, 1.0, when=('o', '==', 'a')) -> Float(0.0, 1.0, when=('o', '==', 'b'))"]


def test_repr():
    text = repr(mlp_space())
    assert text.startswith("Space({\n")
    assert "    'momentum': Float(0.0, 0.9, when=('optimizer', '==', 'sgd')),\n" in text
    assert "    'units_1': Int(16, 256, log=True, when=('n_layers', '>', 1)),\n" in text
    assert repr(Space({})) == "Space({})"


def test_defaults_follow_conditions_and_layers():
    space = Space({
        "n_layers": Int(1, 3, default=2),
        "units": PerLayer(Choice([32, 64], default=64)),
        "optimizer": Choice(["adam", "sgd"], default="adam"),
        "momentum": Float(0.0, 0.9, when=("optimizer", "sgd"), default=0.5),
        "dropout": Float(0.0, 0.5),
        "epochs": Fixed(3),
    })
    assert space.defaults() == {"n_layers": 2, "units_0": 64, "units_1": 64, "optimizer": "adam"}
    space.validate_params(space.defaults())
    # a condition on a parameter without a default cannot be decided: the default is kept
    open_ = Space({"opt": Choice(["adam", "sgd"]), "momentum": Float(0.0, 0.9, when=("opt", "sgd"), default=0.9)})
    assert open_.defaults() == {"momentum": 0.9}
    assert Space({"lr": Float(1e-4, 1e-1, log=True)}).defaults() == {}


def test_a_changed_default_is_not_a_different_space():
    a = Space({"lr": Float(1e-4, 1e-1, log=True, default=1e-3), "act": Choice(["relu", "tanh"])})
    b = Space({"lr": Float(1e-4, 1e-1, log=True), "act": Choice(["relu", "tanh"], default="tanh")})
    assert a.diff(b) == [] and a != b
    assert Space.from_json(a.to_json()) == a
    c = Space({"lr": Float(1e-3, 1e-1, log=True, default=1e-3), "act": Choice(["relu", "tanh"])})
    assert a.diff(c) == ["'lr': Float(0.0001, 0.1, log=True, default=0.001) -> Float(0.001, 0.1, log=True, default=0.001)"]
